//! Text preprocessing for short texts (tweets, posts, reviews): decoding repair,
//! tweet-aware tokens, negation joining, stop words, punctuation, Snowball stemming,
//! Russian lemmatisation with pymorphy3's semantics, and data-set loading with polars.
//!
//! Every step is a serialisable value in a [`Pipeline`], so a trained model carries the
//! exact preprocessing it was trained with. The flow is one way:
//! bytes → [`repair`] → [`tokenize`] → ([`segment`]) → [`filters`] → [`stem`] / [`morph`] → tokens.

pub mod batches;
pub mod conllu;
pub mod dataset;
pub mod filters;
pub mod lm_stream;
pub mod morph;
pub mod pipeline;
pub mod repair;
pub mod segment;
pub mod stem;
pub mod tokenize;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use pipeline::{Normalize, Pipeline, PipelineStats, Preprocessor, Step};
pub use segment::HashtagSegmenter;
pub use tokenize::{Token, TokenKind, TokenizerConfig};

/// Errors of the text layer. Messages name the file, column or row at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("morphology dictionary: {0}")]
    Dictionary(String),
    #[error("{0}")]
    Pipeline(String),
    #[error("{0}")]
    Data(String),
    #[error("unknown language {0:?} (expected ru or en)")]
    Lang(String),
}

/// The languages with built-in stop words, stemmers and negation particles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "ru" | "russian" => Ok(Lang::Ru),
            "en" | "english" => Ok(Lang::En),
            _ => Err(Error::Lang(s.to_string())),
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
