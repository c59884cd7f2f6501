//! The tagging experiment: every tagger kind of a plan (recurrent kinds once per seed) on one
//! tagged corpus, each into its own model directory, collected into `report.json` (rewritten
//! after every run) and rendered by [`crate::tag_report`]. The classification runner's frame:
//! the same observer, directory layout, `--resume` and interruption rules.

use std::path::{Path, PathBuf};

use candle_core::Device;
use rnnlab_text::conllu::TaggedCorpus;
use serde_json::{json, Value};

use crate::runner::{report_frame, run_kinds, RunObserver, TaskSpec};
use crate::tagging::{score, train_tagger, AnyTagger, TaggerSpec};
use crate::{round4, write_json, Error};
use rnnlab_rnn::TrainObserver;

/// What to run.
pub type TagPlan = crate::runner::TaskPlan<TaggerSpec>;

impl TaskSpec for TaggerSpec {
    fn kind_name(&self) -> &str {
        self.kind()
    }

    fn seeded(&self) -> bool {
        self.is_seeded()
    }

    /// The seed goes to `train_tagger` itself.
    fn for_run(&self, _seed: u64, quick: bool) -> Self {
        let mut spec = self.clone();
        if let (true, Some(c)) = (quick, spec.config_mut()) {
            c.optimisation.epochs = c.optimisation.epochs.min(3);
        }
        spec
    }
}

/// Quick mode's slice: training sentences, and validation / test sentences.
pub const QUICK_SENTENCES: (usize, usize) = (2000, 500);

/// The summary keys of a tagging model: name and path in a run's metrics.
const SUMMARY: [(&str, &[&str]); 8] = [
    ("accuracy", &["test", "accuracy"]),
    ("accuracy_oov", &["test", "accuracy_oov"]),
    ("sentence_accuracy", &["test", "sentence_accuracy"]),
    ("f1_macro", &["test", "f1_macro"]),
    ("val_accuracy", &["val", "accuracy"]),
    ("train_s", &["timings", "train_s"]),
    ("train_words_per_s", &["timings", "train_words_per_s"]),
    ("predict_words_per_s", &["timings", "predict_words_per_s"]),
];

/// The `dataset` entry of a tagging report: sentences and words per split, the tag set.
pub fn describe(corpus: &TaggedCorpus, files: Vec<Value>) -> Value {
    let mut d = json!({
        "name": corpus.name,
        "task": "tag",
        "tag_column": corpus.column,
        "tags": rnnlab_baselines::tagging::index_tags(&corpus.tags[0]),
        "files": files,
    });
    set_sizes(&mut d, corpus);
    d
}

/// Sentences and words per split into a `dataset` entry.
fn set_sizes(dataset: &mut Value, corpus: &TaggedCorpus) {
    let words = |k: usize| corpus.words[k].iter().map(Vec::len).sum::<usize>();
    let sentences = |k: usize| corpus.words[k].len();
    dataset["sizes"] = json!({"train": sentences(0), "val": sentences(1), "test": sentences(2)});
    dataset["words"] = json!({"train": words(0), "val": words(1), "test": words(2)});
}

/// The first `train` training sentences and `held` of validation and test.
pub fn slice(corpus: &TaggedCorpus, train: usize, held: usize) -> TaggedCorpus {
    let mut c = corpus.clone();
    for (k, n) in [train, held, held].into_iter().enumerate() {
        c.words[k].truncate(n);
        c.tags[k].truncate(n);
    }
    c
}

/// Runs the plan and writes `report.json`, `report.md` and `report.html` into `plan.out`.
pub fn run_tagging(
    corpus: &TaggedCorpus,
    mut dataset: Value,
    plan: &TagPlan,
    obs: &mut dyn RunObserver,
) -> Result<Value, Error> {
    std::fs::create_dir_all(&plan.out).map_err(|e| Error::io(&plan.out, e))?;
    let sliced;
    let corpus = if plan.quick {
        sliced = slice(corpus, QUICK_SENTENCES.0, QUICK_SENTENCES.1);
        set_sizes(&mut dataset, &sliced);
        &sliced
    } else {
        corpus
    };
    let mut report = report_frame("tag", dataset, &plan.command, plan.seeds, plan.quick);
    let mut train = |spec: &TaggerSpec, seed: u64, dir: &Path, trainer: &mut dyn TrainObserver| {
        train_tagger(corpus, spec, seed, dir, &plan.device, trainer)
    };
    run_kinds(plan, &mut report, &SUMMARY, obs, &mut train, &|dir| reload(corpus, dir))?;
    crate::tag_report::write_all(&report, &plan.out)?;
    Ok(report)
}

