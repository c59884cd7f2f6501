//! `CountVectorizer` and `TfidfVectorizer` with scikit-learn's parameters and semantics.
//! `fit` returns the fitted vectorizer, so "transform before fit" cannot be written.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::csr::{CsrMatrix, Norm};
use crate::ngrams::{self, Analyzer, KeyMap, Origin};
use crate::Error;

/// `min_df` / `max_df`: a document count (integer) or a fraction of documents (float).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Df {
    Count(u64),
    Fraction(f64),
}

impl Df {
    fn to_count(self, n_docs: usize, name: &str) -> Result<f64, Error> {
        match self {
            Df::Count(c) => Ok(c as f64),
            Df::Fraction(f) if (0.0..=1.0).contains(&f) => Ok(f * n_docs as f64),
            Df::Fraction(f) => Err(Error::Param(format!(
                "{name} = {f} must be a count or a fraction in [0, 1]"
            ))),
        }
    }
}

impl std::str::FromStr for Df {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if let Ok(c) = s.parse::<u64>() {
            return Ok(Df::Count(c));
        }
        s.parse::<f64>()
            .map(Df::Fraction)
            .map_err(|_| Error::Param(format!("{s:?} is neither a document count nor a fraction")))
    }
}

/// Parameters of [`CountVectorizer`], named as in scikit-learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CountParams {
    pub analyzer: Analyzer,
    pub ngram_range: (usize, usize),
    pub min_df: Df,
    pub max_df: Df,
    pub max_features: Option<usize>,
    /// 1 for every term present (the lecture's vectorizer), else the count.
    pub binary: bool,
    /// A fixed vocabulary (column order as given); `min_df` etc. are then ignored.
    pub vocabulary: Option<Vec<String>>,
}

impl Default for CountParams {
    fn default() -> Self {
        CountParams {
            analyzer: Analyzer::Word,
            ngram_range: (1, 1),
            min_df: Df::Count(1),
            max_df: Df::Fraction(1.0),
            max_features: None,
            binary: false,
            vocabulary: None,
        }
    }
}

/// A fitted count vectorizer: the vocabulary, in column order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CountVectorizer {
    pub params: CountParams,
    /// Term of each column (sorted, as scikit-learn's `get_feature_names_out`).
    pub vocabulary: Vec<String>,
    #[serde(skip)]
    index: KeyMap<u32>,
}

struct Stat {
    df: u32,
    tf: u64,
    doc: u32,
    origin: Origin,
}

type DocKeys = Vec<(u128, u32, Origin)>;

