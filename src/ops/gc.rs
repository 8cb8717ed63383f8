//! `mvc gc`: delete cache (and optionally remote) objects that no pointer in an explicit
//! scope references. Never deletes the only copy: objects of the workspace's pointers always
//! stay, and a cache object is deleted only when the default remote has it, unless forced.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use anyhow::{Result, bail};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;

use crate::hash::Oid;
use crate::pointer::{Kind, Pointer};
use crate::progress::Reporter;
use crate::remote::{backend, transfer};
use crate::repo::Repo;
use crate::revs::{self, RevSelection};

/// Which versions to keep, and where to collect.
pub struct GcOptions {
    /// Keep what the workspace's pointers reference (always on; the flag alone is a scope).
    pub workspace: bool,
    /// Keep what these revisions reference (`--all-branches`, `--all-tags`, `--all-commits`).
    pub revs: RevSelection,
    /// Keep the last N versions of every artifact on the current branch.
    pub keep_last: Option<usize>,
    /// Keep the data of this many newest registered versions of each artifact (and of every
    /// stage holder, always).
    pub keep_versions: usize,
    /// Also collect on this remote (`Some("")`: the default remote).
    pub remote: Option<String>,
    /// Only report what would be deleted.
    pub dry_run: bool,
    /// Delete cache objects even when no remote confirms a copy.
    pub force: bool,
    /// Remote objects younger than this stay (a push in progress may not have committed yet).
    pub grace: Duration,
    /// On a chunked remote, also rewrite packs that are mostly dead.
    pub repack: bool,
}

/// What `gc` deleted (or would delete).
#[derive(Debug, Default)]
pub struct GcReport {
    /// Cache objects deleted, with sizes.
    pub local: Vec<(Oid, u64)>,
    /// Unreferenced cache objects kept because no remote confirms a copy.
    pub kept_unconfirmed: Vec<(Oid, u64)>,
    /// Remote objects deleted, with sizes (on a chunked remote: recipes).
    pub remote: Vec<(Oid, u64)>,
    /// Packs deleted from a chunked remote, with sizes.
    pub remote_packs: Vec<(Oid, u64)>,
    /// Packs of a chunked remote whose live chunks `--repack` moved to new packs.
    pub repacked: Vec<Oid>,
    /// The remote collected, if any.
    pub remote_name: Option<String>,
    /// Temp files left in the cache by killed processes, removed.
    pub stale_temps: usize,
}

/// Runs `mvc gc`.
pub fn gc(repo: &Repo, opts: &GcOptions, rt: &tokio::runtime::Runtime, reporter: &dyn Reporter) -> Result<GcReport> {
    if !opts.workspace && opts.revs.is_empty() && opts.keep_last.is_none() {
        bail!(crate::error::hinted(
            "gc needs a scope: what to keep",
            "use --workspace, --all-branches, --all-tags, --all-commits, --all-experiments or --keep-last N (combinable)",
        ));
    }
    let _lock = repo.lock_for("gc", crate::repo::CacheUse::Exclusive)?;
    let others = repo.other_cache_users();
    if !others.is_empty() && !opts.force {
        let shown: Vec<String> = others.iter().map(|d| format!("`{}`", d.display())).collect();
        bail!(crate::error::hinted(
            format!(
                "the cache `{}` is shared with {} other project(s) ({}); gc here would delete what they need",
                repo.cache().root().display(),
                others.len(),
                shown.join(", ")
            ),
            "run gc with `--force` only if those projects' data is pushed to a remote"
        ));
    }
    // One registry for the whole run (retention here, registry tags on the remote below).
    let registry = crate::registry_store::Registry::open(repo)?;
    let kept_pointers = referenced_pointers(repo, &registry, opts)?;
    let cache = repo.cache();
    let default_remote = backend::choose(repo, None).ok().map(|rc| backend::open(repo, &rc, None)).transpose()?;
    let collect_remote = match &opts.remote {
        None => None,
        Some(name) => {
            let name = Some(name.as_str()).filter(|n| !n.is_empty());
            Some(backend::open(repo, &backend::choose(repo, name)?, None)?)
        }
    };

    let source = collect_remote.as_ref().or(default_remote.as_ref());
    let keep = expand(repo, &kept_pointers, source, rt, reporter)?;

    let mut report = GcReport::default();
    let unreferenced: Vec<(Oid, u64)> = cache.objects()?.into_iter().filter(|(o, _)| !keep.contains(o)).collect();
    // Asked of the remote now, object by object (HEAD or LIST): the known-present set cannot
    // know what the remote lost since, and this decides whether the only copy goes.
    let confirmed: HashSet<Oid> = match (&default_remote, opts.force) {
        (_, true) => unreferenced.iter().map(|(o, _)| *o).collect(),
        (Some(remote), false) if !unreferenced.is_empty() && remote.missing_dir.is_none() => {
            let oids: Vec<Oid> = unreferenced.iter().map(|(o, _)| *o).collect();
            rt.block_on(transfer::present_on_remote(remote, repo.stat_index(), &oids))?.0
        }
        _ => HashSet::new(),
    };
    for (oid, size) in unreferenced {
        if confirmed.contains(&oid) {
            if !opts.dry_run {
                cache.remove(&oid)?;
            }
            report.local.push((oid, size));
        } else {
            report.kept_unconfirmed.push((oid, size));
        }
    }

    if !opts.dry_run {
        report.stale_temps = cache.remove_stale_temps(Duration::from_secs(24 * 3600));
    }

    if let Some(remote) = collect_remote {
        // Others pull from the remote: whatever any branch, remote branch or tag points at
        // stays there, whatever the local scope.
        let mut remote_keep = keep;
        remote_keep.extend(expand(repo, &ref_tip_pointers(repo, &registry)?, Some(&remote), rt, reporter)?);
        rt.block_on(remote.check_layout(false))?;
        rt.block_on(async {
            remote.require_marker().await?;
            // Alone on the remote from listing to deleting: no push is between confirming an
            // old pack or object and writing what cites it (a dry run deletes nothing).
            let lock = if opts.dry_run {
                None
            } else {
                Some(remote.lock(crate::remote::lock::LockKind::Exclusive, "gc").await?)
            };
            let result = if let crate::remote::Layout::Chunked(_) = remote.layout() {
                let cutoff = SystemTime::now() - opts.grace;
                crate::remote::collect::collect(&remote, &remote_keep, cutoff, opts.dry_run, opts.repack).await.map(
                    |collected| {
                        report.remote = collected.recipes;
                        report.remote_packs = collected.packs;
                        report.repacked = collected.repacked;
                    },
                )
            } else {
                collect_on_remote(&remote, &cache, &remote_keep, opts).await.map(|r| report.remote = r)
            };
            if let Some(lock) = lock {
                lock.release().await;
            }
            result
        })?;
        if !opts.dry_run && (!report.remote.is_empty() || !report.remote_packs.is_empty()) {
            repo.stat_index().forget_remote(&remote.id);
        }
        report.remote_name = Some(remote.name);
    }
    Ok(report)
}

