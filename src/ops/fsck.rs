//! `mvc fsck`: re-hash every cache object (and, with a remote, stream and re-hash the
//! objects the workspace needs from it), report each corrupt object, and each object the
//! workspace needs that the cache (or the remote) lacks, with the artifacts that need it, and
//! with `--repair` quarantine corrupt cache objects and fetch good copies, and (with a
//! remote) upload good cache copies over what the remote lost.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::hash::Oid;
use crate::ops::history::{Side, pointers};
use crate::pointer::Kind;
use crate::progress::Reporter;
use crate::remote::{backend, transfer};
use crate::repo::Repo;

/// What to check.
pub struct FsckOptions {
    /// Also verify a remote (`Some("")`: the default remote).
    pub remote: Option<String>,
    /// Quarantine corrupt cache objects and fetch them again from the default remote; with a
    /// remote, also upload good cache copies of what is missing or corrupt there.
    pub repair: bool,
}

/// What is wrong with an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Its content does not hash to its name.
    Corrupt,
    /// A pointer needs it and it is not there (in the cache: `mvc pull` fetches it).
    Missing,
}

/// One bad object.
#[derive(Debug, Clone)]
pub struct Finding {
    /// `cache` or the remote's name.
    pub place: String,
    /// The object.
    pub oid: Oid,
    /// What is wrong.
    pub problem: Problem,
    /// Artifacts (workspace pointers) that need it.
    pub needed_by: Vec<String>,
    /// With `--repair`: whether a good copy is now in the cache.
    pub repaired: bool,
    /// On a chunked remote: the missing or damaged pack that breaks the object.
    pub pack: Option<Oid>,
}

/// What `fsck` found.
pub struct FsckReport {
    /// Objects checked in the cache.
    pub cache_checked: usize,
    /// Objects checked on the remote.
    pub remote_checked: usize,
    /// Every problem found.
    pub findings: Vec<Finding>,
}

