//! Inputs for recurrent models: a word vocabulary (`PAD = 0`, `UNK = 1`) and the encoder that
//! turns token lists into padded id sequences with their true lengths, or length buckets.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::Error;

pub const PAD: u32 = 0;
pub const UNK: u32 = 1;
pub const PAD_TOKEN: &str = "<pad>";
pub const UNK_TOKEN: &str = "<unk>";

/// Token ids, most frequent first; words seen fewer than `min_count` times map to `UNK`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vocabulary {
    pub min_count: usize,
    pub max_size: Option<usize>,
    /// Token of each id; ids 0 and 1 are `<pad>` and `<unk>`.
    pub tokens: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl Vocabulary {
    /// Counts tokens in `docs` and keeps those seen at least `min_count` times (the lecture
    /// drops words seen fewer than 2 times), at most `max_size` ids in all.
    pub fn fit(docs: &[Vec<String>], min_count: usize, max_size: Option<usize>) -> Result<Self, Error> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for d in docs {
            for t in d {
                *counts.entry(t.as_str()).or_insert(0) += 1;
            }
        }
        let mut kept: Vec<(&str, usize)> = counts.into_iter().filter(|&(_, c)| c >= min_count.max(1)).collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        if let Some(m) = max_size {
            if m < 2 {
                return Err(Error::Param(
                    "max_size must leave room for <pad> and <unk> (at least 2)".into(),
                ));
            }
            kept.truncate(m - 2);
        }
        let mut tokens = vec![PAD_TOKEN.to_string(), UNK_TOKEN.to_string()];
        tokens.extend(kept.into_iter().map(|(t, _)| t.to_string()));
        let mut v = Vocabulary {
            min_count,
            max_size,
            tokens,
            index: HashMap::new(),
        };
        v.rebuild_index();
        Ok(v)
    }

    /// Rebuilds the token index after deserialisation.
    pub fn rebuild_index(&mut self) {
        self.index = self
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.len() <= 2
    }

    pub fn id(&self, token: &str) -> u32 {
        self.index.get(token).copied().unwrap_or(UNK)
    }

    pub fn encode(&self, tokens: &[String]) -> Vec<u32> {
        tokens.iter().map(|t| self.id(t)).collect()
    }
}

/// A batch of sequences padded to one length, row-major `[batch, max_len]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaddedBatch {
    pub ids: Vec<u32>,
    /// True lengths (at least 1: an empty document is one `<pad>` step, so every sequence
    /// has a last state).
    pub lengths: Vec<usize>,
    pub max_len: usize,
    /// Which documents (indices into the encoded list) the rows are.
    pub rows: Vec<usize>,
}

/// Pads or truncates id sequences (the lecture's `encode_sentence`), keeping the first
/// `max_len` ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceEncoder {
    pub max_len: usize,
}

impl SequenceEncoder {
    pub fn new(max_len: usize) -> Result<Self, Error> {
        if max_len == 0 {
            return Err(Error::Param("max_len must be at least 1".into()));
        }
        Ok(SequenceEncoder { max_len })
    }

    /// `max_len` at the given percentile of training lengths (the lecture cuts at the 99th).
    pub fn from_percentile(seqs: &[Vec<u32>], percentile: f64) -> Result<Self, Error> {
        let mut lens: Vec<usize> = seqs.iter().map(Vec::len).collect();
        lens.sort_unstable();
        let at = ((lens.len().saturating_sub(1)) as f64 * percentile / 100.0).round() as usize;
        Self::new(lens.get(at).copied().unwrap_or(1).max(1))
    }

    /// Pads the sequences `rows` to the longest of them (capped at `max_len`).
    pub fn batch(&self, seqs: &[Vec<u32>], rows: &[usize]) -> PaddedBatch {
        let lengths: Vec<usize> = rows.iter().map(|&r| seqs[r].len().clamp(1, self.max_len)).collect();
        let max_len = lengths.iter().copied().max().unwrap_or(1);
        let mut ids = vec![PAD; rows.len() * max_len];
        for (i, &r) in rows.iter().enumerate() {
            for (j, &id) in seqs[r].iter().take(max_len).enumerate() {
                ids[i * max_len + j] = id;
            }
        }
        PaddedBatch {
            ids,
            lengths,
            max_len,
            rows: rows.to_vec(),
        }
    }

    /// Splits `rows` into batches of similar length (sorted by length, then chunked), so
    /// little padding is wasted. The order of batches is for the caller to shuffle.
    pub fn buckets(&self, seqs: &[Vec<u32>], rows: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
        let mut sorted = rows.to_vec();
        sorted.sort_by_key(|&r| (seqs[r].len().min(self.max_len), r));
        sorted.chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(texts: &[&str]) -> Vec<Vec<String>> {
        texts
            .iter()
            .map(|t| t.split_whitespace().map(String::from).collect())
            .collect()
    }

    #[test]
    fn vocabulary_min_count_and_ids() {
        let v = Vocabulary::fit(&docs(&["a b a", "b c", "a"]), 2, None).unwrap();
        assert_eq!(v.tokens, ["<pad>", "<unk>", "a", "b"]);
        assert_eq!(v.encode(&docs(&["a c b"])[0]), [2, UNK, 3]);
        let small = Vocabulary::fit(&docs(&["a b a"]), 1, Some(3)).unwrap();
        assert_eq!(small.tokens, ["<pad>", "<unk>", "a"]);
        assert!(Vocabulary::fit(&docs(&["a"]), 1, Some(1)).is_err());
    }

    #[test]
    fn padding_truncation_and_lengths() {
        let seqs = vec![vec![5, 6, 7, 8], vec![9], vec![]];
        let enc = SequenceEncoder::new(3).unwrap();
        let b = enc.batch(&seqs, &[0, 1, 2]);
        assert_eq!(b.max_len, 3);
        assert_eq!(b.lengths, [3, 1, 1]);
        assert_eq!(b.ids, [5, 6, 7, 9, 0, 0, 0, 0, 0]);
        let buckets = enc.buckets(&seqs, &[0, 1, 2], 2);
        assert_eq!(buckets, vec![vec![2, 1], vec![0]]);
        assert_eq!(SequenceEncoder::from_percentile(&seqs, 99.0).unwrap().max_len, 4);
        assert!(SequenceEncoder::new(0).is_err());
    }
}
