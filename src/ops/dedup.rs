//! Dedup sources (DESIGN §7): which other versions of an artifact a push to a chunked remote
//! dedups against (their recipes name chunks the remote holds), and which a pull copies chunks
//! from (those whose objects are in the local cache). One walk serves both: the pointer's git
//! history, then the registry's versions of the same path, each bounded by `core.dedup_depth`.

use std::collections::HashMap;

use anyhow::Result;

use crate::hash::Oid;
use crate::ops::transfer::Target;
use crate::pointer::Kind;
use crate::registry_store::{Registry, Resolved};
use crate::repo::Repo;

/// Versions of an artifact looked back at by default (`core.dedup_depth`), along git history
/// and again among registered versions.
pub const DEFAULT_DEDUP_DEPTH: usize = 8;

/// `core.dedup_depth`: how many earlier versions of an artifact each source looks back at.
pub fn dedup_depth(repo: &Repo) -> Result<usize> {
    match crate::config::get_dotted(&repo.config.merged, "core.dedup_depth") {
        None => Ok(DEFAULT_DEDUP_DEPTH),
        Some(v) => match v.as_u64() {
            Some(n @ 0..=1000) => Ok(n as usize),
            _ => anyhow::bail!(
                "`core.dedup_depth` must be a number from 0 to 1000, got `{}`",
                crate::text::sanitize(&v.to_string())
            ),
        },
    }
}

/// For each target's object, the other objects its artifact's pointer named: in git history
/// from HEAD (newest first, at most `core.dedup_depth`), then in the registry (stage holders,
/// then the newest registered versions, at most `core.dedup_depth`), so a branch whose history
/// lacks the earlier version still finds what the registry pinned.
pub fn earlier_versions(repo: &Repo, targets: &[Target]) -> Result<HashMap<Oid, Vec<Oid>>> {
    let depth = dedup_depth(repo)?;
    let mut out: HashMap<Oid, Vec<Oid>> = HashMap::new();
    if depth == 0 {
        return Ok(out);
    }
    // Dedup is an optimisation: a registry that cannot be read only means less of it.
    let registry = Registry::open(repo).ok();
    // Per artifact path: its history's objects and its registered versions' objects.
    let mut seen: HashMap<String, (Vec<Oid>, Vec<Oid>)> = HashMap::new();
    for t in targets {
        if !seen.contains_key(&t.artifact.rel) {
            let history = history_versions(repo, t)?;
            let registered = match &registry {
                Some(reg) => registry_versions(repo, reg, &t.artifact.rel, depth + 1),
                None => Vec::new(),
            };
            seen.insert(t.artifact.rel.clone(), (history, registered));
        }
        let (history, registered) = &seen[&t.artifact.rel];
        let others =
            |list: &[Oid]| -> Vec<Oid> { list.iter().filter(|o| **o != t.pointer.oid).take(depth).copied().collect() };
        let list = out.entry(t.pointer.oid).or_default();
        for oid in others(history).into_iter().chain(others(registered)) {
            if !list.contains(&oid) {
                list.push(oid);
            }
        }
    }
    Ok(out)
}

/// The distinct objects `t`'s pointer named along git history from HEAD, newest first.
fn history_versions(repo: &Repo, t: &Target) -> Result<Vec<Oid>> {
    let mut oids = Vec::new();
    for entry in crate::ops::history::log(repo, &t.artifact)? {
        if let Some(p) = entry.pointer
            && !oids.contains(&p.oid)
        {
            oids.push(p.oid);
        }
    }
    Ok(oids)
}

/// The objects registered versions of artifact path `rel` name: every stage holder first,
/// then the newest registered versions, at most `limit`. The oid comes from the registration
/// tag's message when it names this path, else from the pointer at the version's commit.
fn registry_versions(repo: &Repo, reg: &Registry, rel: &str, limit: usize) -> Vec<Oid> {
    let mut out = Vec::new();
    for (name, s) in reg.states.iter().filter(|(_, s)| s.active) {
        let mut order: Vec<usize> = s.holders.iter().map(|(_, v)| *v).collect();
        order.extend(s.versions_where(false, false, false));
        for i in order {
            if out.len() >= limit {
                return out;
            }
            let v = &s.versions[i];
            let resolved = Resolved { name: name.clone(), version: v.clone(), record: reg.registration(v).cloned() };
            if reg.path_of(&resolved).as_deref() != Some(rel) {
                continue;
            }
            // A tag names the git-root-relative path, as GTO reads it.
            let tagged = resolved
                .record
                .as_ref()
                .filter(|r| r.meta.get("path").is_some_and(|p| *p == repo.git_path(rel)))
                .and_then(|r| r.meta.get("oid")?.parse::<Oid>().ok());
            let oid = tagged.or_else(|| crate::ops::registry::pointer_at(repo, v.commit, rel).ok().map(|p| p.oid));
            if let Some(oid) = oid
                && !out.contains(&oid)
            {
                out.push(oid);
            }
        }
    }
    out
}

/// Objects in the local cache that a pull of `targets` can copy chunks from instead of
/// downloading them: per artifact, the version in the workspace (its pointer, and for a
/// directory the manifest its files were last written from), then its earlier versions
/// ([`earlier_versions`]); only those the cache holds (for a directory, its manifest), never
/// an object the pull itself wants. Targets whose data is all in the cache add none.
pub fn local_sources(repo: &Repo, targets: &[&Target]) -> Result<Vec<Oid>> {
    let cache = repo.cache();
    let wanted: std::collections::HashSet<Oid> = targets.iter().map(|t| t.pointer.oid).collect();
    let written = crate::partial::Partial::load_record(&repo.state_dir(), crate::partial::Record::CheckedOut).ok();
    let mut out: Vec<Oid> = Vec::new();
    let mut add = |oid: Oid| {
        if !wanted.contains(&oid) && !out.contains(&oid) && cache.contains(&oid) {
            out.push(oid);
        }
    };
    for t in targets {
        if let Ok(p) = t.artifact.load_pointer(repo) {
            add(p.oid);
        }
        if t.pointer.kind == Kind::Dir
            && let Some(oid) = written.as_ref().and_then(|w| w.get(&t.artifact.rel))
        {
            add(oid);
        }
    }
    let owned: Vec<Target> = targets.iter().map(|t| (*t).clone()).collect();
    for list in earlier_versions(repo, &owned)?.into_values() {
        for oid in list {
            add(oid);
        }
    }
    Ok(out)
}
