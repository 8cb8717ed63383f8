//! The stat index (`<git dir>/mvc/state/index.redb`): workspace path -> (size, mtime, inode,
//! oid), so a file whose metadata has not changed is never read again. Racily-clean entries
//! follow git's rule. Every mvc process may open it at once (redb's multi-writer mode):
//! readers never wait, a busy write is skipped, and an unusable index is a cache miss with a
//! warning, never a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use redb::{ConcurrencyMode, Database, ReadableDatabase, TableDefinition};

use crate::cache::FileStamp;
use crate::hash::Oid;

const STAT: TableDefinition<&str, &[u8]> = TableDefinition::new("stat");

/// Objects known to be on a remote: key = 8 bytes naming the remote, then the 32-byte oid.
const PRESENT: TableDefinition<&[u8], ()> = TableDefinition::new("present");

/// How long a write waits for another process's write transaction before skipping (the
/// index is only a cache: a skipped write costs a re-hash later).
const BUSY_WAIT: Duration = Duration::from_millis(300);

/// Memory redb may use for its page cache (its default is 1 GiB).
const PAGE_CACHE_BYTES: usize = 32 << 20;

/// size, mtime, ctime, inode, recorded-at, oid.
const ENTRY_LEN: usize = 8 * 5 + 32;

/// One file's remembered hash.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The file's metadata when it was hashed.
    pub stamp: FileStamp,
    /// Filesystem time (ns) at which the hash was recorded; see [`StatIndex::lookup`].
    pub recorded_ns: i64,
    /// The content oid.
    pub oid: Oid,
}

/// The stat index, opened for one command. Opening never fails: a busy or unreadable index
/// is an empty one, and writes to it are skipped.
pub struct StatIndex {
    db: Option<Database>,
    dir: PathBuf,
}

impl StatIndex {
    /// Opens (or creates) the index in `state_dir`, shared with any other mvc process. The
    /// file is opened without following a symlink. When it cannot be used at all, the
    /// command goes on without it (everything is re-hashed) and the user is told why.
    pub fn open(state_dir: &Path) -> StatIndex {
        let path = state_dir.join("index.redb");
        let opened = crate::repo::ensure_real_dir(state_dir).map_err(|e| format!("{e:#}")).and_then(|()| {
            use std::os::unix::fs::OpenOptionsExt;
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(|e| e.to_string())?;
            let backend = redb::backends::FileBackend::new(file).map_err(|e| e.to_string())?;
            Database::builder()
                .set_concurrency_mode(ConcurrencyMode::MultiWriter)
                .set_cache_size(PAGE_CACHE_BYTES)
                .create_with_backend(backend)
                .map_err(|e| e.to_string())
        });
        let db = match opened {
            Ok(db) => Some(db),
            Err(why) => {
                crate::notices::warn(format!(
                    "the stat index `{}` is unavailable ({why}); every file will be re-hashed",
                    path.display()
                ));
                None
            }
        };
        StatIndex { db, dir: state_dir.to_path_buf() }
    }

    /// A write transaction, waiting up to [`BUSY_WAIT`] for another process's to end.
    fn begin_write(db: &Database) -> Option<redb::WriteTransaction> {
        let started = std::time::Instant::now();
        loop {
            match db.try_begin_write() {
                Ok(txn) => return Some(txn),
                Err(redb::TransactionError::WouldBlock) if started.elapsed() < BUSY_WAIT => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return None,
            }
        }
    }

    /// An index that remembers nothing (for read-only inspection of other revisions).
    pub fn disabled() -> StatIndex {
        StatIndex { db: None, dir: PathBuf::new() }
    }

