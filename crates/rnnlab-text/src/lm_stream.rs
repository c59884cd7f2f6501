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

/// What a language model predicts: words; characters (the words' characters with a space
/// unit between the words of a sentence, `<eos>` after it); or subwords of a BPE or Unigram
/// model trained on the training words, the first piece of each word marked with
/// [`WORD_START`] as SentencePiece writes it, so that the pieces spell the text back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum LmUnits {
    #[default]
    Word,
    Char,
    Bpe,
    Unigram,
}

/// The mark of a subword that starts a word (SentencePiece's U+2581).
pub const WORD_START: char = '\u{2581}';

/// Subword vocabulary size unless the user says otherwise.
pub const DEFAULT_SUBWORD_VOCAB: usize = 4000;

impl LmUnits {
    pub fn is_subword(self) -> bool {
        matches!(self, LmUnits::Bpe | LmUnits::Unigram)
    }

    /// How `unit` reads in text: a word after a space unless it comes `first`, a character as
    /// it is, a subword with its word-start mark as a space (none when it comes `first`).
    pub fn piece_text(self, unit: &str, first: bool) -> String {
        match self {
            LmUnits::Word if first => unit.to_string(),
            LmUnits::Word => format!(" {unit}"),
            LmUnits::Char => unit.to_string(),
            LmUnits::Bpe | LmUnits::Unigram => {
                let t = unit.replace(WORD_START, " ");
                match first {
                    true => t.strip_prefix(' ').map(String::from).unwrap_or(t),
                    false => t,
                }
            }
        }
    }

    /// Units written out as text (see [`LmUnits::piece_text`]); `first`: nothing comes before.
    pub fn text(self, units: &[String], first: bool) -> String {
        units
            .iter()
            .enumerate()
            .map(|(i, u)| self.piece_text(u, first && i == 0))
            .collect()
    }
}

/// A word stream (`<eos>` after each sentence) as characters, a space unit between words.
pub fn char_stream(words: &[String]) -> Vec<String> {
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

/// A word stream as subwords: `pieces_of` splits a word (without marks); the first piece of
/// each word gets [`WORD_START`]; `<eos>` stays, and an unknown piece (`<unk>`) stays unmarked.
/// Each distinct word is split once.
pub fn subword_stream(words: &[String], mut pieces_of: impl FnMut(&str) -> Vec<String>) -> Vec<String> {
    let mut cache: HashMap<&str, Vec<String>> = HashMap::new();
    let mut out = Vec::with_capacity(words.len() * 2);
    for w in words {
        if w == EOS {
            out.push(EOS.to_string());
            continue;
        }
        let pieces = cache.entry(w.as_str()).or_insert_with(|| {
            let mut p = pieces_of(w);
            if let Some(head) = p.first_mut().filter(|h| h.as_str() != UNK) {
                head.insert(0, WORD_START);
            }
            p
        });
        out.extend(pieces.iter().cloned());
    }
    out
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
    /// Size of the subword vocabulary trained for `Bpe` and `Unigram` units.
    pub subword_vocab: usize,
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
            subword_vocab: DEFAULT_SUBWORD_VOCAB,
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
            subword_vocab: DEFAULT_SUBWORD_VOCAB,
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
        let units = char_stream(&w("ab c <eos> d <eos>"));
        assert_eq!(
            units,
            w("a b _ c <eos> d <eos>")
                .into_iter()
                .map(|u| if u == "_" { " ".into() } else { u })
                .collect::<Vec<_>>()
        );
        assert_eq!(LmUnits::Char.text(&units[..4], true), "ab c");
        assert_eq!(LmUnits::Word.text(&w("ab c"), true), "ab c");
        assert_eq!(LmUnits::Word.text(&w("ab c"), false), " ab c");
    }

    #[test]
    fn subword_units_mark_word_starts_and_spell_the_text_back() {
        let w = |t: &str| -> Vec<String> { t.split(' ').map(String::from).collect() };
        let mut calls = 0;
        let units = subword_stream(&w("going to go <eos> going zz <eos>"), |word| {
            calls += 1;
            match word {
                "going" => w("go ing"),
                "zz" => w("<unk>"),
                other => vec![other.to_string()],
            }
        });
        assert_eq!(calls, 4, "each distinct word is split once");
        assert_eq!(
            units,
            w("\u{2581}go ing \u{2581}to \u{2581}go <eos> \u{2581}go ing <unk> <eos>")
        );
        assert_eq!(LmUnits::Bpe.text(&units[..4], true), "going to go");
        assert_eq!(LmUnits::Unigram.text(&units[..2], false), " going");
        assert_eq!(LmUnits::Bpe.piece_text("ing", false), "ing");
        assert!(LmUnits::Bpe.is_subword() && !LmUnits::Char.is_subword());
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
