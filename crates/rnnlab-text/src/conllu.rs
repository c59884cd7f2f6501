//! CoNLL-U, the Universal Dependencies format: one word per line in ten tab-separated columns
//! (ID, FORM, LEMMA, UPOS, XPOS, FEATS, HEAD, DEPREL, DEPS, MISC), `#` comments before a
//! sentence, a blank line after it. Multiword-token lines (`3-4`) and empty nodes (`5.1`) are
//! not words: skipped for tagging, kept for writing back.
//!
//! A sentence keeps its lines as read, so writing a file back changes only the column a tagger
//! filled: a well-formed file (LF line ends, one blank line after each sentence) is written
//! back byte for byte.

use std::path::Path;

use crate::Error;

/// The ten columns of a word line.
const COLUMNS: usize = 10;

/// Which column holds the tag a tagger learns and fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum TagColumn {
    /// Universal part-of-speech tags (column 4; 17 tags).
    Upos,
    /// Language-specific tags (column 5; Penn Treebank tags in English).
    Xpos,
}

impl TagColumn {
    fn index(self) -> usize {
        match self {
            TagColumn::Upos => 3,
            TagColumn::Xpos => 4,
        }
    }
}

/// One sentence: its lines as read (without line ends) and which of them are words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub lines: Vec<String>,
    /// Indices into `lines` of the word lines (integer ids 1, 2, ...), in order.
    pub words: Vec<usize>,
}

impl Sentence {
    fn column(&self, i: usize) -> impl Iterator<Item = &str> {
        self.words
            .iter()
            .map(move |&l| self.lines[l].split('\t').nth(i).unwrap_or_default())
    }

    /// The word forms (column 2).
    pub fn forms(&self) -> Vec<String> {
        self.column(1).map(String::from).collect()
    }

    /// The lemmas (column 3).
    pub fn lemmas(&self) -> Vec<String> {
        self.column(2).map(String::from).collect()
    }

    /// The tags of `column`, one per word.
    pub fn tags(&self, column: TagColumn) -> Vec<String> {
        self.column(column.index()).map(String::from).collect()
    }

    /// This sentence with `column` of its word lines set to `tags` (one per word); every other
    /// byte is kept.
    pub fn with_tags(&self, column: TagColumn, tags: &[String]) -> Sentence {
        self.with_column(column.index(), tags)
    }

    /// This sentence with the LEMMA column (3) of its word lines set to `lemmas`.
    pub fn with_lemmas(&self, lemmas: &[String]) -> Sentence {
        self.with_column(2, lemmas)
    }

    fn with_column(&self, index: usize, values: &[String]) -> Sentence {
        let mut out = self.clone();
        for (&l, value) in self.words.iter().zip(values) {
            let mut fields: Vec<&str> = self.lines[l].split('\t').collect();
            fields[index] = value;
            out.lines[l] = fields.join("\t");
        }
        out
    }
}

/// A named treebank of the registry (`data/datasets.toml`, `[[treebank]]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreebankSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub lang: crate::Lang,
    pub train: String,
    pub val: String,
    pub test: String,
}

/// Words and tags of the three splits of a tagging task, and the files read.
#[derive(Debug, Clone)]
pub struct TaggedCorpus {
    pub name: String,
    pub column: TagColumn,
    /// `[train, val, test]`: each sentence's words and tags.
    pub words: [Vec<Vec<String>>; 3],
    pub tags: [Vec<Vec<String>>; 3],
    pub files: Vec<std::path::PathBuf>,
}

/// One string per word, one list per sentence: words or their tags.
pub type Sentences = Vec<Vec<String>>;

