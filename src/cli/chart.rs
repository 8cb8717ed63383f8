//! Drawing a `plots` chart: standalone SVG (one panel per metric, rounded ticks, axis
//! titles, margins sized to the labels) and an HTML page that embeds it with the numbers.
//! Drawn by hand, so viewing needs no JavaScript, no network and no plotting library.

use std::fmt::Write as _;

use mvc::ops::plots::{Chart, Panel, XAxis};

use super::commands::utc_time;

const WIDTH: f64 = 820.0;
const PLOT_H: f64 = 200.0;
const PANEL_GAP: f64 = 36.0;
const TOP: f64 = 34.0;
/// Approximate advance of one character at font-size 12, for sizing margins.
const CHAR_W: f64 = 7.0;
const MAX_LABEL: usize = 28;
const COLOURS: [&str; 10] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max - 1).collect::<String>()) }
}

/// Round tick values covering `[lo, hi]` (1, 2, 2.5 or 5 times a power of ten apart), and
/// the decimals they need. Data that never goes below zero gets no negative ticks.
pub fn ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    let (lo, hi) = if (hi - lo).abs() < 1e-12 {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        let low = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
        (low, hi + pad)
    } else {
        (lo, hi)
    };
    let raw = (hi - lo) / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    let step = nice * mag;
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let decimals = (-(step.log10().floor()) + if nice == 2.5 { 1.0 } else { 0.0 }).max(0.0) as usize;
    let ticks = (first as i64..=last as i64).map(|k| k as f64 * step).collect();
    (ticks, decimals)
}

