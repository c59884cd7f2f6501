//! Property tests: no input text panics the tokenizer, the repairs or the lemmatiser; no
//! CSV file panics the loader, and well-formed ones come back exactly; no bytes panic the
//! CoNLL-U reader, and well-formed CoNLL-U is written back byte for byte.

mod common;

use proptest::prelude::*;
use rnnlab_text::repair;
use rnnlab_text::tokenize::{tokenize, TokenizerConfig};
use rnnlab_text::{Lang, Normalize, Pipeline, Preprocessor};

/// A well-formed CoNLL-U sentence: comments, words with ids 1..n, multiword tokens over
/// following words, empty nodes.
fn conllu_sentence() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec("[ -~]{0,20}", 0..3),
        proptest::collection::vec(("[^\\t\\n\\r ]{1,8}", "[A-Z]{1,5}", any::<u8>()), 1..12),
    )
        .prop_map(|(comments, words)| {
            let mut s = String::new();
            for c in comments {
                s.push_str(&format!("# {c}\n"));
            }
            let n = words.len();
            for (i, (form, tag, extra)) in words.iter().enumerate() {
                let id = i + 1;
                if extra % 5 == 0 && id < n {
                    s.push_str(&format!("{id}-{}\t{form}{form}\t_\t_\t_\t_\t_\t_\t_\t_\n", id + 1));
                }
                s.push_str(&format!("{id}\t{form}\t{form}\t{tag}\t_\t_\t0\tdep\t_\t_\n"));
                if extra % 7 == 0 {
                    s.push_str(&format!("{id}.1\t{form}\t_\t_\t_\t_\t_\t_\t{id}:x\t_\n"));
                }
            }
            s.push('\n');
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn conllu_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(sentences) = rnnlab_text::conllu::parse(&text, "f.conllu") {
            for s in &sentences {
                let tags = s.tags(rnnlab_text::conllu::TagColumn::Upos);
                prop_assert_eq!(tags.len(), s.forms().len());
            }
        }
    }

    #[test]
    fn conllu_write_back_is_the_identity(sentences in proptest::collection::vec(conllu_sentence(), 1..5)) {
        let text = sentences.concat();
        let parsed = rnnlab_text::conllu::parse(&text, "f.conllu").unwrap();
        prop_assert_eq!(parsed.len(), sentences.len());
        prop_assert_eq!(rnnlab_text::conllu::write(&parsed), text);
    }

    #[test]
    fn tokenizer_never_panics_and_tokens_are_clean(s in "\\PC{0,200}") {
        for t in tokenize(&s, &TokenizerConfig::default()) {
            prop_assert!(!t.text.is_empty());
            prop_assert!(!t.text.chars().any(char::is_whitespace));
        }
    }

    #[test]
    fn whitespace_tokens_are_the_text_split_on_whitespace(s in "\\PC{0,200}") {
        let cfg = TokenizerConfig { whitespace: true, lowercase: false, ..Default::default() };
        let toks: Vec<String> = tokenize(&s, &cfg).into_iter().map(|t| t.text).collect();
        prop_assert_eq!(toks.join(" "), s.split_whitespace().collect::<Vec<_>>().join(" "));
    }

    #[test]
    fn tweet_like_text(s in "[a-zA-Zа-яА-ЯёЁ0-9@#:;()\\-'’ .,!?😀❤️&<>/]{0,120}") {
        let en = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]), None).unwrap();
        let ru = Preprocessor::new(Pipeline::standard(Lang::Ru, Normalize::Stem, false, vec![]), None).unwrap();
        let _ = en.process(&s);
        let _ = ru.process(&s);
        // With hashtags split by words learnt from the text itself.
        let seg = Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]).with_hashtag_segmentation(1);
        let seg = Preprocessor::new(seg, None).unwrap().fit(&[s.as_str(), "#a"]).unwrap();
        let _ = seg.process(&s);
    }

    #[test]
    fn hashtag_splits_rebuild_the_hashtag(tag in "\\PC{0,40}", words in proptest::collection::vec("[a-zа-я]{1,6}", 1..40)) {
        let mut seg = rnnlab_text::HashtagSegmenter::new(1);
        seg.fit(words.iter().map(String::as_str));
        // Any string, and compounds of the known words.
        for t in [tag.clone(), words.concat(), words[..words.len().min(3)].concat()] {
            if let Some(parts) = seg.split(&t) {
                prop_assert!(parts.len() >= 2);
                prop_assert_eq!(parts.concat(), t);
                prop_assert!(parts.iter().all(|p| seg.words.contains_key(p)));
            }
        }
    }

    #[test]
    fn repair_never_panics_and_is_idempotent_on_clean_text(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (text, _) = repair::decode_lossy(&bytes);
        let (once, _) = repair::repair(&text, true, true);
        let _ = repair::repair(&once, true, true);
    }
}

