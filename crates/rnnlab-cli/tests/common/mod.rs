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

/// A folder of one test's own (tests run in parallel and must not share files), removed when
/// the test ends, failed or not.
pub fn test_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("rnnlab-cli-test-")
        .tempdir()
        .expect("a temporary folder")
}

/// The data folder (see `rnnlab_text::dataset::data_dir_for_tests`).
pub fn data_dir() -> Option<PathBuf> {
    rnnlab_text::dataset::data_dir_for_tests(env!("CARGO_MANIFEST_DIR"))
}
