//! `mvc metrics show|diff` and `mvc params diff`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::compare::{Column, MetaDiff, Section, Selection, columns, meta_diff, table};
use mvc::repo::Repo;
use serde_json::Value;

use super::shown;
use crate::cli::Ui;
use crate::cli::table::{Style, render, width};

/// Output format flags shared by the comparison commands.
#[derive(clap::Args)]
pub struct FormatArgs {
    /// Print JSON
    #[arg(long, conflicts_with_all = ["md", "csv"])]
    pub json: bool,
    /// Print a Markdown table (for pull requests)
    #[arg(long, conflicts_with = "csv")]
    pub md: bool,
    /// Print CSV
    #[arg(long)]
    pub csv: bool,
}

impl FormatArgs {
    /// Markdown when asked, else text (`compare --csv` prints one table of its own).
    pub fn style_for_compare(&self) -> Style {
        if self.md { Style::Markdown } else { Style::Text }
    }

    fn style(&self) -> Style {
        if self.md {
            Style::Markdown
        } else if self.csv {
            Style::Csv
        } else {
            Style::Text
        }
    }
}

/// Show or compare recorded metrics
#[derive(clap::Args)]
pub struct MetricsArgs {
    #[command(subcommand)]
    action: MetricsAction,
}

#[derive(clap::Subcommand)]
enum MetricsAction {
    /// A table of metrics: one row per revision and artifact, one column per metric
    Show {
        /// Revisions or registry references (default: the workspace's pointers)
        refs: Vec<String>,
        /// One row per tag
        #[arg(long, conflicts_with_all = ["refs", "versions"])]
        all_tags: bool,
        /// One row per registered version of this artifact
        #[arg(long, value_name = "NAME", conflicts_with = "refs")]
        versions: Option<String>,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Old, new, absolute and relative change of each metric (default: HEAD vs the workspace)
    Diff(DiffArgs),
}

/// Compare recorded params
#[derive(clap::Args)]
pub struct ParamsArgs {
    #[command(subcommand)]
    action: ParamsAction,
}

#[derive(clap::Subcommand)]
enum ParamsAction {
    /// Old and new value of each param that changed (default: HEAD vs the workspace)
    Diff(DiffArgs),
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The old side (default: HEAD)
    old: Option<String>,
    /// The new side (default: the workspace's pointers)
    new: Option<String>,
    #[command(flatten)]
    format: FormatArgs,
}

impl MetricsArgs {
    pub fn wants_json(&self) -> bool {
        match &self.action {
            MetricsAction::Show { format, .. } => format.json,
            MetricsAction::Diff(d) => d.format.json,
        }
    }
}

impl ParamsArgs {
    pub fn wants_json(&self) -> bool {
        match &self.action {
            ParamsAction::Diff(d) => d.format.json,
        }
    }
}

/// A value as a table cell: numbers and strings plainly, anything else as JSON.
pub fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => shown(s),
        Some(other) => shown(&other.to_string()),
    }
}

pub fn run_metrics(args: MetricsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    match args.action {
        MetricsAction::Show { refs, all_tags, versions, format } => {
            let selection = match (all_tags, versions) {
                (true, _) => Selection::AllTags,
                (_, Some(name)) => Selection::Versions(name),
                _ => Selection::Refs(refs),
            };
            let t = table(&repo, &columns(&repo, &selection)?, Section::Metrics)?;
            if format.json {
                let rows: Vec<Value> = t
                    .rows
                    .iter()
                    .map(|(rev, path, vals)| serde_json::json!({"rev": rev, "path": path, "metrics": vals}))
                    .collect();
                ui.out_json(&serde_json::json!({"metrics": t.keys, "rows": rows}))?;
                return Ok(ExitCode::SUCCESS);
            }
            if t.rows.is_empty() {
                ui.status("no metrics recorded there; `mvc add --metrics FILE` or `--metric k=v` records them");
                return Ok(ExitCode::SUCCESS);
            }
            let mut header = vec!["rev".to_string(), "path".to_string()];
            header.extend(t.keys.iter().map(|k| shown(k)));
            let rows: Vec<Vec<String>> = t
                .rows
                .iter()
                .map(|(rev, path, vals)| {
                    let mut r = vec![shown(rev), shown(path)];
                    r.extend(t.keys.iter().map(|k| cell(vals.get(k))));
                    r
                })
                .collect();
            print_block(ui, &render(&header, &rows, format.style(), width()))?;
            Ok(ExitCode::SUCCESS)
        }
        MetricsAction::Diff(d) => run_diff(&repo, d, Section::Metrics, ui),
    }
}

