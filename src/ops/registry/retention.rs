//! What the registry asks gc to keep (DESIGN §4): the data of every version that holds a
//! stage and of the newest `keep_versions` registered versions of each artifact. Deregistered
//! versions are not kept, so their data becomes collectable.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;

use crate::hash::Oid;
use crate::pointer::Pointer;
use crate::registry_store::{Registry, Resolved};
use crate::repo::Repo;

/// The pointers of stage holders and of the newest `keep_versions` active versions.
pub fn retained_pointers(repo: &Repo, reg: &Registry, keep_versions: usize) -> Result<Vec<Pointer>> {
    let mut out: BTreeMap<Oid, Pointer> = BTreeMap::new();
    for (name, s) in &reg.states {
        if !s.active {
            continue;
        }
        let mut wanted: Vec<usize> = s.holders.iter().map(|(_, v)| *v).collect();
        wanted.extend(s.versions_where(false, false, false).into_iter().take(keep_versions));
        for i in wanted {
            let v = &s.versions[i];
            let resolved = Resolved { name: name.clone(), version: v.clone(), record: reg.registration(v).cloned() };
            let Some(path) = reg.path_of(&resolved) else { continue };
            // A version whose pointer cannot be read has nothing gc could keep for it.
            if let Ok(p) = super::write::pointer_at(repo, v.commit, &path) {
                out.insert(p.oid, p);
            }
        }
    }
    Ok(out.into_values().collect())
}

/// For each registry tag that points at a deregistered version, the artifact path whose data
/// that tag no longer vouches for (DESIGN §4: on a remote, deregistered versions' data become
/// collectable; every other registry tag keeps what it points at, as any tag does).
pub fn deregistered_tag_paths(reg: &Registry) -> HashMap<String, Vec<String>> {
    let mut dropped: HashMap<git2::Oid, Vec<String>> = HashMap::new();
    for (name, s) in &reg.states {
        for v in s.versions.iter().filter(|v| v.registered && !v.active) {
            let resolved = Resolved { name: name.clone(), version: v.clone(), record: reg.registration(v).cloned() };
            if let Some(path) = reg.path_of(&resolved) {
                dropped.entry(v.commit).or_default().push(path);
            }
        }
    }
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in &reg.records {
        if let Some(paths) = dropped.get(&r.commit) {
            out.insert(r.name.clone(), paths.clone());
        }
    }
    out
}
