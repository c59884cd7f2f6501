//! The bag-of-words baselines on top of the vectorize layer: logistic regression (L-BFGS and
//! trust-region Newton solvers), naive Bayes and NB-LR, with labels, metrics in the
//! `metrics.json` schema and their model directories. No tensor library: a user of the
//! baselines compiles neither candle nor the recurrent kernels.

pub mod baseline;
pub mod card;
pub mod fasttext;
pub mod files;
pub mod kneser_ney;
pub mod labels;
pub mod lbfgs;
pub mod lemma;
pub mod linear;
pub mod metrics;
pub mod tagging;
pub mod tensors;
pub mod tron;

use std::path::{Path, PathBuf};

pub use baseline::{Baseline, BaselineKind, BaselineParams};
pub use card::{check_format_version, FORMAT_VERSION};
pub use fasttext::{FastText, FastTextParams};
pub use labels::LabelSet;
pub use metrics::SplitMetrics;

/// Errors of the model layer; messages name the file, parameter or row at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Data(String),
    #[error("{0}")]
    Param(String),
    #[error("{0}")]
    Format(String),
    #[error("{0}")]
    Training(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Vectorize(#[from] rnnlab_vectorize::Error),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether this is the user's bad input rather than a failure while training or writing.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Error::Training(_) | Error::Io { .. })
    }
}
