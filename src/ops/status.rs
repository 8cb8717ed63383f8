//! `mvc status`: compare each artifact in the workspace with its pointer and the cache,
//! reading only files whose metadata changed since they were last hashed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::hash::Oid;
use crate::ops::{Artifact, index_key, load_manifest, select};
use crate::pointer::{Kind, Pointer};
use crate::progress::Reporter;
use crate::repo::Repo;
use crate::state::StatIndex;
use crate::workspace;

/// What to inspect.
pub struct StatusOptions {
    /// Targets as typed; empty for every artifact.
    pub targets: Vec<PathBuf>,
    /// Directory the targets are relative to.
    pub cwd: PathBuf,
}

/// The workspace copy compared with the pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workspace {
    /// Same content as the pointer names.
    Unchanged,
    /// Different content.
    Modified,
    /// Not in the workspace.
    Missing,
}

/// File-level changes inside a directory artifact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirChanges {
    /// Files present in the workspace but not in the manifest.
    pub added: Vec<String>,
    /// Files whose content differs.
    pub modified: Vec<String>,
    /// Files in the manifest but not in the workspace.
    pub deleted: Vec<String>,
    /// Files left out on purpose by a partial pull (not counted as deleted).
    pub not_pulled: Vec<String>,
}

impl DirChanges {
    /// Whether the workspace differs from the manifest (files not pulled do not count).
    pub fn differs(&self) -> bool {
        !(self.added.is_empty() && self.modified.is_empty() && self.deleted.is_empty())
    }
}

/// One artifact's status.
#[derive(Debug, Clone)]
pub struct ArtifactStatus {
    /// Repo-relative artifact path.
    pub path: String,
    /// File or directory.
    pub kind: Kind,
    /// The pointer's oid.
    pub oid: Oid,
    /// Workspace compared with the pointer.
    pub workspace: Workspace,
    /// Whether the cache holds the pointer's object (for a directory: its manifest and every file).
    pub in_cache: bool,
    /// For directories whose manifest is cached: what changed inside.
    pub changes: Option<DirChanges>,
    /// When modified: what the workspace holds now (what `commit` would record).
    pub current: Option<Current>,
    /// Recorded deps that are no longer the dep's current version.
    pub stale_deps: Vec<StaleDep>,
}

/// A dep recorded in an artifact's pointer whose own pointer now names other content: the
/// artifact was made from an older version of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleDep {
    /// The dep's repo-relative path.
    pub path: String,
    /// The oid the artifact's pointer recorded for it.
    pub recorded: String,
    /// The oid the dep's pointer names now.
    pub current: Oid,
}

/// A modified artifact's content as it is in the workspace now.
#[derive(Debug, Clone)]
pub struct Current {
    /// Its oid (for a directory: of the manifest it would get).
    pub oid: Oid,
    /// Bytes.
    pub size: u64,
    /// For a directory: its manifest (not stored anywhere).
    pub manifest: Option<crate::manifest::Manifest>,
}

impl Current {
    /// `pointer` as it would read after `commit`: same metadata, the workspace's content.
    pub fn applied_to(&self, pointer: &Pointer) -> Pointer {
        let mut p = pointer.clone();
        p.oid = self.oid;
        p.size = self.size;
        p.nfiles = self.manifest.as_ref().map(|m| m.entries.len() as u64);
        p
    }
}

impl ArtifactStatus {
    /// The workspace and cache agree with the pointer (stale deps are reported, not counted).
    pub fn is_clean(&self) -> bool {
        self.workspace == Workspace::Unchanged && self.in_cache
    }
}

/// Status of every selected artifact, and how many files had to be read.
pub struct StatusReport {
    /// Per artifact, sorted by path.
    pub artifacts: Vec<ArtifactStatus>,
    /// Files read because the stat index could not vouch for them.
    pub hashed: u64,
}

/// Runs `mvc status`.
pub fn status(repo: &Repo, opts: &StatusOptions, reporter: &dyn Reporter) -> Result<StatusReport> {
    let index = repo.stat_index();
    let mut artifacts = Vec::new();
    let mut hashed = 0;
    let mut dep_pointers: BTreeMap<String, Option<Oid>> = BTreeMap::new();
    for (artifact, pointer) in crate::ops::load_pointers(repo, select(repo, &opts.cwd, &opts.targets)?) {
        let (mut status, n) = artifact_status(repo, index, &artifact, &pointer, reporter)?;
        hashed += n;
        for (dep, recorded) in crate::meta::deps(&pointer) {
            // A dep that is not tracked (any more) has no current version to compare with.
            let current = *dep_pointers.entry(dep.clone()).or_insert_with(|| {
                crate::ops::Artifact::checked(&dep).ok().and_then(|a| a.load_pointer(repo).ok()).map(|p| p.oid)
            });
            if let Some(current) = current.filter(|c| c.to_hex() != recorded) {
                status.stale_deps.push(StaleDep { path: dep, recorded, current });
            }
        }
        artifacts.push(status);
    }
    Ok(StatusReport { artifacts, hashed })
}

