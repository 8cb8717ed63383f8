//! `mvc unprotect`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::unprotect::{UnprotectOptions, unprotect};
use mvc::repo::Repo;

use super::shown;
use crate::cli::Ui;

/// Replace links into the cache with private writable copies, so the files can be edited
#[derive(clap::Args)]
pub struct UnprotectArgs {
    /// Artifacts to make writable
    #[arg(required = true, value_name = "PATH")]
    targets: Vec<PathBuf>,
}

pub fn run(args: UnprotectArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = Repo::open(cwd)?;
    let report = unprotect(&repo, &UnprotectOptions { targets: args.targets, cwd: cwd.to_path_buf() })?;
    for (path, n) in &report.artifacts {
        ui.status(format!("made `{}` writable ({})", shown(path), super::count(*n, "file")));
    }
    Ok(ExitCode::SUCCESS)
}
