//! Remotes: object stores elsewhere (S3, GCS, Azure, a local directory, read-only HTTPS)
//! holding objects in the same layout as the cache (DESIGN §3.1). This module opens them from
//! config, decides which credentials may be sent where, and guards the layout marker.

pub mod backend;
pub mod chunk;
pub mod chunked;
pub mod collect;
mod download;
pub mod fault;
pub mod lock;
pub mod migrate;
pub mod pack;
pub mod recipe;
pub mod reuse;
pub mod transfer;
mod upload;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::hash::Oid;
use fault::Fault;

/// The marker every remote carries at its root.
pub const MARKER: &str = "mvc-remote.yaml";

/// How long the first request of a command may take before the remote counts as unreachable.
const FIRST_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

const MARKER_HEAD: &str = "# written by mvc on first push; describes how objects are laid out here\nversion: 1\n";

/// How a remote lays out its objects (named in its `mvc-remote.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Whole objects under `blake3/` (DESIGN §3.1); the marker says `layout: blake3`.
    Loose,
    /// Packs of chunks and recipes (DESIGN §7), cut with these parameters.
    Chunked(chunk::Chunking),
}

impl Layout {
    /// Parses a layout name as typed (`loose` or `chunked`, with default chunking).
    pub fn parse(name: &str) -> Option<Layout> {
        match name {
            "loose" | "blake3" => Some(Layout::Loose),
            "chunked" => Some(Layout::Chunked(chunk::DEFAULT)),
            _ => None,
        }
    }

    /// Its name as users type it.
    pub fn name(&self) -> &'static str {
        match self {
            Layout::Loose => "loose",
            Layout::Chunked(_) => "chunked",
        }
    }

    /// The marker's exact text.
    fn marker_text(&self) -> String {
        match self {
            Layout::Loose => format!("{MARKER_HEAD}layout: blake3\n"),
            Layout::Chunked(c) => format!(
                "{MARKER_HEAD}layout: chunked\nchunking:\n  min: {}\n  avg: {}\n  max: {}\n",
                c.min, c.avg, c.max
            ),
        }
    }
}

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
    /// Where requests go, for "cannot connect" messages (redacted).
    pub endpoint: String,
    /// The bucket or container, for "does not exist" messages.
    pub bucket: Option<String>,
    /// A local-directory remote whose directory does not exist (read-only commands never
    /// create it).
    pub missing_dir: Option<PathBuf>,
    /// Stops every transfer on this remote (a fatal error, or Ctrl-C).
    pub stop: Stop,
    /// Objects this command found missing or corrupt here, to drop from the known-present set.
    pub lost: std::sync::Mutex<std::collections::HashSet<Oid>>,
    /// The layout a first push writes (config `remotes.NAME.layout`, default loose).
    pub new_layout: Layout,
    /// The layout read from the marker (set by [`Remote::check_layout`]).
    pub(crate) layout: std::sync::OnceLock<Layout>,
    /// Recipes this command read (chunked remotes).
    pub(crate) known: chunked::Known,
    store: Arc<dyn ObjectStore>,
    root: StorePath,
}

/// Why transfers on a remote were stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A request failed in a way every other request would (unreachable, no bucket, denied).
    Fatal,
    /// SIGINT or SIGTERM.
    Interrupted,
}

/// A stop signal shared by every request of one command: once raised, no new request
/// starts and requests in flight are cancelled (multipart uploads are aborted).
#[derive(Clone)]
pub struct Stop(Arc<StopInner>);

struct StopInner {
    tx: tokio::sync::watch::Sender<Option<StopReason>>,
    /// The first fatal error's message and hint, which a stopped transfer reports.
    first: std::sync::Mutex<Option<(String, String)>>,
}

impl Default for Stop {
    fn default() -> Stop {
        Stop(Arc::new(StopInner { tx: tokio::sync::watch::Sender::new(None), first: Default::default() }))
    }
}

impl Stop {
    /// Raises the signal because of a fatal error (kept to be reported once).
    fn fatal(&self, message: &str, hint: &str) {
        if let Ok(mut first) = self.0.first.lock()
            && first.is_none()
        {
            *first = Some((message.to_string(), hint.to_string()));
        }
        self.raise(StopReason::Fatal);
    }

    /// The error to report for a stopped transfer: the first fatal error, or [`Interrupted`].
    pub fn error(&self) -> Option<anyhow::Error> {
        match self.reason()? {
            StopReason::Interrupted => Some(Interrupted.into()),
            StopReason::Fatal => {
                let first = self.0.first.lock().ok()?.clone()?;
                Some(crate::error::hinted(first.0, first.1).into())
            }
        }
    }

    /// Raises the signal (the first reason wins).
    pub fn raise(&self, reason: StopReason) {
        self.0.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }

    /// Whether (and why) it was raised.
    pub fn reason(&self) -> Option<StopReason> {
        *self.0.tx.borrow()
    }

    /// Resolves once the signal is raised.
    pub async fn raised(&self) -> StopReason {
        let mut rx = self.0.tx.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(r) => r.expect("waited for Some"),
            Err(_) => std::future::pending().await,
        }
    }
}

