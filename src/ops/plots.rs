//! `mvc plots`: the data of line charts: metrics over versions (or commit dates), or step
//! curves of several runs from their step logs (x = step). One panel per metric, so metrics
//! of different scales never share an axis. Drawing them (SVG, HTML) is the CLI's job.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use crate::ops::compare::{Column, Section, table};
use crate::ops::history::Side;
use crate::repo::Repo;

/// What the x axis measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    /// Versions evenly spaced: x is the index into `Chart::labels`.
    Versions,
    /// Versions placed by commit time: x is seconds since the epoch.
    Dates,
    /// Training steps from step logs.
    Steps,
}

/// One line: points (x, y); a None y breaks the line.
#[derive(Debug, Clone)]
pub struct Series {
    /// The metric or run (prefixed by the artifact path or log file when several have it).
    pub name: String,
    /// The metric this line draws.
    pub metric: String,
    /// Points in x order.
    pub points: Vec<(f64, Option<f64>)>,
}

/// One metric's panel.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The metric.
    pub metric: String,
    /// Its lines.
    pub series: Vec<Series>,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct Chart {
    /// What x means.
    pub x: XAxis,
    /// Versions and dates: each x position's label (versions or revisions), in order.
    pub labels: Vec<String>,
    /// Dates: each label's commit time.
    pub times: Vec<i64>,
    /// One panel per metric.
    pub panels: Vec<Panel>,
    /// Metrics left out or values skipped, for a note under the chart.
    pub notes: Vec<String>,
}

impl Chart {
    /// Every series of every panel.
    pub fn series(&self) -> impl Iterator<Item = &Series> {
        self.panels.iter().flat_map(|p| p.series.iter())
    }
}

/// A metric value as a point: numbers and the NaN/Infinity markers; None (with a note) for
/// anything that cannot be drawn.
fn point_value(v: &serde_json::Value, metric: &str, at: &str, notes: &mut Vec<String>) -> Option<f64> {
    match crate::meta::number(v) {
        Some(n) if n.is_finite() => Some(n),
        Some(n) => {
            notes.push(format!(
                "`{metric}` at {at} is {}: not plotted",
                crate::meta::number_value(n).as_str().unwrap_or("?")
            ));
            None
        }
        None => {
            notes.push(format!("`{metric}` at {at} is {v}, not a number: not plotted"));
            None
        }
    }
}

/// Collects `metrics` over `cols`; `by_date` places the points by commit time.
pub fn chart(repo: &Repo, cols: &[Column], metrics: &[String], by_date: bool) -> Result<Chart> {
    let t = table(repo, cols, Section::Metrics)?;
    let labels: Vec<String> = cols.iter().map(|c| c.label.clone()).collect();
    let paths: std::collections::BTreeSet<&String> = t.rows.iter().map(|(_, p, _)| p).collect();
    let times: Vec<i64> = if by_date {
        match cols.iter().map(|c| c.time).collect::<Option<Vec<i64>>>() {
            Some(t) => t,
            None => bail!("`--by-date` needs revisions: the workspace has no commit date"),
        }
    } else {
        Vec::new()
    };
    let x_of = |i: usize| if by_date { times[i] as f64 } else { i as f64 };
    let mut panels = Vec::new();
    let mut notes = Vec::new();
    for metric in metrics {
        let mut by_path: BTreeMap<&String, Vec<Option<f64>>> = BTreeMap::new();
        for (rev, path, vals) in &t.rows {
            let Some(v) = vals.get(metric) else { continue };
            let x = labels.iter().position(|l| l == rev).expect("rows come from these columns");
            let line = by_path.entry(path).or_insert_with(|| vec![None; labels.len()]);
            line[x] = point_value(v, metric, rev, &mut notes);
        }
        if by_path.is_empty() {
            notes.push(format!("`{metric}` is not recorded in any of these versions"));
        }
        let mut series = Vec::new();
        for (path, values) in by_path.into_iter().filter(|(_, v)| v.iter().any(Option::is_some)) {
            let name = if paths.len() > 1 { format!("{path}: {metric}") } else { metric.clone() };
            let mut points: Vec<(f64, Option<f64>)> =
                values.into_iter().enumerate().map(|(i, v)| (x_of(i), v)).collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            series.push(Series { name, metric: metric.clone(), points });
        }
        if !series.is_empty() {
            panels.push(Panel { metric: metric.clone(), series });
        }
    }
    if panels.is_empty() {
        bail!(crate::error::hinted(
            format!("nothing to plot: {}", notes.join("; ")),
            "list the recorded metrics with `mvc metrics show`",
        ));
    }
    let x = if by_date { XAxis::Dates } else { XAxis::Versions };
    Ok(Chart { x, labels, times, panels, notes })
}

/// Step curves of `metrics` for each run in `cols` (experiments, revisions, the workspace),
/// read from their step logs; a log being written now shows the steps so far.
pub fn step_chart(repo: &Repo, cols: &[Column], metrics: &[String]) -> Result<Chart> {
    let patterns = crate::exp::log_patterns(&repo.config)?;
    let mut runs = Vec::new();
    for col in cols {
        let logs = match &col.side {
            Side::Workspace => crate::exp::workspace_logs(&repo.root, &patterns)?,
            Side::Rev(rev) => {
                crate::exp::commit_logs(&repo.git, &repo.scope, crate::revs::resolve(&repo.git, rev)?, &patterns)?
            }
        };
        let parsed: Vec<(String, Vec<crate::exp::Step>)> =
            logs.into_iter().map(|(path, text)| (path, crate::exp::parse_log(&text))).collect();
        runs.push((col.label.clone(), parsed));
    }
    let mut panels = Vec::new();
    let mut notes = Vec::new();
    for metric in metrics {
        let mut series = Vec::new();
        for (label, logs) in &runs {
            let with: Vec<&(String, Vec<crate::exp::Step>)> =
                logs.iter().filter(|(_, steps)| steps.iter().any(|s| s.values.contains_key(metric))).collect();
            for (path, steps) in &with {
                let name = if with.len() > 1 { format!("{label} ({path})") } else { label.clone() };
                let mut skipped = 0;
                let mut points: Vec<(f64, Option<f64>)> = steps
                    .iter()
                    .filter_map(|s| {
                        let v = *s.values.get(metric)?;
                        if !v.is_finite() {
                            skipped += 1;
                        }
                        Some((s.step, v.is_finite().then_some(v)))
                    })
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                if skipped > 0 {
                    notes.push(format!("`{metric}` of {name} is NaN or infinite at {skipped} step(s): not plotted"));
                }
                if points.iter().any(|(_, y)| y.is_some()) {
                    series.push(Series { name, metric: metric.clone(), points });
                }
            }
        }
        if series.is_empty() {
            notes.push(format!("`{metric}` is in no step log of these runs"));
        } else {
            panels.push(Panel { metric: metric.clone(), series });
        }
    }
    if panels.is_empty() {
        bail!(crate::error::hinted(
            format!("nothing to plot: {}", notes.join("; ")),
            "step logs are JSON Lines files matching `exp.logs` (default `logs/*.jsonl`)",
        ));
    }
    Ok(Chart { x: XAxis::Steps, labels: Vec::new(), times: Vec::new(), panels, notes })
}
