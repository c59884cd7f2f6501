//! Sequence tagging's baselines and figures: one tag per word.
//!
//! - [`MajorityTagger`]: each known word's most frequent tag; an unknown word takes the most
//!   frequent tag of the longest suffix it shares with rare training words, else the most
//!   frequent tag of rare words (an open class).
//! - [`FeatureTagger`]: a greedy left-to-right averaged perceptron over the classic features
//!   (the word, its lowercase form, prefixes and suffixes of 1-4 characters, its shape, the words
//!   at ±1 and ±2, the two previous tags), hashed (MurmurHash3, as the vectorize layer's
//!   hashing) into a fixed table; frequent unambiguous words are tagged from a dictionary.
//! - [`TagMetrics`]: accuracy, accuracy on words unseen in training, sentence accuracy,
//!   macro-F1, per-tag precision/recall/F1 and the confusion matrix.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Tagging figures of one split (the `val` / `test` of a tagger's `metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagMetrics {
    pub accuracy: f64,
    /// Accuracy on words whose form never occurs in the training split.
    pub accuracy_oov: f64,
    pub sentence_accuracy: f64,
    /// Mean F1 over the tags that occur in the gold or predicted tags.
    pub f1_macro: f64,
    pub per_tag: BTreeMap<String, PerTag>,
    /// `confusion[gold][predicted]`, tags in the order of the tag set.
    pub confusion: Vec<Vec<u64>>,
    pub words: usize,
    pub oov_words: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerTag {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

impl TagMetrics {
    /// `gold`, `pred`: tag indices into `tags`, sentence by sentence; `oov`: whether each word
    /// is unseen in training.
    pub fn compute(gold: &[Vec<usize>], pred: &[Vec<usize>], oov: &[Vec<bool>], tags: &[String]) -> Self {
        let k = tags.len();
        let mut confusion = vec![vec![0u64; k]; k];
        let (mut words, mut right, mut oov_words, mut oov_right, mut whole) = (0, 0, 0, 0, 0);
        for ((g, p), o) in gold.iter().zip(pred).zip(oov) {
            let mut all = true;
            for ((&g, &p), &o) in g.iter().zip(p).zip(o) {
                confusion[g][p] += 1;
                words += 1;
                right += usize::from(g == p);
                all &= g == p;
                if o {
                    oov_words += 1;
                    oov_right += usize::from(g == p);
                }
            }
            whole += usize::from(all);
        }
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let mut per_tag = BTreeMap::new();
        let mut f1s = Vec::new();
        for (t, name) in tags.iter().enumerate() {
            let tp = confusion[t][t];
            let support: u64 = confusion[t].iter().sum();
            let predicted: u64 = confusion.iter().map(|r| r[t]).sum();
            let precision = if predicted == 0 {
                0.0
            } else {
                tp as f64 / predicted as f64
            };
            let recall = if support == 0 { 0.0 } else { tp as f64 / support as f64 };
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            if support + predicted > 0 {
                f1s.push(f1);
            }
            per_tag.insert(
                name.clone(),
                PerTag {
                    precision,
                    recall,
                    f1,
                    support,
                },
            );
        }
        TagMetrics {
            accuracy: ratio(right, words),
            accuracy_oov: ratio(oov_right, oov_words),
            sentence_accuracy: ratio(whole, gold.len()),
            f1_macro: if f1s.is_empty() {
                0.0
            } else {
                f1s.iter().sum::<f64>() / f1s.len() as f64
            },
            per_tag,
            confusion,
            words,
            oov_words,
        }
    }
}

/// The tags of `train`, sorted, and each sentence's tags as indices into them.
pub fn index_tags(train: &[Vec<String>]) -> Vec<String> {
    let set: std::collections::BTreeSet<&String> = train.iter().flatten().collect();
    set.into_iter().cloned().collect()
}

/// `tags` as indices into `names`; an unknown tag is an error naming it.
pub fn tag_ids(tags: &[Vec<String>], names: &[String]) -> Result<Vec<Vec<usize>>, Error> {
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
    tags.iter()
        .map(|s| {
            s.iter()
                .map(|t| {
                    index
                        .get(t.as_str())
                        .copied()
                        .ok_or_else(|| Error::Data(format!("the tag {t:?} does not occur in training")))
                })
                .collect()
        })
        .collect()
}

fn check_aligned(words: &[Vec<String>], tags: &[Vec<usize>]) -> Result<(), Error> {
    if words.is_empty() {
        return Err(Error::Data("no training sentences".into()));
    }
    if words.len() != tags.len() || words.iter().zip(tags).any(|(w, t)| w.len() != t.len()) {
        return Err(Error::Data("words and tags differ in number".into()));
    }
    Ok(())
}

/// Words seen at most this often count as rare: unknown words behave like them.
const RARE: u32 = 2;
const MAX_SUFFIX: usize = 4;

fn suffixes(word: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = word.chars().collect();
    (1..=MAX_SUFFIX.min(chars.len()))
        .rev()
        .map(move |n| chars[chars.len() - n..].iter().collect())
}

fn argmax_counts(counts: &[u32]) -> usize {
    let mut best = 0;
    for (i, &c) in counts.iter().enumerate() {
        if c > counts[best] {
            best = i;
        }
    }
    best
}

/// Each known word's most frequent tag; unknown words by suffix, else the rare words' tag.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MajorityTagger {
    pub tags: Vec<String>,
    words: HashMap<String, usize>,
    lowercase: HashMap<String, usize>,
    suffixes: HashMap<String, usize>,
    default: usize,
}

