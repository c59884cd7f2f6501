//! The sequence classifier (the [`Encoder`], then pooling → dropout → linear: [`ClassHead`]) and
//! its trained form, [`RnnModel`], saved as a model directory.

use std::path::Path;

use candle_core::{Device, Tensor, Var, D};
use rnnlab_vectorize::{PaddedBatch, SequenceEncoder};
use serde::{Deserialize, Serialize};

use super::ce;
use super::config::{Pooling, RnnConfig};
use super::encoder::{Encoder, EncoderOutput};
use super::input::{Encoded, SequenceInput};
use super::network::{Head, Network};
use crate::Error;
use rnnlab_baselines::labels::LabelSet;
use rnnlab_kernels::Rng;
use rnnlab_kernels::{mask_tensor, step_mask};

/// The classification head: the encoder's states pooled over time (last, mean, max, mean and
/// max, or attention), head dropout, the document's bag vector beside them, one linear layer,
/// and the wide part's sum added to its logits.
#[derive(Debug, Clone)]
pub struct ClassHead {
    /// Outputs: 1 for a binary task (one logit), else the number of classes.
    pub n_out: usize,
    pub pooling: Pooling,
    pub head_dropout: f32,
    /// The wide part's learning-rate scale (`bag_wide_lr`), applied as a scale of its sum.
    pub wide_lr: f32,
    /// `--pooling attention`: `(W [w, w], b [w], c [w])` over the stack's outputs of width `w`.
    pub attention: Option<(Var, Var, Var)>,
    pub fc_weight: Var,
    pub fc_bias: Var,
    pub device: Device,
}

impl ClassHead {
    /// PyTorch's `nn.Linear` initialisation (uniform in ±1/√fan_in) for the attention and the
    /// output layer, drawn from `rng` after the encoder's weights.
    pub fn new(config: &RnnConfig, n_out: usize, rng: &mut Rng, device: &Device) -> Result<Self, Error> {
        let attention = if config.architecture.pooling == Pooling::Attention {
            let w = config.architecture.hidden * config.directions();
            let k = 1.0 / (w as f32).sqrt();
            let mut var = |shape: &[usize]| -> Result<Var, Error> {
                let v: Vec<f32> = (0..shape.iter().product()).map(|_| rng.symmetric(k)).collect();
                Var::from_tensor(&Tensor::from_vec(v, shape, device).map_err(ce)?).map_err(ce)
            };
            Some((var(&[w, w])?, var(&[w])?, var(&[w])?))
        } else {
            None
        };
        let p = config.head_width();
        let k = 1.0 / (p as f32).sqrt();
        let w: Vec<f32> = (0..n_out * p).map(|_| rng.symmetric(k)).collect();
        let b: Vec<f32> = (0..n_out).map(|_| rng.symmetric(k)).collect();
        Ok(ClassHead {
            n_out,
            pooling: config.architecture.pooling,
            head_dropout: config.regularisation.head_dropout,
            wide_lr: config.inputs.bag_wide_lr,
            attention,
            fc_weight: Var::from_tensor(&Tensor::from_vec(w, (n_out, p), device).map_err(ce)?).map_err(ce)?,
            fc_bias: Var::from_tensor(&Tensor::from_vec(b, n_out, device).map_err(ce)?).map_err(ce)?,
            device: device.clone(),
        })
    }

    fn pool(&self, out: &Tensor, last: &Tensor, lengths: &[usize], grad: bool) -> Result<Tensor, Error> {
        let (b, t, width) = out.dims3().map_err(ce)?;
        let mean = || -> candle_core::Result<Tensor> {
            let lens: Vec<f32> = lengths.iter().map(|&l| l.clamp(1, t) as f32).collect();
            let lens = Tensor::from_vec(lens, (b, 1), &self.device)?;
            out.sum(1)?.broadcast_div(&lens)
        };
        // Padded steps get a large negative offset so they never win a max or a softmax.
        let padding_offset = || -> candle_core::Result<Tensor> {
            let m = step_mask(lengths, t, &self.device).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
            (m - 1.0)? * 1e4
        };
        let max = || -> candle_core::Result<Tensor> { out.broadcast_add(&padding_offset()?.unsqueeze(2)?)?.max(1) };
        let attention = || -> candle_core::Result<Tensor> {
            let (w, bias, context) = self
                .attention
                .as_ref()
                .ok_or_else(|| candle_core::Error::Msg("attention pooling without its weights".into()))?;
            let v = |v: &Var| rnnlab_kernels::tracked(v, grad);
            let u = out
                .reshape((b * t, width))?
                .matmul(&v(w).t()?)?
                .broadcast_add(&v(bias))?
                .tanh()?;
            let scores = u.matmul(&v(context).unsqueeze(1)?)?.reshape((b, t))?;
            let weights = candle_nn::ops::softmax(&(scores + padding_offset()?)?, D::Minus1)?;
            out.broadcast_mul(&weights.unsqueeze(2)?)?.sum(1)
        };
        let r = match self.pooling {
            Pooling::Last => Ok(last.clone()),
            Pooling::Mean => mean(),
            Pooling::Max => max(),
            Pooling::MeanMax => mean().and_then(|a| Tensor::cat(&[a, max()?], D::Minus1)),
            Pooling::Attention => attention(),
        };
        r.map_err(ce)
    }
}

