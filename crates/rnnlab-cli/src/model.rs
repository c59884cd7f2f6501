//! `rnnlab train`, `eval` and `predict`: data in, model directory out, and back.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use rnnlab_baselines::baseline::BaselineParams;
use rnnlab_baselines::linear::ClassWeight;
use rnnlab_baselines::metrics::{predict_classes, SplitMetrics};
use rnnlab_experiment::AnyModel;
use rnnlab_experiment::{train_model, ModelSpec, Prepared};
use rnnlab_rnn::{BagCombiner, OptimizerKind, Pooling, RnnConfig, Schedule, TokensKind, TrainObserver};
use rnnlab_text::dataset::{self, Columns, Dataset};
use rnnlab_text::{Pipeline, Preprocessor};
use rnnlab_vectorize::Df;
use serde_json::{json, Value};

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
    #[arg(hide_short_help = true, help_heading = "Advanced: data", long, value_name = "C")]
    pub id_column: Option<String>,
    /// CSV field delimiter.
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: data",
        long,
        default_value = ",",
        value_name = "CHAR"
    )]
    pub delimiter: char,
    /// Positive label of a binary task (default: the last in sorted order).
    #[arg(hide_short_help = true, help_heading = "Advanced: data", long, value_name = "L")]
    pub positive_label: Option<String>,
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
    pub fn load(&self, seed: u64) -> Result<Task> {
        if !self.delimiter.is_ascii() {
            return Err(rnnlab_text::Error::Data(format!(
                "--delimiter {:?} must be one ASCII character",
                self.delimiter
            ))
            .into());
        }
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
        let data = dataset::load_files(train, self.val.as_deref(), test, &columns, self.delimiter as u8, seed)?;
        Ok(Task {
            name: train.display().to_string(),
            data,
            columns,
            lang: None,
            positive_label: self.positive_label.clone(),
        })
    }
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Output model directory.
    #[arg(long, value_name = "DIR", help_heading = "Model")]
    out: PathBuf,
    /// Seed of weights, shuffles and dropout (and of the validation split of --train files).
    #[arg(long, default_value_t = 0, help_heading = "Model")]
    seed: u64,
    /// A recipe file (TOML) whose keys are this command's flags (`hidden = 128`,
    /// `text-column = "tweet"`); flags given on the command line win. A trained model
    /// directory keeps its run's flags in this form as `recipe.toml`.
    #[arg(long, value_name = "FILE.toml", help_heading = "Model")]
    #[allow(dead_code)] // read from the arguments by `recipe::expand`, before clap parses them
    config: Option<PathBuf>,
    #[command(flatten)]
    prep: PrepArgs,
}

/// The model a command trains: its kind and every model flag (`train`, `cv`).
#[derive(Args)]
#[command(next_help_heading = "Model")]
pub struct ModelArgs {
    /// Model kind: count-logreg, hashing-logreg, tfidf-logreg, char-tfidf-logreg, nb, nbsvm
    /// (bag of words), rnn, lstm, gru, best-rnn (recurrent networks), or blend (best-rnn and
    /// nbsvm, their probabilities mixed with NB-LR's share chosen on validation; takes the
    /// flags of both).
    #[arg(long, value_name = "KIND")]
    pub model: String,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    #[command(flatten)]
    pub neural: NeuralArgs,
    /// Class weights: none or balanced (n / (classes * count)).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: model",
        long,
        value_enum,
        default_value_t = ClassWeight::None
    )]
    pub class_weights: ClassWeight,
    /// After choosing the epoch and threshold on validation, train again from the start on
    /// training + validation rows (a network for the chosen number of epochs) and keep that
    /// model with that threshold (scikit-learn's refit): a final model that has seen every
    /// labelled row outside the test split. The validation figures reported are the first
    /// run's; every model kind (a blend: both parts).
    #[arg(hide_short_help = true, help_heading = "Advanced: model", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub refit: Option<bool>,
}

impl ModelArgs {
    /// The `--device` asked for.
    pub fn device(&self) -> Result<candle_core::Device> {
        Ok(rnnlab_rnn::parse_device(&self.neural.device)?)
    }

