//! `rnnlab bench ...`: throughput of in-process work on data already in memory, one JSON
//! line per run, the same scope as the reference scripts' figures.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Subcommand;
use rnnlab_kernels::{CellKind, Kernel};
use rnnlab_text::{dataset, Preprocessor};
use serde_json::json;

use crate::PrepArgs;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// The preprocessing pipeline over every text of a data set (read before timing).
    Preprocess {
        /// A named data set.
        #[arg(long, value_name = "NAME")]
        dataset: String,
        /// The data folder (default: $RNNLAB_DATA_DIR).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Timed repetitions; the median is reported. Each starts with an empty lemma cache.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        #[command(flatten)]
        prep: PrepArgs,
    },
    /// Vectorizer fit-transform of a data set's training split, from token lists already in
    /// memory (the scope of scikit-learn's `fit_transform` in the anchors).
    Vectorize {
        /// A named data set.
        #[arg(long, value_name = "NAME")]
        dataset: String,
        /// The data folder (default: $RNNLAB_DATA_DIR).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// count (1-2 grams, min_df 2, binary), hashing (2^18, 1-2 grams, unsigned, l2) or
        /// tfidf (1-2 grams, min_df 2, sublinear): the anchors' settings.
        #[arg(long, default_value = "tfidf")]
        kind: String,
        /// Timed repetitions; the median is reported.
        #[arg(long, default_value_t = 7)]
        repeat: usize,
        #[command(flatten)]
        prep: PrepArgs,
    },
    /// A tagger directory on a treebank's test sentences, in memory: words/s, the median of the
    /// repetitions (the mirror of `tagger_anchor.py`'s predict words/s).
    TagPredict {
        /// The tagger directory (`rnnlab train --dataset ud-english-ewt ...`).
        model: PathBuf,
        /// A named treebank.
        #[arg(long, value_name = "NAME", default_value = "ud-english-ewt")]
        dataset: String,
        /// The data folder (default: $RNNLAB_DATA_DIR).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Timed repetitions; the median is reported.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
    /// Training steps of the reference tagger recipe (`--cell`) on a treebank's first training
    /// sentences, 32 a batch, one pass: words/s of the steps (forward, backward, update), as
    /// `tagger_anchor.py` counts its train words/s.
    TagStep {
        #[arg(long, value_enum, default_value_t = CellKind::Lstm)]
        cell: CellKind,
        #[arg(long, value_name = "NAME", default_value = "ud-english-ewt")]
        dataset: String,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Sentences trained on.
        #[arg(long, default_value_t = 960)]
        sentences: usize,
    },
    /// Training steps of the reference language-model recipe (`--cell`) on the first
    /// `--tokens` of a treebank's word stream, one pass: tokens/s of the steps (forward,
    /// backward, clipping, update), as `lm_anchor.py` counts its `train_tokens_per_s`.
    LmStep {
        #[arg(long, value_enum, default_value_t = CellKind::Lstm)]
        cell: CellKind,
        #[arg(long, value_name = "NAME", default_value = "ud-english-ewt")]
        dataset: String,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Training tokens (20 windows of 35 steps over 20 streams by default).
        #[arg(long, default_value_t = 14_020)]
        tokens: usize,
    },
    /// Sampling from a recurrent language model, one stream: tokens/s over `--tokens` tokens
    /// (samples end only at the count, not at `<eos>`).
    LmGenerate {
        /// The language model's directory (`rnnlab train --task lm --model lstm`).
        model: PathBuf,
        #[arg(long, default_value_t = 2_000)]
        tokens: usize,
    },
    /// A trained model's predictions (every class's probability) for a data set's test split,
    /// from tokens already in memory (read and preprocessed before timing, with the model's
    /// own pipeline): docs/s, the median of the repetitions.
    Predict {
        /// The model directory.
        model: PathBuf,
        /// A named data set.
        #[arg(long, value_name = "NAME")]
        dataset: String,
        /// The data folder (default: $RNNLAB_DATA_DIR).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Timed repetitions; the median is reported.
        #[arg(long, default_value_t = 20)]
        repeat: usize,
        /// Instead: `rnnlab predict --input` over a CSV of N rows (the test texts over and
        /// over), run as a child process, reading, preprocessing and writing included; reports
        /// its docs/s and peak resident memory, which streaming keeps level as N grows.
        #[arg(long, value_name = "N")]
        rows: Option<usize>,
    },
    /// One training step of a recurrent classifier (embedding → recurrent layers → last hidden
    /// state → linear → BCE with logits → AdamW) on a fixed random batch: the mirror of
    /// `../shared/anchors/rnn_speed.py`. Prints docs/s.
    TrainStep(SpeedArgs),
    /// The same model's forward pass only (no gradients): the mirror of
    /// `rnn_speed.py --mode infer`.
    Infer(SpeedArgs),
    /// The recurrent layers on a device against the candle-op reference on the CPU (outputs,
    /// final states, every gradient; each cell, 1-2 layers, 1-2 directions, ragged lengths,
    /// recurrent dropout): one JSON line per compared quantity, then a summary line. Exit 1
    /// when any differs beyond its tolerance. The GPU check runs this where no Rust is at hand.
    Kernels {
        /// cpu, cuda or cuda:N.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// auto (the device's own: fused on the CPU, stepwise on GPUs) or stepwise (the GPU
        /// design; on the CPU its plain-loop definition).
        #[arg(long, value_enum, default_value_t = Kernel::Auto)]
        kernel: Kernel,
    },
}

