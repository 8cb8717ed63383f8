//! `mvc add`: hash files and directories into the cache, write their pointers, ignore the
//! data in git and stage the pointers (and with a message, commit exactly those files).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Map;

use crate::cache::LinkMode;
use crate::error::hinted;
use crate::hash::Oid;
use crate::manifest::{self, Manifest};
use crate::ops::{Artifact, enclosing_artifact, index_key};
use crate::pointer::{Kind, Pointer};
use crate::progress::Reporter;
use crate::repo::Repo;
use crate::state::StatIndex;
use crate::workspace;

/// What to add.
pub struct AddOptions {
    /// Paths as the user typed them.
    pub paths: Vec<PathBuf>,
    /// Directory the paths are relative to.
    pub cwd: PathBuf,
    /// Commit the pointers and `.gitignore`s with this message.
    pub message: Option<String>,
    /// Metadata to record in the pointers.
    pub meta: crate::meta::MetaInput,
    /// Store what symlinks inside directories point to (`--follow-symlinks`).
    pub follow_symlinks: bool,
}

/// How an artifact's pointer changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It had no pointer before.
    New,
    /// Its content changed.
    Updated,
    /// Same content: the pointer is byte-identical.
    Unchanged,
}

/// One artifact recorded.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Repo-relative artifact path.
    pub path: String,
    /// The pointer as written.
    pub pointer: Pointer,
    /// New, updated or unchanged.
    pub change: Change,
    /// Files that had to be read (not answered by the stat index).
    pub hashed: u64,
}

/// What `add` did.
pub struct AddReport {
    /// Each artifact, in the order given.
    pub artifacts: Vec<Stored>,
    /// The commit made with `-m`, if any.
    pub commit: Option<String>,
}

/// Runs `mvc add`.
pub fn add(repo: &Repo, opts: &AddOptions, reporter: &dyn Reporter) -> Result<AddReport> {
    let _lock = repo.lock("add")?;
    let mut rels = Vec::new();
    for path in &opts.paths {
        let rel = check_addable(repo, &opts.cwd, path)?;
        if !rels.contains(&rel) {
            rels.push(rel);
        }
    }
    let index = repo.stat_index();
    let mut artifacts = Vec::new();
    let mut to_stage = Vec::new();
    for rel in &rels {
        let stored = store_artifact(repo, index, rel, &opts.meta, &opts.cwd, opts.follow_symlinks, reporter)?;
        to_stage.push(format!("{rel}{}", crate::pointer::SUFFIX));
        // Only a `.gitignore` we changed is staged, so the user's own edits to it stay theirs.
        if let Some(gitignore) = crate::git::ignore_artifact(&repo.git, &repo.scope, &repo.root, rel)?
            && !to_stage.contains(&gitignore)
        {
            to_stage.push(gitignore);
        }
        artifacts.push(stored);
    }
    // The commit carries each artifact's `.gitignore` as staged, even when this run did not
    // change it (a re-add after an add that was never committed): never a pointer without
    // the ignore line of its data.
    for rel in &rels {
        let gitignore = crate::git::gitignore_of(rel);
        if !to_stage.contains(&gitignore) && repo.abs(&gitignore).exists() {
            to_stage.push(gitignore);
        }
    }
    let commit = crate::ops::stage_and_commit(repo, &to_stage, opts.message.as_deref())?;
    Ok(AddReport { artifacts, commit })
}