    /// The model for a task in `lang` with `n_classes` classes, with the flags applied.
    pub fn spec(&self, lang: rnnlab_text::Lang, n_classes: usize) -> Result<ModelSpec> {
        let class_weight = self.class_weights;
        let mut spec = ModelSpec::from_kind(&self.model, lang, n_classes)?;
        match &mut spec {
            ModelSpec::Baseline(_, p) => self.baseline.apply(p, class_weight)?,
            ModelSpec::Rnn { config, .. } => self.neural.apply(config, class_weight)?,
            ModelSpec::Blend { config, params, .. } => {
                self.neural.apply(config, class_weight)?;
                self.baseline.apply(params, class_weight)?;
            }
        }
        if let Some(refit) = self.refit {
            spec.set_refit(refit);
        }
        Ok(spec)
    }

    /// Checks the flags before the (slower) preprocessing, and notes the given flags that the
    /// chosen model does not use (not an error: scripts share flag sets).
    pub fn check(&self, quiet: bool, command: &str) -> Result<()> {
        // Classes not known yet (0): no class-dependent defaults in this check.
        let checked = self.spec(rnnlab_text::Lang::En, 0)?;
        let (ignored, family) = match checked {
            ModelSpec::Baseline(..) => (self.neural.given(), "recurrent-network"),
            ModelSpec::Rnn { .. } => (self.baseline.given(), "bag-of-words"),
            ModelSpec::Blend { .. } => (Vec::new(), ""),
        };
        if !ignored.is_empty() && !quiet {
            eprintln!(
                "note: {} {} {family} flags; {} does not use {} (see `rnnlab {command} --help`)",
                ignored.join(", "),
                if ignored.len() == 1 { "is a" } else { "are" },
                self.model,
                if ignored.len() == 1 { "it" } else { "them" }
            );
        }
        Ok(())
    }
}

/// Flags of the bag-of-words baselines (scikit-learn's names); unset flags take each kind's default.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Bag-of-words baselines")]
pub struct BaselineArgs {
    /// N-gram range "MIN,MAX" (default 1,2 for words, 2,5 for char-tfidf).
    #[arg(long, value_name = "MIN,MAX")]
    ngram_range: Option<String>,
    /// Ignore terms in fewer documents (a count, or a fraction like 0.001). Default 2 (nb, nbsvm: 1).
    #[arg(long, value_name = "N|F")]
    min_df: Option<Df>,
    /// Ignore terms in more documents (a count or a fraction). Default 1.0.
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: bag-of-words baselines",
        long,
        value_name = "N|F"
    )]
    max_df: Option<Df>,
    /// Keep only the most frequent terms.
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: bag-of-words baselines",
        long,
        value_name = "N"
    )]
    max_features: Option<usize>,
    /// Binary term presence instead of counts (default: on for count-logreg and nbsvm).
    #[arg(hide_short_help = true, help_heading = "Advanced: bag-of-words baselines", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    binary: Option<bool>,
    /// TF-IDF with 1 + ln(tf) (default on).
    #[arg(hide_short_help = true, help_heading = "Advanced: bag-of-words baselines", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    sublinear_tf: Option<bool>,
    /// Columns of the hashing vectorizer (default 2^18).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: bag-of-words baselines",
        long,
        value_name = "N"
    )]
    n_features: Option<usize>,
    /// Signed hashing (default off).
    #[arg(hide_short_help = true, help_heading = "Advanced: bag-of-words baselines", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    alternate_sign: Option<bool>,
    /// Inverse regularisation of logistic regression (default 10; nbsvm 1).
    #[arg(long = "c", value_name = "C", allow_negative_numbers = true)]
    c: Option<f64>,
    /// Smoothing of naive Bayes and NB-LR (default 1).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: bag-of-words baselines",
        long,
        value_name = "A",
        allow_negative_numbers = true
    )]
    alpha: Option<f64>,
}

