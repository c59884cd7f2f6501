//! The lemma experiment: `lookup-lemmatizer` and the encoder-decoders of a plan (recurrent
//! kinds once per seed) on one lemma corpus, each into its own model directory, collected into
//! `report.json` (rewritten after every run) and rendered as `report.md` and `report.html`:
//! accuracy over all test words and over unseen (form, tag) pairs, character error rate, the
//! combination with the lexicon, per-tag accuracy and the learning curves. The tagging
//! experiment's frame: the same observer, directory layout, `--resume` and interruption rules.

use std::fmt::Write;
use std::path::Path;

use candle_core::Device;
use serde_json::{json, Value};

use crate::lemma::{train_lemma, AnyLemmatizer, LemmaCorpus, LemmaSpec};
use crate::runner::{report_frame, run_kinds, RunObserver, TaskSpec};
use crate::svg::{self, escape};
use crate::tag_report::{bold, caveats, html_table, md_table, page_foot, page_head, write_pages};
use crate::Error;
use rnnlab_rnn::TrainObserver;

/// What to run.
pub type LemmaPlan = crate::runner::TaskPlan<LemmaSpec>;

/// Quick mode's slice: training words, and validation / test words.
pub const QUICK_WORDS: (usize, usize) = (20_000, 5_000);

impl TaskSpec for LemmaSpec {
    fn kind_name(&self) -> &str {
        self.kind()
    }

    fn seeded(&self) -> bool {
        matches!(self, LemmaSpec::Recurrent { .. })
    }

    fn for_run(&self, seed: u64, quick: bool) -> Self {
        let mut spec = self.clone();
        if let LemmaSpec::Recurrent { config, .. } = &mut spec {
            config.rnn.optimisation.seed = seed;
            if quick {
                config.rnn.optimisation.epochs = config.rnn.optimisation.epochs.min(3);
            }
        }
        spec
    }
}

/// The summary keys of a lemmatiser: name and path in a run's metrics.
const SUMMARY: [(&str, &[&str]); 9] = [
    ("accuracy", &["test", "accuracy"]),
    ("accuracy_unseen", &["test", "accuracy_unseen"]),
    ("cer", &["test", "cer"]),
    ("combined_accuracy", &["combined", "test", "accuracy"]),
    ("combined_accuracy_unseen", &["combined", "test", "accuracy_unseen"]),
    ("val_accuracy", &["val", "accuracy"]),
    ("train_s", &["timings", "train_s"]),
    ("train_words_per_s", &["timings", "train_words_per_s"]),
    ("predict_words_per_s", &["timings", "predict_words_per_s"]),
];

/// The `dataset` entry of a lemma report: words per split and how many test pairs are unseen.
pub fn describe(corpus: &LemmaCorpus, files: Vec<Value>) -> Value {
    let seen: std::collections::HashSet<(&str, &str)> = corpus.splits[0]
        .iter()
        .map(|w| (w.form.as_str(), w.tag.as_str()))
        .collect();
    let unseen = corpus.splits[2]
        .iter()
        .filter(|w| !seen.contains(&(w.form.as_str(), w.tag.as_str())))
        .count();
    json!({
        "name": corpus.name,
        "task": "lemma",
        "words": {"train": corpus.splits[0].len(), "val": corpus.splits[1].len(), "test": corpus.splits[2].len()},
        "unseen_test_words": unseen,
        "files": files,
    })
}

/// Runs the plan and writes `report.json`, `report.md` and `report.html` into `plan.out`.
pub fn run_lemma(
    corpus: &LemmaCorpus,
    mut dataset: Value,
    plan: &LemmaPlan,
    obs: &mut dyn RunObserver,
) -> Result<Value, Error> {
    std::fs::create_dir_all(&plan.out).map_err(|e| Error::io(&plan.out, e))?;
    let sliced;
    let corpus = if plan.quick {
        let mut c = corpus.clone();
        for (k, n) in [QUICK_WORDS.0, QUICK_WORDS.1, QUICK_WORDS.1].into_iter().enumerate() {
            c.splits[k].truncate(n);
        }
        let files = dataset["files"].take();
        dataset = describe(&c, Vec::new());
        dataset["files"] = files;
        sliced = c;
        &sliced
    } else {
        corpus
    };
    let mut report = report_frame("lemma", dataset, &plan.command, plan.seeds, plan.quick);
    let mut train = |spec: &LemmaSpec, _seed: u64, dir: &Path, trainer: &mut dyn TrainObserver| {
        train_lemma(corpus, spec, dir, &plan.device, trainer)
    };
    run_kinds(plan, &mut report, &SUMMARY, obs, &mut train, &|dir| {
        reload(corpus, dir, &plan.device)
    })?;
    write_all(&report, &plan.out)?;
    Ok(report)
}