impl Head for ClassHead {
    fn named_vars(&self) -> Vec<(String, Var)> {
        let mut v = Vec::new();
        if let Some((w, b, c)) = &self.attention {
            v.push(("attention.weight".into(), w.clone()));
            v.push(("attention.bias".into(), b.clone()));
            v.push(("attention.context".into(), c.clone()));
        }
        v.push(("fc.weight".into(), self.fc_weight.clone()));
        v.push(("fc.bias".into(), self.fc_bias.clone()));
        v
    }

    fn forward(
        &self,
        encoded: &EncoderOutput,
        batch: &PaddedBatch,
        grad: bool,
        train: Option<&mut Rng>,
    ) -> Result<Tensor, Error> {
        let w = |v: &Var| rnnlab_kernels::tracked(v, grad);
        let mut pooled = self.pool(&encoded.out, &encoded.last, &batch.lengths, grad)?;
        if let Some(rng) = train {
            if self.head_dropout > 0.0 {
                pooled = (&pooled * mask_tensor(rng, pooled.dims(), self.head_dropout, &self.device)?).map_err(ce)?;
            }
        }
        if let Some(bag_vec) = &encoded.bag {
            pooled = Tensor::cat(&[&pooled, bag_vec], D::Minus1).map_err(ce)?;
        }
        let logits = pooled
            .matmul(&w(&self.fc_weight).t().map_err(ce)?)
            .and_then(|z| z.broadcast_add(&w(&self.fc_bias)))
            .map_err(ce)?;
        match &encoded.wide {
            Some(wide) if self.wide_lr != 1.0 => (logits + (wide * self.wide_lr as f64).map_err(ce)?).map_err(ce),
            Some(wide) => (logits + wide).map_err(ce),
            None => Ok(logits),
        }
    }
}

/// The sequence classifier: encoder, then the classification head.
pub type SequenceClassifier = Network<ClassHead>;

impl Network<ClassHead> {
    /// Fresh weights (see [`Encoder::new`] and [`ClassHead::new`]); `n_out` as [`ClassHead::n_out`].
    pub fn new(config: &RnnConfig, vocab_size: usize, n_out: usize, device: &Device) -> Result<Self, Error> {
        config.validate()?;
        let mut rng = Rng::new(config.optimisation.seed);
        let encoder = Encoder::new(config, vocab_size, n_out, &mut rng, device)?;
        let head = ClassHead::new(config, n_out, &mut rng, device)?;
        Ok(Network { encoder, head })
    }

    /// Class probabilities `[n, n_classes]` of encoded documents, in length-sorted batches.
    pub fn predict_proba(&self, docs: &Encoded, encoder: &SequenceEncoder) -> Result<Vec<Vec<f32>>, Error> {
        let seqs = &docs.seqs;
        let rows: Vec<usize> = (0..seqs.len()).collect();
        let mut out = vec![Vec::new(); seqs.len()];
        for bucket in encoder.buckets(seqs, &rows, 512) {
            let batch = encoder.batch(seqs, &bucket);
            let logits = self.forward(&batch, docs.features(), false, None)?;
            let probs = if self.head.n_out == 1 {
                let p = candle_nn::ops::sigmoid(&logits).and_then(|p| p.flatten_all()?.to_vec1::<f32>());
                p.map_err(ce)?.into_iter().map(|p| vec![1.0 - p, p]).collect::<Vec<_>>()
            } else {
                candle_nn::ops::softmax_last_dim(&logits)
                    .and_then(|p| p.to_vec2::<f32>())
                    .map_err(ce)?
            };
            for (r, p) in bucket.into_iter().zip(probs) {
                out[r] = p;
            }
        }
        Ok(out)
    }
}

