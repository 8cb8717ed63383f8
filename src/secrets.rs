//! Which settings are secrets (DESIGN §3.4): the one list that decides that a value may be
//! written only to the per-clone config, is never taken from the command line, and is never
//! printed.

use serde_json::Value;

use crate::config::Layer;
use crate::error::hinted;
use crate::text::shell_quote;

/// Remote settings that hold credentials: every key the remote backends read as one
/// (`src/remote/backend.rs`), and the names users reach for (`sas_token`, `password`, …).
/// Compared without regard to case.
pub const SECRET_REMOTE_KEYS: &[&str] = &[
    "access_key_id",
    "secret_access_key",
    "session_token",
    "access_key",
    "sas_token",
    "sas_key",
    "service_account_key",
    "password",
    "token",
];

/// How a secret value is shown.
pub const REDACTED: &str = "<redacted>";

/// Whether a remote setting (`secret_access_key`) is a secret.
pub fn is_secret_setting(key: &str) -> bool {
    SECRET_REMOTE_KEYS.iter().any(|s| s.eq_ignore_ascii_case(key))
}

/// The remote and setting of a dotted config key that names a remote's secret
/// (`remotes.origin.secret_access_key` -> `("origin", "secret_access_key")`).
pub fn remote_secret(dotted: &str) -> Option<(&str, &str)> {
    let rest = dotted.strip_prefix("remotes.")?;
    let (name, key) = rest.rsplit_once('.')?;
    (!name.is_empty() && is_secret_setting(key)).then_some((name, key))
}

/// Refuses to write secret `key` of remote `name` anywhere but the per-clone config: the repo
/// config is committed for everyone to read, and the global one is not private.
pub fn check_layer(name: &str, key: &str, layer: Layer) -> anyhow::Result<()> {
    if !is_secret_setting(key) || layer == Layer::Local {
        return Ok(());
    }
    let place = match layer {
        Layer::Repo => "the committed config",
        _ => "the global config",
    };
    Err(hinted(
        format!("`{}` is a secret and cannot go into {place}", crate::text::sanitize(key)),
        format!(
            "use `mvc remote modify --local {} {}` and type the value on standard input",
            shell_quote(name),
            shell_quote(key)
        ),
    )
    .into())
}

/// The error for a secret given on the command line, where shell history and process lists
/// would keep it.
pub fn from_command_line(name: &str, key: &str) -> anyhow::Error {
    hinted(
        format!(
            "`{}` is a secret; it is not taken from the command line (shell history, process lists)",
            crate::text::sanitize(key)
        ),
        format!(
            "run `mvc remote modify --local {} {}` and type it on standard input",
            shell_quote(name),
            shell_quote(key)
        ),
    )
    .into()
}

/// Replaces every secret in `value`, the config value found at dotted `key` (the whole
/// config when `key` is empty), with [`REDACTED`]; credentials inside URLs are hidden too.
pub fn redact(key: &str, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let child = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
                redact(&child, v);
            }
        }
        _ if remote_secret(key).is_some() => *value = Value::String(REDACTED.into()),
        Value::String(s) if key.starts_with("remotes.") => *s = crate::text::redact_userinfo(s),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_recognised_in_dotted_form() {
        assert_eq!(remote_secret("remotes.origin.secret_access_key"), Some(("origin", "secret_access_key")));
        assert_eq!(remote_secret("remotes.origin.SAS_TOKEN"), Some(("origin", "SAS_TOKEN")));
        assert_eq!(remote_secret("remotes.origin.endpoint"), None);
        assert_eq!(remote_secret("core.token"), None);
        assert_eq!(remote_secret("remotes.password"), None);
    }

    #[test]
    fn redaction_reaches_secrets_at_any_depth() {
        let mut all = serde_json::json!({
            "core": {"jobs": 4},
            "remotes": {"origin": {
                "url": "https://user:pw@host/p", "region": "eu", "access_key_id": "AKIA", "password": 12
            }},
        });
        redact("", &mut all);
        assert_eq!(
            all,
            serde_json::json!({
                "core": {"jobs": 4},
                "remotes": {"origin": {
                    "url": "https://<redacted>@host/p", "region": "eu", "access_key_id": REDACTED, "password": REDACTED
                }},
            })
        );
        let mut leaf = Value::from("AKIA");
        redact("remotes.origin.access_key_id", &mut leaf);
        assert_eq!(leaf, Value::from(REDACTED));
    }

    #[test]
    fn only_the_per_clone_layer_takes_secrets() {
        assert!(check_layer("origin", "secret_access_key", Layer::Repo).is_err());
        assert!(check_layer("origin", "token", Layer::Global).is_err());
        assert!(check_layer("origin", "secret_access_key", Layer::Local).is_ok());
        assert!(check_layer("origin", "endpoint", Layer::Repo).is_ok());
    }
}
