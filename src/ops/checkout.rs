//! `mvc checkout`: make the workspace match the pointers, from the cache. Workspace data that
//! is not in the cache is never overwritten or deleted without `--force`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cache::{Cache, FileStamp};
use crate::hash::Oid;
use crate::ops::{Artifact, index_key, load_manifest, select};
use crate::pointer::{Kind, Pointer};
use crate::progress::Reporter;
use crate::repo::Repo;
use crate::state::{Entry, StatIndex};
use crate::workspace;

/// What to check out.
pub struct CheckoutOptions {
    /// Targets as typed; empty for every artifact.
    pub targets: Vec<PathBuf>,
    /// Directory the targets are relative to.
    pub cwd: PathBuf,
    /// Overwrite or delete workspace data even when the cache has no copy of it.
    pub force: bool,
}

/// What happened to one artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already matched the pointer.
    Unchanged,
    /// Files were written or deleted.
    Updated {
        /// Files written from the cache.
        written: u64,
        /// Files deleted (not in the pointer's version).
        deleted: u64,
    },
    /// Nothing was changed, for this reason.
    Failed {
        /// What went wrong.
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },
}

/// One artifact's result.
#[derive(Debug, Clone)]
pub struct CheckedOut {
    /// Repo-relative artifact path.
    pub path: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Results for every selected artifact.
pub struct CheckoutReport {
    /// Per artifact, sorted by path.
    pub artifacts: Vec<CheckedOut>,
}

impl CheckoutReport {
    /// Whether any artifact could not be checked out.
    pub fn failed(&self) -> bool {
        self.artifacts.iter().any(|a| matches!(a.outcome, Outcome::Failed { .. }))
    }
}

/// Runs `mvc checkout`.
pub fn checkout(repo: &Repo, opts: &CheckoutOptions, reporter: &dyn Reporter) -> Result<CheckoutReport> {
    let _lock = repo.lock("checkout")?;
    let index = repo.stat_index();
    let mut artifacts = Vec::new();
    for artifact in select(repo, &opts.cwd, &opts.targets)? {
        let outcome = match checkout_one(repo, index, &artifact, None, opts.force, reporter) {
            Ok(o) => o,
            Err(e) => Outcome::Failed { message: format!("{e:#}"), hint: crate::error::hint_of(&e) },
        };
        artifacts.push(CheckedOut { path: artifact.rel, outcome });
    }
    Ok(CheckoutReport { artifacts })
}

/// Makes one artifact match its pointer; with `subpath`, only that part of a directory.
pub(crate) fn checkout_one(
    repo: &Repo,
    index: &StatIndex,
    artifact: &Artifact,
    subpath: Option<&str>,
    force: bool,
    reporter: &dyn Reporter,
) -> Result<Outcome> {
    let pointer = artifact.load_pointer(repo)?;
    crate::fsutil::check_no_symlinked_parent(&repo.root, Path::new(&artifact.rel))?;
    match pointer.kind {
        Kind::File => checkout_file(repo, index, artifact, &pointer, force, reporter),
        Kind::Dir => checkout_dir(repo, index, artifact, &pointer, subpath, force, reporter),
    }
}

fn not_in_cache(what: &str) -> anyhow::Error {
    crate::error::hinted(format!("{what} not in the cache"), "fetch it with `mvc pull`").into()
}

fn checkout_file(
    repo: &Repo,
    index: &StatIndex,
    artifact: &Artifact,
    pointer: &Pointer,
    force: bool,
    reporter: &dyn Reporter,
) -> Result<Outcome> {
    let cache = repo.cache();
    let abs = repo.abs(&artifact.rel);
    match fs::symlink_metadata(&abs) {
        Ok(meta) if meta.is_file() && !meta.file_type().is_symlink() => {
            let found = workspace::found_file(&abs, &pointer.path, repo.cache().root())?;
            let key = |_: &workspace::Found| artifact.rel.clone();
            let current = workspace::resolve(vec![found], &key, index, None, reporter)?.files[0].oid;
            if current == pointer.oid {
                return Ok(Outcome::Unchanged);
            }
            if !cache.contains(&pointer.oid) {
                return Err(not_in_cache(&format!("`{}` ({})", artifact.rel, pointer.oid.short())));
            }
            if !force && !cache.contains(&current) {
                bail!(unsaved(&artifact.rel));
            }
        }
        Ok(meta) if meta.file_type().is_symlink() && cache.is_linked_to_cache(&abs) => {}
        Ok(meta) if meta.is_dir() => {
            if !cache.contains(&pointer.oid) {
                return Err(not_in_cache(&format!("`{}` ({})", artifact.rel, pointer.oid.short())));
            }
            // Even `--force` never deletes a directory it did not write; an empty one can go.
            fs::remove_dir(&abs).map_err(|_| not_ours(&abs))?;
        }
        Ok(_) if !force => bail!("`{}` is a symlink or special file; use `--force` to replace it", artifact.rel),
        _ => {}
    }
    if !cache.contains(&pointer.oid) {
        return Err(not_in_cache(&format!("`{}` ({})", artifact.rel, pointer.oid.short())));
    }
    if let Some(dir) = abs.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    }
    reporter.start("checkout", 1, pointer.size);
    let linked = cache.link_out(&pointer.oid, &abs, false, &repo.config.link);
    reporter.advance(1, pointer.size);
    reporter.finish();
    linked?;
    remember(index, &[(artifact.rel.clone(), abs, pointer.oid)]);
    Ok(Outcome::Updated { written: 1, deleted: 0 })
}

