//! `mvc commit`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::commit::{CommitOptions, commit};

use super::{human_size, shown};
use crate::cli::Ui;

/// Record workspace changes to tracked artifacts in their pointers (and the cache)
#[derive(clap::Args)]
pub struct CommitArgs {
    /// Artifacts (or directories holding artifacts); default: all
    #[arg(value_name = "PATH")]
    targets: Vec<PathBuf>,
    /// Also commit the updated pointers (only those) to git with this message
    #[arg(short, long, value_name = "MSG")]
    message: Option<String>,
    /// Store the files that symlinks inside directories point to (a link to a directory is
    /// walked); default: refuse symlinks. Config: `core.follow_symlinks`
    #[arg(long)]
    follow_symlinks: bool,
    #[command(flatten)]
    meta: super::meta_args::MetaArgs,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CommitArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let reporter = ui.reporter();
    let opts = CommitOptions {
        targets: args.targets,
        cwd: cwd.to_path_buf(),
        message: args.message,
        meta: args.meta.input(),
        follow_symlinks: args.follow_symlinks,
    };
    let report = commit(&repo, &opts, &reporter)?;
    if ui.json() {
        let updated: Vec<serde_json::Value> = report
            .updated
            .iter()
            .map(|a| serde_json::json!({"path": a.path, "oid": a.pointer.oid.to_hex(), "size": a.pointer.size, "hashed": a.hashed}))
            .collect();
        ui.out_json(&serde_json::json!({"updated": updated, "missing": report.missing, "commit": report.commit}))?;
        return Ok(ExitCode::SUCCESS);
    }
    for a in &report.updated {
        ui.status(format!("updated `{}` ({}) {}", shown(&a.path), human_size(a.pointer.size), a.pointer.oid.short()));
    }
    for m in &report.missing {
        ui.warn(format!("`{}` is missing from the workspace; its pointer is unchanged", shown(m)));
    }
    match (&report.commit, report.updated.is_empty()) {
        (Some(_), _) => super::report_commit(ui, report.commit.as_deref()),
        (None, true) => ui.status("Nothing to commit: every artifact matches its pointer"),
        (None, false) => ui.status("Staged the updated pointers; commit them with `git commit`"),
    }
    Ok(ExitCode::SUCCESS)
}
