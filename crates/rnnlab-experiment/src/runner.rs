//! The experiment: every model kind of a plan (neural kinds once per seed) on one prepared data
//! set, each into its own model directory, collected into `report.json` (rewritten after every
//! run, so an interrupted experiment keeps what finished) and rendered by [`crate::report`].

use std::path::{Path, PathBuf};

use candle_core::Device;
use rnnlab_rnn::TrainObserver;
use serde_json::{json, Value};

use crate::prepared::Prepared;
use crate::train::{reload_model, train_model, ModelSpec};
use crate::{write_json, Error};

/// What to run.
pub struct Plan {
    pub specs: Vec<ModelSpec>,
    /// Runs of each neural kind (seeds 0..seeds); baselines are deterministic and run once.
    pub seeds: usize,
    /// Shorter training (at most 3 epochs) on a slice of the data.
    pub quick: bool,
    pub out: PathBuf,
    /// Rows read from `--reference FILE.jsonl`.
    pub reference: Vec<Value>,
    /// The command line, for the report.
    pub command: String,
    pub device: Device,
    /// Keep the runs an earlier experiment into `out` finished (checked by loading each and
    /// scoring it again); train the rest.
    pub resume: bool,
}

/// Progress hooks for the caller's display.
pub trait RunObserver {
    fn plan(&mut self, _runs: usize) {}
    fn run_start(&mut self, _kind: &str, _seed: u64) {}
    /// `Ok(metrics)` or `Err(message)`.
    fn run_end(&mut self, _kind: &str, _seed: u64, _result: Result<&Value, &str>) {}
    /// Per-epoch hooks of neural runs.
    fn trainer(&mut self) -> &mut dyn TrainObserver;
    /// Asked before every run: `true` ends the plan there (a user's Ctrl-C); the report covers
    /// the runs that finished, and says it was interrupted.
    fn interrupted(&mut self) -> bool {
        false
    }
}

/// Test predictions and features of one run, for the HTML report.
pub struct RunDetail {
    pub kind: String,
    pub seed: u64,
    pub test_pred: Vec<usize>,
    pub top_features: Vec<(String, Vec<(String, f32)>)>,
}

/// Quick mode's slice sizes: train rows, and val / test rows.
pub const QUICK_ROWS: (usize, usize) = (3000, 1000);

/// Runs the plan and writes `report.json`, `report.md` and `report.html` into `plan.out`.
/// Returns the report.
pub fn run(prep: &Prepared, dataset: Value, plan: &Plan, obs: &mut dyn RunObserver) -> Result<Value, Error> {
    std::fs::create_dir_all(&plan.out).map_err(|e| Error::io(&plan.out, e))?;
    let sliced;
    let prep = if plan.quick {
        sliced = prep.slice_sizes(QUICK_ROWS.0, QUICK_ROWS.1);
        &sliced
    } else {
        prep
    };
    let runs_of = |s: &ModelSpec| if s.is_seeded() { plan.seeds.max(1) } else { 1 };
    obs.plan(plan.specs.iter().map(runs_of).sum());
    let mut report = json!({
        "dataset": dataset,
        "command": plan.command,
        "git_commit": git_commit(),
        "versions": {"rnnlab": env!("CARGO_PKG_VERSION"), "candle": "0.11.1"},
        "machine": machine(),
        "seeds": plan.seeds,
        "quick": plan.quick,
        "refit": plan.specs.iter().any(ModelSpec::refit),
        "models": [],
        "reference": plan.reference,
        // True once every planned run was tried; false while running and after an interruption.
        "complete": false,
    });
    let mut details = Vec::new();
    let mut interrupted = false;
    for spec in &plan.specs {
        let spec = if plan.quick { quick(spec) } else { spec.clone() };
        let kind = spec.kind().to_string();
        let mut runs = Vec::new();
        let mut error = None;
        for seed in 0..runs_of(&spec) as u64 {
            if obs.interrupted() {
                interrupted = true;
                break;
            }
            obs.run_start(&kind, seed);
            let dir = model_dir(&plan.out, &kind, seed, spec.is_seeded());
            let kept = if plan.resume {
                reload_model(prep, &spec, seed, &dir, &plan.device)
            } else {
                None
            };
            let result = match kept {
                Some(t) => Ok(t),
                None => {
                    fresh_dir(&dir).and_then(|()| train_model(prep, &spec, seed, &dir, &plan.device, obs.trainer()))
                }
            };
            // A signal during the run cut its training short: the plan is not complete.
            interrupted |= obs.interrupted();
            match result {
                Ok(t) => {
                    obs.run_end(&kind, seed, Ok(&t.metrics));
                    let mut m = t.metrics;
                    m["dir"] = json!(dir.strip_prefix(&plan.out).unwrap_or(&dir).display().to_string());
                    runs.push(m);
                    details.push(RunDetail {
                        kind: kind.clone(),
                        seed,
                        test_pred: t.test_pred,
                        top_features: t.top_features,
                    });
                }
                Err(e) => {
                    let msg = e.to_string();
                    obs.run_end(&kind, seed, Err(&msg));
                    error = Some(msg);
                    break;
                }
            }
        }
        if runs.is_empty() && error.is_none() {
            break; // interrupted before this model's first run
        }
        let status = if error.is_none() { "ok" } else { "failed" };
        let params = runs.first().map(|r| r["params"].clone()).unwrap_or(Value::Null);
        let entry = json!({
            "kind": kind,
            "family": spec.family(),
            "params": params,
            "status": status,
            "error": error,
            "summary": summarize(&runs),
            "runs": runs,
        });
        report["models"].as_array_mut().expect("array").push(entry);
        write_json(&plan.out.join("report.json"), &report)?;
        if interrupted {
            break;
        }
    }
    if interrupted {
        report["interrupted"] = json!(true);
    }
    report["complete"] = json!(!interrupted);
    if let Some(c) = compare_best(&report, prep, &details) {
        report["comparison"] = c;
    }
    crate::report::write_all(&report, prep, &details, &plan.out)?;
    Ok(report)
}

