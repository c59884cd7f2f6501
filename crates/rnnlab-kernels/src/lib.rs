//! The recurrent layer and its kernels: a stack of RNN, LSTM or GRU layers with PyTorch's
//! semantics ([`RecurrentStack`]), and three implementations of one layer direction behind it:
//!
//! - the reference, plain candle ops per time step (the definition the others are held to);
//! - the fused CPU operation (`fused`, arithmetic in `cpu`): one candle op per layer
//!   direction with a hand-written backward;
//! - the stepwise operation (`stepwise`): one product and one fused cell kernel per step, the
//!   GPU design; `cuda` runs it with cuBLAS and the kernels of `cells.cu`.
//!
//! [`check`] (feature `bench`) holds a kernel to the reference on any device. The crate knows
//! nothing of models, inputs or training: it is the layer `rnnlab-rnn` builds its encoder on,
//! as candle keeps `candle-kernels` under `candle-nn`.

pub mod adamw;
mod cell;
#[cfg(feature = "bench")]
pub mod check;
mod cpu;
pub mod cross_entropy;
#[cfg(feature = "cuda")]
pub mod cuda;
mod device;
mod fused;
#[cfg(all(test, feature = "cells-host"))]
mod host_check;
pub mod parallel;
pub mod recurrent;
pub mod rng;
mod stepwise;
mod stepwise_op;
mod workspace;

pub use cell::CellKind;
pub use device::parse_device;
pub use recurrent::{mask_tensor, step_mask, CarriedState, Dropout, Kernel, LayerParams, RecurrentStack};
pub use rng::Rng;

/// Errors of the recurrent layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed (shapes, device, memory).
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A bad parameter from the user (`--device`, sizes).
    #[error("{0}")]
    Param(String),
}

/// A parameter as a graph input: tracked for gradients when `grad`, else detached (no graph).
pub fn tracked(v: &candle_core::Var, grad: bool) -> candle_core::Tensor {
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

/// candle errors as this crate's.
pub(crate) fn ce(e: candle_core::Error) -> Error {
    Error::Tensor(e)
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
