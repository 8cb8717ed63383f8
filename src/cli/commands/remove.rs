//! `mvc remove`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::remove::{RemoveOptions, remove};

use super::shown;
use crate::cli::Ui;

/// Stop tracking artifacts: remove their pointers and `.gitignore` lines, keep the data
#[derive(clap::Args)]
pub struct RemoveArgs {
    /// Artifacts to stop tracking
    #[arg(required = true, value_name = "PATH")]
    targets: Vec<PathBuf>,
    /// Also commit the change (pointers and `.gitignore` lines) with this message
    #[arg(short, long, value_name = "MSG")]
    message: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `--json` output.
#[derive(serde::Serialize)]
struct RemoveView<'a> {
    removed: &'a [String],
    commit: Option<&'a str>,
}

pub fn run(args: RemoveArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let report =
        remove(&repo, &RemoveOptions { targets: args.targets, cwd: cwd.to_path_buf(), message: args.message })?;
    if ui.json() {
        ui.out_json(&RemoveView { removed: &report.removed, commit: report.commit.as_deref() })?;
        return Ok(ExitCode::SUCCESS);
    }
    for path in &report.removed {
        ui.status(format!("stopped tracking `{}` (the data stays in the workspace)", shown(path)));
    }
    super::report_commit(ui, report.commit.as_deref());
    Ok(ExitCode::SUCCESS)
}
