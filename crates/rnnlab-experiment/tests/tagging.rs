//! Tagging on the real UD English EWT files: a small recurrent tagger, trained on a slice of
//! the training file, is far above the majority baseline trained on the same slice, and its
//! model directory predicts the same after loading.

use candle_core::Device;
use rnnlab_experiment::tagging::{train_tagger, AnyTagger, TaggerSpec};
use rnnlab_rnn::train::Silent;
use rnnlab_text::conllu::{TagColumn, TaggedCorpus};

fn data_dir() -> Option<std::path::PathBuf> {
    rnnlab_text::dataset::data_dir_for_tests(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_small_recurrent_tagger_beats_the_majority_tagger() {
    let Some(dir) = data_dir() else { return };
    let spec = rnnlab_text::conllu::find_treebank("ud-english-ewt").unwrap();
    let mut corpus = TaggedCorpus::named(&spec, &dir, TagColumn::Upos).unwrap();
    // A slice keeps the test quick: 2,000 training sentences, 300 of dev and of test.
    for (k, n) in [(0, 2000), (1, 300), (2, 300)] {
        corpus.words[k].truncate(n);
        corpus.tags[k].truncate(n);
    }
    let out = tempfile::tempdir().unwrap();
    let majority = train_tagger(
        &corpus,
        &TaggerSpec::Majority,
        0,
        &out.path().join("majority"),
        &Device::Cpu,
        &mut Silent,
    )
    .unwrap();
    let mut lstm = TaggerSpec::from_kind("lstm").unwrap();
    let config = lstm.config_mut().unwrap();
    config.architecture.emb = 32;
    config.architecture.hidden = 48;
    config.architecture.layers = 1;
    config.inputs.char_buckets = 1 << 14;
    config.inputs.char_dim = 32;
    config.optimisation.epochs = 6;
    config.optimisation.lr = 5e-3;
    let dir_lstm = out.path().join("lstm");
    let m = train_tagger(&corpus, &lstm, 0, &dir_lstm, &Device::Cpu, &mut Silent).unwrap();
    let (a, b) = (
        majority["test"]["accuracy"].as_f64().unwrap(),
        m["test"]["accuracy"].as_f64().unwrap(),
    );
    eprintln!("majority {a:.4}, lstm {b:.4}, unseen {}", m["test"]["accuracy_oov"]);
    assert!(b > a + 0.03, "lstm {b} against majority {a}");
    assert_eq!(m["task"], "tag");
    assert!(m["best_epoch"].as_u64().unwrap() >= 1);
    assert_eq!(m["curve"].as_array().unwrap().len(), 6);
    let (tagger, _) = AnyTagger::load(&dir_lstm).unwrap().expect("a tagger directory");
    let again = tagger.predict_ids(&corpus.words[2]).unwrap();
    let gold = rnnlab_baselines::tagging::tag_ids(&corpus.tags[2], tagger.tags()).unwrap();
    let right: usize = again
        .iter()
        .zip(&gold)
        .map(|(p, g)| p.iter().zip(g).filter(|(x, y)| x == y).count())
        .sum();
    let words: usize = gold.iter().map(Vec::len).sum();
    assert!(
        (right as f64 / words as f64 - b).abs() < 1e-12,
        "the loaded tagger scores as trained"
    );
}
