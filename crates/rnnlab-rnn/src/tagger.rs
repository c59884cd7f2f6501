//! The recurrent tagger, the many-to-many network: the shared [`Encoder`] (word vectors with
//! each word's hashed character n-grams beside them, a bidirectional stack) and a
//! [`TagHead`] giving every step its tag's logits, trained on the mean cross-entropy of the
//! real (unpadded) words by the same [`Trainer`] as the classifier.

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor, Var, D};
use rnnlab_vectorize::{PaddedBatch, SequenceEncoder};
use serde::{Deserialize, Serialize};

use super::ce;
use super::config::{Architecture, CellKind, Inputs, Optimisation, Regularisation, RnnConfig};
use super::encoder::{Encoder, EncoderOutput};
use super::input::{Encoded, SequenceInput};
use super::network::{Head, Network};
use super::train::{EpochStats, TrainObserver};
use super::trainer::Trainer;
use crate::Error;
use rnnlab_kernels::{mask_tensor, Rng};

/// No sentence is cut: batches are as long as their longest sentence.
const NO_LIMIT: usize = 1 << 24;

/// One linear layer over every step's output, with dropout before it.
#[derive(Debug, Clone)]
pub struct TagHead {
    pub n_tags: usize,
    pub dropout: f32,
    pub weight: Var,
    pub bias: Var,
    pub device: Device,
}

impl TagHead {
    /// PyTorch's `nn.Linear` initialisation (uniform in ±1/√width).
    pub fn new(config: &RnnConfig, n_tags: usize, rng: &mut Rng, device: &Device) -> Result<Self, Error> {
        let width = config.architecture.hidden * config.directions();
        let k = 1.0 / (width as f32).sqrt();
        let w: Vec<f32> = (0..n_tags * width).map(|_| rng.symmetric(k)).collect();
        let b: Vec<f32> = (0..n_tags).map(|_| rng.symmetric(k)).collect();
        let var = |v: Vec<f32>, shape: &[usize]| -> Result<Var, Error> {
            Var::from_tensor(&Tensor::from_vec(v, shape, device).map_err(ce)?).map_err(ce)
        };
        Ok(TagHead {
            n_tags,
            dropout: config.regularisation.head_dropout,
            weight: var(w, &[n_tags, width])?,
            bias: var(b, &[n_tags])?,
            device: device.clone(),
        })
    }
}

impl Head for TagHead {
    fn named_vars(&self) -> Vec<(String, Var)> {
        vec![
            ("tag.weight".into(), self.weight.clone()),
            ("tag.bias".into(), self.bias.clone()),
        ]
    }

    /// `[batch * time, n_tags]`: every step's logits, padded steps included (the loss and the
    /// predictions skip them).
    fn forward(
        &self,
        encoded: &EncoderOutput,
        _batch: &PaddedBatch,
        grad: bool,
        train: Option<&mut Rng>,
    ) -> Result<Tensor, Error> {
        let (b, t, w) = encoded.out.dims3().map_err(ce)?;
        let mut out = encoded.out.reshape((b * t, w)).map_err(ce)?;
        if let Some(rng) = train {
            if self.dropout > 0.0 {
                out = (out * mask_tensor(rng, &[b * t, w], self.dropout, &self.device)?).map_err(ce)?;
            }
        }
        let v = |v: &Var| rnnlab_kernels::tracked(v, grad);
        let logits = out
            .matmul(&v(&self.weight).t().map_err(ce)?)
            .and_then(|l| l.broadcast_add(&v(&self.bias)));
        logits.map_err(ce)
    }
}

/// Encoder and tag head.
pub type SequenceTagger = Network<TagHead>;

impl Network<TagHead> {
    pub fn new(config: &RnnConfig, vocab_size: usize, n_tags: usize, device: &Device) -> Result<Self, Error> {
        config.validate()?;
        let mut rng = Rng::new(config.optimisation.seed);
        let encoder = Encoder::new(config, vocab_size, n_tags, &mut rng, device)?;
        let head = TagHead::new(config, n_tags, &mut rng, device)?;
        Ok(Network { encoder, head })
    }

