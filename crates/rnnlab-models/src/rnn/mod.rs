//! Recurrent sequence classifiers on candle: the lecture's vanilla RNN, LSTM and GRU with
//! PyTorch's gate equations and `state_dict` names, stacked and bidirectional, with dropout,
//! recurrent (variational) dropout and variable-length sequences.
//!
//! Data flows one way: token lists → ids ([`SequenceInput`]) → [`SequenceClassifier`]
//! (embedding → [`RecurrentStack`] → pooling → linear head) → class probabilities.
//! [`train::fit`] trains one; [`RnnModel`] is the trained, saved and loaded form.

pub mod bag;
pub mod check;
pub mod classifier;
pub mod config;
#[cfg(feature = "cuda")]
mod cuda;
mod fused;
#[cfg(all(test, feature = "cells-host"))]
mod host_kernels;
pub mod input;
mod kernels;
pub mod optim;
mod parallel;
pub mod recurrent;
pub mod rng;
pub mod speed;
pub mod step;
mod stepwise;
pub mod train;
mod workspace;

pub use classifier::{Lookups, RnnModel, SequenceClassifier};
pub use config::{BagCombiner, CellKind, OptimizerKind, Pooling, RnnConfig, Schedule, TokensKind};
pub use input::{Encoded, SequenceInput};
pub use recurrent::{Kernel, RecurrentStack};
pub use train::{fit, EpochStats, FitResult, TrainObserver};

/// A parameter as a graph input: tracked for gradients when `grad`, else detached (no graph).
pub(crate) fn tracked(v: &candle_core::Var, grad: bool) -> candle_core::Tensor {
    if grad {
        v.as_tensor().clone()
    } else {
        v.as_tensor().detach()
    }
}

/// The error of a poisoned lock inside a candle operation (a panic while another held it).
pub(crate) fn lock_err<T>(_: T) -> candle_core::Error {
    candle_core::Error::Msg("recurrent layer: poisoned lock".into())
}

/// candle errors as model-layer errors.
pub(crate) fn ce(e: candle_core::Error) -> crate::Error {
    crate::Error::Training(format!("tensor error: {e}"))
}

/// The device of a `--device` value: `cpu`, `cuda` or `cuda:N`.
pub fn parse_device(name: &str) -> Result<candle_core::Device, crate::Error> {
    let name = name.trim();
    if name == "cpu" {
        return Ok(candle_core::Device::Cpu);
    }
    let ordinal = match name.strip_prefix("cuda") {
        Some("") => 0,
        Some(rest) => rest
            .strip_prefix(':')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| crate::Error::Param(format!("--device {name:?}: expected cpu, cuda or cuda:N")))?,
        None => {
            return Err(crate::Error::Param(format!(
                "--device {name:?}: expected cpu, cuda or cuda:N"
            )))
        }
    };
    if !candle_core::utils::cuda_is_available() {
        return Err(crate::Error::Param(format!(
            "--device {name}: this rnnlab was built without CUDA support; rebuild with `cargo xtask cuda-build` \
             (or `cargo build --release --features cuda`), or use --device cpu"
        )));
    }
    candle_core::Device::new_cuda(ordinal).map_err(|e| {
        // candle's message may carry a backtrace; its first line is the driver's answer.
        let first = e.to_string().lines().next().unwrap_or_default().to_string();
        crate::Error::Param(format!(
            "--device {name}: no usable GPU ({first}); is the NVIDIA driver installed and the GPU visible (nvidia-smi)? \
             Use --device cpu to run on the CPU"
        ))
    })
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
