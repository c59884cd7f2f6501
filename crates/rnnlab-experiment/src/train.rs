//! One model kind trained on a prepared data set: a model directory (`model.json`, weights,
//! `pipeline.json`, vocabulary, `metrics.json`) and the metrics as JSON, whatever the kind.

use std::path::Path;
use std::time::Instant;

use crate::blend::{self, Blend};
use candle_core::Device;
use rnnlab_baselines::baseline::{Baseline, BaselineKind, BaselineParams};
use rnnlab_baselines::fasttext::{FastText, FastTextParams};
use rnnlab_baselines::metrics::{predict_classes, SplitMetrics};
use rnnlab_rnn::{Architecture, CellKind, Optimisation, RnnConfig, TrainObserver};
use rnnlab_text::{Lang, Pipeline};
use serde_json::{json, Value};

use crate::best_rnn;
pub use crate::best_rnn::NetworkTokens;
use crate::prepared::Prepared;
use crate::{round4, write_json, Error};

/// What to train: a baseline with its parameters, a recurrent network with its configuration,
/// or a blend of a recurrent network with NB-LR (`blend`: `best-rnn` and `nbsvm`).
#[derive(Debug, Clone)]
pub enum ModelSpec {
    Baseline(BaselineKind, BaselineParams),
    FastText(FastTextParams),
    Rnn {
        kind: String,
        config: RnnConfig,
        /// What its network reads where that departs from the data set's pipeline.
        tokens: NetworkTokens,
    },
    Blend {
        config: RnnConfig,
        params: BaselineParams,
        /// What the network part reads, as `best-rnn`, while NB-LR keeps the data set's
        /// pipeline.
        tokens: NetworkTokens,
    },
}

/// A model kind: a bag-of-words baseline, a recurrent network with the lecture's recipe, the
/// project's `best-rnn`, or the blend of `best-rnn` and NB-LR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Baseline(BaselineKind),
    /// fastText's bag of word and character n-gram vectors.
    FastText,
    /// `rnn`, `lstm` or `gru` with the lecture's recipe.
    Network(CellKind),
    BestRnn,
    Blend,
}

impl ModelKind {
    /// Every kind, in the order reports list them when tied.
    pub const ALL: [ModelKind; 12] = [
        ModelKind::Baseline(BaselineKind::CountLogreg),
        ModelKind::Baseline(BaselineKind::HashingLogreg),
        ModelKind::Baseline(BaselineKind::TfidfLogreg),
        ModelKind::Baseline(BaselineKind::CharTfidfLogreg),
        ModelKind::Baseline(BaselineKind::Nb),
        ModelKind::Baseline(BaselineKind::Nbsvm),
        ModelKind::FastText,
        ModelKind::Network(CellKind::Rnn),
        ModelKind::Network(CellKind::Lstm),
        ModelKind::Network(CellKind::Gru),
        ModelKind::BestRnn,
        ModelKind::Blend,
    ];

    /// The name commands and reports use (`--model`, `kind` in `model.json`).
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Baseline(b) => b.name(),
            ModelKind::FastText => rnnlab_baselines::fasttext::KIND,
            ModelKind::Network(c) => c.name(),
            ModelKind::BestRnn => "best-rnn",
            ModelKind::Blend => "blend",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether its model directory holds one recurrent network (`RnnModel`).
    pub fn is_network(self) -> bool {
        matches!(self, ModelKind::Network(_) | ModelKind::BestRnn)
    }
}

/// Every model kind's name, in [`ModelKind::ALL`]'s order.
pub fn all_kinds() -> [&'static str; 12] {
    ModelKind::ALL.map(ModelKind::name)
}

