//! Reading artifacts in the workspace: walking a tracked directory (skipping what
//! `.mvcignore` ignores; refusing symlinks unless told to follow them),
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

/// How a tracked directory is walked.
pub struct WalkRules<'a> {
    /// The cache root: symlinks into it (made by `core.link: [symlink]`) count as the files
    /// they point to.
    pub cache_root: &'a Path,
    /// `.mvcignore` rules: ignored files and directories are skipped.
    pub ignore: &'a crate::mvcignore::MvcIgnore,
    /// Read what symlinks point to (a link to a directory is walked) instead of refusing
    /// them: `add --follow-symlinks`, `core.follow_symlinks`, and the commands that only
    /// compare.
    pub follow_symlinks: bool,
}

/// Walks directory `abs` (the artifact at repo-relative `rel`) and lists its regular files,
/// skipping what `.mvcignore` ignores. Unless `rules.follow_symlinks`, a symlink is refused
/// with an error naming it and saying how to proceed; when following, a link loop or a
/// dangling link is an error naming it. Empty directories are not recorded.
pub fn walk_dir(abs: &Path, rel: &str, rules: &WalkRules) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let ignore_error = std::cell::RefCell::new(None);
    // Whether the entry at `inner` (relative to the artifact) is ignored; a broken
    // `.mvcignore` stops the walk with its own error.
    let ignored = |inner: &Path, is_dir: bool| -> bool {
        let Some(inner) = inner.to_str().filter(|s| !s.is_empty()) else { return false };
        match rules.ignore.ignores_entry(&format!("{rel}/{inner}"), is_dir) {
            Ok(ignored) => ignored,
            Err(e) => {
                ignore_error.borrow_mut().get_or_insert(e);
                false
            }
        }
    };
    let walker =
        walkdir::WalkDir::new(abs).follow_links(rules.follow_symlinks).sort_by_file_name().into_iter().filter_entry(
            |e| {
                e.depth() == 0
                    || !ignored(e.path().strip_prefix(abs).expect("walk stays under its root"), e.file_type().is_dir())
            },
        );
    for entry in walker {
        if let Some(e) = ignore_error.borrow_mut().take() {
            return Err(e);
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().unwrap_or(abs).to_path_buf();
                let inner = path.strip_prefix(abs).unwrap_or(Path::new(""));
                if let Some(ancestor) = e.loop_ancestor() {
                    bail!("`{}` is a symlink loop (it leads back to `{}`)", path.display(), ancestor.display());
                }
                let dangling = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
                    && fs::metadata(&path).is_err();
                if dangling {
                    if ignored(inner, false) {
                        continue;
                    }
                    bail!("`{}` is a dangling symlink (its target does not exist)", path.display());
                }
                return Err(anyhow::Error::new(e).context(format!("reading directory `{}`", abs.display())));
            }
        };
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        // A temp file of an mvc write (in progress, or left by a killed one until the next
        // locked command sweeps it) is never part of the artifact.
        if crate::leftovers::is_temp_name(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let rel_path = entry.path().strip_prefix(abs).expect("walk stays under its root");
        let linked = ft.is_symlink() && fs::read_link(entry.path()).is_ok_and(|t| t.starts_with(rules.cache_root));
        if ft.is_symlink() && !linked {
            bail!(crate::error::hinted(
                format!(
                    "`{}` is a symlink; mvc stores files, not symlinks, inside directories",
                    entry.path().display()
                ),
                format!(
                    "store what it points to with `mvc add --follow-symlinks {}` (or set `core.follow_symlinks: true`), or replace the link with a file",
                    crate::text::shell_quote(rel)
                ),
            ));
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
    if let Some(e) = ignore_error.into_inner() {
        return Err(e);
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
