//! Integration tests on the real files in ../shared/data.

mod common;

use rnnlab_text::dataset::{self, Split};
use rnnlab_text::{Lang, Normalize, Pipeline, Preprocessor};

#[test]
fn hate_speech_loads_with_split_and_invalid_utf8_counted() {
    let Some(dir) = common::data_dir() else { return };
    let spec = dataset::find_dataset("twitter-hate-speech").unwrap();
    let ds = dataset::load_named(&spec, &dir).unwrap();
    assert_eq!(ds.len(), 31_962);
    assert_eq!(ds.split_sizes(), (25_569, 3_196, 3_197));
    assert_eq!(ds.invalid_utf8_rows, 2, "the README says two lines are not UTF-8");
    let positives = ds.labels.iter().filter(|l| *l == "1").count();
    assert!((2000..2500).contains(&positives), "{positives}");
}

#[test]
fn hate_speech_mojibake_and_entities_are_repaired() {
    let Some(dir) = common::data_dir() else { return };
    let spec = dataset::find_dataset("twitter-hate-speech").unwrap();
    let ds = dataset::load_named(&spec, &dir).unwrap();
    let pre = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::None, true, vec![]), None).unwrap();
    // Row with id 4: "...in urð\u{9f}\u{93}±!!!" is "in ur📱!!!".
    let row = ds.ids.iter().position(|i| i == "4").unwrap();
    assert!(ds.texts[row].contains('ð'));
    let tokens = pre.process(&ds.texts[row]);
    assert!(tokens.contains(&"📱".to_string()), "{tokens:?}");
    assert!(!tokens.iter().any(|t| t.contains('ð')), "{tokens:?}");
    let (_, stats) = pre.process_all(&ds.texts);
    assert!(stats.mojibake > 5000, "{stats:?}");
    assert!(stats.html_entities > 1000, "{stats:?}");
    // After repair no token keeps a mojibake lead character followed by a C1 control.
    let (all, _) = pre.process_all(&ds.texts);
    let broken = all.iter().flatten().filter(|t| t.contains("ð\u{9f}")).count();
    assert_eq!(broken, 0);
    assert!(!all.iter().flatten().any(|t| t.contains("&amp") || t.contains("&lt;")));
}

#[test]
fn sentirueval_multiline_rows_and_splits() {
    let Some(dir) = common::data_dir() else { return };
    let table = dataset::read_table(
        &dir.join("sentirueval2015/banks_test.csv"),
        &dataset::CsvFormat::default(),
    )
    .unwrap();
    assert_eq!(table.frame.height(), 4_534);
    let texts = dataset::column_strings(&table, "text").unwrap();
    assert!(
        texts.iter().flatten().any(|t| t.contains('\n')),
        "some texts span lines"
    );
    let ids = dataset::column_strings(&table, "id").unwrap();
    assert!(ids
        .iter()
        .flatten()
        .all(|i| i.len() >= 15 && i.bytes().all(|b| b.is_ascii_digit())));

    for (name, sizes) in [
        ("sentirueval2015-banks", (4_351, 484, 4_534)),
        ("sentirueval2015-telecoms", (4_264, 474, 3_774)),
    ] {
        let spec = dataset::find_dataset(name).unwrap();
        let ds = dataset::load_named(&spec, &dir).unwrap();
        assert_eq!(ds.split_sizes(), sizes, "{name}");
        let mut labels: Vec<&str> = ds.labels.iter().map(String::as_str).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels, ["-1", "0", "1"], "{name}");
        assert!(ds
            .splits
            .iter()
            .all(|s| matches!(s, Split::Train | Split::Val | Split::Test)));
    }
}

#[test]
fn missing_files_are_named() {
    let Some(dir) = common::data_dir() else { return };
    let spec = dataset::find_dataset("twitter-hate-speech").unwrap();
    let err = dataset::load_named(&spec, &dir.join("nope")).unwrap_err().to_string();
    assert!(err.contains("twitter-hate-speech/train.csv"), "{err}");
}

