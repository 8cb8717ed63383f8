//! Comparing versions by their recorded metadata (`meta.metrics`, `meta.params`,
//! `meta.deps`): tables of metrics across revisions or registry versions, diffs between two,
//! and the series `mvc plots` draws. Any revision is read from git objects.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::ops::history::{Side, pointers};
use crate::pointer::Pointer;
use crate::repo::Repo;

/// Which part of the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `meta.metrics`.
    Metrics,
    /// `meta.params`.
    Params,
}

impl Section {
    fn key(self) -> &'static str {
        match self {
            Section::Metrics => "metrics",
            Section::Params => "params",
        }
    }
}

/// Nested maps flattened to `a.b` keys; lists and scalars are leaves.
pub fn flatten(value: &Value) -> BTreeMap<String, Value> {
    crate::meta::flatten_lenient(value)
}

/// The values of one section of a pointer, flattened.
pub fn values(pointer: &Pointer, section: Section) -> BTreeMap<String, Value> {
    pointer.meta.get(section.key()).map(flatten).unwrap_or_default()
}

/// One revision (or registry version, or the workspace) to show.
#[derive(Debug, Clone)]
pub struct Column {
    /// How it is shown: `HEAD~1`, `churn@v1.2.0`, `workspace`.
    pub label: String,
    /// Where to read pointers.
    pub side: Side,
    /// Only this artifact (for registry versions), else every artifact with values.
    pub only: Option<String>,
    /// Commit time (None for the workspace), for plots over dates.
    pub time: Option<i64>,
}

/// The selection a command was given.
pub enum Selection {
    /// Revisions or registry references as typed (empty: the workspace).
    Refs(Vec<String>),
    /// Every tag.
    AllTags,
    /// Every registered version of an artifact, oldest first.
    Versions(String),
}

/// Turns a selection into columns, oldest first for versions and tags.
pub fn columns(repo: &Repo, selection: &Selection) -> Result<Vec<Column>> {
    let commit_time = |oid: git2::Oid| repo.git.find_commit(oid).ok().map(|c| c.time().seconds());
    let reg = crate::registry_store::Registry::open(repo)?;
    match selection {
        Selection::Refs(refs) if refs.is_empty() => {
            Ok(vec![Column { label: "workspace".into(), side: Side::Workspace, only: None, time: None }])
        }
        Selection::Refs(refs) => refs
            .iter()
            .map(|r| {
                if r == "workspace" {
                    return Ok(Column { label: r.clone(), side: Side::Workspace, only: None, time: None });
                }
                let commit = crate::revs::resolve(&repo.git, r)?;
                let only = reg
                    .reference(r, || repo.git.revparse_single(r).is_ok())
                    .and_then(|reference| reg.locate(&reference).ok())
                    .map(|(_, path)| path);
                Ok(Column { label: r.clone(), side: Side::Rev(commit.to_string()), only, time: commit_time(commit) })
            })
            .collect(),
        Selection::AllTags => {
            let mut tags: Vec<(i64, String, git2::Oid)> = Vec::new();
            for reference in repo.git.references_glob("refs/tags/*")?.flatten() {
                let (Ok(name), Ok(commit)) = (reference.shorthand(), reference.peel_to_commit()) else { continue };
                tags.push((commit.time().seconds(), name.to_string(), commit.id()));
            }
            tags.sort();
            Ok(tags
                .into_iter()
                .map(|(time, label, oid)| Column {
                    label,
                    side: Side::Rev(oid.to_string()),
                    only: None,
                    time: Some(time),
                })
                .collect())
        }
        Selection::Versions(name) => {
            let state = reg.artifact(name)?;
            let mut idx = state.versions_where(false, false, false);
            idx.reverse();
            Ok(idx
                .into_iter()
                .map(|i| {
                    let v = &state.versions[i];
                    let record = reg.registration(v);
                    let resolved = crate::registry_store::Resolved {
                        name: name.clone(),
                        version: v.clone(),
                        record: record.cloned(),
                    };
                    Column {
                        label: format!("{name}@{}", v.name),
                        side: Side::Rev(v.commit.to_string()),
                        only: reg.path_of(&resolved),
                        time: Some(record.map(|r| r.time).unwrap_or(v.created_at)),
                    }
                })
                .collect())
        }
    }
}