/// Runs `mvc fsck`.
pub fn fsck(
    repo: &Repo,
    opts: &FsckOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<FsckReport> {
    let _lock = repo.lock("fsck")?;
    let cache = repo.cache();
    let objects = cache.objects()?;
    let total: u64 = objects.iter().map(|(_, s)| s).sum();
    reporter.start("verifying", objects.len() as u64, total);
    let corrupt: Vec<Oid> = objects
        .par_iter()
        .filter_map(|(oid, size)| {
            let ok = crate::hash::hash_file(&cache.object_path(oid), &mut |_| {}).is_ok_and(|h| h.oid == *oid);
            reporter.advance(1, *size);
            (!ok).then_some(*oid)
        })
        .collect();
    reporter.finish();
    let Needs { by: needs, required, manifests } = needed_by(repo)?;
    let who = |oid: &Oid| needs.get(oid).cloned().unwrap_or_default();
    let mut findings: Vec<Finding> = corrupt
        .iter()
        .map(|oid| Finding {
            place: "cache".into(),
            oid: *oid,
            problem: Problem::Corrupt,
            needed_by: who(oid),
            repaired: false,
            pack: None,
        })
        .collect();
    // What the workspace needs and the cache lacks: checkout, diff and push would fail on it.
    for oid in required.iter().filter(|oid| !cache.contains(oid)) {
        findings.push(Finding {
            place: "cache".into(),
            oid: *oid,
            problem: Problem::Missing,
            needed_by: who(oid),
            repaired: false,
            pack: None,
        });
    }

    let mut remote_checked = 0;
    if let Some(name) = &opts.remote {
        let name = Some(name.as_str()).filter(|n| !n.is_empty());
        let rc = backend::choose(repo, name)?;
        let remote =
            if opts.repair { backend::open_writable(repo, &rc, None)? } else { backend::open(repo, &rc, None)? };
        let oids: Vec<Oid> = needs.keys().copied().collect();
        remote_checked = oids.len();
        let index = repo.stat_index();
        rt.block_on(remote.check_layout(false))?;
        let chunked = matches!(remote.layout(), crate::remote::Layout::Chunked(_));
        let verified: Result<Vec<(Oid, transfer::RemoteCopy, Option<Oid>)>> = if chunked {
            rt.block_on(crate::remote::chunked::verify(&remote, &oids, reporter))
                .map(|v| v.into_iter().map(|d| (d.oid, d.copy, d.pack)).collect())
        } else {
            rt.block_on(transfer::verify(&remote, &oids, reporter))
                .map(|v| v.into_iter().map(|(o, c)| (o, c, None)).collect())
        };
        remote.forget_lost(index);
        let mut bad = Vec::new();
        for (oid, copy, pack) in verified? {
            let problem = if copy == transfer::RemoteCopy::Missing { Problem::Missing } else { Problem::Corrupt };
            bad.push(oid);
            findings.push(Finding {
                place: remote.name.clone(),
                oid,
                problem,
                needed_by: who(&oid),
                repaired: false,
                pack,
            });
        }
        if opts.repair && !bad.is_empty() && chunked {
            let set = chunked_repair_set(repo, &bad, &corrupt, &manifests)?;
            let repaired = rt.block_on(transfer::repair_chunked(&remote, &cache, index, &set, reporter))?;
            for f in findings.iter_mut().filter(|f| f.place == remote.name) {
                f.repaired = repaired.contains(&f.oid);
            }
        } else if opts.repair && !bad.is_empty() {
            // Only good cache copies go up (each is hashed again while it streams); files
            // before the manifests that list them.
            let good: Vec<Oid> = bad.iter().filter(|o| cache.contains(o) && !corrupt.contains(o)).copied().collect();
            let repaired = rt.block_on(transfer::repair(&remote, &cache, index, &good, &manifests, reporter))?;
            for f in findings.iter_mut().filter(|f| f.place == remote.name) {
                f.repaired = repaired.contains(&f.oid);
            }
        }
    }

    if opts.repair && !corrupt.is_empty() {
        let quarantine = repo.quarantine_dir();
        std::fs::create_dir_all(&quarantine).with_context(|| format!("creating `{}`", quarantine.display()))?;
        for oid in &corrupt {
            let to = quarantine.join(oid.to_hex());
            std::fs::rename(cache.object_path(oid), &to).with_context(|| format!("moving {oid} to quarantine"))?;
        }
        let remote = backend::open(repo, &backend::choose(repo, None)?, None)?;
        let wanted: Vec<transfer::Object> = corrupt.iter().map(|o| transfer::Object { oid: *o, size: None }).collect();
        // Each object is fetched on its own so one that the remote lacks does not stop the rest.
        for object in wanted {
            let _ = rt.block_on(transfer::fetch(&remote, &cache, std::slice::from_ref(&object), reporter));
        }
        for f in findings.iter_mut().filter(|f| f.place == "cache") {
            f.repaired = cache.contains(&f.oid);
        }
    }
    Ok(FsckReport { cache_checked: objects.len(), remote_checked, findings })
}

/// What to push again to a chunked remote for `bad` objects: a directory whole (its recipe
/// covers its files) when its manifest or any of its files is bad, other objects alone; only
/// what the cache holds good copies of.
fn chunked_repair_set(
    repo: &Repo,
    bad: &[Oid],
    corrupt: &[Oid],
    manifests: &HashSet<Oid>,
) -> Result<transfer::PushSet> {
    let cache = repo.cache();
    let good = |o: &Oid| cache.contains(o) && !corrupt.contains(o);
    let bad: HashSet<Oid> = bad.iter().copied().collect();
    let mut covered = HashSet::new();
    let mut set = transfer::PushSet::default();
    for m in manifests.iter().filter(|m| good(m)) {
        let bytes = cache.read_small(m, crate::ops::MAX_MANIFEST_BYTES)?;
        let Ok(manifest) = crate::manifest::Manifest::parse(&bytes) else { continue };
        let files: Vec<Oid> = manifest.entries.iter().map(|e| e.oid).collect();
        if !bad.contains(m) && !files.iter().any(|f| bad.contains(f)) {
            continue;
        }
        covered.insert(*m);
        covered.extend(files.iter().copied());
        if files.iter().all(good) {
            let files = files.into_iter().map(|oid| transfer::Object { oid, size: None }).collect();
            set.dirs.push(transfer::DirObjects { manifest: *m, files });
        }
    }
    for oid in bad.iter().filter(|o| !covered.contains(o) && !manifests.contains(o) && good(o)) {
        set.files.push(transfer::Object { oid: *oid, size: None });
    }
    Ok(set)
}

/// The objects the workspace's pointers need.
struct Needs {
    /// Each object, with the artifacts that need it (manifests in the cache expanded).
    by: BTreeMap<Oid, Vec<String>>,
    /// Those the cache must hold: all but the files of directories pulled only in part,
    /// which are absent on purpose.
    required: BTreeSet<Oid>,
    /// Which of them are directory manifests (repaired on a remote after their files).
    manifests: HashSet<Oid>,
}

fn needed_by(repo: &Repo) -> Result<Needs> {
    let cache = repo.cache();
    let partial = crate::partial::Partial::load(&repo.state_dir())?;
    let mut out: BTreeMap<Oid, Vec<String>> = BTreeMap::new();
    let mut required = BTreeSet::new();
    let mut manifests = HashSet::new();
    for (rel, pointer) in pointers(repo, &Side::Workspace)? {
        out.entry(pointer.oid).or_default().push(rel.clone());
        required.insert(pointer.oid);
        if pointer.kind == Kind::Dir {
            manifests.insert(pointer.oid);
        }
        if pointer.kind == Kind::Dir && cache.contains(&pointer.oid) {
            let bytes = cache.read_small(&pointer.oid, crate::ops::MAX_MANIFEST_BYTES)?;
            let in_part = partial.get(&rel) == Some(pointer.oid);
            // A corrupt manifest is reported as a corrupt object; its files are not known.
            if let Ok(manifest) = crate::manifest::Manifest::parse(&bytes) {
                for e in manifest.entries {
                    out.entry(e.oid).or_default().push(rel.clone());
                    if !in_part {
                        required.insert(e.oid);
                    }
                }
            }
        }
    }
    for artifacts in out.values_mut() {
        artifacts.dedup();
    }
    Ok(Needs { by: out, required, manifests })
}
