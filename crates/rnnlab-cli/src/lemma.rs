//! The lemma task in `train` and `predict`: CoNLL-U words with their UPOS tags in, a
//! `lookup-lemmatizer` or character encoder-decoder directory out; lemmas of words or of a
//! CoNLL-U file's LEMMA column.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rnnlab_experiment::lemma::{train_lemma, Answer, AnyLemmatizer, LemmaCorpus, LemmaSpec, LEMMA_KINDS};
use rnnlab_text::conllu::{self, TagColumn};

use crate::progress::EpochBar;

/// A bad flag (exit code 2), as `bail!` would say it.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err(rnnlab_experiment::Error::Input(format!($($t)*)).into())
    };
}

/// The lemmatiser the flags describe: the lookup baseline, or `rnn` / `lstm` / `gru` on the
/// encoder-decoder recipe with the network flags given applied.
pub fn spec(model: &crate::flags::ModelArgs, seed: u64) -> Result<LemmaSpec> {
    if model.model == "lookup-lemmatizer" {
        return Ok(LemmaSpec::Lookup);
    }
    let Some(config) = crate::seq2seq::recipe(model, seed)? else {
        bail!(
            "--task lemma --model {}: the lemmatiser kinds are {}",
            model.model,
            LEMMA_KINDS.join(", ")
        );
    };
    Ok(LemmaSpec::Recurrent {
        kind: model.model.clone(),
        config: Box::new(config),
    })
}

/// `rnnlab train --task lemma`.
pub fn train(
    corpus: &LemmaCorpus,
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
            "{}: {} / {} / {} words; training {}",
            corpus.name,
            corpus.splits[0].len(),
            corpus.splits[1].len(),
            corpus.splits[2].len(),
            spec.kind()
        );
    }
    let mut bar = EpochBar::with_metric(quiet, "accuracy");
    crate::interrupt::install();
    let m = train_lemma(corpus, &spec, staged.path(), &device, &mut bar)?;
    staged.commit_model(&m)?;
    if !quiet {
        let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN) * 100.0;
        let mut line = format!(
            "test accuracy {:.2} % ({:.2} % on {} unseen (form, tag) pairs)",
            f(&m["test"]["accuracy"]),
            f(&m["test"]["accuracy_unseen"]),
            m["test"]["unseen_words"]
        );
        if m.get("combined").is_some() {
            line += &format!(
                "; with the lexicon for seen pairs {:.2} % ({:.2} % unseen)",
                f(&m["combined"]["test"]["accuracy"]),
                f(&m["combined"]["test"]["accuracy_unseen"])
            );
        }
        eprintln!("{line} -> {}", out.display());
    }
    Ok(())
}

/// What `predict` gives a lemmatiser.
pub struct PredictInput<'a> {
    pub words: &'a [String],
    pub tag: Option<&'a str>,
    /// A tagger directory whose tags replace a CoNLL-U file's UPOS column as input.
    pub tags_from: Option<&'a PathBuf>,
    pub beam: usize,
    pub input: Option<&'a PathBuf>,
    pub output: Option<&'a PathBuf>,
}

/// Every word's UPOS tag: the file's, or the tagger's at `tags_from`.
fn tags_of(sentences: &[conllu::Sentence], tags_from: Option<&PathBuf>) -> Result<Vec<String>> {
    let Some(dir) = tags_from else {
        return Ok(sentences.iter().flat_map(|s| s.tags(TagColumn::Upos)).collect());
    };
    let Some((tagger, _)) = rnnlab_experiment::tagging::AnyTagger::load(dir)? else {
        bail!("--tags-from {}: not a tagger's model directory", dir.display());
    };
    let words: Vec<Vec<String>> = sentences.iter().map(|s| s.forms()).collect();
    Ok(tagger.predict(&words)?.into_iter().flatten().collect())
}

/// `rnnlab eval DIR --input F.conllu [--tags-from TAGGER_DIR] [--beam K]` on a lemmatiser: the
/// lemma figures as JSON (the network's and the combination's for a network). `Ok(false)` when
/// `dir` is not a lemmatiser.
pub fn eval(
    dir: &Path,
    input: &Path,
    tags_from: Option<&PathBuf>,
    beam: usize,
    output: Option<&PathBuf>,
) -> Result<bool> {
    let Some((lemmatizer, _)) = AnyLemmatizer::load(dir, &candle_core::Device::Cpu)? else {
        return Ok(false);
    };
    if beam == 0 {
        bail!("--beam must be 1 or more");
    }
    let gold = rnnlab_experiment::lemma::read_items(input)?;
    let tags = match tags_from {
        Some(_) => Some(tags_of(&conllu::read_file(input)?, tags_from)?),
        None => None,
    };
    let started = std::time::Instant::now();
    let metrics = lemmatizer.evaluate(&gold, tags.as_deref(), beam)?;
    let report = serde_json::json!({
        "model": dir.display().to_string(),
        "input": input.display().to_string(),
        "tags": tags_from.map_or("gold".to_string(), |d| d.display().to_string()),
        "beam": beam,
        "metrics": metrics,
        "seconds": started.elapsed().as_secs_f64(),
    });
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(p) = output {
        rnnlab_baselines::files::write_atomic(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(true)
}

/// `rnnlab predict DIR WORD... --tag T` (`word<TAB>lemma` lines) or `--input F.conllu
/// [--output G.conllu]` (the LEMMA column filled from each word's form and UPOS, every other
/// byte kept). A network answers the pairs its training never saw; its lexicon the rest.
/// `Ok(false)` when `dir` is not a lemmatiser.
pub fn predict(dir: &Path, args: &PredictInput) -> Result<bool> {
    let Some((lemmatizer, _)) = AnyLemmatizer::load(dir, &candle_core::Device::Cpu)? else {
        return Ok(false);
    };
    if args.beam == 0 {
        bail!("--beam must be 1 or more");
    }
    match args.input {
        Some(path) => {
            if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("conllu")) {
                bail!("{}: a lemmatiser reads CoNLL-U files (.conllu)", path.display());
            }
            let sentences = conllu::read_file(path)?;
            let tags = tags_of(&sentences, args.tags_from)?;
            let words: Vec<(String, String)> = sentences.iter().flat_map(|s| s.forms()).zip(tags).collect();
            let pairs: Vec<(&str, &str)> = words.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
            let mut lemmas = lemmatizer.lemmatize(&pairs, args.beam, Answer::Combined)?.into_iter();
            let filled: Vec<conllu::Sentence> = sentences
                .iter()
                .map(|s| {
                    let mine: Vec<String> = lemmas.by_ref().take(s.words.len()).collect();
                    s.with_lemmas(&mine)
                })
                .collect();
            match args.output {
                Some(p) => conllu::write_file(p, &filled)?,
                None => std::io::stdout().lock().write_all(conllu::write(&filled).as_bytes())?,
            }
        }
        None => {
            if args.words.is_empty() {
                bail!("give words to lemmatise (with --tag), or --input F.conllu");
            }
            let Some(tag) = args.tag else {
                bail!("a lemma depends on the word's tag: give --tag (a UPOS tag such as NOUN or VERB)");
            };
            let pairs: Vec<(&str, &str)> = args.words.iter().map(|w| (w.as_str(), tag)).collect();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for (w, l) in args
                .words
                .iter()
                .zip(lemmatizer.lemmatize(&pairs, args.beam, Answer::Combined)?)
            {
                writeln!(out, "{w}\t{l}")?;
            }
            out.flush()?;
        }
    }
    Ok(true)
}