fn tick_text(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// The x label of each version (with its date when placed by date).
fn x_labels(chart: &Chart) -> Vec<String> {
    match chart.x {
        XAxis::Versions => chart.labels.iter().map(|l| clip(l, MAX_LABEL)).collect(),
        XAxis::Dates => chart
            .labels
            .iter()
            .zip(&chart.times)
            .map(|(l, t)| format!("{} · {}", clip(l, MAX_LABEL - 12), &utc_time(*t)[..10]))
            .collect(),
        XAxis::Steps => Vec::new(),
    }
}

struct Layout {
    left: f64,
    bottom: f64,
    plot_w: f64,
    x_lo: f64,
    x_hi: f64,
    x_ticks: Vec<f64>,
    x_decimals: usize,
}

fn layout(chart: &Chart, y_label_chars: usize) -> Layout {
    let labels = x_labels(chart);
    let rotated = chart.x != XAxis::Steps;
    // A label rotated by -30° reaches left of its point by cos(30°) of its length.
    let reach = |l: &str| l.chars().count() as f64 * CHAR_W * 0.87;
    let first_reach = labels.first().map(|l| reach(l)).unwrap_or(0.0);
    let longest_name = chart.series().map(|s| clip(&s.name, 32).chars().count()).max().unwrap_or(0);
    let right = (longest_name as f64 * CHAR_W + 48.0).clamp(120.0, 280.0);
    let left_ticks = y_label_chars as f64 * CHAR_W + 40.0;
    let (x_lo, x_hi, x_ticks, x_decimals) = match chart.x {
        XAxis::Versions => (0.0, (chart.labels.len().max(2) - 1) as f64, Vec::new(), 0),
        XAxis::Dates => {
            let lo = chart.times.iter().copied().min().unwrap_or(0) as f64;
            let hi = chart.times.iter().copied().max().unwrap_or(0) as f64;
            (lo, if hi > lo { hi } else { lo + 1.0 }, Vec::new(), 0)
        }
        XAxis::Steps => {
            let xs: Vec<f64> = chart.series().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let (t, d) = ticks(lo, hi);
            (t[0], *t.last().expect("ticks"), t, d)
        }
    };
    // The first label sits at the left edge of the plot: the margin holds all of it.
    let left = if rotated { left_ticks.max(first_reach + 8.0) } else { left_ticks };
    let longest_label = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let bottom = if rotated { longest_label * CHAR_W * 0.5 + 44.0 } else { 52.0 };
    Layout { left, bottom, plot_w: WIDTH - left - right, x_lo, x_hi, x_ticks, x_decimals }
}

/// The chart as a standalone SVG document: one `<path class="series">` per line, one panel
/// (`<g class="panel">`) per metric.
pub fn svg(chart: &Chart) -> String {
    // Y ticks of every panel first: the widest label sizes the left margin.
    let panel_ticks: Vec<(Vec<f64>, usize)> = chart
        .panels
        .iter()
        .map(|p| {
            let ys: Vec<f64> = p.series.iter().flat_map(|s| s.points.iter().filter_map(|pt| pt.1)).collect();
            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            ticks(lo, hi)
        })
        .collect();
    let y_chars =
        panel_ticks.iter().flat_map(|(t, d)| t.iter().map(move |v| tick_text(*v, *d).len())).max().unwrap_or(1);
    let l = layout(chart, y_chars);
    let panel_h = PLOT_H + l.bottom + PANEL_GAP;
    let height = TOP + panel_h * chart.panels.len() as f64 + 10.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (k, (panel, (yt, yd))) in chart.panels.iter().zip(&panel_ticks).enumerate() {
        let top = TOP + panel_h * k as f64;
        draw_panel(&mut out, chart, panel, &l, top, yt, *yd);
    }
    out.push_str("</svg>\n");
    out
}

fn draw_panel(out: &mut String, chart: &Chart, panel: &Panel, l: &Layout, top: f64, yt: &[f64], yd: usize) {
    let (y_lo, y_hi) = (yt[0], *yt.last().expect("ticks"));
    let bottom = top + PLOT_H;
    let right = l.left + l.plot_w;
    let x = |v: f64| {
        if chart.x == XAxis::Versions && chart.labels.len() == 1 {
            return l.left + l.plot_w / 2.0;
        }
        l.left + l.plot_w * (v - l.x_lo) / (l.x_hi - l.x_lo)
    };
    let y = |v: f64| bottom - PLOT_H * (v - y_lo) / (y_hi - y_lo);
    let _ = writeln!(out, "<g class=\"panel\" data-metric=\"{}\">", escape(&panel.metric));
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{:.1}\" font-weight=\"bold\">{}</text>",
        l.left,
        top - 10.0,
        escape(&clip(&panel.metric, 60))
    );
    for v in yt {
        let yy = y(*v);
        let _ = writeln!(
            out,
            "<line x1=\"{:.1}\" y1=\"{yy:.1}\" x2=\"{right:.1}\" y2=\"{yy:.1}\" stroke=\"#e4e4e4\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            l.left,
            l.left - 6.0,
            yy + 4.0,
            tick_text(*v, yd)
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"{left:.1}\" y1=\"{top:.1}\" x2=\"{left:.1}\" y2=\"{bottom:.1}\" stroke=\"black\"/><line x1=\"{left:.1}\" y1=\"{bottom:.1}\" x2=\"{right:.1}\" y2=\"{bottom:.1}\" stroke=\"black\"/>",
        left = l.left
    );
    // Y axis title, rotated, left of the tick labels.
    let mid = top + PLOT_H / 2.0;
    let _ = writeln!(
        out,
        "<text class=\"axis-title\" x=\"14\" y=\"{mid:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {mid:.1})\">{}</text>",
        escape(&clip(&panel.metric, 30))
    );
    // X ticks.
    match chart.x {
        XAxis::Steps => {
            for v in &l.x_ticks {
                let xx = x(*v);
                let _ = writeln!(
                    out,
                    "<line x1=\"{xx:.1}\" y1=\"{bottom:.1}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"black\"/><text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                    bottom + 4.0,
                    bottom + 18.0,
                    tick_text(*v, l.x_decimals)
                );
            }
        }
        XAxis::Versions | XAxis::Dates => {
            for (i, label) in x_labels(chart).iter().enumerate() {
                let xx = if chart.x == XAxis::Dates { x(chart.times[i] as f64) } else { x(i as f64) };
                let yy = bottom + 16.0;
                let _ = writeln!(
                    out,
                    "<text class=\"label\" x=\"{xx:.1}\" y=\"{yy:.1}\" text-anchor=\"end\" transform=\"rotate(-30 {xx:.1} {yy:.1})\">{}</text>",
                    escape(label)
                );
            }
        }
    }
    let x_title = match chart.x {
        XAxis::Versions => "version",
        XAxis::Dates => "commit date (UTC)",
        XAxis::Steps => "step",
    };
    let _ = writeln!(
        out,
        "<text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{x_title}</text>",
        l.left + l.plot_w / 2.0,
        bottom + l.bottom - 6.0
    );
    for (k, s) in panel.series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let mut d = String::new();
        let mut pen_down = false;
        for (px, py) in &s.points {
            match py {
                Some(v) => {
                    let _ = write!(d, "{}{:.1} {:.1} ", if pen_down { "L" } else { "M" }, x(*px), y(*v));
                    pen_down = true;
                }
                // A missing value breaks the line rather than inventing one.
                None => pen_down = false,
            }
        }
        let _ = writeln!(
            out,
            "<path class=\"series\" data-metric=\"{}\" data-series=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            escape(&s.metric),
            escape(&s.name),
            d.trim_end()
        );
        // Dots only where points are few enough to see.
        if s.points.len() <= 40 {
            for (px, py) in &s.points {
                if let Some(v) = py {
                    let _ =
                        writeln!(out, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>", x(*px), y(*v));
                }
            }
        }
        let ly = top + 16.0 * k as f64;
        let lx = right + 16.0;
        let _ = writeln!(
            out,
            "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 20.0,
            lx + 26.0,
            ly + 4.0,
            escape(&clip(&s.name, 32))
        );
    }
    out.push_str("</g>\n");
}

/// An HTML page with the chart and, per panel, a table of the values; no scripts, no
/// external files.
pub fn html(chart: &Chart, title: &str) -> String {
    let mut tables = String::new();
    let labels = x_labels(chart);
    for panel in &chart.panels {
        let mut xs: Vec<f64> = panel.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let x_name = if chart.x == XAxis::Steps { "step" } else { "version" };
        let heads: String = panel.series.iter().map(|s| format!("<th>{}</th>", escape(&s.name))).collect();
        let _ = write!(tables, "<h2>{}</h2>\n<table>\n<tr><th>{x_name}</th>{heads}</tr>\n", escape(&panel.metric));
        for xv in xs {
            let x_text = match chart.x {
                XAxis::Steps => tick_text(xv, if xv.fract() == 0.0 { 0 } else { 4 }),
                XAxis::Versions => labels.get(xv as usize).cloned().unwrap_or_default(),
                XAxis::Dates => chart
                    .times
                    .iter()
                    .position(|t| *t as f64 == xv)
                    .and_then(|i| labels.get(i).cloned())
                    .unwrap_or_default(),
            };
            let _ = write!(tables, "<tr><th>{}</th>", escape(&x_text));
            for s in &panel.series {
                let v = s.points.iter().find(|p| p.0 == xv).and_then(|p| p.1);
                let _ = write!(tables, "<td>{}</td>", v.map(|v| v.to_string()).unwrap_or_default());
            }
            tables.push_str("</tr>\n");
        }
        tables.push_str("</table>\n");
    }
    let notes: String = chart.notes.iter().map(|n| format!("<p class=\"note\">{}</p>\n", escape(n))).collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}.note{{color:#555}}</style>\n\
         </head><body>\n<h1>{t}</h1>\n{svg}{notes}{tables}</body></html>\n",
        t = escape(title),
        svg = svg(chart)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_never_negative_for_non_negative_data() {
        let (t, d) = ticks(0.71, 0.8);
        assert_eq!(d, 3, "steps of 0.025");
        assert!(t[0] >= 0.0 && t[0] <= 0.71 && *t.last().unwrap() >= 0.8, "{t:?}");
        assert_eq!(tick_text(t[1], d), "0.725");
        assert!(t.iter().all(|v| tick_text(*v, d).len() == 5), "{t:?}");
        let (t, d) = ticks(0.0, 100_000.0);
        assert_eq!((t[0], d), (0.0, 0));
        assert_eq!(tick_text(t[1], d), "25000");
        let (t, _) = ticks(5.0, 5.0);
        assert!(t[0] >= 0.0, "{t:?}");
        let (t, _) = ticks(-3.0, 2.0);
        assert!(t[0] <= -3.0 && *t.last().unwrap() >= 2.0);
        assert_eq!(tick_text(-0.0, 2), "0.00");
    }
}
