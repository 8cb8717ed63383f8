//! Downloads and remote verification: every object is hashed while it streams; one that
//! arrives corrupt is fetched once more to tell a bad remote copy from a bad transfer;
//! nothing unverified enters the cache, and a download that does not finish leaves no file.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;

use super::Remote;
use super::transfer::{Failure, Failures, Object, TransferStats};
use crate::cache::{Batch, Cache};
use crate::hash::Oid;
use crate::progress::Reporter;

/// Downloads are published to the cache in groups this large, so an interrupted run keeps
/// what it finished.
const PUBLISH_EVERY: usize = 256;

/// A verified download: its temp file and size.
type Fetched = (PathBuf, u64);

/// What one download attempt produced.
enum Got {
    /// The content hashed to the oid: a temp file ready to publish.
    Verified(PathBuf, u64),
    /// The content hashed to something else (or was too large); nothing was kept.
    Mismatch(Option<Oid>),
    /// The object is not on the remote.
    Missing,
    /// The transfer was stopped before it finished; nothing was kept.
    Stopped,
}

/// Downloads `objects` that are not in the cache, verifying each while it streams,
/// publishing them in groups. Every failing object is counted, the first ten named.
pub async fn fetch(
    remote: &Remote,
    cache: &Cache,
    objects: &[Object],
    reporter: &dyn Reporter,
) -> Result<TransferStats> {
    fetch_reusing(remote, cache, objects, &[], reporter).await
}

/// [`fetch`], taking from cache objects `sources` (other versions of the same artifacts) the
/// chunks they share with what is fetched, on a chunked remote; a loose remote ignores them.
pub async fn fetch_reusing(
    remote: &Remote,
    cache: &Cache,
    objects: &[Object],
    sources: &[Oid],
    reporter: &dyn Reporter,
) -> Result<TransferStats> {
    remote.check_layout(false).await?;
    let _active = remote.stop.activate();
    if let super::Layout::Chunked(_) = remote.layout() {
        return super::chunked::fetch(remote, cache, objects, sources, reporter).await;
    }
    let mut stats = TransferStats::default();
    let mut seen = HashSet::new();
    let needed: Vec<&Object> = objects.iter().filter(|o| seen.insert(o.oid) && !cache.contains(&o.oid)).collect();
    stats.present = (seen.len() - needed.len()) as u64;
    let total: u64 = needed.iter().filter_map(|o| o.size).sum();
    reporter.start("fetching", needed.len() as u64, total);
    let mut failures = Failures::new("downloaded from", remote);
    for group in needed.chunks(PUBLISH_EVERY) {
        let results: Vec<(Oid, Result<Option<Fetched>>)> = futures::stream::iter(group.iter())
            .map(|o| async move {
                if remote.stop.reason().is_some() {
                    return (o.oid, Ok(None));
                }
                let max = o.size.unwrap_or(crate::ops::MAX_MANIFEST_BYTES);
                let r = fetch_one(remote, cache, &o.oid, max, reporter).await;
                reporter.advance(1, 0);
                (o.oid, r)
            })
            .buffer_unordered(remote.jobs)
            .collect()
            .await;
        let mut batch = Batch::default();
        for (oid, r) in results {
            match r {
                Ok(Some((temp, size))) => {
                    cache.stage_verified(temp, oid, &mut batch);
                    stats.transferred += 1;
                    stats.bytes += size;
                }
                Ok(None) => failures.skipped += 1,
                Err(error) => failures.push(Failure { oid, error }),
            }
        }
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || cache.publish(batch)).await.context("publishing downloads")??;
        if remote.stop.reason().is_some() {
            break;
        }
    }
    reporter.finish();
    failures.into_result(stats)
}

