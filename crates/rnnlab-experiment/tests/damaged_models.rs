//! Model directories and word-vector files a user can damage: every loader answers with a
//! model or an error that names the file, never a panic. Each JSON file of a saved model is
//! mutated many times (values replaced by other kinds and sizes, keys removed), then loaded
//! and used for prediction on ordinary, empty and very long texts. Files are also truncated
//! and swapped between directories. A counting allocator bounds every single allocation: a
//! crafted size must be refused, not allocated.

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::Device;
use rnnlab_baselines::fasttext::{FastText, FastTextParams};
use rnnlab_baselines::{Baseline, BaselineKind, BaselineParams, LabelSet};
use rnnlab_experiment::blend::Blend;
use rnnlab_experiment::AnyModel;
use rnnlab_kernels::Rng;
use rnnlab_rnn::train::{load_word_vectors, Silent};
use rnnlab_rnn::{fit, Architecture, CellKind, Inputs, Optimisation, RnnConfig};
use serde_json::{json, Value};

/// The largest allocation any loader may ask for here: the models are kilobytes, so anything
/// near this is a size read from a damaged file and believed.
const MAX_ALLOCATION: usize = 256 << 20;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, refusing (and recording) any request above [`MAX_ALLOCATION`] so that a
/// loader that believes a crafted size fails this test instead of exhausting the machine.
struct Bounded;

unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        if new_size > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Bounded = Bounded;

fn docs(texts: &[&str]) -> Vec<Vec<String>> {
    texts
        .iter()
        .map(|t| t.split_whitespace().map(String::from).collect())
        .collect()
}

