//! The content-addressed object store (DESIGN §3.1): `<root>/blake3/<2>/<62>`, read-only
//! objects, atomic inserts through `tmp/` with batched durability, and linking objects into
//! the workspace (reflink, copy, hardlink, symlink) without following symlinks.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::hash::{self, Hashed, Oid};

/// Batches at or above this many files are flushed with one `syncfs` instead of one fsync each.
const SYNCFS_THRESHOLD: usize = 64;

/// How the workspace copy of an object is made, tried in the order `core.link` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    /// Copy-on-write clone: instant, independent, needs btrfs/xfs/apfs.
    Reflink,
    /// A full private copy.
    Copy,
    /// A hard link to the read-only cache object.
    Hardlink,
    /// A symbolic link to the cache object.
    Symlink,
}

impl LinkMode {
    /// Parses a `core.link` entry.
    pub fn parse(s: &str) -> Option<LinkMode> {
        Some(match s {
            "reflink" => LinkMode::Reflink,
            "copy" => LinkMode::Copy,
            "hardlink" => LinkMode::Hardlink,
            "symlink" => LinkMode::Symlink,
            _ => return None,
        })
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMode::Reflink => "reflink",
            LinkMode::Copy => "copy",
            LinkMode::Hardlink => "hardlink",
            LinkMode::Symlink => "symlink",
        }
    }

    /// Whether the workspace file shares the cache object (and so must stay read-only).
    pub fn shares_object(self) -> bool {
        matches!(self, LinkMode::Hardlink | LinkMode::Symlink)
    }
}

/// A local object store.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// An object written to `tmp/` and not yet renamed into place.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    oid: Oid,
}

/// Files at least this large are copied into the cache by the kernel and hashed afterwards.
const KERNEL_COPY_MIN: u64 = 16 << 20;

/// A writer that remembers whether a write failed, so a failure of a combined read-and-copy
/// can be told apart from a failure to read.
struct WriteSide<'a, W: Write> {
    inner: &'a mut W,
    failed: bool,
}

impl<W: Write> Write for WriteSide<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| self.failed |= e.kind() != io::ErrorKind::Interrupted)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|e| self.failed |= e.kind() != io::ErrorKind::Interrupted)
    }
}

/// Objects staged by one operation, made durable and visible together by [`Cache::publish`].
#[derive(Debug, Default)]
pub struct Batch {
    staged: Vec<Staged>,
}

impl Batch {
    /// Number of objects waiting to be published.
    pub fn len(&self) -> usize {
        self.staged.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.staged.is_empty()
    }

    /// Adds more staged objects (from a parallel worker's own batch).
    pub fn extend(&mut self, mut other: Batch) {
        self.staged.append(&mut other.staged);
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        // An unpublished batch (an error part-way) leaves no temp files behind.
        for s in &self.staged {
            let _ = fs::remove_file(&s.temp);
        }
    }
}

/// Metadata that identifies a workspace file's version, to detect changes while we read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Change time, nanoseconds since the epoch.
    pub ctime_ns: i64,
    /// Inode number.
    pub inode: u64,
}

impl FileStamp {
    /// The stamp of already-read metadata.
    pub fn of(meta: &fs::Metadata) -> FileStamp {
        FileStamp {
            size: meta.len(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
            inode: meta.ino(),
        }
    }
}

impl Cache {
    /// A cache rooted at `root` (usually `.git/mvc/cache`).
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where an object lives: `<root>/blake3/ab/cdef…`.
    pub fn object_path(&self, oid: &Oid) -> PathBuf {
        let hex = oid.to_hex();
        self.root.join("blake3").join(&hex[..2]).join(&hex[2..])
    }

