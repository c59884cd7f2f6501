//! Training a recurrent classifier: Adam or AdamW, global-norm gradient clipping, a learning-rate
//! schedule, early stopping on the validation metric with the best checkpoint kept, and the
//! learning curve. Seeded: the same seed gives the same model on the CPU.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor};
use rnnlab_vectorize::sequence::{PAD, UNK};
use rnnlab_vectorize::SequenceEncoder;
use serde::Serialize;

use super::ce;
use super::classifier::{RnnModel, SequenceClassifier};
use super::config::RnnConfig;
use super::encoder::Encoder;
use super::input::SequenceInput;
use super::trainer::Trainer;
use crate::Error;
use rnnlab_baselines::labels::LabelSet;
use rnnlab_baselines::linear::nb_ratios;
use rnnlab_baselines::metrics::{best_threshold, predict_classes, SplitMetrics};
use rnnlab_kernels::Rng;

/// One epoch of the learning curve (the `curve` of `metrics.json`).
#[derive(Debug, Clone, Serialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    /// F1 of the positive class at its best threshold (binary), else macro-F1.
    pub val_metric: f64,
    pub lr: f64,
    pub seconds: f64,
}

/// Hooks for progress display; the model layer draws nothing itself.
pub trait TrainObserver {
    fn epoch_start(&mut self, _epoch: usize, _batches: usize) {}
    fn batch_end(&mut self, _loss: f64) {}
    fn epoch_end(&mut self, _stats: &EpochStats) {}
    /// Asked after every batch: `true` stops training there (a user's Ctrl-C); the best
    /// checkpoint so far is kept, as with early stopping.
    fn interrupted(&mut self) -> bool {
        false
    }
}

/// An observer that does nothing.
pub struct Silent;
impl TrainObserver for Silent {}

pub struct FitResult {
    pub model: RnnModel,
    pub curve: Vec<EpochStats>,
    /// The epoch whose weights were kept (1-based; 0: none finished, initial weights).
    pub best_epoch: usize,
    pub epoch_s: Vec<f64>,
    pub train_s: f64,
    /// Why training ended before `epochs`, if it did (early stopping, a non-finite loss).
    pub stopped: Option<String>,
    /// Class probabilities of the validation rows under the kept weights (what the
    /// threshold was chosen on), so callers need not predict them again.
    pub val_proba: Vec<Vec<f32>>,
}

