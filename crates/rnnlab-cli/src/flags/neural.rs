//! The recurrent networks' flags, with PyTorch's semantics.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rnnlab_baselines::linear::ClassWeight;
use rnnlab_rnn::{OptimizerKind, Pooling, RnnConfig, Schedule, TokensKind};

/// Flags of the recurrent networks (PyTorch's semantics); unset flags take the kind's recipe
/// (rnn/lstm/gru: the lecture's, emb 64, hidden 64, 1 layer, dropout 0.2, Adam 1e-3, batch 128,
/// clip 5, 10 epochs; best-rnn: see docs/research/best-rnn.md).
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Recurrent networks")]
pub struct NeuralArgs {
    /// Embedding size.
    #[arg(long, value_name = "N")]
    pub(crate) emb: Option<usize>,
    /// Hidden units per direction.
    #[arg(long, value_name = "N")]
    pub(crate) hidden: Option<usize>,
    /// Stacked recurrent layers.
    #[arg(long, value_name = "N")]
    pub(crate) layers: Option<usize>,
    /// Run each layer both ways and concatenate.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) bidirectional: Option<bool>,
    /// Dropout on embeddings and between layers.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub(crate) dropout: Option<f32>,
    /// Variational dropout on the recurrent state (one mask per sequence).
    #[arg(
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "P",
        allow_negative_numbers = true
    )]
    pub(crate) recurrent_dropout: Option<f32>,
    /// Dropout on the pooled vector before the linear head.
    #[arg(
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "P",
        allow_negative_numbers = true
    )]
    pub(crate) head_dropout: Option<f32>,
    /// While training, turn each token into <unk> with probability P (word dropout).
    #[arg(
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "P",
        allow_negative_numbers = true
    )]
    pub(crate) word_dropout: Option<f32>,
    /// Pooling over valid steps: last, mean, max, mean-max, or attention (a weighted mean whose
    /// weights the network learns).
    #[arg(long, value_enum)]
    pub(crate) pooling: Option<Pooling>,
    /// Put <s> before and </s> after every text (ids and bag), so that a text of one or two
    /// words is not pooled from those words alone (default off; on in best-rnn for English).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) bos_eos: Option<bool>,
    /// Buckets of a bag of hashed word uni-/bigrams (and character n-grams, --bag-minn/maxn),
    /// fastText's input, whose mean vector goes beside the pooled states before the head (0: none).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) bag_buckets: Option<usize>,
    /// Width of the bag-of-n-grams vector (default 32).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) bag_dim: Option<usize>,
    /// Shortest character n-gram of `<word>` in the bag (fastText's -minn; 0: none).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) bag_minn: Option<usize>,
    /// Longest character n-gram of `<word>` in the bag (fastText's -maxn).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) bag_maxn: Option<usize>,
    /// A wide part: one weight per bag bucket and output, summed over the document's n-grams
    /// (times their NB ratios with --bag-nb) straight into the logits (a hashed linear model
    /// trained with the network; default off, on in best-rnn for binary tasks).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) bag_wide: Option<bool>,
    /// The wide part's learning rate as a multiple of --lr (default 1, best-rnn 0.1; below 1 it
    /// learns more slowly than the network).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "X")]
    pub(crate) bag_wide_lr: Option<f32>,
    /// Scale each bag n-gram's vector by its NB log-count ratio on the training rows (NBSVM's
    /// feature weights, fixed; binary tasks; needs --bag-buckets; default off, on in best-rnn
    /// for binary tasks).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) bag_nb: Option<bool>,
    /// Character-aware input: buckets of hashed character n-grams of each token (`<word>`,
    /// --char-minn to --char-maxn characters), whose mean vector (--char-dim wide) joins the
    /// token's word vector at the recurrent input, fastText's subword vectors per token, so a
    /// word the vocabulary maps to <unk> still has its own input (0: none; --tokens word).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) char_buckets: Option<usize>,
    /// Width of each token's character n-gram vector (default 32).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) char_dim: Option<usize>,
    /// Shortest character n-gram of the character-aware input (default 3).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) char_minn: Option<usize>,
    /// Longest character n-gram of the character-aware input (default 5).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) char_maxn: Option<usize>,
    /// Input units: word (vocabulary of the pipeline's tokens), bpe, wordpiece or unigram.
    #[arg(long, value_enum)]
    pub(crate) tokens: Option<TokensKind>,
    /// Subword vocabulary size (default 8000).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) subword_vocab: Option<usize>,
    /// Words seen fewer times become <unk> (default 2).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) min_count: Option<usize>,
    /// Longest sequence (default: the 99th percentile of training lengths, plus one).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) max_len: Option<usize>,
    /// Passes over the training rows; the epoch with the best validation metric is kept.
    #[arg(long, value_name = "N")]
    pub(crate) epochs: Option<usize>,
    /// Rows per optimiser step.
    #[arg(long, value_name = "N")]
    pub(crate) batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long, value_name = "LR", allow_negative_numbers = true)]
    pub(crate) lr: Option<f64>,
    /// adam or adamw.
    #[arg(help_heading = "Advanced: recurrent networks", long, value_enum)]
    pub(crate) optimizer: Option<OptimizerKind>,
    /// Decoupled weight decay of adamw (default 0.01 with adamw).
    #[arg(
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "W",
        allow_negative_numbers = true
    )]
    pub(crate) weight_decay: Option<f64>,
    /// Learning-rate schedule: constant, linear or cosine (decay to 0 over all steps).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_enum)]
    pub(crate) lr_schedule: Option<Schedule>,
    /// Clip the global gradient norm (0: off).
    #[arg(
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub(crate) clip: Option<f64>,
    /// Stop after N epochs without a better validation metric (default: run all epochs).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "N")]
    pub(crate) patience: Option<usize>,
    /// Smooth the training targets (PyTorch's label_smoothing): the true class with weight 1 - S
    /// plus a uniform spread over the classes with weight S (binary tasks count two classes, so
    /// S = 0.4 trains towards 0.2 and 0.8); keeps a network from chasing noisy labels to
    /// certainty (default 0; 0.4 in best-rnn for English). Validation figures are unaffected.
    #[arg(
        help_heading = "Advanced: recurrent networks",
        long,
        value_name = "S",
        allow_negative_numbers = true
    )]
    pub(crate) label_smoothing: Option<f64>,
    /// Word vectors (word2vec/fastText .vec text) to start the embedding from (--emb must match).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "FILE")]
    pub(crate) pretrained: Option<PathBuf>,
    /// A recurrent language model's directory (`rnnlab train --task lm` on the same texts and
    /// preprocessing) to start from, ULMFiT's way: embedding rows by word and the recurrent
    /// layers by name (--emb, --hidden, --layers and the cell as the model's; a backward
    /// direction starts fresh).
    #[arg(help_heading = "Advanced: recurrent networks", long, value_name = "LM_DIR")]
    pub(crate) init_from: Option<PathBuf>,
    /// cpu, cuda or cuda:N (needs a build with the cuda feature).
    #[arg(long, value_name = "D", default_value = "cpu")]
    pub(crate) device: String,
}

