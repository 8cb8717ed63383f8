//! `mvc push`: upload the objects of the selected artifacts (workspace or revisions) to a
//! remote, files before the manifests that list them.

use std::path::PathBuf;

use anyhow::Result;

use crate::ops::load_manifest;
use crate::ops::transfer::gather;
use crate::pointer::Kind;
use crate::progress::Reporter;
use crate::remote::{backend, transfer};
use crate::repo::Repo;
use crate::revs::RevSelection;

/// What to push and where.
pub struct PushOptions {
    /// Artifacts as typed; empty for all.
    pub targets: Vec<PathBuf>,
    /// Directory the targets are relative to.
    pub cwd: PathBuf,
    /// Remote name; default remote when None.
    pub remote: Option<String>,
    /// Concurrency override.
    pub jobs: Option<usize>,
    /// Revisions instead of the workspace.
    pub revs: RevSelection,
    /// Download and hash every object in scope on the remote, and upload again what is
    /// missing or corrupt there.
    pub verify: bool,
}

/// What `push` did.
pub struct PushReport {
    /// The remote's name.
    pub remote: String,
    /// Artifact versions considered.
    pub artifacts: usize,
    /// Transfer counts.
    pub stats: transfer::TransferStats,
    /// With `verify`: what was missing or damaged on the remote and was pushed again.
    pub repaired: Vec<Repaired>,
}

/// One object `push --verify` found missing or damaged on the remote and pushed again.
pub struct Repaired {
    /// The object (on a chunked remote: a file's object or a directory's manifest, whose
    /// recipe was rewritten).
    pub oid: crate::hash::Oid,
    /// Whether it was missing (else corrupt).
    pub missing: bool,
    /// The missing or damaged pack that broke it, on a chunked remote.
    pub pack: Option<crate::hash::Oid>,
    /// The artifacts that hold it.
    pub artifacts: Vec<String>,
}

/// Runs `mvc push`.
pub fn push(
    repo: &Repo,
    opts: &PushOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<PushReport> {
    let rc = backend::choose(repo, opts.remote.as_deref())?;
    let remote = backend::open_writable(repo, &rc, opts.jobs)?;
    let targets = gather(repo, &opts.cwd, &opts.targets, &opts.revs)?;
    let cache = repo.cache();
    let mut set = transfer::PushSet::default();
    for t in &targets {
        match t.pointer.kind {
            Kind::File => set.files.push(transfer::Object { oid: t.pointer.oid, size: Some(t.pointer.size) }),
            Kind::Dir => {
                let files = if cache.contains(&t.pointer.oid) {
                    let manifest = load_manifest(repo, &t.pointer, &t.artifact.pointer_rel)?;
                    manifest.entries.iter().map(|e| transfer::Object { oid: e.oid, size: Some(e.size) }).collect()
                } else {
                    Vec::new()
                };
                set.dirs.push(transfer::DirObjects { manifest: t.pointer.oid, files });
            }
        }
    }
    // A chunked remote uploads only chunks that earlier versions' recipes do not hold.
    if !remote.read_only {
        rt.block_on(remote.check_layout(true))?;
        if let crate::remote::Layout::Chunked(_) = remote.layout() {
            set.history = crate::ops::dedup::earlier_versions(repo, &targets)?;
        }
    }
    let index = repo.stat_index();
    let mode = transfer::PushMode { verify: opts.verify };
    let (stats, damage) = rt.block_on(transfer::push_verified(&remote, &cache, index, &set, mode, reporter))?;
    let mut holders: std::collections::HashMap<crate::hash::Oid, Vec<String>> = Default::default();
    for t in &targets {
        holders.entry(t.pointer.oid).or_default().push(t.artifact.rel.clone());
    }
    for (d, t) in set.dirs.iter().zip(targets.iter().filter(|t| t.pointer.kind == Kind::Dir)) {
        for f in &d.files {
            holders.entry(f.oid).or_default().push(t.artifact.rel.clone());
        }
    }
    let repaired = damage
        .into_iter()
        .map(|d| {
            let mut artifacts = holders.get(&d.oid).cloned().unwrap_or_default();
            artifacts.sort();
            artifacts.dedup();
            Repaired { oid: d.oid, missing: d.copy == transfer::RemoteCopy::Missing, pack: d.pack, artifacts }
        })
        .collect();
    Ok(PushReport { remote: remote.name, artifacts: targets.len(), stats, repaired })
}