impl MajorityTagger {
    pub fn fit(words: &[Vec<String>], tags: &[Vec<usize>], names: &[String]) -> Result<Self, Error> {
        check_aligned(words, tags)?;
        let k = names.len();
        let mut by_word: HashMap<&str, Vec<u32>> = HashMap::new();
        let mut by_lower: HashMap<String, Vec<u32>> = HashMap::new();
        for (w, t) in words.iter().flatten().zip(tags.iter().flatten()) {
            by_word.entry(w.as_str()).or_insert_with(|| vec![0; k])[*t] += 1;
            by_lower.entry(w.to_lowercase()).or_insert_with(|| vec![0; k])[*t] += 1;
        }
        let mut rare_tags = vec![0u32; k];
        let mut by_suffix: HashMap<String, Vec<u32>> = HashMap::new();
        for (w, counts) in &by_word {
            let n: u32 = counts.iter().sum();
            if n > RARE {
                continue;
            }
            for (t, &c) in counts.iter().enumerate() {
                rare_tags[t] += c;
            }
            for s in suffixes(&w.to_lowercase()) {
                let e = by_suffix.entry(s).or_insert_with(|| vec![0; k]);
                for (t, &c) in counts.iter().enumerate() {
                    e[t] += c;
                }
            }
        }
        let best = |m: HashMap<String, Vec<u32>>| m.into_iter().map(|(w, c)| (w, argmax_counts(&c))).collect();
        Ok(MajorityTagger {
            tags: names.to_vec(),
            words: by_word
                .into_iter()
                .map(|(w, c)| (w.to_string(), argmax_counts(&c)))
                .collect(),
            lowercase: best(by_lower),
            suffixes: best(by_suffix),
            default: argmax_counts(&rare_tags),
        })
    }

    pub fn predict(&self, words: &[String]) -> Vec<usize> {
        words
            .iter()
            .map(|w| {
                if let Some(&t) = self.words.get(w) {
                    return t;
                }
                let lower = w.to_lowercase();
                if let Some(&t) = self.lowercase.get(&lower) {
                    return t;
                }
                let found = suffixes(&lower).find_map(|s| self.suffixes.get(&s).copied());
                found.unwrap_or(self.default)
            })
            .collect()
    }

