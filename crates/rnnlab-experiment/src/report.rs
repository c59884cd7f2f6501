//! Report writers: `report.md` (the table, best first, and findings written from the numbers)
//! and `report.html` (one self-contained page with the table and SVG plots). `report.json` is
//! written by the runner.

use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use crate::prepared::Prepared;
use crate::runner::RunDetail;
use crate::svg::{self, escape};
use crate::Error;

/// One line of the comparison table.
#[derive(Debug, Clone)]
pub struct Row {
    pub kind: String,
    pub family: String,
    pub status: String,
    pub main: Option<(f64, f64)>,
    pub f1_macro: Option<(f64, f64)>,
    pub accuracy: Option<(f64, f64)>,
    pub train_s: Option<f64>,
    pub predict_docs_per_s: Option<f64>,
    pub runs: usize,
    pub reference: bool,
    pub error: Option<String>,
}

impl Row {
    /// The model column: the kind, marked when the row is a reference figure.
    fn name(&self) -> String {
        if self.reference {
            format!("{} (reference)", self.kind)
        } else {
            self.kind.clone()
        }
    }

    /// The six figure columns of a row that ran: main metric, macro-F1, accuracy, train s,
    /// predict docs/s, runs (the same text in Markdown and HTML).
    fn figures(&self) -> [String; 6] {
        [
            pm(self.main),
            pm(self.f1_macro),
            pm(self.accuracy),
            secs(self.train_s),
            self.predict_docs_per_s.map_or("–".into(), |d| format!("{d:.0}")),
            self.runs.to_string(),
        ]
    }
}

fn stat(summary: &Value, key: &str) -> Option<(f64, f64)> {
    let s = summary.get(key)?;
    Some((s.get("mean")?.as_f64()?, s.get("std")?.as_f64().unwrap_or(0.0)))
}

/// Whether the report's task is binary (its figure is the positive class's F1).
pub fn is_binary(report: &Value) -> bool {
    report["models"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["runs"].as_array().into_iter().flatten())
        .any(|r| r["test"].get("f1").is_some_and(|v| !v.is_null()))
        || report["dataset"]["classes"].as_array().is_some_and(|c| c.len() == 2)
}

/// The table rows, best first; failed models last, reference rows among the others.
pub fn rows(report: &Value) -> Vec<Row> {
    let binary = is_binary(report);
    let main_key = if binary { "f1" } else { "f1_macro" };
    let mut rows: Vec<Row> = Vec::new();
    for m in report["models"].as_array().into_iter().flatten() {
        let s = &m["summary"];
        rows.push(Row {
            kind: m["kind"].as_str().unwrap_or("?").to_string(),
            family: m["family"].as_str().unwrap_or("").to_string(),
            status: m["status"].as_str().unwrap_or("?").to_string(),
            main: stat(s, main_key),
            f1_macro: stat(s, "f1_macro"),
            accuracy: stat(s, "accuracy"),
            train_s: stat(s, "train_s").map(|x| x.0),
            predict_docs_per_s: stat(s, "predict_docs_per_s").map(|x| x.0),
            runs: m["runs"].as_array().map_or(0, Vec::len),
            reference: false,
            error: m["error"].as_str().map(str::to_string),
        });
    }
    for r in report["reference"].as_array().into_iter().flatten() {
        let get = |k: &str| r.get(k).and_then(Value::as_f64);
        let main = get(main_key).or_else(|| get("f1")).or_else(|| get("f1_macro"));
        let train_s = get("train_s")
            .or_else(|| get("fit_s"))
            .or_else(|| get("seconds"))
            .or_else(|| get("epoch_s_median").map(|e| e * get("epochs").unwrap_or(10.0)));
        rows.push(Row {
            kind: r
                .get("model")
                .and_then(Value::as_str)
                .or_else(|| r.get("name").and_then(Value::as_str))
                .unwrap_or("reference")
                .to_string(),
            family: "reference".into(),
            status: "ok".into(),
            main: main.map(|v| (v, get("std").unwrap_or(0.0))),
            f1_macro: get("f1_macro").map(|v| (v, 0.0)),
            accuracy: get("accuracy").map(|v| (v, 0.0)),
            train_s,
            predict_docs_per_s: get("infer_docs_per_s").or_else(|| get("predict_docs_per_s")),
            runs: 1,
            reference: true,
            error: None,
        });
    }
    rows.sort_by(|a, b| {
        let key = |r: &Row| r.main.map_or(f64::NEG_INFINITY, |m| m.0);
        key(b).total_cmp(&key(a))
    });
    rows
}

