//! The second layer: tokens into numbers. Count, Hashing and TF-IDF vectorizers with
//! scikit-learn's parameters (CSR output) for the linear baselines, and the vocabulary,
//! sequence encoder and subword tokenizers (BPE, WordPiece, Unigram) for the recurrent models.

pub mod count;
pub mod csr;
pub mod hashing;
pub mod ngrams;
pub mod sequence;
pub mod subword;

pub use count::{CountParams, CountVectorizer, Df, TfidfMode, TfidfParams, TfidfVectorizer};
pub use csr::{CsrMatrix, Norm};
pub use hashing::{HashingParams, HashingVectorizer};
pub use ngrams::Analyzer;
pub use sequence::{PaddedBatch, SequenceEncoder, Vocabulary};
pub use subword::{SubwordKind, SubwordParams, SubwordTokenizer};

/// Errors of the vectorize layer; messages name the parameter at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Param(String),
    #[error("{0}")]
    Empty(String),
    #[error("shape mismatch: {0}")]
    Shape(String),
}
