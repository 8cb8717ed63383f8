//! `mvc cat`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::cat::{CatOptions, cat};

use super::transfer_args::runtime;
use crate::cli::Ui;

/// Write an artifact (or one file inside a directory artifact) to stdout, verified
#[derive(clap::Args)]
pub struct CatArgs {
    /// The artifact, a file inside a tracked directory, or a registry reference
    path: String,
    /// A git revision or registry reference (`NAME@v1.2.0`, `NAME#production`)
    #[arg(long, value_name = "REV|REF")]
    rev: Option<String>,
    /// Remote to download from when the cache lacks the data (default: `core.remote`)
    #[arg(short = 'r', long = "remote", value_name = "NAME")]
    remote: Option<String>,
}

pub fn run(args: CatArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let opts = CatOptions { path: args.path, rev: args.rev, cwd: cwd.to_path_buf(), remote: args.remote };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    cat(&repo, &opts, &mut out, &runtime()?, &ui.reporter())?;
    Ok(ExitCode::SUCCESS)
}
