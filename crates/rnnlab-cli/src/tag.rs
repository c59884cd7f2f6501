//! The tagging task in `train`, `eval` and `predict`: CoNLL-U in, a tagger directory out;
//! `word<TAB>tag` lines or a CoNLL-U file with its tag column filled.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rnnlab_experiment::tagging::{score, train_tagger, AnyTagger, TaggerSpec};
use rnnlab_text::conllu::{self, TagColumn, TaggedCorpus};
use serde_json::Value;

/// `rnnlab train` on a tagging corpus.
pub fn train(
    corpus: &TaggedCorpus,
    model: &crate::flags::ModelArgs,
    seed: u64,
    staged: crate::out_dir::Staged,
    out: &Path,
    quiet: bool,
) -> Result<()> {
    let spec = tagger_spec(model)?;
    let device = model.device()?;
    if !quiet {
        let words = |k: usize| corpus.words[k].iter().map(Vec::len).sum::<usize>();
        eprintln!(
            "{}: {} / {} / {} sentences ({} / {} / {} words); training {}",
            corpus.name,
            corpus.words[0].len(),
            corpus.words[1].len(),
            corpus.words[2].len(),
            words(0),
            words(1),
            words(2),
            spec.kind()
        );
    }
    let mut bar = crate::progress::EpochBar::new(quiet);
    crate::interrupt::install();
    let m = train_tagger(corpus, &spec, seed, staged.path(), &device, &mut bar)?;
    staged.commit_model(&m)?;
    if !quiet {
        let f = |split: &str, key: &str| m[split][key].as_f64().unwrap_or(f64::NAN);
        eprintln!(
            "test accuracy {:.4} (val {:.4}), unseen words {:.4}, sentences {:.4}; train {:.2}s -> {}",
            f("test", "accuracy"),
            f("val", "accuracy"),
            f("test", "accuracy_oov"),
            f("test", "sentence_accuracy"),
            m["timings"]["train_s"].as_f64().unwrap_or(f64::NAN),
            out.display()
        );
    }
    Ok(())
}

/// The tagger `--model` names: a recurrent one starts from the reference recipe, and the
/// network flags given change it.
pub fn tagger_spec(model: &crate::flags::ModelArgs) -> Result<TaggerSpec> {
    let mut spec = TaggerSpec::from_kind(&model.model)?;
    if let Some(config) = spec.config_mut() {
        model
            .neural
            .apply(config, rnnlab_baselines::linear::ClassWeight::None)?;
    }
    Ok(spec)
}

/// The tag column a tagger directory was trained on.
fn tag_column(meta: &Value) -> TagColumn {
    serde_json::from_value(meta["tag_column"].clone()).unwrap_or(TagColumn::Upos)
}

/// The labelled file of `rnnlab eval` on a tagger: CoNLL-U, or CSV/Parquet with the words'
/// and tags' columns.
pub struct EvalInput<'a> {
    pub path: &'a Path,
    pub columns: Option<(&'a str, &'a str)>,
    pub format: rnnlab_text::dataset::CsvFormat,
}

/// `rnnlab eval DIR --input F.conllu` (or a CSV with `--tokens-column/--tags-column`): the
/// tagging figures as JSON. `Ok(false)` when `dir` is not a tagger.
pub fn eval(dir: &Path, input: &EvalInput, output: Option<&PathBuf>) -> Result<bool> {
    let Some((tagger, meta)) = AnyTagger::load(dir)? else {
        return Ok(false);
    };
    let conllu_file = input.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("conllu"));
    let (words, gold) = match input.columns {
        Some((tokens, tags)) => conllu::read_tagged_table(input.path, tokens, tags, &input.format)?,
        None if conllu_file => {
            let column = tag_column(&meta);
            let sentences = conllu::read_file(input.path)?;
            let words = sentences.iter().map(|s| s.forms()).collect();
            let gold = sentences.iter().map(|s| s.tags(column)).collect();
            (words, gold)
        }
        None => {
            return Err(rnnlab_text::Error::Data(format!(
                "{}: a tagger is measured on a CoNLL-U file (.conllu), or on CSV/Parquet with --tokens-column and --tags-column",
                input.path.display()
            ))
            .into())
        }
    };
    let vocabulary = AnyTagger::vocabulary(dir)?;
    let unseen: Vec<Vec<bool>> = words
        .iter()
        .map(|s| s.iter().map(|w| !vocabulary.contains(w)).collect())
        .collect();
    let predicted = tagger.predict_ids(&words)?;
    let metrics = score(tagger.tags(), &predicted, &gold, &unseen)?;
    let report = serde_json::json!({
        "model": dir.display().to_string(),
        "input": input.path.display().to_string(),
        "sentences": words.len(),
        "metrics": metrics,
    });
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(p) = output {
        rnnlab_baselines::files::write_atomic(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(true)
}

/// What `rnnlab predict` gives a tagger.
pub struct PredictInput<'a> {
    pub texts: &'a [String],
    pub input: Option<&'a PathBuf>,
    pub output: Option<&'a PathBuf>,
    pub tokens_column: Option<&'a str>,
    pub id_column: Option<&'a str>,
    pub format: rnnlab_text::dataset::CsvFormat,
}