/// `model.json` of a recurrent model directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RnnCard {
    /// `rnnlab_baselines::FORMAT_VERSION` when written; 0 (absent) before versions were recorded.
    #[serde(default)]
    pub format_version: u32,
    /// `rnn`, `lstm`, `gru` or `best-rnn`.
    pub kind: String,
    pub params: RnnConfig,
    pub max_len: usize,
    pub vocab_size: usize,
    pub labels: Vec<String>,
    pub positive_label: Option<String>,
    pub threshold: Option<f64>,
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// A trained recurrent classifier: input ids, network, labels and decision threshold.
pub struct RnnModel {
    pub kind: String,
    pub classifier: SequenceClassifier,
    pub input: SequenceInput,
    pub encoder: SequenceEncoder,
    pub labels: LabelSet,
    pub threshold: Option<f64>,
}

impl RnnModel {
    /// Class probabilities `[n, n_classes]` of token lists; an empty list is a one-step
    /// `<pad>` sequence and still gets a prediction.
    pub fn predict_proba(&self, docs: &[Vec<String>]) -> Result<Vec<Vec<f32>>, Error> {
        let encoded = self.input.encode_docs(docs, &self.classifier.encoder.config)?;
        self.classifier.predict_proba(&encoded, &self.encoder)
    }

    pub fn save(&self, dir: &Path, meta: serde_json::Value) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let card = RnnCard {
            format_version: rnnlab_baselines::FORMAT_VERSION,
            kind: self.kind.clone(),
            params: self.classifier.encoder.config.clone(),
            max_len: self.encoder.max_len,
            vocab_size: self.input.vocab_size(),
            labels: self.labels.labels.clone(),
            positive_label: self.labels.positive.map(|k| self.labels.labels[k].clone()),
            threshold: self.threshold,
            meta,
        };
        // The card last: a directory with a card has its other files.
        self.input.save(dir)?;
        rnnlab_baselines::tensors::save(&dir.join("model.safetensors"), &self.classifier.state()?)?;
        let path = dir.join("model.json");
        let s = serde_json::to_string_pretty(&card).map_err(|e| Error::Format(e.to_string()))?;
        rnnlab_baselines::files::write_atomic(&path, s.as_bytes()).map_err(|e| Error::io(&path, e))?;
        Ok(())
    }

    /// Loads a directory written by [`RnnModel::save`], onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<(Self, RnnCard), Error> {
        let path = dir.join("model.json");
        let value: serde_json::Value = rnnlab_baselines::baseline::read_json(&path)?;
        rnnlab_baselines::check_format_version(&path, &value)?;
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
        if !NETWORK_KINDS.contains(&kind) {
            return Err(Error::Format(format!(
                "{}: holds a {kind:?} model, not a recurrent network ({})",
                path.display(),
                NETWORK_KINDS.join(", ")
            )));
        }
        refuse_removed_settings(&path, &value)?;
        let card: RnnCard = serde_json::from_value(value)
            .map_err(|e| Error::Format(format!("{}: not a recurrent model card: {e}", path.display())))?;
        let input = SequenceInput::load(dir, card.params.inputs.tokens)?;
        if input.vocab_size() != card.vocab_size {
            return Err(Error::Format(format!(
                "{}: {} holds {} tokens but model.json says {}",
                dir.display(),
                input.file_name(),
                input.vocab_size(),
                card.vocab_size
            )));
        }
        let n_classes = card.labels.len();
        if n_classes < 2 {
            return Err(Error::Format(format!("{}: needs at least two labels", path.display())));
        }
        let n_out = if n_classes == 2 { 1 } else { n_classes };
        card.params
            .validate()
            .map_err(|e| Error::Format(format!("{}: params: {e}", path.display())))?;
        if let Some(t) = card.threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(Error::Format(format!(
                    "{}: threshold {t} is outside [0, 1]",
                    path.display()
                )));
            }
        }
        // The card's sizes must describe the weights file before anything is built from them:
        // a damaged or crafted card cannot make the loader allocate beyond the file's size.
        let weights = dir.join("model.safetensors");
        let tensors = rnnlab_baselines::tensors::load(&weights)?;
        let held: usize = tensors
            .iter()
            .filter(|(name, _)| name.as_str() != crate::encoder::BAG_NB_RATIO)
            .map(|(_, (shape, _))| shape.iter().product::<usize>())
            .sum();
        let described = card.params.parameter_count(card.vocab_size, n_out);
        if described != Some(held) {
            return Err(Error::Format(format!(
                "{}: its sizes (params, vocab_size, labels) describe {} weights, but {} holds {held}",
                path.display(),
                described.map_or("more than 2^64".to_string(), |n| n.to_string()),
                weights.display()
            )));
        }
        let mut classifier = SequenceClassifier::new(&card.params, card.vocab_size, n_out, device)?;
        classifier.load_state(&tensors, &weights)?;
        let positive = card
            .positive_label
            .as_ref()
            .and_then(|p| card.labels.iter().position(|l| l == p));
        let model = RnnModel {
            kind: card.kind.clone(),
            classifier,
            input,
            encoder: SequenceEncoder::new(card.max_len.max(1))?,
            labels: LabelSet {
                labels: card.labels.clone(),
                positive,
            },
            threshold: card.threshold,
        };
        Ok((model, card))
    }
}