/// Flags of the recurrent networks (PyTorch's semantics); unset flags take the kind's recipe
/// (rnn/lstm/gru: the lecture's, emb 64, hidden 64, 1 layer, dropout 0.2, Adam 1e-3, batch 128,
/// clip 5, 10 epochs; best-rnn: see docs/research/best-rnn.md).
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Recurrent networks")]
pub struct NeuralArgs {
    /// Embedding size.
    #[arg(long, value_name = "N")]
    emb: Option<usize>,
    /// Hidden units per direction.
    #[arg(long, value_name = "N")]
    hidden: Option<usize>,
    /// Stacked recurrent layers.
    #[arg(long, value_name = "N")]
    layers: Option<usize>,
    /// Run each layer both ways and concatenate.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    bidirectional: Option<bool>,
    /// Dropout on embeddings and between layers.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    dropout: Option<f32>,
    /// Variational dropout on the recurrent state (one mask per sequence).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "P",
        allow_negative_numbers = true
    )]
    recurrent_dropout: Option<f32>,
    /// Dropout on the pooled vector before the linear head.
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "P",
        allow_negative_numbers = true
    )]
    head_dropout: Option<f32>,
    /// While training, turn each token into <unk> with probability P (word dropout).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "P",
        allow_negative_numbers = true
    )]
    word_dropout: Option<f32>,
    /// Pooling over valid steps: last, mean, max, mean-max, or attention (a weighted mean whose
    /// weights the network learns).
    #[arg(long, value_enum)]
    pooling: Option<Pooling>,
    /// Put <s> before and </s> after every text (ids and bag), so that a text of one or two
    /// words is not pooled from those words alone (default off; on in best-rnn for English).
    #[arg(hide_short_help = true, help_heading = "Advanced: recurrent networks", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    bos_eos: Option<bool>,
    /// Buckets of a bag of hashed word uni-/bigrams (and character n-grams, --bag-minn/maxn),
    /// fastText's input, whose mean vector goes beside the pooled states before the head (0: none).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    bag_buckets: Option<usize>,
    /// Width of the bag-of-n-grams vector (default 32).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    bag_dim: Option<usize>,
    /// Shortest character n-gram of `<word>` in the bag (fastText's -minn; 0: none).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    bag_minn: Option<usize>,
    /// Longest character n-gram of `<word>` in the bag (fastText's -maxn).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    bag_maxn: Option<usize>,
    /// How the bag's vectors combine: mean (fastText), sqrtn (sum / sqrt(count)) or sum.
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_enum
    )]
    bag_combiner: Option<BagCombiner>,
    /// A wide part: one weight per bag bucket and output, summed over the document's n-grams
    /// (times their NB ratios with --bag-nb) straight into the logits (a hashed linear model
    /// trained with the network; default off, on in best-rnn for binary tasks).
    #[arg(hide_short_help = true, help_heading = "Advanced: recurrent networks", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    bag_wide: Option<bool>,
    /// The wide part's learning rate as a multiple of --lr (default 1, best-rnn 0.1; below 1 it
    /// learns more slowly than the network).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "X"
    )]
    bag_wide_lr: Option<f32>,
    /// Scale each bag n-gram's vector by its NB log-count ratio on the training rows (NBSVM's
    /// feature weights, fixed; binary tasks; needs --bag-buckets; default off, on in best-rnn
    /// for binary tasks).
    #[arg(hide_short_help = true, help_heading = "Advanced: recurrent networks", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    bag_nb: Option<bool>,
    /// While training, leave each n-gram of a text's bag out with probability P, afresh every
    /// step (dropout on the bag's features; needs --bag-buckets; default 0).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "P",
        allow_negative_numbers = true
    )]
    bag_dropout: Option<f32>,
    /// Character-aware input: buckets of hashed character n-grams of each token (`<word>`,
    /// --char-minn to --char-maxn characters), whose mean vector (--char-dim wide) joins the
    /// token's word vector at the recurrent input, fastText's subword vectors per token, so a
    /// word the vocabulary maps to <unk> still has its own input (0: none; --tokens word).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    char_buckets: Option<usize>,
    /// Width of each token's character n-gram vector (default 32).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    char_dim: Option<usize>,
    /// Shortest character n-gram of the character-aware input (default 3).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    char_minn: Option<usize>,
    /// Longest character n-gram of the character-aware input (default 5).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    char_maxn: Option<usize>,
    /// Input units: word (vocabulary of the pipeline's tokens), bpe, wordpiece or unigram.
    #[arg(long, value_enum)]
    tokens: Option<TokensKind>,
    /// Subword vocabulary size (default 8000).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    subword_vocab: Option<usize>,
    /// Words seen fewer times become <unk> (default 2).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    min_count: Option<usize>,
    /// Longest sequence (default: the 99th percentile of training lengths, plus one).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    max_len: Option<usize>,
    /// Passes over the training rows; the epoch with the best validation metric is kept.
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,
    /// Rows per optimiser step.
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long, value_name = "LR", allow_negative_numbers = true)]
    lr: Option<f64>,
    /// adam or adamw.
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_enum
    )]
    optimizer: Option<OptimizerKind>,
    /// Decoupled weight decay of adamw (default 0.01 with adamw).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "W",
        allow_negative_numbers = true
    )]
    weight_decay: Option<f64>,
    /// Learning-rate schedule: constant, linear or cosine (decay to 0 over all steps).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_enum
    )]
    lr_schedule: Option<Schedule>,
    /// Clip the global gradient norm (0: off).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N",
        allow_negative_numbers = true
    )]
    clip: Option<f64>,
    /// Stop after N epochs without a better validation metric (default: run all epochs).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N"
    )]
    patience: Option<usize>,
    /// Validate and keep an exponential moving average of the weights, updated after every
    /// step with decay D (PyTorch's AveragedModel with get_ema_multi_avg_fn; 0.99 averages
    /// about the last 100 steps).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "D",
        allow_negative_numbers = true
    )]
    ema: Option<f64>,
    /// Smooth the training targets (PyTorch's label_smoothing): the true class with weight 1 - S
    /// plus a uniform spread over the classes with weight S (binary tasks count two classes, so
    /// S = 0.4 trains towards 0.2 and 0.8); keeps a network from chasing noisy labels to
    /// certainty (default 0; 0.4 in best-rnn for English). Validation figures are unaffected.
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "S",
        allow_negative_numbers = true
    )]
    label_smoothing: Option<f64>,
    /// Word vectors (word2vec/fastText .vec text) to start the embedding from (--emb must match).
    #[arg(
        hide_short_help = true,
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "FILE"
    )]
    pretrained: Option<PathBuf>,
    /// cpu, cuda or cuda:N (needs a build with the cuda feature).
    #[arg(long, value_name = "D", default_value = "cpu")]
    device: String,
}

