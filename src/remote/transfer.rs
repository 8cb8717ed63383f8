//! The transfer engine: "make these objects present there". Async with bounded concurrency
//! on one runtime; hashing and disk writes run on blocking threads. Existence checks scale
//! (known-present set, manifest implies files, HEADs when few, LISTs when many); downloads are
//! verified while streaming and enter the cache only when their oid matches.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use super::Remote;
use crate::cache::{Batch, Cache};
use crate::hash::Oid;
use crate::manifest::Manifest;
use crate::progress::Reporter;
use crate::state::StatIndex;

/// Objects up to this size are uploaded in one PUT; larger ones in multipart uploads.
const SINGLE_PUT_MAX: u64 = 16 << 20;

/// S3 allows 10,000 parts per upload; stay below with margin.
const MAX_PARTS: u64 = 9_000;

/// Cap on upload bytes held in memory at once, across all concurrent transfers.
const BYTES_IN_FLIGHT: u64 = 512 << 20;

/// Downloads are published to the cache in groups this large, so an interrupted run keeps
/// what it finished.
const PUBLISH_EVERY: usize = 256;

/// Above this many unknown objects, existence is checked by listing prefixes, not HEADs.
const HEAD_LIMIT: usize = 256;

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
}

impl TransferStats {
    /// The counts of two transfers together.
    pub fn plus(&self, other: &TransferStats) -> TransferStats {
        TransferStats {
            transferred: self.transferred + other.transferred,
            bytes: self.bytes + other.bytes,
            present: self.present + other.present,
            checks: self.checks + other.checks,
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

/// Part size for a multipart upload of `size` bytes: at least 16 MiB, and large enough to stay
/// under S3's part-count limit for objects of hundreds of GB.
pub fn part_size(size: u64) -> usize {
    let min = 16u64 << 20;
    let needed = size.div_ceil(MAX_PARTS);
    let mib = 1u64 << 20;
    (needed.div_ceil(mib) * mib).max(min) as usize
}

/// Makes every object of `set` present on `remote`. Returns counts; objects missing from the
/// local cache are reported as an error after everything else was pushed.
pub async fn push(
    remote: &Remote,
    cache: &Cache,
    index: &StatIndex,
    set: &PushSet,
    reporter: &dyn Reporter,
) -> Result<TransferStats> {
    if remote.read_only {
        bail!(crate::error::hinted(
            format!("remote `{}` ({}) is read-only (HTTP)", remote.name, remote.display_url),
            "push to an s3://, gs://, az:// or directory remote"
        ));
    }
    remote.check_layout(true).await?;
    let mut stats = TransferStats::default();
    let known = index.known_present(&remote.id);

    // Directories whose manifest is already there need nothing more.
    let mut dirs: Vec<&DirObjects> = set.dirs.iter().filter(|d| !known.contains(&d.manifest)).collect();
    let manifest_checks = check_exists(remote, dirs.iter().map(|d| d.manifest).collect(), &mut stats).await?;
    let mut confirmed: Vec<Oid> = Vec::new();
    dirs.retain(|d| {
        if manifest_checks.contains(&d.manifest) {
            confirmed.push(d.manifest);
            confirmed.extend(d.files.iter().map(|f| f.oid));
            false
        } else {
            true
        }
    });

    // Every file object still in question, deduplicated.
    let mut wanted: BTreeMap<Oid, Option<u64>> = BTreeMap::new();
    for f in set.files.iter().chain(dirs.iter().flat_map(|d| d.files.iter())) {
        if !known.contains(&f.oid) && !confirmed.contains(&f.oid) {
            wanted.insert(f.oid, f.size);
        }
    }
    let present = check_exists(remote, wanted.keys().copied().collect(), &mut stats).await?;
    confirmed.extend(present.iter().copied());
    let to_send: Vec<Oid> = wanted.keys().filter(|o| !present.contains(o)).copied().collect();
    let missing_locally: Vec<Oid> = to_send.iter().filter(|o| !cache.contains(o)).copied().collect();
    let sendable: Vec<Oid> = to_send.iter().filter(|o| cache.contains(o)).copied().collect();

    let total_bytes: u64 = sendable.iter().map(|o| object_size(cache, o)).sum();
    reporter.start("pushing", sendable.len() as u64, total_bytes);
    let sent = upload_all(remote, cache, &sendable, reporter).await;
    reporter.finish();
    let (sent_ok, sent_bytes, first_err) = sent;
    stats.transferred += sent_ok.len() as u64;
    stats.bytes += sent_bytes;
    confirmed.extend(sent_ok.iter().copied());

    // Manifests go last, and only when every file they list is confirmed there.
    let confirmed_set: HashSet<Oid> = confirmed.iter().chain(known.iter()).copied().collect();
    let ready: Vec<Oid> = dirs
        .iter()
        .filter(|d| d.files.iter().all(|f| confirmed_set.contains(&f.oid)))
        .map(|d| d.manifest)
        .filter(|m| cache.contains(m))
        .collect();
    let (manifests_ok, manifest_bytes, manifest_err) = upload_all(remote, cache, &ready, reporter).await;
    stats.transferred += manifests_ok.len() as u64;
    stats.bytes += manifest_bytes;
    confirmed.extend(manifests_ok);
    index.mark_present(&remote.id, &confirmed);
    let all: HashSet<Oid> = set
        .files
        .iter()
        .chain(set.dirs.iter().flat_map(|d| d.files.iter()))
        .map(|f| f.oid)
        .chain(set.dirs.iter().map(|d| d.manifest))
        .collect();
    let there: HashSet<Oid> = confirmed.iter().chain(known.iter()).copied().collect();
    stats.present = (all.iter().filter(|o| there.contains(o)).count() as u64).saturating_sub(stats.transferred);

    if let Some(e) = first_err.or(manifest_err) {
        return Err(e);
    }
    // `dirs` holds only directories whose manifest is not on the remote: one missing from the
    // cache too cannot be pushed (and its files are unknown).
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
    Ok(stats)
}

/// Which of `oids` are on the remote: the known-present set answers first, then HEAD or LIST
/// requests; what they confirm joins the known-present set.
pub async fn present_on_remote(
    remote: &Remote,
    index: &StatIndex,
    oids: &[Oid],
) -> Result<(HashSet<Oid>, TransferStats)> {
    remote.check_layout(false).await?;
    let mut stats = TransferStats::default();
    let known = index.known_present(&remote.id);
    let unknown: Vec<Oid> =
        oids.iter().filter(|o| !known.contains(o)).copied().collect::<HashSet<_>>().into_iter().collect();
    let found = check_exists(remote, unknown, &mut stats).await?;
    index.mark_present(&remote.id, &found.iter().copied().collect::<Vec<_>>());
    let present = oids.iter().filter(|o| known.contains(o) || found.contains(o)).copied().collect();
    Ok((present, stats))
}

fn object_size(cache: &Cache, oid: &Oid) -> u64 {
    std::fs::metadata(cache.object_path(oid)).map(|m| m.len()).unwrap_or(0)
}

/// Which of `oids` exist on the remote: HEADs when few (or when the remote cannot list),
/// otherwise LISTs of the two-character prefixes in use, after estimating the remote's size.
async fn check_exists(remote: &Remote, oids: Vec<Oid>, stats: &mut TransferStats) -> Result<HashSet<Oid>> {
    if oids.is_empty() {
        return Ok(HashSet::new());
    }
    let use_list = remote.can_list && oids.len() > HEAD_LIMIT && {
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
        return Ok(oids.into_iter().filter(|o| all.contains(o)).collect());
    }
    stats.checks += oids.len() as u64;
    let found: Vec<Option<Oid>> = futures::stream::iter(oids)
        .map(|oid| async move { remote.exists(&oid).await.map(|e| e.then_some(oid)) })
        .buffer_unordered(remote.jobs)
        .try_collect()
        .await?;
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

/// Uploads objects concurrently; returns those that made it, the bytes sent, and the first
/// error (the rest keep going, so a re-run has less to do).
async fn upload_all(
    remote: &Remote,
    cache: &Cache,
    oids: &[Oid],
    reporter: &dyn Reporter,
) -> (Vec<Oid>, u64, Option<anyhow::Error>) {
    let budget = Arc::new(Semaphore::new((BYTES_IN_FLIGHT >> 20) as usize));
    let bytes = AtomicU64::new(0);
    let results: Vec<Result<Oid>> = futures::stream::iter(oids.iter().copied())
        .map(|oid| {
            let budget = budget.clone();
            let bytes = &bytes;
            async move {
                let n = upload_one(remote, cache, &oid, &budget, reporter).await?;
                bytes.fetch_add(n, Ordering::Relaxed);
                reporter.advance(1, 0);
                Ok(oid)
            }
        })
        .buffer_unordered(remote.jobs)
        .collect()
        .await;
    let mut ok = Vec::new();
    let mut first_err = None;
    for r in results {
        match r {
            Ok(o) => ok.push(o),
            Err(e) if first_err.is_none() => first_err = Some(e),
            Err(_) => {}
        }
    }
    (ok, bytes.into_inner(), first_err)
}

async fn upload_one(
    remote: &Remote,
    cache: &Cache,
    oid: &Oid,
    budget: &Semaphore,
    reporter: &dyn Reporter,
) -> Result<u64> {
    let path = cache.object_path(oid);
    let size = tokio::fs::metadata(&path).await.with_context(|| format!("object {oid} is not in the cache"))?.len();
    let key = remote.key(oid);
    let what = || format!("uploading object {}", oid.short());
    if size <= SINGLE_PUT_MAX {
        let mib = (size >> 20) as u32 + 1;
        let _permit = budget.acquire_many(mib).await.expect("semaphore is never closed");
        let data = tokio::fs::read(&path).await.with_context(|| format!("reading `{}`", path.display()))?;
        remote.store().put(&key, PutPayload::from(Bytes::from(data))).await.map_err(|e| remote.error(&what(), e))?;
        reporter.advance(0, size);
        return Ok(size);
    }
    let part = part_size(size);
    let _permit = budget.acquire_many(((2 * part) >> 20) as u32).await.expect("semaphore is never closed");
    let upload = remote.store().put_multipart(&key).await.map_err(|e| remote.error(&what(), e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, part);
    let mut file = tokio::fs::File::open(&path).await.with_context(|| format!("reading `{}`", path.display()))?;
    let mut buf = vec![0u8; 4 << 20];
    loop {
        if let Err(e) = writer.wait_for_capacity(2).await {
            return Err(remote.error(&what(), e));
        }
        let n = file.read(&mut buf).await.with_context(|| format!("reading `{}`", path.display()))?;
        if n == 0 {
            break;
        }
        writer.write(&buf[..n]);
        reporter.advance(0, n as u64);
    }
    writer.finish().await.map_err(|e| remote.error(&what(), e))?;
    Ok(size)
}

/// Downloads `oids` that are not in the cache, verifying each while it streams, publishing
/// them in groups. Returns counts; the first failure is returned after the others finished.
pub async fn fetch(
    remote: &Remote,
    cache: &Cache,
    objects: &[Object],
    reporter: &dyn Reporter,
) -> Result<TransferStats> {
    remote.check_layout(false).await?;
    let mut stats = TransferStats::default();
    let mut seen = HashSet::new();
    let needed: Vec<&Object> = objects.iter().filter(|o| seen.insert(o.oid) && !cache.contains(&o.oid)).collect();
    stats.present = (seen.len() - needed.len()) as u64;
    let total: u64 = needed.iter().filter_map(|o| o.size).sum();
    reporter.start("fetching", needed.len() as u64, total);
    let mut first_err = None;
    for group in needed.chunks(PUBLISH_EVERY) {
        let results: Vec<Result<(std::path::PathBuf, Oid, u64)>> = futures::stream::iter(group.iter())
            .map(|o| async move {
                let r =
                    download(remote, cache, &o.oid, o.size.unwrap_or(crate::ops::MAX_MANIFEST_BYTES), reporter).await;
                reporter.advance(1, 0);
                r
            })
            .buffer_unordered(remote.jobs)
            .collect()
            .await;
        let mut batch = Batch::default();
        for r in results {
            match r {
                Ok((temp, oid, size)) => {
                    cache.stage_verified(temp, oid, &mut batch);
                    stats.transferred += 1;
                    stats.bytes += size;
                }
                Err(e) if first_err.is_none() => first_err = Some(e),
                Err(_) => {}
            }
        }
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || cache.publish(batch)).await.context("publishing downloads")??;
    }
    reporter.finish();
    match first_err {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}

/// Streams one object into the cache's tmp while hashing it on a blocking thread. Aborts past
/// `max_size`; returns the verified temp file.
async fn download(
    remote: &Remote,
    cache: &Cache,
    oid: &Oid,
    max_size: u64,
    reporter: &dyn Reporter,
) -> Result<(std::path::PathBuf, Oid, u64)> {
    let key = remote.key(oid);
    let result = match remote.store().get(&key).await {
        Ok(r) => r,
        Err(object_store::Error::NotFound { .. }) => bail!(crate::error::hinted(
            format!("object {oid} is not on remote `{}` ({})", remote.name, remote.display_url),
            "it was never pushed; push it from a machine that has it (`mvc push`)"
        )),
        Err(e) => return Err(remote.error(&format!("downloading object {}", oid.short()), e)),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let cache_for_writer = cache.clone();
    let writer = tokio::task::spawn_blocking(move || -> Result<(std::path::PathBuf, Oid, u64, bool)> {
        let (mut file, temp) = cache_for_writer.temp_file()?;
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            size += chunk.len() as u64;
            if size > max_size {
                drop(file);
                let _ = std::fs::remove_file(&temp);
                return Ok((temp, Oid::from_bytes([0; 32]), size, true));
            }
            hasher.update(&chunk);
            if let Err(e) = file.write_all(&chunk) {
                let _ = std::fs::remove_file(&temp);
                return Err(e).context("writing a download to the cache's tmp");
            }
        }
        Ok((temp, Oid::from_bytes(*hasher.finalize().as_bytes()), size, false))
    });
    let mut stream = result.into_stream();
    let mut stream_err = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                let n = bytes.len() as u64;
                if tx.send(bytes).await.is_err() {
                    break; // the writer stopped (too large or a disk error)
                }
                reporter.advance(0, n);
            }
            Err(e) => {
                stream_err = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let (temp, got, size, too_big) = writer.await.context("download writer")??;
    let corrupt = |detail: String| -> anyhow::Error {
        let _ = std::fs::remove_file(&temp);
        crate::error::hinted(
            format!(
                "object {oid} on remote `{}` ({}) is corrupt: {detail}; it was not stored",
                remote.name, remote.display_url
            ),
            "push it again from a machine with a good copy, or run `mvc fsck --remote`",
        )
        .into()
    };
    if let Some(e) = stream_err {
        let _ = std::fs::remove_file(&temp);
        return Err(remote.error(&format!("downloading object {}", oid.short()), e));
    }
    if too_big {
        return Err(corrupt(format!("it is larger than the expected {max_size} bytes")));
    }
    if got != *oid {
        return Err(corrupt(format!("its content hashes to {got}")));
    }
    Ok((temp, got, size))
}

/// Downloads (if needed) and validates the manifests of `oids`, returning them by oid.
pub async fn fetch_manifests(
    remote: &Remote,
    cache: &Cache,
    oids: &[Oid],
    reporter: &dyn Reporter,
) -> Result<(BTreeMap<Oid, Manifest>, TransferStats)> {
    let objects: Vec<Object> = oids.iter().map(|o| Object { oid: *o, size: None }).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_fit_s3_limits() {
        assert_eq!(part_size(1 << 30), 16 << 20);
        for size in [5u64 << 40, 500 << 30, (16u64 << 20) * 9_000 + 1] {
            let part = part_size(size) as u64;
            assert!(size.div_ceil(part) <= 10_000, "{size} bytes in {part}-byte parts");
            assert!(part >= 5 << 20);
        }
    }
}