    /// The staging directory for atomic writes (inside the cache, so renames stay on one
    /// filesystem).
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Every object in the cache with its size, by walking `blake3/`. Files whose names are
    /// not oids (strays) are left out.
    pub fn objects(&self) -> Result<Vec<(Oid, u64)>> {
        let mut out = Vec::new();
        let top = self.root.join("blake3");
        let shards = match fs::read_dir(&top) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e).with_context(|| format!("reading `{}`", top.display())),
        };
        for shard in shards {
            let shard = shard?;
            let Ok(two) = shard.file_name().into_string() else { continue };
            let Ok(entries) = fs::read_dir(shard.path()) else { continue };
            for entry in entries.flatten() {
                let Ok(rest) = entry.file_name().into_string() else { continue };
                let (Ok(oid), Ok(meta)) = (format!("{two}{rest}").parse::<Oid>(), entry.metadata()) else { continue };
                if meta.is_file() {
                    out.push((oid, meta.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes temp files older than `age` from `tmp/`: leftovers of processes killed
    /// mid-write (a live process's temp files are younger). Returns how many went.
    pub fn remove_stale_temps(&self, age: std::time::Duration) -> usize {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else { return 0 };
        let cutoff = std::time::SystemTime::now() - age;
        entries
            .flatten()
            .filter(|e| e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < cutoff))
            .filter(|e| fs::remove_file(e.path()).is_ok())
            .count()
    }

    /// Deletes an object (gc). Workspace hard links to it keep their data.
    pub fn remove(&self, oid: &Oid) -> Result<()> {
        let path = self.object_path(oid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing `{}`", path.display())),
        }
    }

    /// Whether the object is present (by name; `fsck` verifies content).
    pub fn contains(&self, oid: &Oid) -> bool {
        fs::symlink_metadata(self.object_path(oid)).is_ok_and(|m| m.is_file())
    }

    fn new_temp(&self) -> Result<(File, PathBuf)> {
        let dir = self.tmp_dir();
        // The writer's pid in the name lets the next command remove what a killed one left.
        let prefix = format!("obj-{}-", std::process::id());
        let make = || tempfile::Builder::new().prefix(&prefix).tempfile_in(&dir);
        // The directory is created only when missing: one syscall per object saved on adds of
        // many small files.
        let temp = match make() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
                make()
            }
            other => other,
        }
        .with_context(|| format!("creating a temp file in `{}`", dir.display()))?;
        let (file, path) = temp.keep().context("keeping a temp file")?;
        Ok((file, path))
    }

    /// Reads a workspace file once, hashing it and copying it into `tmp/` together, and stages
    /// the copy in `batch` unless the object is already present. Fails if the file changes
    /// while it is read (its metadata before and after must agree).
    pub fn insert_file(
        &self,
        path: &Path,
        batch: &mut Batch,
        on_bytes: &mut dyn FnMut(u64),
    ) -> Result<(Hashed, FileStamp)> {
        let mut file = File::open(path).with_context(|| format!("opening `{}`", path.display()))?;
        let before =
            FileStamp::of(&file.metadata().with_context(|| format!("reading metadata of `{}`", path.display()))?);
        let (mut temp, temp_path) = self.new_temp()?;
        let staged = Staged { temp: temp_path, oid: Oid::from_bytes([0; 32]) };
        // A failure is blamed on the side it happened on: the user's file (reading) or the
        // cache (writing: a full disk is the cache's problem, not the file's).
        let reading = |e: io::Error| anyhow::Error::new(e).context(format!("reading `{}`", path.display()));
        let result = if before.size >= KERNEL_COPY_MIN {
            // Large files: the kernel copies (copy_file_range, which shares extents on
            // filesystems that can), then the immutable copy is hashed on all cores. Faster than
            // pushing every byte through user space, and it hashes exactly what was stored.
            // The kernel does not say which side failed; these kinds only writes can cause.
            use io::ErrorKind as K;
            match std::io::copy(&mut file, &mut temp) {
                Err(e)
                    if matches!(
                        e.kind(),
                        K::StorageFull | K::QuotaExceeded | K::FileTooLarge | K::ReadOnlyFilesystem
                    ) =>
                {
                    Err(self.write_error(e))
                }
                Err(e) => Err(reading(e)),
                Ok(_) => hash::hash_file(&staged.temp, on_bytes)
                    .with_context(|| format!("reading the cache's copy `{}`", staged.temp.display())),
            }
        } else {
            let mut sink = WriteSide { inner: &mut temp, failed: false };
            match hash::hash_stream(&mut file, Some(&mut sink), on_bytes) {
                Ok(h) => Ok(h),
                Err(e) if sink.failed => Err(self.write_error(e)),
                Err(e) => Err(reading(e)),
            }
        };
        let hashed = match result {
            Ok(h) => h,
            Err(e) => {
                let _ = fs::remove_file(&staged.temp);
                return Err(e);
            }
        };
        drop(temp);
        // Followed like the open above: a symlink stored with `--follow-symlinks` is stamped
        // by its target.
        let after =
            FileStamp::of(&fs::metadata(path).with_context(|| format!("reading metadata of `{}`", path.display()))?);
        if before != after || hashed.size != before.size {
            let _ = fs::remove_file(&staged.temp);
            bail!(ChangedWhileReading(path.to_path_buf()));
        }
        if self.contains(&hashed.oid) {
            let _ = fs::remove_file(&staged.temp);
        } else {
            batch.staged.push(Staged { oid: hashed.oid, ..staged });
        }
        Ok((hashed, before))
    }

    /// A failed write into the cache, with what to do when the disk is full.
    fn write_error(&self, e: io::Error) -> anyhow::Error {
        let message = format!("writing to the cache `{}`", self.root.display());
        match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                anyhow::Error::new(e).context(crate::error::hinted(
                    message,
                    "free some space on its disk, or move the cache to a larger one with \
                     `mvc config set --local cache.dir PATH`",
                ))
            }
            _ => anyhow::Error::new(e).context(message),
        }
    }