fn parse_range(s: &str) -> Result<(usize, usize)> {
    let bad = || rnnlab_text::Error::Data(format!("--ngram-range {s:?}: expected MIN,MAX such as 1,2"));
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

/// The flags of a group that the command line set (`Some`), spelled as typed.
macro_rules! given {
    ($args:expr; $($f:ident),* $(,)?) => {{
        let mut set: Vec<String> = Vec::new();
        $( if $args.$f.is_some() { set.push(format!("--{}", stringify!($f).replace('_', "-"))); } )*
        set
    }};
}

impl BaselineArgs {
    /// The baseline flags given (every field of this group).
    pub fn given(&self) -> Vec<String> {
        given!(self; ngram_range, min_df, max_df, max_features, binary, sublinear_tf, n_features,
            alternate_sign, c, alpha)
    }

    fn apply(&self, p: &mut BaselineParams, class_weight: ClassWeight) -> Result<()> {
        p.ngram_range = self.ngram_range.as_deref().map(parse_range).transpose()?;
        p.min_df = self.min_df;
        p.max_df = self.max_df;
        p.max_features = self.max_features;
        p.binary = self.binary;
        p.sublinear_tf = self.sublinear_tf;
        p.n_features = self.n_features;
        p.alternate_sign = self.alternate_sign;
        p.c = self.c;
        p.class_weight = class_weight;
        p.alpha = self.alpha;
        Ok(())
    }
}

impl NeuralArgs {
    /// The recurrent-network flags given (every field of this group but `--device`, which has
    /// a default).
    pub fn given(&self) -> Vec<String> {
        given!(self; emb, hidden, layers, bidirectional, dropout, recurrent_dropout, head_dropout,
            word_dropout, pooling, bos_eos, bag_buckets, bag_dim, bag_minn, bag_maxn, bag_combiner,
            bag_wide, bag_wide_lr, bag_nb, bag_dropout, char_buckets, char_dim, char_minn, char_maxn, tokens, subword_vocab, min_count, max_len, epochs, batch_size, lr, optimizer,
            weight_decay, lr_schedule, clip, patience, ema, label_smoothing, pretrained)
    }

    fn apply(&self, c: &mut RnnConfig, class_weight: ClassWeight) -> Result<()> {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        set!(
            emb,
            hidden,
            layers,
            bidirectional,
            dropout,
            recurrent_dropout,
            head_dropout,
            word_dropout,
            subword_vocab,
            min_count,
            bag_buckets,
            bag_dim,
            bag_minn,
            bag_maxn,
            bag_wide,
            bag_wide_lr,
            bag_nb,
            bag_dropout,
            char_buckets,
            char_dim,
            char_minn,
            char_maxn,
            bos_eos
        );
        set!(epochs, batch_size, lr, weight_decay, clip, label_smoothing);
        if self.max_len.is_some() {
            c.max_len = self.max_len;
        }
        if self.patience.is_some() {
            c.patience = self.patience;
        }
        if self.ema.is_some() {
            c.ema = self.ema;
        }
        if self.pretrained.is_some() {
            c.pretrained = self.pretrained.clone();
        }
        if let Some(p) = self.pooling {
            c.pooling = p;
        }
        if let Some(b) = self.bag_combiner {
            c.bag_combiner = b;
        }
        if let Some(t) = self.tokens {
            c.tokens = t;
        }
        if let Some(o) = self.optimizer {
            if o == OptimizerKind::Adamw && self.weight_decay.is_none() && c.weight_decay == 0.0 {
                c.weight_decay = 0.01;
            }
            c.optimizer = o;
        }
        if let Some(s) = self.lr_schedule {
            c.schedule = s;
        }
        if class_weight != ClassWeight::None {
            c.class_weight = class_weight;
        }
        c.validate()?;
        Ok(())
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

/// A progress bar per epoch showing the loss, and a line per epoch with the validation metric.
pub struct EpochBar {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    loss: f64,
    seen: usize,
}

impl EpochBar {
    pub fn new(quiet: bool) -> Self {
        EpochBar {
            bar: None,
            quiet,
            loss: 0.0,
            seen: 0,
        }
    }
}

impl TrainObserver for EpochBar {
    fn epoch_start(&mut self, epoch: usize, batches: usize) {
        if self.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return;
        }
        let bar = indicatif::ProgressBar::new(batches as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "epoch {prefix:>3} {bar:30} {pos}/{len} batches {msg} [{elapsed}<{eta}]",
            )
            .expect("valid template"),
        );
        bar.set_prefix(epoch.to_string());
        self.bar = Some(bar);
        self.loss = 0.0;
        self.seen = 0;
    }

    fn batch_end(&mut self, loss: f64) {
        self.loss += loss;
        self.seen += 1;
        if let Some(b) = &self.bar {
            b.inc(1);
            b.set_message(format!("loss {:.4}", self.loss / self.seen as f64));
        }
    }

    fn interrupted(&mut self) -> bool {
        let asked = crate::interrupt::requested();
        if asked {
            if let Some(b) = self.bar.take() {
                b.finish_and_clear();
            }
        }
        asked
    }

    fn epoch_end(&mut self, s: &rnnlab_rnn::EpochStats) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if self.quiet {
            return;
        }
        if s.val_metric.is_nan() {
            eprintln!(
                "refit epoch {:>3}: train loss {:.4} (training + validation rows) ({:.1}s)",
                s.epoch, s.train_loss, s.seconds
            );
        } else {
            eprintln!(
                "epoch {:>3}: train loss {:.4}, val loss {:.4}, val metric {:.4} ({:.1}s)",
                s.epoch, s.train_loss, s.val_loss, s.val_metric, s.seconds
            );
        }
    }
}

