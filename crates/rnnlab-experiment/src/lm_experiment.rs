//! The language-model experiment: the `kneser-ney` baseline and the recurrent language models
//! of a plan (recurrent kinds once per seed) on one word stream, each into its own model
//! directory, collected into `report.json` (rewritten after every run) and rendered as
//! `report.md` and `report.html`: perplexity on test and validation, speed, the learning curves
//! and a few seeded samples of each network. The tagging experiment's frame: the same observer,
//! directory layout, `--resume` and interruption rules.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use candle_core::Device;
use rnnlab_rnn::TrainObserver;
use rnnlab_text::lm_stream::{LmCorpus, EOS};
use serde_json::{json, Value};

use crate::lm::{train_lm, AnyLm, LmSpec, DEFAULT_ORDER, LM_KINDS};
use crate::runner::{report_frame, run_kinds, RunObserver, TaskPlan, TaskSpec};
use crate::svg::{self, escape};
use crate::tag_report::{bold, caveats, html_table, md_table, page_foot, page_head, write_pages};
use crate::Error;

/// What to run.
pub type LmPlan = TaskPlan<LmSpec>;

/// Quick mode's slice: training tokens, and validation / test tokens.
pub const QUICK_TOKENS: (usize, usize) = (50_000, 10_000);

/// The summary keys of a language model: name and path in a run's metrics.
const SUMMARY: [(&str, &[&str]); 7] = [
    ("perplexity", &["test", "perplexity"]),
    ("perplexity_per_word", &["test", "perplexity_per_word"]),
    ("val_perplexity", &["val", "perplexity"]),
    ("train_s", &["timings", "train_s"]),
    ("train_tokens_per_s", &["timings", "train_tokens_per_s"]),
    ("score_tokens_per_s", &["timings", "score_tokens_per_s"]),
    ("generate_tokens_per_s", &["timings", "generate_tokens_per_s"]),
];

impl LmSpec {
    /// A kind of [`LM_KINDS`] with its default recipe (order 4; `lm_recipe` for the networks).
    pub fn from_kind(kind: &str) -> Result<Self, Error> {
        use rnnlab_rnn::CellKind;
        let cell = match kind {
            "kneser-ney" => return Ok(LmSpec::KneserNey { order: DEFAULT_ORDER }),
            "best-rnn" => {
                return Ok(LmSpec::Best {
                    config: Box::new(crate::lm::ensemble::member_recipe()),
                    order: DEFAULT_ORDER,
                })
            }
            "rnn" => CellKind::Rnn,
            "lstm" => CellKind::Lstm,
            "gru" => CellKind::Gru,
            other => {
                return Err(Error::Input(format!(
                    "--model {other:?} is not a language model; the language-model kinds are {}",
                    LM_KINDS.join(", ")
                )))
            }
        };
        Ok(LmSpec::Recurrent {
            kind: kind.to_string(),
            config: Box::new(rnnlab_rnn::language_model::lm_recipe(cell)),
        })
    }
}

impl TaskSpec for LmSpec {
    fn kind_name(&self) -> &str {
        self.kind()
    }

    fn seeded(&self) -> bool {
        !matches!(self, LmSpec::KneserNey { .. })
    }

    fn for_run(&self, seed: u64, quick: bool) -> Self {
        let mut spec = self.clone();
        if let LmSpec::Recurrent { config, .. } | LmSpec::Best { config, .. } = &mut spec {
            config.rnn.optimisation.seed = seed;
            if quick {
                config.rnn.optimisation.epochs = config.rnn.optimisation.epochs.min(3);
            }
        }
        spec
    }
}

/// The `dataset` entry of a language-model report: tokens (words) per split and the units
/// the models predict.
pub fn describe(corpus: &LmCorpus, files: Vec<Value>) -> Value {
    json!({
        "name": corpus.name,
        "task": "lm",
        "units": corpus.units,
        "tokens": {"train": corpus.streams[0].len(), "val": corpus.streams[1].len(), "test": corpus.streams[2].len()},
        "files": files,
    })
}

