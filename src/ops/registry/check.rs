//! `mvc check` (the CI gate) and the promote gate: required metadata with thresholds
//! (`registry.required_meta`, enforced on promote under `registry.gate: [promote]`), deps that
//! are tracked and current, data on the remote, and repositories GTO could not read.

use std::path::Path;

use anyhow::{Result, bail};

use crate::registry_store::Registry;
use crate::remote::{backend, transfer};
use crate::repo::Repo;

/// One problem `mvc check` found.
#[derive(Debug, Clone)]
pub struct CheckProblem {
    /// `NAME@vX.Y.Z`.
    pub version: String,
    /// What is wrong (naming the rule).
    pub problem: String,
}

/// A rule of `registry.required_meta`: `KEY` (present) or `KEY OP NUMBER`.
struct Rule {
    text: String,
    key: String,
    bound: Option<(String, f64)>,
    /// Neither form: it fails every version (a gate must not open on a typo).
    malformed: bool,
}

fn rules(repo: &Repo) -> Vec<Rule> {
    let Some(serde_json::Value::Array(a)) = crate::config::get_dotted(&repo.config.merged, "registry.required_meta")
    else {
        return Vec::new();
    };
    a.iter().filter_map(|v| v.as_str()).map(parse_rule).collect()
}

/// `metrics.auc >= 0.9`, `metrics.auc>=0.9` or `desc`.
fn parse_rule(text: &str) -> Rule {
    let op = ["<=", ">=", "==", "!=", "<", ">"].into_iter().find_map(|op| text.find(op).map(|i| (i, op)));
    let (key, bound) = match op {
        Some((i, op)) => {
            (text[..i].trim(), text[i + op.len()..].trim().parse::<f64>().ok().map(|n| (op.to_string(), n)))
        }
        None => (text.trim(), None),
    };
    let malformed = key.is_empty() || key.contains(char::is_whitespace) || (op.is_some() && bound.is_none());
    Rule { text: text.to_string(), key: key.to_string(), bound, malformed }
}

/// The rules `meta` fails, each as a sentence naming the rule.
fn failures(rules: &[Rule], meta: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let mut out = Vec::new();
    for r in rules {
        if r.malformed {
            out.push(format!("rule `{}` is neither `KEY` nor `KEY OP NUMBER`", r.text));
            continue;
        }
        let Some(value) = crate::config::get_dotted(meta, &r.key) else {
            out.push(format!("metadata `{}` is missing (rule `{}`)", r.key, r.text));
            continue;
        };
        if let Some((op, bound)) = &r.bound {
            let n = value.as_f64().or_else(|| value.as_str().and_then(|s| s.parse().ok()));
            let ok = n.is_some_and(|n| match op.as_str() {
                "<" => n < *bound,
                "<=" => n <= *bound,
                ">" => n > *bound,
                ">=" => n >= *bound,
                "==" => n == *bound,
                _ => n != *bound,
            });
            if !ok {
                out.push(format!("metadata `{}` is {value}, which fails rule `{}`", r.key, r.text));
            }
        }
    }
    out
}

/// Refuses `action` (`promote`) for a version failing `registry.required_meta` when
/// `registry.gate` lists the action.
pub(super) fn gate(repo: &Repo, reg: &Registry, name: &str, index: usize, action: &str) -> Result<()> {
    let gated = match crate::config::get_dotted(&repo.config.merged, "registry.gate") {
        Some(serde_json::Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(action)),
        _ => false,
    };
    if !gated {
        return Ok(());
    }
    let state = reg.artifact(name)?;
    let v = &state.versions[index];
    let resolved = crate::registry_store::Resolved {
        name: name.to_string(),
        version: v.clone(),
        record: reg.registration(v).cloned(),
    };
    let Some(path) = reg.path_of(&resolved) else { bail!("`{name}@{}` names no path", v.name) };
    let pointer = super::write::pointer_at(repo, v.commit, &path)?;
    let failed = failures(&rules(repo), &pointer.meta);
    if !failed.is_empty() {
        bail!(crate::error::hinted(
            format!("`{name}@{}` cannot be {action}d: {}", v.name, failed.join("; ")),
            "`registry.gate` enforces `registry.required_meta`; record the metadata with the version's data",
        ));
    }
    Ok(())
}

