//! `mvc get`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::get::{GetOptions, get};

use super::transfer_args::runtime;
use super::{count, human_size};
use crate::cli::Ui;

/// Download one artifact from another mvc project, without cloning it into a workspace
#[derive(clap::Args)]
pub struct GetArgs {
    /// The project: any URL `git clone` accepts, or a local path
    repo: String,
    /// The artifact, or a path inside a tracked directory, relative to the project's root
    path: String,
    /// Read the pointer at this revision (commit, tag or branch); default: the default branch
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    /// Where to write it; default: its name in the current directory
    #[arg(short, long, value_name = "OUT")]
    out: Option<PathBuf>,
    /// The project's remote to download from (default: its `core.remote`)
    #[arg(short = 'r', long = "remote", value_name = "NAME")]
    remote: Option<String>,
    /// Concurrent transfers
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Print a JSON summary
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: GetArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let opts = GetOptions {
        repo_url: args.repo,
        path: args.path,
        rev: args.rev,
        out: args.out,
        cwd: cwd.to_path_buf(),
        remote: args.remote,
        jobs: args.jobs,
    };
    let report = get(&opts, &runtime()?, &ui.reporter())?;
    let out = report.out.strip_prefix(cwd).unwrap_or(&report.out).display().to_string();
    if ui.json() {
        ui.out_json(&serde_json::json!({
            "out": out, "commit": report.commit, "remote": report.remote, "files": report.files,
            "downloaded": report.stats.transferred, "bytes": report.stats.bytes,
        }))?;
    } else {
        ui.status(format!(
            "got `{out}` ({}, {}) from `{}` at {}",
            count(report.files, "file"),
            human_size(report.stats.bytes),
            report.remote,
            &report.commit[..12]
        ));
    }
    Ok(ExitCode::SUCCESS)
}