/// A finished run of an earlier experiment in `dir`: its metrics, when the lemmatiser loads and
/// scores the test words as recorded; `None` (train it again) otherwise.
fn reload(corpus: &LemmaCorpus, dir: &Path, device: &Device) -> Option<Value> {
    let metrics: Value = rnnlab_baselines::baseline::read_json(&dir.join("metrics.json")).ok()?;
    let (lemmatizer, _) = AnyLemmatizer::load(dir, device).ok()??;
    let scored = lemmatizer.evaluate(&corpus.splits[2], None, 1).ok()?;
    let test = scored.get("network").unwrap_or(&scored);
    let (now, recorded) = (test["accuracy"].as_f64()?, metrics["test"]["accuracy"].as_f64()?);
    ((now - recorded).abs() < 1e-12 && metrics["test"]["words"] == test["words"]).then_some(metrics)
}

fn stat(model: &Value, key: &str) -> Option<(f64, f64, u64)> {
    let s = &model["summary"][key];
    Some((s["mean"].as_f64()?, s["std"].as_f64()?, s["n"].as_u64()?))
}

/// `96.03 ± 0.32` (percent; the ± only over several runs).
fn pct(s: Option<(f64, f64, u64)>) -> String {
    match s {
        Some((m, sd, n)) if n > 1 => format!("{:.2} ± {:.2}", 100.0 * m, 100.0 * sd),
        Some((m, _, _)) => format!("{:.2}", 100.0 * m),
        None => "-".into(),
    }
}

/// A model's best answer: the combination with the lexicon when it has one, else its own.
fn best_accuracy(model: &Value) -> Option<f64> {
    stat(model, "combined_accuracy")
        .or_else(|| stat(model, "accuracy"))
        .map(|s| s.0)
}

/// Models, best mean test accuracy (combined where there is one) first; failed ones last.
fn ranked(report: &Value) -> Vec<&Value> {
    let mut models: Vec<&Value> = report["models"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    models.sort_by(|a, b| {
        best_accuracy(b)
            .unwrap_or(-1.0)
            .total_cmp(&best_accuracy(a).unwrap_or(-1.0))
    });
    models
}

fn kind(model: &Value) -> &str {
    model["kind"].as_str().unwrap_or("?")
}

fn table_cells(report: &Value) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "model",
        "accuracy %",
        "unseen pairs %",
        "CER",
        "with lexicon %",
        "with lexicon, unseen %",
        "val accuracy %",
        "train s",
        "train words/s",
        "predict words/s",
        "runs",
    ];
    let body = ranked(report)
        .into_iter()
        .map(|m| {
            if best_accuracy(m).is_none() {
                let err = m["error"].as_str().unwrap_or("no finished run");
                let mut cells = vec![kind(m).to_string(), format!("failed: {err}")];
                cells.resize(header.len(), String::new());
                return cells;
            }
            let num = |key: &str, digits: usize| stat(m, key).map_or("-".into(), |s| format!("{:.*}", digits, s.0));
            vec![
                kind(m).to_string(),
                pct(stat(m, "accuracy")),
                pct(stat(m, "accuracy_unseen")),
                num("cer", 3),
                pct(stat(m, "combined_accuracy")),
                pct(stat(m, "combined_accuracy_unseen")),
                pct(stat(m, "val_accuracy")),
                num("train_s", 1),
                num("train_words_per_s", 0),
                num("predict_words_per_s", 0),
                m["runs"].as_array().map_or(0, Vec::len).to_string(),
            ]
        })
        .collect();
    (header, body)
}