/// Runs `mvc check`: required metadata, deps, data on the remote, GTO-readability.
pub fn check(
    repo: &Repo,
    names: &[String],
    stage: Option<&str>,
    rt: &tokio::runtime::Runtime,
) -> Result<(usize, Vec<CheckProblem>)> {
    let reg = Registry::open(repo)?;
    let rules = rules(repo);
    let content = reg.by_content();
    let wanted: Vec<&String> = if names.is_empty() { reg.states.keys().collect() } else { names.iter().collect() };
    let remote = backend::choose(repo, None).ok().map(|rc| backend::open(repo, &rc, None)).transpose()?;
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut oids = Vec::new();
    for name in wanted {
        let Some(state) = reg.states.get(name) else {
            problems.push(CheckProblem { version: name.clone(), problem: "has no registered versions".into() });
            continue;
        };
        for c in &state.conflicts {
            problems.push(CheckProblem {
                version: name.clone(),
                problem: format!("{c}: GTO refuses to read a commit with several versions of one artifact"),
            });
        }
        let versions: Vec<usize> = match stage {
            Some(s) => state.holders.iter().filter(|(x, _)| x == s).map(|(_, v)| *v).collect(),
            None => state.versions_where(false, false, false),
        };
        if versions.is_empty() && stage.is_some() {
            problems.push(CheckProblem {
                version: name.clone(),
                problem: format!("nothing is in stage `{}`", stage.unwrap_or("")),
            });
        }
        let tree_cache = |commit: git2::Oid| repo.git.find_commit(commit).and_then(|c| c.tree());
        for i in versions {
            checked += 1;
            let v = &state.versions[i];
            let label = format!("{name}@{}", v.name);
            let resolved = crate::registry_store::Resolved {
                name: name.clone(),
                version: v.clone(),
                record: reg.registration(v).cloned(),
            };
            let Some(path) = reg.path_of(&resolved) else {
                problems.push(CheckProblem { version: label, problem: "its tag names no path".into() });
                continue;
            };
            let pointer = match super::write::pointer_at(repo, v.commit, &path) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(CheckProblem { version: label, problem: format!("{e:#}") });
                    continue;
                }
            };
            for f in failures(&rules, &pointer.meta) {
                problems.push(CheckProblem { version: label.clone(), problem: f });
            }
            let tree = tree_cache(v.commit)?;
            for (dep, dep_oid) in crate::meta::deps(&pointer) {
                let dep_pointer = repo.git_path(&format!("{dep}{}", crate::pointer::SUFFIX));
                let tracked = tree.get_path(Path::new(&dep_pointer)).is_ok();
                let dep_artifact = reg
                    .declared
                    .iter()
                    .find(|(_, d)| reg.project_path(&d.path) == Some(dep.clone()))
                    .map(|(n, _)| n.clone());
                if !tracked && dep_artifact.is_none() {
                    problems.push(CheckProblem {
                        version: label.clone(),
                        problem: format!("dep `{dep}` is neither tracked nor registered"),
                    });
                }
                // A recorded dep that is no longer the dep's current (latest) version.
                if let Some(dep_name) = dep_artifact
                    && let Some(latest) = reg.states.get(&dep_name).and_then(|s| s.latest())
                    && let Some(rec) = reg.registration(latest)
                    && rec.meta.get("oid").is_some_and(|o| *o != dep_oid)
                {
                    let recorded =
                        content.get(&(dep.clone(), dep_oid.clone())).and_then(|l| l.first()).map(|(_, l)| l.clone());
                    problems.push(CheckProblem {
                        version: label.clone(),
                        problem: format!(
                            "dep `{dep}` was recorded at {} but `{dep_name}`'s current version is {}",
                            recorded.unwrap_or_else(|| dep_oid.chars().take(12).collect()),
                            latest.name
                        ),
                    });
                }
            }
            oids.push((label, pointer.oid));
        }
    }
    match &remote {
        Some(remote) => {
            let list: Vec<crate::hash::Oid> = oids.iter().map(|(_, o)| *o).collect();
            let (present, _) = rt.block_on(transfer::present_on_remote(remote, repo.stat_index(), &list))?;
            for (label, oid) in oids.iter().filter(|(_, o)| !present.contains(o)) {
                problems.push(CheckProblem {
                    version: label.clone(),
                    problem: format!("its data ({}) is not on remote `{}`", oid.short(), remote.name),
                });
            }
        }
        None if !oids.is_empty() => {
            problems.push(CheckProblem {
                version: "-".into(),
                problem: "no default remote is configured to check the data on".into(),
            });
        }
        None => {}
    }
    Ok((checked, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_or_without_spaces_and_typos_fail_closed() {
        let meta: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"metrics": {"auc": 0.93}, "desc": "x"}"#).unwrap();
        let check = |text: &str| failures(&[parse_rule(text)], &meta);
        assert!(check("metrics.auc >= 0.9").is_empty());
        assert!(check("metrics.auc>=0.9").is_empty());
        assert!(check("desc").is_empty());
        assert_eq!(
            check("metrics.auc > 0.95"),
            ["metadata `metrics.auc` is 0.93, which fails rule `metrics.auc > 0.95`"]
        );
        assert_eq!(check("metrics.auc >= high"), ["rule `metrics.auc >= high` is neither `KEY` nor `KEY OP NUMBER`"]);
        assert_eq!(check("metrics auc"), ["rule `metrics auc` is neither `KEY` nor `KEY OP NUMBER`"]);
        assert_eq!(check("params.epochs"), ["metadata `params.epochs` is missing (rule `params.epochs`)"]);
    }
}