fn labels() -> LabelSet {
    LabelSet::fit(&["0".to_string(), "1".to_string()], None).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rnnlab-damaged-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A small trained LSTM with the n-gram bag, an NB-LR baseline, the blend of the two, a TF-IDF
/// logistic regression and a fastText model, saved.
fn saved_models(root: &Path) -> Vec<PathBuf> {
    let train = docs(&[
        "good great film",
        "bad awful film",
        "good fun",
        "awful boring",
        "great",
        "bad",
    ]);
    let y = vec![1, 0, 1, 0, 1, 0];
    let cfg = RnnConfig {
        architecture: Architecture {
            cell: CellKind::Lstm,
            emb: 4,
            hidden: 4,
            ..Architecture::default()
        },
        inputs: Inputs {
            min_count: 1,
            bag_buckets: 64,
            bag_dim: 3,
            ..Inputs::default()
        },
        optimisation: Optimisation {
            epochs: 2,
            batch_size: 4,
            ..Optimisation::default()
        },
        ..RnnConfig::default()
    };
    let r = fit(
        "lstm",
        &cfg,
        &labels(),
        (&train, &y),
        (&train, &y),
        &Device::Cpu,
        &mut Silent,
    )
    .unwrap();
    let rnn_dir = root.join("lstm");
    r.model.save(&rnn_dir, json!({"text_column": "text"})).unwrap();
    let params = BaselineParams::default();
    let nb = Baseline::fit(BaselineKind::Nbsvm, params, labels(), &train, &y).unwrap();
    let nb_dir = root.join("baseline");
    nb.save(&nb_dir, json!({"text_column": "text"})).unwrap();
    let blend_dir = root.join("blend");
    let blend = Blend {
        rnn: r.model,
        nbsvm: nb,
        weight: 0.3,
        threshold: Some(0.4),
    };
    blend.save(&blend_dir, json!({"text_column": "text"})).unwrap();
    let tfidf = Baseline::fit(
        BaselineKind::TfidfLogreg,
        BaselineParams::default(),
        labels(),
        &train,
        &y,
    )
    .unwrap();
    let tfidf_dir = root.join("tfidf");
    tfidf.save(&tfidf_dir, json!({})).unwrap();
    let ft_params = FastTextParams {
        dim: 4,
        buckets: 256,
        epochs: 2,
        ..FastTextParams::default()
    };
    let (ft, _) = FastText::fit(ft_params, labels(), &train, &y).unwrap();
    let ft_dir = root.join("fasttext");
    ft.save(&ft_dir, json!({})).unwrap();
    vec![rnn_dir, nb_dir, blend_dir, tfidf_dir, ft_dir]
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Every path to a value inside `v`.
fn paths(v: &Value, prefix: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = prefix.clone();
                p.push(Value::String(k.clone()));
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate().take(8) {
                let mut p = prefix.clone();
                p.push(json!(i));
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

/// Replaces (or removes) the value at one random path.
fn mutate(v: &mut Value, rng: &mut Rng) {
    let mut all = Vec::new();
    paths(v, Vec::new(), &mut all);
    if all.is_empty() {
        *v = json!(null);
        return;
    }
    let path = &all[rng.below(all.len())];
    let replacements = [
        json!(null),
        json!(0),
        json!(-1),
        json!(1_000_000_000u64),
        json!(1u64 << 62),
        json!(u64::MAX),
        json!(1e300),
        json!(0.5),
        json!(""),
        json!("lstm"),
        json!("nope"),
        json!(true),
        json!([]),
        json!([0]),
        json!({}),
    ];
    let mut at = v;
    for k in &path[..path.len() - 1] {
        at = match k {
            Value::String(s) => &mut at[s.as_str()],
            _ => &mut at[k.as_u64().unwrap() as usize],
        };
    }
    let last = &path[path.len() - 1];
    match (at, last) {
        (Value::Object(m), Value::String(k)) if rng.below(5) == 0 => {
            m.remove(k);
        }
        (Value::Array(a), _) if rng.below(5) == 0 && !a.is_empty() => {
            a.pop();
        }
        (at, Value::String(k)) => at[k.as_str()] = replacements[rng.below(replacements.len())].clone(),
        (at, i) => at[i.as_u64().unwrap() as usize] = replacements[rng.below(replacements.len())].clone(),
    }
}

/// One damage to the copy of a model directory in `work`, described for the failure message.
fn damage(work: &Path, models: &[PathBuf], rng: &mut Rng) -> String {
    let all = files(work);
    match rng.below(4) {
        // Truncated: a crash or full disk under a writer that was not atomic.
        0 => {
            let file = &all[rng.below(all.len())];
            let bytes = std::fs::read(file).unwrap();
            let keep = rng.below(bytes.len().max(1));
            std::fs::write(file, &bytes[..keep]).unwrap();
            format!("{} truncated to {keep} bytes", file.display())
        }
        // Swapped: the same file name from another model's directory.
        1 => {
            let file = &all[rng.below(all.len())];
            let name = file.file_name().unwrap();
            let donors: Vec<PathBuf> = models
                .iter()
                .flat_map(|m| files(m))
                .filter(|p| p.file_name() == Some(name) && std::fs::read(p).ok() != std::fs::read(file).ok())
                .collect();
            if donors.is_empty() {
                return "nothing swapped".into();
            }
            let donor = &donors[rng.below(donors.len())];
            std::fs::copy(donor, file).unwrap();
            format!("{} replaced by {}", file.display(), donor.display())
        }
        // Edited: values replaced by other kinds and sizes, keys removed.
        _ => {
            let jsons: Vec<&PathBuf> = all
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            let file = jsons[rng.below(jsons.len())];
            let mut v: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut v, rng);
            }
            std::fs::write(file, v.to_string()).unwrap();
            let mut shown = v.to_string();
            shown.truncate(2000);
            format!("{} edited to {shown}", file.display())
        }
    }
}

#[test]
fn damaged_model_directories_are_errors_not_panics() {
    let root = tmp("models");
    let texts = docs(&["good film", "", &"word ".repeat(3000), "unseen tokens only"]);
    let mut rng = Rng::new(17);
    let (mut loaded, mut refused) = (0, 0);
    let models = saved_models(&root);
    for dir in &models {
        for round in 0..120 {
            let work = root.join(format!("work-{round}"));
            let _ = std::fs::remove_dir_all(&work);
            std::fs::create_dir_all(&work).unwrap();
            for p in files(dir) {
                let to = work.join(p.strip_prefix(dir).unwrap());
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(&p, to).unwrap();
            }
            let what = damage(&work, &models, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let (model, _) = AnyModel::load(&work, &Device::Cpu)?;
                model.predict_proba(&texts)
            }));
            match outcome {
                Ok(Ok(p)) => {
                    assert_eq!(p.len(), texts.len());
                    for row in &p {
                        assert!(row.iter().all(|x| x.is_finite()), "{what}: {row:?}");
                    }
                    loaded += 1;
                }
                Ok(Err(e)) => {
                    let msg = e.to_string();
                    assert!(!msg.is_empty());
                    refused += 1;
                }
                Err(_) => panic!("a panic on {what}"),
            }
            std::fs::remove_dir_all(&work).unwrap();
        }
    }
    // Both outcomes happen: the damage reaches parts that matter and ones that do not.
    assert!(loaded > 0 && refused > 0, "loaded {loaded}, refused {refused}");
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest <= MAX_ALLOCATION, "largest allocation {largest} bytes");
    std::fs::remove_dir_all(&root).ok();
}

