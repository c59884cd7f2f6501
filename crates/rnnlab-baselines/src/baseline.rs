//! The bag-of-words baselines: a vectorizer and a linear classifier, trained on token lists,
//! saved as a model directory (`model.json`, `vectorizer.json`, `model.safetensors`).

use std::path::Path;

use rnnlab_vectorize::{
    Analyzer, CountParams, CountVectorizer, CsrMatrix, Df, HashingParams, HashingVectorizer, Norm, TfidfParams,
    TfidfVectorizer,
};
use serde::{Deserialize, Serialize};

use crate::labels::LabelSet;
use crate::linear::{ClassWeight, LogRegParams, LogisticRegression, MultinomialNb, NbLr};
use crate::Error;

/// The baseline model kinds (DESIGN.md's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineKind {
    CountLogreg,
    HashingLogreg,
    TfidfLogreg,
    CharTfidfLogreg,
    Nb,
    Nbsvm,
}

impl BaselineKind {
    pub const ALL: [BaselineKind; 6] = [
        BaselineKind::CountLogreg,
        BaselineKind::HashingLogreg,
        BaselineKind::TfidfLogreg,
        BaselineKind::CharTfidfLogreg,
        BaselineKind::Nb,
        BaselineKind::Nbsvm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BaselineKind::CountLogreg => "count-logreg",
            BaselineKind::HashingLogreg => "hashing-logreg",
            BaselineKind::TfidfLogreg => "tfidf-logreg",
            BaselineKind::CharTfidfLogreg => "char-tfidf-logreg",
            BaselineKind::Nb => "nb",
            BaselineKind::Nbsvm => "nbsvm",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// User-facing hyper-parameters; `None` takes the kind's default (see [`BaselineParams::resolve`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaselineParams {
    pub ngram_range: Option<(usize, usize)>,
    pub min_df: Option<Df>,
    pub max_df: Option<Df>,
    pub max_features: Option<usize>,
    pub binary: Option<bool>,
    pub sublinear_tf: Option<bool>,
    pub n_features: Option<usize>,
    pub alternate_sign: Option<bool>,
    #[serde(rename = "C")]
    pub c: Option<f64>,
    pub class_weight: ClassWeight,
    pub alpha: Option<f64>,
    /// After choosing the threshold on validation, fit again on training + validation rows
    /// and keep that model with the threshold (scikit-learn's `refit`; see
    /// [`Baseline::fit_validated`]).
    pub refit: Option<bool>,
}

/// What a baseline kind resolves to: its vectorizer settings and classifier settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VectorizerSpec {
    Count(CountParams),
    Hashing(HashingParams),
    Tfidf(TfidfParams),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedParams {
    pub vectorizer: VectorizerSpec,
    pub logreg: LogRegParams,
    pub alpha: f64,
}

impl BaselineParams {
    /// The defaults of the anchors (scikit-learn with `min_df=2`, 1-2 grams, `C=10`, hashing
    /// 2^18 unsigned), overridden by whatever was given.
    pub fn resolve(&self, kind: BaselineKind) -> ResolvedParams {
        let word = |binary: bool, min_df: u64| CountParams {
            analyzer: Analyzer::Word,
            ngram_range: self.ngram_range.unwrap_or((1, 2)),
            min_df: self.min_df.unwrap_or(Df::Count(min_df)),
            max_df: self.max_df.unwrap_or(Df::Fraction(1.0)),
            max_features: self.max_features,
            binary: self.binary.unwrap_or(binary),
            vocabulary: None,
        };
        let vectorizer = match kind {
            BaselineKind::CountLogreg => VectorizerSpec::Count(word(true, 2)),
            BaselineKind::Nb => VectorizerSpec::Count(word(false, 1)),
            BaselineKind::Nbsvm => VectorizerSpec::Count(word(true, 1)),
            BaselineKind::HashingLogreg => VectorizerSpec::Hashing(HashingParams {
                analyzer: Analyzer::Word,
                ngram_range: self.ngram_range.unwrap_or((1, 2)),
                n_features: self.n_features.unwrap_or(1 << 18),
                alternate_sign: self.alternate_sign.unwrap_or(false),
                binary: self.binary.unwrap_or(false),
                norm: Norm::L2,
            }),
            BaselineKind::TfidfLogreg => VectorizerSpec::Tfidf(TfidfParams {
                count: word(false, 2),
                sublinear_tf: self.sublinear_tf.unwrap_or(true),
                ..Default::default()
            }),
            BaselineKind::CharTfidfLogreg => VectorizerSpec::Tfidf(TfidfParams {
                count: CountParams {
                    analyzer: Analyzer::CharWb,
                    ngram_range: self.ngram_range.unwrap_or((2, 5)),
                    ..word(false, 2)
                },
                sublinear_tf: self.sublinear_tf.unwrap_or(true),
                ..Default::default()
            }),
        };
        let default_c = if kind == BaselineKind::Nbsvm { 1.0 } else { 10.0 };
        ResolvedParams {
            vectorizer,
            logreg: LogRegParams {
                c: self.c.unwrap_or(default_c),
                class_weight: self.class_weight,
                ..Default::default()
            },
            alpha: self.alpha.unwrap_or(1.0),
        }
    }
}

/// A fitted vectorizer of any kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Vectorizer {
    Count(CountVectorizer),
    Hashing(HashingVectorizer),
    Tfidf(TfidfVectorizer),
}

