//! `mvc get REPO PATH`: download one artifact (or a path inside a tracked directory) from
//! another mvc project without initialising anything locally. The project is cloned (see
//! [`crate::ops::source`]) into a temporary directory beside the output, the pointer is
//! pulled there, and the result is renamed into place, so an interrupted `get` leaves no
//! partial output.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::error::hinted;
use crate::progress::Reporter;
use crate::remote::transfer::TransferStats;

/// What to get and where to put it.
pub struct GetOptions {
    /// Anything `git clone` accepts, or a local path (relative to `cwd`).
    pub repo_url: String,
    /// The artifact, or a path inside a tracked directory, relative to the project's root.
    pub path: String,
    /// Revision to read the pointer at; the default branch when None.
    pub rev: Option<String>,
    /// Output path; default: the artifact's file name in `cwd`.
    pub out: Option<PathBuf>,
    /// The directory the command runs in.
    pub cwd: PathBuf,
    /// Remote name in the project's config; its default remote when None.
    pub remote: Option<String>,
    /// Concurrency override.
    pub jobs: Option<usize>,
}

/// What `get` did.
pub struct GetReport {
    /// Where the data now is.
    pub out: PathBuf,
    /// The commit the pointer was read at.
    pub commit: String,
    /// The remote the data came from.
    pub remote: String,
    /// Files written.
    pub files: u64,
    /// Transfer counts.
    pub stats: TransferStats,
}

/// Runs `mvc get`.
pub fn get(opts: &GetOptions, rt: &tokio::runtime::Runtime, reporter: &dyn Reporter) -> Result<GetReport> {
    let out_given = opts.out.as_ref().map(|o| if o.is_absolute() { o.clone() } else { opts.cwd.join(o) });
    let parent = match &out_given {
        Some(o) => o.parent().context("the output path has no parent directory")?.to_path_buf(),
        None => opts.cwd.clone(),
    };
    // The clone lives beside the output so the final rename stays on one filesystem.
    let clone = crate::ops::source::clone(&opts.repo_url, &parent, &opts.cwd)?;
    let (located, _) = clone.locate(&opts.path, opts.rev.as_deref())?;
    let name = located.path.rsplit('/').next().expect("clean paths are not empty").to_string();
    let out = out_given.unwrap_or_else(|| opts.cwd.join(&name));
    if out.symlink_metadata().is_ok() {
        let shown = opts.out.clone().unwrap_or_else(|| PathBuf::from(&name));
        bail!(hinted(format!("`{}` already exists", shown.display()), "remove it, or choose another path with `-o`"));
    }
    let pulled = clone.pull(&located, opts.remote.as_deref(), opts.jobs, rt, reporter)?;
    std::fs::rename(&pulled.data, &out).with_context(|| format!("moving the result into `{}`", out.display()))?;
    Ok(GetReport { out, commit: located.commit, remote: pulled.remote, files: pulled.files, stats: pulled.stats })
}
