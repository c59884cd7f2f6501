//! The tagging task (one tag per word): its model kinds, training into a model directory with
//! the tagging `metrics.json`, and loading any tagger directory for `eval` and `predict`.

use std::path::Path;
use std::time::Instant;

use rnnlab_baselines::tagging::{
    index_tags, tag_ids, BaselineTagger, FeatureTagger, FeatureTaggerParams, MajorityTagger, TagMetrics,
};
use rnnlab_text::conllu::TaggedCorpus;
use serde_json::{json, Value};

use crate::{round4, write_json, Error};

/// The model kinds of the tagging task.
pub const TAGGER_KINDS: [&str; 2] = ["majority-tagger", "feature-tagger"];

/// A tagger to train.
#[derive(Debug, Clone)]
pub enum TaggerSpec {
    Majority,
    Feature(FeatureTaggerParams),
}

impl TaggerSpec {
    /// The spec of `kind`, or an error listing the tagging kinds.
    pub fn from_kind(kind: &str) -> Result<Self, Error> {
        match kind {
            "majority-tagger" => Ok(TaggerSpec::Majority),
            "feature-tagger" => Ok(TaggerSpec::Feature(FeatureTaggerParams::default())),
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
        }
    }
}

/// A trained tagger of any kind.
pub enum AnyTagger {
    Baseline(BaselineTagger),
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
        let (tagger, card) = BaselineTagger::load(dir)?;
        Ok(Some((AnyTagger::Baseline(tagger), card.meta)))
    }

    pub fn tags(&self) -> &[String] {
        match self {
            AnyTagger::Baseline(t) => t.tags(),
        }
    }

    /// The training words kept in `dir/vocab.json`, to tell unseen words at evaluation.
    pub fn vocabulary(dir: &Path) -> Result<std::collections::HashSet<String>, Error> {
        let words: Vec<String> = rnnlab_baselines::baseline::read_json(&dir.join("vocab.json"))?;
        Ok(words.into_iter().collect())
    }

    /// Each sentence's tags, as indices into [`Self::tags`].
    pub fn predict_ids(&self, sentences: &[Vec<String>]) -> Vec<Vec<usize>> {
        match self {
            AnyTagger::Baseline(t) => sentences.iter().map(|s| t.predict(s)).collect(),
        }
    }

    pub fn predict(&self, sentences: &[Vec<String>]) -> Vec<Vec<String>> {
        let tags = self.tags();
        self.predict_ids(sentences)
            .into_iter()
            .map(|s| s.into_iter().map(|t| tags[t].clone()).collect())
            .collect()
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
pub fn train_tagger(corpus: &TaggedCorpus, spec: &TaggerSpec, seed: u64, out: &Path) -> Result<Value, Error> {
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
    let t0 = Instant::now();
    let (tagger, params) = match spec {
        TaggerSpec::Majority => (
            BaselineTagger::Majority(MajorityTagger::fit(&words[0], &y, &names)?),
            Value::Null,
        ),
        TaggerSpec::Feature(p) => {
            let p = FeatureTaggerParams { seed, ..p.clone() };
            let params = serde_json::to_value(&p).map_err(|e| Error::Failed(e.to_string()))?;
            (
                BaselineTagger::Feature(FeatureTagger::fit(&words[0], &y, &names, p)?),
                params,
            )
        }
    };
    let train_s = t0.elapsed().as_secs_f64();
    let n_words = |k: usize| words[k].iter().map(Vec::len).sum::<usize>();
    let t1 = Instant::now();
    let pred_test: Vec<Vec<usize>> = words[2].iter().map(|s| tagger.predict(s)).collect();
    let predict_s = t1.elapsed().as_secs_f64();
    let pred_val: Vec<Vec<usize>> = words[1].iter().map(|s| tagger.predict(s)).collect();
    let val = score(&names, &pred_val, &corpus.tags[1], &corpus.unseen(1))?;
    let test = score(&names, &pred_test, &corpus.tags[2], &corpus.unseen(2))?;
    let meta = json!({"dataset": corpus.name, "tag_column": corpus.column});
    tagger.save(out, meta)?;
    let vocabulary: std::collections::BTreeSet<&String> = words[0].iter().flatten().collect();
    write_json(&out.join("vocab.json"), &vocabulary)?;
    let metrics = json!({
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
    write_json(&out.join("metrics.json"), &metrics)?;
    Ok(metrics)
}
