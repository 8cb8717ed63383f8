//! `mvc import URL PATH` and `mvc update`: an artifact of another mvc project tracked here,
//! its pointer's `meta.source` recording where it came from (repo, the revision or registry
//! reference asked for, the resolved commit, the source path and oid), so `update` can
//! follow the source and `status --imports` can tell when it moved.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::error::hinted;
use crate::ops::Artifact;
use crate::ops::add::{store_artifact, write_pointer};
use crate::ops::source::{Clone, Located, clean_path, shown_url};
use crate::pointer::Pointer;
use crate::progress::Reporter;
use crate::remote::transfer::TransferStats;
use crate::repo::Repo;

/// `meta.source` of an imported artifact's pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The project, credentials removed (a local path absolute).
    pub repo: String,
    /// What was asked for: a revision or registry reference; None for the default branch.
    pub rev: Option<String>,
    /// The source commit the pointer was read at.
    pub commit: String,
    /// The artifact's path in the source project.
    pub path: String,
    /// The source pointer's oid.
    pub oid: String,
}

impl Source {
    /// The recorded source of `pointer`, if it is an import. A malformed record (it came with
    /// someone's commit) is an error naming the pointer.
    pub fn of(pointer: &Pointer, pointer_rel: &str) -> Result<Option<Source>> {
        let Some(v) = pointer.meta.get("source") else { return Ok(None) };
        let source: Source = serde_json::from_value(v.clone())
            .map_err(|e| anyhow::anyhow!("`meta.source` of `{}`: {e}", crate::text::sanitize(pointer_rel)))?;
        clean_path(&source.path).with_context(|| format!("`meta.source.path` of `{pointer_rel}`"))?;
        Ok(Some(source))
    }

    fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a source serialises")
    }
}

/// What to import.
pub struct ImportOptions {
    /// Anything `git clone` accepts, or a local path (relative to `cwd`).
    pub repo_url: String,
    /// The artifact's path in that project, or a registry reference (`churn#production`).
    pub path: String,
    /// A revision or registry reference; the default branch when None.
    pub rev: Option<String>,
    /// Where to put it; default: its name in `cwd`.
    pub out: Option<PathBuf>,
    /// The directory the command runs in.
    pub cwd: PathBuf,
    /// The source project's remote to download from.
    pub remote: Option<String>,
    /// Concurrency override.
    pub jobs: Option<usize>,
    /// Commit what was staged with this message.
    pub message: Option<String>,
}

/// What `import` did.
pub struct ImportReport {
    /// The new artifact, repo-relative.
    pub out: String,
    /// Its pointer.
    pub pointer: Pointer,
    /// Where it came from.
    pub source: Source,
    /// The source project's remote the data came from.
    pub remote: String,
    /// Transfer counts.
    pub stats: TransferStats,
    /// The commit made with `-m`.
    pub commit: Option<String>,
}