/// Every object `pointers` need: their oids, and for directories the files their manifests
/// list. Manifests missing from the cache are fetched from `source`; one that cannot be read
/// stops gc before anything is deleted.
fn expand(
    repo: &Repo,
    pointers: &[Pointer],
    source: Option<&crate::remote::Remote>,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<HashSet<Oid>> {
    let cache = repo.cache();
    let missing: Vec<Oid> =
        pointers.iter().filter(|p| p.kind == Kind::Dir && !cache.contains(&p.oid)).map(|p| p.oid).collect();
    if !missing.is_empty() {
        let source = source.ok_or_else(|| {
            crate::error::hinted(
                format!("{} directory manifests to keep are not in the cache and no remote is set", missing.len()),
                "fetch them first with `mvc fetch` and the same revisions",
            )
        })?;
        rt.block_on(transfer::fetch_manifests(source, &cache, &missing, reporter))?;
    }
    let mut keep = HashSet::new();
    for p in pointers {
        keep.insert(p.oid);
        if p.kind == Kind::Dir {
            let manifest = crate::ops::load_manifest(repo, p, &p.path)?;
            keep.extend(manifest.entries.iter().map(|e| e.oid));
        }
    }
    Ok(keep)
}

/// The pointers at the tip of every ref: local and remote-tracking branches, and tags. A
/// registry tag of a deregistered version does not keep that version's data (DESIGN §4).
fn ref_tip_pointers(repo: &Repo, registry: &crate::registry_store::Registry) -> Result<Vec<Pointer>> {
    let dropped = crate::ops::registry::deregistered_tag_paths(registry);
    let mut out: BTreeMap<Oid, Pointer> = BTreeMap::new();
    let mut visited = HashSet::new();
    for reference in repo.git.references()?.flatten() {
        let Ok(commit) = reference.peel_to_commit() else { continue };
        let skip = reference.name().ok().and_then(|n| n.strip_prefix("refs/tags/")).and_then(|t| dropped.get(t));
        match skip {
            // Walked afresh: a tree shared with another ref must not lose what it keeps there.
            Some(paths) => {
                let keep = |artifact: &str| !paths.iter().any(|p| p == artifact);
                for p in revs::pointers_in_commit(&repo.git, &repo.scope, commit.id(), &keep, &mut HashSet::new())?
                    .into_values()
                {
                    out.insert(p.oid, p);
                }
            }
            None => {
                for p in revs::pointers_in_commit(&repo.git, &repo.scope, commit.id(), &|_| true, &mut visited)?
                    .into_values()
                {
                    out.insert(p.oid, p);
                }
            }
        }
    }
    Ok(out.into_values().collect())
}

/// The pointers whose objects stay: the workspace's, the selected revisions', and the last N
/// versions of each artifact on the current branch.
fn referenced_pointers(
    repo: &Repo,
    registry: &crate::registry_store::Registry,
    opts: &GcOptions,
) -> Result<Vec<Pointer>> {
    // Keyed by oid: the same version reached from many commits counts once.
    let mut out: BTreeMap<Oid, Pointer> = BTreeMap::new();
    // Strict: a workspace pointer that cannot be read stops gc before anything is deleted,
    // since the data it names would otherwise look unreferenced.
    for artifact in crate::ops::tracked(repo)? {
        let p = artifact.load_pointer(repo)?;
        out.insert(p.oid, p);
    }
    let mut visited = HashSet::new();
    for commit in revs::commits(&repo.git, &opts.revs)? {
        for p in revs::pointers_in_commit(&repo.git, &repo.scope, commit, &|_| true, &mut visited)?.into_values() {
            out.insert(p.oid, p);
        }
    }
    // The registry's retention (DESIGN §4): stage holders and the newest registered versions.
    for p in crate::ops::registry::retained_pointers(repo, registry, opts.keep_versions)? {
        out.insert(p.oid, p);
    }
    if let Some(n) = opts.keep_last {
        let mut seen: BTreeMap<String, Vec<Oid>> = BTreeMap::new();
        let mut walk = repo.git.revwalk()?;
        walk.simplify_first_parent()?;
        if walk.push_head().is_ok() {
            for id in walk {
                for (rel, p) in revs::artifacts_at(&repo.git, &repo.scope, id?)? {
                    let versions = seen.entry(rel).or_default();
                    if versions.len() < n && !versions.contains(&p.oid) {
                        versions.push(p.oid);
                        out.insert(p.oid, p);
                    }
                }
            }
        }
    }
    Ok(out.into_values().collect())
}

/// Deletes unreferenced objects older than the grace period on `remote`, in parallel:
/// manifests first, then everything else, so an interrupted run never leaves a manifest
/// whose files are gone (a manifest on a remote vouches for its files).
async fn collect_on_remote(
    remote: &crate::remote::Remote,
    remote_cache: &crate::cache::Cache,
    keep: &HashSet<Oid>,
    opts: &GcOptions,
) -> Result<Vec<(Oid, u64)>> {
    remote.require_marker().await?;
    let prefix = remote.objects_prefix();
    let listed: Vec<object_store::ObjectMeta> =
        remote.store().list(Some(&prefix)).try_collect().await.map_err(|e| remote.error("listing objects", e))?;
    let cutoff = SystemTime::now() - opts.grace;
    let mut doomed = Vec::new();
    for meta in listed {
        let parts: Vec<String> = meta.location.parts().map(|p| p.as_ref().to_string()).collect();
        let [.., two, rest] = parts.as_slice() else { continue };
        let Ok(oid) = format!("{two}{rest}").parse::<Oid>() else { continue };
        if keep.contains(&oid) || SystemTime::from(meta.last_modified) > cutoff {
            continue;
        }
        doomed.push((oid, meta.size, meta.location));
    }
    if !opts.dry_run {
        crate::remote::lock::test_pause("gc-before-delete").await;
        let cache = remote_cache;
        let kinds: Vec<bool> = futures::stream::iter(doomed.iter())
            .map(|(oid, size, location)| may_be_manifest(remote, cache, oid, *size, location))
            .buffered(remote.jobs)
            .try_collect()
            .await?;
        let (manifests, files): (Vec<_>, Vec<_>) = doomed.iter().zip(kinds).partition(|(_, is_manifest)| *is_manifest);
        for phase in [manifests, files] {
            let locations: Vec<object_store::Result<object_store::path::Path>> =
                phase.iter().map(|((_, _, l), _)| Ok(l.clone())).collect();
            if locations.is_empty() {
                continue;
            }
            remote
                .store()
                .delete_stream(futures::stream::iter(locations).boxed())
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| remote.error("deleting unreferenced objects", e))?;
        }
    }
    Ok(doomed.into_iter().map(|(o, s, _)| (o, s)).collect())
}

/// Whether a remote object could be a directory manifest: the cache's copy says so when
/// there is one; otherwise a small object's first bytes are read (manifests are JSON that
/// starts `{"version":`). Large objects never are.
async fn may_be_manifest(
    remote: &crate::remote::Remote,
    cache: &crate::cache::Cache,
    oid: &Oid,
    size: u64,
    location: &object_store::path::Path,
) -> Result<bool> {
    const PREFIX: &[u8] = b"{\"version\":";
    if size > crate::ops::MAX_MANIFEST_BYTES || size < PREFIX.len() as u64 {
        return Ok(false);
    }
    if let Ok(mut file) = std::fs::File::open(cache.object_path(oid)) {
        let mut head = [0u8; PREFIX.len()];
        return Ok(std::io::Read::read_exact(&mut file, &mut head).is_ok() && head == PREFIX);
    }
    match remote.store().get_range(location, 0..PREFIX.len() as u64).await {
        Ok(bytes) => Ok(bytes.starts_with(PREFIX)),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(remote.error(&format!("reading object {}", oid.short()), e)),
    }
}
