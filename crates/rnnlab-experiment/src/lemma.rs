//! The lemma task (a word form and its UPOS tag in, the lemma out): its corpus from CoNLL-U
//! files, its kinds (`lookup-lemmatizer`, and `rnn` / `lstm` / `gru` as character-level
//! encoder-decoders), training into a model directory with the lemma `metrics.json`, and
//! loading one to lemmatise.
//!
//! A `lookup-lemmatizer` directory holds `model.json` and `lexicon.json`. A recurrent one also
//! holds `vocab.json` (the units, by id: the four reserved ones, the tags as `<TAG>`, then the
//! characters) and `model.safetensors`; its lexicon serves the combination ("lookup where the
//! pair was seen in training, the network elsewhere") and says which pairs are unseen.
//!
//! The network has two shortcuts besides decoding (Stanza's edit classifier): class 1 copies
//! the form, class 2 lowercases it; a training pair takes the first that gives its lemma.
//!
//! The network trains on the distinct (form, tag, lemma) triples of the training file, not on
//! every running word: frequent words would otherwise fill most batches, and the lexicon
//! already answers them in the combination. Evaluation is over every running word.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use rnnlab_baselines::lemma::{LemmaItem, LemmaMetrics, LookupLemmatizer};
use rnnlab_rnn::seq2seq::{fit_seq2seq, source_batch, Pair, Seq2Seq, Seq2SeqConfig, EOS};
use rnnlab_rnn::TrainObserver;
use rnnlab_text::conllu::{read_file, TagColumn, TreebankSpec};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::units::{UnitVocab, RESERVED};
use crate::{round4, write_json, Error};

/// The kinds of `--task lemma`.
pub const LEMMA_KINDS: [&str; 4] = ["lookup-lemmatizer", "rnn", "lstm", "gru"];

/// The lemma task's shortcut classes after decoding (0): the form itself, the form lowercased.
pub const LEMMA_SHORTCUTS: [&str; 2] = ["copy", "lowercase"];

/// The shortcut class that gives `lemma` from `form` (0: none, decode it).
pub fn lemma_shortcut(form: &str, lemma: &str) -> u32 {
    if lemma == form {
        1
    } else if lemma == form.to_lowercase() {
        2
    } else {
        0
    }
}

/// The lemma that shortcut `class` gives from `form`; `None` for 0 (decode).
fn apply_shortcut(form: &str, class: u32) -> Option<String> {
    match class {
        1 => Some(form.to_string()),
        2 => Some(form.to_lowercase()),
        _ => None,
    }
}

/// The three splits' words with their tags and lemmas.
#[derive(Debug, Clone)]
pub struct LemmaCorpus {
    pub name: String,
    /// `[train, val, test]`, every running word in order.
    pub splits: [Vec<LemmaItem>; 3],
    /// The files read (for a report's checksums); empty for a corpus built in memory.
    pub files: Vec<std::path::PathBuf>,
}

impl LemmaCorpus {
    /// CoNLL-U files: FORM, UPOS and LEMMA of every word line.
    pub fn from_files(name: &str, paths: [&Path; 3]) -> Result<Self, Error> {
        Ok(LemmaCorpus {
            name: name.to_string(),
            splits: [read_items(paths[0])?, read_items(paths[1])?, read_items(paths[2])?],
            files: paths.iter().map(|p| p.to_path_buf()).collect(),
        })
    }

    /// A named treebank from the data folder.
    pub fn named(spec: &TreebankSpec, data_dir: &Path) -> Result<Self, Error> {
        let [train, val, test] = [&spec.train, &spec.val, &spec.test].map(|f| data_dir.join(f));
        for p in [&train, &val, &test] {
            if !p.is_file() {
                return Err(Error::Input(format!(
                    "{}: not found (data set {:?} in {}; set --data-dir or RNNLAB_DATA_DIR)",
                    p.display(),
                    spec.name,
                    data_dir.display()
                )));
            }
        }
        Self::from_files(&spec.name, [&train, &val, &test])
    }
}

