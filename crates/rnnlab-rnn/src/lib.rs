//! Recurrent text models on candle: the lecture's vanilla RNN, LSTM and GRU with PyTorch's gate
//! equations and `state_dict` names, stacked and bidirectional, with dropout, recurrent
//! (variational) dropout and variable-length sequences.
//!
//! Data flows one way: token lists → ids ([`SequenceInput`]) → a [`Network`]: the shared
//! [`Encoder`] (embedding, optional n-gram inputs, [`RecurrentStack`]) and a task's [`Head`]
//! ([`ClassHead`]: pooling → linear → class probabilities; [`SequenceClassifier`] is the pair).
//! [`train::fit`] trains one; [`RnnModel`] is the trained, saved and loaded form. The layer
//! itself and its kernels live in `rnnlab-kernels`.

pub mod bag;
pub mod beam;
pub mod classifier;
pub mod config;
pub mod encoder;
pub mod input;
pub mod language_model;
pub mod loss;
pub mod network;
pub mod optim;
pub mod seq2seq;
#[cfg(feature = "bench")]
pub mod speed;
pub mod tagger;
pub mod train;
pub mod trainer;

use std::path::{Path, PathBuf};

pub use classifier::{ClassHead, RnnModel, SequenceClassifier};
pub use config::{
    Architecture, CellKind, Inputs, Optimisation, OptimizerKind, Pooling, Regularisation, RnnConfig, Schedule,
    TokensKind,
};
pub use encoder::{Encoder, EncoderOutput, Lookups};
pub use input::{Encoded, SequenceInput};
pub use network::{Head, Network};
pub use rnnlab_kernels::{parse_device, Kernel, RecurrentStack, Rng};
pub use train::{fit, EpochStats, FitResult, TrainObserver};

/// Errors of the recurrent models; messages name the file, parameter or row at fault.
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
    #[error(transparent)]
    Baseline(#[from] rnnlab_baselines::Error),
    #[error(transparent)]
    Kernel(#[from] rnnlab_kernels::Error),
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
        match self {
            Error::Training(_) | Error::Io { .. } | Error::Kernel(rnnlab_kernels::Error::Tensor(_)) => false,
            Error::Baseline(e) => e.is_bad_input(),
            _ => true,
        }
    }
}

/// candle errors as model-layer errors.
pub(crate) fn ce(e: candle_core::Error) -> Error {
    Error::Training(format!("tensor error: {e}"))
}

/// The largest absolute difference between two tensors of one shape (tests).
#[cfg(test)]
pub(crate) fn max_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("tensors of one shape")
}
