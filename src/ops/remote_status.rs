//! `mvc status --remote`: for each artifact, whether its data is on a remote and whether it
//! is in the local cache, so a user knows what `push` or `pull` would do.

use std::path::PathBuf;

use anyhow::Result;

use crate::hash::Oid;
use crate::ops::load_manifest;
use crate::ops::transfer::gather;
use crate::pointer::Kind;
use crate::remote::{backend, transfer};
use crate::repo::Repo;
use crate::revs::RevSelection;

/// What to compare and with which remote.
pub struct RemoteStatusOptions {
    /// Targets as typed; empty for every artifact.
    pub targets: Vec<PathBuf>,
    /// Directory the targets are relative to.
    pub cwd: PathBuf,
    /// Remote name; default remote when None.
    pub remote: Option<String>,
    /// Concurrency override.
    pub jobs: Option<usize>,
}

/// One artifact compared with the remote.
#[derive(Debug, Clone)]
pub struct RemoteArtifact {
    /// Repo-relative artifact path.
    pub path: String,
    /// File or directory.
    pub kind: Kind,
    /// The pointer's oid.
    pub oid: Oid,
    /// Every object of this version is in the local cache.
    pub in_cache: bool,
    /// This version is complete on the remote (for a directory: its manifest is there, which
    /// push uploads only after every file it lists).
    pub on_remote: bool,
}

/// What `status --remote` found.
pub struct RemoteStatusReport {
    /// The remote's name.
    pub remote: String,
    /// One entry per artifact, in path order.
    pub artifacts: Vec<RemoteArtifact>,
    /// Existence requests sent (0 when the known-present set answered everything).
    pub checks: u64,
}

/// Compares the workspace's pointers with the cache and a remote.
pub fn remote_status(
    repo: &Repo,
    opts: &RemoteStatusOptions,
    rt: &tokio::runtime::Runtime,
) -> Result<RemoteStatusReport> {
    let rc = backend::choose(repo, opts.remote.as_deref())?;
    let remote = backend::open(repo, &rc, opts.jobs)?;
    let targets = gather(repo, &opts.cwd, &opts.targets, &RevSelection::default())?;
    let cache = repo.cache();
    let oids: Vec<Oid> = targets.iter().map(|t| t.pointer.oid).collect();
    let (present, stats) = rt.block_on(transfer::present_on_remote(&remote, repo.stat_index(), &oids))?;
    let mut artifacts = Vec::new();
    for t in &targets {
        let in_cache = match t.pointer.kind {
            Kind::File => cache.contains(&t.pointer.oid),
            Kind::Dir => {
                cache.contains(&t.pointer.oid)
                    && load_manifest(repo, &t.pointer, &t.artifact.pointer_rel)?
                        .entries
                        .iter()
                        .all(|e| cache.contains(&e.oid))
            }
        };
        artifacts.push(RemoteArtifact {
            path: t.artifact.rel.clone(),
            kind: t.pointer.kind,
            oid: t.pointer.oid,
            in_cache,
            on_remote: present.contains(&t.pointer.oid),
        });
    }
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    artifacts.dedup_by(|a, b| a.path == b.path);
    Ok(RemoteStatusReport { remote: remote.name, artifacts, checks: stats.checks })
}
