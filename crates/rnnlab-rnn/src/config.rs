//! The hyper-parameters of a recurrent classifier, with the flag names of the command line
//! (`--emb`, `--hidden`, ...) and PyTorch's layer semantics.

use serde::{Deserialize, Serialize};

pub use rnnlab_baselines::linear::ClassWeight;
pub use rnnlab_kernels::CellKind;

use crate::Error;

/// The start and end markers `config.bos_eos` puts around every text (fastText ends every
/// line with `</s>`).
pub const BOS: &str = "<s>";
pub const EOS: &str = "</s>";

const GIB: f64 = (1u64 << 30) as f64;

/// How the states of all valid steps become one vector.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// The final state (at each sequence's true last token; the backward direction's at its first).
    Last,
    Mean,
    Max,
    /// Mean and max, concatenated.
    MeanMax,
    /// A weighted mean whose weights the network learns (Yang et al. 2016's attention):
    /// `u_t = tanh(W h_t + b)`, `a = softmax_t(u_t · c)` over the valid steps, `Σ a_t h_t`.
    /// Level with mean-max on tweets, kept because it is the pooling users of longer texts reach for.
    Attention,
}

/// How the vectors of a document's bag combine inside the network: the n-gram bag's mean
/// (fastText's), the wide part's sum. (A user-facing `--bag-combiner` with `sqrtn` and `sum`
/// measured level or lower held out and was removed; docs/research/best-rnn.md.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BagCombiner {
    Mean,
    Sum,
}

impl BagCombiner {
    /// The weight of each of `k` vectors.
    pub(crate) fn scale(self, k: usize) -> f32 {
        let k = k.max(1) as f32;
        match self {
            BagCombiner::Mean => 1.0 / k,
            BagCombiner::Sum => 1.0,
        }
    }
}

/// What the ids of the embedding are.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokensKind {
    /// The pipeline's tokens through a word vocabulary.
    Word,
    Bpe,
    Wordpiece,
    Unigram,
}

impl TokensKind {}

#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
    /// Plain stochastic gradient descent, the language models' reference (`--task lm`).
    Sgd,
}

/// Learning rate over training.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    /// Linear decay to 0 over all steps.
    Linear,
    /// Cosine decay to 0 over all steps.
    Cosine,
}

impl Schedule {
    /// The factor on the base rate at `step` of `total`.
    pub fn factor(self, step: usize, total: usize) -> f64 {
        let p = step as f64 / total.max(1) as f64;
        match self {
            Schedule::Constant => 1.0,
            Schedule::Linear => (1.0 - p).max(0.0),
            Schedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * p.min(1.0)).cos()),
        }
    }
}

/// Everything that defines a recurrent network and its training, grouped by concern. In
/// `model.json` and recipe files the groups are flattened: one flat table of settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RnnConfig {
    #[serde(flatten)]
    pub architecture: Architecture,
    #[serde(flatten)]
    pub inputs: Inputs,
    #[serde(flatten)]
    pub regularisation: Regularisation,
    #[serde(flatten)]
    pub optimisation: Optimisation,
}

/// The network's shape: cell, sizes, directions and how the states are pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    pub cell: CellKind,
    pub emb: usize,
    pub hidden: usize,
    pub layers: usize,
    pub bidirectional: bool,
    pub pooling: Pooling,
}