impl ModelSpec {
    /// The kind's defaults for a task in `lang` with `n_classes` classes: the anchors' recipes
    /// for baselines and `rnn` / `lstm` / `gru`, the project's own recipe for `best-rnn`, and
    /// both of `best-rnn` and `nbsvm` for `blend`. `n_classes` 0 means not known yet: the
    /// defaults that depend on it (best-rnn's `bag_nb` for binary tasks) stay off.
    pub fn from_kind(kind: &str, lang: Lang, n_classes: usize) -> Result<Self, Error> {
        let known = ModelKind::from_name(kind).ok_or_else(|| {
            Error::Input(format!(
                "unknown model kind {kind:?}; known: {}",
                all_kinds().join(", ")
            ))
        })?;
        Ok(match known {
            ModelKind::Baseline(b) => ModelSpec::Baseline(b, BaselineParams::default()),
            ModelKind::FastText => ModelSpec::FastText(FastTextParams::default()),
            ModelKind::Blend => ModelSpec::Blend {
                config: best_rnn::network(lang, n_classes),
                params: BaselineParams::default(),
                tokens: best_rnn::tokens(lang),
            },
            ModelKind::BestRnn => ModelSpec::Rnn {
                kind: known.name().to_string(),
                config: best_rnn::network(lang, n_classes),
                tokens: best_rnn::tokens(lang),
            },
            ModelKind::Network(cell) => ModelSpec::Rnn {
                kind: known.name().to_string(),
                config: RnnConfig {
                    architecture: Architecture {
                        cell,
                        ..Architecture::default()
                    },
                    ..RnnConfig::default()
                },
                tokens: NetworkTokens::default(),
            },
        })
    }

    pub fn kind(&self) -> &str {
        match self {
            ModelSpec::Baseline(k, _) => k.name(),
            ModelSpec::FastText(_) => ModelKind::FastText.name(),
            ModelSpec::Rnn { kind, .. } => kind,
            ModelSpec::Blend { .. } => "blend",
        }
    }

    /// What its network reads where that departs from the data set's pipeline (nothing for a
    /// baseline).
    pub fn network_tokens(&self) -> NetworkTokens {
        match self {
            ModelSpec::Baseline(..) | ModelSpec::FastText(_) => NetworkTokens::default(),
            ModelSpec::Rnn { tokens, .. } | ModelSpec::Blend { tokens, .. } => *tokens,
        }
    }

    /// The pipeline its recipe reads where that is not `prep`'s, unless the user chose the
    /// preprocessing: for a network [`NetworkTokens::apply`] to `prep`'s; for `fasttext` the
    /// anchor's own split ([`Pipeline::simple`]: fastText as practitioners run it, and what
    /// validation preferred on all three data sets). `None`: it reads `prep` as it is.
    pub fn network_pipeline(&self, prep: &Prepared) -> Option<Pipeline> {
        if prep.normalization_chosen {
            return None;
        }
        let p = match self {
            ModelSpec::FastText(_) => Pipeline::simple(prep.pipeline.lang),
            _ => self.network_tokens().apply(&prep.pipeline),
        };
        (p != prep.pipeline).then_some(p)
    }

    /// Sets scikit-learn's `refit` on every part: after choosing on validation, train again on
    /// training + validation rows.
    pub fn set_refit(&mut self, refit: bool) {
        match self {
            ModelSpec::Baseline(_, params) => params.refit = Some(refit),
            ModelSpec::FastText(params) => params.refit = refit,
            ModelSpec::Rnn { config, .. } => config.optimisation.refit = refit,
            ModelSpec::Blend { config, params, .. } => {
                config.optimisation.refit = refit;
                params.refit = Some(refit);
            }
        }
    }

    /// Whether it trains again on training + validation rows after choosing on validation.
    pub fn refit(&self) -> bool {
        match self {
            ModelSpec::Baseline(_, params) => params.refit == Some(true),
            ModelSpec::FastText(params) => params.refit,
            ModelSpec::Rnn { config, .. } | ModelSpec::Blend { config, .. } => config.optimisation.refit,
        }
    }

    /// Whether it trains a network (progress bars, a device).
    pub fn is_neural(&self) -> bool {
        !matches!(self, ModelSpec::Baseline(..) | ModelSpec::FastText(_))
    }

    /// Whether its training draws random numbers, so that each seed is a run of its own (the
    /// networks and fastText; the linear baselines are deterministic).
    pub fn is_seeded(&self) -> bool {
        !matches!(self, ModelSpec::Baseline(..))
    }

