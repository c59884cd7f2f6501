//! Cross-validation (`cv.rs`): every training row is held out exactly once, each fold's figure
//! is that of a model trained on the other folds, the test split is never read, and bad plans
//! are errors; on the demo corpus and on a slice of the hate-speech data.

use candle_core::Device;
use rnnlab_experiment::cv::{compare, cross_validate, markdown, stratified_folds, CvPlan};
use rnnlab_experiment::{train_model, ModelSpec, Prepared, RunObserver};
use rnnlab_rnn::train::Silent;
use rnnlab_rnn::TrainObserver;
use rnnlab_text::dataset::{self, Columns};
use rnnlab_text::{Lang, Normalize, Pipeline, Preprocessor};
use serde_json::Value;

struct Runs(Silent, Vec<String>);

impl RunObserver for Runs {
    fn run_start(&mut self, kind: &str, seed: u64) {
        self.1.push(format!("{kind} seed {seed}"));
    }
    fn trainer(&mut self) -> &mut dyn TrainObserver {
        &mut self.0
    }
}

fn demo() -> Prepared {
    let data = rnnlab_experiment::demo::generate(0);
    let pre = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::Stem, false, Vec::new()), None).unwrap();
    let cols = Columns {
        text: "text".into(),
        label: "label".into(),
        id: Some("id".into()),
    };
    Prepared::new("demo", &data, cols, &pre, Some("positive")).unwrap()
}

fn plan(spec: ModelSpec, folds: usize, seeds: &[u64], out: &std::path::Path) -> CvPlan {
    CvPlan {
        spec,
        folds,
        seeds: seeds.to_vec(),
        out: out.to_path_buf(),
        device: Device::Cpu,
        command: "test".into(),
        against: None,
    }
}

fn total(confusion: &Value) -> u64 {
    confusion
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum()
}

#[test]
fn each_fold_is_a_model_of_the_other_folds_and_the_test_split_is_never_read() {
    let prep = demo();
    let dir = tempfile::tempdir().unwrap();
    let nbsvm = || ModelSpec::from_kind("nbsvm", Lang::En, 2).unwrap();
    let mut obs = Runs(Silent, Vec::new());
    let doc = cross_validate(&prep, &plan(nbsvm(), 3, &[0, 1], dir.path()), &mut obs).unwrap();
    // A baseline is deterministic: one run, three folds, whatever the seeds.
    assert_eq!(
        obs.1,
        ["nbsvm fold 0 seed 0", "nbsvm fold 1 seed 0", "nbsvm fold 2 seed 0"]
    );
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let n_train = prep.rows[0].len() as u64;
    assert_eq!(total(&runs[0]["pooled"]["confusion"]), n_train);
    let sizes: Vec<u64> = doc["fold_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), n_train);
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
    // Held fold f's figure is that of nbsvm trained on the other folds, scored on fold f.
    let folds = stratified_folds(&prep.y[0], 3);
    let mut held_rows: Vec<usize> = Vec::new();
    let held = runs[0]["held"].as_array().unwrap();
    assert_eq!(held.len(), 3);
    for (f, held_f1) in held.iter().enumerate() {
        let part = prep.fold(&folds, f);
        assert_eq!(part.rows[0].len() + part.rows[2].len(), prep.rows[0].len());
        assert!(
            part.rows[0].iter().all(|r| !part.rows[2].contains(r)),
            "fold {f} trains on a held row"
        );
        assert_eq!(part.rows[1], prep.rows[1], "validation is unchanged");
        held_rows.extend(&part.rows[2]);
        let fold_dir = dir.path().join(format!("direct-{f}"));
        let direct = train_model(&part, &nbsvm(), 0, &fold_dir, &Device::Cpu, &mut Silent).unwrap();
        let f1 = direct.metrics["test"]["f1"].as_f64().unwrap();
        assert!((held_f1.as_f64().unwrap() - f1).abs() < 1e-4, "fold {f}");
        assert!(dir.path().join(format!("seed-0/fold-{f}/model.json")).is_file());
        let saved: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("seed-0/fold-{f}/metrics.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(saved["cv"]["fold"], f);
        assert_eq!(
            saved["test"]["f1"].as_f64(),
            Some(f1),
            "the fold's test figures are its held fold's"
        );
    }
    held_rows.sort_unstable();
    let mut train_rows = prep.rows[0].clone();
    train_rows.sort_unstable();
    assert_eq!(held_rows, train_rows, "every training row is held out exactly once");
    // The same run on a copy whose test split is one row of the other class: the same figures.
    let mut other = prep.slice_sizes(usize::MAX, usize::MAX);
    other.rows[2] = vec![prep.rows[2][0]];
    other.y[2] = vec![1 - prep.y[2][0]];
    let dir2 = tempfile::tempdir().unwrap();
    let doc2 = cross_validate(
        &other,
        &plan(nbsvm(), 3, &[0], dir2.path()),
        &mut Runs(Silent, Vec::new()),
    )
    .unwrap();
    assert_eq!(doc2["runs"][0]["pooled"], runs[0]["pooled"]);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("cv.json")).unwrap()).unwrap();
    assert_eq!(saved, doc);
}

