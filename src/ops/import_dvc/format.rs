//! DVC's files, read as untrusted input: `.dvc` files, `dvc.yaml`, `dvc.lock` (DVC 2 and 3),
//! `.dvc/config` (INI) and the `.dir` manifests of its cache. Every path they name is made
//! repo-relative here and must pass [`crate::paths::check_artifact_rel`] before use.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Largest `dvc.lock`/`dvc.yaml` read (they list every dependency of every stage).
const MAX_PIPELINE_BYTES: usize = 16 << 20;
/// Largest `.dir` manifest read (about a million files).
pub const MAX_DIR_MANIFEST_BYTES: u64 = 256 << 20;

/// One output as a `.dvc` file or `dvc.lock` records it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawOut {
    /// Relative to the file's directory (and its `wdir`).
    pub path: String,
    /// Hex md5 of the content; a directory's ends in `.dir` (its manifest's md5).
    #[serde(default)]
    pub md5: Option<String>,
    /// Bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// `md5` (DVC 3); absent in DVC 2 files, whose md5 of text files ignored `\r`.
    #[serde(default)]
    pub hash: Option<String>,
    /// `desc:`.
    #[serde(default)]
    pub desc: Option<String>,
    /// `type:`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `labels:`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// `meta:` of the output.
    #[serde(default)]
    pub meta: Option<Map<String, Value>>,
    /// `cache: false` outputs are tracked by git, not DVC.
    #[serde(default)]
    pub cache: Option<bool>,
}

impl RawOut {
    /// The md5 without `.dir`, and whether it names a directory.
    pub fn md5(&self) -> Option<(String, bool)> {
        let md5 = self.md5.as_deref()?;
        let (hex, dir) = match md5.strip_suffix(".dir") {
            Some(h) => (h, true),
            None => (md5, false),
        };
        (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| (hex.to_ascii_lowercase(), dir))
    }

    /// Whether DVC 2 hashed it (text files with `\r\n` hashed as `\n`).
    pub fn legacy(&self) -> bool {
        self.hash.as_deref() != Some("md5")
    }
}

/// A `.dvc` file.
#[derive(Debug, Deserialize)]
pub struct DvcFile {
    /// Tracked outputs (normally one).
    #[serde(default)]
    pub outs: Vec<RawOut>,
    /// Working directory of the paths, relative to the file's directory.
    #[serde(default)]
    pub wdir: Option<String>,
    /// File-level `meta:`.
    #[serde(default)]
    pub meta: Option<Map<String, Value>>,
}

/// One stage of `dvc.lock`.
#[derive(Debug, Deserialize)]
pub struct LockStage {
    /// The command (a string or a list).
    #[serde(default)]
    pub cmd: Option<Value>,
    /// What it read.
    #[serde(default)]
    pub deps: Vec<RawOut>,
    /// What it wrote.
    #[serde(default)]
    pub outs: Vec<RawOut>,
}

/// `dvc.lock` (schema 2.0, DVC 2 and 3).
#[derive(Debug, Deserialize)]
pub struct DvcLock {
    /// `2.0`.
    #[serde(default)]
    pub schema: Option<String>,
    /// Stage name -> what it last ran with.
    #[serde(default)]
    pub stages: BTreeMap<String, LockStage>,
}

/// One stage of `dvc.yaml`, only what an import needs.
#[derive(Debug, Deserialize)]
pub struct YamlStage {
    /// The command.
    #[serde(default)]
    pub cmd: Option<Value>,
    /// `wdir:`.
    #[serde(default)]
    pub wdir: Option<String>,
    /// Paths (strings) or `{path: {opts}}` maps.
    #[serde(default)]
    pub deps: Vec<Value>,
    /// Paths (strings) or `{path: {cache: false, …}}` maps.
    #[serde(default)]
    pub outs: Vec<Value>,
}

/// `dvc.yaml`.
#[derive(Debug, Deserialize)]
pub struct DvcYaml {
    /// Stage name -> definition.
    #[serde(default)]
    pub stages: BTreeMap<String, YamlStage>,
}

