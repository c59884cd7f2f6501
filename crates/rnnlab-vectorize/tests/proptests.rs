//! Property tests: any tokens (any script, combining marks, emoji, empty documents) go
//! through every analyzer, vectorizer and subword tokenizer without a panic, and the
//! vectorizers count exactly the n-grams the analyzers name.

use proptest::prelude::*;
use rnnlab_vectorize::ngrams::{for_each_ngram, for_each_ngram_text};
use rnnlab_vectorize::{
    Analyzer, CountParams, CountVectorizer, HashingParams, HashingVectorizer, Norm, SubwordKind, SubwordParams,
    SubwordTokenizer, Vocabulary,
};

fn docs() -> impl Strategy<Value = Vec<Vec<String>>> {
    let token = "[a-zé\u{0301}яё😀#@_'-]{1,12}|\\PC{1,6}";
    proptest::collection::vec(proptest::collection::vec(token, 0..12), 1..8)
}

fn analyzers() -> impl Strategy<Value = (Analyzer, (usize, usize))> {
    (
        prop_oneof![Just(Analyzer::Word), Just(Analyzer::CharWb)],
        1usize..4,
        0usize..3,
    )
        .prop_map(|(a, lo, extra)| (a, (lo, lo + extra)))
}

fn row_sum(m: &rnnlab_vectorize::CsrMatrix, r: usize) -> f64 {
    m.row(r).1.iter().map(|&v| v as f64).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The keyed n-grams (fitting) and the spelled ones (hashing) are the same in number, and
    /// the count and hashing vectorizers put exactly that many into each row.
    #[test]
    fn vectorizers_count_every_ngram((analyzer, range) in analyzers(), docs in docs()) {
        let count = CountParams { analyzer, ngram_range: range, ..CountParams::default() };
        // With no n-gram at all there is no vocabulary: an error, as in scikit-learn.
        let counts = CountVectorizer::fit_transform(&docs, count).ok().map(|(_, m)| m);
        let hashing = HashingVectorizer::new(HashingParams {
            analyzer,
            ngram_range: range,
            n_features: 1 << 10,
            alternate_sign: false,
            binary: false,
            norm: Norm::None,
        })
        .unwrap();
        let hashed = hashing.transform(&docs);
        if let Some(counts) = &counts {
            prop_assert_eq!(counts.n_rows(), docs.len());
        }
        prop_assert_eq!(hashed.n_rows(), docs.len());
        for (r, doc) in docs.iter().enumerate() {
            let (mut keyed, mut spelled) = (0usize, 0usize);
            for_each_ngram(doc, analyzer, range, |_, _| keyed += 1);
            for_each_ngram_text(doc, analyzer, range, |s| {
                assert!(!s.is_empty());
                spelled += 1;
            });
            prop_assert_eq!(keyed, spelled);
            match &counts {
                Some(counts) => prop_assert_eq!(row_sum(counts, r), keyed as f64),
                None => prop_assert_eq!(keyed, 0),
            }
            prop_assert_eq!(row_sum(&hashed, r), keyed as f64);
        }
    }

    /// Every token of a fitted vocabulary maps back to itself; unseen ones map to `<unk>`.
    #[test]
    fn vocabulary_round_trips(docs in docs(), unseen in "\\PC{1,8}") {
        let vocab = Vocabulary::fit(&docs, 1, None).unwrap();
        for doc in &docs {
            let ids = vocab.encode(doc);
            prop_assert_eq!(ids.len(), doc.len());
            for (id, token) in ids.iter().zip(doc) {
                prop_assert!(*id >= 2 && (*id as usize) < vocab.len());
                prop_assert_eq!(&vocab.tokens[*id as usize], token);
            }
        }
        if !docs.iter().flatten().any(|t| *t == unseen) {
            prop_assert_eq!(vocab.id(&unseen), 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Subword tokenizers trained on one corpus encode any other tokens to ids inside their
    /// vocabulary, one piece per id.
    #[test]
    fn subword_encoding_never_panics(
        kind in prop_oneof![Just(SubwordKind::Bpe), Just(SubwordKind::WordPiece), Just(SubwordKind::Unigram)],
        train in docs(),
        other in docs(),
    ) {
        prop_assume!(train.iter().any(|d| !d.is_empty()));
        let params = SubwordParams { kind, vocab_size: 60, min_frequency: 1 };
        let tok = match SubwordTokenizer::train(&train, params) {
            Ok(t) => t,
            // Too little text for the requested model is an error, not a panic.
            Err(e) => return Err(TestCaseError::reject(e.to_string())),
        };
        for doc in train.iter().chain(&other) {
            let ids = tok.encode(doc).unwrap();
            let pieces = tok.pieces(doc).unwrap();
            prop_assert_eq!(ids.len(), pieces.len());
            prop_assert!(ids.iter().all(|&i| (i as usize) < tok.vocab_size()));
            prop_assert_eq!(ids.is_empty(), doc.is_empty());
        }
    }
}