/// The shape flags of `rnn_speed.py`, with its defaults.
#[derive(clap::Args)]
pub struct SpeedArgs {
    /// rnn, lstm or gru.
    #[arg(long, value_enum, default_value_t = CellKind::Lstm)]
    cell: CellKind,
    /// Documents per step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Tokens per document (every row is this long).
    #[arg(long, default_value_t = 15)]
    len: usize,
    /// Embedding size.
    #[arg(long, default_value_t = 64)]
    emb: usize,
    /// Hidden units per direction.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Vocabulary size (the embedding's rows; the anchor's hate-speech vocabulary).
    #[arg(long, default_value_t = 11051)]
    vocab: usize,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 1)]
    layers: usize,
    /// Run each layer both ways.
    #[arg(long)]
    bidirectional: bool,
    /// Timed steps, after 10 untimed warm-up steps.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// The recurrent layers' implementation: auto (fused on the CPU, stepwise on GPUs),
    /// reference (plain candle ops per step) or stepwise (one product and one cell kernel
    /// per step).
    #[arg(long, value_enum, default_value_t = Kernel::Auto)]
    kernel: Kernel,
    /// train-step only: also time each phase of a step (forward and loss, backward,
    /// optimiser) in a second run with the device synchronised between phases; adds
    /// `phases_ms`, milliseconds per step.
    #[arg(long)]
    phases: bool,
    /// train-step on a GPU: AdamW as one kernel per parameter (`optim.cu`) instead of
    /// candle-nn's dozen ops per parameter (an experiment; training uses candle-nn's).
    #[arg(long)]
    gpu_adamw: bool,
}

