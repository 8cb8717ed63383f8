//! The transfer engine: "make these objects present there". Async with bounded concurrency
//! on one runtime; hashing and disk writes run on blocking threads. Decisions rest on what the
//! remote says now (HEAD or LIST during this command); the known-present set only spares
//! requests where being wrong cannot lose data. Uploads live in `upload`, downloads and
//! remote verification in `download`.

use std::collections::{BTreeMap, HashSet};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};

use super::Remote;
pub use super::chunked::Damage;
use crate::cache::Cache;
use crate::hash::Oid;
use crate::manifest::Manifest;
use crate::progress::Reporter;
use crate::state::StatIndex;

pub use super::download::{RemoteCopy, fetch, fetch_reusing, verify};
pub use super::upload::part_size;
use super::upload::upload_all;

/// Above this many objects, existence is checked by listing prefixes, not HEADs.
const HEAD_LIMIT: usize = 256;

/// How many failing objects an error names.
const NAMED_FAILURES: usize = 10;

/// One object to transfer, with what we know of it.
#[derive(Debug, Clone)]
pub struct Object {
    /// Its oid.
    pub oid: Oid,
    /// Size in bytes when known (manifests: unknown until read).
    pub size: Option<u64>,
}

/// A directory artifact's objects: files first, manifest after (a manifest on a remote
/// implies every file it lists is there).
#[derive(Debug, Clone)]
pub struct DirObjects {
    /// The manifest's oid.
    pub manifest: Oid,
    /// The files.
    pub files: Vec<Object>,
}

/// What to push.
#[derive(Debug, Default, Clone)]
pub struct PushSet {
    /// Single-file artifacts' objects.
    pub files: Vec<Object>,
    /// Directory artifacts.
    pub dirs: Vec<DirObjects>,
    /// Earlier versions of each file object's or manifest's artifact, newest first: a
    /// chunked remote dedups against their recipes.
    pub history: std::collections::HashMap<Oid, Vec<Oid>>,
}

/// Counts from a transfer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TransferStats {
    /// Objects sent or received.
    pub transferred: u64,
    /// Bytes sent or received.
    pub bytes: u64,
    /// Objects that were already there.
    pub present: u64,
    /// Requests made to check existence (HEAD or LIST).
    pub checks: u64,
    /// Objects verified on the remote by download and hash (`push --verify`).
    pub verified: u64,
    /// Objects that were missing or corrupt on the remote and were uploaded again.
    pub repaired: u64,
    /// Bytes of fetched objects copied from other local versions instead of downloaded
    /// (chunked remotes).
    pub reused: u64,
}

impl TransferStats {
    /// The counts of two transfers together.
    pub fn plus(&self, other: &TransferStats) -> TransferStats {
        TransferStats {
            transferred: self.transferred + other.transferred,
            bytes: self.bytes + other.bytes,
            present: self.present + other.present,
            checks: self.checks + other.checks,
            verified: self.verified + other.verified,
            repaired: self.repaired + other.repaired,
            reused: self.reused + other.reused,
        }
    }
}

/// An object needed for the transfer is not in the local cache.
#[derive(Debug, thiserror::Error)]
#[error("{count} objects to push are not in the local cache (first: {first})")]
pub struct MissingLocally {
    /// How many.
    pub count: usize,
    /// One of them, for the message.
    pub first: Oid,
}

/// Objects that failed in one transfer: counted, the first ten named in the error.
pub struct Failures {
    verb: &'static str,
    remote: String,
    stop: super::Stop,
    list: Vec<Failure>,
    /// Objects not attempted because the transfer stopped.
    pub skipped: u64,
}

/// One object that failed.
pub struct Failure {
    /// The object.
    pub oid: Oid,
    /// Why.
    pub error: anyhow::Error,
}

impl Failures {
    /// An empty list for objects `verb` ("uploaded to") remote.
    pub fn new(verb: &'static str, remote: &Remote) -> Failures {
        Failures { verb, remote: remote.name.clone(), stop: remote.stop.clone(), list: Vec::new(), skipped: 0 }
    }

    /// Adds one.
    pub fn push(&mut self, f: Failure) {
        self.list.push(f);
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.skipped == 0 && self.stop.reason().is_none()
    }

