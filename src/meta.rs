//! Artifact metadata captured on `add` and `commit` into the pointer's `meta` (it never
//! changes the artifact's oid): description, labels, params and metrics (from files, which
//! are recorded as `sources` and re-read on the next commit, or from `k=v` flags), deps on
//! other tracked artifacts (path and oid: lineage), and the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::config::{get_dotted, parse_cli_value, set_dotted};
use crate::error::hinted;
use crate::pointer::Pointer;
use crate::repo::Repo;

/// What the user asked to record.
#[derive(Debug, Clone, Default)]
pub struct MetaInput {
    /// `--desc`.
    pub desc: Option<String>,
    /// `--label` (repeatable).
    pub labels: Vec<String>,
    /// `--params FILE` (JSON or YAML).
    pub params_file: Option<PathBuf>,
    /// `--metrics FILE` (JSON or YAML).
    pub metrics_file: Option<PathBuf>,
    /// `--param k=v`.
    pub params: Vec<String>,
    /// `--metric k=v`.
    pub metrics: Vec<String>,
    /// `--dep PATH`: tracked artifacts this one was made from.
    pub deps: Vec<PathBuf>,
    /// `--capture-env`.
    pub capture_env: bool,
}

impl MetaInput {
    /// Whether any flag was given.
    pub fn is_empty(&self) -> bool {
        self.desc.is_none()
            && self.labels.is_empty()
            && self.params_file.is_none()
            && self.metrics_file.is_none()
            && self.params.is_empty()
            && self.metrics.is_empty()
            && self.deps.is_empty()
            && !self.capture_env
    }
}

/// The new `meta` for an artifact: `previous` updated with `input`; files recorded in
/// `sources` are re-read when no new file is given, so `mvc commit` after retraining picks up
/// the new metrics. `self_rel` is the artifact itself (it cannot depend on itself).
pub fn apply(
    repo: &Repo,
    cwd: &Path,
    self_rel: &str,
    previous: &Map<String, Value>,
    input: &MetaInput,
) -> Result<Map<String, Value>> {
    let mut meta = previous.clone();
    if let Some(desc) = &input.desc {
        meta.insert("desc".into(), Value::String(desc.clone()));
    }
    if !input.labels.is_empty() {
        let mut labels: Vec<String> = meta
            .get("labels")
            .and_then(|l| l.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        for l in &input.labels {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        meta.insert("labels".into(), labels.into_iter().map(Value::String).collect());
    }
    for (key, file, pairs) in
        [("params", &input.params_file, &input.params), ("metrics", &input.metrics_file, &input.metrics)]
    {
        let source = match file {
            Some(f) => Some(repo.relative(cwd, f)?),
            None => get_dotted(&meta, &format!("sources.{key}")).and_then(|v| v.as_str()).map(str::to_string),
        };
        if let Some(source) = source {
            // A recorded source came with someone's commit: it is read only inside the work
            // tree, never through a symlink (`~/.docker/config.json` must not end up here).
            crate::paths::check_workspace_rel(&source)
                .with_context(|| format!("`meta.sources.{key}` of `{self_rel}.mvc`"))?;
            // Nor a file git ignores (where local secrets live): a recorded source is re-read
            // only when git would show it; the user can still name it with `--{key} PATH`.
            let ignored =
                file.is_none() && repo.git.is_path_ignored(Path::new(&repo.git_path(&source))).unwrap_or(true);
            if ignored {
                crate::notices::warn(format!(
                    "not re-reading `{source}` for `{self_rel}` (its recorded {key} source): git ignores it; pass `--{key} {source}` to read it"
                ));
            }
            let values = if ignored { None } else { read_values(&repo.root, &source, file.is_some())? };
            if let Some(values) = values {
                meta.insert(key.into(), Value::Object(values));
                set_dotted(&mut meta, &format!("sources.{key}"), Value::String(source))?;
            }
        }
        for pair in pairs {
            let Some((k, v)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
                bail!("`{pair}` is not KEY=VALUE");
            };
            let value = normalize_non_finite(parse_cli_value(v));
            if key == "metrics" && number(&value).is_none() {
                bail!(hinted(
                    format!("`{pair}`: a metric must be a number, and `{v}` is not one"),
                    "give a number (`auc=0.91`); text belongs in `--param` or `--desc`",
                ));
            }
            set_dotted(&mut meta, &format!("{key}.{k}"), value)?;
        }
    }
    if !input.deps.is_empty() {
        let mut deps = Vec::new();
        for dep in &input.deps {
            deps.push(dep_entry(repo, cwd, self_rel, dep)?);
        }
        meta.insert("deps".into(), Value::Array(deps));
    }
    if input.capture_env {
        meta.insert("env".into(), Value::Object(environment(&repo.root)));
    }
    Ok(meta)
}

/// Largest params or metrics file read.
const MAX_VALUES_BYTES: u64 = 16 << 20;

/// Reads a params or metrics file (JSON is YAML) at repo-relative `rel`. A recorded source
/// that has gone missing is skipped (`required` false); one named on the command line must
/// exist.
fn read_values(root: &Path, rel: &str, required: bool) -> Result<Option<Map<String, Value>>> {
    let shown = rel;
    let text = match crate::paths::read_workspace_file(root, rel, MAX_VALUES_BYTES)? {
        Some(bytes) => String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("`{shown}` is not valid UTF-8"))?,
        None if !required => return Ok(None),
        None => bail!("`{shown}` does not exist"),
    };
    let value: Value = crate::yaml::parse(&text).map_err(|e| anyhow::anyhow!("`{shown}`: {e}"))?;
    match normalize_non_finite(value) {
        Value::Object(map) => {
            flatten_checked(&Value::Object(map.clone())).map_err(|e| anyhow::anyhow!("`{shown}`: {e}"))?;
            Ok(Some(map))
        }
        Value::Array(_) => bail!(hinted(
            format!("`{shown}` must hold a mapping of names to values, not a list"),
            "a list of steps is a step log: write it as JSON Lines under `logs/` (see `exp.logs`)",
        )),
        _ => bail!("`{shown}` must hold a mapping of names to values"),
    }
}

/// Nested maps flattened to `a.b` keys; lists and scalars are leaves. A literal key `a.b`
/// and a nested `a: {b: …}` both flatten to `a.b`: the later one wins (see
/// [`flatten_checked`], which capture uses to refuse such files).
pub fn flatten_lenient(value: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let _ = flatten_into("", value, &mut out, false);
    out
}

/// Like [`flatten_lenient`], but two keys that flatten to the same name are an error naming
/// it, so no value is silently lost.
pub fn flatten_checked(value: &Value) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    flatten_into("", value, &mut out, true)?;
    Ok(out)
}