/// The sizes of the report (`hidden` 2^62 or 10^9, a million layers, `emb` 2^64 - 1, a
/// huge vocabulary) are refused against the weights file before the network is built: without
/// the check each is a panic, an abort on a huge allocation, or memory growing until the OS
/// stops the process.
#[test]
fn crafted_sizes_are_refused_before_allocation() {
    let root = tmp("crafted");
    let models = saved_models(&root);
    let dir = &models[0];
    let card_path = dir.join("model.json");
    let card: Value = serde_json::from_str(&std::fs::read_to_string(&card_path).unwrap()).unwrap();
    for (field, value) in [
        ("hidden", json!(1u64 << 62)),
        ("hidden", json!(1_000_000_000u64)),
        ("layers", json!(1_000_000u64)),
        ("emb", json!(u64::MAX)),
        ("bag_buckets", json!(1u64 << 24)),
        ("vocab_size", json!(1u64 << 40)),
    ] {
        let mut crafted = card.clone();
        if field == "vocab_size" {
            crafted[field] = value.clone();
        } else {
            crafted["params"][field] = value.clone();
        }
        std::fs::write(&card_path, crafted.to_string()).unwrap();
        let e = AnyModel::load(dir, &Device::Cpu)
            .err()
            .unwrap_or_else(|| panic!("{field} = {value} was accepted"))
            .to_string();
        assert!(e.contains("model.json"), "{field} = {value}: {e}");
    }
    assert!(LARGEST.load(Ordering::Relaxed) <= MAX_ALLOCATION);
    std::fs::remove_dir_all(&root).ok();
}

/// Files of one model kind in another's directory are an error naming the file, not a model
/// that predicts with the wrong parts.
#[test]
fn a_file_from_another_model_is_refused() {
    let root = tmp("swapped");
    let models = saved_models(&root);
    let (nbsvm, tfidf) = (&models[1], &models[3]);
    // A baseline where a network is expected (a blend's part, a script's loader).
    let e = rnnlab_rnn::RnnModel::load(nbsvm, &Device::Cpu)
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("\"nbsvm\" model, not a recurrent network"), "{e}");
    std::fs::copy(tfidf.join("vectorizer.json"), nbsvm.join("vectorizer.json")).unwrap();
    let e = AnyModel::load(nbsvm, &Device::Cpu).err().expect("refused").to_string();
    assert!(e.contains("vectorizer.json"), "{e}");
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn damaged_word_vector_files_are_errors_naming_the_file() {
    let root = tmp("vec");
    std::fs::create_dir_all(&root).unwrap();
    let words: Vec<String> = ["<pad>", "<unk>", "good", "bad"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let cases: [(&str, &[u8], bool); 7] = [
        ("ok.vec", b"2 3\ngood 1 2 3\nbad 4 5 6\n", true),
        ("no-header.vec", b"good 1 2 3\n", true),
        ("empty.vec", b"", true),
        ("short.vec", b"2 3\ngood 1 2\n", false),
        ("nan.vec", b"1 3\ngood 1 NaN 3\n", false),
        ("text.vec", b"1 3\ngood 1 two 3\n", false),
        ("binary.vec", b"\x00\xff\xfe 1 2 3\n\xc3", false),
    ];
    for (name, bytes, ok) in cases {
        let path = root.join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut emb = vec![0.0f32; words.len() * 3];
        match load_word_vectors(&path, &words, &mut emb, 3) {
            Ok(found) => {
                assert!(ok, "{name} was accepted");
                if name == "ok.vec" {
                    assert_eq!(found, 2);
                    assert_eq!(&emb[6..12], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
                }
            }
            Err(e) => {
                assert!(!ok, "{name}: {e}");
                assert!(e.to_string().contains(name), "{name}: {e}");
            }
        }
    }
    std::fs::remove_dir_all(&root).ok();
}

/// Every kind writes its format version; a card without one (written before versions were
/// recorded) still loads and predicts the same; a newer version is refused by name.
#[test]
fn model_cards_carry_their_format_version() {
    let root = tmp("format-version");
    let probe = docs(&["good film", "awful"]);
    for dir in saved_models(&root) {
        let card_path = dir.join("model.json");
        let card: Value = serde_json::from_str(&std::fs::read_to_string(&card_path).unwrap()).unwrap();
        assert_eq!(
            card["format_version"],
            json!(rnnlab_baselines::FORMAT_VERSION),
            "{}",
            dir.display()
        );
        let (model, _) = AnyModel::load(&dir, &Device::Cpu).unwrap();
        let want = model.predict_proba(&probe).unwrap();

        let mut old = card.clone();
        old.as_object_mut().unwrap().remove("format_version");
        std::fs::write(&card_path, old.to_string()).unwrap();
        let (model, _) = AnyModel::load(&dir, &Device::Cpu).unwrap();
        assert_eq!(
            model.predict_proba(&probe).unwrap(),
            want,
            "{}: an unversioned card",
            dir.display()
        );

        let mut newer = card.clone();
        newer["format_version"] = json!(rnnlab_baselines::FORMAT_VERSION + 1);
        std::fs::write(&card_path, newer.to_string()).unwrap();
        let e = AnyModel::load(&dir, &Device::Cpu)
            .err()
            .expect("a newer format is refused")
            .to_string();
        assert!(
            e.contains("model.json") && e.contains(&format!("version {}", rnnlab_baselines::FORMAT_VERSION + 1)),
            "{e}"
        );
    }
    std::fs::remove_dir_all(&root).ok();
}
