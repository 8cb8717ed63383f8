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
            set.history = earlier_versions(repo, &targets)?;
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

/// Versions of an artifact `history` looks back at by default (`core.dedup_depth`).
pub const DEFAULT_DEDUP_DEPTH: usize = 8;

/// For each target's object, the other objects its artifact's pointer named in git history
/// (newest first, at most `core.dedup_depth`).
fn earlier_versions(
    repo: &Repo,
    targets: &[crate::ops::transfer::Target],
) -> Result<std::collections::HashMap<crate::hash::Oid, Vec<crate::hash::Oid>>> {
    let depth = match crate::config::get_dotted(&repo.config.merged, "core.dedup_depth") {
        None => DEFAULT_DEDUP_DEPTH,
        Some(v) => match v.as_u64() {
            Some(n @ 0..=1000) => n as usize,
            _ => anyhow::bail!(
                "`core.dedup_depth` must be a number from 0 to 1000, got `{}`",
                crate::text::sanitize(&v.to_string())
            ),
        },
    };
    let mut out: std::collections::HashMap<crate::hash::Oid, Vec<crate::hash::Oid>> = Default::default();
    let mut logs: std::collections::HashMap<String, Vec<crate::hash::Oid>> = Default::default();
    for t in targets {
        if depth == 0 {
            break;
        }
        if !logs.contains_key(&t.artifact.rel) {
            let mut oids = Vec::new();
            for entry in crate::ops::history::log(repo, &t.artifact)? {
                if let Some(p) = entry.pointer
                    && !oids.contains(&p.oid)
                {
                    oids.push(p.oid);
                }
            }
            logs.insert(t.artifact.rel.clone(), oids);
        }
        let earlier: Vec<_> =
            logs[&t.artifact.rel].iter().filter(|o| **o != t.pointer.oid).take(depth).copied().collect();
        out.entry(t.pointer.oid).or_default().extend(earlier);
    }
    Ok(out)
}