/// Runs the plan and writes `report.json`, `report.md` and `report.html` into `plan.out`.
pub fn run_lm(corpus: &LmCorpus, mut dataset: Value, plan: &LmPlan, obs: &mut dyn RunObserver) -> Result<Value, Error> {
    std::fs::create_dir_all(&plan.out).map_err(|e| Error::io(&plan.out, e))?;
    let sliced;
    let corpus = if plan.quick {
        let mut c = corpus.clone();
        for (k, n) in [QUICK_TOKENS.0, QUICK_TOKENS.1, QUICK_TOKENS.1].into_iter().enumerate() {
            c.streams[k].truncate(n);
        }
        let files = dataset["files"].take();
        dataset = describe(&c, Vec::new());
        dataset["files"] = files;
        sliced = c;
        &sliced
    } else {
        corpus
    };
    let mut report = report_frame("lm", dataset, &plan.command, plan.seeds, plan.quick);
    let mut train = |spec: &LmSpec, _seed: u64, dir: &Path, trainer: &mut dyn TrainObserver| {
        train_lm(corpus, spec, dir, &plan.device, trainer)
    };
    let reload = |dir: &Path| -> Option<Value> {
        let metrics: Value = rnnlab_baselines::baseline::read_json(&dir.join("metrics.json")).ok()?;
        let (lm, _) = AnyLm::load(dir, &plan.device).ok()??;
        let test = lm.score(&corpus.streams[2]).ok()?;
        let (now, recorded) = (test["perplexity"].as_f64()?, metrics["test"]["perplexity"].as_f64()?);
        ((now - recorded).abs() <= 1e-9 * recorded && metrics["test"]["tokens"] == test["tokens"]).then_some(metrics)
    };
    run_kinds(plan, &mut report, &SUMMARY, obs, &mut train, &reload)?;
    write_all(&report, &plan.out)?;
    Ok(report)
}

/// Fold `f` of `k` over the training stream's sentences (`<eos>`-ended), contiguous blocks in
/// file order as tagging's folds: training is the other folds, test the held one, validation
/// unchanged.
pub fn fold(corpus: &LmCorpus, k: usize, f: usize) -> LmCorpus {
    let sentences: Vec<&[String]> = corpus.streams[0].split_inclusive(|w| w == EOS).collect();
    let n = sentences.len();
    let (lo, hi) = (f * n / k, (f + 1) * n / k);
    let mut c = corpus.clone();
    let pick = |held: bool| -> Vec<String> {
        sentences
            .iter()
            .enumerate()
            .filter(|(i, _)| (lo..hi).contains(i) == held)
            .flat_map(|(_, s)| s.iter().cloned())
            .collect()
    };
    c.streams[0] = pick(false);
    c.streams[2] = pick(true);
    c
}

/// What to cross-validate on a language-model corpus.
pub struct LmCvPlan {
    pub spec: LmSpec,
    /// K.
    pub folds: usize,
    /// Seeds of a network's runs (`kneser-ney` runs with the first only).
    pub seeds: Vec<u64>,
    /// Where the fold models go (`seed-S/fold-K/`) and `cv.json`.
    pub out: PathBuf,
    pub device: Device,
    /// The command line, for `cv.json`.
    pub command: String,
}

/// K-fold cross-validation of one language-model kind on the training sentences (the test
/// stream is never read), in `rnnlab cv`'s `cv.json` frame with `task: "lm"` and `metric:
/// "perplexity"` (lower is better): per seed each held fold's perplexity and the pooled one
/// (all held tokens together), written after every seed. A user's interruption leaves out the
/// seed in progress.
pub fn cross_validate_lm(corpus: &LmCorpus, plan: &LmCvPlan, obs: &mut dyn RunObserver) -> Result<Value, Error> {
    let k = plan.folds;
    crate::cv::check_counts(k, plan.seeds.len())?;
    let sentences = corpus.streams[0].iter().filter(|w| *w == EOS).count();
    if sentences < k {
        return Err(Error::Input(format!(
            "{}: {sentences} training sentences, fewer than the {k} folds",
            corpus.name
        )));
    }
    let seeds = match plan.spec.seeded() {
        true => &plan.seeds[..],
        false => &plan.seeds[..1],
    };
    let parts: Vec<LmCorpus> = (0..k).map(|f| fold(corpus, k, f)).collect();
    let kind = plan.spec.kind().to_string();
    obs.plan(seeds.len() * k);
    let mut doc = json!({
        "dataset": corpus.name, "task": "lm", "kind": kind, "command": plan.command, "folds": k,
        "fold_sizes": parts.iter().map(|p| p.streams[2].iter().filter(|w| *w == EOS).count()).collect::<Vec<_>>(),
        "training_rows": sentences, "units": corpus.units, "metric": "perplexity", "runs": [], "interrupted": false,
    });
    std::fs::create_dir_all(&plan.out).map_err(|e| Error::io(&plan.out, e))?;
    let mut pooled_main = Vec::new();
    for &seed in seeds {
        let spec = plan.spec.for_run(seed, false);
        let mut train = |f: usize, dir: &Path, trainer: &mut dyn TrainObserver| {
            train_lm(&parts[f], &spec, dir, &plan.device, trainer)
        };
        let Some(folds) = crate::cv::seed_folds(&plan.out, &kind, seed, k, obs, &mut train)? else {
            doc["interrupted"] = json!(true);
            break;
        };
        let (mut held, mut val, mut nats, mut tokens) = (Vec::new(), Vec::new(), 0.0f64, 0usize);
        for metrics in &folds {
            let t = &metrics["test"];
            let n = t["tokens"].as_u64().unwrap_or(0) as usize;
            nats += t["cross_entropy"].as_f64().unwrap_or(f64::NAN) * n as f64;
            tokens += n;
            held.push(crate::round4(t["perplexity"].as_f64().unwrap_or(f64::NAN)));
            val.push(crate::round4(metrics["val"]["perplexity"].as_f64().unwrap_or(f64::NAN)));
        }
        let pooled = (nats / tokens.max(1) as f64).exp();
        pooled_main.push(pooled);
        doc["runs"].as_array_mut().expect("runs is an array").push(json!({
            "seed": seed, "held": held, "val": val,
            "pooled": {"perplexity": pooled, "tokens": tokens},
            "pooled_main": crate::round4(pooled),
        }));
        doc["summary"] = crate::cv::summary(&pooled_main);
        crate::write_json(&plan.out.join("cv.json"), &doc)?;
    }
    doc["summary"] = crate::cv::summary(&pooled_main);
    crate::write_json(&plan.out.join("cv.json"), &doc)?;
    Ok(doc)
}

