//! `rnnlab preprocess`: the pipeline over a text column, written back as CSV or Parquet.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rnnlab_text::batches::{read_batches, TableWriter};
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
        add_stats(&mut stats, &s);
        if let Some(b) = bar {
            b.inc(chunk.len() as u64);
        }
    }
    (out, stats)
}

/// Rows of `--input` read, preprocessed and written at a time.
const BATCH_ROWS: usize = 50_000;

fn add_stats(total: &mut PipelineStats, s: &PipelineStats) {
    total.docs += s.docs;
    total.repaired += s.repaired;
    total.mojibake += s.mojibake;
    total.html_entities += s.html_entities;
    total.empty += s.empty;
    total.tokens += s.tokens;
}

fn texts_of(table: &Table, column: &str) -> Result<Vec<String>> {
    Ok(dataset::column_strings(table, column)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

pub fn run(args: PreprocessArgs, quiet: bool) -> Result<()> {
    let started = Instant::now();
    let as_list = args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let (default_lang, dataset) = match &args.dataset {
        Some(name) => {
            let spec = dataset::find_dataset(name)?;
            let dir = dataset::resolve_data_dir(args.data_dir.as_deref())?;
            (Some(spec.lang), Some(dataset::load_named(&spec, &dir)?))
        }
        None => (None, None),
    };
    let pipeline = args.prep.pipeline(default_lang)?;
    let lemmatizer = args.prep.lemmatizer(&pipeline)?;
    let mut pre = Preprocessor::new(pipeline, lemmatizer)?;
    let format = args.csv.format()?;
    let input = args.input.as_ref();
    // A learning step (hashtag segmentation) learns from the training split of a data set,
    // else from every row of --input: a first pass that holds the texts (only then does memory
    // grow with the input).
    if pre.needs_fit() {
        let texts: Vec<String> = match (&dataset, input) {
            (Some(ds), _) => (0..ds.len())
                .filter(|&i| ds.splits[i] == dataset::Split::Train)
                .map(|i| ds.texts[i].clone())
                .collect(),
            (None, Some(path)) => {
                let mut all = Vec::new();
                for table in read_batches(path, &format, BATCH_ROWS)? {
                    all.extend(texts_of(&table?, &args.text_column)?);
                }
                all
            }
            (None, None) => unreachable!("clap requires --input or --dataset"),
        };
        let rows: Vec<&str> = texts.iter().map(String::as_str).collect();
        pre = pre.fit(&rows)?;
    }
    if let Some(p) = &args.save_pipeline {
        pre.pipeline().save(p)?;
    }

    let bar = crate::show_progress(quiet).then(|| {
        let b = ProgressBar::new_spinner();
        b.set_style(ProgressStyle::with_template("{pos} docs {per_sec} [{elapsed}]").expect("valid template"));
        b
    });
    crate::interrupt::install();
    let mut writer = TableWriter::create(&args.output)?;
    let (mut stats, mut invalid, mut rows) = (PipelineStats::default(), 0usize, 0usize);
    let mut process_s = 0.0;
    let mut run_batch = |mut frame: polars::prelude::DataFrame, texts: &[String]| -> Result<()> {
        let t0 = Instant::now();
        let (tokens, s) = run_chunked(&pre, texts, bar.as_ref());
        process_s += t0.elapsed().as_secs_f64();
        add_stats(&mut stats, &s);
        dataset::add_tokens_column(&mut frame, &tokens, as_list)?;
        writer.write(&mut frame)?;
        Ok(())
    };
    match (&dataset, input) {
        (Some(ds), _) => {
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
            invalid = ds.invalid_utf8_rows;
            run_batch(frame, &ds.texts)?;
        }
        (None, Some(path)) => {
            for table in read_batches(path, &format, BATCH_ROWS)? {
                let table = table?;
                let texts = texts_of(&table, &args.text_column)?;
                invalid += table.invalid_utf8_rows;
                rows += texts.len();
                run_batch(table.frame, &texts)?;
                if crate::interrupt::requested() {
                    // No output file: it would be missing rows (the exit code says so too).
                    eprintln!("interrupted after {rows} rows; nothing written");
                    return Ok(());
                }
            }
            warn_if_damaged(&path.display().to_string(), invalid, rows);
        }
        (None, None) => unreachable!("clap requires --input or --dataset"),
    }
    writer.finish()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }

    if !quiet {
        eprintln!(
            "{} rows ({} with invalid UTF-8 replaced, {} repaired: {} mojibake, {} HTML entities), {} empty after preprocessing, {} tokens",
            stats.docs, invalid, stats.repaired, stats.mojibake, stats.html_entities, stats.empty, stats.tokens
        );
        eprintln!(
            "preprocess {:.2}s ({:.0} docs/s), total {:.2}s -> {}",
            process_s,
            stats.docs as f64 / process_s.max(1e-9),
            started.elapsed().as_secs_f64(),
            args.output.display()
        );
    }
    Ok(())
}
