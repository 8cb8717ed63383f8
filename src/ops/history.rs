//! Reading artifact history from git objects: `mvc diff` (two versions of the project's
//! pointers), `mvc log` (the commits that changed one pointer) and `mvc ls` (the artifacts at
//! a revision). Nothing is checked out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::hash::Oid;
use crate::manifest::Manifest;
use crate::ops::{Artifact, tracked};
use crate::pointer::{Kind, Pointer};
use crate::repo::Repo;
use crate::revs;

/// One side of a comparison: a revision, or the pointers in the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// A git revision as the user typed it.
    Rev(String),
    /// The pointer files in the work tree.
    Workspace,
}

impl Side {
    /// How the side is shown: the revision, or `workspace`.
    pub fn label(&self) -> &str {
        match self {
            Side::Rev(r) => r,
            Side::Workspace => "workspace",
        }
    }
}

/// Every artifact's pointer on one side, keyed by artifact path.
pub fn pointers(repo: &Repo, side: &Side) -> Result<BTreeMap<String, Pointer>> {
    match side {
        Side::Rev(rev) => revs::artifacts_at(&repo.git, &repo.scope, revs::resolve(&repo.git, rev)?),
        Side::Workspace => {
            // An unreadable pointer is reported (exit 1) and the rest still compared.
            Ok(crate::ops::load_pointers(repo, tracked(repo)?).into_iter().map(|(a, p)| (a.rel, p)).collect())
        }
    }
}

/// A side as it is now, for comparisons: a revision's pointers; for the workspace, its
/// pointers with the data the workspace holds now (as `dvc diff` does: a modified artifact
/// shows its uncommitted content; data missing from the workspace is not a change). The stat
/// index keeps this cheap: only files whose metadata changed are read. Also returns the
/// manifests of modified directories, which are in no cache.
pub fn pointers_now(
    repo: &Repo,
    side: &Side,
    reporter: &dyn crate::progress::Reporter,
) -> Result<(BTreeMap<String, Pointer>, HashMap<Oid, Manifest>)> {
    let mut manifests = HashMap::new();
    let Side::Workspace = side else { return Ok((pointers(repo, side)?, manifests)) };
    let index = repo.stat_index();
    let mut out = BTreeMap::new();
    for (artifact, pointer) in crate::ops::load_pointers(repo, tracked(repo)?) {
        let (status, _) = crate::ops::status::artifact_status(repo, index, &artifact, &pointer, reporter)?;
        let pointer = match status.current {
            Some(current) => {
                let now = current.applied_to(&pointer);
                if let Some(m) = current.manifest {
                    manifests.insert(now.oid, m);
                }
                now
            }
            None => pointer,
        };
        out.insert(artifact.rel, pointer);
    }
    Ok((out, manifests))
}

/// Whether `path` is one of `filters` or under one (all paths when there are none).
fn selected(path: &str, filters: &[String]) -> bool {
    filters.is_empty() || filters.iter().any(|f| f.is_empty() || path == f || path.starts_with(&format!("{f}/")))
}

/// How an artifact changed between two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Only on the new side.
    Added,
    /// On both, with different content.
    Modified,
    /// Only on the old side.
    Deleted,
}

impl Change {
    /// `added`, `modified`, `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Modified => "modified",
            Change::Deleted => "deleted",
        }
    }
}

/// File-level changes inside a directory artifact (`--granular`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileChanges {
    /// Files only in the new version.
    pub added: Vec<String>,
    /// Files in both with different content.
    pub modified: Vec<String>,
    /// Files only in the old version.
    pub deleted: Vec<String>,
}

/// One changed artifact.
#[derive(Debug, Clone)]
pub struct DiffEntry {
    /// Repo-relative artifact path.
    pub path: String,
    /// What happened to it.
    pub change: Change,
    /// The old side's pointer.
    pub old: Option<Pointer>,
    /// The new side's pointer.
    pub new: Option<Pointer>,
    /// With `--granular`, for directories: which files changed.
    pub files: Option<FileChanges>,
}