impl Vectorizer {
    pub fn fit_transform(spec: &VectorizerSpec, docs: &[Vec<String>]) -> Result<(Self, CsrMatrix), Error> {
        Ok(match spec {
            VectorizerSpec::Count(p) => {
                let (v, x) = CountVectorizer::fit_transform(docs, p.clone())?;
                (Vectorizer::Count(v), x)
            }
            VectorizerSpec::Hashing(p) => {
                if docs.is_empty() {
                    return Err(Error::Data("cannot train on an empty corpus".into()));
                }
                let v = HashingVectorizer::new(p.clone())?;
                let x = v.transform(docs);
                (Vectorizer::Hashing(v), x)
            }
            VectorizerSpec::Tfidf(p) => {
                let (v, x) = TfidfVectorizer::fit_transform(docs, p.clone())?;
                (Vectorizer::Tfidf(v), x)
            }
        })
    }

    pub fn transform(&self, docs: &[Vec<String>]) -> CsrMatrix {
        match self {
            Vectorizer::Count(v) => v.transform(docs),
            Vectorizer::Hashing(v) => v.transform(docs),
            Vectorizer::Tfidf(v) => v.transform(docs),
        }
    }

    /// Column names where the vectorizer has them (not for hashing).
    pub fn feature_names(&self) -> Option<&[String]> {
        match self {
            Vectorizer::Count(v) => Some(&v.vocabulary),
            Vectorizer::Tfidf(v) => Some(&v.counts.vocabulary),
            Vectorizer::Hashing(_) => None,
        }
    }

    pub fn n_features(&self) -> usize {
        match self {
            Vectorizer::Count(v) => v.n_features(),
            Vectorizer::Tfidf(v) => v.n_features(),
            Vectorizer::Hashing(v) => v.n_features(),
        }
    }

    fn rebuild(&mut self) -> Result<(), Error> {
        match self {
            Vectorizer::Count(v) => v.rebuild_index()?,
            Vectorizer::Tfidf(v) => v.rebuild_index()?,
            Vectorizer::Hashing(_) => {}
        }
        Ok(())
    }
}

/// A fitted classifier of any kind.
#[derive(Debug, Clone)]
pub enum Classifier {
    LogReg(LogisticRegression),
    Nb(MultinomialNb),
    NbLr(NbLr),
}

/// Timings and size of a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitReport {
    pub vectorize_s: f64,
    pub train_s: f64,
    pub n_features: usize,
}

/// A trained baseline: everything `predict` needs after the text pipeline.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub kind: BaselineKind,
    pub params: BaselineParams,
    pub resolved: ResolvedParams,
    pub labels: LabelSet,
    /// Decision threshold on the positive class's probability (binary tasks).
    pub threshold: Option<f64>,
    pub vectorizer: Vectorizer,
    pub classifier: Classifier,
}

/// `model.json` of a baseline directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// [`crate::FORMAT_VERSION`] when written; 0 (absent) before versions were recorded.
    #[serde(default)]
    pub format_version: u32,
    pub kind: String,
    pub params: serde_json::Value,
    pub resolved: Option<ResolvedParams>,
    pub labels: Vec<String>,
    pub positive_label: Option<String>,
    pub threshold: Option<f64>,
    /// What the caller wants to keep with the model (data columns, language, ...).
    #[serde(default)]
    pub meta: serde_json::Value,
}

