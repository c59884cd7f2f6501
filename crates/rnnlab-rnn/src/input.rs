//! Token lists to embedding ids: a word vocabulary or a subword tokenizer from the vectorize
//! layer, saved as `vocab.json` or `tokenizer.json` in the model directory.

use std::borrow::Cow;
use std::path::Path;

use rnnlab_vectorize::subword::{SubwordKind, SubwordParams, SubwordTokenizer};
use rnnlab_vectorize::Vocabulary;

use super::bag::TokenGrams;
use super::config::{RnnConfig, TokensKind};
use crate::Error;

/// Documents as the classifier reads them: embedding ids, the bag-of-n-gram buckets of each
/// document and the character n-grams of each token (empty when those are off).
pub struct Encoded {
    pub seqs: Vec<Vec<u32>>,
    pub bags: Vec<Vec<u32>>,
    pub chars: Vec<TokenGrams>,
}

impl Encoded {
    pub fn features(&self) -> DocFeatures<'_> {
        DocFeatures {
            bags: &self.bags,
            chars: &self.chars,
        }
    }
}

/// What a batch looks up beside its word ids, per document, indexed like the batch's `rows`:
/// each document's n-gram bag and its tokens' character n-grams (either may be empty when the
/// network has no such table).
#[derive(Debug, Clone, Copy, Default)]
pub struct DocFeatures<'a> {
    pub bags: &'a [Vec<u32>],
    pub chars: &'a [TokenGrams],
}

pub use crate::config::{BOS, EOS};

/// `docs` as the network reads them: with `config.bos_eos`, each between [`BOS`] and [`EOS`],
/// so that every sequence, even an empty one, has steps seen in every training text. Without
/// them a text of one or two words is pooled from those words alone, an input training has
/// hardly any of: a one-word tweet read as an undiluted extreme (hate speech: "i agree" at
/// p = 0.996).
fn marked<'a>(docs: &'a [Vec<String>], config: &RnnConfig) -> Cow<'a, [Vec<String>]> {
    if !config.inputs.bos_eos {
        return Cow::Borrowed(docs);
    }
    let mark = |d: &Vec<String>| {
        let mut m = Vec::with_capacity(d.len() + 2);
        m.push(BOS.to_string());
        m.extend(d.iter().cloned());
        m.push(EOS.to_string());
        m
    };
    Cow::Owned(docs.iter().map(mark).collect())
}

pub enum SequenceInput {
    Words(Vocabulary),
    Subwords(Box<SubwordTokenizer>),
}

impl SequenceInput {
    /// Fits the vocabulary or trains the tokenizer on the training documents.
    pub fn fit(config: &RnnConfig, docs: &[Vec<String>]) -> Result<Self, Error> {
        let docs = &*marked(docs, config);
        let kind = match config.inputs.tokens {
            TokensKind::Word => {
                return Ok(SequenceInput::Words(Vocabulary::fit(
                    docs,
                    config.inputs.min_count,
                    None,
                )?))
            }
            TokensKind::Bpe => SubwordKind::Bpe,
            TokensKind::Wordpiece => SubwordKind::WordPiece,
            TokensKind::Unigram => SubwordKind::Unigram,
        };
        let params = SubwordParams {
            kind,
            vocab_size: config.inputs.subword_vocab,
            min_frequency: config.inputs.min_count as u64,
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

    fn encode(&self, doc: &[String]) -> Result<Vec<u32>, Error> {
        match self {
            SequenceInput::Words(v) => Ok(v.encode(doc)),
            SequenceInput::Subwords(t) => Ok(t.encode(doc)?),
        }
    }

    /// Ids, n-gram bags and tokens' character n-grams of every document (with the start and end markers of
    /// `config.bos_eos`).
    pub fn encode_docs(&self, docs: &[Vec<String>], config: &RnnConfig) -> Result<Encoded, Error> {
        let docs = &*marked(docs, config);
        Ok(Encoded {
            seqs: docs.iter().map(|d| self.encode(d)).collect::<Result<_, _>>()?,
            bags: docs.iter().map(|d| super::bag::ngram_bag(d, config)).collect(),
            chars: docs.iter().map(|d| super::bag::token_grams(d, config)).collect(),
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
                rnnlab_baselines::files::write_atomic(&path, s.as_bytes()).map_err(|e| Error::io(&path, e))
            }
            SequenceInput::Subwords(t) => Ok(t.save(&path)?),
        }
    }

    pub fn load(dir: &Path, tokens: TokensKind) -> Result<Self, Error> {
        if tokens == TokensKind::Word {
            let mut v: Vocabulary = rnnlab_baselines::baseline::read_json(&dir.join("vocab.json"))?;
            v.rebuild_index();
            Ok(SequenceInput::Words(v))
        } else {
            let path = dir.join("tokenizer.json");
            rnnlab_baselines::files::check_regular(&path, rnnlab_baselines::files::MAX_JSON_BYTES)?;
            Ok(SequenceInput::Subwords(Box::new(SubwordTokenizer::load(&path)?)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Inputs;

    fn docs(texts: &[&str]) -> Vec<Vec<String>> {
        texts
            .iter()
            .map(|t| t.split_whitespace().map(String::from).collect())
            .collect()
    }

    #[test]
    fn bos_eos_marks_every_text_for_ids_and_bag_and_is_off_by_default() {
        let train = docs(&["good but bad", "bad", "good good"]);
        let config = RnnConfig {
            inputs: Inputs {
                min_count: 1,
                bag_buckets: 1 << 10,
                ..Inputs::default()
            },
            ..RnnConfig::default()
        };
        let marked_config = RnnConfig {
            inputs: Inputs {
                bos_eos: true,
                ..config.inputs.clone()
            },
            ..config.clone()
        };
        let plain = SequenceInput::fit(&config, &train).unwrap();
        let input = SequenceInput::fit(&marked_config, &train).unwrap();
        assert_eq!(
            input.vocab_size(),
            plain.vocab_size() + 2,
            "<s> and </s> join the vocabulary"
        );
        let words = input.words().unwrap();
        let (bos, eos) = (
            words.iter().position(|w| w == BOS).unwrap() as u32,
            words.iter().position(|w| w == EOS).unwrap() as u32,
        );
        let test = docs(&["bad good", ""]);
        let enc = input.encode_docs(&test, &marked_config).unwrap();
        let without = plain.encode_docs(&test, &config).unwrap();
        assert_eq!(enc.seqs[1], [bos, eos], "an empty text is the two markers");
        assert_eq!(enc.seqs[0].len(), 4);
        assert_eq!((enc.seqs[0][0], enc.seqs[0][3]), (bos, eos));
        assert_eq!(without.seqs[0].len(), 2);
        assert!(without.seqs[1].is_empty());
        // The bag holds the markers' n-grams too: 4 unigrams and 3 bigrams against 2 and 1.
        assert_eq!(enc.bags[0].len(), 7);
        assert_eq!(without.bags[0].len(), 3);
    }
}