/// The words of one CoNLL-U file: FORM, UPOS and LEMMA of every word line.
pub fn read_items(path: &Path) -> Result<Vec<LemmaItem>, Error> {
    let mut items = Vec::new();
    for s in read_file(path)? {
        let (forms, tags, lemmas) = (s.forms(), s.tags(TagColumn::Upos), s.lemmas());
        for ((form, tag), lemma) in forms.into_iter().zip(tags).zip(lemmas) {
            items.push(LemmaItem { form, tag, lemma });
        }
    }
    if items.is_empty() {
        return Err(Error::Input(format!("{}: no words", path.display())));
    }
    Ok(items)
}

/// What `train --task lemma` builds.
#[derive(Debug, Clone)]
pub enum LemmaSpec {
    Lookup,
    Recurrent { kind: String, config: Box<Seq2SeqConfig> },
}

impl LemmaSpec {
    /// A kind of [`LEMMA_KINDS`] with its default recipe (`seq2seq_recipe` for the networks).
    pub fn from_kind(kind: &str) -> Result<Self, Error> {
        let cell = match kind {
            "lookup-lemmatizer" => return Ok(LemmaSpec::Lookup),
            "rnn" => rnnlab_rnn::CellKind::Rnn,
            "lstm" => rnnlab_rnn::CellKind::Lstm,
            "gru" => rnnlab_rnn::CellKind::Gru,
            other => {
                return Err(Error::Input(format!(
                    "--model {other:?} is not a lemmatiser; the lemma kinds are {}",
                    LEMMA_KINDS.join(", ")
                )))
            }
        };
        Ok(LemmaSpec::Recurrent {
            kind: kind.to_string(),
            config: Box::new(rnnlab_rnn::seq2seq::seq2seq_recipe(cell)),
        })
    }

    pub fn kind(&self) -> &str {
        match self {
            LemmaSpec::Lookup => "lookup-lemmatizer",
            LemmaSpec::Recurrent { kind, .. } => kind,
        }
    }
}

/// `model.json` of a lemmatiser directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LemmaCard {
    format_version: u32,
    kind: String,
    task: String,
    /// Source and target units of a recurrent kind (`char`).
    #[serde(default)]
    units: String,
    #[serde(default)]
    vocab_size: usize,
    #[serde(default)]
    params: Option<Seq2SeqConfig>,
    #[serde(default)]
    meta: Value,
}

/// The lemma task's units: the tags as `<TAG>`, then the characters.
impl UnitVocab {
    /// The tags and the characters of the training forms and lemmas, each in first-seen order.
    pub fn fit(train: &[LemmaItem]) -> Self {
        let tags = train.iter().map(|w| format!("<{}>", w.tag));
        let chars = train
            .iter()
            .flat_map(|w| w.form.chars().chain(w.lemma.chars()))
            .map(String::from);
        Self::fit_units(tags.chain(chars))
    }

    /// The tag, then the form's characters.
    pub fn source(&self, form: &str, tag: &str) -> Vec<u32> {
        let mut ids = vec![self.id(&format!("<{tag}>"))];
        let mut buf = [0u8; 4];
        ids.extend(form.chars().map(|c| self.id(c.encode_utf8(&mut buf))));
        ids
    }

    pub fn target(&self, lemma: &str) -> Vec<u32> {
        let mut buf = [0u8; 4];
        lemma.chars().map(|c| self.id(c.encode_utf8(&mut buf))).collect()
    }

    /// Characters of decoded ids (the reserved units and tags write nothing).
    pub fn text(&self, ids: &[u32]) -> String {
        ids.iter()
            .filter(|&&i| i > EOS)
            .filter_map(|&i| self.itos.get(i as usize))
            .filter(|u| u.chars().count() == 1)
            .map(String::as_str)
            .collect()
    }
}

/// A trained character-level encoder-decoder with its units and lexicon.
pub struct NeuralLemmatizer {
    pub net: Seq2Seq,
    pub vocab: UnitVocab,
    pub lexicon: LookupLemmatizer,
}

/// How a lemmatiser directory answers.
pub enum AnyLemmatizer {
    Lookup(LookupLemmatizer),
    Neural(Box<NeuralLemmatizer>),
}