    /// The current filesystem time, read as the mtime of a file we touch: comparing it with
    /// file mtimes uses the filesystem's own clock and granularity, as git does with its index.
    pub fn now_on_fs(&self) -> i64 {
        use std::os::unix::fs::OpenOptionsExt;
        let marker = self.dir.join("clock");
        let fallback =
            || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64);
        if self.db.is_none() {
            return fallback();
        }
        // Opened without following a symlink, and truncated only as the regular file it is.
        let touched = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&marker)
            .and_then(|f| f.metadata());
        touched.map_or_else(|_| fallback(), |m| FileStamp::of(&m).mtime_ns)
    }

    /// The remembered oid of the file at `rel` if its metadata still matches and the entry is
    /// not racily clean (a file modified in the same tick as it was hashed could have changed
    /// without its mtime showing it, so it is re-hashed).
    pub fn lookup(&self, rel: &str, stamp: &FileStamp) -> Option<Oid> {
        let db = self.db.as_ref()?;
        let txn = db.begin_read().ok()?;
        let table = txn.open_table(STAT).ok()?;
        let value = table.get(rel).ok()??;
        let entry = decode(value.value())?;
        let clean = entry.stamp == *stamp && entry.stamp.mtime_ns < entry.recorded_ns;
        clean.then_some(entry.oid)
    }

    /// Looks up many paths in one read transaction.
    pub fn lookup_many(&self, items: &[(String, FileStamp)]) -> Vec<Option<Oid>> {
        let Some(db) = self.db.as_ref() else { return vec![None; items.len()] };
        let Ok(txn) = db.begin_read() else { return vec![None; items.len()] };
        let Ok(table) = txn.open_table(STAT) else { return vec![None; items.len()] };
        items
            .iter()
            .map(|(rel, stamp)| {
                let value = table.get(rel.as_str()).ok()??;
                let entry = decode(value.value())?;
                (entry.stamp == *stamp && entry.stamp.mtime_ns < entry.recorded_ns).then_some(entry.oid)
            })
            .collect()
    }

    /// Remembers hashes in one transaction. Failures are ignored: the index is only a cache.
    pub fn record(&self, entries: &[(String, Entry)]) {
        let Some(db) = self.db.as_ref() else { return };
        if entries.is_empty() {
            return;
        }
        let write = || -> Result<(), redb::Error> {
            let Some(mut txn) = Self::begin_write(db) else { return Ok(()) };
            // The index is rebuilt by re-hashing if lost, so it does not need its own fsync.
            let _ = txn.set_durability(redb::Durability::None);
            {
                let mut table = txn.open_table(STAT)?;
                for (rel, entry) in entries {
                    table.insert(rel.as_str(), encode(entry).as_slice())?;
                }
            }
            txn.commit()?;
            Ok(())
        };
        let _ = write();
    }

    /// Forgets paths (removed or moved artifacts).
    pub fn forget_prefix(&self, rel: &str) {
        let Some(db) = self.db.as_ref() else { return };
        let forget = || -> Result<(), redb::Error> {
            let Some(txn) = Self::begin_write(db) else { return Ok(()) };
            {
                let mut table = txn.open_table(STAT)?;
                let prefix = format!("{rel}/");
                let _ = table.remove(rel)?;
                table.retain_in(prefix.as_str().., |k, _| !k.starts_with(&prefix))?;
            }
            txn.commit()?;
            Ok(())
        };
        let _ = forget();
    }
}

/// The 8-byte key prefix naming a remote in the known-present set.
fn remote_prefix(remote_id: &str) -> [u8; 8] {
    Oid::of_bytes(remote_id.as_bytes()).as_bytes()[..8].try_into().expect("8 bytes")
}

impl StatIndex {
    /// Objects this machine has confirmed on the remote `remote_id` (pushed or seen there), so
    /// an unchanged second push sends no requests. Empty when the index is busy.
    pub fn known_present(&self, remote_id: &str) -> std::collections::HashSet<Oid> {
        let mut out = std::collections::HashSet::new();
        let Some(db) = self.db.as_ref() else { return out };
        let Ok(txn) = db.begin_read() else { return out };
        let Ok(table) = txn.open_table(PRESENT) else { return out };
        let prefix = remote_prefix(remote_id);
        let mut end = prefix;
        let Some(last) = end.iter_mut().rev().find(|b| **b != 0xff) else { return out };
        *last += 1;
        let Ok(range) = table.range(&prefix[..]..&end[..]) else { return out };
        for item in range.flatten() {
            let key = item.0.value();
            if key.len() == 40 {
                out.insert(Oid::from_bytes(key[8..].try_into().expect("32 bytes")));
            }
        }
        out
    }

    /// Records objects confirmed on a remote.
    pub fn mark_present(&self, remote_id: &str, oids: &[Oid]) {
        let Some(db) = self.db.as_ref() else { return };
        if oids.is_empty() {
            return;
        }
        let prefix = remote_prefix(remote_id);
        let write = || -> Result<(), redb::Error> {
            let Some(mut txn) = Self::begin_write(db) else { return Ok(()) };
            let _ = txn.set_durability(redb::Durability::None);
            {
                let mut table = txn.open_table(PRESENT)?;
                for oid in oids {
                    let mut key = [0u8; 40];
                    key[..8].copy_from_slice(&prefix);
                    key[8..].copy_from_slice(oid.as_bytes());
                    table.insert(&key[..], ())?;
                }
            }
            txn.commit()?;
            Ok(())
        };
        let _ = write();
    }

    /// Forgets single objects on a remote (found missing or corrupt there).
    pub fn forget_present(&self, remote_id: &str, oids: &[Oid]) {
        let Some(db) = self.db.as_ref() else { return };
        if oids.is_empty() {
            return;
        }
        let prefix = remote_prefix(remote_id);
        let forget = || -> Result<(), redb::Error> {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(PRESENT)?;
                for oid in oids {
                    let mut key = [0u8; 40];
                    key[..8].copy_from_slice(&prefix);
                    key[8..].copy_from_slice(oid.as_bytes());
                    table.remove(&key[..])?;
                }
            }
            txn.commit()?;
            Ok(())
        };
        let _ = forget();
    }

    /// Forgets what is known about a remote (after objects were deleted there).
    pub fn forget_remote(&self, remote_id: &str) {
        let Some(db) = self.db.as_ref() else { return };
        let prefix = remote_prefix(remote_id);
        let forget = || -> Result<(), redb::Error> {
            let Some(txn) = Self::begin_write(db) else { return Ok(()) };
            {
                let mut table = txn.open_table(PRESENT)?;
                table.retain(|k, _| !k.starts_with(&prefix))?;
            }
            txn.commit()?;
            Ok(())
        };
        let _ = forget();
    }
}

