//! Baselines on the real SentiRuEval banks tweets (RNNLAB_DATA_DIR, else ../shared/data).

use std::path::PathBuf;

use rnnlab_baselines::baseline::{Baseline, BaselineKind, BaselineParams};
use rnnlab_baselines::metrics::{predict_classes, SplitMetrics};
use rnnlab_baselines::LabelSet;
use rnnlab_text::dataset::{self, Split};
use rnnlab_text::{Lang, Normalize, Pipeline, Preprocessor};

fn data_dir() -> Option<PathBuf> {
    rnnlab_text::dataset::data_dir_for_tests(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn three_class_baselines_on_banks() {
    let Some(dir) = data_dir() else { return };
    let spec = dataset::find_dataset("sentirueval2015-banks").unwrap();
    let ds = dataset::load_named(&spec, &dir).unwrap();
    // Stemming keeps this test free of the morphology dictionary.
    let pre = Preprocessor::new(Pipeline::standard(Lang::Ru, Normalize::Stem, false, vec![]), None).unwrap();
    let (tokens, _) = pre.process_all(&ds.texts);
    let rows = |s: Split| -> Vec<usize> { (0..ds.len()).filter(|&i| ds.splits[i] == s).collect() };
    let (tr, te) = (rows(Split::Train), rows(Split::Test));
    let pick = |r: &[usize]| -> Vec<Vec<String>> { r.iter().map(|&i| tokens[i].clone()).collect() };
    let labels_of = |r: &[usize]| -> Vec<String> { r.iter().map(|&i| ds.labels[i].clone()).collect() };
    let labels = LabelSet::fit(&labels_of(&tr), None).unwrap();
    assert_eq!(labels.labels, ["-1", "0", "1"]);
    let y_tr = labels.encode(&labels_of(&tr), "train").unwrap();
    let y_te = labels.encode(&labels_of(&te), "test").unwrap();
    for kind in [BaselineKind::TfidfLogreg, BaselineKind::Nb] {
        let m = Baseline::fit(kind, BaselineParams::default(), labels.clone(), &pick(&tr), &y_tr).unwrap();
        let proba = m.predict_proba(&pick(&te)).unwrap();
        let metrics = SplitMetrics::compute(&y_te, &predict_classes(&proba, None, None), 3, None);
        assert!(
            metrics.f1_macro > 0.42,
            "{}: macro-F1 {}",
            kind.name(),
            metrics.f1_macro
        );
        assert!(metrics.accuracy > 0.7, "{}: accuracy {}", kind.name(), metrics.accuracy);
        let dir = std::env::temp_dir().join(format!("rnnlab-baselines-real-{}-{}", kind.name(), std::process::id()));
        m.save(&dir, serde_json::Value::Null).unwrap();
        let (back, _) = Baseline::load(&dir).unwrap();
        assert_eq!(
            back.predict_proba(&pick(&te[..50])).unwrap(),
            m.predict_proba(&pick(&te[..50])).unwrap()
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// fastText on the banks tweets with the anchor's own split: three classes learned well above
/// the majority class, and the saved model predicts the same after loading.
#[test]
fn fasttext_on_banks_with_the_anchors_split() {
    use rnnlab_baselines::fasttext::{FastText, FastTextParams};
    let Some(dir) = data_dir() else { return };
    let spec = dataset::find_dataset("sentirueval2015-banks").unwrap();
    let ds = dataset::load_named(&spec, &dir).unwrap();
    let pre = Preprocessor::new(Pipeline::simple(Lang::Ru), None).unwrap();
    let (tokens, _) = pre.process_all(&ds.texts);
    let rows = |s: Split| -> Vec<usize> { (0..ds.len()).filter(|&i| ds.splits[i] == s).collect() };
    let (tr, te) = (rows(Split::Train), rows(Split::Test));
    let pick = |r: &[usize]| -> Vec<Vec<String>> { r.iter().map(|&i| tokens[i].clone()).collect() };
    let labels_of = |r: &[usize]| -> Vec<String> { r.iter().map(|&i| ds.labels[i].clone()).collect() };
    let labels = LabelSet::fit(&labels_of(&tr), None).unwrap();
    let y_tr = labels.encode(&labels_of(&tr), "train").unwrap();
    let y_te = labels.encode(&labels_of(&te), "test").unwrap();
    // Fewer buckets and epochs than the defaults: a test build is slow.
    let params = FastTextParams {
        buckets: 200_000,
        epochs: 10,
        ..FastTextParams::default()
    };
    let (m, report) = FastText::fit(params, labels, &pick(&tr), &y_tr).unwrap();
    assert!(
        report.loss.is_finite() && report.loss < 0.5,
        "training loss {}",
        report.loss
    );
    let proba = m.predict_proba(&pick(&te)).unwrap();
    let metrics = SplitMetrics::compute(&y_te, &predict_classes(&proba, None, None), 3, None);
    assert!(metrics.f1_macro > 0.45, "macro-F1 {}", metrics.f1_macro);
    let out = std::env::temp_dir().join(format!("rnnlab-fasttext-real-{}", std::process::id()));
    m.save(&out, serde_json::Value::Null).unwrap();
    let (back, _) = FastText::load(&out).unwrap();
    assert_eq!(back.predict_proba(&pick(&te[..50])).unwrap(), proba[..50].to_vec());
    std::fs::remove_dir_all(&out).ok();
}

/// The tagging baselines on UD English EWT: trained on train, scored on test; the feature
/// tagger reaches the 93 % and is far above the majority tagger on unseen words.
#[test]
fn taggers_on_ud_english_ewt() {
    use rnnlab_baselines::tagging::{
        index_tags, tag_ids, FeatureTagger, FeatureTaggerParams, MajorityTagger, TagMetrics,
    };
    use rnnlab_text::conllu::{read_file, TagColumn};
    let Some(dir) = data_dir() else { return };
    let read = |name: &str| {
        let s = read_file(&dir.join(format!("ud-english-ewt/en_ewt-ud-{name}.conllu"))).unwrap();
        let words: Vec<Vec<String>> = s.iter().map(|s| s.forms()).collect();
        let tags: Vec<Vec<String>> = s.iter().map(|s| s.tags(TagColumn::Upos)).collect();
        (words, tags)
    };
    let (train_w, train_t) = read("train");
    let (test_w, test_t) = read("test");
    let names = index_tags(&train_t);
    assert_eq!(names.len(), 17);
    let y = tag_ids(&train_t, &names).unwrap();
    let gold = tag_ids(&test_t, &names).unwrap();
    let seen: std::collections::HashSet<&String> = train_w.iter().flatten().collect();
    let oov: Vec<Vec<bool>> = test_w
        .iter()
        .map(|s| s.iter().map(|w| !seen.contains(w)).collect())
        .collect();
    let majority = MajorityTagger::fit(&train_w, &y, &names).unwrap();
    let pred: Vec<Vec<usize>> = test_w.iter().map(|s| majority.predict(s)).collect();
    let m_major = TagMetrics::compute(&gold, &pred, &oov, &names);
    let feature = FeatureTagger::fit(&train_w, &y, &names, FeatureTaggerParams::default()).unwrap();
    let pred: Vec<Vec<usize>> = test_w.iter().map(|s| feature.predict(s)).collect();
    let m_feat = TagMetrics::compute(&gold, &pred, &oov, &names);
    eprintln!(
        "majority {:.4} (oov {:.4}), feature {:.4} (oov {:.4}, sentences {:.4})",
        m_major.accuracy, m_major.accuracy_oov, m_feat.accuracy, m_feat.accuracy_oov, m_feat.sentence_accuracy
    );
    assert_eq!(m_feat.words, 25_094);
    assert!(m_major.accuracy > 0.8, "{}", m_major.accuracy);
    assert!(m_feat.accuracy >= 0.93, "{}", m_feat.accuracy);
    assert!(m_feat.accuracy_oov > m_major.accuracy_oov + 0.05);
}

/// The UD English EWT word stream of DESIGN.md "Language models" (words, `<eos>` after each
/// sentence, training words seen once are `<unk>`): the vocabulary is the reference's (9,875),
/// and Kneser-Ney's perplexity falls from unigrams to trigrams and beyond.
#[test]
fn kneser_ney_on_the_ewt_word_stream() {
    use rnnlab_baselines::kneser_ney::{Discount, KneserNey};
    let Some(dir) = data_dir() else { return };
    use rnnlab_text::lm_stream::{conllu_words, WordVocab};
    let read = |split: &str| conllu_words(&dir.join(format!("ud-english-ewt/en_ewt-ud-{split}.conllu"))).unwrap();
    let (train, test) = (read("train"), read("test"));
    let vocab = WordVocab::fit(&train, 2);
    assert_eq!(vocab.len(), 9_875, "the reference's vocabulary");
    let (train, test) = (vocab.encode(&train), vocab.encode(&test));
    let mut perplexity = Vec::new();
    for order in 1..=4 {
        let lm = KneserNey::fit(&train, vocab.len(), order, Discount::Modified).unwrap();
        let (h, n) = lm.cross_entropy(&test);
        assert_eq!(n, test.len());
        perplexity.push(h.exp());
    }
    eprintln!(
        "kneser-ney test perplexity, orders 1-4: {perplexity:?} over {} tokens",
        test.len()
    );
    assert!(perplexity[0] > 250.0 && perplexity[0] < 1_500.0, "{perplexity:?}");
    assert!(perplexity[2] < 0.6 * perplexity[0], "{perplexity:?}");
    assert!(perplexity[3] <= perplexity[2] * 1.02, "{perplexity:?}");
}
