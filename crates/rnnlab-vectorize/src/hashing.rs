//! `HashingVectorizer`: n-grams hashed to columns with MurmurHash3 (x86, 32-bit, seed 0), so
//! that on the same tokens the column indices and signs equal scikit-learn's.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::csr::{CsrMatrix, Norm};
use crate::ngrams::{self, Analyzer};
use crate::Error;

/// MurmurHash3 x86 32-bit of `key` as a signed integer (scikit-learn's
/// `murmurhash3_32(key, seed, positive=False)`).
pub fn murmurhash3_32(key: &[u8], seed: u32) -> i32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let blocks = key.chunks_exact(4);
    let tail = blocks.remainder();
    for b in blocks {
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let mut k: u32 = 0;
    for (i, &b) in tail.iter().enumerate() {
        k |= (b as u32) << (8 * i);
    }
    if !tail.is_empty() {
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= key.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h as i32
}

/// Parameters of [`HashingVectorizer`], named as in scikit-learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashingParams {
    pub analyzer: Analyzer,
    pub ngram_range: (usize, usize),
    pub n_features: usize,
    pub alternate_sign: bool,
    pub binary: bool,
    pub norm: Norm,
}

impl Default for HashingParams {
    fn default() -> Self {
        HashingParams {
            analyzer: Analyzer::Word,
            ngram_range: (1, 1),
            n_features: 1 << 20,
            alternate_sign: true,
            binary: false,
            norm: Norm::L2,
        }
    }
}

/// A hashing vectorizer; stateless, so it needs no fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HashingVectorizer {
    pub params: HashingParams,
}

impl HashingVectorizer {
    pub fn new(params: HashingParams) -> Result<Self, Error> {
        ngrams::check_ngram_range(params.ngram_range)?;
        if params.n_features == 0 || params.n_features > i32::MAX as usize {
            return Err(Error::Param(format!(
                "n_features = {} must be between 1 and 2^31 - 1",
                params.n_features
            )));
        }
        Ok(HashingVectorizer { params })
    }

    pub fn n_features(&self) -> usize {
        self.params.n_features
    }

    /// Column and sign of a feature, as scikit-learn's `_hashing_fast`.
    pub fn column(&self, feature: &str) -> (u32, f32) {
        let n = self.params.n_features as i64;
        let h = murmurhash3_32(feature.as_bytes(), 0);
        let index = if h == i32::MIN {
            (i32::MAX as i64 - (n - 1)) % n
        } else {
            (h as i64).abs() % n
        };
        let sign = if self.params.alternate_sign && h < 0 { -1.0 } else { 1.0 };
        (index as u32, sign)
    }

    pub fn transform(&self, docs: &[Vec<String>]) -> CsrMatrix {
        let p = &self.params;
        let rows = docs
            .par_iter()
            .map(|d| {
                let mut row = Vec::new();
                ngrams::for_each_ngram_text(d, p.analyzer, p.ngram_range, |s| row.push(self.column(s)));
                row
            })
            .collect();
        let mut x = CsrMatrix::from_rows(p.n_features, rows).expect("hashed columns are below n_features");
        if p.binary {
            x.data_mut().iter_mut().for_each(|v| *v = 1.0);
        }
        x.normalize_rows(p.norm);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_reference_values() {
        // scikit-learn: murmurhash3_32(b"", 0) == 0, (b"foo", 0) == -156908512,
        // ("hello", 0) == 613153351, (b"The quick brown fox", 0) == ...
        assert_eq!(murmurhash3_32(b"", 0), 0);
        assert_eq!(murmurhash3_32(b"foo", 0), -156908512);
        assert_eq!(murmurhash3_32(b"hello", 0), 613153351);
        assert_eq!(murmurhash3_32(b"", 1), 0x514E_28B7);
    }

    #[test]
    fn columns_and_signs() {
        let v = HashingVectorizer::new(HashingParams {
            n_features: 16,
            norm: Norm::None,
            ..Default::default()
        })
        .unwrap();
        let (col, sign) = v.column("foo");
        assert_eq!(col, (156908512 % 16) as u32);
        assert_eq!(sign, -1.0);
        let x = v.transform(&[vec!["foo".into(), "foo".into()]]);
        assert_eq!(x.row(0), (&[col][..], &[-2.0f32][..]));
        assert!(HashingVectorizer::new(HashingParams {
            n_features: 0,
            ..Default::default()
        })
        .is_err());
    }
}