    /// Checks every index against the tag set (a loaded file could hold any).
    fn check(&self) -> Result<(), Error> {
        let k = self.tags.len();
        let bad = self.default >= k
            || [&self.words, &self.lowercase, &self.suffixes]
                .iter()
                .any(|m| m.values().any(|&t| t >= k));
        if k == 0 || bad {
            return Err(Error::Format("tag indices beyond the tag set".into()));
        }
        Ok(())
    }
}

/// Options of the feature tagger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureTaggerParams {
    /// Rows of the hashed weight table (a power of two).
    pub n_features: usize,
    /// Passes over the training sentences (shuffled each time).
    pub epochs: usize,
    pub seed: u64,
}

impl Default for FeatureTaggerParams {
    fn default() -> Self {
        FeatureTaggerParams {
            n_features: 1 << 19,
            epochs: 6,
            seed: 0,
        }
    }
}

/// A word seen at least this often, with one tag at least this share of the time, is tagged
/// from the dictionary (Honnibal's perceptron tagger does the same).
const DICT_MIN_COUNT: u32 = 20;
const DICT_MIN_SHARE: f64 = 0.97;

/// A greedy averaged-perceptron tagger over hashed classic features.
#[derive(Debug, Clone)]
pub struct FeatureTagger {
    pub tags: Vec<String>,
    pub params: FeatureTaggerParams,
    /// `[n_features, tags]`, row-major: the averaged weights.
    pub weights: Vec<f32>,
    pub dictionary: HashMap<String, usize>,
}

/// The normalised form the features read: lowercase, numbers folded.
fn normalise(word: &str) -> String {
    if word.chars().all(|c| c.is_ascii_digit()) && !word.is_empty() {
        return if word.len() == 4 {
            "!YEAR".into()
        } else {
            "!DIGITS".into()
        };
    }
    if word.contains('-') && !word.starts_with('-') {
        // Hyphenated compounds keep their last part's clue in the suffix features.
        return format!("!HYPHEN{}", word.rsplit('-').next().unwrap_or_default().to_lowercase());
    }
    word.to_lowercase()
}

/// `Xxxx`, `dd`, `x.x`: each run of a character class once.
fn shape(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        let s = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_numeric() {
            'd'
        } else {
            c
        };
        if !out.ends_with(s) {
            out.push(s);
        }
    }
    out
}

/// Hashes of the features of word `i` given the two previous tags (`usize::MAX` before the
/// sentence start), into `out`.
fn features(norm: &[String], words: &[String], i: usize, prev: usize, prev2: usize, n: usize, out: &mut Vec<usize>) {
    out.clear();
    let mut buf = Vec::with_capacity(64);
    let mut add = |template: u8, parts: &[&str]| {
        buf.clear();
        buf.push(template);
        for p in parts {
            buf.push(0x1f);
            buf.extend_from_slice(p.as_bytes());
        }
        let h = rnnlab_vectorize::hashing::murmurhash3_32(&buf, 0) as u32 as usize;
        out.push(h & (n - 1));
    };
    let at = |j: isize| -> &str {
        if j < 0 {
            "-START-"
        } else if j as usize >= norm.len() {
            "-END-"
        } else {
            norm[j as usize].as_str()
        }
    };
    let tag = |t: usize| {
        if t == usize::MAX {
            "-START-".to_string()
        } else {
            t.to_string()
        }
    };
    let w = norm[i].as_str();
    let i = i as isize;
    let chars: Vec<char> = w.chars().collect();
    let prefix = |n: usize| chars.iter().take(n).collect::<String>();
    let suffix = |n: usize| chars[chars.len().saturating_sub(n)..].iter().collect::<String>();
    let (p1, p2) = (tag(prev), tag(prev2));
    add(0, &[]);
    add(1, &[w]);
    add(2, &[&words[i as usize]]);
    add(3, &[&shape(&words[i as usize])]);
    for n in 1..=4 {
        if chars.len() > n {
            add(3 + n as u8, &[&prefix(n)]);
            add(7 + n as u8, &[&suffix(n)]);
        }
    }
    add(12, &[&p1]);
    add(13, &[&p1, &p2]);
    add(14, &[&p1, w]);
    add(15, &[at(i - 1)]);
    add(16, &[at(i - 2)]);
    add(17, &[at(i + 1)]);
    add(18, &[at(i + 2)]);
    let suffix3 = |s: &str| s.chars().rev().take(3).collect::<String>();
    add(19, &[&suffix3(at(i - 1))]);
    add(20, &[&suffix3(at(i + 1))]);
    add(21, &[at(i - 1), w]);
    add(22, &[w, at(i + 1)]);
}

