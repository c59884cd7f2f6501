//! Models on top of the vectorize layer: the linear bag-of-words baselines (logistic
//! regression, naive Bayes, NB-LR), metrics in the `metrics.json` schema, and model
//! directories, the recurrent classifiers (RNN, LSTM, GRU) on candle, and a blend of a
//! recurrent network with NB-LR.

pub mod any;
pub mod baseline;
pub mod blend;
pub mod labels;
pub mod lbfgs;
pub mod linear;
pub mod metrics;
pub mod rnn;
pub mod tensors;
pub mod tron;

use std::path::{Path, PathBuf};

pub use any::AnyModel;
pub use baseline::{Baseline, BaselineKind, BaselineParams};
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
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
