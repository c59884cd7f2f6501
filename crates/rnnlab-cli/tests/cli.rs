//! The `rnnlab` binary end to end: outputs, exit codes and error messages.

mod common;

use std::path::Path;
use std::process::Command;

use common::{data_dir, rnnlab, stderr, test_dir};

#[test]
fn preprocess_csv_and_parquet() {
    let dir = test_dir();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "id;body\n1;\"I don't like it &amp; :(\"\n2;\"two\nlines, running!\"\n3;\n",
    )
    .unwrap();
    for ext in ["csv", "parquet"] {
        let out = dir.path().join(format!("out.{ext}"));
        let o = rnnlab(&[
            "preprocess",
            "--input",
            input.to_str().unwrap(),
            "--text-column",
            "body",
            "--delimiter",
            ";",
            "--lang",
            "en",
            "--output",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("3 rows"), "{}", stderr(&o));
        assert!(stderr(&o).contains("1 empty"), "{}", stderr(&o));
        assert!(out.metadata().unwrap().len() > 0);
        if ext == "csv" {
            let text = std::fs::read_to_string(&out).unwrap();
            assert!(text.starts_with("id,body,tokens"), "{text}");
            assert!(text.contains("not_like :("), "{text}");
            assert!(text.contains("\",two line run\n"), "{text}");
        }
    }
}

/// Runs `rnnlab preprocess --input INPUT --output OUT FLAGS...`, asserts success and
/// returns the output file's text without its trailing newline.
fn preprocess_to(input: &Path, out: &Path, flags: &[&str]) -> String {
    let mut args = vec![
        "preprocess",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    let o = rnnlab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read_to_string(out).unwrap().trim_end().to_string()
}

#[test]
fn saved_pipeline_is_reused() {
    let dir = test_dir();
    let input = dir.path().join("p.csv");
    std::fs::write(&input, "text\nThe cats are running\n").unwrap();
    let pipe = dir.path().join("pipeline.json");
    let out = dir.path().join("p_out.csv");
    let saved = ["--save-pipeline", pipe.to_str().unwrap()];
    preprocess_to(
        &input,
        &out,
        &[&["--lang", "en", "--no-normalize"], &saved[..]].concat(),
    );
    let text = preprocess_to(&input, &out, &["--pipeline", pipe.to_str().unwrap()]);
    assert!(text.contains(",cats running"), "{text}");
}

/// `--keep-punctuation` keeps `!!!`, `?`, `…` as tokens; by default only emoticons stay.
#[test]
fn punctuation_kept_on_request() {
    let dir = test_dir();
    let input = dir.path().join("punct.csv");
    std::fs::write(&input, "text\n\"Really?! Loved it, so much… :)\"\n").unwrap();
    let out = dir.path().join("punct_out.csv");
    let plain = ["--lang", "en", "--no-normalize"];
    let text = preprocess_to(&input, &out, &plain);
    assert!(text.ends_with(",really loved much :)"), "{text}");
    let text = preprocess_to(&input, &out, &[&plain[..], &["--keep-punctuation"]].concat());
    assert!(text.ends_with(",\"really ? ! loved , much … :)\""), "{text}");
}

/// `--hashtags-as-tags` keeps the `#`: `#love` and `love` are two tokens.
#[test]
fn hashtags_kept_as_tags_on_request() {
    let dir = test_dir();
    let input = dir.path().join("tags.csv");
    std::fs::write(&input, "text\nlove this #Love\n").unwrap();
    let out = dir.path().join("tags_out.csv");
    let plain = ["--lang", "en", "--no-normalize"];
    assert!(preprocess_to(&input, &out, &plain).ends_with(",love love"));
    let text = preprocess_to(&input, &out, &[&plain[..], &["--hashtags-as-tags"]].concat());
    assert!(text.ends_with(",love #love"), "{text}");
}

/// `--segment-hashtags` learns its words from the input's rows, and a saved pipeline carries
/// them to other inputs.
#[test]
fn hashtags_split_by_the_words_of_the_rows() {
    let dir = test_dir();
    let input = dir.path().join("tags.csv");
    std::fs::write(
        &input,
        "text\nstop hate now\nwe stop hate\nstop all hate\nsunny #stophate\n",
    )
    .unwrap();
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "text\n#stophate #sunnyday\n").unwrap();
    let pipe = dir.path().join("pipeline.json");
    let out = dir.path().join("out.csv");
    let plain = ["--lang", "en", "--no-normalize"];
    assert!(preprocess_to(&input, &out, &plain).ends_with(",sunny stophate"));
    let flags = [
        &plain[..],
        &["--segment-hashtags", "--save-pipeline", pipe.to_str().unwrap()],
    ]
    .concat();
    let text = preprocess_to(&input, &out, &flags);
    assert!(text.ends_with(",sunny stop hate"), "{text}");
    let saved = std::fs::read_to_string(&pipe).unwrap();
    assert!(
        saved.contains("\"segment_hashtags\"") && saved.contains("\"hate\": 3"),
        "{saved}"
    );
    // The other file's own words play no part: "sunny" and "day" are not in the saved counts.
    let text = preprocess_to(&other, &out, &["--pipeline", pipe.to_str().unwrap()]);
    assert!(text.ends_with(",stop hate sunnyday"), "{text}");
}

