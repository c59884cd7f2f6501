//! K-fold cross-validation of one model on a data set's training split, as scikit-learn's
//! `cross_val_score` with `StratifiedKFold`: each fold's model trains on the other K - 1 folds
//! (the fixed validation split still chooses its epoch and threshold) and is scored on its held
//! fold. The held folds together cover every training row, so the pooled figure (from the
//! summed confusion matrices) rests on many more rows than the test split, which
//! cross-validation never reads: a choice made on it leaves the test figures honest.

use std::path::PathBuf;

use candle_core::Device;
use rnnlab_baselines::baseline::BaselineKind;
use rnnlab_baselines::metrics::SplitMetrics;
use serde_json::{json, Value};

use crate::prepared::Prepared;
use crate::runner::RunObserver;
use crate::train::{train_model, ModelSpec};
use crate::{round4, write_json, Error};

/// The fold (0..k) of each row with labels `y`: rows sorted by class (stably, so file order
/// within a class) are dealt out in turn, so every fold has each class's share within one row
/// and the folds' sizes differ by at most one. No shuffling: the same data give the same folds.
pub fn stratified_folds(y: &[usize], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by_key(|&i| y[i]);
    let mut fold = vec![0; y.len()];
    for (p, &i) in order.iter().enumerate() {
        fold[i] = p % k.max(1);
    }
    fold
}

impl Prepared {
    /// Fold `k` of a cross-validation: training rows are the training split's rows outside
    /// fold `k`, test rows the ones in it (`folds` from [`stratified_folds`] over the training
    /// split); validation is unchanged.
    pub fn fold(&self, folds: &[usize], k: usize) -> Prepared {
        let pick = |held: bool| -> (Vec<usize>, Vec<usize>) {
            (0..self.rows[0].len())
                .filter(|&i| (folds[i] == k) == held)
                .map(|i| (self.rows[0][i], self.y[0][i]))
                .unzip()
        };
        let (train_rows, train_y) = pick(false);
        let (held_rows, held_y) = pick(true);
        self.with_rows(
            [train_rows, self.rows[1].clone(), held_rows],
            [train_y, self.y[1].clone(), held_y],
        )
    }
}

/// What to cross-validate.
pub struct CvPlan {
    pub spec: ModelSpec,
    /// K.
    pub folds: usize,
    /// Seeds of a network's runs (a baseline is deterministic: it runs with the first only).
    pub seeds: Vec<u64>,
    /// Where the fold models go (`seed-S/fold-K/`) and `cv.json`.
    pub out: PathBuf,
    pub device: Device,
    /// The command line, for `cv.json`.
    pub command: String,
    /// Another run's `cv.json` of the same data and folds, to compare with (see [`compare`]).
    pub against: Option<Value>,
}

/// Checks a plan's fold and seed counts (before any data is read, so a command line can fail
/// fast): at least 2 folds and 1 seed.
pub fn check_counts(folds: usize, seeds: usize) -> Result<(), Error> {
    if folds < 2 {
        return Err(Error::Input(format!("--folds {folds}: need at least 2")));
    }
    if seeds == 0 {
        return Err(Error::Input("--seeds must be at least 1".into()));
    }
    Ok(())
}

