//! `mvc checkout`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::checkout::{CheckoutOptions, Outcome, checkout};
use mvc::ops::fetch::FetchOptions;
use mvc::ops::restore::{RestoreOptions, restore};
use mvc::revs::RevSelection;

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
    /// Restore the versions this revision pins, writing its pointers into the workspace
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    /// With `--rev`: fetch content missing from the cache from the remote first
    #[arg(long, requires = "rev")]
    pull: bool,
    /// With `--pull`: the remote to fetch from (default: `core.remote`)
    #[arg(
        short = 'r',
        long = "remote",
        value_name = "NAME",
        requires = "pull",
        add = clap_complete::ArgValueCandidates::new(super::completions::remote_names)
    )]
    remote: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CheckoutArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let reporter = ui.reporter();
    let report = match args.rev {
        None => {
            let opts = CheckoutOptions { targets: args.targets, cwd: cwd.to_path_buf(), force: args.force };
            checkout(&repo, &opts, &reporter)?
        }
        Some(rev) => {
            if args.pull {
                let fetch = FetchOptions {
                    targets: args.targets.clone(),
                    cwd: cwd.to_path_buf(),
                    remote: args.remote,
                    jobs: None,
                    revs: RevSelection { revs: vec![rev.clone()], ..Default::default() },
                    force: false,
                };
                mvc::ops::fetch::fetch(&repo, &fetch, &super::transfer_args::runtime()?, &reporter)?;
            }
            let opts = RestoreOptions { rev, targets: args.targets, cwd: cwd.to_path_buf(), force: args.force };
            restore(&repo, &opts, &reporter)?
        }
    };
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
                    ui.status(format!(
                        "checked out `{}` ({}{deleted})",
                        shown(&a.path),
                        super::count(*written, "file")
                    ));
                }
                Outcome::Failed { message, hint } => ui.error(&shown(message), hint.as_deref()),
            }
        }
        if unchanged > 0 {
            ui.status(format!("{} already up to date", super::count(unchanged as u64, "artifact")));
        }
    }
    Ok(if report.failed() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