/// Which answer of a neural lemmatiser to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The network for every word.
    Network,
    /// The lexicon for pairs seen in training, the network for the rest.
    Combined,
}

impl NeuralLemmatizer {
    /// The network's lemma of each distinct (form, tag) pair, decoded in batches of similar
    /// length (`beam` 1: greedy).
    fn decode(&self, pairs: &[(&str, &str)], beam: usize) -> Result<HashMap<(String, String), String>, Error> {
        let mut distinct: Vec<(&str, &str)> = pairs.to_vec();
        distinct.sort_by_key(|(f, t)| (f.chars().count(), *f, *t));
        distinct.dedup();
        let mut out = HashMap::with_capacity(distinct.len());
        for chunk in distinct.chunks(256) {
            let srcs: Vec<Vec<u32>> = chunk.iter().map(|(f, t)| self.vocab.source(f, t)).collect();
            let refs: Vec<&[u32]> = srcs.iter().map(Vec::as_slice).collect();
            let classes = self.net.choose_shortcuts(&source_batch(&refs))?;
            let mut to_decode = Vec::new();
            for (i, ((f, t), &class)) in chunk.iter().zip(&classes).enumerate() {
                match apply_shortcut(f, class) {
                    Some(lemma) => {
                        out.insert((f.to_string(), t.to_string()), lemma);
                    }
                    None => to_decode.push(i),
                }
            }
            if to_decode.is_empty() {
                continue;
            }
            let refs: Vec<&[u32]> = to_decode.iter().map(|&i| srcs[i].as_slice()).collect();
            let batch = source_batch(&refs);
            let ids = if beam <= 1 {
                self.net.greedy(&batch)?
            } else {
                self.net.beam_search(&batch, beam)?
            };
            for (&i, ids) in to_decode.iter().zip(ids) {
                let (f, t) = chunk[i];
                out.insert((f.to_string(), t.to_string()), self.vocab.text(&ids));
            }
        }
        Ok(out)
    }

    /// Lemmas of (form, tag) pairs.
    pub fn lemmatize(&self, pairs: &[(&str, &str)], beam: usize, answer: Answer) -> Result<Vec<String>, Error> {
        let todo: Vec<(&str, &str)> = match answer {
            Answer::Network => pairs.to_vec(),
            Answer::Combined => pairs
                .iter()
                .copied()
                .filter(|(f, t)| !self.lexicon.knows(f, t))
                .collect(),
        };
        let decoded = self.decode(&todo, beam)?;
        Ok(pairs
            .iter()
            .map(|(f, t)| match decoded.get(&(f.to_string(), t.to_string())) {
                Some(l) => l.clone(),
                None => self.lexicon.lemmatize(f, t).0,
            })
            .collect())
    }
}

impl AnyLemmatizer {
    /// The training file's (form, tag) → lemma table.
    pub fn lexicon(&self) -> &LookupLemmatizer {
        match self {
            AnyLemmatizer::Lookup(l) => l,
            AnyLemmatizer::Neural(n) => &n.lexicon,
        }
    }

    /// The lemma figures over `gold` words, read with `tags` (predicted ones, say) in place of
    /// their gold tags when given: `{"network": ..., "combined": ...}` for a network, the
    /// figures alone for the lookup. Unseen pairs and per-tag groups follow the gold tags.
    pub fn evaluate(&self, gold: &[LemmaItem], tags: Option<&[String]>, beam: usize) -> Result<Value, Error> {
        if tags.is_some_and(|t| t.len() != gold.len()) {
            return Err(Error::Input(format!(
                "{} tags for {} words",
                tags.map_or(0, <[String]>::len),
                gold.len()
            )));
        }
        let pairs: Vec<(&str, &str)> = match tags {
            Some(t) => gold.iter().zip(t).map(|(w, t)| (w.form.as_str(), t.as_str())).collect(),
            None => pairs_of(gold),
        };
        let score = |answer| -> Result<Value, Error> {
            Ok(metrics_of(self.lexicon(), gold, &self.lemmatize(&pairs, beam, answer)?))
        };
        Ok(match self {
            AnyLemmatizer::Lookup(_) => score(Answer::Network)?,
            AnyLemmatizer::Neural(_) => {
                json!({"network": score(Answer::Network)?, "combined": score(Answer::Combined)?})
            }
        })
    }

