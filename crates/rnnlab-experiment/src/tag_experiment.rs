//! The tagging experiment: every tagger kind of a plan (recurrent kinds once per seed) on one
//! tagged corpus, each into its own model directory, collected into `report.json` (rewritten
//! after every run) and rendered by [`crate::tag_report`]. The classification runner's frame:
//! the same observer, directory layout, `--resume` and interruption rules.

use std::path::{Path, PathBuf};

use candle_core::Device;
use rnnlab_text::conllu::TaggedCorpus;
use serde_json::{json, Value};

use crate::runner::{summarize_paths, RunObserver};
use crate::tagging::{score, train_tagger, AnyTagger, TaggerSpec};
use crate::{write_json, Error};

/// What to run.
pub struct TagPlan {
    pub specs: Vec<TaggerSpec>,
    /// Runs of each recurrent kind (seeds 0..seeds); the baselines are deterministic, one run.
    pub seeds: usize,
    /// Fewer sentences and at most 3 epochs.
    pub quick: bool,
    pub out: PathBuf,
    /// The command line, for the report.
    pub command: String,
    pub device: Device,
    /// Keep the runs an earlier experiment into `out` finished (loaded and scored again).
    pub resume: bool,
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
    let seeded = |s: &TaggerSpec| matches!(s, TaggerSpec::Rnn { .. });
    let runs_of = |s: &TaggerSpec| if seeded(s) { plan.seeds.max(1) } else { 1 };
    obs.plan(plan.specs.iter().map(runs_of).sum());
    let mut report = json!({
        "task": "tag",
        "dataset": dataset,
        "command": plan.command,
        "git_commit": crate::runner::git_commit(),
        "versions": {"rnnlab": env!("CARGO_PKG_VERSION"), "candle": "0.11.1"},
        "machine": crate::runner::machine(),
        "seeds": plan.seeds,
        "quick": plan.quick,
        "models": [],
        "complete": false,
    });
    let mut interrupted = false;
    for spec in &plan.specs {
        let mut spec = spec.clone();
        if plan.quick {
            if let Some(c) = spec.config_mut() {
                c.optimisation.epochs = c.optimisation.epochs.min(3);
            }
        }
        let kind = spec.kind();
        let mut runs = Vec::new();
        let mut error = None;
        for seed in 0..runs_of(&spec) as u64 {
            if obs.interrupted() {
                interrupted = true;
                break;
            }
            obs.run_start(kind, seed);
            let dir = model_dir(&plan.out, kind, seed, seeded(&spec));
            let kept = if plan.resume { reload(corpus, &dir) } else { None };
            let result = match kept {
                Some(m) => Ok(m),
                None => fresh_dir(&dir).and_then(|()| {
                    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                    train_tagger(corpus, &spec, seed, &dir, &plan.device, obs.trainer())
                }),
            };
            interrupted |= obs.interrupted();
            match result {
                Ok(mut m) => {
                    obs.run_end(kind, seed, Ok(&m));
                    m["dir"] = json!(dir.strip_prefix(&plan.out).unwrap_or(&dir).display().to_string());
                    runs.push(m);
                }
                Err(e) => {
                    let msg = e.to_string();
                    obs.run_end(kind, seed, Err(&msg));
                    error = Some(msg);
                    break;
                }
            }
        }
        if runs.is_empty() && error.is_none() {
            break; // interrupted before this model's first run
        }
        let params = runs.first().map(|r| r["params"].clone()).unwrap_or(Value::Null);
        report["models"].as_array_mut().expect("array").push(json!({
            "kind": kind,
            "family": if seeded(&spec) { "recurrent" } else { "baseline" },
            "params": params,
            "status": if error.is_none() { "ok" } else { "failed" },
            "error": error,
            "summary": summarize_paths(&runs, &SUMMARY),
            "runs": runs,
        }));
        write_json(&plan.out.join("report.json"), &report)?;
        if interrupted {
            break;
        }
    }
    if interrupted {
        report["interrupted"] = json!(true);
    }
    report["complete"] = json!(!interrupted);
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

/// Removes what an unfinished run left in `dir`.
fn fresh_dir(dir: &Path) -> Result<(), Error> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// `models/<kind>` for baselines, `models/<kind>/seed<N>` for recurrent runs.
fn model_dir(out: &Path, kind: &str, seed: u64, seeded: bool) -> PathBuf {
    let d = out.join("models").join(kind);
    if seeded {
        d.join(format!("seed{seed}"))
    } else {
        d
    }
}