/// A side's pointers for comparing metadata. For the workspace, the params and metrics files
/// named in `meta.sources` are re-read now (as `commit` would record them), so a retrained
/// model's new metrics show before anything is committed.
fn meta_pointers(repo: &Repo, side: &Side) -> Result<BTreeMap<String, Pointer>> {
    let mut out = pointers(repo, side)?;
    if *side == Side::Workspace {
        for (path, pointer) in out.iter_mut() {
            if pointer.meta.contains_key("sources") {
                pointer.meta =
                    crate::meta::apply(repo, &repo.root, path, &pointer.meta, &crate::meta::MetaInput::default())
                        .with_context(|| format!("re-reading the params and metrics files of `{path}`"))?;
            }
        }
    }
    Ok(out)
}

/// A table: one row per (column, artifact) with values, one column per key.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Every key, sorted.
    pub keys: Vec<String>,
    /// (revision label, artifact path, values).
    pub rows: Vec<(String, String, BTreeMap<String, Value>)>,
}

/// `metrics show` / the data behind plots.
pub fn table(repo: &Repo, cols: &[Column], section: Section) -> Result<Table> {
    let mut keys = BTreeSet::new();
    let mut rows = Vec::new();
    for col in cols {
        let before = rows.len();
        for (path, pointer) in meta_pointers(repo, &col.side)? {
            if col.only.as_ref().is_some_and(|o| *o != path) {
                continue;
            }
            let vals = values(&pointer, section);
            if vals.is_empty() {
                continue;
            }
            keys.extend(vals.keys().cloned());
            rows.push((col.label.clone(), path, vals));
        }
        // A run without a metrics file: the last line of each step log stands in.
        if section == Section::Metrics && rows.len() == before && col.only.is_none() {
            for (path, vals) in step_log_metrics(repo, &col.side)? {
                keys.extend(vals.keys().cloned());
                rows.push((col.label.clone(), path, vals));
            }
        }
    }
    Ok(Table { keys: keys.into_iter().collect(), rows })
}

/// Each step log's last line on a side: (log path, values).
fn step_log_metrics(repo: &Repo, side: &Side) -> Result<Vec<(String, BTreeMap<String, Value>)>> {
    let patterns = crate::exp::log_patterns(&repo.config)?;
    let logs = match side {
        Side::Workspace => crate::exp::workspace_logs(&repo.root, &patterns)?,
        Side::Rev(rev) => {
            crate::exp::commit_logs(&repo.git, &repo.scope, crate::revs::resolve(&repo.git, rev)?, &patterns)?
        }
    };
    Ok(logs
        .into_iter()
        .map(|(path, text)| {
            let vals: BTreeMap<String, Value> =
                crate::exp::last_values(&crate::exp::parse_log(&text)).into_iter().collect();
            (path, vals)
        })
        .filter(|(_, vals)| !vals.is_empty())
        .collect())
}

/// One key compared between two sides.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueChange {
    /// The artifact.
    pub path: String,
    /// The flattened key.
    pub key: String,
    /// Before (None: absent).
    pub old: Option<Value>,
    /// After (None: absent).
    pub new: Option<Value>,
}

impl ValueChange {
    /// new - old, when both are numbers.
    pub fn delta(&self) -> Option<f64> {
        Some(self.new.as_ref()?.as_f64()? - self.old.as_ref()?.as_f64()?)
    }

    /// The change relative to old, when both are numbers and old is not zero.
    pub fn relative(&self) -> Option<f64> {
        let old = self.old.as_ref()?.as_f64()?;
        (old != 0.0).then(|| self.delta().map(|d| d / old.abs())).flatten()
    }
}

