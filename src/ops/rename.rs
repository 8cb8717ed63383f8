//! `mvc move`: rename a tracked artifact: its data, its pointer (whose `path` follows the new
//! name) and its `.gitignore` lines, all staged.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::ops::add::write_pointer;
use crate::ops::{Artifact, enclosing_artifact};
use crate::repo::Repo;

/// What to move.
pub struct MoveOptions {
    /// The tracked artifact.
    pub source: PathBuf,
    /// New path (an existing directory means "into it").
    pub destination: PathBuf,
    /// Directory the paths are relative to.
    pub cwd: PathBuf,
    /// Commit the change with this message.
    pub message: Option<String>,
}

/// What `move` did.
pub struct MoveReport {
    /// Old repo-relative path.
    pub from: String,
    /// New repo-relative path.
    pub to: String,
    /// The commit made with `-m`, if any.
    pub commit: Option<String>,
}

/// Runs `mvc move`.
pub fn rename(repo: &Repo, opts: &MoveOptions) -> Result<MoveReport> {
    let _lock = repo.lock("move")?;
    let from_rel = repo.relative(&opts.cwd, &opts.source)?;
    let from_rel = from_rel.strip_suffix(crate::pointer::SUFFIX).map(str::to_string).unwrap_or(from_rel);
    let from = Artifact::checked(&from_rel)?;
    let pointer = from
        .load_pointer(repo)
        .map_err(|e| anyhow::anyhow!("`{}` is not a tracked artifact ({e:#})", opts.source.display()))?;
    let mut to_rel = repo.relative(&opts.cwd, &opts.destination)?;
    if repo.abs(&to_rel).is_dir() && !repo.abs(&format!("{to_rel}{}", crate::pointer::SUFFIX)).exists() {
        let name = crate::git::split_parent(&from_rel).1;
        to_rel = if to_rel.is_empty() { name.to_string() } else { format!("{to_rel}/{name}") };
    }
    if to_rel.is_empty() || to_rel.ends_with(crate::pointer::SUFFIX) {
        bail!("`{}` is not a valid destination for an artifact", opts.destination.display());
    }
    let to = Artifact::checked(&to_rel)?;
    if repo.abs(&to.rel).exists() || repo.abs(&to.pointer_rel).exists() {
        bail!("`{}` already exists", to.rel);
    }
    if let Some(parent) = enclosing_artifact(repo, &to.rel) {
        bail!("`{}` is inside the tracked directory `{}`", to.rel, parent.rel);
    }
    if to.rel.starts_with(&format!("{}/", from.rel)) {
        bail!("cannot move `{}` into itself", from.rel);
    }
    crate::fsutil::check_no_symlinked_parent(&repo.root, Path::new(&to.rel))?;
    crate::git::check_gitignore(&repo.root, &from.rel)?;
    crate::git::check_gitignore(&repo.root, &to.rel)?;
    let new_abs = repo.abs(&to.rel);
    if let Some(dir) = new_abs.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    }
    let old_abs = repo.abs(&from.rel);
    if fs::symlink_metadata(&old_abs).is_ok() {
        fs::rename(&old_abs, &new_abs).with_context(|| format!("moving `{}` to `{}`", from.rel, to.rel))?;
    }
    let mut moved = pointer.clone();
    moved.path = crate::git::split_parent(&to.rel).1.to_string();
    write_pointer(repo, &to, &moved)?;
    fs::remove_file(repo.abs(&from.pointer_rel)).with_context(|| format!("removing `{}`", from.pointer_rel))?;
    let mut to_stage = vec![from.pointer_rel.clone(), to.pointer_rel.clone()];
    to_stage.extend(crate::git::unignore_artifact(&repo.root, &from.rel)?);
    to_stage.extend(crate::git::ignore_artifact(&repo.git, &repo.scope, &repo.root, &to.rel)?);
    repo.stat_index().forget_prefix(&from.rel);
    let commit = crate::ops::stage_and_commit(repo, &to_stage, opts.message.as_deref())?;
    Ok(MoveReport { from: from.rel, to: to.rel, commit })
}