fn flatten_into(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>, strict: bool) -> Result<()> {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten_into(&key, child, out, strict)?;
            }
        }
        leaf => {
            if out.insert(prefix.to_string(), leaf.clone()).is_some() && strict {
                bail!(hinted(
                    format!("the key `{}` is given twice (once with dots in its name, once nested)", prefix),
                    "keep one of them: a dotted key and a nested one name the same value",
                ));
            }
        }
    }
    Ok(())
}

/// A value as a number: JSON numbers, and the markers `NaN`, `Infinity` and `-Infinity`
/// that metrics files written by Python hold (JSON has no such numbers).
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// A number as a value: integers stay integers; NaN and infinities become their markers.
pub fn number_value(n: f64) -> Value {
    if n.is_nan() {
        Value::String("NaN".into())
    } else if n.is_infinite() {
        Value::String(if n > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

/// Spellings of NaN and infinity (`nan`, `inf`, `.inf`, `-Infinity`, …) become the markers
/// [`number`] reads, everywhere in `value`.
pub fn normalize_non_finite(value: Value) -> Value {
    match value {
        Value::String(s) => {
            let marker = match s.to_ascii_lowercase().trim_start_matches('+') {
                "nan" | ".nan" => Some("NaN"),
                "inf" | "infinity" | ".inf" => Some("Infinity"),
                "-inf" | "-infinity" | "-.inf" => Some("-Infinity"),
                _ => None,
            };
            Value::String(marker.map(str::to_string).unwrap_or(s))
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize_non_finite).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, normalize_non_finite(v))).collect()),
        other => other,
    }
}

