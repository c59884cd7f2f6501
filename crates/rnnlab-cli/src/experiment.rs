//! `rnnlab experiment`: baselines against recurrent networks on one data set, with the report.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rnnlab_experiment::runner::TaskPlan;
use rnnlab_experiment::tag_experiment;
use rnnlab_experiment::tagging::{TaggerSpec, TAGGER_KINDS};
use rnnlab_experiment::train::all_kinds;
use rnnlab_experiment::{demo, report, tag_report, ModelSpec, Plan, Prepared, RunObserver};
use rnnlab_rnn::TrainObserver;
use rnnlab_text::conllu::TaggedCorpus;
use rnnlab_text::dataset::Columns;
use rnnlab_text::Lang;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::flags::{prepare, DataArgs};
use crate::progress::EpochBar;
use crate::PrepArgs;

#[derive(Args)]
pub struct ExperimentArgs {
    /// A named data set (twitter-hate-speech, sentirueval2015-banks, sentirueval2015-telecoms), or
    /// `demo`, the built-in synthetic corpus (the default when no data is given).
    #[command(flatten)]
    data: DataArgs,
    /// Model kinds to run, comma-separated (default: every kind of the task; tagging:
    /// majority-tagger, feature-tagger, rnn, lstm, gru, best-rnn; `--task lemma`:
    /// lookup-lemmatizer, rnn, lstm, gru; `--task lm`: kneser-ney, rnn, lstm, gru, best-rnn).
    #[arg(long, value_name = "K,K,...", value_delimiter = ',')]
    models: Option<Vec<String>>,
    /// Runs of each neural model (seeds 0..N); the report shows mean ± std.
    #[arg(long, value_name = "N")]
    seeds: Option<usize>,
    /// A recipe file (TOML) whose keys are this command's flags (`seeds = 3`,
    /// `models = ["nbsvm", "best-rnn"]`); flags given on the command line win.
    #[arg(long, value_name = "FILE.toml")]
    #[allow(dead_code)] // read from the arguments by `recipe::expand`, before clap parses them
    config: Option<PathBuf>,
    /// A quick look: one seed, at most 3 epochs, 3,000 training and 1,000 val/test rows.
    #[arg(long)]
    quick: bool,
    /// After choosing epochs and thresholds on validation, train every model again on
    /// training + validation rows (scikit-learn's refit, as `rnnlab train --refit`); the test
    /// figures are then those final models', every kind alike.
    #[arg(long)]
    refit: bool,
    /// Reference results to show beside ours: JSON lines with `model`, `f1` or `f1_macro`
    /// and timings (the format of ../shared/anchors' scripts).
    #[arg(long, value_name = "FILE.jsonl")]
    reference: Option<PathBuf>,
    /// Report directory (default: reports/<dataset>-<UTC timestamp>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue the experiment in --out DIR (interrupted, or with runs that failed): its flags
    /// are read from DIR/recipe.toml, every finished run whose model loads and scores as
    /// recorded is kept, the rest are trained, and the report is written again.
    #[arg(long, requires = "out")]
    resume: bool,
    /// Seed of the validation split of --train files.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::flags::parse_seed)]
    seed: u64,
    /// cpu, cuda or cuda:N (needs a build with the cuda feature).
    #[arg(long, value_name = "D", default_value = "cpu")]
    device: String,
    #[command(flatten)]
    prep: PrepArgs,
}

/// An overall bar across the plan, and the per-epoch bar of the running model.
pub struct Progress {
    overall: Option<indicatif::ProgressBar>,
    epochs: EpochBar,
    quiet: bool,
    /// What a run's `test` metrics measure, for its line: `test`, or `held` in `rnnlab cv`.
    scored_on: &'static str,
}

impl Progress {
    pub fn new(quiet: bool, scored_on: &'static str) -> Self {
        Progress {
            overall: None,
            epochs: EpochBar::new(true),
            quiet,
            scored_on,
        }
    }

    pub fn finish(&mut self) {
        if let Some(b) = self.overall.take() {
            b.finish_and_clear();
        }
    }
}

