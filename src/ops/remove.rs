//! `mvc remove`: stop tracking an artifact. Its pointer and `.gitignore` line go; the data
//! stays in the workspace as a private, writable copy.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::ops::select;
use crate::repo::Repo;

/// What to remove.
pub struct RemoveOptions {
    /// Artifacts as typed.
    pub targets: Vec<PathBuf>,
    /// Directory the targets are relative to.
    pub cwd: PathBuf,
    /// Commit the change with this message.
    pub message: Option<String>,
}

/// What `remove` did.
pub struct RemoveReport {
    /// Artifacts no longer tracked.
    pub removed: Vec<String>,
    /// The commit made with `-m`, if any.
    pub commit: Option<String>,
}

/// Runs `mvc remove`.
pub fn remove(repo: &Repo, opts: &RemoveOptions) -> Result<RemoveReport> {
    let _lock = repo.lock("remove")?;
    let artifacts = select(repo, &opts.cwd, &opts.targets)?;
    for artifact in &artifacts {
        crate::git::check_gitignore(&repo.root, &artifact.rel)?;
    }
    let index = repo.stat_index();
    let mut to_stage = Vec::new();
    let mut removed = Vec::new();
    for artifact in artifacts {
        // Links into the cache would dangle (or lose data) after `gc`: make them real files.
        crate::ops::unprotect::unprotect_path(repo, &artifact.rel)?;
        let pointer_abs = repo.abs(&artifact.pointer_rel);
        std::fs::remove_file(&pointer_abs).with_context(|| format!("removing `{}`", pointer_abs.display()))?;
        to_stage.push(artifact.pointer_rel.clone());
        if let Some(gitignore) = crate::git::unignore_artifact(&repo.root, &artifact.rel)? {
            to_stage.push(gitignore);
        }
        index.forget_prefix(&artifact.rel);
        removed.push(artifact.rel);
    }
    let commit = crate::ops::stage_and_commit(repo, &to_stage, opts.message.as_deref())?;
    Ok(RemoveReport { removed, commit })
}
