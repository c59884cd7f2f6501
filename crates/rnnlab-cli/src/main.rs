//! `rnnlab`: classify short texts with recurrent networks and bag-of-words baselines.
//! This binary is the edge of the project: it parses flags, reads files, reports progress
//! and errors; the work itself happens in the library crates.

mod bench;
mod cv;
mod eval;
mod experiment;
mod flags;
mod interrupt;
mod lemma;
mod lm;
mod model_dir;
mod out_dir;
mod predict;
mod preprocess;
mod progress;
mod recipe;
mod seq2seq;
mod tag;
mod train;

pub use flags::{load_lemmatizer, PrepArgs};

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use rnnlab_text::Lang;

/// mimalloc keeps freed pages for reuse; glibc's allocator returned the pages of each large
/// temporary tensor to the system and faulted them in again on the next step (training ran
/// 2.4x slower).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rnnlab",
    version,
    about = "Short-text classification: preprocessing, bag-of-words baselines and recurrent networks",
    long_about = "Short-text classification: preprocessing, bag-of-words baselines and recurrent networks.\n\n\
        Exit codes: 0 ok, 1 failure, 2 bad usage or input.\n\
        Named data sets (--dataset) are read from --data-dir, else $RNNLAB_DATA_DIR."
)]
struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print more detail (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Worker threads (default: all cores, or RAYON_NUM_THREADS).
    #[arg(long, global = true, value_name = "N", help_heading = "Advanced: global")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the preprocessing pipeline over a text column and write the table with a `tokens` column.
    Preprocess(preprocess::PreprocessArgs),
    /// Lemmatise Russian words: one word per line on stdin, `word<TAB>lemma` on stdout.
    Lemmatize(LemmatizeArgs),
    /// Train a model on a data set and save it as a directory (model, pipeline, metrics).
    #[command(after_help = TRAIN_EXAMPLES, args_override_self = true)]
    Train(Box<train::TrainArgs>),
    /// Evaluate a model directory on a labelled file; prints metrics as JSON.
    Eval(eval::EvalArgs),
    /// Classify texts (arguments or --input) with a model directory; writes CSV.
    #[command(after_help = PREDICT_EXAMPLES)]
    Predict(predict::PredictArgs),
    /// Sample text from a recurrent language model (`train --task lm`), one line per sample.
    #[command(after_help = GENERATE_EXAMPLES)]
    Generate(lm::GenerateArgs),
    /// Measure throughput; prints one JSON line.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Run bag-of-words baselines against recurrent networks on one data set and write a
    /// report (report.json, report.md, report.html) with every model's directory.
    #[command(args_override_self = true, after_help = EXPERIMENT_EXAMPLES)]
    Experiment(Box<experiment::ExperimentArgs>),
    /// Cross-validate one model on a data set's training split (scikit-learn's
    /// `cross_val_score`, stratified folds): figures per held fold and pooled over all of them,
    /// never reading the test split; writes cv.json and the fold models.
    #[command(args_override_self = true, after_help = CV_EXAMPLES)]
    Cv(Box<cv::CvArgs>),
}

const TRAIN_EXAMPLES: &str = "Examples:
  rnnlab train --dataset twitter-hate-speech --model nbsvm --out runs/nbsvm
  rnnlab train --dataset twitter-hate-speech --model lstm --epochs 10 --out runs/lstm
  rnnlab train --dataset sentirueval2015-banks --model best-rnn --seed 1 --out runs/best
  rnnlab train --train F.csv --test F.csv --text-column text --label-column label --lang ru \\
      --model gru --bidirectional --pooling max --out runs/gru
Then: rnnlab eval runs/lstm --input F.csv; rnnlab predict runs/lstm \"some text\"";

const CV_EXAMPLES: &str = "Examples:
  rnnlab cv --dataset twitter-hate-speech --data-dir ../shared/data --model nbsvm --out runs/cv-nbsvm
  rnnlab cv --dataset twitter-hate-speech --model best-rnn --seeds 3 --out runs/cv-best --against runs/cv-nbsvm
  rnnlab cv --dataset twitter-hate-speech --model best-rnn --bag-nb false --seeds 3 --against runs/cv-best
The folds are the same on every run, so --against compares two runs seed by seed; a difference
under twice its standard error is noise.";

const GENERATE_EXAMPLES: &str = "Examples:
  rnnlab train --dataset ud-english-ewt --task lm --model lstm --out runs/lm
  rnnlab generate runs/lm -n 5 --seed 1
  rnnlab generate runs/lm --prompt \"The weather\" --top-p 0.9 --temperature 0.8
  rnnlab generate runs/lm --prompt \"I would\" --greedy -n 1";

const PREDICT_EXAMPLES: &str = "Examples:
  rnnlab predict runs/lstm \"what a lovely day\" \"another text\"
  rnnlab predict runs/lstm --input test_tweets.csv --text-column tweet --output predictions.csv";

