//! Ctrl-C (SIGINT) or SIGTERM during training stops after the batch and keeps the best
//! checkpoint, which is saved, evaluated and marked `"interrupted": true`; the exit code is 130
//! or 143, not 0. (A second signal quits at once: signal-hook's conditional shutdown; not tested
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