fn stat(model: &Value, key: &str) -> Option<(f64, f64, u64)> {
    let s = &model["summary"][key];
    Some((s["mean"].as_f64()?, s["std"].as_f64()?, s["n"].as_u64()?))
}

/// `111.21 ± 6.49` (the ± only over several runs).
fn num(s: Option<(f64, f64, u64)>, digits: usize) -> String {
    match s {
        Some((m, sd, n)) if n > 1 => format!("{m:.digits$} ± {sd:.digits$}"),
        Some((m, _, _)) => format!("{m:.digits$}"),
        None => "-".into(),
    }
}

fn kind(model: &Value) -> &str {
    model["kind"].as_str().unwrap_or("?")
}

/// Models, lowest mean test perplexity first; failed ones last.
fn ranked(report: &Value) -> Vec<&Value> {
    let mut models: Vec<&Value> = report["models"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let key = |m: &Value| stat(m, "perplexity").map_or(f64::INFINITY, |s| s.0);
    models.sort_by(|a, b| key(a).total_cmp(&key(b)));
    models
}

fn table_cells(report: &Value) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let per_word = words_are_not_units(report);
    let mut header = vec![
        "model",
        "test perplexity",
        "val perplexity",
        "train s",
        "train tokens/s",
        "score tokens/s",
        "generate tokens/s",
        "runs",
    ];
    let body = ranked(report)
        .into_iter()
        .map(|m| {
            if stat(m, "perplexity").is_none() {
                let err = m["error"].as_str().unwrap_or("no finished run");
                let mut cells = vec![kind(m).to_string(), format!("failed: {err}")];
                cells.resize(header.len(), String::new());
                return cells;
            }
            let mean = |key: &str, digits: usize| stat(m, key).map_or("-".into(), |s| format!("{:.*}", digits, s.0));
            let mut cells = vec![
                kind(m).to_string(),
                num(stat(m, "perplexity"), 2),
                num(stat(m, "val_perplexity"), 2),
                mean("train_s", 1),
                mean("train_tokens_per_s", 0),
                mean("score_tokens_per_s", 0),
                mean("generate_tokens_per_s", 0),
                m["runs"].as_array().map_or(0, Vec::len).to_string(),
            ];
            if per_word {
                cells.insert(2, num(stat(m, "perplexity_per_word"), 2));
            }
            cells
        })
        .collect();
    if per_word {
        header.insert(2, "test perplexity per word");
    }
    (header, body)
}

/// Whether the models predict characters or subwords (then perplexity per word compares them
/// with word models).
fn words_are_not_units(report: &Value) -> bool {
    report["dataset"]["units"].as_str().is_some_and(|u| u != "word")
}

