//! Token lists to embedding ids: a word vocabulary or a subword tokenizer from the vectorize
//! layer, saved as `vocab.json` or `tokenizer.json` in the model directory.

use std::path::Path;

use rnnlab_vectorize::subword::{SubwordKind, SubwordParams, SubwordTokenizer};
use rnnlab_vectorize::Vocabulary;

use super::config::{RnnConfig, TokensKind};
use crate::Error;

/// Documents as the classifier reads them: embedding ids, and the bag-of-n-gram buckets of each
/// document (empty lists when the bag is off).
pub struct Encoded {
    pub seqs: Vec<Vec<u32>>,
    pub bags: Vec<Vec<u32>>,
}

pub enum SequenceInput {
    Words(Vocabulary),
    Subwords(Box<SubwordTokenizer>),
}

impl SequenceInput {
    /// Fits the vocabulary or trains the tokenizer on the training documents.
    pub fn fit(config: &RnnConfig, docs: &[Vec<String>]) -> Result<Self, Error> {
        let kind = match config.tokens {
            TokensKind::Word => return Ok(SequenceInput::Words(Vocabulary::fit(docs, config.min_count, None)?)),
            TokensKind::Bpe => SubwordKind::Bpe,
            TokensKind::Wordpiece => SubwordKind::WordPiece,
            TokensKind::Unigram => SubwordKind::Unigram,
        };
        let params = SubwordParams {
            kind,
            vocab_size: config.subword_vocab,
            min_frequency: config.min_count as u64,
        };
        Ok(SequenceInput::Subwords(Box::new(SubwordTokenizer::train(
            docs, params,
        )?)))
    }

    pub fn vocab_size(&self) -> usize {
        match self {
            SequenceInput::Words(v) => v.len(),
            SequenceInput::Subwords(t) => t.vocab_size(),
        }
    }

    pub fn encode(&self, doc: &[String]) -> Result<Vec<u32>, Error> {
        match self {
            SequenceInput::Words(v) => Ok(v.encode(doc)),
            SequenceInput::Subwords(t) => Ok(t.encode(doc)?),
        }
    }

    pub fn encode_all(&self, docs: &[Vec<String>]) -> Result<Vec<Vec<u32>>, Error> {
        docs.iter().map(|d| self.encode(d)).collect()
    }

    /// Ids and n-gram bags of every document.
    pub fn encode_docs(&self, docs: &[Vec<String>], config: &RnnConfig) -> Result<Encoded, Error> {
        Ok(Encoded {
            seqs: self.encode_all(docs)?,
            bags: docs.iter().map(|d| super::bag::ngram_bag(d, config)).collect(),
        })
    }

    /// The token of each id, where there is a word list (for loading word vectors).
    pub fn words(&self) -> Option<&[String]> {
        match self {
            SequenceInput::Words(v) => Some(&v.tokens),
            SequenceInput::Subwords(_) => None,
        }
    }

    pub fn file_name(&self) -> &'static str {
        match self {
            SequenceInput::Words(_) => "vocab.json",
            SequenceInput::Subwords(_) => "tokenizer.json",
        }
    }

    pub fn save(&self, dir: &Path) -> Result<(), Error> {
        let path = dir.join(self.file_name());
        match self {
            SequenceInput::Words(v) => {
                let s = serde_json::to_string(v).map_err(|e| Error::Format(e.to_string()))?;
                std::fs::write(&path, s).map_err(|e| Error::io(&path, e))
            }
            SequenceInput::Subwords(t) => Ok(t.save(&path)?),
        }
    }

    pub fn load(dir: &Path, tokens: TokensKind) -> Result<Self, Error> {
        if tokens == TokensKind::Word {
            let path = dir.join("vocab.json");
            let s = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let mut v: Vocabulary =
                serde_json::from_str(&s).map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
            v.rebuild_index();
            Ok(SequenceInput::Words(v))
        } else {
            Ok(SequenceInput::Subwords(Box::new(SubwordTokenizer::load(
                &dir.join("tokenizer.json"),
            )?)))
        }
    }
}