#[test]
fn bad_input_exits_2_and_names_it() {
    let dir = test_dir();
    // No failed command leaves an output file behind.
    let never = dir.path().join("never.csv");
    let never = never.to_str().unwrap();
    let o = rnnlab(&[
        "preprocess",
        "--input",
        "/no/such/file.csv",
        "--lang",
        "en",
        "--output",
        never,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/file.csv"), "{}", stderr(&o));

    let input = dir.path().join("cols.csv");
    std::fs::write(&input, "id,tweet\n1,hello\n").unwrap();
    let o = rnnlab(&[
        "preprocess",
        "--input",
        input.to_str().unwrap(),
        "--lang",
        "en",
        "--output",
        never,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no column \"text\"") && stderr(&o).contains("tweet"),
        "{}",
        stderr(&o)
    );

    let o = rnnlab(&["preprocess", "--dataset", "nope", "--output", never]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("twitter-hate-speech"), "{}", stderr(&o));

    let o = rnnlab(&["preprocess", "--bogus-flag"]);
    assert_eq!(o.status.code(), Some(2));

    let o = rnnlab(&["lemmatize", "--morph-dict", "/no/dict"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/dict"), "{}", stderr(&o));
    assert!(!Path::new(never).exists());
}

#[test]
fn version_and_help() {
    let o = rnnlab(&["--version"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("rnnlab "));
    let o = rnnlab(&["preprocess", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("--text-column") && help.contains("--morph-dict"),
        "{help}"
    );
}

#[test]
fn lemmatize_keeps_order_and_empty_lines() {
    if rnnlab_text_dict().is_none() {
        return;
    }
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rnnlab"))
        .args(["lemmatize", "--lang", "ru"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("банка\n\nданных\nсн\n".as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "банка\tбанк\n\t\nданных\tданные\nсн\tсн\n"
    );
}

fn rnnlab_text_dict() -> Option<()> {
    let o = rnnlab(&["lemmatize"]);
    if o.status.success() {
        return Some(());
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "CI=true but no dictionary: {}",
        stderr(&o)
    );
    eprintln!("notice: skipping, no morphology dictionary");
    None
}

#[test]
fn bench_preprocess_prints_json() {
    let Some(dir) = data_dir() else { return };
    let o = rnnlab(&[
        "bench",
        "preprocess",
        "--dataset",
        "twitter-hate-speech",
        "--data-dir",
        dir.to_str().unwrap(),
        "--repeat",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["docs"], 31_962);
    assert!(v["docs_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v["normalize"], "stem");
}

/// `bench tag-step` counts the words of the sentences it stepped through; `bench tag-predict`
/// the words of the test split, on a tagger trained by `tag-step`'s recipe through `train`.
#[test]
fn bench_tag_step_and_tag_predict_print_json() {
    let Some(data) = data_dir() else { return };
    let d = data.to_str().unwrap();
    let o = rnnlab(&[
        "bench",
        "tag-step",
        "--cell",
        "gru",
        "--dataset",
        "ud-english-ewt",
        "--data-dir",
        d,
        "--sentences",
        "64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["bench"].as_str(), v["cell"].as_str()),
        (Some("tag-step"), Some("gru"))
    );
    assert_eq!(v["sentences"], 64);
    assert!(
        v["words"].as_u64().unwrap() > 64 && v["words_per_s"].as_f64().unwrap() > 0.0,
        "{v}"
    );

    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    let o = rnnlab(&[
        "train",
        "--dataset",
        "ud-english-ewt",
        "--data-dir",
        d,
        "--model",
        "majority-tagger",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rnnlab(&[
        "bench",
        "tag-predict",
        model.to_str().unwrap(),
        "--dataset",
        "ud-english-ewt",
        "--data-dir",
        d,
        "--repeat",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["words"], 25_094);
    assert!(v["words_per_s"].as_f64().unwrap() > 0.0, "{v}");
}

#[test]
fn bench_train_step_and_infer_print_json() {
    for (sub, extra) in [
        ("train-step", vec!["--bidirectional", "--layers", "2", "--phases"]),
        ("infer", vec![]),
    ] {
        for cell in ["rnn", "lstm", "gru"] {
            let mut args = vec![
                "bench",
                sub,
                "--cell",
                cell,
                "--batch",
                "16",
                "--len",
                "5",
                "--vocab",
                "100",
                "--steps",
                "3",
                "--threads",
                "2",
            ];
            args.extend(&extra);
            let o = rnnlab(&args);
            assert!(o.status.success(), "{sub} {cell}: {}", stderr(&o));
            let line = String::from_utf8(o.stdout).unwrap();
            let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
            assert_eq!(v["cell"], cell);
            assert_eq!(v["mode"], if sub == "infer" { "infer" } else { "train" });
            assert_eq!(v["batch"], 16);
            assert!(v["docs_per_s"].as_f64().unwrap() > 0.0, "{line}");
            if sub == "train-step" {
                for phase in ["forward", "backward", "optimizer"] {
                    assert!(v["phases_ms"][phase].as_f64().unwrap() > 0.0, "{line}");
                }
            }
        }
    }
    for bad in [
        vec!["bench", "train-step", "--cell", "transformer"],
        vec!["bench", "train-step", "--batch", "0"],
        vec!["bench", "infer", "--threads", "0"],
        vec!["bench", "infer", "--device", "tpu"],
        vec!["bench", "infer", "--phases"],
        vec!["bench", "train-step", "--gpu-adamw"],
        vec!["experiment", "--seeds", "0"],
        vec![
            "train",
            "--dataset",
            "demo",
            "--model",
            "lstm",
            "--lr",
            "-1",
            "--out",
            "/tmp/rnnlab-negative-lr",
        ],
    ] {
        let o = rnnlab(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("error"), "{bad:?}: {}", stderr(&o));
    }
}

/// `-h` keeps to the common path (about 30 flags); `--help` shows every flag, the rest under
/// headings that say "Advanced".
#[test]
fn short_help_shows_the_common_flags_and_long_help_all() {
    let flags = |args: &[&str]| -> Vec<String> {
        let o = rnnlab(args);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            // A flag's own line: indented by at most six spaces, then `-x, --flag` or `--flag`.
            .filter(|l| {
                let body = l.trim_start();
                body.starts_with('-') && l.len() - body.len() <= 6
            })
            .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("--")).map(String::from))
            .collect()
    };
    for (command, advanced) in [
        ("train", "--bag-buckets"),
        ("cv", "--bag-buckets"),
        ("experiment", "--keep-stopwords"),
    ] {
        let short = flags(&[command, "-h"]);
        let long = flags(&[command, "--help"]);
        assert!(short.len() <= 36, "{command} -h: {} flags: {short:?}", short.len());
        assert!(
            short.iter().any(|f| f == "--model" || f == "--models"),
            "{command}: {short:?}"
        );
        assert!(!short.iter().any(|f| f == advanced), "{command}: {short:?}");
        assert!(
            long.iter().any(|f| f == advanced) && long.len() > short.len() + 5,
            "{command}: {long:?}"
        );
        let text = String::from_utf8_lossy(&rnnlab(&[command, "--help"]).stdout).to_string();
        assert!(text.contains("Advanced: "), "{text}");
    }
}

/// Output read by a reader that stops early (`rnnlab eval ... | head`) ends the process
/// quietly: no panic message, and not the error exit codes 1 or 2.
#[test]
fn a_closed_output_pipe_is_not_a_panic() {
    let dir = test_dir();
    let text = dir.path().join("t.txt");
    std::fs::write(&text, "a b c\nb c a\nc a b\na b c\n".repeat(20)).unwrap();
    let (t, out) = (text.to_str().unwrap(), dir.path().join("kn"));
    let o = rnnlab(
        &[
            "train",
            "--task",
            "lm",
            "--train",
            t,
            "--test",
            t,
            "--model",
            "kneser-ney",
            "--out",
        ]
        .into_iter()
        .chain([out.to_str().unwrap()])
        .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut child = Command::new(env!("CARGO_BIN_EXE_rnnlab"))
        .args(["eval", out.to_str().unwrap(), "--input", t])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(!matches!(o.status.code(), Some(1 | 2 | 101)), "{:?}", o.status);
}