    /// Stages in-memory bytes (a manifest) as an object; returns its oid.
    pub fn insert_bytes(&self, bytes: &[u8], batch: &mut Batch) -> Result<Oid> {
        let oid = Oid::of_bytes(bytes);
        if self.contains(&oid) {
            return Ok(oid);
        }
        let (mut temp, temp_path) = self.new_temp()?;
        let staged = Staged { temp: temp_path, oid };
        temp.write_all(bytes).with_context(|| format!("writing `{}`", staged.temp.display()))?;
        batch.staged.push(staged);
        Ok(oid)
    }

    /// Stages an already verified temp file (a download) under its oid.
    pub fn stage_verified(&self, temp: PathBuf, oid: Oid, batch: &mut Batch) {
        batch.staged.push(Staged { temp, oid });
    }

    /// A fresh temp file in the cache's `tmp/` for a caller to fill (downloads).
    pub fn temp_file(&self) -> Result<(File, PathBuf)> {
        self.new_temp()
    }

    /// Makes every staged object durable and visible: flush all temp files (in parallel, or
    /// one `syncfs` for large batches), rename each into place read-only, then fsync each
    /// touched `blake3/xx` directory once. Never one fsync per object in sequence.
    pub fn publish(&self, mut batch: Batch) -> Result<()> {
        let staged = std::mem::take(&mut batch.staged);
        if staged.is_empty() {
            return Ok(());
        }
        let cleanup = |items: &[Staged]| {
            for s in items {
                let _ = fs::remove_file(&s.temp);
            }
        };
        if let Err(e) = self.flush(&staged) {
            cleanup(&staged);
            return Err(e);
        }
        let mut dirs: BTreeSet<PathBuf> =
            staged.iter().map(|s| self.object_path(&s.oid).parent().expect("has a parent").to_path_buf()).collect();
        let made = dirs
            .par_iter()
            .try_for_each(|d| fs::create_dir_all(d).with_context(|| format!("creating `{}`", d.display())));
        // Renames run in sequence: they all leave `tmp/`, and in parallel they only contend
        // for its directory lock. Any object not moved stays a temp file and is removed.
        let moved = made.and_then(|()| {
            staged.iter().try_for_each(|s| -> Result<()> {
                let dest = self.object_path(&s.oid);
                fs::set_permissions(&s.temp, fs::Permissions::from_mode(0o444))
                    .with_context(|| format!("making `{}` read-only", s.temp.display()))?;
                fs::rename(&s.temp, &dest).with_context(|| format!("moving an object into `{}`", dest.display()))
            })
        });
        if let Err(e) = moved {
            cleanup(&staged);
            return Err(e);
        }
        dirs.insert(self.root.join("blake3"));
        dirs.into_par_iter().try_for_each(|d| fsync_dir(&d))?;
        Ok(())
    }

    fn flush(&self, staged: &[Staged]) -> Result<()> {
        if staged.len() >= SYNCFS_THRESHOLD && syncfs(&self.tmp_dir()).is_ok() {
            return Ok(());
        }
        staged.par_iter().try_for_each(|s| {
            File::open(&s.temp).and_then(|f| f.sync_all()).with_context(|| format!("flushing `{}`", s.temp.display()))
        })
    }

