//! `kneser-ney` with one fixed discount against NLTK's `KneserNeyInterpolated` on the same
//! stream: the fixture holds NLTK's probabilities (scripts/kn-nltk-parity.py wrote it).

use rnnlab_baselines::kneser_ney::{Discount, KneserNey};

#[test]
fn fixed_discount_matches_nltk_kneser_ney_interpolated() {
    let text = include_str!("fixtures/kn_nltk.json");
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    let stream: Vec<u32> = doc["stream"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let lm = KneserNey::fit(
        &stream,
        doc["vocab_size"].as_u64().unwrap() as usize,
        doc["order"].as_u64().unwrap() as usize,
        Discount::Fixed(doc["discount"].as_f64().unwrap()),
    )
    .unwrap();
    let queries = doc["queries"].as_array().unwrap();
    assert!(queries.len() > 500);
    let mut worst = 0f64;
    for q in queries {
        let context: Vec<u32> = q["context"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let word = q["word"].as_u64().unwrap() as u32;
        let ours = lm.prob(&context, word);
        let theirs = q["p"].as_f64().unwrap();
        worst = worst.max((ours - theirs).abs());
        assert!(
            (ours - theirs).abs() < 1e-6,
            "P({word} | {context:?}): ours {ours}, NLTK {theirs}"
        );
    }
    eprintln!("largest difference from NLTK: {worst:e}");
}
