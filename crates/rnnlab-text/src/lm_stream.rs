//! Word streams for language models, as DESIGN.md "Language models" and
//! `../shared/anchors/lm_anchor.py` define them: each sentence's words (case kept) followed by
//! `<eos>`, a split read as one stream; the vocabulary is `<unk>`, `<eos>`, then the training
//! words seen at least `min_count` times in sorted order; other words become `<unk>`.

use std::collections::HashMap;
use std::path::Path;

use crate::Error;

pub const UNK: &str = "<unk>";
pub const EOS: &str = "<eos>";

/// The words of a CoNLL-U file as one stream, `<eos>` after each sentence.
pub fn conllu_words(path: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for s in crate::conllu::read_file(path)? {
        let forms = s.forms();
        if forms.is_empty() {
            continue;
        }
        out.extend(forms);
        out.push(EOS.to_string());
    }
    Ok(out)
}

/// A word vocabulary: ids 0 (`<unk>`) and 1 (`<eos>`), then the kept words.
#[derive(Debug, Clone, PartialEq)]
pub struct WordVocab {
    pub itos: Vec<String>,
    stoi: HashMap<String, u32>,
}

impl WordVocab {
    /// The training words seen at least `min_count` times.
    pub fn fit(train: &[String], min_count: usize) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for w in train {
            *counts.entry(w.as_str()).or_default() += 1;
        }
        let mut kept: Vec<&str> = counts
            .into_iter()
            .filter(|&(w, c)| c >= min_count.max(1) && w != EOS && w != UNK)
            .map(|(w, _)| w)
            .collect();
        kept.sort_unstable();
        let itos: Vec<String> = [UNK, EOS].into_iter().chain(kept).map(String::from).collect();
        let stoi = itos.iter().enumerate().map(|(i, w)| (w.clone(), i as u32)).collect();
        WordVocab { itos, stoi }
    }

    pub fn len(&self) -> usize {
        self.itos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.itos.is_empty()
    }

    /// Each word's id; unknown words are `<unk>` (0).
    pub fn encode(&self, words: &[String]) -> Vec<u32> {
        words.iter().map(|w| self.stoi.get(w).copied().unwrap_or(0)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_keeps_repeated_words_sorted_after_the_markers() {
        let train: Vec<String> = "b a b <eos> c a <eos>".split(' ').map(String::from).collect();
        let v = WordVocab::fit(&train, 2);
        assert_eq!(v.itos, ["<unk>", "<eos>", "a", "b"]);
        let test: Vec<String> = "a c z <eos>".split(' ').map(String::from).collect();
        assert_eq!(v.encode(&test), [2, 0, 0, 1]);
        assert_eq!(WordVocab::fit(&train, 1).len(), 5);
    }

    #[test]
    fn a_conllu_file_is_words_then_eos_per_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.conllu");
        let line = |id: &str, form: &str| format!("{id}\t{form}\t_\tX\t_\t_\t_\t_\t_\t_\n");
        let text = format!(
            "# text = a b\n{}{}{}\n{}\n",
            line("1-2", "ab"),
            line("1", "a"),
            line("2", "b"),
            line("1", "C")
        );
        std::fs::write(&p, text).unwrap();
        assert_eq!(conllu_words(&p).unwrap(), ["a", "b", "<eos>", "C", "<eos>"]);
    }
}
