//! The tagging task (one tag per word): its model kinds, training into a model directory with
//! the tagging `metrics.json`, and loading any tagger directory for `eval` and `predict`.

use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use rnnlab_baselines::tagging::{
    index_tags, tag_ids, BaselineTagger, FeatureTagger, FeatureTaggerParams, MajorityTagger, TagMetrics,
};
use rnnlab_rnn::tagger::{fit_tagger, tagger_recipe, RnnTagger};
use rnnlab_rnn::{CellKind, RnnConfig, TrainObserver};
use rnnlab_text::conllu::TaggedCorpus;
use serde_json::{json, Value};

use crate::tag_ensemble::{EnsembleTagger, Views, MEMBERS};
use crate::train::ModelKind;
use crate::{round4, write_json, Error};

/// The file of a tagger directory that lists the training words (for `accuracy_oov`).
const TRAIN_WORDS: &str = "train_words.json";

/// The model kinds of the tagging task.
pub const TAGGER_KINDS: [&str; 6] = ["majority-tagger", "feature-tagger", "rnn", "lstm", "gru", "best-rnn"];

/// A tagger to train.
#[derive(Debug, Clone)]
pub enum TaggerSpec {
    Majority,
    Feature(FeatureTaggerParams),
    /// A recurrent tagger: `rnn`, `lstm` or `gru`, by default the reference recipe
    /// ([`tagger_recipe`]) with that cell.
    Rnn {
        kind: ModelKind,
        config: Box<RnnConfig>,
    },
    /// `best-rnn`: [`crate::tag_ensemble::MEMBERS`] recurrent taggers of `config` (seeds apart)
    /// blended with the feature tagger on validation.
    Best {
        config: Box<RnnConfig>,
    },
}

impl TaggerSpec {
    /// The spec of `kind`, or an error listing the tagging kinds.
    pub fn from_kind(kind: &str) -> Result<Self, Error> {
        let cell = |cell: CellKind| TaggerSpec::Rnn {
            kind: ModelKind::Network(cell),
            config: Box::new(tagger_recipe(cell)),
        };
        match kind {
            "majority-tagger" => Ok(TaggerSpec::Majority),
            "feature-tagger" => Ok(TaggerSpec::Feature(FeatureTaggerParams::default())),
            "rnn" => Ok(cell(CellKind::Rnn)),
            "lstm" => Ok(cell(CellKind::Lstm)),
            "gru" => Ok(cell(CellKind::Gru)),
            "best-rnn" => Ok(TaggerSpec::Best {
                config: Box::new(crate::tag_ensemble::member_recipe()),
            }),
            other => Err(Error::Input(format!(
                "--model {other:?} does not tag words; the tagging kinds are {}",
                TAGGER_KINDS.join(", ")
            ))),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            TaggerSpec::Majority => "majority-tagger",
            TaggerSpec::Feature(_) => "feature-tagger",
            TaggerSpec::Rnn { kind, .. } => kind.name(),
            TaggerSpec::Best { .. } => "best-rnn",
        }
    }

    /// Whether runs differ by seed (the networks); the baselines are deterministic.
    pub fn is_seeded(&self) -> bool {
        matches!(self, TaggerSpec::Rnn { .. } | TaggerSpec::Best { .. })
    }

    /// A recurrent tagger's configuration, for flags to change.
    pub fn config_mut(&mut self) -> Option<&mut RnnConfig> {
        match self {
            TaggerSpec::Rnn { config, .. } | TaggerSpec::Best { config } => Some(config),
            _ => None,
        }
    }
}

/// A trained tagger of any kind.
pub enum AnyTagger {
    Baseline(BaselineTagger),
    Rnn(Box<RnnTagger>),
    Ensemble(Box<EnsembleTagger>),
}

impl AnyTagger {
    /// Loads a tagger directory; `None` when `dir`'s card is not a tagging model.
    pub fn load(dir: &Path) -> Result<Option<(Self, Value)>, Error> {
        let path = dir.join("model.json");
        if !path.is_file() {
            return Ok(None);
        }
        let card: Value = rnnlab_baselines::baseline::read_json(&path)?;
        if card.get("task").and_then(Value::as_str) != Some("tag") {
            return Ok(None);
        }
        let kind = card.get("kind").and_then(Value::as_str).unwrap_or_default();
        if kind == "best-rnn" {
            let (tagger, meta) = EnsembleTagger::load(dir, &Device::Cpu)?;
            return Ok(Some((AnyTagger::Ensemble(Box::new(tagger)), meta)));
        }
        if ModelKind::from_name(kind).is_some_and(ModelKind::is_network) {
            let (tagger, card) = RnnTagger::load(dir, &Device::Cpu)?;
            return Ok(Some((AnyTagger::Rnn(Box::new(tagger)), card.meta)));
        }
        let (tagger, card) = BaselineTagger::load(dir)?;
        Ok(Some((AnyTagger::Baseline(tagger), card.meta)))
    }