/// This epoch's batches: rows shuffled, then sorted by length within windows of 16 batches
/// (so a batch pads little and most steps need no mask), cut into batches, and the batches
/// shuffled. Every row is in exactly one batch.
fn bucketed_batches(
    rng: &mut Rng,
    rows: &mut [usize],
    seqs: &[Vec<u32>],
    batch_size: usize,
    max_len: usize,
) -> Vec<Vec<usize>> {
    rng.shuffle(rows);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for window in rows.chunks_mut(batch_size * 16) {
        window.sort_by_key(|&r| seqs[r].len().min(max_len));
        batches.extend(window.chunks(batch_size).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

/// What [`init_from_language_model`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Initialised {
    /// Embedding rows whose word the language model knows.
    pub rows: usize,
    /// Recurrent weight tensors copied whole.
    pub tensors: usize,
}

/// Starts `encoder` from a recurrent language model's directory (`vocab.json`: its words by
/// id; `model.safetensors`: PyTorch-named weights): each embedding row whose word the model
/// knows, and every recurrent weight of the same name (`rnn.weight_ih_l0`, ...). A backward
/// direction or a layer the model lacks keeps its fresh weights; a width that differs is an
/// error naming the flag to set.
pub fn init_from_language_model(encoder: &Encoder, words: &[String], dir: &Path) -> Result<Initialised, Error> {
    let vocab_path = dir.join("vocab.json");
    rnnlab_baselines::files::check_regular(&vocab_path, rnnlab_baselines::files::MAX_WEIGHTS_BYTES)?;
    let text = std::fs::read_to_string(&vocab_path).map_err(|e| Error::io(&vocab_path, e))?;
    let lm_words: Vec<String> = serde_json::from_str(&text)
        .map_err(|e| Error::Data(format!("{}: not a list of words: {e}", vocab_path.display())))?;
    let weights = dir.join("model.safetensors");
    let tensors = rnnlab_baselines::tensors::load(&weights)?;
    let bad = |m: String| Error::Data(format!("{}: {m}", weights.display()));
    let emb = encoder.config.architecture.emb;
    let Some((shape, table)) = tensors.get("embedding.weight") else {
        return Err(bad("no embedding.weight: not a recurrent language model".into()));
    };
    if shape.len() != 2 || shape[0] != lm_words.len() || shape[0] * shape[1] != table.len() {
        return Err(bad(format!(
            "embedding.weight {shape:?} does not fit the {} words of vocab.json",
            lm_words.len()
        )));
    }
    if shape[1] != emb {
        return Err(bad(format!(
            "its embedding is {} wide, this network's {emb}: set --emb {}",
            shape[1], shape[1]
        )));
    }
    let index: HashMap<&str, usize> = lm_words.iter().enumerate().map(|(i, w)| (w.as_str(), i)).collect();
    let mut rows = encoder
        .embedding
        .as_tensor()
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(ce)?;
    let mut found = 0;
    for (i, w) in words.iter().enumerate() {
        if let Some(&j) = index.get(w.as_str()) {
            rows[i * emb..(i + 1) * emb].copy_from_slice(&table[j * emb..(j + 1) * emb]);
            found += 1;
        }
    }
    let t = Tensor::from_vec(rows, encoder.embedding.dims(), &encoder.device).map_err(ce)?;
    encoder.embedding.set(&t).map_err(ce)?;
    let mut copied = 0;
    for (name, var) in encoder.named_vars() {
        if !name.starts_with("rnn.") {
            continue;
        }
        let Some((shape, values)) = tensors.get(&name) else {
            continue;
        };
        if shape.as_slice() != var.dims() {
            return Err(bad(format!(
                "{name} is {shape:?}, this network's {:?}: train the language model's cell (--model) \
                 with its --hidden {}",
                var.dims(),
                tensors
                    .get("rnn.weight_hh_l0")
                    .map_or(0, |(s, _)| s.get(1).copied().unwrap_or(0))
            )));
        }
        let t = Tensor::from_vec(values.clone(), var.dims(), &encoder.device).map_err(ce)?;
        var.set(&t).map_err(ce)?;
        copied += 1;
    }
    if copied == 0 {
        return Err(bad(
            "no recurrent weight of this network's names: not a recurrent language model".into(),
        ));
    }
    Ok(Initialised {
        rows: found,
        tensors: copied,
    })
}

/// Rows of the embedding found in a word2vec/fastText `.vec` text file (an optional
/// `count dim` header, then `word v1 ... vd` per line). Returns how many words were found.
pub fn load_word_vectors(path: &Path, words: &[String], emb: &mut [f32], dim: usize) -> Result<usize, Error> {
    rnnlab_baselines::files::check_regular(path, rnnlab_baselines::files::MAX_WEIGHTS_BYTES)?;
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let index: std::collections::HashMap<&str, usize> =
        words.iter().enumerate().map(|(i, w)| (w.as_str(), i)).collect();
    let mut found = 0;
    for (n, line) in text.lines().enumerate() {
        let mut parts = line.split_whitespace();
        let Some(word) = parts.next() else { continue };
        let values: Vec<&str> = parts.collect();
        if n == 0 && values.len() == 1 {
            continue; // header
        }
        if values.len() != dim {
            return Err(Error::Data(format!(
                "{}: line {}: {} values, the embedding has {dim} (set --emb {})",
                path.display(),
                n + 1,
                values.len(),
                values.len()
            )));
        }
        if let Some(&row) = index.get(word) {
            if row < 2 {
                continue; // <pad> and <unk> keep their own rows
            }
            for (j, v) in values.iter().enumerate() {
                let x: f32 = v.parse().ok().filter(|x: &f32| x.is_finite()).ok_or_else(|| {
                    Error::Data(format!(
                        "{}: line {}, column {}: {v:?} is not a finite number",
                        path.display(),
                        n + 1,
                        j + 2
                    ))
                })?;
                emb[row * dim + j] = x;
            }
            found += 1;
        }
    }
    Ok(found)
}

/// The validation figure: binary F1 at the best threshold, else macro-F1; and the mean
/// negative log-likelihood.
fn validate(proba: &[Vec<f32>], y: &[usize], labels: &LabelSet) -> (f64, f64) {
    let nll = proba
        .iter()
        .zip(y)
        .map(|(p, &k)| -(p[k].max(1e-7) as f64).ln())
        .sum::<f64>()
        / y.len().max(1) as f64;
    let k = labels.n_classes();
    let metric = match labels.positive {
        Some(pos) => {
            let t = best_threshold(y, proba, pos);
            SplitMetrics::compute(y, &predict_classes(proba, Some(pos), Some(t)), k, Some(pos)).main_metric()
        }
        None => SplitMetrics::compute(y, &predict_classes(proba, None, None), k, None).main_metric(),
    };
    (metric, nll)
}

/// Memory the kernel says a new allocation can get without swapping (`MemAvailable`), in
/// bytes; `None` where there is no `/proc/meminfo`.
pub(crate) fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Trains `config` on `train` and picks the epoch (and, for a binary task, the threshold) on
/// `val`. With `config.refit`, then trains again from the start on `train` and `val` together
/// for the chosen number of epochs (the same learning-rate schedule, cut there) and keeps
/// those weights with the first run's threshold; the validation figures (curve,
/// `val_proba`) stay the first run's, the only honest ones.
pub fn fit(
    kind: &str,
    config: &RnnConfig,
    labels: &LabelSet,
    train: (&[Vec<String>], &[usize]),
    val: (&[Vec<String>], &[usize]),
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<FitResult, Error> {
    let first = fit_epochs(kind, config, labels, train, val, device, observer, None)?;
    if !config.optimisation.refit || first.best_epoch == 0 || first.stopped.is_some() {
        return Ok(first);
    }
    let docs: Vec<Vec<String>> = train.0.iter().chain(val.0).cloned().collect();
    let y: Vec<usize> = train.1.iter().chain(val.1).copied().collect();
    let mut second = fit_epochs(
        kind,
        config,
        labels,
        (&docs, &y),
        val,
        device,
        observer,
        Some(first.best_epoch),
    )?;
    second.model.threshold = first.model.threshold;
    let mut epoch_s = first.epoch_s;
    epoch_s.extend(second.epoch_s);
    Ok(FitResult {
        model: second.model,
        curve: first.curve,
        best_epoch: first.best_epoch,
        epoch_s,
        train_s: first.train_s + second.train_s,
        stopped: second.stopped,
        val_proba: first.val_proba,
    })
}

/// One training run: `fixed: None` keeps the epoch with the best validation metric (with
/// early stopping); `Some(n)` runs `n` epochs of the `config.epochs`-long schedule and keeps
/// the last, with no validation figures or threshold (its rows were trained on).
#[allow(clippy::too_many_arguments)]
fn fit_epochs(
    kind: &str,
    config: &RnnConfig,
    labels: &LabelSet,
    train: (&[Vec<String>], &[usize]),
    val: (&[Vec<String>], &[usize]),
    device: &Device,
    observer: &mut dyn TrainObserver,
    fixed: Option<usize>,
) -> Result<FitResult, Error> {
    config.validate()?;
    let (docs, y) = train;
    if docs.is_empty() || val.0.is_empty() {
        return Err(Error::Data("training and validation data must not be empty".into()));
    }
    if docs.len() != y.len() || val.0.len() != val.1.len() {
        return Err(Error::Data("documents and labels differ in number".into()));
    }
    let started = Instant::now();
    let input = SequenceInput::fit(config, docs)?;
    let train_enc = input.encode_docs(docs, config)?;
    let val_enc = input.encode_docs(val.0, config)?;
    let seqs = &train_enc.seqs;
    let encoder = match config.inputs.max_len {
        Some(n) => SequenceEncoder::new(n)?,
        None => SequenceEncoder::new(SequenceEncoder::from_percentile(seqs, 99.0)?.max_len + 1)?,
    };
    let n_classes = labels.n_classes();
    let n_out = if n_classes == 2 { 1 } else { n_classes };
    let free = if device.is_cpu() { available_memory() } else { None };
    config.check_fits(input.vocab_size(), n_out, free)?;
    let mut net = SequenceClassifier::new(config, input.vocab_size(), n_out, device)?;
    if config.inputs.bag_nb {
        let Some(positive) = labels.positive.filter(|_| n_classes == 2) else {
            return Err(Error::Param(format!(
                "--bag-nb weighs n-grams by a binary task's NB log-count ratio; this task has {n_classes} classes"
            )));
        };
        net.encoder.bag_scale = Some(nb_ratios(&train_enc.bags, y, positive, config.inputs.bag_buckets));
    }
    if let Some(path) = &config.inputs.pretrained {
        let words = input.words().ok_or_else(|| {
            Error::Param("--pretrained word vectors need --tokens word (subword pieces are not words)".into())
        })?;
        let mut emb = net
            .encoder
            .embedding
            .as_tensor()
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(ce)?;
        load_word_vectors(path, words, &mut emb, config.architecture.emb)?;
        let t = Tensor::from_vec(emb, net.encoder.embedding.dims(), device).map_err(ce)?;
        net.encoder.embedding.set(&t).map_err(ce)?;
    }
    if let Some(dir) = &config.inputs.init_from {
        let words = input.words().ok_or_else(|| {
            Error::Param("--init-from needs --tokens word (a language model's units are words)".into())
        })?;
        init_from_language_model(&net.encoder, words, dir)?;
    }
    let mut trainer = Trainer::new(net, config)?;
    let weights: Vec<f32> = rnnlab_baselines::linear::sample_weights(y, n_classes, config.optimisation.class_weight)
        .into_iter()
        .map(|w| w as f32)
        .collect();
    let mut rng = Rng::new(config.optimisation.seed.wrapping_add(1));
    let mut rows: Vec<usize> = (0..docs.len()).collect();
    let batches = docs.len().div_ceil(config.optimisation.batch_size);
    let total_steps = batches * config.optimisation.epochs;
    let mut step = 0usize;
    let mut best: (f64, usize, Vec<Tensor>) = (f64::NEG_INFINITY, 0, trainer.net.snapshot()?);
    let mut curve = Vec::new();
    let mut epoch_s = Vec::new();
    let mut stopped = None;
    // Cross-entropy of a model that knows nothing is ln k; a thousand times that is not a
    // hard batch but a run whose weights have blown up (a learning rate far too high).
    let uninformed = (labels.n_classes().max(2) as f64).ln();
    let diverged = 1000.0 * uninformed;
    'epochs: for epoch in 1..=fixed
        .unwrap_or(config.optimisation.epochs)
        .min(config.optimisation.epochs)
    {
        let t0 = Instant::now();
        observer.epoch_start(epoch, batches);
        let order = bucketed_batches(
            &mut rng,
            &mut rows,
            seqs,
            config.optimisation.batch_size,
            encoder.max_len,
        );
        let (mut loss_sum, mut loss_n) = (0.0, 0usize);
        let mut lr = config.optimisation.lr;
        for chunk in order.iter().map(Vec::as_slice) {
            lr = config.optimisation.lr * config.optimisation.schedule.factor(step, total_steps);
            step += 1;
            let mut batch = encoder.batch(seqs, chunk);
            word_dropout(&mut batch.ids, config.regularisation.word_dropout, &mut rng);
            let docs = train_enc.features();
            let yb: Vec<usize> = chunk.iter().map(|&r| y[r]).collect();
            let wb: Vec<f32> = chunk.iter().map(|&r| weights[r]).collect();
            let lv = trainer.step(&batch, docs, &yb, &wb, lr, Some(&mut rng))?;
            if !lv.is_finite() || lv > diverged {
                stopped = Some(format!(
                    "training diverged: the loss became {lv:.4e} at epoch {epoch}, batch {} (an uninformed \
                     model's is {uninformed:.3}); kept the weights of epoch {} (try a lower --lr than {:e} or \
                     a --clip)",
                    step - (epoch - 1) * batches,
                    best.1,
                    config.optimisation.lr
                ));
                break 'epochs;
            }
            loss_sum += lv * chunk.len() as f64;
            loss_n += chunk.len();
            observer.batch_end(lv);
            if observer.interrupted() {
                stopped = Some(format!(
                    "interrupted at epoch {epoch}, batch {}; kept the weights of epoch {}",
                    step - (epoch - 1) * batches,
                    best.1
                ));
                break 'epochs;
            }
        }
        let seconds = t0.elapsed().as_secs_f64();
        epoch_s.push(seconds);
        // A fixed-length run (the refit) has seen the validation rows: no figures from them.
        let (val_metric, val_loss) = match fixed {
            Some(_) => (f64::NAN, f64::NAN),
            None => validate(&trainer.net.predict_proba(&val_enc, &encoder)?, val.1, labels),
        };
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / loss_n.max(1) as f64,
            val_loss,
            val_metric,
            lr,
            seconds,
        };
        observer.epoch_end(&stats);
        curve.push(stats);
        let improved = fixed.is_some() || val_metric > best.0;
        if improved {
            best = (val_metric, epoch, trainer.net.snapshot()?);
        }
        if let Some(p) = config.optimisation.patience.filter(|_| !improved) {
            if epoch - best.1 >= p {
                stopped = Some(format!(
                    "early stop after epoch {epoch}: no better validation metric for {p} epochs"
                ));
                break;
            }
        }
    }
    let net = trainer.net;
    net.restore(&best.2)?;
    let mut model = RnnModel {
        kind: kind.to_string(),
        classifier: net,
        input,
        encoder,
        labels: labels.clone(),
        threshold: None,
    };
    let val_proba = match fixed {
        Some(_) => Vec::new(),
        None => model.classifier.predict_proba(&val_enc, &model.encoder)?,
    };
    if let (Some(pos), None) = (labels.positive, fixed) {
        model.threshold = Some(best_threshold(val.1, &val_proba, pos));
    }
    Ok(FitResult {
        val_proba,
        model,
        curve,
        best_epoch: best.1,
        epoch_s,
        train_s: started.elapsed().as_secs_f64(),
        stopped,
    })
}

/// Turns each token id (not padding) into `UNK` with probability `p`.
pub(crate) fn word_dropout(ids: &mut [u32], p: f32, rng: &mut Rng) {
    if p <= 0.0 {
        return;
    }
    for id in ids.iter_mut().filter(|id| **id != PAD) {
        if rng.uniform() < p {
            *id = UNK;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classifier's encoder starts from a language model: the rows of the words it knows,
    /// the forward recurrent weights; the backward direction and unknown words keep theirs; a
    /// width that differs is refused naming the flag.
    #[test]
    fn a_classifier_starts_from_a_language_model() {
        use crate::language_model::{lm_recipe, RecurrentLm};
        let dev = Device::Cpu;
        let mut lm_config = lm_recipe(crate::CellKind::Lstm);
        lm_config.rnn.architecture.emb = 4;
        lm_config.rnn.architecture.hidden = 3;
        lm_config.rnn.architecture.layers = 1;
        lm_config.tie_weights = false;
        let lm_words = ["<unk>", "<eos>", "cat", "sat"].map(String::from).to_vec();
        let lm = RecurrentLm::new_lm(&lm_config, lm_words.len(), &dev).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vocab.json"), serde_json::to_string(&lm_words).unwrap()).unwrap();
        rnnlab_baselines::tensors::save(&dir.path().join("model.safetensors"), &lm.state().unwrap()).unwrap();
        let mut c = RnnConfig::default();
        c.architecture.emb = 4;
        c.architecture.hidden = 3;
        c.architecture.bidirectional = true;
        let words = ["<pad>", "<unk>", "sat", "dog"].map(String::from).to_vec();
        let enc = Encoder::new(&c, words.len(), 0, &mut Rng::new(5), &dev).unwrap();
        let before: HashMap<String, Vec<f32>> = enc
            .named_vars()
            .into_iter()
            .map(|(n, v)| (n, v.as_tensor().flatten_all().unwrap().to_vec1().unwrap()))
            .collect();
        let got = init_from_language_model(&enc, &words, dir.path()).unwrap();
        assert_eq!(
            got,
            Initialised { rows: 2, tensors: 4 },
            "<unk> and sat; the forward direction's 4"
        );
        let now = |name: &str| -> Vec<f32> {
            let (_, v) = enc.named_vars().into_iter().find(|(n, _)| n == name).unwrap();
            v.as_tensor().flatten_all().unwrap().to_vec1().unwrap()
        };
        let lm_vars: HashMap<String, Vec<f32>> = lm
            .named_vars()
            .into_iter()
            .map(|(n, v)| (n, v.as_tensor().flatten_all().unwrap().to_vec1().unwrap()))
            .collect();
        let (emb_now, emb_lm) = (now("embedding.weight"), &lm_vars["embedding.weight"]);
        assert_eq!(emb_now[8..12], emb_lm[12..16], "sat's row");
        assert_eq!(emb_now[4..8], emb_lm[0..4], "<unk>'s row");
        assert_eq!(emb_now[12..16], before["embedding.weight"][12..16], "dog keeps its row");
        assert_eq!(now("rnn.weight_hh_l0"), lm_vars["rnn.weight_hh_l0"]);
        assert_eq!(now("rnn.weight_hh_l0_reverse"), before["rnn.weight_hh_l0_reverse"]);
        c.architecture.emb = 5;
        let wide = Encoder::new(&c, words.len(), 0, &mut Rng::new(5), &dev).unwrap();
        let e = init_from_language_model(&wide, &words, dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--emb 4"), "{e}");
    }

    #[test]
    fn word_dropout_touches_tokens_only_and_at_its_rate() {
        let mut ids: Vec<u32> = (0..20_000).map(|i| if i % 4 == 3 { PAD } else { 2 + i % 7 }).collect();
        let before = ids.clone();
        word_dropout(&mut ids, 0.0, &mut Rng::new(1));
        assert_eq!(ids, before, "p = 0 changes nothing");
        word_dropout(&mut ids, 0.2, &mut Rng::new(1));
        let tokens = before.iter().filter(|&&i| i != PAD).count();
        let dropped = ids.iter().zip(&before).filter(|(a, b)| a != b).count();
        assert!(ids.iter().zip(&before).all(|(a, b)| a == b || (*a == UNK && *b != PAD)));
        let rate = dropped as f64 / tokens as f64;
        assert!((rate - 0.2).abs() < 0.02, "dropped {rate} of the tokens");
    }
}
