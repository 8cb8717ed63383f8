//! Layered configuration (DESIGN §3.4): built-in defaults < global < repo (`.mvc/config`,
//! committed) < per-clone (`<git dir>/mvc/config`) < environment (`MVC_*`) < flags. Values the
//! committed config must not decide (the cache location) are read only from the user's own
//! layers. Config files are read only as regular files, never through a symlink.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::cache::LinkMode;

/// The default transfer concurrency.
pub const DEFAULT_JOBS: usize = 16;

/// Which file a `config set` writes to or a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// `$XDG_CONFIG_HOME/mvc/config`.
    Global,
    /// `.mvc/config`, committed.
    Repo,
    /// `<git dir>/mvc/config`: this clone only, never committed (mode 0600).
    Local,
}

impl Layer {
    /// Lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Global => "global",
            Layer::Repo => "repo",
            Layer::Local => "local",
        }
    }
}

/// Keys that mvc knows, with a short description, for validation and `config list`.
pub const KNOWN_KEYS: &[&str] = &[
    "core.remote",
    "core.link",
    "core.jobs",
    "core.follow_symlinks",
    "core.dedup_depth",
    "cache.dir",
    "registry.stages",
    "registry.required_meta",
    "registry.gate",
];

/// The merged configuration of a repository.
#[derive(Debug, Clone)]
pub struct Config {
    /// Merged document of every layer (for `config get/list`).
    pub merged: Map<String, Value>,
    /// Link modes to try, in order.
    pub link: Vec<LinkMode>,
    /// Transfer concurrency.
    pub jobs: usize,
    /// Default remote name, if any.
    pub remote: Option<String>,
    /// Cache directory (absolute).
    pub cache_dir: PathBuf,
    /// `core.follow_symlinks`: `add`/`commit` store what symlinks inside directories point to.
    pub follow_symlinks: bool,
}

/// The global config file path: `$XDG_CONFIG_HOME/mvc/config`, else `~/.config/mvc/config`.
pub fn global_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("mvc").join("config"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config").join("mvc").join("config"))
}

/// The path of one layer's file for the repo at `root` whose per-clone directory is
/// `private_dir` (`<git common dir>/mvc`).
pub fn layer_path(layer: Layer, root: &Path, private_dir: &Path) -> Result<PathBuf> {
    match layer {
        Layer::Global => global_path().context("no HOME or XDG_CONFIG_HOME to find the global config in"),
        Layer::Repo => Ok(root.join(crate::repo::MVC_DIR).join("config")),
        Layer::Local => Ok(private_dir.join("config")),
    }
}

/// Largest config file mvc reads.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads one config file into a map; a missing file is an empty map. A symlink is refused:
/// a committed `.mvc/config` linking to a file of secrets must not be read (and then copied
/// into the committed config by the next `config set`).
pub fn read_layer(path: &Path) -> Result<Map<String, Value>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => bail!(crate::error::hinted(
            format!("config `{}` is a symlink; mvc reads config files only as regular files", path.display()),
            "replace the link with a regular file"
        )),
        Err(e) => return Err(e).with_context(|| format!("reading config `{}`", path.display())),
    };
    if !file.metadata().with_context(|| format!("reading config `{}`", path.display()))?.is_file() {
        bail!("config `{}` is not a regular file", path.display());
    }
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading config `{}`", path.display()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        bail!("config `{}` is over the {MAX_CONFIG_BYTES} byte limit", path.display());
    }
    if text.trim().is_empty() || text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Ok(Map::new());
    }
    let value: Value =
        crate::yaml::parse(&text).map_err(|e| anyhow::anyhow!("invalid config `{}`: {e}", path.display()))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => bail!("invalid config `{}`: expected a mapping of sections", path.display()),
    }
}

/// Writes a layer file atomically (mode 0600 for the local layer, which may hold secrets).
pub fn write_layer(path: &Path, map: &Map<String, Value>, private: bool) -> Result<()> {
    let mut text = String::from("# mvc configuration (see `mvc config --help`)\n");
    text.push_str(&crate::yaml::block(map, 0));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    }
    crate::fsutil::write_atomic(path, text.as_bytes(), if private { 0o600 } else { 0o644 })
}

/// Looks up a dotted key (`core.jobs`, `remotes.origin.url`) in a map.
pub fn get_dotted<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let mut parts = key.split('.');
    let mut value = map.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// Sets a dotted key, creating intermediate maps.
pub fn set_dotted(map: &mut Map<String, Value>, key: &str, value: Value) -> Result<()> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) || parts.len() < 2 {
        bail!("config keys look like `section.name`, got `{key}`");
    }
    let mut current = map;
    for part in &parts[..parts.len() - 1] {
        let entry = current.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        current = entry.as_object_mut().expect("just made an object");
    }
    current.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// Removes a dotted key; returns whether it existed.
pub fn unset_dotted(map: &mut Map<String, Value>, key: &str) -> bool {
    let parts: Vec<&str> = key.split('.').collect();
    let mut current = map;
    for part in &parts[..parts.len() - 1] {
        match current.get_mut(*part).and_then(Value::as_object_mut) {
            Some(next) => current = next,
            None => return false,
        }
    }
    current.remove(parts[parts.len() - 1]).is_some()
}

