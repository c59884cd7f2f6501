//! The language-model task in `train`, `eval` and `generate`: word streams in, a `kneser-ney`
//! or recurrent directory out; perplexity of a file; text sampled from a model.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use rnnlab_experiment::lm::{train_lm, AnyLm, LmSpec, DEFAULT_ORDER, LM_KINDS};
use rnnlab_rnn::language_model::{lm_recipe, Sampling};
use rnnlab_rnn::{CellKind, Rng};
use rnnlab_text::lm_stream::{read_sentences, stream, LmCorpus};

use crate::progress::EpochBar;

/// A bad flag or model directory (exit code 2), as `bail!` would say it.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err(rnnlab_experiment::Error::Input(format!($($t)*)).into())
    };
}

/// The language model the flags describe: `kneser-ney` with `--order`, `rnn` / `lstm` /
/// `gru` on the reference recipe with the network flags given applied, or `best-rnn` (LSTMs of
/// that recipe and `kneser-ney` of `--order`, mixed).
pub fn spec(model: &crate::flags::ModelArgs, seed: u64) -> Result<LmSpec> {
    let order = model.order.unwrap_or(DEFAULT_ORDER);
    if order == 0 {
        bail!("--order must be 1 or more");
    }
    let cell = match model.model.as_str() {
        "kneser-ney" => return Ok(LmSpec::KneserNey { order }),
        "rnn" => CellKind::Rnn,
        "lstm" | "best-rnn" => CellKind::Lstm,
        "gru" => CellKind::Gru,
        other => bail!(
            "--task lm --model {other}: the language-model kinds are {}",
            LM_KINDS.join(", ")
        ),
    };
    let mut config = lm_recipe(cell);
    model
        .neural
        .apply(&mut config.rnn, rnnlab_baselines::linear::ClassWeight::None)?;
    config.rnn.optimisation.seed = seed;
    if let Some(b) = model.bptt {
        config.bptt = b;
    }
    if let Some(t) = model.tie_weights {
        config.tie_weights = t;
    }
    config.validate()?;
    let config = Box::new(config);
    Ok(match model.model.as_str() {
        "best-rnn" => LmSpec::Best { config, order },
        kind => LmSpec::Recurrent {
            kind: kind.to_string(),
            config,
        },
    })
}