/// A directory stands where a file must go, and holds files mvc did not write.
fn not_ours(dir: &Path) -> anyhow::Error {
    crate::error::hinted(
        format!("`{}` is a directory that mvc did not write, where the pointer has a file", dir.display()),
        "mvc never deletes a directory it did not write, even with `--force`: move it away, then re-run",
    )
    .into()
}

/// The paths of the version whose files mvc last wrote or recorded for directory `rel`, or
/// None when unknown (an older clone, or that manifest is no longer cached).
fn written_paths(repo: &Repo, rel: &str) -> Result<Option<std::collections::HashSet<String>>> {
    let record = crate::partial::Partial::load_record(&repo.state_dir(), crate::partial::Record::CheckedOut)?;
    let Some(oid) = record.get(rel) else { return Ok(None) };
    if !repo.cache().contains(&oid) {
        return Ok(None);
    }
    let manifest = crate::ops::load_manifest_oid(repo, &oid, rel)?;
    Ok(Some(manifest.entries.into_iter().map(|e| e.path).collect()))
}

fn unsaved(path: &str) -> crate::error::Hinted {
    crate::error::hinted(
        format!("`{path}` has changes that are not in the cache; checkout would lose them"),
        format!(
            "save them with `mvc add {}` (or `mvc commit`), or discard them with `--force`",
            crate::text::shell_quote(path)
        ),
    )
}

