//! A recurrent network and NB-LR with their class probabilities blended,
//! `w p_nbsvm + (1 - w) p_rnn`, the weight (and a binary task's threshold) chosen on
//! validation. The two rank different texts well: on hate speech the network misses fewer
//! paraphrases and the bag of n-grams is surer of repeats and templates (docs/research/best-rnn.md).
//! The directory holds both models whole: `rnn/` and `nbsvm/` beside `model.json`.

use std::path::Path;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use rnnlab_baselines::baseline::{read_json, write_json, Baseline};
use rnnlab_baselines::labels::LabelSet;
use rnnlab_baselines::metrics::{best_threshold, predict_classes, SplitMetrics};
use rnnlab_rnn::{Error, RnnModel};

/// NB-LR's shares tried on validation: 0 (the network alone) to 1 (NB-LR alone) by 0.1.
pub const WEIGHTS: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// A trained blend: everything `predict` needs after the text pipeline.
pub struct Blend {
    pub rnn: RnnModel,
    pub nbsvm: Baseline,
    /// NB-LR's share of the probabilities.
    pub weight: f64,
    /// Decision threshold on the blended positive-class probability (binary tasks).
    pub threshold: Option<f64>,
}

/// `model.json` of a blend directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlendCard {
    /// `rnnlab_baselines::FORMAT_VERSION` when written; 0 (absent) before versions were recorded.
    #[serde(default)]
    pub format_version: u32,
    pub kind: String,
    pub weight: f64,
    pub threshold: Option<f64>,
    pub labels: Vec<String>,
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// `w a + (1 - w) b`, row by row.
pub fn mix(a: &[Vec<f32>], b: &[Vec<f32>], w: f64) -> Vec<Vec<f32>> {
    let w = w as f32;
    a.iter()
        .zip(b)
        .map(|(ra, rb)| ra.iter().zip(rb).map(|(x, y)| w * x + (1.0 - w) * y).collect())
        .collect()
}

/// The validation figure of `proba` (binary: F1 at its best threshold, else macro-F1) and
/// that threshold.
pub fn score(proba: &[Vec<f32>], y: &[usize], labels: &LabelSet) -> (f64, Option<f64>) {
    let k = labels.n_classes();
    let threshold = labels.positive.map(|pos| best_threshold(y, proba, pos));
    let pred = predict_classes(proba, labels.positive, threshold);
    (
        SplitMetrics::compute(y, &pred, k, labels.positive).main_metric(),
        threshold,
    )
}

/// NB-LR's share (from [`WEIGHTS`]) whose blend scores best on the validation rows, the
/// threshold there, and the score; on a tie the smaller share.
pub fn choose_weight(
    y: &[usize],
    p_nbsvm: &[Vec<f32>],
    p_rnn: &[Vec<f32>],
    labels: &LabelSet,
) -> (f64, Option<f64>, f64) {
    let mut best = (f64::NAN, None, f64::NEG_INFINITY);
    for w in WEIGHTS {
        let (metric, threshold) = score(&mix(p_nbsvm, p_rnn, w), y, labels);
        if metric > best.2 {
            best = (w, threshold, metric);
        }
    }
    best
}

impl Blend {
    pub fn labels(&self) -> &LabelSet {
        &self.rnn.labels
    }

    /// The blended probabilities of `docs`, both parts reading the same tokens.
    pub fn predict_proba(&self, docs: &[Vec<String>]) -> Result<Vec<Vec<f32>>, Error> {
        self.predict_proba_parts(docs, docs)
    }

    /// The blended probabilities when the parts read different tokens of the same texts
    /// (`nbsvm_docs` and `rnn_docs` in the same order): each part's from its own pipeline,
    /// the `pipeline.json` of `nbsvm/` and of `rnn/`.
    pub fn predict_proba_parts(
        &self,
        nbsvm_docs: &[Vec<String>],
        rnn_docs: &[Vec<String>],
    ) -> Result<Vec<Vec<f32>>, Error> {
        if nbsvm_docs.len() != rnn_docs.len() {
            return Err(Error::Format(format!(
                "a blend's parts got {} and {} texts",
                nbsvm_docs.len(),
                rnn_docs.len()
            )));
        }
        let p_rnn = self.rnn.predict_proba(rnn_docs)?;
        let p_nbsvm = self.nbsvm.predict_proba(nbsvm_docs)?;
        Ok(mix(&p_nbsvm, &p_rnn, self.weight))
    }

