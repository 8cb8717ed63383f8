//! `exp show`: every experiment's params and final metrics, read from its commit (pointers'
//! `meta`, else the params file and the last line of its step logs), filtered and sorted.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use serde_json::Value;

use crate::error::hinted;
use crate::exp::{self, RunRecord};
use crate::ops::compare::{ValueChange, flatten};
use crate::repo::Repo;

/// One experiment as `exp show` lists it.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its name.
    pub name: String,
    /// Its commit.
    pub commit: git2::Oid,
    /// The commit it started from.
    pub base: Option<git2::Oid>,
    /// When it was saved (seconds since the epoch).
    pub time: i64,
    /// What `exp run` recorded.
    pub record: RunRecord,
    /// Params, flattened.
    pub params: BTreeMap<String, Value>,
    /// Final metrics, flattened.
    pub metrics: BTreeMap<String, Value>,
}

/// `--where KEY OP VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    key: String,
    op: Op,
    value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Filter {
    /// Parses `auc>0.9`, `lr<=0.01`, `optimizer=adam`, `status!=failed`.
    pub fn parse(text: &str) -> Result<Filter> {
        const OPS: [(&str, Op); 7] = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("!=", Op::Ne),
            ("==", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
        ];
        for (i, _) in text.char_indices() {
            for (sym, op) in OPS {
                if text[i..].starts_with(sym) {
                    let key = text[..i].trim();
                    let raw = text[i + sym.len()..].trim();
                    if key.is_empty() || raw.is_empty() {
                        break;
                    }
                    let value = crate::meta::normalize_non_finite(crate::config::parse_cli_value(raw));
                    return Ok(Filter { key: key.to_string(), op, value });
                }
            }
        }
        bail!(hinted(
            format!("`{text}` is not a condition"),
            "write KEY OP VALUE with one of > >= < <= = !=, e.g. `--where 'auc>0.9'`",
        ))
    }

    fn matches(&self, row: &Row) -> bool {
        let Some(v) = row_value(row, &self.key) else { return false };
        let ordering = match (crate::meta::number(&v), crate::meta::number(&self.value)) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => (v == self.value || cell_text(&v) == cell_text(&self.value))
                .then_some(Ordering::Equal)
                .or(Some(Ordering::Less)),
        };
        match (self.op, ordering) {
            (_, None) => self.op == Op::Ne,
            (Op::Gt, Some(o)) => o == Ordering::Greater,
            (Op::Ge, Some(o)) => o != Ordering::Less,
            (Op::Lt, Some(o)) => o == Ordering::Less,
            (Op::Le, Some(o)) => o != Ordering::Greater,
            (Op::Eq, Some(o)) => o == Ordering::Equal,
            (Op::Ne, Some(o)) => o != Ordering::Equal,
        }
    }
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A row's value for `key`: a metric, else a param, else `status`/`name`.
fn row_value(row: &Row, key: &str) -> Option<Value> {
    if let Some(v) = row.metrics.get(key).or_else(|| row.params.get(key)) {
        return Some(v.clone());
    }
    match key {
        "status" => Some(Value::from(if row.record.failed { "failed" } else { "ok" })),
        "name" => Some(Value::from(row.name.clone())),
        "duration" => row.record.duration.map(Value::from),
        _ => None,
    }
}

/// How to list.
#[derive(Debug, Clone, Default)]
pub struct ShowOptions {
    /// Sort by this metric or param (else by time, then name).
    pub sort_by: Option<String>,
    /// Largest first.
    pub descending: bool,
    /// Keep only rows meeting every condition.
    pub filters: Vec<Filter>,
}

/// What `exp show` lists.
#[derive(Debug, Clone, Default)]
pub struct ShowReport {
    /// Every param key, sorted.
    pub param_keys: Vec<String>,
    /// Every metric key, sorted.
    pub metric_keys: Vec<String>,
    /// The experiments, filtered and sorted.
    pub rows: Vec<Row>,
}