/// What the table says, in sentences.
pub fn findings(report: &Value) -> Vec<String> {
    let models = ranked(report);
    let ok: Vec<&&Value> = models.iter().filter(|m| stat(m, "perplexity").is_some()).collect();
    let mut out = Vec::new();
    if let Some(top) = ok.first() {
        out.push(format!(
            "Lowest test perplexity: **{}** at {}.",
            kind(top),
            num(stat(top, "perplexity"), 2)
        ));
    }
    let ngram = ok.iter().find(|m| m["family"] == "baseline");
    let networks: Vec<&&&Value> = ok.iter().filter(|m| m["family"] == "recurrent").collect();
    if let (Some(net), Some(base)) = (networks.first(), ngram) {
        let ppl = |m: &Value| stat(m, "perplexity").map_or(f64::NAN, |s| s.0);
        let (a, b) = (ppl(net), ppl(base));
        out.push(format!(
            "The best recurrent model ({}) has {:.2}x the perplexity of {} ({:.2} against {:.2}).",
            kind(net),
            a / b,
            kind(base),
            a,
            b
        ));
        let each: Vec<String> = networks
            .iter()
            .map(|m| {
                let r = ppl(m) / b;
                let how = if r < 1.0 {
                    format!("{:.1} % below", (1.0 - r) * 100.0)
                } else {
                    format!("{:.1} % above", (r - 1.0) * 100.0)
                };
                format!("{} {how}", kind(m))
            })
            .collect();
        out.push(format!(
            "Each recurrent model against {}: {}.",
            kind(base),
            each.join(", ")
        ));
    }
    let failed: Vec<&str> = models
        .iter()
        .filter(|m| stat(m, "perplexity").is_none())
        .map(|m| kind(m))
        .collect();
    if !failed.is_empty() {
        out.push(format!("Failed: {} (see the table for the errors).", failed.join(", ")));
    }
    out
}

/// Each network's seed-0 samples: (kind, samples).
fn samples(report: &Value) -> Vec<(String, Vec<String>)> {
    ranked(report)
        .into_iter()
        .filter_map(|m| {
            let s: Vec<String> = m["runs"][0]["samples"]
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            (!s.is_empty()).then(|| (kind(m).to_string(), s))
        })
        .collect()
}

fn header(report: &Value) -> String {
    let d = &report["dataset"];
    let mut s = format!(
        "Data set **{}** (language model, {} units): {} train / {} val / {} test words",
        d["name"].as_str().unwrap_or("?"),
        d["units"].as_str().unwrap_or("word"),
        d["tokens"]["train"],
        d["tokens"]["val"],
        d["tokens"]["test"]
    );
    s.push_str(&caveats(report, "tokens"));
    s
}

const NOTE: &str = "Perplexity per unit (word, character with `--units char`, subword with `--units bpe` or \
                    `unigram`; `<eos>` included), lower is better; per word for other units than words (the \
                    units' total cross-entropy over the words and `<eos>`s); the networks are scored as the reference scores them (parallel streams, windows of \
                    the recipe's BPTT length).";

pub fn markdown(report: &Value) -> String {
    let mut md = format!(
        "# rnnlab experiment: {} (language model)\n\n{}\n\n## Models, best first\n\n",
        report["dataset"]["name"].as_str().unwrap_or("?"),
        header(report)
    );
    let (h, body) = table_cells(report);
    md.push_str(&md_table(&h, &body));
    let _ = write!(md, "\n{NOTE}\n\n## Findings\n\n");
    for f in findings(report) {
        let _ = writeln!(md, "- {f}");
    }
    let drawn = samples(report);
    if !drawn.is_empty() {
        md.push_str("\n## Samples (seed 0, temperature 1)\n\n");
        for (k, lines) in drawn {
            let _ = writeln!(md, "**{k}**\n");
            for l in lines {
                let _ = writeln!(md, "> {l}\n");
            }
        }
    }
    let _ = writeln!(
        md,
        "\nCommand: `{}`; commit {}; seeds {}. Every model's directory is under `models/` and works with `rnnlab eval` \
         and `rnnlab generate`.",
        report["command"].as_str().unwrap_or(""),
        report["git_commit"].as_str().unwrap_or("unknown"),
        report["seeds"]
    );
    md
}

