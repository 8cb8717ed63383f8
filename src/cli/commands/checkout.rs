//! `mvc checkout`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::checkout::{CheckoutOptions, Outcome, checkout};
use mvc::repo::Repo;

use super::shown;
use crate::cli::Ui;

/// Make workspace data match the pointers, from the cache
#[derive(clap::Args)]
pub struct CheckoutArgs {
    /// Artifacts (or directories holding artifacts); default: all
    #[arg(value_name = "PATH")]
    targets: Vec<PathBuf>,
    /// Overwrite or delete workspace data even if the cache has no copy of it
    #[arg(short, long)]
    force: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CheckoutArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = Repo::open(cwd)?;
    let reporter = ui.reporter();
    let opts = CheckoutOptions { targets: args.targets, cwd: cwd.to_path_buf(), force: args.force };
    let report = checkout(&repo, &opts, &reporter)?;
    if ui.json() {
        let items: Vec<serde_json::Value> = report
            .artifacts
            .iter()
            .map(|a| match &a.outcome {
                Outcome::Unchanged => serde_json::json!({"path": a.path, "outcome": "unchanged"}),
                Outcome::Updated { written, deleted } => {
                    serde_json::json!({"path": a.path, "outcome": "updated", "written": written, "deleted": deleted})
                }
                Outcome::Failed { message, hint } => {
                    serde_json::json!({"path": a.path, "outcome": "failed", "error": message, "hint": hint})
                }
            })
            .collect();
        ui.out_json(&serde_json::json!({ "artifacts": items }))?;
    } else {
        let mut unchanged = 0;
        for a in &report.artifacts {
            match &a.outcome {
                Outcome::Unchanged => unchanged += 1,
                Outcome::Updated { written, deleted } => {
                    let deleted = if *deleted > 0 { format!(", {deleted} deleted") } else { String::new() };
                    ui.status(format!("checked out `{}` ({written} written{deleted})", shown(&a.path)));
                }
                Outcome::Failed { message, hint } => ui.error(&shown(message), hint.as_deref()),
            }
        }
        if unchanged > 0 {
            ui.status(format!("{unchanged} artifacts already up to date"));
        }
    }
    Ok(if report.failed() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
