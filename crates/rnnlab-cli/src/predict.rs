//! `rnnlab predict`: a model directory applied to texts or a file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rnnlab_baselines::metrics::predict_classes;
use rnnlab_text::dataset::{self};

use std::io::Write;

use rnnlab_baselines::files::PartialFile;
use rnnlab_text::batches::read_batches;

use crate::flags::{warn_if_damaged, CsvArgs};
use crate::model_dir::{load_model, meta_str, Loaded};

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
    /// Taggers on CSV or Parquet: the column of each sentence's words (space-joined, or a
    /// list in Parquet); the output has it and `tags`, space-joined. CoNLL-U needs none.
    #[arg(long, value_name = "C")]
    tokens_column: Option<String>,
    /// Id column of --input to copy to the output (default: the one of training, if present).
    #[arg(long, value_name = "C")]
    id_column: Option<String>,
    #[command(flatten)]
    csv: CsvArgs,
    /// Lemmatisers: the UPOS tag of the words given (NOUN, VERB, ...).
    #[arg(long, value_name = "TAG")]
    tag: Option<String>,
    /// Lemmatisers on CoNLL-U: take the UPOS tags from this tagger's model directory instead of
    /// the file.
    #[arg(long, value_name = "TAGGER_DIR")]
    tags_from: Option<PathBuf>,
    /// Lemmatisers: hypotheses kept by beam search (1: greedy).
    #[arg(long, value_name = "K", default_value_t = 1)]
    beam: usize,
    /// Morphology dictionary, for models that lemmatise.
    #[arg(long, value_name = "DIR")]
    morph_dict: Option<PathBuf>,
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Rows of `--input` read, classified and written at a time: memory holds one batch, whatever
/// the file's length.
pub(crate) const BATCH_ROWS: usize = 50_000;

/// Where predictions go: standard output, or `--output` written whole (a temporary name
/// renamed when every row is written; an error or a kill leaves no half file).
pub(crate) enum Sink {
    Stdout(std::io::BufWriter<std::io::StdoutLock<'static>>),
    File(PartialFile, PathBuf),
}

impl Sink {
    pub(crate) fn open(output: Option<&PathBuf>) -> Result<Self> {
        Ok(match output {
            Some(p) => Sink::File(
                PartialFile::create(p).with_context(|| format!("creating {}", p.display()))?,
                p.clone(),
            ),
            None => Sink::Stdout(std::io::BufWriter::new(std::io::stdout().lock())),
        })
    }

    pub(crate) fn out(&mut self) -> &mut dyn Write {
        match self {
            Sink::Stdout(w) => w,
            Sink::File(f, _) => f,
        }
    }

    pub(crate) fn finish(self) -> Result<()> {
        match self {
            Sink::Stdout(mut w) => Ok(w.flush()?),
            Sink::File(f, p) => f.commit().with_context(|| format!("writing {}", p.display())),
        }
    }
}

/// Writes the header, then one row per text: its id (or text), label and probabilities.
fn write_rows(out: &mut dyn Write, loaded: &Loaded, first: Option<&[String]>, texts: &[String]) -> Result<()> {
    let m = &loaded.model;
    let proba = loaded.predict_proba(texts)?;
    let classes = predict_classes(&proba, m.labels().positive, m.threshold());
    for (i, (p, &c)) in proba.iter().zip(&classes).enumerate() {
        let mut row: Vec<String> = Vec::new();
        if let Some(first) = first {
            row.push(csv_field(&first[i]));
        }
        row.push(csv_field(&m.labels().labels[c]));
        row.extend(p.iter().map(|v| format!("{v:.6}")));
        writeln!(out, "{}", row.join(","))?;
    }
    Ok(())
}

fn write_header(out: &mut dyn Write, loaded: &Loaded, first_col: Option<&str>) -> Result<()> {
    let mut header: Vec<String> = first_col.map(String::from).into_iter().collect();
    header.push("label".into());
    header.extend(loaded.model.labels().labels.iter().map(|l| format!("p_{l}")));
    writeln!(
        out,
        "{}",
        header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",")
    )?;
    Ok(())
}

pub fn predict(args: PredictArgs) -> Result<()> {
    let tagging = crate::tag::PredictInput {
        texts: &args.texts,
        input: args.input.as_ref(),
        output: args.output.as_ref(),
        tokens_column: args.tokens_column.as_deref(),
        id_column: args.id_column.as_deref(),
        format: args.csv.format()?,
    };
    if crate::tag::predict(&args.model_dir, &tagging)? {
        return Ok(());
    }
    let lemma = crate::lemma::PredictInput {
        words: &args.texts,
        tag: args.tag.as_deref(),
        tags_from: args.tags_from.as_ref(),
        beam: args.beam,
        input: args.input.as_ref(),
        output: args.output.as_ref(),
    };
    if crate::lemma::predict(&args.model_dir, &lemma)? {
        return Ok(());
    }
    if crate::seq2seq::predict(&args.model_dir, &args.texts, args.beam)? {
        return Ok(());
    }
    let loaded = load_model(&args.model_dir, args.morph_dict.as_ref())?;
    let Some(path) = &args.input else {
        if args.texts.is_empty() {
            return Err(rnnlab_text::Error::Data("give texts to classify, or --input F".into()).into());
        }
        let mut sink = Sink::open(args.output.as_ref())?;
        write_header(sink.out(), &loaded, Some("text"))?;
        write_rows(sink.out(), &loaded, Some(&args.texts), &args.texts)?;
        return sink.finish();
    };
    let text_col = args
        .text_column
        .clone()
        .or_else(|| meta_str(&loaded.meta, "text_column"))
        .unwrap_or_else(|| "text".into());
    let id_col = args.id_column.clone().or_else(|| meta_str(&loaded.meta, "id_column"));
    crate::interrupt::install();
    let mut sink = Sink::open(args.output.as_ref())?;
    let (mut rows, mut damaged) = (0usize, 0usize);
    let mut header_written = false;
    for table in read_batches(path, &args.csv.format()?, BATCH_ROWS)? {
        let table = table?;
        rows += table.frame.height();
        damaged += table.invalid_utf8_rows;
        let texts: Vec<String> = dataset::column_strings(&table, &text_col)?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        // The id column: one asked for must exist; the training one is copied when present.
        let ids = match &id_col {
            Some(c) if args.id_column.is_some() || table.frame.column(c).is_ok() => Some(
                dataset::column_strings(&table, c)?
                    .into_iter()
                    .map(Option::unwrap_or_default)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        if !header_written {
            write_header(sink.out(), &loaded, ids.as_ref().map(|_| "id"))?;
            header_written = true;
        }
        write_rows(sink.out(), &loaded, ids.as_deref(), &texts)?;
        if crate::interrupt::requested() {
            // Stopped by a signal: no output file, since it would be missing rows (the exit
            // code, 130 or 143, says so too).
            drop(sink);
            eprintln!("interrupted after {rows} rows; nothing written");
            return Ok(());
        }
    }
    if !header_written {
        write_header(sink.out(), &loaded, None)?;
    }
    warn_if_damaged(&path.display().to_string(), damaged, rows);
    sink.finish()
}