/// Settings that changed what a network computes and were removed: a card that used one cannot
/// be loaded as it was trained, so it is refused by name rather than read with the default.
/// (Settings that acted on training only, such as `ema` or `bag_dropout`, are ignored.)
/// The `kind` of a recurrent model card.
const NETWORK_KINDS: [&str; 4] = ["rnn", "lstm", "gru", "best-rnn"];

/// Settings that training once had and inference never read: a card carrying them loads.
const RETIRED_SETTINGS: [&str; 2] = ["ema", "bag_dropout"];

/// `params` may hold only the settings this version has (or retired training-only ones): an
/// unknown key is a typo or a card from a newer rnnlab, and guessing its meaning would predict
/// wrongly in silence.
fn refuse_unknown_settings(path: &Path, card: &serde_json::Value) -> Result<(), Error> {
    let Some(params) = card.get("params").and_then(|p| p.as_object()) else {
        return Ok(()); // the typed parse names what is missing
    };
    let known = serde_json::to_value(RnnConfig::default()).unwrap_or_default();
    let unknown: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|k| known.get(k).is_none() && !RETIRED_SETTINGS.contains(k) && *k != "bag_combiner")
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::Format(format!(
        "{}: params has settings this rnnlab does not know: {}",
        path.display(),
        unknown.join(", ")
    )))
}