impl RunObserver for Progress {
    fn plan(&mut self, runs: usize) {
        if self.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return;
        }
        let bar = indicatif::ProgressBar::new(runs as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("plan {bar:30} {pos}/{len} runs {msg} [{elapsed}]")
                .expect("valid template"),
        );
        self.overall = Some(bar);
    }

    fn run_start(&mut self, kind: &str, seed: u64) {
        if let Some(b) = &self.overall {
            b.set_message(format!("{kind} (seed {seed})"));
        }
    }

    fn run_end(&mut self, kind: &str, seed: u64, result: Result<&Value, &str>) {
        let line = match result {
            Ok(m) => {
                let (name, value) = if m["task"] == "tag" || m["task"] == "lemma" {
                    ("accuracy", m["test"]["accuracy"].as_f64())
                } else if m["task"] == "lm" {
                    ("perplexity", m["test"]["perplexity"].as_f64())
                } else {
                    ("", m["test"]["f1"].as_f64().or_else(|| m["test"]["f1_macro"].as_f64()))
                };
                format!(
                    "{kind} seed {seed}: {}{}{name} {:.4}, train {:.1}s",
                    self.scored_on,
                    if name.is_empty() { "" } else { " " },
                    value.unwrap_or(f64::NAN),
                    m["timings"]["train_s"].as_f64().unwrap_or(0.0)
                )
            }
            Err(e) => format!("{kind} seed {seed}: FAILED: {e}"),
        };
        match &self.overall {
            Some(b) => {
                b.println(line);
                b.inc(1);
            }
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }

    fn trainer(&mut self) -> &mut dyn TrainObserver {
        &mut self.epochs
    }

    fn interrupted(&mut self) -> bool {
        crate::interrupt::requested()
    }
}

