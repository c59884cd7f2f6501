//! `rnnlab predict`: a model directory applied to texts or a file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rnnlab_baselines::metrics::predict_classes;
use rnnlab_text::dataset::{self};

use crate::flags::{warn_if_damaged, CsvArgs};
use crate::model_dir::{load_model, meta_str};

#[derive(Args)]
pub struct PredictArgs {
    /// The model directory (from `rnnlab train`).
    model_dir: PathBuf,
    /// Texts to classify (or use --input).
    texts: Vec<String>,
    /// A file of texts (CSV or Parquet).
    #[arg(long, value_name = "F", conflicts_with = "texts")]
    input: Option<PathBuf>,
    /// Where to write predictions (CSV); default: standard output.
    #[arg(long, value_name = "F")]
    output: Option<PathBuf>,
    /// Text column of --input (default: the one of training).
    #[arg(long, value_name = "C")]
    text_column: Option<String>,
    /// Id column of --input to copy to the output (default: the one of training, if present).
    #[arg(long, value_name = "C")]
    id_column: Option<String>,
    #[command(flatten)]
    csv: CsvArgs,
    /// Morphology dictionary, for models that lemmatise.
    #[arg(long, value_name = "DIR")]
    morph_dict: Option<PathBuf>,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn predict(args: PredictArgs) -> Result<()> {
    use std::io::Write;
    let loaded = load_model(&args.model_dir, args.morph_dict.as_ref())?;
    let m = &loaded.model;
    let (first_col, first, texts): (&str, Vec<String>, Vec<String>) = match &args.input {
        Some(path) => {
            let text_col = args
                .text_column
                .clone()
                .or_else(|| meta_str(&loaded.meta, "text_column"))
                .unwrap_or_else(|| "text".into());
            let table = dataset::read_table(path, &args.csv.format()?)?;
            warn_if_damaged(
                &path.display().to_string(),
                table.invalid_utf8_rows,
                table.frame.height(),
            );
            let texts: Vec<String> = dataset::column_strings(&table, &text_col)?
                .into_iter()
                .map(Option::unwrap_or_default)
                .collect();
            let id_col = args.id_column.clone().or_else(|| meta_str(&loaded.meta, "id_column"));
            let ids = match id_col {
                Some(c) if args.id_column.is_some() || table.frame.column(&c).is_ok() => {
                    let ids = dataset::column_strings(&table, &c)?;
                    Some((c, ids.into_iter().map(Option::unwrap_or_default).collect::<Vec<_>>()))
                }
                _ => None,
            };
            match ids {
                Some((_, ids)) => ("id", ids, texts),
                None => ("", Vec::new(), texts),
            }
        }
        None => {
            if args.texts.is_empty() {
                return Err(rnnlab_text::Error::Data("give texts to classify, or --input F".into()).into());
            }
            ("text", args.texts.clone(), args.texts.clone())
        }
    };
    let proba = loaded.predict_proba(&texts)?;
    let classes = predict_classes(&proba, m.labels().positive, m.threshold());
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut header: Vec<String> = Vec::new();
    if !first_col.is_empty() {
        header.push(first_col.to_string());
    }
    header.push("label".into());
    header.extend(m.labels().labels.iter().map(|l| format!("p_{l}")));
    writeln!(
        out,
        "{}",
        header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",")
    )?;
    for (i, (p, &c)) in proba.iter().zip(&classes).enumerate() {
        let mut row: Vec<String> = Vec::new();
        if !first_col.is_empty() {
            row.push(csv_field(&first[i]));
        }
        row.push(csv_field(&m.labels().labels[c]));
        row.extend(p.iter().map(|v| format!("{v:.6}")));
        writeln!(out, "{}", row.join(","))?;
    }
    out.flush()?;
    Ok(())
}
