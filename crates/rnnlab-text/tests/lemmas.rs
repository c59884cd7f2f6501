//! Agreement with pymorphy3 on a committed reference sample (tests/fixtures).

mod common;

use rnnlab_text::morph::Lemmatizer;

#[test]
fn lemmas_agree_with_pymorphy3_on_the_fixture() {
    let Some(dict) = common::morph_dict() else { return };
    let lem = Lemmatizer::load(&dict).unwrap();
    let fixture = include_str!("fixtures/pymorphy3_lemmas.tsv");
    let mut total = 0;
    let mut agree = 0;
    let mut misses = Vec::new();
    for line in fixture.lines() {
        let Some((word, want)) = line.split_once('\t') else {
            continue;
        };
        total += 1;
        let got = lem.lemma(word);
        if got == want {
            agree += 1;
        } else if misses.len() < 20 {
            misses.push(format!("{word}: want {want}, got {got}"));
        }
    }
    assert!(total > 3_900, "{total}");
    let rate = agree as f64 / total as f64;
    eprintln!("pymorphy3 agreement: {agree}/{total} = {rate:.4}");
    assert!(
        rate >= 0.995,
        "agreement {rate:.4} below 0.995; first misses: {misses:#?}"
    );
}

#[test]
fn known_hard_cases() {
    let Some(dict) = common::morph_dict() else { return };
    let lem = Lemmatizer::load(&dict).unwrap();
    for (word, want) in [
        ("банка", "банк"),
        ("данных", "данные"),
        ("аватарке", "аватарка"),
        ("акулу-людоеда", "акула-людоед"),
        ("сн", "сн"),
        ("р", "р"),
        ("дп", "дп"),
        ("ёжика", "ёжик"),
        ("ежика", "ёжик"),
        ("смотри-ка", "смотреть-ка"),
        ("", ""),
    ] {
        assert_eq!(lem.lemma(word), want, "{word}");
    }
    assert_eq!(lem.cached(), 11);
}