    /// Each encoded sentence's tag probabilities, one row of `n_tags` per word.
    pub fn predict_tag_probs(&self, docs: &Encoded) -> Result<Vec<Vec<Vec<f32>>>, Error> {
        let seqs = &docs.seqs;
        let encoder = SequenceEncoder::new(NO_LIMIT)?;
        let rows: Vec<usize> = (0..seqs.len()).collect();
        let mut out = vec![Vec::new(); seqs.len()];
        for bucket in encoder.buckets(seqs, &rows, 256) {
            let batch = encoder.batch(seqs, &bucket);
            let t = batch.max_len;
            let logits = self.forward(&batch, docs.features(), false, None)?;
            // One row per (sentence, step), as the logits come.
            let probs = candle_nn::ops::softmax_last_dim(&logits)
                .and_then(|p| p.to_vec2::<f32>())
                .map_err(ce)?;
            for (i, r) in bucket.into_iter().enumerate() {
                out[r] = probs[i * t..i * t + seqs[r].len()].to_vec();
            }
        }
        Ok(out)
    }

    /// Each encoded sentence's tags (indices), in length-sorted batches.
    pub fn predict_tags(&self, docs: &Encoded) -> Result<Vec<Vec<usize>>, Error> {
        let seqs = &docs.seqs;
        let encoder = SequenceEncoder::new(NO_LIMIT)?;
        let rows: Vec<usize> = (0..seqs.len()).collect();
        let mut out = vec![Vec::new(); seqs.len()];
        for bucket in encoder.buckets(seqs, &rows, 256) {
            let batch = encoder.batch(seqs, &bucket);
            let t = batch.max_len;
            let logits = self.forward(&batch, docs.features(), false, None)?;
            let best = logits.argmax(D::Minus1).and_then(|a| a.to_vec1::<u32>()).map_err(ce)?;
            for (i, r) in bucket.into_iter().enumerate() {
                out[r] = best[i * t..i * t + seqs[r].len()].iter().map(|&x| x as usize).collect();
            }
        }
        Ok(out)
    }
}

/// The reference recipe (`../shared/anchors/tagger_anchor.py --chars`) with `cell`: words seen
/// twice (else `<unk>`, 10 % of training words dropped to it), 100-wide word vectors with a
/// 64-wide vector of each word's hashed character 1-4-grams beside them (the reference runs a
/// character BiLSTM there), a 2-layer bidirectional stack 128 wide each way, dropout 0.33 on
/// the inputs, between the layers and before the output, Adam 2e-3, 32 sentences a batch,
/// gradients clipped at norm 5, 10 epochs, the best epoch on validation kept.
pub fn tagger_recipe(cell: CellKind) -> RnnConfig {
    RnnConfig {
        architecture: Architecture {
            cell,
            emb: 100,
            hidden: 128,
            layers: 2,
            bidirectional: true,
            ..Architecture::default()
        },
        inputs: Inputs {
            min_count: 2,
            max_len: None,
            bos_eos: false,
            char_buckets: 1 << 17,
            char_dim: 64,
            char_minn: 1,
            char_maxn: 4,
            ..Inputs::default()
        },
        regularisation: Regularisation {
            dropout: 0.33,
            recurrent_dropout: 0.0,
            head_dropout: 0.33,
            word_dropout: 0.1,
            label_smoothing: 0.0,
        },
        optimisation: Optimisation {
            lr: 2e-3,
            batch_size: 32,
            clip: 5.0,
            epochs: 10,
            patience: None,
            ..Optimisation::default()
        },
    }
}

/// A trained recurrent tagger: its word ids, network and tags.
pub struct RnnTagger {
    pub kind: String,
    pub net: SequenceTagger,
    pub input: SequenceInput,
    pub tags: Vec<String>,
}

/// `model.json` of a recurrent tagger's directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RnnTaggerCard {
    #[serde(default)]
    pub format_version: u32,
    pub kind: String,
    pub task: String,
    pub params: RnnConfig,
    pub vocab_size: usize,
    pub tags: Vec<String>,
    #[serde(default)]
    pub meta: serde_json::Value,
}

impl RnnTagger {
    pub fn predict(&self, sentences: &[Vec<String>]) -> Result<Vec<Vec<usize>>, Error> {
        let docs = self.input.encode_docs(sentences, &self.net.encoder.config)?;
        self.net.predict_tags(&docs)
    }

    /// Each sentence's tag probabilities, one row per word in the order of `tags`.
    pub fn predict_probs(&self, sentences: &[Vec<String>]) -> Result<Vec<Vec<Vec<f32>>>, Error> {
        let docs = self.input.encode_docs(sentences, &self.net.encoder.config)?;
        self.net.predict_tag_probs(&docs)
    }

