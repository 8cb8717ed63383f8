//! Partially checked-out directories (`<git dir>/mvc/state/partial.json`): after `mvc pull data/sub`,
//! the rest of `data` is absent on purpose. Status reports those files as not pulled, and
//! `commit` carries them over instead of recording them as deleted. Kept in a small file
//! written under the repo lock, not in the stat index, because losing it would lose data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::hash::Oid;

/// The partial-checkout record of one repository.
pub struct Partial {
    path: PathBuf,
    entries: BTreeMap<String, Oid>,
}

impl Partial {
    /// Loads the record from the state directory (empty if there is none).
    pub fn load(state_dir: &Path) -> Result<Partial> {
        let path = state_dir.join("partial.json");
        let entries = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("reading `{}`", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("reading `{}`", path.display())),
        };
        Ok(Partial { path, entries })
    }

    /// The manifest oid a partially checked-out directory reflects, if it is partial.
    pub fn get(&self, rel: &str) -> Option<Oid> {
        self.entries.get(rel).copied()
    }

    /// Records (`Some`) or clears (`None`) a directory's partial state and saves.
    pub fn set(&mut self, rel: &str, oid: Option<Oid>) -> Result<()> {
        let changed = match oid {
            Some(o) => self.entries.insert(rel.to_string(), o) != Some(o),
            None => self.entries.remove(rel).is_some(),
        };
        if !changed {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
        }
        let bytes = serde_json::to_vec_pretty(&self.entries).expect("a map of strings serializes");
        crate::fsutil::write_atomic(&self.path, &bytes, 0o644)
    }
}