impl NeuralArgs {
    /// The recurrent-network flags given (every field of this group but `--device`, which has
    /// a default).
    pub fn given(&self) -> Vec<String> {
        given!(self; emb, hidden, layers, bidirectional, dropout, recurrent_dropout, head_dropout,
            word_dropout, pooling, bos_eos, bag_buckets, bag_dim, bag_minn, bag_maxn,
            bag_wide, bag_wide_lr, bag_nb, char_buckets, char_dim, char_minn, char_maxn, tokens, subword_vocab, min_count, max_len, epochs, batch_size, lr, optimizer,
            weight_decay, lr_schedule, clip, patience, label_smoothing, pretrained, init_from)
    }

    /// The network flags fastText shares: `--emb` (its dimension), `--epochs`, `--lr`.
    pub(crate) fn apply_fasttext(&self, p: &mut rnnlab_baselines::fasttext::FastTextParams) {
        if let Some(v) = self.emb {
            p.dim = v;
        }
        if let Some(v) = self.epochs {
            p.epochs = v;
        }
        if let Some(v) = self.lr {
            p.lr = v;
        }
    }

    pub(crate) fn apply(&self, c: &mut RnnConfig, class_weight: ClassWeight) -> Result<()> {
        macro_rules! set {
            ($g:ident: $($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$g.$f = v; } )* };
        }
        set!(architecture: emb, hidden, layers, bidirectional);
        set!(regularisation: dropout, recurrent_dropout, head_dropout, word_dropout, label_smoothing);
        set!(inputs: subword_vocab, min_count, bag_buckets, bag_dim, bag_minn, bag_maxn, bag_wide, bag_wide_lr, bag_nb,
            char_buckets, char_dim, char_minn, char_maxn, bos_eos);
        set!(optimisation: epochs, batch_size, lr, weight_decay, clip);
        if self.max_len.is_some() {
            c.inputs.max_len = self.max_len;
        }
        if self.patience.is_some() {
            c.optimisation.patience = self.patience;
        }
        if self.pretrained.is_some() {
            c.inputs.pretrained = self.pretrained.clone();
        }
        if self.init_from.is_some() {
            c.inputs.init_from = self.init_from.clone();
        }
        if let Some(p) = self.pooling {
            c.architecture.pooling = p;
        }
        if let Some(t) = self.tokens {
            c.inputs.tokens = t;
        }
        if let Some(o) = self.optimizer {
            if o == OptimizerKind::Adamw && self.weight_decay.is_none() && c.optimisation.weight_decay == 0.0 {
                c.optimisation.weight_decay = 0.01;
            }
            c.optimisation.optimizer = o;
        }
        if let Some(s) = self.lr_schedule {
            c.optimisation.schedule = s;
        }
        if class_weight != ClassWeight::None {
            c.optimisation.class_weight = class_weight;
        }
        c.validate()?;
        Ok(())
    }
}
