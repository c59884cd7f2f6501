//! Ctrl-C (SIGINT) or SIGTERM during training stops after the batch and keeps the best
//! checkpoint, which is saved, evaluated and marked `"interrupted": true`; the exit code is 130
//! or 143, not 0; an interrupted experiment continues with `--resume` to the figures of one
//! that was never interrupted. (A second signal quits at once: signal-hook's conditional shutdown; not tested
//! here, as two signals sent back to back may arrive as one.)

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::test_dir;

/// A synthetic task big enough that 1000 epochs take minutes: the label is whether "good"
/// appears among random filler words.
fn write_task(path: &Path, rows: usize) {
    let words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"];
    let mut s = String::from("text,label\n");
    let mut x: u64 = 7;
    for r in 0..rows {
        let mut doc = Vec::new();
        for _ in 0..12 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            doc.push(words[(x >> 33) as usize % words.len()]);
        }
        let label = r % 2;
        if label == 1 {
            doc[(x >> 40) as usize % 12] = "good";
        }
        s.push_str(&format!("{},{label}\n", doc.join(" ")));
    }
    std::fs::write(path, s).unwrap();
}

/// Starts `rnnlab train` (LSTM, 1000 epochs) and returns it once its first epoch line is out.
fn start_training(dir: &Path, name: &str) -> (Child, std::path::PathBuf, mpsc::Receiver<String>) {
    let data = dir.join(format!("{name}.csv"));
    write_task(&data, 3000);
    let out = dir.join(name);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rnnlab"))
        .args([
            "train",
            "--train",
            data.to_str().unwrap(),
            "--test",
            data.to_str().unwrap(),
        ])
        .args(["--lang", "en", "--model", "lstm", "--epochs", "1000", "--threads", "1"])
        .args(["--out", out.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .expect("rnnlab starts");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("an epoch line within two minutes");
        if line.starts_with("epoch") {
            break;
        }
    }
    (child, out, rx)
}

fn signal(child: &Child, which: &str) {
    let status = Command::new("kill")
        .args([which, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn ctrl_c_stops_training_and_keeps_the_best_checkpoint() {
    stops_and_keeps("-INT", 130);
}

#[test]
fn sigterm_stops_training_the_same_way_with_exit_143() {
    stops_and_keeps("-TERM", 143);
}

fn stops_and_keeps(which: &str, code: i32) {
    let dir = test_dir();
    let (mut child, out, rx) = start_training(dir.path(), &format!("interrupt{which}"));
    signal(&child, which);
    let status = child.wait().unwrap();
    let log: Vec<String> = rx.try_iter().collect();
    assert_eq!(status.code(), Some(code), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("interrupted:")), "{log:?}");
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let stopped = metrics["stopped"].as_str().unwrap_or_default();
    assert!(stopped.starts_with("interrupted at epoch"), "{stopped}");
    assert!(metrics["best_epoch"].as_u64().unwrap() >= 1, "{metrics}");
    assert_eq!(metrics["interrupted"], true);
    assert!(metrics["curve"].as_array().unwrap().len() < 1000);
    assert!(out.join("model.safetensors").is_file());
    // The saved model predicts.
    let o = common::rnnlab(&["predict", out.to_str().unwrap(), "alpha good beta"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
}

/// `rnnlab experiment` on `data` into `out` (three kinds, quick, one thread), with `extra`.
fn experiment(data: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rnnlab"));
    c.args([
        "experiment",
        "--train",
        data.to_str().unwrap(),
        "--test",
        data.to_str().unwrap(),
    ])
    .args([
        "--lang",
        "en",
        "--models",
        "nbsvm,lstm,gru",
        "--quick",
        "--threads",
        "1",
    ])
    .args(["--out", out.to_str().unwrap()])
    .args(extra);
    c
}

fn report(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn an_interrupted_experiment_resumes_to_the_same_figures() {
    let dir = test_dir();
    let data = dir.path().join("task.csv");
    write_task(&data, 3000);
    let whole = dir.path().join("whole");
    let o = experiment(&data, &whole, &[]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The same experiment, stopped by Ctrl-C once the LSTM has finished.
    let cut = dir.path().join("cut");
    let mut child = experiment(&data, &cut, &[]).stderr(Stdio::piped()).spawn().unwrap();
    let err = child.stderr.take().unwrap();
    let mut log = Vec::new();
    // Read to the end (a closed pipe would fail the child's next line), signalling once.
    for line in BufReader::new(err).lines().map_while(Result::ok) {
        if line.starts_with("lstm seed 0:") {
            signal(&child, "-INT");
        }
        log.push(line);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{log:?}");
    let partial = report(&cut);
    assert_eq!(partial["complete"], false);
    let kept_weights = std::fs::read(cut.join("models/lstm/seed0/model.safetensors")).unwrap();

    let o = experiment(&data, &cut, &["--resume"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (report(&whole), report(&cut));
    assert_eq!(b["complete"], true);
    assert_eq!(a["models"].as_array().unwrap().len(), 3);
    for (ma, mb) in a["models"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["models"].as_array().unwrap())
    {
        assert_eq!(ma["kind"], mb["kind"]);
        for (ra, rb) in ma["runs"]
            .as_array()
            .unwrap()
            .iter()
            .zip(mb["runs"].as_array().unwrap())
        {
            assert_eq!(ra["test"], rb["test"], "{}", ma["kind"]);
            assert_eq!(ra["val"], rb["val"], "{}", ma["kind"]);
        }
    }
    // The finished LSTM was kept, not trained again; the GRU was trained to the same weights.
    assert_eq!(
        std::fs::read(cut.join("models/lstm/seed0/model.safetensors")).unwrap(),
        kept_weights
    );
    assert_eq!(
        std::fs::read(cut.join("models/gru/seed0/model.safetensors")).unwrap(),
        std::fs::read(whole.join("models/gru/seed0/model.safetensors")).unwrap()
    );

    // A resume that would change the experiment is refused.
    let o = experiment(&data, &cut, &["--resume", "--seeds", "5"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--seeds"));
}
