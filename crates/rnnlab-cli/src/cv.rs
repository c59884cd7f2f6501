//! `rnnlab cv`: K-fold cross-validation of one model on a data set's training split.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use rnnlab_experiment::cv::{check_counts, cross_validate, markdown, CvPlan};
use rnnlab_experiment::lm_experiment::{cross_validate_lm, LmCvPlan};
use rnnlab_experiment::tag_experiment::{cross_validate_tagging, TagCvPlan};
use rnnlab_text::conllu::TaggedCorpus;
use serde_json::Value;

use crate::experiment::{prepare_or_demo, timestamp, Progress};
use crate::flags::{DataArgs, ModelArgs};
use crate::PrepArgs;

#[derive(Args)]
pub struct CvArgs {
    /// A named data set, files, or `demo` (the default when no data is given).
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// K: each of K models trains on K - 1 folds of the training split and is scored on the
    /// one left out; folds are stratified by class, in file order, the same on every run.
    #[arg(long, value_name = "K", default_value_t = 5)]
    folds: usize,
    /// Runs of a network, seeds S..S+N with S = --first-seed (a baseline is deterministic and
    /// runs once); the summary gives the pooled figure's mean, std and standard error over them.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seeds: usize,
    /// A recipe file (TOML) whose keys are this command's flags (`hidden = 128`,
    /// `text-column = "tweet"`); flags given on the command line win.
    #[arg(long, value_name = "FILE.toml", help_heading = "Cross-validation")]
    #[allow(dead_code)] // read from the arguments by `recipe::expand`, before clap parses them
    config: Option<PathBuf>,

    /// The first seed of the networks' runs (default 0): more seeds of an earlier run, in
    /// another folder; --against pairs them with the reference's same seeds.
    #[arg(long, value_name = "S", default_value_t = 0, allow_negative_numbers = true, value_parser = crate::flags::parse_seed)]
    first_seed: u64,
    /// Where cv.json and the fold models (seed-S/fold-K/) go (default:
    /// reports/cv-<dataset>-<model>-<UTC timestamp>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Another run's cv.json (or its folder) of the same data and folds: also print the
    /// difference of the pooled figures, seed by seed (a baseline's single run: against every
    /// seed), with its standard error. A network reference needs a seed in common.
    #[arg(long, value_name = "CV.json")]
    against: Option<PathBuf>,
    /// Seed of the validation split of --train files.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::flags::parse_seed)]
    seed: u64,
    #[command(flatten)]
    prep: PrepArgs,
}

pub fn run(args: CvArgs, quiet: bool) -> Result<()> {
    let device = args.model.device()?;
    check_counts(args.folds, args.seeds)?;
    if let Some(corpus) = args
        .data
        .lm_corpus(&args.prep, args.seed, args.model.neural.subword_vocab)?
    {
        return run_lm(&args, &corpus, device, quiet);
    }
    if let Some(corpus) = args.data.tagged(args.seed)? {
        return run_tagging(&args, &corpus, device, quiet);
    }
    args.model.check(quiet, "cv")?;
    let against = args.against.as_deref().map(read_cv_json).transpose()?;
    let (prep, _, _) = prepare_or_demo(&args.data, &args.prep, args.seed)?;
    let spec = args.model.spec(prep.lang, prep.labels.n_classes())?;
    let out = args.out.clone().unwrap_or_else(|| {
        let name = prep.name.replace(['/', '\\'], "_");
        PathBuf::from("reports").join(format!("cv-{name}-{}-{}", spec.kind(), timestamp()))
    });
    if !quiet {
        eprintln!(
            "{}: {}-fold cross-validation of {} on {} training rows, {} seed(s); the {} validation rows \
             choose epochs and thresholds, the test split is not read -> {}",
            prep.name,
            args.folds,
            spec.kind(),
            prep.rows[0].len(),
            if spec.is_seeded() { args.seeds } else { 1 },
            prep.rows[1].len(),
            out.display()
        );
    }
    let plan = CvPlan {
        spec,
        folds: args.folds,
        seeds: args.seed_list(),
        out: out.clone(),
        device,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        against,
    };
    run_folds(quiet, &out, |progress| cross_validate(&prep, &plan, progress))
}

