//! The tagging report: `report.md` and `report.html` from a tagging `report.json`. Tagging's
//! own table (accuracy, accuracy on words unseen in training, sentence accuracy, macro-F1),
//! per-tag precision / recall / F1 of the best model beside the best baseline's, and in HTML
//! the accuracy bars, the best model's confusion heat map and the learning curves.

use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use crate::svg::{self, escape};
use crate::Error;

/// One model's line of the table.
struct Row<'a> {
    kind: &'a str,
    family: &'a str,
    model: &'a Value,
    /// Mean test accuracy; `None` for a failed model.
    accuracy: Option<f64>,
}

fn stat(model: &Value, key: &str) -> Option<(f64, f64, u64)> {
    let s = &model["summary"][key];
    Some((s["mean"].as_f64()?, s["std"].as_f64()?, s["n"].as_u64()?))
}

/// Models, best mean test accuracy first; failed ones last.
fn rows(report: &Value) -> Vec<Row<'_>> {
    let mut rows: Vec<Row> = report["models"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|m| Row {
            kind: m["kind"].as_str().unwrap_or("?"),
            family: m["family"].as_str().unwrap_or("?"),
            model: m,
            accuracy: stat(m, "accuracy").map(|s| s.0),
        })
        .collect();
    rows.sort_by(|a, b| b.accuracy.unwrap_or(-1.0).total_cmp(&a.accuracy.unwrap_or(-1.0)));
    rows
}

/// `94.65 ± 0.12` (percent; the ± only over several runs).
fn pct(s: Option<(f64, f64, u64)>) -> String {
    match s {
        Some((m, sd, n)) if n > 1 => format!("{:.2} ± {:.2}", 100.0 * m, 100.0 * sd),
        Some((m, _, _)) => format!("{:.2}", 100.0 * m),
        None => "-".into(),
    }
}

fn count(s: Option<(f64, f64, u64)>) -> String {
    s.map_or("-".into(), |(m, _, _)| format!("{:.0}", m))
}

/// The header cells and each model's cells of the main table.
fn table_cells(report: &Value) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "model",
        "family",
        "accuracy %",
        "unseen words %",
        "sentences %",
        "macro-F1 %",
        "val accuracy %",
        "train s",
        "train words/s",
        "predict words/s",
        "runs",
    ];
    let body = rows(report)
        .iter()
        .map(|r| {
            if r.accuracy.is_none() {
                let err = r.model["error"].as_str().unwrap_or("no finished run");
                let mut cells = vec![r.kind.to_string(), r.family.to_string(), format!("failed: {err}")];
                cells.resize(header.len(), String::new());
                return cells;
            }
            let m = r.model;
            vec![
                r.kind.to_string(),
                r.family.to_string(),
                pct(stat(m, "accuracy")),
                pct(stat(m, "accuracy_oov")),
                pct(stat(m, "sentence_accuracy")),
                pct(stat(m, "f1_macro")),
                pct(stat(m, "val_accuracy")),
                stat(m, "train_s").map_or("-".into(), |s| format!("{:.1}", s.0)),
                count(stat(m, "train_words_per_s")),
                count(stat(m, "predict_words_per_s")),
                m["runs"].as_array().map_or(0, Vec::len).to_string(),
            ]
        })
        .collect();
    (header, body)
}

