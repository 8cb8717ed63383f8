//! `mvc add`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::add::{AddOptions, Change, add};
use serde::Serialize;

use super::{human_size, shown};
use crate::cli::Ui;

/// Track files or directories: hash them into the cache and write `.mvc` pointers for git
#[derive(clap::Args)]
pub struct AddArgs {
    /// Files or directories to track
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also commit the pointers and `.gitignore` changes (only those) with this message
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

#[derive(Serialize)]
struct JsonAdded {
    path: String,
    kind: &'static str,
    oid: String,
    size: u64,
    nfiles: Option<u64>,
    change: &'static str,
    hashed: u64,
}

pub fn run(args: AddArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let reporter = ui.reporter();
    let opts = AddOptions {
        paths: args.paths,
        cwd: cwd.to_path_buf(),
        message: args.message,
        meta: args.meta.input(),
        follow_symlinks: args.follow_symlinks,
    };
    let report = add(&repo, &opts, &reporter)?;
    if ui.json() {
        let items: Vec<JsonAdded> = report
            .artifacts
            .iter()
            .map(|a| JsonAdded {
                path: a.path.clone(),
                kind: a.pointer.kind.as_str(),
                oid: a.pointer.oid.to_hex(),
                size: a.pointer.size,
                nfiles: a.pointer.nfiles,
                change: change_name(a.change),
                hashed: a.hashed,
            })
            .collect();
        ui.out_json(&serde_json::json!({ "artifacts": items, "commit": report.commit }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for a in &report.artifacts {
        let files = a.pointer.nfiles.map(|n| format!(", {}", super::count(n, "file"))).unwrap_or_default();
        ui.status(format!(
            "{} `{}` ({}{files}) {}",
            change_name(a.change),
            shown(&a.path),
            human_size(a.pointer.size),
            a.pointer.oid.short()
        ));
    }
    match &report.commit {
        Some(commit) => ui.status(format!("Committed {}", &commit[..12])),
        None => ui.status("Staged the pointers; commit them with `git commit`"),
    }
    Ok(ExitCode::SUCCESS)
}

fn change_name(change: Change) -> &'static str {
    match change {
        Change::New => "added",
        Change::Updated => "updated",
        Change::Unchanged => "unchanged",
    }
}