    /// Writes `vocab.json`, `model.safetensors`, then `model.json`.
    pub fn save(&self, dir: &Path, meta: serde_json::Value) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        self.input.save(dir)?;
        rnnlab_baselines::tensors::save(&dir.join("model.safetensors"), &self.net.state()?)?;
        let card = RnnTaggerCard {
            format_version: rnnlab_baselines::FORMAT_VERSION,
            kind: self.kind.clone(),
            task: "tag".into(),
            params: self.net.encoder.config.clone(),
            vocab_size: self.input.vocab_size(),
            tags: self.tags.clone(),
            meta,
        };
        rnnlab_baselines::baseline::write_json(&dir.join("model.json"), &card)?;
        Ok(())
    }

    /// Loads a directory written by [`Self::save`]; sizes are checked against the weights file
    /// before the network is built.
    pub fn load(dir: &Path, device: &Device) -> Result<(Self, RnnTaggerCard), Error> {
        let path = dir.join("model.json");
        let value: serde_json::Value = rnnlab_baselines::baseline::read_json(&path)?;
        rnnlab_baselines::check_format_version(&path, &value)?;
        let card: RnnTaggerCard =
            serde_json::from_value(value).map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        let bad = |m: String| Error::Format(format!("{}: {m}", path.display()));
        card.params.validate().map_err(|e| bad(format!("params: {e}")))?;
        if card.tags.len() < 2 {
            return Err(bad("needs two or more tags".into()));
        }
        let input = SequenceInput::load(dir, card.params.inputs.tokens)?;
        if input.vocab_size() != card.vocab_size {
            return Err(bad(format!(
                "{} holds {} tokens but model.json says {}",
                input.file_name(),
                input.vocab_size(),
                card.vocab_size
            )));
        }
        let weights = dir.join("model.safetensors");
        let tensors = rnnlab_baselines::tensors::load(&weights)?;
        let held: usize = tensors.values().map(|(shape, _)| shape.iter().product::<usize>()).sum();
        let described = tagger_parameter_count(&card.params, card.vocab_size, card.tags.len());
        if described != Some(held) {
            return Err(bad(format!(
                "its sizes describe {} weights, but {} holds {held}",
                described.map_or("more than 2^64".to_string(), |n| n.to_string()),
                weights.display()
            )));
        }
        let mut net = SequenceTagger::new(&card.params, card.vocab_size, card.tags.len(), device)?;
        net.load_state(&tensors, &weights)?;
        Ok((
            RnnTagger {
                kind: card.kind.clone(),
                net,
                input,
                tags: card.tags.clone(),
            },
            card,
        ))
    }
}

/// Weights of a tagger: the encoder's (no bag) and the tag head's.
fn tagger_parameter_count(config: &RnnConfig, vocab_size: usize, n_tags: usize) -> Option<usize> {
    // The classifier's count with a one-output head over the last states, minus that head,
    // plus the tag head over every step's output.
    let width = config.architecture.hidden.checked_mul(config.directions())?;
    let mut plain = config.clone();
    plain.architecture.pooling = super::config::Pooling::Last;
    let with_head = plain.parameter_count(vocab_size, 1)?;
    let class_head = plain.head_width().checked_add(1)?;
    with_head
        .checked_sub(class_head)?
        .checked_add(n_tags.checked_mul(width.checked_add(1)?)?)
}

/// What [`fit_tagger`] returns.
pub struct TaggerFit {
    pub model: RnnTagger,
    /// Per epoch: `val_metric` is the validation accuracy.
    pub curve: Vec<EpochStats>,
    pub best_epoch: usize,
    pub epoch_s: Vec<f64>,
    pub train_s: f64,
    /// Words trained on per second (every epoch's words over the time of the training steps).
    pub train_words_per_s: f64,
    pub stopped: Option<String>,
}

/// The share of words of `pred` equal to `gold`.
fn accuracy(pred: &[Vec<usize>], gold: &[Vec<usize>]) -> f64 {
    let (mut right, mut total) = (0usize, 0usize);
    for (p, g) in pred.iter().zip(gold) {
        right += p.iter().zip(g).filter(|(a, b)| a == b).count();
        total += g.len();
    }
    right as f64 / total.max(1) as f64
}

