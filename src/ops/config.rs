//! `mvc config get|set|unset|list`: read the merged configuration, or change one layer's file.

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::config::{self, Layer};
use crate::repo::Repo;

/// Reads a key from the merged configuration, secrets redacted.
pub fn get(repo: &Repo, key: &str) -> Option<Value> {
    let mut value = config::get_dotted(&repo.config.merged, key).cloned()?;
    crate::secrets::redact(key, &mut value);
    Some(value)
}

/// Every set key as `(dotted.key, value)`, sorted, secrets redacted.
pub fn list(repo: &Repo) -> Vec<(String, Value)> {
    let mut all = Value::Object(repo.config.merged.clone());
    crate::secrets::redact("", &mut all);
    let mut out = Vec::new();
    flatten("", &all, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        other if !prefix.is_empty() => out.push((prefix.to_string(), other.clone())),
        _ => {}
    }
}

/// Sets (or with `value: None`, unsets) a key in one layer, validating the result first.
/// A remote's secret is set only in the per-clone layer (unsetting one is allowed anywhere).
pub fn set(repo: &Repo, layer: Layer, key: &str, value: Option<&str>) -> Result<()> {
    if let (Some((name, setting)), Some(_)) = (crate::secrets::remote_secret(key), value) {
        crate::secrets::check_layer(name, setting, layer)?;
    }
    if key == "cache.dir" && layer == Layer::Repo {
        bail!(crate::error::hinted(
            "`cache.dir` cannot be set in the committed repo config",
            "set it for yourself with `mvc config set --local cache.dir PATH` (or `--global`)"
        ));
    }
    let _lock = repo.lock("config")?;
    let path = repo.layer_path(layer)?;
    let mut map = config::read_layer(&path)?;
    match value {
        Some(raw) => {
            let parsed = config::parse_cli_value(raw);
            crate::secrets::check_value(key, &parsed, layer)?;
            // What this value sets, as a config of its own: a `ca_bundle` may arrive as the
            // key or inside a map, and a setting already there is not this command's doing.
            let mut setting = serde_json::Map::new();
            config::set_dotted(&mut setting, key, parsed.clone())?;
            crate::ops::remote::check_own_keys_in(&setting, layer)?;
            config::set_dotted(&mut map, key, parsed)?
        }
        None => {
            if !config::unset_dotted(&mut map, key) {
                bail!("`{key}` is not set in the {} config `{}`", layer.name(), path.display());
            }
        }
    }
    let previous = std::fs::read(&path).ok();
    config::write_layer(&path, &map, layer == Layer::Local)?;
    // Re-load everything so an invalid value is refused now, and the file put back as it was,
    // rather than breaking every later command.
    if let Err(e) = config::Config::load(&repo.root, repo.private_dir()) {
        let mode = if layer == Layer::Local { 0o600 } else { 0o644 };
        match &previous {
            Some(bytes) => crate::fsutil::write_atomic(&path, bytes, mode)?,
            None => std::fs::remove_file(&path).with_context(|| format!("removing `{}`", path.display()))?,
        }
        bail!("`{key}` was not changed: {e:#}");
    }
    if layer == Layer::Repo {
        crate::git::stage(&repo.git, &repo.scope, &[".mvc/config".to_string()])?;
    }
    Ok(())
}