fn sha256_file(path: &std::path::Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

fn read_reference(path: &std::path::Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| rnnlab_text::Error::Data(format!("{}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l)
                .map_err(|e| rnnlab_text::Error::Data(format!("{}: line {}: {e}", path.display(), i + 1)))?;
            if v.get("f1").is_none() && v.get("f1_macro").is_none() {
                return Err(rnnlab_text::Error::Data(format!(
                    "{}: line {}: a reference row needs `f1` or `f1_macro`",
                    path.display(),
                    i + 1
                ))
                .into());
            }
            Ok(v)
        })
        .collect()
}

/// A folder `--resume` may continue: its recipe is this run's (the command line added nothing
/// that changes what is computed) and the data files are those it read, byte for byte.
fn check_resumable(out: &std::path::Path, files: &[Value]) -> Result<()> {
    let bad = |m: String| -> anyhow::Error { rnnlab_text::Error::Data(format!("--resume: {m}")).into() };
    let path = out.join("recipe.toml");
    let stored = std::fs::read_to_string(&path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let now = crate::recipe::recipe().unwrap_or_default();
    // Where and how it runs may change; what it computes may not.
    let computed = |text: &str| -> std::collections::BTreeMap<String, String> {
        let table: toml::Table = text.parse().unwrap_or_default();
        table
            .into_iter()
            .filter(|(k, _)| !["quiet", "verbose", "threads", "device"].contains(&k.as_str()))
            .map(|(k, v)| (k, format!("{v:?}")))
            .collect()
    };
    let (before, after) = (computed(&stored), computed(now));
    if before != after {
        let changed: std::collections::BTreeSet<&String> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .collect();
        return Err(bad(format!(
            "flags that change the experiment of {} ({}); continue it with --resume --out alone, or start a new --out",
            path.display(),
            changed.iter().map(|k| format!("--{k}")).collect::<Vec<_>>().join(", ")
        )));
    }
    let report = out.join("report.json");
    if let Ok(text) = std::fs::read_to_string(&report) {
        let old: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(old_files) = old["dataset"]["files"].as_array() {
            if old_files.as_slice() != files {
                return Err(bad(format!(
                    "the data files differ from those {} was run on (their SHA-256); start a new --out",
                    report.display()
                )));
            }
        }
    }
    Ok(())
}

/// `YYYYMMDD-HHMMSS` in UTC.
pub fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The data that `data` names, preprocessed, or the built-in demo corpus when it names none
/// (or `demo`); also the files read and whether it is the demo.
pub fn prepare_or_demo(data: &DataArgs, prep: &PrepArgs, seed: u64) -> Result<(Prepared, Vec<PathBuf>, bool)> {
    let is_demo = data.train.is_none() && data.dataset.as_deref().is_none_or(|d| d == "demo");
    if !is_demo {
        let (prepared, files) = prepare(data, prep, seed)?;
        return Ok((prepared, files, false));
    }
    let corpus = demo::generate(0);
    // The English pipeline (stemming) needs no dictionary, so the demo runs on a fresh machine.
    let columns = Columns {
        text: "text".into(),
        label: "label".into(),
        id: Some("id".into()),
    };
    let prepared = prep.prepare("demo", &corpus, columns, Some(Lang::En), Some("positive"))?;
    Ok((prepared, Vec::new(), true))
}

pub fn run(args: ExperimentArgs, quiet: bool) -> Result<()> {
    let device = rnnlab_rnn::parse_device(&args.device)?;
    if let Some(corpus) = args.data.lemma_corpus()? {
        return run_lemma(&args, corpus, device, quiet);
    }
    if let Some(corpus) = args.data.lm_corpus(&args.prep, args.seed, None)? {
        return run_lm(&args, corpus, device, quiet);
    }
    if let Some(corpus) = args.data.tagged(args.seed)? {
        return run_tagging(&args, corpus, device, quiet);
    }
    let models: Vec<String> = args
        .models
        .clone()
        .unwrap_or_else(|| all_kinds().map(String::from).to_vec());
    let specs_check: Vec<ModelSpec> = models
        .iter()
        // Classes not known yet (0): no class-dependent defaults in this check.
        .map(|k| ModelSpec::from_kind(k.trim(), Lang::En, 0))
        .collect::<Result<_, _>>()?;
    if specs_check.is_empty() {
        return Err(rnnlab_text::Error::Data("--models: give at least one model kind".into()).into());
    }
    let reference = args
        .reference
        .as_deref()
        .map(read_reference)
        .transpose()?
        .unwrap_or_default();
    let (prep, files, is_demo) = prepare_or_demo(&args.data, &args.prep, args.seed)?;
    let files_json: Vec<Value> = files
        .iter()
        .map(|f| Ok(json!({"path": f.display().to_string(), "sha256": sha256_file(f)?})))
        .collect::<Result<_>>()?;
    if args.resume {
        check_resumable(args.out.as_deref().expect("clap requires --out"), &files_json)?;
    }
    let mut specs: Vec<ModelSpec> = models
        .iter()
        .map(|k| ModelSpec::from_kind(k.trim(), prep.lang, prep.labels.n_classes()))
        .collect::<Result<_, _>>()?;
    if args.refit {
        specs.iter_mut().for_each(|s| s.set_refit(true));
    }
    let seeds = if args.quick { 1 } else { args.seeds.unwrap_or(3) };
    if seeds == 0 {
        return Err(rnnlab_rnn::Error::Param("--seeds must be at least 1".into()).into());
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!("{}-{}", prep.name.replace(['/', '\\'], "_"), timestamp()))
    });
    let balance: serde_json::Map<String, Value> = prep
        .labels
        .labels
        .iter()
        .zip(prep.class_counts(0))
        .map(|(l, c)| (l.clone(), json!(c)))
        .collect();
    let mut dataset = json!({
        "name": prep.name,
        "sizes": {"train": prep.rows[0].len(), "val": prep.rows[1].len(), "test": prep.rows[2].len()},
        "classes": prep.labels.labels,
        "class_balance": balance,
        "files": files_json,
        "lang": prep.lang,
    });
    if is_demo {
        dataset["note"] = json!(format!(
            "The demo corpus is synthetic: short English and Russian reviews generated by rnnlab, where {:.0} % of \
             test labels depend on word order (negation, or a contrast where the clause after `but`/`но` decides). \
             It shows where a recurrent network beats a bag of words; it measures nothing real. For real data run \
             `cargo xtask experiment --dataset twitter-hate-speech --data-dir ../shared/data`",
            100.0 * demo::order_dependent_share(&prep)
        ));
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let plan = Plan {
        specs,
        seeds,
        quick: args.quick,
        out: out.clone(),
        reference,
        command,
        device,
        resume: args.resume,
    };
    std::fs::create_dir_all(&out).map_err(|e| rnnlab_rnn::Error::io(&out, e))?;
    if let Some(recipe) = crate::recipe::recipe() {
        let path = out.join("recipe.toml");
        rnnlab_baselines::files::write_atomic(&path, recipe.as_bytes()).map_err(|e| rnnlab_rnn::Error::io(&path, e))?;
    }
    if !quiet {
        eprintln!(
            "{}: {} train / {} val / {} test rows; {} model kinds, {} seed(s) for neural ones -> {}",
            prep.name,
            prep.rows[0].len(),
            prep.rows[1].len(),
            prep.rows[2].len(),
            plan.specs.len(),
            seeds,
            out.display()
        );
    }
    let mut progress = Progress::new(quiet, "test");
    crate::interrupt::install();
    let report = rnnlab_experiment::run(&prep, dataset, &plan, &mut progress)?;
    progress.finish();
    println!("{}", report::table(&report));
    for f in report::findings(&report) {
        println!("- {}", f.replace("**", ""));
    }
    println!("\nreport: {}", out.join("report.html").display());
    Ok(())
}

/// The plan of a task other than classification: the kinds `--models` names (default `all`),
/// each read by `from_kind`; `--resume` checked against the data `files`; the seeds; the
/// report folder, made, with the recipe in it. Also the files' checksums for the report.
fn task_plan<S>(
    args: &ExperimentArgs,
    name: &str,
    files: &[PathBuf],
    all: &[&str],
    from_kind: impl Fn(&str) -> Result<S, rnnlab_experiment::Error>,
    device: candle_core::Device,
) -> Result<(TaskPlan<S>, Vec<Value>)> {
    if args.refit || args.reference.is_some() {
        return Err(
            rnnlab_text::Error::Data("--refit and --reference are for classification experiments".into()).into(),
        );
    }
    let kinds: Vec<String> = args
        .models
        .clone()
        .unwrap_or_else(|| all.iter().map(|k| k.to_string()).collect());
    if kinds.is_empty() {
        return Err(rnnlab_text::Error::Data("--models: give at least one model kind".into()).into());
    }
    let specs: Vec<S> = kinds.iter().map(|k| from_kind(k.trim())).collect::<Result<_, _>>()?;
    let files_json: Vec<Value> = files
        .iter()
        .map(|f| Ok(json!({"path": f.display().to_string(), "sha256": sha256_file(f)?})))
        .collect::<Result<_>>()?;
    if args.resume {
        check_resumable(args.out.as_deref().expect("clap requires --out"), &files_json)?;
    }
    let seeds = if args.quick { 1 } else { args.seeds.unwrap_or(3) };
    if seeds == 0 {
        return Err(rnnlab_rnn::Error::Param("--seeds must be at least 1".into()).into());
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!("{}-{}", name.replace(['/', '\\'], "_"), timestamp()))
    });
    std::fs::create_dir_all(&out).map_err(|e| rnnlab_rnn::Error::io(&out, e))?;
    if let Some(recipe) = crate::recipe::recipe() {
        let path = out.join("recipe.toml");
        rnnlab_baselines::files::write_atomic(&path, recipe.as_bytes()).map_err(|e| rnnlab_rnn::Error::io(&path, e))?;
    }
    let plan = TaskPlan {
        specs,
        seeds,
        quick: args.quick,
        out,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        device,
        resume: args.resume,
    };
    Ok((plan, files_json))
}