/// What the network reads: the tokens and their vocabulary, and the optional inputs beside the
/// word vectors (the document's bag of hashed n-grams, each token's character n-grams).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub tokens: TokensKind,
    /// Subword vocabulary size (`tokens` other than `word`).
    pub subword_vocab: usize,
    /// Words seen fewer times become `<unk>` (`tokens = word`).
    pub min_count: usize,
    /// Longest sequence kept; `None`: the 99th percentile of training lengths, plus one.
    pub max_len: Option<usize>,
    /// Put `<s>` before and `</s>` after every text (the ids and the bag both see them).
    #[serde(default)]
    pub bos_eos: bool,
    /// Word vectors (word2vec/fastText `.vec` text) to start the embedding from.
    #[serde(default)]
    pub pretrained: Option<std::path::PathBuf>,
    /// A recurrent language model's directory (`vocab.json`, `model.safetensors`) to start the
    /// embedding (rows by word) and the recurrent layers (by name) from: ULMFiT's fine-tuning.
    #[serde(default)]
    pub init_from: Option<std::path::PathBuf>,
    /// Buckets of hashed input-id uni- and bigrams whose mean vector (fastText's bag of n-grams)
    /// goes beside the pooled states into the head; 0: none.
    #[serde(default)]
    pub bag_buckets: usize,
    /// Width of the bag-of-n-grams vector.
    #[serde(default = "default_bag_dim")]
    pub bag_dim: usize,
    /// Character n-grams of `<word>` from `bag_minn` to `bag_maxn` characters go into the bag
    /// too (fastText's `-minn`/`-maxn`); 0: none.
    #[serde(default)]
    pub bag_minn: usize,
    #[serde(default)]
    pub bag_maxn: usize,
    /// A "wide" part beside the network: one weight per bag bucket and output, summed over a
    /// document's n-grams straight into the logits (a hashed linear model of the n-grams,
    /// trained jointly; needs `bag_buckets`).
    #[serde(default)]
    pub bag_wide: bool,
    /// The wide part's learning rate as a multiple of `lr`: the logits get `bag_wide_lr` times
    /// its weights, so each AdamW step moves its contribution that much less (Adam's step does
    /// not depend on the gradient's scale). Below 1 it learns more slowly than the network,
    /// which it otherwise overtakes within two epochs.
    #[serde(default = "default_bag_wide_lr")]
    pub bag_wide_lr: f32,
    /// Scale each bag n-gram's vector by its NB-LR log-count ratio on the training rows, fixed
    /// (NBSVM's feature weighting inside the bag; binary tasks; needs `bag_buckets`).
    #[serde(default)]
    pub bag_nb: bool,
    /// Character-aware input: buckets of hashed character n-grams of each token (`<word>`,
    /// `char_minn` to `char_maxn` characters), whose mean vector, `char_dim` wide, is
    /// concatenated to the token's word vector before the recurrent stack (fastText's subword
    /// vectors, per token): a rare word the vocabulary maps to `<unk>` still has its own input.
    /// 0: none; word tokens only. Level on the classification sets, kept as the
    /// character-level word representation that taggers need for unknown words.
    #[serde(default)]
    pub char_buckets: usize,
    #[serde(default = "default_char_dim")]
    pub char_dim: usize,
    #[serde(default = "default_char_minn")]
    pub char_minn: usize,
    #[serde(default = "default_char_maxn")]
    pub char_maxn: usize,
}

/// Dropout of every kind and label smoothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regularisation {
    /// Dropout on embeddings, between layers and before the head.
    pub dropout: f32,
    /// Variational dropout on the recurrent state: one mask per sequence.
    pub recurrent_dropout: f32,
    /// Dropout on the pooled vector, before the linear head.
    #[serde(default)]
    pub head_dropout: f32,
    /// While training, each token of a batch becomes `<unk>` with this probability (word
    /// dropout: the network cannot lean on single words). Level on the classification sets,
    /// kept as the standard regulariser of taggers and language models.
    #[serde(default)]
    pub word_dropout: f32,
    /// PyTorch's `label_smoothing` of the training loss: the target is the true class with
    /// weight `1 - s` plus the uniform distribution over the classes with weight `s` (a binary
    /// task counts two classes: targets `s / 2` and `1 - s / 2`); 0: none.
    #[serde(default)]
    pub label_smoothing: f64,
}

/// How the weights are fitted: the optimiser and its schedule, batches, epochs, early stopping,
/// class weights and the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Optimisation {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub optimizer: OptimizerKind,
    pub weight_decay: f64,
    pub schedule: Schedule,
    /// Global gradient-norm clip; 0 turns it off.
    pub clip: f64,
    /// Stop after this many epochs without a better validation metric.
    pub patience: Option<usize>,
    /// After choosing the epoch and threshold on validation, train again on training and
    /// validation rows together for that many epochs (scikit-learn's `refit`).
    #[serde(default)]
    pub refit: bool,
    pub class_weight: ClassWeight,
    pub seed: u64,
}

fn default_bag_dim() -> usize {
    32
}

fn default_bag_wide_lr() -> f32 {
    1.0
}

fn default_char_dim() -> usize {
    32
}

fn default_char_minn() -> usize {
    3
}

fn default_char_maxn() -> usize {
    5
}

