//! `rnnlab train`, `eval` and `predict` end to end, on small files and on the real data.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{data_dir, rnnlab, stderr, test_dir};

/// A small two-class corpus with string labels.
fn write_corpus(dir: &Path) -> (PathBuf, PathBuf) {
    let pos = [
        "great movie loved it",
        "what a great film",
        "loved the acting, great",
        "fun and great",
    ];
    let neg = [
        "awful movie hated it",
        "what an awful film",
        "hated the acting, awful",
        "boring and awful",
    ];
    let mut train = String::from("id,review,sentiment\n");
    for i in 0..40 {
        let (t, l) = if i % 2 == 0 {
            (pos[i % 4], "positive")
        } else {
            (neg[i % 4], "negative")
        };
        train.push_str(&format!("{i},\"{t} {i}\",{l}\n"));
    }
    let test =
        "id,review,sentiment\n100,great great film,positive\n101,awful boring movie,negative\n102,loved it,positive\n";
    let (a, b) = (dir.join("train.csv"), dir.join("test.csv"));
    std::fs::write(&a, train).unwrap();
    std::fs::write(&b, test).unwrap();
    (a, b)
}

/// `rnnlab train` on `write_corpus`'s files (columns `review` and `sentiment`, English), with
/// `flags` after.
fn train_corpus(train: &Path, test: &Path, flags: &[&str]) -> Output {
    corpus_command("train", train, test, flags)
}

/// `rnnlab COMMAND` (`train` or `cv`) on `write_corpus`'s files, with `flags` after.
fn corpus_command(command: &str, train: &Path, test: &Path, flags: &[&str]) -> Output {
    let mut args = vec![
        command,
        "--train",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--text-column",
        "review",
        "--label-column",
        "sentiment",
        "--lang",
        "en",
    ];
    args.extend_from_slice(flags);
    rnnlab(&args)
}

