//! `best-rnn` for language models: recurrent language models of the reference recipe (seeds
//! apart) and the `kneser-ney` n-gram model, their next-token probabilities mixed linearly with
//! weights fitted on validation by expectation-maximisation (the classic interpolation of
//! language models). The networks carry long context; the n-gram model's exact counts carry
//! rare n-grams the networks smooth away, so the mixture is below either.
//!
//! A directory holds `model.json` (the weights), and each member's own directory:
//! `member-<j>/` for the networks, `kneser-ney/` for the n-gram model.

use std::path::Path;

use candle_core::Device;
use rnnlab_rnn::language_model::LmConfig;
use rnnlab_rnn::TrainObserver;
use rnnlab_text::lm_stream::{LmCorpus, LmUnits};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{figures, train_ngram, train_recurrent, NgramLm, RnnLm};
use crate::{round4, write_json, Error};

/// Networks in a `best-rnn` language model.
pub const MEMBERS: usize = 2;

/// The most member directories a card may name (a damaged card cannot ask for more).
const MAX_MEMBERS: usize = 16;

/// `model.json` of a `best-rnn` language-model directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnsembleCard {
    #[serde(default)]
    format_version: u32,
    kind: String,
    task: String,
    units: LmUnits,
    /// Networks, in `member-<j>/`.
    members: usize,
    /// The mixture's weights: the networks' in order, then the n-gram model's.
    weights: Vec<f64>,
    #[serde(default)]
    meta: Value,
}

/// A trained `best-rnn` language model.
pub struct EnsembleLm {
    pub networks: Vec<RnnLm>,
    pub ngram: NgramLm,
    /// One per network, then the n-gram model's; they sum to 1.
    pub weights: Vec<f64>,
}

impl EnsembleLm {
    /// Every member's log-probability of each token the networks score (the reference's
    /// evaluation of the first network), one row per member.
    fn member_log_probs(&self, words: &[String]) -> Result<Vec<Vec<f64>>, Error> {
        let first = &self.networks[0];
        let ids = first.vocab.encode(&first.units.stream(words)?);
        let mut rows = Vec::with_capacity(self.networks.len() + 1);
        let mut positions: Option<Vec<usize>> = None;
        for net in &self.networks {
            let scored = net.net.stream_log_probs(&ids, first.config.bptt)?;
            let p: Vec<usize> = scored.iter().map(|&(p, _)| p).collect();
            if positions.as_ref().is_some_and(|q| *q != p) {
                return Err(Error::Input(
                    "the member networks score different tokens (their bptt differ)".into(),
                ));
            }
            positions = Some(p);
            rows.push(scored.into_iter().map(|(_, lp)| lp as f64).collect());
        }
        let positions = positions.unwrap_or_default();
        rows.push(
            positions
                .iter()
                .map(|&p| self.ngram.model.log_prob_at(&ids, p))
                .collect(),
        );
        Ok(rows)
    }

    /// Perplexity, cross-entropy and token count of a word stream under the mixture.
    pub fn score(&self, words: &[String]) -> Result<Value, Error> {
        let rows = self.member_log_probs(words)?;
        let n = rows.first().map_or(0, Vec::len);
        if n == 0 {
            return Err(Error::Input(
                "too few tokens to score; a language model predicts every token after the first".into(),
            ));
        }
        Ok(figures(
            mixture_nll(&rows, &self.weights),
            n,
            self.networks[0].units.kind,
            words.len(),
        ))
    }

    /// Writes `model.json` (each member's directory is written where it trained).
    fn save_card(&self, dir: &Path, meta: Value) -> Result<(), Error> {
        let card = EnsembleCard {
            format_version: rnnlab_baselines::FORMAT_VERSION,
            kind: "best-rnn".into(),
            task: "lm".into(),
            units: self.networks[0].units.kind,
            members: self.networks.len(),
            weights: self.weights.clone(),
            meta,
        };
        write_json(&dir.join("model.json"), &card)
    }

    /// Loads a `best-rnn` directory: each member checked, all of one vocabulary and units.
    pub fn load(dir: &Path, device: &Device) -> Result<(Self, Value), Error> {
        let path = dir.join("model.json");
        let value: Value = rnnlab_baselines::baseline::read_json(&path)?;
        rnnlab_baselines::check_format_version(&path, &value)?;
        let card: EnsembleCard =
            serde_json::from_value(value).map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
        let bad = |m: String| Error::Input(format!("{}: {m}", path.display()));
        if !(1..=MAX_MEMBERS).contains(&card.members) {
            return Err(bad(format!("members {}: between 1 and {MAX_MEMBERS}", card.members)));
        }
        let w = &card.weights;
        if w.len() != card.members + 1
            || w.iter().any(|x| !(0.0..=1.0).contains(x))
            || (w.iter().sum::<f64>() - 1.0).abs() > 1e-6
        {
            return Err(bad(format!(
                "weights {w:?}: {} numbers in [0, 1] summing to 1",
                card.members + 1
            )));
        }
        let mut networks = Vec::with_capacity(card.members);
        for j in 0..card.members {
            let sub = dir.join(format!("member-{j}"));
            match RnnLm::load(&sub, device)? {
                Some((m, _)) => networks.push(m),
                None => return Err(bad(format!("{}: not a recurrent language model", sub.display()))),
            }
        }
        let sub = dir.join("kneser-ney");
        let Some((ngram, _)) = NgramLm::load(&sub)? else {
            return Err(bad(format!("{}: not a kneser-ney language model", sub.display())));
        };
        let lm = EnsembleLm {
            networks,
            ngram,
            weights: card.weights,
        };
        lm.check_members().map_err(bad)?;
        Ok((lm, card.meta))
    }

