//! Lemmatisation's baseline and figures: `lookup-lemmatizer` (the most frequent lemma of a
//! word form with its tag in training, else of the form, else the form itself, lowercased
//! unless it is a proper noun) and [`LemmaMetrics`] (exact match overall and on the (form, tag)
//! pairs unseen in training, per-tag accuracy, character error rate).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// One word of a lemmatisation corpus.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LemmaItem {
    pub form: String,
    pub tag: String,
    pub lemma: String,
}

/// Where a [`LookupLemmatizer`] found its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupSource {
    /// The (form, tag) pair occurs in training.
    Pair,
    /// The form occurs in training with another tag.
    Form,
    /// Neither: the form itself (lowercased unless a proper noun).
    Fallback,
}

/// The most frequent lemma per (form, tag) and per form in training (ties: the lemma first
/// seen). Saved as JSON: two sorted lists of entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LookupLemmatizer {
    pairs: HashMap<(String, String), String>,
    forms: HashMap<String, String>,
}

/// The saved form (JSON has no tuple keys).
#[derive(Serialize, Deserialize)]
struct Saved {
    pairs: Vec<(String, String, String)>,
    forms: Vec<(String, String)>,
}

/// The most frequent value of each key; ties go to the value first seen.
fn most_frequent<K: std::hash::Hash + Eq + Clone>(seen: impl Iterator<Item = (K, String)>) -> HashMap<K, String> {
    let mut counts: HashMap<K, Vec<(String, usize)>> = HashMap::new();
    for (k, v) in seen {
        let list = counts.entry(k).or_default();
        match list.iter_mut().find(|(l, _)| *l == v) {
            Some((_, n)) => *n += 1,
            None => list.push((v, 1)),
        }
    }
    counts
        .into_iter()
        .map(|(k, list)| {
            let best = list.iter().map(|(_, n)| *n).max().unwrap_or(0);
            let lemma = list
                .into_iter()
                .find(|(_, n)| *n == best)
                .map(|(l, _)| l)
                .unwrap_or_default();
            (k, lemma)
        })
        .collect()
}

impl LookupLemmatizer {
    pub fn fit(train: &[LemmaItem]) -> Self {
        LookupLemmatizer {
            pairs: most_frequent(train.iter().map(|w| ((w.form.clone(), w.tag.clone()), w.lemma.clone()))),
            forms: most_frequent(train.iter().map(|w| (w.form.clone(), w.lemma.clone()))),
        }
    }

    /// Whether training had this (form, tag) pair.
    pub fn knows(&self, form: &str, tag: &str) -> bool {
        self.pairs.contains_key(&(form.to_string(), tag.to_string()))
    }

    pub fn lemmatize(&self, form: &str, tag: &str) -> (String, LookupSource) {
        if let Some(l) = self.pairs.get(&(form.to_string(), tag.to_string())) {
            return (l.clone(), LookupSource::Pair);
        }
        if let Some(l) = self.forms.get(form) {
            return (l.clone(), LookupSource::Form);
        }
        let l = if tag == "PROPN" {
            form.to_string()
        } else {
            form.to_lowercase()
        };
        (l, LookupSource::Fallback)
    }

