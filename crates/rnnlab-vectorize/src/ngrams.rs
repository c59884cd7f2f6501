//! N-gram features of token lists, as scikit-learn's analyzers make them, and their keys.
//!
//! Fitting never builds an n-gram string: each token gets a 128-bit hash, and an n-gram's
//! key chains the hashes of its tokens (or characters). Strings are made only for the terms
//! that end up in a vocabulary. A collision needs two equal 128-bit keys: with a million
//! distinct n-grams its probability is below 10^-26.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Which features a document yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Analyzer {
    /// Word n-grams: tokens joined by a space (scikit-learn's `analyzer="word"`).
    #[default]
    Word,
    /// Character n-grams inside word boundaries, each token padded with spaces
    /// (scikit-learn's `analyzer="char_wb"`).
    CharWb,
}

impl std::str::FromStr for Analyzer {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "word" => Ok(Analyzer::Word),
            "char_wb" | "char-wb" => Ok(Analyzer::CharWb),
            _ => Err(Error::Param(format!("analyzer must be word or char_wb, not {s:?}"))),
        }
    }
}

/// A hasher for keys that are already uniform hashes (n-gram keys): it only folds them to
/// 64 bits, instead of hashing them again.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u128(&mut self, k: u128) {
        self.0 = (k as u64) ^ ((k >> 64) as u64);
    }
}

/// Hash maps keyed by n-gram keys.
pub type KeyMap<V> = std::collections::HashMap<u128, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// `ngram_range = (min_n, max_n)`.
pub fn check_ngram_range(range: (usize, usize)) -> Result<(), Error> {
    if range.0 == 0 || range.0 > range.1 {
        return Err(Error::Param(format!(
            "ngram_range ({}, {}) must have 1 <= min_n <= max_n",
            range.0, range.1
        )));
    }
    Ok(())
}

#[inline]
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

const SEED_A: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED_B: u64 = 0x6a09_e667_f3bc_c909;

/// The 128-bit hash of a token (eight bytes at a time, two independent lanes).
#[inline]
pub fn token_hash(s: &str) -> u128 {
    let bytes = s.as_bytes();
    let mut a: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut b: u64 = SEED_B ^ (bytes.len() as u64).rotate_left(32);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        a = (a ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd).rotate_left(29);
        b = (b ^ w.rotate_left(32))
            .wrapping_mul(0xc4ce_b9fe_1a85_ec53)
            .rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        let w = u64::from_le_bytes(buf);
        a = (a ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd).rotate_left(29);
        b = (b ^ w.rotate_left(32))
            .wrapping_mul(0xc4ce_b9fe_1a85_ec53)
            .rotate_left(31);
    }
    ((fmix64(a) as u128) << 64) | fmix64(b) as u128
}

#[inline]
fn char_hash(c: char) -> u128 {
    let x = c as u64;
    ((fmix64(x ^ SEED_A) as u128) << 64) | fmix64(x.wrapping_add(SEED_B)) as u128
}

/// Appends `h` to the key of an n-gram so far (order matters).
#[inline]
fn chain(acc: u128, h: u128) -> u128 {
    let a = fmix64(((acc >> 64) as u64).wrapping_mul(SEED_A) ^ (h >> 64) as u64);
    let b = fmix64((acc as u64).rotate_left(29).wrapping_mul(SEED_B) ^ h as u64);
    ((a as u128) << 64) | b as u128
}

const START: u128 = 0x5851_f42d_4c95_7f2d_1405_7b7e_f767_814f;

/// Where an n-gram was seen, to spell it later: token `a`, character `b` (char_wb), length `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub a: u32,
    pub b: u16,
    pub n: u16,
}

/// Calls `f(key, origin)` for every n-gram of `tokens`, with scikit-learn's multiplicity.
pub fn for_each_ngram(tokens: &[String], analyzer: Analyzer, range: (usize, usize), mut f: impl FnMut(u128, Origin)) {
    match analyzer {
        Analyzer::Word => {
            HASHES.with(|cell| {
                let mut hashes = cell.borrow_mut();
                hashes.clear();
                hashes.extend(tokens.iter().map(|t| token_hash(t)));
                word_ngrams(&hashes, range, &mut f);
            });
        }
        Analyzer::CharWb => char_ngrams(tokens, range, f),
    }
}