/// Compares one artifact with its pointer; returns its status and the number of files read.
pub(crate) fn artifact_status(
    repo: &Repo,
    index: &StatIndex,
    artifact: &Artifact,
    pointer: &Pointer,
    reporter: &dyn Reporter,
) -> Result<(ArtifactStatus, u64)> {
    let cache = repo.cache();
    let abs = repo.abs(&artifact.rel);
    let present = std::fs::symlink_metadata(&abs).ok();
    let mut status = ArtifactStatus {
        path: artifact.rel.clone(),
        kind: pointer.kind,
        oid: pointer.oid,
        workspace: Workspace::Missing,
        in_cache: cache.contains(&pointer.oid),
        changes: None,
        current: None,
        stale_deps: Vec::new(),
    };
    let Some(meta) = present else { return Ok((status, 0)) };
    match pointer.kind {
        Kind::File => {
            if !meta.is_file() {
                status.workspace = Workspace::Modified;
                return Ok((status, 0));
            }
            let found = workspace::found_file(&abs, &pointer.path, repo.cache().root())?;
            let key = |_: &workspace::Found| artifact.rel.clone();
            let resolved = workspace::resolve(vec![found], &key, index, None, reporter)?;
            let file = &resolved.files[0];
            if file.oid == pointer.oid {
                status.workspace = Workspace::Unchanged;
            } else {
                status.workspace = Workspace::Modified;
                status.current = Some(Current { oid: file.oid, size: file.size, manifest: None });
            }
            Ok((status, resolved.hashed))
        }
        Kind::Dir => {
            if !meta.is_dir() {
                status.workspace = Workspace::Modified;
                return Ok((status, 0));
            }
            // Comparing only reads: symlinks are followed here, and refused (unless asked) only
            // when `add`/`commit` would store them.
            let ignore = crate::mvcignore::MvcIgnore::new(&repo.root);
            let found = workspace::walk_dir(&abs, &artifact.rel, &crate::ops::walk_rules(repo, &ignore, true))?;
            let key = |f: &workspace::Found| index_key(&artifact.rel, Kind::Dir, &f.path);
            let resolved = workspace::resolve(found, &key, index, None, reporter)?;
            let current: BTreeMap<&str, (Oid, bool)> =
                resolved.files.iter().map(|f| (f.path.as_str(), (f.oid, f.exec))).collect();
            let mut entries: Vec<crate::manifest::Entry> = resolved
                .files
                .iter()
                .map(|f| crate::manifest::Entry { path: f.path.clone(), oid: f.oid, size: f.size, exec: f.exec })
                .collect();
            if status.in_cache {
                let manifest = load_manifest(repo, pointer, &artifact.pointer_rel)?;
                let mut changes = DirChanges::default();
                let recorded: BTreeMap<&str, (Oid, bool)> =
                    manifest.entries.iter().map(|e| (e.path.as_str(), (e.oid, e.exec))).collect();
                for (path, oid) in &current {
                    match recorded.get(path) {
                        None => changes.added.push(path.to_string()),
                        Some(r) if r != oid => changes.modified.push(path.to_string()),
                        Some(_) => {}
                    }
                }
                let partial = crate::partial::Partial::load(&repo.state_dir())?.get(&artifact.rel) == Some(pointer.oid);
                for path in recorded.keys() {
                    if !current.contains_key(path) {
                        let list = if partial { &mut changes.not_pulled } else { &mut changes.deleted };
                        list.push(path.to_string());
                    }
                }
                // Files left out by a partial pull are not expected in the cache either.
                let not_pulled: std::collections::HashSet<&str> =
                    changes.not_pulled.iter().map(String::as_str).collect();
                status.in_cache = manifest
                    .entries
                    .iter()
                    .filter(|e| !not_pulled.contains(e.path.as_str()))
                    .all(|e| cache.contains(&e.oid));
                status.workspace = if changes.differs() { Workspace::Modified } else { Workspace::Unchanged };
                // What commit would record: files left out by a partial pull are carried over.
                entries.extend(manifest.entries.iter().filter(|e| not_pulled.contains(e.path.as_str())).cloned());
                status.changes = Some(changes);
            } else {
                // Without the manifest, compare the whole directory by its oid.
                let oid = crate::manifest::Manifest::new(entries.clone())?.oid();
                status.workspace = if oid == pointer.oid { Workspace::Unchanged } else { Workspace::Modified };
            }
            if status.workspace == Workspace::Modified {
                let manifest = crate::manifest::Manifest::new(entries)
                    .with_context(|| format!("cannot describe `{}`", artifact.rel))?;
                status.current =
                    Some(Current { oid: manifest.oid(), size: manifest.total_size(), manifest: Some(manifest) });
            }
            Ok((status, resolved.hashed))
        }
    }
}
