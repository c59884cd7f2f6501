//! `rnnlab train`: data in, model directory out.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use rnnlab_experiment::train_model;
use serde_json::Value;

use crate::flags::{prepare, DataArgs, ModelArgs};
use crate::progress::EpochBar;
use crate::PrepArgs;

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Output model directory: new or empty, or replaced whole with --overwrite (the old model
    /// stays until the new one is complete).
    #[arg(long, value_name = "DIR", help_heading = "Model")]
    out: PathBuf,
    /// Replace an existing, non-empty --out.
    #[arg(long, help_heading = "Model")]
    overwrite: bool,
    /// Seed of weights, shuffles and dropout (and of the validation split of --train files).
    #[arg(long, default_value_t = 0, help_heading = "Model", allow_negative_numbers = true, value_parser = crate::flags::parse_seed)]
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

pub fn train(args: TrainArgs, quiet: bool) -> Result<()> {
    let device = args.model.device()?;
    let staged = crate::out_dir::Staged::begin(&args.out, args.overwrite)?;
    if let Some(corpus) = args.data.parallel_corpus()? {
        let units = (args.data.source_units.units(), args.data.target_units.units());
        return crate::seq2seq::train(&corpus, units, &args.model, args.seed, staged, &args.out, quiet);
    }
    if let Some(corpus) = args.data.lemma_corpus()? {
        return crate::lemma::train(&corpus, &args.model, args.seed, staged, &args.out, quiet);
    }
    if let Some(corpus) = args
        .data
        .lm_corpus(&args.prep, args.seed, args.model.neural.subword_vocab)?
    {
        return crate::lm::train(&corpus, &args.model, args.seed, staged, &args.out, quiet);
    }
    if let Some(corpus) = args.data.tagged(args.seed)? {
        return crate::tag::train(&corpus, &args.model, args.seed, staged, &args.out, quiet);
    }
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
    let mut trained = train_model(&prep, &spec, args.seed, staged.path(), &device, &mut bar)?;
    if let Some(recipe) = crate::recipe::recipe() {
        write_whole(&staged.path().join("recipe.toml"), recipe.as_bytes())?;
    }
    if crate::interrupt::requested() {
        // Stopped early by a signal: the best checkpoint is kept, and says so.
        trained.metrics["interrupted"] = serde_json::json!(true);
        let text = serde_json::to_string_pretty(&trained.metrics)?;
        write_whole(&staged.path().join("metrics.json"), text.as_bytes())?;
    }
    staged.commit()?;
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

/// Writes `bytes` to `path` whole (a temporary name beside it, then renamed).
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    rnnlab_baselines::files::write_atomic(path, bytes).with_context(|| format!("writing {}", path.display()))
}