    /// The report's family column.
    pub fn family(&self) -> &'static str {
        match self {
            ModelSpec::Baseline(..) | ModelSpec::FastText(_) => "bag-of-words",
            ModelSpec::Rnn { .. } => "recurrent",
            ModelSpec::Blend { .. } => "blend",
        }
    }
}

/// Test-set probabilities and predictions, kept for reports.
pub struct Trained {
    pub metrics: Value,
    pub test_pred: Vec<usize>,
    /// Class probabilities of the test rows, row by row.
    pub test_proba: Vec<Vec<f32>>,
    /// Most telling features per class (linear models with named features).
    pub top_features: Vec<(String, Vec<(String, f32)>)>,
}

/// Trains `spec` with `seed` on `prep` (its network on its own tokens where the recipe has
/// [`NetworkTokens`]), writes the model directory `out` and returns its `metrics.json`.
pub fn train_model(
    prep: &Prepared,
    spec: &ModelSpec,
    seed: u64,
    out: &Path,
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<Trained, Error> {
    // A recipe whose network reads tokens of its own preprocesses the rows again (well under
    // a second): all of a network's, a blend's network part's.
    let reprocessed;
    let net_prep = match spec.network_pipeline(prep) {
        Some(pipeline) => {
            reprocessed = prep.reprocessed(pipeline)?;
            &reprocessed
        }
        None => prep,
    };
    let prep = match spec {
        ModelSpec::Rnn { .. } | ModelSpec::FastText(_) => net_prep,
        _ => prep,
    };
    let (tr, va, te) = (prep.docs(0), prep.docs(1), prep.docs(2));
    let [y_tr, y_va, y_te] = &prep.y;
    let labels = &prep.labels;
    let k = labels.n_classes();
    let meta = json!({
        "dataset": prep.name,
        "text_column": prep.columns.text,
        "label_column": prep.columns.label,
        "id_column": prep.columns.id,
        "lang": prep.lang,
    });
    let (p_va, threshold, params, mut timings, mut extra, predict, top_features);
    match spec {
        ModelSpec::Baseline(kind, params_in) => {
            let (model, pv, fit) =
                Baseline::fit_validated(*kind, params_in.clone(), labels.clone(), (&tr, y_tr), (&va, y_va))?;
            let t = Instant::now();
            let pt = model.predict_proba(&te)?;
            let predict_s = t.elapsed().as_secs_f64();
            let mut meta = meta.clone();
            meta["n_features"] = json!(fit.n_features);
            model.save(out, meta)?;
            params = serde_json::to_value(&model.resolved).map_err(|e| Error::Failed(e.to_string()))?;
            timings = json!({"vectorize_s": round4(fit.vectorize_s), "train_s": round4(fit.train_s)});
            extra = json!({"n_features": fit.n_features});
            if model.params.refit == Some(true) {
                extra["refit"] = json!(true);
            }
            threshold = model.threshold;
            top_features = model.top_features(15);
            p_va = pv;
            predict = (pt, predict_s);
        }
        ModelSpec::FastText(params_in) => {
            let params_in = FastTextParams {
                seed,
                ..params_in.clone()
            };
            let (model, pv, fit) = FastText::fit_validated(params_in, labels.clone(), (&tr, y_tr), (&va, y_va))?;
            let t = Instant::now();
            let pt = model.predict_proba(&te)?;
            let predict_s = t.elapsed().as_secs_f64();
            model.save(out, meta.clone())?;
            params = serde_json::to_value(&model.params).map_err(|e| Error::Failed(e.to_string()))?;
            timings = json!({"train_s": round4(fit.train_s)});
            extra = json!({"vocab_size": fit.n_words, "train_loss": round4(fit.loss)});
            if model.params.refit {
                extra["refit"] = json!(true);
            }
            threshold = model.threshold;
            top_features = Vec::new();
            p_va = pv;
            predict = (pt, predict_s);
        }
        ModelSpec::Rnn { kind, config, .. } => {
            let config = RnnConfig {
                optimisation: Optimisation {
                    seed,
                    ..config.optimisation.clone()
                },
                ..config.clone()
            };
            let fit = rnnlab_rnn::fit(kind, &config, labels, (&tr, y_tr), (&va, y_va), device, observer)?;
            let t = Instant::now();
            let pt = fit.model.predict_proba(&te)?;
            let predict_s = t.elapsed().as_secs_f64();
            fit.model.save(out, meta.clone())?;
            params =
                serde_json::to_value(&fit.model.classifier.encoder.config).map_err(|e| Error::Failed(e.to_string()))?;
            (timings, extra) = network_record(&fit, fit.train_s);
            threshold = fit.model.threshold;
            top_features = Vec::new();
            p_va = fit.val_proba;
            predict = (pt, predict_s);
        }
        ModelSpec::Blend {
            config,
            params: nb_params,
            ..
        } => {
            let (net_tr, net_va, net_te) = (net_prep.docs(0), net_prep.docs(1), net_prep.docs(2));
            let config = RnnConfig {
                optimisation: Optimisation {
                    seed,
                    ..config.optimisation.clone()
                },
                ..config.clone()
            };
            let (nbsvm, pv_nbsvm, nb_fit) = Baseline::fit_validated(
                BaselineKind::Nbsvm,
                nb_params.clone(),
                labels.clone(),
                (&tr, y_tr),
                (&va, y_va),
            )?;
            let fit = rnnlab_rnn::fit(
                ModelKind::BestRnn.name(),
                &config,
                labels,
                (&net_tr, y_tr),
                (&net_va, y_va),
                device,
                observer,
            )?;
            let (weight, blend_threshold, _) = blend::choose_weight(y_va, &pv_nbsvm, &fit.val_proba, labels);
            // Both parts' training (NB-LR's vectorizing included); `epoch_s` is the network's.
            (timings, extra) = network_record(&fit, fit.train_s + nb_fit.vectorize_s + nb_fit.train_s);
            extra["blend_weight"] = json!(weight);
            let model = Blend {
                rnn: fit.model,
                nbsvm,
                weight,
                threshold: blend_threshold,
            };
            let t = Instant::now();
            let pt = model.predict_proba_parts(&te, &net_te)?;
            let predict_s = t.elapsed().as_secs_f64();
            model.save(out, meta.clone())?;
            let as_json = |v: serde_json::Result<Value>| v.map_err(|e| Error::Failed(e.to_string()));
            params = json!({
                "rnn": as_json(serde_json::to_value(&model.rnn.classifier.encoder.config))?,
                "nbsvm": as_json(serde_json::to_value(&model.nbsvm.resolved))?,
            });
            threshold = model.threshold;
            top_features = Vec::new();
            p_va = blend::mix(&pv_nbsvm, &fit.val_proba, weight);
            predict = (pt, predict_s);
        }
    }
    let (p_te, predict_s) = predict;
    let m_va = SplitMetrics::compute(
        y_va,
        &predict_classes(&p_va, labels.positive, threshold),
        k,
        labels.positive,
    );
    let test_pred = predict_classes(&p_te, labels.positive, threshold);
    let m_te = SplitMetrics::compute(y_te, &test_pred, k, labels.positive);
    timings["preprocess_s"] = json!(round4(prep.preprocess_s));
    timings["predict_docs_per_s"] = json!((te.len() as f64 / predict_s.max(1e-9)).round());
    let mut metrics = json!({
        "kind": spec.kind(),
        "dataset": prep.name,
        "params": params,
        "seed": seed,
        "labels": labels.labels.iter().map(|l| label_json(l)).collect::<Vec<_>>(),
        "positive_label": labels.positive.map(|p| label_json(&labels.labels[p])),
        "threshold": threshold,
        "val": m_va,
        "test": m_te,
        "timings": timings,
        "peak_rss_mb": peak_rss_mb(),
    });
    if let (Some(m), Some(e)) = (metrics.as_object_mut(), extra.as_object()) {
        for (key, v) in e {
            m.insert(key.clone(), v.clone());
        }
    }
    prep.pipeline.save(&out.join("pipeline.json"))?;
    if let ModelSpec::Blend { .. } = spec {
        // Each part is a whole model directory too, for `predict` and `eval` on its own, with
        // the pipeline it trained on.
        prep.pipeline.save(&out.join("nbsvm").join("pipeline.json"))?;
        net_prep.pipeline.save(&out.join("rnn").join("pipeline.json"))?;
    }
    write_json(&out.join("metrics.json"), &metrics)?;
    Ok(Trained {
        metrics,
        test_pred,
        test_proba: p_te,
        top_features,
    })
}

/// A finished run of `spec` with `seed` found in `dir` (by an earlier, interrupted experiment):
/// its `metrics.json` (written last, so a directory that has one is whole) and its model,
/// loaded and run again on the test rows. Kept only when it is the run the plan asks for (kind,
/// seed, labels) and its test figures come out the same as recorded; `None` means train it
/// again.
pub fn reload_model(prep: &Prepared, spec: &ModelSpec, seed: u64, dir: &Path, device: &Device) -> Option<Trained> {
    let metrics: Value = rnnlab_baselines::baseline::read_json(&dir.join("metrics.json")).ok()?;
    let interrupted = metrics["stopped"]
        .as_str()
        .is_some_and(|s| s.starts_with("interrupted"));
    if interrupted || metrics["kind"] != json!(spec.kind()) || metrics["seed"] != json!(seed) {
        return None;
    }
    let (model, _) = crate::AnyModel::load(dir, device).ok()?;
    let labels = &prep.labels;
    if model.labels().labels != labels.labels {
        return None;
    }
    let own = match spec.network_pipeline(prep) {
        Some(pipeline) => Some(prep.reprocessed(pipeline).ok()?),
        None => None,
    };
    let net_prep = own.as_ref().unwrap_or(prep);
    let test_proba = match (&model, spec) {
        (crate::AnyModel::Blend(m), _) => m.predict_proba_parts(&prep.docs(2), &net_prep.docs(2)).ok()?,
        (_, ModelSpec::Rnn { .. } | ModelSpec::FastText(_)) => model.predict_proba(&net_prep.docs(2)).ok()?,
        _ => model.predict_proba(&prep.docs(2)).ok()?,
    };
    let test_pred = predict_classes(&test_proba, labels.positive, model.threshold());
    let m_te = SplitMetrics::compute(&prep.y[2], &test_pred, labels.n_classes(), labels.positive);
    if serde_json::to_value(&m_te).ok()? != metrics["test"] {
        return None;
    }
    let top_features = match &model {
        crate::AnyModel::Baseline(b) => b.top_features(15),
        _ => Vec::new(),
    };
    Some(Trained {
        metrics,
        test_pred,
        test_proba,
        top_features,
    })
}

/// A network's `timings` (`train_s` as given, the epochs') and its `metrics.json` fields: the
/// learning curve, chosen epoch, why it stopped early, input length and vocabulary.
fn network_record(fit: &rnnlab_rnn::FitResult, train_s: f64) -> (Value, Value) {
    let timings =
        json!({"train_s": round4(train_s), "epoch_s": fit.epoch_s.iter().map(|&s| round4(s)).collect::<Vec<_>>()});
    let extra = json!({
        "curve": fit.curve,
        "best_epoch": fit.best_epoch,
        "stopped": fit.stopped,
        "max_len": fit.model.encoder.max_len,
        "vocab_size": fit.model.input.vocab_size(),
    });
    (timings, extra)
}

/// Labels as JSON: numbers when they are numbers (as in the data), else strings.
pub fn label_json(l: &str) -> Value {
    if let Ok(i) = l.parse::<i64>() {
        return json!(i);
    }
    if let Ok(f) = l.parse::<f64>() {
        if f.is_finite() {
            return json!(f);
        }
    }
    json!(l)
}

/// Peak resident memory of this process in MB (Linux; `None` elsewhere).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name() {
        let names = all_kinds();
        let mut distinct = names.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        assert_eq!((names[0], names[11]), ("count-logreg", "blend"), "the report's order");
        for k in ModelKind::ALL {
            assert_eq!(ModelKind::from_name(k.name()), Some(k));
        }
        assert_eq!(ModelKind::from_name("lstmx"), None);
        let networks: Vec<&str> = ModelKind::ALL
            .into_iter()
            .filter(|k| k.is_network())
            .map(ModelKind::name)
            .collect();
        assert_eq!(networks, ["rnn", "lstm", "gru", "best-rnn"]);
    }
}