thread_local! {
    /// Token hashes of the document being read, reused across documents.
    static HASHES: std::cell::RefCell<Vec<u128>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn word_ngrams(hashes: &[u128], range: (usize, usize), f: &mut impl FnMut(u128, Origin)) {
    for start in 0..hashes.len() {
        let mut key = START;
        for n in 1..=range.1 {
            let Some(&h) = hashes.get(start + n - 1) else { break };
            key = chain(key, h);
            if n >= range.0 {
                f(
                    key,
                    Origin {
                        a: start as u32,
                        b: 0,
                        n: n as u16,
                    },
                );
            }
        }
    }
}

fn char_ngrams(tokens: &[String], range: (usize, usize), mut f: impl FnMut(u128, Origin)) {
    let mut padded: Vec<u128> = Vec::new();
    for (ti, tok) in tokens.iter().enumerate() {
        padded.clear();
        padded.push(char_hash(' '));
        padded.extend(tok.chars().map(char_hash));
        padded.push(char_hash(' '));
        let w_len = padded.len();
        for n in range.0..=range.1 {
            // scikit-learn's _char_wb_ngrams: a padded word no longer than n
            // yields itself once, and no longer n-grams.
            let mut offset = 0;
            loop {
                let end = (offset + n).min(w_len);
                let mut key = START;
                for &h in &padded[offset..end] {
                    key = chain(key, h);
                }
                f(
                    key,
                    Origin {
                        a: ti as u32,
                        b: offset as u16,
                        n: (end - offset) as u16,
                    },
                );
                if offset + n >= w_len {
                    break;
                }
                offset += 1;
            }
            if offset == 0 {
                break;
            }
        }
    }
}

/// The text of an n-gram seen at `origin` in `tokens`.
pub fn spell(tokens: &[String], analyzer: Analyzer, origin: Origin) -> String {
    match analyzer {
        Analyzer::Word => tokens[origin.a as usize..origin.a as usize + origin.n as usize].join(" "),
        Analyzer::CharWb => {
            let padded: Vec<char> = std::iter::once(' ')
                .chain(tokens[origin.a as usize].chars())
                .chain(std::iter::once(' '))
                .collect();
            padded[origin.b as usize..origin.b as usize + origin.n as usize]
                .iter()
                .collect()
        }
    }
}

/// The key of a term as spelled in a vocabulary.
pub fn term_key(term: &str, analyzer: Analyzer) -> u128 {
    let mut key = START;
    match analyzer {
        Analyzer::Word => {
            for t in term.split(' ') {
                key = chain(key, token_hash(t));
            }
        }
        Analyzer::CharWb => {
            for c in term.chars() {
                key = chain(key, char_hash(c));
            }
        }
    }
    key
}

/// Calls `f(text)` for every n-gram of `tokens` as a string (for hashing vectorizers).
pub fn for_each_ngram_text(tokens: &[String], analyzer: Analyzer, range: (usize, usize), mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    match analyzer {
        Analyzer::Word => {
            for start in 0..tokens.len() {
                buf.clear();
                for n in 1..=range.1 {
                    let Some(t) = tokens.get(start + n - 1) else { break };
                    if n > 1 {
                        buf.push(' ');
                    }
                    buf.push_str(t);
                    if n >= range.0 {
                        f(&buf);
                    }
                }
            }
        }
        Analyzer::CharWb => {
            for_each_ngram(tokens, analyzer, range, |_, origin| {
                buf.clear();
                buf.push_str(&spell(tokens, analyzer, origin));
                f(&buf);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn texts(tokens: &[String], analyzer: Analyzer, range: (usize, usize)) -> Vec<String> {
        let mut out = Vec::new();
        for_each_ngram(tokens, analyzer, range, |key, origin| {
            let s = spell(tokens, analyzer, origin);
            assert_eq!(term_key(&s, analyzer), key, "{s}");
            out.push(s);
        });
        out.sort();
        out
    }

    #[test]
    fn word_ngrams_like_sklearn() {
        let t = toks("a b c");
        assert_eq!(texts(&t, Analyzer::Word, (1, 2)), ["a", "a b", "b", "b c", "c"]);
        assert_eq!(texts(&t, Analyzer::Word, (2, 3)), ["a b", "a b c", "b c"]);
        assert!(texts(&toks(""), Analyzer::Word, (1, 2)).is_empty());
        let mut text = Vec::new();
        for_each_ngram_text(&t, Analyzer::Word, (1, 2), |s| text.push(s.to_string()));
        text.sort();
        assert_eq!(text, ["a", "a b", "b", "b c", "c"]);
    }

    #[test]
    fn char_wb_like_sklearn() {
        // sklearn: CountVectorizer(analyzer="char_wb", ngram_range=(2, 3)) on "ab c".
        let got = texts(&toks("ab c"), Analyzer::CharWb, (2, 3));
        let mut want = vec![" a", "ab", "b ", " ab", "ab ", " c", "c ", " c "];
        want.sort();
        assert_eq!(got, want);
        // A padded word shorter than n is counted once, and longer n are skipped.
        assert_eq!(texts(&toks("x"), Analyzer::CharWb, (4, 5)), [" x "]);
    }

    #[test]
    fn keys_differ_by_order_and_length() {
        let ab = term_key("a b", Analyzer::Word);
        assert_ne!(ab, term_key("b a", Analyzer::Word));
        assert_ne!(ab, term_key("a", Analyzer::Word));
        assert_ne!(term_key("ab", Analyzer::Word), term_key("ab", Analyzer::CharWb));
    }

    #[test]
    fn ngram_range_is_checked() {
        assert!(check_ngram_range((0, 1)).is_err());
        assert!(check_ngram_range((2, 1)).is_err());
        assert!(check_ngram_range((1, 2)).is_ok());
    }
}