/// Runs `mvc import`.
pub fn import(
    repo: &Repo,
    opts: &ImportOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<ImportReport> {
    let _lock = repo.lock("import")?;
    let out_abs = opts.out.as_ref().map(|o| if o.is_absolute() { o.clone() } else { opts.cwd.join(o) });
    let parent = match &out_abs {
        Some(o) => o.parent().context("the output path has no parent directory")?.to_path_buf(),
        None => opts.cwd.clone(),
    };
    let clone = crate::ops::source::clone(&opts.repo_url, &parent, &opts.cwd)?;
    let (located, reference) = clone.locate(&opts.path, opts.rev.as_deref())?;
    if located.artifact != located.path {
        bail!(hinted(
            format!("`{}` is inside the tracked directory `{}` of that project", located.path, located.artifact),
            "import whole artifacts (or copy one file with `mvc get`)"
        ));
    }
    let name = located.path.rsplit('/').next().expect("clean paths are not empty").to_string();
    let out_abs = out_abs.unwrap_or_else(|| opts.cwd.join(&name));
    let rel = repo.relative(&opts.cwd, &out_abs)?;
    check_new_artifact(repo, &rel)?;
    let pulled = clone.pull(&located, opts.remote.as_deref(), opts.jobs, rt, reporter)?;
    let abs = repo.abs(&rel);
    std::fs::rename(&pulled.data, &abs).with_context(|| format!("moving the data into `{rel}`"))?;
    drop(clone);
    let source = Source {
        repo: crate::ops::source::stored_url(&opts.repo_url, &opts.cwd),
        rev: reference.or_else(|| opts.rev.clone()),
        commit: located.commit.clone(),
        path: located.path.clone(),
        oid: located.pointer.oid.to_hex(),
    };
    let pointer = record(repo, &rel, &opts.cwd, &located, &source, reporter)?;
    let commit = stage(repo, std::slice::from_ref(&rel), opts.message.as_deref())?;
    Ok(ImportReport { out: rel, pointer, source, remote: pulled.remote, stats: pulled.stats, commit })
}

/// Refuses an import target that is not a fresh artifact path.
fn check_new_artifact(repo: &Repo, rel: &str) -> Result<()> {
    crate::paths::check_artifact_rel(rel)?;
    crate::git::check_gitignore(&repo.root, rel)?;
    if repo.abs(rel).symlink_metadata().is_ok() || repo.abs(&format!("{rel}{}", crate::pointer::SUFFIX)).exists() {
        bail!(hinted(format!("`{rel}` already exists"), "remove it, or choose another path with `-o`"));
    }
    if let Some(parent) = crate::ops::enclosing_artifact(repo, rel) {
        bail!("`{rel}` is inside the tracked directory `{}`", parent.rel);
    }
    crate::paths::check_resolved(&repo.root, rel)?;
    Ok(())
}

/// Hashes the data now at `rel` into the cache and writes its pointer with `meta.source`.
/// The bytes must be those the source's pointer names.
fn record(
    repo: &Repo,
    rel: &str,
    cwd: &Path,
    located: &Located,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Pointer> {
    let stored = store_artifact(repo, repo.stat_index(), rel, &Default::default(), cwd, false, reporter)?;
    let mut pointer = stored.pointer;
    if pointer.oid != located.pointer.oid {
        bail!("the data of `{rel}` does not match its source's oid {}", located.pointer.oid);
    }
    pointer.meta.insert("source".into(), source.to_value());
    write_pointer(repo, &Artifact::from_rel(rel), &pointer)?;
    Ok(pointer)
}

/// Stages the pointers and `.gitignore` lines of `rels`; commits them with a message.
fn stage(repo: &Repo, rels: &[String], message: Option<&str>) -> Result<Option<String>> {
    let mut to_stage = Vec::new();
    for rel in rels {
        to_stage.push(format!("{rel}{}", crate::pointer::SUFFIX));
        crate::git::ignore_artifact(&repo.git, &repo.scope, &repo.root, rel)?;
        let gitignore = crate::git::gitignore_of(rel);
        if !to_stage.contains(&gitignore) && repo.abs(&gitignore).exists() {
            to_stage.push(gitignore);
        }
    }
    crate::ops::stage_and_commit(repo, &to_stage, message)
}

/// What to update.
pub struct UpdateOptions {
    /// Imported artifacts; default: every import.
    pub targets: Vec<PathBuf>,
    /// The directory the command runs in.
    pub cwd: PathBuf,
    /// Follow this revision or registry reference from now on.
    pub rev: Option<String>,
    /// The source project's remote to download from.
    pub remote: Option<String>,
    /// Concurrency override.
    pub jobs: Option<usize>,
    /// Commit what was staged with this message.
    pub message: Option<String>,
}

/// One import as its source now stands.
#[derive(Debug, Clone)]
pub struct SourceState {
    /// The artifact here.
    pub out: String,
    /// What its pointer records.
    pub recorded: Source,
    /// The source as resolved now.
    pub now: Source,
}

impl SourceState {
    /// Whether the source's data differs from what is recorded here.
    pub fn moved(&self) -> bool {
        self.now.oid != self.recorded.oid
    }
}

/// What `update` did.
pub struct UpdateReport {
    /// Each import, `moved()` true where the data was updated.
    pub artifacts: Vec<SourceState>,
    /// The commit made with `-m`.
    pub commit: Option<String>,
}

/// The imported artifacts among `targets` (all imports when empty), with their sources. A
/// named target that is not an import is an error.
fn imports(repo: &Repo, cwd: &Path, targets: &[PathBuf]) -> Result<Vec<(Artifact, Pointer, Source)>> {
    let selected = crate::ops::select(repo, cwd, targets)?;
    let mut out = Vec::new();
    for (artifact, pointer) in crate::ops::load_pointers(repo, selected) {
        match Source::of(&pointer, &artifact.pointer_rel)? {
            Some(source) => out.push((artifact, pointer, source)),
            None if !targets.is_empty() => bail!(hinted(
                format!("`{}` was not imported from another project", artifact.rel),
                "import it with `mvc import URL PATH`"
            )),
            None => {}
        }
    }
    Ok(out)
}

/// Clones the source of an import and resolves its revision (or reference) again.
fn resolve(repo: &Repo, out: &str, recorded: &Source, rev: Option<&str>) -> Result<(Clone, Located, Source)> {
    let parent = repo.abs(crate::git::split_parent(out).0);
    let clone = crate::ops::source::clone(&recorded.repo, &parent, &repo.root)
        .with_context(|| format!("asking the source of `{out}`"))?;
    let rev = rev.or(recorded.rev.as_deref());
    let (located, reference) = clone.locate(&recorded.path, rev)?;
    if located.artifact != located.path {
        bail!("`{}` is no longer a whole artifact in `{}`", located.path, shown_url(&recorded.repo));
    }
    let now = Source {
        repo: recorded.repo.clone(),
        rev: reference.or_else(|| rev.map(str::to_string)),
        commit: located.commit.clone(),
        path: located.path.clone(),
        oid: located.pointer.oid.to_hex(),
    };
    Ok((clone, located, now))
}

/// Runs `mvc update`.
pub fn update(
    repo: &Repo,
    opts: &UpdateOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<UpdateReport> {
    let _lock = repo.lock("update")?;
    let mut artifacts = Vec::new();
    let mut changed = Vec::new();
    for (artifact, pointer, recorded) in imports(repo, &opts.cwd, &opts.targets)? {
        let (clone, located, now) = resolve(repo, &artifact.rel, &recorded, opts.rev.as_deref())?;
        let state = SourceState { out: artifact.rel.clone(), recorded: recorded.clone(), now: now.clone() };
        if state.moved() {
            let pulled = clone.pull(&located, opts.remote.as_deref(), opts.jobs, rt, reporter)?;
            let abs = repo.abs(&artifact.rel);
            // The old data is in the cache (it was imported); replace it whole.
            let aside = clone.scratch.path().join("previous");
            if abs.symlink_metadata().is_ok() {
                std::fs::rename(&abs, &aside).with_context(|| format!("moving `{}` aside", artifact.rel))?;
            }
            std::fs::rename(&pulled.data, &abs).with_context(|| format!("moving the data into `{}`", artifact.rel))?;
            drop(clone);
            record(repo, &artifact.rel, &opts.cwd, &located, &now, reporter)?;
            changed.push(artifact.rel.clone());
        } else if now.rev != recorded.rev {
            // A new `--rev` with the same data: only the record changes.
            let mut p = pointer.clone();
            p.meta.insert("source".into(), now.to_value());
            write_pointer(repo, &artifact, &p)?;
            changed.push(artifact.rel.clone());
        }
        artifacts.push(state);
    }
    let commit = stage(repo, &changed, opts.message.as_deref())?;
    Ok(UpdateReport { artifacts, commit })
}

/// Asks each import's source where it is now (`status --imports`): nothing here changes.
pub fn import_status(repo: &Repo, cwd: &Path, targets: &[PathBuf]) -> Result<Vec<SourceState>> {
    let mut out = Vec::new();
    for (artifact, _, recorded) in imports(repo, cwd, targets)? {
        let (_, _, now) = resolve(repo, &artifact.rel, &recorded, None)?;
        out.push(SourceState { out: artifact.rel, recorded, now });
    }
    Ok(out)
}