#[test]
fn lemmatiser_never_panics_on_arbitrary_words() {
    let Some(dict) = common::morph_dict() else { return };
    let lem = rnnlab_text::morph::Lemmatizer::load(&dict).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(3000));
    runner
        .run(&"(\\PC{0,12}|[а-яё-]{1,20})", |w| {
            let _ = lem.lemma(&w);
            Ok(())
        })
        .unwrap();
}

#[test]
fn huge_and_odd_texts() {
    let pre = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]), None).unwrap();
    let big = "word ".repeat(200_000) + &"😀".repeat(10_000);
    assert!(pre.process(&big).len() > 100_000);
    assert_eq!(pre.process(&"😀🔥👍🏽".repeat(1000)).len(), 3000);
    assert!(pre.process("мама мыла раму and the cat 猫 مرحبا").len() >= 4);
    assert!(pre.process(&"(".repeat(100_000)).len() == 1);
}

/// Pieces that make CSV hard: quotes, separators, both line endings, invalid and partial
/// UTF-8, a BOM, empty fields.
const CSV_PIECES: &[&[u8]] = &[
    b"a",
    b"hello world",
    b"0",
    b"1",
    b"-1",
    b",",
    b";",
    b"\"",
    b"\"\"",
    b"\n",
    b"\r\n",
    b"\r",
    b" ",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    "ð±".as_bytes(),
    "привет".as_bytes(),
    b"&amp;",
    b"\t",
];

fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        proptest::collection::vec(proptest::sample::select(CSV_PIECES), 0..60),
    )
        .prop_map(|(header, pieces)| {
            let mut out = if header {
                b"id,text,label\n".to_vec()
            } else {
                Vec::new()
            };
            for p in pieces {
                out.extend_from_slice(p);
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever bytes a user's CSV holds, loading it gives rows or an error that names the
    /// file, never a panic.
    #[test]
    fn csv_loading_never_panics(bytes in csv_bytes()) {
        let dir = tempfile::Builder::new().prefix("rnnlab-csv-prop-").tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, &bytes).unwrap();
        let cols = rnnlab_text::dataset::Columns {
            text: "text".into(),
            label: "label".into(),
            id: Some("id".into()),
        };
        match rnnlab_text::dataset::load_files(&path, None, &path, &cols, &rnnlab_text::dataset::CsvFormat::default(), 0) {
            Ok(ds) => {
                prop_assert_eq!(ds.texts.len(), ds.labels.len());
                prop_assert_eq!(ds.texts.len(), ds.ids.len());
                prop_assert_eq!(ds.texts.len(), ds.splits.len());
                prop_assert!(ds.labels.iter().all(|l| !l.is_empty()));
            }
            Err(e) => prop_assert!(e.to_string().contains("f.csv"), "error without the file name: {}", e),
        }
    }
}

/// One CSV field, quoted when it must be (RFC 4180).
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A well-formed CSV comes back exactly: every text (quotes, delimiters, line breaks,
    /// any script) and label, in order.
    #[test]
    fn well_formed_csv_round_trips(
        rows in proptest::collection::vec(("[a-zа-я😀 ,\"\n'#@&;]{1,40}", prop_oneof![Just("0"), Just("1")]), 2..30)
    ) {
        let dir = tempfile::Builder::new().prefix("rnnlab-csv-rt-").tempdir().unwrap();
        let path = dir.path().join("rt.csv");
        let mut csv = String::from("id,text,label\n");
        for (i, (text, label)) in rows.iter().enumerate() {
            csv.push_str(&format!("{},{},{}\n", i + 1, quote(text), label));
        }
        std::fs::write(&path, &csv).unwrap();
        let cols = rnnlab_text::dataset::Columns { text: "text".into(), label: "label".into(), id: Some("id".into()) };
        let ds = match rnnlab_text::dataset::load_files(&path, Some(&path), &path, &cols, &rnnlab_text::dataset::CsvFormat::default(), 0) {
            Ok(ds) => ds,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{csv}"))),
        };
        let n = rows.len();
        prop_assert_eq!(ds.texts.len(), 3 * n);
        let want_texts: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
        let want_labels: Vec<&str> = rows.iter().map(|(_, l)| *l).collect();
        prop_assert_eq!(ds.texts[..n].iter().map(String::as_str).collect::<Vec<_>>(), want_texts);
        prop_assert_eq!(ds.labels[..n].iter().map(String::as_str).collect::<Vec<_>>(), want_labels);
        prop_assert_eq!(rnnlab_text::dataset::find_csv_problem(csv.as_bytes(), b','), None);
    }
}