fn pm(x: Option<(f64, f64)>) -> String {
    match x {
        Some((m, s)) if s > 0.0 => format!("{m:.4} ± {s:.4}"),
        Some((m, _)) => format!("{m:.4}"),
        None => "–".into(),
    }
}

fn secs(x: Option<f64>) -> String {
    x.map_or("–".into(), |s| {
        if s < 10.0 {
            format!("{s:.2}")
        } else {
            format!("{s:.0}")
        }
    })
}

/// The comparison table as Markdown (also what the terminal shows).
pub fn table(report: &Value) -> String {
    let main = if is_binary(report) { "test F1" } else { "test macro-F1" };
    let mut t = format!(
        "| model | family | {main} | macro-F1 | accuracy | train s | predict docs/s | runs |\n|---|---|---|---|---|---|---|---|\n"
    );
    for r in rows(report) {
        let name = r.name();
        if r.status != "ok" {
            let _ = writeln!(
                t,
                "| {name} | {} | failed: {} | | | | | {} |",
                r.family,
                r.error.as_deref().unwrap_or("?").replace('|', "/").replace('\n', " "),
                r.runs
            );
            continue;
        }
        let _ = writeln!(t, "| {name} | {} | {} |", r.family, r.figures().join(" | "));
    }
    t
}

/// A few sentences generated from the numbers.
pub fn findings(report: &Value) -> Vec<String> {
    let rows = rows(report);
    let metric = if is_binary(report) { "F1" } else { "macro-F1" };
    let ours: Vec<&Row> = rows.iter().filter(|r| !r.reference && r.main.is_some()).collect();
    let mut out = Vec::new();
    let Some(best) = ours.first() else {
        out.push("No model finished.".into());
        return out;
    };
    out.push(format!(
        "The best model is **{}** ({}) with test {metric} {:.4}{}.",
        best.kind,
        best.family,
        best.main.unwrap().0,
        if best.runs > 1 {
            format!(" (mean of {} seeds, ± {:.4})", best.runs, best.main.unwrap().1)
        } else {
            String::new()
        }
    ));
    let bow = ours.iter().find(|r| r.family == "bag-of-words");
    let rec = ours.iter().find(|r| r.family == "recurrent");
    if let (Some(b), Some(r)) = (bow, rec) {
        let (bm, rm) = (b.main.unwrap().0, r.main.unwrap().0);
        let (winner, loser, diff) = if rm > bm { (r, b, rm - bm) } else { (b, r, bm - rm) };
        let cost = match (winner.train_s, loser.train_s) {
            (Some(w), Some(l)) if l > 0.0 && w > 0.0 => {
                if w >= l {
                    format!(", training {:.0}x longer ({:.1} s against {:.1} s)", w / l, w, l)
                } else {
                    format!(", training {:.0}x faster ({:.1} s against {:.1} s)", l / w, w, l)
                }
            }
            _ => String::new(),
        };
        out.push(format!(
            "The best {} model ({}) beats the best {} model ({}) by {:.4} {metric}{cost}.",
            winner.family, winner.kind, loser.family, loser.kind, diff
        ));
        let c = &report["comparison"];
        if c["a"] == r.kind.as_str() && c["b"] == b.kind.as_str() {
            let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
            out.push(format!(
                "How sure that is: a paired bootstrap over the {} test rows ({} resamples) puts {} minus {} \
                 at {:+.4}, 95 % interval [{:+.4}, {:+.4}]; {} is level or ahead in {:.0} % of resamples.",
                c["test_rows"],
                c["resamples"],
                r.kind,
                b.kind,
                f(&c["difference"]),
                f(&c["ci95"][0]),
                f(&c["ci95"][1]),
                r.kind,
                100.0 * f(&c["share_level_or_ahead"])
            ));
        }
    }
    let best_ref = rows.iter().find(|r| r.reference && r.main.is_some());
    if let Some(rf) = best_ref {
        let d = best.main.unwrap().0 - rf.main.unwrap().0;
        out.push(format!(
            "Against the best reference row ({}, {:.4}), the best model is {} by {:.4}.",
            rf.kind,
            rf.main.unwrap().0,
            if d >= 0.0 { "ahead" } else { "behind" },
            d.abs()
        ));
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.status != "ok")
        .map(|r| r.kind.as_str())
        .collect();
    if !failed.is_empty() {
        out.push(format!("Failed: {} (see the table for the errors).", failed.join(", ")));
    }
    out
}