pub fn train(args: TrainArgs, quiet: bool) -> Result<()> {
    let device = args.model.device()?;
    args.model.check(quiet, "train")?;
    let (prep, _) = prepare(&args.data, &args.prep, args.seed)?;
    let spec = args.model.spec(prep.lang, prep.labels.n_classes())?;
    if !quiet {
        eprintln!(
            "{}: {} train / {} val / {} test rows, {} classes; training {}",
            prep.name,
            prep.rows[0].len(),
            prep.rows[1].len(),
            prep.rows[2].len(),
            prep.labels.n_classes(),
            spec.kind()
        );
    }
    let mut bar = EpochBar::new(quiet);
    crate::interrupt::install();
    let trained = train_model(&prep, &spec, args.seed, &args.out, &device, &mut bar)?;
    if let Some(recipe) = crate::recipe::recipe() {
        write_whole(&args.out.join("recipe.toml"), recipe.as_bytes())?;
    }
    let m = &trained.metrics;
    if let Some(why) = m.get("stopped").and_then(Value::as_str) {
        eprintln!("note: {why}");
    }
    if !quiet {
        let main = if prep.labels.is_binary() { "f1" } else { "f1_macro" };
        eprintln!(
            "test {main} {:.4} (val {:.4}), accuracy {:.4}; train {:.2}s -> {}",
            m["test"][main].as_f64().unwrap_or(f64::NAN),
            m["val"][main].as_f64().unwrap_or(f64::NAN),
            m["test"]["accuracy"].as_f64().unwrap_or(f64::NAN),
            m["timings"]["train_s"].as_f64().unwrap_or(f64::NAN),
            args.out.display()
        );
    }
    Ok(())
}