const EXPERIMENT_EXAMPLES: &str = "Examples:
  rnnlab experiment                                   # the built-in demo corpus
  rnnlab experiment --dataset twitter-hate-speech --data-dir ../shared/data
  rnnlab experiment --dataset sentirueval2015-banks --models nbsvm,gru,best-rnn --seeds 3
  rnnlab experiment --dataset sentirueval2015-telecoms --quick";

#[derive(Args)]
struct LemmatizeArgs {
    /// Language (only ru has a lemmatiser).
    #[arg(long, default_value = "ru")]
    lang: Lang,
    /// A pymorphy2/pymorphy3 dictionary directory.
    #[arg(long, value_name = "DIR")]
    morph_dict: Option<PathBuf>,
}

fn lemmatize(args: LemmatizeArgs) -> Result<()> {
    use std::io::{BufRead, BufWriter, Write};
    if args.lang != Lang::Ru {
        return Err(
            rnnlab_text::Error::Data(format!("no lemmatiser for {}: use `preprocess --stem`", args.lang)).into(),
        );
    }
    let lem = load_lemmatizer(args.morph_dict.as_ref())?;
    let stdin = std::io::stdin();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut buf = Vec::new();
    let mut input = stdin.lock();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).context("reading stdin")? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let word = line.trim_end_matches(['\n', '\r']);
        writeln!(out, "{word}\t{}", lem.lemma(word)).context("writing stdout")?;
    }
    out.flush().context("writing stdout")?;
    Ok(())
}

/// Whether to draw progress bars: only on a terminal, and not with -q.
pub fn show_progress(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

fn run(cli: Cli) -> Result<()> {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting up worker threads")?;
    }
    match cli.command {
        Command::Preprocess(args) => preprocess::run(args, cli.quiet),
        Command::Lemmatize(args) => lemmatize(args),
        Command::Train(args) => train::train(*args, cli.quiet),
        Command::Eval(args) => eval::eval(args),
        Command::Predict(args) => predict::predict(args),
        Command::Generate(args) => lm::generate(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Experiment(args) => experiment::run(*args, cli.quiet),
        Command::Cv(args) => cv::run(*args, cli.quiet),
    }
}

/// Bad input (a missing file, column, data set or dictionary, a bad parameter or label) is
/// exit code 2; anything else that fails is 1.
fn is_bad_input(e: &anyhow::Error) -> bool {
    use rnnlab_baselines::Error as B;
    use rnnlab_rnn::Error as R;
    if e.downcast_ref::<rnnlab_text::Error>().is_some() || e.downcast_ref::<rnnlab_vectorize::Error>().is_some() {
        return true;
    }
    if let Some(x) = e.downcast_ref::<rnnlab_experiment::Error>() {
        return x.is_bad_input();
    }
    // A file missing from a model directory the user named.
    let missing = |source: &std::io::Error| source.kind() == std::io::ErrorKind::NotFound;
    let baseline = |b: &B| match b {
        B::Io { source, .. } => missing(source),
        b => b.is_bad_input(),
    };
    if let Some(b) = e.downcast_ref::<B>() {
        return baseline(b);
    }
    if let Some(k) = e.downcast_ref::<rnnlab_kernels::Error>() {
        return matches!(k, rnnlab_kernels::Error::Param(_));
    }
    match e.downcast_ref::<R>() {
        Some(R::Io { source, .. }) => missing(source),
        Some(R::Baseline(b)) => baseline(b),
        Some(r) => r.is_bad_input(),
        None => false,
    }
}

/// `-h` shows the common path: every flag under a help heading that begins with "Advanced" is
/// left to `--help`, in every command.
fn hide_advanced(command: clap::Command) -> clap::Command {
    command
        .mut_args(|a| {
            let advanced = a.get_help_heading().is_some_and(|h| h.starts_with("Advanced"));
            a.hide_short_help(advanced)
        })
        .mut_subcommands(hide_advanced)
}

fn main() -> ExitCode {
    // Output piped into a reader that stops early (`rnnlab eval ... | head`) ends the process
    // quietly, as it does `cat`, instead of a panic in `println!`: Rust ignores SIGPIPE.
    #[cfg(unix)]
    // SAFETY: called first, before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let command = hide_advanced(Cli::command());
    let argv = match recipe::expand(std::env::args_os().collect(), &command) {
        Ok(argv) => argv,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let matches = command.clone().get_matches_from(argv);
    recipe::remember(&matches, &command);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match run(cli) {
        // A run stopped by SIGINT or SIGTERM kept what it finished; its exit code says so.
        Ok(()) => interrupt::exit_code().map_or(ExitCode::SUCCESS, ExitCode::from),
        Err(e) => {
            // Errors are printed even with -q: they are what -q keeps. Each cause once: an
            // I/O error's message already ends with its source's.
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                let c = cause.to_string();
                if !msg.contains(&c) {
                    msg = format!("{msg}: {c}");
                }
            }
            eprintln!("error: {msg}");
            if is_bad_input(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
