//! Property tests: no input text panics the tokenizer, the repairs or the lemmatiser.

mod common;

use proptest::prelude::*;
use rnnlab_text::repair;
use rnnlab_text::tokenize::{tokenize, TokenizerConfig};
use rnnlab_text::{Lang, Normalize, Pipeline, Preprocessor};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn tokenizer_never_panics_and_tokens_are_clean(s in "\\PC{0,200}") {
        for t in tokenize(&s, &TokenizerConfig::default()) {
            prop_assert!(!t.text.is_empty());
            prop_assert!(!t.text.chars().any(char::is_whitespace));
        }
    }

    #[test]
    fn tweet_like_text(s in "[a-zA-Zа-яА-ЯёЁ0-9@#:;()\\-'’ .,!?😀❤️&<>/]{0,120}") {
        let en = Preprocessor::new(Pipeline::standard(Lang::En, Normalize::Stem, false, vec![]), None).unwrap();
        let ru = Preprocessor::new(Pipeline::standard(Lang::Ru, Normalize::Stem, false, vec![]), None).unwrap();
        let _ = en.process(&s);
        let _ = ru.process(&s);
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
