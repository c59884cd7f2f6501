//! Preprocessing flags, shared by every command that preprocesses text.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use rnnlab_text::morph::Lemmatizer;
use rnnlab_text::{Lang, Normalize, Pipeline};

/// Preprocessing flags shared by every command that preprocesses text.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Preprocessing")]
pub struct PrepArgs {
    /// Language of the texts (ru or en); default: the data set's.
    #[arg(long, value_name = "ru|en")]
    pub lang: Option<Lang>,
    /// Lemmatise words (pymorphy3 semantics; the default for ru).
    #[arg(long, conflicts_with_all = ["stem", "no_normalize"])]
    pub lemmatize: bool,
    /// Snowball-stem words (the default for en).
    #[arg(long, conflicts_with = "no_normalize")]
    pub stem: bool,
    /// Neither stem nor lemmatise.
    #[arg(help_heading = "Advanced: preprocessing", long)]
    pub no_normalize: bool,
    /// Keep stop words (they are dropped by default).
    #[arg(help_heading = "Advanced: preprocessing", long)]
    pub keep_stopwords: bool,
    /// A file of extra stop words, one per line.
    #[arg(help_heading = "Advanced: preprocessing", long, value_name = "FILE")]
    pub stopwords: Option<PathBuf>,
    /// Keep punctuation tokens (`!!!`, `?`, `…`, quotes; dropped by default, while emoticons
    /// and emoji are always kept). `best-rnn` keeps them for English whatever this says.
    #[arg(help_heading = "Advanced: preprocessing", long)]
    pub keep_punctuation: bool,
    /// Keep hashtags as tags: `#love` stays the token `#love`, apart from the word `love` (by
    /// default the `#` goes). `best-rnn` does so for English whatever this says.
    #[arg(help_heading = "Advanced: preprocessing", long)]
    pub hashtags_as_tags: bool,
    /// Split compound hashtags into words (`#endhate` → `end hate`) by the word counts of the
    /// training rows (words seen at least 3 times outside hashtags; the counts are saved in
    /// pipeline.json). Off by default.
    #[arg(help_heading = "Advanced: preprocessing", long)]
    pub segment_hashtags: bool,
    /// How texts become tokens: tweet (the tweet-aware scanner), simple (the fastText anchor's
    /// split: lowercase, then `\w+|[^\w\s]`, and no other step: no stop words, negations or
    /// stems), whitespace (Python's `str.split()`, then the other steps). Default tweet; a
    /// value given counts as choosing the preprocessing (see `fasttext` and `best-rnn`).
    #[arg(help_heading = "Advanced: preprocessing", long, value_enum)]
    pub tokenizer: Option<TokenizerChoice>,
    /// A saved pipeline (pipeline.json); overrides the flags above.
    #[arg(long, value_name = "P.json")]
    pub pipeline: Option<PathBuf>,
    /// A pymorphy2/pymorphy3 dictionary directory (default: $RNNLAB_MORPH_DICT, else the one
    /// installed by `cargo xtask fetch-morph-dict`).
    #[arg(help_heading = "Advanced: preprocessing", long, value_name = "DIR")]
    pub morph_dict: Option<PathBuf>,
}

/// `--tokenizer`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenizerChoice {
    Tweet,
    Simple,
    Whitespace,
}

/// Words seen this often in the training rows can be parts of a split hashtag
/// (`--segment-hashtags`; chosen by cross-validation of NB-LR on hate speech).
const HASHTAG_MIN_COUNT: u64 = 3;

impl PrepArgs {
    /// The pipeline these flags describe, for texts in `default_lang`.
    pub fn pipeline(&self, default_lang: Option<Lang>) -> Result<Pipeline> {
        if let Some(p) = &self.pipeline {
            return Ok(Pipeline::load(p)?);
        }
        let lang = self
            .lang
            .or(default_lang)
            .ok_or_else(|| rnnlab_text::Error::Data("--lang ru|en is required for this input".into()))?;
        if self.tokenizer == Some(TokenizerChoice::Simple) {
            return Ok(Pipeline::simple(lang));
        }
        let normalize = if self.no_normalize {
            Normalize::None
        } else if self.stem {
            Normalize::Stem
        } else if self.lemmatize {
            Normalize::Lemmatize
        } else {
            Normalize::default_for(lang)
        };
        let extra = match &self.stopwords {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| rnnlab_text::Error::Io {
                    path: path.clone(),
                    source: e,
                })?
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect(),
            None => Vec::new(),
        };
        let mut pipeline = Pipeline::standard(lang, normalize, self.keep_stopwords, extra);
        if self.tokenizer == Some(TokenizerChoice::Whitespace) {
            pipeline = pipeline.with_whitespace_tokens();
        }
        if self.keep_punctuation {
            pipeline = pipeline.with_punctuation();
        }
        if self.hashtags_as_tags {
            pipeline = pipeline.with_hashtags_as_tags();
        }
        Ok(if self.segment_hashtags {
            pipeline.with_hashtag_segmentation(HASHTAG_MIN_COUNT)
        } else {
            pipeline
        })
    }

    /// Whether the user chose how words are normalised (`--lemmatize`, `--stem`,
    /// `--no-normalize` or a `--pipeline` file); else a model recipe may choose (`best-rnn`
    /// reads English words unstemmed, with punctuation and hashtags as tags).
    pub fn normalization_given(&self) -> bool {
        self.lemmatize || self.stem || self.no_normalize || self.pipeline.is_some() || self.tokenizer.is_some()
    }

    /// `data` preprocessed once by the pipeline these flags describe (its learning step, if
    /// any, fitted on the training rows), with the user's choice of normalisation recorded.
    pub fn prepare(
        &self,
        name: &str,
        data: &rnnlab_text::dataset::Dataset,
        columns: rnnlab_text::dataset::Columns,
        default_lang: Option<Lang>,
        positive_label: Option<&str>,
    ) -> Result<rnnlab_experiment::Prepared> {
        let pipeline = self.pipeline(default_lang)?;
        let lemmatizer = self.lemmatizer(&pipeline)?;
        let pre = rnnlab_text::Preprocessor::new(pipeline, lemmatizer)?;
        let mut prepared = rnnlab_experiment::Prepared::new(name, data, columns, &pre, positive_label)?;
        prepared.normalization_chosen = self.normalization_given();
        Ok(prepared)
    }

    /// Loads the lemmatizer if `pipeline` needs one.
    pub fn lemmatizer(&self, pipeline: &Pipeline) -> Result<Option<Arc<Lemmatizer>>> {
        if !pipeline.needs_lemmatizer() {
            return Ok(None);
        }
        load_lemmatizer(self.morph_dict.as_ref()).map(Some)
    }
}

pub fn load_lemmatizer(dir: Option<&PathBuf>) -> Result<Arc<Lemmatizer>> {
    let lem = match dir {
        Some(d) => Lemmatizer::load(d)?,
        None => Lemmatizer::load_default()?,
    };
    Ok(Arc::new(lem))
}
