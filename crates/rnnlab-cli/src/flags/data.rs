//! Where labelled data comes from: a named data set or CSV/Parquet files.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rnnlab_experiment::Prepared;
use rnnlab_text::conllu::{find_treebank, TagColumn, TaggedCorpus};
use rnnlab_text::dataset::{self, Columns, CsvFormat, Dataset};
use rnnlab_text::lm_stream::LmUnits;

use crate::PrepArgs;

/// Where labelled data comes from: a named data set or CSV/Parquet files.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Data")]
pub struct DataArgs {
    /// A named data set (twitter-hate-speech, sentirueval2015-banks, sentirueval2015-telecoms).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["train", "test"])]
    pub dataset: Option<String>,
    /// The data folder for --dataset (default: $RNNLAB_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Training file (CSV or Parquet).
    #[arg(long, value_name = "F", requires = "test")]
    pub train: Option<PathBuf>,
    /// Validation file; without it a stratified 10 % of --train (seeded by --seed) is used.
    #[arg(long, value_name = "F", requires = "train")]
    pub val: Option<PathBuf>,
    /// Test file.
    #[arg(long, value_name = "F", requires = "train")]
    pub test: Option<PathBuf>,
    /// Text column of the files.
    #[arg(long, value_name = "C", default_value = "text")]
    pub text_column: String,
    /// Label column of the files (numbers or strings).
    #[arg(long, value_name = "L", default_value = "label")]
    pub label_column: String,
    /// Id column of the files, carried to predictions.
    #[arg(help_heading = "Advanced: data", long, value_name = "C")]
    pub id_column: Option<String>,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// The task: classify (one label per text), tag (one tag per word), lm (the next word) or
    /// lemma (a word's lemma from its form and UPOS tag). Default: the data
    /// set's (a treebank such as ud-english-ewt tags), or tag for .conllu files, else classify.
    #[arg(help_heading = "Advanced: data", long, value_enum, value_name = "TASK")]
    pub task: Option<TaskKind>,
    /// Tagging from CSV or Parquet: the column of each sentence's words (space-joined, or a
    /// list in Parquet); with --tags-column.
    #[arg(help_heading = "Advanced: data", long, value_name = "C", requires = "tags_column")]
    pub tokens_column: Option<String>,
    /// Tagging from CSV or Parquet: the column of the words' tags, one per word.
    #[arg(help_heading = "Advanced: data", long, value_name = "T", requires = "tokens_column")]
    pub tags_column: Option<String>,
    /// The CoNLL-U column a tagger learns and fills: upos (universal tags) or xpos.
    #[arg(help_heading = "Advanced: data", long, value_enum, default_value_t = TagColumn::Upos)]
    pub tag_column: TagColumn,
    /// seq2seq: the column read (the source).
    #[arg(help_heading = "Advanced: data", long, value_name = "C")]
    pub source_column: Option<String>,
    /// seq2seq: the column written (the target).
    #[arg(help_heading = "Advanced: data", long, value_name = "C")]
    pub target_column: Option<String>,
    /// seq2seq: the source's units, char or word (split on whitespace).
    #[arg(help_heading = "Advanced: data", long, value_enum, default_value_t = UnitsArg::Char)]
    pub source_units: UnitsArg,
    /// seq2seq: the target's units, char or word (joined with spaces).
    #[arg(help_heading = "Advanced: data", long, value_enum, default_value_t = UnitsArg::Char)]
    pub target_units: UnitsArg,
    /// lm: what the model predicts: word; char (each word's characters, a space unit between
    /// words); bpe or unigram (subwords of a tokenizer trained on the training words,
    /// --subword-vocab pieces, 4000 unless said). Other units than words also report
    /// perplexity per word, which compares with a word model's.
    #[arg(help_heading = "Advanced: data", long, value_enum, default_value_t = LmUnits::Word)]
    pub units: LmUnits,
    /// Positive label of a binary task (default: the last in sorted order).
    #[arg(help_heading = "Advanced: data", long, value_name = "L")]
    pub positive_label: Option<String>,
}

/// What a model learns to predict.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// One label per text.
    Classify,
    /// One tag per word (CoNLL-U data).
    Tag,
    /// The next word at every step (language models): CoNLL-U or text files, one sentence
    /// or document per line.
    Lm,
    /// A word's lemma from its form and tag (an encoder-decoder over characters; CoNLL-U data:
    /// column 2 and UPOS in, column 3 out).
    Lemma,
    /// A sequence read, another written (an encoder-decoder): CSV or Parquet with
    /// --source-column and --target-column.
    Seq2seq,
}

/// The units of a seq2seq side.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitsArg {
    Char,
    Word,
}

impl UnitsArg {
    pub fn units(self) -> rnnlab_experiment::seq2seq::Units {
        match self {
            UnitsArg::Char => rnnlab_experiment::seq2seq::Units::Char,
            UnitsArg::Word => rnnlab_experiment::seq2seq::Units::Word,
        }
    }
}

