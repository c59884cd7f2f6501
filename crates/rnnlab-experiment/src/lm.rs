//! The language-model task (the next word at every step): its kinds, training into a model
//! directory with the language-model `metrics.json`, loading one for `eval`. The `kneser-ney`
//! baseline is built; the recurrent language models are not yet.
//!
//! A `kneser-ney` directory holds `model.json`, `vocab.json` (the words, by id) and
//! `train_stream.bin` (the training stream's ids, little-endian u32): the counts are rebuilt
//! from the stream on load (about a second for UD English EWT), which keeps the directory small
//! and every count consistent with its text.

use std::path::Path;
use std::time::Instant;

use rnnlab_baselines::kneser_ney::{Discount, KneserNey};
use rnnlab_text::lm_stream::{LmCorpus, WordVocab};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{round4, write_json, Error};

/// Words seen fewer times in training are `<unk>` (the reference's rule).
pub const MIN_COUNT: usize = 2;

/// The n-gram order of `kneser-ney` unless `--order` says otherwise.
pub const DEFAULT_ORDER: usize = 4;

const STREAM_FILE: &str = "train_stream.bin";

/// `model.json` of a `kneser-ney` directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LmCard {
    #[serde(default)]
    format_version: u32,
    kind: String,
    task: String,
    units: String,
    order: usize,
    vocab_size: usize,
    train_tokens: usize,
    #[serde(default)]
    meta: Value,
}

/// A trained `kneser-ney` language model with its vocabulary.
pub struct NgramLm {
    pub model: KneserNey,
    pub vocab: WordVocab,
}

impl NgramLm {
    /// Perplexity, mean cross-entropy (nats per token) and token count of a word stream.
    pub fn score(&self, words: &[String]) -> Value {
        let (h, n) = self.model.cross_entropy(&self.vocab.encode(words));
        json!({"perplexity": h.exp(), "cross_entropy": h, "tokens": n})
    }

    /// Loads a `kneser-ney` directory; `None` when `dir` holds another task's model.
    pub fn load(dir: &Path) -> Result<Option<(Self, Value)>, Error> {
        let path = dir.join("model.json");
        if !path.is_file() {
            return Ok(None);
        }
        let value: Value = rnnlab_baselines::baseline::read_json(&path)?;
        if value.get("task").and_then(Value::as_str) != Some("lm") {
            return Ok(None);
        }
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
        let itos: Vec<String> = rnnlab_baselines::baseline::read_json(&dir.join("vocab.json"))?;
        if itos.len() != card.vocab_size || itos.len() < 2 || itos[0] != "<unk>" || itos[1] != "<eos>" {
            return Err(bad(format!(
                "vocab.json: {} words starting {:?}, model.json says {} starting <unk>, <eos>",
                itos.len(),
                itos.iter().take(2).collect::<Vec<_>>(),
                card.vocab_size
            )));
        }
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
        let model = KneserNey::fit(&stream, itos.len(), card.order, Discount::Modified)
            .map_err(|e| bad(format!("{STREAM_FILE}: {e}")))?;
        let vocab = WordVocab::from_words(itos);
        Ok(Some((NgramLm { model, vocab }, card.meta)))
    }
}

/// Trains `kind` on the corpus's training stream, scores validation and test, and writes the
/// model directory `out` with its `metrics.json` (last).
pub fn train_lm(corpus: &LmCorpus, kind: &str, order: usize, out: &Path) -> Result<Value, Error> {
    if kind != "kneser-ney" {
        return Err(Error::Input(format!(
            "--task lm --model {kind}: the language-model kinds built so far are kneser-ney (the recurrent ones are not yet)"
        )));
    }
    let t0 = Instant::now();
    let vocab = WordVocab::fit(&corpus.streams[0], MIN_COUNT);
    let train = vocab.encode(&corpus.streams[0]);
    let model = KneserNey::fit(&train, vocab.len(), order, Discount::Modified)?;
    let train_s = t0.elapsed().as_secs_f64();
    let lm = NgramLm { model, vocab };
    let t1 = Instant::now();
    let test = lm.score(&corpus.streams[2]);
    let score_s = t1.elapsed().as_secs_f64();
    let val = lm.score(&corpus.streams[1]);
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write_json(&out.join("vocab.json"), &lm.vocab.itos)?;
    let bytes: Vec<u8> = train.iter().flat_map(|t| t.to_le_bytes()).collect();
    let file = out.join(STREAM_FILE);
    rnnlab_baselines::files::write_atomic(&file, &bytes).map_err(|e| Error::io(&file, e))?;
    let card = LmCard {
        format_version: rnnlab_baselines::FORMAT_VERSION,
        kind: kind.into(),
        task: "lm".into(),
        units: "word".into(),
        order,
        vocab_size: lm.vocab.len(),
        train_tokens: train.len(),
        meta: json!({"dataset": corpus.name}),
    };
    write_json(&out.join("model.json"), &card)?;
    let metrics = json!({
        "kind": kind,
        "task": "lm",
        "dataset": corpus.name,
        "params": {"order": order, "discount": "modified", "min_count": MIN_COUNT},
        "seed": 0,
        "units": "word",
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
    Ok(metrics)
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
        }
    }

    #[test]
    fn a_directory_round_trips_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let m = train_lm(&corpus(), "kneser-ney", 3, dir.path()).unwrap();
        let ppl = m["test"]["perplexity"].as_f64().unwrap();
        assert!(ppl > 1.0 && ppl < 5.0, "{m}");
        assert_eq!(m["test"]["tokens"], 4);
        let (lm, _) = NgramLm::load(dir.path()).unwrap().unwrap();
        assert_eq!(lm.score(&corpus().streams[2])["perplexity"].as_f64().unwrap(), ppl);
        // A stream file of the wrong length is refused by name.
        std::fs::write(dir.path().join(STREAM_FILE), [0u8; 6]).unwrap();
        let e = NgramLm::load(dir.path()).err().unwrap().to_string();
        assert!(e.contains("train_stream.bin holds 6 bytes"), "{e}");
        assert!(train_lm(&corpus(), "lstm", 3, dir.path()).is_err());
    }
}
