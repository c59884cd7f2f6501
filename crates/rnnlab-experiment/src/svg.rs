//! Small self-contained SVG charts for the HTML report: bars with error bars, lines, a
//! scatter on a log axis and a confusion-matrix heat map. No scripts, no external files.

use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 320.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 90.0;
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn open(title: &str, w: f64, h: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"sans-serif\" font-size=\"11\"><title>{t}</title><text x=\"{x}\" y=\"18\" text-anchor=\"middle\" \
         font-size=\"13\" font-weight=\"bold\">{t}</text>",
        x = w / 2.0,
        t = escape(title)
    )
}

/// "Nice" axis bounds and ticks.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(raw);
    let mut t = (lo / step).floor() * step;
    let mut out = Vec::new();
    while t <= hi + step * 0.001 {
        out.push(t);
        t += step;
    }
    out
}

fn y_axis(svg: &mut String, lo: f64, hi: f64, label: &str, w: f64) -> impl Fn(f64) -> f64 {
    let plot_h = H - TOP - BOTTOM;
    let y = move |v: f64| TOP + plot_h * (1.0 - (v - lo) / (hi - lo).max(1e-12));
    for t in ticks(lo, hi) {
        let yy = y(t);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{t:.3}</text>",
            x2 = w - RIGHT,
            tx = LEFT - 4.0,
            ty = yy + 4.0,
            t = (t * 1000.0).round() / 1000.0
        );
    }
    let _ = write!(
        svg,
        "<text transform=\"translate(14,{my}) rotate(-90)\" text-anchor=\"middle\">{l}</text>",
        my = TOP + plot_h / 2.0,
        l = escape(label)
    );
    y
}

