//! `mvc unprotect`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::unprotect::{UnprotectOptions, unprotect};

use super::shown;
use crate::cli::Ui;

/// Replace links into the cache with private writable copies, so the files can be edited
#[derive(clap::Args)]
pub struct UnprotectArgs {
    /// Artifacts to make writable
    #[arg(required = true, value_name = "PATH")]
    targets: Vec<PathBuf>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `--json` output: each artifact and how many of its files became private copies.
#[derive(serde::Serialize)]
struct UnprotectView<'a> {
    path: &'a str,
    files: u64,
}

pub fn run(args: UnprotectArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let report = unprotect(&repo, &UnprotectOptions { targets: args.targets, cwd: cwd.to_path_buf() })?;
    if ui.json() {
        let views: Vec<UnprotectView> =
            report.artifacts.iter().map(|(path, files)| UnprotectView { path, files: *files }).collect();
        ui.out_json(&views)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (path, n) in &report.artifacts {
        ui.status(format!("made `{}` writable ({})", shown(path), super::count(*n, "file")));
    }
    Ok(ExitCode::SUCCESS)
}