static ACTIVE: std::sync::Mutex<Vec<(u64, Stop)>> = std::sync::Mutex::new(Vec::new());
static NEXT_ACTIVE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// While alive, a SIGINT/SIGTERM stops this transfer (see [`interrupt_active`]).
pub struct Active(u64);

impl Drop for Active {
    fn drop(&mut self) {
        if let Ok(mut list) = ACTIVE.lock() {
            list.retain(|(id, _)| *id != self.0);
        }
    }
}

impl Stop {
    /// Registers this stop as the target of SIGINT/SIGTERM until the guard drops.
    pub fn activate(&self) -> Active {
        let id = NEXT_ACTIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut list) = ACTIVE.lock() {
            list.push((id, self.clone()));
        }
        Active(id)
    }
}

/// Called on SIGINT/SIGTERM: stops every running transfer (in-flight requests are cancelled
/// and multipart uploads aborted). Returns false when no transfer was running, or every one
/// was already interrupted (a second Ctrl-C), so the caller should exit at once.
pub fn interrupt_active() -> bool {
    let Ok(list) = ACTIVE.lock() else { return false };
    let mut fresh = false;
    for (_, stop) in list.iter() {
        if stop.reason().is_none() {
            fresh = true;
            stop.raise(StopReason::Interrupted);
        }
    }
    fresh
}

/// The command was interrupted (SIGINT/SIGTERM); what finished is kept.
#[derive(Debug, thiserror::Error)]
#[error("interrupted; objects that finished are kept, and a re-run continues from there")]
pub struct Interrupted;

#[derive(serde::Deserialize)]
struct Marker {
    version: u32,
    layout: String,
    #[serde(default)]
    chunking: Option<chunk::Chunking>,
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

