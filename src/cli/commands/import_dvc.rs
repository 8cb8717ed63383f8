//! `mvc import-dvc`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::import_dvc::{DataSource, ImportDvcOptions, import_dvc};
use serde::Serialize;

use super::{count, human_size, shown};
use crate::cli::Ui;

/// Turn a DVC repository's tracked outputs into mvc artifacts, ready for one commit
#[derive(clap::Args)]
pub struct ImportDvcArgs {
    /// Only these outputs, `.dvc` files or directories; default: everything DVC tracks
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print the plan and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct JsonArtifact {
    path: String,
    from: String,
    source: DataSource,
    kind: Option<&'static str>,
    oid: Option<String>,
    size: u64,
    files: u64,
    deps: Vec<String>,
}

#[derive(Serialize)]
struct JsonRemote {
    name: String,
    url: String,
    added: bool,
    note: Option<String>,
}

#[derive(Serialize)]
struct JsonReport {
    dry_run: bool,
    artifacts: Vec<JsonArtifact>,
    removed: Vec<String>,
    remotes: Vec<JsonRemote>,
    staged: Vec<String>,
    files: u64,
    bytes: u64,
}

pub fn run(args: ImportDvcArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let opts = ImportDvcOptions { paths: args.paths, cwd: cwd.to_path_buf(), dry_run: args.dry_run };
    let report = import_dvc(&opts, &ui.reporter())?;
    if ui.json() {
        ui.out_json(&JsonReport {
            dry_run: report.dry_run,
            artifacts: report
                .artifacts
                .iter()
                .map(|a| JsonArtifact {
                    path: a.path.clone(),
                    from: a.origin.label(),
                    source: a.source,
                    kind: a.kind.map(|k| k.as_str()),
                    oid: a.oid.map(|o| o.to_hex()),
                    size: a.size,
                    files: a.files,
                    deps: a.deps.clone(),
                })
                .collect(),
            removed: report.removed.clone(),
            remotes: report
                .remotes
                .iter()
                .map(|r| JsonRemote { name: r.name.clone(), url: r.url.clone(), added: r.added, note: r.note.clone() })
                .collect(),
            staged: report.staged.clone(),
            files: report.files(),
            bytes: report.bytes(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if report.dry_run { "would import" } else { "imported" };
    for a in &report.artifacts {
        let source = match a.source {
            DataSource::Workspace => "workspace",
            DataSource::DvcCache => "DVC cache",
        };
        let deps = if a.deps.is_empty() { String::new() } else { format!(", deps: {}", a.deps.join(", ")) };
        ui.status(format!(
            "{verb} `{}` from `{}` ({source}, {}{deps})",
            shown(&a.path),
            shown(&a.origin.label()),
            human_size(a.size)
        ));
    }
    for r in &report.remotes {
        match (&r.note, r.added) {
            (_, true) => ui.status(format!(
                "{} remote `{}` ({}); DVC's data there is untouched: upload mvc's with `mvc push -r {}`",
                if report.dry_run { "would add" } else { "added" },
                shown(&r.name),
                shown(&r.url),
                shown(&r.name)
            )),
            (Some(note), false) => ui.warn(format!("DVC remote `{}` not carried over: {note}", shown(&r.name))),
            (None, false) => {}
        }
    }
    ui.status(format!(
        "{} {}, {}, {}; {} `.dvc` {} replaced",
        if report.dry_run { "Would import" } else { "Imported" },
        count(report.artifacts.len() as u64, "artifact"),
        count(report.files(), "file"),
        human_size(report.bytes()),
        report.removed.len(),
        if report.removed.len() == 1 { "file" } else { "files" },
    ));
    if !report.dry_run && !report.staged.is_empty() {
        ui.status("Staged the conversion; finish it with `git commit` (DVC's cache and remotes are left as they were)");
    }
    Ok(ExitCode::SUCCESS)
}