#[test]
fn a_network_runs_once_per_seed_and_the_table_has_the_summary() {
    let prep = demo().slice_sizes(600, 200);
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ModelSpec::from_kind("gru", Lang::En, 2).unwrap();
    if let ModelSpec::Rnn { config, .. } = &mut spec {
        config.optimisation.epochs = 1;
    }
    let mut obs = Runs(Silent, Vec::new());
    let doc = cross_validate(&prep, &plan(spec, 2, &[0, 1], dir.path()), &mut obs).unwrap();
    assert_eq!(obs.1.len(), 4, "{:?}", obs.1);
    assert_eq!(doc["runs"].as_array().unwrap().len(), 2);
    assert_eq!(doc["summary"]["n"], 2);
    for run in doc["runs"].as_array().unwrap() {
        let p = run["pooled_main"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{p}");
        assert_eq!(total(&run["pooled"]["confusion"]), 600);
    }
    let md = markdown(&doc);
    assert!(md.contains("| held 0 | held 1 | pooled f1 |"), "{md}");
    assert!(md.contains("pooled f1 over 2 seeds"), "{md}");
    assert_eq!(md.matches("\n| 0 |").count() + md.matches("\n| 1 |").count(), 2, "{md}");
}

#[test]
fn too_few_folds_or_rows_of_a_class_are_input_errors() {
    let prep = demo().slice_sizes(40, 40);
    let dir = tempfile::tempdir().unwrap();
    let nbsvm = || ModelSpec::from_kind("nbsvm", Lang::En, 2).unwrap();
    let e = cross_validate(
        &prep,
        &plan(nbsvm(), 1, &[0], dir.path()),
        &mut Runs(Silent, Vec::new()),
    )
    .unwrap_err();
    assert!(e.is_bad_input() && e.to_string().contains("--folds 1"), "{e}");
    let rarest = *prep.class_counts(0).iter().min().unwrap();
    let e = cross_validate(
        &prep,
        &plan(nbsvm(), rarest + 1, &[0], dir.path()),
        &mut Runs(Silent, Vec::new()),
    )
    .unwrap_err();
    assert!(e.is_bad_input() && e.to_string().contains("fewer than the"), "{e}");
    let e = cross_validate(&prep, &plan(nbsvm(), 2, &[], dir.path()), &mut Runs(Silent, Vec::new())).unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    assert!(
        !dir.path().join("cv.json").exists(),
        "nothing written for a refused plan"
    );
}

#[test]
fn hate_speech_folds_keep_the_share_of_hateful_tweets() {
    let Some(data_dir) = dataset::data_dir_for_tests(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let spec = dataset::find_dataset("twitter-hate-speech").unwrap();
    let data = dataset::load_named(&spec, &data_dir).unwrap();
    let pre = Preprocessor::new(Pipeline::standard(spec.lang, Normalize::Stem, false, Vec::new()), None).unwrap();
    let cols = Columns {
        text: spec.text_column.clone(),
        label: spec.label_column.clone(),
        id: Some(spec.id_column.clone()),
    };
    let prep = Prepared::new(spec.name.as_str(), &data, cols, &pre, spec.positive_label.as_deref()).unwrap();
    let prep = prep.slice_sizes(8000, 1000);
    let positive = prep.labels.positive.unwrap();
    let hateful = prep.class_counts(0)[positive];
    let folds = stratified_folds(&prep.y[0], 5);
    for f in 0..5 {
        let n = (0..folds.len())
            .filter(|&i| folds[i] == f && prep.y[0][i] == positive)
            .count();
        assert!(n == hateful / 5 || n == hateful / 5 + 1, "fold {f}: {n} of {hateful}");
    }
    let dir = tempfile::tempdir().unwrap();
    let nbsvm = ModelSpec::from_kind("nbsvm", spec.lang, 2).unwrap();
    let doc = cross_validate(&prep, &plan(nbsvm, 5, &[0], dir.path()), &mut Runs(Silent, Vec::new())).unwrap();
    let run = &doc["runs"][0];
    assert_eq!(total(&run["pooled"]["confusion"]), 8000);
    let pooled = run["pooled_main"].as_f64().unwrap();
    // NB-LR on hate speech scores about 0.7 (README); far under that means broken folds.
    assert!(pooled > 0.5 && pooled < 0.95, "pooled F1 {pooled}");
    let held: Vec<f64> = run["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let (lo, hi) = held.iter().fold((1f64, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(
        lo <= pooled + 1e-9 && pooled <= hi + 1e-9,
        "pooled {pooled} outside the folds' {held:?}"
    );
}

/// Says "interrupted" from its `from`-th question on (a user's Ctrl-C).
struct CtrlC {
    asked: usize,
    from: usize,
    quiet: Silent,
}

impl RunObserver for CtrlC {
    fn trainer(&mut self) -> &mut dyn TrainObserver {
        &mut self.quiet
    }
    fn interrupted(&mut self) -> bool {
        self.asked += 1;
        self.asked >= self.from
    }
}

#[test]
fn an_interruption_keeps_the_finished_seeds_only() {
    let prep = demo().slice_sizes(300, 100);
    let mut spec = ModelSpec::from_kind("gru", Lang::En, 2).unwrap();
    if let ModelSpec::Rnn { config, .. } = &mut spec {
        config.optimisation.epochs = 1;
    }
    // Asked before and after each fold: seed 0's two folds answer 1-4, seed 1's first 5.
    for (from, seeds_kept) in [(5, 1), (4, 0), (1, 0)] {
        let dir = tempfile::tempdir().unwrap();
        let mut obs = CtrlC {
            asked: 0,
            from,
            quiet: Silent,
        };
        let doc = cross_validate(&prep, &plan(spec.clone(), 2, &[0, 1], dir.path()), &mut obs).unwrap();
        assert_eq!(doc["interrupted"], true, "from {from}");
        assert_eq!(doc["runs"].as_array().unwrap().len(), seeds_kept, "from {from}");
        assert_eq!(doc["summary"]["n"], seeds_kept, "from {from}");
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("cv.json")).unwrap()).unwrap();
        assert_eq!(saved, doc);
        assert!(markdown(&doc).contains("interrupted"));
    }
}

