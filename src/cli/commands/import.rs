//! `mvc import`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::import::{ImportOptions, Source, import};
use serde::Serialize;

use super::transfer_args::runtime;
use super::{human_size, shown};
use crate::cli::Ui;

/// Track an artifact of another mvc project here, remembering where it came from
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The project: any URL `git clone` accepts, or a local path
    repo: String,
    /// The artifact's path in that project, or a registry reference (`churn#production`)
    path: String,
    /// A revision (commit, tag, branch) or registry reference to follow; default: the default branch
    #[arg(long, value_name = "REV|REF")]
    rev: Option<String>,
    /// Where to put it; default: its name in the current directory
    #[arg(short, long, value_name = "OUT")]
    out: Option<PathBuf>,
    /// The project's remote to download from (default: its `core.remote`)
    #[arg(short = 'r', long = "remote", value_name = "NAME")]
    remote: Option<String>,
    /// Concurrent transfers
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Also commit the pointer and `.gitignore` line with this message
    #[arg(short, long, value_name = "MSG")]
    message: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `meta.source` as JSON shows it.
#[derive(Serialize)]
pub struct JsonSource<'a> {
    repo: String,
    rev: Option<String>,
    commit: &'a str,
    path: String,
    oid: &'a str,
}

impl<'a> JsonSource<'a> {
    pub fn of(s: &'a Source) -> JsonSource<'a> {
        JsonSource {
            repo: shown(&s.repo),
            rev: s.rev.as_deref().map(shown),
            commit: &s.commit,
            path: shown(&s.path),
            oid: &s.oid,
        }
    }
}

#[derive(Serialize)]
struct JsonImport<'a> {
    out: String,
    kind: &'static str,
    oid: String,
    size: u64,
    nfiles: Option<u64>,
    source: JsonSource<'a>,
    remote: &'a str,
    downloaded: u64,
    bytes: u64,
    commit: Option<&'a str>,
}

pub fn run(args: ImportArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let opts = ImportOptions {
        repo_url: args.repo,
        path: args.path,
        rev: args.rev,
        out: args.out,
        cwd: cwd.to_path_buf(),
        remote: args.remote,
        jobs: args.jobs,
        message: args.message,
    };
    let report = import(&repo, &opts, &runtime()?, &ui.reporter())?;
    if ui.json() {
        ui.out_json(&JsonImport {
            out: shown(&report.out),
            kind: report.pointer.kind.as_str(),
            oid: report.pointer.oid.to_hex(),
            size: report.pointer.size,
            nfiles: report.pointer.nfiles,
            source: JsonSource::of(&report.source),
            remote: &report.remote,
            downloaded: report.stats.transferred,
            bytes: report.stats.bytes,
            commit: report.commit.as_deref(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = &report.source;
    let rev = s.rev.as_deref().map(|r| format!(" {}", shown(r))).unwrap_or_default();
    ui.status(format!(
        "imported `{}` ({}) from `{}` `{}`{rev} at {}",
        shown(&report.out),
        human_size(report.pointer.size),
        shown(&s.repo),
        shown(&s.path),
        &s.commit[..12]
    ));
    super::report_commit(ui, report.commit.as_deref());
    Ok(ExitCode::SUCCESS)
}