/// `rnnlab predict DIR TEXT...` (`word<TAB>tag` lines, a blank line after each text; words are
/// the text split on whitespace), `--input F.conllu [--output G.conllu]` (the tag column
/// filled, every other byte kept) or `--input F.csv --tokens-column C` (CSV out: the id column
/// if asked, the words and their tags, space-joined). `Ok(false)` when `dir` is not a tagger.
pub fn predict(dir: &Path, args: &PredictInput) -> Result<bool> {
    let Some((tagger, meta)) = AnyTagger::load(dir)? else {
        return Ok(false);
    };
    let (input, output) = (args.input, args.output);
    if let Some(path) = input.filter(|p| !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("conllu"))) {
        let Some(tokens) = args.tokens_column else {
            return Err(rnnlab_text::Error::Data(format!(
                "{}: a tagger reads CoNLL-U files (.conllu), or CSV/Parquet with --tokens-column",
                path.display()
            ))
            .into());
        };
        predict_table(&tagger, path, tokens, args, output)?;
        return Ok(true);
    }
    let texts = args.texts;
    match input {
        Some(path) => {
            let sentences = conllu::read_file(path)?;
            let words: Vec<Vec<String>> = sentences.iter().map(|s| s.forms()).collect();
            let column = tag_column(&meta);
            let filled: Vec<conllu::Sentence> = sentences
                .iter()
                .zip(tagger.predict(&words)?)
                .map(|(s, tags)| s.with_tags(column, &tags))
                .collect();
            match output {
                Some(p) => conllu::write_file(p, &filled)?,
                None => std::io::stdout().lock().write_all(conllu::write(&filled).as_bytes())?,
            }
        }
        None => {
            if texts.is_empty() {
                return Err(rnnlab_text::Error::Data("give texts to tag, or --input F.conllu".into()).into());
            }
            let sentences: Vec<Vec<String>> = texts
                .iter()
                .map(|t| t.split_whitespace().map(String::from).collect())
                .collect();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for (words, tags) in sentences.iter().zip(tagger.predict(&sentences)?) {
                for (w, t) in words.iter().zip(tags) {
                    writeln!(out, "{w}\t{t}")?;
                }
                writeln!(out)?;
            }
            out.flush()?;
        }
    }
    Ok(true)
}

/// Tags the sentences of a CSV or Parquet file, 50,000 rows at a time, into CSV.
fn predict_table(
    tagger: &AnyTagger,
    path: &Path,
    tokens: &str,
    args: &PredictInput,
    output: Option<&PathBuf>,
) -> Result<()> {
    use crate::predict::{csv_field, Sink, BATCH_ROWS};
    crate::interrupt::install();
    let mut sink = Sink::open(output)?;
    let mut header = args.id_column.map(csv_field).into_iter().collect::<Vec<_>>();
    header.extend([csv_field(tokens), "tags".to_string()]);
    let mut rows = 0usize;
    for table in rnnlab_text::batches::read_batches(path, &args.format, BATCH_ROWS)? {
        let table = table?;
        rows += table.frame.height();
        let words = rnnlab_text::dataset::column_token_lists(&table, tokens)?;
        let ids = args
            .id_column
            .map(|c| rnnlab_text::dataset::column_strings(&table, c))
            .transpose()?;
        let tags = tagger.predict(&words)?;
        if rows == table.frame.height() {
            // The first batch read and tagged: its columns exist.
            writeln!(sink.out(), "{}", header.join(","))?;
        }
        for (i, (w, t)) in words.iter().zip(&tags).enumerate() {
            let mut row = Vec::with_capacity(3);
            if let Some(ids) = &ids {
                row.push(csv_field(ids[i].as_deref().unwrap_or_default()));
            }
            row.push(csv_field(&w.join(" ")));
            row.push(csv_field(&t.join(" ")));
            writeln!(sink.out(), "{}", row.join(","))?;
        }
        if crate::interrupt::requested() {
            drop(sink);
            eprintln!("interrupted after {rows} rows; nothing written");
            return Ok(());
        }
    }
    if rows == 0 {
        writeln!(sink.out(), "{}", header.join(","))?;
    }
    sink.finish()
}