/// Trains a tagger on `train` (words, tag indices into `tags`), keeps the epoch whose
/// validation accuracy is best.
pub fn fit_tagger(
    kind: &str,
    config: &RnnConfig,
    tags: &[String],
    train: (&[Vec<String>], &[Vec<usize>]),
    val: (&[Vec<String>], &[Vec<usize>]),
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<TaggerFit, Error> {
    config.validate()?;
    let (words, y) = train;
    if words.is_empty() || val.0.is_empty() {
        return Err(Error::Data(
            "training and validation sentences must not be empty".into(),
        ));
    }
    if words.len() != y.len() || words.iter().zip(y).any(|(w, t)| w.len() != t.len()) {
        return Err(Error::Data("words and tags differ in number".into()));
    }
    if tags.len() < 2 || y.iter().flatten().any(|&t| t >= tags.len()) {
        return Err(Error::Data("tag indices beyond the tag set".into()));
    }
    let started = Instant::now();
    let input = SequenceInput::fit(config, words)?;
    let enc = input.encode_docs(words, config)?;
    let val_enc = input.encode_docs(val.0, config)?;
    let free = if device.is_cpu() {
        super::train::available_memory()
    } else {
        None
    };
    config.check_fits(input.vocab_size(), tags.len(), free)?;
    let net = SequenceTagger::new(config, input.vocab_size(), tags.len(), device)?;
    let mut trainer = Trainer::new(net, config)?;
    let mut rng = Rng::new(config.optimisation.seed ^ 0x007a_66e7);
    let encoder = SequenceEncoder::new(NO_LIMIT)?;
    let n = words.len();
    let bs = config.optimisation.batch_size.max(1);
    let batches = n.div_ceil(bs);
    let total_steps = batches * config.optimisation.epochs;
    let n_tags = tags.len();
    let mut order: Vec<usize> = (0..n).collect();
    let (mut best, mut curve, mut epoch_s) = (
        (f64::NEG_INFINITY, 0usize, trainer.net.snapshot()?),
        Vec::new(),
        Vec::new(),
    );
    let (mut step, mut words_seen, mut step_s) = (0usize, 0usize, 0.0f64);
    let mut stopped = None;
    'epochs: for epoch in 1..=config.optimisation.epochs {
        let t0 = Instant::now();
        observer.epoch_start(epoch, batches);
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let (mut loss_sum, mut loss_n) = (0.0, 0usize);
        let mut lr = config.optimisation.lr;
        for chunk in order.chunks(bs) {
            lr = config.optimisation.lr * config.optimisation.schedule.factor(step, total_steps);
            step += 1;
            let mut batch = encoder.batch(&enc.seqs, chunk);
            super::train::word_dropout(&mut batch.ids, config.regularisation.word_dropout, &mut rng);
            let t = batch.max_len;
            let mut target = vec![0u32; chunk.len() * t];
            let mut mask = vec![0f32; chunk.len() * t];
            for (i, &r) in chunk.iter().enumerate() {
                for (j, &tag) in y[r].iter().enumerate() {
                    target[i * t + j] = tag as u32;
                    mask[i * t + j] = 1.0;
                }
            }
            let real = y_len(chunk, y);
            let dev = device.clone();
            let loss = move |logits: &Tensor| -> candle_core::Result<Tensor> {
                let rows = target.len();
                let idx = Tensor::from_vec(target, (rows, 1), &dev)?;
                let nll = candle_nn::ops::log_softmax(logits, D::Minus1)?
                    .gather(&idx, 1)?
                    .flatten_all()?
                    .neg()?;
                let m = Tensor::from_vec(mask, rows, &dev)?;
                (nll * m)?.sum_all()? / real as f64
            };
            let ts = Instant::now();
            let lv = trainer.step_with(&batch, enc.features(), lr, Some(&mut rng), loss)?;
            step_s += ts.elapsed().as_secs_f64();
            words_seen += real;
            if !lv.is_finite() || lv > 1000.0 * (n_tags as f64).ln() {
                stopped = Some(format!(
                    "training diverged: the loss became {lv:.4e} at epoch {epoch}; kept the weights of epoch {} \
                     (try a lower --lr than {:e})",
                    best.1, config.optimisation.lr
                ));
                break 'epochs;
            }
            loss_sum += lv * real as f64;
            loss_n += real;
            observer.batch_end(lv);
            if observer.interrupted() {
                stopped = Some(format!(
                    "interrupted at epoch {epoch}; kept the weights of epoch {}",
                    best.1
                ));
                break 'epochs;
            }
        }
        let seconds = t0.elapsed().as_secs_f64();
        epoch_s.push(seconds);
        let val_acc = accuracy(&trainer.net.predict_tags(&val_enc)?, val.1);
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / loss_n.max(1) as f64,
            val_loss: f64::NAN,
            val_metric: val_acc,
            lr,
            seconds,
        };
        observer.epoch_end(&stats);
        curve.push(stats);
        if val_acc > best.0 {
            best = (val_acc, epoch, trainer.net.snapshot()?);
        }
    }
    let net = trainer.net;
    net.restore(&best.2)?;
    Ok(TaggerFit {
        model: RnnTagger {
            kind: kind.to_string(),
            net,
            input,
            tags: tags.to_vec(),
        },
        curve,
        best_epoch: best.1,
        epoch_s,
        train_s: started.elapsed().as_secs_f64(),
        train_words_per_s: words_seen as f64 / step_s.max(1e-9),
        stopped,
    })
}