/// What the table says, in sentences.
pub fn findings(report: &Value) -> Vec<String> {
    let models = ranked(report);
    let ok: Vec<&&Value> = models.iter().filter(|m| best_accuracy(m).is_some()).collect();
    let mut out = Vec::new();
    if let Some(top) = ok.first() {
        let how = if stat(top, "combined_accuracy").is_some() {
            " (with its lexicon for the pairs seen in training)"
        } else {
            ""
        };
        out.push(format!(
            "Best test accuracy: **{}**{how} at {} %.",
            kind(top),
            pct(stat(top, "combined_accuracy").or_else(|| stat(top, "accuracy")))
        ));
    }
    let lookup = ok.iter().find(|m| m["family"] == "baseline");
    let network = ok.iter().find(|m| m["family"] == "recurrent");
    if let (Some(net), Some(base)) = (network, lookup) {
        out.push(format!(
            "On the (form, tag) pairs unseen in training, {} alone reaches {} % against {} % for {}.",
            kind(net),
            pct(stat(net, "accuracy_unseen")),
            pct(stat(base, "accuracy_unseen")),
            kind(base)
        ));
    }
    let failed: Vec<&str> = models
        .iter()
        .filter(|m| best_accuracy(m).is_none())
        .map(|m| kind(m))
        .collect();
    if !failed.is_empty() {
        out.push(format!("Failed: {} (see the table for the errors).", failed.join(", ")));
    }
    out
}

/// Per-tag accuracy of the best model's first run (alone), the lookup's beside it.
fn per_tag(report: &Value) -> Option<(String, Vec<Vec<String>>)> {
    let models = ranked(report);
    let top = models.iter().find(|m| best_accuracy(m).is_some())?;
    let base = models
        .iter()
        .find(|m| m["family"] == "baseline" && best_accuracy(m).is_some() && kind(m) != kind(top));
    let tags = top["runs"][0]["test"]["per_tag"].as_object()?;
    let f = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{:.2}", 100.0 * x));
    let lines = tags
        .iter()
        .map(|(tag, v)| {
            vec![
                tag.clone(),
                v["support"].to_string(),
                f(&v["accuracy"]),
                base.map_or("-".into(), |b| f(&b["runs"][0]["test"]["per_tag"][tag]["accuracy"])),
            ]
        })
        .collect();
    Some((kind(top).to_string(), lines))
}

fn header(report: &Value) -> String {
    let d = &report["dataset"];
    let mut s = format!(
        "Data set **{}** (lemmatisation: form + UPOS to lemma): {} train / {} val / {} test words, {} test words \
         whose (form, tag) pair is unseen in training",
        d["name"].as_str().unwrap_or("?"),
        d["words"]["train"],
        d["words"]["val"],
        d["words"]["test"],
        d["unseen_test_words"]
    );
    s.push_str(&caveats(report, "words"));
    s
}

const NOTE: &str = "\"accuracy\" is the model alone (greedy decoding); \"with lexicon\" answers the pairs seen in \
                    training from the training file's table and the rest with the network.";

pub fn markdown(report: &Value) -> String {
    let mut md = format!(
        "# rnnlab experiment: {} (lemmatisation)\n\n{}\n\n## Models, best first\n\n",
        report["dataset"]["name"].as_str().unwrap_or("?"),
        header(report)
    );
    let (h, body) = table_cells(report);
    md.push_str(&md_table(&h, &body));
    let _ = write!(md, "\n{NOTE}\n\n## Findings\n\n");
    for f in findings(report) {
        let _ = writeln!(md, "- {f}");
    }
    if let Some((top, lines)) = per_tag(report) {
        let _ = writeln!(md, "\n## Per tag: {top} alone (seed 0)\n");
        md.push_str(&md_table(&["tag", "support", "accuracy %", "lookup %"], &lines));
    }
    let _ = writeln!(
        md,
        "\nCommand: `{}`; commit {}; seeds {}. Every model's directory is under `models/` and works with `rnnlab predict`.",
        report["command"].as_str().unwrap_or(""),
        report["git_commit"].as_str().unwrap_or("unknown"),
        report["seeds"]
    );
    md
}