impl Baseline {
    /// Fits the vectorizer on `train` and the classifier on its rows.
    pub fn fit(
        kind: BaselineKind,
        params: BaselineParams,
        labels: LabelSet,
        train: &[Vec<String>],
        y: &[usize],
    ) -> Result<Self, Error> {
        Ok(Self::fit_timed(kind, params, labels, train, y)?.0)
    }

    /// [`Baseline::fit`], also returning the seconds spent vectorizing and training, and
    /// the number of features.
    pub fn fit_timed(
        kind: BaselineKind,
        params: BaselineParams,
        labels: LabelSet,
        train: &[Vec<String>],
        y: &[usize],
    ) -> Result<(Self, FitReport), Error> {
        let resolved = params.resolve(kind);
        let t0 = std::time::Instant::now();
        let (vectorizer, x) = Vectorizer::fit_transform(&resolved.vectorizer, train)?;
        let vectorize_s = t0.elapsed().as_secs_f64();
        let t1 = std::time::Instant::now();
        let k = labels.n_classes();
        let classifier = match kind {
            BaselineKind::Nb => Classifier::Nb(MultinomialNb::fit(&x, y, k, resolved.alpha)?),
            BaselineKind::Nbsvm => Classifier::NbLr(NbLr::fit(&x, y, k, resolved.alpha, &resolved.logreg)?),
            _ => Classifier::LogReg(LogisticRegression::fit(&x, y, k, &resolved.logreg)?),
        };
        let report = FitReport {
            vectorize_s,
            train_s: t1.elapsed().as_secs_f64(),
            n_features: x.n_cols(),
        };
        Ok((
            Baseline {
                kind,
                params,
                resolved,
                labels,
                threshold: None,
                vectorizer,
                classifier,
            },
            report,
        ))
    }

    /// Fits on `train` and chooses the decision threshold on `val` (binary tasks); with
    /// `params.refit`, then fits again on `train` and `val` together and keeps that model with
    /// the threshold chosen before (its rows are in the second fit, so they cannot choose it).
    /// Returns the model, the first fit's validation probabilities (what the threshold was
    /// chosen on) and both fits' report.
    pub fn fit_validated(
        kind: BaselineKind,
        params: BaselineParams,
        labels: LabelSet,
        train: (&[Vec<String>], &[usize]),
        val: (&[Vec<String>], &[usize]),
    ) -> Result<(Self, Vec<Vec<f32>>, FitReport), Error> {
        let refit = params.refit.unwrap_or(false);
        let (mut model, mut report) = Self::fit_timed(kind, params.clone(), labels.clone(), train.0, train.1)?;
        let val_proba = model.predict_proba(val.0)?;
        let threshold = labels
            .positive
            .map(|pos| crate::metrics::best_threshold(val.1, &val_proba, pos));
        if refit {
            let docs: Vec<Vec<String>> = train.0.iter().chain(val.0).cloned().collect();
            let y: Vec<usize> = train.1.iter().chain(val.1).copied().collect();
            let (second, again) = Self::fit_timed(kind, params, labels, &docs, &y)?;
            model = second;
            report = FitReport {
                vectorize_s: report.vectorize_s + again.vectorize_s,
                train_s: report.train_s + again.train_s,
                n_features: again.n_features,
            };
        }
        model.threshold = threshold;
        Ok((model, val_proba, report))
    }

    /// Class probabilities of token lists, `[n, n_classes]`.
    pub fn predict_proba(&self, docs: &[Vec<String>]) -> Result<Vec<Vec<f32>>, Error> {
        let x = self.vectorizer.transform(docs);
        match &self.classifier {
            Classifier::LogReg(m) => m.predict_proba(&x),
            Classifier::Nb(m) => m.predict_proba(&x),
            Classifier::NbLr(m) => m.predict_proba(&x),
        }
    }

    /// The features with the largest weights for each class (logistic models with named
    /// features), for reports.
    pub fn top_features(&self, per_class: usize) -> Vec<(String, Vec<(String, f32)>)> {
        let (Classifier::LogReg(m), Some(names)) = (&self.classifier, self.vectorizer.feature_names()) else {
            return Vec::new();
        };
        (0..self.labels.n_classes())
            .map(|class| {
                let mut w: Vec<(usize, f32)> = (0..m.n_features).map(|f| (f, m.weight(class, f))).collect();
                w.sort_by(|a, b| b.1.total_cmp(&a.1));
                let top = w
                    .into_iter()
                    .take(per_class)
                    .map(|(f, v)| (names[f].clone(), v))
                    .collect();
                (self.labels.labels[class].clone(), top)
            })
            .collect()
    }

