//! The language-model task (the next word at every step): its kinds (the `kneser-ney` n-gram
//! baseline, and `rnn` / `lstm` / `gru` on the reference recipe), training into a model
//! directory with the language-model `metrics.json`, loading one for `eval` and `generate`.
//!
//! A `kneser-ney` directory holds `model.json`, `vocab.json` (the words, by id) and
//! `train_stream.bin` (the training stream's ids, little-endian u32): the counts are rebuilt
//! from the stream on load (about a second for UD English EWT), which keeps the directory small
//! and every count consistent with its text. A recurrent one holds `model.json` (with the
//! recipe), `vocab.json` and `model.safetensors`.

use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use rnnlab_baselines::kneser_ney::{Discount, KneserNey};
use rnnlab_rnn::language_model::{fit_lm, LmConfig, RecurrentLm, Sampling};
use rnnlab_rnn::{Rng, TrainObserver};
use rnnlab_text::lm_stream::{char_stream, subword_stream, LmCorpus, LmUnits, WordVocab, EOS};
use rnnlab_vectorize::{SubwordKind, SubwordParams, SubwordTokenizer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{round4, write_json, Error};

pub mod ensemble;
use ensemble::EnsembleLm;

/// Words seen fewer times in training are `<unk>` (the reference's rule).
pub const MIN_COUNT: usize = 2;

/// The n-gram order of `kneser-ney` unless `--order` says otherwise.
pub const DEFAULT_ORDER: usize = 4;

const STREAM_FILE: &str = "train_stream.bin";
const SUBWORD_FILE: &str = "subword.json";

/// How a model reads word streams: as words, characters, or the pieces of a subword tokenizer
/// trained on the training words.
pub struct Units {
    pub kind: LmUnits,
    tokenizer: Option<Box<SubwordTokenizer>>,
}

impl Units {
    /// The units of `kind`; subword kinds train their tokenizer on `train` (a word stream,
    /// one sentence per `<eos>`) with `vocab_size` pieces, pieces seen fewer than twice left out.
    pub fn fit(kind: LmUnits, train: &[String], vocab_size: usize) -> Result<Self, Error> {
        let subword = match kind {
            LmUnits::Word | LmUnits::Char => None,
            LmUnits::Bpe => Some(SubwordKind::Bpe),
            LmUnits::Unigram => Some(SubwordKind::Unigram),
        };
        let tokenizer = match subword {
            None => None,
            Some(k) => {
                let sentences: Vec<Vec<String>> = train
                    .split(|w| w == EOS)
                    .filter(|s| !s.is_empty())
                    .map(<[String]>::to_vec)
                    .collect();
                let params = SubwordParams {
                    kind: k,
                    vocab_size,
                    min_frequency: 2,
                };
                Some(Box::new(SubwordTokenizer::train(&sentences, params)?))
            }
        };
        Ok(Units { kind, tokenizer })
    }

    /// A word stream as this model's units.
    pub fn stream(&self, words: &[String]) -> Result<Vec<String>, Error> {
        Ok(match (self.kind, &self.tokenizer) {
            (LmUnits::Word, _) => words.to_vec(),
            (LmUnits::Char, _) => char_stream(words),
            (_, Some(t)) => {
                let mut failed = None;
                let units = subword_stream(words, |w| {
                    t.pieces(&[w.to_string()]).unwrap_or_else(|e| {
                        failed.get_or_insert(e);
                        Vec::new()
                    })
                });
                if let Some(e) = failed {
                    return Err(e.into());
                }
                units
            }
            (k, None) => return Err(Error::Input(format!("{k:?} units without their tokenizer"))),
        })
    }

    /// Writes the tokenizer of subword units into the model directory.
    fn save(&self, dir: &Path) -> Result<(), Error> {
        match &self.tokenizer {
            Some(t) => Ok(t.save(&dir.join(SUBWORD_FILE))?),
            None => Ok(()),
        }
    }

    /// The units a directory's `model.json` names, with the tokenizer it holds for subwords.
    fn load(kind: LmUnits, dir: &Path) -> Result<Self, Error> {
        let tokenizer = match kind.is_subword() {
            true => Some(Box::new(SubwordTokenizer::load(&dir.join(SUBWORD_FILE))?)),
            false => None,
        };
        Ok(Units { kind, tokenizer })
    }
}

/// `model.json` of a `kneser-ney` directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LmCard {
    #[serde(default)]
    format_version: u32,
    kind: String,
    task: String,
    units: LmUnits,
    /// The n-gram order (`kneser-ney`).
    #[serde(default)]
    order: usize,
    vocab_size: usize,
    train_tokens: usize,
    /// The recipe (recurrent kinds).
    #[serde(default)]
    params: Option<LmConfig>,
    #[serde(default)]
    meta: Value,
}