fn header(report: &Value) -> String {
    let d = &report["dataset"];
    let mut s = format!(
        "Data set **{}**: {} train / {} val / {} test rows",
        d["name"].as_str().unwrap_or("?"),
        d["sizes"]["train"],
        d["sizes"]["val"],
        d["sizes"]["test"]
    );
    if let Some(note) = d["note"].as_str() {
        let _ = write!(s, ". {note}");
    }
    if report["quick"].as_bool() == Some(true) {
        s.push_str(
            ". **Quick run**: a slice of the data and at most 3 epochs; figures are not comparable to full runs",
        );
    }
    if report["refit"].as_bool() == Some(true) {
        s.push_str(
            ". **Refit**: after choosing on validation, models trained again on training + validation rows (`--refit`); \
             validation figures are the first fits'",
        );
    }
    if report["interrupted"].as_bool() == Some(true) {
        s.push_str(". **Interrupted** (Ctrl-C): the run in progress stopped early (see its `stopped` note in report.json) and the runs after it did not start");
    }
    s.push('.');
    s
}

pub fn markdown(report: &Value) -> String {
    let mut md = format!(
        "# rnnlab experiment: {}\n\n",
        report["dataset"]["name"].as_str().unwrap_or("?")
    );
    let _ = writeln!(md, "{}\n", header(report));
    md.push_str(&table(report));
    md.push_str("\n## Findings\n\n");
    for f in findings(report) {
        let _ = writeln!(md, "- {f}");
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

fn md_inline(s: &str) -> String {
    let esc = escape(s);
    let mut out = String::new();
    for (i, part) in esc.split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<b>{part}</b>");
        } else {
            out.push_str(part);
        }
    }
    out
}

