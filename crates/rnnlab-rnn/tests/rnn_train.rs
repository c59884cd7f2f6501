//! Training recurrent classifiers end to end on a small task where word order decides, saving
//! and loading them, and the failure paths.

use candle_core::Device;
use rnnlab_baselines::LabelSet;
use rnnlab_rnn::train::Silent;
use rnnlab_rnn::{
    fit, Architecture, CellKind, FitResult, Inputs, Optimisation, Pooling, Regularisation, RnnConfig, RnnModel,
    TokensKind,
};

/// Label 1 when "good" comes after "but" (the clause after the contrast decides), with noise words.
fn task(n: usize, seed: u64) -> (Vec<Vec<String>>, Vec<usize>) {
    let mut next = numbers(seed.wrapping_mul(6364136223846793005).wrapping_add(1));
    let fillers = ["the", "app", "is", "really", "today", "service"];
    let mut docs = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let first_good = next().is_multiple_of(2);
        let mut d: Vec<String> = Vec::new();
        for _ in 0..next() % 3 {
            d.push(fillers[next() % fillers.len()].into());
        }
        d.push(if first_good { "good" } else { "bad" }.into());
        d.push("but".into());
        for _ in 0..next() % 3 {
            d.push(fillers[next() % fillers.len()].into());
        }
        d.push(if first_good { "bad" } else { "good" }.into());
        docs.push(d);
        y.push(usize::from(!first_good));
    }
    (docs, y)
}

/// A small linear congruential generator of the tasks' random choices.
fn numbers(mut s: u64) -> impl FnMut() -> usize {
    move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 33) as usize
    }
}

fn labels() -> LabelSet {
    LabelSet::fit(&["0".to_string(), "1".to_string()], None).unwrap()
}

/// `fit` on the CPU with the two labels, silently; panics on an error.
fn fit_cpu(kind: &str, cfg: &RnnConfig, train: Split<'_>, val: Split<'_>) -> FitResult {
    fit(kind, cfg, &labels(), train, val, &Device::Cpu, &mut Silent).unwrap()
}

type Split<'a> = (&'a [Vec<String>], &'a [usize]);

fn small(cell: CellKind) -> RnnConfig {
    RnnConfig {
        architecture: Architecture {
            cell,
            emb: 16,
            hidden: 16,
            ..Architecture::default()
        },
        inputs: Inputs {
            min_count: 1,
            ..Inputs::default()
        },
        optimisation: Optimisation {
            epochs: 6,
            batch_size: 32,
            lr: 5e-3,
            ..Optimisation::default()
        },
        ..RnnConfig::default()
    }
}