pub fn run_params(args: ParamsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    match args.action {
        ParamsAction::Diff(d) => run_diff(&repo, d, Section::Params, ui),
    }
}

/// The two sides of a diff: (old, new), HEAD and the workspace by default.
pub fn sides(repo: &Repo, old: Option<String>, new: Option<String>) -> anyhow::Result<(Column, Column)> {
    let refs = vec![old.unwrap_or_else(|| "HEAD".into()), new.unwrap_or_else(|| "workspace".into())];
    let mut cols = columns(repo, &Selection::Refs(refs))?;
    let new = cols.pop().expect("two columns");
    let old = cols.pop().expect("two columns");
    Ok((old, new))
}

fn run_diff(repo: &Repo, d: DiffArgs, section: Section, ui: &Ui) -> anyhow::Result<ExitCode> {
    let (old, new) = sides(repo, d.old, d.new)?;
    let diff = meta_diff(repo, &old, &new, section)?;
    if d.format.json {
        ui.out_json(&diff_json(&diff, &old, &new))?;
        return Ok(ExitCode::SUCCESS);
    }
    let what = if section == Section::Metrics { "metrics" } else { "params" };
    if diff.changes.is_empty() && diff.deps.is_empty() {
        ui.status(format!("no {what} changed between {} and {}", old.label, new.label));
        return Ok(ExitCode::SUCCESS);
    }
    if !diff.changes.is_empty() {
        print_block(ui, &diff_table(&diff, section, d.format.style()))?;
    }
    for dep in &diff.deps {
        ui.out(dep_line(dep))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The changes as a table: old, new, and for metrics the absolute and relative change.
pub fn diff_table(diff: &MetaDiff, section: Section, style: Style) -> String {
    let key = if section == Section::Metrics { "metric" } else { "param" };
    let mut header: Vec<String> = ["path", key, "old", "new"].iter().map(|s| s.to_string()).collect();
    if section == Section::Metrics {
        header.extend(["change".to_string(), "change %".to_string()]);
    }
    let rows: Vec<Vec<String>> = diff
        .changes
        .iter()
        .map(|c| {
            let mut r = vec![shown(&c.path), shown(&c.key), cell(c.old.as_ref()), cell(c.new.as_ref())];
            if section == Section::Metrics {
                r.push(change_text(c));
                r.push(c.relative().map(|p| format!("{:+.1}%", p * 100.0)).unwrap_or_default());
            }
            r
        })
        .collect();
    render(&header, &rows, style, width())
}

/// new - old as text: exact for integers (`+50000`), four decimals otherwise (`+0.0125`).
pub fn change_text(c: &mvc::ops::compare::ValueChange) -> String {
    let int = |v: &Option<Value>| v.as_ref().and_then(|v| v.as_i64());
    if let (Some(a), Some(b)) = (int(&c.old), int(&c.new)) {
        return format!("{:+}", i128::from(b) - i128::from(a));
    }
    c.delta().filter(|d| d.is_finite()).map(|d| format!("{d:+.4}")).unwrap_or_default()
}

/// `dep changed: model.pkl was made from data 31fa81… , now d56f40…`.
pub fn dep_line(dep: &mvc::ops::compare::DepChange) -> String {
    let short =
        |o: &Option<String>| o.as_deref().map(|s| s[..12.min(s.len())].to_string()).unwrap_or_else(|| "-".into());
    format!(
        "dep changed: `{}` was made from `{}` {} -> {}",
        shown(&dep.artifact),
        shown(&dep.dep),
        short(&dep.old),
        short(&dep.new)
    )
}

pub fn diff_json(diff: &MetaDiff, old: &Column, new: &Column) -> Value {
    let changes: Vec<Value> = diff
        .changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "path": c.path, "key": c.key, "old": c.old, "new": c.new,
                "change": c.delta(), "change_relative": c.relative(),
            })
        })
        .collect();
    let deps: Vec<Value> = diff
        .deps
        .iter()
        .map(|d| serde_json::json!({"artifact": d.artifact, "dep": d.dep, "old": d.old, "new": d.new}))
        .collect();
    serde_json::json!({"old": old.label, "new": new.label, "changes": changes, "deps": deps})
}

fn print_block(ui: &Ui, text: &str) -> std::io::Result<()> {
    for line in text.lines() {
        ui.out(line)?;
    }
    Ok(())
}
