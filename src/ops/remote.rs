//! `mvc remote add|list|remove|default|modify|trust`: manage remotes in config. Secrets go
//! only to the git-ignored per-clone config `.git/mvc/config` (mode 0600) and are never printed.

use anyhow::{Result, bail};
use serde_json::Value;

use crate::config::{self, Layer};
use crate::error::hinted;
use crate::remote::backend;
use crate::repo::Repo;

/// Settings `remote modify` accepts in the committed config.
pub const PUBLIC_KEYS: &[&str] =
    &["url", "endpoint", "region", "jobs", "retries", "profile", "account_name", "use_emulator"];

/// Settings only the per-clone config may hold (`--local`): they decide whom this machine's
/// TLS trusts, which a cloned repository must not.
pub const OWN_KEYS: &[&str] = &["ca_bundle"];

/// Refuses an [`OWN_KEYS`] setting for the committed config (`remote modify`, `config set`).
pub fn check_own_layer(name: &str, key: &str, layer: Layer) -> Result<()> {
    if OWN_KEYS.contains(&key) && layer == Layer::Repo {
        bail!(hinted(
            format!(
                "`{key}` of remote `{name}` cannot go into the committed config: a clone must not choose whom TLS trusts"
            ),
            format!("set it for this clone: `mvc remote modify {name} {key} /absolute/path --local`")
        ));
    }
    Ok(())
}

/// Refuses a config about to be written to `layer` that gives any remote an [`OWN_KEYS`]
/// setting there, however it got in (a key, or a map set as one value).
pub fn check_own_keys_in(map: &serde_json::Map<String, Value>, layer: Layer) -> Result<()> {
    let Some(Value::Object(remotes)) = map.get("remotes") else { return Ok(()) };
    for (name, settings) in remotes {
        if let Value::Object(settings) = settings {
            for key in settings.keys() {
                check_own_layer(name, key, layer)?;
            }
        }
    }
    Ok(())
}

/// Settings that are secrets: only `--local`, read from stdin.
pub use crate::secrets::SECRET_REMOTE_KEYS as SECRET_KEYS;

/// A remote as listed.
pub struct RemoteEntry {
    /// Name.
    pub name: String,
    /// URL with secrets removed.
    pub url: String,
    /// Custom endpoint, if any.
    pub endpoint: Option<String>,
    /// Whether it is the default remote.
    pub default: bool,
    /// The layout its config names for a first push (`loose` when it names none); once
    /// pushed to, the remote's own marker decides.
    pub layout: String,
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        bail!("invalid remote name `{}`: use letters, digits, `-` and `_`", crate::text::sanitize(name));
    }
    Ok(())
}

fn update(
    repo: &Repo,
    layer: Layer,
    change: impl FnOnce(&mut serde_json::Map<String, Value>) -> Result<()>,
) -> Result<()> {
    let path = repo.layer_path(layer)?;
    let mut map = config::read_layer(&path)?;
    change(&mut map)?;
    config::write_layer(&path, &map, layer == Layer::Local)?;
    // A change to the committed config is staged, like every committed file mvc changes.
    if layer == Layer::Repo {
        crate::git::stage(&repo.git, &repo.scope, &[".mvc/config".to_string()])?;
    }
    Ok(())
}

/// `remote add`: records a remote's URL and the layout a first push writes (`chunked` unless
/// `loose` is asked for; a remote's marker decides once written), and makes it the default
/// when asked or when it is the first remote. The layout is always written out: a config
/// entry that names none (written by hand, or by an older mvc) means loose, as it always did.
pub fn add(repo: &Repo, name: &str, url: &str, make_default: bool, layout: Option<&str>, layer: Layer) -> Result<bool> {
    let layout = layout.unwrap_or("chunked");
    let Some(parsed) = crate::remote::Layout::parse(layout) else {
        bail!("unknown layout `{}`: use `loose` or `chunked`", crate::text::sanitize(layout));
    };
    let layout = Some(parsed.name());
    check_name(name)?;
    if layer != Layer::Local {
        crate::secrets::check_url(name, "URL", url)?;
    }
    let _lock = repo.lock("remote add")?;
    if backend::configured(repo).iter().any(|r| r.name == name) {
        bail!(hinted(
            format!("a remote named `{name}` already exists"),
            format!("change it with `mvc remote modify {} url URL`", crate::text::shell_quote(name))
        ));
    }
    let first = backend::configured(repo).is_empty();
    let becomes_default = make_default || (first && repo.config.remote.is_none());
    update(repo, layer, |map| {
        config::set_dotted(map, &format!("remotes.{name}.url"), Value::String(url.to_string()))?;
        if let Some(l) = layout {
            config::set_dotted(map, &format!("remotes.{name}.layout"), Value::String(l.to_string()))?;
        }
        if becomes_default {
            config::set_dotted(map, "core.remote", Value::String(name.to_string()))?;
        }
        Ok(())
    })?;
    Ok(becomes_default)
}

/// `remote list`.
pub fn list(repo: &Repo) -> Vec<RemoteEntry> {
    backend::configured(repo)
        .into_iter()
        .map(|rc| RemoteEntry {
            default: repo.config.remote.as_deref() == Some(rc.name.as_str()),
            url: rc.url().map(|u| backend::redact_url(&u)).unwrap_or_else(|_| "(no url)".into()),
            endpoint: rc.settings.get("endpoint").and_then(Value::as_str).map(backend::redact_url),
            layout: match rc.settings.get("layout").and_then(Value::as_str) {
                None => "loose".into(),
                Some(l) => crate::remote::Layout::parse(l)
                    .map(|l| l.name().to_string())
                    .unwrap_or_else(|| crate::text::sanitize(l).to_string()),
            },
            name: rc.name,
        })
        .collect()
}

