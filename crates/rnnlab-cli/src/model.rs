//! `rnnlab train`, `eval` and `predict`: data in, model directory out, and back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use rnnlab_models::baseline::{Baseline, BaselineKind, BaselineParams};
use rnnlab_models::linear::ClassWeight;
use rnnlab_models::metrics::{best_threshold, predict_classes, SplitMetrics};
use rnnlab_models::LabelSet;
use rnnlab_text::dataset::{self, Columns, Dataset, Split};
use rnnlab_text::{Pipeline, Preprocessor};
use rnnlab_vectorize::Df;
use serde_json::{json, Value};

use crate::PrepArgs;

/// Where labelled data comes from: a named data set or CSV/Parquet files.
#[derive(Args, Clone, Debug)]
pub struct DataArgs {
    /// A named data set (twitter-hate-speech, sentirueval2015-banks, sentirueval2015-telecoms).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["train", "test"])]
    pub dataset: Option<String>,
    /// The data folder for --dataset (default: $RNNLAB_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Training file (CSV or Parquet).
    #[arg(long, value_name = "F", requires = "test")]
    pub train: Option<PathBuf>,
    /// Validation file; without it a stratified 10 % of --train (seeded by --seed) is used.
    #[arg(long, value_name = "F", requires = "train")]
    pub val: Option<PathBuf>,
    /// Test file.
    #[arg(long, value_name = "F", requires = "train")]
    pub test: Option<PathBuf>,
    /// Text column of the files.
    #[arg(long, value_name = "C", default_value = "text")]
    pub text_column: String,
    /// Label column of the files (numbers or strings).
    #[arg(long, value_name = "L", default_value = "label")]
    pub label_column: String,
    /// Id column of the files, carried to predictions.
    #[arg(long, value_name = "C")]
    pub id_column: Option<String>,
    /// CSV field delimiter.
    #[arg(long, default_value = ",", value_name = "CHAR")]
    pub delimiter: char,
    /// Positive label of a binary task (default: the last in sorted order).
    #[arg(long, value_name = "L")]
    pub positive_label: Option<String>,
}

/// A task ready to preprocess: the rows, the split, and what describes it.
pub struct Task {
    pub data: Dataset,
    pub name: String,
    pub columns: Columns,
    pub lang: Option<rnnlab_text::Lang>,
    pub positive_label: Option<String>,
}

impl DataArgs {
    pub fn load(&self, seed: u64) -> Result<Task> {
        if !self.delimiter.is_ascii() {
            return Err(rnnlab_text::Error::Data(format!(
                "--delimiter {:?} must be one ASCII character",
                self.delimiter
            ))
            .into());
        }
        if let Some(name) = &self.dataset {
            let spec = dataset::find_dataset(name)?;
            let dir = dataset::resolve_data_dir(self.data_dir.as_deref())?;
            let data = dataset::load_named(&spec, &dir)?;
            return Ok(Task {
                data,
                name: spec.name.clone(),
                columns: Columns {
                    text: spec.text_column.clone(),
                    label: spec.label_column.clone(),
                    id: Some(spec.id_column.clone()),
                },
                lang: Some(spec.lang),
                positive_label: self.positive_label.clone().or(spec.positive_label.clone()),
            });
        }
        let (Some(train), Some(test)) = (&self.train, &self.test) else {
            return Err(rnnlab_text::Error::Data("give --dataset NAME, or --train F --test F".into()).into());
        };
        let columns = Columns {
            text: self.text_column.clone(),
            label: self.label_column.clone(),
            id: self.id_column.clone(),
        };
        let data = dataset::load_files(train, self.val.as_deref(), test, &columns, self.delimiter as u8, seed)?;
        Ok(Task {
            name: train.display().to_string(),
            data,
            columns,
            lang: None,
            positive_label: self.positive_label.clone(),
        })
    }
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Model kind: count-logreg, hashing-logreg, tfidf-logreg, char-tfidf-logreg, nb, nbsvm.
    #[arg(long, value_name = "KIND")]
    model: String,
    /// Output model directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Seed (for the validation split of --train files).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// N-gram range "MIN,MAX" (default 1,2 for words, 2,5 for char-tfidf).
    #[arg(long, value_name = "MIN,MAX")]
    ngram_range: Option<String>,
    /// Ignore terms in fewer documents (a count, or a fraction like 0.001). Default 2 (nb, nbsvm: 1).
    #[arg(long, value_name = "N|F")]
    min_df: Option<Df>,
    /// Ignore terms in more documents (a count or a fraction). Default 1.0.
    #[arg(long, value_name = "N|F")]
    max_df: Option<Df>,
    /// Keep only the most frequent terms.
    #[arg(long, value_name = "N")]
    max_features: Option<usize>,
    /// Binary term presence instead of counts (default: on for count-logreg and nbsvm).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    binary: Option<bool>,
    /// TF-IDF with 1 + ln(tf) (default on).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    sublinear_tf: Option<bool>,
    /// Columns of the hashing vectorizer (default 2^18).
    #[arg(long, value_name = "N")]
    n_features: Option<usize>,
    /// Signed hashing (default off).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    alternate_sign: Option<bool>,
    /// Inverse regularisation of logistic regression (default 10; nbsvm 1).
    #[arg(long = "c", value_name = "C")]
    c: Option<f64>,
    /// Class weights: none or balanced.
    #[arg(long, value_name = "none|balanced", default_value = "none")]
    class_weights: String,
    /// Smoothing of naive Bayes and NB-LR (default 1).
    #[arg(long, value_name = "A")]
    alpha: Option<f64>,
    #[command(flatten)]
    prep: PrepArgs,
}

