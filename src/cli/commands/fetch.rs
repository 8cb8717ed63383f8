//! `mvc fetch` and `mvc pull`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::checkout::Outcome;
use mvc::ops::fetch::{FetchOptions, FetchReport, fetch, pull, pull_version};
use mvc::ops::registry::as_registry_ref;

use super::transfer_args::{TransferArgs, runtime};
use super::{human_size, shown};
use crate::cli::Ui;

/// Download the data of tracked artifacts from a remote into the cache
#[derive(clap::Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub args: TransferArgs,
}

/// Download the data of tracked artifacts and check it out into the workspace
#[derive(clap::Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub args: TransferArgs,
    /// Overwrite workspace data even if the cache has no copy of it
    #[arg(short, long)]
    force: bool,
}

fn options(a: TransferArgs, cwd: &Path, force: bool) -> FetchOptions {
    FetchOptions {
        targets: a.targets,
        cwd: cwd.to_path_buf(),
        remote: a.remote,
        jobs: a.jobs,
        revs: a.revs.selection(),
        force,
    }
}

pub fn run_fetch(args: FetchArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let rt = runtime()?;
    let report = fetch(&repo, &options(args.args, cwd, false), &rt, &ui.reporter())?;
    render(ui, &report, "fetched")
}

pub fn run_pull(args: PullArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let rt = runtime()?;
    let mut opts = options(args.args, cwd, args.force);
    // Registry references (`churn#production`) pull that version; the rest are paths.
    let (refs, paths): (Vec<_>, Vec<_>) = std::mem::take(&mut opts.targets)
        .into_iter()
        .partition(|t| t.to_str().and_then(|s| as_registry_ref(&repo, cwd, s)).is_some());
    let mut reports = Vec::new();
    for r in &refs {
        let reference = as_registry_ref(&repo, cwd, r.to_str().unwrap_or_default()).expect("partitioned above");
        reports.push(pull_version(&repo, &reference, &opts, &rt, &ui.reporter())?);
    }
    if refs.is_empty() || !paths.is_empty() {
        opts.targets = paths;
        reports.push(pull(&repo, &opts, &rt, &ui.reporter())?);
    }
    render_all(ui, &reports, "pulled")
}

/// Renders several pulls (one per registry reference, one for paths) as one result: one
/// JSON document however many there were.
fn render_all(ui: &Ui, reports: &[FetchReport], verb: &str) -> anyhow::Result<ExitCode> {
    if ui.json() && reports.len() > 1 {
        let mut stats = mvc::remote::transfer::TransferStats::default();
        let mut checkout = Vec::new();
        for r in reports {
            stats = stats.plus(&r.stats);
            checkout.extend(r.checkout.iter().cloned());
        }
        let merged = FetchReport { remote: reports[0].remote.clone(), stats, checkout };
        return render(ui, &merged, verb);
    }
    let mut code = ExitCode::SUCCESS;
    for r in reports {
        if render(ui, r, verb)? != ExitCode::SUCCESS {
            code = ExitCode::from(1);
        }
    }
    Ok(code)
}

fn render(ui: &Ui, report: &FetchReport, verb: &str) -> anyhow::Result<ExitCode> {
    let s = report.stats;
    let failed = report.checkout.iter().any(|c| matches!(c.outcome, Outcome::Failed { .. }));
    if ui.json() {
        let checkout: Vec<serde_json::Value> = report
            .checkout
            .iter()
            .map(|c| match &c.outcome {
                Outcome::Unchanged => serde_json::json!({"path": c.path, "outcome": "unchanged"}),
                Outcome::Updated { written, deleted } => {
                    serde_json::json!({"path": c.path, "outcome": "updated", "written": written, "deleted": deleted})
                }
                Outcome::Failed { message, hint } => {
                    serde_json::json!({"path": c.path, "outcome": "failed", "error": message, "hint": hint})
                }
            })
            .collect();
        ui.out_json(&serde_json::json!({
            "remote": report.remote, "downloaded": s.transferred, "bytes": s.bytes,
            "reused_bytes": s.reused, "already_cached": s.present, "checkout": checkout,
        }))?;
    } else {
        for c in &report.checkout {
            match &c.outcome {
                Outcome::Updated { written, .. } => {
                    ui.status(format!("checked out `{}` ({})", shown(&c.path), super::count(*written, "file")))
                }
                Outcome::Failed { message, hint } => ui.error(&shown(message), hint.as_deref()),
                Outcome::Unchanged => {}
            }
        }
        // Bytes copied from local earlier versions are said only when there were some.
        let reused = if s.reused > 0 {
            format!(", {} more taken from earlier versions in the cache", human_size(s.reused))
        } else {
            String::new()
        };
        ui.status(format!(
            "{verb} {} ({}{reused}) from `{}`; {} already in the cache",
            super::count(s.transferred, "object"),
            human_size(s.bytes),
            report.remote,
            s.present
        ));
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