    /// Refuses to delete anything from a store that has no layout marker: only an mvc remote
    /// is ever collected.
    pub async fn require_marker(&self) -> Result<()> {
        match self.store.head(&self.root.clone().join(MARKER)).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => bail!(crate::error::hinted(
                format!("remote `{}` ({}) has no `{MARKER}`; mvc deletes nothing from it", self.name, self.display_url),
                "it is not an mvc remote (or was never pushed to)"
            )),
            Err(e) => Err(self.error("reading the layout marker", e)),
        }
    }

    /// The layout found by [`Remote::check_layout`] (for a remote with no marker yet, the one a
    /// first push would write).
    pub fn layout(&self) -> Layout {
        self.layout.get().copied().unwrap_or(self.new_layout)
    }

    /// Reads the layout marker; refuses a layout this mvc does not know, a bucket that does
    /// not exist, and (for read-only commands) a local remote directory that does not exist.
    /// When `create` is set (a push) and the marker is missing, writes it, unless the store
    /// already holds other things.
    pub async fn check_layout(&self, create: bool) -> Result<()> {
        if let Some(dir) = &self.missing_dir {
            bail!(crate::error::hinted(
                format!("remote `{}` not found at `{}`", self.name, dir.display()),
                format!("check the path with `mvc remote list`; a first `mvc push -r {}` creates it", self.name)
            ));
        }
        if self.layout.get().is_some() {
            // Already read (and checked) by this command.
            return Ok(());
        }
        let key = self.root.clone().join(MARKER);
        // The first request answers within a bound even when packets vanish (a firewall that
        // drops instead of refusing), so an unreachable remote is a fast error.
        let first = tokio::time::timeout(FIRST_REQUEST_TIMEOUT, self.store.get(&key)).await.map_err(|_| {
            let message = format!(
                "cannot connect to remote `{}` at {}: {}",
                self.name,
                self.endpoint,
                fault::Unreachable::Timeout.describe()
            );
            let hint = "check the URL/endpoint (`mvc remote list`) and your network, then re-run";
            self.stop.fatal(&message, hint);
            anyhow::Error::from(crate::error::hinted(message, hint))
        })?;
        match first {
            Ok(result) => {
                let bytes = result.bytes().await.map_err(|e| self.error("reading the layout marker", e))?;
                let text = String::from_utf8_lossy(&bytes);
                let marker: Marker = crate::yaml::parse(&text)
                    .map_err(|e| anyhow::anyhow!("remote `{}` has an invalid `{MARKER}`: {e}", self.name))?;
                let layout = match (marker.version, marker.layout.as_str(), marker.chunking) {
                    (1, "blake3", None) => Some(Layout::Loose),
                    (1, "chunked", Some(c)) => {
                        c.check()
                            .map_err(|e| anyhow::anyhow!("remote `{}` has an invalid `{MARKER}`: {e}", self.name))?;
                        Some(Layout::Chunked(c))
                    }
                    _ => None,
                };
                let Some(layout) = layout else {
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
                };
                let _ = self.layout.set(layout);
                Ok(())
            }
            Err(e @ object_store::Error::NotFound { .. }) => {
                if fault::classify(&e) == Fault::NoSuchBucket {
                    return Err(self.error("reading the layout marker", e));
                }
                // Some servers answer a GET in a missing bucket with NoSuchKey; a LIST says
                // which it is (one request, only while the marker is missing).
                let listed = if self.can_list {
                    match self.store.list_with_delimiter(Some(&self.root)).await {
                        Ok(listed) => Some(listed),
                        Err(e) => return Err(self.error("listing the remote", e)),
                    }
                } else {
                    None
                };
                // A store that is not empty and not an mvc remote (a config could name any
                // directory, `~` say) is never written to: mvc only starts remotes afresh.
                let foreign = listed.is_some_and(|l| {
                    !l.objects.is_empty()
                        || l.common_prefixes
                            .iter()
                            .any(|p| !matches!(p.filename(), Some("blake3" | "packs" | "recipes" | "locks")))
                });
                if create && !self.read_only && foreign {
                    bail!(crate::error::hinted(
                        format!(
                            "remote `{}` ({}) holds other files and no `{MARKER}`: it is not an mvc remote",
                            self.name, self.display_url
                        ),
                        "point the remote at an empty location (or an existing mvc remote)".to_string()
                    ));
                }
                let _ = self.layout.set(self.new_layout);
                if create && !self.read_only {
                    self.store
                        .put(&key, PutPayload::from(self.new_layout.marker_text().into_bytes()))
                        .await
                        .map_err(|e| self.error("writing the layout marker", e))?;
                }
                Ok(())
            }
            Err(e) => Err(self.error("reading the layout marker", e)),
        }
    }

    /// Wraps a store error in one sentence with the remote's name and redacted URL, and a hint
    /// for the usual causes. Errors that every other request would hit too (unreachable, no
    /// bucket, denied) raise the stop signal, so a transfer stops instead of retrying
    /// thousands of objects.
    pub fn error(&self, what: &str, err: object_store::Error) -> anyhow::Error {
        let fault = fault::classify(&err);
        let name = &self.name;
        let quoted = crate::text::shell_quote(name);
        let (message, hint) = match &fault {
            Fault::Unreachable(fault::Unreachable::Tls) => (
                format!("cannot connect to remote `{name}` at {}: {}", self.endpoint, fault::Unreachable::Tls.describe()),
                format!(
                    "if the server's certificate comes from your own CA, give mvc that CA: `mvc remote modify {quoted} ca_bundle PATH --local` (or AWS_CA_BUNDLE for S3)"
                ),
            ),
            Fault::Unreachable(cause) => (
                format!("cannot connect to remote `{name}` at {}: {}", self.endpoint, cause.describe()),
                "check the URL/endpoint (`mvc remote list`) and your network, then re-run; objects already sent are not sent again".to_string(),
            ),
            Fault::NoSuchBucket => (
                format!(
                    "bucket `{}` does not exist on remote `{name}` ({})",
                    crate::text::sanitize(self.bucket.as_deref().unwrap_or("?")),
                    self.display_url
                ),
                format!("create the bucket, or fix the URL with `mvc remote modify {quoted} url URL`"),
            ),
            Fault::Denied if self.credentials_withheld => (
                format!("access denied {what} on remote `{name}` ({})", self.display_url),
                format!(
                    "credentials were not sent because the endpoint is not trusted; if it is yours, run `mvc remote trust {quoted}`"
                ),
            ),
            Fault::Denied => (
                format!("access denied {what} on remote `{name}` ({})", self.display_url),
                format!(
                    "check the credentials for `{name}` (environment variables, ~/.aws, or `mvc remote modify --local {quoted} access_key_id`)"
                ),
            ),
            Fault::NotFound => {
                return anyhow::anyhow!("{what} on remote `{name}` ({}): not found", self.display_url);
            }
            Fault::Other(summary) => {
                return anyhow::anyhow!(
                    "{what} on remote `{name}` ({}) failed: {}",
                    self.display_url,
                    redact_text(summary)
                );
            }
        };
        // Every other request would fail the same way: stop the transfer, report this once.
        self.stop.fatal(&message, &hint);
        crate::error::hinted(message, hint).into()
    }

    /// Records that `oid` was found missing or corrupt on this remote.
    pub fn note_lost(&self, oid: Oid) {
        if let Ok(mut lost) = self.lost.lock() {
            lost.insert(oid);
        }
    }

    /// Drops what this command found missing or corrupt from the known-present set.
    pub fn forget_lost(&self, index: &crate::state::StatIndex) {
        let lost: Vec<Oid> = self.lost.lock().map(|l| l.iter().copied().collect()).unwrap_or_default();
        index.forget_present(&self.id, &lost);
    }

    /// Whether object `oid` exists (a HEAD on its exact key; never on a prefix): on a chunked
    /// remote, whether its recipe does.
    pub async fn exists(&self, oid: &Oid) -> Result<bool> {
        let key = match self.layout() {
            Layout::Loose => self.key(oid),
            Layout::Chunked(_) => self.recipe_key(oid),
        };
        match self.store.head(&key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => {
                self.note_lost(*oid);
                Ok(false)
            }
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