/// A model directory loaded for eval / predict.
struct Loaded {
    model: AnyModel,
    pre: Preprocessor,
    /// A blend whose network part reads other tokens: the pipeline of its `rnn/` directory.
    rnn_pre: Option<Preprocessor>,
    meta: Value,
}

impl Loaded {
    /// Class probabilities of `texts`, each model part reading its own pipeline's tokens.
    fn predict_proba(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let (tokens, _) = self.pre.process_all(texts);
        Ok(match (&self.model, &self.rnn_pre) {
            (AnyModel::Blend(blend), Some(rnn_pre)) => {
                let (rnn_tokens, _) = rnn_pre.process_all(texts);
                blend.predict_proba_parts(&tokens, &rnn_tokens)?
            }
            (model, _) => model.predict_proba(&tokens)?,
        })
    }
}

fn load_model(dir: &Path, morph_dict: Option<&PathBuf>) -> Result<Loaded> {
    let (model, meta) = AnyModel::load(dir, &candle_core::Device::Cpu)?;
    let compile = |pipeline: Pipeline| -> Result<Preprocessor> {
        let lemmatizer = if pipeline.needs_lemmatizer() {
            Some(crate::load_lemmatizer(morph_dict)?)
        } else {
            None
        };
        Ok(Preprocessor::new(pipeline, lemmatizer)?)
    };
    let pipeline = Pipeline::load(&dir.join("pipeline.json"))?;
    // A blend's network part may have trained on other tokens (unstemmed English words,
    // punctuation and hashtags as tags kept).
    let rnn_pipeline = match &model {
        AnyModel::Blend(_) if dir.join("rnn/pipeline.json").is_file() => {
            Some(Pipeline::load(&dir.join("rnn/pipeline.json"))?).filter(|p| *p != pipeline)
        }
        _ => None,
    };
    let rnn_pre = rnn_pipeline.map(compile).transpose()?;
    Ok(Loaded {
        model,
        pre: compile(pipeline)?,
        rnn_pre,
        meta,
    })
}

fn meta_str(meta: &Value, key: &str) -> Option<String> {
    meta.get(key).and_then(Value::as_str).map(str::to_string)
}