    /// All members read text as one vocabulary of one kind of unit.
    fn check_members(&self) -> Result<(), String> {
        let first = &self.networks[0];
        let same = |units: LmUnits, itos: &[String]| units == first.units.kind && itos == first.vocab.itos;
        if self.networks.iter().all(|n| same(n.units.kind, &n.vocab.itos))
            && same(self.ngram.units.kind, &self.ngram.vocab.itos)
        {
            Ok(())
        } else {
            Err("the members were trained on different vocabularies or units".into())
        }
    }
}

/// Summed negative log-likelihood of the tokens under the mixture `weights` of the members'
/// log-probabilities `rows` (one row per member).
fn mixture_nll(rows: &[Vec<f64>], weights: &[f64]) -> f64 {
    let n = rows.first().map_or(0, Vec::len);
    (0..n)
        .map(|t| {
            let top = rows.iter().map(|r| r[t]).fold(f64::NEG_INFINITY, f64::max);
            let mixed: f64 = rows.iter().zip(weights).map(|(r, w)| w * (r[t] - top).exp()).sum();
            -(top + mixed.ln())
        })
        .sum()
}

/// The mixture weights that maximise the likelihood of the tokens (expectation-maximisation
/// from equal weights; it never lowers the likelihood and stops when no weight moves 1e-6).
pub fn fit_weights(rows: &[Vec<f64>]) -> Vec<f64> {
    let k = rows.len();
    let n = rows.first().map_or(0, Vec::len);
    let mut w = vec![1.0 / k.max(1) as f64; k];
    if n == 0 {
        return w;
    }
    for _ in 0..500 {
        let mut share = vec![0.0; k];
        for t in 0..n {
            let top = rows.iter().map(|r| r[t]).fold(f64::NEG_INFINITY, f64::max);
            let parts: Vec<f64> = rows.iter().zip(&w).map(|(r, w)| w * (r[t] - top).exp()).collect();
            let z: f64 = parts.iter().sum();
            for (s, p) in share.iter_mut().zip(parts) {
                *s += p / z;
            }
        }
        let next: Vec<f64> = share.iter().map(|s| s / n as f64).collect();
        let moved = next.iter().zip(&w).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        w = next;
        if moved < 1e-6 {
            break;
        }
    }
    w
}

/// The member recipe of a `best-rnn` language model: the reference recipe with the LSTM cell.
pub fn member_recipe() -> LmConfig {
    rnnlab_rnn::language_model::lm_recipe(rnnlab_rnn::CellKind::Lstm)
}