/// Bars (mean) with error bars (± std); `reference` bars are hatched grey.
pub fn bars(title: &str, y_label: &str, items: &[(String, f64, f64, bool)]) -> String {
    let w = (LEFT + RIGHT + 46.0 * items.len() as f64).max(W);
    let mut svg = open(title, w, H);
    let hi = items.iter().map(|i| i.1 + i.2).fold(0.0f64, f64::max).max(0.1);
    let lo = (items.iter().map(|i| i.1 - i.2).fold(f64::INFINITY, f64::min) - 0.05).max(0.0);
    let lo = if lo.is_finite() {
        (lo * 10.0).floor() / 10.0
    } else {
        0.0
    };
    let hi = ((hi + 0.02) * 20.0).ceil() / 20.0;
    let y = y_axis(&mut svg, lo, hi, y_label, w);
    let slot = (w - LEFT - RIGHT) / items.len().max(1) as f64;
    for (i, (name, mean, std, reference)) in items.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let bw = slot * 0.7;
        let fill = if *reference {
            "#bbbbbb"
        } else {
            PALETTE[i % PALETTE.len()]
        };
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y0:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\" fill=\"{fill}\"><title>{n}: {mean:.4} ± {std:.4}</title></rect>",
            y0 = y(*mean),
            h = (y(lo) - y(*mean)).max(0.0),
            n = escape(name)
        );
        if *std > 0.0 {
            let cx = x + bw / 2.0;
            let _ = write!(
                svg,
                "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{a:.1}\" y2=\"{b:.1}\" stroke=\"black\"/>\
                 <line x1=\"{l:.1}\" x2=\"{r:.1}\" y1=\"{a:.1}\" y2=\"{a:.1}\" stroke=\"black\"/>\
                 <line x1=\"{l:.1}\" x2=\"{r:.1}\" y1=\"{b:.1}\" y2=\"{b:.1}\" stroke=\"black\"/>",
                a = y(mean + std),
                b = y((mean - std).max(lo)),
                l = cx - 5.0,
                r = cx + 5.0
            );
        }
        let lx = x + bw / 2.0;
        let ly = H - BOTTOM + 12.0;
        let _ = write!(
            svg,
            "<text x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"end\" transform=\"rotate(-40 {lx:.1} {ly:.1})\">{n}</text>",
            n = escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Lines over x = 1, 2, ... (epochs), one per series, with a legend.
pub fn lines(title: &str, y_label: &str, series: &[(String, Vec<f64>)]) -> String {
    let mut svg = open(title, W, H);
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let (mut lo, mut hi) = (
        all.iter().copied().fold(f64::INFINITY, f64::min),
        all.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-6 {
        hi = lo + 0.1;
    }
    let y = y_axis(&mut svg, lo, hi, y_label, W);
    let n = series.iter().map(|s| s.1.len()).max().unwrap_or(1).max(2);
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1) as f64;
    for i in 0..n {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(i),
            H - BOTTOM + 14.0,
            i + 1
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">epoch</text>",
        W / 2.0,
        H - BOTTOM + 30.0
    );
    for (k, (name, ys)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let pts: Vec<String> = ys
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"line\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        );
        let ly = H - BOTTOM + 46.0 + 14.0 * (k / 3) as f64;
        let lx = LEFT + 190.0 * (k % 3) as f64;
        let _ = write!(
            svg,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{ly:.1}\">{}</text>",
            ly - 9.0,
            lx + 14.0,
            escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Points (x on a log scale), labelled; `reference` points hollow.
pub fn scatter(title: &str, x_label: &str, y_label: &str, points: &[(String, f64, f64, bool)]) -> String {
    let mut svg = open(title, W, H);
    let ys: Vec<f64> = points.iter().map(|p| p.2).collect();
    let lo = (ys.iter().copied().fold(f64::INFINITY, f64::min) - 0.02).max(0.0);
    let hi = ys.iter().copied().fold(0.0f64, f64::max) + 0.02;
    let lo = if lo.is_finite() { lo } else { 0.0 };
    let y = y_axis(&mut svg, lo, hi.max(lo + 0.05), y_label, W);
    let xs: Vec<f64> = points.iter().map(|p| p.1.max(1e-3).log10()).collect();
    let xlo = xs.iter().copied().fold(f64::INFINITY, f64::min).floor();
    let xhi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max).ceil();
    let (xlo, xhi) = if xlo.is_finite() && xhi > xlo {
        (xlo, xhi)
    } else {
        (-1.0, 2.0)
    };
    let x = |v: f64| LEFT + (W - LEFT - RIGHT) * (v - xlo) / (xhi - xlo);
    let mut d = xlo;
    while d <= xhi {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(d),
            H - BOTTOM + 14.0,
            10f64.powf(d)
        );
        d += 1.0;
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{} (log scale)</text>",
        W / 2.0,
        H - BOTTOM + 30.0,
        escape(x_label)
    );
    for (k, ((name, _, v, reference), lx)) in points.iter().zip(&xs).enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let fill = if *reference { "none" } else { color };
        let _ = write!(
            svg,
            "<circle class=\"point\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"5\" fill=\"{fill}\" stroke=\"{color}\" stroke-width=\"2\"><title>{n}</title></circle>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\">{n}</text>",
            cx = x(*lx),
            cy = y(*v),
            tx = x(*lx) + 7.0,
            ty = y(*v) - 6.0,
            n = escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A confusion matrix: rows true, columns predicted; shade by row share.
pub fn confusion(title: &str, labels: &[String], m: &[Vec<u64>]) -> String {
    let k = labels.len().max(1);
    let cell = 48.0;
    let (w, h) = (90.0 + cell * k as f64 + 20.0, 60.0 + cell * k as f64 + 30.0);
    let mut svg = open(title, w.max(200.0), h);
    for (i, row) in m.iter().enumerate() {
        let total: u64 = row.iter().sum::<u64>().max(1);
        for (j, &v) in row.iter().enumerate() {
            let share = v as f64 / total as f64;
            let shade = (255.0 - 200.0 * share).round() as u8;
            let (x, y) = (90.0 + cell * j as f64, 40.0 + cell * i as f64);
            let _ = write!(
                svg,
                "<rect class=\"cell\" x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({shade},{shade},255)\" stroke=\"white\"/>\
                 <text x=\"{tx}\" y=\"{ty}\" text-anchor=\"middle\">{v}</text>",
                tx = x + cell / 2.0,
                ty = y + cell / 2.0 + 4.0
            );
        }
        let _ = write!(
            svg,
            "<text x=\"84\" y=\"{}\" text-anchor=\"end\">true {}</text>",
            40.0 + cell * i as f64 + cell / 2.0 + 4.0,
            escape(&labels[i.min(k - 1)])
        );
    }
    for (j, l) in labels.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            90.0 + cell * j as f64 + cell / 2.0,
            40.0 + cell * k as f64 + 14.0,
            escape(l)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_and_escaped() {
        let b = bars(
            "F1 <test>",
            "F1",
            &[("a&b".into(), 0.7, 0.02, false), ("ref".into(), 0.6, 0.0, true)],
        );
        assert!(b.starts_with("<svg") && b.ends_with("</svg>"));
        assert_eq!(b.matches("class=\"bar\"").count(), 2);
        assert!(b.contains("a&amp;b") && b.contains("F1 &lt;test&gt;"));
        let l = lines(
            "curve",
            "F1",
            &[("lstm".into(), vec![0.5, 0.6, f64::NAN]), ("gru".into(), vec![])],
        );
        assert_eq!(l.matches("<polyline").count(), 2);
        let s = scatter(
            "t",
            "seconds",
            "F1",
            &[("a".into(), 0.5, 0.7, false), ("b".into(), 50.0, 0.75, true)],
        );
        assert_eq!(s.matches("<circle").count(), 2);
        let c = confusion("m", &["0".into(), "1".into()], &[vec![5, 1], vec![2, 3]]);
        assert_eq!(c.matches("class=\"cell\"").count(), 4);
        assert!(ticks(0.0, 1.0).len() >= 3);
    }
}