impl SpeedArgs {
    fn run(&self, mode: &str) -> Result<()> {
        use rnnlab_rnn::speed::SpeedShape;
        if let Some(n) = self.threads {
            if n == 0 {
                return Err(rnnlab_rnn::Error::Param("--threads must be at least 1".into()).into());
            }
            // candle's matrix products and its worker pool (which the fused layers use) read
            // this variable; the rest of rnnlab uses rayon's pool.
            std::env::set_var("RAYON_NUM_THREADS", n.to_string());
            let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
        }
        let shape = SpeedShape {
            cell: self.cell,
            batch: self.batch,
            len: self.len,
            emb: self.emb,
            hidden: self.hidden,
            vocab: self.vocab,
            layers: self.layers,
            bidirectional: self.bidirectional,
            steps: self.steps,
            kernel: self.kernel,
            gpu_adamw: self.gpu_adamw,
        };
        if (self.phases || self.gpu_adamw) && mode != "train" {
            return Err(rnnlab_rnn::Error::Param("--phases and --gpu-adamw are for train-step".into()).into());
        }
        let device = rnnlab_rnn::parse_device(&self.device)?;
        let r = if mode == "train" {
            shape.train_step(&device)?
        } else {
            shape.infer(&device)?
        };
        let mut line = json!({
            "impl": concat!("rnnlab ", env!("CARGO_PKG_VERSION")),
            "mode": mode,
            "device": self.device,
            "cell": self.cell.name(),
            "batch": self.batch,
            "len": self.len,
            "emb": self.emb,
            "hidden": self.hidden,
            "layers": self.layers,
            "bidirectional": self.bidirectional,
            "steps": self.steps,
            "kernel": self.kernel,
            "gpu_adamw": self.gpu_adamw,
            "threads": rayon::current_num_threads(),
            "seconds": (r.seconds * 1e3).round() / 1e3,
            "docs_per_s": r.docs_per_s.round(),
        });
        if self.phases {
            let p = shape.train_phases(&device)?;
            let ms = |s: f64| (s * 1e6).round() / 1e3;
            line["phases_ms"] = json!({
                "forward": ms(p.forward),
                "backward": ms(p.backward),
                "optimizer": ms(p.optimizer),
            });
        }
        println!("{line}");
        Ok(())
    }
}

use rnnlab_experiment::train::peak_rss_mb;

