//! Shared helpers for tests that read the real data in ../shared/data.
#![allow(dead_code)]

use std::path::PathBuf;

/// The data folder (see `rnnlab_text::dataset::data_dir_for_tests`).
pub fn data_dir() -> Option<PathBuf> {
    rnnlab_text::dataset::data_dir_for_tests(env!("CARGO_MANIFEST_DIR"))
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