/// Validates one user path for `add` and returns it repo-relative.
fn check_addable(repo: &Repo, cwd: &Path, path: &Path) -> Result<String> {
    let rel = repo.relative(cwd, path)?;
    if rel.is_empty() {
        bail!("cannot add the repository root; add the files or directories inside it");
    }
    if let Some(artifact) = rel.strip_suffix(crate::pointer::SUFFIX) {
        bail!(hinted(
            format!("`{}` is a pointer file, not data", path.display()),
            format!("add the artifact itself: `mvc add {}`", crate::text::shell_quote(artifact))
        ));
    }
    crate::paths::check_artifact_rel(&rel)?;
    crate::git::check_gitignore(&repo.root, &rel)?;
    let abs = repo.abs(&rel);
    let meta = fs::symlink_metadata(&abs).map_err(|_| anyhow::anyhow!("`{}` does not exist", path.display()))?;
    if meta.file_type().is_symlink() {
        bail!("`{}` is a symlink; mvc tracks files and directories, not symlinks", path.display());
    }
    if !meta.is_file() && !meta.is_dir() {
        bail!("`{}` is not a regular file or directory", path.display());
    }
    if let Some(parent) = enclosing_artifact(repo, &rel) {
        bail!(hinted(
            format!("`{}` is inside the tracked directory `{}`", path.display(), parent.rel),
            format!("record changes to it with `mvc commit {}`", crate::text::shell_quote(&parent.rel))
        ));
    }
    if crate::git::is_tracked(&repo.git, &repo.scope, &rel)? {
        bail!(hinted(
            format!("`{}` is already tracked by git", path.display()),
            format!("stop tracking it in git first: `git rm -r --cached -- {}`", crate::text::shell_quote(&rel))
        ));
    }
    if meta.is_dir() {
        let prefix = format!("{rel}/");
        if let Some(inner) = crate::ops::tracked(repo)?.into_iter().find(|a| a.rel.starts_with(&prefix)) {
            bail!(hinted(
                format!("`{}` contains the tracked artifact `{}`", path.display(), inner.rel),
                format!(
                    "add the other files separately, or `mvc remove {}` first",
                    crate::text::shell_quote(&inner.rel)
                )
            ));
        }
        if abs.join(".git").exists() {
            bail!("`{}` is a git repository of its own; mvc does not track nested repositories", path.display());
        }
    }
    Ok(rel)
}

/// Hashes the artifact at `rel` into the cache, publishes its objects durably, and writes its
/// pointer (existing `meta` updated with `meta_input`). Shared by `add` and `commit`.
/// Symlinks inside a directory are followed with `follow_symlinks` or `core.follow_symlinks`.
pub(crate) fn store_artifact(
    repo: &Repo,
    index: &StatIndex,
    rel: &str,
    meta_input: &crate::meta::MetaInput,
    cwd: &Path,
    follow_symlinks: bool,
    reporter: &dyn Reporter,
) -> Result<Stored> {
    record_artifact(repo, index, rel, meta_input, cwd, follow_symlinks, true, reporter)
}

/// Hashes the artifact at `rel` into the cache and returns the pointer that records it.
/// With `into_workspace` the pointer is also written (and links and checkout records
/// updated); without, nothing in the workspace changes (an experiment's pointers live only
/// in its commit).
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_artifact(
    repo: &Repo,
    index: &StatIndex,
    rel: &str,
    meta_input: &crate::meta::MetaInput,
    cwd: &Path,
    follow_symlinks: bool,
    into_workspace: bool,
    reporter: &dyn Reporter,
) -> Result<Stored> {
    let cache = repo.cache();
    let abs = repo.abs(rel);
    let artifact = Artifact::from_rel(rel);
    refuse_interrupted(repo, rel)?;
    let pointer_abs = repo.abs(&artifact.pointer_rel);
    let previous = if pointer_abs.exists() { Some(Pointer::load(&pointer_abs)?) } else { None };
    let name = crate::git::split_parent(rel).1.to_string();
    let previous_meta = previous.as_ref().map(|p| p.meta.clone()).unwrap_or_else(Map::new);
    // Metadata first: a bad dep or metrics file fails before any hashing.
    let new_meta = crate::meta::apply(repo, cwd, rel, &previous_meta, meta_input)?;
    let meta = fs::symlink_metadata(&abs).with_context(|| format!("`{rel}` does not exist"))?;
    let (kind, found) = if meta.is_dir() {
        let ignore = crate::mvcignore::MvcIgnore::new(&repo.root);
        let follow = follow_symlinks || repo.config.follow_symlinks;
        (Kind::Dir, workspace::walk_dir(&abs, rel, &crate::ops::walk_rules(repo, &ignore, follow))?)
    } else {
        (Kind::File, vec![workspace::found_file(&abs, &name, repo.cache().root())?])
    };
    let key = |f: &workspace::Found| index_key(rel, kind, &f.path);
    let resolved = workspace::resolve(found, &key, index, Some(&cache), reporter)?;
    let mut batch = resolved.batch;
    let (oid, size, nfiles) = match kind {
        Kind::File => {
            let f = &resolved.files[0];
            (f.oid, f.size, None)
        }
        Kind::Dir => {
            let mut entries: Vec<manifest::Entry> = resolved
                .files
                .iter()
                .map(|f| manifest::Entry { path: f.path.clone(), oid: f.oid, size: f.size, exec: f.exec })
                .collect();
            let carried = carry_over_unpulled(repo, &artifact, previous.as_ref(), &mut entries)?;
            let manifest = Manifest::new(entries).with_context(|| format!("cannot track `{rel}`"))?;
            if into_workspace {
                let mut partial = crate::partial::Partial::load(&repo.state_dir())?;
                partial.set(rel, carried.then(|| manifest.oid()))?;
                // These files are now mvc's: a later checkout may replace or delete them.
                let mut checked_out =
                    crate::partial::Partial::load_record(&repo.state_dir(), crate::partial::Record::CheckedOut)?;
                checked_out.set(rel, Some(manifest.oid()))?;
            }
            let oid = cache.insert_bytes(&manifest.to_bytes(), &mut batch)?;
            (oid, manifest.total_size(), Some(manifest.entries.len() as u64))
        }
    };
    // Objects are durable before any pointer names them, so a crash never leaves a pointer to
    // data that is not in the cache.
    cache.publish(batch)?;
    let pointer = Pointer { kind, path: name, oid, size, nfiles, meta: new_meta };
    let change = match &previous {
        None => Change::New,
        Some(p) if p.oid == pointer.oid && p.kind == pointer.kind && p.meta == pointer.meta => Change::Unchanged,
        Some(_) => Change::Updated,
    };
    if into_workspace {
        write_pointer(repo, &artifact, &pointer)?;
        link_workspace(repo, rel, kind, &resolved.files, oid)?;
    }
    Ok(Stored { path: rel.to_string(), pointer, change, hashed: resolved.hashed })
}