/// What `train --task lm` builds: the n-gram baseline, a recurrent network, or `best-rnn`
/// (networks of `config` mixed with the n-gram model of `order`, [`ensemble`]).
#[derive(Debug, Clone)]
pub enum LmSpec {
    KneserNey { order: usize },
    Recurrent { kind: String, config: Box<LmConfig> },
    Best { config: Box<LmConfig>, order: usize },
}

impl LmSpec {
    pub fn kind(&self) -> &str {
        match self {
            LmSpec::KneserNey { .. } => "kneser-ney",
            LmSpec::Recurrent { kind, .. } => kind,
            LmSpec::Best { .. } => "best-rnn",
        }
    }
}

/// The language-model kinds.
pub const LM_KINDS: [&str; 5] = ["kneser-ney", "rnn", "lstm", "gru", "best-rnn"];

/// Samples in `metrics.json`, and the tokens each may run to.
const SAMPLES: usize = 3;

/// A trained recurrent language model with its vocabulary.
pub struct RnnLm {
    pub net: RecurrentLm,
    pub vocab: WordVocab,
    pub config: LmConfig,
    pub units: Units,
}

/// The figures of a stream scored in units: perplexity, cross-entropy (nats per unit) and
/// units scored; for characters and subwords also the perplexity per word of the `words`
/// stream, which compares with a word model's.
fn figures(total: f64, n: usize, units: LmUnits, words: usize) -> Value {
    let h = total / n.max(1) as f64;
    let mut v = json!({"perplexity": h.exp(), "cross_entropy": h, "tokens": n});
    if units != LmUnits::Word {
        v["perplexity_per_word"] = json!((total / words.max(1) as f64).exp());
        v["words"] = json!(words);
    }
    v
}

impl RnnLm {
    /// Perplexity, mean cross-entropy and token count of a word stream (the reference's
    /// evaluation: ten parallel streams, windows of `bptt`).
    pub fn score(&self, words: &[String]) -> Result<Value, Error> {
        let ids = self.vocab.encode(&self.units.stream(words)?);
        let (total, n) = self.net.stream_cross_entropy(&ids, self.config.bptt)?;
        if n == 0 {
            return Err(Error::Input(format!(
                "{} tokens (with <eos>): too few to score; a language model predicts every token after the first",
                ids.len()
            )));
        }
        Ok(figures(total, n, self.units.kind, words.len()))
    }

    /// One sample after `prompt` (words; a sentence starts after `<eos>`), handing each unit
    /// (word, character or subword) out as it is drawn; ends at `<eos>` or after `sampling.max_tokens`
    /// units.
    pub fn sample(
        &self,
        prompt: &[String],
        sampling: &Sampling,
        rng: &mut Rng,
        mut on_word: impl FnMut(&str),
    ) -> Result<Vec<String>, Error> {
        let mut ids = vec![1u32];
        ids.extend(self.vocab.encode(&self.units.stream(prompt)?));
        let out = self
            .net
            .generate(&ids, sampling, Some(1), rng, |t| on_word(&self.vocab.itos[t as usize]))?;
        Ok(out.into_iter().map(|t| self.vocab.itos[t as usize].clone()).collect())
    }
}

impl RnnLm {
    /// The most likely continuation of `prompt` (words; a sentence starts after `<eos>`) by
    /// beam search with `beam` hypotheses, ending at `<eos>` or after `max_tokens` words.
    pub fn beam_sample(&self, prompt: &[String], beam: usize, max_tokens: usize) -> Result<Vec<String>, Error> {
        let mut ids = vec![1u32];
        ids.extend(self.vocab.encode(&self.units.stream(prompt)?));
        let out = self.net.beam_generate(&ids, beam, max_tokens, Some(1))?;
        Ok(out.into_iter().map(|t| self.vocab.itos[t as usize].clone()).collect())
    }
}

