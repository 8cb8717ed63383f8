//! One module per operation: each takes an `Options` struct and returns a `Report`; none
//! prints. Shared here: finding the artifacts a command applies to.

pub mod add;
pub mod checkout;
pub mod commit;
pub mod compare;
pub mod config;
pub mod fetch;
pub mod fsck;
pub mod gc;
pub mod get;
pub mod history;
pub mod init;
pub mod install;
pub mod lineage;
pub mod merge;
pub mod plots;
pub mod push;
pub mod registry;
pub mod remote;
pub mod remote_status;
pub mod remove;
pub mod rename;
pub mod restore;
pub mod status;
pub mod transfer;
pub mod unprotect;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::error::hinted;
use crate::manifest::Manifest;
use crate::pointer::{self, Pointer};
use crate::repo::Repo;

/// Largest manifest mvc reads (about 8 million files).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 30;

/// A tracked artifact: its path and its pointer's, both repo-relative.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Artifact {
    /// The artifact (`data/train`).
    pub rel: String,
    /// Its pointer (`data/train.mvc`).
    pub pointer_rel: String,
}

impl Artifact {
    /// The artifact whose pointer is at `pointer_rel`.
    pub fn from_pointer(pointer_rel: &str) -> Option<Artifact> {
        let rel = pointer_rel.strip_suffix(pointer::SUFFIX).filter(|r| !r.is_empty() && !r.ends_with('/'))?;
        Some(Artifact { rel: rel.to_string(), pointer_rel: pointer_rel.to_string() })
    }

    /// The artifact at `rel`.
    pub fn from_rel(rel: &str) -> Artifact {
        Artifact { rel: rel.to_string(), pointer_rel: format!("{rel}{}", pointer::SUFFIX) }
    }

    /// Reads and validates its pointer from the workspace.
    pub fn load_pointer(&self, repo: &Repo) -> Result<Pointer> {
        Ok(Pointer::load(&repo.abs(&self.pointer_rel))?)
    }
}

/// Every artifact whose pointer is in the git index or on disk beside a requested path.
pub fn tracked(repo: &Repo) -> Result<Vec<Artifact>> {
    let mut out: Vec<Artifact> = crate::git::indexed_pointers(&repo.git)?
        .iter()
        .filter_map(|p| Artifact::from_pointer(p))
        .filter(|a| repo.abs(&a.pointer_rel).exists())
        .collect();
    out.sort();
    Ok(out)
}

/// The artifacts named by `targets` (artifact paths, pointer paths, or directories holding
/// artifacts), or every tracked artifact when `targets` is empty. A target that names no
/// artifact is an error.
pub fn select(repo: &Repo, cwd: &Path, targets: &[PathBuf]) -> Result<Vec<Artifact>> {
    let all = tracked(repo)?;
    if targets.is_empty() {
        return Ok(all);
    }
    let mut out = Vec::new();
    for target in targets {
        let rel = repo.relative(cwd, target)?;
        let rel = rel.strip_suffix(pointer::SUFFIX).map(str::to_string).unwrap_or(rel);
        let direct = Artifact::from_rel(&rel);
        if repo.abs(&direct.pointer_rel).is_file() {
            out.push(direct);
            continue;
        }
        let prefix = if rel.is_empty() { String::new() } else { format!("{rel}/") };
        let under: Vec<Artifact> = all.iter().filter(|a| a.rel.starts_with(&prefix)).cloned().collect();
        if under.is_empty() {
            if let Some(parent) = enclosing_artifact(repo, &rel) {
                bail!(hinted(
                    format!("`{}` is inside the tracked directory `{}`", target.display(), parent.rel),
                    format!("mvc works on whole artifacts: use `{}`", parent.rel)
                ));
            }
            bail!(hinted(
                format!("`{}` is not tracked by mvc (no `{}`)", target.display(), direct.pointer_rel),
                format!("track it with `mvc add {}`", crate::text::shell_quote(&target.display().to_string()))
            ));
        }
        out.extend(under);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The tracked directory artifact that contains `rel`, if any.
pub fn enclosing_artifact(repo: &Repo, rel: &str) -> Option<Artifact> {
    let mut end = rel.len();
    while let Some(i) = rel[..end].rfind('/') {
        let candidate = Artifact::from_rel(&rel[..i]);
        if repo.abs(&candidate.pointer_rel).is_file() {
            return Some(candidate);
        }
        end = i;
    }
    None
}

/// Reads and validates a directory's manifest from the cache.
pub fn load_manifest(repo: &Repo, pointer: &Pointer, pointer_rel: &str) -> Result<Manifest> {
    let bytes = repo.cache().read_small(&pointer.oid, MAX_MANIFEST_BYTES)?;
    if crate::hash::Oid::of_bytes(&bytes) != pointer.oid {
        bail!(hinted(
            format!(
                "the cached manifest {} of `{pointer_rel}` is corrupt (its content does not match its oid)",
                pointer.oid
            ),
            "run `mvc fsck --repair`"
        ));
    }
    Manifest::parse(&bytes).with_context(|| format!("manifest {} of `{pointer_rel}`", pointer.oid))
}

/// The key under which a file inside an artifact is remembered in the stat index.
pub fn index_key(artifact_rel: &str, kind: crate::pointer::Kind, inner: &str) -> String {
    match kind {
        crate::pointer::Kind::File => artifact_rel.to_string(),
        crate::pointer::Kind::Dir => format!("{artifact_rel}/{inner}"),
    }
}
