//! Remote locks: `locks/<kind>-<process>-<random>` on the remote. A push (and a repair) holds a
//! shared lock while it writes; `gc -c` and `remote migrate`, which delete, hold an exclusive
//! one. Nothing is deleted while a push may be about to cite it (docs/formats.md, "Remote
//! locks"). Works on plain object stores: no conditional writes, only read-after-write
//! consistent listing.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Result, bail};
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::Remote;

/// A lock not refreshed for this long is stale: its holder died or lost the network.
pub const STALE: Duration = Duration::from_secs(30 * 60);
/// How often a holder rewrites its lock.
const REFRESH: Duration = Duration::from_secs(5 * 60);
/// A holder that could not refresh its lock for this long stops, before others may take it
/// for stale.
const GIVE_UP: Duration = Duration::from_secs(20 * 60);

/// What a lock allows others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Writers that delete nothing (push, repair): any number at once.
    Shared,
    /// Deleters (`gc -c`, `remote migrate`): alone.
    Exclusive,
}

impl LockKind {
    fn name(self) -> &'static str {
        match self {
            LockKind::Shared => "shared",
            LockKind::Exclusive => "exclusive",
        }
    }
}

/// What a lock object says about its holder.
#[derive(serde::Serialize, serde::Deserialize)]
struct Holder {
    kind: String,
    command: String,
    host: String,
    pid: u32,
    /// Seconds since the Unix epoch when the lock was taken.
    started: u64,
    /// Boot and PID namespace of the holder ([`machine_id`]): a pid says whether its process
    /// lives only where both match ours (not in another container with the same hostname).
    #[serde(default)]
    machine: String,
}

/// A lock held on a remote; [`RemoteLock::release`] deletes it (dropping it deletes it in the
/// background).
pub struct RemoteLock {
    key: StorePath,
    store: Arc<dyn ObjectStore>,
    refresher: Option<tokio::task::JoinHandle<()>>,
}

impl RemoteLock {
    /// Stops refreshing and deletes the lock.
    pub async fn release(mut self) {
        if let Some(r) = self.refresher.take() {
            r.abort();
        }
        let _ = self.store.delete(&self.key).await;
    }
}

impl Drop for RemoteLock {
    fn drop(&mut self) {
        let Some(r) = self.refresher.take() else { return };
        r.abort();
        // An error path: delete in the background (a lock left behind by a process that is
        // gone is stale at once for this host, and after `STALE` for others).
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (store, key) = (self.store.clone(), self.key.clone());
            rt.spawn(async move {
                let _ = store.delete(&key).await;
            });
        }
    }
}

/// This process's part of its lock names: locks of one process never conflict (a migration
/// holds an exclusive lock and pushes under it).
fn process_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let seed = format!("{}:{}:{nanos}", hostname(), std::process::id());
        blake3::hash(seed.as_bytes()).to_hex()[..16].to_string()
    })
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// This boot of this machine and this PID namespace (`boot_id:pid:[inode]`), or empty when
/// either cannot be read; then no lock is judged by its pid.
fn machine_id() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let pidns = std::fs::read_link("/proc/self/ns/pid").map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    if boot.trim().is_empty() || pidns.is_empty() { String::new() } else { format!("{}:{pidns}", boot.trim()) }
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// One lock found on the remote.
struct Found {
    location: StorePath,
    kind: Option<LockKind>,
    token: String,
    modified: SystemTime,
}

fn parse_name(location: &StorePath) -> (Option<LockKind>, String) {
    let name = location.filename().unwrap_or_default();
    let mut parts = name.splitn(3, '-');
    let kind = match parts.next() {
        Some("shared") => Some(LockKind::Shared),
        Some("exclusive") => Some(LockKind::Exclusive),
        _ => None,
    };
    (kind, parts.next().unwrap_or_default().to_string())
}

impl Remote {
    fn locks_prefix(&self) -> StorePath {
        self.root.clone().join("locks")
    }

