//! `mvc checkout --rev REV`: bring artifacts back to the version a revision pins, writing
//! that revision's pointers into the workspace (so `git diff` shows the rollback) and their
//! content beside them. Refuses, per artifact, when it would lose work: a pointer edited
//! since HEAD, or workspace data not recorded in the current pointer.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::ops::Artifact;
use crate::ops::checkout::{CheckedOut, CheckoutReport, Outcome, checkout_one};
use crate::ops::history::filters;
use crate::ops::status::{Workspace, artifact_status};
use crate::pointer::Pointer;
use crate::progress::Reporter;
use crate::repo::Repo;
use crate::revs;

/// What to restore.
pub struct RestoreOptions {
    /// The revision to take pointers from.
    pub rev: String,
    /// Artifacts (or directories holding artifacts); empty for every artifact at `rev`.
    pub targets: Vec<PathBuf>,
    /// Directory the targets are relative to.
    pub cwd: PathBuf,
    /// Overwrite edited pointers and unrecorded workspace data.
    pub force: bool,
}

/// Runs `mvc checkout --rev`. The content must already be in the cache (`--pull` fetches it
/// first, before this runs).
pub fn restore(repo: &Repo, opts: &RestoreOptions, reporter: &dyn Reporter) -> Result<CheckoutReport> {
    let commit = revs::resolve(&repo.git, &opts.rev)?;
    let wanted = filters(repo, &opts.cwd, &opts.targets)?;
    let at_rev = revs::artifacts_at(&repo.git, &repo.scope, commit)?;
    for f in &wanted {
        if !at_rev.keys().any(|a| f.is_empty() || a == f || a.starts_with(&format!("{f}/"))) {
            anyhow::bail!(crate::error::hinted(
                format!("`{f}` is not tracked at {}", crate::text::sanitize(&opts.rev)),
                format!("list what is with `mvc ls --rev {}`", crate::text::shell_quote(&opts.rev)),
            ));
        }
    }
    let _lock = repo.lock("checkout")?;
    let index = repo.stat_index();
    let tree = repo.project_tree(commit)?.context("the revision does not have this project's directory")?;
    let mut artifacts = Vec::new();
    for (rel, pointer) in at_rev {
        if !wanted.is_empty() && !wanted.iter().any(|f| f.is_empty() || rel == *f || rel.starts_with(&format!("{f}/")))
        {
            continue;
        }
        let artifact = Artifact::from_rel(&rel);
        let blob = tree.get_path(Path::new(&artifact.pointer_rel))?.to_object(&repo.git)?.peel_to_blob()?;
        let outcome = match restore_one(repo, index, &artifact, &pointer, blob.content(), opts.force, reporter) {
            Ok(o) => o,
            Err(e) => Outcome::Failed { message: format!("{e:#}"), hint: crate::error::hint_of(&e) },
        };
        artifacts.push(CheckedOut { path: rel, outcome });
    }
    Ok(CheckoutReport { artifacts })
}

fn restore_one(
    repo: &Repo,
    index: &crate::state::StatIndex,
    artifact: &Artifact,
    pointer: &Pointer,
    pointer_bytes: &[u8],
    force: bool,
    reporter: &dyn Reporter,
) -> Result<Outcome> {
    let pointer_abs = repo.abs(&artifact.pointer_rel);
    crate::fsutil::check_no_symlinked_parent(&repo.root, Path::new(&artifact.pointer_rel))?;
    let on_disk = match std::fs::read(&pointer_abs) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading `{}`", artifact.pointer_rel)),
    };
    if on_disk.as_deref() != Some(pointer_bytes) && !force {
        if on_disk.as_deref() != committed_pointer(repo, &artifact.pointer_rel).as_deref() {
            anyhow::bail!(crate::error::hinted(
                format!("`{}` has edits that are not committed", artifact.pointer_rel),
                "commit them first, or use `--force` to replace the pointer",
            ));
        }
        if on_disk.is_some() {
            let current = artifact.load_pointer(repo)?;
            let (status, _) = artifact_status(repo, index, artifact, &current, reporter)?;
            if status.workspace == Workspace::Modified {
                anyhow::bail!(crate::error::hinted(
                    format!("`{}` has changes that are not recorded in its pointer", artifact.rel),
                    format!(
                        "record them with `mvc commit {}`, or use `--force` to discard them",
                        crate::text::shell_quote(&artifact.rel)
                    ),
                ));
            }
        }
    }
    // Every object must be here before the pointer is replaced: a half-restored artifact
    // would have a new pointer and old data.
    if crate::ops::missing_in_cache(repo, pointer, &artifact.pointer_rel)? > 0 {
        anyhow::bail!(crate::error::hinted(
            format!("`{}` at this revision ({}) is not in the cache", artifact.rel, pointer.oid.short()),
            "add `--pull` to fetch it from the remote",
        ));
    }
    crate::fsutil::write_atomic(&pointer_abs, pointer_bytes, 0o644)?;
    crate::git::ignore_artifact(&repo.git, &repo.scope, &repo.root, &artifact.rel)?;
    checkout_one(repo, index, artifact, None, force, reporter)
}

/// The pointer's bytes at HEAD, if HEAD has it.
fn committed_pointer(repo: &Repo, pointer_rel: &str) -> Option<Vec<u8>> {
    let tree = repo.git.head().ok()?.peel_to_tree().ok()?;
    let entry = tree.get_path(Path::new(&repo.git_path(pointer_rel))).ok()?;
    Some(entry.to_object(&repo.git).ok()?.peel_to_blob().ok()?.content().to_vec())
}
