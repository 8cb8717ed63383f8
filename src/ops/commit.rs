//! `mvc commit`: record workspace changes to tracked artifacts in their pointers (and the
//! cache); with a message, also commit the pointers to git.

use std::path::PathBuf;

use anyhow::Result;

use crate::ops::add::{Stored, store_artifact};
use crate::ops::select;
use crate::ops::status::{Workspace, artifact_status};
use crate::progress::Reporter;
use crate::repo::Repo;

/// What to commit.
pub struct CommitOptions {
    /// Targets as typed; empty for every artifact.
    pub targets: Vec<PathBuf>,
    /// Directory the targets are relative to.
    pub cwd: PathBuf,
    /// Commit the changed pointers with this message.
    pub message: Option<String>,
    /// Metadata to record (an unchanged artifact's pointer is rewritten when this is given).
    pub meta: crate::meta::MetaInput,
    /// Store what symlinks inside directories point to (`--follow-symlinks`).
    pub follow_symlinks: bool,
}

/// What `commit` did.
pub struct CommitReport {
    /// Artifacts whose pointers were updated.
    pub updated: Vec<Stored>,
    /// Artifacts skipped because they are missing from the workspace.
    pub missing: Vec<String>,
    /// The git commit made with `-m`, if any.
    pub commit: Option<String>,
}

/// Runs `mvc commit`.
pub fn commit(repo: &Repo, opts: &CommitOptions, reporter: &dyn Reporter) -> Result<CommitReport> {
    let _lock = repo.lock("commit")?;
    let index = repo.stat_index();
    let mut updated = Vec::new();
    let mut missing = Vec::new();
    let mut to_stage = Vec::new();
    for artifact in select(repo, &opts.cwd, &opts.targets)? {
        let pointer = artifact.load_pointer(repo)?;
        crate::ops::add::refuse_interrupted(repo, &artifact.rel)?;
        let (status, _) = artifact_status(repo, index, &artifact, &pointer, reporter)?;
        let has_sources = pointer.meta.contains_key("sources");
        match status.workspace {
            Workspace::Unchanged if opts.meta.is_empty() && !has_sources => {}
            Workspace::Missing => missing.push(artifact.rel.clone()),
            Workspace::Unchanged | Workspace::Modified => {
                let stored =
                    store_artifact(repo, index, &artifact.rel, &opts.meta, &opts.cwd, opts.follow_symlinks, reporter)?;
                // Re-reading unchanged metrics sources rewrites nothing: not an update.
                if stored.change != crate::ops::add::Change::Unchanged {
                    updated.push(stored);
                    to_stage.push(artifact.pointer_rel.clone());
                }
            }
        }
    }
    crate::git::stage(&repo.git, &repo.scope, &to_stage)?;
    let commit = match &opts.message {
        Some(message) => {
            // Pointers staged earlier (by `mvc add` without `-m`) are committed too, with the
            // `.gitignore`s beside them: `commit -m` records everything mvc has staged.
            let staged = crate::git::staged_changes(&repo.git, &repo.scope, &|p| {
                p.ends_with(crate::pointer::SUFFIX) || p == ".gitignore" || p.ends_with("/.gitignore")
            })?;
            for path in staged {
                if !to_stage.contains(&path) {
                    to_stage.push(path);
                }
            }
            for pointer_rel in to_stage.clone().iter().filter(|p| p.ends_with(crate::pointer::SUFFIX)) {
                let gitignore =
                    crate::git::gitignore_of(&pointer_rel[..pointer_rel.len() - crate::pointer::SUFFIX.len()]);
                if !to_stage.contains(&gitignore) && repo.abs(&gitignore).exists() {
                    to_stage.push(gitignore);
                }
            }
            let project =
                crate::git::staged_changes(&repo.git, &repo.scope, &|p| crate::git::PROJECT_FILES.contains(&p))?;
            if to_stage.is_empty() && project.is_empty() {
                None
            } else {
                Some(crate::git::commit_command(&repo.git, &repo.scope, &to_stage, message)?.to_string())
            }
        }
        None => None,
    };
    Ok(CommitReport { updated, missing, commit })
}
