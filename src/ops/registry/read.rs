//! Reading the registry: `models`, `show` and `history` report exactly what GTO 1.10 reads
//! from the same tags (DESIGN §3.5).

use anyhow::Result;

use crate::pointer::Pointer;
use crate::registry::{Kind, RegistryRef, TagRecord};
use crate::registry_store::Registry;
use crate::repo::Repo;

/// One artifact in `mvc models` (GTO's `show` entry).
#[derive(Debug, Clone)]
pub struct ModelRow {
    /// Registry name.
    pub name: String,
    /// Declared path, if declared.
    pub path: Option<String>,
    /// Declared type.
    pub kind: Option<String>,
    /// The latest registered version.
    pub latest: Option<String>,
    /// Every stage column with its holder (None: nobody).
    pub stages: Vec<(String, Option<String>)>,
    /// Has registry tags.
    pub registered: bool,
    /// Not deprecated.
    pub active: bool,
}

/// Runs `mvc models` (`deprecated`: include deprecated artifacts, as GTO's `-d`).
pub fn models(repo: &Repo, deprecated: bool) -> Result<Vec<ModelRow>> {
    let reg = Registry::open(repo)?;
    let columns = crate::registry::stage_columns(&reg.states, reg.allowed_stages.as_deref());
    let mut rows = Vec::new();
    for (name, s) in &reg.states {
        if !s.active && !deprecated {
            continue;
        }
        let d = reg.declared.get(name);
        rows.push(ModelRow {
            name: name.clone(),
            path: d.map(|d| d.path.clone()),
            kind: d.map(|d| d.kind.clone()),
            latest: s.latest().map(|v| v.name.clone()),
            stages: columns.iter().map(|c| (c.clone(), s.holder(c).map(|v| v.name.clone()))).collect(),
            registered: s.registered,
            active: s.active,
        });
    }
    Ok(rows)
}

/// One version in `mvc show NAME` (GTO's `show NAME` entry).
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// The artifact.
    pub artifact: String,
    /// The version (a commit hex for an unregistered commit GTO lists).
    pub version: String,
    /// Its commit.
    pub commit: String,
    /// Registered and not deregistered.
    pub active: bool,
    /// Has a register tag.
    pub registered: bool,
    /// Has no register/deregister tag.
    pub discovered: bool,
    /// When its authoring event happened (seconds) and the tagger's offset.
    pub created_at: (i64, i32),
    /// The tag that made it (or the commit).
    pub reference: String,
    /// Stages it holds, in GTO's order.
    pub stages: Vec<String>,
}

/// Runs `mvc show NAME`: every version, newest SemVer first (`all`: deregistered ones and a
/// deprecated artifact's too, as GTO's `-d`).
pub fn show_versions(repo: &Repo, name: &str, all: bool) -> Result<Vec<VersionRow>> {
    let reg = Registry::open(repo)?;
    let s = reg.artifact(name)?;
    if !s.active && !all {
        return Ok(Vec::new());
    }
    let idx = if all { s.all_versions() } else { s.versions_where(true, true, false) };
    Ok(idx
        .into_iter()
        .map(|i| {
            let v = &s.versions[i];
            let offset = reg.registration(v).map(|r| r.offset).unwrap_or(0);
            VersionRow {
                artifact: name.to_string(),
                version: v.name.clone(),
                commit: v.commit.to_string(),
                active: v.active,
                registered: v.registered,
                discovered: v.discovered,
                created_at: (v.created_at, offset),
                reference: v.reference.clone(),
                stages: s.stages_of(i),
            }
        })
        .collect())
}

/// One version in detail (`mvc show NAME@VERSION`).
#[derive(Debug, Clone)]
pub struct VersionDetail {
    /// Registry name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The commit.
    pub commit: git2::Oid,
    /// The registration tag.
    pub registered: Option<TagRecord>,
    /// Artifact path.
    pub path: String,
    /// The pointer at the version's commit.
    pub pointer: Pointer,
    /// Stages this version holds now.
    pub stages: Vec<String>,
    /// Assign events for this version (who promoted it, when).
    pub promotions: Vec<TagRecord>,
    /// Deps: path, oid, the registered version with that content, and whether that is the
    /// dep's latest version.
    pub deps: Vec<(String, String, Option<String>)>,
}

/// Runs `mvc show REF` for one version.
pub fn show(repo: &Repo, r: &RegistryRef) -> Result<VersionDetail> {
    let reg = Registry::open(repo)?;
    let resolved = reg.resolve(r)?;
    let (_, path) = reg.locate(r)?;
    let pointer = super::write::pointer_at(repo, resolved.commit(), &path)?;
    let state = reg.artifact(&resolved.name)?;
    let index = state.versions.iter().rposition(|v| v.name == resolved.version.name && v.commit == resolved.commit());
    let stages = index.map(|i| state.stages_of(i)).unwrap_or_default();
    let promotions = state
        .events
        .iter()
        .filter(|e| e.kind == Kind::Assignment && e.version.as_deref() == Some(resolved.version.name.as_str()))
        .filter_map(|e| e.record.map(|i| reg.records[i].clone()))
        .collect();
    let content = reg.by_content();
    let deps = crate::meta::deps(&pointer)
        .into_iter()
        .map(|(dep_path, oid)| {
            let label = content.get(&(dep_path.clone(), oid.clone())).and_then(|l| l.first()).map(|(_, l)| l.clone());
            (dep_path, oid, label)
        })
        .collect();
    Ok(VersionDetail {
        name: resolved.name.clone(),
        version: resolved.version.name.clone(),
        commit: resolved.commit(),
        registered: resolved.record.clone(),
        path,
        pointer,
        stages,
        promotions,
        deps,
    })
}

/// One event of `mvc history`.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    /// What happened.
    pub kind: Kind,
    /// The version it concerns.
    pub version: Option<String>,
    /// The stage, for stage events.
    pub stage: Option<String>,
    /// The tag.
    pub record: TagRecord,
}

/// Runs `mvc history NAME`: every tag event, newest first, ordered as GTO orders them
/// (time, then its event priority).
pub fn history(repo: &Repo, name: &str) -> Result<Vec<HistoryEvent>> {
    let reg = Registry::open(repo)?;
    let s = reg.artifact(name)?;
    // GTO: artifact events in its own order, stably sorted by (time, priority), reversed.
    let mut events: Vec<&crate::registry::Ev> = s.events.iter().filter(|e| e.record.is_some()).collect();
    events.sort_by_key(|e| (e.time, e.kind));
    events.reverse();
    Ok(events
        .into_iter()
        .map(|e| HistoryEvent {
            kind: e.kind,
            version: e.version.clone(),
            stage: e.stage.clone(),
            record: reg.records[e.record.expect("filtered")].clone(),
        })
        .collect())
}