/// Prints a task report's table (its markdown up to the findings), the findings and where the
/// page is.
fn print_report(markdown: &str, findings: &[String], out: &std::path::Path) {
    print!("{}", markdown.split("## Findings").next().unwrap_or_default());
    for f in findings {
        println!("- {}", f.replace("**", ""));
    }
    println!("\nreport: {}", out.join("report.html").display());
}

/// `rnnlab experiment` on tagging data: the tagger kinds against each other, with the tagging
/// report.
fn run_tagging(args: &ExperimentArgs, corpus: TaggedCorpus, device: candle_core::Device, quiet: bool) -> Result<()> {
    let (plan, files) = task_plan(
        args,
        &corpus.name,
        &corpus.files,
        &TAGGER_KINDS,
        TaggerSpec::from_kind,
        device,
    )?;
    let dataset = tag_experiment::describe(&corpus, files);
    if !quiet {
        eprintln!(
            "{}: {} train / {} val / {} test sentences; {} tagger kinds, {} seed(s) for recurrent ones -> {}",
            corpus.name,
            corpus.words[0].len(),
            corpus.words[1].len(),
            corpus.words[2].len(),
            plan.specs.len(),
            plan.seeds,
            plan.out.display()
        );
    }
    let mut progress = Progress::new(quiet, "test");
    crate::interrupt::install();
    let report = tag_experiment::run_tagging(&corpus, dataset, &plan, &mut progress)?;
    progress.finish();
    print_report(
        &tag_report::markdown(&report),
        &tag_report::findings(&report),
        &plan.out,
    );
    Ok(())
}

