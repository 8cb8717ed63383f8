//! One module per operation: each takes an `Options` struct and returns a `Report`; none
//! prints. Shared here: finding the artifacts a command applies to.

pub mod add;
pub mod cat;
pub mod check_ignore;
pub mod checkout;
pub mod commit;
pub mod compare;
pub mod config;
pub mod dedup;
pub mod doctor;
pub mod du;
pub mod exp;
pub mod fetch;
pub mod fsck;
pub mod gc;
pub mod get;
pub mod history;
pub mod import;
pub mod import_dvc;
pub mod import_lfs;
pub mod init;
pub mod install;
pub mod lineage;
pub mod ls_url;
pub mod merge;
pub mod plots;
pub mod push;
pub mod registry;
pub mod remote;
pub mod remote_status;
pub mod remove;
pub mod rename;
pub mod restore;
pub mod source;
pub mod status;
pub mod transfer;
pub mod unprotect;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::error::hinted;
use crate::manifest::Manifest;
use crate::pointer::{self, Pointer};
use crate::repo::Repo;

/// Largest manifest mvc reads (about 8 million files).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 30;

/// A tracked artifact: its path and its pointer's, both repo-relative.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Artifact {
    /// The artifact (`data/train`).
    pub rel: String,
    /// Its pointer (`data/train.mvc`).
    pub pointer_rel: String,
}

impl Artifact {
    /// The artifact whose pointer is at `pointer_rel`, if that names an allowed artifact
    /// path ([`crate::paths::check_artifact_rel`]: a pointer `..mvc` or `.git.mvc` names none).
    pub fn from_pointer(pointer_rel: &str) -> Option<Artifact> {
        let rel = pointer_rel.strip_suffix(pointer::SUFFIX)?;
        Artifact::checked(rel).ok()
    }

    /// The artifact at `rel`, refusing paths no artifact may have.
    pub fn checked(rel: &str) -> Result<Artifact, crate::paths::BadPath> {
        crate::paths::check_artifact_rel(rel)?;
        Ok(Artifact::from_rel(rel))
    }

    /// The artifact at `rel`, which the caller has already checked (or built from a checked
    /// artifact path).
    pub fn from_rel(rel: &str) -> Artifact {
        Artifact { rel: rel.to_string(), pointer_rel: format!("{rel}{}", pointer::SUFFIX) }
    }

    /// Reads and validates its pointer from the workspace (never through a symlinked
    /// directory).
    pub fn load_pointer(&self, repo: &Repo) -> Result<Pointer> {
        crate::paths::check_artifact_rel(&self.rel)?;
        crate::paths::check_resolved(&repo.root, &self.pointer_rel)?;
        Ok(Pointer::load(&repo.abs(&self.pointer_rel))?)
    }
}

/// Every artifact whose pointer is in the git index and in the work tree. A pointer whose
/// name no artifact may have (`..mvc`, `.git.mvc`) is reported as a problem and skipped.
pub fn tracked(repo: &Repo) -> Result<Vec<Artifact>> {
    let mut out = Vec::new();
    for pointer_rel in crate::git::indexed_pointers(&repo.git, &repo.scope)? {
        let rel = pointer_rel.strip_suffix(pointer::SUFFIX).unwrap_or(&pointer_rel);
        match Artifact::checked(rel) {
            Ok(a) if repo.abs(&a.pointer_rel).exists() => out.push(a),
            Ok(_) => {}
            Err(e) => crate::notices::problem(format!("skipping pointer `{pointer_rel}`: {e}")),
        }
    }
    out.sort();
    Ok(out)
}

/// Pointers of `artifacts`, loaded from the workspace. One that cannot be read is reported
/// as a problem (the command exits 1) and left out, so whole-repository commands still do
/// the rest.
pub fn load_pointers(repo: &Repo, artifacts: Vec<Artifact>) -> Vec<(Artifact, Pointer)> {
    let mut out = Vec::new();
    for artifact in artifacts {
        match artifact.load_pointer(repo) {
            Ok(p) => out.push((artifact, p)),
            Err(e) => crate::notices::problem(format!("{e:#}")),
        }
    }
    out
}