    /// `Ok(value)` when nothing failed; else one error: the reason the transfer stopped
    /// (unreachable, no bucket, interrupted), the single failure, or a count naming the
    /// first ten.
    pub fn into_result<T>(mut self, value: T) -> Result<T> {
        if let Some(e) = self.stop.error() {
            return Err(e);
        }
        match self.list.len() {
            0 => Ok(value),
            1 => Err(self.list.remove(0).error),
            n => {
                self.list.sort_by_key(|f| f.oid);
                let hint = crate::error::hint_of(&self.list[0].error);
                let named: Vec<String> = self
                    .list
                    .iter()
                    .take(NAMED_FAILURES)
                    .map(|f| format!("{} ({})", f.oid.short(), failure_reason(&f.error)))
                    .collect();
                let more =
                    if n > NAMED_FAILURES { format!(", and {} more", n - NAMED_FAILURES) } else { String::new() };
                let message = format!(
                    "{n} objects could not be {} remote `{}`: {}{more}",
                    self.verb,
                    self.remote,
                    named.join(", ")
                );
                Err(match hint {
                    Some(h) => crate::error::hinted(message, h).into(),
                    None => anyhow::anyhow!(message),
                })
            }
        }
    }
}

/// A failure in a few words, for a list of many.
fn failure_reason(e: &anyhow::Error) -> &'static str {
    let text = e.to_string();
    if text.contains("arrived corrupt twice") {
        "corrupted in transfer"
    } else if text.contains("is corrupt") {
        if text.starts_with("cache object") { "corrupt in the cache" } else { "corrupt on the remote" }
    } else if text.contains("is not on remote") {
        "missing on the remote"
    } else {
        "failed"
    }
}

/// How a push decides.
#[derive(Debug, Default, Clone, Copy)]
pub struct PushMode {
    /// Download and hash every object in scope on the remote; upload again what is missing
    /// or wrong.
    pub verify: bool,
}

/// Makes every object of `set` present on `remote`. Returns counts; objects missing from the
/// local cache are reported as an error after everything else was pushed.
///
/// What each decision rests on: a file artifact's object or a directory's manifest is asked
/// about now (HEAD, or LIST when many); a directory whose manifest is there now counts as
/// complete (push uploads a manifest only after confirming every file it lists, and `gc -r`
/// deletes manifests first). A manifest is uploaded only when this push confirmed each of its
/// files, by uploading it or seeing it now. With `verify`, every object is downloaded and
/// hashed instead.
pub async fn push(
    remote: &Remote,
    cache: &Cache,
    index: &StatIndex,
    set: &PushSet,
    mode: PushMode,
    reporter: &dyn Reporter,
) -> Result<TransferStats> {
    push_verified(remote, cache, index, set, mode, reporter).await.map(|(stats, _)| stats)
}

/// [`push`], also returning what `mode.verify` found missing or damaged on the remote (and
/// pushed again): objects on a loose remote, file objects and directory manifests (whose
/// recipes were rewritten) on a chunked one.
pub async fn push_verified(
    remote: &Remote,
    cache: &Cache,
    index: &StatIndex,
    set: &PushSet,
    mode: PushMode,
    reporter: &dyn Reporter,
) -> Result<(TransferStats, Vec<Damage>)> {
    if remote.read_only {
        bail!(crate::error::hinted(
            format!("remote `{}` ({}) is read-only (HTTP)", remote.name, remote.display_url),
            "push to an s3://, gs://, az:// or directory remote"
        ));
    }
    remote.check_layout(true).await?;
    let _active = remote.stop.activate();
    let result = match remote.layout() {
        super::Layout::Chunked(params) if mode.verify => {
            super::chunked::push_verified(remote, cache, index, set, params, reporter).await
        }
        super::Layout::Chunked(params) => {
            super::chunked::push(remote, cache, index, set, params, false, reporter).await.map(|s| (s, Vec::new()))
        }
        super::Layout::Loose => push_inner(remote, cache, index, set, mode, reporter).await,
    };
    remote.forget_lost(index);
    result
}