    pub fn to_json(&self) -> String {
        let mut pairs: Vec<_> = self
            .pairs
            .iter()
            .map(|((f, t), l)| (f.clone(), t.clone(), l.clone()))
            .collect();
        pairs.sort();
        let mut forms: Vec<_> = self.forms.iter().map(|(f, l)| (f.clone(), l.clone())).collect();
        forms.sort();
        serde_json::to_string(&Saved { pairs, forms }).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, crate::Error> {
        let s: Saved = serde_json::from_str(text).map_err(|e| crate::Error::Format(format!("lexicon: {e}")))?;
        Ok(LookupLemmatizer {
            pairs: s.pairs.into_iter().map(|(f, t, l)| ((f, t), l)).collect(),
            forms: s.forms.into_iter().collect(),
        })
    }
}

/// Lemmatisation figures of one split (the `val` / `test` of a lemmatiser's `metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LemmaMetrics {
    /// Exact match over all words.
    pub accuracy: f64,
    /// Exact match over the words whose (form, tag) pair is absent from training.
    pub accuracy_unseen: f64,
    /// Character error rate: edit distance over the gold lemmas' characters.
    pub cer: f64,
    pub per_tag: BTreeMap<String, TagAccuracy>,
    pub words: usize,
    pub unseen_words: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagAccuracy {
    pub accuracy: f64,
    pub support: usize,
}

/// Levenshtein distance in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

impl LemmaMetrics {
    /// `pred[i]` is the lemma given to `gold[i]`; `unseen[i]` whether its pair is new.
    pub fn compute(gold: &[LemmaItem], pred: &[String], unseen: &[bool]) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let (mut right, mut unseen_n, mut unseen_right, mut edits, mut chars) = (0, 0, 0, 0, 0);
        let mut tags: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for ((g, p), &u) in gold.iter().zip(pred).zip(unseen) {
            let ok = g.lemma == *p;
            right += usize::from(ok);
            if u {
                unseen_n += 1;
                unseen_right += usize::from(ok);
            }
            edits += edit_distance(p, &g.lemma);
            chars += g.lemma.chars().count();
            let t = tags.entry(g.tag.clone()).or_default();
            t.0 += usize::from(ok);
            t.1 += 1;
        }
        LemmaMetrics {
            accuracy: ratio(right, gold.len()),
            accuracy_unseen: ratio(unseen_right, unseen_n),
            cer: ratio(edits, chars),
            per_tag: tags
                .into_iter()
                .map(|(t, (r, n))| {
                    (
                        t,
                        TagAccuracy {
                            accuracy: ratio(r, n),
                            support: n,
                        },
                    )
                })
                .collect(),
            words: gold.len(),
            unseen_words: unseen_n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(f: &str, t: &str, l: &str) -> LemmaItem {
        LemmaItem {
            form: f.into(),
            tag: t.into(),
            lemma: l.into(),
        }
    }

    #[test]
    fn the_lookup_prefers_the_pair_then_the_form_then_the_form_itself() {
        let train = vec![
            item("saw", "VERB", "see"),
            item("saw", "VERB", "see"),
            item("saw", "VERB", "saw"),
            item("saw", "NOUN", "saw"),
            item("'s", "AUX", "be"),
            item("'s", "AUX", "have"),
        ];
        let lx = LookupLemmatizer::fit(&train);
        assert_eq!(lx.lemmatize("saw", "VERB"), ("see".into(), LookupSource::Pair));
        assert_eq!(lx.lemmatize("saw", "NOUN"), ("saw".into(), LookupSource::Pair));
        // Form known, pair not: the form's most frequent lemma.
        assert_eq!(lx.lemmatize("saw", "ADJ"), ("see".into(), LookupSource::Form));
        // A tie goes to the lemma first seen.
        assert_eq!(lx.lemmatize("'s", "AUX").0, "be");
        assert_eq!(lx.lemmatize("Dogs", "NOUN"), ("dogs".into(), LookupSource::Fallback));
        assert_eq!(lx.lemmatize("Paris", "PROPN"), ("Paris".into(), LookupSource::Fallback));
        assert!(lx.knows("saw", "NOUN") && !lx.knows("saw", "ADJ"));
        let back = LookupLemmatizer::from_json(&lx.to_json()).unwrap();
        assert_eq!(back, lx);
        assert!(LookupLemmatizer::from_json("{").is_err());
    }

    #[test]
    fn edit_distance_and_metrics_count_what_they_say() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("été", "ete"), 2);
        let gold = vec![
            item("ran", "VERB", "run"),
            item("cats", "NOUN", "cat"),
            item("a", "DET", "a"),
        ];
        let pred = vec!["run".to_string(), "cats".into(), "b".into()];
        let m = LemmaMetrics::compute(&gold, &pred, &[false, true, true]);
        assert!((m.accuracy - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.accuracy_unseen, 0.0);
        assert_eq!(m.unseen_words, 2);
        assert!((m.cer - 2.0 / 7.0).abs() < 1e-12);
        assert_eq!(m.per_tag["VERB"].accuracy, 1.0);
        assert_eq!(m.per_tag["DET"].support, 1);
    }
}