/// What the table says, in sentences.
pub fn findings(report: &Value) -> Vec<String> {
    let all = rows(report);
    let best = |family: &str| all.iter().find(|r| r.family == family && r.accuracy.is_some());
    let mut out = Vec::new();
    if let Some(top) = all.first().filter(|r| r.accuracy.is_some()) {
        out.push(format!(
            "Best test accuracy: **{}** at {} %.",
            top.kind,
            pct(stat(top.model, "accuracy"))
        ));
    }
    if let (Some(rec), Some(base)) = (best("recurrent"), best("baseline")) {
        let diff = 100.0 * (rec.accuracy.unwrap_or(0.0) - base.accuracy.unwrap_or(0.0));
        let oov = |r: &Row| stat(r.model, "accuracy_oov").map_or(f64::NAN, |s| 100.0 * s.0);
        out.push(format!(
            "The best recurrent tagger ({}) is {:+.2} points against the best baseline ({}); on words unseen in \
             training {:.2} % against {:.2} %.",
            rec.kind,
            diff,
            base.kind,
            oov(rec),
            oov(base)
        ));
    }
    let failed: Vec<&str> = all.iter().filter(|r| r.accuracy.is_none()).map(|r| r.kind).collect();
    if !failed.is_empty() {
        out.push(format!("Failed: {} (see the table for the errors).", failed.join(", ")));
    }
    out
}

/// Per-tag precision / recall / F1 of the best model's first run, with the best baseline's F1
/// beside it: (tag, support, precision, recall, F1, baseline F1).
fn per_tag(report: &Value) -> Option<(String, Option<String>, Vec<[String; 6]>)> {
    let all = rows(report);
    let top = all.iter().find(|r| r.accuracy.is_some())?;
    let base = all
        .iter()
        .find(|r| r.family == "baseline" && r.accuracy.is_some() && r.kind != top.kind);
    let tags = top.model["runs"][0]["test"]["per_tag"].as_object()?;
    let base_tags = base.map(|b| &b.model["runs"][0]["test"]["per_tag"]);
    let f = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{:.3}", x));
    let lines = tags
        .iter()
        .map(|(tag, v)| {
            [
                tag.clone(),
                v["support"].to_string(),
                f(&v["precision"]),
                f(&v["recall"]),
                f(&v["f1"]),
                base_tags.map_or("-".into(), |b| f(&b[tag]["f1"])),
            ]
        })
        .collect();
    Some((top.kind.to_string(), base.map(|b| b.kind.to_string()), lines))
}

fn header(report: &Value) -> String {
    let d = &report["dataset"];
    let mut s = format!(
        "Data set **{}** (tagging, {} tags): {} train / {} val / {} test sentences ({} / {} / {} words)",
        d["name"].as_str().unwrap_or("?"),
        d["tags"].as_array().map_or(0, Vec::len),
        d["sizes"]["train"],
        d["sizes"]["val"],
        d["sizes"]["test"],
        d["words"]["train"],
        d["words"]["val"],
        d["words"]["test"]
    );
    s.push_str(&caveats(report, "sentences"));
    s
}

/// The end of a report's first line: a quick run's slice of the `units` (sentences, words) and
/// an interruption, said where they apply; then the full stop.
pub(crate) fn caveats(report: &Value, units: &str) -> String {
    let mut s = String::new();
    if report["quick"].as_bool() == Some(true) {
        let _ = write!(
            s,
            ". **Quick run**: a slice of the {units} and at most 3 epochs; figures are not comparable to full runs"
        );
    }
    if report["interrupted"].as_bool() == Some(true) {
        s.push_str(". **Interrupted** (Ctrl-C): the runs after the one in progress did not start");
    }
    s.push('.');
    s
}

pub(crate) fn md_table(header: &[&str], body: &[Vec<String>]) -> String {
    let mut md = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
    for r in body {
        let _ = writeln!(md, "| {} |", r.join(" | "));
    }
    md
}