async fn push_inner(
    remote: &Remote,
    cache: &Cache,
    index: &StatIndex,
    set: &PushSet,
    mode: PushMode,
    reporter: &dyn Reporter,
) -> Result<(TransferStats, Vec<Damage>)> {
    let mut stats = TransferStats::default();
    // What the remote holds right now, among the objects this push is about.
    let mut there: HashSet<Oid> = HashSet::new();
    let mut dirs: Vec<&DirObjects> = Vec::new();
    let mut damage = Vec::new();
    let mut lock = None;
    if mode.verify {
        lock = Some(remote.lock(super::lock::LockKind::Shared, "push").await?);
        let mut all: Vec<Oid> = set.files.iter().map(|f| f.oid).collect();
        for d in &set.dirs {
            all.push(d.manifest);
            all.extend(d.files.iter().map(|f| f.oid));
        }
        let all: Vec<Oid> = all.into_iter().collect::<HashSet<_>>().into_iter().collect();
        damage = verify(remote, &all, reporter).await?;
        let bad: HashSet<Oid> = damage.iter().map(|(o, _)| *o).collect();
        stats.verified = all.len() as u64;
        stats.repaired = bad.len() as u64;
        there.extend(all.iter().filter(|o| !bad.contains(o)));
        // A directory is redone when anything in it (or its manifest) was bad.
        dirs = set
            .dirs
            .iter()
            .filter(|d| bad.contains(&d.manifest) || d.files.iter().any(|f| bad.contains(&f.oid)))
            .collect();
    } else {
        let tops: Vec<Oid> = set.files.iter().map(|f| f.oid).chain(set.dirs.iter().map(|d| d.manifest)).collect();
        there.extend(check_exists(remote, tops, &mut stats).await?);
        // Held from confirming what a manifest will vouch for to uploading it: no gc deletes
        // those files meanwhile. A push with nothing to write takes none.
        if set.files.iter().any(|f| !there.contains(&f.oid)) || set.dirs.iter().any(|d| !there.contains(&d.manifest)) {
            lock = Some(remote.lock(super::lock::LockKind::Shared, "push").await?);
        }
        for d in &set.dirs {
            if there.contains(&d.manifest) {
                there.extend(d.files.iter().map(|f| f.oid));
            } else {
                dirs.push(d);
            }
        }
        // Files of directories whose manifest is missing are confirmed now, never from memory:
        // the manifest will vouch for them.
        let unsure: Vec<Oid> = dirs
            .iter()
            .flat_map(|d| d.files.iter().map(|f| f.oid))
            .filter(|o| !there.contains(o))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        there.extend(check_exists(remote, unsure, &mut stats).await?);
    }

    // Every file object still needed, deduplicated.
    let mut wanted: BTreeMap<Oid, Option<u64>> = BTreeMap::new();
    for f in set.files.iter().chain(dirs.iter().flat_map(|d| d.files.iter())) {
        if !there.contains(&f.oid) {
            wanted.insert(f.oid, f.size);
        }
    }
    let missing_locally: Vec<Oid> = wanted.keys().filter(|o| !cache.contains(o)).copied().collect();
    let sendable: Vec<Oid> = wanted.keys().filter(|o| cache.contains(o)).copied().collect();
    let total_bytes: u64 = sendable.iter().map(|o| object_size(cache, o)).sum();
    reporter.start("pushing", sendable.len() as u64, total_bytes);
    let (sent, sent_bytes, mut failures) = upload_all(remote, cache, &sendable, reporter).await;
    reporter.finish();
    stats.transferred += sent.len() as u64;
    stats.bytes += sent_bytes;
    there.extend(sent.iter().copied());

    // Manifests go last, and only when this push confirmed every file they list.
    let ready: Vec<Oid> = dirs
        .iter()
        .filter(|d| d.files.iter().all(|f| there.contains(&f.oid)))
        .map(|d| d.manifest)
        .filter(|m| cache.contains(m) && !there.contains(m))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if failures.is_empty() {
        let (sent, manifest_bytes, manifest_failures) = upload_all(remote, cache, &ready, reporter).await;
        stats.transferred += sent.len() as u64;
        stats.bytes += manifest_bytes;
        there.extend(sent);
        failures = manifest_failures;
    }
    let confirmed: Vec<Oid> = there.iter().copied().collect();
    index.mark_present(&remote.id, &confirmed);
    if let Some(lock) = lock {
        lock.release().await;
    }
    let all: HashSet<Oid> = set
        .files
        .iter()
        .chain(set.dirs.iter().flat_map(|d| d.files.iter()))
        .map(|f| f.oid)
        .chain(set.dirs.iter().map(|d| d.manifest))
        .collect();
    stats.present = (all.iter().filter(|o| there.contains(o)).count() as u64).saturating_sub(stats.transferred);
    let stats = failures.into_result(stats)?;

    // `dirs` holds only directories whose manifest is not (rightly) on the remote: one missing
    // from the cache too cannot be pushed (and its files are unknown).
    let missing: Vec<Oid> = missing_locally
        .iter()
        .copied()
        .chain(dirs.iter().filter(|d| !cache.contains(&d.manifest)).map(|d| d.manifest))
        .collect();
    if let Some(first) = missing.first() {
        bail!(crate::error::hinted(
            MissingLocally { count: missing.len(), first: *first }.to_string(),
            "they were never added on this machine or were garbage-collected; `mvc status` shows which artifacts"
        ));
    }
    let damage = damage.into_iter().map(|(oid, copy)| Damage { oid, copy, pack: None }).collect();
    Ok((stats, damage))
}

