//! The seq2seq task: a table's source column in, its target column out (a translator, a
//! normaliser, a transliterator), each side read as characters or whitespace-separated words;
//! `rnn` / `lstm` / `gru` encoder-decoders trained into a model directory with exact match,
//! character error rate and BLEU in `metrics.json`.
//!
//! The directory holds `model.json` (the recipe and the units), `source_vocab.json`,
//! `target_vocab.json` and `model.safetensors`.

use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use rnnlab_baselines::lemma::edit_distance;
use rnnlab_rnn::seq2seq::{fit_seq2seq, source_batch, Pair, Seq2Seq, Seq2SeqConfig};
use rnnlab_rnn::TrainObserver;
use rnnlab_text::dataset::{column_strings, read_table, CsvFormat};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::units::{UnitVocab, RESERVED};
use crate::{round4, write_json, Error};

/// How a side's text is cut into units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    Char,
    Word,
}

impl Units {
    pub fn split(self, text: &str) -> Vec<String> {
        match self {
            Units::Char => text.chars().map(String::from).collect(),
            Units::Word => text.split_whitespace().map(String::from).collect(),
        }
    }

    pub fn join(self, units: &[String]) -> String {
        match self {
            Units::Char => units.concat(),
            Units::Word => units.join(" "),
        }
    }
}

/// Source and target texts of the three splits.
#[derive(Debug, Clone)]
pub struct ParallelCorpus {
    pub name: String,
    /// `[train, val, test]`: (source, target) rows.
    pub splits: [Vec<(String, String)>; 3],
}

impl ParallelCorpus {
    /// CSV or Parquet files with a source and a target column; an empty cell is an error naming
    /// its file and row.
    pub fn from_tables(paths: [&Path; 3], source: &str, target: &str, format: &CsvFormat) -> Result<Self, Error> {
        let read = |p: &Path| -> Result<Vec<(String, String)>, Error> {
            let table = read_table(p, format)?;
            let (src, tgt) = (column_strings(&table, source)?, column_strings(&table, target)?);
            let rows: Vec<(String, String)> = src
                .into_iter()
                .zip(tgt)
                .enumerate()
                .map(|(i, pair)| match pair {
                    (Some(s), Some(t)) if !s.trim().is_empty() && !t.trim().is_empty() => Ok((s, t)),
                    _ => Err(Error::Input(format!(
                        "{}: data row {}: an empty {source:?} or {target:?}",
                        p.display(),
                        i + 1
                    ))),
                })
                .collect::<Result<_, _>>()?;
            if rows.is_empty() {
                return Err(Error::Input(format!("{}: no rows", p.display())));
            }
            Ok(rows)
        };
        Ok(ParallelCorpus {
            name: paths[0].display().to_string(),
            splits: [read(paths[0])?, read(paths[1])?, read(paths[2])?],
        })
    }
}

/// `model.json` of a seq2seq directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Seq2SeqCard {
    format_version: u32,
    kind: String,
    task: String,
    source_units: Units,
    target_units: Units,
    source_vocab: usize,
    target_vocab: usize,
    params: Seq2SeqConfig,
    #[serde(default)]
    meta: Value,
}

/// A trained encoder-decoder with its units.
pub struct Transducer {
    pub net: Seq2Seq,
    pub source: UnitVocab,
    pub target: UnitVocab,
    pub units: (Units, Units),
}