#[test]
fn every_cell_learns_word_order_and_round_trips() {
    let (tr, ytr) = task(600, 1);
    let (va, yva) = task(200, 2);
    let dir = std::env::temp_dir().join(format!("rnnlab-rnn-train-{}", std::process::id()));
    for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
        // The GRU reads its texts between <s> and </s>: the loaded model must mark them too.
        // The LSTM pools by attention, whose weights must learn and load like the rest.
        let base = small(cell);
        let cfg = RnnConfig {
            architecture: Architecture {
                pooling: if cell == CellKind::Lstm {
                    Pooling::Attention
                } else {
                    base.architecture.pooling
                },
                ..base.architecture
            },
            inputs: Inputs {
                bos_eos: cell == CellKind::Gru,
                ..base.inputs
            },
            ..base
        };
        let r = fit_cpu(cell.name(), &cfg, (&tr, &ytr), (&va, &yva));
        let best = r.curve.iter().map(|e| e.val_metric).fold(0.0, f64::max);
        assert!(best > 0.9, "{cell:?}: best val F1 {best}");
        assert_eq!(r.curve.len(), cfg.optimisation.epochs);
        assert!(
            r.curve[0].train_loss > r.curve[cfg.optimisation.epochs - 1].train_loss,
            "{cell:?}: loss did not fall"
        );
        let p = r.model.predict_proba(&va).unwrap();
        // The validation probabilities the fit hands back are the kept model's.
        assert_eq!(r.val_proba.len(), va.len());
        for (a, b) in p.iter().flatten().zip(r.val_proba.iter().flatten()) {
            assert!((a - b).abs() < 1e-6, "{cell:?}: val_proba {b} vs predict_proba {a}");
        }
        let out = dir.join(cell.name());
        r.model.save(&out, serde_json::json!({"note": "test"})).unwrap();
        let (loaded, card) = RnnModel::load(&out, &Device::Cpu).unwrap();
        assert_eq!(
            card.params,
            RnnConfig {
                optimisation: Optimisation {
                    seed: 0,
                    ..cfg.optimisation.clone()
                },
                ..cfg.clone()
            }
        );
        assert_eq!(loaded.threshold, r.model.threshold);
        let q = loaded.predict_proba(&va).unwrap();
        for (a, b) in p.iter().flatten().zip(q.iter().flatten()) {
            assert!((a - b).abs() < 1e-6);
        }
        // Empty text, a batch of one, a sequence longer than any seen in training.
        let odd = loaded.predict_proba(&[vec![]]).unwrap();
        assert_eq!(odd[0].len(), 2);
        let long: Vec<String> = (0..500)
            .map(|i| if i % 2 == 0 { "good" } else { "zzz" }.to_string())
            .collect();
        assert!(loaded.predict_proba(&[long]).unwrap()[0].iter().all(|p| p.is_finite()));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bidirectional_pooled_subword_and_repeatable() {
    let (tr, ytr) = task(300, 3);
    let (va, yva) = task(100, 4);
    let mut cfg = small(CellKind::Gru);
    cfg.architecture.bidirectional = true;
    cfg.architecture.layers = 2;
    cfg.architecture.pooling = Pooling::MeanMax;
    cfg.inputs.tokens = TokensKind::Bpe;
    cfg.inputs.subword_vocab = 60;
    cfg.regularisation.recurrent_dropout = 0.1;
    cfg.regularisation.head_dropout = 0.1;
    cfg.optimisation.epochs = 2;
    let a = fit_cpu("best-rnn", &cfg, (&tr, &ytr), (&va, &yva));
    let b = fit_cpu("best-rnn", &cfg, (&tr, &ytr), (&va, &yva));
    let (pa, pb) = (a.model.predict_proba(&va).unwrap(), b.model.predict_proba(&va).unwrap());
    assert_eq!(pa, pb, "the same seed must give the same model");
    let c = fit_cpu(
        "best-rnn",
        &RnnConfig {
            optimisation: Optimisation {
                seed: 1,
                ..cfg.optimisation.clone()
            },
            ..cfg.clone()
        },
        (&tr, &ytr),
        (&va, &yva),
    );
    assert_ne!(pa, c.model.predict_proba(&va).unwrap());
    let dir = std::env::temp_dir().join(format!("rnnlab-rnn-subword-{}", std::process::id()));
    a.model.save(&dir, serde_json::Value::Null).unwrap();
    assert!(dir.join("tokenizer.json").is_file());
    // A configuration that does not match the weights is a clear error.
    let card_path = dir.join("model.json");
    let text = std::fs::read_to_string(&card_path)
        .unwrap()
        .replace("\"hidden\": 16", "\"hidden\": 17");
    std::fs::write(&card_path, text).unwrap();
    let err = RnnModel::load(&dir, &Device::Cpu)
        .err()
        .expect("mismatch must fail")
        .to_string();
    assert!(err.contains("describe") && err.contains("model.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_diverging_run_stops_and_keeps_its_checkpoint() {
    let (tr, ytr) = task(200, 5);
    let (va, yva) = task(50, 6);
    // A loss that overflows (no clipping), and one that stays finite but absurd (the issue's
    // `--lr 1e30` trained on to a loss of 1e31 without a word).
    for (lr, clip) in [(1e38, 0.0), (1e30, small(CellKind::Rnn).optimisation.clip)] {
        let cfg = RnnConfig {
            optimisation: Optimisation {
                lr,
                clip,
                epochs: 3,
                ..small(CellKind::Rnn).optimisation
            },
            ..small(CellKind::Rnn)
        };
        let r = fit_cpu("rnn", &cfg, (&tr, &ytr), (&va, &yva));
        let why = r.stopped.expect("training must stop");
        assert!(why.contains("diverged") && why.contains("lower --lr"), "lr {lr}: {why}");
        assert!(r.curve.len() < 3, "lr {lr}: stopped early, not after every epoch");
        let p = r.model.predict_proba(&va).unwrap();
        assert!(
            p.iter().flatten().all(|x| x.is_finite()),
            "the kept weights must still predict"
        );
    }
}

#[test]
fn word_vectors_start_the_embedding() {
    let (tr, ytr) = task(100, 7);
    let dir = std::env::temp_dir().join(format!("rnnlab-vec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vec_path = dir.join("w.vec");
    let row: Vec<String> = (0..16).map(|i| format!("{}", i as f32 / 10.0)).collect();
    std::fs::write(
        &vec_path,
        format!("2 16\ngood {}\nunseen {}\n", row.join(" "), row.join(" ")),
    )
    .unwrap();
    let cfg = RnnConfig {
        inputs: Inputs {
            pretrained: Some(vec_path.clone()),
            ..small(CellKind::Lstm).inputs
        },
        optimisation: Optimisation {
            epochs: 1,
            lr: 1e-9,
            ..small(CellKind::Lstm).optimisation
        },
        ..small(CellKind::Lstm)
    };
    let r = fit_cpu("lstm", &cfg, (&tr, &ytr), (&tr, &ytr));
    let words = r.model.input.words().unwrap();
    let id = words.iter().position(|w| w == "good").unwrap();
    let emb = r
        .model
        .classifier
        .encoder
        .embedding
        .as_tensor()
        .to_vec2::<f32>()
        .unwrap();
    assert!((emb[id][5] - 0.5).abs() < 1e-3, "{}", emb[id][5]);
    // A file of the wrong width names the line.
    std::fs::write(&vec_path, "good 1 2 3\n").unwrap();
    let err = fit(
        "lstm",
        &cfg,
        &labels(),
        (&tr, &ytr),
        (&tr, &ytr),
        &Device::Cpu,
        &mut Silent,
    )
    .err()
    .expect("wrong width must fail")
    .to_string();
    assert!(err.contains("line 1"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The n-gram bag (word uni-/bigrams and character n-grams) learns beside the GRU, is saved as
/// `bag.weight`, and a loaded model predicts the same, unseen words included.
#[test]
fn ngram_bag_learns_and_round_trips() {
    let (tr, ytr) = task(600, 5);
    let (va, yva) = task(200, 6);
    let cfg = RnnConfig {
        architecture: Architecture {
            bidirectional: true,
            pooling: Pooling::MeanMax,
            ..small(CellKind::Gru).architecture
        },
        inputs: Inputs {
            bag_buckets: 4096,
            bag_dim: 8,
            bag_minn: 2,
            bag_maxn: 4,
            bag_wide: true,
            ..small(CellKind::Gru).inputs
        },
        ..small(CellKind::Gru)
    };
    let r = fit_cpu("best-rnn", &cfg, (&tr, &ytr), (&va, &yva));
    let best = r.curve.iter().map(|e| e.val_metric).fold(0.0, f64::max);
    assert!(best > 0.9, "best val F1 {best}");
    assert!(r.model.classifier.encoder.bag.is_some());
    // The wide part learned something (it starts at zero) and travels with the model.
    let wide = r
        .model
        .classifier
        .encoder
        .wide
        .as_ref()
        .expect("bag_wide makes a wide part");
    let moved = wide
        .as_tensor()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(moved > 0.0, "wide weights never moved");
    let dir = std::env::temp_dir().join(format!("rnnlab-rnn-bag-{}", std::process::id()));
    r.model.save(&dir, serde_json::json!({})).unwrap();
    let (loaded, card) = RnnModel::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(card.params.inputs.bag_buckets, 4096);
    let docs: Vec<Vec<String>> = va
        .iter()
        .take(20)
        .cloned()
        .chain(std::iter::once(vec!["neverseen".to_string(), "#hashtag".to_string()]))
        .collect();
    let p = r.model.predict_proba(&docs).unwrap();
    let q = loaded.predict_proba(&docs).unwrap();
    for (a, b) in p.iter().flatten().zip(q.iter().flatten()) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `bag_nb`: the bag's fixed weights are the training rows' NB log-count ratios, travel with the
/// model, and a multi-class task is refused.
#[test]
fn bag_nb_scales_the_bag_and_round_trips() {
    let (tr, ytr) = task(300, 7);
    let (va, yva) = task(100, 8);
    let cfg = RnnConfig {
        inputs: Inputs {
            bag_buckets: 512,
            bag_dim: 4,
            bag_nb: true,
            ..small(CellKind::Gru).inputs
        },
        ..small(CellKind::Gru)
    };
    let r = fit_cpu("gru", &cfg, (&tr, &ytr), (&va, &yva));
    let bags: Vec<Vec<u32>> = tr.iter().map(|d| rnnlab_rnn::bag::ngram_bag(d, &cfg)).collect();
    let want = rnnlab_baselines::linear::nb_ratios(&bags, &ytr, 1, 512);
    assert_eq!(r.model.classifier.encoder.bag_scale.as_deref(), Some(want.as_slice()));
    let best = r.curve.iter().map(|e| e.val_metric).fold(0.0, f64::max);
    assert!(best > 0.9, "best val F1 {best}");
    let dir = std::env::temp_dir().join(format!("rnnlab-rnn-bag-nb-{}", std::process::id()));
    r.model.save(&dir, serde_json::json!({})).unwrap();
    let (loaded, _) = RnnModel::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(
        loaded.classifier.encoder.bag_scale,
        r.model.classifier.encoder.bag_scale
    );
    let p = r.model.predict_proba(&va).unwrap();
    let q = loaded.predict_proba(&va).unwrap();
    assert_eq!(p, q);
    // Without the scale the same weights predict otherwise: the scale is used.
    let mut unscaled = loaded;
    unscaled.classifier.encoder.bag_scale = None;
    assert_ne!(unscaled.predict_proba(&va).unwrap(), p);
    std::fs::remove_dir_all(&dir).ok();
    let three = LabelSet::fit(&["a".to_string(), "b".to_string(), "c".to_string()], None).unwrap();
    let y3: Vec<usize> = ytr
        .iter()
        .enumerate()
        .map(|(i, &k)| if i % 7 == 0 { 2 } else { k })
        .collect();
    let err = fit("gru", &cfg, &three, (&tr, &y3), (&va, &yva), &Device::Cpu, &mut Silent)
        .err()
        .unwrap();
    assert!(err.to_string().contains("--bag-nb"), "{err}");
}

/// Label smoothing reaches the training loss: a binary cross-entropy against the targets 0.8 /
/// 0.2 is never below their entropy, a floor the plain fit of the same task goes under; the
/// smoothed network still learns the task.
#[test]
fn label_smoothing_floors_the_training_loss_and_still_learns() {
    let (tr, ytr) = task(400, 15);
    let (va, yva) = task(100, 16);
    let cfg = RnnConfig {
        optimisation: Optimisation {
            epochs: 8,
            ..small(CellKind::Gru).optimisation
        },
        ..small(CellKind::Gru)
    };
    let floor = -(0.8f64 * 0.8f64.ln() + 0.2 * 0.2f64.ln()); // 0.5004 nats
    let plain = fit_cpu("gru", &cfg, (&tr, &ytr), (&va, &yva));
    let smooth = fit_cpu(
        "gru",
        &RnnConfig {
            regularisation: Regularisation {
                label_smoothing: 0.4,
                ..cfg.regularisation.clone()
            },
            ..cfg.clone()
        },
        (&tr, &ytr),
        (&va, &yva),
    );
    let last = |r: &FitResult| r.curve.last().unwrap().train_loss;
    assert!(last(&plain) < floor - 0.1, "plain fit: {}", last(&plain));
    for e in &smooth.curve {
        assert!(
            e.train_loss >= floor - 1e-4,
            "epoch {}: {} under {floor}",
            e.epoch,
            e.train_loss
        );
    }
    let best = smooth.curve.iter().map(|e| e.val_metric).fold(f64::MIN, f64::max);
    assert!(best > 0.9, "the smoothed fit still learns word order: F1 {best}");
}

/// `refit`: the first run (curve, chosen epoch, threshold, validation probabilities) is the
/// plain fit's; the kept model is another one, trained on training and validation rows.
#[test]
fn refit_trains_again_on_train_and_val_and_keeps_the_first_runs_choices() {
    let (tr, ytr) = task(300, 11);
    let (va, yva) = task(100, 12);
    let cfg = RnnConfig {
        optimisation: Optimisation {
            epochs: 4,
            ..small(CellKind::Gru).optimisation
        },
        ..small(CellKind::Gru)
    };
    let plain = fit_cpu("gru", &cfg, (&tr, &ytr), (&va, &yva));
    let refit = fit_cpu(
        "gru",
        &RnnConfig {
            optimisation: Optimisation {
                refit: true,
                ..cfg.optimisation.clone()
            },
            ..cfg.clone()
        },
        (&tr, &ytr),
        (&va, &yva),
    );
    assert_eq!(refit.best_epoch, plain.best_epoch);
    assert_eq!(refit.curve.len(), plain.curve.len());
    for (a, b) in refit.curve.iter().zip(&plain.curve) {
        assert_eq!(a.train_loss, b.train_loss);
        assert_eq!(a.val_metric, b.val_metric);
    }
    assert_eq!(refit.val_proba, plain.val_proba);
    assert_eq!(refit.model.threshold, plain.model.threshold);
    assert_eq!(refit.epoch_s.len(), plain.epoch_s.len() + plain.best_epoch);
    let (p, q) = (
        plain.model.predict_proba(&va).unwrap(),
        refit.model.predict_proba(&va).unwrap(),
    );
    assert_ne!(p, q, "the refit model is a new one");
    // Trained on the validation rows too, it fits them at least as well.
    let nll = |proba: &[Vec<f32>]| -> f64 {
        proba
            .iter()
            .zip(&yva)
            .map(|(p, &k)| -(p[k].max(1e-7) as f64).ln())
            .sum::<f64>()
    };
    assert!(
        nll(&q) <= nll(&p),
        "val NLL {} after refit, {} before",
        nll(&q),
        nll(&p)
    );
}

/// Texts whose label is a word seen once, spelled `good...` or `bad...` with a random tail: the
/// word vocabulary (min count 2) maps it to `<unk>`, its character n-grams still tell.
fn rare_words(n: usize, seed: u64) -> (Vec<Vec<String>>, Vec<usize>) {
    let mut next = numbers(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(7));
    let fillers = ["the", "app", "is", "really", "today", "service"];
    let (mut docs, mut y) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let label = next() % 2;
        let tail: String = (0..4).map(|_| (b'a' + (next() % 26) as u8) as char).collect();
        let mut d: Vec<String> = (0..1 + next() % 3)
            .map(|_| fillers[next() % fillers.len()].to_string())
            .collect();
        d.insert(next() % (d.len() + 1), format!("{}{tail}", ["bad", "good"][label]));
        docs.push(d);
        y.push(label);
    }
    (docs, y)
}

/// The character-aware input (`char_buckets`) reads words the vocabulary has never kept: it
/// learns what a word-only network cannot, is saved as `char.weight`, and a loaded model
/// predicts the same.
#[test]
fn character_ngrams_read_rare_words_and_round_trip() {
    let (tr, ytr) = rare_words(600, 1);
    let (va, yva) = rare_words(200, 2);
    let words_only = RnnConfig {
        architecture: Architecture {
            bidirectional: true,
            pooling: Pooling::Max,
            ..small(CellKind::Gru).architecture
        },
        inputs: Inputs {
            min_count: 2,
            ..small(CellKind::Gru).inputs
        },
        ..small(CellKind::Gru)
    };
    let cfg = RnnConfig {
        inputs: Inputs {
            char_buckets: 2048,
            char_dim: 8,
            ..words_only.inputs.clone()
        },
        ..words_only.clone()
    };
    let best = |r: &FitResult| r.curve.iter().map(|e| e.val_metric).fold(0.0, f64::max);
    // Without them the network sees <unk> where the label is: its best F1 is chance's (0.67 by
    // calling everything positive, a little more with a threshold chosen on these 200 rows).
    let plain = fit_cpu("gru", &words_only, (&tr, &ytr), (&va, &yva));
    let r = fit_cpu("gru", &cfg, (&tr, &ytr), (&va, &yva));
    assert!(best(&r) > 0.95, "with character n-grams: best val F1 {}", best(&r));
    assert!(best(&plain) < 0.85, "words only: best val F1 {}", best(&plain));
    let dir = std::env::temp_dir().join(format!("rnnlab-rnn-chars-{}", std::process::id()));
    r.model.save(&dir, serde_json::json!({})).unwrap();
    let (loaded, card) = RnnModel::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(
        (card.params.inputs.char_buckets, card.params.inputs.char_dim),
        (2048, 8)
    );
    assert!(loaded.classifier.encoder.chars.is_some());
    let mut docs: Vec<Vec<String>> = va.iter().take(20).cloned().collect();
    docs.push(Vec::new());
    docs.push(vec!["goodzzzz".to_string()]);
    let p = r.model.predict_proba(&docs).unwrap();
    assert_eq!(p, loaded.predict_proba(&docs).unwrap());
    assert!(p[21][1] > 0.5, "an unseen good... word: p = {}", p[21][1]);
    std::fs::remove_dir_all(&dir).ok();
}
