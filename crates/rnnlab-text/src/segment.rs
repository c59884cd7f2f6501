//! Hashtag segmentation: `#endhate` → `end`, `hate`. A compound hashtag seen once in training
//! (or never) otherwise stays one opaque token; split into the words the training texts use,
//! it reads as those words.
//!
//! The split is the most probable one under a unigram model of the training texts' words
//! (Viterbi over the hashtag's characters, as Norvig's `segment` and the `wordsegment`
//! package), with a fixed cost per word so that fewer, longer words win. The model is learnt
//! from the words outside hashtags, so it works for any language and needs no word list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Words shorter than this many characters need [`SHORT_MIN_SHARE`] of all words to be a
/// part: short rare strings (`wi`, `sa`) are mostly noise.
const SHORT_WORD: usize = 4;
const SHORT_MIN_SHARE: f64 = 1e-4;
/// A one-letter part must be this common (English `a` and `i`, not `s` or `u`).
const LETTER_MIN_SHARE: f64 = 1e-2;
/// Cost of each word of a split, in nats, on top of its negative log probability.
const WORD_COST: f64 = 6.0;
/// The longest word tried, in characters.
const MAX_WORD: usize = 20;
/// A split must average at least this many characters a word.
const MIN_MEAN_WORD: usize = 3;

/// The unigram counts a hashtag is split by, learnt from training texts. An empty segmenter
/// (not fitted) splits nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashtagSegmenter {
    /// A word is a part only if seen at least this often (and a hashtag seen this often as a
    /// word stays whole).
    pub min_count: u64,
    /// Occurrences of all words counted, the denominator of each word's probability.
    #[serde(default)]
    pub total: u64,
    /// Lowercase words seen at least `min_count` times, with their counts.
    #[serde(default)]
    pub words: BTreeMap<String, u64>,
}

impl HashtagSegmenter {
    /// An unfitted segmenter that will keep words seen `min_count` times.
    pub fn new(min_count: u64) -> Self {
        HashtagSegmenter {
            min_count: min_count.max(1),
            total: 0,
            words: BTreeMap::new(),
        }
    }

    /// Whether it has learnt its words ([`HashtagSegmenter::fit`]).
    pub fn is_fitted(&self) -> bool {
        self.total > 0
    }