/// The artifacts named by `targets` (artifact paths, pointer paths, or directories holding
/// artifacts), or every tracked artifact when `targets` is empty. A target that names no
/// artifact is an error.
pub fn select(repo: &Repo, cwd: &Path, targets: &[PathBuf]) -> Result<Vec<Artifact>> {
    let all = tracked(repo)?;
    if targets.is_empty() {
        return Ok(all);
    }
    let mut out = Vec::new();
    for target in targets {
        let rel = repo.relative(cwd, target)?;
        let rel = rel.strip_suffix(pointer::SUFFIX).map(str::to_string).unwrap_or(rel);
        let direct = Artifact::from_rel(&rel);
        if !rel.is_empty() && repo.abs(&direct.pointer_rel).is_file() {
            let direct = Artifact::checked(&rel)?;
            out.push(direct);
            continue;
        }
        let prefix = if rel.is_empty() { String::new() } else { format!("{rel}/") };
        let under: Vec<Artifact> = all.iter().filter(|a| a.rel.starts_with(&prefix)).cloned().collect();
        if under.is_empty() {
            if let Some(parent) = enclosing_artifact(repo, &rel) {
                bail!(hinted(
                    format!("`{}` is inside the tracked directory `{}`", target.display(), parent.rel),
                    format!("mvc works on whole artifacts: use `{}`", parent.rel)
                ));
            }
            bail!(hinted(
                format!("`{}` is not tracked by mvc (no `{}`)", target.display(), direct.pointer_rel),
                format!("track it with `mvc add {}`", crate::text::shell_quote(&target.display().to_string()))
            ));
        }
        out.extend(under);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The tracked directory artifact that contains `rel`, if any.
pub fn enclosing_artifact(repo: &Repo, rel: &str) -> Option<Artifact> {
    let mut end = rel.len();
    while let Some(i) = rel[..end].rfind('/') {
        let candidate = Artifact::from_rel(&rel[..i]);
        if repo.abs(&candidate.pointer_rel).is_file() {
            return Some(candidate);
        }
        end = i;
    }
    None
}

/// Stages `rels` (as they are in the work tree) and, with a message, commits them with
/// [`crate::git::commit_command`]. Every command that changes committed files ends here, so
/// `-m` means the same everywhere. Returns the commit id.
pub fn stage_and_commit(repo: &Repo, rels: &[String], message: Option<&str>) -> Result<Option<String>> {
    crate::git::stage(&repo.git, &repo.scope, rels)?;
    match message {
        Some(message) => Ok(Some(crate::git::commit_command(&repo.git, &repo.scope, rels, message)?.to_string())),
        None => Ok(None),
    }
}

/// Reads and validates a directory's manifest from the cache.
pub fn load_manifest(repo: &Repo, pointer: &Pointer, pointer_rel: &str) -> Result<Manifest> {
    load_manifest_oid(repo, &pointer.oid, pointer_rel)
}

/// Reads manifest `oid` from the cache, checking its bytes against the oid and validating
/// it; `label` names what it belongs to in errors.
pub fn load_manifest_oid(repo: &Repo, oid: &crate::hash::Oid, label: &str) -> Result<Manifest> {
    let bytes = repo.cache().read_small(oid, MAX_MANIFEST_BYTES)?;
    if crate::hash::Oid::of_bytes(&bytes) != *oid {
        bail!(hinted(
            format!("the cached manifest {oid} of `{label}` is corrupt (its content does not match its oid)"),
            "run `mvc fsck --repair`"
        ));
    }
    Manifest::parse(&bytes).with_context(|| format!("manifest {oid} of `{label}`"))
}

/// How many of the objects `pointer` needs are not in the cache (for a directory: its
/// manifest, or else its files).
pub fn missing_in_cache(repo: &Repo, pointer: &Pointer, label: &str) -> Result<usize> {
    let cache = repo.cache();
    if !cache.contains(&pointer.oid) {
        return Ok(1);
    }
    if pointer.kind == crate::pointer::Kind::File {
        return Ok(0);
    }
    let manifest = load_manifest_oid(repo, &pointer.oid, label)?;
    Ok(manifest.entries.iter().filter(|e| !cache.contains(&e.oid)).count())
}

/// How this repository's tracked directories are walked: `.mvcignore` rules, links into the
/// cache, and whether symlinks are followed.
pub(crate) fn walk_rules<'a>(
    repo: &'a Repo,
    ignore: &'a crate::mvcignore::MvcIgnore,
    follow_symlinks: bool,
) -> crate::workspace::WalkRules<'a> {
    crate::workspace::WalkRules { cache_root: &repo.config.cache_dir, ignore, follow_symlinks }
}

/// The key under which a file inside an artifact is remembered in the stat index.
pub fn index_key(artifact_rel: &str, kind: crate::pointer::Kind, inner: &str) -> String {
    match kind {
        crate::pointer::Kind::File => artifact_rel.to_string(),
        crate::pointer::Kind::Dir => format!("{artifact_rel}/{inner}"),
    }
}