/// Runs `mvc exp show`.
pub fn show(repo: &Repo, opts: &ShowOptions) -> Result<ShowReport> {
    let patterns = exp::log_patterns(&repo.config)?;
    let params_name = params_name(repo);
    let mut rows = Vec::new();
    for (name, commit_id) in exp::list(&repo.git)? {
        let commit = repo.git.find_commit(commit_id)?;
        let (params, metrics) = run_values(repo, commit_id, &patterns, params_name.as_deref())?;
        rows.push(Row {
            name,
            commit: commit_id,
            base: commit.parent_id(0).ok(),
            time: commit.time().seconds(),
            record: exp::parse_message(commit.message().unwrap_or("")),
            params,
            metrics,
        });
    }
    let mut param_keys = BTreeSet::new();
    let mut metric_keys = BTreeSet::new();
    for r in &rows {
        param_keys.extend(r.params.keys().cloned());
        metric_keys.extend(r.metrics.keys().cloned());
    }
    let known =
        |k: &str| param_keys.contains(k) || metric_keys.contains(k) || ["status", "name", "duration"].contains(&k);
    for key in opts.filters.iter().map(|f| &f.key).chain(opts.sort_by.iter()) {
        if !rows.is_empty() && !known(key) {
            bail!(hinted(
                format!("no experiment has a metric or param named `{}`", crate::text::sanitize(key)),
                "the column names of `mvc exp show` are the keys",
            ));
        }
    }
    rows.retain(|r| opts.filters.iter().all(|f| f.matches(r)));
    rows.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.name.cmp(&b.name)));
    if let Some(key) = &opts.sort_by {
        // Rows without the value (or with NaN) go last whichever the order.
        let value = |r: &Row| row_value(r, key).and_then(|v| crate::meta::number(&v)).filter(|n| !n.is_nan());
        rows.sort_by(|a, b| match (value(a), value(b)) {
            (Some(x), Some(y)) => {
                let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                if opts.descending { o.reverse() } else { o }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => {
                let (x, y) = (row_value(a, key).map(|v| cell_text(&v)), row_value(b, key).map(|v| cell_text(&v)));
                match (x, y) {
                    (Some(x), Some(y)) => {
                        if opts.descending {
                            y.cmp(&x)
                        } else {
                            x.cmp(&y)
                        }
                    }
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                }
            }
        });
    }
    Ok(ShowReport {
        param_keys: param_keys.into_iter().collect(),
        metric_keys: metric_keys.into_iter().collect(),
        rows,
    })
}

