//! Reading artifacts in the workspace: walking a tracked directory (refusing symlinks),
//! and finding each file's oid from the stat index or by hashing it, in parallel, optionally
//! storing it in the cache at the same time.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::cache::{Batch, Cache, FileStamp};
use crate::hash::Oid;
use crate::progress::Reporter;
use crate::state::{self, StatIndex};

/// A file found in the workspace, before we know its oid.
#[derive(Debug, Clone)]
pub struct Found {
    /// Path relative to the artifact (for a single file: its own name).
    pub path: String,
    /// Absolute path.
    pub abs: PathBuf,
    /// Metadata at discovery.
    pub stamp: FileStamp,
    /// Executable bit.
    pub exec: bool,
}

/// A file with its oid.
#[derive(Debug, Clone)]
pub struct Known {
    /// Path relative to the artifact.
    pub path: String,
    /// Content oid.
    pub oid: Oid,
    /// Size in bytes.
    pub size: u64,
    /// Executable bit.
    pub exec: bool,
}

/// Result of [`resolve`]: every file's oid, the objects staged in the cache, and how many
/// files had to be read.
pub struct Resolved {
    /// Files in the order given.
    pub files: Vec<Known>,
    /// New objects to publish (empty when not storing).
    pub batch: Batch,
    /// Files actually read (stat index misses).
    pub hashed: u64,
}

/// Walks directory `abs` (an artifact) and lists its regular files. Symlinks are refused with
/// an error naming them; empty directories are not recorded.
///
/// Symlinks that point into the cache (made by `core.link: [symlink]`) count as the files
/// they point to.
pub fn walk_dir(abs: &Path, cache_root: &Path) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(abs).follow_links(false).sort_by_file_name() {
        let entry = entry.with_context(|| format!("reading directory `{}`", abs.display()))?;
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let rel_path = entry.path().strip_prefix(abs).expect("walk stays under its root");
        let linked = ft.is_symlink() && fs::read_link(entry.path()).is_ok_and(|t| t.starts_with(cache_root));
        if ft.is_symlink() && !linked {
            bail!(
                "`{}` is a symlink; mvc does not track symlinks inside directories (replace it with the file or remove it)",
                entry.path().display()
            );
        }
        if !ft.is_file() && !linked {
            bail!("`{}` is not a regular file (socket, fifo or device)", entry.path().display());
        }
        let path =
            rel_path.to_str().with_context(|| format!("`{}` is not valid UTF-8", entry.path().display()))?.to_string();
        crate::manifest::check_entry_path(&path)
            .with_context(|| format!("cannot track `{}`", entry.path().display()))?;
        let meta =
            fs::metadata(entry.path()).with_context(|| format!("reading metadata of `{}`", entry.path().display()))?;
        out.push(Found {
            path,
            abs: entry.path().to_path_buf(),
            stamp: FileStamp::of(&meta),
            exec: meta.permissions().mode() & 0o111 != 0,
        });
    }
    Ok(out)
}

/// A single file artifact as [`Found`] (refusing symlinks and non-files).
pub fn found_file(abs: &Path, name: &str, cache_root: &Path) -> Result<Found> {
    let mut meta = fs::symlink_metadata(abs).with_context(|| format!("reading metadata of `{}`", abs.display()))?;
    if meta.file_type().is_symlink() && fs::read_link(abs).is_ok_and(|t| t.starts_with(cache_root)) {
        meta = fs::metadata(abs).with_context(|| format!("reading `{}`", abs.display()))?;
    }
    if meta.file_type().is_symlink() {
        bail!("`{}` is a symlink; mvc tracks files and directories, not symlinks", abs.display());
    }
    if !meta.is_file() {
        bail!("`{}` is not a regular file", abs.display());
    }
    Ok(Found {
        path: name.to_string(),
        abs: abs.to_path_buf(),
        stamp: FileStamp::of(&meta),
        exec: meta.permissions().mode() & 0o111 != 0,
    })
}

/// Finds the oid of every file: stat-index hits are not read; misses are hashed on all cores
/// (and, with `store`, copied into the cache's tmp in the same read). New hashes are recorded
/// in the index under `key_prefix/path`.
pub fn resolve(
    files: Vec<Found>,
    key_of: &(dyn Fn(&Found) -> String + Sync),
    index: &StatIndex,
    store: Option<&Cache>,
    reporter: &dyn Reporter,
) -> Result<Resolved> {
    let keys: Vec<(String, FileStamp)> = files.iter().map(|f| (key_of(f), f.stamp)).collect();
    let hits = index.lookup_many(&keys);
    let now = index.now_on_fs();
    let mut known: Vec<Option<Known>> = Vec::with_capacity(files.len());
    let mut misses = Vec::new();
    for (i, (file, hit)) in files.iter().zip(hits).enumerate() {
        match hit {
            Some(oid) if store.is_none_or(|c| c.contains(&oid)) => {
                known.push(Some(Known { path: file.path.clone(), oid, size: file.stamp.size, exec: file.exec }));
            }
            _ => {
                known.push(None);
                misses.push(i);
            }
        }
    }
    let miss_bytes: u64 = misses.iter().map(|&i| files[i].stamp.size).sum();
    if !misses.is_empty() {
        reporter.start("hashing", misses.len() as u64, miss_bytes);
    }
    let batch = Mutex::new(Batch::default());
    let recorded = Mutex::new(Vec::new());
    let read_files = AtomicU64::new(0);
    let results: Vec<Result<(usize, Known)>> = misses
        .par_iter()
        .map(|&i| {
            let file = &files[i];
            let mut on_bytes = |n| reporter.advance(0, n);
            let (oid, size, stamp) = match store {
                Some(cache) => {
                    let mut local = Batch::default();
                    let (hashed, stamp) = cache.insert_file(&file.abs, &mut local, &mut on_bytes)?;
                    batch.lock().expect("batch lock").extend(local);
                    (hashed.oid, hashed.size, stamp)
                }
                None => {
                    let hashed = crate::hash::hash_file(&file.abs, &mut on_bytes)
                        .with_context(|| format!("reading `{}`", file.abs.display()))?;
                    (hashed.oid, hashed.size, file.stamp)
                }
            };
            read_files.fetch_add(1, Ordering::Relaxed);
            reporter.advance(1, 0);
            recorded
                .lock()
                .expect("index lock")
                .push((keys[i].0.clone(), state::Entry { stamp, recorded_ns: now, oid }));
            Ok((i, Known { path: file.path.clone(), oid, size, exec: file.exec }))
        })
        .collect();
    if !misses.is_empty() {
        reporter.finish();
    }
    for r in results {
        let (i, k) = r?;
        known[i] = Some(k);
    }
    let batch = batch.into_inner().expect("batch lock");
    let recorded = recorded.into_inner().expect("index lock");
    // Entries are recorded only after their objects are published (see callers) would be
    // stricter, but an index entry names content, not cache presence: callers re-check
    // `contains` before trusting a hit for storage.
    index.record(&recorded);
    Ok(Resolved {
        files: known.into_iter().map(|k| k.expect("every file resolved")).collect(),
        batch,
        hashed: read_files.into_inner(),
    })
}
