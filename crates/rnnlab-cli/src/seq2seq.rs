//! The seq2seq task in `train`, `eval` and `predict`: a table's source and target columns in,
//! an encoder-decoder directory out; outputs of texts; the figures of a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rnnlab_experiment::seq2seq::{score, train_seq2seq, ParallelCorpus, Transducer, Units};
use rnnlab_rnn::seq2seq::{seq2seq_recipe, Seq2SeqConfig};
use rnnlab_rnn::CellKind;

use crate::progress::EpochBar;

/// A bad flag (exit code 2), as `bail!` would say it.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err(rnnlab_experiment::Error::Input(format!($($t)*)).into())
    };
}

/// The encoder-decoder recipe of `--model rnn | lstm | gru` (`--task seq2seq` and `lemma`) with
/// the network flags given applied; `None` for any other kind.
pub fn recipe(model: &crate::flags::ModelArgs, seed: u64) -> Result<Option<Seq2SeqConfig>> {
    let cell = match model.model.as_str() {
        "rnn" => CellKind::Rnn,
        "lstm" => CellKind::Lstm,
        "gru" => CellKind::Gru,
        _ => return Ok(None),
    };
    let mut config = seq2seq_recipe(cell);
    model
        .neural
        .apply(&mut config.rnn, rnnlab_baselines::linear::ClassWeight::None)?;
    config.rnn.optimisation.seed = seed;
    config.validate()?;
    Ok(Some(config))
}

/// `rnnlab train --task seq2seq --model rnn | lstm | gru`: the encoder-decoder recipe with the
/// network flags given applied.
pub fn train(
    corpus: &ParallelCorpus,
    units: (Units, Units),
    model: &crate::flags::ModelArgs,
    seed: u64,
    staged: crate::out_dir::Staged,
    out: &Path,
    quiet: bool,
) -> Result<()> {
    let Some(config) = recipe(model, seed)? else {
        bail!(
            "--task seq2seq --model {}: the encoder-decoder kinds are rnn, lstm, gru",
            model.model
        );
    };
    let device = model.device()?;
    if !quiet {
        eprintln!(
            "{}: {} / {} / {} rows; training {}",
            corpus.name,
            corpus.splits[0].len(),
            corpus.splits[1].len(),
            corpus.splits[2].len(),
            model.model
        );
    }
    let mut bar = EpochBar::with_metric(quiet, "accuracy");
    crate::interrupt::install();
    let m = train_seq2seq(corpus, &model.model, &config, units, staged.path(), &device, &mut bar)?;
    staged.commit_model(&m)?;
    if !quiet {
        let f = |k: &str| m["test"][k].as_f64().unwrap_or(f64::NAN);
        eprintln!(
            "test exact match {:.4}, CER {:.4}, BLEU {:.4} -> {}",
            f("accuracy"),
            f("cer"),
            f("bleu"),
            out.display()
        );
    }
    Ok(())
}

/// `rnnlab predict DIR TEXT... [--beam K]`: one output per text, one per line. `Ok(false)` when
/// `dir` is not a seq2seq model.
pub fn predict(dir: &Path, texts: &[String], beam: usize) -> Result<bool> {
    let Some((model, _)) = Transducer::load(dir, &candle_core::Device::Cpu)? else {
        return Ok(false);
    };
    if beam == 0 {
        bail!("--beam must be 1 or more");
    }
    if texts.is_empty() {
        bail!("give texts to transduce");
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in model.transduce(texts, beam)? {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(true)
}

/// `rnnlab eval DIR --input F --source-column S --target-column T`: exact match, CER and BLEU
/// as JSON. `Ok(false)` when `dir` is not a seq2seq model.
pub fn eval(
    dir: &Path,
    input: &Path,
    columns: Option<(&str, &str)>,
    format: &rnnlab_text::dataset::CsvFormat,
    beam: usize,
    output: Option<&PathBuf>,
) -> Result<bool> {
    let Some((model, _)) = Transducer::load(dir, &candle_core::Device::Cpu)? else {
        return Ok(false);
    };
    let Some((source, target)) = columns else {
        bail!("a seq2seq model is evaluated with --source-column and --target-column");
    };
    let rows = ParallelCorpus::from_tables([input, input, input], source, target, format)?.splits[0].clone();
    let (src, gold): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
    let pred = model.transduce(&src, beam.max(1))?;
    let report = serde_json::json!({
        "model": dir.display().to_string(),
        "input": input.display().to_string(),
        "beam": beam,
        "metrics": score(&pred, &gold),
    });
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(p) = output {
        rnnlab_baselines::files::write_atomic(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(true)
}