impl Transducer {
    /// The output text of each source, decoded in batches of similar length (`beam` 1: greedy).
    pub fn transduce(&self, texts: &[String], beam: usize) -> Result<Vec<String>, Error> {
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| self.source.encode(&self.units.0.split(t)))
            .collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![String::new(); texts.len()];
        for chunk in order.chunks(256) {
            let refs: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            let batch = source_batch(&refs);
            let decoded = if beam <= 1 {
                self.net.greedy(&batch)?
            } else {
                self.net.beam_search(&batch, beam)?
            };
            for (&i, d) in chunk.iter().zip(decoded) {
                out[i] = self.units.1.join(&self.target.decode(&d));
            }
        }
        Ok(out)
    }

    /// Loads a seq2seq directory; `None` when `dir` holds another task's model.
    pub fn load(dir: &Path, device: &Device) -> Result<Option<(Self, Value)>, Error> {
        let Some(card) = crate::read_card::<Seq2SeqCard>(dir, "seq2seq")? else {
            return Ok(None);
        };
        let path = dir.join("model.json");
        card.params
            .validate()
            .map_err(|e| Error::Input(format!("{}: params: {e}", path.display())))?;
        let vocab = |file: &str, n: usize| -> Result<UnitVocab, Error> {
            let units: Vec<String> = rnnlab_baselines::baseline::read_json(&dir.join(file))?;
            if units.len() != n || units.iter().zip(RESERVED).any(|(u, r)| u != r) {
                return Err(Error::Input(format!(
                    "{}: {} units (model.json says {n}), which must start with {RESERVED:?}",
                    dir.join(file).display(),
                    units.len()
                )));
            }
            Ok(UnitVocab::from_units(units))
        };
        let source = vocab("source_vocab.json", card.source_vocab)?;
        let target = vocab("target_vocab.json", card.target_vocab)?;
        let net = Seq2Seq::new(&card.params, source.len(), target.len(), device)?;
        let weights = dir.join("model.safetensors");
        net.load_state(&rnnlab_baselines::tensors::load(&weights)?, &weights)?;
        let units = (card.source_units, card.target_units);
        Ok(Some((
            Transducer {
                net,
                source,
                target,
                units,
            },
            card.meta,
        )))
    }
}

/// Corpus BLEU-4 over whitespace-separated words (uniform weights, the brevity penalty, no
/// smoothing: 0 when some order has no match), as `sacrebleu`'s tokenisation `none` computes it.
pub fn bleu(pred: &[String], gold: &[String]) -> f64 {
    use std::collections::HashMap;
    let (mut matched, mut total, mut pred_len, mut gold_len) = ([0usize; 4], [0usize; 4], 0usize, 0usize);
    for (p, g) in pred.iter().zip(gold) {
        let (p, g): (Vec<&str>, Vec<&str>) = (p.split_whitespace().collect(), g.split_whitespace().collect());
        pred_len += p.len();
        gold_len += g.len();
        for n in 1..=4 {
            let mut counts: HashMap<&[&str], usize> = HashMap::new();
            for w in g.windows(n) {
                *counts.entry(w).or_default() += 1;
            }
            for w in p.windows(n) {
                if let Some(c) = counts.get_mut(w).filter(|c| **c > 0) {
                    *c -= 1;
                    matched[n - 1] += 1;
                }
            }
            total[n - 1] += p.len().saturating_sub(n - 1);
        }
    }
    if matched.contains(&0) || pred_len == 0 {
        return 0.0;
    }
    let log_precision: f64 = (0..4).map(|n| (matched[n] as f64 / total[n] as f64).ln()).sum::<f64>() / 4.0;
    let brevity = if pred_len < gold_len {
        1.0 - gold_len as f64 / pred_len as f64
    } else {
        0.0
    };
    (log_precision + brevity).exp()
}

/// Exact match, character error rate and BLEU of `pred` against `gold`.
pub fn score(pred: &[String], gold: &[String]) -> Value {
    let right = pred.iter().zip(gold).filter(|(p, g)| p == g).count();
    let edits: usize = pred.iter().zip(gold).map(|(p, g)| edit_distance(p, g)).sum();
    let chars: usize = gold.iter().map(|g| g.chars().count()).sum();
    json!({
        "accuracy": right as f64 / gold.len().max(1) as f64,
        "cer": edits as f64 / chars.max(1) as f64,
        "bleu": bleu(pred, gold),
        "rows": gold.len(),
    })
}

