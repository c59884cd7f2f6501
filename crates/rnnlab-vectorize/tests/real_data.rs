//! Vectorizers on the real hate-speech tweets (RNNLAB_DATA_DIR, else ../shared/data).

use std::path::PathBuf;

use rnnlab_text::dataset::{self, Split};
use rnnlab_text::{Lang, Normalize, Pipeline, Preprocessor};
use rnnlab_vectorize::{CountParams, Df, HashingParams, HashingVectorizer, TfidfParams, TfidfVectorizer, Vocabulary};

fn data_dir() -> Option<PathBuf> {
    rnnlab_text::dataset::data_dir_for_tests(env!("CARGO_MANIFEST_DIR"))
}

fn hate_tokens(dir: &std::path::Path) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let spec = dataset::find_dataset("twitter-hate-speech").unwrap();
    let ds = dataset::load_named(&spec, dir).unwrap();
    let pre = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]), None).unwrap();
    let (tokens, _) = pre.process_all(&ds.texts);
    let pick = |s: Split| -> Vec<Vec<String>> {
        tokens
            .iter()
            .zip(&ds.splits)
            .filter(|(_, x)| **x == s)
            .map(|(t, _)| t.clone())
            .collect()
    };
    (pick(Split::Train), pick(Split::Test))
}

#[test]
fn tfidf_on_hate_speech() {
    let Some(dir) = data_dir() else { return };
    let (train, test) = hate_tokens(&dir);
    let params = TfidfParams {
        count: CountParams {
            ngram_range: (1, 2),
            min_df: Df::Count(2),
            ..Default::default()
        },
        sublinear_tf: true,
        ..Default::default()
    };
    let (v, x) = TfidfVectorizer::fit_transform(&train, params).unwrap();
    assert_eq!(x.n_rows(), 25_569);
    assert!((10_000..60_000).contains(&v.n_features()), "{}", v.n_features());
    // Every non-empty row has unit L2 norm.
    for r in 0..x.n_rows() {
        let (_, vals) = x.row(r);
        if !vals.is_empty() {
            let n: f32 = vals.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-4, "row {r}: norm {n}");
        }
    }
    let xt = v.transform(&test);
    assert_eq!((xt.n_rows(), xt.n_cols()), (3_197, v.n_features()));
    // Bigrams are in the vocabulary, and it is sorted.
    assert!(v.counts.vocabulary.iter().any(|t| t.contains(' ')));
    assert!(v.counts.vocabulary.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn hashing_and_vocabulary_on_hate_speech() {
    let Some(dir) = data_dir() else { return };
    let (train, _) = hate_tokens(&dir);
    let h = HashingVectorizer::new(HashingParams {
        n_features: 1 << 18,
        ngram_range: (1, 2),
        alternate_sign: false,
        ..Default::default()
    })
    .unwrap();
    let x = h.transform(&train);
    assert_eq!(x.n_cols(), 1 << 18);
    assert!(x.data().iter().all(|&v| v > 0.0));
    let vocab = Vocabulary::fit(&train, 2, None).unwrap();
    assert!(vocab.len() > 5_000, "{}", vocab.len());
    let ids = vocab.encode(&train[0]);
    assert_eq!(ids.len(), train[0].len());
}
