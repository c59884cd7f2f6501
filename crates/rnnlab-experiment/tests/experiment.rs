//! The experiment end to end in quick mode: on the built-in demo corpus with every model kind,
//! and on a slice of each real data set; the report files exist, parse, hold every requested
//! model with metrics in range, and the HTML page has every plot.

use std::path::{Path, PathBuf};

use candle_core::Device;
use rnnlab_experiment::runner::QUICK_ROWS;
use rnnlab_experiment::train::all_kinds;
use rnnlab_experiment::{demo, run, train_model, ModelSpec, NetworkTokens, Plan, Prepared, RunObserver};
use rnnlab_rnn::train::Silent;
use rnnlab_rnn::TrainObserver;
use rnnlab_text::dataset::{self, Columns};
use rnnlab_text::{Lang, Pipeline, Preprocessor};
use serde_json::{json, Value};

struct Quiet(Silent, Vec<String>);

impl RunObserver for Quiet {
    fn run_end(&mut self, kind: &str, _seed: u64, result: Result<&Value, &str>) {
        if let Err(e) = result {
            self.1.push(format!("{kind}: {e}"));
        }
    }
    fn trainer(&mut self) -> &mut dyn TrainObserver {
        &mut self.0
    }
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rnnlab-exp-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    d
}

fn check_report(out: &Path, kinds: &[&str], binary: bool) -> Value {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let models = report["models"].as_array().unwrap();
    assert_eq!(models.len(), kinds.len());
    for (m, kind) in models.iter().zip(kinds) {
        assert_eq!(m["kind"], *kind);
        assert_eq!(m["status"], "ok", "{kind}: {}", m["error"]);
        for r in m["runs"].as_array().unwrap() {
            let key = if binary { "f1" } else { "f1_macro" };
            let v = r["test"][key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{kind}: {key} {v}");
            let dir = out.join(r["dir"].as_str().unwrap());
            assert!(dir.join("model.json").is_file() && dir.join("metrics.json").is_file());
            if m["family"] == "recurrent" || m["family"] == "blend" {
                assert!(!r["curve"].as_array().unwrap().is_empty());
            }
        }
        assert!(m["summary"]["f1_macro"]["mean"].as_f64().is_some());
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // The best recurrent model against the best bag of words, bootstrapped over the test rows:
    // its observed difference is that of the two models' mean test figures.
    let c = &report["comparison"];
    let family = |k: &Value| models.iter().find(|m| m["kind"] == *k).unwrap()["family"].clone();
    assert_eq!(family(&c["a"]), "recurrent", "{c}");
    assert_eq!(family(&c["b"]), "bag-of-words", "{c}");
    let mean = |k: &Value| {
        let m = models.iter().find(|m| m["kind"] == *k).unwrap();
        m["summary"][if binary { "f1" } else { "f1_macro" }]["mean"]
            .as_f64()
            .unwrap()
    };
    let d = c["difference"].as_f64().unwrap();
    assert!((d - (mean(&c["a"]) - mean(&c["b"]))).abs() < 1e-3, "{c}");
    let (lo, hi) = (c["ci95"][0].as_f64().unwrap(), c["ci95"][1].as_f64().unwrap());
    assert!(lo <= d && d <= hi, "{c}");
    assert!(md.contains("paired bootstrap over the"), "{md}");
    for kind in kinds {
        assert!(md.contains(&format!("| {kind} |")), "{kind} missing from report.md");
        assert!(
            html.contains(&format!("<td>{kind}</td>")),
            "{kind} missing from report.html"
        );
    }
    // Self-contained, and every plot there: bars, scatter, curves per neural model, confusions.
    for external in ["src=\"http", "href=\"http", "url(http", "<link", "@import"] {
        assert!(!html.contains(external), "the page must not load {external}...");
    }
    assert!(!html.contains("<script"));
    let neural = kinds
        .iter()
        .filter(|k| ["rnn", "lstm", "gru", "best-rnn", "blend"].contains(k))
        .count();
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert_eq!(html.matches("<svg").count(), 2 + 2 * neural + kinds.len());
    report
}

/// Opens the page in headless Chromium (Debian's `chromium`): no console messages, and the
/// rendered DOM has every plot of the file. Without Chromium it says so, and fails under `CI=true`
/// (`.ci/run` installs it).
fn open_in_chromium(page: &Path) {
    let Ok(found) = std::process::Command::new("chromium").arg("--version").output() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but chromium is not installed (.ci/run installs it)"
        );
        eprintln!("notice: chromium not found; the HTML report was not opened in a browser");
        return;
    };
    assert!(found.status.success());
    let profile = page.parent().unwrap().join("chromium-profile");
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let dom = String::from_utf8_lossy(&out.stdout);
    let file = std::fs::read_to_string(page).unwrap();
    let plots = file.matches("<svg").count();
    assert!(plots > 0);
    assert_eq!(
        dom.matches("<svg").count(),
        plots,
        "every plot must be in the rendered page"
    );
    assert!(dom.contains("id=\"results\""));
}