#[test]
fn train_eval_predict_with_string_labels() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    let out = dir.path().join("model");
    let o = train_corpus(
        &train,
        &test,
        &[
            "--id-column",
            "id",
            "--model",
            "tfidf-logreg",
            "--min-df",
            "1",
            "--hidden",
            "8",
            "--word-dropout",
            "0.1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("note: --hidden, --word-dropout are not used by tfidf-logreg"),
        "{}",
        stderr(&o)
    );
    for f in [
        "model.json",
        "vectorizer.json",
        "model.safetensors",
        "pipeline.json",
        "metrics.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["kind"], "tfidf-logreg");
    assert_eq!(m["labels"], serde_json::json!(["negative", "positive"]));
    assert_eq!(m["positive_label"], "positive");
    assert!(m["threshold"].as_f64().is_some());
    assert_eq!(m["test"]["confusion"].as_array().unwrap().len(), 2);
    assert!(m["test"]["f1"].as_f64().unwrap() > 0.5);
    assert!(m["timings"]["train_s"].as_f64().is_some());

    let o = rnnlab(&["eval", out.to_str().unwrap(), "--input", test.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["rows"], 3);
    assert!(e["metrics"]["accuracy"].as_f64().unwrap() >= 2.0 / 3.0);

    let o = rnnlab(&["predict", out.to_str().unwrap(), "a great film", "awful, boring", ""]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "text,label,p_negative,p_positive");
    assert!(lines[1].starts_with("a great film,positive,"), "{text}");
    assert!(lines[2].starts_with("\"awful, boring\",negative,"), "{text}");
    assert_eq!(lines.len(), 4, "an empty text still gets a prediction");

    let pred = dir.path().join("pred.csv");
    let o = rnnlab(&[
        "predict",
        out.to_str().unwrap(),
        "--input",
        test.to_str().unwrap(),
        "--output",
        pred.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = std::fs::read_to_string(&pred).unwrap();
    assert!(p.starts_with("id,label,p_negative,p_positive\n100,positive,"), "{p}");

    // A file longer than one batch (50,000 rows), with quoted line breaks: every row once, in
    // order, each predicted as it is alone; the output appears whole or not at all.
    let rows = 120_003;
    let long = dir.path().join("long.csv");
    let mut csv = String::from("id,review\n");
    let kinds = ["\"a great\nfilm\"", "awful boring", "\"great, \"\"fun\"\"\""];
    for i in 0..rows {
        csv.push_str(&format!("{i},{}\n", kinds[i % 3]));
    }
    std::fs::write(&long, csv).unwrap();
    let pred = dir.path().join("long-pred.csv");
    let o = rnnlab(&[
        "predict",
        out.to_str().unwrap(),
        "--input",
        long.to_str().unwrap(),
        "--output",
        pred.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = std::fs::read_to_string(&pred).unwrap();
    let lines: Vec<&str> = p.lines().collect();
    assert_eq!(lines.len(), rows + 1);
    let short = dir.path().join("short.csv");
    std::fs::write(
        &short,
        format!("id,review\n0,{}\n1,{}\n2,{}\n", kinds[0], kinds[1], kinds[2]),
    )
    .unwrap();
    let alone = rnnlab(&["predict", out.to_str().unwrap(), "--input", short.to_str().unwrap()]);
    let alone = String::from_utf8(alone.stdout).unwrap();
    let want: Vec<&str> = alone.lines().skip(1).map(|l| l.split_once(',').unwrap().1).collect();
    assert_eq!(want.len(), 3, "{alone}");
    for (i, line) in lines[1..].iter().enumerate() {
        let (id, rest) = line.split_once(',').unwrap();
        assert_eq!(id, i.to_string());
        assert_eq!(rest, want[i % 3], "row {i}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp-"))
            .count(),
        0,
        "no temporary file left"
    );
}

/// `fasttext`: trains from the shared flags (`--emb`, `--epochs`, `--ngram-range`) and its own
/// (`--buckets`, `--minn`, `--maxn`), reads the anchor's split, and its directory serves `predict`
/// and `eval`; flags it does not read are noted, bad values are exit 2.
#[test]
fn fasttext_trains_predicts_and_evaluates() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    let out = dir.path().join("ft");
    let o = train_corpus(
        &train,
        &test,
        &[
            "--model",
            "fasttext",
            "--emb",
            "16",
            "--epochs",
            "20",
            "--buckets",
            "10000",
            "--minn",
            "3",
            "--maxn",
            "4",
            "--ngram-range",
            "1,2",
            "--c",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("note: --c is not used by fasttext"),
        "{}",
        stderr(&o)
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["kind"], "fasttext");
    assert_eq!(m["params"]["dim"], 16);
    assert_eq!(m["params"]["buckets"], 10000);
    assert!(m["test"]["accuracy"].as_f64().unwrap() >= 2.0 / 3.0, "{m}");
    let pipeline = std::fs::read_to_string(out.join("pipeline.json")).unwrap();
    assert!(pipeline.contains("\"simple\": true"), "the anchor's split: {pipeline}");
    let o = rnnlab(&["predict", out.to_str().unwrap(), "a great film", "awful, boring", ""]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.lines().nth(1).unwrap().starts_with("a great film,positive,"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4);
    let o = rnnlab(&["eval", out.to_str().unwrap(), "--input", test.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for bad in [["--ngram-range", "2,3"], ["--maxn", "20"], ["--emb", "0"]] {
        let o = train_corpus(
            &train,
            &test,
            &[
                "--model",
                "fasttext",
                bad[0],
                bad[1],
                "--out",
                dir.path().join("x").to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(bad[0]), "{bad:?}: {}", stderr(&o));
    }
}

/// `--out` is checked before any work: a used directory needs `--overwrite`, which replaces it
/// whole; nothing is left beside it.
#[test]
fn out_is_checked_first_and_replaced_whole() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    let out = dir.path().join("used");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let flags = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["--model", "nb", "--min-df", "1", "--out", out.to_str().unwrap()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&str]| {
        let f = flags(extra);
        train_corpus(&train, &test, &f.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--overwrite") && !stderr(&o).contains("training"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
    let o = run(&["--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("model.json").is_file() && !out.join("notes.txt").exists());
    let beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

/// `--refit` is every kind's flag: a baseline fits again on training + validation rows and
/// says so in `metrics.json`, keeping the threshold chosen on validation.
#[test]
fn refit_is_a_flag_of_every_kind() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    let metrics = |name: &str, flags: &[&str]| -> serde_json::Value {
        let out = dir.path().join(name);
        let mut all = vec!["--model", "nbsvm", "--min-df", "1", "--out", out.to_str().unwrap()];
        all.extend_from_slice(flags);
        let o = train_corpus(&train, &test, &all);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!stderr(&o).contains("note:"), "{}", stderr(&o));
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
    };
    let (plain, refit) = (metrics("plain", &[]), metrics("refit", &["--refit"]));
    assert_eq!(plain.get("refit"), None);
    assert_eq!(refit["refit"], true);
    assert_eq!(
        refit["threshold"], plain["threshold"],
        "the threshold is the first fit's"
    );
    assert_eq!(refit["val"], plain["val"], "validation figures are the first fit's");
    assert!(
        refit["n_features"].as_u64().unwrap() > plain["n_features"].as_u64().unwrap(),
        "the refit also reads the validation rows' words (each row ends in its own number)"
    );
}

#[test]
fn bad_training_input_is_exit_2() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    let one_class = dir.path().join("one.csv");
    std::fs::write(
        &one_class,
        "text,label\na,x\nb,x\nc,x\nd,x\ne,x\nf,x\ng,x\nh,x\ni,x\nj,x\n",
    )
    .unwrap();
    let o = rnnlab(&[
        "train",
        "--train",
        one_class.to_str().unwrap(),
        "--test",
        one_class.to_str().unwrap(),
        "--lang",
        "en",
        "--model",
        "nb",
        "--out",
        dir.path().join("m1").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 distinct"), "{}", stderr(&o));

    let missing = dir.path().join("missing.csv");
    std::fs::write(&missing, "text,label\na,x\nb,\n").unwrap();
    let o = rnnlab(&[
        "train",
        "--train",
        missing.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--lang",
        "en",
        "--model",
        "nb",
        "--out",
        dir.path().join("m2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("row 2"), "{}", stderr(&o));

    let o = train_corpus(
        &train,
        &test,
        &[
            "--model",
            "count-logreg",
            "--min-df",
            "1000",
            "--out",
            dir.path().join("m3").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("min_df"), "{}", stderr(&o));

    let o = rnnlab(&[
        "train",
        "--dataset",
        "twitter-hate-speech",
        "--model",
        "transformer",
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nbsvm"), "{}", stderr(&o));

    let o = rnnlab(&["eval", "/no/such/model", "--input", test.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

/// A file in another encoding is refused with a hint, read right with `--encoding`; a little
/// damage warns; a repeated column and a negative seed are errors that say what is wrong.
#[test]
fn encodings_headers_and_seeds_are_checked() {
    let dir = test_dir();
    let mut text = String::from("text,label\n");
    for i in 0..30 {
        text.push_str(&format!(
            "отличный банк спасибо {i},pos\nужасный сервис очередь {i},neg\n"
        ));
    }
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
    let legacy = dir.path().join("legacy.csv");
    std::fs::write(&legacy, &cp1251).unwrap();
    let file = legacy.to_str().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let train = |file: &str, extra: &[&str], out: &str| {
        let mut args = vec![
            "train", "--train", file, "--test", file, "--lang", "ru", "--model", "nb", "--out", out,
        ];
        args.extend_from_slice(extra);
        rnnlab(&args)
    };
    let o = train(file, &[], &out("m1"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("legacy.csv") && stderr(&o).contains("--encoding"),
        "{}",
        stderr(&o)
    );
    let o = train(file, &["--encoding", "cp1251"], &out("m2"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("m2/metrics.json")).unwrap()).unwrap();
    assert!(metrics["test"]["accuracy"].as_f64().unwrap() > 0.9, "{metrics}");

    // One damaged row in 60 (1.7 %): trained, with a warning naming the count.
    let mut damaged = text.clone().into_bytes();
    let at = damaged.iter().position(|&b| b == b'\n').unwrap() + 1;
    damaged.splice(at..at, [0xff, 0xfe]);
    let some = dir.path().join("some.csv");
    std::fs::write(&some, &damaged).unwrap();
    let o = train(some.to_str().unwrap(), &[], &out("m3"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning") && stderr(&o).contains("1 of 60"),
        "{}",
        stderr(&o)
    );

    let dup = dir.path().join("dup.csv");
    std::fs::write(&dup, "text,label,label\na,x,y\n").unwrap();
    let o = train(dup.to_str().unwrap(), &[], &out("m4"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("\"label\" twice"), "{}", stderr(&o));

    let o = train(some.to_str().unwrap(), &["--seed", "-1"], &out("m5"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("whole number"), "{}", stderr(&o));
}

#[test]
fn baselines_on_hate_speech() {
    let Some(data) = data_dir() else { return };
    let dir = test_dir();
    for (kind, floor) in [("tfidf-logreg", 0.70), ("nbsvm", 0.70)] {
        let out = dir.path().join(format!("hate-{kind}"));
        let o = rnnlab(&[
            "train",
            "--dataset",
            "twitter-hate-speech",
            "--data-dir",
            data.to_str().unwrap(),
            "--model",
            kind,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
        let f1 = m["test"]["f1"].as_f64().unwrap();
        assert!(f1 > floor, "{kind}: test F1 {f1}");
        assert_eq!(m["labels"], serde_json::json!([0, 1]));
        let conf = &m["test"]["confusion"];
        let total: u64 = conf
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap())
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(total, 3_197);
    }
    // The benchmarks of a trained model: in memory, and over a file as `predict` streams it.
    let model = dir.path().join("hate-nbsvm");
    let hate = ["--dataset", "twitter-hate-speech", "--data-dir", data.to_str().unwrap()];
    let mut args = vec!["bench", "predict", model.to_str().unwrap(), "--repeat", "1"];
    args.extend(hate);
    let o = rnnlab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(b["docs"], 3_197);
    assert!(b["docs_per_s"].as_f64().unwrap() > 0.0, "{b}");
    args.extend(["--rows", "70000"]);
    let o = rnnlab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (b["bench"].as_str(), b["rows"].as_u64()),
        (Some("predict-file"), Some(70_000)),
        "{b}"
    );
    assert!(b["peak_rss_mb"].as_f64().unwrap() > 1.0, "{b}");
}

#[test]
fn bench_vectorize_prints_json() {
    let Some(dir) = data_dir() else { return };
    let o = rnnlab(&[
        "bench",
        "vectorize",
        "--dataset",
        "twitter-hate-speech",
        "--data-dir",
        dir.to_str().unwrap(),
        "--kind",
        "hashing",
        "--repeat",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["docs"], 25_569);
    assert_eq!(v["features"], 262_144);
}

#[test]
fn recurrent_train_predict_eval_and_bad_flags() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    let out = dir.path().join("gru-model");
    let o = train_corpus(
        &train,
        &test,
        &[
            "-q",
            "--model",
            "gru",
            "--bidirectional",
            "--pooling",
            "max",
            "--emb",
            "8",
            "--hidden",
            "8",
            "--char-buckets",
            "1024",
            "--char-dim",
            "4",
            "--epochs",
            "3",
            "--min-count",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "model.json",
        "model.safetensors",
        "vocab.json",
        "pipeline.json",
        "metrics.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["kind"], "gru");
    assert_eq!(metrics["curve"].as_array().unwrap().len(), 3);
    assert_eq!(
        (&metrics["params"]["char_buckets"], &metrics["params"]["char_dim"]),
        (&serde_json::json!(1024), &serde_json::json!(4)),
        "the character n-gram flags reach the network"
    );
    assert!(metrics["threshold"].as_f64().is_some());
    // An empty text still gets a prediction.
    let p = rnnlab(&["predict", out.to_str().unwrap(), "", "great film"]);
    assert!(p.status.success(), "{}", stderr(&p));
    let lines: Vec<String> = String::from_utf8_lossy(&p.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let e = rnnlab(&["eval", out.to_str().unwrap(), "--input", test.to_str().unwrap()]);
    assert!(e.status.success(), "{}", stderr(&e));
    // Bad neural flags are bad usage (exit 2) with the flag named.
    for (flag, value) in [
        ("--pooling", "sum"),
        ("--dropout", "1.5"),
        ("--device", "tpu"),
        ("--optimizer", "sgd"),
        ("--bag-maxn", "20"),
        ("--bag-buckets", "999999999"),
        ("--label-smoothing", "1.5"),
        ("--bag-nb", "true"),
        ("--char-buckets", "99999999"),
    ] {
        let o = train_corpus(
            &train,
            &test,
            &[
                "--model",
                "lstm",
                flag,
                value,
                "--out",
                dir.path().join("never").to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", stderr(&o));
        assert!(stderr(&o).contains(flag), "{flag}: {}", stderr(&o));
    }
}

/// `--init-from LM_DIR`: a language model trained on the same table's texts starts a
/// classifier (ULMFiT); widths that differ are bad usage naming the flag.
#[test]
fn a_classifier_starts_from_a_language_model_of_its_texts() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    // Enough rows that the validation tenth holds ten windows of text for the language model.
    let rows = std::fs::read_to_string(&train).unwrap();
    let body: String = rows.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&train, format!("id,review,sentiment\n{}", body.repeat(3))).unwrap();
    let lm = dir.path().join("lm");
    let small = ["--emb", "8", "--hidden", "8", "--layers", "1", "--epochs", "2"];
    let mut args = vec!["-q", "--task", "lm", "--model", "lstm", "--out", lm.to_str().unwrap()];
    args.extend(small);
    let o = train_corpus(&train, &test, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        lm.join("pipeline.json").is_file(),
        "the table's texts went through the pipeline"
    );
    let out = dir.path().join("clf");
    let mut args = vec![
        "-q",
        "--model",
        "lstm",
        "--init-from",
        lm.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(small);
    let o = train_corpus(&train, &test, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert!(
        m["params"]["init_from"].as_str().is_some_and(|p| p.ends_with("lm")),
        "{m}"
    );
    let o = train_corpus(
        &train,
        &test,
        &[
            "--model",
            "lstm",
            "--init-from",
            lm.to_str().unwrap(),
            "--emb",
            "16",
            "--hidden",
            "8",
            "--out",
            dir.path().join("never").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--emb 8"), "{}", stderr(&o));
}

/// `blend`: the directory holds `model.json` and two whole model directories; `predict` reads
/// the blend and each part; a missing part is an error naming its file.
#[test]
fn blend_train_predict_eval_and_a_damaged_part() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    let out = dir.path().join("blend-model");
    let o = train_corpus(
        &train,
        &test,
        &[
            "-q",
            "--model",
            "blend",
            "--emb",
            "8",
            "--hidden",
            "8",
            "--bag-buckets",
            "1024",
            "--epochs",
            "2",
            "--min-count",
            "1",
            "--c",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("note:"),
        "a blend uses both flag groups: {}",
        stderr(&o)
    );
    for f in [
        "model.json",
        "pipeline.json",
        "metrics.json",
        "rnn/model.safetensors",
        "nbsvm/model.safetensors",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["kind"], "blend");
    let w = metrics["blend_weight"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&w), "{w}");
    assert_eq!(
        metrics["params"]["nbsvm"]["logreg"]["C"], 2.0,
        "baseline flags reach the NB-LR part"
    );
    assert_eq!(
        metrics["params"]["rnn"]["hidden"], 8,
        "network flags reach the recurrent part"
    );
    assert_eq!(
        metrics["params"]["rnn"]["bag_nb"], true,
        "best-rnn weighs a binary task's bag by NB ratios"
    );
    assert_eq!(metrics["params"]["rnn"]["bag_wide"], true, "and has the wide part");
    // The blend's probabilities are w NB-LR + (1 - w) network, part by part.
    let p1 = |dir: &std::path::Path| -> Vec<f64> {
        let p = rnnlab(&["predict", dir.to_str().unwrap(), "", "great film", "awful movie"]);
        assert!(p.status.success(), "{}", stderr(&p));
        String::from_utf8_lossy(&p.stdout)
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
            .collect()
    };
    let (blend, rnn, nb) = (p1(&out), p1(&out.join("rnn")), p1(&out.join("nbsvm")));
    assert_eq!(blend.len(), 3);
    for i in 0..3 {
        assert!(
            (blend[i] - (w * nb[i] + (1.0 - w) * rnn[i])).abs() < 1e-5,
            "{blend:?} {rnn:?} {nb:?}"
        );
    }
    let e = rnnlab(&["eval", out.to_str().unwrap(), "--input", test.to_str().unwrap()]);
    assert!(e.status.success(), "{}", stderr(&e));
    std::fs::remove_file(out.join("nbsvm/model.safetensors")).unwrap();
    let p = rnnlab(&["predict", out.to_str().unwrap(), "great film"]);
    // A file missing from the directory is bad input (exit 2), as a missing input file is.
    assert_eq!(p.status.code(), Some(2), "{}", stderr(&p));
    let err = stderr(&p);
    assert!(err.contains("nbsvm/model.safetensors"), "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "the cause once: {err}");
}

#[test]
fn experiment_quick_on_the_demo_corpus() {
    let dir = test_dir();
    let out = dir.path().join("demo-report");
    let o = rnnlab(&[
        "-q",
        "experiment",
        "--quick",
        "--models",
        "nb,rnn",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("| nb |") && table.contains("| rnn |"), "{table}");
    for f in ["report.json", "report.md", "report.html"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(report["dataset"]["note"].as_str().unwrap().contains("synthetic"));
    // A model of the report works with predict right away.
    let p = rnnlab(&[
        "predict",
        out.join("models/rnn/seed0").to_str().unwrap(),
        "not bad at all",
    ]);
    assert!(p.status.success(), "{}", stderr(&p));
    let bad = rnnlab(&[
        "experiment",
        "--models",
        "svm",
        "--out",
        dir.path().join("never2").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("known:"), "{}", stderr(&bad));
}

/// `best-rnn`'s `--bag-nb` and `--bag-wide` are a binary task's defaults: without a bag a
/// binary task is told how to turn them off, and a three-class task trains without them.
#[test]
fn best_rnn_sets_bag_nb_and_wide_for_binary_tasks_only() {
    let dir = test_dir();
    let (binary, test) = write_corpus(dir.path());
    let three = dir.path().join("three.csv");
    let mut rows = String::from("id,review,sentiment\n");
    for i in 0..60 {
        let (t, l) = [
            ("great film", "positive"),
            ("awful film", "negative"),
            ("a film", "neutral"),
        ][i % 3];
        rows.push_str(&format!("{i},{t} {i},{l}\n"));
    }
    std::fs::write(&three, rows).unwrap();
    let train = |data: &Path, out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let mut flags = vec![
            "-q",
            "--model",
            "best-rnn",
            "--bag-buckets",
            "0",
            "--emb",
            "8",
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        flags.extend_from_slice(extra);
        train_corpus(data, if data == three { &three } else { &test }, &flags)
    };
    let o = train(&binary, "binary", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--bag-wide false --bag-nb false"), "{}", stderr(&o));
    assert!(!dir.path().join("binary").exists());
    let o = train(&three, "three", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("three/metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["params"]["bag_nb"], false);
    assert_eq!(metrics["params"]["bag_wide"], false);
    assert_eq!(metrics["labels"].as_array().unwrap().len(), 3);
    // English words unstemmed, punctuation and hashtags as tags kept, best-rnn's recipe;
    // --stem, the user's choice, keeps the user's pipeline whole: stems, punctuation dropped.
    let pipeline_steps = |model: &str| -> Vec<serde_json::Value> {
        let p: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(model).join("pipeline.json")).unwrap())
                .unwrap();
        p["steps"].as_array().unwrap().clone()
    };
    let steps = |model: &str| -> Vec<String> {
        pipeline_steps(model)
            .iter()
            .map(|s| s["type"].as_str().unwrap().to_string())
            .collect()
    };
    let hashtag_word = |model: &str| -> Vec<serde_json::Value> {
        pipeline_steps(model)
            .iter()
            .filter(|s| s["type"] == "tokenize")
            .map(|s| s["hashtag_word"].clone())
            .collect()
    };
    assert!(steps("three").contains(&"drop_stopwords".to_string()));
    assert!(
        !steps("three").contains(&"drop_punctuation".to_string()),
        "{:?}",
        steps("three")
    );
    assert!(!steps("three").contains(&"stem".to_string()), "{:?}", steps("three"));
    assert_eq!(hashtag_word("three"), [serde_json::json!(false)]);
    let o = train(&three, "stemmed", &["--stem"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(steps("stemmed").last().map(String::as_str), Some("stem"));
    assert!(steps("stemmed").contains(&"drop_punctuation".to_string()));
    assert_eq!(hashtag_word("stemmed"), [serde_json::json!(true)]);
}

#[test]
fn cv_scores_every_training_row_once_and_refuses_bad_folds() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    let out = dir.path().join("cv");
    let o = corpus_command(
        "cv",
        &train,
        &test,
        &["--model", "nbsvm", "--folds", "3", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("| seed | held 0 | held 1 | held 2 | pooled f1 |"),
        "{table}"
    );
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("cv.json")).unwrap()).unwrap();
    assert_eq!(doc["folds"], 3);
    assert_eq!(doc["kind"], "nbsvm");
    let training_rows = doc["training_rows"].as_u64().unwrap();
    // 40 rows, a tenth of them for validation.
    assert_eq!(training_rows, 36);
    let confusion = doc["runs"][0]["pooled"]["confusion"].as_array().unwrap();
    let total: u64 = confusion
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, training_rows, "every training row held out once");
    for f in 0..3 {
        assert!(out.join(format!("seed-0/fold-{f}/metrics.json")).is_file());
    }
    // A network runs once per seed; the summary covers the seeds. `cv_gru` runs a one-epoch
    // GRU on two folds into `out` with `flags`, and returns what it printed and its cv.json.
    let cv_gru = |out: &Path, flags: &[&str]| -> (String, serde_json::Value) {
        let mut args = vec![
            "--model",
            "gru",
            "--epochs",
            "1",
            "--folds",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(flags);
        let o = corpus_command("cv", &train, &test, &args);
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        let doc = serde_json::from_str(&std::fs::read_to_string(out.join("cv.json")).unwrap()).unwrap();
        (String::from_utf8_lossy(&o.stdout).into_owned(), doc)
    };
    let out2 = dir.path().join("cv-gru");
    let (printed, doc) = cv_gru(&out2, &["--seeds", "2"]);
    assert!(printed.contains("pooled f1 over 2 seeds"), "{printed}");
    assert_eq!(doc["runs"].as_array().unwrap().len(), 2);
    assert_eq!(doc["summary"]["n"], 2);
    // --first-seed: seed 1 alone, in another folder, is the same run as the first one's seed 1,
    // and --against pairs the two on it.
    let out_s1 = dir.path().join("cv-gru-seed1");
    let (printed, one) = cv_gru(&out_s1, &["--first-seed", "1", "--against", out2.to_str().unwrap()]);
    assert!(printed.contains("minus gru (--against)"), "{printed}");
    assert_eq!(one["runs"].as_array().unwrap().len(), 1);
    assert_eq!(one["runs"][0]["seed"], 1);
    assert_eq!(one["runs"][0]["held"], doc["runs"][1]["held"], "seed 1 again");
    assert_eq!(one["against"]["seeds"], serde_json::json!([1]));
    assert!(out_s1.join("seed-1/fold-0/metrics.json").is_file());
    // --against the first run (its folder): the difference, printed and in cv.json.
    let out3 = dir.path().join("cv-against");
    let o = corpus_command(
        "cv",
        &train,
        &test,
        &[
            "--model",
            "nb",
            "--folds",
            "3",
            "--against",
            out.to_str().unwrap(),
            "--out",
            out3.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("minus nbsvm (--against)"));
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out3.join("cv.json")).unwrap()).unwrap();
    assert_eq!(doc["against"]["kind"], "nbsvm");
    // Bad flags: exit 2, the flag named, nothing written.
    for (flags, says) in [
        (&["--model", "nbsvm", "--folds", "1"][..], "--folds 1"),
        (&["--model", "nbsvm", "--seeds", "0"][..], "--seeds"),
        (&["--model", "nbsvm", "--folds", "30"][..], "fewer than the 30 folds"),
        (&["--model", "nope"][..], "unknown model kind"),
        (
            &["--model", "nb", "--against", "/nonexistent/cv.json"][..],
            "/nonexistent/cv.json",
        ),
        (
            &["--model", "nb", "--against", train.to_str().unwrap()][..],
            "train.csv",
        ),
    ] {
        let bad = dir.path().join("bad");
        let mut args = flags.to_vec();
        args.extend(["--out", bad.to_str().unwrap()]);
        let o = corpus_command("cv", &train, &test, &args);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{flags:?}: {}", stderr(&o));
        assert!(!bad.exists(), "{flags:?} wrote {}", bad.display());
    }
}

/// A recipe file gives the flags (the command line wins), the model directory keeps the run's
/// flags as `recipe.toml`, and training again from that file gives the same model; a key that
/// is not a flag is exit 2 naming the file.
#[test]
fn a_recipe_file_trains_and_the_model_directory_repeats_it() {
    let dir = test_dir();
    let (train, test) = write_corpus(dir.path());
    let recipe = dir.path().join("recipe.toml");
    std::fs::write(
        &recipe,
        format!(
            "model = \"lstm\"\nseed = 3\n[data]\ntrain = {:?}\ntest = {:?}\ntext-column = \"review\"\n\
             label_column = \"sentiment\"\nlang = \"en\"\n[neural]\nemb = 8\nhidden = 8\nepochs = 3\n",
            train.to_str().unwrap(),
            test.to_str().unwrap()
        ),
    )
    .unwrap();
    let first = dir.path().join("first");
    let o = rnnlab(&[
        "train",
        "--config",
        recipe.to_str().unwrap(),
        "--hidden",
        "6",
        "--out",
        first.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(first.join("model.json")).unwrap()).unwrap();
    assert_eq!(card["params"]["hidden"], 6, "the command line wins");
    assert_eq!(card["params"]["emb"], 8, "the file's value");
    let kept = std::fs::read_to_string(first.join("recipe.toml")).unwrap();
    for line in [
        "model = \"lstm\"",
        "hidden = 6",
        "emb = 8",
        "seed = 3",
        "text-column = \"review\"",
    ] {
        assert!(kept.lines().any(|l| l == line), "{line} in {kept}");
    }
    assert!(!kept.contains("out ="), "{kept}");

    let second = dir.path().join("second");
    let kept_path = first.join("recipe.toml");
    let o = rnnlab(&[
        "train",
        "--config",
        kept_path.to_str().unwrap(),
        "--out",
        second.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let metrics = |d: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("metrics.json")).unwrap()).unwrap()
    };
    assert_eq!(metrics(&first)["test"], metrics(&second)["test"], "the same run again");
    assert_eq!(
        metrics(&first)["curve"][2]["train_loss"],
        metrics(&second)["curve"][2]["train_loss"]
    );

    std::fs::write(&recipe, "hiden = 3\n").unwrap();
    let o = rnnlab(&[
        "train",
        "--config",
        recipe.to_str().unwrap(),
        "--model",
        "nb",
        "--out",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("recipe.toml") && stderr(&o).contains("hiden"),
        "{}",
        stderr(&o)
    );
}

/// Tagging through the same commands: `train` on the named treebank (task inferred), `predict`
/// prints `word<TAB>tag` and fills a CoNLL-U file's tag column keeping every other byte, `eval`
/// scores a CoNLL-U file; the feature tagger is far above the majority baseline.
#[test]
fn taggers_train_predict_and_evaluate_on_ud_english_ewt() {
    let Some(data) = data_dir() else { return };
    let dir = test_dir();
    let mut accuracy = Vec::new();
    for kind in ["majority-tagger", "feature-tagger"] {
        let out = dir.path().join(kind);
        let o = rnnlab(&[
            "train",
            "--dataset",
            "ud-english-ewt",
            "--data-dir",
            data.to_str().unwrap(),
            "--model",
            kind,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
        assert_eq!((m["task"].as_str(), m["kind"].as_str()), (Some("tag"), Some(kind)));
        assert_eq!(m["labels"].as_array().unwrap().len(), 17);
        assert_eq!(m["test"]["words"], 25_094);
        for key in ["accuracy", "accuracy_oov", "sentence_accuracy", "f1_macro"] {
            assert!(m["test"][key].as_f64().is_some(), "{key}");
        }
        assert!(m["timings"]["train_words_per_s"].as_f64().unwrap() > 0.0);
        accuracy.push(m["test"]["accuracy"].as_f64().unwrap());
    }
    assert!(accuracy[1] >= 0.93 && accuracy[1] > accuracy[0] + 0.03, "{accuracy:?}");

    let model = dir.path().join("feature-tagger");
    let o = rnnlab(&["predict", model.to_str().unwrap(), "The cat sat on the mat ."]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "The\tDET", "{text}");
    assert_eq!(lines[1], "cat\tNOUN", "{text}");
    assert_eq!(lines.len(), 8, "seven words and a blank line: {text}");

    let test = data.join("ud-english-ewt/en_ewt-ud-test.conllu");
    let filled = dir.path().join("filled.conllu");
    let o = rnnlab(&[
        "predict",
        model.to_str().unwrap(),
        "--input",
        test.to_str().unwrap(),
        "--output",
        filled.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (
        std::fs::read_to_string(&test).unwrap(),
        std::fs::read_to_string(&filled).unwrap(),
    );
    assert_eq!(a.lines().count(), b.lines().count());
    let mut changed = 0;
    for (x, y) in a.lines().zip(b.lines()) {
        let (fx, fy): (Vec<&str>, Vec<&str>) = (x.split('\t').collect(), y.split('\t').collect());
        assert_eq!(fx.len(), fy.len());
        for (i, (p, q)) in fx.iter().zip(&fy).enumerate() {
            if i != 3 {
                assert_eq!(p, q, "only the UPOS column changes: {x} / {y}");
            }
        }
        changed += usize::from(x != y);
    }
    assert!(changed > 0 && changed < 2_000, "{changed} lines differ");

    let o = rnnlab(&["eval", model.to_str().unwrap(), "--input", test.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        (e["metrics"]["accuracy"].as_f64().unwrap() - accuracy[1]).abs() < 1e-12,
        "{e}"
    );

    // A classification kind on tagging data is an error naming the tagging kinds.
    let o = rnnlab(&[
        "train",
        "--dataset",
        "ud-english-ewt",
        "--data-dir",
        data.to_str().unwrap(),
        "--model",
        "nbsvm",
        "--out",
        dir.path().join("wrong").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("feature-tagger"), "{}", stderr(&o));
}

/// Tagging from CSV: `--tokens-column/--tags-column` on `train` and `eval` (space-joined words
/// and tags), the same test figures from both; a row whose counts differ is named; a CSV
/// without the columns is refused with what to give.
#[test]
fn taggers_train_and_evaluate_on_csv_columns() {
    let dir = test_dir();
    let mut text = String::from("words,pos\n");
    let sentences = [
        ("the cat sat", "DET NOUN VERB"),
        ("a dog ran", "DET NOUN VERB"),
        ("the dog sat", "DET NOUN VERB"),
        ("a cat ran fast", "DET NOUN VERB ADV"),
        ("dogs ran", "NOUN VERB"),
    ];
    for _ in 0..20 {
        for (w, t) in sentences {
            text.push_str(&format!("\"{w}\",{t}\n"));
        }
    }
    let data = dir.path().join("tags.csv");
    std::fs::write(&data, &text).unwrap();
    let d = data.to_str().unwrap();
    let cols = ["--tokens-column", "words", "--tags-column", "pos"];
    // best-rnn: small networks, one epoch each; the blend with the feature tagger decides.
    let small = ["--emb", "8", "--hidden", "8", "--char-dim", "8", "--epochs", "1"];
    for kind in ["best-rnn", "feature-tagger"] {
        let out = dir.path().join(kind);
        let mut args = vec!["train", "--train", d, "--test", d, "--model", kind];
        args.extend(cols);
        if kind == "best-rnn" {
            args.extend(small);
        }
        args.extend(["--out", out.to_str().unwrap()]);
        let o = rnnlab(&args);
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
        assert_eq!(m["task"].as_str(), Some("tag"));
        assert_eq!(m["labels"].as_array().unwrap().len(), 4);
        let test_accuracy = m["test"]["accuracy"].as_f64().unwrap();
        assert!(test_accuracy > 0.9, "{kind}: {m}");

        let mut args = vec!["eval", out.to_str().unwrap(), "--input", d];
        args.extend(cols);
        let o = rnnlab(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(
            (e["metrics"]["accuracy"].as_f64().unwrap() - test_accuracy).abs() < 1e-12,
            "{kind}: {e}"
        );
        if kind == "best-rnn" {
            assert_eq!(m["members"].as_array().unwrap().len(), 3, "{m}");
            let w = m["blend"]["weight"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&w), "{m}");
            // A damaged card is refused by name, before anything is loaded.
            let card = out.join("model.json");
            let text = std::fs::read_to_string(&card).unwrap();
            std::fs::write(&card, text.replace("\"members\": 3", "\"members\": 100000")).unwrap();
            let o = rnnlab(&["predict", out.to_str().unwrap(), "the cat"]);
            assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
            assert!(stderr(&o).contains("members 100000"), "{}", stderr(&o));
        }
    }
    let out = dir.path().join("feature-tagger");

    let o = rnnlab(&["eval", out.to_str().unwrap(), "--input", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--tokens-column"), "{}", stderr(&o));

    // predict on CSV: the words and their tags, space-joined, a row per sentence.
    let tagged = dir.path().join("tagged.csv");
    let o = rnnlab(&[
        "predict",
        out.to_str().unwrap(),
        "--input",
        d,
        "--tokens-column",
        "words",
        "--output",
        tagged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(&tagged).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 101, "{written}");
    assert_eq!(lines[0], "words,tags");
    assert_eq!(lines[1], "the cat sat,DET NOUN VERB");
    let o = rnnlab(&[
        "predict",
        out.to_str().unwrap(),
        "--input",
        d,
        "--tokens-column",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        o.stdout.is_empty() && stderr(&o).contains("no column \"nope\""),
        "{}",
        stderr(&o)
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "words,pos\n\"the cat\",DET\n").unwrap();
    let mut args = vec!["eval", out.to_str().unwrap(), "--input", bad.to_str().unwrap()];
    args.extend(cols);
    let o = rnnlab(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.csv: row 1: 2 words"), "{}", stderr(&o));
}

/// `experiment` on the treebank: tagging's report (table, findings, per-tag table, confusion
/// heat map, learning curve), baselines once, the recurrent kind per seed; `--resume` keeps
/// every finished run (same figures, model files untouched).
#[test]
fn a_tagging_experiment_reports_and_resumes() {
    let Some(data) = data_dir() else { return };
    let dir = test_dir();
    let out = dir.path().join("exp");
    let o = rnnlab(&[
        "experiment",
        "--dataset",
        "ud-english-ewt",
        "--data-dir",
        data.to_str().unwrap(),
        "--quick",
        "--models",
        "majority-tagger,feature-tagger,rnn",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        (report["task"].as_str(), report["complete"].as_bool()),
        (Some("tag"), Some(true))
    );
    assert_eq!(report["dataset"]["sizes"]["train"], 2000);
    assert_eq!(report["dataset"]["tags"].as_array().unwrap().len(), 17);
    let models = report["models"].as_array().unwrap();
    let accuracy = |k: usize| models[k]["summary"]["accuracy"]["mean"].as_f64().unwrap();
    assert_eq!(models.len(), 3);
    assert!(
        accuracy(1) > accuracy(0) + 0.03,
        "feature tagger far above majority: {report}"
    );
    assert!(accuracy(2) > 0.5, "{report}");
    assert_eq!(models[2]["family"], "recurrent");
    assert!(out.join("models/rnn/seed0/model.safetensors").is_file());
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| model | family | accuracy % | unseen words %"), "{md}");
    assert!(md.contains("## Per tag: feature-tagger"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(
        html.matches("class=\"cell\"").count(),
        17 * 17,
        "the best model's confusion heat map"
    );
    assert!(html.contains("<polyline"), "the recurrent tagger's learning curve");

    let weights = out.join("models/rnn/seed0/model.safetensors");
    let before = std::fs::metadata(&weights).unwrap().modified().unwrap();
    let o = rnnlab(&["experiment", "--resume", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    for (a, b) in models.iter().zip(again["models"].as_array().unwrap()) {
        assert_eq!(a["runs"][0]["test"], b["runs"][0]["test"], "{}", a["kind"]);
    }
    assert_eq!(std::fs::metadata(&weights).unwrap().modified().unwrap(), before);
}

/// `cv` on the treebank: contiguous folds of the training sentences cover each once; the
/// pooled accuracy (all held words together) lies within the folds' range.
#[test]
fn tagging_cross_validation_pools_the_held_folds() {
    let Some(data) = data_dir() else { return };
    let dir = test_dir();
    let out = dir.path().join("cv");
    let o = rnnlab(&[
        "cv",
        "--dataset",
        "ud-english-ewt",
        "--data-dir",
        data.to_str().unwrap(),
        "--model",
        "feature-tagger",
        "--folds",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("cv.json")).unwrap()).unwrap();
    assert_eq!(
        (doc["task"].as_str(), doc["metric"].as_str()),
        (Some("tag"), Some("accuracy"))
    );
    let sizes: Vec<u64> = doc["fold_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 12_544);
    let run = &doc["runs"][0];
    assert_eq!(run["pooled"]["words"], 204_577);
    let held: Vec<f64> = run["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let pooled = run["pooled"]["accuracy"].as_f64().unwrap();
    let (lo, hi) = held.iter().fold((1.0f64, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(lo - 1e-4 <= pooled && pooled <= hi + 1e-4 && pooled > 0.9, "{doc}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("pooled accuracy"));
}

/// `--task lm --model kneser-ney`: on text files (one sentence a line, validation held out
/// of training) and on the treebank's word stream (the reference's 9,875 words); `eval`
/// gives the same perplexity as training reported; it does not generate.
#[test]
fn kneser_ney_language_models_train_and_evaluate() {
    let dir = test_dir();
    let text = dir.path().join("text.txt");
    let lines: String = (0..40)
        .map(|i| format!("the cat {} on the mat\n", ["sat", "lay", "slept"][i % 3]))
        .collect();
    std::fs::write(&text, lines).unwrap();
    let t = text.to_str().unwrap();
    let out = dir.path().join("kn");
    let o = rnnlab(&[
        "train",
        "--task",
        "lm",
        "--train",
        t,
        "--test",
        t,
        "--model",
        "kneser-ney",
        "--order",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(
        (m["task"].as_str(), m["params"]["order"].as_u64()),
        (Some("lm"), Some(3))
    );
    let ppl = m["test"]["perplexity"].as_f64().unwrap();
    assert!(ppl > 1.0 && ppl < 3.0, "a repetitive text is predictable: {m}");
    let o = rnnlab(&["eval", out.to_str().unwrap(), "--input", t]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["metrics"]["perplexity"].as_f64(), Some(ppl));
    let o = rnnlab(&[
        "train",
        "--task",
        "lm",
        "--train",
        t,
        "--test",
        t,
        "--model",
        "kneser-ney",
        "--order",
        "0",
        "--out",
        dir.path().join("no").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--order"), "{}", stderr(&o));
    let o = rnnlab(&["generate", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not generate"), "{}", stderr(&o));
    // experiment: the n-gram model against a network, into one perplexity report.
    let report = dir.path().join("report");
    let o = rnnlab(&[
        "experiment",
        "--task",
        "lm",
        "--train",
        t,
        "--test",
        t,
        "--models",
        "kneser-ney,gru",
        "--quick",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        (r["task"].as_str(), r["complete"].as_bool()),
        (Some("lm"), Some(true)),
        "{r}"
    );
    let kinds: Vec<&str> = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["kneser-ney", "gru"]);
    assert!(report.join("models/gru/seed0/model.safetensors").is_file());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("| kneser-ney |"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    let Some(data) = data_dir() else { return };
    let out = dir.path().join("ewt");
    let o = rnnlab(&[
        "train",
        "--dataset",
        "ud-english-ewt",
        "--data-dir",
        data.to_str().unwrap(),
        "--task",
        "lm",
        "--model",
        "kneser-ney",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["vocab_size"], 9_875);
    assert_eq!(m["test"]["tokens"], 25_094 + 2_077);
    let ppl = m["test"]["perplexity"].as_f64().unwrap();
    assert!(ppl > 80.0 && ppl < 250.0, "{m}");
    // A CSV data set's texts through the preprocessing pipeline (English: stems), saved with
    // the model and applied again by eval.
    let out = dir.path().join("hate");
    let o = rnnlab(&[
        "train",
        "--dataset",
        "twitter-hate-speech",
        "--data-dir",
        data.to_str().unwrap(),
        "--task",
        "lm",
        "--model",
        "kneser-ney",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("pipeline.json").is_file());
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let ppl = m["test"]["perplexity"].as_f64().unwrap();
    assert!(ppl > 10.0 && ppl < 2_000.0, "{m}");
    let text = dir.path().join("tweets.txt");
    std::fs::write(&text, "I love these happy days!\nThe cats are running\n").unwrap();
    let o = rnnlab(&["eval", out.to_str().unwrap(), "--input", text.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The pipeline ran: stop words and punctuation are gone (9 words and 2 <eos> raw).
    let tokens = e["metrics"]["tokens"].as_u64().unwrap();
    assert!((4..11).contains(&tokens), "{e}");
}

/// `--task lm --model lstm`: a small recurrent language model trains on a text file, beats
/// the uniform perplexity by far, `eval` repeats its test perplexity, and `generate` draws
/// words of its vocabulary, the same for the same seed, greedy equal to top-k 1.
#[test]
fn recurrent_language_models_train_evaluate_and_generate() {
    let dir = test_dir();
    let text = dir.path().join("text.txt");
    let lines: String = (0..60)
        .map(|i| format!("the cat {} on the mat\n", ["sat", "lay", "slept"][i % 3]))
        .collect();
    std::fs::write(&text, lines).unwrap();
    let t = text.to_str().unwrap();
    let out = dir.path().join("lm");
    let o = rnnlab(&[
        "train",
        "--task",
        "lm",
        "--train",
        t,
        "--test",
        t,
        "--model",
        "gru",
        "--emb",
        "16",
        "--hidden",
        "16",
        "--batch-size",
        "4",
        "--bptt",
        "8",
        "--epochs",
        "8",
        "--lr",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let vocab = m["vocab_size"].as_f64().unwrap();
    let ppl = m["test"]["perplexity"].as_f64().unwrap();
    assert!(ppl < vocab / 2.0, "{m}");
    assert_eq!(m["samples"].as_array().map(Vec::len), Some(3));
    assert!(m["timings"]["generate_tokens_per_s"].as_f64().unwrap() > 0.0);
    let o = rnnlab(&["eval", out.to_str().unwrap(), "--input", t]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!((e["metrics"]["perplexity"].as_f64().unwrap() - ppl).abs() < 1e-6 * ppl);
    let words: Vec<String> = serde_json::from_str(&std::fs::read_to_string(out.join("vocab.json")).unwrap()).unwrap();
    let gen = |extra: &[&str]| {
        let mut args = vec!["generate", out.to_str().unwrap(), "--prompt", "the cat", "-n", "4"];
        args.extend_from_slice(extra);
        let o = rnnlab(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let a = gen(&["--seed", "3", "--temperature", "1.5"]);
    assert_eq!(a.lines().count(), 4);
    for line in a.lines() {
        assert!(line.starts_with("the cat"), "{a}");
        assert!(line.split(' ').all(|w| words.iter().any(|v| v == w)), "{a}");
    }
    assert_eq!(a, gen(&["--seed", "3", "--temperature", "1.5"]));
    assert_eq!(gen(&["--greedy"]), gen(&["--top-k", "1", "--seed", "9"]));
    // A beam of 1 is the greedy sample; any beam prints one continuation.
    let greedy_line = gen(&["--greedy"]).lines().next().unwrap().to_string();
    assert_eq!(gen(&["--beam", "1"]), format!("{greedy_line}\n"));
    let beam = gen(&["--beam", "4"]);
    assert_eq!(beam.lines().count(), 1);
    assert!(beam.starts_with("the cat"), "{beam}");
    let o = rnnlab(&["generate", out.to_str().unwrap(), "--beam", "2", "--greedy"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = rnnlab(&["generate", out.to_str().unwrap(), "--top-p", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Damaged directories are refused by name.
    std::fs::write(out.join("model.safetensors"), b"nonsense").unwrap();
    let o = rnnlab(&["generate", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("model.safetensors"), "{}", stderr(&o));
}

/// `rnnlab cv --task lm`: folds of the training sentences, perplexity on each held fold and
/// pooled, into `cv.json`; the table names the metric.
#[test]
fn language_models_cross_validate_on_the_training_sentences() {
    let dir = test_dir();
    let text = dir.path().join("text.txt");
    let lines: String = (0..30)
        .map(|i| format!("the cat {} on the mat\n", ["sat", "lay", "slept"][i % 3]))
        .collect();
    std::fs::write(&text, lines).unwrap();
    let (t, out) = (text.to_str().unwrap(), dir.path().join("cv"));
    let o = rnnlab(&[
        "cv",
        "--task",
        "lm",
        "--train",
        t,
        "--test",
        t,
        "--model",
        "kneser-ney",
        "--order",
        "2",
        "--folds",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains("pooled perplexity"), "{table}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("cv.json")).unwrap()).unwrap();
    assert_eq!(
        (doc["task"].as_str(), doc["metric"].as_str()),
        (Some("lm"), Some("perplexity"))
    );
    assert_eq!(doc["runs"][0]["held"].as_array().unwrap().len(), 3);
    assert!(doc["runs"][0]["pooled"]["perplexity"].as_f64().unwrap() > 1.0, "{doc}");
    assert!(out.join("seed-0/fold-2/model.json").is_file());
}

/// `--model best-rnn` on a language-model task: two networks and the n-gram model mixed;
/// `eval` scores a file as training scored the test file, and `generate` writes with the
/// first network.
#[test]
fn a_best_rnn_language_model_trains_evaluates_and_generates() {
    let dir = test_dir();
    let text = dir.path().join("text.txt");
    let lines: String = (0..60)
        .map(|i| format!("the cat {} on the mat\n", ["sat", "lay", "slept"][i % 3]))
        .collect();
    std::fs::write(&text, lines).unwrap();
    let t = text.to_str().unwrap();
    let out = dir.path().join("best");
    let o = rnnlab(&[
        "train",
        "--task",
        "lm",
        "--train",
        t,
        "--test",
        t,
        "--model",
        "best-rnn",
        "--emb",
        "8",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--order",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["kind"], "best-rnn");
    assert_eq!(m["weights"].as_array().unwrap().len(), 3, "{m}");
    let o = rnnlab(&["eval", out.to_str().unwrap(), "--input", t]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["metrics"]["perplexity"], m["test"]["perplexity"]);
    let o = rnnlab(&["generate", out.to_str().unwrap(), "--prompt", "the", "-n", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let drawn = String::from_utf8(o.stdout).unwrap();
    assert_eq!(drawn.lines().count(), 2, "{drawn}");
    assert!(drawn.lines().all(|l| l.starts_with("the")), "{drawn}");
}

/// `--units bpe | unigram`: subword models train a tokenizer on the training words, report
/// perplexity per subword and per word, score a text through the saved tokenizer, and write
/// words (no word-start marks) when they generate.
#[test]
fn subword_language_models_train_evaluate_and_generate() {
    let dir = test_dir();
    let text = dir.path().join("text.txt");
    let lines: String = (0..60)
        .map(|i| {
            format!(
                "the {} {} on the mats\n",
                ["cats", "dogs", "birds"][i % 3],
                ["sat", "slept"][i % 2]
            )
        })
        .collect();
    std::fs::write(&text, &lines).unwrap();
    let t = text.to_str().unwrap();
    for (kind, units, extra) in [
        ("kneser-ney", "unigram", vec![]),
        ("gru", "bpe", vec!["--emb", "16", "--hidden", "16", "--epochs", "6"]),
    ] {
        let out = dir.path().join(kind);
        let mut args = vec![
            "train",
            "--task",
            "lm",
            "--units",
            units,
            "--subword-vocab",
            "30",
            "--train",
            t,
            "--test",
            t,
            "--model",
            kind,
            "--out",
        ];
        args.push(out.to_str().unwrap());
        args.extend(extra);
        let o = rnnlab(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(out.join("subword.json").is_file());
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
        assert_eq!(m["units"], units, "{m}");
        let test = &m["test"];
        let (per_unit, per_word) = (
            test["perplexity"].as_f64().unwrap(),
            test["perplexity_per_word"].as_f64().unwrap(),
        );
        assert!(per_unit > 1.0 && per_word > per_unit, "{m}");
        assert!(
            test["tokens"].as_u64().unwrap() > test["words"].as_u64().unwrap(),
            "{m}"
        );
        let o = rnnlab(&["eval", out.to_str().unwrap(), "--input", t]);
        assert!(o.status.success(), "{}", stderr(&o));
        let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!((e["metrics"]["perplexity"].as_f64().unwrap() - per_unit).abs() < 1e-6 * per_unit);
    }
    let gen = |seed: &str| {
        let o = rnnlab(&[
            "generate",
            dir.path().join("gru").to_str().unwrap(),
            "--prompt",
            "the",
            "--seed",
            seed,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let drawn = gen("3");
    assert_eq!(drawn, gen("3"), "a seed repeats its samples");
    assert_eq!(drawn.lines().count(), 3);
    for line in drawn.lines() {
        assert!(line.starts_with("the"), "{drawn}");
        assert!(line.chars().all(|c| c == ' ' || lines.contains(c)), "{drawn}");
    }
}

/// `--units char`: a character model (and the n-gram model on characters) reports perplexity
/// per character and per word; `generate` writes characters of its vocabulary after the
/// prompt, and `eval` scores a text the same way training did.
#[test]
fn character_language_models_train_evaluate_and_generate() {
    let dir = test_dir();
    let text = dir.path().join("text.txt");
    let lines: String = (0..60)
        .map(|i| format!("the cat {} on the mat\n", ["sat", "lay", "slept"][i % 3]))
        .collect();
    std::fs::write(&text, lines).unwrap();
    let t = text.to_str().unwrap();
    for (kind, extra) in [
        ("kneser-ney", vec![]),
        ("gru", vec!["--emb", "16", "--hidden", "16", "--epochs", "6"]),
    ] {
        let out = dir.path().join(kind);
        let mut args = vec![
            "train", "--task", "lm", "--units", "char", "--train", t, "--test", t, "--model", kind, "--out",
        ];
        args.push(out.to_str().unwrap());
        args.extend(extra);
        let o = rnnlab(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
        assert_eq!(m["units"], "char", "{m}");
        let test = &m["test"];
        let (per_char, per_word) = (
            test["perplexity"].as_f64().unwrap(),
            test["perplexity_per_word"].as_f64().unwrap(),
        );
        // A word spans several characters: its perplexity is the characters' to that power.
        assert!(per_char > 1.0 && per_word > per_char, "{m}");
        assert!(
            test["tokens"].as_u64().unwrap() > 3 * test["words"].as_u64().unwrap(),
            "{m}"
        );
        let o = rnnlab(&["eval", out.to_str().unwrap(), "--input", t]);
        assert!(o.status.success(), "{}", stderr(&o));
        let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!((e["metrics"]["perplexity"].as_f64().unwrap() - per_char).abs() < 1e-6 * per_char);
    }
    let units: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("gru/vocab.json")).unwrap()).unwrap();
    let o = rnnlab(&[
        "generate",
        dir.path().join("gru").to_str().unwrap(),
        "--prompt",
        "the c",
        "--seed",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        assert!(line.starts_with("the c"), "{text}");
        assert!(
            line.chars().all(|c| units.iter().any(|u| *u == c.to_string())),
            "{text}"
        );
    }
}

/// A language model of the Russian bank tweets (stemmed, so no dictionary is needed) trains,
/// and generates Cyrillic text from a Russian prompt: units of its vocabulary, repeated by
/// its seed.
#[test]
fn a_russian_language_model_generates_from_a_russian_prompt() {
    let Some(data) = data_dir() else { return };
    let dir = test_dir();
    let out = dir.path().join("ru");
    let o = rnnlab(&[
        "train",
        "--dataset",
        "sentirueval2015-banks",
        "--data-dir",
        data.to_str().unwrap(),
        "--task",
        "lm",
        "--model",
        "gru",
        "--stem",
        "--emb",
        "32",
        "--hidden",
        "32",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let (ppl, vocab) = (
        m["test"]["perplexity"].as_f64().unwrap(),
        m["vocab_size"].as_f64().unwrap(),
    );
    assert!(ppl > 1.0 && ppl < vocab, "better than uniform: {m}");
    let words: Vec<String> = serde_json::from_str(&std::fs::read_to_string(out.join("vocab.json")).unwrap()).unwrap();
    let gen = || {
        let o = rnnlab(&[
            "generate",
            out.to_str().unwrap(),
            "--prompt",
            "Сбербанк снизил ставки",
            "-n",
            "3",
            "--seed",
            "4",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let text = gen();
    assert_eq!(text, gen(), "a seed repeats its samples");
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        assert!(line.split(' ').all(|w| words.iter().any(|v| v == w)), "{text}");
        assert!(line.chars().any(|c| ('а'..='я').contains(&c)), "Cyrillic: {text}");
    }
}

/// A CoNLL-U file of `sentences`, each word `(form, upos, lemma)`, with a comment and a
/// multiword-token line to be kept byte for byte.
fn lemma_conllu(sentences: &[Vec<(&str, &str, &str)>]) -> String {
    let mut s = String::new();
    for (i, words) in sentences.iter().enumerate() {
        s += &format!("# sent_id = {i}\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n");
        for (k, (f, t, l)) in words.iter().enumerate() {
            s += &format!("{}\t{f}\t{l}\t{t}\t_\t_\t0\tdep\t_\t_\n", k + 1);
        }
        s += "\n";
    }
    s
}

#[test]
fn lemmatisers_train_predict_and_fill_a_conllu_file() {
    let dir = test_dir();
    let verbs = [
        "walk", "talk", "jump", "look", "play", "call", "open", "help", "kick", "pull",
    ];
    let sentences: Vec<Vec<(&str, &str, &str)>> = (0..40)
        .map(|i| {
            let v = verbs[i % verbs.len()];
            let form: &'static str = Box::leak(format!("{v}ed").into_boxed_str());
            let plural: &'static str = Box::leak(format!("{v}s").into_boxed_str());
            vec![("They", "PRON", "they"), (form, "VERB", v), (plural, "NOUN", plural)]
        })
        .collect();
    let file = dir.path().join("toy.conllu");
    std::fs::write(&file, lemma_conllu(&sentences)).unwrap();
    let f = file.to_str().unwrap();
    let data = ["--task", "lemma", "--train", f, "--val", f, "--test", f];
    // The lookup baseline learns every pair it saw.
    let lookup = dir.path().join("lookup");
    let mut args = vec![
        "train",
        "--model",
        "lookup-lemmatizer",
        "--out",
        lookup.to_str().unwrap(),
    ];
    args.extend_from_slice(&data);
    let o = rnnlab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lookup.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["test"]["accuracy"], 1.0, "{m}");
    let o = rnnlab(&["predict", lookup.to_str().unwrap(), "walked", "Zebras", "--tag", "VERB"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "walked\twalk\nZebras\tzebras\n");
    // A small network: trains, and its directory fills the LEMMA column of a CoNLL-U file
    // (everything else kept byte for byte).
    let net = dir.path().join("gru");
    let mut args = vec![
        "train",
        "--model",
        "gru",
        "--emb",
        "8",
        "--hidden",
        "16",
        "--epochs",
        "2",
        "--out",
        net.to_str().unwrap(),
    ];
    args.extend_from_slice(&data);
    let o = rnnlab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(net.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["combined"]["test"]["accuracy"], 1.0, "{m}");
    assert!(m["timings"]["decode_words_per_s_beam5"].as_f64().unwrap() > 0.0);
    let blank: Vec<Vec<(&str, &str, &str)>> = sentences
        .iter()
        .map(|s| s.iter().map(|&(f, t, _)| (f, t, "_")).collect())
        .collect();
    let input = dir.path().join("blank.conllu");
    std::fs::write(&input, lemma_conllu(&blank)).unwrap();
    let filled = dir.path().join("filled.conllu");
    let o = rnnlab(&[
        "predict",
        net.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        filled.to_str().unwrap(),
        "--beam",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&filled).unwrap(), lemma_conllu(&sentences));
    // eval: the figures of the network and of the combination, with the file's tags or a
    // tagger's.
    let tagger = dir.path().join("pos");
    let o = rnnlab(&[
        "train",
        "--train",
        f,
        "--test",
        f,
        "--model",
        "majority-tagger",
        "--out",
        tagger.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for extra in [vec![], vec!["--tags-from", tagger.to_str().unwrap()]] {
        let mut args = vec!["eval", net.to_str().unwrap(), "--input", f];
        args.extend_from_slice(&extra);
        let o = rnnlab(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(e["metrics"]["combined"]["accuracy"], 1.0, "{e}");
        assert_eq!(e["metrics"]["network"]["accuracy"], m["test"]["accuracy"], "{e}");
    }
    let o = rnnlab(&[
        "eval",
        net.to_str().unwrap(),
        "--input",
        f,
        "--tags-from",
        lookup.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a tagger"), "{}", stderr(&o));
    // Bad input is exit 2, named.
    let o = rnnlab(&["predict", net.to_str().unwrap(), "walked"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--tag"));
    let o = rnnlab(&[
        "predict",
        net.to_str().unwrap(),
        "walked",
        "--tag",
        "VERB",
        "--beam",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let mut args = vec![
        "train",
        "--model",
        "best-rnn",
        "--out",
        dir.path().join("x").to_str().unwrap().to_string().leak(),
    ];
    args.extend_from_slice(&data);
    let o = rnnlab(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("lookup-lemmatizer"), "{}", stderr(&o));
    // experiment: the lookup against a network, into one report.
    let report = dir.path().join("report");
    let mut args = vec![
        "experiment",
        "--models",
        "lookup-lemmatizer,gru",
        "--quick",
        "--out",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(&data);
    let o = rnnlab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        (r["task"].as_str(), r["complete"].as_bool()),
        (Some("lemma"), Some(true)),
        "{r}"
    );
    let kinds: Vec<&str> = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["lookup-lemmatizer", "gru"]);
    assert_eq!(r["models"][0]["summary"]["accuracy"]["mean"], 1.0, "{r}");
    assert!(report.join("models/gru/seed0/model.safetensors").is_file());
    assert!(String::from_utf8_lossy(&o.stdout).contains("| lookup-lemmatizer | 100.00 |"));
    let mut args = vec!["experiment", "--models", "majority-tagger", "--quick"];
    args.extend_from_slice(&data);
    let o = rnnlab(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the lemma kinds are"), "{}", stderr(&o));
}

/// A user's own parallel corpus: word units on both sides (each sentence written backwards).
#[test]
fn seq2seq_trains_on_source_and_target_columns() {
    let dir = test_dir();
    let words = ["red", "green", "blue", "cat", "dog", "runs", "sleeps", "fast"];
    let mut csv = String::from("id,src,tgt\n");
    for i in 0..120 {
        let s: Vec<&str> = (0..2 + i % 3).map(|k| words[(i * 7 + k * 3) % words.len()]).collect();
        let t: Vec<&str> = s.iter().rev().copied().collect();
        csv += &format!("{i},{},{}\n", s.join(" "), t.join(" "));
    }
    let file = dir.path().join("pairs.csv");
    std::fs::write(&file, &csv).unwrap();
    let f = file.to_str().unwrap();
    let out = dir.path().join("s2s");
    let common = ["--source-column", "src", "--target-column", "tgt"];
    let mut args = vec![
        "train",
        "--task",
        "seq2seq",
        "--train",
        f,
        "--val",
        f,
        "--test",
        f,
        "--source-units",
        "word",
        "--target-units",
        "word",
        "--model",
        "gru",
        "--emb",
        "16",
        "--hidden",
        "16",
        "--epochs",
        "3",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(&common);
    let o = rnnlab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    for k in ["accuracy", "cer", "bleu"] {
        assert!(m["test"][k].as_f64().is_some(), "{m}");
    }
    assert_eq!(m["target_units"], "word");
    let o = rnnlab(&[
        "predict",
        out.to_str().unwrap(),
        "red cat",
        "blue dog runs",
        "--beam",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = String::from_utf8(o.stdout).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(lines.split_whitespace().all(|w| words.contains(&w)), "{lines}");
    let mut args = vec!["eval", out.to_str().unwrap(), "--input", f];
    args.extend_from_slice(&common);
    let o = rnnlab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["metrics"]["accuracy"], m["test"]["accuracy"], "{e}");
    // Missing columns and an empty cell are named.
    let o = rnnlab(&[
        "train",
        "--task",
        "seq2seq",
        "--train",
        f,
        "--val",
        f,
        "--test",
        f,
        "--model",
        "gru",
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--source-column"), "{}", stderr(&o));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "src,tgt\na b,b a\nc d,\n").unwrap();
    let mut args = vec!["eval", out.to_str().unwrap(), "--input", bad.to_str().unwrap()];
    args.extend_from_slice(&common);
    let o = rnnlab(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("row 2"), "{}", stderr(&o));
}
