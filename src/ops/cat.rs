//! `mvc cat PATH`: streams an artifact (or one file inside a directory artifact) at the
//! workspace's pointer, a revision or a registry version to a writer, from the cache, after
//! fetching what the cache lacks from a remote. Nothing is written to the workspace. The
//! bytes are hashed while they stream: a mismatch is an error once the stream ends.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::error::hinted;
use crate::hash::Oid;
use crate::ops::fetch::{FetchOptions, fetch};
use crate::pointer::{Kind, Pointer};
use crate::progress::Reporter;
use crate::repo::Repo;
use crate::revs::RevSelection;

/// What to stream.
pub struct CatOptions {
    /// An artifact, a file inside a directory artifact, or a registry reference.
    pub path: String,
    /// A git revision or a registry reference; default: the workspace's pointers.
    pub rev: Option<String>,
    /// Directory the path is relative to.
    pub cwd: PathBuf,
    /// Remote to fetch from when the cache lacks the object.
    pub remote: Option<String>,
}

/// What `cat` streamed.
pub struct CatReport {
    /// The artifact (repo-relative).
    pub artifact: String,
    /// The object streamed.
    pub oid: Oid,
    /// Bytes written.
    pub bytes: u64,
    /// Whether it had to be fetched from a remote first.
    pub fetched: bool,
}

/// Runs `mvc cat`, writing the content to `out`.
pub fn cat(
    repo: &Repo,
    opts: &CatOptions,
    out: &mut dyn Write,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<CatReport> {
    let as_ref = |s: &str| crate::ops::registry::as_registry_ref(repo, &opts.cwd, s);
    let (commit, rel) = match (as_ref(&opts.path), &opts.rev) {
        (Some(_), Some(_)) => {
            bail!("`{}` already names a version; leave out `--rev`", crate::text::sanitize(&opts.path))
        }
        (Some(r), None) => {
            let (commit, path) = crate::ops::registry::locate(repo, &r)?;
            (Some(commit), path)
        }
        (None, rev) => {
            let rel = repo.relative(&opts.cwd, std::path::Path::new(&opts.path))?;
            let rel = rel.strip_suffix(crate::pointer::SUFFIX).map(str::to_string).unwrap_or(rel);
            let commit = match rev {
                None => None,
                Some(rev) => Some(match as_ref(rev) {
                    Some(r) => crate::ops::registry::locate(repo, &r)?.0,
                    None => crate::revs::resolve(&repo.git, rev)?,
                }),
            };
            (commit, rel)
        }
    };
    crate::paths::check_workspace_rel(&rel)?;
    let (artifact, pointer) = find(repo, commit, &rel)?;
    let inner = rel.strip_prefix(&artifact).and_then(|r| r.strip_prefix('/')).map(str::to_string);
    let cache = repo.cache();
    let mut fetched = false;
    let mut ensure = |oid: &Oid| -> Result<()> {
        if cache.contains(oid) {
            return Ok(());
        }
        let revs = RevSelection { revs: commit.map(|c| c.to_string()).into_iter().collect(), ..Default::default() };
        let fetch_opts = FetchOptions {
            targets: vec![repo.abs(&rel)],
            cwd: repo.root.clone(),
            remote: opts.remote.clone(),
            jobs: None,
            revs,
            force: false,
        };
        fetch(repo, &fetch_opts, rt, reporter)?;
        fetched = true;
        if !cache.contains(oid) {
            bail!("object {oid} of `{artifact}` is on no remote");
        }
        Ok(())
    };
    let oid = match (pointer.kind, &inner) {
        (Kind::File, None) => pointer.oid,
        (Kind::File, Some(_)) => bail!("`{artifact}` is a file, not a directory"),
        (Kind::Dir, None) => bail!(hinted(
            format!("`{artifact}` is a directory"),
            format!("name a file inside it: `mvc cat {}/FILE`", crate::text::shell_quote(&artifact))
        )),
        (Kind::Dir, Some(inner)) => {
            ensure(&pointer.oid)?;
            let manifest = crate::ops::load_manifest_oid(repo, &pointer.oid, &artifact)?;
            manifest
                .entries
                .iter()
                .find(|e| e.path == *inner)
                .map(|e| e.oid)
                .with_context(|| format!("`{}` is not in `{artifact}`", crate::text::sanitize(inner)))?
        }
    };
    ensure(&oid)?;
    let path = cache.object_path(&oid);
    let mut file = std::fs::File::open(&path).with_context(|| format!("reading `{}`", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).with_context(|| format!("reading `{}`", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        bytes += n as u64;
    }
    out.flush()?;
    if Oid::from_bytes(*hasher.finalize().as_bytes()) != oid {
        bail!(hinted(
            format!("the cached object {oid} of `{artifact}` is corrupt: what was written does not match its oid"),
            "run `mvc fsck --repair`, then `mvc fetch`"
        ));
    }
    Ok(CatReport { artifact, oid, bytes, fetched })
}

/// The artifact that is `rel` or contains it, and its pointer, at `commit` or in the workspace.
fn find(repo: &Repo, commit: Option<git2::Oid>, rel: &str) -> Result<(String, Pointer)> {
    let mut candidate = rel;
    loop {
        let found = match commit {
            Some(c) => crate::revs::artifacts_at(&repo.git, &repo.scope, c)?.remove(candidate),
            None => {
                let a = crate::ops::Artifact::from_rel(candidate);
                if repo.abs(&a.pointer_rel).is_file() { Some(a.load_pointer(repo)?) } else { None }
            }
        };
        if let Some(p) = found {
            return Ok((candidate.to_string(), p));
        }
        match candidate.rfind('/') {
            Some(i) => candidate = &candidate[..i],
            None => bail!("`{}` is not tracked by mvc", crate::text::sanitize(rel)),
        }
    }
}