#[test]
fn quick_demo_with_every_model_kind() {
    let data = demo::generate(0);
    let pre = Preprocessor::new(
        Pipeline::standard(Lang::En, rnnlab_text::Normalize::Stem, false, Vec::new()),
        None,
    )
    .unwrap();
    let cols = Columns {
        text: "text".into(),
        label: "label".into(),
        id: Some("id".into()),
    };
    let prep = Prepared::new("demo", &data, cols, &pre, Some("positive")).unwrap();
    let out = out_dir("demo");
    let plan = Plan {
        specs: all_kinds()
            .iter()
            .map(|k| ModelSpec::from_kind(k, Lang::En, 2).unwrap())
            .collect(),
        seeds: 1,
        quick: true,
        out: out.clone(),
        reference: vec![json!({"model": "fastText (reference)", "f1": 0.7, "train_s": 1.0})],
        command: "test".into(),
        device: Device::Cpu,
        resume: false,
    };
    let mut obs = Quiet(Silent, Vec::new());
    let report = run(
        &prep,
        json!({"name": "demo", "sizes": {"train": 1, "val": 1, "test": 1}}),
        &plan,
        &mut obs,
    )
    .unwrap();
    assert!(obs.1.is_empty(), "{:?}", obs.1);
    check_report(&out, &all_kinds(), true);
    open_in_chromium(&out.join("report.html"));
    assert_eq!(report["reference"].as_array().unwrap().len(), 1);
    assert!(std::fs::read_to_string(out.join("report.md"))
        .unwrap()
        .contains("(reference)"));
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn quick_slices_of_the_real_data_sets() {
    let Some(dir) = dataset::data_dir_for_tests(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    for name in [
        "twitter-hate-speech",
        "sentirueval2015-banks",
        "sentirueval2015-telecoms",
    ] {
        let spec = dataset::find_dataset(name).unwrap();
        let data = dataset::load_named(&spec, &dir).unwrap();
        // Stemming keeps the test free of the morphology dictionary.
        let pipeline = Pipeline::standard(spec.lang, rnnlab_text::Normalize::Stem, false, Vec::new());
        let pre = Preprocessor::new(pipeline, None).unwrap();
        let cols = Columns {
            text: spec.text_column.clone(),
            label: spec.label_column.clone(),
            id: Some(spec.id_column.clone()),
        };
        let prep = Prepared::new(name, &data, cols, &pre, spec.positive_label.as_deref()).unwrap();
        let prep = prep.slice_sizes(QUICK_ROWS.0 / 2, QUICK_ROWS.1 / 2);
        let kinds = ["tfidf-logreg", "gru"];
        let out = out_dir(name);
        let plan = Plan {
            specs: kinds
                .iter()
                .map(|k| ModelSpec::from_kind(k, spec.lang, prep.labels.n_classes()).unwrap())
                .collect(),
            seeds: 1,
            quick: true,
            out: out.clone(),
            reference: Vec::new(),
            command: "test".into(),
            device: Device::Cpu,
            resume: false,
        };
        let mut obs = Quiet(Silent, Vec::new());
        run(&prep, json!({"name": name}), &plan, &mut obs).unwrap();
        check_report(&out, &kinds, name == "twitter-hate-speech");
        std::fs::remove_dir_all(&out).ok();
    }
}

/// `rows` rows of the demo corpus generated with `seed`, stemmed (no dictionary needed).
fn demo_slice(seed: u64, rows: usize) -> Prepared {
    let data = demo::generate(seed);
    let pre = Preprocessor::new(
        Pipeline::standard(Lang::En, rnnlab_text::Normalize::Stem, false, Vec::new()),
        None,
    )
    .unwrap();
    let cols = Columns {
        text: "text".into(),
        label: "label".into(),
        id: None,
    };
    Prepared::new("demo", &data, cols, &pre, Some("positive"))
        .unwrap()
        .slice(rows)
}

#[test]
fn a_failing_model_is_reported_and_the_others_finish() {
    let prep = demo_slice(3, 400);
    let mut bad = ModelSpec::from_kind("lstm", Lang::En, 2).unwrap();
    if let ModelSpec::Rnn { config, .. } = &mut bad {
        config.inputs.pretrained = Some(PathBuf::from("/nonexistent/vectors.vec"));
    }
    let out = out_dir("fail");
    let plan = Plan {
        specs: vec![bad, ModelSpec::from_kind("nb", Lang::En, 2).unwrap()],
        seeds: 1,
        quick: true,
        out: out.clone(),
        reference: Vec::new(),
        command: "test".into(),
        device: Device::Cpu,
        resume: false,
    };
    let mut obs = Quiet(Silent, Vec::new());
    let report = run(&prep, json!({"name": "demo"}), &plan, &mut obs).unwrap();
    assert_eq!(report["models"][0]["status"], "failed");
    assert!(report["models"][0]["error"].as_str().unwrap().contains("vectors.vec"));
    assert_eq!(report["models"][1]["status"], "ok");
    assert!(std::fs::read_to_string(out.join("report.md"))
        .unwrap()
        .contains("failed"));
    std::fs::remove_dir_all(&out).ok();
}

/// `best-rnn` and `blend`'s network part read English words unstemmed, with punctuation and
/// hashtags as tags (their recipe), unless the user chose the words' normalisation; other
/// kinds and NB-LR in a blend keep the data's pipeline. The pipeline saved in each model
/// directory is the one it trained on.
#[test]
fn best_rnn_reads_english_raw_tokens_unless_the_user_chose() {
    let data = demo::generate(5);
    let stemmed = Pipeline::standard(Lang::En, rnnlab_text::Normalize::Stem, false, Vec::new());
    let pre = Preprocessor::new(stemmed.clone(), None).unwrap();
    let cols = Columns {
        text: "text".into(),
        label: "label".into(),
        id: None,
    };
    let mut prep = Prepared::new("demo", &data, cols, &pre, Some("positive"))
        .unwrap()
        .slice(300);
    let mut spec = ModelSpec::from_kind("best-rnn", Lang::En, 2).unwrap();
    if let ModelSpec::Rnn { config, .. } = &mut spec {
        (
            config.optimisation.epochs,
            config.architecture.emb,
            config.architecture.hidden,
            config.inputs.bag_buckets,
        ) = (1, 8, 8, 1024);
    }
    let tokens = |kind: &str, lang: Lang| ModelSpec::from_kind(kind, lang, 2).unwrap().network_tokens();
    assert_eq!(tokens("gru", Lang::En), NetworkTokens::default());
    assert_eq!(tokens("nbsvm", Lang::En), NetworkTokens::default());
    let english = NetworkTokens {
        words_as_written: true,
        punctuation: true,
        hashtags_as_tags: true,
    };
    assert_eq!(tokens("best-rnn", Lang::En), english);
    assert_eq!(tokens("blend", Lang::En), english);
    assert_eq!(
        tokens("best-rnn", Lang::Ru),
        NetworkTokens::default(),
        "Russian keeps its pipeline"
    );
    assert_eq!(tokens("blend", Lang::Ru), NetworkTokens::default());
    let lemmas = Pipeline::standard(Lang::Ru, rnnlab_text::Normalize::Lemmatize, false, Vec::new());
    let punct_only = NetworkTokens {
        punctuation: true,
        ..NetworkTokens::default()
    };
    let russian = punct_only.apply(&lemmas);
    assert!(russian.needs_lemmatizer() && !russian.drops_punctuation() && lemmas.drops_punctuation());
    assert_eq!(NetworkTokens::default().apply(&lemmas), lemmas);
    let raw_pipeline = stemmed
        .without_normalization()
        .with_punctuation()
        .with_hashtags_as_tags();
    assert_eq!(spec.network_pipeline(&prep), Some(raw_pipeline.clone()));
    let stems: std::collections::HashSet<&String> = prep.tokens.iter().flatten().collect();
    let out = out_dir("raw-words");
    let train = |prep: &Prepared, spec: &ModelSpec, dir: &str| -> (Pipeline, Vec<String>) {
        let dir = out.join(dir);
        train_model(prep, spec, 0, &dir, &Device::Cpu, &mut Silent).unwrap();
        let pipeline = Pipeline::load(&dir.join("pipeline.json")).unwrap();
        let words = match std::fs::read_to_string(dir.join("vocab.json")) {
            Ok(text) => {
                serde_json::from_str::<rnnlab_vectorize::Vocabulary>(&text)
                    .unwrap()
                    .tokens
            }
            Err(_) => Vec::new(),
        };
        (pipeline, words)
    };
    let (pipeline, words) = train(&prep, &spec, "best-rnn");
    assert_eq!(pipeline, raw_pipeline);
    assert!(
        words.iter().any(|w| !w.starts_with('<') && !stems.contains(w)),
        "the vocabulary has words the stemmed tokens lack"
    );
    assert!(
        words.iter().any(|w| w.chars().all(|c| c.is_ascii_punctuation())),
        "the vocabulary has punctuation: {words:?}"
    );
    let (pipeline, _) = train(&prep, &ModelSpec::from_kind("nbsvm", Lang::En, 2).unwrap(), "nbsvm");
    assert_eq!(pipeline, stemmed, "a baseline keeps the data's pipeline");
    // A blend: NB-LR on the stems, its network on the words as written; each part's directory
    // has its own pipeline, and the blend's test predictions are made that way.
    let mut blend = ModelSpec::from_kind("blend", Lang::En, 2).unwrap();
    if let ModelSpec::Blend { config, .. } = &mut blend {
        (
            config.optimisation.epochs,
            config.architecture.emb,
            config.architecture.hidden,
            config.inputs.bag_buckets,
        ) = (1, 8, 8, 1024);
    }
    let dir = out.join("blend");
    let trained = train_model(&prep, &blend, 0, &dir, &Device::Cpu, &mut Silent).unwrap();
    let saved = |part: &str| Pipeline::load(&dir.join(part).join("pipeline.json")).unwrap();
    assert_eq!(saved(""), stemmed);
    assert_eq!(saved("nbsvm"), stemmed);
    assert_eq!(saved("rnn"), raw_pipeline);
    let vocab: rnnlab_vectorize::Vocabulary =
        serde_json::from_str(&std::fs::read_to_string(dir.join("rnn/vocab.json")).unwrap()).unwrap();
    assert!(vocab.tokens.iter().any(|w| !w.starts_with('<') && !stems.contains(w)));
    let (model, _) = rnnlab_experiment::blend::Blend::load(&dir, &Device::Cpu).unwrap();
    let raw = prep.reprocessed(raw_pipeline).unwrap();
    let proba = model.predict_proba_parts(&prep.docs(2), &raw.docs(2)).unwrap();
    assert_eq!(proba, trained.test_proba);
    let swapped = model.predict_proba_parts(&raw.docs(2), &prep.docs(2)).unwrap();
    assert_ne!(
        swapped, proba,
        "the parts' tokens matter here, so the check above can fail"
    );
    prep.normalization_chosen = true;
    assert_eq!(spec.network_pipeline(&prep), None);
    let (pipeline, words) = train(&prep, &spec, "chosen");
    assert_eq!(pipeline, stemmed, "the user's choice wins");
    assert!(words.iter().all(|w| w.starts_with('<') || stems.contains(w)));
    std::fs::remove_dir_all(&out).ok();
}

/// Hashtag segmentation learns its words from the training rows only, and the fitted counts
/// are the prepared data's pipeline, which every model directory saves.
#[test]
fn hashtag_segmentation_learns_from_training_rows_only() {
    use rnnlab_text::dataset::{Dataset, Split};
    let rows = [
        ("stop hate, stop it #stophate", "1", Split::Train),
        ("we stop hate together", "1", Split::Train),
        ("a lovely sunny day", "0", Split::Train),
        ("lovely sunny weather", "0", Split::Val),
        ("stop hate please", "1", Split::Val),
        ("#stophate #greenpeace", "1", Split::Test),
        ("green peace green peace green peace", "0", Split::Test),
    ];
    let data = Dataset {
        name: "tags".into(),
        lang: Some(Lang::En),
        ids: (0..rows.len()).map(|i| i.to_string()).collect(),
        texts: rows.iter().map(|r| r.0.to_string()).collect(),
        labels: rows.iter().map(|r| r.1.to_string()).collect(),
        splits: rows.iter().map(|r| r.2).collect(),
        invalid_utf8_rows: 0,
        files: Vec::new(),
        warnings: Vec::new(),
    };
    let cols = Columns {
        text: "text".into(),
        label: "label".into(),
        id: None,
    };
    let pipeline =
        Pipeline::standard(Lang::En, rnnlab_text::Normalize::None, false, Vec::new()).with_hashtag_segmentation(2);
    let pre = Preprocessor::new(pipeline, None).unwrap();
    let prep = Prepared::new("tags", &data, cols, &pre, Some("1")).unwrap();
    // "stop" and "hate" are seen twice in training: the hashtag splits; "green" and "peace"
    // are only in the test rows: it stays whole.
    assert_eq!(prep.tokens[5], ["stop", "hate", "greenpeace"]);
    assert_eq!(prep.tokens[0], ["stop", "hate", "stop", "stop", "hate"]);
    let seg = prep.pipeline.steps.iter().find_map(|s| match s {
        rnnlab_text::Step::SegmentHashtags(seg) => Some(seg.clone()),
        _ => None,
    });
    let seg = seg.expect("the pipeline keeps its segmenter");
    assert!(seg.is_fitted() && !seg.words.contains_key("green"));
    // The saved pipeline (a model directory's pipeline.json) splits the same way.
    let again = Preprocessor::new(Pipeline::from_json(&prep.pipeline.to_json()).unwrap(), None).unwrap();
    assert!(!again.needs_fit());
    assert_eq!(again.process(&data.texts[5]), prep.tokens[5]);
}

/// `set_refit` reaches every part (a blend's network and its NB-LR), the runs record it and the
/// report says it; without it nothing refits.
#[test]
fn refit_reaches_every_part_and_the_report_says_so() {
    let prep = demo_slice(7, 300);
    let mut blend = ModelSpec::from_kind("blend", Lang::En, 2).unwrap();
    if let ModelSpec::Blend { config, .. } = &mut blend {
        (
            config.optimisation.epochs,
            config.architecture.emb,
            config.architecture.hidden,
            config.inputs.bag_buckets,
        ) = (1, 8, 8, 1024);
    }
    let mut specs = vec![ModelSpec::from_kind("nbsvm", Lang::En, 2).unwrap(), blend];
    assert!(specs.iter().all(|s| !s.refit()));
    specs.iter_mut().for_each(|s| s.set_refit(true));
    assert!(specs.iter().all(ModelSpec::refit));
    if let ModelSpec::Blend { config, params, .. } = &specs[1] {
        assert!(
            config.optimisation.refit && params.refit == Some(true),
            "both parts of a blend"
        );
    }
    let out = out_dir("refit");
    let plan = Plan {
        specs,
        seeds: 1,
        quick: true,
        out: out.clone(),
        reference: Vec::new(),
        command: "test".into(),
        device: Device::Cpu,
        resume: false,
    };
    let mut obs = Quiet(Silent, Vec::new());
    let report = run(&prep, json!({"name": "demo"}), &plan, &mut obs).unwrap();
    assert!(obs.1.is_empty(), "{:?}", obs.1);
    assert_eq!(report["refit"], true);
    let runs = |i: usize| report["models"][i]["runs"][0].clone();
    assert_eq!(runs(0)["refit"], true);
    assert_eq!(runs(1)["params"]["rnn"]["refit"], true);
    assert!(std::fs::read_to_string(out.join("report.md"))
        .unwrap()
        .contains("**Refit**"));
    std::fs::remove_dir_all(&out).ok();
}
