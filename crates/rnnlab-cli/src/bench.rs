//! `rnnlab bench ...`: throughput of in-process work on data already in memory, one JSON
//! line per run, the same scope as the reference scripts' figures.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Subcommand;
use rnnlab_text::{dataset, Preprocessor};
use serde_json::json;

use crate::PrepArgs;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// The preprocessing pipeline over every text of a data set (read before timing).
    Preprocess {
        /// A named data set.
        #[arg(long, value_name = "NAME")]
        dataset: String,
        /// The data folder (default: $RNNLAB_DATA_DIR).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Timed repetitions; the median is reported. Each starts with an empty lemma cache.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        #[command(flatten)]
        prep: PrepArgs,
    },
    /// Vectorizer fit-transform of a data set's training split, from token lists already in
    /// memory (the scope of scikit-learn's `fit_transform` in the anchors).
    Vectorize {
        /// A named data set.
        #[arg(long, value_name = "NAME")]
        dataset: String,
        /// The data folder (default: $RNNLAB_DATA_DIR).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// count (1-2 grams, min_df 2, binary), hashing (2^18, 1-2 grams, unsigned, l2) or
        /// tfidf (1-2 grams, min_df 2, sublinear): the anchors' settings.
        #[arg(long, default_value = "tfidf")]
        kind: String,
        /// Timed repetitions; the median is reported.
        #[arg(long, default_value_t = 7)]
        repeat: usize,
        #[command(flatten)]
        prep: PrepArgs,
    },
}

use rnnlab_experiment::train::peak_rss_mb;

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Preprocess {
            dataset: name,
            data_dir,
            repeat,
            prep,
        } => {
            let spec = dataset::find_dataset(&name)?;
            let dir = dataset::resolve_data_dir(data_dir.as_deref())?;
            let ds = dataset::load_named(&spec, &dir)?;
            let pipeline = prep.pipeline(Some(spec.lang))?;
            let normalize = if pipeline.needs_lemmatizer() {
                "lemmatize"
            } else if pipeline
                .steps
                .iter()
                .any(|s| matches!(s, rnnlab_text::Step::Stem { .. }))
            {
                "stem"
            } else {
                "none"
            };
            let mut times = Vec::new();
            let mut tokens = 0;
            for _ in 0..repeat.max(1) {
                // A fresh lemmatizer each time, so the cache starts empty as in a real run.
                let lemmatizer = prep.lemmatizer(&pipeline)?;
                let pre = Preprocessor::new(pipeline.clone(), lemmatizer)?;
                let t0 = Instant::now();
                let (_out, stats) = pre.process_all(&ds.texts);
                times.push(t0.elapsed().as_secs_f64());
                tokens = stats.tokens;
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let median = times[times.len() / 2];
            let line = json!({
                "bench": "preprocess",
                "dataset": spec.name,
                "lang": spec.lang.code(),
                "normalize": normalize,
                "docs": ds.len(),
                "tokens": tokens,
                "seconds": (median * 1e4).round() / 1e4,
                "docs_per_s": (ds.len() as f64 / median).round(),
                "repeat": times.len(),
                "threads": rayon::current_num_threads(),
                "peak_rss_mb": peak_rss_mb(),
            });
            println!("{line}");
            Ok(())
        }
        BenchCommand::Vectorize {
            dataset: name,
            data_dir,
            kind,
            repeat,
            prep,
        } => {
            use rnnlab_models::baseline::{BaselineKind, BaselineParams, Vectorizer};
            let model_kind = match kind.as_str() {
                "count" => BaselineKind::CountLogreg,
                "hashing" => BaselineKind::HashingLogreg,
                "tfidf" => BaselineKind::TfidfLogreg,
                "char-tfidf" => BaselineKind::CharTfidfLogreg,
                other => {
                    return Err(rnnlab_text::Error::Data(format!(
                        "--kind {other:?}: expected count, hashing, tfidf or char-tfidf"
                    ))
                    .into())
                }
            };
            let spec = dataset::find_dataset(&name)?;
            let dir = dataset::resolve_data_dir(data_dir.as_deref())?;
            let ds = dataset::load_named(&spec, &dir)?;
            let pipeline = prep.pipeline(Some(spec.lang))?;
            let pre = Preprocessor::new(pipeline.clone(), prep.lemmatizer(&pipeline)?)?;
            let train: Vec<String> = ds
                .texts
                .iter()
                .zip(&ds.splits)
                .filter(|(_, s)| **s == dataset::Split::Train)
                .map(|(t, _)| t.clone())
                .collect();
            let (tokens, _) = pre.process_all(&train);
            let vspec = BaselineParams::default().resolve(model_kind).vectorizer;
            let mut times = Vec::new();
            let mut shape = (0, 0, 0);
            for _ in 0..repeat.max(1) {
                let t0 = Instant::now();
                let (_, x) = Vectorizer::fit_transform(&vspec, &tokens)?;
                times.push(t0.elapsed().as_secs_f64());
                shape = (x.n_rows(), x.n_cols(), x.nnz());
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let median = times[times.len() / 2];
            let line = json!({
                "bench": "vectorize",
                "dataset": spec.name,
                "kind": kind,
                "docs": tokens.len(),
                "features": shape.1,
                "nnz": shape.2,
                "seconds": (median * 1e4).round() / 1e4,
                "docs_per_s": (tokens.len() as f64 / median).round(),
                "repeat": times.len(),
                "threads": rayon::current_num_threads(),
                "peak_rss_mb": peak_rss_mb(),
            });
            println!("{line}");
            Ok(())
        }
    }
}
