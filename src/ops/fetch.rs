//! `mvc fetch` (remote to cache) and `mvc pull` (fetch, then checkout). A path inside a
//! tracked directory fetches and checks out only that part of it.

use std::path::PathBuf;

use anyhow::Result;

use crate::ops::checkout::{CheckedOut, Outcome, checkout_one};
use crate::ops::transfer::{Target, gather};
use crate::pointer::Kind;
use crate::progress::Reporter;
use crate::remote::{backend, transfer};
use crate::repo::Repo;
use crate::revs::RevSelection;

/// What to fetch and from where.
pub struct FetchOptions {
    /// Artifacts (or paths inside a tracked directory) as typed; empty for all.
    pub targets: Vec<PathBuf>,
    /// Directory the targets are relative to.
    pub cwd: PathBuf,
    /// Remote name; default remote when None.
    pub remote: Option<String>,
    /// Concurrency override.
    pub jobs: Option<usize>,
    /// Revisions instead of the workspace.
    pub revs: RevSelection,
    /// For pull: overwrite workspace data that is not in the cache.
    pub force: bool,
}

/// What `fetch` / `pull` did.
pub struct FetchReport {
    /// The remote's name.
    pub remote: String,
    /// Transfer counts.
    pub stats: transfer::TransferStats,
    /// For pull: per-artifact checkout results.
    pub checkout: Vec<CheckedOut>,
}

/// Runs `mvc fetch`.
pub fn fetch(
    repo: &Repo,
    opts: &FetchOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<FetchReport> {
    let _lock = repo.lock("fetch")?;
    let (remote, stats, _) = fetch_targets(repo, opts, rt, reporter)?;
    Ok(FetchReport { remote, stats, checkout: Vec::new() })
}

/// Runs `mvc pull`: fetch, then check out what was fetched.
pub fn pull(
    repo: &Repo,
    opts: &FetchOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<FetchReport> {
    let _lock = repo.lock("pull")?;
    let (remote, stats, targets) = fetch_targets(repo, opts, rt, reporter)?;
    let index = repo.stat_index();
    let mut checkout = Vec::new();
    // Only workspace pointers are checked out; objects of other revisions are just fetched.
    for t in targets.iter().filter(|_| opts.revs.is_empty()) {
        let outcome = match checkout_one(repo, index, &t.artifact, t.subpath.as_deref(), opts.force, reporter) {
            Ok(o) => o,
            Err(e) => Outcome::Failed { message: format!("{e:#}"), hint: crate::error::hint_of(&e) },
        };
        checkout.push(CheckedOut { path: t.artifact.rel.clone(), outcome });
    }
    Ok(FetchReport { remote, stats, checkout })
}

/// `mvc pull REF`: puts a registered version's pointer and content in the workspace (like
/// `checkout --rev`), fetching what the cache lacks.
pub fn pull_version(
    repo: &Repo,
    reference: &crate::registry::RegistryRef,
    opts: &FetchOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<FetchReport> {
    let (commit, path) = crate::ops::registry::locate(repo, reference)?;
    let at = RevSelection { revs: vec![commit.to_string()], ..Default::default() };
    let fetch_opts = FetchOptions {
        targets: vec![repo.abs(&path)],
        cwd: repo.root.clone(),
        remote: opts.remote.clone(),
        jobs: opts.jobs,
        revs: at,
        force: opts.force,
    };
    let report = fetch(repo, &fetch_opts, rt, reporter)?;
    let restore = crate::ops::restore::RestoreOptions {
        rev: commit.to_string(),
        targets: vec![repo.abs(&path)],
        cwd: repo.root.clone(),
        force: opts.force,
    };
    let checkout = crate::ops::restore::restore(repo, &restore, reporter)?.artifacts;
    Ok(FetchReport { checkout, ..report })
}

fn fetch_targets(
    repo: &Repo,
    opts: &FetchOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<(String, transfer::TransferStats, Vec<Target>)> {
    let rc = backend::choose(repo, opts.remote.as_deref())?;
    let remote = backend::open(repo, &rc, opts.jobs)?;
    let targets = gather(repo, &opts.cwd, &opts.targets, &opts.revs)?;
    let cache = repo.cache();
    let stats = rt.block_on(async {
        let manifests: Vec<_> = targets.iter().filter(|t| t.pointer.kind == Kind::Dir).map(|t| t.pointer.oid).collect();
        let (manifests, manifest_stats) = transfer::fetch_manifests(&remote, &cache, &manifests, reporter).await?;
        let mut objects = Vec::new();
        for t in &targets {
            match t.pointer.kind {
                Kind::File => objects.push(transfer::Object { oid: t.pointer.oid, size: Some(t.pointer.size) }),
                Kind::Dir => {
                    let manifest = &manifests[&t.pointer.oid];
                    let prefix = t.subpath.as_ref().map(|s| format!("{s}/"));
                    for e in &manifest.entries {
                        let inside = match (&t.subpath, &prefix) {
                            (Some(s), Some(p)) => e.path == *s || e.path.starts_with(p.as_str()),
                            _ => true,
                        };
                        if inside {
                            objects.push(transfer::Object { oid: e.oid, size: Some(e.size) });
                        }
                    }
                }
            }
        }
        let stats = transfer::fetch(&remote, &cache, &objects, reporter).await?;
        anyhow::Ok(stats.plus(&manifest_stats))
    });
    // What turned out missing or corrupt there is no longer believed present.
    remote.forget_lost(repo.stat_index());
    let stats = stats?;
    Ok((remote.name, stats, targets))
}
