//! The language-model task in `train` and `eval`: word streams in, a `kneser-ney` directory
//! out; perplexity of a file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rnnlab_experiment::lm::{train_lm, NgramLm, DEFAULT_ORDER};
use rnnlab_text::lm_stream::{read_sentences, stream, LmCorpus};

/// `rnnlab train --task lm`.
pub fn train(
    corpus: &LmCorpus,
    model: &crate::flags::ModelArgs,
    staged: crate::out_dir::Staged,
    out: &Path,
    quiet: bool,
) -> Result<()> {
    if !quiet {
        eprintln!(
            "{}: {} / {} / {} tokens (<eos> after each sentence); training {}",
            corpus.name,
            corpus.streams[0].len(),
            corpus.streams[1].len(),
            corpus.streams[2].len(),
            model.model
        );
    }
    let order = model.order.unwrap_or(DEFAULT_ORDER);
    let m = train_lm(corpus, &model.model, order, staged.path())?;
    if let Some(recipe) = crate::recipe::recipe() {
        let path = staged.path().join("recipe.toml");
        rnnlab_baselines::files::write_atomic(&path, recipe.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    staged.commit()?;
    if !quiet {
        let f = |split: &str| m[split]["perplexity"].as_f64().unwrap_or(f64::NAN);
        eprintln!(
            "test perplexity {:.2} (val {:.2}), vocabulary {}; train {:.2}s -> {}",
            f("test"),
            f("val"),
            m["vocab_size"],
            m["timings"]["train_s"].as_f64().unwrap_or(f64::NAN),
            out.display()
        );
    }
    Ok(())
}

/// `rnnlab eval DIR --input F` on a language model: perplexity as JSON. `Ok(false)` when `dir`
/// is not a language model.
pub fn eval(dir: &Path, input: &Path, output: Option<&PathBuf>) -> Result<bool> {
    let Some((lm, _)) = NgramLm::load(dir)? else {
        return Ok(false);
    };
    let words = stream(read_sentences(input)?);
    let report = serde_json::json!({
        "model": dir.display().to_string(),
        "input": input.display().to_string(),
        "metrics": lm.score(&words),
    });
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(p) = output {
        rnnlab_baselines::files::write_atomic(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(true)
}
