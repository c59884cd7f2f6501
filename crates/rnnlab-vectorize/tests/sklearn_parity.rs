//! The scikit-learn mode of the vectorizers against scikit-learn itself, on a committed
//! fixture (tests/fixtures/sklearn_tfidf.json, made by make_sklearn_fixture.py).

use rnnlab_vectorize::{
    CountParams, CsrMatrix, Df, HashingParams, HashingVectorizer, Norm, TfidfParams, TfidfVectorizer,
};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/sklearn_tfidf.json")).unwrap()
}

fn docs(v: &Value) -> Vec<Vec<String>> {
    v["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d.as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

fn dense(m: &Value) -> Vec<Vec<f64>> {
    let indptr: Vec<usize> = serde_json::from_value(m["indptr"].clone()).unwrap();
    let indices: Vec<usize> = serde_json::from_value(m["indices"].clone()).unwrap();
    let data: Vec<f64> = serde_json::from_value(m["data"].clone()).unwrap();
    let n_cols = m["n_cols"].as_u64().unwrap() as usize;
    (0..indptr.len() - 1)
        .map(|r| {
            let mut row = vec![0.0; n_cols];
            for k in indptr[r]..indptr[r + 1] {
                row[indices[k]] = data[k];
            }
            row
        })
        .collect()
}

fn assert_close(ours: &CsrMatrix, want: &[Vec<f64>], what: &str) {
    let got = ours.to_dense();
    assert_eq!(got.len(), want.len(), "{what}: rows");
    for (r, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: columns");
        for (c, (a, b)) in g.iter().zip(w).enumerate() {
            assert!((*a as f64 - b).abs() <= 1e-6, "{what}: row {r}, column {c}: {a} vs {b}");
        }
    }
}

#[test]
fn tfidf_matches_sklearn() {
    let fx = fixture();
    let d = docs(&fx);
    for case in fx["tfidf"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let range: (usize, usize) = serde_json::from_value(case["ngram_range"].clone()).unwrap();
        let kw = &case["params"];
        let params = TfidfParams {
            count: CountParams {
                ngram_range: range,
                min_df: kw
                    .get("min_df")
                    .map_or(Df::Count(1), |v| Df::Count(v.as_u64().unwrap())),
                max_df: kw
                    .get("max_df")
                    .map_or(Df::Fraction(1.0), |v| Df::Fraction(v.as_f64().unwrap())),
                ..Default::default()
            },
            sublinear_tf: kw.get("sublinear_tf").is_some_and(|v| v.as_bool().unwrap()),
            smooth_idf: kw.get("smooth_idf").is_none_or(|v| v.as_bool().unwrap()),
            norm: kw
                .get("norm")
                .map_or(Norm::L2, |v| v.as_str().unwrap().parse().unwrap()),
            ..Default::default()
        };
        let (v, x) = TfidfVectorizer::fit_transform(&d, params).unwrap();
        let vocab: Vec<String> = serde_json::from_value(case["vocabulary"].clone()).unwrap();
        assert_eq!(v.counts.vocabulary, vocab, "{name}: vocabulary");
        let idf: Vec<f64> = serde_json::from_value(case["idf"].clone()).unwrap();
        for (a, b) in v.idf.iter().zip(&idf) {
            assert!((a - b).abs() < 1e-9, "{name}: idf {a} vs {b}");
        }
        assert_close(&x, &dense(&case["matrix"]), name);
        // transform() of the same documents gives the same matrix.
        assert_eq!(v.transform(&d), x, "{name}: transform");
    }
}

#[test]
fn hashing_matches_sklearn() {
    let fx = fixture();
    let d = docs(&fx);
    let h = &fx["hashing"];
    let v = HashingVectorizer::new(HashingParams {
        ngram_range: (1, 2),
        n_features: h["n_features"].as_u64().unwrap() as usize,
        alternate_sign: h["alternate_sign"].as_bool().unwrap(),
        norm: Norm::L2,
        ..Default::default()
    })
    .unwrap();
    assert_close(&v.transform(&d), &dense(&h["matrix"]), "hashing");
}