/// Parses a command-line value the way YAML would (`16` is a number, `[a, b]` a list).
pub fn parse_cli_value(raw: &str) -> Value {
    crate::yaml::parse::<Value>(&format!("v: {raw}\n"))
        .ok()
        .and_then(|v| v.get("v").cloned())
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

impl Config {
    /// Loads every layer for the repo rooted at `root` with per-clone directory `private_dir`.
    pub fn load(root: &Path, private_dir: &Path) -> Result<Config> {
        let global = match global_path() {
            Some(p) => read_layer(&p)?,
            None => Map::new(),
        };
        let repo = read_layer(&layer_path(Layer::Repo, root, private_dir)?)?;
        let local = read_layer(&layer_path(Layer::Local, root, private_dir)?)?;

        // cache.dir from the committed config would let anyone's commit point our writes
        // anywhere on disk, so only the user's own layers may set it.
        let trusted_cache_dir = get_dotted(&local, "cache.dir").or_else(|| get_dotted(&global, "cache.dir")).cloned();

        let mut merged = Map::new();
        merge(&mut merged, global);
        merge(&mut merged, repo);
        merge(&mut merged, local);
        if let Some(Value::Object(cache)) = merged.get_mut("cache") {
            cache.remove("dir");
        }
        if let Some(dir) = trusted_cache_dir {
            set_dotted(&mut merged, "cache.dir", dir)?;
        }
        for (var, key) in [
            ("MVC_CORE_REMOTE", "core.remote"),
            ("MVC_CORE_LINK", "core.link"),
            ("MVC_CORE_JOBS", "core.jobs"),
            ("MVC_CACHE_DIR", "cache.dir"),
        ] {
            if let Some(v) = std::env::var_os(var).and_then(|v| v.into_string().ok()).filter(|v| !v.is_empty()) {
                let value = if key == "core.link" {
                    Value::Array(v.split(',').map(|s| Value::String(s.trim().to_string())).collect())
                } else {
                    parse_cli_value(&v)
                };
                set_dotted(&mut merged, key, value)?;
            }
        }
        Config::from_merged(root, private_dir, merged)
    }

    fn from_merged(root: &Path, private_dir: &Path, merged: Map<String, Value>) -> Result<Config> {
        let link = match get_dotted(&merged, "core.link") {
            None => vec![LinkMode::Reflink, LinkMode::Copy],
            Some(value) => {
                let items: Vec<Value> = match value {
                    Value::Array(items) => items.clone(),
                    Value::String(s) => s.split(',').map(|s| Value::String(s.trim().into())).collect(),
                    _ => bail!("`core.link` must be a list of reflink, copy, hardlink, symlink"),
                };
                let mut modes = Vec::new();
                for item in items {
                    let name = item.as_str().unwrap_or_default();
                    let mode = LinkMode::parse(name).with_context(|| {
                        format!(
                            "`core.link` has `{}`; allowed: reflink, copy, hardlink, symlink",
                            crate::text::sanitize(&item.to_string())
                        )
                    })?;
                    modes.push(mode);
                }
                if modes.is_empty() {
                    bail!("`core.link` is empty; give at least one of reflink, copy, hardlink, symlink");
                }
                modes
            }
        };
        let jobs = match get_dotted(&merged, "core.jobs") {
            None => DEFAULT_JOBS,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=1024) => n as usize,
                _ => bail!(
                    "`core.jobs` must be a number from 1 to 1024, got `{}`",
                    crate::text::sanitize(&v.to_string())
                ),
            },
        };
        let remote = match get_dotted(&merged, "core.remote") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => bail!("`core.remote` must be a remote name, got `{}`", crate::text::sanitize(&v.to_string())),
        };
        let cache_dir = match get_dotted(&merged, "cache.dir") {
            None => private_dir.join("cache"),
            Some(Value::String(s)) => {
                let p = PathBuf::from(s);
                if p.is_absolute() { p } else { root.join(p) }
            }
            Some(v) => bail!("`cache.dir` must be a path, got `{}`", crate::text::sanitize(&v.to_string())),
        };
        let follow_symlinks = match get_dotted(&merged, "core.follow_symlinks") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                bail!("`core.follow_symlinks` must be true or false, got `{}`", crate::text::sanitize(&v.to_string()))
            }
        };
        Ok(Config { merged, link, jobs, remote, cache_dir, follow_symlinks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_keys_set_get_unset() {
        let mut m = Map::new();
        set_dotted(&mut m, "core.jobs", Value::from(4)).unwrap();
        set_dotted(&mut m, "remotes.origin.url", Value::from("s3://b/p")).unwrap();
        assert_eq!(get_dotted(&m, "core.jobs"), Some(&Value::from(4)));
        assert_eq!(get_dotted(&m, "remotes.origin.url"), Some(&Value::from("s3://b/p")));
        assert!(unset_dotted(&mut m, "core.jobs"));
        assert!(!unset_dotted(&mut m, "core.jobs"));
        assert!(set_dotted(&mut m, "nodot", Value::Null).is_err());
    }

    #[test]
    fn repo_config_cannot_move_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".mvc")).unwrap();
        std::fs::write(dir.path().join(".mvc/config"), "cache:\n  dir: /tmp/evil\n").unwrap();
        let config = Config::from_merged(dir.path(), &dir.path().join(".git/mvc"), {
            let mut m = read_layer(&dir.path().join(".mvc/config")).unwrap();
            if let Some(Value::Object(c)) = m.get_mut("cache") {
                c.remove("dir");
            }
            m
        })
        .unwrap();
        assert_eq!(config.cache_dir, dir.path().join(".git/mvc/cache"));
    }

    #[test]
    fn cli_values_parse_as_yaml() {
        assert_eq!(parse_cli_value("16"), Value::from(16));
        assert_eq!(parse_cli_value("[copy, hardlink]"), serde_json::json!(["copy", "hardlink"]));
        assert_eq!(parse_cli_value("origin"), Value::from("origin"));
    }
}