    pub fn tags(&self) -> &[String] {
        match self {
            AnyTagger::Baseline(t) => t.tags(),
            AnyTagger::Rnn(t) => &t.tags,
            AnyTagger::Ensemble(t) => t.tags(),
        }
    }

    /// The training words kept in `dir/train_words.json`, to tell unseen words at evaluation.
    pub fn vocabulary(dir: &Path) -> Result<std::collections::HashSet<String>, Error> {
        let words: Vec<String> = rnnlab_baselines::baseline::read_json(&dir.join(TRAIN_WORDS))?;
        Ok(words.into_iter().collect())
    }

    /// Each sentence's tags, as indices into [`Self::tags`].
    pub fn predict_ids(&self, sentences: &[Vec<String>]) -> Result<Vec<Vec<usize>>, Error> {
        Ok(match self {
            AnyTagger::Baseline(t) => sentences.iter().map(|s| t.predict(s)).collect(),
            AnyTagger::Rnn(t) => t.predict(sentences)?,
            AnyTagger::Ensemble(t) => t.predict(sentences)?,
        })
    }

    pub fn predict(&self, sentences: &[Vec<String>]) -> Result<Vec<Vec<String>>, Error> {
        let tags = self.tags();
        Ok(self
            .predict_ids(sentences)?
            .into_iter()
            .map(|s| s.into_iter().map(|t| tags[t].clone()).collect())
            .collect())
    }
}

/// The tag set for scoring: the model's tags, then any tag only the scored split has (never
/// predicted, always an error).
pub fn scoring_tags(model_tags: &[String], gold: &[Vec<String>]) -> Vec<String> {
    let mut names = model_tags.to_vec();
    for t in index_tags(gold) {
        if !names.contains(&t) {
            names.push(t);
        }
    }
    names
}

/// Scores `predicted` (indices into the model's tags) against `gold`.
pub fn score(
    model_tags: &[String],
    predicted: &[Vec<usize>],
    gold: &[Vec<String>],
    unseen: &[Vec<bool>],
) -> Result<TagMetrics, Error> {
    let names = scoring_tags(model_tags, gold);
    let gold = tag_ids(gold, &names)?;
    Ok(TagMetrics::compute(&gold, predicted, unseen, &names))
}