fn y_len(chunk: &[usize], y: &[Vec<usize>]) -> usize {
    chunk.iter().map(|&r| y[r].len()).sum::<usize>().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Silent;

    /// A toy grammar: determiners, nouns and verbs, with unseen nouns at test time whose
    /// character n-grams (the `-og` / `-at` endings) and context give them away.
    fn toy(n: usize, seed: u64) -> (Vec<Vec<String>>, Vec<Vec<usize>>) {
        let dets = ["the", "a", "this"];
        let nouns = ["dog", "cat", "frog", "hat", "bat", "log"];
        let verbs = ["runs", "sleeps", "jumps"];
        let mut rng = Rng::new(seed);
        let mut words = Vec::new();
        let mut tags = Vec::new();
        for _ in 0..n {
            let mut w = Vec::new();
            let mut t = Vec::new();
            for _ in 0..1 + rng.below(3) {
                w.push(dets[rng.below(3)].to_string());
                t.push(0);
                w.push(nouns[rng.below(6)].to_string());
                t.push(1);
                w.push(verbs[rng.below(3)].to_string());
                t.push(2);
            }
            words.push(w);
            tags.push(t);
        }
        (words, tags)
    }

    fn small() -> RnnConfig {
        let mut c = tagger_recipe(CellKind::Lstm);
        c.architecture.emb = 16;
        c.architecture.hidden = 16;
        c.architecture.layers = 1;
        c.inputs.char_buckets = 1 << 10;
        c.inputs.char_dim = 8;
        c.inputs.min_count = 1;
        c.optimisation.epochs = 4;
        c.optimisation.lr = 0.01;
        c
    }

    #[test]
    fn a_small_tagger_learns_the_toy_grammar_and_saves_whole() {
        let names: Vec<String> = ["DET", "NOUN", "VERB"].map(String::from).to_vec();
        let (tr, ytr) = toy(300, 1);
        let (va, yva) = toy(40, 2);
        let cfg = small();
        let fit = fit_tagger(
            "lstm",
            &cfg,
            &names,
            (&tr, &ytr),
            (&va, &yva),
            &Device::Cpu,
            &mut Silent,
        )
        .unwrap();
        assert!(fit.best_epoch >= 1);
        let acc = fit.curve[fit.best_epoch - 1].val_metric;
        assert!(acc > 0.95, "validation accuracy {acc}");
        // Unseen words in a known frame.
        let probe = vec![["the", "zog", "sleeps"].map(String::from).to_vec()];
        assert_eq!(fit.model.predict(&probe).unwrap(), vec![vec![0, 1, 2]]);
        // The count a loader checks is the network's.
        let real: usize = fit.model.net.named_vars().iter().map(|(_, v)| v.elem_count()).sum();
        assert_eq!(
            tagger_parameter_count(&cfg, fit.model.input.vocab_size(), 3),
            Some(real)
        );
        let dir = tempfile::tempdir().unwrap();
        fit.model.save(dir.path(), serde_json::Value::Null).unwrap();
        let (back, card) = RnnTagger::load(dir.path(), &Device::Cpu).unwrap();
        assert_eq!(card.task, "tag");
        assert_eq!(back.predict(&va).unwrap(), fit.model.predict(&va).unwrap());
        // The same seed, the same tagger.
        let again = fit_tagger(
            "lstm",
            &cfg,
            &names,
            (&tr, &ytr),
            (&va, &yva),
            &Device::Cpu,
            &mut Silent,
        )
        .unwrap();
        assert_eq!(again.model.predict(&va).unwrap(), fit.model.predict(&va).unwrap());
        // A card whose sizes do not match the weights.
        let text = std::fs::read_to_string(dir.path().join("model.json"))
            .unwrap()
            .replace("\"hidden\": 16", "\"hidden\": 17");
        std::fs::write(dir.path().join("model.json"), text).unwrap();
        let e = RnnTagger::load(dir.path(), &Device::Cpu).err().unwrap().to_string();
        assert!(e.contains("describe"), "{e}");
    }
}
