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
    Ok(stream(read_sentences(path)?))
}

/// A file's sentences: a CoNLL-U file's (by its extension), else a text file's lines, each
/// split on whitespace (blank lines skipped).
pub fn read_sentences(path: &Path) -> Result<Vec<Vec<String>>, Error> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("conllu")) {
        return Ok(crate::conllu::read_file(path)?
            .iter()
            .map(|s| s.forms())
            .filter(|f| !f.is_empty())
            .collect());
    }
    crate::dataset::check_data_file(path)?;
    let bytes = std::fs::read(path).map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Error::Data(format!("{}: line {line}: not valid UTF-8 text", path.display()))
    })?;
    Ok(text
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect())
}

/// Sentences as one stream, `<eos>` after each.
pub fn stream(sentences: Vec<Vec<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for s in sentences {
        out.extend(s);
        out.push(EOS.to_string());
    }
    out
}

/// What a language model predicts: words, or characters (the words' characters with a space
/// unit between the words of a sentence, `<eos>` after it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LmUnits {
    #[default]
    Word,
    Char,
}

impl LmUnits {
    /// A word stream (`<eos>` after each sentence) as this kind of unit.
    pub fn stream(self, words: &[String]) -> Vec<String> {
        match self {
            LmUnits::Word => words.to_vec(),
            LmUnits::Char => {
                let mut out = Vec::with_capacity(words.len() * 6);
                let mut first = true;
                for w in words {
                    if w == EOS {
                        out.push(EOS.to_string());
                        first = true;
                        continue;
                    }
                    if !first {
                        out.push(" ".to_string());
                    }
                    out.extend(w.chars().map(String::from));
                    first = false;
                }
                out
            }
        }
    }

    /// What goes between units when they are written out: a space between words, nothing
    /// between characters (the space is a unit).
    pub fn separator(self) -> &'static str {
        match self {
            LmUnits::Word => " ",
            LmUnits::Char => "",
        }
    }
}

/// The three word streams of a language-model task: train, validation, test.
#[derive(Debug, Clone)]
pub struct LmCorpus {
    pub name: String,
    pub streams: [Vec<String>; 3],
    pub files: Vec<std::path::PathBuf>,
    /// The preprocessing that turned a table's texts into the streams' words (a CSV data set),
    /// saved with the model so that `eval` and `generate` read text the same way; `None` for
    /// CoNLL-U and text files, read as they are.
    pub pipeline: Option<crate::Pipeline>,
    /// What the models predict; the streams stay words (perplexity per word compares units).
    pub units: LmUnits,
}

impl LmCorpus {
    /// A named treebank's files (UD English EWT: dev is validation).
    pub fn named(spec: &crate::conllu::TreebankSpec, data_dir: &Path) -> Result<Self, Error> {
        let files = [&spec.train, &spec.val, &spec.test].map(|f| data_dir.join(f));
        let [a, b, c] = [&files[0], &files[1], &files[2]].map(|f| conllu_words(f));
        Ok(LmCorpus {
            name: spec.name.clone(),
            streams: [a?, b?, c?],
            files: files.to_vec(),
            pipeline: None,
            units: LmUnits::Word,
        })
    }

    /// Files by path (CoNLL-U or text, one sentence or document per line). Without `val`, the
    /// training file's last 10 % of sentences (at least one) are the validation stream.
    pub fn from_files(train: &Path, val: Option<&Path>, test: &Path) -> Result<Self, Error> {
        let mut train_s = read_sentences(train)?;
        let val_s = match val {
            Some(v) => read_sentences(v)?,
            None => {
                let n = train_s.len().div_ceil(10);
                if train_s.len() < 2 {
                    return Err(Error::Data(format!(
                        "{}: too few sentences to hold some out for validation; give --val",
                        train.display()
                    )));
                }
                train_s.split_off(train_s.len() - n)
            }
        };
        let test_s = read_sentences(test)?;
        for (s, p) in [(&train_s, train), (&test_s, test)] {
            if s.is_empty() {
                return Err(Error::Data(format!("{}: no words", p.display())));
            }
        }
        let mut files = vec![train.to_path_buf(), test.to_path_buf()];
        files.extend(val.map(Path::to_path_buf));
        Ok(LmCorpus {
            name: train.display().to_string(),
            streams: [stream(train_s), stream(val_s), stream(test_s)],
            files,
            pipeline: None,
            units: LmUnits::Word,
        })
    }
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

    /// A vocabulary saved as its words by id.
    pub fn from_words(itos: Vec<String>) -> Self {
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
    fn char_units_spell_words_with_a_space_between() {
        let w = |t: &str| -> Vec<String> { t.split(' ').map(String::from).collect() };
        let units = LmUnits::Char.stream(&w("ab c <eos> d <eos>"));
        assert_eq!(
            units,
            w("a b _ c <eos> d <eos>")
                .into_iter()
                .map(|u| if u == "_" { " ".into() } else { u })
                .collect::<Vec<_>>()
        );
        assert_eq!(LmUnits::Word.stream(&w("ab <eos>")), w("ab <eos>"));
        assert_eq!(LmUnits::Char.separator(), "");
    }

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
    fn text_files_are_lines_and_validation_is_held_out_from_training() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        let lines: String = (0..20).map(|i| format!("w{i} x\n\n")).collect();
        std::fs::write(&p, lines).unwrap();
        let c = LmCorpus::from_files(&p, None, &p).unwrap();
        assert_eq!(c.streams[0].len(), 18 * 3);
        assert_eq!(c.streams[1][..3], ["w18", "x", "<eos>"]);
        assert_eq!(c.streams[2].len(), 60);
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, b"ok\n\xff\n").unwrap();
        let e = LmCorpus::from_files(&bad, Some(&p), &p).unwrap_err().to_string();
        assert!(e.contains("bad.txt: line 2"), "{e}");
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
