//! Per-directory records in `<git dir>/mvc/state/`, each mapping a directory artifact to a
//! manifest oid, written under the repo lock (not in the stat index, since losing them
//! would lose data):
//! - `partial.json`: after `mvc pull data/sub` the rest of `data` is absent on purpose;
//!   status reports those files as not pulled and `commit` carries them over instead of
//!   recording them as deleted.
//! - `checked-out.json`: the version whose files mvc last wrote or recorded in the work
//!   tree, so checkout deletes only files it wrote, never a user's untracked file.
//! - `interrupted.json`: directories a checkout is writing; an entry left behind means it was
//!   killed half-way, and `add`/`commit` refuse to record that half-written state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::hash::Oid;

/// Which record.
#[derive(Debug, Clone, Copy)]
pub enum Record {
    /// Directories pulled only in part.
    Partial,
    /// The manifest each directory's files were last written or recorded from.
    CheckedOut,
    /// Directories whose checkout is in progress (or was killed).
    Interrupted,
}

/// One record file of one repository.
pub struct Partial {
    path: PathBuf,
    entries: BTreeMap<String, Oid>,
}

impl Partial {
    /// Loads the partial-pull record from the state directory (empty if there is none).
    pub fn load(state_dir: &Path) -> Result<Partial> {
        Partial::load_record(state_dir, Record::Partial)
    }

    /// Loads one record from the state directory (empty if there is none).
    pub fn load_record(state_dir: &Path, record: Record) -> Result<Partial> {
        let name = match record {
            Record::Partial => "partial.json",
            Record::CheckedOut => "checked-out.json",
            Record::Interrupted => "interrupted.json",
        };
        let path = state_dir.join(name);
        let entries = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("reading `{}`", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("reading `{}`", path.display())),
        };
        Ok(Partial { path, entries })
    }

    /// The manifest oid recorded for a directory, if any.
    pub fn get(&self, rel: &str) -> Option<Oid> {
        self.entries.get(rel).copied()
    }

    /// Records (`Some`) or clears (`None`) a directory's entry and saves.
    pub fn set(&mut self, rel: &str, oid: Option<Oid>) -> Result<()> {
        let changed = match oid {
            Some(o) => self.entries.insert(rel.to_string(), o) != Some(o),
            None => self.entries.remove(rel).is_some(),
        };
        if !changed {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            crate::repo::ensure_real_dir(dir)?;
        }
        let bytes = serde_json::to_vec_pretty(&self.entries).expect("a map of strings serializes");
        crate::fsutil::write_atomic(&self.path, &bytes, 0o644)
    }
}
