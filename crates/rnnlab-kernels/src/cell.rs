//! The recurrent cells, with PyTorch's gate order.

use serde::{Deserialize, Serialize};

/// The recurrent cell.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// The lecture's vanilla step `h = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
    Rnn,
    /// Gates `i, f, g, o` in PyTorch's order.
    Lstm,
    /// Gates `r, z, n` in PyTorch's order.
    Gru,
}

impl CellKind {
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Rnn => "rnn",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        }
    }

    /// Rows of `weight_ih` per hidden unit.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Rnn => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "rnn" => Some(CellKind::Rnn),
            "lstm" => Some(CellKind::Lstm),
            "gru" => Some(CellKind::Gru),
            _ => None,
        }
    }
}