    /// Writes `model.json` here and the two models, each with `meta`, into `rnn/` and `nbsvm/`.
    pub fn save(&self, dir: &Path, meta: serde_json::Value) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        self.rnn.save(&dir.join("rnn"), meta.clone())?;
        self.nbsvm.save(&dir.join("nbsvm"), meta.clone())?;
        let card = BlendCard {
            format_version: rnnlab_baselines::FORMAT_VERSION,
            kind: "blend".into(),
            weight: self.weight,
            threshold: self.threshold,
            labels: self.labels().labels.clone(),
            meta,
        };
        Ok(write_json(&dir.join("model.json"), &card)?)
    }

    /// Loads a directory written by [`Blend::save`]; the two models must share the labels.
    pub fn load(dir: &Path, device: &Device) -> Result<(Self, BlendCard), Error> {
        let path = dir.join("model.json");
        let value: serde_json::Value = read_json(&path)?;
        rnnlab_baselines::check_format_version(&path, &value)?;
        let card: BlendCard =
            serde_json::from_value(value).map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        if !(card.weight.is_finite() && (0.0..=1.0).contains(&card.weight)) {
            return Err(Error::Format(format!(
                "{}: weight {}: must be in [0, 1]",
                path.display(),
                card.weight
            )));
        }
        if let Some(t) = card.threshold.filter(|t| !(0.0..=1.0).contains(t)) {
            return Err(Error::Format(format!(
                "{}: threshold {t} is outside [0, 1]",
                path.display()
            )));
        }
        let (rnn, _) = RnnModel::load(&dir.join("rnn"), device)?;
        let (nbsvm, _) = Baseline::load(&dir.join("nbsvm"))?;
        if rnn.labels.labels != card.labels || nbsvm.labels.labels != card.labels {
            return Err(Error::Format(format!(
                "{}: the labels {:?} differ from those of rnn/ ({:?}) or nbsvm/ ({:?})",
                path.display(),
                card.labels,
                rnn.labels.labels,
                nbsvm.labels.labels
            )));
        }
        let blend = Blend {
            rnn,
            nbsvm,
            weight: card.weight,
            threshold: card.threshold,
        };
        Ok((blend, card))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary() -> LabelSet {
        LabelSet::fit(&["0".to_string(), "1".to_string()], None).unwrap()
    }

    #[test]
    fn mix_weighs_the_first_by_w() {
        let a = vec![vec![0.2f32, 0.8], vec![1.0, 0.0]];
        let b = vec![vec![0.6f32, 0.4], vec![0.0, 1.0]];
        let m = mix(&a, &b, 0.25);
        assert!((m[0][1] - (0.25 * 0.8 + 0.75 * 0.4)).abs() < 1e-6);
        assert!((m[1][0] - 0.25).abs() < 1e-6);
        assert_eq!(mix(&a, &b, 1.0), a);
        assert_eq!(mix(&a, &b, 0.0), b);
    }

    #[test]
    fn the_chosen_weight_follows_the_model_that_ranks_validation_right() {
        let y = [0usize, 0, 1, 1, 0, 1];
        // `good` ranks every positive above every negative, `bad` the reverse.
        let good: Vec<Vec<f32>> = [0.1f32, 0.2, 0.7, 0.9, 0.3, 0.6]
            .iter()
            .map(|&p| vec![1.0 - p, p])
            .collect();
        let bad: Vec<Vec<f32>> = good.iter().map(|r| vec![r[1], r[0]]).collect();
        let (w, t, f1) = choose_weight(&y, &good, &bad, &binary());
        assert_eq!(f1, 1.0);
        assert!(w > 0.5, "NB-LR's share {w}");
        let (w2, _, f1b) = choose_weight(&y, &bad, &good, &binary());
        assert_eq!(f1b, 1.0);
        assert!(w2 < 0.5, "NB-LR's share {w2}");
        // The threshold separates the blend at the chosen weight.
        let p = mix(&good, &bad, w);
        let t = t.unwrap();
        assert!(y.iter().zip(&p).all(|(&c, r)| (r[1] as f64 >= t) == (c == 1)));
    }

    #[test]
    fn ties_keep_the_smaller_nbsvm_share() {
        let y = [0usize, 1];
        let p: Vec<Vec<f32>> = vec![vec![0.9, 0.1], vec![0.2, 0.8]];
        let (w, _, f1) = choose_weight(&y, &p, &p, &binary());
        assert_eq!((w, f1), (0.0, 1.0));
    }
}