pub fn html(report: &Value, prep: &Prepared, details: &[RunDetail]) -> String {
    let name = report["dataset"]["name"].as_str().unwrap_or("?");
    let metric = if is_binary(report) { "F1" } else { "macro-F1" };
    let mut h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>rnnlab: {n}</title><style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}\
         th{{background:#f4f4f4}}.ref{{color:#777;font-style:italic}}.failed{{color:#b00}}\
         .plots{{display:flex;flex-wrap:wrap;gap:1em}}svg{{background:#fff;border:1px solid #eee}}\
         </style></head><body><h1>rnnlab experiment: {n}</h1><p>{hd}</p>",
        n = escape(name),
        hd = md_inline(&header(report))
    );
    // Table.
    h.push_str("<h2>Models, best first</h2><table id=\"results\"><tr><th>model</th><th>family</th>");
    let _ = write!(
        h,
        "<th>test {metric}</th><th>macro-F1</th><th>accuracy</th><th>train s</th><th>predict docs/s</th><th>runs</th></tr>"
    );
    let all = rows(report);
    for r in &all {
        let class = if r.reference {
            " class=\"ref\""
        } else if r.status != "ok" {
            " class=\"failed\""
        } else {
            ""
        };
        let name = r.name();
        if r.status != "ok" {
            let _ = write!(
                h,
                "<tr{class}><td>{}</td><td>{}</td><td colspan=\"6\">failed: {}</td></tr>",
                escape(&name),
                escape(&r.family),
                escape(r.error.as_deref().unwrap_or("?"))
            );
            continue;
        }
        let _ = write!(
            h,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&name),
            escape(&r.family),
            r.figures().join("</td><td>")
        );
    }
    h.push_str("</table><h2>Findings</h2><ul>");
    for f in findings(report) {
        let _ = write!(h, "<li>{}</li>", md_inline(&f));
    }
    h.push_str("</ul>");
    // Quality bars and quality against time.
    let ok: Vec<&crate::report::Row> = all.iter().filter(|r| r.main.is_some()).collect();
    let bars: Vec<(String, f64, f64, bool)> = ok
        .iter()
        .map(|r| (r.kind.clone(), r.main.unwrap().0, r.main.unwrap().1, r.reference))
        .collect();
    let points: Vec<(String, f64, f64, bool)> = ok
        .iter()
        .filter_map(|r| r.train_s.map(|t| (r.kind.clone(), t, r.main.unwrap().0, r.reference)))
        .collect();
    h.push_str("<h2>Quality and cost</h2><div class=\"plots\">");
    h.push_str(&svg::bars(
        &format!("test {metric} (mean ± std over seeds)"),
        metric,
        &bars,
    ));
    h.push_str(&svg::scatter(
        &format!("test {metric} against training time"),
        "training seconds",
        metric,
        &points,
    ));
    h.push_str("</div>");
    // Learning curves.
    let neural: Vec<&Value> = report["models"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| (m["family"] == "recurrent" || m["family"] == "blend") && m["status"] == "ok")
        .collect();
    if !neural.is_empty() {
        h.push_str("<h2>Learning curves (validation metric and training loss per epoch, one line per seed)</h2><div class=\"plots\">");
        for m in neural {
            let kind = m["kind"].as_str().unwrap_or("?");
            let series = |key: &str| -> Vec<(String, Vec<f64>)> {
                m["runs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let ys = r["curve"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|e| e[key].as_f64().unwrap_or(f64::NAN))
                            .collect();
                        (format!("seed {}", r["seed"]), ys)
                    })
                    .collect()
            };
            h.push_str(&svg::lines(
                &format!("{kind}: validation {metric}"),
                metric,
                &series("val_metric"),
            ));
            h.push_str(&svg::lines(
                &format!("{kind}: training loss"),
                "loss",
                &series("train_loss"),
            ));
        }
        h.push_str("</div>");
    }
    // Confusion matrices (first run of each model).
    h.push_str("<h2>Confusion matrices (test, first run; rows true, columns predicted)</h2><div class=\"plots\">");
    for m in report["models"].as_array().into_iter().flatten() {
        if let Some(run) = m["runs"].as_array().and_then(|r| r.first()) {
            let conf: Vec<Vec<u64>> = run["test"]["confusion"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|row| row.as_array().into_iter().flatten().filter_map(Value::as_u64).collect())
                .collect();
            h.push_str(&svg::confusion(
                m["kind"].as_str().unwrap_or("?"),
                &prep.labels.labels,
                &conf,
            ));
        }
    }
    h.push_str("</div>");
    // Features of the linear models.
    let with_features: Vec<&RunDetail> = details.iter().filter(|d| !d.top_features.is_empty()).collect();
    if !with_features.is_empty() {
        h.push_str("<h2>Most telling features per class (largest weights)</h2>");
        for d in with_features {
            let _ = write!(h, "<h3>{}</h3><table><tr>", escape(&d.kind));
            for (class, _) in &d.top_features {
                let _ = write!(h, "<th>{}</th>", escape(class));
            }
            h.push_str("</tr>");
            let depth = d.top_features.iter().map(|c| c.1.len()).max().unwrap_or(0);
            for i in 0..depth {
                h.push_str("<tr>");
                for (_, feats) in &d.top_features {
                    match feats.get(i) {
                        Some((f, w)) => {
                            let _ = write!(h, "<td>{} <small>({w:.2})</small></td>", escape(f));
                        }
                        None => h.push_str("<td></td>"),
                    }
                }
                h.push_str("</tr>");
            }
            h.push_str("</table>");
        }
    }
    // Misclassified texts of the best model.
    if let Some(best) = all.iter().find(|r| !r.reference && r.status == "ok") {
        if let Some(d) = details.iter().find(|d| d.kind == best.kind) {
            let _ = write!(
                h,
                "<h2>Misclassified test texts of the best model ({}, seed {})</h2><table><tr><th>text</th><th>true</th><th>predicted</th></tr>",
                escape(&best.kind),
                d.seed
            );
            let wrong = prep.rows[2]
                .iter()
                .zip(&prep.y[2])
                .zip(&d.test_pred)
                .filter(|((_, y), p)| y != p)
                .take(20);
            for ((&row, &y), &p) in wrong {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&prep.texts[row]),
                    escape(&prep.labels.labels[y]),
                    escape(&prep.labels.labels[p])
                );
            }
            h.push_str("</table>");
        }
    }
    let _ = write!(
        h,
        "<p><small>Command: <code>{}</code>; commit {}.</small></p></body></html>",
        escape(report["command"].as_str().unwrap_or("")),
        escape(report["git_commit"].as_str().unwrap_or("unknown"))
    );
    h
}

/// Writes `report.md` and `report.html` beside `report.json`.
pub fn write_all(report: &Value, prep: &Prepared, details: &[RunDetail], out: &Path) -> Result<(), Error> {
    let md = out.join("report.md");
    rnnlab_baselines::files::write_atomic(&md, markdown(report).as_bytes()).map_err(|e| Error::io(&md, e))?;
    let page = out.join("report.html");
    rnnlab_baselines::files::write_atomic(&page, html(report, prep, details).as_bytes())
        .map_err(|e| Error::io(&page, e))?;
    crate::write_json(&out.join("report.json"), report)
}