impl Default for RnnConfig {
    /// The lecture's recipe, as in `../shared/anchors/seed_pipeline.py`.
    fn default() -> Self {
        RnnConfig {
            architecture: Architecture::default(),
            inputs: Inputs::default(),
            regularisation: Regularisation::default(),
            optimisation: Optimisation::default(),
        }
    }
}

impl Default for Architecture {
    fn default() -> Self {
        Architecture {
            cell: CellKind::Lstm,
            emb: 64,
            hidden: 64,
            layers: 1,
            bidirectional: false,
            pooling: Pooling::Last,
        }
    }
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            tokens: TokensKind::Word,
            subword_vocab: 8000,
            min_count: 2,
            max_len: None,
            bos_eos: false,
            pretrained: None,
            init_from: None,
            bag_buckets: 0,
            bag_dim: default_bag_dim(),
            bag_minn: 0,
            bag_maxn: 0,
            bag_wide: false,
            bag_wide_lr: 1.0,
            bag_nb: false,
            char_buckets: 0,
            char_dim: default_char_dim(),
            char_minn: default_char_minn(),
            char_maxn: default_char_maxn(),
        }
    }
}

impl Default for Regularisation {
    fn default() -> Self {
        Regularisation {
            dropout: 0.2,
            recurrent_dropout: 0.0,
            head_dropout: 0.0,
            word_dropout: 0.0,
            label_smoothing: 0.0,
        }
    }
}

impl Default for Optimisation {
    fn default() -> Self {
        Optimisation {
            epochs: 10,
            batch_size: 128,
            lr: 1e-3,
            optimizer: OptimizerKind::Adam,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            clip: 5.0,
            patience: None,
            refit: false,
            class_weight: ClassWeight::None,
            seed: 0,
        }
    }
}

