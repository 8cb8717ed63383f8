//! `mvc install` and the hidden `mvc merge-driver` that it registers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::install::install;
use mvc::ops::merge::{Merged, run_driver};

use crate::cli::Ui;

/// Install git hooks (checkout after switching branches, refuse commits of modified
/// artifacts, push data before pointers) and the pointer merge driver
#[derive(clap::Args)]
pub struct InstallArgs {
    /// Remove exactly what `mvc install` added, restoring chained hooks
    #[arg(long)]
    uninstall: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `--json` output.
#[derive(serde::Serialize)]
struct InstallView<'a> {
    hooks_dir: String,
    installed: &'a [String],
    chained: &'a [String],
    removed: &'a [String],
}

/// git's merge driver for `*.mvc` files (registered by `mvc install`)
#[derive(clap::Args)]
pub struct MergeDriverArgs {
    /// The common ancestor's version (%O)
    base: PathBuf,
    /// Our version, overwritten with the result (%A)
    ours: PathBuf,
    /// Their version (%B)
    theirs: PathBuf,
    /// The pointer's path in the repository (%P)
    path: String,
}

pub fn run(args: InstallArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let report = install(&repo, args.uninstall)?;
    if ui.json() {
        ui.out_json(&InstallView {
            hooks_dir: report.hooks_dir.display().to_string(),
            installed: &report.installed,
            chained: &report.chained,
            removed: &report.removed,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let dir = report.hooks_dir.display();
    if args.uninstall {
        ui.status(format!("removed hooks from `{dir}`: {}", list(&report.removed)));
    } else {
        ui.status(format!("installed hooks in `{dir}`: {}", list(&report.installed)));
        if !report.chained.is_empty() {
            ui.status(format!("your existing hooks run first: {}", list(&report.chained)));
        }
        ui.status("registered the merge driver for `*.mvc`");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "none".to_string() } else { names.join(", ") }
}

pub fn run_merge_driver(args: MergeDriverArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    match run_driver(cwd, &args.base, &args.ours, &args.theirs, &args.path)? {
        Merged::Clean => Ok(ExitCode::SUCCESS),
        Merged::Conflict(message) => {
            ui.error(&mvc::text::sanitize(&format!("mvc merge: {message}")), None);
            Ok(ExitCode::from(1))
        }
    }
}