/// Compares the artifacts of two sides; `filters` are repo-relative paths (empty for all).
/// The workspace side is its data as it is now ([`pointers_now`]). With `granular`,
/// directory changes are broken down by file, from manifests in the cache or, when missing
/// there, fetched from the default remote through `rt`.
pub fn diff(
    repo: &Repo,
    old: &Side,
    new: &Side,
    filters: &[String],
    granular: Option<&tokio::runtime::Runtime>,
    reporter: &dyn crate::progress::Reporter,
) -> Result<Vec<DiffEntry>> {
    let (a, mut manifests) = pointers_now(repo, old, reporter)?;
    let (b, more) = pointers_now(repo, new, reporter)?;
    manifests.extend(more);
    if let Some(rt) = granular {
        fetch_missing_manifests(repo, a.values().chain(b.values()), &manifests, rt)?;
    }
    let granular = granular.is_some();
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).filter(|p| selected(p, filters)).collect();
    let mut out = Vec::new();
    for path in paths {
        let (old_p, new_p) = (a.get(path), b.get(path));
        let change = match (old_p, new_p) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Deleted,
            (Some(x), Some(y)) if x.oid != y.oid || x.kind != y.kind => Change::Modified,
            _ => continue,
        };
        let files = match (granular, old_p, new_p) {
            (true, Some(x), Some(y)) if x.kind == Kind::Dir && y.kind == Kind::Dir => {
                let of = |p: &Pointer| match manifests.get(&p.oid) {
                    Some(m) => Ok(m.clone()),
                    None => manifest_of(repo, path, p),
                };
                Some(file_changes(&of(x)?, &of(y)?))
            }
            _ => None,
        };
        out.push(DiffEntry { path: path.clone(), change, old: old_p.cloned(), new: new_p.cloned(), files });
    }
    Ok(out)
}

/// Fetches directory manifests the cache lacks from the default remote, if one is set.
fn fetch_missing_manifests<'a>(
    repo: &Repo,
    pointers: impl Iterator<Item = &'a Pointer>,
    known: &HashMap<Oid, Manifest>,
    rt: &tokio::runtime::Runtime,
) -> Result<()> {
    let cache = repo.cache();
    let missing: BTreeSet<Oid> = pointers
        .filter(|p| p.kind == Kind::Dir && !cache.contains(&p.oid) && !known.contains_key(&p.oid))
        .map(|p| p.oid)
        .collect();
    let Ok(rc) = crate::remote::backend::choose(repo, None) else { return Ok(()) };
    if missing.is_empty() {
        return Ok(());
    }
    let remote = crate::remote::backend::open(repo, &rc, None)?;
    let oids: Vec<Oid> = missing.into_iter().collect();
    rt.block_on(crate::remote::transfer::fetch_manifests(&remote, &cache, &oids, &crate::progress::Silent))?;
    Ok(())
}

fn manifest_of(repo: &Repo, path: &str, pointer: &Pointer) -> Result<Manifest> {
    if !repo.cache().contains(&pointer.oid) {
        anyhow::bail!(crate::error::hinted(
            format!("the manifest {} of `{path}` is not in the cache", pointer.oid.short()),
            format!(
                "set a default remote, or `mvc fetch {} --rev REV`, or leave out `--granular`",
                crate::text::shell_quote(path)
            ),
        ));
    }
    crate::ops::load_manifest(repo, pointer, &Artifact::from_rel(path).pointer_rel)
}

fn file_changes(old: &Manifest, new: &Manifest) -> FileChanges {
    let a: HashMap<&str, Oid> = old.entries.iter().map(|e| (e.path.as_str(), e.oid)).collect();
    let b: HashMap<&str, Oid> = new.entries.iter().map(|e| (e.path.as_str(), e.oid)).collect();
    let mut changes = FileChanges::default();
    for e in &new.entries {
        match a.get(e.path.as_str()) {
            None => changes.added.push(e.path.clone()),
            Some(oid) if *oid != e.oid => changes.modified.push(e.path.clone()),
            Some(_) => {}
        }
    }
    changes.deleted = old.entries.iter().filter(|e| !b.contains_key(e.path.as_str())).map(|e| e.path.clone()).collect();
    changes
}

/// One commit that changed an artifact's pointer.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Full commit id.
    pub commit: String,
    /// Commit time, seconds since the epoch.
    pub time: i64,
    /// Author name.
    pub author: String,
    /// The commit message's first line.
    pub summary: String,
    /// The pointer at that commit; None where the commit deleted it.
    pub pointer: Option<Pointer>,
    /// Tags pointing at the commit (registry versions among them).
    pub tags: Vec<String>,
}