/// The best recurrent model against the best bag-of-words model (by mean test figure) on the
/// test rows: a paired bootstrap of the difference (see [`crate::bootstrap`]), with both kinds
/// named. `None` unless both families have a finished model.
fn compare_best(report: &Value, prep: &Prepared, details: &[RunDetail]) -> Option<Value> {
    let rows = crate::report::rows(report);
    let best = |family: &str| {
        rows.iter()
            .find(|r| !r.reference && r.family == family && r.main.is_some())
            .map(|r| r.kind.clone())
    };
    let (rec, bow) = (best("recurrent")?, best("bag-of-words")?);
    let preds = |kind: &str| -> Vec<Vec<usize>> {
        details
            .iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.test_pred.clone())
            .collect()
    };
    let mut c = crate::bootstrap::paired_difference(
        &prep.y[2],
        &preds(&rec),
        &preds(&bow),
        prep.labels.n_classes(),
        prep.labels.positive,
    )?;
    c["a"] = json!(rec);
    c["b"] = json!(bow);
    c["test_rows"] = json!(prep.y[2].len());
    Some(c)
}

/// Removes what an unfinished run left in `dir`, so a new run does not mix with its files.
pub(crate) fn fresh_dir(dir: &Path) -> Result<(), Error> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// What to run on a task other than classification (tagging, lemmatisation): its kinds.
pub struct TaskPlan<S> {
    pub specs: Vec<S>,
    /// Runs of each recurrent kind (seeds 0..seeds); the baselines are deterministic, one run.
    pub seeds: usize,
    /// A slice of the data and at most 3 epochs.
    pub quick: bool,
    pub out: PathBuf,
    /// The command line, for the report.
    pub command: String,
    pub device: Device,
    /// Keep the runs an earlier experiment into `out` finished (loaded and scored again).
    pub resume: bool,
}

/// A task's `report.json` before its runs: what ran, where, on what.
pub(crate) fn report_frame(task: &str, dataset: Value, command: &str, seeds: usize, quick: bool) -> Value {
    json!({
        "task": task,
        "dataset": dataset,
        "command": command,
        "git_commit": git_commit(),
        "versions": {"rnnlab": env!("CARGO_PKG_VERSION"), "candle": "0.11.1"},
        "machine": machine(),
        "seeds": seeds,
        "quick": quick,
        "models": [],
        "complete": false,
    })
}

/// A kind of a task's plan as [`run_kinds`] sees it.
pub(crate) trait TaskSpec: Clone {
    fn kind_name(&self) -> &str;
    /// Trained once per seed (a network) rather than once (a deterministic baseline).
    fn seeded(&self) -> bool;
    /// This spec for one run: at most 3 epochs when `quick` (and the seed, for kinds whose
    /// recipe holds it).
    fn for_run(&self, seed: u64, quick: bool) -> Self;
}

/// Trains one run of a kind: `(spec, seed, model directory, observer)` to its metrics.
pub(crate) type TrainRun<'a, S> = dyn FnMut(&S, u64, &Path, &mut dyn TrainObserver) -> Result<Value, Error> + 'a;

