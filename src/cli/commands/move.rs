//! `mvc move`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::rename::{MoveOptions, rename};

use super::shown;
use crate::cli::Ui;

/// Rename a tracked artifact, its pointer and its `.gitignore` line
#[derive(clap::Args)]
pub struct MoveArgs {
    /// The tracked artifact
    source: PathBuf,
    /// The new path, or an existing directory to move it into
    destination: PathBuf,
    /// Also commit the change (pointers and `.gitignore` lines) with this message
    #[arg(short, long, value_name = "MSG")]
    message: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `--json` output.
#[derive(serde::Serialize)]
struct MoveView<'a> {
    from: &'a str,
    to: &'a str,
    commit: Option<&'a str>,
}

pub fn run(args: MoveArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let opts = MoveOptions {
        source: args.source,
        destination: args.destination,
        cwd: cwd.to_path_buf(),
        message: args.message,
    };
    let report = rename(&repo, &opts)?;
    if ui.json() {
        ui.out_json(&MoveView { from: &report.from, to: &report.to, commit: report.commit.as_deref() })?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.status(format!("moved `{}` to `{}`", shown(&report.from), shown(&report.to)));
    super::report_commit(ui, report.commit.as_deref());
    Ok(ExitCode::SUCCESS)
}
