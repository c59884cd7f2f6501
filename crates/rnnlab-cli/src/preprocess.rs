//! `rnnlab preprocess`: the pipeline over a text column, written back as CSV or Parquet.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rnnlab_text::dataset::{self, Table};
use rnnlab_text::{PipelineStats, Preprocessor};

use crate::flags::{warn_if_damaged, CsvArgs};
use crate::PrepArgs;

#[derive(Args)]
pub struct PreprocessArgs {
    /// Input table (.csv or .parquet).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "dataset",
        conflicts_with = "dataset"
    )]
    input: Option<PathBuf>,
    /// A named data set instead of --input (all its files, with their split).
    #[arg(long, value_name = "NAME")]
    dataset: Option<String>,
    /// The data folder for --dataset (default: $RNNLAB_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The column that holds the text.
    #[arg(long, value_name = "C", default_value = "text")]
    text_column: String,
    #[command(flatten)]
    csv: CsvArgs,
    /// Output file: .csv (tokens as one space-separated string) or .parquet (a list).
    #[arg(long, value_name = "OUT.csv|OUT.parquet")]
    output: PathBuf,
    /// Also save the pipeline that was run (pipeline.json) here.
    #[arg(long, value_name = "P.json")]
    save_pipeline: Option<PathBuf>,
    #[command(flatten)]
    prep: PrepArgs,
}

/// Runs the preprocessor in chunks so a progress bar can follow.
pub fn run_chunked(
    pre: &Preprocessor,
    texts: &[String],
    bar: Option<&ProgressBar>,
) -> (Vec<Vec<String>>, PipelineStats) {
    let mut out = Vec::with_capacity(texts.len());
    let mut stats = PipelineStats::default();
    for chunk in texts.chunks(8192) {
        let (tokens, s) = pre.process_all(chunk);
        out.extend(tokens);
        stats.docs += s.docs;
        stats.repaired += s.repaired;
        stats.mojibake += s.mojibake;
        stats.html_entities += s.html_entities;
        stats.empty += s.empty;
        stats.tokens += s.tokens;
        if let Some(b) = bar {
            b.inc(chunk.len() as u64);
        }
    }
    (out, stats)
}

pub fn run(args: PreprocessArgs, quiet: bool) -> Result<()> {
    let started = Instant::now();
    // The rows a learning step (hashtag segmentation) learns from: the training split of a
    // data set, else every row.
    let (mut frame, texts, invalid, default_lang, fit_rows) = match (&args.input, &args.dataset) {
        (Some(path), _) => {
            let table: Table = dataset::read_table(path, &args.csv.format()?)?;
            warn_if_damaged(
                &path.display().to_string(),
                table.invalid_utf8_rows,
                table.frame.height(),
            );
            let texts: Vec<String> = dataset::column_strings(&table, &args.text_column)?
                .into_iter()
                .map(Option::unwrap_or_default)
                .collect();
            let all: Vec<usize> = (0..texts.len()).collect();
            (table.frame, texts, table.invalid_utf8_rows, None, all)
        }
        (None, Some(name)) => {
            let spec = dataset::find_dataset(name)?;
            let dir = dataset::resolve_data_dir(args.data_dir.as_deref())?;
            let ds = dataset::load_named(&spec, &dir)?;
            let splits: Vec<&str> = ds
                .splits
                .iter()
                .map(|s| match s {
                    dataset::Split::Train => "train",
                    dataset::Split::Val => "val",
                    dataset::Split::Test => "test",
                })
                .collect();
            let frame = polars::prelude::DataFrame::new_infer_height(vec![
                polars::prelude::Column::new("id".into(), &ds.ids),
                polars::prelude::Column::new("text".into(), &ds.texts),
                polars::prelude::Column::new("label".into(), &ds.labels),
                polars::prelude::Column::new("split".into(), splits),
            ])?;
            let train: Vec<usize> = (0..ds.len())
                .filter(|&i| ds.splits[i] == dataset::Split::Train)
                .collect();
            (frame, ds.texts, ds.invalid_utf8_rows, Some(spec.lang), train)
        }
        (None, None) => unreachable!("clap requires --input or --dataset"),
    };
    let read_s = started.elapsed().as_secs_f64();

    let pipeline = args.prep.pipeline(default_lang)?;
    let lemmatizer = args.prep.lemmatizer(&pipeline)?;
    let mut pre = Preprocessor::new(pipeline, lemmatizer)?;
    if pre.needs_fit() {
        let rows: Vec<&str> = fit_rows.iter().map(|&i| texts[i].as_str()).collect();
        pre = pre.fit(&rows)?;
    }
    if let Some(p) = &args.save_pipeline {
        pre.pipeline().save(p)?;
    }

    let t0 = Instant::now();
    let bar = (crate::show_progress(quiet) && texts.len() > 20_000).then(|| {
        let b = ProgressBar::new(texts.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} docs {per_sec} eta {eta}").expect("valid template"),
        );
        b
    });
    let (tokens, stats) = run_chunked(&pre, &texts, bar.as_ref());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let process_s = t0.elapsed().as_secs_f64();

    let as_list = args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    dataset::add_tokens_column(&mut frame, &tokens, as_list)?;
    dataset::write_table(&mut frame, &args.output)?;

    if !quiet {
        eprintln!(
            "{} rows ({} with invalid UTF-8 replaced, {} repaired: {} mojibake, {} HTML entities), {} empty after preprocessing, {} tokens",
            stats.docs, invalid, stats.repaired, stats.mojibake, stats.html_entities, stats.empty, stats.tokens
        );
        eprintln!(
            "read {:.2}s, preprocess {:.2}s ({:.0} docs/s), total {:.2}s -> {}",
            read_s,
            process_s,
            stats.docs as f64 / process_s.max(1e-9),
            started.elapsed().as_secs_f64(),
            args.output.display()
        );
    }
    Ok(())
}