pub fn markdown(report: &Value) -> String {
    let mut md = format!(
        "# rnnlab experiment: {} (tagging)\n\n{}\n\n## Models, best first\n\n",
        report["dataset"]["name"].as_str().unwrap_or("?"),
        header(report)
    );
    let (h, body) = table_cells(report);
    md.push_str(&md_table(&h, &body));
    md.push_str("\n\"unseen words\": words whose form is not in the training file.\n\n## Findings\n\n");
    for f in findings(report) {
        let _ = writeln!(md, "- {f}");
    }
    if let Some((top, base, lines)) = per_tag(report) {
        let _ = writeln!(md, "\n## Per tag: {top} (seed 0)\n");
        let base_col = base.map_or("baseline F1".into(), |b| format!("{b} F1"));
        let h = ["tag", "support", "precision", "recall", "F1", base_col.as_str()];
        let body: Vec<Vec<String>> = lines.into_iter().map(|l| l.to_vec()).collect();
        md.push_str(&md_table(&h, &body));
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

pub(crate) fn html_table(id: &str, header: &[&str], body: &[Vec<String>]) -> String {
    let mut h = format!("<table id=\"{id}\"><tr>");
    for c in header {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("</tr>");
    for r in body {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{}</td>", escape(c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h
}

pub(crate) fn bold(s: &str) -> String {
    escape(s)
        .split("**")
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<b>{p}</b>")
            } else {
                p.to_string()
            }
        })
        .collect()
}

/// The page's head and title line for a task's report (`task`: "tagging", ...), then `intro`.
pub(crate) fn page_head(report: &Value, task: &str, intro: &str) -> String {
    let name = report["dataset"]["name"].as_str().unwrap_or("?");
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>rnnlab: {n} ({task})</title><style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}\
         th{{background:#f4f4f4}}.plots{{display:flex;flex-wrap:wrap;gap:1em}}svg{{background:#fff;border:1px solid #eee}}\
         </style></head><body><h1>rnnlab experiment: {n} ({task})</h1><p>{hd}</p>",
        n = escape(name),
        hd = bold(intro)
    )
}

/// The page's foot: the command and the commit.
pub(crate) fn page_foot(report: &Value) -> String {
    format!(
        "<p><small>Command: <code>{}</code>; commit {}.</small></p></body></html>",
        escape(report["command"].as_str().unwrap_or("")),
        escape(report["git_commit"].as_str().unwrap_or("unknown"))
    )
}

pub fn html(report: &Value) -> String {
    let mut h = page_head(report, "tagging", &header(report));
    let (head, body) = table_cells(report);
    h.push_str("<h2>Models, best first</h2>");
    h.push_str(&html_table("results", &head, &body));
    h.push_str("<h2>Findings</h2><ul>");
    for f in findings(report) {
        let _ = write!(h, "<li>{}</li>", bold(&f));
    }
    h.push_str("</ul><h2>Plots</h2><div class=\"plots\">");
    let all = rows(report);
    let bars: Vec<(String, f64, f64, bool)> = all
        .iter()
        .filter_map(|r| stat(r.model, "accuracy").map(|(m, sd, _)| (r.kind.to_string(), m, sd, false)))
        .collect();
    if !bars.is_empty() {
        h.push_str(&svg::bars("Test accuracy (mean ± std over seeds)", "accuracy", &bars));
    }
    let curves: Vec<(String, Vec<f64>)> = all
        .iter()
        .filter_map(|r| {
            let curve = r.model["runs"][0]["curve"].as_array()?;
            let ys = curve
                .iter()
                .map(|e| e["val_metric"].as_f64().unwrap_or(f64::NAN))
                .collect();
            Some((r.kind.to_string(), ys))
        })
        .collect();
    if !curves.is_empty() {
        h.push_str(&svg::lines(
            "Validation accuracy by epoch (seed 0)",
            "accuracy",
            &curves,
        ));
    }
    if let Some(top) = all.iter().find(|r| r.accuracy.is_some()) {
        let run = &top.model["runs"][0];
        let matrix: Option<Vec<Vec<u64>>> = serde_json::from_value(run["test"]["confusion"].clone()).ok();
        if let Some(m) = matrix {
            let mut labels: Vec<String> = run["labels"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            // Tags only the test file has come after the model's, unnamed in its card.
            while labels.len() < m.len() {
                labels.push(format!("other {}", labels.len() + 1));
            }
            h.push_str(&svg::confusion(
                &format!("Confusion on test: {} (rows true, columns predicted)", top.kind),
                &labels,
                &m,
            ));
        }
    }
    h.push_str("</div>");
    if let Some((top, base, lines)) = per_tag(report) {
        let _ = write!(h, "<h2>Per tag: {} (seed 0)</h2>", escape(&top));
        let base_col = base.map_or("baseline F1".into(), |b| format!("{b} F1"));
        let head = ["tag", "support", "precision", "recall", "F1", base_col.as_str()];
        let body: Vec<Vec<String>> = lines.into_iter().map(|l| l.to_vec()).collect();
        h.push_str(&html_table("per-tag", &head, &body));
    }
    h.push_str(&page_foot(report));
    h
}

/// Writes `report.md` and `report.html` beside `report.json` (written last).
pub fn write_all(report: &Value, out: &Path) -> Result<(), Error> {
    write_pages(report, out, &markdown(report), &html(report))
}

/// Writes a task report's `md` and `html` pages, then `report.json` (last).
pub(crate) fn write_pages(report: &Value, out: &Path, md: &str, html: &str) -> Result<(), Error> {
    let md_path = out.join("report.md");
    rnnlab_baselines::files::write_atomic(&md_path, md.as_bytes()).map_err(|e| Error::io(&md_path, e))?;
    let page = out.join("report.html");
    rnnlab_baselines::files::write_atomic(&page, html.as_bytes()).map_err(|e| Error::io(&page, e))?;
    crate::write_json(&out.join("report.json"), report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(kind: &str, family: &str, accuracy: &[f64]) -> Value {
        let runs: Vec<Value> = accuracy
            .iter()
            .map(|&a| {
                json!({
                    "labels": ["DET", "NOUN"],
                    "test": {"accuracy": a, "accuracy_oov": a - 0.2,
                             "per_tag": {"DET": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2},
                                         "NOUN": {"precision": 0.5, "recall": 1.0, "f1": 0.667, "support": 1}},
                             "confusion": [[1, 1], [0, 1]]},
                    "curve": [{"epoch": 1, "val_metric": 0.5}, {"epoch": 2, "val_metric": 0.6}],
                })
            })
            .collect();
        json!({"kind": kind, "family": family, "status": "ok",
               "summary": crate::runner::summarize_paths(&runs, &[("accuracy", &["test", "accuracy"]),
                                                                ("accuracy_oov", &["test", "accuracy_oov"])]),
               "runs": runs})
    }

    #[test]
    fn models_rank_by_accuracy_and_the_findings_compare_families() {
        let report = json!({
            "dataset": {"name": "t", "tags": ["DET", "NOUN"], "sizes": {"train": 1, "val": 1, "test": 1},
                        "words": {"train": 3, "val": 3, "test": 3}},
            "models": [model("majority-tagger", "baseline", &[0.80]),
                       model("lstm", "recurrent", &[0.95, 0.93]),
                       model("feature-tagger", "baseline", &[0.90]),
                       {"kind": "gru", "family": "recurrent", "status": "failed", "error": "boom", "runs": []}],
            "command": "rnnlab experiment", "seeds": 2,
        });
        let md = markdown(&report);
        let order: Vec<usize> = ["| lstm", "| feature-tagger", "| majority-tagger", "| gru"]
            .iter()
            .map(|k| md.find(k).unwrap_or_else(|| panic!("{k} missing:\n{md}")))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{md}");
        assert!(md.contains("94.00 ± 1.41"), "{md}");
        assert!(md.contains("failed: boom"), "{md}");
        let f = findings(&report).join("\n");
        assert!(
            f.contains("(lstm) is +4.00 points against the best baseline (feature-tagger)"),
            "{f}"
        );
        assert!(
            md.contains("| tag | support | precision | recall | F1 | feature-tagger F1 |"),
            "{md}"
        );
        let page = html(&report);
        assert_eq!(
            page.matches("class=\"cell\"").count(),
            4,
            "the best model's 2 x 2 confusion"
        );
        assert!(page.contains("<polyline"), "learning curves");
        assert!(page.ends_with("</html>"));
    }
}