#[test]
fn russian_tweets_lemmatised_end_to_end() {
    let Some(dir) = common::data_dir() else { return };
    let Some(dict) = common::morph_dict() else { return };
    let lem = std::sync::Arc::new(rnnlab_text::morph::Lemmatizer::load(&dict).unwrap());
    let pre = Preprocessor::new(
        Pipeline::standard(Lang::Ru, Normalize::Lemmatize, false, vec![]),
        Some(lem),
    )
    .unwrap();
    assert_eq!(
        pre.process("Не люблю банки, данных нет!!!"),
        ["не_любить", "банк", "данные"]
    );
    let spec = dataset::find_dataset("sentirueval2015-banks").unwrap();
    let ds = dataset::load_named(&spec, &dir).unwrap();
    let (tokens, stats) = pre.process_all(&ds.texts);
    assert_eq!(tokens.len(), 9_369);
    assert!(stats.tokens > 50_000, "{stats:?}");
    assert!(tokens.iter().flatten().any(|t| t == "сбербанк"));
    assert!(tokens.iter().flatten().any(|t| t.starts_with("не_")));
}

#[test]
fn hate_speech_compound_hashtags_split_into_training_words() {
    let Some(dir) = common::data_dir() else { return };
    let spec = dataset::find_dataset("twitter-hate-speech").unwrap();
    let ds = dataset::load_named(&spec, &dir).unwrap();
    let pipeline = Pipeline::standard(Lang::En, Normalize::None, false, vec![]).with_hashtag_segmentation(3);
    let train: Vec<&str> = (0..ds.len())
        .filter(|&i| ds.splits[i] == Split::Train)
        .map(|i| ds.texts[i].as_str())
        .collect();
    let pre = Preprocessor::new(pipeline, None).unwrap().fit(&train).unwrap();
    let plain = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::None, false, vec![]), None).unwrap();
    let Some(rnnlab_text::Step::SegmentHashtags(seg)) = pre.pipeline().steps.get(2) else {
        panic!("the segmenter follows the tokenizer: {:?}", pre.pipeline().steps)
    };
    assert!(
        seg.words.len() > 3000 && seg.total > 100_000,
        "{} words of {}",
        seg.words.len(),
        seg.total
    );
    // Over the test rows: hashtags that split, each into words the training rows use.
    let (mut hashtags, mut split) = (0, 0);
    for i in (0..ds.len()).filter(|&i| ds.splits[i] == Split::Test) {
        let tokens = rnnlab_text::tokenize::tokenize(&ds.texts[i], &Default::default());
        for t in tokens.iter().filter(|t| t.kind == rnnlab_text::TokenKind::Hashtag) {
            hashtags += 1;
            if let Some(parts) = seg.split(&t.text) {
                split += 1;
                assert_eq!(parts.concat(), t.text);
                assert!(parts.iter().all(|p| seg.words.contains_key(p)), "{parts:?}");
            }
        }
        // Segmentation only adds tokens (stop words among the parts stay: parts are hashtags).
        assert!(pre.process(&ds.texts[i]).len() >= plain.process(&ds.texts[i]).len());
    }
    let share = split as f64 / hashtags as f64;
    assert!((0.05..0.5).contains(&share), "{split} of {hashtags} hashtags split");
}

/// The UD English EWT files: the sizes their README gives, 17 UPOS tags, and each file written
/// back byte for byte.
#[test]
fn ud_english_ewt_reads_and_writes_back_exactly() {
    use rnnlab_text::conllu::{self, TagColumn};
    let Some(dir) = common::data_dir() else { return };
    for (name, sentences, words) in [
        ("train", 12_544, 204_577),
        ("dev", 2_001, 25_147),
        ("test", 2_077, 25_094),
    ] {
        let path = dir.join(format!("ud-english-ewt/en_ewt-ud-{name}.conllu"));
        let parsed = conllu::read_file(&path).unwrap();
        assert_eq!(parsed.len(), sentences, "{name}");
        assert_eq!(parsed.iter().map(|s| s.words.len()).sum::<usize>(), words, "{name}");
        let tags: std::collections::BTreeSet<String> = parsed.iter().flat_map(|s| s.tags(TagColumn::Upos)).collect();
        assert_eq!(tags.len(), 17, "{name}: {tags:?}");
        assert_eq!(
            conllu::write(&parsed).as_bytes(),
            std::fs::read(&path).unwrap(),
            "{name}"
        );
    }
}