    pub fn lemmatize(&self, pairs: &[(&str, &str)], beam: usize, answer: Answer) -> Result<Vec<String>, Error> {
        match self {
            AnyLemmatizer::Lookup(l) => Ok(pairs.iter().map(|(f, t)| l.lemmatize(f, t).0).collect()),
            AnyLemmatizer::Neural(n) => n.lemmatize(pairs, beam, answer),
        }
    }

    /// Loads a lemmatiser directory; `None` when `dir` holds another task's model.
    pub fn load(dir: &Path, device: &Device) -> Result<Option<(Self, Value)>, Error> {
        let Some(card) = crate::read_card::<LemmaCard>(dir, "lemma")? else {
            return Ok(None);
        };
        let path = dir.join("model.json");
        let bad = |m: String| Error::Input(format!("{}: {m}", path.display()));
        let lexicon_path = dir.join("lexicon.json");
        rnnlab_baselines::files::check_regular(&lexicon_path, 1 << 30)?;
        let text = std::fs::read_to_string(&lexicon_path).map_err(|e| Error::io(&lexicon_path, e))?;
        let lexicon =
            LookupLemmatizer::from_json(&text).map_err(|e| Error::Input(format!("{}: {e}", lexicon_path.display())))?;
        if card.kind == "lookup-lemmatizer" {
            return Ok(Some((AnyLemmatizer::Lookup(lexicon), card.meta)));
        }
        let Some(config) = card.params.clone() else {
            return Err(bad(format!("kind {:?} without its params", card.kind)));
        };
        config.validate().map_err(|e| bad(format!("params: {e}")))?;
        let units: Vec<String> = rnnlab_baselines::baseline::read_json(&dir.join("vocab.json"))?;
        if units.len() != card.vocab_size || units.iter().zip(RESERVED).any(|(u, r)| u != r) {
            return Err(bad(format!(
                "vocab.json holds {} units (model.json says {}), which must start with {RESERVED:?}",
                units.len(),
                card.vocab_size
            )));
        }
        let net = Seq2Seq::new(&config, units.len(), units.len(), device)?;
        let weights = dir.join("model.safetensors");
        net.load_state(&rnnlab_baselines::tensors::load(&weights)?, &weights)?;
        let vocab = UnitVocab::from_units(units);
        Ok(Some((
            AnyLemmatizer::Neural(Box::new(NeuralLemmatizer { net, vocab, lexicon })),
            card.meta,
        )))
    }
}

/// The figures of `pred` against a split, the unseen pairs judged by `lexicon`.
fn metrics_of(lexicon: &LookupLemmatizer, gold: &[LemmaItem], pred: &[String]) -> Value {
    let unseen: Vec<bool> = gold.iter().map(|w| !lexicon.knows(&w.form, &w.tag)).collect();
    serde_json::to_value(LemmaMetrics::compute(gold, pred, &unseen)).unwrap_or(Value::Null)
}

fn pairs_of(items: &[LemmaItem]) -> Vec<(&str, &str)> {
    items.iter().map(|w| (w.form.as_str(), w.tag.as_str())).collect()
}