pub fn html(report: &Value) -> String {
    let mut h = page_head(report, "language model", &header(report));
    let (head, body) = table_cells(report);
    h.push_str("<h2>Models, best first</h2>");
    h.push_str(&html_table("results", &head, &body));
    let _ = write!(h, "<p>{}</p><h2>Findings</h2><ul>", escape(NOTE));
    for f in findings(report) {
        let _ = write!(h, "<li>{}</li>", bold(&f));
    }
    h.push_str("</ul><h2>Plots</h2><div class=\"plots\">");
    let models = ranked(report);
    let curves: Vec<(String, Vec<f64>)> = models
        .iter()
        .filter_map(|m| {
            let curve = m["runs"][0]["curve"].as_array()?;
            let ys = curve
                .iter()
                .map(|e| e["val_perplexity"].as_f64().unwrap_or(f64::NAN))
                .collect();
            Some((kind(m).to_string(), ys))
        })
        .collect();
    if !curves.is_empty() {
        h.push_str(&svg::lines(
            "Validation perplexity by epoch (seed 0)",
            "perplexity",
            &curves,
        ));
    }
    h.push_str("</div>");
    let drawn = samples(report);
    if !drawn.is_empty() {
        h.push_str("<h2>Samples (seed 0, temperature 1)</h2>");
        for (k, lines) in drawn {
            let _ = write!(h, "<h3>{}</h3>", escape(&k));
            for l in lines {
                let _ = write!(h, "<blockquote>{}</blockquote>", escape(&l));
            }
        }
    }
    h.push_str(&page_foot(report));
    h
}