/// Quotes the bare `NaN`, `Infinity` and `-Infinity` that Python's `json` writes outside
/// strings, so a JSON parser reads them as the markers [`number`] understands.
pub fn quote_non_finite(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if let Some(word) = ["-Infinity", "Infinity", "NaN"].into_iter().find(|w| rest.starts_with(w)) {
            out.push('"');
            out.push_str(word);
            out.push('"');
            rest = &rest[word.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `{path, oid}` of a dep, which must be tracked and unmodified (its oid is what this
/// artifact was made from).
fn dep_entry(repo: &Repo, cwd: &Path, self_rel: &str, dep: &Path) -> Result<Value> {
    let rel = repo.relative(cwd, dep)?;
    let rel = rel.strip_suffix(crate::pointer::SUFFIX).map(str::to_string).unwrap_or(rel);
    if rel == self_rel {
        bail!("`{rel}` cannot be its own dep");
    }
    let artifact = crate::ops::Artifact::checked(&rel)?;
    if !repo.abs(&artifact.pointer_rel).is_file() {
        bail!(hinted(
            format!("dep `{rel}` is not tracked by mvc"),
            format!("track it first: `mvc add {}`", crate::text::shell_quote(&rel))
        ));
    }
    let pointer = artifact.load_pointer(repo)?;
    let index = repo.stat_index();
    let (status, _) = crate::ops::status::artifact_status(repo, index, &artifact, &pointer, &crate::progress::Silent)?;
    if status.workspace == crate::ops::status::Workspace::Modified {
        bail!(hinted(
            format!("dep `{rel}` has changes not recorded in its pointer"),
            format!("record them first: `mvc commit {}`", crate::text::shell_quote(&rel)),
        ));
    }
    Ok(serde_json::json!({"path": rel, "oid": pointer.oid.to_hex()}))
}

/// A pointer's deps as (path, oid hex). Entries whose path no artifact may have (they came
/// with someone's commit) are left out.
pub fn deps(pointer: &Pointer) -> Vec<(String, String)> {
    let Some(Value::Array(list)) = pointer.meta.get("deps") else { return Vec::new() };
    list.iter()
        .filter_map(|d| Some((d.get("path")?.as_str()?.to_string(), d.get("oid")?.as_str()?.to_string())))
        .filter(|(path, _)| crate::paths::check_artifact_rel(path).is_ok())
        .collect()
}

/// Lock files whose hash pins the software environment.
const LOCK_FILES: [&str; 6] =
    ["requirements.txt", "poetry.lock", "uv.lock", "environment.yml", "Pipfile.lock", "Cargo.lock"];

/// OS, architecture, CPU, GPUs (`nvidia-smi -L` when present), mvc's version, and the
/// BLAKE3 of lock files at the repo root.
fn environment(root: &Path) -> Map<String, Value> {
    let mut env = Map::new();
    env.insert("os".into(), std::env::consts::OS.into());
    env.insert("arch".into(), std::env::consts::ARCH.into());
    env.insert("mvc".into(), env!("CARGO_PKG_VERSION").into());
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    if let Some(cpu) = cpu {
        env.insert("cpu".into(), crate::text::sanitize(&cpu).into());
    }
    env.insert("cpus".into(), std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).into());
    if let Ok(out) = std::process::Command::new("nvidia-smi").arg("-L").output()
        && out.status.success()
    {
        let gpus: Vec<Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| crate::text::sanitize(l.trim()).into()).collect();
        env.insert("gpus".into(), gpus.into());
    }
    let mut locks = Map::new();
    for name in LOCK_FILES {
        if let Ok(bytes) = std::fs::read(root.join(name)) {
            locks.insert(name.into(), crate::hash::Oid::of_bytes(&bytes).to_hex().into());
        }
    }
    if !locks.is_empty() {
        env.insert("lock_files".into(), Value::Object(locks));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_and_nested_keys_that_collide_are_an_error() {
        let v = serde_json::json!({"a.b": 1, "a": {"b": 2}});
        let err = flatten_checked(&v).unwrap_err().to_string();
        assert!(err.contains("`a.b` is given twice"), "{err}");
        assert!(flatten_checked(&serde_json::json!({"a": {"b": 1}, "a.c": 2})).is_ok());
    }

    #[test]
    fn non_finite_values_read_as_numbers() {
        let v = normalize_non_finite(serde_json::json!({"x": "nan", "y": "-inf", "z": ".inf", "w": "name"}));
        assert_eq!(v, serde_json::json!({"x": "NaN", "y": "-Infinity", "z": "Infinity", "w": "name"}));
        assert!(number(&v["x"]).unwrap().is_nan());
        assert_eq!(number(&v["y"]), Some(f64::NEG_INFINITY));
        assert_eq!(number(&v["w"]), None);
        assert_eq!(number_value(3.0), Value::from(3));
        assert_eq!(number_value(f64::INFINITY), Value::from("Infinity"));
        assert_eq!(
            quote_non_finite(r#"{"loss": NaN, "s": "NaN \" x", "m": -Infinity}"#),
            r#"{"loss": "NaN", "s": "NaN \" x", "m": "-Infinity"}"#
        );
    }
}