fn checkout_dir(
    repo: &Repo,
    index: &StatIndex,
    artifact: &Artifact,
    pointer: &Pointer,
    subpath: Option<&str>,
    force: bool,
    reporter: &dyn Reporter,
) -> Result<Outcome> {
    let cache = repo.cache();
    let abs = repo.abs(&artifact.rel);
    if !cache.contains(&pointer.oid) {
        return Err(not_in_cache(&format!("the manifest of `{}` ({})", artifact.rel, pointer.oid.short())));
    }
    let existed = abs.is_dir();
    let mut manifest = load_manifest(repo, pointer, &artifact.pointer_rel)?;
    let mut partial = crate::partial::Partial::load(&repo.state_dir())?;
    let inside = |path: &str| subpath.is_none_or(|s| path == s || path.starts_with(&format!("{s}/")));
    let total = manifest.entries.len();
    manifest.entries.retain(|e| inside(&e.path));
    if manifest.entries.is_empty() && subpath.is_some() {
        bail!("`{}/{}` is not in the tracked directory `{}`", artifact.rel, subpath.unwrap_or_default(), artifact.rel);
    }
    let missing = manifest.entries.iter().filter(|e| !cache.contains(&e.oid)).count();
    if missing > 0 {
        let verb = if missing == 1 { "is" } else { "are" };
        let files = if total == 1 { "file" } else { "files" };
        return Err(not_in_cache(&format!("{missing} of {total} {files} of `{}` {verb}", artifact.rel)));
    }
    match fs::symlink_metadata(&abs) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) if !force => bail!(crate::error::hinted(
            format!("`{}` is a file in the workspace but a directory in its pointer", artifact.rel),
            "move it away, or use `--force` to replace it"
        )),
        Ok(_) => fs::remove_file(&abs).with_context(|| format!("removing `{}`", abs.display()))?,
        Err(_) => {}
    }
    // Files `.mvcignore` ignores are not listed, so they are never deleted; symlinks are
    // followed for reading only (nothing is written or deleted through one, see below).
    let ignore = crate::mvcignore::MvcIgnore::new(&repo.root);
    let rules = crate::ops::walk_rules(repo, &ignore, true);
    let mut current_files = if abs.is_dir() { workspace::walk_dir(&abs, &artifact.rel, &rules)? } else { Vec::new() };
    current_files.retain(|f| inside(&f.path));
    // A file of this version that `.mvcignore` hides from the walk is still the user's data:
    // compare it like any other, so unsaved content is never overwritten.
    let listed: std::collections::HashSet<String> = current_files.iter().map(|f| f.path.clone()).collect();
    for e in manifest.entries.iter().filter(|e| !listed.contains(&e.path)) {
        let file = abs.join(&e.path);
        if crate::fsutil::check_no_symlinked_parent(&abs, Path::new(&e.path)).is_ok()
            && fs::symlink_metadata(&file).is_ok_and(|m| m.is_file())
        {
            current_files.push(workspace::found_file(&file, &e.path, &repo.config.cache_dir)?);
        }
    }
    let key = |f: &workspace::Found| index_key(&artifact.rel, Kind::Dir, &f.path);
    let current = workspace::resolve(current_files, &key, index, None, reporter)?;
    let current: BTreeMap<String, (Oid, bool)> = current.files.into_iter().map(|f| (f.path, (f.oid, f.exec))).collect();

    // Decide everything before touching anything, so a refusal leaves the directory as it was.
    let wanted: BTreeMap<&str, (Oid, bool)> =
        manifest.entries.iter().map(|e| (e.path.as_str(), (e.oid, e.exec))).collect();
    let to_write: Vec<&crate::manifest::Entry> =
        manifest.entries.iter().filter(|e| current.get(&e.path) != Some(&(e.oid, e.exec))).collect();
    // Only files mvc put there are deleted: those of the version last written or recorded
    // (a user's untracked file stays, even when its content happens to be cached).
    let mvc_wrote = written_paths(repo, &artifact.rel)?;
    if let Some(paths) = &mvc_wrote {
        for kept in current.keys().filter(|p| !wanted.contains_key(p.as_str()) && !paths.contains(p.as_str())) {
            crate::notices::warn(format!(
                "left `{}/{kept}` in place: it is not part of `{}` and mvc did not write it",
                artifact.rel, artifact.rel
            ));
        }
    }
    let to_delete: Vec<&String> = current
        .keys()
        .filter(|p| !wanted.contains_key(p.as_str()))
        .filter(|p| match &mvc_wrote {
            Some(paths) => paths.contains(p.as_str()),
            None => cache.contains(&current[p.as_str()].0),
        })
        .collect();
    // Writing or deleting below a symlinked directory would change files outside it.
    for path in to_write.iter().map(|e| &e.path).chain(to_delete.iter().copied()) {
        crate::fsutil::check_no_symlinked_parent(&abs, Path::new(path))?;
    }
    if !force {
        let at_risk: Vec<&str> = to_write
            .iter()
            .filter_map(|e| current.get(&e.path).filter(|(oid, _)| !cache.contains(oid)).map(|_| e.path.as_str()))
            .chain(to_delete.iter().filter(|p| !cache.contains(&current[p.as_str()].0)).map(|p| p.as_str()))
            .collect();
        if !at_risk.is_empty() {
            let shown: Vec<String> = at_risk.iter().take(5).map(|p| format!("`{}/{p}`", artifact.rel)).collect();
            let more = if at_risk.len() > 5 { format!(" and {} more", at_risk.len() - 5) } else { String::new() };
            bail!(crate::error::hinted(
                format!(
                    "`{}` has files whose changes are not in the cache ({}{more}); checkout would lose them",
                    artifact.rel,
                    shown.join(", ")
                ),
                format!(
                    "record them with `mvc commit {}`, or discard them with `--force`",
                    crate::text::shell_quote(&artifact.rel)
                )
            ));
        }
    }
    // A sub-path pull leaves the rest of the directory absent on purpose; remember that so
    // status and commit do not take those files for deleted.
    match (subpath, partial.get(&artifact.rel)) {
        (None, _) => partial.set(&artifact.rel, None)?,
        (Some(_), None) if !existed && manifest.entries.len() < total => {
            partial.set(&artifact.rel, Some(pointer.oid))?
        }
        (Some(_), Some(_)) => partial.set(&artifact.rel, Some(pointer.oid))?,
        (Some(_), None) => {}
    }
    let mut checked_out = crate::partial::Partial::load_record(&repo.state_dir(), crate::partial::Record::CheckedOut)?;
    let mut interrupted = crate::partial::Partial::load_record(&repo.state_dir(), crate::partial::Record::Interrupted)?;
    if to_write.is_empty() && to_delete.is_empty() {
        checked_out.set(&artifact.rel, Some(pointer.oid))?;
        interrupted.set(&artifact.rel, None)?;
        return Ok(Outcome::Unchanged);
    }
    // Until the writes below are done, the directory is half old, half new: say so, so a
    // kill -9 here never lets `add`/`commit` record it as a version.
    interrupted.set(&artifact.rel, Some(pointer.oid))?;
    for path in &to_delete {
        let file = abs.join(path);
        fs::remove_file(&file).with_context(|| format!("removing `{}`", file.display()))?;
        remove_empty_parents(&abs, &file);
    }
    let written = write_files(&cache, &abs, &to_write, &repo.config.link, reporter)?;
    checked_out.set(&artifact.rel, Some(pointer.oid))?;
    interrupted.set(&artifact.rel, None)?;
    let remembered: Vec<(String, PathBuf, Oid)> =
        to_write.iter().map(|e| (index_key(&artifact.rel, Kind::Dir, &e.path), abs.join(&e.path), e.oid)).collect();
    remember(index, &remembered);
    Ok(Outcome::Updated { written, deleted: to_delete.len() as u64 })
}

