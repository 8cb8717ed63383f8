//! `mvc remove`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::remove::{RemoveOptions, remove};
use mvc::repo::Repo;

use super::shown;
use crate::cli::Ui;

/// Stop tracking artifacts: remove their pointers and `.gitignore` lines, keep the data
#[derive(clap::Args)]
pub struct RemoveArgs {
    /// Artifacts to stop tracking
    #[arg(required = true, value_name = "PATH")]
    targets: Vec<PathBuf>,
}

pub fn run(args: RemoveArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = Repo::open(cwd)?;
    let report = remove(&repo, &RemoveOptions { targets: args.targets, cwd: cwd.to_path_buf() })?;
    for path in &report.removed {
        ui.status(format!("stopped tracking `{}` (the data stays in the workspace)", shown(path)));
    }
    Ok(ExitCode::SUCCESS)
}
