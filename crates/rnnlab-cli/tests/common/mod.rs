//! Helpers shared by the binary's tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `rnnlab` binary with `args`.
pub fn rnnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnnlab"))
        .args(args)
        .output()
        .expect("the rnnlab binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A path in this test process's own temporary folder.
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnnlab-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The data folder (see `rnnlab_text::dataset::data_dir_for_tests`).
pub fn data_dir() -> Option<PathBuf> {
    rnnlab_text::dataset::data_dir_for_tests(env!("CARGO_MANIFEST_DIR"))
}
