//! `rnnlab eval`: a model directory measured on a labelled file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rnnlab_baselines::metrics::{predict_classes, SplitMetrics};
use rnnlab_text::dataset::{self, Columns};
use serde_json::json;

use crate::flags::{warn_if_damaged, CsvArgs};
use crate::model_dir::{load_model, meta_str};

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
    /// Taggers on CSV or Parquet: the column of each sentence's words (space-joined, or a
    /// list in Parquet); with --tags-column. CoNLL-U files need neither.
    #[arg(long, value_name = "C", requires = "tags_column")]
    tokens_column: Option<String>,
    /// Taggers on CSV or Parquet: the column of the gold tags, one per word.
    #[arg(long, value_name = "T", requires = "tokens_column")]
    tags_column: Option<String>,
    #[command(flatten)]
    csv: CsvArgs,
    /// Also write the metrics to this file.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// seq2seq models: the source column of --input.
    #[arg(long, value_name = "C", requires = "target_column")]
    source_column: Option<String>,
    /// seq2seq models: the target column of --input.
    #[arg(long, value_name = "C", requires = "source_column")]
    target_column: Option<String>,
    /// Lemmatisers: take the UPOS tags from this tagger's model directory instead of the
    /// file's (the figures with predicted tags).
    #[arg(long, value_name = "TAGGER_DIR")]
    tags_from: Option<PathBuf>,
    /// Lemmatisers: hypotheses kept by beam search (1: greedy).
    #[arg(long, value_name = "K", default_value_t = 1)]
    beam: usize,
    /// Morphology dictionary, for models that lemmatise.
    #[arg(long, value_name = "DIR")]
    morph_dict: Option<PathBuf>,
}

pub fn eval(args: EvalArgs) -> Result<()> {
    if crate::lm::eval(
        &args.model_dir,
        &args.input,
        args.output.as_ref(),
        args.morph_dict.as_ref(),
    )? {
        return Ok(());
    }
    let pair = args.source_column.as_deref().zip(args.target_column.as_deref());
    let format = args.csv.format()?;
    if crate::seq2seq::eval(
        &args.model_dir,
        &args.input,
        pair,
        &format,
        args.beam,
        args.output.as_ref(),
    )? {
        return Ok(());
    }
    let tags_from = args.tags_from.as_ref();
    if crate::lemma::eval(&args.model_dir, &args.input, tags_from, args.beam, args.output.as_ref())? {
        return Ok(());
    }
    let columns = args.tokens_column.as_deref().zip(args.tags_column.as_deref());
    let tagged = crate::tag::EvalInput {
        path: &args.input,
        columns,
        format: args.csv.format()?,
    };
    if crate::tag::eval(&args.model_dir, &tagged, args.output.as_ref())? {
        return Ok(());
    }
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
    let table = dataset::read_table(&args.input, &args.csv.format()?)?;
    warn_if_damaged(
        &args.input.display().to_string(),
        table.invalid_utf8_rows,
        table.frame.height(),
    );
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
