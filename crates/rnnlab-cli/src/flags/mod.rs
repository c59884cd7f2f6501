//! Flags by concern, shared by the commands: where the data comes from (`data`), how texts
//! are preprocessed (`preprocessing`), and the model: its kind with the bag-of-words
//! (`baseline`) and recurrent-network (`neural`) hyper-parameters.

use anyhow::Result;
use clap::Args;
use rnnlab_baselines::linear::ClassWeight;
use rnnlab_experiment::ModelSpec;

/// The flags of a group that the command line set (`Some`), spelled as typed.
macro_rules! given {
    ($args:expr; $($f:ident),* $(,)?) => {{
        let mut set: Vec<String> = Vec::new();
        $( if $args.$f.is_some() { set.push(format!("--{}", stringify!($f).replace('_', "-"))); } )*
        set
    }};
}

mod baseline;
mod data;
mod neural;
mod preprocessing;

pub use baseline::BaselineArgs;
pub use data::{prepare, warn_if_damaged, CsvArgs, DataArgs};
pub use neural::NeuralArgs;
pub use preprocessing::{load_lemmatizer, PrepArgs};

/// A seed: a whole number from 0 to 2^64 - 1 (a negative one, as NumPy refuses too, is an
/// error saying so rather than clap's "unexpected argument").
pub fn parse_seed(s: &str) -> Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?}: a seed is a whole number from 0 to 18446744073709551615"))
}

/// The model a command trains: its kind and every model flag (`train`, `cv`).
#[derive(Args)]
#[command(next_help_heading = "Model")]
pub struct ModelArgs {
    /// Model kind: count-logreg, hashing-logreg, tfidf-logreg, char-tfidf-logreg, nb, nbsvm,
    /// fasttext (bag of words; fasttext reads --ngram-range 1,N, --minn, --maxn, --buckets,
    /// --emb, --epochs, --lr), rnn, lstm, gru, best-rnn (recurrent networks), or blend (best-rnn and
    /// nbsvm, their probabilities mixed with NB-LR's share chosen on validation; takes the
    /// flags of both). Tagging: majority, feature-tagger, rnn, lstm, gru, best-rnn. Language
    /// models (--task lm): kneser-ney, rnn, lstm, gru (the reference recipe: 2 layers of 256,
    /// tied, SGD lr 20, BPTT 35), best-rnn (two such LSTMs and kneser-ney, their probabilities
    /// mixed with weights fitted on validation). Lemmas (--task lemma): lookup-lemmatizer, rnn, lstm, gru
    /// (character encoder-decoders with attention: bidirectional encoder 2 x 128, Adam 2e-3).
    #[arg(long, value_name = "KIND")]
    pub model: String,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    #[command(flatten)]
    pub neural: NeuralArgs,
    /// The n-gram order of the kneser-ney language model (--task lm; default 4).
    #[arg(help_heading = "Advanced: model", long, value_name = "N")]
    pub order: Option<usize>,
    /// Steps of truncated backpropagation through time of a recurrent language model (--task lm;
    /// default 35): the state is carried across windows, the gradient is not.
    #[arg(help_heading = "Advanced: model", long, value_name = "N")]
    pub bptt: Option<usize>,
    /// A recurrent language model's output matrix is its embedding (--task lm; default true;
    /// needs --emb equal to --hidden).
    #[arg(help_heading = "Advanced: model", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tie_weights: Option<bool>,
    /// Class weights: none or balanced (n / (classes * count)).
    #[arg(
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
    #[arg(help_heading = "Advanced: model", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
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
            ModelSpec::FastText(p) => {
                self.baseline.apply_fasttext(p)?;
                self.neural.apply_fasttext(p);
                p.validate()?;
            }
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
        let fasttext_flags = [
            "--ngram-range",
            "--minn",
            "--maxn",
            "--buckets",
            "--emb",
            "--epochs",
            "--lr",
        ];
        let mut ignored = match checked {
            ModelSpec::Baseline(..) => self.neural.given(),
            ModelSpec::FastText(_) => {
                let mut all = self.baseline.given();
                all.extend(self.neural.given());
                all.retain(|f| !fasttext_flags.contains(&f.as_str()));
                all
            }
            ModelSpec::Rnn { .. } => self.baseline.given(),
            ModelSpec::Blend { .. } => self.baseline.fasttext_given(),
        };
        if matches!(checked, ModelSpec::Baseline(..) | ModelSpec::Rnn { .. }) {
            let only_fasttext = self.baseline.fasttext_given();
            ignored.retain(|f| !only_fasttext.contains(f));
            ignored.extend(only_fasttext);
        }
        if !ignored.is_empty() && !quiet {
            eprintln!(
                "note: {} {} not used by {} (see `rnnlab {command} --help`)",
                ignored.join(", "),
                if ignored.len() == 1 { "is" } else { "are" },
                self.model
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::{Args, Command, FromArgMatches};

    use crate::flags::{BaselineArgs, NeuralArgs};

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