/// Writes `report.md` and `report.html` beside `report.json` (written last).
pub fn write_all(report: &Value, out: &Path) -> Result<(), Error> {
    write_pages(report, out, &markdown(report), &html(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::summarize_paths;

    struct Quiet(rnnlab_rnn::train::Silent);

    impl RunObserver for Quiet {
        fn trainer(&mut self) -> &mut dyn TrainObserver {
            &mut self.0
        }
    }

    fn corpus() -> LmCorpus {
        let words = |t: &str, n: usize| -> Vec<String> { t.repeat(n).split_whitespace().map(String::from).collect() };
        LmCorpus {
            name: "toy".into(),
            streams: [
                words("the cat sat <eos> the dog ran <eos> a cat ran <eos> ", 30),
                words("the cat ran <eos> ", 5),
                words("a dog sat <eos> ", 5),
            ],
            files: Vec::new(),
            pipeline: None,
            units: Default::default(),
            subword_vocab: 40,
        }
    }

    /// Folds hold every training sentence once, in contiguous blocks; cross-validation of the
    /// n-gram model pools the held folds' tokens and never reads the test stream.
    #[test]
    fn lm_folds_hold_each_sentence_once_and_cv_pools_them() {
        let c = corpus();
        let sentences = c.streams[0].iter().filter(|w| *w == EOS).count();
        let mut held = Vec::new();
        for f in 0..3 {
            let p = fold(&c, 3, f);
            assert_eq!(p.streams[0].len() + p.streams[2].len(), c.streams[0].len());
            assert_eq!(p.streams[1], c.streams[1]);
            assert_eq!(p.streams[2].last().map(String::as_str), Some(EOS));
            held.extend(p.streams[2].iter().cloned());
        }
        assert_eq!(held, c.streams[0], "the held folds in order are the training stream");
        let dir = tempfile::tempdir().unwrap();
        let mut poisoned = c.clone();
        poisoned.streams[2] = vec!["never".into(); 3];
        let plan = LmCvPlan {
            spec: LmSpec::KneserNey { order: 2 },
            folds: 3,
            seeds: vec![0, 1],
            out: dir.path().to_path_buf(),
            device: Device::Cpu,
            command: "rnnlab cv --task lm".into(),
        };
        let doc = cross_validate_lm(&poisoned, &plan, &mut Quiet(rnnlab_rnn::train::Silent)).unwrap();
        assert_eq!(doc["runs"].as_array().unwrap().len(), 1, "a baseline runs once");
        let run = &doc["runs"][0];
        assert_eq!(run["pooled"]["tokens"].as_u64().unwrap() as usize, c.streams[0].len());
        let held: Vec<f64> = run["held"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let pooled = run["pooled"]["perplexity"].as_f64().unwrap();
        let (lo, hi) = held
            .iter()
            .fold((f64::INFINITY, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
        assert!(pooled >= lo - 1e-3 && pooled <= hi + 1e-3, "{pooled} within {held:?}");
        assert_eq!(doc["training_rows"].as_u64().unwrap() as usize, sentences);
        assert!(dir.path().join("cv.json").is_file());
        let few = LmCvPlan {
            folds: sentences + 1,
            ..plan
        };
        assert!(cross_validate_lm(&c, &few, &mut Quiet(rnnlab_rnn::train::Silent)).is_err());
    }

    /// The n-gram baseline once, a network per seed, the lowest perplexity first, samples in
    /// the report, and `--resume` keeps what finished.
    #[test]
    fn a_plan_runs_ranks_and_resumes() {
        let LmSpec::Recurrent { mut config, .. } = LmSpec::from_kind("gru").unwrap() else {
            panic!("gru is a network")
        };
        config.rnn.architecture.emb = 8;
        config.rnn.architecture.hidden = 8;
        config.rnn.optimisation.epochs = 2;
        config.bptt = 5;
        config.rnn.optimisation.batch_size = 4;
        let dir = tempfile::tempdir().unwrap();
        let plan = LmPlan {
            specs: vec![
                LmSpec::KneserNey { order: 3 },
                LmSpec::Recurrent {
                    kind: "gru".into(),
                    config,
                },
            ],
            seeds: 2,
            quick: false,
            out: dir.path().to_path_buf(),
            command: "rnnlab experiment --task lm".into(),
            device: candle_core::Device::Cpu,
            resume: false,
        };
        let c = corpus();
        let report = run_lm(
            &c,
            describe(&c, Vec::new()),
            &plan,
            &mut Quiet(rnnlab_rnn::train::Silent),
        )
        .unwrap();
        assert_eq!(report["complete"], true);
        let models = report["models"].as_array().unwrap();
        assert_eq!(models[0]["runs"].as_array().unwrap().len(), 1);
        assert_eq!(models[1]["runs"].as_array().unwrap().len(), 2);
        let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        let (kn, gru) = (md.find("| kneser-ney").unwrap(), md.find("| gru").unwrap());
        let ppl = |i: usize| models[i]["summary"]["perplexity"]["mean"].as_f64().unwrap();
        assert_eq!(kn < gru, ppl(0) < ppl(1), "lowest perplexity first:\n{md}");
        assert!(md.contains("## Samples") && md.contains("**gru**"), "{md}");
        let weights = dir.path().join("models/gru/seed1/model.safetensors");
        let before = std::fs::metadata(&weights).unwrap().modified().unwrap();
        let again = LmPlan { resume: true, ..plan };
        let report2 = run_lm(
            &c,
            describe(&c, Vec::new()),
            &again,
            &mut Quiet(rnnlab_rnn::train::Silent),
        )
        .unwrap();
        assert_eq!(std::fs::metadata(&weights).unwrap().modified().unwrap(), before);
        let mean = |r: &Value| r["models"][1]["summary"]["perplexity"]["mean"].as_f64().unwrap();
        assert!((mean(&report2) - mean(&report)).abs() < 1e-9, "the kept runs' figures");
        assert!(LmSpec::from_kind("lookup-lemmatizer").is_err());
    }

    #[test]
    fn findings_compare_the_best_network_with_the_ngram_model() {
        let model = |kind: &str, family: &str, ppl: &[f64]| {
            let runs: Vec<Value> = ppl
                .iter()
                .map(|&p| json!({"test": {"perplexity": p}, "samples": ["a b c"],
                                 "curve": [{"epoch": 1, "val_perplexity": 200.0}, {"epoch": 2, "val_perplexity": 150.0}]}))
                .collect();
            json!({"kind": kind, "family": family, "status": "ok",
                   "summary": summarize_paths(&runs, &SUMMARY), "runs": runs})
        };
        let report = json!({
            "dataset": {"name": "t", "tokens": {"train": 1, "val": 1, "test": 1}},
            "models": [model("kneser-ney", "baseline", &[140.0]), model("lstm", "recurrent", &[110.0, 112.0]),
                       {"kind": "gru", "family": "recurrent", "status": "failed", "error": "boom", "runs": []}],
            "command": "rnnlab experiment", "seeds": 2,
        });
        let md = markdown(&report);
        assert!(md.find("| lstm").unwrap() < md.find("| kneser-ney").unwrap(), "{md}");
        assert!(md.contains("| lstm | 111.00 ± 1.41 |"), "{md}");
        let f = findings(&report).join("\n");
        assert!(
            f.contains("(lstm) has 0.79x the perplexity of kneser-ney (111.00 against 140.00)"),
            "{f}"
        );
        assert!(f.contains("against kneser-ney: lstm 20.7 % below."), "{f}");
        assert!(f.contains("Failed: gru"), "{f}");
        let page = html(&report);
        assert!(page.contains("<polyline") && page.contains("<blockquote>a b c</blockquote>"));
    }
}
