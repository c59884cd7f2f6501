//! The experiment layer: prepares a labelled data set once, trains any model kind on it
//! (bag-of-words baselines and recurrent networks alike, into a model directory with its
//! `metrics.json`), runs a plan of kinds and seeds, and writes the report (`report.json`,
//! `report.md`, `report.html`). Used by `rnnlab train`, `rnnlab experiment`, `rnnlab cv` and
//! `cargo xtask experiment`; it draws nothing on the terminal itself (see [`runner::RunObserver`]).

pub mod any;
pub mod best_rnn;
pub mod blend;
pub mod bootstrap;
pub mod cv;
pub mod demo;
pub mod lemma;
pub mod lemma_experiment;
pub mod lm;
pub mod lm_experiment;
pub mod prepared;
pub mod report;
pub mod runner;
pub mod seq2seq;
pub mod svg;
pub mod tag_ensemble;
pub mod tag_experiment;
pub mod tag_report;
pub mod tagging;
pub mod train;
pub mod units;

use std::path::{Path, PathBuf};

pub use any::AnyModel;
pub use best_rnn::NetworkTokens;
pub use cv::{cross_validate, CvPlan};
pub use prepared::Prepared;
pub use runner::{run, Plan, RunObserver};
pub use train::{train_model, ModelKind, ModelSpec};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user: a flag, a file, a data set.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Text(#[from] rnnlab_text::Error),
    #[error(transparent)]
    Models(#[from] rnnlab_rnn::Error),
    #[error(transparent)]
    Baselines(#[from] rnnlab_baselines::Error),
    #[error(transparent)]
    Vectorize(#[from] rnnlab_vectorize::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether this is the user's bad input (exit code 2) rather than a failure (1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Input(_) | Error::Text(_) | Error::Vectorize(_) => true,
            Error::Models(e) => e.is_bad_input(),
            Error::Baselines(e) => e.is_bad_input(),
            Error::Io { .. } | Error::Failed(_) => false,
        }
    }
}

/// `model.json` of `dir` as `C` when it is a model of `task` (its format version checked);
/// `None` when `dir` has no `model.json` or holds another task's model.
pub(crate) fn read_card<C: serde::de::DeserializeOwned>(dir: &Path, task: &str) -> Result<Option<C>, Error> {
    let path = dir.join("model.json");
    if !path.is_file() {
        return Ok(None);
    }
    let value: serde_json::Value = rnnlab_baselines::baseline::read_json(&path)?;
    if value.get("task").and_then(serde_json::Value::as_str) != Some(task) {
        return Ok(None);
    }
    rnnlab_baselines::check_format_version(&path, &value)?;
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), Error> {
    let s = serde_json::to_string_pretty(value).map_err(|e| Error::Failed(e.to_string()))?;
    rnnlab_baselines::files::write_atomic(path, s.as_bytes()).map_err(|e| Error::io(path, e))
}

pub(crate) fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}