#[derive(Args)]
pub struct EvalArgs {
    /// The model directory (from `rnnlab train`).
    model_dir: PathBuf,
    /// Labelled data to evaluate on (CSV or Parquet).
    #[arg(long, value_name = "F")]
    input: PathBuf,
    /// Text column (default: the one of training).
    #[arg(long, value_name = "C")]
    text_column: Option<String>,
    /// Label column (default: the one of training).
    #[arg(long, value_name = "L")]
    label_column: Option<String>,
    #[arg(long, default_value = ",", value_name = "CHAR")]
    delimiter: char,
    /// Also write the metrics to this file.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Morphology dictionary, for models that lemmatise.
    #[arg(long, value_name = "DIR")]
    morph_dict: Option<PathBuf>,
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let loaded = load_model(&args.model_dir, args.morph_dict.as_ref())?;
    let cols = Columns {
        text: args
            .text_column
            .or_else(|| meta_str(&loaded.meta, "text_column"))
            .unwrap_or_else(|| "text".into()),
        label: args
            .label_column
            .or_else(|| meta_str(&loaded.meta, "label_column"))
            .unwrap_or_else(|| "label".into()),
        id: None,
    };
    let table = dataset::read_table(&args.input, args.delimiter as u8)?;
    let texts: Vec<String> = dataset::column_strings(&table, &cols.text)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let labels: Vec<String> = dataset::column_strings(&table, &cols.label)?
        .into_iter()
        .enumerate()
        .map(|(row, l)| {
            l.filter(|v| !v.trim().is_empty())
                .map(|v| v.trim().to_string())
                .ok_or_else(|| {
                    rnnlab_text::Error::Data(format!("{}: row {}: missing label", args.input.display(), row + 1))
                })
        })
        .collect::<Result<_, _>>()?;
    let m = &loaded.model;
    let y = m
        .labels()
        .encode(&labels, &args.input.display().to_string())
        .map_err(|e| rnnlab_text::Error::Data(e.to_string()))?;
    let proba = loaded.predict_proba(&texts)?;
    let metrics = SplitMetrics::compute(
        &y,
        &predict_classes(&proba, m.labels().positive, m.threshold()),
        m.labels().n_classes(),
        m.labels().positive,
    );
    let out = json!({
        "model": args.model_dir.display().to_string(),
        "input": args.input.display().to_string(),
        "rows": texts.len(),
        "threshold": m.threshold(),
        "metrics": metrics,
    });
    let text = serde_json::to_string(&out)?;
    println!("{text}");
    if let Some(path) = args.output {
        std::fs::write(&path, serde_json::to_string_pretty(&out)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[derive(Args)]
pub struct PredictArgs {
    /// The model directory (from `rnnlab train`).
    model_dir: PathBuf,
    /// Texts to classify (or use --input).
    texts: Vec<String>,
    /// A file of texts (CSV or Parquet).
    #[arg(long, value_name = "F", conflicts_with = "texts")]
    input: Option<PathBuf>,
    /// Where to write predictions (CSV); default: standard output.
    #[arg(long, value_name = "F")]
    output: Option<PathBuf>,
    /// Text column of --input (default: the one of training).
    #[arg(long, value_name = "C")]
    text_column: Option<String>,
    /// Id column of --input to copy to the output (default: the one of training, if present).
    #[arg(long, value_name = "C")]
    id_column: Option<String>,
    #[arg(long, default_value = ",", value_name = "CHAR")]
    delimiter: char,
    /// Morphology dictionary, for models that lemmatise.
    #[arg(long, value_name = "DIR")]
    morph_dict: Option<PathBuf>,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn predict(args: PredictArgs) -> Result<()> {
    use std::io::Write;
    let loaded = load_model(&args.model_dir, args.morph_dict.as_ref())?;
    let m = &loaded.model;
    let (first_col, first, texts): (&str, Vec<String>, Vec<String>) = match &args.input {
        Some(path) => {
            let text_col = args
                .text_column
                .clone()
                .or_else(|| meta_str(&loaded.meta, "text_column"))
                .unwrap_or_else(|| "text".into());
            let table = dataset::read_table(path, args.delimiter as u8)?;
            let texts: Vec<String> = dataset::column_strings(&table, &text_col)?
                .into_iter()
                .map(Option::unwrap_or_default)
                .collect();
            let id_col = args.id_column.clone().or_else(|| meta_str(&loaded.meta, "id_column"));
            let ids = match id_col {
                Some(c) if args.id_column.is_some() || table.frame.column(&c).is_ok() => {
                    let ids = dataset::column_strings(&table, &c)?;
                    Some((c, ids.into_iter().map(Option::unwrap_or_default).collect::<Vec<_>>()))
                }
                _ => None,
            };
            match ids {
                Some((_, ids)) => ("id", ids, texts),
                None => ("", Vec::new(), texts),
            }
        }
        None => {
            if args.texts.is_empty() {
                return Err(rnnlab_text::Error::Data("give texts to classify, or --input F".into()).into());
            }
            ("text", args.texts.clone(), args.texts.clone())
        }
    };
    let proba = loaded.predict_proba(&texts)?;
    let classes = predict_classes(&proba, m.labels().positive, m.threshold());
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut header: Vec<String> = Vec::new();
    if !first_col.is_empty() {
        header.push(first_col.to_string());
    }
    header.push("label".into());
    header.extend(m.labels().labels.iter().map(|l| format!("p_{l}")));
    writeln!(
        out,
        "{}",
        header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",")
    )?;
    for (i, (p, &c)) in proba.iter().zip(&classes).enumerate() {
        let mut row: Vec<String> = Vec::new();
        if !first_col.is_empty() {
            row.push(csv_field(&first[i]));
        }
        row.push(csv_field(&m.labels().labels[c]));
        row.extend(p.iter().map(|v| format!("{v:.6}")));
        writeln!(out, "{}", row.join(","))?;
    }
    out.flush()?;
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file beside it, so a crash leaves the old file or
/// the new one, never half of one.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use clap::{Args, Command, FromArgMatches};

    use super::*;

    /// `given` must name every flag of its group: a flag added to the struct but not to the
    /// list would pass silently unused.
    #[test]
    fn given_covers_every_flag_of_each_group() {
        let flags = |cmd: Command| -> Vec<String> {
            cmd.get_arguments()
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .filter(|l| l != "--device")
                .collect()
        };
        let baseline = flags(BaselineArgs::augment_args(Command::new("t")));
        let neural = flags(NeuralArgs::augment_args(Command::new("t")));
        let parse = |cmd: Command, line: &[&str]| cmd.no_binary_name(true).try_get_matches_from(line).unwrap();
        // Every flag set at once (a value each flag accepts), then `given` lists all of them.
        let value = |flag: &str| match flag {
            "--ngram-range" => "1,2",
            "--pooling" => "max",
            "--bag-combiner" => "sum",
            "--tokens" => "bpe",
            "--optimizer" => "adam",
            "--lr-schedule" => "cosine",
            "--pretrained" => "v.vec",
            "--binary" | "--sublinear-tf" | "--alternate-sign" | "--bidirectional" | "--bos-eos" | "--bag-wide"
            | "--bag-nb" => "true",
            _ => "1",
        };
        let line = |flags: &[String]| -> Vec<String> {
            flags.iter().flat_map(|f| [f.clone(), value(f).to_string()]).collect()
        };
        let b_line = line(&baseline);
        let m = parse(
            BaselineArgs::augment_args(Command::new("t")),
            &b_line.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let b = BaselineArgs::from_arg_matches(&m).unwrap();
        let n_line = line(&neural);
        let m = parse(
            NeuralArgs::augment_args(Command::new("t")),
            &n_line.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let n = NeuralArgs::from_arg_matches(&m).unwrap();
        assert_eq!(b.given(), baseline);
        assert_eq!(n.given(), neural);
        assert!(BaselineArgs::default().given().is_empty());
        assert!(NeuralArgs::default().given().is_empty());
    }
}