pub fn html(report: &Value) -> String {
    let mut h = page_head(report, "lemmatisation", &header(report));
    let (head, body) = table_cells(report);
    h.push_str("<h2>Models, best first</h2>");
    h.push_str(&html_table("results", &head, &body));
    let _ = write!(h, "<p>{}</p><h2>Findings</h2><ul>", escape(NOTE));
    for f in findings(report) {
        let _ = write!(h, "<li>{}</li>", bold(&f));
    }
    h.push_str("</ul><h2>Plots</h2><div class=\"plots\">");
    let models = ranked(report);
    let mut bars = Vec::new();
    for m in &models {
        if let Some((mean, sd, _)) = stat(m, "accuracy") {
            bars.push((format!("{} alone", kind(m)), mean, sd, false));
        }
        if let Some((mean, sd, _)) = stat(m, "combined_accuracy") {
            bars.push((format!("{} + lexicon", kind(m)), mean, sd, false));
        }
    }
    if !bars.is_empty() {
        h.push_str(&svg::bars("Test accuracy (mean ± std over seeds)", "accuracy", &bars));
    }
    let curves: Vec<(String, Vec<f64>)> = models
        .iter()
        .filter_map(|m| {
            let curve = m["runs"][0]["curve"].as_array()?;
            let ys = curve
                .iter()
                .map(|e| e["val_accuracy"].as_f64().unwrap_or(f64::NAN))
                .collect();
            Some((kind(m).to_string(), ys))
        })
        .collect();
    if !curves.is_empty() {
        h.push_str(&svg::lines(
            "Validation exact match by epoch (distinct pairs, seed 0)",
            "accuracy",
            &curves,
        ));
    }
    h.push_str("</div>");
    if let Some((top, lines)) = per_tag(report) {
        let _ = write!(h, "<h2>Per tag: {} alone (seed 0)</h2>", escape(&top));
        h.push_str(&html_table(
            "per-tag",
            &["tag", "support", "accuracy %", "lookup %"],
            &lines,
        ));
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
    use rnnlab_baselines::lemma::LemmaItem;

    struct Quiet(rnnlab_rnn::train::Silent);

    impl RunObserver for Quiet {
        fn trainer(&mut self) -> &mut dyn rnnlab_rnn::TrainObserver {
            &mut self.0
        }
    }

    fn item(f: &str, t: &str, l: &str) -> LemmaItem {
        LemmaItem {
            form: f.into(),
            tag: t.into(),
            lemma: l.into(),
        }
    }

    /// The plan runs the lookup once and a network per seed, ranks by the best answer, and
    /// `--resume` keeps finished runs (their directories untouched).
    #[test]
    fn a_plan_runs_ranks_and_resumes() {
        let words = ["walks", "talks", "jumps", "runs", "eats", "reads", "sings", "plays"];
        let mut train = Vec::new();
        for w in words {
            train.push(item(w, "VERB", &w[..w.len() - 1]));
            train.push(item(w, "NOUN", w));
        }
        let corpus = LemmaCorpus {
            name: "toy".into(),
            splits: [
                train.clone(),
                train[..4].to_vec(),
                vec![item("hops", "VERB", "hop"), item("walks", "VERB", "walk")],
            ],
            files: Vec::new(),
        };
        let mut config = rnnlab_rnn::seq2seq::seq2seq_recipe(rnnlab_rnn::CellKind::Gru);
        config.rnn.architecture.emb = 8;
        config.rnn.architecture.hidden = 8;
        config.rnn.optimisation.epochs = 2;
        config.max_output = 10;
        let dir = tempfile::tempdir().unwrap();
        let plan = LemmaPlan {
            specs: vec![
                LemmaSpec::Lookup,
                LemmaSpec::Recurrent {
                    kind: "gru".into(),
                    config: Box::new(config),
                },
            ],
            seeds: 2,
            quick: false,
            out: dir.path().to_path_buf(),
            command: "rnnlab experiment --task lemma".into(),
            device: Device::Cpu,
            resume: false,
        };
        let dataset = describe(&corpus, Vec::new());
        assert_eq!(dataset["unseen_test_words"], 1);
        let report = run_lemma(&corpus, dataset.clone(), &plan, &mut Quiet(rnnlab_rnn::train::Silent)).unwrap();
        assert_eq!(report["complete"], true);
        let models = report["models"].as_array().unwrap();
        assert_eq!(models[0]["runs"].as_array().unwrap().len(), 1, "the lookup runs once");
        assert_eq!(
            models[1]["runs"].as_array().unwrap().len(),
            2,
            "the network once per seed"
        );
        assert_eq!(models[1]["runs"][1]["seed"], 1);
        assert!(dir.path().join("models/gru/seed1/model.safetensors").is_file());
        // The lexicon knows "walks"/VERB; the combination is right on it whatever the network says.
        assert!(models[1]["summary"]["combined_accuracy"]["mean"].as_f64().unwrap() >= 0.5);
        let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(md.contains("| model | accuracy % | unseen pairs % |"), "{md}");
        assert!(md.contains("| lookup-lemmatizer | 50.00 | 0.00 |"), "{md}");
        assert!(std::fs::read_to_string(dir.path().join("report.html"))
            .unwrap()
            .ends_with("</html>"));
        // Resume: a finished run is kept (its weights file is not rewritten).
        let weights = dir.path().join("models/gru/seed0/model.safetensors");
        let before = std::fs::metadata(&weights).unwrap().modified().unwrap();
        let again = LemmaPlan { resume: true, ..plan };
        let report2 = run_lemma(&corpus, dataset, &again, &mut Quiet(rnnlab_rnn::train::Silent)).unwrap();
        assert_eq!(std::fs::metadata(&weights).unwrap().modified().unwrap(), before);
        assert_eq!(report2["models"][1]["summary"], report["models"][1]["summary"]);
    }

    #[test]
    fn the_report_ranks_by_the_best_answer_and_names_failures() {
        let run = |acc: f64, combined: Option<f64>| {
            let mut r = json!({"test": {"accuracy": acc, "accuracy_unseen": acc - 0.2, "cer": 0.1,
                                        "per_tag": {"NOUN": {"accuracy": acc, "support": 3}}},
                               "curve": [{"epoch": 1, "val_accuracy": 0.5}, {"epoch": 2, "val_accuracy": 0.7}]});
            if let Some(c) = combined {
                r["combined"] = json!({"test": {"accuracy": c, "accuracy_unseen": acc - 0.2}});
            }
            r
        };
        let model = |kind: &str, family: &str, runs: Vec<Value>| {
            use crate::runner::summarize_paths;
            json!({"kind": kind, "family": family, "status": "ok",
                   "summary": summarize_paths(&runs, &SUMMARY), "runs": runs})
        };
        let report = json!({
            "dataset": {"name": "t", "words": {"train": 1, "val": 1, "test": 1}, "unseen_test_words": 1},
            "models": [model("lookup-lemmatizer", "baseline", vec![run(0.96, None)]),
                       model("lstm", "recurrent", vec![run(0.95, Some(0.98)), run(0.93, Some(0.97))]),
                       {"kind": "gru", "family": "recurrent", "status": "failed", "error": "boom", "runs": []}],
            "command": "rnnlab experiment", "seeds": 2,
        });
        let md = markdown(&report);
        let at = |k: &str| md.find(k).unwrap_or_else(|| panic!("{k} missing:\n{md}"));
        assert!(
            at("| lstm") < at("| lookup-lemmatizer") && at("| lookup-lemmatizer") < at("| gru"),
            "{md}"
        );
        assert!(md.contains("| lstm | 94.00 ± 1.41 |"), "{md}");
        assert!(md.contains("failed: boom"), "{md}");
        let f = findings(&report).join("\n");
        assert!(f.contains("**lstm** (with its lexicon"), "{f}");
        assert!(
            f.contains("lstm alone reaches 74.00 ± 1.41 % against 76.00 % for lookup-lemmatizer"),
            "{f}"
        );
        assert!(md.contains("| NOUN | 3 | 95.00 | 96.00 |"), "{md}");
        let page = html(&report);
        assert!(
            page.contains("<polyline") && page.ends_with("</html>"),
            "curves and a whole page"
        );
    }
}