/// Writes files from the cache in parallel, making parent directories (replacing a file that
/// stands where a directory must be only if it was already scheduled for deletion above).
/// Files and bytes written are reported as the `checkout` phase.
fn write_files(
    cache: &Cache,
    dir: &Path,
    entries: &[&crate::manifest::Entry],
    modes: &[crate::cache::LinkMode],
    reporter: &dyn Reporter,
) -> Result<u64> {
    use rayon::prelude::*;
    reporter.start("checkout", entries.len() as u64, entries.iter().map(|e| e.size).sum());
    let written = entries.par_iter().try_for_each(|e| -> Result<()> {
        let dest = dir.join(&e.path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating `{}`", parent.display()))?;
        }
        if fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir()) {
            // Whatever mvc wrote under it was deleted above; what is left is not mvc's.
            fs::remove_dir(&dest).map_err(|_| not_ours(&dest))?;
        }
        cache.link_out(&e.oid, &dest, e.exec, modes)?;
        reporter.advance(1, e.size);
        Ok(())
    });
    reporter.finish();
    written?;
    Ok(entries.len() as u64)
}

fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Records files we just wrote in the stat index. The clock is read after the writes, so
/// they are clean unless modified in the same filesystem tick.
fn remember(index: &StatIndex, written: &[(String, PathBuf, Oid)]) {
    let now = index.now_on_fs();
    let entries: Vec<(String, Entry)> = written
        .iter()
        .filter_map(|(key, abs, oid)| {
            let meta = fs::symlink_metadata(abs).ok()?;
            let meta = if meta.file_type().is_symlink() { fs::metadata(abs).ok()? } else { meta };
            Some((key.clone(), Entry { stamp: FileStamp::of(&meta), recorded_ns: now, oid: *oid }))
        })
        .collect();
    index.record(&entries);
}
