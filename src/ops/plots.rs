//! `mvc plots`: line charts of metrics over versions as standalone SVG (and an HTML page
//! that embeds it with the numbers), drawn by hand so viewing needs no JavaScript, no
//! network, and no plotting library.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use crate::ops::compare::{Column, Section, table};
use crate::repo::Repo;

/// One line: a metric's value at each x position (None where missing or not a number).
#[derive(Debug, Clone)]
pub struct Series {
    /// The metric (prefixed by the artifact path when several artifacts have it).
    pub name: String,
    /// One value per x label.
    pub values: Vec<Option<f64>>,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The x positions' labels (versions or revisions), in order.
    pub labels: Vec<String>,
    /// One series per metric.
    pub series: Vec<Series>,
    /// Metrics left out or values skipped, for a note under the chart.
    pub notes: Vec<String>,
    /// With `--by-date`: each x position's commit time, placing points in time.
    pub times: Option<Vec<i64>>,
}

/// Collects `metrics` over `cols`; `by_date` spaces the points by commit time.
pub fn chart(repo: &Repo, cols: &[Column], metrics: &[String], by_date: bool) -> Result<Chart> {
    let t = table(repo, cols, Section::Metrics)?;
    let labels: Vec<String> = cols.iter().map(|c| c.label.clone()).collect();
    let paths: std::collections::BTreeSet<&String> = t.rows.iter().map(|(_, p, _)| p).collect();
    let mut series = Vec::new();
    let mut notes = Vec::new();
    for metric in metrics {
        let mut by_path: BTreeMap<&String, Vec<Option<f64>>> = BTreeMap::new();
        for (rev, path, vals) in &t.rows {
            let Some(v) = vals.get(metric) else { continue };
            let x = labels.iter().position(|l| l == rev).expect("rows come from these columns");
            let line = by_path.entry(path).or_insert_with(|| vec![None; labels.len()]);
            match v.as_f64() {
                Some(n) => line[x] = Some(n),
                None => notes.push(format!("`{metric}` at {rev} is {v}, not a number: not plotted")),
            }
        }
        if by_path.is_empty() {
            notes.push(format!("`{metric}` is not recorded in any of these versions"));
        }
        for (path, values) in by_path.into_iter().filter(|(_, v)| v.iter().any(Option::is_some)) {
            let name = if paths.len() > 1 { format!("{path}: {metric}") } else { metric.clone() };
            series.push(Series { name, values });
        }
    }
    if series.iter().all(|s| s.values.iter().all(Option::is_none)) {
        bail!(crate::error::hinted(
            format!("nothing to plot: {}", notes.join("; ")),
            "list the recorded metrics with `mvc metrics show`",
        ));
    }
    let times = if by_date {
        let times: Option<Vec<i64>> = cols.iter().map(|c| c.time).collect();
        match times {
            Some(t) => Some(t),
            None => bail!("`--by-date` needs revisions: the workspace has no commit date"),
        }
    } else {
        None
    };
    Ok(Chart { labels, series, notes, times })
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 80.0;
const COLOURS: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The chart as a standalone SVG document: one `<path class="series">` per series.
pub fn svg(chart: &Chart) -> String {
    let values: Vec<f64> = chart.series.iter().flat_map(|s| s.values.iter().flatten().copied()).collect();
    let (mut lo, mut hi) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if hi - lo < 1e-12 {
        lo -= 0.5;
        hi += 0.5;
    }
    let pad = (hi - lo) * 0.08;
    let (lo, hi) = (lo - pad, hi + pad);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = chart.labels.len().max(1);
    let span = chart.times.as_ref().and_then(|t| Some((*t.iter().min()?, *t.iter().max()?))).filter(|(a, b)| b > a);
    let x = |i: usize| match (span, &chart.times) {
        (Some((first, last)), Some(t)) => LEFT + plot_w * (t[i] - first) as f64 / (last - first) as f64,
        _ if n == 1 => LEFT + plot_w / 2.0,
        _ => LEFT + plot_w * i as f64 / (n - 1) as f64,
    };
    let y = |v: f64| TOP + plot_h * (1.0 - (v - lo) / (hi - lo));

    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    // Axes and horizontal grid with five ticks.
    out.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" stroke=\"black\"/>\n<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>\n",
        b = TOP + plot_h,
        r = LEFT + plot_w
    ));
    for t in 0..=4 {
        let v = lo + (hi - lo) * t as f64 / 4.0;
        let yy = y(v);
        out.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{r}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\n<text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{v:.3}</text>\n",
            r = LEFT + plot_w,
            tx = LEFT - 6.0,
            ty = yy + 4.0
        ));
    }
    for (i, label) in chart.labels.iter().enumerate() {
        out.push_str(&format!(
            "<text class=\"label\" x=\"{xx:.1}\" y=\"{yy}\" text-anchor=\"end\" transform=\"rotate(-30 {xx:.1} {yy})\">{}</text>\n",
            escape(label),
            xx = x(i),
            yy = TOP + plot_h + 16.0
        ));
    }
    for (k, s) in chart.series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let mut d = String::new();
        let mut pen_down = false;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    d.push_str(&format!("{}{:.1} {:.1} ", if pen_down { "L" } else { "M" }, x(i), y(*v)));
                    pen_down = true;
                }
                // A missing value breaks the line rather than inventing one.
                None => pen_down = false,
            }
        }
        out.push_str(&format!(
            "<path class=\"series\" data-metric=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>\n",
            escape(&s.name),
            d.trim_end()
        ));
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v {
                out.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>\n", x(i), y(*v)));
            }
        }
        let ly = TOP + 16.0 * k as f64;
        out.push_str(&format!(
            "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{lx2}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2\"/>\n<text x=\"{tx}\" y=\"{ty}\">{}</text>\n",
            escape(&s.name),
            lx = WIDTH - RIGHT + 16.0,
            lx2 = WIDTH - RIGHT + 36.0,
            tx = WIDTH - RIGHT + 42.0,
            ty = ly + 4.0
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// An HTML page with the chart and a table of the values; no scripts, no external files.
pub fn html(chart: &Chart, title: &str) -> String {
    let mut rows = String::new();
    for (i, label) in chart.labels.iter().enumerate() {
        rows.push_str(&format!("<tr><th>{}</th>", escape(label)));
        for s in &chart.series {
            rows.push_str(&format!("<td>{}</td>", s.values[i].map(|v| v.to_string()).unwrap_or_default()));
        }
        rows.push_str("</tr>\n");
    }
    let heads: String = chart.series.iter().map(|s| format!("<th>{}</th>", escape(&s.name))).collect();
    let notes: String = chart.notes.iter().map(|n| format!("<p class=\"note\">{}</p>\n", escape(n))).collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}.note{{color:#555}}</style>\n\
         </head><body>\n<h1>{t}</h1>\n{svg}{notes}<table>\n<tr><th>version</th>{heads}</tr>\n{rows}</table>\n</body></html>\n",
        t = escape(title),
        svg = svg(chart)
    )
}
