//! `mvc import-lfs`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::import_lfs::{ImportLfsOptions, import_lfs};
use serde::Serialize;

use super::{count, human_size, shown};
use crate::cli::Ui;

/// Turn the files git-lfs tracks in the current tree into mvc artifacts, ready for one commit
#[derive(clap::Args)]
pub struct ImportLfsArgs {
    /// Only files matching these patterns (gitignore syntax, from the repository root)
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct JsonFile {
    path: String,
    oid: String,
    size: u64,
    from_lfs_store: bool,
}

#[derive(Serialize)]
struct JsonReport {
    artifacts: Vec<JsonFile>,
    removed_lines: Vec<String>,
    staged: Vec<String>,
    bytes: u64,
}

pub fn run(args: ImportLfsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let opts = ImportLfsOptions { patterns: args.patterns, cwd: cwd.to_path_buf() };
    let report = import_lfs(&opts, &ui.reporter())?;
    if ui.json() {
        ui.out_json(&JsonReport {
            artifacts: report
                .artifacts
                .iter()
                .map(|a| JsonFile {
                    path: a.path.clone(),
                    oid: a.oid.to_hex(),
                    size: a.size,
                    from_lfs_store: a.from_lfs_store,
                })
                .collect(),
            removed_lines: report.removed_lines.clone(),
            staged: report.staged.clone(),
            bytes: report.bytes(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    for a in &report.artifacts {
        let from = if a.from_lfs_store { "git-lfs store" } else { "workspace" };
        ui.status(format!("imported `{}` ({from}, {})", shown(&a.path), human_size(a.size)));
    }
    for line in &report.removed_lines {
        ui.status(format!("removed `{}`", shown(line)));
    }
    ui.status(format!("Imported {}, {}", count(report.artifacts.len() as u64, "file"), human_size(report.bytes())));
    if !report.artifacts.is_empty() {
        ui.status(
            "Staged the conversion; finish it with `git commit`. History still holds the LFS pointers; to rewrite it: `git lfs migrate export --include=PATTERN --everything`",
        );
    }
    Ok(ExitCode::SUCCESS)
}