/// A language-model directory of any kind.
pub enum AnyLm {
    Ngram(NgramLm),
    Recurrent(Box<RnnLm>),
    Ensemble(Box<EnsembleLm>),
}

impl AnyLm {
    /// Loads a language-model directory; `None` when `dir` holds another task's model.
    pub fn load(dir: &Path, device: &Device) -> Result<Option<(Self, Value)>, Error> {
        let path = dir.join("model.json");
        let Some(value) = lm_card(&path)? else {
            return Ok(None);
        };
        match value.get("kind").and_then(Value::as_str) {
            Some("kneser-ney") => Ok(NgramLm::load(dir)?.map(|(m, meta)| (AnyLm::Ngram(m), meta))),
            Some("best-rnn") => {
                let (m, meta) = EnsembleLm::load(dir, device)?;
                Ok(Some((AnyLm::Ensemble(Box::new(m)), meta)))
            }
            _ => Ok(RnnLm::load(dir, device)?.map(|(m, meta)| (AnyLm::Recurrent(Box::new(m)), meta))),
        }
    }

    /// Perplexity, cross-entropy and token count of a word stream.
    pub fn score(&self, words: &[String]) -> Result<Value, Error> {
        match self {
            AnyLm::Ngram(m) => m.score(words),
            AnyLm::Recurrent(m) => m.score(words),
            AnyLm::Ensemble(m) => m.score(words),
        }
    }
}

impl RnnLm {
    /// Loads a recurrent language-model directory; `None` when `dir` holds another task's
    /// model.
    pub fn load(dir: &Path, device: &Device) -> Result<Option<(Self, Value)>, Error> {
        let path = dir.join("model.json");
        let Some(value) = lm_card(&path)? else {
            return Ok(None);
        };
        rnnlab_baselines::check_format_version(&path, &value)?;
        let card: LmCard =
            serde_json::from_value(value).map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
        let bad = |m: String| Error::Input(format!("{}: {m}", path.display()));
        let Some(config) = card.params.clone() else {
            return Err(bad(format!("kind {:?} without its params", card.kind)));
        };
        config.validate().map_err(|e| bad(format!("params: {e}")))?;
        let vocab = read_vocab(dir, card.vocab_size)?;
        let weights = dir.join("model.safetensors");
        let tensors = rnnlab_baselines::tensors::load(&weights)?;
        let held: usize = tensors.values().map(|(shape, _)| shape.iter().product::<usize>()).sum();
        let described = config.parameter_count(card.vocab_size);
        if described != Some(held) {
            return Err(bad(format!(
                "its sizes describe {} weights, but {} holds {held}",
                described.map_or("more than 2^64".to_string(), |n| n.to_string()),
                weights.display()
            )));
        }
        let mut net = RecurrentLm::new_lm(&config, card.vocab_size, device)?;
        net.load_state(&tensors, &weights)?;
        let units = Units::load(card.units, dir)?;
        Ok(Some((
            RnnLm {
                net,
                vocab,
                config,
                units,
            },
            card.meta,
        )))
    }
}

/// A directory's `model.json` when it describes a language model; `None` when there is none
/// or it is another task's.
fn lm_card(path: &Path) -> Result<Option<Value>, Error> {
    if !path.is_file() {
        return Ok(None);
    }
    let value: Value = rnnlab_baselines::baseline::read_json(path)?;
    Ok((value.get("task").and_then(Value::as_str) == Some("lm")).then_some(value))
}

/// `vocab.json`: `vocab_size` words, `<unk>` and `<eos>` first.
fn read_vocab(dir: &Path, vocab_size: usize) -> Result<WordVocab, Error> {
    let itos: Vec<String> = rnnlab_baselines::baseline::read_json(&dir.join("vocab.json"))?;
    if itos.len() != vocab_size || itos.len() < 2 || itos[0] != "<unk>" || itos[1] != "<eos>" {
        return Err(Error::Input(format!(
            "{}: {} words starting {:?}, model.json says {} starting <unk>, <eos>",
            dir.join("vocab.json").display(),
            itos.len(),
            itos.iter().take(2).collect::<Vec<_>>(),
            vocab_size
        )));
    }
    Ok(WordVocab::from_words(itos))
}

