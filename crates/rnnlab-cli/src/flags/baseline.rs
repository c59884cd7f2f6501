//! The bag-of-words baselines' flags, with scikit-learn's names.

use anyhow::Result;
use clap::Args;
use rnnlab_baselines::baseline::BaselineParams;
use rnnlab_baselines::fasttext::FastTextParams;
use rnnlab_baselines::linear::ClassWeight;
use rnnlab_vectorize::Df;

/// Flags of the bag-of-words baselines (scikit-learn's names); unset flags take each kind's default.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Bag-of-words baselines")]
pub struct BaselineArgs {
    /// N-gram range "MIN,MAX" (default 1,2 for words, 2,5 for char-tfidf).
    #[arg(long, value_name = "MIN,MAX")]
    pub(crate) ngram_range: Option<String>,
    /// Ignore terms in fewer documents (a count, or a fraction like 0.001). Default 2 (nb, nbsvm: 1).
    #[arg(long, value_name = "N|F")]
    pub(crate) min_df: Option<Df>,
    /// Ignore terms in more documents (a count or a fraction). Default 1.0.
    #[arg(help_heading = "Advanced: bag-of-words baselines", long, value_name = "N|F")]
    pub(crate) max_df: Option<Df>,
    /// Keep only the most frequent terms.
    #[arg(help_heading = "Advanced: bag-of-words baselines", long, value_name = "N")]
    pub(crate) max_features: Option<usize>,
    /// Binary term presence instead of counts (default: on for count-logreg and nbsvm).
    #[arg(help_heading = "Advanced: bag-of-words baselines", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) binary: Option<bool>,
    /// TF-IDF with 1 + ln(tf) (default on).
    #[arg(help_heading = "Advanced: bag-of-words baselines", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) sublinear_tf: Option<bool>,
    /// Columns of the hashing vectorizer (default 2^18).
    #[arg(help_heading = "Advanced: bag-of-words baselines", long, value_name = "N")]
    pub(crate) n_features: Option<usize>,
    /// Signed hashing (default off).
    #[arg(help_heading = "Advanced: bag-of-words baselines", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) alternate_sign: Option<bool>,
    /// Inverse regularisation of logistic regression (default 10; nbsvm 1).
    #[arg(long = "c", value_name = "C", allow_negative_numbers = true)]
    pub(crate) c: Option<f64>,
    /// Smoothing of naive Bayes and NB-LR (default 1).
    #[arg(
        help_heading = "Advanced: bag-of-words baselines",
        long,
        value_name = "A",
        allow_negative_numbers = true
    )]
    pub(crate) alpha: Option<f64>,
    /// fastText: shortest character n-gram of `<word>` (default 2).
    #[arg(help_heading = "Advanced: fasttext", long, value_name = "N")]
    pub(crate) minn: Option<usize>,
    /// fastText: longest character n-gram of `<word>` (default 5; 0: none).
    #[arg(help_heading = "Advanced: fasttext", long, value_name = "N")]
    pub(crate) maxn: Option<usize>,
    /// fastText: hash buckets of the word and character n-grams (default 2000000).
    #[arg(help_heading = "Advanced: fasttext", long, value_name = "N")]
    pub(crate) buckets: Option<usize>,
}

fn parse_range(s: &str) -> Result<(usize, usize)> {
    let bad = || rnnlab_text::Error::Data(format!("--ngram-range {s:?}: expected MIN,MAX such as 1,2"));
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

impl BaselineArgs {
    /// The baseline flags given (every field of this group).
    pub fn given(&self) -> Vec<String> {
        given!(self; ngram_range, min_df, max_df, max_features, binary, sublinear_tf, n_features,
            alternate_sign, c, alpha, minn, maxn, buckets)
    }

    /// The flags given that only fastText reads.
    pub fn fasttext_given(&self) -> Vec<String> {
        given!(self; minn, maxn, buckets)
    }

    /// fastText's settings from the flags it shares: `--ngram-range 1,N` (word n-grams up to
    /// N), `--minn`, `--maxn`, `--buckets`; `--emb`, `--epochs`, `--lr` come from the network
    /// flags ([`crate::flags::NeuralArgs::apply_fasttext`]).
    pub(crate) fn apply_fasttext(&self, p: &mut FastTextParams) -> Result<()> {
        if let Some(r) = self.ngram_range.as_deref() {
            let (lo, hi) = parse_range(r)?;
            if lo != 1 || hi < 1 {
                return Err(rnnlab_text::Error::Data(format!(
                    "--ngram-range {r}: fasttext takes word n-grams 1,N (fastText's -wordNgrams N)"
                ))
                .into());
            }
            p.word_ngrams = hi;
        }
        if let Some(v) = self.minn {
            p.minn = v;
        }
        if let Some(v) = self.maxn {
            p.maxn = v;
        }
        if let Some(v) = self.buckets {
            p.buckets = v;
        }
        Ok(())
    }

    pub(crate) fn apply(&self, p: &mut BaselineParams, class_weight: ClassWeight) -> Result<()> {
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