/// How CSV files are written; shared by every command that reads them.
#[derive(Args, Clone, Debug)]
pub struct CsvArgs {
    /// CSV field delimiter.
    #[arg(help_heading = "Advanced: data", long, default_value = ",", value_name = "CHAR")]
    pub delimiter: char,
    /// Character encoding of CSV files: utf-8, cp1251, koi8-r, utf-16le, latin1, ... A file
    /// that is mostly not valid text in it is refused; more than 1 % damaged rows, a warning.
    #[arg(help_heading = "Advanced: data", long, default_value = "utf-8", value_name = "NAME")]
    pub encoding: String,
}

impl CsvArgs {
    pub fn format(&self) -> Result<CsvFormat> {
        Ok(CsvFormat::new(self.delimiter, &self.encoding)?)
    }
}

/// Prints [`dataset::encoding_warning`] for `source`, if any.
pub fn warn_if_damaged(source: &str, invalid_rows: usize, rows: usize) {
    if let Some(w) = dataset::encoding_warning(source, invalid_rows, rows) {
        eprintln!("{w}");
    }
}

/// A task ready to preprocess: the rows, the split, and what describes it.
pub struct Task {
    pub data: Dataset,
    pub name: String,
    pub columns: Columns,
    pub lang: Option<rnnlab_text::Lang>,
    pub positive_label: Option<String>,
}

impl DataArgs {
    /// The tagging corpus these flags name, or `None` for a classification task.
    pub fn tagged(&self, seed: u64) -> Result<Option<TaggedCorpus>> {
        if matches!(
            self.task,
            Some(TaskKind::Classify | TaskKind::Lm | TaskKind::Lemma | TaskKind::Seq2seq)
        ) {
            return Ok(None);
        }
        if let Some(name) = &self.dataset {
            let Some(spec) = find_treebank(name) else {
                if self.task == Some(TaskKind::Tag) {
                    return Err(rnnlab_text::Error::Data(format!(
                        "--task tag: {name:?} is not a treebank (ud-english-ewt is)"
                    ))
                    .into());
                }
                return Ok(None);
            };
            let dir = dataset::resolve_data_dir(self.data_dir.as_deref())?;
            return Ok(Some(TaggedCorpus::named(&spec, &dir, self.tag_column)?));
        }
        let (Some(train), Some(test)) = (&self.train, &self.test) else {
            return Ok(None);
        };
        let conllu = train.extension().is_some_and(|e| e.eq_ignore_ascii_case("conllu"));
        let columns = self.tokens_column.as_deref().zip(self.tags_column.as_deref());
        if self.task != Some(TaskKind::Tag) && !conllu && columns.is_none() {
            return Ok(None);
        }
        let val = self.val.as_deref().unwrap_or(train);
        let name = train.display().to_string();
        let mut corpus =
            match columns {
                Some((tokens, tags)) => {
                    TaggedCorpus::from_tables(&name, [train, val, test], tokens, tags, &self.csv.format()?)?
                }
                None if conllu => TaggedCorpus::from_files(&name, [train, val, test], self.tag_column)?,
                None => return Err(rnnlab_text::Error::Data(
                    "--task tag reads CoNLL-U files (.conllu), or CSV/Parquet with --tokens-column and --tags-column"
                        .into(),
                )
                .into()),
            };
        if self.val.is_none() {
            corpus.hold_out(0.1, seed);
        }
        Ok(Some(corpus))
    }

    /// The corpus of `--task seq2seq` (CSV or Parquet files), or `None` for the other tasks.
    pub fn parallel_corpus(&self) -> Result<Option<rnnlab_experiment::seq2seq::ParallelCorpus>> {
        use rnnlab_experiment::seq2seq::ParallelCorpus;
        if self.task != Some(TaskKind::Seq2seq) {
            return Ok(None);
        }
        let (Some(train), Some(val), Some(test)) = (&self.train, &self.val, &self.test) else {
            return Err(rnnlab_text::Error::Data(
                "--task seq2seq: give --train, --val and --test files (CSV or Parquet)".into(),
            )
            .into());
        };
        let (Some(source), Some(target)) = (&self.source_column, &self.target_column) else {
            return Err(
                rnnlab_text::Error::Data("--task seq2seq: give --source-column and --target-column".into()).into(),
            );
        };
        Ok(Some(ParallelCorpus::from_tables(
            [train, val, test],
            source,
            target,
            &self.csv.format()?,
        )?))
    }