/// `rnnlab train --task lm`.
pub fn train(
    corpus: &LmCorpus,
    model: &crate::flags::ModelArgs,
    seed: u64,
    staged: crate::out_dir::Staged,
    out: &Path,
    quiet: bool,
) -> Result<()> {
    let spec = spec(model, seed)?;
    let device = model.device()?;
    if !quiet {
        eprintln!(
            "{}: {} / {} / {} words (<eos> after each sentence); training {} on {} units",
            corpus.name,
            corpus.streams[0].len(),
            corpus.streams[1].len(),
            corpus.streams[2].len(),
            spec.kind(),
            serde_json::to_value(corpus.units)?.as_str().unwrap_or("word")
        );
    }
    let mut bar = EpochBar::with_metric(quiet, "perplexity");
    crate::interrupt::install();
    let m = train_lm(corpus, &spec, staged.path(), &device, &mut bar)?;
    staged.commit_model(&m)?;
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
pub fn eval(dir: &Path, input: &Path, output: Option<&PathBuf>, morph_dict: Option<&PathBuf>) -> Result<bool> {
    let Some((lm, _)) = AnyLm::load(dir, &candle_core::Device::Cpu)? else {
        return Ok(false);
    };
    let words = stream(read_documents(dir, input, morph_dict)?);
    let report = serde_json::json!({
        "model": dir.display().to_string(),
        "input": input.display().to_string(),
        "metrics": lm.score(&words)?,
    });
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(p) = output {
        rnnlab_baselines::files::write_atomic(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(true)
}

/// The preprocessing a model trained on a CSV data set's texts saved (`pipeline.json`),
/// compiled; `None` for a model of CoNLL-U or text files.
fn saved_pipeline(dir: &Path, morph_dict: Option<&PathBuf>) -> Result<Option<rnnlab_text::Preprocessor>> {
    let path = dir.join("pipeline.json");
    if !path.is_file() {
        return Ok(None);
    }
    let pipeline = rnnlab_text::Pipeline::load(&path)?;
    let lemmatizer = match pipeline.needs_lemmatizer() {
        true => Some(crate::load_lemmatizer(morph_dict)?),
        false => None,
    };
    Ok(Some(rnnlab_text::Preprocessor::new(pipeline, lemmatizer)?))
}

/// The sentences of `input` as the model at `dir` reads them: through its saved pipeline (each
/// line a document) when it has one, else CoNLL-U sentences or whitespace-split lines.
fn read_documents(dir: &Path, input: &Path, morph_dict: Option<&PathBuf>) -> Result<Vec<Vec<String>>> {
    let lines = read_sentences(input)?;
    Ok(match saved_pipeline(dir, morph_dict)? {
        Some(pre) => lines
            .iter()
            .map(|words| pre.process(&words.join(" ")))
            .filter(|t| !t.is_empty())
            .collect(),
        None => lines,
    })
}

#[derive(Args)]
pub struct GenerateArgs {
    /// A recurrent language model's directory (`rnnlab train --task lm --model lstm`).
    #[arg(value_name = "DIR")]
    model_dir: PathBuf,
    /// Words to continue (split at spaces; unknown words read as `<unk>`). Without it each
    /// sample is a new sentence.
    #[arg(long, value_name = "TEXT")]
    prompt: Option<String>,
    /// Samples to draw.
    #[arg(short = 'n', long, default_value_t = 3, value_name = "N")]
    count: usize,
    /// Units per sample at most: words, or characters or subwords for such a model (a sample
    /// also ends at `<eos>`).
    #[arg(long, default_value_t = 40, value_name = "N")]
    max_tokens: usize,
    /// Divides the logits: below 1 is more conservative, above 1 more varied.
    #[arg(long, default_value_t = 1.0, value_name = "T")]
    temperature: f32,
    /// Draw from the K most likely words only.
    #[arg(long, value_name = "K")]
    top_k: Option<usize>,
    /// Draw from the smallest set of most likely words whose probability reaches P.
    #[arg(long, value_name = "P")]
    top_p: Option<f32>,
    /// The most likely word every time (the same text for every seed).
    #[arg(long)]
    greedy: bool,
    /// Beam search with K hypotheses: the one most likely continuation (printed once it is
    /// found, once whatever -n says; no length penalty, so it favours short ones).
    #[arg(long, value_name = "K", conflicts_with_all = ["greedy", "top_k", "top_p", "temperature"])]
    beam: Option<usize>,
    /// Seed of the draws: a seed repeats its samples.
    #[arg(long, default_value_t = 0, value_parser = crate::flags::parse_seed)]
    seed: u64,
    /// Morphology dictionary, for a model whose saved pipeline lemmatises (Russian).
    #[arg(long, value_name = "DIR")]
    morph_dict: Option<PathBuf>,
}

/// `rnnlab generate DIR`: one sample per line, each word printed as it is drawn.
pub fn generate(args: GenerateArgs) -> Result<()> {
    let lm = match AnyLm::load(&args.model_dir, &candle_core::Device::Cpu)? {
        Some((AnyLm::Recurrent(lm), _)) => lm,
        // The mixture scores text; its first network writes it.
        Some((AnyLm::Ensemble(e), _)) => match e.networks.into_iter().next() {
            Some(first) => Box::new(first),
            None => bail!("{}: a best-rnn model without networks", args.model_dir.display()),
        },
        Some((AnyLm::Ngram(_), _)) => bail!(
            "{}: a kneser-ney model scores text but does not generate here; train --model lstm",
            args.model_dir.display()
        ),
        None => bail!(
            "{}: not a language model (train one with --task lm --model lstm)",
            args.model_dir.display()
        ),
    };
    let sampling = Sampling {
        temperature: args.temperature,
        top_k: args.top_k.unwrap_or(0),
        top_p: args.top_p.unwrap_or(1.0),
        greedy: args.greedy,
        max_tokens: args.max_tokens,
    };
    sampling.validate()?;
    let text = args.prompt.as_deref().unwrap_or("");
    // A model of preprocessed texts continues the prompt's tokens (stems, lemmas).
    let prompt: Vec<String> = match saved_pipeline(&args.model_dir, args.morph_dict.as_ref())? {
        Some(pre) => pre.process(text),
        None => text.split_whitespace().map(String::from).collect(),
    };
    let units = lm.units.kind;
    if let Some(beam) = args.beam {
        let drawn = lm.beam_sample(&prompt, beam, args.max_tokens)?;
        let head = prompt.join(" ");
        let line = format!("{head}{}", units.text(&drawn, head.is_empty()));
        writeln!(std::io::stdout(), "{line}")?;
        return Ok(());
    }
    let mut rng = Rng::new(args.seed);
    let stdout = std::io::stdout();
    for _ in 0..args.count {
        let mut out = stdout.lock();
        let mut first = true;
        for w in &prompt {
            write!(out, "{}{w}", if first { "" } else { " " })?;
            first = false;
        }
        let mut failed = None;
        lm.sample(&prompt, &sampling, &mut rng, |w| {
            let r = write!(out, "{}", units.piece_text(w, first)).and_then(|_| out.flush());
            if let Err(e) = r {
                failed.get_or_insert(e);
            }
            first = false;
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        writeln!(out)?;
    }
    Ok(())
}
