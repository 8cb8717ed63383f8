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
    let stats = rt.block_on(transfer::push(&remote, &cache, index, &set, mode, reporter))?;
    Ok(PushReport { remote: remote.name, artifacts: targets.len(), stats })
}
