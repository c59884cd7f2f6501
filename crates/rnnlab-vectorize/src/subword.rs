//! Subword tokenizers (BPE, WordPiece, Unigram) trained with Hugging Face `tokenizers` on
//! the training texts, saved as a standard `tokenizer.json` (loadable by Python's
//! `tokenizers` as it is). Input is the text pipeline's tokens joined by spaces, so the
//! pre-tokenizer only splits on whitespace. Ids 0 and 1 are `<pad>` and `<unk>`, as in
//! [`crate::Vocabulary`].

use std::path::Path;

use serde::{Deserialize, Serialize};
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::unigram::{Unigram, UnigramTrainerBuilder};
use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainerBuilder};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::{AddedToken, ModelWrapper, Tokenizer};

use crate::sequence::{PAD_TOKEN, UNK_TOKEN};
use crate::Error;

/// The subword model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubwordKind {
    Bpe,
    WordPiece,
    Unigram,
}

impl std::str::FromStr for SubwordKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "bpe" => Ok(SubwordKind::Bpe),
            "wordpiece" => Ok(SubwordKind::WordPiece),
            "unigram" => Ok(SubwordKind::Unigram),
            _ => Err(Error::Param(format!(
                "subword model must be bpe, wordpiece or unigram, not {s:?}"
            ))),
        }
    }
}

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubwordParams {
    pub kind: SubwordKind,
    pub vocab_size: usize,
    pub min_frequency: u64,
}

impl Default for SubwordParams {
    fn default() -> Self {
        SubwordParams {
            kind: SubwordKind::Bpe,
            vocab_size: 8000,
            min_frequency: 2,
        }
    }
}

/// A trained subword tokenizer.
pub struct SubwordTokenizer {
    inner: Tokenizer,
}

fn tk_err(e: impl std::fmt::Display) -> Error {
    Error::Param(format!("subword tokenizer: {e}"))
}

fn specials() -> Vec<AddedToken> {
    vec![AddedToken::from(PAD_TOKEN, true), AddedToken::from(UNK_TOKEN, true)]
}

impl SubwordTokenizer {
    /// Trains on token lists (each joined by spaces).
    pub fn train(docs: &[Vec<String>], params: SubwordParams) -> Result<Self, Error> {
        if params.vocab_size < 3 {
            return Err(Error::Param("vocab_size must be at least 3".into()));
        }
        if docs.iter().all(Vec::is_empty) {
            return Err(Error::Empty(
                "cannot train a subword tokenizer on empty documents".into(),
            ));
        }
        let (model, mut trainer): (ModelWrapper, TrainerWrapper) = match params.kind {
            SubwordKind::Bpe => (
                BPE::builder()
                    .unk_token(UNK_TOKEN.into())
                    .build()
                    .map_err(tk_err)?
                    .into(),
                BpeTrainerBuilder::new()
                    .vocab_size(params.vocab_size)
                    .min_frequency(params.min_frequency)
                    .special_tokens(specials())
                    .show_progress(false)
                    .build()
                    .into(),
            ),
            SubwordKind::WordPiece => (
                WordPiece::builder()
                    .unk_token(UNK_TOKEN.into())
                    .build()
                    .map_err(tk_err)?
                    .into(),
                WordPieceTrainerBuilder::new()
                    .vocab_size(params.vocab_size)
                    .min_frequency(params.min_frequency)
                    .special_tokens(specials())
                    .show_progress(false)
                    .build()
                    .into(),
            ),
            SubwordKind::Unigram => (
                Unigram::default().into(),
                UnigramTrainerBuilder::default()
                    .vocab_size(params.vocab_size as u32)
                    .special_tokens(specials())
                    .unk_token(Some(UNK_TOKEN.into()))
                    .show_progress(false)
                    .build()
                    .map_err(tk_err)?
                    .into(),
            ),
        };
        let mut inner = Tokenizer::new(model);
        inner.with_pre_tokenizer(Some(WhitespaceSplit));
        let texts: Vec<String> = docs.iter().map(|d| d.join(" ")).collect();
        // The tokenizers trainers unwrap internal failures (the unigram trainer's suffix array
        // above all): a panic there becomes this error, not an abort of the user's run.
        let trained = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.train(&mut trainer, texts.iter()).map(|_| ())
        }));
        match trained {
            Ok(r) => r.map_err(tk_err)?,
            Err(_) => {
                return Err(Error::Param(format!(
                    "the {:?} subword trainer failed on these documents; try another --tokens kind",
                    params.kind
                )))
            }
        }
        Ok(SubwordTokenizer { inner })
    }

    /// Number of ids (special tokens included).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Subword ids of a token list.
    pub fn encode(&self, tokens: &[String]) -> Result<Vec<u32>, Error> {
        let enc = self.inner.encode(tokens.join(" "), false).map_err(tk_err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Subword strings of a token list (for inspection).
    pub fn pieces(&self, tokens: &[String]) -> Result<Vec<String>, Error> {
        let enc = self.inner.encode(tokens.join(" "), false).map_err(tk_err)?;
        Ok(enc.get_tokens().to_vec())
    }

    pub fn id_of(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Writes `tokenizer.json` (the Hugging Face format).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        self.inner
            .save(path, true)
            .map_err(|e| Error::Param(format!("{}: {e}", path.display())))
    }

    pub fn load(path: &Path) -> Result<Self, Error> {
        Tokenizer::from_file(path)
            .map(|inner| SubwordTokenizer { inner })
            .map_err(|e| Error::Param(format!("{}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<Vec<String>> {
        let base = [
            "не_любить банк",
            "банковский кредит",
            "кредитный банк",
            "lower lowest low",
            "newer newest new",
        ];
        (0..50)
            .map(|i| base[i % base.len()].split(' ').map(String::from).collect())
            .collect()
    }

    #[test]
    fn every_kind_trains_encodes_saves_and_loads() {
        let dir = std::env::temp_dir().join(format!("rnnlab-subword-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for kind in [SubwordKind::Bpe, SubwordKind::WordPiece, SubwordKind::Unigram] {
            let t = SubwordTokenizer::train(
                &corpus(),
                SubwordParams {
                    kind,
                    vocab_size: 60,
                    min_frequency: 1,
                },
            )
            .unwrap();
            assert_eq!(t.id_of(PAD_TOKEN), Some(0), "{kind:?}");
            assert_eq!(t.id_of(UNK_TOKEN), Some(1), "{kind:?}");
            let doc: Vec<String> = vec!["банковский".into(), "lowest".into()];
            let ids = t.encode(&doc).unwrap();
            assert!(
                !ids.is_empty() && ids.iter().all(|&i| (i as usize) < t.vocab_size()),
                "{kind:?}: {ids:?}"
            );
            assert!(t.encode(&[]).unwrap().is_empty());
            let path = dir.join(format!("{kind:?}.json"));
            t.save(&path).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains("\"model\"") && text.contains("\"pre_tokenizer\""));
            let back = SubwordTokenizer::load(&path).unwrap();
            assert_eq!(back.encode(&doc).unwrap(), ids, "{kind:?}");
        }
        assert!(SubwordTokenizer::load(&dir.join("missing.json")).is_err());
        assert!(SubwordTokenizer::train(&[vec![]], SubwordParams::default()).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