    /// Reads a whole object into memory, for small objects only (manifests). `limit` guards
    /// against a hostile or corrupt object of absurd size.
    pub fn read_small(&self, oid: &Oid, limit: u64) -> Result<Vec<u8>> {
        let path = self.object_path(oid);
        let len = fs::metadata(&path).with_context(|| format!("object {oid} is not in the cache"))?.len();
        if len > limit {
            bail!("object {oid} is {len} bytes, over the {limit} byte limit for manifests");
        }
        fs::read(&path).with_context(|| format!("reading `{}`", path.display()))
    }

    /// Materializes object `oid` at workspace path `dest`, trying `modes` in order and
    /// falling back when the filesystem refuses. The file is built under a temp name beside
    /// `dest`, verified against `oid`, and renamed over it, so `dest` is never half-written or
    /// wrong; a symlink at `dest` is replaced, never followed. Returns the mode used.
    pub fn link_out(&self, oid: &Oid, dest: &Path, exec: bool, modes: &[LinkMode]) -> Result<LinkMode> {
        let fallback = [LinkMode::Copy];
        let modes = if exec && modes.iter().all(|m| m.shares_object()) { &fallback[..] } else { modes };
        let object = self.object_path(oid);
        let mut last_err = None;
        // A shared read-only object cannot carry an executable bit of its own, so executable
        // files always get a private copy.
        for &mode in modes.iter().filter(|m| !(exec && m.shares_object())) {
            let temp = crate::leftovers::temp_beside(dest);
            let made = match mode {
                LinkMode::Reflink => reflink_copy::reflink(&object, &temp),
                LinkMode::Copy => copy_file(&object, &temp),
                LinkMode::Hardlink => fs::hard_link(&object, &temp),
                LinkMode::Symlink => std::os::unix::fs::symlink(&object, &temp),
            };
            match made {
                Ok(()) => {
                    // Verify what the user gets: a corrupt object never reaches the workspace.
                    let verified = crate::hash::hash_file(&temp, &mut |_| {}).map(|h| h.oid == *oid);
                    if !verified.as_ref().is_ok_and(|ok| *ok) {
                        let _ = fs::remove_file(&temp);
                        bail!(crate::error::hinted(
                            format!(
                                "the cache object {oid} for `{}` is corrupt (its content does not match its oid)",
                                dest.display()
                            ),
                            "`mvc fsck --repair` moves it aside and fetches a good copy from the remote",
                        ));
                    }
                    if !mode.shares_object() {
                        let perm = if exec { 0o755 } else { 0o644 };
                        fs::set_permissions(&temp, fs::Permissions::from_mode(perm))
                            .with_context(|| format!("setting the mode of `{}`", temp.display()))?;
                    }
                    fs::rename(&temp, dest).with_context(|| format!("writing `{}`", dest.display()))?;
                    return Ok(mode);
                }
                Err(e) => {
                    let _ = fs::remove_file(&temp);
                    last_err = Some(e);
                }
            }
        }
        let e = last_err.map(|e| e.to_string()).unwrap_or_else(|| "`core.link` is empty".into());
        bail!("could not create `{}` from the cache with any of core.link's modes: {e}", dest.display())
    }

    /// Whether the workspace file at `path` is a hardlink or symlink to a cache object (and so
    /// must not be edited in place).
    pub fn is_linked_to_cache(&self, path: &Path) -> bool {
        let Ok(meta) = fs::symlink_metadata(path) else { return false };
        if meta.file_type().is_symlink() {
            return fs::read_link(path).is_ok_and(|t| t.starts_with(&self.root));
        }
        meta.nlink() > 1 && meta.permissions().mode() & 0o222 == 0
    }
}

/// A file changed between the start and the end of reading it.
#[derive(Debug, thiserror::Error)]
#[error("`{}` changed while it was being read; try again when it is no longer being written", .0.display())]
pub struct ChangedWhileReading(pub PathBuf);

/// Copies bytes only (no permissions from the read-only object), using the kernel's copy path.
fn copy_file(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = File::open(from)?;
    let mut dst = fs::OpenOptions::new().write(true).create_new(true).open(to)?;
    io::copy(&mut src, &mut dst)?;
    Ok(())
}

/// fsyncs a directory so renames into it survive a crash.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|f| f.sync_all()).with_context(|| format!("flushing directory `{}`", dir.display()))
}

fn syncfs(path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let dir = File::open(path)?;
    // SAFETY: syncfs takes a valid open descriptor, which `dir` holds for the call.
    let rc = unsafe { libc::syncfs(dir.as_raw_fd()) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}