fn parse_range(s: &str) -> Result<(usize, usize)> {
    let bad = || rnnlab_text::Error::Data(format!("--ngram-range {s:?}: expected MIN,MAX such as 1,2"));
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

/// Labels as JSON: numbers when they are numbers (as in the data), else strings.
pub fn label_json(l: &str) -> Value {
    if let Ok(i) = l.parse::<i64>() {
        return json!(i);
    }
    if let Ok(f) = l.parse::<f64>() {
        if f.is_finite() {
            return json!(f);
        }
    }
    json!(l)
}

fn rows_of(data: &Dataset, split: Split) -> Vec<usize> {
    (0..data.len()).filter(|&i| data.splits[i] == split).collect()
}

fn pick<T: Clone>(items: &[T], rows: &[usize]) -> Vec<T> {
    rows.iter().map(|&i| items[i].clone()).collect()
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

pub fn train(args: TrainArgs, quiet: bool) -> Result<()> {
    let kind = BaselineKind::from_name(&args.model).ok_or_else(|| {
        let known: Vec<&str> = BaselineKind::ALL.iter().map(|k| k.name()).collect();
        rnnlab_text::Error::Data(format!(
            "unknown or not yet available model kind {:?}; available: {}",
            args.model,
            known.join(", ")
        ))
    })?;
    let task = args.data.load(args.seed)?;
    let data = &task.data;
    let pipeline = args.prep.pipeline(task.lang)?;
    let lemmatizer = args.prep.lemmatizer(&pipeline)?;
    let pre = Preprocessor::new(pipeline, lemmatizer)?;

    let t0 = Instant::now();
    let (tokens, _) = pre.process_all(&data.texts);
    let preprocess_s = t0.elapsed().as_secs_f64();

    let (tr, va, te) = (
        rows_of(data, Split::Train),
        rows_of(data, Split::Val),
        rows_of(data, Split::Test),
    );
    if tr.is_empty() || va.is_empty() || te.is_empty() {
        return Err(rnnlab_text::Error::Data(format!(
            "every split needs rows: train {}, val {}, test {}",
            tr.len(),
            va.len(),
            te.len()
        ))
        .into());
    }
    let labels = LabelSet::fit(&pick(&data.labels, &tr), task.positive_label.as_deref())?;
    let y_tr = labels.encode(&pick(&data.labels, &tr), "training data")?;
    let y_va = labels.encode(&pick(&data.labels, &va), "validation data")?;
    let y_te = labels.encode(&pick(&data.labels, &te), "test data")?;

    let class_weight = match args.class_weights.as_str() {
        "none" => ClassWeight::None,
        "balanced" => ClassWeight::Balanced,
        other => {
            return Err(
                rnnlab_text::Error::Data(format!("--class-weights {other:?}: expected none or balanced")).into(),
            )
        }
    };
    let params = BaselineParams {
        ngram_range: args.ngram_range.as_deref().map(parse_range).transpose()?,
        min_df: args.min_df,
        max_df: args.max_df,
        max_features: args.max_features,
        binary: args.binary,
        sublinear_tf: args.sublinear_tf,
        n_features: args.n_features,
        alternate_sign: args.alternate_sign,
        c: args.c,
        class_weight,
        alpha: args.alpha,
    };
    if !quiet {
        eprintln!(
            "{}: {} train / {} val / {} test rows, {} classes; training {}",
            task.name,
            tr.len(),
            va.len(),
            te.len(),
            labels.n_classes(),
            kind.name()
        );
    }
    let (mut model, fit) = Baseline::fit_timed(kind, params, labels.clone(), &pick(&tokens, &tr), &y_tr)?;

    let p_va = model.predict_proba(&pick(&tokens, &va))?;
    if let Some(pos) = labels.positive {
        model.threshold = Some(best_threshold(&y_va, &p_va, pos));
    }
    let te_tokens = pick(&tokens, &te);
    let t_pred = Instant::now();
    let p_te = model.predict_proba(&te_tokens)?;
    let predict_s = t_pred.elapsed().as_secs_f64();
    let m_va = SplitMetrics::compute(
        &y_va,
        &predict_classes(&p_va, labels.positive, model.threshold),
        labels.n_classes(),
        labels.positive,
    );
    let m_te = SplitMetrics::compute(
        &y_te,
        &predict_classes(&p_te, labels.positive, model.threshold),
        labels.n_classes(),
        labels.positive,
    );

    let meta = json!({
        "dataset": task.name,
        "text_column": task.columns.text,
        "label_column": task.columns.label,
        "id_column": task.columns.id,
        "lang": pre.pipeline().lang,
        "n_features": fit.n_features,
    });
    model.save(&args.out, meta)?;
    pre.pipeline().save(&args.out.join("pipeline.json"))?;
    let metrics = json!({
        "kind": kind.name(),
        "dataset": task.name,
        "params": serde_json::to_value(&model.resolved)?,
        "seed": args.seed,
        "labels": labels.labels.iter().map(|l| label_json(l)).collect::<Vec<_>>(),
        "positive_label": labels.positive.map(|k| label_json(&labels.labels[k])),
        "threshold": model.threshold,
        "val": m_va,
        "test": m_te,
        "timings": {
            "preprocess_s": round4(preprocess_s),
            "vectorize_s": round4(fit.vectorize_s),
            "train_s": round4(fit.train_s),
            "predict_docs_per_s": (te.len() as f64 / predict_s.max(1e-9)).round(),
        },
        "n_features": fit.n_features,
        "peak_rss_mb": crate::bench::peak_rss_mb(),
    });
    std::fs::write(args.out.join("metrics.json"), serde_json::to_string_pretty(&metrics)?)
        .with_context(|| format!("writing {}", args.out.join("metrics.json").display()))?;
    if !quiet {
        let main = if labels.is_binary() { "F1" } else { "macro-F1" };
        eprintln!(
            "test {main} {:.4} (val {:.4}), accuracy {:.4}; {} features; vectorize {:.2}s, train {:.2}s -> {}",
            m_te.main_metric(),
            m_va.main_metric(),
            m_te.accuracy,
            fit.n_features,
            fit.vectorize_s,
            fit.train_s,
            args.out.display()
        );
    }
    Ok(())
}

/// A model directory loaded for eval / predict.
struct Loaded {
    model: Baseline,
    pre: Preprocessor,
    meta: Value,
}

fn load_model(dir: &Path, morph_dict: Option<&PathBuf>) -> Result<Loaded> {
    if !dir.join("model.json").is_file() {
        return Err(
            rnnlab_text::Error::Data(format!("{} is not a model directory (no model.json)", dir.display())).into(),
        );
    }
    let (model, card) = Baseline::load(dir).map_err(|e| rnnlab_text::Error::Data(e.to_string()))?;
    let pipeline = Pipeline::load(&dir.join("pipeline.json"))?;
    let lemmatizer = if pipeline.needs_lemmatizer() {
        Some(crate::load_lemmatizer(morph_dict)?)
    } else {
        None
    };
    let pre = Preprocessor::new(pipeline, lemmatizer.map(|l: Arc<_>| l))?;
    Ok(Loaded {
        model,
        pre,
        meta: card.meta,
    })
}

fn meta_str(meta: &Value, key: &str) -> Option<String> {
    meta.get(key).and_then(Value::as_str).map(str::to_string)
}

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
    #[arg(long, default_value = ",", value_name = "CHAR")]
    delimiter: char,
    /// Also write the metrics to this file.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Morphology dictionary, for models that lemmatise.
    #[arg(long, value_name = "DIR")]
    morph_dict: Option<PathBuf>,
}

pub fn eval(args: EvalArgs) -> Result<()> {
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
    let table = dataset::read_table(&args.input, args.delimiter as u8)?;
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
        .labels
        .encode(&labels, &args.input.display().to_string())
        .map_err(|e| rnnlab_text::Error::Data(e.to_string()))?;
    let (tokens, _) = loaded.pre.process_all(&texts);
    let proba = m.predict_proba(&tokens)?;
    let metrics = SplitMetrics::compute(
        &y,
        &predict_classes(&proba, m.labels.positive, m.threshold),
        m.labels.n_classes(),
        m.labels.positive,
    );
    let out = json!({
        "model": args.model_dir.display().to_string(),
        "input": args.input.display().to_string(),
        "rows": texts.len(),
        "threshold": m.threshold,
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
    #[arg(long, default_value = ",", value_name = "CHAR")]
    delimiter: char,
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
            let table = dataset::read_table(path, args.delimiter as u8)?;
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
    let (tokens, _) = loaded.pre.process_all(&texts);
    let proba = m.predict_proba(&tokens)?;
    let classes = predict_classes(&proba, m.labels.positive, m.threshold);
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
    header.extend(m.labels.labels.iter().map(|l| format!("p_{l}")));
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
        row.push(csv_field(&m.labels.labels[c]));
        row.extend(p.iter().map(|v| format!("{v:.6}")));
        writeln!(out, "{}", row.join(","))?;
    }
    out.flush()?;
    Ok(())
}