/// Runs the plan and writes `cv.json` into `plan.out` after every seed; returns it. Its
/// `runs` have, per seed, each held fold's figures and the pooled ones; `summary` the pooled
/// main metric's mean, standard deviation and standard error over the seeds that finished.
/// When `obs` reports an interruption (before a fold, or during one: then that fold was cut
/// short), the seed in progress is left out and `interrupted` is true.
pub fn cross_validate(prep: &Prepared, plan: &CvPlan, obs: &mut dyn RunObserver) -> Result<Value, Error> {
    let k = plan.folds;
    check_counts(k, plan.seeds.len())?;
    let counts = prep.class_counts(0);
    if let Some((c, &n)) = counts.iter().enumerate().find(|(_, &n)| n < k) {
        return Err(Error::Input(format!(
            "{}: class {:?} has {n} training rows, fewer than the {k} folds (give a smaller --folds)",
            prep.name, prep.labels.labels[c]
        )));
    }
    let seeds: &[u64] = if plan.spec.is_seeded() {
        &plan.seeds
    } else {
        &plan.seeds[..1]
    };
    let folds = stratified_folds(&prep.y[0], k);
    let parts: Vec<Prepared> = (0..k).map(|f| prep.fold(&folds, f)).collect();
    let main = if prep.labels.is_binary() { "f1" } else { "f1_macro" };
    let n_classes = prep.labels.n_classes();
    let kind = plan.spec.kind().to_string();
    obs.plan(seeds.len() * k);
    let mut doc = json!({
        "dataset": prep.name,
        "kind": kind,
        "command": plan.command,
        "folds": k,
        "fold_sizes": parts.iter().map(|p| p.rows[2].len()).collect::<Vec<_>>(),
        "training_rows": prep.rows[0].len(),
        "class_counts": counts,
        "labels": prep.labels.labels,
        "metric": main,
        "runs": [],
        "interrupted": false,
    });
    if let Some(reference) = &plan.against {
        same_folds(&doc, reference)?;
        let planned: Vec<Value> = seeds.iter().map(|&s| json!({ "seed": s })).collect();
        if pairs(&planned, reference).is_empty() {
            return Err(Error::Input(format!(
                "--against: the reference ran seed(s) {}, this run {seeds:?}: no seed in common \
                 (a network is compared seed by seed; a baseline's single run with every seed)",
                reference_seeds(reference)
            )));
        }
    }
    std::fs::create_dir_all(&plan.out).map_err(|e| Error::io(&plan.out, e))?;
    let mut pooled_main = Vec::new();
    'seeds: for &seed in seeds {
        let mut confusion = vec![vec![0u64; n_classes]; n_classes];
        let (mut held, mut val, mut params) = (Vec::new(), Vec::new(), Value::Null);
        for (f, part) in parts.iter().enumerate() {
            if obs.interrupted() {
                doc["interrupted"] = json!(true);
                break 'seeds;
            }
            let label = format!("{kind} fold {f}");
            obs.run_start(&label, seed);
            let dir = plan.out.join(format!("seed-{seed}")).join(format!("fold-{f}"));
            let trained = match train_model(part, &plan.spec, seed, &dir, &plan.device, obs.trainer()) {
                Ok(t) => t,
                Err(e) => {
                    obs.run_end(&label, seed, Err(&e.to_string()));
                    return Err(e);
                }
            };
            // A fold cut short by the user would skew the pooled figure: its seed does not count.
            if obs.interrupted() {
                doc["interrupted"] = json!(true);
                break 'seeds;
            }
            // The fold's `metrics.json` says that its `test` figures are the held fold's.
            let mut metrics = trained.metrics;
            metrics["cv"] = json!({"fold": f, "folds": k, "test": format!("held fold {f} of the training split")});
            write_json(&dir.join("metrics.json"), &metrics)?;
            obs.run_end(&label, seed, Ok(&metrics));
            let m: SplitMetrics = serde_json::from_value(metrics["test"].clone())
                .map_err(|e| Error::Failed(format!("fold {f}: metrics: {e}")))?;
            for (row, add) in confusion.iter_mut().zip(&m.confusion) {
                for (x, a) in row.iter_mut().zip(add) {
                    *x += a;
                }
            }
            held.push(round4(m.main_metric()));
            val.push(round4(metrics["val"][main].as_f64().unwrap_or(f64::NAN)));
            params = metrics["params"].clone();
        }
        let pooled = SplitMetrics::from_confusion(confusion, prep.labels.positive);
        pooled_main.push(pooled.main_metric());
        let run = json!({
            "seed": seed,
            "held": held,
            "val": val,
            "pooled": pooled,
            "pooled_main": round4(pooled.main_metric()),
            "params": params,
        });
        doc["runs"].as_array_mut().expect("runs is an array").push(run);
        doc["summary"] = summary(&pooled_main);
        if let Some(reference) = &plan.against {
            // Until a seed in common has run there is nothing to compare yet.
            let ours = doc["runs"].as_array().map(Vec::as_slice).unwrap_or_default();
            if !pairs(ours, reference).is_empty() {
                doc["against"] = compare(&doc, reference)?;
            }
        }
        write_json(&plan.out.join("cv.json"), &doc)?;
    }
    doc["summary"] = summary(&pooled_main);
    write_json(&plan.out.join("cv.json"), &doc)?;
    Ok(doc)
}