/// Reads one CSV or Parquet file of tagged sentences: the words of each row from column
/// `tokens`, its tags from `tags` (space-joined strings, or lists in Parquet). A row whose
/// counts differ, or that has no words, is an error naming the file and row.
pub fn read_tagged_table(
    path: &Path,
    tokens: &str,
    tags: &str,
    format: &crate::dataset::CsvFormat,
) -> Result<(Sentences, Sentences), Error> {
    let table = crate::dataset::read_table(path, format)?;
    let words = crate::dataset::column_token_lists(&table, tokens)?;
    let labels = crate::dataset::column_token_lists(&table, tags)?;
    for (row, (w, t)) in words.iter().zip(&labels).enumerate() {
        if w.len() != t.len() || w.is_empty() {
            return Err(Error::Data(format!(
                "{}: row {}: {} words in {tokens:?} but {} tags in {tags:?}",
                path.display(),
                row + 1,
                w.len(),
                t.len()
            )));
        }
    }
    if words.is_empty() {
        return Err(Error::Data(format!("{}: no rows", path.display())));
    }
    Ok((words, labels))
}

impl TaggedCorpus {
    /// Reads CoNLL-U files; `val` defaults to none (the caller then holds out sentences).
    pub fn from_files(name: &str, paths: [&Path; 3], column: TagColumn) -> Result<Self, Error> {
        let mut words: [Vec<Vec<String>>; 3] = Default::default();
        let mut tags: [Vec<Vec<String>>; 3] = Default::default();
        for (k, path) in paths.iter().enumerate() {
            let sentences = read_file(path)?;
            if sentences.is_empty() {
                return Err(Error::Data(format!("{}: no sentences", path.display())));
            }
            for s in &sentences {
                let t = s.tags(column);
                if let Some(i) = t.iter().position(|t| t.is_empty() || t == "_") {
                    return Err(Error::Data(format!(
                        "{}: sentence {:?}: word {} has no {} tag",
                        path.display(),
                        s.lines.first().map(String::as_str).unwrap_or_default(),
                        i + 1,
                        if column == TagColumn::Upos { "UPOS" } else { "XPOS" }
                    )));
                }
                words[k].push(s.forms());
                tags[k].push(t);
            }
        }
        Ok(TaggedCorpus {
            name: name.to_string(),
            column,
            words,
            tags,
            files: paths.iter().map(|p| p.to_path_buf()).collect(),
        })
    }

    /// Reads CSV or Parquet files whose `tokens` column holds each sentence's words and whose
    /// `tags` column its tags, one per word (space-joined strings, or lists in Parquet). A row
    /// whose counts differ is an error naming the file and row.
    pub fn from_tables(
        name: &str,
        paths: [&Path; 3],
        tokens: &str,
        tags: &str,
        format: &crate::dataset::CsvFormat,
    ) -> Result<Self, Error> {
        let mut out: [Vec<Vec<String>>; 3] = Default::default();
        let mut tag_lists: [Vec<Vec<String>>; 3] = Default::default();
        for (k, path) in paths.iter().enumerate() {
            (out[k], tag_lists[k]) = read_tagged_table(path, tokens, tags, format)?;
        }
        Ok(TaggedCorpus {
            name: name.to_string(),
            column: TagColumn::Upos,
            words: out,
            tags: tag_lists,
            files: paths.iter().map(|p| p.to_path_buf()).collect(),
        })
    }

    /// A named treebank from the data folder.
    pub fn named(spec: &TreebankSpec, data_dir: &Path, column: TagColumn) -> Result<Self, Error> {
        let [train, val, test] = [&spec.train, &spec.val, &spec.test].map(|f| data_dir.join(f));
        for p in [&train, &val, &test] {
            if !p.is_file() {
                return Err(Error::Data(format!(
                    "{}: not found (data set {:?} in {}; set --data-dir or RNNLAB_DATA_DIR)",
                    p.display(),
                    spec.name,
                    data_dir.display()
                )));
            }
        }
        Self::from_files(&spec.name, [&train, &val, &test], column)
    }