/// The distinct n-gram keys of a document with their counts (sorted by key).
fn doc_keys(tokens: &[String], params: &CountParams) -> DocKeys {
    SCRATCH.with(|cell| {
        let mut all = cell.borrow_mut();
        all.clear();
        ngrams::for_each_ngram(tokens, params.analyzer, params.ngram_range, |key, origin| {
            all.push((key, origin))
        });
        all.sort_unstable_by_key(|e| e.0);
        let mut out: DocKeys = Vec::with_capacity(all.len());
        for &(k, o) in all.iter() {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 += 1,
                _ => out.push((k, 1, o)),
            }
        }
        out
    })
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<(u128, Origin)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl CountVectorizer {
    /// Learns the vocabulary of `docs` (token lists).
    pub fn fit(docs: &[Vec<String>], params: CountParams) -> Result<Self, Error> {
        Ok(Self::fit_transform(docs, params)?.0)
    }

    /// Learns the vocabulary and returns the document-term matrix of `docs`.
    pub fn fit_transform(docs: &[Vec<String>], params: CountParams) -> Result<(Self, CsrMatrix), Error> {
        ngrams::check_ngram_range(params.ngram_range)?;
        if docs.is_empty() {
            return Err(Error::Empty("cannot fit a vectorizer on an empty corpus".into()));
        }
        if let Some(vocab) = params.vocabulary.clone() {
            let v = Self::with_vocabulary(params, vocab)?;
            let x = v.transform(docs);
            return Ok((v, x));
        }
        let keys: Vec<DocKeys> = docs.par_iter().map(|d| doc_keys(d, &params)).collect();
        // Keys are uniform hashes: shard them by their top bits, one shard per thread, so
        // every shard is counted over all documents without any merging.
        let shards = rayon::current_num_threads().clamp(1, 64);
        let total: usize = keys.iter().map(Vec::len).sum();
        let stats: Vec<KeyMap<Stat>> = (0..shards)
            .into_par_iter()
            .map(|shard| {
                let mut acc: KeyMap<Stat> = KeyMap::with_capacity_and_hasher(total / shards / 3, Default::default());
                for (doc, dk) in keys.iter().enumerate() {
                    for &(k, c, origin) in dk {
                        if (k >> 64) as u64 as usize % shards != shard {
                            continue;
                        }
                        let e = acc.entry(k).or_insert(Stat {
                            df: 0,
                            tf: 0,
                            doc: doc as u32,
                            origin,
                        });
                        e.df += 1;
                        e.tf += c as u64;
                    }
                }
                acc
            })
            .collect();
        if stats.iter().all(|m| m.is_empty()) {
            return Err(Error::Empty(
                "every document is empty: no terms to build a vocabulary from".into(),
            ));
        }
        let n = docs.len();
        let high = params.max_df.to_count(n, "max_df")?;
        let low = params.min_df.to_count(n, "min_df")?;
        if high < low {
            return Err(Error::Param("max_df corresponds to fewer documents than min_df".into()));
        }
        let spelled = |k: u128, st: &Stat| {
            (
                ngrams::spell(&docs[st.doc as usize], params.analyzer, st.origin),
                k,
                st.tf,
            )
        };
        let mut terms: Vec<(String, u128, u64)> = stats
            .par_iter()
            .flat_map_iter(|m| {
                m.iter()
                    .filter(|(_, s)| (s.df as f64) >= low && (s.df as f64) <= high)
                    .map(|(k, s)| spelled(*k, s))
            })
            .collect();
        if terms.is_empty() {
            return Err(Error::Empty(format!(
                "no term is left after min_df = {:?} and max_df = {:?}: lower min_df or raise max_df",
                params.min_df, params.max_df
            )));
        }
        if let Some(limit) = params.max_features {
            if limit == 0 {
                return Err(Error::Param("max_features must be at least 1".into()));
            }
            if terms.len() > limit {
                // Most frequent first; ties by term, so the result does not depend on hashing.
                terms.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
                terms.truncate(limit);
            }
        }
        terms.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let index: KeyMap<u32> = terms.iter().enumerate().map(|(i, t)| (t.1, i as u32)).collect();
        let vocabulary = terms.into_iter().map(|t| t.0).collect();
        let v = CountVectorizer {
            params,
            vocabulary,
            index,
        };
        let rows = keys.par_iter().map(|dk| v.row_from_keys(dk)).collect();
        let x = CsrMatrix::from_rows(v.vocabulary.len(), rows)?;
        Ok((v, x))
    }

    fn with_vocabulary(params: CountParams, vocabulary: Vec<String>) -> Result<Self, Error> {
        if vocabulary.is_empty() {
            return Err(Error::Param("the fixed vocabulary is empty".into()));
        }
        let mut v = CountVectorizer {
            params,
            vocabulary,
            index: KeyMap::default(),
        };
        v.rebuild_index()?;
        Ok(v)
    }

    /// Rebuilds the term index after deserialisation.
    pub fn rebuild_index(&mut self) -> Result<(), Error> {
        self.index = KeyMap::with_capacity_and_hasher(self.vocabulary.len(), Default::default());
        for (i, t) in self.vocabulary.iter().enumerate() {
            if self
                .index
                .insert(ngrams::term_key(t, self.params.analyzer), i as u32)
                .is_some()
            {
                return Err(Error::Param(format!("the vocabulary has {t:?} twice")));
            }
        }
        Ok(())
    }

    /// The row of a document, sorted by column (so building the matrix needs no sort).
    fn row_from_keys(&self, dk: &DocKeys) -> Vec<(u32, f32)> {
        let mut row: Vec<(u32, f32)> = dk
            .iter()
            .filter_map(|(k, c, _)| {
                self.index
                    .get(k)
                    .map(|&col| (col, if self.params.binary { 1.0 } else { *c as f32 }))
            })
            .collect();
        row.sort_unstable_by_key(|&(c, _)| c);
        row
    }

    pub fn n_features(&self) -> usize {
        self.vocabulary.len()
    }

    /// The document-term matrix of `docs` (terms outside the vocabulary are ignored).
    pub fn transform(&self, docs: &[Vec<String>]) -> CsrMatrix {
        let rows = docs
            .par_iter()
            .map(|d| self.row_from_keys(&doc_keys(d, &self.params)))
            .collect();
        CsrMatrix::from_rows(self.vocabulary.len(), rows).expect("rows built from the vocabulary are valid")
    }
}