/// Refuses to record a directory whose checkout was interrupted: its files are half one
/// version, half another, and recording them would make that a version.
pub(crate) fn refuse_interrupted(repo: &Repo, rel: &str) -> Result<()> {
    let interrupted = crate::partial::Partial::load_record(&repo.state_dir(), crate::partial::Record::Interrupted)?;
    if interrupted.get(rel).is_some() {
        bail!(hinted(
            format!("a checkout of `{rel}` was interrupted; its files are half one version, half another"),
            format!("finish it with `mvc checkout {}` before recording changes", crate::text::shell_quote(rel))
        ));
    }
    Ok(())
}

/// After a partial pull, files of the previous version that were never pulled are kept in
/// the new manifest rather than recorded as deleted. Returns whether any were carried over.
fn carry_over_unpulled(
    repo: &Repo,
    artifact: &Artifact,
    previous: Option<&Pointer>,
    entries: &mut Vec<manifest::Entry>,
) -> Result<bool> {
    let Some(previous) = previous.filter(|p| p.kind == Kind::Dir) else { return Ok(false) };
    let partial = crate::partial::Partial::load(&repo.state_dir())?;
    if partial.get(&artifact.rel) != Some(previous.oid) {
        return Ok(false);
    }
    let old = crate::ops::load_manifest(repo, previous, &artifact.pointer_rel)?;
    let present: std::collections::HashSet<String> = entries.iter().map(|e| e.path.clone()).collect();
    let before = entries.len();
    entries.extend(old.entries.into_iter().filter(|e| !present.contains(&e.path)));
    Ok(entries.len() > before)
}

/// Writes a pointer unless the file already has exactly these bytes.
pub(crate) fn write_pointer(repo: &Repo, artifact: &Artifact, pointer: &Pointer) -> Result<()> {
    let path = repo.abs(&artifact.pointer_rel);
    let text = pointer.to_yaml();
    if fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    crate::fsutil::check_no_symlinked_parent(&repo.root, Path::new(&artifact.pointer_rel))?;
    crate::fsutil::write_atomic(&path, text.as_bytes(), 0o644)
}

/// Under `hardlink`/`symlink`, replaces the user's files with links to the cache (read-only;
/// `mvc unprotect` makes them writable). Under `reflink`/`copy` the files stay untouched.
fn link_workspace(repo: &Repo, rel: &str, kind: Kind, files: &[workspace::Known], _dir_oid: Oid) -> Result<()> {
    let modes: Vec<LinkMode> = repo.config.link.iter().copied().filter(|m| m.shares_object()).collect();
    let first = repo.config.link.first().copied();
    if modes.is_empty() || !first.is_some_and(LinkMode::shares_object) {
        return Ok(());
    }
    let cache = repo.cache();
    for file in files {
        let abs = match kind {
            Kind::File => repo.abs(rel),
            Kind::Dir => repo.abs(rel).join(&file.path),
        };
        if cache.is_linked_to_cache(&abs) {
            continue;
        }
        cache.link_out(&file.oid, &abs, file.exec, &repo.config.link)?;
    }
    Ok(())
}
