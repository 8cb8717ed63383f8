//! `mvc compare REF_A REF_B`: one screen on what changed between two versions.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::compare::{Section, meta_diff, provenance};
use mvc::ops::history::{Change, diff};

use super::metrics::{FormatArgs, cell, change_text, dep_line, diff_json, diff_table, sides};
use super::{human_size, shown, utc_time};
use crate::cli::Ui;
use crate::cli::table::{Style, render};

/// Compare two versions: artifacts, metrics, params, deps, and who made them when
#[derive(clap::Args)]
pub struct CompareArgs {
    /// The old version: a revision or registry reference (`churn@v1.2.0`)
    old: String,
    /// The new version
    new: String,
    #[command(flatten)]
    pub format: FormatArgs,
}

pub fn run(args: CompareArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let (old, new) = sides(&repo, Some(args.old), Some(args.new))?;
    let filters: Vec<String> = old.only.iter().chain(new.only.iter()).cloned().collect();
    let artifacts = diff(&repo, &old.side, &new.side, &filters, None, &ui.reporter())?;
    let metrics = meta_diff(&repo, &old, &new, Section::Metrics)?;
    let params = meta_diff(&repo, &old, &new, Section::Params)?;
    let who = |c| provenance(&repo, c);
    if args.format.json {
        let changes: Vec<serde_json::Value> = artifacts
            .iter()
            .map(|e| {
                let side = |p: &Option<mvc::pointer::Pointer>| {
                    p.as_ref().map(|p| serde_json::json!({"oid": p.oid.to_hex(), "size": p.size}))
                };
                serde_json::json!({"path": e.path, "change": e.change.as_str(), "old": side(&e.old), "new": side(&e.new)})
            })
            .collect();
        let by = |c| who(c).map(|(name, time)| serde_json::json!({"name": name, "time": time}));
        ui.out_json(&serde_json::json!({
            "old": old.label, "new": new.label, "old_by": by(&old), "new_by": by(&new),
            "artifacts": changes, "metrics": diff_json(&metrics, &old, &new)["changes"],
            "params": diff_json(&params, &old, &new)["changes"], "deps": diff_json(&metrics, &old, &new)["deps"],
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.format.csv {
        // One table for a spreadsheet: a row per changed artifact, metric, param and dep.
        let header: Vec<String> =
            ["section", "path", "key", "old", "new", "change", "change %"].iter().map(|s| s.to_string()).collect();
        let mut rows = Vec::new();
        for e in &artifacts {
            let oid = |p: &Option<mvc::pointer::Pointer>| p.as_ref().map(|p| p.oid.to_hex()).unwrap_or_default();
            rows.push(vec![
                "artifact".into(),
                shown(&e.path),
                e.change.as_str().into(),
                oid(&e.old),
                oid(&e.new),
                String::new(),
                String::new(),
            ]);
        }
        for (section, d) in [("metric", &metrics), ("param", &params)] {
            for c in &d.changes {
                rows.push(vec![
                    section.into(),
                    shown(&c.path),
                    shown(&c.key),
                    cell(c.old.as_ref()),
                    cell(c.new.as_ref()),
                    change_text(c),
                    c.relative().map(|p| format!("{:+.1}%", p * 100.0)).unwrap_or_default(),
                ]);
            }
        }
        for dep in &metrics.deps {
            let o = |v: &Option<String>| v.clone().unwrap_or_default();
            rows.push(vec![
                "dep".into(),
                shown(&dep.artifact),
                shown(&dep.dep),
                o(&dep.old),
                o(&dep.new),
                String::new(),
                String::new(),
            ]);
        }
        for line in render(&header, &rows, Style::Csv, 0).lines() {
            ui.out(line)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    for (label, col) in [("old", &old), ("new", &new)] {
        let by = who(col).map(|(name, time)| format!("  by {name}, {}", utc_time(time))).unwrap_or_default();
        ui.out(format!("{label}: {}{by}", shown(&col.label)))?;
    }
    ui.out("")?;
    ui.out("artifacts:")?;
    if artifacts.is_empty() {
        ui.out("  unchanged")?;
    }
    for e in &artifacts {
        let (o, n) = (e.old.as_ref(), e.new.as_ref());
        let oid = |p: Option<&mvc::pointer::Pointer>| p.map(|p| p.oid.short()).unwrap_or_else(|| "-".into());
        let size = |p: Option<&mvc::pointer::Pointer>| p.map(|p| human_size(p.size)).unwrap_or_else(|| "-".into());
        let verb = match e.change {
            Change::Added => "added",
            Change::Modified => "modified",
            Change::Deleted => "deleted",
        };
        ui.out(format!("  {verb}: {}  {} -> {}  ({} -> {})", shown(&e.path), oid(o), oid(n), size(o), size(n)))?;
    }
    for (title, section, d) in [("metrics", Section::Metrics, &metrics), ("params", Section::Params, &params)] {
        ui.out("")?;
        ui.out(format!("{title}:"))?;
        if d.changes.is_empty() {
            ui.out("  unchanged")?;
            continue;
        }
        for line in diff_table(d, section, args.format.style_for_compare()).lines() {
            ui.out(format!("  {line}"))?;
        }
    }
    ui.out("")?;
    ui.out("deps:")?;
    if metrics.deps.is_empty() {
        ui.out("  unchanged")?;
    }
    for dep in &metrics.deps {
        ui.out(format!("  {}", dep_line(dep)))?;
    }
    Ok(ExitCode::SUCCESS)
}
