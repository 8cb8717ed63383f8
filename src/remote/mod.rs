//! Remotes: object stores elsewhere (S3, GCS, Azure, a local directory, read-only HTTPS)
//! holding objects in the same layout as the cache (DESIGN §3.1). This module opens them from
//! config, decides which credentials may be sent where, and guards the layout marker.

pub mod backend;
pub mod transfer;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::hash::Oid;

/// The marker every remote carries at its root.
pub const MARKER: &str = "mvc-remote.yaml";

const MARKER_TEXT: &str =
    "# written by mvc on first push; describes how objects are laid out here\nversion: 1\nlayout: blake3\n";

/// An opened remote.
pub struct Remote {
    /// Its name in config.
    pub name: String,
    /// Its URL with any secret removed, for messages.
    pub display_url: String,
    /// Stable identity for the "known present" set: URL and endpoint.
    pub id: String,
    /// Whether writes are impossible (HTTPS remotes).
    pub read_only: bool,
    /// Whether the backend can list prefixes (HTTPS cannot).
    pub can_list: bool,
    /// Maximum concurrent requests.
    pub jobs: usize,
    /// Whether credentials were withheld because the endpoint is not trusted.
    pub credentials_withheld: bool,
    store: Arc<dyn ObjectStore>,
    root: StorePath,
}

#[derive(serde::Deserialize)]
struct Marker {
    version: u32,
    layout: String,
}

impl Remote {
    /// The prefix all objects live under (`<root>/blake3`).
    pub fn objects_prefix(&self) -> StorePath {
        self.root.clone().join("blake3")
    }

    /// Where object `oid` lives on this remote.
    pub fn key(&self, oid: &Oid) -> StorePath {
        let hex = oid.to_hex();
        self.root.clone().join("blake3").join(&hex[..2]).join(&hex[2..])
    }

    /// The prefix holding objects whose oid starts with `two` hex characters.
    pub fn shard(&self, two: &str) -> StorePath {
        self.root.clone().join("blake3").join(two)
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Reads the layout marker; refuses a layout this mvc does not know. When `create` is set
    /// (a push) and the marker is missing, writes it.
    pub async fn check_layout(&self, create: bool) -> Result<()> {
        let key = self.root.clone().join(MARKER);
        match self.store.get(&key).await {
            Ok(result) => {
                let bytes = result.bytes().await.map_err(|e| self.error("reading the layout marker", e))?;
                let text = String::from_utf8_lossy(&bytes);
                let marker: Marker = crate::yaml::parse(&text)
                    .map_err(|e| anyhow::anyhow!("remote `{}` has an invalid `{MARKER}`: {e}", self.name))?;
                if marker.version != 1 || marker.layout != "blake3" {
                    bail!(crate::error::hinted(
                        format!(
                            "remote `{}` ({}) uses layout `{}` version {}, which this mvc does not know",
                            self.name,
                            self.display_url,
                            crate::text::sanitize(&marker.layout),
                            marker.version
                        ),
                        "upgrade mvc"
                    ));
                }
                Ok(())
            }
            Err(object_store::Error::NotFound { .. }) if create && !self.read_only => {
                self.store
                    .put(&key, PutPayload::from_static(MARKER_TEXT.as_bytes()))
                    .await
                    .map_err(|e| self.error("writing the layout marker", e))?;
                Ok(())
            }
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("reading the layout marker", e)),
        }
    }

    /// Wraps a store error with the remote's name and redacted URL, and a hint for the usual
    /// causes (credentials, an endpoint that is down).
    pub fn error(&self, what: &str, err: object_store::Error) -> anyhow::Error {
        let text = crate::text::sanitize(&err.to_string());
        let lower = text.to_lowercase();
        let auth =
            matches!(err, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. })
                || lower.contains("403")
                || lower.contains("accessdenied")
                || lower.contains("signature")
                || lower.contains("invalidaccesskeyid");
        let message = format!("{what} on remote `{}` ({}): {}", self.name, self.display_url, redact_text(&text));
        let hint = if auth && self.credentials_withheld {
            Some(format!(
                "credentials were not sent because the endpoint is not trusted; if it is yours, run `mvc remote trust {}`",
                crate::text::shell_quote(&self.name)
            ))
        } else if auth {
            Some(format!(
                "check the credentials for `{}` (environment variables, ~/.aws, or `mvc remote modify --local {} access_key_id`)",
                self.name,
                crate::text::shell_quote(&self.name)
            ))
        } else if lower.contains("connect") || lower.contains("timed out") || lower.contains("connection") {
            Some("the remote could not be reached; check the URL/endpoint and your network, then re-run (finished objects are not sent again)".into())
        } else {
            None
        };
        match hint {
            Some(h) => crate::error::hinted(message, h).into(),
            None => anyhow::anyhow!(message),
        }
    }

    /// Whether object `oid` exists (a HEAD on its exact key; never on a prefix).
    pub async fn exists(&self, oid: &Oid) -> Result<bool> {
        match self.store.head(&self.key(oid)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(&format!("checking object {}", oid.short()), e)),
        }
    }
}

/// Removes anything that looks like a credential from an error text (query strings of
/// presigned URLs, `X-Amz-*` parameters).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(|c: char| c.is_whitespace()) {
        if let Some(q) = word.find('?')
            && (word.contains("X-Amz-") || word.contains("sig=") || word.contains("Signature="))
        {
            out.push_str(&word[..q]);
            out.push_str("?<redacted>");
            if word.ends_with(char::is_whitespace) {
                out.push(' ');
            }
        } else {
            out.push_str(word);
        }
    }
    out
}

/// Builds the store-relative root path from a URL path (`/models/v1` -> `models/v1`).
pub(crate) fn root_path(path: &str) -> Result<StorePath> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(StorePath::default());
    }
    StorePath::parse(trimmed).with_context(|| format!("invalid remote prefix `{}`", crate::text::sanitize(path)))
}