/// Trains [`MEMBERS`] networks of `config` (member `j` with seed `seed · 1000 + j`) and the
/// `kneser-ney` model of `order` into `out`, fits the weights on validation, and writes
/// `model.json` and `metrics.json` (last).
pub fn train_best_lm(
    corpus: &LmCorpus,
    config: &LmConfig,
    order: usize,
    out: &Path,
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<Value, Error> {
    let seed = config.rnn.optimisation.seed;
    let mut member_metrics = Vec::new();
    let mut networks = Vec::new();
    for j in 0..MEMBERS {
        let mut c = config.clone();
        c.rnn.optimisation.seed = seed.wrapping_mul(1000).wrapping_add(j as u64);
        let (m, net) = train_recurrent(corpus, "lstm", &c, &out.join(format!("member-{j}")), device, observer)?;
        member_metrics.push(m);
        networks.push(net);
    }
    let (ngram_metrics, ngram) = train_ngram(corpus, order, &out.join("kneser-ney"))?;
    let mut lm = EnsembleLm {
        networks,
        ngram,
        weights: Vec::new(),
    };
    lm.check_members().map_err(Error::Failed)?;
    lm.weights = fit_weights(&lm.member_log_probs(&corpus.streams[1])?);
    let val = lm.score(&corpus.streams[1])?;
    let t0 = std::time::Instant::now();
    let test = lm.score(&corpus.streams[2])?;
    let score_s = t0.elapsed().as_secs_f64();
    lm.save_card(out, json!({"dataset": corpus.name}))?;
    let members: Vec<Value> = member_metrics
        .iter()
        .chain([&ngram_metrics])
        .map(|m| json!({"kind": m["kind"], "seed": m["seed"], "val": m["val"], "test": m["test"]}))
        .collect();
    let train_s: f64 = member_metrics
        .iter()
        .chain([&ngram_metrics])
        .filter_map(|m| m["timings"]["train_s"].as_f64())
        .sum();
    let metrics = json!({
        "kind": "best-rnn",
        "task": "lm",
        "dataset": corpus.name,
        "params": {"members": config, "networks": MEMBERS, "order": order},
        "seed": seed,
        "units": lm.networks[0].units.kind,
        "vocab_size": lm.networks[0].vocab.len(),
        "val": val,
        "test": test,
        "weights": lm.weights,
        "members": members,
        "curve": member_metrics[0]["curve"],
        "samples": member_metrics[0]["samples"],
        "timings": {
            "train_s": round4(train_s),
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

    fn toy() -> LmCorpus {
        let words = |t: &str, n: usize| -> Vec<String> { t.repeat(n).split_whitespace().map(String::from).collect() };
        LmCorpus {
            name: "toy".into(),
            streams: [
                words(
                    "the cat sat <eos> the dog ran <eos> a cat ran <eos> a dog sat down <eos> ",
                    20,
                ),
                words("the cat ran <eos> a dog sat <eos> ", 4),
                words("a cat sat <eos> the dog sat down <eos> ", 4),
            ],
            files: Vec::new(),
            pipeline: None,
            units: LmUnits::Word,
            subword_vocab: 40,
        }
    }

    /// Two networks and the n-gram model train into their directories; the mixture fitted on
    /// validation is there no worse than either network alone (the weights include each
    /// network alone); the directory reloads to the same figures; bad weights are refused.
    #[test]
    fn a_best_rnn_language_model_trains_mixes_and_reloads() {
        let mut config = member_recipe();
        config.rnn.architecture.emb = 8;
        config.rnn.architecture.hidden = 8;
        config.rnn.optimisation.epochs = 2;
        config.bptt = 4;
        let dir = tempfile::tempdir().unwrap();
        let c = toy();
        let m = train_best_lm(&c, &config, 3, dir.path(), &Device::Cpu, &mut rnnlab_rnn::train::Silent).unwrap();
        let w: Vec<f64> = m["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(w.len(), MEMBERS + 1);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{w:?}");
        let val = m["val"]["perplexity"].as_f64().unwrap();
        for j in 0..MEMBERS {
            let member = &m["members"][j];
            assert_eq!(member["seed"], j as u64, "member j has seed 0 * 1000 + j");
            let alone = member["val"]["perplexity"].as_f64().unwrap();
            assert!(val <= alone * (1.0 + 1e-6), "mixture {val} above member {j}'s {alone}");
        }
        let (lm, _) = EnsembleLm::load(dir.path(), &Device::Cpu).unwrap();
        assert_eq!(lm.score(&c.streams[2]).unwrap()["perplexity"], m["test"]["perplexity"]);
        let card = dir.path().join("model.json");
        let text = std::fs::read_to_string(&card).unwrap();
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v["weights"] = json!([0.5, 0.5, 0.5]);
        std::fs::write(&card, v.to_string()).unwrap();
        let e = EnsembleLm::load(dir.path(), &Device::Cpu).err().unwrap().to_string();
        assert!(e.contains("summing to 1"), "{e}");
    }

    /// EM finds the mixture of two "models" that generated the tokens: where one model is
    /// right a quarter of the time and the other three quarters, the weights come out 1/4, 3/4.
    #[test]
    fn em_weights_recover_the_mixture_and_never_lose_likelihood() {
        // Two members; each token is certain (log 1 = 0) under one and near impossible under
        // the other.
        let (sure, never) = (0.0f64, -30.0f64);
        let n = 400;
        let a: Vec<f64> = (0..n).map(|t| if t % 4 == 0 { sure } else { never }).collect();
        let b: Vec<f64> = (0..n).map(|t| if t % 4 == 0 { never } else { sure }).collect();
        let rows = vec![a, b];
        let w = fit_weights(&rows);
        assert!((w[0] - 0.25).abs() < 1e-3 && (w[1] - 0.75).abs() < 1e-3, "{w:?}");
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let fitted = mixture_nll(&rows, &w);
        for other in [[0.5, 0.5], [0.1, 0.9], [0.3, 0.7]] {
            assert!(fitted <= mixture_nll(&rows, &other) + 1e-9, "{other:?}");
        }
        // One member: weight 1, the mixture is that member.
        let one = vec![vec![-1.0, -2.0]];
        assert_eq!(fit_weights(&one), [1.0]);
        assert!((mixture_nll(&one, &[1.0]) - 3.0).abs() < 1e-12);
    }
}