/// The params file read when no pointer records params (`exp.params`, else `params.yaml`).
fn params_name(repo: &Repo) -> Option<String> {
    match crate::config::get_dotted(&repo.config.merged, "exp.params") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// A commit's params and final metrics: its pointers' `meta` (keys of several artifacts
/// that disagree are prefixed `path:`); without recorded params, its params file; without
/// recorded metrics, the last line of its step logs.
pub fn run_values(
    repo: &Repo,
    commit: git2::Oid,
    patterns: &[String],
    params_file: Option<&str>,
) -> Result<(BTreeMap<String, Value>, BTreeMap<String, Value>)> {
    let pointers = crate::revs::artifacts_at(&repo.git, &repo.scope, commit)?;
    let merge = |section: &str| {
        let per: Vec<(&String, BTreeMap<String, Value>)> =
            pointers.iter().map(|(p, ptr)| (p, ptr.meta.get(section).map(flatten).unwrap_or_default())).collect();
        let mut out: BTreeMap<String, Value> = BTreeMap::new();
        let mut clash = BTreeSet::new();
        for (_, vals) in &per {
            for (k, v) in vals {
                if out.get(k).is_some_and(|old| old != v) {
                    clash.insert(k.clone());
                }
                out.insert(k.clone(), v.clone());
            }
        }
        for k in &clash {
            out.remove(k);
            for (path, vals) in &per {
                if let Some(v) = vals.get(k) {
                    out.insert(format!("{path}:{k}"), v.clone());
                }
            }
        }
        out
    };
    let mut params = merge("params");
    let mut metrics = merge("metrics");
    if params.is_empty() {
        params = tree_params(repo, commit, params_file).unwrap_or_default();
    }
    if metrics.is_empty() {
        metrics = log_metrics(repo, commit, patterns)?;
    }
    Ok((params, metrics))
}

/// The params file at a commit, flattened (None when there is none or it cannot be read).
fn tree_params(repo: &Repo, commit: git2::Oid, name: Option<&str>) -> Option<BTreeMap<String, Value>> {
    let tree = repo.project_tree(commit).ok()??;
    let names: Vec<&str> = match name {
        Some(n) => vec![n],
        None => vec!["params.yaml", "params.yml", "params.json"],
    };
    for n in names {
        let Ok(entry) = tree.get_path(std::path::Path::new(n)) else { continue };
        let blob = repo.git.find_blob(entry.id()).ok()?;
        if blob.size() > crate::yaml::MAX_DOCUMENT_BYTES {
            return None;
        }
        let value: Value = crate::yaml::parse(std::str::from_utf8(blob.content()).ok()?).ok()?;
        return Some(flatten(&crate::meta::normalize_non_finite(value)));
    }
    None
}

/// The last line of each step log at a commit (keys of several logs prefixed `file:`).
pub fn log_metrics(repo: &Repo, commit: git2::Oid, patterns: &[String]) -> Result<BTreeMap<String, Value>> {
    let logs = exp::commit_logs(&repo.git, &repo.scope, commit, patterns)?;
    Ok(last_lines(&logs))
}

/// The last step of each log as metrics: plain keys for one log, `file:key` for several.
pub fn last_lines(logs: &[(String, String)]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (path, text) in logs {
        for (k, v) in exp::last_values(&exp::parse_log(text)) {
            let key = if logs.len() == 1 { k } else { format!("{path}:{k}") };
            out.insert(key, v);
        }
    }
    out
}

/// `exp diff A B`: params and final metrics that differ between two experiments (or any
/// revisions), read as `exp show` reads them.
pub fn diff(repo: &Repo, old: &str, new: &str) -> Result<(Vec<ValueChange>, Vec<ValueChange>)> {
    let patterns = exp::log_patterns(&repo.config)?;
    let name = params_name(repo);
    let a = run_values(repo, crate::revs::resolve(&repo.git, old)?, &patterns, name.as_deref())?;
    let b = run_values(repo, crate::revs::resolve(&repo.git, new)?, &patterns, name.as_deref())?;
    let changes = |x: &BTreeMap<String, Value>, y: &BTreeMap<String, Value>| {
        x.keys()
            .chain(y.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|k| x.get(*k) != y.get(*k))
            .map(|k| ValueChange {
                path: String::new(),
                key: k.clone(),
                old: x.get(k).cloned(),
                new: y.get(k).cloned(),
            })
            .collect::<Vec<_>>()
    };
    Ok((changes(&a.0, &b.0), changes(&a.1, &b.1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(auc: f64) -> Row {
        Row {
            name: "x".into(),
            commit: git2::Oid::ZERO_SHA1,
            base: None,
            time: 0,
            record: RunRecord::default(),
            params: BTreeMap::from([("opt".into(), Value::from("adam"))]),
            metrics: BTreeMap::from([("auc".into(), Value::from(auc))]),
        }
    }

    #[test]
    fn conditions_compare_numbers_and_text() {
        assert!(Filter::parse("auc>0.9").unwrap().matches(&row(0.95)));
        assert!(!Filter::parse("auc>0.9").unwrap().matches(&row(0.9)));
        assert!(Filter::parse("auc >= 0.9").unwrap().matches(&row(0.9)));
        assert!(Filter::parse("opt=adam").unwrap().matches(&row(0.1)));
        assert!(Filter::parse("opt!=sgd").unwrap().matches(&row(0.1)));
        assert!(!Filter::parse("missing<1").unwrap().matches(&row(0.1)));
        assert!(Filter::parse("status=ok").unwrap().matches(&row(0.1)));
        assert!(Filter::parse("auc").is_err());
        assert!(Filter::parse(">1").is_err());
    }
}
