//! Shared helpers for tests that read the real data in ../shared/data.
#![allow(dead_code)]

use std::path::PathBuf;

/// The data folder: RNNLAB_DATA_DIR, else ../shared/data next to the workspace root.
/// Under CI=true a missing folder fails the test; elsewhere the test is skipped with a notice.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RNNLAB_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("twitter-hate-speech/train.csv").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but the data folder {} is missing", dir.display());
    }
    eprintln!(
        "notice: skipping, no data folder at {} (set RNNLAB_DATA_DIR)",
        dir.display()
    );
    None
}

/// The morphology dictionary, found as rnnlab finds it. Under CI=true a missing one fails.
pub fn morph_dict() -> Option<PathBuf> {
    match rnnlab_text::morph::default_dict_dir() {
        Ok(d) => Some(d),
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but {e}");
            }
            eprintln!("notice: skipping: {e}");
            None
        }
    }
}