/// A dep whose recorded version differs between two sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepChange {
    /// The artifact that records the dep.
    pub artifact: String,
    /// The dep's path.
    pub dep: String,
    /// Its oid before (None: not a dep then).
    pub old: Option<String>,
    /// Its oid after.
    pub new: Option<String>,
}

/// What changed in one section between two sides, plus the deps that changed.
#[derive(Debug, Clone, Default)]
pub struct MetaDiff {
    /// Keys whose value differs (or appears, or goes).
    pub changes: Vec<ValueChange>,
    /// Deps recorded with different oids: a metric change may trace to these.
    pub deps: Vec<DepChange>,
}

/// `metrics diff` / `params diff` between two sides.
pub fn meta_diff(repo: &Repo, old: &Column, new: &Column, section: Section) -> Result<MetaDiff> {
    let a = meta_pointers(repo, &old.side)?;
    let b = meta_pointers(repo, &new.side)?;
    let wanted =
        |path: &str| old.only.as_ref().is_none_or(|o| o == path) || new.only.as_ref().is_some_and(|o| o == path);
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).filter(|p| wanted(p)).collect();
    let mut out = MetaDiff::default();
    for path in paths {
        let va = a.get(path).map(|p| values(p, section)).unwrap_or_default();
        let vb = b.get(path).map(|p| values(p, section)).unwrap_or_default();
        let keys: BTreeSet<&String> = va.keys().chain(vb.keys()).collect();
        for key in keys {
            let (o, n) = (va.get(key), vb.get(key));
            if o != n {
                out.changes.push(ValueChange {
                    path: path.clone(),
                    key: key.clone(),
                    old: o.cloned(),
                    new: n.cloned(),
                });
            }
        }
        let da: BTreeMap<String, String> = a.get(path).map(crate::meta::deps).unwrap_or_default().into_iter().collect();
        let db: BTreeMap<String, String> = b.get(path).map(crate::meta::deps).unwrap_or_default().into_iter().collect();
        for dep in da.keys().chain(db.keys()).collect::<BTreeSet<_>>() {
            if da.get(dep) != db.get(dep) {
                out.deps.push(DepChange {
                    artifact: path.clone(),
                    dep: dep.clone(),
                    old: da.get(dep).cloned(),
                    new: db.get(dep).cloned(),
                });
            }
        }
    }
    Ok(out)
}

/// Who made a side and when: the registering tagger for a registry version, else the commit.
pub fn provenance(repo: &Repo, col: &Column) -> Option<(String, i64)> {
    let Side::Rev(rev) = &col.side else { return None };
    if let Ok(reg) = crate::registry_store::Registry::open(repo)
        && let Some(r) = reg.reference(&col.label, || false)
        && let Ok(resolved) = reg.resolve(&r)
        && let Some(record) = resolved.record
    {
        return Some((record.tagger, record.time));
    }
    let commit = repo.git.find_commit(git2::Oid::from_str(rev).ok()?).ok()?;
    Some((crate::text::sanitize(commit.author().name().unwrap_or("?")), commit.time().seconds()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_flatten_with_dots() {
        let v = serde_json::json!({"auc": 0.8, "loss": {"train": 0.3, "val": {"x": 1}}, "tags": [1, 2]});
        let flat = flatten(&v);
        assert_eq!(flat.keys().collect::<Vec<_>>(), ["auc", "loss.train", "loss.val.x", "tags"]);
    }

    #[test]
    fn deltas_only_for_numbers() {
        let c = |o: Value, n: Value| ValueChange { path: "m".into(), key: "k".into(), old: Some(o), new: Some(n) };
        let d = c(0.8.into(), 0.9.into());
        assert!((d.delta().unwrap() - 0.1).abs() < 1e-9);
        assert!((d.relative().unwrap() - 0.125).abs() < 1e-9);
        assert_eq!(c("a".into(), "b".into()).delta(), None);
        assert_eq!(c(0.into(), 1.into()).relative(), None);
    }
}
