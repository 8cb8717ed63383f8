//! Uploads: each cache object is hashed while it streams to the remote and refused if its
//! bytes do not match its name; large objects go in multipart uploads that are aborted on any
//! error or interruption; memory is bounded by a shared byte budget.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use super::Remote;
use super::transfer::{Failure, Failures};
use crate::cache::Cache;
use crate::hash::Oid;
use crate::progress::Reporter;

/// Objects up to this size are uploaded in one PUT; larger ones in multipart uploads.
const SINGLE_PUT_MAX: u64 = 16 << 20;

/// S3 allows 10,000 parts per upload; stay below with margin.
const MAX_PARTS: u64 = 9_000;

/// Cap on upload bytes held in memory at once, across all concurrent transfers (MiB).
const BUDGET_MIB: u32 = 512;

/// Read size while streaming a file into parts.
const READ_BUF: usize = 4 << 20;

/// Part size for a multipart upload of `size` bytes: at least 16 MiB, and large enough to stay
/// under S3's part-count limit for objects of hundreds of GB.
pub fn part_size(size: u64) -> usize {
    let min = 16u64 << 20;
    let needed = size.div_ceil(MAX_PARTS);
    let mib = 1u64 << 20;
    (needed.div_ceil(mib) * mib).max(min) as usize
}

/// How many parts of `part` bytes one upload keeps in flight, and the budget (MiB) it takes:
/// never more than the whole budget, so a huge object (parts above ~256 MiB, objects above
/// ~2 TiB) cannot wait forever for permits that do not exist.
pub fn part_budget(part: usize) -> (usize, u32) {
    let part_mib = (part >> 20) as u32 + 1;
    let in_flight = if part_mib * 2 + 4 <= BUDGET_MIB { 2 } else { 1 };
    (in_flight, (part_mib * in_flight as u32 + 4).min(BUDGET_MIB))
}

/// A cache object whose bytes do not hash to its name: it must not reach the remote.
#[derive(Debug, thiserror::Error)]
#[error("cache object {oid} is corrupt (its content hashes to {got}); it was not uploaded")]
pub struct CorruptInCache {
    /// The object.
    pub oid: Oid,
    /// What its content hashes to.
    pub got: Oid,
}

/// Uploads objects concurrently. Returns those that made it, the bytes sent, and the
/// failures (the rest keep going, so a re-run has less to do, unless the remote stopped).
pub async fn upload_all(
    remote: &Remote,
    cache: &Cache,
    oids: &[Oid],
    reporter: &dyn Reporter,
) -> (Vec<Oid>, u64, Failures) {
    let budget = Semaphore::new(BUDGET_MIB as usize);
    let bytes = AtomicU64::new(0);
    let results: Vec<(Oid, Option<Result<()>>)> = futures::stream::iter(oids.iter().copied())
        .map(|oid| {
            let budget = &budget;
            let bytes = &bytes;
            async move {
                if remote.stop.reason().is_some() {
                    return (oid, None);
                }
                let r = upload_one(remote, cache, &oid, budget, reporter).await;
                match r {
                    Ok(Some(n)) => {
                        bytes.fetch_add(n, Ordering::Relaxed);
                        reporter.advance(1, 0);
                        (oid, Some(Ok(())))
                    }
                    Ok(None) => (oid, None),
                    Err(e) => (oid, Some(Err(e))),
                }
            }
        })
        .buffer_unordered(remote.jobs)
        .collect()
        .await;
    let mut ok = Vec::new();
    let mut failures = Failures::new("uploaded to", remote);
    for (oid, r) in results {
        match r {
            Some(Ok(())) => ok.push(oid),
            Some(Err(e)) => failures.push(Failure { oid, error: e }),
            None => failures.skipped += 1,
        }
    }
    (ok, bytes.into_inner(), failures)
}