    async fn list_locks(&self) -> Result<Vec<Found>> {
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&self.locks_prefix()))
            .try_collect()
            .await
            .map_err(|e| self.error("listing `locks/`", e))?;
        // Only objects directly under `locks/` and named like a lock are locks: anything else
        // (a file someone put there, what a symlinked directory leads to) is never read,
        // waited for or deleted.
        let prefix = self.locks_prefix();
        Ok(metas
            .into_iter()
            .filter(|m| m.location.prefix_match(&prefix).is_some_and(|rest| rest.count() == 1))
            .filter_map(|m| {
                let (kind, token) = parse_name(&m.location);
                Some(Found { location: m.location, kind: Some(kind?), token, modified: m.last_modified.into() })
            })
            .collect())
    }

    /// Takes a `kind` lock for `command` (`push`, `gc`, ...): writes it, then lists the locks
    /// and gives up (deleting its own) when one that conflicts is fresh. Two that start at
    /// once both see each other, so at worst both give up; never both proceed. A conflicting
    /// lock is stale when not refreshed for [`STALE`] (by the store's clock: our own lock's
    /// time is "now"; a stamp from the future is not a store's), or when it belongs to a process
    /// of this boot and PID namespace that is gone; an
    /// exclusive taker deletes stale locks. The lock is refreshed while held.
    pub async fn lock(&self, kind: LockKind, command: &str) -> Result<RemoteLock> {
        let rand = blake3::hash(format!("{:?}{:?}", SystemTime::now(), std::thread::current().id()).as_bytes())
            .to_hex()[..16]
            .to_string();
        let key = self.locks_prefix().join(format!("{}-{}-{rand}", kind.name(), process_token()));
        let holder = Holder {
            kind: kind.name().into(),
            command: command.into(),
            host: hostname(),
            pid: std::process::id(),
            started: SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            machine: machine_id(),
        };
        let body = serde_json::to_vec(&holder)?;
        self.store
            .put(&key, PutPayload::from(body.clone()))
            .await
            .map_err(|e| self.error("writing a lock in `locks/`", e))?;
        let mut lock = RemoteLock { key: key.clone(), store: self.store.clone(), refresher: None };
        let found = match self.list_locks().await {
            Ok(f) => f,
            Err(e) => {
                lock.release_now().await;
                return Err(e);
            }
        };
        let now = found.iter().find(|f| f.location == key).map(|f| f.modified).unwrap_or_else(SystemTime::now);
        let mut stale = Vec::new();
        for other in found.iter().filter(|f| f.location != key && f.token != process_token()) {
            let conflicts = kind == LockKind::Exclusive || other.kind != Some(LockKind::Shared);
            if !conflicts {
                continue;
            }
            let age = now.duration_since(other.modified).unwrap_or_default();
            // The store stamps every lock, ours included: one stamped well after ours was not
            // written by a store's clock.
            let from_the_future = other.modified.duration_since(now).unwrap_or_default() > REFRESH;
            let info = self.read_holder(&other.location).await;
            let gone = info.as_ref().is_some_and(|h| {
                h.host == holder.host && !h.machine.is_empty() && h.machine == holder.machine && !pid_alive(h.pid)
            });
            if age > STALE || gone || from_the_future {
                stale.push(other.location.clone());
                continue;
            }
            lock.release_now().await;
            let who = match &info {
                Some(h) => format!(
                    "`mvc {}` ({} lock, host {}, pid {})",
                    crate::text::sanitize(&h.command),
                    crate::text::sanitize(&h.kind),
                    crate::text::sanitize(&h.host),
                    h.pid
                ),
                None => format!("`{}`", crate::text::sanitize(other.location.as_ref())),
            };
            let mins = age.as_secs() / 60;
            bail!(crate::error::hinted(
                format!(
                    "remote `{}` ({}) is locked by {who}, refreshed {} ago; `mvc {command}` would conflict with it",
                    self.name,
                    self.display_url,
                    if mins == 0 { "less than a minute".to_string() } else { format!("{mins} min") }
                ),
                format!(
                    "wait for it to finish and re-run; a lock not refreshed for {} minutes is stale and ignored",
                    STALE.as_secs() / 60
                )
            ));
        }
        if kind == LockKind::Exclusive && !stale.is_empty() {
            let _ = self.delete_all_quiet(stale).await;
        }
        let (store, stop) = (self.store.clone(), self.stop.clone());
        let name = self.name.clone();
        lock.refresher = Some(tokio::spawn(async move {
            let mut last_ok = std::time::Instant::now();
            loop {
                tokio::time::sleep(if last_ok.elapsed() < REFRESH { REFRESH } else { Duration::from_secs(30) }).await;
                if store.put(&key, PutPayload::from(body.clone())).await.is_ok() {
                    last_ok = std::time::Instant::now();
                } else if last_ok.elapsed() > GIVE_UP {
                    stop.fatal(
                        &format!("lost the lock on remote `{name}`: it could not be refreshed for 20 minutes"),
                        "check the network and re-run; what finished is kept",
                    );
                    return;
                }
            }
        }));
        Ok(lock)
    }

    async fn read_holder(&self, location: &StorePath) -> Option<Holder> {
        let got = self.store.get(location).await.ok()?;
        if got.meta.size > 4096 {
            return None;
        }
        serde_json::from_slice(&got.bytes().await.ok()?).ok()
    }

    async fn delete_all_quiet(&self, locations: Vec<StorePath>) -> Result<()> {
        for l in locations {
            let _ = self.store.delete(&l).await;
        }
        Ok(())
    }
}

impl RemoteLock {
    async fn release_now(&mut self) {
        if let Some(r) = self.refresher.take() {
            r.abort();
        }
        let _ = self.store.delete(&self.key).await;
    }
}

/// A pause point for tests only: when `MVC_TEST_PAUSE_AT` names `point`, writes
/// `$MVC_TEST_PAUSE_DIR/<point>.reached` and waits (at most a minute) until
/// `$MVC_TEST_PAUSE_DIR/<point>.go` exists, so a test can interleave two processes exactly.
pub(crate) async fn test_pause(point: &str) {
    let (Some(at), Some(dir)) = (std::env::var_os("MVC_TEST_PAUSE_AT"), std::env::var_os("MVC_TEST_PAUSE_DIR")) else {
        return;
    };
    if at != point {
        return;
    }
    let dir = std::path::PathBuf::from(dir);
    let _ = std::fs::write(dir.join(format!("{point}.reached")), b"");
    let go = dir.join(format!("{point}.go"));
    for _ in 0..6000 {
        if go.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