/// A finished run of an earlier experiment in `dir`: its metrics, when the tagger loads and
/// scores the test sentences as recorded; `None` (train it again) otherwise.
fn reload(corpus: &TaggedCorpus, dir: &Path) -> Option<Value> {
    let metrics: Value = rnnlab_baselines::baseline::read_json(&dir.join("metrics.json")).ok()?;
    let (tagger, _) = AnyTagger::load(dir).ok()??;
    let predicted = tagger.predict_ids(&corpus.words[2]).ok()?;
    let test = score(tagger.tags(), &predicted, &corpus.tags[2], &corpus.unseen(2)).ok()?;
    let recorded = metrics["test"]["accuracy"].as_f64()?;
    ((test.accuracy - recorded).abs() < 1e-12 && metrics["test"]["words"] == json!(test.words)).then_some(metrics)
}

/// Fold `f` of `k` over the training sentences, contiguous blocks in file order (scikit-learn's
/// `KFold` without shuffling): a treebank's sentences come in documents, and interleaved folds
/// would put a document's other sentences in training. Training is the other folds, test the
/// held one, validation unchanged.
pub fn fold(corpus: &TaggedCorpus, k: usize, f: usize) -> TaggedCorpus {
    let mut c = corpus.clone();
    let n = corpus.words[0].len();
    let (lo, hi) = (f * n / k, (f + 1) * n / k);
    let pick = |held: bool, v: &[Vec<String>]| -> Vec<Vec<String>> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| (lo..hi).contains(i) == held)
            .map(|(_, s)| s.clone())
            .collect()
    };
    c.words[0] = pick(false, &corpus.words[0]);
    c.tags[0] = pick(false, &corpus.tags[0]);
    c.words[2] = pick(true, &corpus.words[0]);
    c.tags[2] = pick(true, &corpus.tags[0]);
    c
}

/// What to cross-validate on tagging data.
pub struct TagCvPlan {
    pub spec: TaggerSpec,
    /// K.
    pub folds: usize,
    /// Seeds of a recurrent tagger's runs (a baseline runs with the first only).
    pub seeds: Vec<u64>,
    /// Where the fold models go (`seed-S/fold-K/`) and `cv.json`.
    pub out: PathBuf,
    pub device: Device,
    /// The command line, for `cv.json`.
    pub command: String,
}