/// `rnnlab experiment --task lemma`: the lookup against the encoder-decoders, with the lemma
/// report.
fn run_lemma(
    args: &ExperimentArgs,
    corpus: rnnlab_experiment::lemma::LemmaCorpus,
    device: candle_core::Device,
    quiet: bool,
) -> Result<()> {
    use rnnlab_experiment::lemma::{LemmaSpec, LEMMA_KINDS};
    use rnnlab_experiment::lemma_experiment;
    let name = format!("{}-lemma", corpus.name);
    let (plan, files) = task_plan(args, &name, &corpus.files, &LEMMA_KINDS, LemmaSpec::from_kind, device)?;
    let dataset = lemma_experiment::describe(&corpus, files);
    if !quiet {
        eprintln!(
            "{}: {} train / {} val / {} test words; {} lemmatiser kinds, {} seed(s) for recurrent ones -> {}",
            corpus.name,
            corpus.splits[0].len(),
            corpus.splits[1].len(),
            corpus.splits[2].len(),
            plan.specs.len(),
            plan.seeds,
            plan.out.display()
        );
    }
    let mut progress = Progress::new(quiet, "test");
    crate::interrupt::install();
    let report = lemma_experiment::run_lemma(&corpus, dataset, &plan, &mut progress)?;
    progress.finish();
    print_report(
        &lemma_experiment::markdown(&report),
        &lemma_experiment::findings(&report),
        &plan.out,
    );
    Ok(())
}

/// `rnnlab experiment --task lm`: the n-gram baseline against the recurrent language models,
/// with the perplexity report.
fn run_lm(
    args: &ExperimentArgs,
    corpus: rnnlab_text::lm_stream::LmCorpus,
    device: candle_core::Device,
    quiet: bool,
) -> Result<()> {
    use rnnlab_experiment::lm::{LmSpec, LM_KINDS};
    use rnnlab_experiment::lm_experiment;
    let name = format!("{}-lm", corpus.name);
    let (plan, files) = task_plan(args, &name, &corpus.files, &LM_KINDS, LmSpec::from_kind, device)?;
    let dataset = lm_experiment::describe(&corpus, files);
    if !quiet {
        eprintln!(
            "{}: {} train / {} val / {} test tokens; {} language-model kinds, {} seed(s) for recurrent ones -> {}",
            corpus.name,
            corpus.streams[0].len(),
            corpus.streams[1].len(),
            corpus.streams[2].len(),
            plan.specs.len(),
            plan.seeds,
            plan.out.display()
        );
    }
    let mut progress = Progress::new(quiet, "test");
    crate::interrupt::install();
    let report = lm_experiment::run_lm(&corpus, dataset, &plan, &mut progress)?;
    progress.finish();
    print_report(
        &lm_experiment::markdown(&report),
        &lm_experiment::findings(&report),
        &plan.out,
    );
    Ok(())
}