/// Every commit reachable from HEAD that changed the pointer of `artifact`, newest first.
pub fn log(repo: &Repo, artifact: &Artifact) -> Result<Vec<LogEntry>> {
    let git = &repo.git;
    let tags = tags_by_commit(git)?;
    let mut walk = git.revwalk().context("walking git history")?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
    if walk.push_head().is_err() {
        return Ok(Vec::new());
    }
    let pointer_path = std::path::Path::new(&artifact.pointer_rel);
    let git_pointer = repo.git_path(&artifact.pointer_rel);
    let blob_at = |commit: &git2::Commit| {
        commit.tree().ok().and_then(|t| t.get_path(std::path::Path::new(&git_pointer)).ok()).map(|e| e.id())
    };
    let mut out = Vec::new();
    for id in walk {
        let commit = git.find_commit(id.context("walking git history")?)?;
        let mine = blob_at(&commit);
        let parent = commit.parent(0).ok().and_then(|p| blob_at(&p));
        if mine == parent {
            continue;
        }
        let pointer = match mine {
            Some(blob) => {
                let blob = git.find_blob(blob)?;
                let text = std::str::from_utf8(blob.content())
                    .with_context(|| format!("`{}` at {} is not UTF-8", artifact.pointer_rel, short(id_of(&commit))))?;
                Some(
                    Pointer::parse(pointer_path, text)
                        .with_context(|| format!("at commit {}", short(id_of(&commit))))?,
                )
            }
            None => None,
        };
        out.push(LogEntry {
            commit: commit.id().to_string(),
            time: commit.time().seconds(),
            author: crate::text::sanitize(commit.author().name().unwrap_or("?")),
            summary: crate::text::sanitize(commit.summary().ok().flatten().unwrap_or("")),
            pointer,
            tags: tags.get(&commit.id()).cloned().unwrap_or_default(),
        });
    }
    Ok(out)
}

fn id_of(commit: &git2::Commit) -> String {
    commit.id().to_string()
}

fn short(id: String) -> String {
    id[..12].to_string()
}

/// Tag names by the commit they point at.
pub fn tags_by_commit(git: &git2::Repository) -> Result<HashMap<git2::Oid, Vec<String>>> {
    let mut out: HashMap<git2::Oid, Vec<String>> = HashMap::new();
    for reference in git.references_glob("refs/tags/*").context("listing tags")?.flatten() {
        let (Ok(name), Ok(commit)) = (reference.shorthand(), reference.peel_to_commit()) else { continue };
        out.entry(commit.id()).or_default().push(crate::text::sanitize(name));
    }
    for names in out.values_mut() {
        names.sort();
    }
    Ok(out)
}

/// One artifact in a listing.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Repo-relative path.
    pub path: String,
    /// Its pointer.
    pub pointer: Pointer,
    /// Every object of this version is in the local cache.
    pub in_cache: bool,
}

/// The artifacts on one side, with whether their content is in the cache.
pub fn ls(repo: &Repo, side: &Side, filters: &[String]) -> Result<Vec<Listed>> {
    let cache = repo.cache();
    let mut out = Vec::new();
    for (path, pointer) in pointers(repo, side)? {
        if !selected(&path, filters) {
            continue;
        }
        let in_cache = match pointer.kind {
            Kind::File => cache.contains(&pointer.oid),
            Kind::Dir => {
                cache.contains(&pointer.oid)
                    && manifest_of(repo, &path, &pointer)?.entries.iter().all(|e| cache.contains(&e.oid))
            }
        };
        out.push(Listed { path, pointer, in_cache });
    }
    Ok(out)
}

/// Resolves user paths (relative to `cwd`) to repo-relative artifact filters.
pub fn filters(repo: &Repo, cwd: &std::path::Path, paths: &[PathBuf]) -> Result<Vec<String>> {
    paths
        .iter()
        .map(|p| {
            let rel = repo.relative(cwd, p)?;
            Ok(rel.strip_suffix(crate::pointer::SUFFIX).map(str::to_string).unwrap_or(rel))
        })
        .collect()
}