    /// The corpus of `--task lemma` (a treebank, or CoNLL-U files), or `None` for the other tasks.
    pub fn lemma_corpus(&self) -> Result<Option<rnnlab_experiment::lemma::LemmaCorpus>> {
        use rnnlab_experiment::lemma::LemmaCorpus;
        if self.task != Some(TaskKind::Lemma) {
            return Ok(None);
        }
        if let Some(name) = &self.dataset {
            let Some(spec) = find_treebank(name) else {
                return Err(rnnlab_text::Error::Data(format!(
                    "--task lemma: {name:?} is not a treebank (ud-english-ewt is; or give CoNLL-U --train/--val/--test files)"
                ))
                .into());
            };
            let dir = dataset::resolve_data_dir(self.data_dir.as_deref())?;
            return Ok(Some(LemmaCorpus::named(&spec, &dir)?));
        }
        let (Some(train), Some(val), Some(test)) = (&self.train, &self.val, &self.test) else {
            return Err(rnnlab_text::Error::Data(
                "--task lemma: give --dataset, or CoNLL-U --train, --val and --test files".into(),
            )
            .into());
        };
        Ok(Some(LemmaCorpus::from_files(
            &train.display().to_string(),
            [train, val, test],
        )?))
    }

    /// The language-model corpus of `--task lm`, or `None` for the other tasks: a treebank's
    /// sentences, a CSV data set's texts through the preprocessing flags of `prep`, or files.
    /// `subword_vocab`: pieces of a subword tokenizer (`--units bpe | unigram`), else the
    /// default.
    pub fn lm_corpus(
        &self,
        prep: &crate::PrepArgs,
        seed: u64,
        subword_vocab: Option<usize>,
    ) -> Result<Option<rnnlab_text::lm_stream::LmCorpus>> {
        let corpus = self.lm_words(prep, seed)?;
        Ok(corpus.map(|mut c| {
            c.units = self.units;
            if let Some(n) = subword_vocab {
                c.subword_vocab = n;
            }
            c
        }))
    }

    fn lm_words(&self, prep: &crate::PrepArgs, seed: u64) -> Result<Option<rnnlab_text::lm_stream::LmCorpus>> {
        use rnnlab_text::lm_stream::LmCorpus;
        if self.task != Some(TaskKind::Lm) {
            return Ok(None);
        }
        if let Some(name) = &self.dataset {
            let Some(spec) = find_treebank(name) else {
                let (prepared, files) = prepare(self, prep, seed)?;
                return Ok(Some(rnnlab_experiment::lm::corpus_of_prepared(&prepared, files)));
            };
            let dir = dataset::resolve_data_dir(self.data_dir.as_deref())?;
            return Ok(Some(LmCorpus::named(&spec, &dir)?));
        }
        let (Some(train), Some(test)) = (&self.train, &self.test) else {
            return Err(
                rnnlab_text::Error::Data("--task lm: give --dataset, or --train and --test files".into()).into(),
            );
        };
        // A table's text column goes through the preprocessing, as a named data set's does.
        let table = ["csv", "tsv", "parquet"]
            .iter()
            .any(|x| train.extension().is_some_and(|e| e.eq_ignore_ascii_case(x)));
        if table {
            let (prepared, files) = prepare(self, prep, seed)?;
            return Ok(Some(rnnlab_experiment::lm::corpus_of_prepared(&prepared, files)));
        }
        Ok(Some(LmCorpus::from_files(train, self.val.as_deref(), test)?))
    }

    pub fn load(&self, seed: u64) -> Result<Task> {
        let format = self.csv.format()?;
        if let Some(name) = &self.dataset {
            let spec = dataset::find_dataset(name)?;
            let dir = dataset::resolve_data_dir(self.data_dir.as_deref())?;
            let data = dataset::load_named(&spec, &dir)?;
            return Ok(Task {
                data,
                name: spec.name.clone(),
                columns: Columns {
                    text: spec.text_column.clone(),
                    label: spec.label_column.clone(),
                    id: Some(spec.id_column.clone()),
                },
                lang: Some(spec.lang),
                positive_label: self.positive_label.clone().or(spec.positive_label.clone()),
            });
        }
        let (Some(train), Some(test)) = (&self.train, &self.test) else {
            return Err(rnnlab_text::Error::Data("give --dataset NAME, or --train F --test F".into()).into());
        };
        let columns = Columns {
            text: self.text_column.clone(),
            label: self.label_column.clone(),
            id: self.id_column.clone(),
        };
        let data = dataset::load_files(train, self.val.as_deref(), test, &columns, &format, seed)?;
        for w in &data.warnings {
            eprintln!("{w}");
        }
        Ok(Task {
            name: train.display().to_string(),
            data,
            columns,
            lang: None,
            positive_label: self.positive_label.clone(),
        })
    }
}

/// Loads the data named by `data` and preprocesses it once with the flags of `prep`; also
/// returns the files read.
pub fn prepare(data: &DataArgs, prep: &PrepArgs, seed: u64) -> Result<(Prepared, Vec<PathBuf>)> {
    let task = data.load(seed)?;
    let prepared = prep.prepare(
        &task.name,
        &task.data,
        task.columns.clone(),
        task.lang,
        task.positive_label.as_deref(),
    )?;
    Ok((prepared, task.data.files.clone()))
}
