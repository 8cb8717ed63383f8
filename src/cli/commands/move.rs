//! `mvc move`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::rename::{MoveOptions, rename};
use mvc::repo::Repo;

use super::shown;
use crate::cli::Ui;

/// Rename a tracked artifact, its pointer and its `.gitignore` line
#[derive(clap::Args)]
pub struct MoveArgs {
    /// The tracked artifact
    source: PathBuf,
    /// The new path, or an existing directory to move it into
    destination: PathBuf,
}

pub fn run(args: MoveArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = Repo::open(cwd)?;
    let opts = MoveOptions { source: args.source, destination: args.destination, cwd: cwd.to_path_buf() };
    let report = rename(&repo, &opts)?;
    ui.status(format!("moved `{}` to `{}`", shown(&report.from), shown(&report.to)));
    Ok(ExitCode::SUCCESS)
}