/// `remote remove`: deletes the remote from every config file of this repo.
pub fn remove(repo: &Repo, name: &str) -> Result<()> {
    let _lock = repo.lock("remote remove")?;
    if !backend::configured(repo).iter().any(|r| r.name == name) {
        bail!(hinted(format!("no remote named `{name}`"), "list remotes with `mvc remote list`"));
    }
    for layer in [Layer::Repo, Layer::Local] {
        update(repo, layer, |map| {
            config::unset_dotted(map, &format!("remotes.{name}"));
            if config::get_dotted(map, "core.remote").and_then(Value::as_str) == Some(name) {
                config::unset_dotted(map, "core.remote");
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// `remote default NAME`.
pub fn set_default(repo: &Repo, name: &str, layer: Layer) -> Result<()> {
    let _lock = repo.lock("remote default")?;
    if !backend::configured(repo).iter().any(|r| r.name == name) {
        bail!(hinted(format!("no remote named `{name}`"), "list remotes with `mvc remote list`"));
    }
    update(repo, layer, |map| config::set_dotted(map, "core.remote", Value::String(name.to_string())))
}

/// `remote modify NAME KEY VALUE` (or with `value: None`, unset). Secrets only in the local
/// layer.
pub fn modify(repo: &Repo, name: &str, key: &str, value: Option<&str>, layer: Layer) -> Result<()> {
    let _lock = repo.lock("remote modify")?;
    if !backend::configured(repo).iter().any(|r| r.name == name) {
        bail!(hinted(format!("no remote named `{name}`"), "list remotes with `mvc remote list`"));
    }
    let secret = crate::secrets::is_secret_setting(key);
    let own = OWN_KEYS.contains(&key);
    if !secret && !own && !PUBLIC_KEYS.contains(&key) {
        bail!(
            "unknown remote setting `{}`; known: {}, {} (with --local), and secrets {}",
            crate::text::sanitize(key),
            PUBLIC_KEYS.join(", "),
            OWN_KEYS.join(", "),
            SECRET_KEYS.join(", ")
        );
    }
    if value.is_some() {
        check_own_layer(name, key, layer)?;
    }
    if let (Some(v), "url" | "endpoint", false) = (value, key, layer == Layer::Local) {
        crate::secrets::check_url(name, key, v)?;
    }
    crate::secrets::check_layer(name, key, layer)?;
    update(repo, layer, |map| {
        let dotted = format!("remotes.{name}.{key}");
        match value {
            Some(v) if secret => config::set_dotted(map, &dotted, Value::String(v.to_string())),
            Some(v) => config::set_dotted(map, &dotted, config::parse_cli_value(v)),
            None => {
                config::unset_dotted(map, &dotted);
                Ok(())
            }
        }
    })?;
    // Whoever types an endpoint on this machine trusts it here; a clone that only receives
    // it through the committed config does not (DESIGN §3.4).
    if let (Some(endpoint), "endpoint") = (value, key) {
        update(repo, Layer::Local, |map| {
            config::set_dotted(map, &format!("remotes.{name}.trusted_endpoint"), Value::String(endpoint.to_string()))
        })?;
    }
    Ok(())
}

/// `remote trust NAME`: allow credentials to be sent to the remote's current endpoint
/// (recorded in the per-clone config `.git/mvc/config`; a later change of endpoint is untrusted again).
pub fn trust(repo: &Repo, name: &str) -> Result<Option<String>> {
    let rc = backend::choose(repo, Some(name))?;
    let Some(endpoint) = rc.settings.get("endpoint").and_then(Value::as_str).map(str::to_string) else {
        return Ok(None);
    };
    let _lock = repo.lock("remote trust")?;
    update(repo, Layer::Local, |map| {
        config::set_dotted(map, &format!("remotes.{name}.trusted_endpoint"), Value::String(endpoint.clone()))
    })?;
    Ok(Some(endpoint))
}

/// `remote migrate NAME --to LAYOUT`: converts the remote in place, resumably (see
/// [`crate::remote::migrate`]). One batch of objects at a time passes through a scratch cache
/// under `.git/mvc/state`, removed at the end.
pub fn migrate(
    repo: &Repo,
    name: &str,
    to: &str,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn crate::progress::Reporter,
) -> Result<crate::remote::migrate::Migrated> {
    let Some(layout) = crate::remote::Layout::parse(to) else {
        bail!("unknown layout `{}`: use `loose` or `chunked`", crate::text::sanitize(to));
    };
    let _lock = repo.lock("remote migrate")?;
    let rc = backend::choose(repo, Some(name))?;
    let src = backend::open_writable(repo, &rc, None)?;
    if src.read_only {
        bail!(hinted(
            format!("remote `{name}` ({}) is read-only (HTTP)", src.display_url),
            "migrate it through a writable URL (s3://, gs://, az:// or a directory)"
        ));
    }
    let dst = backend::open_writable(repo, &rc, None)?;
    let dir = repo.state_dir().join(format!("migrate-{}", std::process::id()));
    let scratch = crate::cache::Cache::new(dir.clone());
    let result =
        rt.block_on(crate::remote::migrate::migrate(&src, &dst, layout, &scratch, repo.stat_index(), reporter));
    let _ = std::fs::remove_dir_all(&dir);
    result
}