/// Trains an encoder-decoder on the corpus's training rows, scores validation and test, and
/// writes the model directory `out` with its `metrics.json` (last).
pub fn train_seq2seq(
    corpus: &ParallelCorpus,
    kind: &str,
    config: &Seq2SeqConfig,
    units: (Units, Units),
    out: &Path,
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<Value, Error> {
    let [train, val, test] = &corpus.splits;
    let source = UnitVocab::fit_units(train.iter().flat_map(|(s, _)| units.0.split(s)));
    let target = UnitVocab::fit_units(train.iter().flat_map(|(_, t)| units.1.split(t)));
    let pairs = |rows: &[(String, String)]| -> Vec<Pair> {
        rows.iter()
            .map(|(s, t)| Pair::new(source.encode(&units.0.split(s)), target.encode(&units.1.split(t))))
            .collect()
    };
    let fit = fit_seq2seq(
        config,
        source.len(),
        target.len(),
        &pairs(train),
        &pairs(val),
        device,
        observer,
    )?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write_json(&out.join("source_vocab.json"), &source.itos)?;
    write_json(&out.join("target_vocab.json"), &target.itos)?;
    rnnlab_baselines::tensors::save(&out.join("model.safetensors"), &fit.model.state()?)?;
    let card = Seq2SeqCard {
        format_version: rnnlab_baselines::FORMAT_VERSION,
        kind: kind.into(),
        task: "seq2seq".into(),
        source_units: units.0,
        target_units: units.1,
        source_vocab: source.len(),
        target_vocab: target.len(),
        params: config.clone(),
        meta: json!({"dataset": corpus.name}),
    };
    write_json(&out.join("model.json"), &card)?;
    let model = Transducer {
        net: fit.model,
        source,
        target,
        units,
    };
    let texts = |rows: &[(String, String)]| -> (Vec<String>, Vec<String>) { rows.iter().cloned().unzip() };
    let (test_src, test_gold) = texts(test);
    let t0 = Instant::now();
    let test_pred = model.transduce(&test_src, 1)?;
    let decode_s = t0.elapsed().as_secs_f64();
    let (val_src, val_gold) = texts(val);
    let val_pred = model.transduce(&val_src, 1)?;
    let curve: Vec<Value> = fit
        .curve
        .iter()
        .map(|s| {
            json!({"epoch": s.epoch, "train_loss": round4(s.train_loss), "val_loss": round4(s.val_loss),
                   "val_accuracy": round4(s.val_metric), "seconds": round4(s.seconds)})
        })
        .collect();
    let mut metrics = json!({
        "kind": kind,
        "task": "seq2seq",
        "dataset": corpus.name,
        "params": config,
        "seed": config.rnn.optimisation.seed,
        "source_units": units.0,
        "target_units": units.1,
        "val": score(&val_pred, &val_gold),
        "test": score(&test_pred, &test_gold),
        "best_epoch": fit.best_epoch,
        "curve": curve,
        "timings": {
            "train_s": round4(fit.train_s),
            "train_rows_per_s": fit.train_pairs_per_s.round(),
            "decode_rows_per_s": (test.len() as f64 / decode_s.max(1e-9)).round(),
        },
        "peak_rss_mb": crate::train::peak_rss_mb(),
    });
    if let Some(why) = fit.stopped {
        metrics["stopped"] = json!(why);
    }
    write_json(&out.join("metrics.json"), &metrics)?;
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bleu_is_one_on_a_match_and_falls_with_errors_and_brevity() {
        let gold = vec!["the cat sat on the mat".to_string()];
        assert!((bleu(&gold, &gold) - 1.0).abs() < 1e-12);
        assert_eq!(bleu(&["dog".to_string()], &gold), 0.0);
        // 5 of 6 unigrams, 4/5 bigrams, 3/4 trigrams, 2/3 4-grams; equal length.
        let one_wrong = vec!["the cat sat on the rug".to_string()];
        let want = ((5.0f64 / 6.0).ln() + (4.0f64 / 5.0).ln() + (3.0f64 / 4.0).ln() + (2.0f64 / 3.0).ln()) / 4.0;
        assert!((bleu(&one_wrong, &gold) - want.exp()).abs() < 1e-12);
        // A correct prefix is penalised for its brevity.
        let short = vec!["the cat sat on".to_string()];
        assert!((bleu(&short, &gold) - (1.0f64 - 6.0 / 4.0).exp()).abs() < 1e-12);
    }

    #[test]
    fn units_split_and_join_back() {
        assert_eq!(Units::Char.join(&Units::Char.split("héllo")), "héllo");
        assert_eq!(Units::Word.split(" a  b "), ["a", "b"]);
        assert_eq!(Units::Word.join(&Units::Word.split(" a  b ")), "a b");
        let s = score(&["ab".into(), "cd".into()], &["ab".into(), "ce".into()]);
        assert_eq!(s["accuracy"], 0.5);
        assert_eq!(s["cer"], 0.25);
    }
}