/// How term frequency and inverse document frequency are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TfidfMode {
    /// scikit-learn: tf = raw count (or 1 + ln count with `sublinear_tf`),
    /// idf = ln((1 + n) / (1 + df)) + 1 (`smooth_idf`) or ln(n / df) + 1, then `norm`.
    #[default]
    Sklearn,
    /// The lecture: tf = n_t / sum_k n_k, idf = ln(|D| / df), then `norm`
    /// (a term in every training document gets weight 0).
    Lecture,
}

/// Parameters of [`TfidfVectorizer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TfidfParams {
    pub count: CountParams,
    pub mode: TfidfMode,
    pub norm: Norm,
    pub use_idf: bool,
    pub smooth_idf: bool,
    pub sublinear_tf: bool,
}

impl Default for TfidfParams {
    fn default() -> Self {
        TfidfParams {
            count: CountParams::default(),
            mode: TfidfMode::Sklearn,
            norm: Norm::L2,
            use_idf: true,
            smooth_idf: true,
            sublinear_tf: false,
        }
    }
}

/// A fitted TF-IDF vectorizer: a count vectorizer and the idf of each column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TfidfVectorizer {
    pub params: TfidfParams,
    pub counts: CountVectorizer,
    pub idf: Vec<f64>,
}

impl TfidfVectorizer {
    pub fn fit(docs: &[Vec<String>], params: TfidfParams) -> Result<Self, Error> {
        Ok(Self::fit_transform(docs, params)?.0)
    }

    pub fn fit_transform(docs: &[Vec<String>], params: TfidfParams) -> Result<(Self, CsrMatrix), Error> {
        let (counts, x) = CountVectorizer::fit_transform(docs, params.count.clone())?;
        let mut df = vec![0u64; counts.n_features()];
        for &c in x.indices() {
            df[c as usize] += 1;
        }
        let n = docs.len() as f64;
        let idf = df
            .iter()
            .map(|&d| {
                let d = d as f64;
                match params.mode {
                    TfidfMode::Lecture => {
                        if d > 0.0 {
                            (n / d).ln()
                        } else {
                            0.0
                        }
                    }
                    TfidfMode::Sklearn if params.smooth_idf => ((1.0 + n) / (1.0 + d)).ln() + 1.0,
                    TfidfMode::Sklearn => {
                        if d > 0.0 {
                            (n / d).ln() + 1.0
                        } else {
                            f64::INFINITY
                        }
                    }
                }
            })
            .collect();
        let v = TfidfVectorizer { params, counts, idf };
        let x = v.weight(x);
        Ok((v, x))
    }

    pub fn n_features(&self) -> usize {
        self.counts.n_features()
    }

    pub fn transform(&self, docs: &[Vec<String>]) -> CsrMatrix {
        self.weight(self.counts.transform(docs))
    }

    /// Turns counts into tf-idf weights, in place (f64 arithmetic, f32 storage).
    fn weight(&self, mut x: CsrMatrix) -> CsrMatrix {
        let p = &self.params;
        x.par_rows_mut(|cols, vals| {
            let total: f64 = vals.iter().map(|&v| v as f64).sum();
            let mut sq = 0.0f64;
            let mut abs = 0.0f64;
            let mut w64 = [0.0f64; 64];
            let mut big: Vec<f64> = Vec::new();
            let ws: &mut [f64] = if vals.len() <= 64 {
                &mut w64[..vals.len()]
            } else {
                big.resize(vals.len(), 0.0);
                &mut big
            };
            for ((w, &c), &v) in ws.iter_mut().zip(cols).zip(vals.iter()) {
                let v = v as f64;
                let tf = match p.mode {
                    TfidfMode::Lecture => v / total,
                    TfidfMode::Sklearn if p.sublinear_tf => v.ln() + 1.0,
                    TfidfMode::Sklearn => v,
                };
                *w = if p.use_idf { tf * self.idf[c as usize] } else { tf };
                sq += *w * *w;
                abs += w.abs();
            }
            let norm = match p.norm {
                Norm::L2 => sq.sqrt(),
                Norm::L1 => abs,
                Norm::None => 1.0,
            };
            let scale = if norm > 0.0 { 1.0 / norm } else { 1.0 };
            for (v, w) in vals.iter_mut().zip(ws.iter()) {
                *v = (w * scale) as f32;
            }
        });
        // A weight of exactly 0 (the lecture's idf of a term in every document) is dropped.
        if x.data().contains(&0.0) {
            let n_cols = x.n_cols();
            let rows = (0..x.n_rows())
                .map(|r| {
                    let (c, v) = x.row(r);
                    c.iter().copied().zip(v.iter().copied()).collect()
                })
                .collect();
            return CsrMatrix::from_rows(n_cols, rows).expect("rows keep the shape of the counts");
        }
        x
    }