/// A trained `kneser-ney` language model with its vocabulary.
pub struct NgramLm {
    pub model: KneserNey,
    pub vocab: WordVocab,
    pub units: Units,
}

impl NgramLm {
    /// Perplexity, mean cross-entropy (nats per token) and token count of a word stream.
    pub fn score(&self, words: &[String]) -> Result<Value, Error> {
        let (h, n) = self.model.cross_entropy(&self.vocab.encode(&self.units.stream(words)?));
        Ok(figures(h * n as f64, n, self.units.kind, words.len()))
    }

    /// Loads a `kneser-ney` directory; `None` when `dir` holds another task's model.
    pub fn load(dir: &Path) -> Result<Option<(Self, Value)>, Error> {
        let path = dir.join("model.json");
        let Some(value) = lm_card(&path)? else {
            return Ok(None);
        };
        rnnlab_baselines::check_format_version(&path, &value)?;
        let card: LmCard =
            serde_json::from_value(value).map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
        let bad = |m: String| Error::Input(format!("{}: {m}", dir.display()));
        if card.kind != "kneser-ney" {
            return Err(bad(format!(
                "kind {:?}: this rnnlab reads kneser-ney language models",
                card.kind
            )));
        }
        let itos = read_vocab(dir, card.vocab_size)?.itos;
        let file = dir.join(STREAM_FILE);
        let size = std::fs::metadata(&file).map_err(|e| Error::io(&file, e))?.len();
        if (card.train_tokens as u64).checked_mul(4) != Some(size) {
            return Err(bad(format!(
                "{STREAM_FILE} holds {size} bytes, model.json says {} tokens",
                card.train_tokens
            )));
        }
        let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
        let stream: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if card.order == 0 {
            return Err(bad("order 0: a kneser-ney model needs an order of 1 or more".into()));
        }
        let model = KneserNey::fit(&stream, itos.len(), card.order, Discount::Modified)
            .map_err(|e| bad(format!("{STREAM_FILE}: {e}")))?;
        let vocab = WordVocab::from_words(itos);
        Ok(Some((
            NgramLm {
                model,
                vocab,
                units: Units::load(card.units, dir)?,
            },
            card.meta,
        )))
    }
}

/// The streams of a preprocessed table (a CSV data set's text column): each text's tokens
/// followed by `<eos>`, the splits as the data set defines them; the pipeline goes with them.
pub fn corpus_of_prepared(prep: &crate::Prepared, files: Vec<std::path::PathBuf>) -> LmCorpus {
    let split = |k: usize| -> Vec<String> {
        rnnlab_text::lm_stream::stream(
            prep.rows[k]
                .iter()
                .map(|&r| prep.tokens[r].clone())
                .filter(|t| !t.is_empty())
                .collect(),
        )
    };
    LmCorpus {
        name: prep.name.clone(),
        streams: [split(0), split(1), split(2)],
        files,
        pipeline: Some(prep.pipeline.clone()),
        units: Default::default(),
        subword_vocab: rnnlab_text::lm_stream::DEFAULT_SUBWORD_VOCAB,
    }
}