/// K-fold cross-validation of one tagger kind on the training sentences (the test file is
/// never read), in `rnnlab cv`'s `cv.json` frame with `task: "tag"` and `metric: "accuracy"`:
/// per seed each held fold's accuracy and the pooled one (all held words together), written
/// after every seed. A user's interruption leaves out the seed in progress.
pub fn cross_validate_tagging(
    corpus: &TaggedCorpus,
    plan: &TagCvPlan,
    obs: &mut dyn RunObserver,
) -> Result<Value, Error> {
    let spec = &plan.spec;
    let k = plan.folds;
    crate::cv::check_counts(k, plan.seeds.len())?;
    if corpus.words[0].len() < k {
        return Err(Error::Input(format!(
            "{}: {} training sentences, fewer than the {k} folds",
            corpus.name,
            corpus.words[0].len()
        )));
    }
    let seeds: &[u64] = if spec.is_seeded() {
        &plan.seeds
    } else {
        &plan.seeds[..1]
    };
    let parts: Vec<TaggedCorpus> = (0..k).map(|f| fold(corpus, k, f)).collect();
    let kind = spec.kind();
    obs.plan(seeds.len() * k);
    let mut doc = json!({
        "dataset": corpus.name,
        "task": "tag",
        "kind": kind,
        "command": plan.command,
        "folds": k,
        "fold_sizes": parts.iter().map(|p| p.words[2].len()).collect::<Vec<_>>(),
        "training_rows": corpus.words[0].len(),
        "metric": "accuracy",
        "runs": [],
        "interrupted": false,
    });
    std::fs::create_dir_all(&plan.out).map_err(|e| Error::io(&plan.out, e))?;
    let mut pooled_main = Vec::new();
    for &seed in seeds {
        let mut train = |f: usize, dir: &Path, trainer: &mut dyn TrainObserver| {
            train_tagger(&parts[f], spec, seed, dir, &plan.device, trainer)
        };
        let Some(folds) = crate::cv::seed_folds(&plan.out, kind, seed, k, obs, &mut train)? else {
            doc["interrupted"] = json!(true);
            break;
        };
        let (mut held, mut val, mut params) = (Vec::new(), Vec::new(), Value::Null);
        let (mut correct, mut words, mut oov_correct, mut oov_words) = (0.0, 0usize, 0.0, 0usize);
        for metrics in &folds {
            let t = &metrics["test"];
            let (acc, n) = (
                t["accuracy"].as_f64().unwrap_or(0.0),
                t["words"].as_u64().unwrap_or(0) as usize,
            );
            let (oov_acc, oov_n) = (
                t["accuracy_oov"].as_f64().unwrap_or(0.0),
                t["oov_words"].as_u64().unwrap_or(0) as usize,
            );
            correct += acc * n as f64;
            words += n;
            oov_correct += oov_acc * oov_n as f64;
            oov_words += oov_n;
            held.push(round4(acc));
            val.push(round4(metrics["val"]["accuracy"].as_f64().unwrap_or(f64::NAN)));
            params = metrics["params"].clone();
        }
        let pooled = correct / words.max(1) as f64;
        pooled_main.push(pooled);
        doc["runs"].as_array_mut().expect("runs is an array").push(json!({
            "seed": seed,
            "held": held,
            "val": val,
            "pooled": {"accuracy": pooled, "words": words,
                       "accuracy_oov": oov_correct / oov_words.max(1) as f64, "oov_words": oov_words},
            "pooled_main": round4(pooled),
            "params": params,
        }));
        doc["summary"] = crate::cv::summary(&pooled_main);
        write_json(&plan.out.join("cv.json"), &doc)?;
    }
    doc["summary"] = crate::cv::summary(&pooled_main);
    write_json(&plan.out.join("cv.json"), &doc)?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(n: usize) -> TaggedCorpus {
        let s = |i: usize| vec![format!("w{i}")];
        TaggedCorpus {
            name: "t".into(),
            column: rnnlab_text::conllu::TagColumn::Upos,
            words: [(0..n).map(s).collect(), vec![s(100)], vec![s(200)]],
            tags: [
                (0..n).map(|_| vec!["X".to_string()]).collect(),
                vec![vec!["X".into()]],
                vec![vec!["X".into()]],
            ],
            files: Vec::new(),
        }
    }

    #[test]
    fn folds_hold_every_training_sentence_once_and_keep_validation() {
        let c = corpus(10);
        let mut held = Vec::new();
        for f in 0..3 {
            let p = fold(&c, 3, f);
            assert_eq!(p.words[0].len() + p.words[2].len(), 10);
            assert_eq!(p.words[1], c.words[1]);
            assert!(
                p.words[2].iter().all(|s| !p.words[0].contains(s)),
                "held out of training"
            );
            held.extend(p.words[2].iter().cloned());
        }
        held.sort();
        let mut all = c.words[0].clone();
        all.sort();
        assert_eq!(held, all);
        assert_eq!(fold(&c, 3, 0).words[2], c.words[0][0..3], "a contiguous block");
        assert_eq!(fold(&c, 3, 2).words[2].len(), 4);
        let q = slice(&c, 4, 1);
        assert_eq!((q.words[0].len(), q.words[1].len(), q.words[2].len()), (4, 1, 1));
        assert_eq!(describe(&c, Vec::new())["words"]["train"], 10);
    }
}