/// Trains `spec` on the corpus's training file, scores validation and test, and writes the
/// model directory `out` with its `metrics.json` (last).
pub fn train_lemma(
    corpus: &LemmaCorpus,
    spec: &LemmaSpec,
    out: &Path,
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<Value, Error> {
    let t0 = Instant::now();
    let lexicon = LookupLemmatizer::fit(&corpus.splits[0]);
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    rnnlab_baselines::files::write_atomic(&out.join("lexicon.json"), lexicon.to_json().as_bytes())
        .map_err(|e| Error::io(&out.join("lexicon.json"), e))?;
    let mut card = LemmaCard {
        format_version: rnnlab_baselines::FORMAT_VERSION,
        kind: spec.kind().to_string(),
        task: "lemma".into(),
        units: String::new(),
        vocab_size: 0,
        params: None,
        meta: json!({"dataset": corpus.name}),
    };
    let mut metrics = json!({"kind": spec.kind(), "task": "lemma", "dataset": corpus.name, "seed": 0});
    let lemmatizer = match spec {
        LemmaSpec::Lookup => {
            metrics["timings"] = json!({"train_s": round4(t0.elapsed().as_secs_f64())});
            AnyLemmatizer::Lookup(lexicon.clone())
        }
        LemmaSpec::Recurrent { config, .. } => {
            let mut config = config.clone();
            config.shortcuts = LEMMA_SHORTCUTS.len();
            let vocab = UnitVocab::fit(&corpus.splits[0]);
            let distinct = |items: &[LemmaItem]| -> Vec<Pair> {
                let mut seen = std::collections::HashSet::new();
                items
                    .iter()
                    .filter(|w| seen.insert((&w.form, &w.tag, &w.lemma)))
                    .map(|w| Pair {
                        source: vocab.source(&w.form, &w.tag),
                        target: vocab.target(&w.lemma),
                        shortcut: lemma_shortcut(&w.form, &w.lemma),
                    })
                    .collect()
            };
            let (train, val) = (distinct(&corpus.splits[0]), distinct(&corpus.splits[1]));
            let fit = fit_seq2seq(&config, vocab.len(), vocab.len(), &train, &val, device, observer)?;
            write_json(&out.join("vocab.json"), &vocab.itos)?;
            rnnlab_baselines::tensors::save(&out.join("model.safetensors"), &fit.model.state()?)?;
            card.units = "char".into();
            card.vocab_size = vocab.len();
            card.params = Some((*config).clone());
            metrics["params"] = json!(config);
            metrics["seed"] = json!(config.rnn.optimisation.seed);
            metrics["units"] = json!("char");
            metrics["vocab_size"] = json!(vocab.len());
            metrics["train_pairs"] = json!(train.len());
            metrics["best_epoch"] = json!(fit.best_epoch);
            metrics["curve"] = fit
                .curve
                .iter()
                .map(|s| {
                    json!({"epoch": s.epoch, "train_loss": round4(s.train_loss), "val_loss": round4(s.val_loss),
                           "val_accuracy": round4(s.val_metric), "seconds": round4(s.seconds)})
                })
                .collect();
            metrics["timings"] = json!({"train_s": round4(fit.train_s),
                                        "train_words_per_s": fit.train_pairs_per_s.round()});
            if let Some(why) = fit.stopped {
                metrics["stopped"] = json!(why);
            }
            AnyLemmatizer::Neural(Box::new(NeuralLemmatizer {
                net: fit.model,
                vocab,
                lexicon: lexicon.clone(),
            }))
        }
    };
    write_json(&out.join("model.json"), &card)?;
    let (val, test) = (&corpus.splits[1], &corpus.splits[2]);
    let t1 = Instant::now();
    let test_pred = lemmatizer.lemmatize(&pairs_of(test), 1, Answer::Network)?;
    metrics["timings"]["predict_words_per_s"] =
        json!((test.len() as f64 / t1.elapsed().as_secs_f64().max(1e-9)).round());
    let val_pred = lemmatizer.lemmatize(&pairs_of(val), 1, Answer::Network)?;
    metrics["val"] = metrics_of(&lexicon, val, &val_pred);
    metrics["test"] = metrics_of(&lexicon, test, &test_pred);
    if let AnyLemmatizer::Neural(n) = &lemmatizer {
        let combined = |items: &[LemmaItem]| -> Result<Value, Error> {
            let pred = n.lemmatize(&pairs_of(items), 1, Answer::Combined)?;
            Ok(metrics_of(&lexicon, items, &pred))
        };
        metrics["combined"] = json!({"val": combined(val)?, "test": combined(test)?});
        // Decoding speed over the distinct test pairs, greedy and with a beam of 5.
        let mut distinct = pairs_of(test);
        distinct.sort();
        distinct.dedup();
        distinct.truncate(2000);
        for (beam, key) in [(1, "decode_words_per_s_beam1"), (5, "decode_words_per_s_beam5")] {
            let t = Instant::now();
            n.decode(&distinct, beam)?;
            metrics["timings"][key] = json!((distinct.len() as f64 / t.elapsed().as_secs_f64().max(1e-9)).round());
        }
    }
    metrics["peak_rss_mb"] = json!(crate::train::peak_rss_mb());
    write_json(&out.join("metrics.json"), &metrics)?;
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rnnlab_rnn::seq2seq::{seq2seq_recipe, BOS, PAD, UNK};
    use rnnlab_rnn::CellKind;

    fn item(f: &str, t: &str, l: &str) -> LemmaItem {
        LemmaItem {
            form: f.into(),
            tag: t.into(),
            lemma: l.into(),
        }
    }

    #[test]
    fn units_reserve_four_ids_and_decode_to_characters() {
        let v = UnitVocab::fit(&[item("Dogs", "NOUN", "dog"), item("ran", "VERB", "run")]);
        assert_eq!(&v.itos[..4], RESERVED);
        assert_eq!(v.itos[4], "<NOUN>");
        let s = v.source("Dogs", "NOUN");
        assert_eq!(s.len(), 5);
        assert_eq!(s[0], 4);
        assert_eq!(v.source("zz", "ADJ"), vec![UNK, UNK, UNK]);
        assert_eq!(v.text(&v.target("dog")), "dog");
        assert_eq!(v.text(&[PAD, BOS, 4, UNK, EOS]), "");
    }

    /// A model directory round-trips: the loaded lemmatiser answers as the trained one did, and
    /// a damaged directory is refused with the file named.
    #[test]
    fn a_directory_round_trips_and_damage_is_refused() {
        let words = ["walks", "talks", "jumps", "runs", "eats", "reads", "sings", "plays"];
        let mut train = Vec::new();
        for w in words {
            train.push(item(w, "VERB", &w[..w.len() - 1]));
            train.push(item(w, "NOUN", w));
        }
        let corpus = LemmaCorpus {
            name: "toy".into(),
            splits: [train.clone(), train[..4].to_vec(), train[4..8].to_vec()],
            files: Vec::new(),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut config = seq2seq_recipe(CellKind::Gru);
        config.rnn.architecture.emb = 8;
        config.rnn.architecture.hidden = 8;
        config.rnn.optimisation.epochs = 2;
        config.max_output = 10;
        let spec = LemmaSpec::Recurrent {
            kind: "gru".into(),
            config: Box::new(config),
        };
        let m = train_lemma(&corpus, &spec, dir.path(), &Device::Cpu, &mut rnnlab_rnn::train::Silent).unwrap();
        assert_eq!(m["task"], "lemma");
        assert!(m["test"]["accuracy"].as_f64().is_some() && m["combined"]["test"]["accuracy"] == 1.0);
        let (loaded, meta) = AnyLemmatizer::load(dir.path(), &Device::Cpu).unwrap().unwrap();
        assert_eq!(meta["dataset"], "toy");
        let AnyLemmatizer::Neural(n) = &loaded else {
            panic!("a gru directory loads as a network")
        };
        let pairs = pairs_of(&corpus.splits[2]);
        let pred = n.lemmatize(&pairs, 1, Answer::Network).unwrap();
        let right = pred
            .iter()
            .zip(&corpus.splits[2])
            .filter(|(p, g)| **p == g.lemma)
            .count() as f64;
        assert!((right / 4.0 - m["test"]["accuracy"].as_f64().unwrap()).abs() < 1e-6);
        // Combined: seen pairs come from the lexicon.
        assert_eq!(
            n.lemmatize(&[("walks", "VERB")], 1, Answer::Combined).unwrap(),
            ["walk"]
        );
        // Damage: a vocabulary of another size.
        std::fs::write(dir.path().join("vocab.json"), "[\"<pad>\"]").unwrap();
        let e = AnyLemmatizer::load(dir.path(), &Device::Cpu).err().unwrap();
        assert!(e.to_string().contains("model.json"), "{e}");
        // Another task's directory is not a lemmatiser.
        std::fs::write(dir.path().join("model.json"), "{\"task\": \"lm\"}").unwrap();
        assert!(AnyLemmatizer::load(dir.path(), &Device::Cpu).unwrap().is_none());
    }
}
