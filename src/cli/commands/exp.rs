//! `mvc exp run|save|show|diff|apply|branch|remove|push|pull|gc`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::exp::{self as ops, ExpGcOptions, ExpTransferOptions, Filter, RunOptions, SaveOptions, ShowOptions};
use serde::Serialize;
use serde_json::Value;

use super::metrics::{FormatArgs, cell, change_text};
use super::{count, shown, utc_time};
use crate::cli::Ui;
use crate::cli::table::{Style, render, width};

/// Track training runs without commits: run, save, compare, apply, share
#[derive(clap::Args)]
pub struct ExpArgs {
    #[command(subcommand)]
    action: ExpAction,
}

#[derive(clap::Subcommand)]
enum ExpAction {
    /// Set params, run a command, and save the workspace it leaves as an experiment
    Run {
        /// The experiment's name (default: two generated words)
        #[arg(short, long)]
        name: Option<String>,
        /// Set a param in the params file before the run (repeatable): `--set lr=0.01`
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
        /// The command, after `--`
        #[arg(required = true, last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Save the workspace as it is as an experiment (the branch, index and files stay)
    Save {
        /// The experiment's name (default: two generated words)
        #[arg(short, long)]
        name: Option<String>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// A table of experiments: name, base commit, date, status, params, final metrics
    Show {
        /// Sort by this metric or param
        #[arg(long, value_name = "KEY")]
        sort_by: Option<String>,
        /// Sort order
        #[arg(long, value_name = "ORDER", default_value = "asc", value_parser = ["asc", "desc"])]
        sort_order: String,
        /// Keep experiments meeting a condition (repeatable): `--where 'auc>0.9'`
        #[arg(long = "where", value_name = "COND")]
        conditions: Vec<String>,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Params and final metrics that differ between two experiments (or revisions)
    Diff {
        /// The old side
        old: String,
        /// The new side
        new: String,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Bring an experiment's code, params, pointers and data into the workspace
    Apply {
        /// The experiment
        name: String,
        /// Overwrite changes that no commit or experiment holds
        #[arg(short, long)]
        force: bool,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// Create a branch at an experiment's commit
    Branch {
        /// The experiment
        name: String,
        /// The new branch
        branch: String,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove experiments (their data stays in the cache until `mvc gc`)
    Remove {
        /// The experiments
        #[arg(required_unless_present = "all")]
        names: Vec<String>,
        /// Remove every experiment
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// Push experiments: refs to a git remote, data to the mvc remote
    Push(TransferArgs),
    /// Pull experiments: refs from a git remote, data from the mvc remote into the cache
    Pull(TransferArgs),
    /// Remove experiments not started from HEAD (or from any branch, or any commit)
    Gc {
        /// Keep experiments started from any local branch head
        #[arg(long)]
        all_branches: bool,
        /// Keep experiments started from any commit reachable from a branch or tag
        #[arg(long)]
        all_commits: bool,
        /// Print what would be removed, remove nothing
        #[arg(short = 'n', long)]
        dry_run: bool,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct TransferArgs {
    /// Experiments (default: all)
    names: Vec<String>,
    /// The mvc remote for the data (default: `core.remote`)
    #[arg(short = 'r', long = "remote", value_name = "NAME")]
    remote: Option<String>,
    /// The git remote for the refs
    #[arg(long, value_name = "NAME", default_value = "origin")]
    git_remote: String,
    /// Concurrent transfers
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

impl ExpArgs {
    pub fn wants_json(&self) -> bool {
        match &self.action {
            ExpAction::Run { json, .. }
            | ExpAction::Save { json, .. }
            | ExpAction::Gc { json, .. }
            | ExpAction::Apply { json, .. }
            | ExpAction::Branch { json, .. }
            | ExpAction::Remove { json, .. } => *json,
            ExpAction::Show { format, .. } | ExpAction::Diff { format, .. } => format.json,
            ExpAction::Push(t) | ExpAction::Pull(t) => t.json,
        }
    }
}

#[derive(Serialize)]
struct SavedView {
    name: String,
    commit: String,
    base: String,
    recorded: Vec<String>,
    skipped: Vec<String>,
    command: Option<String>,
    exit: Option<i32>,
    failed: bool,
    duration: Option<f64>,
}

#[derive(Serialize)]
struct RowView {
    name: String,
    commit: String,
    base: Option<String>,
    time: i64,
    status: &'static str,
    command: Option<String>,
    exit: Option<i32>,
    duration: Option<f64>,
    params: std::collections::BTreeMap<String, Value>,
    metrics: std::collections::BTreeMap<String, Value>,
}

#[derive(Serialize)]
struct ShowView {
    params: Vec<String>,
    metrics: Vec<String>,
    experiments: Vec<RowView>,
}

#[derive(Serialize)]
struct ChangeView {
    key: String,
    old: Option<Value>,
    new: Option<Value>,
    change: Option<f64>,
}

#[derive(Serialize)]
struct DiffView {
    old: String,
    new: String,
    params: Vec<ChangeView>,
    metrics: Vec<ChangeView>,
}

#[derive(Serialize)]
struct NamesView {
    experiments: Vec<String>,
    remote: Option<String>,
    objects_transferred: Option<u64>,
}

fn status_of(failed: bool, command: &Option<String>) -> &'static str {
    match (failed, command) {
        (true, _) => "failed",
        (false, Some(_)) => "ok",
        (false, None) => "saved",
    }
}

pub fn run(args: ExpArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    match args.action {
        ExpAction::Run { name, set, json, command } => {
            let opts = RunOptions { name, set, command, cwd: cwd.to_path_buf() };
            let report = ops::run(&repo, &opts, &ui.reporter())?;
            if let Some(file) = &report.params_file {
                ui.status(format!("set {} in `{}`", count(opts.set.len() as u64, "param"), shown(file)));
            }
            saved(ui, &report.saved, &report.record, json)?;
            if report.record.failed {
                let how =
                    report.record.exit.map(|c| format!("exit {c}")).unwrap_or_else(|| "killed by a signal".into());
                ui.error(
                    &format!("the command failed ({how}); the run is saved as `{}`, marked failed", report.saved.name),
                    None,
                );
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        ExpAction::Save { name, json } => {
            let report = ops::save(&repo, &SaveOptions { name, ..Default::default() }, &ui.reporter())?;
            saved(ui, &report, &Default::default(), json)?;
            Ok(ExitCode::SUCCESS)
        }
        ExpAction::Show { sort_by, sort_order, conditions, format } => {
            let filters = conditions.iter().map(|c| Filter::parse(c)).collect::<anyhow::Result<Vec<_>>>()?;
            let report = ops::show(&repo, &ShowOptions { sort_by, descending: sort_order == "desc", filters })?;
            show(ui, &report, &format)
        }
        ExpAction::Diff { old, new, format } => {
            let (params, metrics) = ops::diff(&repo, &old, &new)?;
            if format.json {
                let view = |v: &[mvc::ops::compare::ValueChange]| {
                    v.iter()
                        .map(|c| ChangeView {
                            key: c.key.clone(),
                            old: c.old.clone(),
                            new: c.new.clone(),
                            change: c.delta(),
                        })
                        .collect()
                };
                ui.out_json(&DiffView { old, new, params: view(&params), metrics: view(&metrics) })?;
                return Ok(ExitCode::SUCCESS);
            }
            if params.is_empty() && metrics.is_empty() {
                ui.status(format!("no params or metrics differ between {} and {}", shown(&old), shown(&new)));
                return Ok(ExitCode::SUCCESS);
            }
            let header: Vec<String> =
                ["", "key", old.as_str(), new.as_str(), "change"].iter().map(|s| shown(s)).collect();
            let mut rows = Vec::new();
            for (what, list) in [("param", &params), ("metric", &metrics)] {
                for c in list.iter() {
                    rows.push(vec![
                        what.to_string(),
                        shown(&c.key),
                        cell(c.old.as_ref()),
                        cell(c.new.as_ref()),
                        change_text(c),
                    ]);
                }
            }
            print_block(ui, &render(&header, &rows, style(&format), width()))?;
            Ok(ExitCode::SUCCESS)
        }
        ExpAction::Apply { name, force, json } => {
            let report = ops::apply(&repo, &name, force, &ui.reporter())?;
            if json {
                let failed = report
                    .checkout
                    .artifacts
                    .iter()
                    .any(|a| matches!(a.outcome, mvc::ops::checkout::Outcome::Failed { .. }));
                let artifacts: Vec<&str> = report.checkout.artifacts.iter().map(|a| a.path.as_str()).collect();
                ui.out_json(&serde_json::json!({"experiment": name, "files": report.files, "artifacts": artifacts, "failed": failed}))?;
                return Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS });
            }
            for f in &report.files {
                ui.status(format!("wrote `{}`", shown(f)));
            }
            let mut failed = false;
            for a in &report.checkout.artifacts {
                match &a.outcome {
                    mvc::ops::checkout::Outcome::Updated { .. } => {
                        ui.status(format!("checked out `{}`", shown(&a.path)))
                    }
                    mvc::ops::checkout::Outcome::Unchanged => {}
                    mvc::ops::checkout::Outcome::Failed { message, hint } => {
                        failed = true;
                        ui.error(&format!("`{}`: {message}", shown(&a.path)), hint.as_deref());
                    }
                }
            }
            ui.status(format!("applied `{}`; HEAD and the branch are unchanged", shown(&name)));
            Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        ExpAction::Branch { name, branch, json } => {
            let commit = ops::branch(&repo, &name, &branch)?;
            if json {
                ui.out_json(&serde_json::json!({"experiment": name, "branch": branch, "commit": commit}))?;
                return Ok(ExitCode::SUCCESS);
            }
            ui.status(format!(
                "created branch `{}` at {} (experiment `{}`)",
                shown(&branch),
                &commit[..12],
                shown(&name)
            ));
            Ok(ExitCode::SUCCESS)
        }
        ExpAction::Remove { names, all, json } => {
            let names = if all { mvc::exp::list(&repo.git)?.into_iter().map(|(n, _)| n).collect() } else { names };
            let removed = ops::remove(&repo, &names)?;
            if json {
                ui.out_json(&serde_json::json!({"removed": removed}))?;
                return Ok(ExitCode::SUCCESS);
            }
            ui.status(format!("removed {}; `mvc gc` frees their data", count(removed.len() as u64, "experiment")));
            Ok(ExitCode::SUCCESS)
        }
        ExpAction::Push(t) => {
            let rt = super::transfer_args::runtime()?;
            let report = ops::push(&repo, &transfer_opts(&t), &rt, &ui.reporter())?;
            let (remote, n) =
                report.data.as_ref().map(|d| (Some(d.remote.clone()), Some(d.stats.transferred))).unwrap_or_default();
            names_out(ui, t.json, "pushed", &t.git_remote, report.names, remote, n)
        }
        ExpAction::Pull(t) => {
            let rt = super::transfer_args::runtime()?;
            let report = ops::pull(&repo, &transfer_opts(&t), &rt, &ui.reporter())?;
            let (remote, n) =
                report.data.as_ref().map(|d| (Some(d.remote.clone()), Some(d.stats.transferred))).unwrap_or_default();
            names_out(ui, t.json, "pulled", &t.git_remote, report.names, remote, n)
        }
        ExpAction::Gc { all_branches, all_commits, dry_run, json } => {
            let removed = ops::gc(&repo, &ExpGcOptions { all_branches, all_commits, dry_run })?;
            if json {
                ui.out_json(&serde_json::json!({"removed": removed, "dry_run": dry_run}))?;
                return Ok(ExitCode::SUCCESS);
            }
            for name in &removed {
                ui.out(name)?;
            }
            let verb = if dry_run { "would remove" } else { "removed" };
            ui.status(format!("{verb} {}", count(removed.len() as u64, "experiment")));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn transfer_opts(t: &TransferArgs) -> ExpTransferOptions {
    ExpTransferOptions {
        names: t.names.clone(),
        git_remote: t.git_remote.clone(),
        remote: t.remote.clone(),
        jobs: t.jobs,
    }
}

fn names_out(
    ui: &Ui,
    json: bool,
    verb: &str,
    git_remote: &str,
    names: Vec<String>,
    remote: Option<String>,
    transferred: Option<u64>,
) -> anyhow::Result<ExitCode> {
    if json {
        ui.out_json(&NamesView { experiments: names, remote, objects_transferred: transferred })?;
        return Ok(ExitCode::SUCCESS);
    }
    for n in &names {
        ui.out(n)?;
    }
    let data = match (&remote, transferred) {
        (Some(r), Some(n)) => format!(", data through `{}` ({})", shown(r), count(n, "object")),
        _ => String::new(),
    };
    ui.status(format!("{verb} {} (git remote `{}`{data})", count(names.len() as u64, "experiment"), shown(git_remote)));
    Ok(ExitCode::SUCCESS)
}

fn saved(ui: &Ui, report: &ops::SaveReport, record: &mvc::exp::RunRecord, json: bool) -> anyhow::Result<()> {
    for (path, size) in &report.skipped {
        ui.warn(format!(
            "left out `{}` ({}): too large for git; track it with `mvc add`",
            shown(path),
            super::human_size(*size)
        ));
    }
    if json {
        ui.out_json(&SavedView {
            name: report.name.clone(),
            commit: report.commit.clone(),
            base: report.base.clone(),
            recorded: report.recorded.iter().map(|s| s.path.clone()).collect(),
            skipped: report.skipped.iter().map(|(p, _)| p.clone()).collect(),
            command: record.command.clone(),
            exit: record.exit,
            failed: record.failed,
            duration: record.duration,
        })?;
        return Ok(());
    }
    for s in &report.recorded {
        ui.status(format!("recorded `{}` ({})", shown(&s.path), s.pointer.oid.short()));
    }
    ui.status(format!("saved experiment `{}` ({}, from {})", report.name, &report.commit[..12], &report.base[..12]));
    ui.out(&report.name)?;
    Ok(())
}

fn style(format: &FormatArgs) -> Style {
    if format.md {
        Style::Markdown
    } else if format.csv {
        Style::Csv
    } else {
        Style::Text
    }
}

fn show(ui: &Ui, report: &ops::ShowReport, format: &FormatArgs) -> anyhow::Result<ExitCode> {
    if format.json {
        let experiments = report
            .rows
            .iter()
            .map(|r| RowView {
                name: r.name.clone(),
                commit: r.commit.to_string(),
                base: r.base.map(|b| b.to_string()),
                time: r.time,
                status: status_of(r.record.failed, &r.record.command),
                command: r.record.command.clone(),
                exit: r.record.exit,
                duration: r.record.duration,
                params: r.params.clone(),
                metrics: r.metrics.clone(),
            })
            .collect();
        ui.out_json(&ShowView { params: report.param_keys.clone(), metrics: report.metric_keys.clone(), experiments })?;
        return Ok(ExitCode::SUCCESS);
    }
    if report.rows.is_empty() {
        ui.status("no experiments; `mvc exp run -- CMD` or `mvc exp save` makes one");
        return Ok(ExitCode::SUCCESS);
    }
    let mut header: Vec<String> = ["experiment", "base", "created", "status"].iter().map(|s| s.to_string()).collect();
    header.extend(report.param_keys.iter().map(|k| shown(k)));
    header.extend(report.metric_keys.iter().map(|k| shown(k)));
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.name.clone(),
                r.base.map(|b| b.to_string()[..7].to_string()).unwrap_or_default(),
                utc_time(r.time),
                status_of(r.record.failed, &r.record.command).to_string(),
            ];
            row.extend(report.param_keys.iter().map(|k| cell(r.params.get(k))));
            row.extend(report.metric_keys.iter().map(|k| cell(r.metrics.get(k))));
            row
        })
        .collect();
    print_block(ui, &render(&header, &rows, style(format), width()))?;
    Ok(ExitCode::SUCCESS)
}

fn print_block(ui: &Ui, text: &str) -> std::io::Result<()> {
    for line in text.lines() {
        ui.out(line)?;
    }
    Ok(())
}