    /// Writes `model.json`, `vectorizer.json` and `model.safetensors` into `dir`.
    pub fn save(&self, dir: &Path, meta: serde_json::Value) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let card = ModelCard {
            format_version: crate::FORMAT_VERSION,
            kind: self.kind.name().to_string(),
            params: serde_json::to_value(&self.params).map_err(|e| Error::Format(e.to_string()))?,
            resolved: Some(self.resolved.clone()),
            labels: self.labels.labels.clone(),
            positive_label: self.labels.positive.map(|k| self.labels.labels[k].clone()),
            threshold: self.threshold,
            meta,
        };
        write_json(&dir.join("vectorizer.json"), &self.vectorizer)?;
        let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        match &self.classifier {
            Classifier::LogReg(m) => push_logreg(&mut tensors, "", m),
            Classifier::Nb(m) => {
                let k = m.class_log_prior.len();
                tensors.push((
                    "feature_log_prob".into(),
                    vec![k, m.n_features],
                    m.feature_log_prob.clone(),
                ));
                tensors.push(("class_log_prior".into(), vec![k], m.class_log_prior.clone()));
            }
            Classifier::NbLr(m) => {
                let rows = m.models.len();
                tensors.push(("nb_ratio".into(), vec![rows, m.n_features], m.ratios.clone()));
                for (i, lr) in m.models.iter().enumerate() {
                    push_logreg(&mut tensors, &format!("ovr{i}."), lr);
                }
            }
        }
        crate::tensors::save(&dir.join("model.safetensors"), &tensors)?;
        // The card last: a directory with a card has its other files.
        write_json(&dir.join("model.json"), &card)
    }

    /// Loads a baseline directory written by [`Baseline::save`].
    pub fn load(dir: &Path) -> Result<(Self, ModelCard), Error> {
        let path = dir.join("model.json");
        let value: serde_json::Value = read_json(&path)?;
        crate::check_format_version(&path, &value)?;
        let card: ModelCard =
            serde_json::from_value(value).map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        let kind = BaselineKind::from_name(&card.kind).ok_or_else(|| {
            Error::Format(format!(
                "{}: holds a {:?} model, not a bag-of-words baseline",
                dir.display(),
                card.kind
            ))
        })?;
        let params: BaselineParams = serde_json::from_value(card.params.clone())
            .map_err(|e| Error::Format(format!("{}: params: {e}", dir.join("model.json").display())))?;
        let resolved = card.resolved.clone().unwrap_or_else(|| params.resolve(kind));
        let mut vectorizer: Vectorizer = read_json(&dir.join("vectorizer.json"))?;
        vectorizer.rebuild()?;
        let weights_path = dir.join("model.safetensors");
        let t = crate::tensors::load(&weights_path)?;
        let get = |name: &str| -> Result<crate::tensors::Tensor, Error> {
            t.get(name)
                .cloned()
                .ok_or_else(|| Error::Format(format!("{}: no tensor {name:?}", weights_path.display())))
        };
        let n_classes = card.labels.len();
        let classifier = match kind {
            BaselineKind::Nb => {
                let (shape, flp) = get("feature_log_prob")?;
                let (_, prior) = get("class_log_prior")?;
                Classifier::Nb(MultinomialNb {
                    n_features: *shape.get(1).unwrap_or(&0),
                    alpha: resolved.alpha,
                    feature_log_prob: flp,
                    class_log_prior: prior,
                })
            }
            BaselineKind::Nbsvm => {
                let (shape, ratios) = get("nb_ratio")?;
                let rows = *shape.first().unwrap_or(&0);
                let models = (0..rows)
                    .map(|i| read_logreg(&get, &format!("ovr{i}."), 2))
                    .collect::<Result<_, _>>()?;
                Classifier::NbLr(NbLr {
                    n_features: *shape.get(1).unwrap_or(&0),
                    n_classes,
                    ratios,
                    models,
                })
            }
            _ => Classifier::LogReg(read_logreg(&get, "", n_classes)?),
        };
        check_parts(
            dir,
            kind,
            &resolved,
            &vectorizer,
            &classifier,
            n_classes,
            card.threshold,
        )?;
        let positive = card
            .positive_label
            .as_ref()
            .and_then(|p| card.labels.iter().position(|l| l == p));
        let labels = LabelSet {
            labels: card.labels.clone(),
            positive,
        };
        Ok((
            Baseline {
                kind,
                params,
                resolved,
                labels,
                threshold: card.threshold,
                vectorizer,
                classifier,
            },
            card,
        ))
    }
}

