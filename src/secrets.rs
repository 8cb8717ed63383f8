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
    "connection_string",
    "account_key",
    "client_secret",
    "bearer_token",
    "private_key",
    "api_key",
    "secret",
];

/// Remote settings holding a URL, which must not carry credentials in the committed config.
const URL_KEYS: [&str; 2] = ["url", "endpoint"];

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

/// Refuses a URL carrying credentials (user info, or a signature or token in its query) for
/// the committed config: `key` is `URL` or `endpoint`, for the message.
pub fn check_url(name: &str, key: &str, url: &str) -> anyhow::Result<()> {
    let Ok(parsed) = url::Url::parse(url) else { return Ok(()) };
    let userinfo = !parsed.username().is_empty() || parsed.password().is_some();
    let signed = parsed.query_pairs().any(|(k, _)| {
        let k = k.to_ascii_lowercase();
        k.starts_with("x-amz-")
            || k.starts_with("x-goog-")
            || ["sig", "signature", "token", "access_token", "sas", "key", "password"].contains(&k.as_str())
    });
    if !(userinfo || signed) {
        return Ok(());
    }
    Err(hinted(
        format!(
            "the {key} for remote `{}` carries credentials ({}), which must not go into the committed config",
            crate::text::sanitize(name),
            if userinfo { "a user name or password" } else { "a signature or token in its query" }
        ),
        format!(
            "give it without them, and store secrets with `mvc remote modify --local {} KEY` (read from standard input) or in environment variables",
            shell_quote(name)
        ),
    )
    .into())
}

/// Checks a value about to be written at dotted `key` of a config `layer`, wherever secrets
/// hide in it: a secret setting at any depth (`remotes.origin` set to a whole map holding
/// `secret_access_key`), or a URL with credentials, outside the per-clone config.
pub fn check_value(key: &str, value: &Value, layer: Layer) -> anyhow::Result<()> {
    if layer == Layer::Local {
        return Ok(());
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                check_value(&format!("{key}.{k}"), v, layer)?;
            }
            Ok(())
        }
        _ => {
            let Some(rest) = key.strip_prefix("remotes.") else { return Ok(()) };
            let Some((name, setting)) = rest.rsplit_once('.') else { return Ok(()) };
            check_layer(name, setting, layer)?;
            match value {
                Value::String(url) if URL_KEYS.contains(&setting) => {
                    check_url(name, if setting == "url" { "URL" } else { setting }, url)
                }
                _ => Ok(()),
            }
        }
    }
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
        Value::String(s) if key.starts_with("remotes.") => *s = redact_url_text(s),
        _ => {}
    }
}

/// A URL without its user info or query string (where presigned signatures and SAS tokens
/// live); other text unchanged but for user info.
fn redact_url_text(s: &str) -> String {
    let without_user = crate::text::redact_userinfo(s);
    match (without_user.contains("://"), without_user.find('?')) {
        (true, Some(q)) => format!("{}?{REDACTED}", &without_user[..q]),
        _ => without_user,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hidden_in_maps_and_urls_never_reach_the_committed_config() {
        let whole = serde_json::json!({"url": "s3://b/x", "secret_access_key": "LEAKED"});
        assert!(check_value("remotes.origin", &whole, Layer::Repo).is_err());
        assert!(check_value("remotes.origin", &whole, Layer::Local).is_ok());
        let url = serde_json::json!("https://u:pw@h/x");
        assert!(check_value("remotes.o3.url", &url, Layer::Repo).is_err());
        let endpoint = serde_json::json!("https://minio/?token=T");
        assert!(check_value("remotes.o3.endpoint", &endpoint, Layer::Global).is_err());
        assert!(check_value("remotes.o3.url", &serde_json::json!("s3://b/x"), Layer::Repo).is_ok());
        let mut shown = serde_json::json!({"remotes": {"o9": {"url": "https://user:pw@h:1/x?sig=S"}}});
        redact("", &mut shown);
        assert_eq!(shown["remotes"]["o9"]["url"], "https://<redacted>@h:1/x?<redacted>");
    }

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