/// The loop every task's experiment shares: each kind of `plan` once, or once per seed, each
/// into its own model directory (kept when `resume` and `reload` finds it scoring as recorded,
/// else trained by `train(spec for the run, seed, dir, observer)`), appended to
/// `report["models"]` with its summary over `summary_keys`, `report.json` rewritten after every
/// kind. A user's interruption ends the plan after the run in progress; `report["complete"]`
/// says which.
pub(crate) fn run_kinds<S: TaskSpec>(
    plan: &TaskPlan<S>,
    report: &mut Value,
    summary_keys: &[(&str, &[&str])],
    obs: &mut dyn RunObserver,
    train: &mut TrainRun<S>,
    reload: &dyn Fn(&Path) -> Option<Value>,
) -> Result<(), Error> {
    let runs_of = |k: &S| if k.seeded() { plan.seeds.max(1) } else { 1 };
    obs.plan(plan.specs.iter().map(runs_of).sum());
    report["models"] = json!([]);
    let (out, mut interrupted) = (&plan.out, false);
    for k in &plan.specs {
        let kind = k.kind_name().to_string();
        let mut runs = Vec::new();
        let mut error = None;
        for seed in 0..runs_of(k) as u64 {
            if obs.interrupted() {
                interrupted = true;
                break;
            }
            obs.run_start(&kind, seed);
            let dir = model_dir(out, &kind, seed, k.seeded());
            let kept = if plan.resume { reload(&dir) } else { None };
            let result = match kept {
                Some(m) => Ok(m),
                None => fresh_dir(&dir).and_then(|()| {
                    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                    train(&k.for_run(seed, plan.quick), seed, &dir, obs.trainer())
                }),
            };
            interrupted |= obs.interrupted();
            match result {
                Ok(mut m) => {
                    obs.run_end(&kind, seed, Ok(&m));
                    m["dir"] = json!(dir.strip_prefix(out).unwrap_or(&dir).display().to_string());
                    runs.push(m);
                }
                Err(e) => {
                    let msg = e.to_string();
                    obs.run_end(&kind, seed, Err(&msg));
                    error = Some(msg);
                    break;
                }
            }
        }
        if runs.is_empty() && error.is_none() {
            break; // interrupted before this kind's first run
        }
        let params = runs.first().map(|r| r["params"].clone()).unwrap_or(Value::Null);
        report["models"].as_array_mut().expect("array").push(json!({
            "kind": kind,
            "family": if k.seeded() { "recurrent" } else { "baseline" },
            "params": params,
            "status": if error.is_none() { "ok" } else { "failed" },
            "error": error,
            "summary": summarize_paths(&runs, summary_keys),
            "runs": runs,
        }));
        write_json(&out.join("report.json"), report)?;
        if interrupted {
            break;
        }
    }
    if interrupted {
        report["interrupted"] = json!(true);
    }
    report["complete"] = json!(!interrupted);
    Ok(())
}

/// `models/<kind>` for baselines, `models/<kind>/seed<N>` for neural runs.
pub(crate) fn model_dir(out: &Path, kind: &str, seed: u64, neural: bool) -> PathBuf {
    let d = out.join("models").join(kind);
    if neural {
        d.join(format!("seed{seed}"))
    } else {
        d
    }
}

/// `--quick`: networks (a blend's too) train for 3 epochs at most.
fn quick(spec: &ModelSpec) -> ModelSpec {
    let mut spec = spec.clone();
    if let ModelSpec::Rnn { config, .. } | ModelSpec::Blend { config, .. } = &mut spec {
        config.optimisation.epochs = config.optimisation.epochs.min(3);
    }
    spec
}

/// Mean and standard deviation (n - 1) over runs of each test metric and timing.
pub fn summarize(runs: &[Value]) -> Value {
    const KEYS: [(&str, &[&str]); 6] = [
        ("f1", &["test", "f1"]),
        ("f1_macro", &["test", "f1_macro"]),
        ("accuracy", &["test", "accuracy"]),
        ("val_metric", &["val", "f1_macro"]),
        ("train_s", &["timings", "train_s"]),
        ("predict_docs_per_s", &["timings", "predict_docs_per_s"]),
    ];
    summarize_paths(runs, &KEYS)
}

/// Mean and standard deviation (n - 1) over runs of the value at each path, under its name;
/// a key no run has is left out.
pub fn summarize_paths(runs: &[Value], keys: &[(&str, &[&str])]) -> Value {
    let mut out = serde_json::Map::new();
    for &(name, path) in keys {
        let xs: Vec<f64> = runs
            .iter()
            .filter_map(|r| path.iter().try_fold(r, |v, k| v.get(k)).and_then(Value::as_f64))
            .collect();
        if xs.is_empty() {
            continue;
        }
        let (mean, std) = mean_std(&xs);
        out.insert(name.into(), json!({"mean": mean, "std": std, "n": xs.len()}));
    }
    Value::Object(out)
}

pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

pub(crate) fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub(crate) fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
    });
    json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cpu": cpu,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    })
}