/// The files of a baseline directory must describe one model: the vectorizer the card's
/// parameters name, as many columns as the weights have, one row per class (one for a binary
/// logistic regression), a threshold that is a probability. Anything else (a file from another
/// directory, a hand edit) is an error naming the directory, never a wrong prediction or a panic.
fn check_parts(
    dir: &Path,
    kind: BaselineKind,
    resolved: &ResolvedParams,
    vectorizer: &Vectorizer,
    classifier: &Classifier,
    n_classes: usize,
    threshold: Option<f64>,
) -> Result<(), Error> {
    let bad = |what: String| Err(Error::Format(format!("{}: {what}", dir.display())));
    if n_classes < 2 {
        return bad(format!(
            "model.json names {n_classes} labels; a classifier needs at least two"
        ));
    }
    if let Some(t) = threshold.filter(|t| !(0.0..=1.0).contains(t)) {
        return bad(format!("model.json: threshold {t} is outside [0, 1]"));
    }
    let same_kind = matches!(
        (&resolved.vectorizer, vectorizer),
        (VectorizerSpec::Count(_), Vectorizer::Count(_))
            | (VectorizerSpec::Hashing(_), Vectorizer::Hashing(_))
            | (VectorizerSpec::Tfidf(_), Vectorizer::Tfidf(_))
    );
    if !same_kind {
        return bad(format!(
            "vectorizer.json is not the vectorizer a {} model uses (a file from another model?)",
            kind.name()
        ));
    }
    let columns = vectorizer.n_features();
    let rows = if n_classes == 2 { 1 } else { n_classes };
    let (features, ok) = match classifier {
        Classifier::LogReg(m) => (m.n_features, m.intercept.len() == rows),
        Classifier::Nb(m) => (
            m.n_features,
            m.class_log_prior.len() == n_classes && m.feature_log_prob.len() == n_classes * m.n_features,
        ),
        Classifier::NbLr(m) => (
            m.n_features,
            m.models.len() == rows
                && m.ratios.len() == rows * m.n_features
                && m.models
                    .iter()
                    .all(|r| r.n_features == m.n_features && r.intercept.len() == 1),
        ),
    };
    if features != columns {
        return bad(format!(
            "vectorizer.json makes {columns} columns but model.safetensors weighs {features}"
        ));
    }
    if !ok {
        return bad(format!(
            "model.safetensors does not hold weights for the {n_classes} labels of model.json"
        ));
    }
    Ok(())
}

fn push_logreg(out: &mut Vec<(String, Vec<usize>, Vec<f32>)>, prefix: &str, m: &LogisticRegression) {
    let rows = m.intercept.len();
    out.push((format!("{prefix}coef"), vec![rows, m.n_features], m.coef.clone()));
    out.push((format!("{prefix}intercept"), vec![rows], m.intercept.clone()));
}