    /// Learns the word counts from `words` (the word tokens of the training texts, lowercase).
    pub fn fit<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut total = 0;
        for w in words {
            total += 1;
            *counts.entry(w.to_string()).or_default() += 1;
        }
        counts.retain(|_, c| *c >= self.min_count);
        self.total = total;
        self.words = counts;
    }

    /// The cost of `word` as a part of a split, or `None` if it cannot be one.
    fn cost(&self, word: &str, chars: usize) -> Option<f64> {
        let share = *self.words.get(word)? as f64 / self.total as f64;
        let min_share = match chars {
            1 => LETTER_MIN_SHARE,
            c if c < SHORT_WORD => SHORT_MIN_SHARE,
            _ => 0.0,
        };
        (share >= min_share).then(|| WORD_COST - share.ln())
    }

    /// The words of `tag` (a hashtag without `#`, lowercase), or `None` to keep it whole: it
    /// is not all letters, is itself a known word, or has no split into two or more known
    /// words averaging three letters or more.
    pub fn split(&self, tag: &str) -> Option<Vec<String>> {
        if !self.is_fitted() || self.words.contains_key(tag) || !tag.chars().all(char::is_alphabetic) {
            return None;
        }
        // Byte offsets of each character boundary, so parts slice the string directly.
        let bounds: Vec<usize> = tag.char_indices().map(|(i, _)| i).chain([tag.len()]).collect();
        let n = bounds.len() - 1;
        if n < 2 * MIN_MEAN_WORD {
            return None;
        }
        // best[j]: the cheapest split of the first j characters and where its last word starts.
        let mut best: Vec<(f64, usize)> = vec![(f64::INFINITY, 0); n + 1];
        best[0].0 = 0.0;
        for j in 1..=n {
            for i in j.saturating_sub(MAX_WORD)..j {
                if best[i].0.is_infinite() {
                    continue;
                }
                if let Some(c) = self.cost(&tag[bounds[i]..bounds[j]], j - i) {
                    if best[i].0 + c < best[j].0 {
                        best[j] = (best[i].0 + c, i);
                    }
                }
            }
        }
        if best[n].0.is_infinite() {
            return None;
        }
        let mut parts = Vec::new();
        let mut j = n;
        while j > 0 {
            let i = best[j].1;
            parts.push(tag[bounds[i]..bounds[j]].to_string());
            j = i;
        }
        parts.reverse();
        (parts.len() >= 2 && n >= MIN_MEAN_WORD * parts.len()).then_some(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fitted(text: &str) -> HashtagSegmenter {
        let mut s = HashtagSegmenter::new(2);
        s.fit(text.split_whitespace());
        s
    }

    const CORPUS: &str = "stop the hate stop hate black lives matter black lives matter \
        all lives matter all lives always matter mental health mental health";

    #[test]
    fn splits_a_compound_into_known_words() {
        let s = fitted(CORPUS);
        assert_eq!(s.split("stophate").unwrap(), ["stop", "hate"]);
        assert_eq!(s.split("blacklivesmatter").unwrap(), ["black", "lives", "matter"]);
        assert_eq!(s.split("mentalhealth").unwrap(), ["mental", "health"]);
    }

    #[test]
    fn keeps_known_words_unknown_parts_and_non_letters_whole() {
        let s = fitted(CORPUS);
        // A word of its own stays whole.
        assert_eq!(s.split("matter"), None);
        // A part the texts do not have (min_count 2: "always" is seen once).
        assert_eq!(s.split("alwayshate"), None);
        assert_eq!(s.split("stopxyzhate"), None);
        // Digits or underscores.
        assert_eq!(s.split("stop2hate"), None);
        assert_eq!(s.split("stop_hate"), None);
        assert_eq!(s.split(""), None);
    }

    #[test]
    fn short_rare_words_are_not_parts() {
        // Among 10,000 words, "the" seen twice is too rare for a 3-letter part, so
        // "stopthehate" stays whole; seen 10 times (a share of 1e-3) it is a part.
        let filler = "word ".repeat(10_000);
        let s = fitted(&format!("{CORPUS} {filler}"));
        assert_eq!(s.split("stopthehate"), None);
        let s = fitted(&format!("{CORPUS} {filler} {}", "the ".repeat(8)));
        assert_eq!(s.split("stopthehate").unwrap(), ["stop", "the", "hate"]);
        // One letter: `s` at 1e-3 of the words is not a part, `a` at 2e-2 is.
        let s = fitted(&format!("{CORPUS} {filler} {} witch witch", "s ".repeat(10)));
        assert_eq!(s.split("switch"), None);
        let s = fitted(&format!("{CORPUS} {filler} {} life life", "a ".repeat(200)));
        assert_eq!(s.split("alifematter").unwrap(), ["a", "life", "matter"]);
    }

    #[test]
    fn fewer_longer_words_win() {
        // "matter" beats "mat" + "ter" even when both halves are frequent words.
        let s = fitted(&format!("{CORPUS} {}", "mat ter ".repeat(40)));
        assert_eq!(s.split("livesmatter").unwrap(), ["lives", "matter"]);
    }

    #[test]
    fn unfitted_splits_nothing_and_non_ascii_letters_work() {
        assert_eq!(HashtagSegmenter::new(2).split("stophate"), None);
        let s = fitted("новости банка новости банка сбербанк");
        assert_eq!(s.split("новостибанка").unwrap(), ["новости", "банка"]);
    }

    #[test]
    fn round_trips_through_json() {
        let s = fitted(CORPUS);
        let back: HashtagSegmenter = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.split("stophate").unwrap(), ["stop", "hate"]);
    }
}