impl RnnConfig {
    /// Checks ranges; messages name the flag.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Param(m));
        if self.architecture.emb == 0 || self.architecture.hidden == 0 || self.architecture.layers == 0 {
            return bad("--emb, --hidden and --layers must be at least 1".into());
        }
        if self.inputs.bag_buckets > 0 && self.inputs.bag_dim == 0 {
            return bad("--bag-dim must be at least 1 when --bag-buckets is set".into());
        }
        if self.inputs.bag_maxn < self.inputs.bag_minn || self.inputs.bag_maxn > 12 {
            return bad(format!(
                "--bag-minn {} --bag-maxn {}: need minn <= maxn <= 12",
                self.inputs.bag_minn, self.inputs.bag_maxn
            ));
        }
        if self.inputs.bag_buckets == 0 && (self.inputs.bag_wide || self.inputs.bag_nb) {
            let set: Vec<&str> = [(self.inputs.bag_wide, "--bag-wide"), (self.inputs.bag_nb, "--bag-nb")]
                .into_iter()
                .filter_map(|(on, flag)| on.then_some(flag))
                .collect();
            return bad(format!(
                "{} needs the bag's buckets (--bag-buckets N); best-rnn sets --bag-wide and --bag-nb for \
                 binary tasks, so without a bag give --bag-wide false --bag-nb false",
                set.join(" and ")
            ));
        }
        if !(self.inputs.bag_wide_lr > 0.0 && self.inputs.bag_wide_lr <= 1e3) {
            return bad(format!(
                "--bag-wide-lr {}: must be in (0, 1000]",
                self.inputs.bag_wide_lr
            ));
        }
        if self.inputs.bag_buckets > (1 << 24) {
            return bad(format!("--bag-buckets {}: at most 2^24", self.inputs.bag_buckets));
        }
        if !(0.0..1.0).contains(&self.regularisation.dropout) {
            return bad(format!("--dropout {}: must be in [0, 1)", self.regularisation.dropout));
        }
        if !(0.0..1.0).contains(&self.regularisation.word_dropout) {
            return bad(format!(
                "--word-dropout {}: must be in [0, 1)",
                self.regularisation.word_dropout
            ));
        }
        if self.inputs.char_buckets > 0 {
            if self.inputs.char_dim == 0 {
                return bad("--char-dim must be at least 1 when --char-buckets is set".into());
            }
            if self.inputs.char_minn == 0 || self.inputs.char_maxn < self.inputs.char_minn || self.inputs.char_maxn > 12
            {
                return bad(format!(
                    "--char-minn {} --char-maxn {}: need 1 <= minn <= maxn <= 12",
                    self.inputs.char_minn, self.inputs.char_maxn
                ));
            }
            if self.inputs.char_buckets > (1 << 24) {
                return bad(format!("--char-buckets {}: at most 2^24", self.inputs.char_buckets));
            }
            if self.inputs.tokens != TokensKind::Word {
                return bad("--char-buckets needs --tokens word (character n-grams of whole words)".into());
            }
        }
        if !(0.0..1.0).contains(&self.regularisation.head_dropout) {
            return bad(format!(
                "--head-dropout {}: must be in [0, 1)",
                self.regularisation.head_dropout
            ));
        }
        if !(0.0..1.0).contains(&self.regularisation.recurrent_dropout) {
            return bad(format!(
                "--recurrent-dropout {}: must be in [0, 1)",
                self.regularisation.recurrent_dropout
            ));
        }
        if self.optimisation.epochs == 0 || self.optimisation.batch_size == 0 {
            return bad("--epochs and --batch-size must be at least 1".into());
        }
        if !(self.optimisation.lr.is_finite() && self.optimisation.lr > 0.0) {
            return bad(format!("--lr {}: must be a positive number", self.optimisation.lr));
        }
        if !(self.optimisation.clip.is_finite() && self.optimisation.clip >= 0.0) {
            return bad(format!(
                "--clip {}: must be 0 (off) or positive",
                self.optimisation.clip
            ));
        }
        if !(self.optimisation.weight_decay.is_finite() && self.optimisation.weight_decay >= 0.0) {
            return bad(format!(
                "--weight-decay {}: must be 0 (off) or positive",
                self.optimisation.weight_decay
            ));
        }
        if !(0.0..1.0).contains(&self.regularisation.label_smoothing) {
            return bad(format!(
                "--label-smoothing {}: must be in [0, 1), such as 0.1",
                self.regularisation.label_smoothing
            ));
        }
        if self.inputs.max_len == Some(0) {
            return bad("--max-len must be at least 1".into());
        }
        if self.inputs.tokens != TokensKind::Word && self.inputs.subword_vocab < 3 {
            return bad("--subword-vocab must be at least 3".into());
        }
        Ok(())
    }

    /// Width of each step's input to the recurrent stack: the word vector, then the character
    /// n-grams' vector if any.
    pub fn input_width(&self) -> usize {
        self.architecture.emb
            + if self.inputs.char_buckets > 0 {
                self.inputs.char_dim
            } else {
                0
            }
    }

    /// Directions of each layer.
    pub fn directions(&self) -> usize {
        if self.architecture.bidirectional {
            2
        } else {
            1
        }
    }

    /// Width of the pooled vector the head sees.
    /// The head's input: pooled states, then the bag-of-n-grams vector if any.
    pub fn head_width(&self) -> usize {
        self.pooled_width()
            + if self.inputs.bag_buckets > 0 {
                self.inputs.bag_dim
            } else {
                0
            }
    }

    /// How many weights a network of this configuration has for `vocab_size` tokens and `n_out`
    /// outputs (the classification head's), computed without building it: `None` when the
    /// count overflows. Loaders compare it with the weights file before allocating anything;
    /// training refuses a network that would not fit in memory.
    pub fn parameter_count(&self, vocab_size: usize, n_out: usize) -> Option<usize> {
        let (a, i) = (&self.architecture, &self.inputs);
        let mul = |x: usize, y: usize| x.checked_mul(y);
        let mut n = mul(vocab_size, a.emb)?;
        if i.bag_buckets > 0 {
            n = n.checked_add(mul(i.bag_buckets, i.bag_dim)?)?;
            if i.bag_wide {
                n = n.checked_add(mul(i.bag_buckets, n_out)?)?;
            }
        }
        if i.char_buckets > 0 {
            n = n.checked_add(mul(i.char_buckets, i.char_dim)?)?;
        }
        let gates = mul(a.cell.gates(), a.hidden)?;
        let width = mul(a.hidden, self.directions())?;
        for layer in 0..a.layers {
            let input = if layer == 0 {
                a.emb.checked_add(if i.char_buckets > 0 { i.char_dim } else { 0 })?
            } else {
                width
            };
            // weight_ih, weight_hh, bias_ih, bias_hh, per direction
            let per = mul(gates, input.checked_add(a.hidden)?.checked_add(2)?)?;
            n = n.checked_add(mul(per, self.directions())?)?;
        }
        if a.pooling == Pooling::Attention {
            n = n.checked_add(mul(width, width.checked_add(2)?)?)?;
        }
        let pooled = if a.pooling == Pooling::MeanMax {
            mul(width, 2)?
        } else {
            width
        };
        let head = pooled.checked_add(if i.bag_buckets > 0 { i.bag_dim } else { 0 })?;
        n.checked_add(mul(n_out, head.checked_add(1)?)?)
    }

    /// Refuses a network whose training state would not fit in this machine's memory: the
    /// weights, their gradients and Adam's two moments, four `f32`s per parameter. Checked
    /// before anything is allocated, so a mistyped `--hidden 1000000` is an error naming the
    /// size rather than an out-of-memory kill. `available` is the free memory in bytes (`None`
    /// when unknown: only overflow is refused).
    pub fn check_fits(&self, vocab_size: usize, n_out: usize, available: Option<u64>) -> Result<(), Error> {
        let Some(count) = self.parameter_count(vocab_size, n_out) else {
            return Err(Error::Param(format!(
                "this network (vocabulary {vocab_size}, emb {}, hidden {}, layers {}) has more parameters than can be counted",
                self.architecture.emb, self.architecture.hidden, self.architecture.layers
            )));
        };
        let need = (count as u64).saturating_mul(16);
        match available {
            Some(free) if need > free => Err(Error::Param(format!(
                "this network has {count} parameters; training it needs about {:.1} GiB (weights, gradients, \
                 Adam's moments) but {:.1} GiB of memory is free: lower --hidden, --emb, --layers or the bucket counts",
                need as f64 / GIB,
                free as f64 / GIB
            ))),
            _ => Ok(()),
        }
    }

    pub fn pooled_width(&self) -> usize {
        let w = self.architecture.hidden * self.directions();
        if self.architecture.pooling == Pooling::MeanMax {
            2 * w
        } else {
            w
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_too_large_for_memory_is_refused_before_allocation() {
        let config = RnnConfig::default();
        let count = config.parameter_count(1000, 1).unwrap() as u64;
        assert!(config.check_fits(1000, 1, Some(count * 16)).is_ok());
        assert!(
            config.check_fits(1000, 1, None).is_ok(),
            "unknown memory: only overflow refused"
        );
        let err = config
            .check_fits(1000, 1, Some(count * 16 - 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&count.to_string()) && err.contains("--hidden"), "{err}");
        let huge = RnnConfig {
            architecture: Architecture {
                hidden: usize::MAX / 4,
                ..Architecture::default()
            },
            ..RnnConfig::default()
        };
        let err = huge.check_fits(10, 1, None).unwrap_err().to_string();
        assert!(err.contains("more parameters than can be counted"), "{err}");
    }

    #[test]
    fn model_json_written_before_the_wide_rate_and_char_ngrams_still_loads() {
        let mut v = serde_json::to_value(RnnConfig {
            inputs: Inputs {
                bag_wide_lr: 0.1,
                char_buckets: 1024,
                char_dim: 8,
                ..Inputs::default()
            },
            ..RnnConfig::default()
        })
        .unwrap();
        let fields = v.as_object_mut().unwrap();
        for f in ["bag_wide_lr", "char_buckets", "char_dim", "char_minn", "char_maxn"] {
            assert!(fields.remove(f).is_some(), "{f}");
        }
        // Knobs removed since (`ema`, `bag_dropout`: training only) are ignored when read.
        fields.insert("ema".into(), serde_json::json!(0.99));
        fields.insert("bag_dropout".into(), serde_json::json!(0.3));
        let old: RnnConfig = serde_json::from_value(v).unwrap();
        assert_eq!(
            (old.inputs.bag_wide_lr, old.inputs.char_buckets),
            (1.0, 0),
            "the behaviour before them"
        );
        assert_eq!(old.input_width(), old.architecture.emb);
    }

    #[test]
    fn names_round_trip_and_validation() {
        for c in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            assert_eq!(CellKind::from_name(c.name()), Some(c));
        }
        // Names as serde writes them in model.json (and clap reads them as flags).
        assert_eq!(serde_json::to_value(Pooling::MeanMax).unwrap(), "mean-max");
        let c = RnnConfig::default();
        assert!(c.validate().is_ok());
        assert_eq!(c.pooled_width(), 64);
        let b = RnnConfig {
            architecture: Architecture {
                bidirectional: true,
                pooling: Pooling::MeanMax,
                ..c.architecture.clone()
            },
            ..c.clone()
        };
        assert!(b.validate().is_ok());
        assert_eq!(b.pooled_width(), 4 * b.architecture.hidden);
        assert!(RnnConfig {
            regularisation: Regularisation {
                dropout: 1.0,
                ..c.regularisation.clone()
            },
            ..c.clone()
        }
        .validate()
        .is_err());
        assert!(RnnConfig {
            optimisation: Optimisation {
                lr: f64::NAN,
                ..c.optimisation.clone()
            },
            ..c.clone()
        }
        .validate()
        .is_err());
        assert!(RnnConfig {
            regularisation: Regularisation {
                word_dropout: -0.1,
                ..c.regularisation.clone()
            },
            ..c.clone()
        }
        .validate()
        .is_err());
        for weight_decay in [-0.01, f64::INFINITY] {
            let err = RnnConfig {
                optimisation: Optimisation {
                    weight_decay,
                    ..c.optimisation.clone()
                },
                ..c.clone()
            }
            .validate()
            .unwrap_err()
            .to_string();
            assert!(err.contains("--weight-decay"), "{err}");
        }
        assert!(RnnConfig {
            inputs: Inputs {
                bag_wide: true,
                ..c.inputs.clone()
            },
            ..c.clone()
        }
        .validate()
        .is_err());
        for bag_wide_lr in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            let err = RnnConfig {
                inputs: Inputs {
                    bag_wide_lr,
                    ..c.inputs.clone()
                },
                ..c.clone()
            }
            .validate()
            .unwrap_err()
            .to_string();
            assert!(err.contains("--bag-wide-lr"), "{err}");
        }
        // Character n-grams: widths and lengths in range, whole words only.
        let chars = RnnConfig {
            inputs: Inputs {
                char_buckets: 1024,
                ..c.inputs.clone()
            },
            ..c.clone()
        };
        assert!(chars.validate().is_ok());
        assert_eq!(chars.input_width(), c.architecture.emb + chars.inputs.char_dim);
        for (bad, flag) in [
            (
                RnnConfig {
                    inputs: Inputs {
                        char_dim: 0,
                        ..chars.inputs.clone()
                    },
                    ..chars.clone()
                },
                "--char-dim",
            ),
            (
                RnnConfig {
                    inputs: Inputs {
                        char_minn: 0,
                        ..chars.inputs.clone()
                    },
                    ..chars.clone()
                },
                "--char-minn",
            ),
            (
                RnnConfig {
                    inputs: Inputs {
                        char_minn: 5,
                        char_maxn: 4,
                        ..chars.inputs.clone()
                    },
                    ..chars.clone()
                },
                "--char-maxn",
            ),
            (
                RnnConfig {
                    inputs: Inputs {
                        char_buckets: (1 << 24) + 1,
                        ..chars.inputs.clone()
                    },
                    ..chars.clone()
                },
                "--char-buckets",
            ),
            (
                RnnConfig {
                    inputs: Inputs {
                        tokens: TokensKind::Bpe,
                        ..chars.inputs.clone()
                    },
                    ..chars.clone()
                },
                "--tokens word",
            ),
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains(flag), "{flag}: {err}");
        }
        // Off, the character settings are not checked.
        assert!(RnnConfig {
            inputs: Inputs {
                char_dim: 0,
                ..c.inputs.clone()
            },
            ..c.clone()
        }
        .validate()
        .is_ok());
        for (b, k, scale) in [(BagCombiner::Mean, 4, 0.25), (BagCombiner::Sum, 4, 1.0)] {
            assert_eq!(b.scale(k), scale);
        }
        for label_smoothing in [-0.1, 1.0, f64::NAN] {
            let err = RnnConfig {
                regularisation: Regularisation {
                    label_smoothing,
                    ..c.regularisation.clone()
                },
                ..c.clone()
            }
            .validate()
            .unwrap_err()
            .to_string();
            assert!(err.contains("--label-smoothing"), "{err}");
        }
        assert!(RnnConfig {
            inputs: Inputs {
                max_len: Some(0),
                ..c.inputs
            },
            ..c
        }
        .validate()
        .is_err());
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<RnnConfig>(&json).unwrap(), b);
        assert!((Schedule::Cosine.factor(5, 10) - 0.5).abs() < 1e-12);
        assert_eq!(Schedule::Linear.factor(10, 10), 0.0);
    }
}