/// `rnnlab cv` on tagging data: folds of the training sentences.
fn run_tagging(args: &CvArgs, corpus: &TaggedCorpus, device: candle_core::Device, quiet: bool) -> Result<()> {
    if args.against.is_some() {
        return Err(rnnlab_text::Error::Data("--against compares classification cross-validations".into()).into());
    }
    let spec = crate::tag::tagger_spec(&args.model)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let name = corpus.name.replace(['/', '\\'], "_");
        PathBuf::from("reports").join(format!("cv-{name}-{}-{}", spec.kind(), timestamp()))
    });
    if !quiet {
        eprintln!(
            "{}: {}-fold cross-validation of {} on {} training sentences; the {} validation sentences \
             choose epochs, the test file is not read -> {}",
            corpus.name,
            args.folds,
            spec.kind(),
            corpus.words[0].len(),
            corpus.words[1].len(),
            out.display()
        );
    }
    let plan = TagCvPlan {
        spec,
        folds: args.folds,
        seeds: args.seed_list(),
        out: out.clone(),
        device,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    run_folds(quiet, &out, |progress| cross_validate_tagging(corpus, &plan, progress))
}

/// `rnnlab cv --task lm`: folds of the training sentences, perplexity on each held fold.
fn run_lm(
    args: &CvArgs,
    corpus: &rnnlab_text::lm_stream::LmCorpus,
    device: candle_core::Device,
    quiet: bool,
) -> Result<()> {
    if args.against.is_some() {
        return Err(rnnlab_text::Error::Data("--against compares classification cross-validations".into()).into());
    }
    let spec = crate::lm::spec(&args.model, args.first_seed)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let name = corpus.name.replace(['/', '\\'], "_");
        PathBuf::from("reports").join(format!("cv-{name}-{}-{}", spec.kind(), timestamp()))
    });
    if !quiet {
        eprintln!(
            "{}: {}-fold cross-validation of {} on {} training words; the {} validation words choose \
             epochs, the test file is not read -> {}",
            corpus.name,
            args.folds,
            spec.kind(),
            corpus.streams[0].len(),
            corpus.streams[1].len(),
            out.display()
        );
    }
    let plan = LmCvPlan {
        spec,
        folds: args.folds,
        seeds: args.seed_list(),
        out: out.clone(),
        device,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    run_folds(quiet, &out, |progress| cross_validate_lm(corpus, &plan, progress))
}

impl CvArgs {
    /// The seeds of a network's runs: --first-seed and the --seeds - 1 after it.
    fn seed_list(&self) -> Vec<u64> {
        (self.first_seed..self.first_seed.saturating_add(self.seeds as u64)).collect()
    }
}

/// Runs a cross-validation with a progress bar (interruptible), then prints its table and
/// where `cv.json` is.
fn run_folds(
    quiet: bool,
    out: &Path,
    cross_validate: impl FnOnce(&mut Progress) -> Result<Value, rnnlab_experiment::Error>,
) -> Result<()> {
    let mut progress = Progress::new(quiet, "held");
    crate::interrupt::install();
    let doc = cross_validate(&mut progress)?;
    progress.finish();
    println!("{}", markdown(&doc));
    println!("cv.json: {}", out.join("cv.json").display());
    Ok(())
}

/// A `cv.json`, given as the file or the folder that holds it.
fn read_cv_json(path: &Path) -> Result<Value> {
    let file = if path.is_dir() {
        path.join("cv.json")
    } else {
        path.to_path_buf()
    };
    let text =
        std::fs::read_to_string(&file).map_err(|e| rnnlab_text::Error::Data(format!("{}: {e}", file.display())))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| rnnlab_text::Error::Data(format!("{}: {e}", file.display())))?;
    if !doc["runs"].is_array() || !doc["folds"].is_u64() {
        return Err(rnnlab_text::Error::Data(format!("{}: not a cv.json of `rnnlab cv`", file.display())).into());
    }
    Ok(doc)
}