/// One object into the cache's tmp, fetched a second time if it arrives corrupt.
async fn fetch_one(
    remote: &Remote,
    cache: &Cache,
    oid: &Oid,
    max: u64,
    reporter: &dyn Reporter,
) -> Result<Option<(PathBuf, u64)>> {
    let first = match download(remote, cache, oid, max, reporter).await? {
        Got::Verified(temp, size) => return Ok(Some((temp, size))),
        Got::Stopped => return Ok(None),
        Got::Missing => return Err(missing(remote, oid)),
        Got::Mismatch(got) => got,
    };
    let second = match download(remote, cache, oid, max, reporter).await? {
        Got::Verified(temp, size) => return Ok(Some((temp, size))),
        Got::Stopped => return Ok(None),
        Got::Missing => return Err(missing(remote, oid)),
        Got::Mismatch(got) => got,
    };
    let (name, url) = (&remote.name, &remote.display_url);
    if first == second {
        remote.note_lost(*oid);
        let detail = match first {
            Some(got) => format!("its content hashes to {got} (the same on two downloads)"),
            None => format!("it is larger than the expected {max} bytes (on two downloads)"),
        };
        return Err(crate::error::hinted(
            format!("object {oid} on remote `{name}` ({url}) is corrupt: {detail}; it was not stored"),
            "the remote copy is bad: repair it from a machine with a good copy with `mvc push --verify` (or `mvc fsck -c --repair`)",
        )
        .into());
    }
    Err(crate::error::hinted(
        format!(
            "object {oid} from remote `{name}` ({url}) arrived corrupt twice with different content: the transfer, not the remote copy, is at fault; it was not stored"
        ),
        "re-run; if it keeps happening, check proxies or the network between you and the remote",
    )
    .into())
}

fn missing(remote: &Remote, oid: &Oid) -> anyhow::Error {
    remote.note_lost(*oid);
    crate::error::hinted(
        format!("object {oid} is not on remote `{}` ({})", remote.name, remote.display_url),
        "push it from a machine that has it: `mvc push` (or `mvc push --verify` if that says it is already there)",
    )
    .into()
}

/// Streams one object into the cache's tmp while hashing it on a blocking thread. Stops past
/// `max_size`. The temp file is removed unless it is returned verified.
async fn download(remote: &Remote, cache: &Cache, oid: &Oid, max_size: u64, reporter: &dyn Reporter) -> Result<Got> {
    let key = remote.key(oid);
    let what = || format!("downloading object {}", oid.short());
    let result = tokio::select! {
        r = remote.store().get(&key) => r,
        _ = remote.stop.raised() => return Ok(Got::Stopped),
    };
    let result = match result {
        Ok(r) => r,
        Err(object_store::Error::NotFound { .. }) => return Ok(Got::Missing),
        Err(e) => return Err(remote.error(&what(), e)),
    };
    // `None` tells the writer the stream ended; a channel closed without it means the download
    // was abandoned, and the writer removes its temp file.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<Bytes>>(8);
    let cache_for_writer = cache.clone();
    let writer = tokio::task::spawn_blocking(move || -> Result<Option<(PathBuf, Oid, u64, bool)>> {
        let (mut file, temp) = cache_for_writer.temp_file()?;
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        loop {
            match rx.blocking_recv() {
                Some(Some(chunk)) => {
                    size += chunk.len() as u64;
                    if size > max_size {
                        drop(file);
                        let _ = std::fs::remove_file(&temp);
                        return Ok(Some((temp, Oid::from_bytes([0; 32]), size, true)));
                    }
                    hasher.update(&chunk);
                    if let Err(e) = file.write_all(&chunk) {
                        drop(file);
                        let _ = std::fs::remove_file(&temp);
                        return Err(e).context("writing a download to the cache's tmp");
                    }
                }
                Some(None) => break,
                None => {
                    drop(file);
                    let _ = std::fs::remove_file(&temp);
                    return Ok(None);
                }
            }
        }
        Ok(Some((temp, Oid::from_bytes(*hasher.finalize().as_bytes()), size, false)))
    });
    let mut stream = result.into_stream();
    let mut stream_err = None;
    loop {
        let next = tokio::select! {
            n = stream.next() => n,
            // Abandoned: the writer sees the channel close without the end marker.
            _ = remote.stop.raised() => break,
        };
        match next {
            Some(Ok(bytes)) => {
                let n = bytes.len() as u64;
                if tx.send(Some(bytes)).await.is_err() {
                    break; // the writer stopped (too large or a disk error)
                }
                reporter.advance(0, n);
            }
            Some(Err(e)) => {
                stream_err = Some(e);
                break;
            }
            None => {
                let _ = tx.send(None).await;
                break;
            }
        }
    }
    drop(tx);
    let written = writer.await.context("download writer")??;
    let Some((temp, got, size, too_big)) = written else {
        return match stream_err {
            Some(e) => Err(remote.error(&what(), e)),
            None => Ok(Got::Stopped),
        };
    };
    if too_big {
        return Ok(Got::Mismatch(None));
    }
    if got != *oid {
        let _ = std::fs::remove_file(&temp);
        return Ok(Got::Mismatch(Some(got)));
    }
    Ok(Got::Verified(temp, size))
}

