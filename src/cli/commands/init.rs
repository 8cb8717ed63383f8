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
}

pub fn run(args: InitArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let report = init(&InitOptions { cwd: cwd.to_path_buf(), force: args.force })?;
    if report.created {
        ui.status(format!(
            "Initialized mvc in `{}`; commit `.mvc/config` and `.mvc/.gitignore`",
            report.root.display()
        ));
    } else {
        ui.status(format!("mvc is already initialized in `{}`", report.root.display()));
    }
    Ok(ExitCode::SUCCESS)
}