/// Trains `spec` on the corpus's training stream, scores validation and test, and writes the
/// model directory `out` with its `metrics.json` (last).
pub fn train_lm(
    corpus: &LmCorpus,
    spec: &LmSpec,
    out: &Path,
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<Value, Error> {
    if let Some(p) = &corpus.pipeline {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        p.save(&out.join("pipeline.json"))?;
    }
    match spec {
        LmSpec::KneserNey { order } => Ok(train_ngram(corpus, *order, out)?.0),
        LmSpec::Recurrent { kind, config } => Ok(train_recurrent(corpus, kind, config, out, device, observer)?.0),
        LmSpec::Best { config, order } => ensemble::train_best_lm(corpus, config, *order, out, device, observer),
    }
}

/// The recurrent kinds: [`fit_lm`], then perplexities, a few seeded samples and their speed;
/// the metrics and the model.
fn train_recurrent(
    corpus: &LmCorpus,
    kind: &str,
    config: &LmConfig,
    out: &Path,
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<(Value, RnnLm), Error> {
    let units = Units::fit(corpus.units, &corpus.streams[0], corpus.subword_vocab)?;
    let train_units = units.stream(&corpus.streams[0])?;
    let vocab = WordVocab::fit(&train_units, config.rnn.inputs.min_count);
    let train = vocab.encode(&train_units);
    let val = vocab.encode(&units.stream(&corpus.streams[1])?);
    let fit = fit_lm(config, vocab.len(), &train, &val, device, observer)?;
    let lm = RnnLm {
        net: fit.model,
        vocab,
        config: config.clone(),
        units,
    };
    let t1 = Instant::now();
    let test = lm.score(&corpus.streams[2])?;
    let score_s = t1.elapsed().as_secs_f64();
    let val_scores = lm.score(&corpus.streams[1])?;
    let mut rng = Rng::new(config.rnn.optimisation.seed);
    let (mut samples, mut drawn) = (Vec::new(), 0usize);
    let t2 = Instant::now();
    let kind_of_units = lm.units.kind;
    let sampling = Sampling {
        max_tokens: match kind_of_units {
            LmUnits::Char => 200,
            LmUnits::Bpe | LmUnits::Unigram => 60,
            LmUnits::Word => 40,
        },
        ..Sampling::default()
    };
    for _ in 0..SAMPLES {
        let drawn_units = lm.sample(&[], &sampling, &mut rng, |_| drawn += 1)?;
        samples.push(kind_of_units.text(&drawn_units, true));
    }
    let generate_s = t2.elapsed().as_secs_f64();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write_json(&out.join("vocab.json"), &lm.vocab.itos)?;
    lm.units.save(out)?;
    rnnlab_baselines::tensors::save(&out.join("model.safetensors"), &lm.net.state()?)?;
    let card = LmCard {
        format_version: rnnlab_baselines::FORMAT_VERSION,
        kind: kind.into(),
        task: "lm".into(),
        units: kind_of_units,
        order: 0,
        vocab_size: lm.vocab.len(),
        train_tokens: train.len(),
        params: Some(config.clone()),
        meta: json!({"dataset": corpus.name}),
    };
    write_json(&out.join("model.json"), &card)?;
    let curve: Vec<Value> = fit
        .curve
        .iter()
        .map(|s| {
            json!({"epoch": s.epoch, "train_loss": round4(s.train_loss), "val_loss": round4(s.val_loss),
                   "val_perplexity": round4(s.val_metric), "lr": s.lr, "seconds": round4(s.seconds)})
        })
        .collect();
    let mut metrics = json!({
        "kind": kind,
        "task": "lm",
        "dataset": corpus.name,
        "params": config,
        "seed": config.rnn.optimisation.seed,
        "units": kind_of_units,
        "vocab_size": lm.vocab.len(),
        "val": val_scores,
        "test": test,
        "best_epoch": fit.best_epoch,
        "curve": curve,
        "samples": samples,
        "timings": {
            "train_s": round4(fit.train_s),
            "train_tokens_per_s": fit.train_tokens_per_s.round(),
            "score_tokens_per_s": (corpus.streams[2].len() as f64 / score_s.max(1e-9)).round(),
            "generate_tokens_per_s": (drawn as f64 / generate_s.max(1e-9)).round(),
        },
        "peak_rss_mb": crate::train::peak_rss_mb(),
    });
    if let Some(why) = fit.stopped {
        metrics["stopped"] = json!(why);
    }
    write_json(&out.join("metrics.json"), &metrics)?;
    Ok((metrics, lm))
}

/// `kneser-ney` of `order`: the metrics and the model.
fn train_ngram(corpus: &LmCorpus, order: usize, out: &Path) -> Result<(Value, NgramLm), Error> {
    let kind = "kneser-ney";
    let t0 = Instant::now();
    let units = Units::fit(corpus.units, &corpus.streams[0], corpus.subword_vocab)?;
    let kind_of_units = units.kind;
    let train_units = units.stream(&corpus.streams[0])?;
    let vocab = WordVocab::fit(&train_units, MIN_COUNT);
    let train = vocab.encode(&train_units);
    let model = KneserNey::fit(&train, vocab.len(), order, Discount::Modified)?;
    let train_s = t0.elapsed().as_secs_f64();
    let lm = NgramLm { model, vocab, units };
    let t1 = Instant::now();
    let test = lm.score(&corpus.streams[2])?;
    let score_s = t1.elapsed().as_secs_f64();
    let val = lm.score(&corpus.streams[1])?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write_json(&out.join("vocab.json"), &lm.vocab.itos)?;
    lm.units.save(out)?;
    let bytes: Vec<u8> = train.iter().flat_map(|t| t.to_le_bytes()).collect();
    let file = out.join(STREAM_FILE);
    rnnlab_baselines::files::write_atomic(&file, &bytes).map_err(|e| Error::io(&file, e))?;
    let card = LmCard {
        format_version: rnnlab_baselines::FORMAT_VERSION,
        kind: kind.into(),
        task: "lm".into(),
        units: kind_of_units,
        order,
        vocab_size: lm.vocab.len(),
        train_tokens: train.len(),
        params: None,
        meta: json!({"dataset": corpus.name}),
    };
    write_json(&out.join("model.json"), &card)?;
    let metrics = json!({
        "kind": kind,
        "task": "lm",
        "dataset": corpus.name,
        "params": {"order": order, "discount": "modified", "min_count": MIN_COUNT},
        "seed": 0,
        "units": kind_of_units,
        "vocab_size": lm.vocab.len(),
        "val": val,
        "test": test,
        "discounts": lm.model.discounts(),
        "timings": {
            "train_s": round4(train_s),
            "train_tokens_per_s": (train.len() as f64 / train_s.max(1e-9)).round(),
            "score_tokens_per_s": (corpus.streams[2].len() as f64 / score_s.max(1e-9)).round(),
        },
        "peak_rss_mb": crate::train::peak_rss_mb(),
    });
    write_json(&out.join("metrics.json"), &metrics)?;
    Ok((metrics, lm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> LmCorpus {
        let words = |t: &str| -> Vec<String> { t.split(' ').map(String::from).collect() };
        LmCorpus {
            name: "t".into(),
            streams: [
                words("a b c <eos> a b d <eos> a b c <eos> b c <eos>"),
                words("a b c <eos>"),
                words("a b z <eos>"),
            ],
            files: Vec::new(),
            pipeline: None,
            units: Default::default(),
            subword_vocab: 40,
        }
    }

    /// Subword units: the pieces spell the words back, the tokenizer is saved with the model
    /// and a reloaded model scores as the trained one did.
    #[test]
    fn a_subword_model_round_trips_with_its_tokenizer() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = corpus();
        c.units = LmUnits::Bpe;
        c.subword_vocab = 12;
        let units = Units::fit(c.units, &c.streams[0], c.subword_vocab).unwrap();
        let pieces = units.stream(&c.streams[0][..3]).unwrap();
        assert_eq!(LmUnits::Bpe.text(&pieces, true), "a b c");
        let m = train_lm(
            &c,
            &LmSpec::KneserNey { order: 3 },
            dir.path(),
            &Device::Cpu,
            &mut rnnlab_rnn::train::Silent,
        )
        .unwrap();
        assert_eq!(m["units"], "bpe");
        assert_eq!(m["test"]["words"], 4, "{m}");
        let (lm, _) = NgramLm::load(dir.path()).unwrap().unwrap();
        assert_eq!(lm.score(&c.streams[2]).unwrap()["perplexity"], m["test"]["perplexity"]);
        std::fs::remove_file(dir.path().join(SUBWORD_FILE)).unwrap();
        let e = NgramLm::load(dir.path()).err().unwrap().to_string();
        assert!(e.contains("subword.json"), "{e}");
    }

    #[test]
    fn a_directory_round_trips_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let spec = LmSpec::KneserNey { order: 3 };
        let m = train_lm(
            &corpus(),
            &spec,
            dir.path(),
            &Device::Cpu,
            &mut rnnlab_rnn::train::Silent,
        )
        .unwrap();
        let ppl = m["test"]["perplexity"].as_f64().unwrap();
        assert!(ppl > 1.0 && ppl < 5.0, "{m}");
        assert_eq!(m["test"]["tokens"], 4);
        let (lm, _) = NgramLm::load(dir.path()).unwrap().unwrap();
        assert_eq!(
            lm.score(&corpus().streams[2]).unwrap()["perplexity"].as_f64().unwrap(),
            ppl
        );
        // A stream file of the wrong length is refused by name.
        std::fs::write(dir.path().join(STREAM_FILE), [0u8; 6]).unwrap();
        let e = NgramLm::load(dir.path()).err().unwrap().to_string();
        assert!(e.contains("train_stream.bin holds 6 bytes"), "{e}");
    }
}
