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
    let fetched = fetch_targets(repo, opts, rt, reporter)?;
    if let Some(e) = fetched.failed {
        return Err(e);
    }
    Ok(FetchReport { remote: fetched.remote, stats: fetched.stats, checkout: Vec::new() })
}

/// Runs `mvc pull`: fetch, then check out what was fetched.
pub fn pull(
    repo: &Repo,
    opts: &FetchOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<FetchReport> {
    let _lock = repo.lock("pull")?;
    let Fetched { remote, stats, targets, failed } = fetch_targets(repo, opts, rt, reporter)?;
    // Objects that could not be downloaded fail their artifacts' checkout below (not in the
    // cache); everything else is still checked out.
    if let Some(e) = &failed {
        crate::notices::problem_from(e);
    }
    let index = repo.stat_index();
    let mut checkout = Vec::new();
    // Only workspace pointers are checked out; objects of other revisions are just fetched.
    for t in targets.iter().filter(|_| opts.revs.is_empty()) {
        if failed.is_some() && !fetched_whole(repo, t) {
            let message = format!("`{}` was not checked out: its data could not be downloaded", t.artifact.rel);
            checkout
                .push(CheckedOut { path: t.artifact.rel.clone(), outcome: Outcome::Failed { message, hint: None } });
            continue;
        }
        let outcome = match checkout_one(repo, index, &t.artifact, t.subpath.as_deref(), opts.force, reporter) {
            Ok(o) => o,
            Err(e) => Outcome::Failed { message: format!("{e:#}"), hint: crate::error::hint_of(&e) },
        };
        checkout.push(CheckedOut { path: t.artifact.rel.clone(), outcome });
    }
    Ok(FetchReport { remote, stats, checkout })
}

/// Whether every object `t` needs (within its sub-path) is in the cache.
fn fetched_whole(repo: &Repo, t: &Target) -> bool {
    let cache = repo.cache();
    if t.pointer.kind == Kind::File {
        return cache.contains(&t.pointer.oid);
    }
    let Ok(manifest) = crate::ops::load_manifest(repo, &t.pointer, &t.artifact.pointer_rel) else { return false };
    let inside = |p: &str| t.subpath.as_deref().is_none_or(|s| p == s || p.starts_with(&format!("{s}/")));
    manifest.entries.iter().filter(|e| inside(&e.path)).all(|e| cache.contains(&e.oid))
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

/// What a fetch did: the remote, counts, the targets, and what failed without stopping
/// the rest (objects that could not be downloaded), for `pull` to report after checking out
/// everything else.
struct Fetched {
    remote: String,
    stats: transfer::TransferStats,
    targets: Vec<Target>,
    failed: Option<anyhow::Error>,
}

fn fetch_targets(
    repo: &Repo,
    opts: &FetchOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
    let rc = backend::choose(repo, opts.remote.as_deref())?;
    let remote = backend::open(repo, &rc, opts.jobs)?;
    let mut targets = gather(repo, &opts.cwd, &opts.targets, &opts.revs)?;
    let cache = repo.cache();
    let result = rt.block_on(async {
        // A remote that is not there, or not an mvc remote, stops everything at once.
        remote.check_layout(false).await?;
        // Manifests first; one that cannot be had (missing, corrupt, invalid) is that
        // directory's problem, named with it, and the others go on.
        let manifests: Vec<_> = targets.iter().filter(|t| t.pointer.kind == Kind::Dir).map(|t| t.pointer.oid).collect();
        let manifest_result = transfer::fetch_directories(&remote, &cache, &manifests, reporter).await;
        if let Some(stop) = remote.stop.error() {
            return Err(stop);
        }
        let mut failed = manifest_result.as_ref().err().map(|e| anyhow::anyhow!("{e:#}"));
        let mut stats = manifest_result.unwrap_or_default();
        let mut objects = Vec::new();
        let mut usable = Vec::new();
        for t in std::mem::take(&mut targets) {
            match t.pointer.kind {
                Kind::File => objects.push(transfer::Object { oid: t.pointer.oid, size: Some(t.pointer.size) }),
                Kind::Dir => {
                    let manifest = match crate::ops::load_manifest(repo, &t.pointer, &t.artifact.pointer_rel) {
                        Ok(m) => m,
                        Err(e) => {
                            crate::notices::problem(format!(
                                "`{}`: its manifest {} from remote `{}` could not be used: {e:#}",
                                t.artifact.rel,
                                t.pointer.oid.short(),
                                remote.name
                            ));
                            continue;
                        }
                    };
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
            usable.push(t);
        }
        targets = usable;
        // Reuse only saves bytes: when the sources cannot be worked out, everything is downloaded.
        let sources = reuse_sources(repo, &remote, &targets).unwrap_or_else(|e| {
            crate::notices::warn(format!("pulling without reusing cached versions: {e:#}"));
            Vec::new()
        });
        match transfer::fetch_reusing(&remote, &cache, &objects, &sources, reporter).await {
            Ok(s) => stats = stats.plus(&s),
            Err(e) => failed = Some(e),
        }
        if let Some(stop) = remote.stop.error() {
            return Err(stop);
        }
        anyhow::Ok((stats, failed))
    });
    // What turned out missing or corrupt there is no longer believed present.
    remote.forget_lost(repo.stat_index());
    let (stats, failed) = result?;
    Ok(Fetched { remote: remote.name, stats, targets, failed })
}

/// On a chunked remote, the cache objects a fetch of `targets` can copy chunks from (other
/// versions of the same artifacts, `dedup::local_sources`), looked for only when some target
/// lacks data; none on a loose remote.
fn reuse_sources(repo: &Repo, remote: &crate::remote::Remote, targets: &[Target]) -> Result<Vec<crate::hash::Oid>> {
    if !matches!(remote.layout(), crate::remote::Layout::Chunked(_)) {
        return Ok(Vec::new());
    }
    let lacking: Vec<&Target> = targets.iter().filter(|t| !fetched_whole(repo, t)).collect();
    if lacking.is_empty() {
        return Ok(Vec::new());
    }
    crate::ops::dedup::local_sources(repo, &lacking)
}