/// An error unless `doc` and `reference` (two `cv.json`) cross-validate the same data in the
/// same folds.
fn same_folds(doc: &Value, reference: &Value) -> Result<(), Error> {
    for key in [
        "dataset",
        "folds",
        "fold_sizes",
        "training_rows",
        "class_counts",
        "labels",
        "metric",
    ] {
        if doc[key] != reference[key] {
            return Err(Error::Input(format!(
                "--against: not the same data and folds ({key}: {} here, {} there)",
                doc[key], reference[key]
            )));
        }
    }
    Ok(())
}

/// The runs of `ours` paired with `reference`'s: seed by seed where both ran the seed, or every
/// run with a baseline's single run (a baseline is deterministic: its one run stands for every
/// seed). A network's runs pair by seed only, so a one-seed network never pairs other seeds.
fn pairs<'a>(ours: &'a [Value], reference: &'a Value) -> Vec<(&'a Value, &'a Value)> {
    let theirs = reference["runs"].as_array().map(Vec::as_slice).unwrap_or_default();
    let baseline = reference["kind"].as_str().and_then(BaselineKind::from_name).is_some();
    match theirs {
        [one] if baseline => ours.iter().map(|r| (r, one)).collect(),
        _ => ours
            .iter()
            .filter_map(|r| theirs.iter().find(|t| t["seed"] == r["seed"]).map(|t| (r, t)))
            .collect(),
    }
}