    /// Rebuilds indices after deserialisation.
    pub fn rebuild_index(&mut self) -> Result<(), Error> {
        self.counts.rebuild_index()
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
    fn binary_counts_like_the_lecture() {
        let d = docs(&["a b a", "b c", ""]);
        let (v, x) = CountVectorizer::fit_transform(
            &d,
            CountParams {
                binary: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(v.vocabulary, ["a", "b", "c"]);
        assert_eq!(
            x.to_dense(),
            vec![vec![1.0, 1.0, 0.0], vec![0.0, 1.0, 1.0], vec![0.0, 0.0, 0.0]]
        );
        let (_, raw) = CountVectorizer::fit_transform(&d, CountParams::default()).unwrap();
        assert_eq!(raw.row(0).1, &[2.0, 1.0]);
    }

    #[test]
    fn min_df_max_df_and_max_features() {
        let d = docs(&["a b", "a c", "a b d", "e"]);
        let p = CountParams {
            min_df: Df::Count(2),
            ..Default::default()
        };
        assert_eq!(CountVectorizer::fit(&d, p).unwrap().vocabulary, ["a", "b"]);
        let p = CountParams {
            max_df: Df::Fraction(0.5),
            ..Default::default()
        };
        assert_eq!(CountVectorizer::fit(&d, p).unwrap().vocabulary, ["b", "c", "d", "e"]);
        let p = CountParams {
            max_features: Some(2),
            ..Default::default()
        };
        assert_eq!(CountVectorizer::fit(&d, p).unwrap().vocabulary, ["a", "b"]);
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_parameter() {
        assert!(CountVectorizer::fit(&[], CountParams::default()).is_err());
        let err = CountVectorizer::fit(&docs(&["", ""]), CountParams::default()).unwrap_err();
        assert!(err.to_string().contains("empty"));
        let p = CountParams {
            min_df: Df::Count(5),
            ..Default::default()
        };
        assert!(CountVectorizer::fit(&docs(&["a"]), p)
            .unwrap_err()
            .to_string()
            .contains("min_df"));
        let p = CountParams {
            max_df: Df::Fraction(1.5),
            ..Default::default()
        };
        assert!(CountVectorizer::fit(&docs(&["a"]), p)
            .unwrap_err()
            .to_string()
            .contains("max_df"));
    }

    #[test]
    fn fixed_vocabulary_and_roundtrip() {
        let p = CountParams {
            vocabulary: Some(vec!["z".into(), "a".into()]),
            ngram_range: (1, 2),
            ..Default::default()
        };
        let (v, x) = CountVectorizer::fit_transform(&docs(&["a z a"]), p).unwrap();
        assert_eq!(x.to_dense(), vec![vec![1.0, 2.0]]);
        let json = serde_json::to_string(&v).unwrap();
        let mut back: CountVectorizer = serde_json::from_str(&json).unwrap();
        back.rebuild_index().unwrap();
        assert_eq!(back.transform(&docs(&["z"])).to_dense(), vec![vec![1.0, 0.0]]);
    }

    #[test]
    fn lecture_tfidf() {
        let d = docs(&["a a b", "b c"]);
        let p = TfidfParams {
            mode: TfidfMode::Lecture,
            norm: Norm::None,
            ..Default::default()
        };
        let (_, x) = TfidfVectorizer::fit_transform(&d, p).unwrap();
        // a: tf 2/3, idf ln(2/1); b is in every document: idf 0, dropped.
        let dense = x.to_dense();
        assert!((dense[0][0] - (2.0 / 3.0 * 2f64.ln()) as f32).abs() < 1e-6);
        assert_eq!(dense[0][1], 0.0);
        assert!((dense[1][2] - (0.5 * 2f64.ln()) as f32).abs() < 1e-6);
    }
}