/// Uploads one object; `None` when the transfer was stopped before it finished.
async fn upload_one(
    remote: &Remote,
    cache: &Cache,
    oid: &Oid,
    budget: &Semaphore,
    reporter: &dyn Reporter,
) -> Result<Option<u64>> {
    let path = cache.object_path(oid);
    let size = tokio::fs::metadata(&path).await.with_context(|| format!("object {oid} is not in the cache"))?.len();
    let key = remote.key(oid);
    let what = || format!("uploading object {}", oid.short());
    if size <= SINGLE_PUT_MAX {
        let _permit = budget.acquire_many((size >> 20) as u32 + 1).await.expect("semaphore is never closed");
        let read_path = path.clone();
        let (data, got) = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, Oid)> {
            let data = std::fs::read(&read_path).with_context(|| format!("reading `{}`", read_path.display()))?;
            let got = Oid::from_bytes(*blake3::hash(&data).as_bytes());
            Ok((data, got))
        })
        .await
        .context("reading a cache object")??;
        if got != *oid {
            return Err(corrupt(*oid, got));
        }
        let put = remote.store().put(&key, PutPayload::from(Bytes::from(data)));
        tokio::select! {
            r = put => { r.map_err(|e| remote.error(&what(), e))?; }
            _ = remote.stop.raised() => return Ok(None),
        }
        reporter.advance(0, size);
        return Ok(Some(size));
    }

    let part = part_size(size);
    let (in_flight, permits) = part_budget(part);
    let _permit = budget.acquire_many(permits).await.expect("semaphore is never closed");
    let mut upload = remote.store().put_multipart(&key).await.map_err(|e| remote.error(&what(), e))?;
    let outcome = stream_parts(remote, &path, oid, part, in_flight, upload.as_mut(), reporter).await;
    match outcome {
        Ok(true) => match upload.complete().await {
            Ok(_) => Ok(Some(size)),
            Err(e) => {
                abort(upload.as_mut()).await;
                Err(remote.error(&what(), e))
            }
        },
        Ok(false) => {
            abort(upload.as_mut()).await;
            Ok(None)
        }
        Err(e) => {
            abort(upload.as_mut()).await;
            Err(e)
        }
    }
}

/// Reads the file into parts, hashing as it goes, with at most `in_flight` parts sending.
/// Ok(false) when the transfer was stopped; an error when a part failed or the content does
/// not hash to `oid` (then nothing may be completed).
async fn stream_parts(
    remote: &Remote,
    path: &std::path::Path,
    oid: &Oid,
    part: usize,
    in_flight: usize,
    upload: &mut dyn MultipartUpload,
    reporter: &dyn Reporter,
) -> Result<bool> {
    let what = || format!("uploading object {}", oid.short());
    let mut file = tokio::fs::File::open(path).await.with_context(|| format!("reading `{}`", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    let mut pending = FuturesUnordered::new();
    let mut buf = vec![0u8; READ_BUF];
    let mut current: Vec<u8> = Vec::with_capacity(part);
    loop {
        let n = file.read(&mut buf).await.with_context(|| format!("reading `{}`", path.display()))?;
        if n > 0 {
            tokio::task::block_in_place(|| hasher.update(&buf[..n]));
            current.extend_from_slice(&buf[..n]);
        }
        if current.len() >= part || (n == 0 && !current.is_empty()) {
            if n == 0 {
                // The last part goes only once the whole content is known to be right.
                let got = Oid::from_bytes(*hasher.finalize().as_bytes());
                if got != *oid {
                    return Err(corrupt(*oid, got));
                }
            }
            let len = current.len() as u64;
            let data = std::mem::replace(&mut current, Vec::with_capacity(if n == 0 { 0 } else { part }));
            // `put_part` hands back an owned future, so parts send while the next is read.
            let sending = upload.put_part(PutPayload::from(Bytes::from(data)));
            pending.push(async move { sending.await.map(|_| len) });
        }
        while pending.len() >= in_flight || (n == 0 && !pending.is_empty()) {
            tokio::select! {
                done = pending.next() => match done {
                    Some(Ok(len)) => reporter.advance(0, len),
                    Some(Err(e)) => return Err(remote.error(&what(), e)),
                    None => break,
                },
                _ = remote.stop.raised() => return Ok(false),
            }
        }
        if n == 0 {
            break;
        }
    }
    Ok(true)
}

async fn abort(upload: &mut dyn MultipartUpload) {
    // Best effort and bounded: an abort that cannot reach the server leaves the parts to the
    // bucket's lifecycle rules.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), upload.abort()).await;
}

fn corrupt(oid: Oid, got: Oid) -> anyhow::Error {
    crate::error::hinted(
        CorruptInCache { oid, got }.to_string(),
        "run `mvc fsck --repair` to quarantine it and fetch a good copy (or `mvc add` the file again)",
    )
    .into()
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

    #[test]
    fn huge_parts_never_ask_for_more_than_the_budget() {
        for size in [1u64 << 30, 2 << 40, 3 << 40, 5 << 40] {
            let (in_flight, permits) = part_budget(part_size(size));
            assert!(permits <= BUDGET_MIB, "{size}: {permits} MiB");
            assert!(in_flight >= 1);
        }
        assert_eq!(part_budget(16 << 20).0, 2);
    }
}