/// The seeds `reference` ran, for messages.
fn reference_seeds(reference: &Value) -> String {
    let seeds: Vec<String> = reference["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["seed"].to_string())
        .collect();
    format!("[{}]", seeds.join(", "))
}

/// `doc` against `reference`, another `cv.json` of the same folds: the difference of the pooled
/// main metric, seed by seed where both ran the seed (paired: the same folds, the same seed),
/// or against `reference`'s single run when it is a baseline's ([`pairs`]); its mean, standard
/// error and the held folds where `doc` is ahead; and per held fold the difference averaged
/// over seeds, whose spread is what one split of that size (a test split) can show. An error
/// when the two are not the same data and folds, or share no seed.
pub fn compare(doc: &Value, reference: &Value) -> Result<Value, Error> {
    same_folds(doc, reference)?;
    let main = |run: &Value| -> f64 {
        let pooled = &run["pooled"];
        pooled["f1"]
            .as_f64()
            .or_else(|| pooled["f1_macro"].as_f64())
            .unwrap_or(f64::NAN)
    };
    let held = |run: &Value| -> Vec<f64> {
        run["held"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect()
    };
    let ours = doc["runs"].as_array().cloned().unwrap_or_default();
    let pairs = pairs(&ours, reference);
    if pairs.is_empty() {
        return Err(Error::Input(format!(
            "--against: no seed in common with the reference (its seeds: {})",
            reference_seeds(reference)
        )));
    }
    let diffs: Vec<f64> = pairs.iter().map(|(a, b)| main(a) - main(b)).collect();
    let (mut ahead, mut folds) = (0, 0);
    // Per held fold, the difference averaged over the pairs: how far apart one split of a
    // held fold's size can put the two (a single test split is one such draw).
    let mut fold_sums: Vec<f64> = Vec::new();
    for (a, b) in &pairs {
        for (f, (x, y)) in held(a).iter().zip(held(b)).enumerate() {
            folds += 1;
            ahead += usize::from(*x > y);
            if fold_sums.len() <= f {
                fold_sums.resize(f + 1, 0.0);
            }
            fold_sums[f] += x - y;
        }
    }
    let fold_diffs: Vec<f64> = fold_sums.iter().map(|s| s / pairs.len() as f64).collect();
    let s = summary(&diffs);
    let (mean, sem) = (s["mean"].as_f64().unwrap_or(f64::NAN), s["sem"].as_f64().unwrap_or(0.0));
    Ok(json!({
        "kind": reference["kind"],
        "command": reference["command"],
        "seeds": pairs.iter().map(|(a, _)| a["seed"].clone()).collect::<Vec<_>>(),
        "diffs": diffs.iter().map(|&d| round4(d)).collect::<Vec<_>>(),
        "mean": round4(mean),
        "sem": sem,
        "t": if sem > 0.0 { json!(round4(mean / sem)) } else { Value::Null },
        "ahead_folds": ahead,
        "folds": folds,
        "fold_diffs": fold_diffs.iter().map(|&d| round4(d)).collect::<Vec<_>>(),
        "fold_diff_summary": summary(&fold_diffs),
    }))
}

/// Mean, sample standard deviation and standard error of the mean (0 for one value).
pub(crate) fn summary(xs: &[f64]) -> Value {
    let n = xs.len();
    if n == 0 {
        return json!({"n": 0});
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    json!({
        "n": n,
        "mean": round4(mean),
        "std": round4(std),
        "sem": round4(std / (n as f64).sqrt()),
        "min": round4(xs.iter().copied().fold(f64::INFINITY, f64::min)),
        "max": round4(xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
    })
}

/// `cv.json` as a Markdown table: a row per seed (held folds, pooled), then the summary line.
/// Trains fold `f` into a directory with an observer; returns its metrics.
pub(crate) type TrainFold<'a> =
    dyn FnMut(usize, &std::path::Path, &mut dyn rnnlab_rnn::TrainObserver) -> Result<Value, Error> + 'a;

/// One seed's K fold models of a task cross-validated by held sentences (tagging, language
/// models): `train(f, dir, observer)` trains fold `f` into `seed-S/fold-f/` under `out` and
/// returns its metrics, to which the fold's `cv` entry is added (rewritten there). Returns the
/// folds' metrics in order, or `None` when the user interrupted (the seed is then left out).
pub(crate) fn seed_folds(
    out: &std::path::Path,
    kind: &str,
    seed: u64,
    k: usize,
    obs: &mut dyn RunObserver,
    train: &mut TrainFold<'_>,
) -> Result<Option<Vec<Value>>, Error> {
    let mut folds = Vec::with_capacity(k);
    for f in 0..k {
        if obs.interrupted() {
            return Ok(None);
        }
        let label = format!("{kind} fold {f}");
        obs.run_start(&label, seed);
        let dir = out.join(format!("seed-{seed}")).join(format!("fold-{f}"));
        crate::runner::fresh_dir(&dir)?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut metrics = match train(f, &dir, obs.trainer()) {
            Ok(m) => m,
            Err(e) => {
                obs.run_end(&label, seed, Err(&e.to_string()));
                return Err(e);
            }
        };
        if obs.interrupted() {
            return Ok(None);
        }
        metrics["cv"] = json!({"fold": f, "folds": k, "test": format!("held fold {f} of the training split")});
        write_json(&dir.join("metrics.json"), &metrics)?;
        obs.run_end(&label, seed, Ok(&metrics));
        folds.push(metrics);
    }
    Ok(Some(folds))
}

pub fn markdown(doc: &Value) -> String {
    let k = doc["folds"].as_u64().unwrap_or(0) as usize;
    let metric = doc["metric"].as_str().unwrap_or("f1");
    let by_sentence = doc["task"] == "tag" || doc["task"] == "lm";
    let how = if by_sentence {
        "cross-validation (contiguous blocks of sentences) of the"
    } else {
        "stratified cross-validation of the"
    };
    let units = if by_sentence { "sentences" } else { "rows" };
    let mut s = format!(
        "{}, {}: {k}-fold {how} {} training {units} (held folds of {}); \
         the test split is not read\n\n| seed | {} | pooled {metric} | val {metric} (mean) |\n|---{}|---|---|\n",
        doc["dataset"].as_str().unwrap_or("?"),
        doc["kind"].as_str().unwrap_or("?"),
        doc["training_rows"],
        doc["fold_sizes"]
            .as_array()
            .map(|a| a.iter().map(Value::to_string).collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
        (0..k).map(|f| format!("held {f}")).collect::<Vec<_>>().join(" | "),
        "|---".repeat(k),
    );
    let f4 = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.4}"));
    for run in doc["runs"].as_array().into_iter().flatten() {
        let held: Vec<String> = run["held"].as_array().into_iter().flatten().map(f4).collect();
        let val: Vec<f64> = run["val"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect();
        let val_mean = if val.is_empty() {
            f64::NAN
        } else {
            val.iter().sum::<f64>() / val.len() as f64
        };
        s += &format!(
            "| {} | {} | {} | {val_mean:.4} |\n",
            run["seed"],
            held.join(" | "),
            f4(&run["pooled_main"])
        );
    }
    let sm = &doc["summary"];
    if sm["n"].as_u64().unwrap_or(0) > 1 {
        s += &format!(
            "\npooled {metric} over {} seeds: {} ± {} (std; standard error {})\n",
            sm["n"],
            f4(&sm["mean"]),
            f4(&sm["std"]),
            f4(&sm["sem"])
        );
    }
    let vs = &doc["against"];
    if vs.is_object() {
        let n = vs["diffs"].as_array().map_or(0, Vec::len);
        s += &format!(
            "\nminus {} (--against): pooled {metric} {:+.4} over {n} seed(s){}; ahead in {} of {} held folds\n",
            vs["kind"].as_str().unwrap_or("?"),
            vs["mean"].as_f64().unwrap_or(f64::NAN),
            match vs["t"].as_f64() {
                Some(t) => format!(", standard error {} ({t:.1} standard errors)", f4(&vs["sem"])),
                None => String::new(),
            },
            vs["ahead_folds"],
            vs["folds"]
        );
        let fs = &vs["fold_diff_summary"];
        if fs["n"].as_u64().unwrap_or(0) > 1 {
            s += &format!(
                "per held fold (seeds averaged) the difference runs from {:+.4} to {:+.4}, std {}: \
                 what one split of a held fold's size can show; a smaller split (a test split) scatters more\n",
                fs["min"].as_f64().unwrap_or(f64::NAN),
                fs["max"].as_f64().unwrap_or(f64::NAN),
                f4(&fs["std"])
            );
        }
    }
    if doc["interrupted"].as_bool() == Some(true) {
        s += "\ninterrupted: the table has the seeds that finished\n";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_balanced_and_cover_every_row() {
        // 13 rows of class 0, 5 of class 1, interleaved.
        let y: Vec<usize> = (0..18).map(|i| usize::from(i % 4 == 1 || i == 17)).collect();
        let n1 = y.iter().filter(|&&c| c == 1).count();
        assert_eq!(n1, 5);
        let folds = stratified_folds(&y, 3);
        assert_eq!(folds.len(), y.len());
        let size = |f: usize, c: Option<usize>| {
            (0..y.len())
                .filter(|&i| folds[i] == f && c.is_none_or(|c| y[i] == c))
                .count()
        };
        for f in 0..3 {
            assert_eq!(size(f, None), 6, "fold {f}");
            // class 1 has 5 rows: 2, 2, 1 or a permutation; class 0 13 rows: 5, 4, 4.
            assert!((1..=2).contains(&size(f, Some(1))), "fold {f}");
            assert!((4..=5).contains(&size(f, Some(0))), "fold {f}");
        }
        assert_eq!(stratified_folds(&y, 3), folds, "deterministic");
    }

    #[test]
    fn summary_of_one_and_of_several() {
        assert_eq!(summary(&[0.5])["std"], json!(0.0));
        let s = summary(&[0.70, 0.72, 0.74]);
        assert_eq!(s["mean"], json!(0.72));
        assert_eq!(s["std"], json!(0.02));
        assert_eq!(s["sem"], json!(round4(0.02 / 3f64.sqrt())));
        assert_eq!(summary(&[])["n"], json!(0));
    }
}