    /// Moves a seeded `fraction` of the training sentences to the validation split (for files
    /// given without `--val`); the rest keep their order.
    pub fn hold_out(&mut self, fraction: f64, seed: u64) {
        let n = self.words[0].len();
        let take = ((n as f64 * fraction).round() as usize).clamp(usize::from(n > 1), n.saturating_sub(1));
        let mut order: Vec<usize> = (0..n).collect();
        crate::dataset::SplitMix64(seed).shuffle(&mut order);
        let mut held = vec![false; n];
        for &i in &order[..take] {
            held[i] = true;
        }
        let words = std::mem::take(&mut self.words[0]);
        let tags = std::mem::take(&mut self.tags[0]);
        self.words[1].clear();
        self.tags[1].clear();
        for ((w, t), h) in words.into_iter().zip(tags).zip(held) {
            let k = if h { 1 } else { 0 };
            self.words[k].push(w);
            self.tags[k].push(t);
        }
    }

    /// Whether each word of split `k` never occurs in the training split.
    pub fn unseen(&self, k: usize) -> Vec<Vec<bool>> {
        let seen: std::collections::HashSet<&String> = self.words[0].iter().flatten().collect();
        self.words[k]
            .iter()
            .map(|s| s.iter().map(|w| !seen.contains(w)).collect())
            .collect()
    }
}

/// The named treebank `name`.
pub fn find_treebank(name: &str) -> Option<TreebankSpec> {
    crate::dataset::treebanks().into_iter().find(|t| t.name == name)
}

/// Parses CoNLL-U text. `source` names the file in errors, which give the line and column.
pub fn parse(text: &str, source: &str) -> Result<Vec<Sentence>, Error> {
    let mut sentences = Vec::new();
    let mut current = Sentence {
        lines: Vec::new(),
        words: Vec::new(),
    };
    // Ranges (`3-4`) seen in this sentence that still wait for their words.
    let mut ranges: Vec<(usize, usize, usize)> = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bad = |line: usize, column: usize, what: String| {
        Error::Data(format!("{source}: line {line}, column {column}: {what}"))
    };
    let mut end_sentence = |current: &mut Sentence, ranges: &mut Vec<(usize, usize, usize)>, line: usize| {
        if let Some(&(at, from, to)) = ranges.first() {
            return Err(bad(
                at,
                1,
                format!("the multiword token {from}-{to} is not followed by its words {from} to {to}"),
            ));
        }
        if !current.lines.is_empty() {
            if current.words.is_empty() {
                return Err(bad(line, 1, "a sentence without words".into()));
            }
            sentences.push(std::mem::replace(
                current,
                Sentence {
                    lines: Vec::new(),
                    words: Vec::new(),
                },
            ));
        }
        ranges.clear();
        Ok(())
    };
    let mut n = 0;
    for (i, line) in text.split('\n').enumerate() {
        n = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            end_sentence(&mut current, &mut ranges, n)?;
            continue;
        }
        if line.starts_with('#') {
            current.lines.push(line.to_string());
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != COLUMNS {
            return Err(bad(
                n,
                fields.len().min(COLUMNS) + 1,
                format!("{} tab-separated columns where CoNLL-U has {COLUMNS}", fields.len()),
            ));
        }
        let id = fields[0];
        let number = |s: &str| s.parse::<usize>().ok().filter(|&v| v > 0);
        if let Some((a, b)) = id.split_once('-') {
            match (number(a), number(b)) {
                (Some(from), Some(to)) if from < to => ranges.push((n, from, to)),
                _ => {
                    return Err(bad(
                        n,
                        1,
                        format!("the range id {id:?} is not two word numbers, first < last"),
                    ))
                }
            }
        } else if let Some((a, b)) = id.split_once('.') {
            if a.parse::<usize>().is_err() || number(b).is_none() {
                return Err(bad(n, 1, format!("the empty-node id {id:?} is not N.M")));
            }
        } else {
            let Some(word) = number(id) else {
                return Err(bad(n, 1, format!("the id {id:?} is not a word number")));
            };
            if word != current.words.len() + 1 {
                return Err(bad(
                    n,
                    1,
                    format!("word {word} where word {} was expected", current.words.len() + 1),
                ));
            }
            if fields[1].is_empty() {
                return Err(bad(n, 2, "an empty word form".into()));
            }
            ranges.retain(|&(_, _, to)| word < to);
            current.words.push(current.lines.len());
        }
        current.lines.push(line.to_string());
    }
    end_sentence(&mut current, &mut ranges, n)?;
    Ok(sentences)
}