/// Which of `oids` are on the remote, asked now (HEAD, or LIST when many): gc and the
/// registry decide on it, and `status -r` reports it, so the known-present set (which cannot
/// know what someone else deleted) never answers. What the requests confirm joins the
/// known-present set; what they find missing leaves it.
pub async fn present_on_remote(
    remote: &Remote,
    index: &StatIndex,
    oids: &[Oid],
) -> Result<(HashSet<Oid>, TransferStats)> {
    remote.check_layout(false).await?;
    let _active = remote.stop.activate();
    let mut stats = TransferStats::default();
    let unique: Vec<Oid> = oids.iter().copied().collect::<HashSet<_>>().into_iter().collect();
    let found = check_exists(remote, unique, &mut stats).await;
    remote.forget_lost(index);
    let found = found?;
    index.mark_present(&remote.id, &found.iter().copied().collect::<Vec<_>>());
    let present = oids.iter().filter(|o| found.contains(o)).copied().collect();
    Ok((present, stats))
}

/// Uploads good cache copies of objects the remote lost (`fsck -c --repair`): files first,
/// then manifests, and a manifest only when every file went up (the caller verified the
/// others on the remote just now). Returns what was uploaded.
pub async fn repair(
    remote: &Remote,
    cache: &Cache,
    index: &StatIndex,
    oids: &[Oid],
    manifests: &HashSet<Oid>,
    reporter: &dyn Reporter,
) -> Result<HashSet<Oid>> {
    remote.check_layout(true).await?;
    if let super::Layout::Chunked(_) = remote.layout() {
        bail!("remote `{}` is chunked: its objects are repaired by `repair_chunked`", remote.name);
    }
    let _active = remote.stop.activate();
    let lock = remote.lock(super::lock::LockKind::Shared, "fsck --repair").await?;
    let (files, dirs): (Vec<Oid>, Vec<Oid>) = oids.iter().partition(|o| !manifests.contains(o));
    let (mut sent, _, failures) = upload_all(remote, cache, &files, reporter).await;
    let failures = if failures.is_empty() {
        let (more, _, failures) = upload_all(remote, cache, &dirs, reporter).await;
        sent.extend(more);
        failures
    } else {
        failures
    };
    index.mark_present(&remote.id, &sent);
    lock.release().await;
    failures.into_result(())?;
    Ok(sent.into_iter().collect())
}

/// Uploads good cache copies of what a chunked remote lost (`fsck -c --repair`): the objects of
/// `set` are cut into fresh packs and their recipes written again over the broken ones (packs
/// before recipes, as in every push). Returns what was rewritten.
pub async fn repair_chunked(
    remote: &Remote,
    cache: &Cache,
    index: &StatIndex,
    set: &PushSet,
    reporter: &dyn Reporter,
) -> Result<HashSet<Oid>> {
    remote.check_layout(true).await?;
    let super::Layout::Chunked(params) = remote.layout() else {
        bail!("remote `{}` is not chunked", remote.name);
    };
    let _active = remote.stop.activate();
    super::chunked::push(remote, cache, index, set, params, true, reporter).await?;
    let mut done: HashSet<Oid> = set.files.iter().map(|f| f.oid).collect();
    for d in &set.dirs {
        done.insert(d.manifest);
        done.extend(d.files.iter().map(|f| f.oid));
    }
    Ok(done)
}

fn object_size(cache: &Cache, oid: &Oid) -> u64 {
    std::fs::metadata(cache.object_path(oid)).map(|m| m.len()).unwrap_or(0)
}