fn refuse_removed_settings(path: &Path, card: &serde_json::Value) -> Result<(), Error> {
    refuse_unknown_settings(path, card)?;
    let combiner = card.get("params").and_then(|p| p.get("bag_combiner"));
    match combiner {
        None => Ok(()),
        Some(c) if c == "mean" => Ok(()),
        Some(c) => Err(Error::Format(format!(
            "{}: params.bag_combiner is {c}: this model was trained with a bag combiner that rnnlab no \
             longer has (only the mean, fastText's, remains; model format version 0); retrain it",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Architecture;
    use crate::config::Inputs;

    #[test]
    fn unknown_settings_are_refused_and_retired_ones_read() {
        let p = Path::new("m/model.json");
        let mut params = serde_json::to_value(RnnConfig::default()).unwrap();
        params["ema"] = serde_json::json!(0.99);
        assert!(refuse_removed_settings(p, &serde_json::json!({ "params": params })).is_ok());
        params["hiden"] = serde_json::json!(64);
        let e = refuse_removed_settings(p, &serde_json::json!({ "params": params }))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("hiden") && e.contains("m/model.json") && !e.contains("ema"),
            "{e}"
        );
    }

    #[test]
    fn a_card_with_a_removed_combiner_is_refused_by_name() {
        let p = Path::new("m/model.json");
        for ok in [
            serde_json::json!({"params": {}}),
            serde_json::json!({"params": {"bag_combiner": "mean"}}),
        ] {
            assert!(refuse_removed_settings(p, &ok).is_ok());
        }
        let e = refuse_removed_settings(p, &serde_json::json!({"params": {"bag_combiner": "sqrtn"}}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m/model.json") && e.contains("bag_combiner") && e.contains("sqrtn"),
            "{e}"
        );
    }
    use crate::bag::TokenGrams;
    use crate::config::CellKind;
    use crate::input::DocFeatures;
    use crate::loss::loss;

    fn batch() -> PaddedBatch {
        SequenceEncoder::new(6)
            .unwrap()
            .batch(&[vec![2, 3, 4, 5], vec![6], vec![3, 2, 7]], &[0, 1, 2])
    }

    /// Character n-grams for [`batch`]'s documents: tokens with several, one, none, repeats.
    fn token_grams() -> Vec<TokenGrams> {
        let g = |ids: &[u32], counts: &[u32]| TokenGrams {
            ids: ids.to_vec(),
            counts: counts.to_vec(),
        };
        vec![
            g(&[1, 4, 2, 2, 5, 7], &[2, 0, 3, 1]),
            g(&[3], &[1]),
            g(&[0, 6, 4], &[2, 1, 0]),
        ]
    }

    /// Analytic gradients of every parameter tensor against central differences, for each cell,
    /// pooling, 2 layers, both directions and a ragged batch; with the bag, the wide part and
    /// the character n-grams.
    #[test]
    fn gradients_match_finite_differences() {
        for (cell, pooling, n_out, bag_buckets, char_buckets) in [
            (CellKind::Rnn, Pooling::Last, 1, 0, 0),
            (CellKind::Lstm, Pooling::Mean, 3, 0, 0),
            (CellKind::Gru, Pooling::MeanMax, 1, 0, 8),
            (CellKind::Lstm, Pooling::Max, 3, 0, 0),
            (CellKind::Gru, Pooling::MeanMax, 1, 16, 0),
            (CellKind::Lstm, Pooling::Last, 3, 16, 8),
            (CellKind::Gru, Pooling::Attention, 1, 0, 0),
            (CellKind::Lstm, Pooling::Attention, 3, 16, 0),
        ] {
            // The wide part's scaled path (`--bag-wide-lr`) whose gradient the scale enters.
            let config = RnnConfig {
                architecture: Architecture {
                    cell,
                    emb: 4,
                    hidden: 3,
                    layers: 2,
                    bidirectional: true,
                    pooling,
                },
                inputs: Inputs {
                    bag_buckets,
                    bag_dim: 3,
                    bag_wide: bag_buckets > 0,
                    bag_wide_lr: 0.5,
                    char_buckets,
                    char_dim: 2,
                    ..Inputs::default()
                },
                ..RnnConfig::default()
            };
            let net = SequenceClassifier::new(&config, 8, n_out, &Device::Cpu).unwrap();
            if let Some((_, _, context)) = &net.head.attention {
                // Sharper attention weights, so that its parameters move the loss measurably.
                context.set(&(context.as_tensor() * 8.0).unwrap()).unwrap();
            }
            let b = batch();
            let y = [1usize, 0, if n_out == 1 { 1 } else { 2 }];
            let w = [1.0f32, 2.0, 0.5];
            let bags = vec![vec![1, 5, 9, 15], vec![2], vec![5, 5, 7]];
            let chars = token_grams();
            let docs = DocFeatures {
                bags: &bags,
                chars: &chars,
            };
            let f = |net: &SequenceClassifier| -> f64 {
                let logits = net.forward(&b, docs, false, None).unwrap();
                loss(&logits, &y, &w, 0.0).unwrap().to_scalar::<f32>().unwrap() as f64
            };
            let logits = net.forward(&b, docs, true, None).unwrap();
            let grads = loss(&logits, &y, &w, 0.0).unwrap().backward().unwrap();
            for (name, var) in net.named_vars() {
                let g = grads
                    .get(var.as_tensor())
                    .map(|g| g.flatten_all().unwrap().to_vec1::<f32>().unwrap());
                assert!(g.is_some(), "{cell:?} {pooling:?}: {name} has no gradient");
                let base = var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                // A few entries of each tensor, spread over it.
                let step = (base.len() / 5).max(1);
                for i in (0..base.len()).step_by(step) {
                    let eps = 1e-2f32;
                    let mut plus = base.clone();
                    plus[i] += eps;
                    var.set(&Tensor::from_vec(plus, var.dims(), &Device::Cpu).unwrap())
                        .unwrap();
                    let lp = f(&net);
                    let mut minus = base.clone();
                    minus[i] -= eps;
                    var.set(&Tensor::from_vec(minus, var.dims(), &Device::Cpu).unwrap())
                        .unwrap();
                    let lm = f(&net);
                    var.set(&Tensor::from_vec(base.clone(), var.dims(), &Device::Cpu).unwrap())
                        .unwrap();
                    let numeric = (lp - lm) / (2.0 * eps as f64);
                    let analytic = g.as_ref().map_or(0.0, |g| g[i] as f64);
                    // Attention's gradients are around 1e-3 at these sizes: a tighter floor.
                    let floor = if name.starts_with("attention") { 1e-4 } else { 2e-3 };
                    assert!(
                        (numeric - analytic).abs() <= floor + 2e-2 * numeric.abs(),
                        "{cell:?} {pooling:?} {name}[{i}]: numeric {numeric}, analytic {analytic}"
                    );
                }
            }
        }
    }

    /// The count a loader checks before building a network is the count the network has.
    #[test]
    fn parameter_count_is_the_networks() {
        for (cell, pooling, layers, bidirectional, bag, wide, chars, n_out) in [
            (CellKind::Lstm, Pooling::Last, 1, false, 0, false, 0, 1),
            (CellKind::Gru, Pooling::MeanMax, 2, true, 64, true, 32, 3),
            (CellKind::Rnn, Pooling::Attention, 3, true, 16, false, 0, 1),
            (CellKind::Lstm, Pooling::Max, 2, false, 0, false, 8, 5),
        ] {
            let config = RnnConfig {
                architecture: Architecture {
                    cell,
                    emb: 6,
                    hidden: 5,
                    layers,
                    bidirectional,
                    pooling,
                },
                inputs: Inputs {
                    bag_buckets: bag,
                    bag_dim: 4,
                    bag_wide: wide,
                    char_buckets: chars,
                    char_dim: 3,
                    ..Inputs::default()
                },
                ..RnnConfig::default()
            };
            let net = SequenceClassifier::new(&config, 11, n_out, &Device::Cpu).unwrap();
            let real: usize = net.named_vars().iter().map(|(_, v)| v.elem_count()).sum();
            assert_eq!(config.parameter_count(11, n_out), Some(real), "{cell:?} {pooling:?}");
        }
        let huge = RnnConfig {
            architecture: Architecture {
                hidden: usize::MAX / 2,
                ..Architecture::default()
            },
            ..RnnConfig::default()
        };
        assert_eq!(
            huge.parameter_count(10, 1),
            None,
            "overflow is None, not a wrapped count"
        );
    }

    #[test]
    fn pooling_ignores_padding_and_shapes_hold() {
        for pooling in [
            Pooling::Last,
            Pooling::Mean,
            Pooling::Max,
            Pooling::MeanMax,
            Pooling::Attention,
        ] {
            let config = RnnConfig {
                architecture: Architecture {
                    cell: CellKind::Gru,
                    emb: 4,
                    hidden: 3,
                    pooling,
                    ..Architecture::default()
                },
                ..RnnConfig::default()
            };
            let net = SequenceClassifier::new(&config, 8, 3, &Device::Cpu).unwrap();
            let enc = SequenceEncoder::new(10).unwrap();
            // The same sequence alone and padded beside a longer one.
            let docs = |seqs: Vec<Vec<u32>>| Encoded {
                bags: vec![Vec::new(); seqs.len()],
                chars: Vec::new(),
                seqs,
            };
            let seqs = vec![vec![2, 3], vec![2, 3, 4, 5, 6, 7]];
            let alone = net.predict_proba(&docs(seqs[..1].to_vec()), &enc).unwrap();
            let both = net.predict_proba(&docs(seqs), &enc).unwrap();
            for (a, b) in alone[0].iter().zip(&both[0]) {
                assert!((a - b).abs() < 1e-5, "{pooling:?}: {a} vs {b}");
            }
            assert!((both[1].iter().sum::<f32>() - 1.0).abs() < 1e-5);
            // Empty and over-long sequences, a batch of one.
            let odd = net.predict_proba(&docs(vec![vec![], vec![1; 50]]), &enc).unwrap();
            assert_eq!(odd.len(), 2);
            assert!(odd.iter().flatten().all(|p| p.is_finite()));
        }
    }
}