/// CoNLL-U text of `sentences`: each one's lines, then a blank line.
pub fn write(sentences: &[Sentence]) -> String {
    let mut out = String::new();
    for s in sentences {
        for line in &s.lines {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// Reads a CoNLL-U file (UTF-8).
pub fn read_file(path: &Path) -> Result<Vec<Sentence>, Error> {
    crate::dataset::check_data_file(path)?;
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::Data(format!(
            "{}: not UTF-8 (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    parse(&text, &path.display().to_string())
}

/// Writes `sentences` to `path` whole (a temporary name beside it, then renamed).
pub fn write_file(path: &Path, sentences: &[Sentence]) -> Result<(), Error> {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let written = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(write(sentences).as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# sent_id = a\n# text = I don't know.\n\
        1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_\n\
        2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n\
        2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n\
        3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n\
        4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_\n\
        4.1\tknew\t_\t_\t_\t_\t_\t_\t4:x\t_\n\
        5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n\n\
        # sent_id = b\n\
        1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n\n";

    #[test]
    fn words_skip_multiword_tokens_and_empty_nodes_and_write_back_is_identity() {
        let s = parse(SAMPLE, "s.conllu").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].forms(), ["I", "do", "n't", "know", "."]);
        assert_eq!(s[0].tags(TagColumn::Upos), ["PRON", "AUX", "PART", "VERB", "PUNCT"]);
        assert_eq!(s[0].tags(TagColumn::Xpos)[0], "PRP");
        assert_eq!(write(&s), SAMPLE);
        let tags: Vec<String> = ["X", "X", "X", "X", "X"].map(String::from).to_vec();
        let filled = s[0].with_tags(TagColumn::Upos, &tags);
        assert_eq!(filled.tags(TagColumn::Upos), tags);
        assert_eq!(filled.tags(TagColumn::Xpos), s[0].tags(TagColumn::Xpos));
        assert_eq!(filled.lines[3], s[0].lines[3], "the multiword line is kept");
    }

    #[test]
    fn tagged_sentences_from_csv_columns_and_mismatches_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("t.csv");
        std::fs::write(&good, "words,tags\n\"The cat sat\",DET NOUN VERB\nHi,INTJ\n").unwrap();
        let format = crate::dataset::CsvFormat::default();
        let c = TaggedCorpus::from_tables("t", [&good, &good, &good], "words", "tags", &format).unwrap();
        assert_eq!(c.words[0][0], ["The", "cat", "sat"]);
        assert_eq!(c.tags[2][1], ["INTJ"]);
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "words,tags\n\"The cat\",DET\n").unwrap();
        let e = TaggedCorpus::from_tables("t", [&good, &good, &bad], "words", "tags", &format)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.csv: row 1: 2 words"), "{e}");
    }

    #[test]
    fn malformed_lines_are_errors_naming_line_and_column() {
        let cases = [
            ("1\tI\tI\tPRON\n\n", "line 1, column 5: 4 tab-separated columns"),
            (
                "x\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n\n",
                "line 1, column 1: the id \"x\"",
            ),
            ("2\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n\n", "word 2 where word 1"),
            (
                "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n1\tdo\tdo\tAUX\tVBP\t_\t0\troot\t_\t_\n\n",
                "line 1, column 1: the multiword token 1-2",
            ),
            ("3-1\tx\t_\t_\t_\t_\t_\t_\t_\t_\n\n", "the range id \"3-1\""),
            ("# only a comment\n\n", "a sentence without words"),
        ];
        for (text, want) in cases {
            let e = parse(text, "f.conllu").unwrap_err().to_string();
            assert!(e.starts_with("f.conllu: ") && e.contains(want), "{text:?}: {e}");
        }
    }
}