fn read_logreg(
    get: &dyn Fn(&str) -> Result<crate::tensors::Tensor, Error>,
    prefix: &str,
    n_classes: usize,
) -> Result<LogisticRegression, Error> {
    let (shape, coef) = get(&format!("{prefix}coef"))?;
    let (_, intercept) = get(&format!("{prefix}intercept"))?;
    let n_features = *shape.get(1).unwrap_or(&0);
    if shape.len() != 2 || intercept.len() != shape[0] || coef.len() != shape[0] * n_features {
        return Err(Error::Format(format!(
            "weights {prefix}coef have an inconsistent shape {shape:?}"
        )));
    }
    Ok(LogisticRegression {
        n_features,
        n_classes,
        coef,
        intercept,
        report: None,
    })
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Format(e.to_string()))?;
    crate::files::write_atomic(path, text.as_bytes()).map_err(|e| Error::io(path, e))
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Error> {
    crate::files::check_regular(path, crate::files::MAX_JSON_BYTES)?;
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Format(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(texts: &[&str]) -> Vec<Vec<String>> {
        texts
            .iter()
            .map(|t| t.split_whitespace().map(String::from).collect())
            .collect()
    }

    /// `fit_validated`: the threshold is chosen on validation by the first fit; `refit` then
    /// trains on training + validation rows (a word only validation has now counts) and keeps
    /// that threshold and the first fit's validation probabilities.
    #[test]
    fn fit_validated_chooses_on_validation_and_refits_on_both() {
        let train = docs(&[
            "good great film",
            "great good fun",
            "good fun",
            "bad awful film",
            "awful bad boring",
            "bad boring",
        ]);
        let y = vec![1, 1, 1, 0, 0, 0];
        let val = docs(&["superb good", "superb great", "dreadful bad", "bad dreadful film"]);
        let y_val = vec![1, 1, 0, 0];
        let labels = LabelSet::fit(&["neg".to_string(), "pos".to_string()], None).unwrap();
        let params = |refit| BaselineParams {
            min_df: Some(Df::Count(1)),
            refit,
            ..Default::default()
        };
        let fit = |refit| {
            Baseline::fit_validated(
                BaselineKind::Nbsvm,
                params(refit),
                labels.clone(),
                (&train, &y),
                (&val, &y_val),
            )
            .unwrap()
        };
        let (plain, pv, report) = fit(None);
        let alone = Baseline::fit(BaselineKind::Nbsvm, params(None), labels.clone(), &train, &y).unwrap();
        assert_eq!(
            pv,
            alone.predict_proba(&val).unwrap(),
            "validation probabilities of the first fit"
        );
        assert_eq!(plain.threshold, Some(crate::metrics::best_threshold(&y_val, &pv, 1)));
        let (refit, pv_refit, report_refit) = fit(Some(true));
        assert_eq!(
            pv_refit, pv,
            "the reported validation probabilities stay the first fit's"
        );
        assert_eq!(refit.threshold, plain.threshold, "the threshold stays the first fit's");
        assert!(
            report_refit.n_features > report.n_features,
            "validation's words are features after the refit"
        );
        let unseen = docs(&["superb", "dreadful"]);
        let (p, q) = (
            plain.predict_proba(&unseen).unwrap(),
            refit.predict_proba(&unseen).unwrap(),
        );
        assert!((p[0][1] - p[1][1]).abs() < 1e-6, "words the first fit never saw: {p:?}");
        assert!(
            q[0][1] > q[1][1] + 0.05,
            "the refit learned them from validation: {q:?}"
        );
    }

    #[test]
    fn every_kind_trains_saves_and_loads() {
        let train = docs(&[
            "good great film",
            "great good fun",
            "good fun",
            "bad awful film",
            "awful bad boring",
            "bad boring",
            "good great",
            "awful bad",
        ]);
        let y = vec![1, 1, 1, 0, 0, 0, 1, 0];
        let labels = LabelSet::fit(&["neg".to_string(), "pos".to_string()], None).unwrap();
        let dir = std::env::temp_dir().join(format!("rnnlab-baseline-test-{}", std::process::id()));
        for kind in BaselineKind::ALL {
            let params = BaselineParams {
                min_df: Some(Df::Count(1)),
                ..Default::default()
            };
            let mut m = Baseline::fit(kind, params, labels.clone(), &train, &y).unwrap();
            m.threshold = Some(0.5);
            let p = m.predict_proba(&docs(&["good great", "awful boring"])).unwrap();
            assert!(p[0][1] > p[0][0] && p[1][0] > p[1][1], "{}: {p:?}", kind.name());
            let d = dir.join(kind.name());
            m.save(&d, serde_json::json!({"text_column": "text"})).unwrap();
            let (back, card) = Baseline::load(&d).unwrap();
            assert_eq!(card.meta["text_column"], "text");
            assert_eq!(back.threshold, Some(0.5));
            let q = back.predict_proba(&docs(&["good great", "awful boring"])).unwrap();
            assert_eq!(p, q, "{}", kind.name());
        }
        // A damaged weight file is an error, not a panic.
        let d = dir.join("nb");
        std::fs::write(d.join("model.safetensors"), b"garbage").unwrap();
        assert!(Baseline::load(&d).is_err());
        std::fs::write(d.join("model.json"), b"{\"kind\": \"lstm\"}").unwrap();
        assert!(Baseline::load(&d).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