fn encode(e: &Entry) -> [u8; ENTRY_LEN] {
    let mut out = [0u8; ENTRY_LEN];
    out[0..8].copy_from_slice(&e.stamp.size.to_le_bytes());
    out[8..16].copy_from_slice(&e.stamp.mtime_ns.to_le_bytes());
    out[16..24].copy_from_slice(&e.stamp.ctime_ns.to_le_bytes());
    out[24..32].copy_from_slice(&e.stamp.inode.to_le_bytes());
    out[32..40].copy_from_slice(&e.recorded_ns.to_le_bytes());
    out[40..72].copy_from_slice(e.oid.as_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<Entry> {
    if bytes.len() != ENTRY_LEN {
        return None;
    }
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    let i64_at = |i: usize| i64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    Some(Entry {
        stamp: FileStamp { size: u64_at(0), mtime_ns: i64_at(8), ctime_ns: i64_at(16), inode: u64_at(24) },
        recorded_ns: i64_at(32),
        oid: Oid::from_bytes(bytes[40..72].try_into().expect("32 bytes")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(mtime_ns: i64) -> FileStamp {
        FileStamp { size: 3, mtime_ns, ctime_ns: mtime_ns, inode: 7 }
    }

    #[test]
    fn clean_entries_hit_and_racy_or_changed_ones_miss() {
        let dir = tempfile::tempdir().unwrap();
        let index = StatIndex::open(dir.path());
        let oid = Oid::of_bytes(b"abc");
        index.record(&[
            ("a".into(), Entry { stamp: stamp(100), recorded_ns: 200, oid }),
            ("racy".into(), Entry { stamp: stamp(200), recorded_ns: 200, oid }),
        ]);
        assert_eq!(index.lookup("a", &stamp(100)), Some(oid));
        assert_eq!(index.lookup("a", &stamp(101)), None, "changed mtime");
        assert_eq!(index.lookup("racy", &stamp(200)), None, "racily clean");
        assert_eq!(index.lookup("missing", &stamp(100)), None);
    }

    #[test]
    fn two_handles_share_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let first = StatIndex::open(dir.path());
        first.record(&[("a".into(), Entry { stamp: stamp(1), recorded_ns: 2, oid: Oid::of_bytes(b"") })]);
        // A second command running at the same time reads and writes the same index.
        let second = StatIndex::open(dir.path());
        assert!(second.db.is_some(), "a second handle is never shut out");
        assert_eq!(second.lookup("a", &stamp(1)), Some(Oid::of_bytes(b"")));
        second.record(&[("b".into(), Entry { stamp: stamp(1), recorded_ns: 2, oid: Oid::of_bytes(b"x") })]);
        assert_eq!(first.lookup("b", &stamp(1)), Some(Oid::of_bytes(b"x")));
    }

    #[test]
    fn a_symlinked_index_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("bashrc");
        std::fs::write(&target, "keep me").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("index.redb")).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("clock")).unwrap();
        let index = StatIndex::open(dir.path());
        assert!(index.db.is_none());
        let _ = index.now_on_fs();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }

    #[test]
    fn known_present_is_per_remote() {
        let dir = tempfile::tempdir().unwrap();
        let index = StatIndex::open(dir.path());
        let (a, b) = (Oid::of_bytes(b"a"), Oid::of_bytes(b"b"));
        index.mark_present("s3://x|", &[a]);
        index.mark_present("s3://y|", &[b]);
        assert_eq!(index.known_present("s3://x|").into_iter().collect::<Vec<_>>(), vec![a]);
        index.forget_present("s3://y|", &[a]);
        assert_eq!(index.known_present("s3://y|").len(), 1, "only the named object is forgotten");
        index.forget_present("s3://x|", &[a]);
        assert!(index.known_present("s3://x|").is_empty());
        index.mark_present("s3://x|", &[a]);
        index.forget_remote("s3://x|");
        assert!(index.known_present("s3://x|").is_empty());
        assert_eq!(index.known_present("s3://y|").len(), 1);
    }

    #[test]
    fn forget_prefix_removes_a_directory_and_keeps_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let index = StatIndex::open(dir.path());
        let e = Entry { stamp: stamp(1), recorded_ns: 2, oid: Oid::of_bytes(b"") };
        index.record(&[("d/x".into(), e), ("d/y/z".into(), e), ("d2".into(), e), ("d".into(), e)]);
        index.forget_prefix("d");
        assert!(index.lookup("d/x", &stamp(1)).is_none());
        assert!(index.lookup("d/y/z", &stamp(1)).is_none());
        assert!(index.lookup("d", &stamp(1)).is_none());
        assert!(index.lookup("d2", &stamp(1)).is_some());
    }
}