/// Trains `spec` on the corpus's training split, scores validation and test, writes the model
/// directory `out` with its `metrics.json` (written last) and returns the metrics.
pub fn train_tagger(
    corpus: &TaggedCorpus,
    spec: &TaggerSpec,
    seed: u64,
    out: &Path,
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<Value, Error> {
    let names = index_tags(&corpus.tags[0]);
    if names.len() < 2 {
        return Err(Error::Input(format!(
            "{}: the training split has {} distinct tag(s); tagging needs two or more",
            corpus.name,
            names.len()
        )));
    }
    let y = tag_ids(&corpus.tags[0], &names)?;
    let words = &corpus.words;
    let n_words = |k: usize| words[k].iter().map(Vec::len).sum::<usize>();
    // Validation tags outside the training set count as errors, never as a crash.
    let val_y: Vec<Vec<usize>> = corpus.tags[1]
        .iter()
        .map(|s| {
            s.iter()
                .map(|t| names.iter().position(|n| n == t).unwrap_or(usize::MAX))
                .collect()
        })
        .collect();
    let t0 = Instant::now();
    let mut extra = json!({});
    let (tagger, params) = match spec {
        TaggerSpec::Majority => (
            AnyTagger::Baseline(BaselineTagger::Majority(MajorityTagger::fit(&words[0], &y, &names)?)),
            Value::Null,
        ),
        TaggerSpec::Feature(p) => {
            let p = FeatureTaggerParams { seed, ..p.clone() };
            let params = serde_json::to_value(&p).map_err(|e| Error::Failed(e.to_string()))?;
            (
                AnyTagger::Baseline(BaselineTagger::Feature(FeatureTagger::fit(&words[0], &y, &names, p)?)),
                params,
            )
        }
        TaggerSpec::Best { config } => {
            let feature = FeatureTagger::fit(
                &words[0],
                &y,
                &names,
                FeatureTaggerParams {
                    seed,
                    ..FeatureTaggerParams::default()
                },
            )?;
            let mut members = Vec::new();
            let mut described = Vec::new();
            let mut words_per_s = Vec::new();
            for j in 0..MEMBERS as u64 {
                let mut config = (**config).clone();
                config.optimisation.seed = seed.wrapping_mul(1000).wrapping_add(j);
                let fit = fit_tagger(
                    config.architecture.cell.name(),
                    &config,
                    &names,
                    (&words[0], &y),
                    (&words[1], &val_y),
                    device,
                    observer,
                )?;
                if j == 0 {
                    extra = json!({"curve": fit.curve, "best_epoch": fit.best_epoch, "stopped": fit.stopped});
                }
                described.push(json!({
                    "seed": config.optimisation.seed,
                    "best_epoch": fit.best_epoch,
                    "val_accuracy": fit.curve.get(fit.best_epoch.saturating_sub(1)).map(|e| e.val_metric),
                }));
                words_per_s.push(fit.train_words_per_s);
                members.push(fit.model);
            }
            let views = Views::new(&members, &feature, &words[1])?;
            let (blend, val_accuracy) = views.choose(&val_y, names.len());
            extra["members"] = json!(described);
            extra["blend"] = json!({"weight": blend.weight, "scale": blend.scale, "val_accuracy": val_accuracy});
            extra["train_words_per_s"] = json!((words_per_s.iter().sum::<f64>() / words_per_s.len() as f64).round());
            let params = serde_json::to_value(&**config).map_err(|e| Error::Failed(e.to_string()))?;
            (
                AnyTagger::Ensemble(Box::new(EnsembleTagger {
                    members,
                    feature,
                    blend,
                })),
                params,
            )
        }
        TaggerSpec::Rnn { kind, config } => {
            let mut config = (**config).clone();
            config.optimisation.seed = seed;
            let fit = fit_tagger(
                kind.name(),
                &config,
                &names,
                (&words[0], &y),
                (&words[1], &val_y),
                device,
                observer,
            )?;
            extra = json!({
                "curve": fit.curve,
                "best_epoch": fit.best_epoch,
                "stopped": fit.stopped,
                "vocab_size": fit.model.input.vocab_size(),
                "epoch_s": fit.epoch_s.iter().map(|&s| round4(s)).collect::<Vec<_>>(),
                "train_words_per_s": fit.train_words_per_s.round(),
            });
            let params = serde_json::to_value(&config).map_err(|e| Error::Failed(e.to_string()))?;
            (AnyTagger::Rnn(Box::new(fit.model)), params)
        }
    };
    let train_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let pred_test = tagger.predict_ids(&words[2])?;
    let predict_s = t1.elapsed().as_secs_f64();
    let pred_val = tagger.predict_ids(&words[1])?;
    let val = score(&names, &pred_val, &corpus.tags[1], &corpus.unseen(1))?;
    let test = score(&names, &pred_test, &corpus.tags[2], &corpus.unseen(2))?;
    let meta = json!({"dataset": corpus.name, "tag_column": corpus.column});
    match &tagger {
        AnyTagger::Baseline(t) => t.save(out, meta)?,
        AnyTagger::Rnn(t) => t.save(out, meta)?,
        AnyTagger::Ensemble(t) => t.save(out, meta)?,
    }
    let vocabulary: std::collections::BTreeSet<&String> = words[0].iter().flatten().collect();
    write_json(&out.join(TRAIN_WORDS), &vocabulary)?;
    let mut metrics = json!({
        "kind": spec.kind(),
        "task": "tag",
        "dataset": corpus.name,
        "params": params,
        "seed": seed,
        "labels": names,
        "val": val,
        "test": test,
        "timings": {
            "train_s": round4(train_s),
            "train_words_per_s": (n_words(0) as f64 / train_s.max(1e-9)).round(),
            "predict_words_per_s": (n_words(2) as f64 / predict_s.max(1e-9)).round(),
        },
        "peak_rss_mb": crate::train::peak_rss_mb(),
    });
    // A network's words/s are those of its training steps (every epoch's words), as the
    // reference measures them; its curve and chosen epoch go beside.
    if let Some(w) = extra.get("train_words_per_s").cloned() {
        metrics["timings"]["train_words_per_s"] = w;
    }
    if let (Some(m), Some(e)) = (metrics.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            if k != "train_words_per_s" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    write_json(&out.join("metrics.json"), &metrics)?;
    Ok(metrics)
}