/// What a remote holds for an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteCopy {
    /// Its content hashes to its name.
    Good,
    /// It is not there.
    Missing,
    /// Its content hashes to something else.
    Corrupt,
}

/// Streams each object from the remote through BLAKE3 (nothing is stored; memory is bounded
/// by concurrency); returns the objects that are missing or corrupt. What is found bad is
/// dropped from the known-present set by the caller ([`Remote::forget_lost`]).
pub async fn verify(remote: &Remote, oids: &[Oid], reporter: &dyn Reporter) -> Result<Vec<(Oid, RemoteCopy)>> {
    remote.check_layout(false).await?;
    if let super::Layout::Chunked(_) = remote.layout() {
        // Each oid is proven through its own recipe.
        let damage = super::chunked::verify_streaming(remote, oids, reporter).await?;
        return Ok(damage.into_iter().map(|d| (d.oid, d.copy)).collect());
    }
    let _active = remote.stop.activate();
    reporter.start("verifying on the remote", oids.len() as u64, 0);
    let results: Vec<Option<(Oid, RemoteCopy)>> = futures::stream::iter(oids.iter().copied())
        .map(|oid| async move {
            let state = tokio::select! {
                r = verify_one(remote, &oid, reporter) => r?,
                _ = remote.stop.raised() => return Err(remote.stop.error().unwrap_or_else(|| anyhow::anyhow!("stopped"))),
            };
            reporter.advance(1, 0);
            if state != RemoteCopy::Good {
                remote.note_lost(oid);
            }
            anyhow::Ok((state != RemoteCopy::Good).then_some((oid, state)))
        })
        .buffer_unordered(remote.jobs)
        .try_collect()
        .await
        .map_err(|e| remote.stop.error().unwrap_or(e))?;
    reporter.finish();
    Ok(results.into_iter().flatten().collect())
}

async fn verify_one(remote: &Remote, oid: &Oid, reporter: &dyn Reporter) -> Result<RemoteCopy> {
    let what = || format!("reading object {}", oid.short());
    let mut stream = match remote.store().get(&remote.key(oid)).await {
        Ok(r) => r.into_stream(),
        Err(object_store::Error::NotFound { .. }) => return Ok(RemoteCopy::Missing),
        Err(e) => return Err(remote.error(&what(), e)),
    };
    let mut hasher = blake3::Hasher::new();
    while let Some(chunk) = stream.try_next().await.map_err(|e| remote.error(&what(), e))? {
        tokio::task::block_in_place(|| hasher.update(&chunk));
        reporter.advance(0, chunk.len() as u64);
    }
    let found = Oid::from_bytes(*hasher.finalize().as_bytes());
    Ok(if found == *oid { RemoteCopy::Good } else { RemoteCopy::Corrupt })
}