impl FeatureTagger {
    fn score(weights: &[f32], k: usize, feats: &[usize], scores: &mut [f32]) -> usize {
        scores.iter_mut().for_each(|s| *s = 0.0);
        for &f in feats {
            for (s, w) in scores.iter_mut().zip(&weights[f * k..(f + 1) * k]) {
                *s += w;
            }
        }
        let mut best = 0;
        for t in 1..k {
            if scores[t] > scores[best] {
                best = t;
            }
        }
        best
    }

    pub fn fit(
        words: &[Vec<String>],
        tags: &[Vec<usize>],
        names: &[String],
        params: FeatureTaggerParams,
    ) -> Result<Self, Error> {
        check_aligned(words, tags)?;
        let n = params.n_features;
        if !n.is_power_of_two() || !(1 << 10..=1 << 24).contains(&n) {
            return Err(Error::Param(format!(
                "n_features {n}: a power of two from 2^10 to 2^24"
            )));
        }
        if params.epochs == 0 {
            return Err(Error::Param("epochs must be at least 1".into()));
        }
        let k = names.len();
        let mut counts: HashMap<&str, Vec<u32>> = HashMap::new();
        for (w, &t) in words.iter().flatten().zip(tags.iter().flatten()) {
            counts.entry(w.as_str()).or_insert_with(|| vec![0; k])[t] += 1;
        }
        let dictionary: HashMap<String, usize> = counts
            .iter()
            .filter_map(|(w, c)| {
                let total: u32 = c.iter().sum();
                let best = argmax_counts(c);
                (total >= DICT_MIN_COUNT && f64::from(c[best]) / f64::from(total) >= DICT_MIN_SHARE)
                    .then(|| (w.to_string(), best))
            })
            .collect();
        let norm: Vec<Vec<String>> = words.iter().map(|s| s.iter().map(|w| normalise(w)).collect()).collect();
        let mut weights = vec![0f32; n * k];
        let mut totals = vec![0f64; n * k];
        let mut stamps = vec![0u32; n * k];
        let mut step = 0u32;
        let mut order: Vec<usize> = (0..words.len()).collect();
        let mut state = params.seed;
        let mut next = move || {
            // SplitMix64: the seeded shuffle of the sentences.
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let (mut feats, mut scores) = (Vec::new(), vec![0f32; k]);
        for _ in 0..params.epochs {
            for i in (1..order.len()).rev() {
                order.swap(i, (next() % (i as u64 + 1)) as usize);
            }
            for &s in &order {
                let (mut prev, mut prev2) = (usize::MAX, usize::MAX);
                for i in 0..words[s].len() {
                    let gold = tags[s][i];
                    let guess = match dictionary.get(&words[s][i]) {
                        Some(&t) => t,
                        None => {
                            features(&norm[s], &words[s], i, prev, prev2, n, &mut feats);
                            step += 1;
                            let guess = Self::score(&weights, k, &feats, &mut scores);
                            if guess != gold {
                                for &f in &feats {
                                    for (t, delta) in [(gold, 1.0f32), (guess, -1.0)] {
                                        let at = f * k + t;
                                        totals[at] += f64::from(step - stamps[at]) * f64::from(weights[at]);
                                        stamps[at] = step;
                                        weights[at] += delta;
                                    }
                                }
                            }
                            guess
                        }
                    };
                    prev2 = prev;
                    prev = guess;
                }
            }
        }
        let averaged: Vec<f32> = weights
            .iter()
            .zip(&totals)
            .zip(&stamps)
            .map(|((&w, &t), &s)| ((t + f64::from(step - s) * f64::from(w)) / f64::from(step.max(1))) as f32)
            .collect();
        Ok(FeatureTagger {
            tags: names.to_vec(),
            params,
            weights: averaged,
            dictionary,
        })
    }

    /// The greedy decoding's tags and, for each word, the perceptron's score of every tag
    /// (given the tags it chose before); a dictionary word's row is empty (its tag is fixed).
    pub fn predict_scores(&self, words: &[String]) -> (Vec<usize>, Vec<Vec<f32>>) {
        let k = self.tags.len();
        let norm: Vec<String> = words.iter().map(|w| normalise(w)).collect();
        let (mut feats, mut scores) = (Vec::new(), vec![0f32; k]);
        let (mut prev, mut prev2) = (usize::MAX, usize::MAX);
        let (mut out, mut rows) = (Vec::with_capacity(words.len()), Vec::with_capacity(words.len()));
        for i in 0..words.len() {
            let t = match self.dictionary.get(&words[i]) {
                Some(&t) => {
                    rows.push(Vec::new());
                    t
                }
                None => {
                    features(&norm, words, i, prev, prev2, self.params.n_features, &mut feats);
                    let t = Self::score(&self.weights, k, &feats, &mut scores);
                    rows.push(scores.clone());
                    t
                }
            };
            out.push(t);
            prev2 = prev;
            prev = t;
        }
        (out, rows)
    }

    pub fn predict(&self, words: &[String]) -> Vec<usize> {
        let k = self.tags.len();
        let norm: Vec<String> = words.iter().map(|w| normalise(w)).collect();
        let (mut feats, mut scores) = (Vec::new(), vec![0f32; k]);
        let (mut prev, mut prev2) = (usize::MAX, usize::MAX);
        let mut out = Vec::with_capacity(words.len());
        for i in 0..words.len() {
            let t = match self.dictionary.get(&words[i]) {
                Some(&t) => t,
                None => {
                    features(&norm, words, i, prev, prev2, self.params.n_features, &mut feats);
                    Self::score(&self.weights, k, &feats, &mut scores)
                }
            };
            out.push(t);
            prev2 = prev;
            prev = t;
        }
        out
    }
}

/// Either baseline tagger, for saving, loading and predicting.
#[derive(Debug, Clone)]
pub enum BaselineTagger {
    Majority(MajorityTagger),
    Feature(FeatureTagger),
}

/// `model.json` of a baseline tagger's directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaggerCard {
    #[serde(default)]
    pub format_version: u32,
    /// `majority-tagger` or `feature-tagger`.
    pub kind: String,
    pub task: String,
    pub tags: Vec<String>,
    #[serde(default)]
    pub params: Option<FeatureTaggerParams>,
    #[serde(default)]
    pub meta: serde_json::Value,
}