/// Which of `oids` exist on the remote: HEADs when few (or when the remote cannot list),
/// otherwise LISTs of the two-character prefixes in use, after estimating the remote's size.
pub async fn check_exists(remote: &Remote, oids: Vec<Oid>, stats: &mut TransferStats) -> Result<HashSet<Oid>> {
    if oids.is_empty() {
        return Ok(HashSet::new());
    }
    if let super::Layout::Chunked(_) = remote.layout()
        && remote.can_list
        && oids.len() > HEAD_LIMIT
    {
        stats.checks += 1;
        let all = remote.list_recipes().await?;
        for oid in oids.iter().filter(|o| !all.contains(o)) {
            remote.note_lost(*oid);
        }
        return Ok(oids.into_iter().filter(|o| all.contains(o)).collect());
    }
    let use_list = remote.can_list && oids.len() > HEAD_LIMIT && remote.layout() == super::Layout::Loose && {
        // One shard's size times 256 estimates the whole remote; listing is worth it when the
        // remote is not vastly larger than what we ask about.
        let sample = list_shard(remote, "00").await?;
        stats.checks += 1;
        (sample.len() as u64 * 256) < (oids.len() as u64 * 64)
    };
    if use_list {
        let shards: std::collections::BTreeSet<String> = oids.iter().map(|o| o.to_hex()[..2].to_string()).collect();
        stats.checks += shards.len() as u64;
        let listed: Vec<HashSet<Oid>> = futures::stream::iter(shards)
            .map(|s| async move { list_shard(remote, &s).await })
            .buffer_unordered(remote.jobs)
            .try_collect()
            .await?;
        let all: HashSet<Oid> = listed.into_iter().flatten().collect();
        for oid in oids.iter().filter(|o| !all.contains(o)) {
            remote.note_lost(*oid);
        }
        return Ok(oids.into_iter().filter(|o| all.contains(o)).collect());
    }
    stats.checks += oids.len() as u64;
    let found: Vec<Option<Oid>> = futures::stream::iter(oids)
        .map(|oid| async move { remote.exists(&oid).await.map(|e| e.then_some(oid)) })
        .buffer_unordered(remote.jobs)
        .try_collect()
        .await
        .map_err(|e| remote.stop.error().unwrap_or(e))?;
    Ok(found.into_iter().flatten().collect())
}

async fn list_shard(remote: &Remote, two: &str) -> Result<HashSet<Oid>> {
    let prefix = remote.shard(two);
    let metas: Vec<object_store::ObjectMeta> = remote
        .store()
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| remote.error(&format!("listing `blake3/{two}/`"), e))?;
    Ok(metas
        .iter()
        .filter_map(|m| {
            let name = m.location.filename()?;
            format!("{two}{name}").parse::<Oid>().ok()
        })
        .collect())
}

/// Downloads directory manifests into the cache (what fails is reported by the returned
/// error, after the others were fetched). On a chunked remote it also remembers them as
/// directories, whose recipes hold their files.
pub async fn fetch_directories(
    remote: &Remote,
    cache: &Cache,
    oids: &[Oid],
    reporter: &dyn Reporter,
) -> Result<TransferStats> {
    for oid in oids {
        remote.known.directory(*oid);
    }
    let objects: Vec<Object> = oids.iter().map(|o| Object { oid: *o, size: None }).collect();
    fetch(remote, cache, &objects, reporter).await
}

/// Downloads (if needed) and validates the manifests of `oids`, returning them by oid.
pub async fn fetch_manifests(
    remote: &Remote,
    cache: &Cache,
    oids: &[Oid],
    reporter: &dyn Reporter,
) -> Result<(BTreeMap<Oid, Manifest>, TransferStats)> {
    let objects: Vec<Object> = oids.iter().map(|o| Object { oid: *o, size: None }).collect();
    for oid in oids {
        remote.known.directory(*oid);
    }
    let stats = fetch(remote, cache, &objects, reporter).await?;
    let mut out = BTreeMap::new();
    for oid in oids {
        let bytes = cache.read_small(oid, crate::ops::MAX_MANIFEST_BYTES)?;
        let manifest =
            Manifest::parse(&bytes).with_context(|| format!("manifest {oid} from remote `{}`", remote.name))?;
        out.insert(*oid, manifest);
    }
    Ok((out, stats))
}