#[test]
fn against_another_run_gives_the_differences_seed_by_seed() {
    let prep = demo().slice_sizes(600, 200);
    let gru = |epochs: usize| {
        let mut spec = ModelSpec::from_kind("gru", Lang::En, 2).unwrap();
        if let ModelSpec::Rnn { config, .. } = &mut spec {
            config.optimisation.epochs = epochs;
        }
        spec
    };
    let quiet = || Runs(Silent, Vec::new());
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let nbsvm = ModelSpec::from_kind("nbsvm", Lang::En, 2).unwrap();
    let base = cross_validate(&prep, &plan(nbsvm, 2, &[0], dirs[0].path()), &mut quiet()).unwrap();
    // Another network: a faster rate, so that its held figures differ from `two`'s below.
    let mut fast = gru(1);
    if let ModelSpec::Rnn { config, .. } = &mut fast {
        config.optimisation.lr *= 4.0;
    }
    let one = cross_validate(&prep, &plan(fast, 2, &[0, 1], dirs[1].path()), &mut quiet()).unwrap();
    let pooled = |doc: &Value, i: usize| doc["runs"][i]["pooled"]["f1"].as_f64().unwrap();
    // Against a baseline's single run: each seed minus that run.
    let mut p = plan(gru(2), 2, &[0, 1], dirs[2].path());
    p.against = Some(base.clone());
    let two = cross_validate(&prep, &p, &mut quiet()).unwrap();
    let vs = &two["against"];
    assert_eq!(vs["kind"], "nbsvm");
    for i in 0..2 {
        let want = pooled(&two, i) - pooled(&base, 0);
        assert!((vs["diffs"][i].as_f64().unwrap() - want).abs() < 1e-4, "seed {i}");
    }
    assert!(vs["ahead_folds"].as_u64().unwrap() <= 4 && vs["folds"] == 4);
    assert!(markdown(&two).contains("minus nbsvm (--against)"), "{}", markdown(&two));
    // Against a network's seeds: paired by seed, only the seeds both ran.
    let vs = compare(&two, &one).unwrap();
    assert_eq!(vs["seeds"], serde_json::json!([0, 1]));
    let d: Vec<f64> = (0..2).map(|i| pooled(&two, i) - pooled(&one, i)).collect();
    assert!(d[0] != d[1], "the test needs two different differences: {d:?}");
    assert!((vs["mean"].as_f64().unwrap() - (d[0] + d[1]) / 2.0).abs() < 1e-4);
    let sem = (d[0] - d[1]).abs() / 2.0; // std of two values / sqrt(2)
    assert!((vs["sem"].as_f64().unwrap() - sem).abs() < 1e-4, "{vs}");
    // Per held fold, the difference averaged over the two seeds; its spread summarised.
    let held = |doc: &Value, i: usize, f: usize| doc["runs"][i]["held"][f].as_f64().unwrap();
    let fold_diffs: Vec<f64> = (0..2)
        .map(|f| (0..2).map(|i| held(&two, i, f) - held(&one, i, f)).sum::<f64>() / 2.0)
        .collect();
    for (f, want) in fold_diffs.iter().enumerate() {
        assert!(
            (vs["fold_diffs"][f].as_f64().unwrap() - want).abs() < 1e-4,
            "fold {f}: {vs}"
        );
    }
    let fs = &vs["fold_diff_summary"];
    assert_eq!(fs["n"], 2);
    assert!(
        fold_diffs[0] != fold_diffs[1],
        "the test needs two different folds: {fold_diffs:?}"
    );
    let spread = (fold_diffs[0] - fold_diffs[1]).abs() / 2f64.sqrt();
    assert!((fs["std"].as_f64().unwrap() - spread).abs() < 1e-4, "{fs}");
    let mut doc = two.clone();
    doc["against"] = vs.clone();
    assert!(
        markdown(&doc).contains("per held fold (seeds averaged)"),
        "{}",
        markdown(&doc)
    );
    // A network's single run pairs only its own seed (a baseline's pairs every seed), and a
    // plan with none of its seeds is refused before any training.
    let mut seed1 = one.clone();
    seed1["runs"] = serde_json::json!([one["runs"][1].clone()]);
    let vs = compare(&two, &seed1).unwrap();
    assert_eq!(vs["seeds"], serde_json::json!([1]));
    assert!((vs["diffs"][0].as_f64().unwrap() - d[1]).abs() < 1e-4, "{vs}");
    let out = dirs[3].path().join("no-common-seed");
    let mut p = plan(gru(1), 2, &[0], &out);
    p.against = Some(seed1);
    let e = cross_validate(&prep, &p, &mut quiet()).unwrap_err();
    assert!(e.is_bad_input() && e.to_string().contains("no seed in common"), "{e}");
    assert!(!out.exists(), "a refused plan makes no folder");
    // Other folds: refused before any training.
    let mut p = plan(gru(1), 3, &[0], dirs[3].path());
    p.against = Some(base);
    let e = cross_validate(&prep, &p, &mut quiet()).unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("not the same data and folds"),
        "{e}"
    );
    let out = dirs[3].path().join("refused");
    let mut p = plan(gru(1), 3, &[0], &out);
    p.against = Some(two);
    assert!(cross_validate(&prep, &p, &mut quiet()).is_err());
    assert!(!out.exists(), "a refused plan makes no folder");
}