/// Parses a `.dvc` file.
pub fn parse_dvc_file(rel: &str, text: &str) -> Result<DvcFile> {
    crate::yaml::parse(text).with_context(|| format!("reading DVC file `{}`", crate::text::sanitize(rel)))
}

/// Parses `dvc.lock`.
pub fn parse_lock(rel: &str, text: &str) -> Result<DvcLock> {
    let lock: DvcLock = crate::yaml::parse_limited(text, MAX_PIPELINE_BYTES, 2_000_000)
        .with_context(|| format!("reading `{}`", crate::text::sanitize(rel)))?;
    if let Some(schema) = &lock.schema
        && !schema.starts_with("2.")
    {
        bail!("`{rel}` has schema {schema}; mvc reads DVC's lock schema 2.x (DVC 2 and 3)");
    }
    Ok(lock)
}

/// Parses `dvc.yaml`.
pub fn parse_yaml(rel: &str, text: &str) -> Result<DvcYaml> {
    crate::yaml::parse_limited(text, MAX_PIPELINE_BYTES, 2_000_000)
        .with_context(|| format!("reading `{}`", crate::text::sanitize(rel)))
}

/// A `dvc.yaml` stage's outputs DVC caches (`cache: false` ones are git's): their paths.
pub fn cached_yaml_outs(stage: &YamlStage) -> Vec<String> {
    let mut out = Vec::new();
    for entry in &stage.outs {
        match entry {
            Value::String(p) => out.push(p.clone()),
            Value::Object(m) => {
                for (path, opts) in m {
                    if opts.get("cache").and_then(Value::as_bool) != Some(false) {
                        out.push(path.clone());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A `dvc.yaml` stage's dependency paths.
pub fn yaml_deps(stage: &YamlStage) -> Vec<String> {
    stage
        .deps
        .iter()
        .flat_map(|d| match d {
            Value::String(p) => vec![p.clone()],
            Value::Object(m) => m.keys().cloned().collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// The command as one line.
pub fn cmd_text(cmd: &Option<Value>) -> Option<String> {
    match cmd.as_ref()? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" && ")),
        _ => None,
    }
}

/// `base` (a repo-relative directory, `""` for the root) joined with `path` (from a DVC
/// file, `/`-separated, maybe with `wdir`'s `..`), normalised lexically, then checked as an
/// artifact path: absolute paths, escapes from the repository, `.git` and `.mvc` are refused.
pub fn resolve(base: &str, wdir: Option<&str>, path: &str, file: &str) -> Result<String> {
    let shown = crate::text::sanitize(path);
    let file = crate::text::sanitize(file);
    if path.starts_with('/') || path.contains('\\') || path.contains("://") || path.get(1..2) == Some(":") {
        bail!("`{shown}` in `{file}` is not inside the repository (DVC's external outputs are not imported)");
    }
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for segment in wdir.unwrap_or("").split('/').chain(path.split('/')) {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    bail!("`{shown}` in `{file}` is outside the repository");
                }
            }
            s => parts.push(s),
        }
    }
    let rel = parts.join("/");
    crate::paths::check_artifact_rel(&rel).with_context(|| format!("`{shown}` in `{file}` cannot be imported"))?;
    Ok(rel)
}

/// A remote in `.dvc/config`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DvcRemote {
    /// Its name.
    pub name: String,
    /// `url`.
    pub url: Option<String>,
    /// `endpointurl`.
    pub endpoint: Option<String>,
    /// `region`.
    pub region: Option<String>,
}

/// What `.dvc/config` says that an import carries over.
#[derive(Debug, Default, PartialEq)]
pub struct DvcConfig {
    /// `core.remote`.
    pub default_remote: Option<String>,
    /// Remotes in file order.
    pub remotes: Vec<DvcRemote>,
    /// `cache.dir`, when set.
    pub cache_dir: Option<String>,
}

/// Parses DVC's INI config (configobj: `[core]`, `['remote "name"']`, `key = value`). Only
/// url, endpoint and region are kept; credentials are never read into anything mvc writes.
pub fn parse_config(text: &str) -> DvcConfig {
    let mut config = DvcConfig::default();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = unquote(inner.trim()).to_string();
            if let Some(name) = remote_name(&section) {
                config.remotes.push(DvcRemote { name, ..Default::default() });
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let (key, value) = (key.trim(), unquote(value.trim()).to_string());
        match (section.as_str(), key) {
            ("core", "remote") => config.default_remote = Some(value),
            ("cache", "dir") => config.cache_dir = Some(value),
            (s, k) if remote_name(s).is_some() => {
                let remote = config.remotes.last_mut().expect("a remote section was opened");
                match k {
                    "url" => remote.url = Some(value),
                    "endpointurl" => remote.endpoint = Some(value),
                    "region" => remote.region = Some(value),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    config
}

fn unquote(s: &str) -> &str {
    for q in ['\'', '"'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

fn remote_name(section: &str) -> Option<String> {
    let rest = section.strip_prefix("remote")?.trim();
    Some(unquote(rest).to_string()).filter(|n| !n.is_empty())
}

/// One entry of a `.dir` manifest.
#[derive(Debug, Deserialize)]
pub struct DirEntry {
    /// Hex md5 of the file.
    pub md5: String,
    /// Path inside the directory.
    pub relpath: String,
}

/// Parses a `.dir` manifest (a JSON list) and checks every path in it.
pub fn parse_dir_manifest(bytes: &[u8], label: &str) -> Result<Vec<DirEntry>> {
    let entries: Vec<DirEntry> =
        serde_json::from_slice(bytes).with_context(|| format!("DVC's manifest of `{label}` is not valid"))?;
    for e in &entries {
        crate::paths::check_inner_rel(&e.relpath)
            .with_context(|| format!("DVC's manifest of `{label}` lists a path mvc refuses"))?;
        if e.md5.len() != 32 || !e.md5.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("DVC's manifest of `{label}` has an invalid md5 for `{}`", crate::text::sanitize(&e.relpath));
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_inside_the_repository_only() {
        assert_eq!(resolve("", None, "data.csv", "data.csv.dvc").unwrap(), "data.csv");
        assert_eq!(resolve("sub", None, "../x/y", "sub/y.dvc").unwrap(), "x/y");
        assert_eq!(resolve("sub", Some(".."), "model.bin", "sub/dvc.lock").unwrap(), "model.bin");
        for (base, path) in [("", "../../etc/passwd"), ("a", "../../x"), ("", "/etc/passwd"), ("", ".git/config")] {
            let err = resolve(base, None, path, "x.dvc").unwrap_err();
            assert!(format!("{err:#}").contains("x.dvc"), "{err:#}");
        }
        assert!(resolve("", None, ".mvc/config", "x.dvc").is_err());
        assert!(resolve("", None, "s3://bucket/x", "x.dvc").is_err());
    }

    #[test]
    fn config_keeps_urls_and_never_credentials() {
        let text = "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://b/p\n    \
                    endpointurl = http://127.0.0.1:9000\n    secret_access_key = SECRET\n[remote \"b\"]\nurl = ../store\n";
        let c = parse_config(text);
        assert_eq!(c.default_remote.as_deref(), Some("storage"));
        assert_eq!(c.remotes.len(), 2);
        assert_eq!(c.remotes[0].endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(c.remotes[1].url.as_deref(), Some("../store"));
        assert!(!format!("{c:?}").contains("SECRET"));
    }

    #[test]
    fn md5_and_layout_are_read_from_outs() {
        let out = RawOut { md5: Some("0123456789ABCDEF0123456789abcdef.dir".into()), ..Default::default() };
        assert_eq!(out.md5(), Some(("0123456789abcdef0123456789abcdef".into(), true)));
        assert!(out.legacy());
        let bad = RawOut { md5: Some("../../x".into()), ..Default::default() };
        assert_eq!(bad.md5(), None);
        assert!(parse_dir_manifest(br#"[{"md5":"0123456789abcdef0123456789abcdef","relpath":"../x"}]"#, "d").is_err());
    }
}