fn kernels(device: &str, k: Kernel) -> Result<()> {
    use rnnlab_kernels::check::check_kernel;
    let kernel = serde_json::to_value(k)?;
    if k == Kernel::Reference {
        return Err(rnnlab_rnn::Error::Param("--kernel reference is what the others are compared with".into()).into());
    }
    let dev = rnnlab_rnn::parse_device(device)?;
    let checks = check_kernel(k, &dev)?;
    for c in &checks {
        println!(
            "{}",
            json!({"check": "kernels", "device": device, "kernel": kernel, "result": c})
        );
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    let worst = checks.iter().map(|c| c.max_abs_diff).fold(0f32, f32::max);
    println!(
        "{}",
        json!({"check": "kernels", "device": device, "kernel": kernel, "compared": checks.len(), "failed": failed, "max_abs_diff": worst})
    );
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} quantities differ from the reference beyond their tolerance",
            checks.len()
        );
    }
    Ok(())
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::TagPredict {
            model,
            dataset,
            data_dir,
            repeat,
        } => {
            let corpus = treebank(&dataset, data_dir.as_deref())?;
            let (tagger, _) = rnnlab_experiment::tagging::AnyTagger::load(&model)?
                .ok_or_else(|| rnnlab_text::Error::Data(format!("{}: not a tagger directory", model.display())))?;
            let words: usize = corpus.words[2].iter().map(Vec::len).sum();
            let mut times = Vec::new();
            for _ in 0..repeat.max(1) {
                let t = Instant::now();
                std::hint::black_box(tagger.predict_ids(&corpus.words[2])?);
                times.push(t.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            println!(
                "{}",
                json!({
                    "bench": "tag-predict",
                    "model": model.display().to_string(),
                    "dataset": dataset,
                    "words": words,
                    "seconds": (median * 1e4).round() / 1e4,
                    "words_per_s": (words as f64 / median.max(1e-9)).round(),
                    "threads": rayon::current_num_threads(),
                    "peak_rss_mb": peak_rss_mb(),
                })
            );
            Ok(())
        }
        BenchCommand::TagStep {
            cell,
            dataset,
            data_dir,
            sentences,
        } => {
            let corpus = treebank(&dataset, data_dir.as_deref())?;
            let n = sentences.clamp(1, corpus.words[0].len());
            let names = rnnlab_baselines::tagging::index_tags(&corpus.tags[0]);
            let y = rnnlab_baselines::tagging::tag_ids(&corpus.tags[0][..n], &names)?;
            let mut config = rnnlab_rnn::tagger::tagger_recipe(cell);
            config.optimisation.epochs = 1;
            let val_y = vec![vec![0; corpus.words[1][0].len()]];
            let fit = rnnlab_rnn::tagger::fit_tagger(
                cell.name(),
                &config,
                &names,
                (&corpus.words[0][..n], &y),
                (&corpus.words[1][..1], &val_y),
                &candle_core::Device::Cpu,
                &mut rnnlab_rnn::train::Silent,
            )?;
            println!(
                "{}",
                json!({
                    "bench": "tag-step",
                    "cell": cell.name(),
                    "dataset": dataset,
                    "sentences": n,
                    "words": y.iter().map(Vec::len).sum::<usize>(),
                    "words_per_s": fit.train_words_per_s.round(),
                    "threads": rayon::current_num_threads(),
                    "peak_rss_mb": peak_rss_mb(),
                })
            );
            Ok(())
        }
        BenchCommand::LmStep {
            cell,
            dataset,
            data_dir,
            tokens,
        } => {
            let spec = rnnlab_text::conllu::find_treebank(&dataset).ok_or_else(|| {
                rnnlab_text::Error::Data(format!("{dataset:?} is not a treebank (ud-english-ewt is)"))
            })?;
            let dir = dataset::resolve_data_dir(data_dir.as_deref())?;
            let corpus = rnnlab_text::lm_stream::LmCorpus::named(&spec, &dir)?;
            let vocab = rnnlab_text::lm_stream::WordVocab::fit(&corpus.streams[0], 2);
            let train = vocab.encode(&corpus.streams[0]);
            let train = &train[..tokens.clamp(100, train.len())];
            let val = vocab.encode(&corpus.streams[1][..200.min(corpus.streams[1].len())]);
            let mut config = rnnlab_rnn::language_model::lm_recipe(cell);
            config.rnn.optimisation.epochs = 1;
            let fit = rnnlab_rnn::language_model::fit_lm(
                &config,
                vocab.len(),
                train,
                &val,
                &candle_core::Device::Cpu,
                &mut rnnlab_rnn::train::Silent,
            )?;
            println!(
                "{}",
                json!({
                    "bench": "lm-step",
                    "cell": cell.name(),
                    "dataset": dataset,
                    "tokens": train.len(),
                    "vocab_size": vocab.len(),
                    "train_tokens_per_s": fit.train_tokens_per_s.round(),
                    "threads": rayon::current_num_threads(),
                    "peak_rss_mb": peak_rss_mb(),
                })
            );
            Ok(())
        }
        BenchCommand::LmGenerate { model, tokens } => {
            let lm = match rnnlab_experiment::lm::AnyLm::load(&model, &candle_core::Device::Cpu)? {
                Some((rnnlab_experiment::lm::AnyLm::Recurrent(lm), _)) => lm,
                _ => anyhow::bail!("{}: not a recurrent language model", model.display()),
            };
            let sampling = rnnlab_rnn::language_model::Sampling {
                max_tokens: tokens.max(1),
                ..Default::default()
            };
            let t0 = std::time::Instant::now();
            let out = lm
                .net
                .generate(&[1], &sampling, None, &mut rnnlab_rnn::Rng::new(0), |_| {})?;
            let s = t0.elapsed().as_secs_f64();
            println!(
                "{}",
                json!({
                    "bench": "lm-generate",
                    "model": model.display().to_string(),
                    "tokens": out.len(),
                    "generate_tokens_per_s": (out.len() as f64 / s.max(1e-9)).round(),
                    "threads": rayon::current_num_threads(),
                })
            );
            Ok(())
        }
        BenchCommand::TrainStep(args) => args.run("train"),
        BenchCommand::Infer(args) => args.run("infer"),
        BenchCommand::Kernels { device, kernel } => kernels(&device, kernel),
        BenchCommand::Predict {
            model,
            dataset: name,
            data_dir,
            repeat,
            rows,
        } => {
            let spec = dataset::find_dataset(&name)?;
            let dir = dataset::resolve_data_dir(data_dir.as_deref())?;
            let ds = dataset::load_named(&spec, &dir)?;
            let texts: Vec<String> = (0..ds.len())
                .filter(|&i| ds.splits[i] == dataset::Split::Test)
                .map(|i| ds.texts[i].clone())
                .collect();
            if let Some(rows) = rows {
                return predict_file(&model, &name, &texts, rows);
            }
            let loaded = crate::model_dir::load_model(&model, None)?;
            let (tokens, _) = loaded.pre.process_all(&texts);
            let mut times = Vec::new();
            for _ in 0..repeat.max(1) {
                let t = Instant::now();
                let p = loaded.model.predict_proba(&tokens)?;
                times.push(t.elapsed().as_secs_f64());
                std::hint::black_box(p);
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            println!(
                "{}",
                json!({
                    "bench": "predict",
                    "model": model.display().to_string(),
                    "dataset": name,
                    "docs": tokens.len(),
                    "repeat": repeat.max(1),
                    "seconds": (median * 1e4).round() / 1e4,
                    "docs_per_s": (tokens.len() as f64 / median.max(1e-9)).round(),
                    "threads": rayon::current_num_threads(),
                    "peak_rss_mb": peak_rss_mb(),
                })
            );
            Ok(())
        }
        BenchCommand::Preprocess {
            dataset: name,
            data_dir,
            repeat,
            prep,
        } => {
            let spec = dataset::find_dataset(&name)?;
            let dir = dataset::resolve_data_dir(data_dir.as_deref())?;
            let ds = dataset::load_named(&spec, &dir)?;
            let pipeline = prep.pipeline(Some(spec.lang))?;
            let normalize = if pipeline.needs_lemmatizer() {
                "lemmatize"
            } else if pipeline
                .steps
                .iter()
                .any(|s| matches!(s, rnnlab_text::Step::Stem { .. }))
            {
                "stem"
            } else {
                "none"
            };
            let mut times = Vec::new();
            let mut tokens = 0;
            for _ in 0..repeat.max(1) {
                // A fresh lemmatizer each time, so the cache starts empty as in a real run.
                let lemmatizer = prep.lemmatizer(&pipeline)?;
                let pre = Preprocessor::new(pipeline.clone(), lemmatizer)?;
                let t0 = Instant::now();
                let (_out, stats) = pre.process_all(&ds.texts);
                times.push(t0.elapsed().as_secs_f64());
                tokens = stats.tokens;
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let median = times[times.len() / 2];
            let line = json!({
                "bench": "preprocess",
                "dataset": spec.name,
                "lang": spec.lang.code(),
                "normalize": normalize,
                "docs": ds.len(),
                "tokens": tokens,
                "seconds": (median * 1e4).round() / 1e4,
                "docs_per_s": (ds.len() as f64 / median).round(),
                "repeat": times.len(),
                "threads": rayon::current_num_threads(),
                "peak_rss_mb": peak_rss_mb(),
            });
            println!("{line}");
            Ok(())
        }
        BenchCommand::Vectorize {
            dataset: name,
            data_dir,
            kind,
            repeat,
            prep,
        } => {
            use rnnlab_baselines::baseline::{BaselineKind, BaselineParams, Vectorizer};
            let model_kind = match kind.as_str() {
                "count" => BaselineKind::CountLogreg,
                "hashing" => BaselineKind::HashingLogreg,
                "tfidf" => BaselineKind::TfidfLogreg,
                "char-tfidf" => BaselineKind::CharTfidfLogreg,
                other => {
                    return Err(rnnlab_text::Error::Data(format!(
                        "--kind {other:?}: expected count, hashing, tfidf or char-tfidf"
                    ))
                    .into())
                }
            };
            let spec = dataset::find_dataset(&name)?;
            let dir = dataset::resolve_data_dir(data_dir.as_deref())?;
            let ds = dataset::load_named(&spec, &dir)?;
            let pipeline = prep.pipeline(Some(spec.lang))?;
            let pre = Preprocessor::new(pipeline.clone(), prep.lemmatizer(&pipeline)?)?;
            let train: Vec<String> = ds
                .texts
                .iter()
                .zip(&ds.splits)
                .filter(|(_, s)| **s == dataset::Split::Train)
                .map(|(t, _)| t.clone())
                .collect();
            let (tokens, _) = pre.process_all(&train);
            let vspec = BaselineParams::default().resolve(model_kind).vectorizer;
            let mut times = Vec::new();
            let mut shape = (0, 0, 0);
            for _ in 0..repeat.max(1) {
                let t0 = Instant::now();
                let (_, x) = Vectorizer::fit_transform(&vspec, &tokens)?;
                times.push(t0.elapsed().as_secs_f64());
                shape = (x.n_rows(), x.n_cols(), x.nnz());
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let median = times[times.len() / 2];
            let line = json!({
                "bench": "vectorize",
                "dataset": spec.name,
                "kind": kind,
                "docs": tokens.len(),
                "features": shape.1,
                "nnz": shape.2,
                "seconds": (median * 1e4).round() / 1e4,
                "docs_per_s": (tokens.len() as f64 / median).round(),
                "repeat": times.len(),
                "threads": rayon::current_num_threads(),
                "peak_rss_mb": peak_rss_mb(),
            });
            println!("{line}");
            Ok(())
        }
    }
}

/// `rnnlab predict MODEL --input F --output G` on `rows` rows cycled from `texts`, as a child
/// process: wall time and the child's peak resident memory (getrusage of waited children).
fn predict_file(model: &std::path::Path, dataset: &str, texts: &[String], rows: usize) -> Result<()> {
    use std::io::Write;
    if texts.is_empty() || rows == 0 {
        return Err(rnnlab_text::Error::Data("--rows needs at least one row and test texts".into()).into());
    }
    let dir = std::env::temp_dir().join(format!("rnnlab-bench-predict-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("input.csv");
    let output = dir.join("output.csv");
    let result = (|| -> Result<serde_json::Value> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&input)?);
        writeln!(w, "id,text")?;
        for i in 0..rows {
            let t = &texts[i % texts.len()];
            writeln!(w, "{i},\"{}\"", t.replace('"', "\"\""))?;
        }
        w.flush()?;
        drop(w);
        let t = Instant::now();
        let status = std::process::Command::new(std::env::current_exe()?)
            .arg("predict")
            .arg(model)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&output)
            .args(["--text-column", "text", "--id-column", "id"])
            .status()?;
        let seconds = t.elapsed().as_secs_f64();
        if !status.success() {
            anyhow::bail!("rnnlab predict failed ({status})");
        }
        Ok(json!({
            "bench": "predict-file",
            "model": model.display().to_string(),
            "dataset": dataset,
            "rows": rows,
            "seconds": (seconds * 1e3).round() / 1e3,
            "docs_per_s": (rows as f64 / seconds.max(1e-9)).round(),
            "peak_rss_mb": children_peak_rss_mb(),
            "threads": rayon::current_num_threads(),
        }))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", result?);
    Ok(())
}

/// The largest peak resident memory of the child processes waited for, in MB.
fn children_peak_rss_mb() -> Option<f64> {
    // SAFETY: getrusage fills the zeroed `rusage` it is given and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } == 0;
    ok.then(|| (usage.ru_maxrss as f64 / 1024.0 * 10.0).round() / 10.0)
}

/// A named treebank's three splits (UPOS).
fn treebank(name: &str, data_dir: Option<&std::path::Path>) -> Result<rnnlab_text::conllu::TaggedCorpus> {
    let spec = rnnlab_text::conllu::find_treebank(name)
        .ok_or_else(|| rnnlab_text::Error::Data(format!("{name:?} is not a treebank (ud-english-ewt is)")))?;
    let dir = dataset::resolve_data_dir(data_dir)?;
    Ok(rnnlab_text::conllu::TaggedCorpus::named(
        &spec,
        &dir,
        rnnlab_text::conllu::TagColumn::Upos,
    )?)
}