impl BaselineTagger {
    pub fn kind(&self) -> &'static str {
        match self {
            BaselineTagger::Majority(_) => "majority-tagger",
            BaselineTagger::Feature(_) => "feature-tagger",
        }
    }

    pub fn tags(&self) -> &[String] {
        match self {
            BaselineTagger::Majority(m) => &m.tags,
            BaselineTagger::Feature(m) => &m.tags,
        }
    }

    pub fn predict(&self, words: &[String]) -> Vec<usize> {
        match self {
            BaselineTagger::Majority(m) => m.predict(words),
            BaselineTagger::Feature(m) => m.predict(words),
        }
    }

    /// Writes `dir`: `tagger.json` (the majority tagger's tables, or the feature tagger's
    /// dictionary), `model.safetensors` (the feature tagger's weights), `model.json` last.
    pub fn save(&self, dir: &Path, meta: serde_json::Value) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let params = match self {
            BaselineTagger::Majority(m) => {
                crate::baseline::write_json(&dir.join("tagger.json"), m)?;
                None
            }
            BaselineTagger::Feature(m) => {
                let mut dict: Vec<(&String, &usize)> = m.dictionary.iter().collect();
                dict.sort();
                crate::baseline::write_json(&dir.join("tagger.json"), &dict)?;
                let k = m.tags.len();
                crate::tensors::save(
                    &dir.join("model.safetensors"),
                    &[("weights".to_string(), vec![m.params.n_features, k], m.weights.clone())],
                )?;
                Some(m.params.clone())
            }
        };
        let card = TaggerCard {
            format_version: crate::FORMAT_VERSION,
            kind: self.kind().into(),
            task: "tag".into(),
            tags: self.tags().to_vec(),
            params,
            meta,
        };
        crate::baseline::write_json(&dir.join("model.json"), &card)
    }

    /// Loads a directory written by [`Self::save`], every index and size checked.
    pub fn load(dir: &Path) -> Result<(Self, TaggerCard), Error> {
        let path = dir.join("model.json");
        let value: serde_json::Value = crate::baseline::read_json(&path)?;
        crate::check_format_version(&path, &value)?;
        let card: TaggerCard =
            serde_json::from_value(value).map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        let bad = |m: String| Error::Format(format!("{}: {m}", dir.display()));
        let unique: HashSet<&String> = card.tags.iter().collect();
        if card.tags.len() < 2 || unique.len() != card.tags.len() {
            return Err(bad("model.json: needs two or more distinct tags".into()));
        }
        let tagger = match card.kind.as_str() {
            "majority-tagger" => {
                let m: MajorityTagger = crate::baseline::read_json(&dir.join("tagger.json"))?;
                if m.tags != card.tags {
                    return Err(bad("tagger.json and model.json name different tags".into()));
                }
                m.check().map_err(|e| bad(format!("tagger.json: {e}")))?;
                BaselineTagger::Majority(m)
            }
            "feature-tagger" => {
                let params = card.params.clone().ok_or_else(|| bad("model.json: no params".into()))?;
                let n = params.n_features;
                if !n.is_power_of_two() || !(1 << 10..=1 << 24).contains(&n) {
                    return Err(bad(format!(
                        "model.json: n_features {n} is not a power of two in 2^10..2^24"
                    )));
                }
                let k = card.tags.len();
                let dict: Vec<(String, usize)> = crate::baseline::read_json(&dir.join("tagger.json"))?;
                if dict.iter().any(|(_, t)| *t >= k) {
                    return Err(bad("tagger.json: tag indices beyond the tag set".into()));
                }
                let weights_path = dir.join("model.safetensors");
                let mut t = crate::tensors::load(&weights_path)?;
                let (shape, weights) = t
                    .remove("weights")
                    .ok_or_else(|| bad("model.safetensors: no tensor \"weights\"".into()))?;
                if shape != [n, k] {
                    return Err(bad(format!(
                        "model.safetensors: weights of shape {shape:?}, model.json says [{n}, {k}]"
                    )));
                }
                BaselineTagger::Feature(FeatureTagger {
                    tags: card.tags.clone(),
                    params,
                    weights,
                    dictionary: dict.into_iter().collect(),
                })
            }
            other => return Err(bad(format!("model.json: {other:?} is not a baseline tagger"))),
        };
        Ok((tagger, card))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Vec<Vec<String>>, Vec<Vec<usize>>, Vec<String>) {
        let names: Vec<String> = ["DET", "NOUN", "VERB"].map(String::from).to_vec();
        let mut words = Vec::new();
        let mut tags = Vec::new();
        for (w, t) in [
            ("the cat sleeps", [0, 1, 2]),
            ("a dog runs", [0, 1, 2]),
            ("the dog sleeps", [0, 1, 2]),
            ("a cat runs", [0, 1, 2]),
            ("the bird sings", [0, 1, 2]),
        ] {
            for _ in 0..10 {
                words.push(w.split(' ').map(String::from).collect::<Vec<_>>());
                tags.push(t.to_vec());
            }
        }
        (words, tags, names)
    }

    #[test]
    fn metrics_count_words_unseen_words_and_sentences() {
        let tags: Vec<String> = ["A", "B"].map(String::from).to_vec();
        let m = TagMetrics::compute(
            &[vec![0, 1, 1], vec![0]],
            &[vec![0, 1, 0], vec![0]],
            &[vec![false, true, true], vec![false]],
            &tags,
        );
        assert_eq!((m.words, m.oov_words), (4, 2));
        assert!((m.accuracy - 0.75).abs() < 1e-12);
        assert!((m.accuracy_oov - 0.5).abs() < 1e-12);
        assert!((m.sentence_accuracy - 0.5).abs() < 1e-12);
        assert_eq!(m.confusion, vec![vec![2, 0], vec![1, 1]]);
        // A: precision 2/3, recall 1, F1 0.8; B: precision 1, recall 1/2, F1 2/3.
        assert!((m.f1_macro - (0.8 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(m.per_tag["B"].support, 2);
    }

    #[test]
    fn taggers_learn_the_toy_grammar_and_guess_unknown_words() {
        let (words, tags, names) = toy();
        let majority = MajorityTagger::fit(&words, &tags, &names).unwrap();
        assert_eq!(majority.predict(&words[0]), tags[0]);
        let feature = FeatureTagger::fit(&words, &tags, &names, FeatureTaggerParams::default()).unwrap();
        assert_eq!(feature.predict(&words[1]), tags[1]);
        // Unknown words between a determiner and a known verb: context decides.
        let unseen: Vec<String> = ["the", "zebra", "sleeps"].map(String::from).to_vec();
        assert_eq!(feature.predict(&unseen), vec![0, 1, 2]);
        assert!(FeatureTagger::fit(
            &words,
            &tags,
            &names,
            FeatureTaggerParams {
                n_features: 1000,
                ..Default::default()
            }
        )
        .is_err());
        assert!(MajorityTagger::fit(&words[..1], &tags[..2], &names).is_err());
    }

    #[test]
    fn saved_taggers_load_and_predict_the_same_and_damage_is_refused() {
        let (words, tags, names) = toy();
        let dir = tempfile::tempdir().unwrap();
        let params = FeatureTaggerParams {
            n_features: 1 << 10,
            ..Default::default()
        };
        for tagger in [
            BaselineTagger::Majority(MajorityTagger::fit(&words, &tags, &names).unwrap()),
            BaselineTagger::Feature(FeatureTagger::fit(&words, &tags, &names, params.clone()).unwrap()),
        ] {
            let d = dir.path().join(tagger.kind());
            tagger.save(&d, serde_json::Value::Null).unwrap();
            let (back, card) = BaselineTagger::load(&d).unwrap();
            assert_eq!(card.task, "tag");
            let probe: Vec<String> = ["a", "bird", "runs", "quickly"].map(String::from).to_vec();
            assert_eq!(back.predict(&probe), tagger.predict(&probe));
            // A card naming another number of tags than the weights hold.
            let card_path = d.join("model.json");
            let text = std::fs::read_to_string(&card_path).unwrap();
            let damaged = text.replace("\"VERB\"", "\"VERB\", \"ADJ\"");
            std::fs::write(&card_path, damaged).unwrap();
            assert!(BaselineTagger::load(&d).is_err(), "{}", tagger.kind());
        }
    }
}
