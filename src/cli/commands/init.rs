//! `mvc init`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::init::{InitOptions, init};

use crate::cli::Ui;

/// Set up mvc in the current git repository
#[derive(clap::Args)]
pub struct InitArgs {
    /// Re-create a damaged `.mvc/config` and `.mvc/.gitignore` (the cache is kept)
    #[arg(long)]
    force: bool,
    /// Make the current directory, below the git repository's root, a project of its own
    /// (several projects can share one git repository, as in a monorepo)
    #[arg(long)]
    subdir: bool,
    /// Also commit `.mvc/config` and `.mvc/.gitignore` with this message
    #[arg(short, long, value_name = "MSG")]
    message: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `--json` output.
#[derive(serde::Serialize)]
struct InitView {
    root: String,
    created: bool,
    commit: Option<String>,
}

pub fn run(args: InitArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let report =
        init(&InitOptions { cwd: cwd.to_path_buf(), force: args.force, subdir: args.subdir, message: args.message })?;
    if ui.json() {
        let root = report.root.display().to_string();
        ui.out_json(&InitView { root, created: report.created, commit: report.commit })?;
        return Ok(ExitCode::SUCCESS);
    }
    if report.created && report.commit.is_some() {
        ui.status(format!("Initialized mvc in `{}`", report.root.display()));
    } else if report.created {
        ui.status(format!(
            "Initialized mvc in `{}`; commit `.mvc/config` and `.mvc/.gitignore`",
            report.root.display()
        ));
    } else {
        ui.status(format!("mvc is already initialized in `{}`", report.root.display()));
    }
    super::report_commit(ui, report.commit.as_deref());
    Ok(ExitCode::SUCCESS)
}
