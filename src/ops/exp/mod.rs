//! `mvc exp`: experiments, runs kept without a commit on any branch (DESIGN §8). Saving
//! builds the commit's tree in a temporary index from the workspace as the run left it and
//! points `refs/exps/<name>` at it; the branch, the index and the workspace stay untouched.

mod params;
mod runs;
mod transfer;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::error::hinted;
use crate::exp::{self, RunRecord};
use crate::ops::add::{Change, Stored, record_artifact};
use crate::ops::status::{Workspace, artifact_status};
use crate::progress::Reporter;
use crate::repo::Repo;

pub use params::{params_file, set_params};
pub use runs::{Filter, Row, ShowOptions, ShowReport, diff, run_values, show};
pub use transfer::{ExpPullReport, ExpPushReport, ExpTransferOptions, pull, push};

/// Untracked files larger than this stay out of an experiment's commit (they belong in
/// mvc, not in git).
const MAX_UNTRACKED_BYTES: u64 = 50 << 20;

/// What to save.
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// The experiment's name (generated when None).
    pub name: Option<String>,
    /// What `exp run` recorded about its command.
    pub record: RunRecord,
}

/// What `exp save` (or the end of `exp run`) did.
#[derive(Debug, Clone)]
pub struct SaveReport {
    /// The experiment's name.
    pub name: String,
    /// Its commit.
    pub commit: String,
    /// The commit it started from (HEAD).
    pub base: String,
    /// Artifacts whose pointer in the experiment differs from the workspace's pointer file
    /// (their new data is in the cache).
    pub recorded: Vec<Stored>,
    /// Untracked files left out for their size: (path, bytes).
    pub skipped: Vec<(String, u64)>,
}

/// The name to save under: `name` checked and free, or a new one.
fn claim_name(repo: &Repo, name: Option<&str>) -> Result<String> {
    match name {
        Some(name) => {
            exp::check_name(name)?;
            if exp::find(&repo.git, name).is_some() {
                bail!(hinted(
                    format!("an experiment named `{name}` already exists"),
                    format!("pick another name, or remove it first: `mvc exp remove {name}`"),
                ));
            }
            Ok(name.to_string())
        }
        None => Ok(exp::generate_name(&repo.git)),
    }
}

/// The commit experiments start from.
fn head_commit(repo: &Repo) -> Result<git2::Commit<'_>> {
    repo.git.head().and_then(|h| h.peel_to_commit()).map_err(|_| {
        hinted("an experiment starts from a commit, and this branch has none yet", "commit something first").into()
    })
}

/// Runs `mvc exp save`.
pub fn save(repo: &Repo, opts: &SaveOptions, reporter: &dyn Reporter) -> Result<SaveReport> {
    let _lock = repo.lock("exp save")?;
    let name = claim_name(repo, opts.name.as_deref())?;
    let head = head_commit(repo)?;
    let git = &repo.git;
    let mut tree_index = git2::Index::new().context("creating an index")?;
    tree_index.read_tree(&head.tree().context("reading HEAD's tree")?).context("reading HEAD's tree")?;

    // Every path git sees as changed or untracked (ignored files excluded), as it is now.
    let mut status_opts = git2::StatusOptions::new();
    status_opts.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false).exclude_submodules(true);
    let statuses = git.statuses(Some(&mut status_opts)).context("reading the workspace's git status")?;
    let mut skipped = Vec::new();
    for entry in statuses.iter() {
        let Ok(git_rel) = entry.path() else { continue };
        // A project in a subdirectory saves its own directory, not its neighbours'.
        let Some(rel) = repo.project_path(git_rel) else { continue };
        let rel = rel.to_string();
        if crate::paths::check_workspace_rel(&rel).is_err() && !rel.starts_with(".mvc/") {
            continue;
        }
        let untracked = entry.status().contains(git2::Status::WT_NEW);
        match std::fs::symlink_metadata(repo.root.join(&rel)) {
            Ok(meta) if untracked && meta.is_file() && meta.len() > MAX_UNTRACKED_BYTES => {
                skipped.push((rel, meta.len()));
            }
            Ok(meta) if meta.is_file() || meta.file_type().is_symlink() => {
                add_workspace_file(git, &mut tree_index, &repo.root, &rel, &repo.git_path(&rel), &meta)?;
            }
            Ok(_) => {}
            Err(_) => {
                let _ = tree_index.remove_path(Path::new(&repo.git_path(&rel)));
            }
        }
    }
    // Step logs belong to the run even when a .gitignore leaves them out.
    for (rel, text) in exp::workspace_logs(&repo.root, &exp::log_patterns(&repo.config)?)? {
        let blob = git.blob(text.as_bytes()).context("storing a step log")?;
        add_entry(&mut tree_index, &repo.git_path(&rel), blob, 0o100644, text.len() as u64)?;
    }

    // Pointers re-recorded as `mvc commit` would, their data into the cache, without
    // writing the pointer files in the workspace.
    let index = repo.stat_index();
    let mut recorded = Vec::new();
    let cwd = repo.root.clone();
    for artifact in crate::ops::tracked(repo)? {
        let pointer = artifact.load_pointer(repo)?;
        let (status, _) = artifact_status(repo, index, &artifact, &pointer, reporter)?;
        let has_sources = pointer.meta.contains_key("sources");
        let stored = match status.workspace {
            Workspace::Missing => continue,
            Workspace::Unchanged if !has_sources => continue,
            Workspace::Unchanged | Workspace::Modified => record_artifact(
                repo,
                index,
                &artifact.rel,
                &crate::meta::MetaInput::default(),
                &cwd,
                false,
                false,
                reporter,
            )?,
        };
        let text = stored.pointer.to_yaml();
        let blob = git.blob(text.as_bytes()).context("storing a pointer")?;
        add_entry(&mut tree_index, &repo.git_path(&artifact.pointer_rel), blob, 0o100644, text.len() as u64)?;
        if stored.change != Change::Unchanged {
            recorded.push(stored);
        }
    }

    let tree_id = tree_index.write_tree_to(git).context("writing the experiment's tree")?;
    let tree = git.find_tree(tree_id).context("reading the experiment's tree")?;
    let author = crate::git::signature(git, "AUTHOR")?;
    let committer = crate::git::signature(git, "COMMITTER")?;
    let commit = git
        .commit(None, &author, &committer, &exp::message(&name, &opts.record), &tree, &[&head])
        .context("creating the experiment's commit")?;
    git.reference(&exp::ref_name(&name), commit, false, &format!("mvc exp save: {name}"))
        .with_context(|| format!("creating `{}`", exp::ref_name(&name)))?;
    Ok(SaveReport { name, commit: commit.to_string(), base: head.id().to_string(), recorded, skipped })
}

/// Adds the workspace file at project-relative `rel` (a regular file or a symlink) to `index`
/// as a blob at `git_rel`.
fn add_workspace_file(
    git: &git2::Repository,
    index: &mut git2::Index,
    root: &Path,
    rel: &str,
    git_rel: &str,
    meta: &std::fs::Metadata,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let abs = root.join(rel);
    let (blob, mode) = if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&abs).with_context(|| format!("reading the link `{rel}`"))?;
        let bytes = target.as_os_str().as_encoded_bytes().to_vec();
        (git.blob(&bytes).with_context(|| format!("storing `{rel}`"))?, 0o120000)
    } else {
        let exec = meta.permissions().mode() & 0o111 != 0;
        (git.blob_path(&abs).with_context(|| format!("storing `{rel}`"))?, if exec { 0o100755 } else { 0o100644 })
    };
    add_entry(index, git_rel, blob, mode, meta.len())
}

fn add_entry(index: &mut git2::Index, rel: &str, id: git2::Oid, mode: u32, size: u64) -> Result<()> {
    let path = rel.as_bytes().to_vec();
    let entry = git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: size as u32,
        id,
        flags: path.len().min(0xfff) as u16,
        flags_extended: 0,
        path,
    };
    index.add(&entry).with_context(|| format!("adding `{rel}` to the experiment"))
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The experiment's name (generated when None).
    pub name: Option<String>,
    /// `KEY=VALUE` params to set in the params file before the run.
    pub set: Vec<String>,
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Where the command runs.
    pub cwd: PathBuf,
}

/// What `exp run` did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The params file edited, when `--set` was given.
    pub params_file: Option<String>,
    /// What the command did.
    pub record: RunRecord,
    /// The experiment saved afterwards.
    pub saved: SaveReport,
}

/// Runs `mvc exp run`: sets params, runs the command (its output goes straight to the
/// terminal), then saves the workspace as an experiment, marked failed when the command
/// failed.
pub fn run(repo: &Repo, opts: &RunOptions, reporter: &dyn Reporter) -> Result<RunReport> {
    let Some((program, args)) = opts.command.split_first() else {
        bail!(hinted("no command to run", "give it after `--`: `mvc exp run -- python train.py`"));
    };
    // Refuse a taken name before spending a training run on it.
    let name = claim_name(repo, opts.name.as_deref())?;
    head_commit(repo)?;
    let params_file = if opts.set.is_empty() {
        None
    } else {
        let rel = params_file(repo)?;
        set_params(repo, &rel, &opts.set)?;
        Some(rel)
    };
    let started = Instant::now();
    let status = std::process::Command::new(program)
        .args(args)
        .current_dir(&opts.cwd)
        .env("MVC_EXP_NAME", &name)
        .status()
        .map_err(|e| hinted(format!("cannot run `{program}`: {e}"), "check the command after `--`"))?;
    let duration = started.elapsed().as_secs_f64();
    let record = RunRecord {
        command: Some(opts.command.iter().map(|a| crate::text::shell_quote(a)).collect::<Vec<_>>().join(" ")),
        exit: status.code(),
        failed: !status.success(),
        duration: Some(duration),
    };
    let saved = save(repo, &SaveOptions { name: Some(name), record: record.clone() }, reporter)?;
    Ok(RunReport { params_file, record, saved })
}

/// The commit of experiment `name`, or an error listing how to see the experiments.
pub fn commit_of(repo: &Repo, name: &str) -> Result<git2::Oid> {
    exp::check_name(name)?;
    exp::find(&repo.git, name).ok_or_else(|| {
        hinted(format!("no experiment named `{}`", crate::text::sanitize(name)), "list them with `mvc exp show`").into()
    })
}

/// What `exp apply` did.
pub struct ApplyReport {
    /// Files of the experiment written into the workspace (code, params, pointers, logs).
    pub files: Vec<String>,
    /// The data of its pointers, checked out.
    pub checkout: crate::ops::checkout::CheckoutReport,
}

/// Runs `mvc exp apply`: the experiment's files into the workspace (HEAD and the branch stay),
/// its pointers staged, then their data checked out from the cache. Uncommitted work that
/// no commit or experiment holds is never overwritten without `force`.
pub fn apply(repo: &Repo, name: &str, force: bool, reporter: &dyn Reporter) -> Result<ApplyReport> {
    let commit = commit_of(repo, name)?;
    let git = &repo.git;
    let tree = git.find_commit(commit)?.tree()?;
    let head_tree = head_commit(repo)?.tree()?;
    // Files the experiment changes relative to the workspace.
    let mut diff_opts = git2::DiffOptions::new();
    diff_opts.include_untracked(true).recurse_untracked_dirs(true);
    let diff = git
        .diff_tree_to_workdir_with_index(Some(&tree), Some(&mut diff_opts))
        .context("comparing the experiment with the workspace")?;
    let mut files = Vec::new();
    for delta in diff.deltas() {
        let Some(git_rel) = delta.old_file().path().or_else(|| delta.new_file().path()).and_then(|p| p.to_str()) else {
            continue;
        };
        let Some(rel) = repo.project_path(git_rel) else { continue };
        // Untracked files the experiment lacks are left alone.
        if delta.status() == git2::Delta::Untracked || delta.status() == git2::Delta::Added {
            continue;
        }
        let abs = repo.root.join(rel);
        if !force && abs.is_file() {
            let in_head = head_tree.get_path(Path::new(git_rel)).ok().map(|e| e.id());
            let now = git2::Oid::hash_file(git2::ObjectType::Blob, &abs).ok();
            let saved = now.is_some_and(|oid| Some(oid) == in_head || git.find_blob(oid).is_ok());
            if !saved {
                bail!(hinted(
                    format!("`{rel}` has changes that no commit or experiment holds; `exp apply` would lose them"),
                    "save them first (`mvc exp save`), or use `--force`",
                ));
            }
        }
        files.push(rel.to_string());
    }
    if !files.is_empty() {
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.force().update_index(false);
        for f in &files {
            checkout.path(repo.git_path(f));
        }
        git.checkout_tree(tree.as_object(), Some(&mut checkout)).context("writing the experiment's files")?;
    }
    let staged: Vec<String> =
        files.iter().filter(|f| f.ends_with(crate::pointer::SUFFIX) || f.ends_with(".gitignore")).cloned().collect();
    crate::git::stage(git, &repo.scope, &staged)?;
    let checkout = crate::ops::checkout::checkout(
        repo,
        &crate::ops::checkout::CheckoutOptions { targets: Vec::new(), cwd: repo.root.clone(), force },
        reporter,
    )?;
    Ok(ApplyReport { files, checkout })
}

/// Runs `mvc exp branch NAME BRANCH`: a branch at the experiment's commit.
pub fn branch(repo: &Repo, name: &str, branch: &str) -> Result<String> {
    let commit = repo.git.find_commit(commit_of(repo, name)?)?;
    repo.git.branch(branch, &commit, false).map_err(|e| match e.code() {
        git2::ErrorCode::Exists => anyhow::Error::from(hinted(
            format!("a branch named `{}` already exists", crate::text::sanitize(branch)),
            "pick another branch name",
        )),
        _ => anyhow::anyhow!("cannot create the branch `{}`: {}", crate::text::sanitize(branch), e.message()),
    })?;
    Ok(commit.id().to_string())
}

/// Runs `mvc exp remove`: deletes the experiments' refs (all of them checked first). Their
/// data stays in the cache until `mvc gc`.
pub fn remove(repo: &Repo, names: &[String]) -> Result<Vec<String>> {
    for name in names {
        commit_of(repo, name)?;
    }
    for name in names {
        let mut reference = repo.git.find_reference(&exp::ref_name(name))?;
        reference.delete().with_context(|| format!("removing the experiment `{name}`"))?;
    }
    Ok(names.to_vec())
}

/// Which experiments `exp gc` keeps.
#[derive(Debug, Clone, Default)]
pub struct ExpGcOptions {
    /// Keep experiments started from any local branch head (not only HEAD).
    pub all_branches: bool,
    /// Keep experiments started from any commit reachable from a branch or tag.
    pub all_commits: bool,
    /// Report only.
    pub dry_run: bool,
}

/// Runs `mvc exp gc`: removes experiments whose base commit is outside the scope (by
/// default, every experiment not started from HEAD). Returns the names removed.
pub fn gc(repo: &Repo, opts: &ExpGcOptions) -> Result<Vec<String>> {
    let git = &repo.git;
    let mut keep_bases = std::collections::HashSet::new();
    if let Ok(head) = git.head().and_then(|h| h.peel_to_commit()) {
        keep_bases.insert(head.id());
    }
    if opts.all_branches || opts.all_commits {
        let mut walk = git.revwalk()?;
        for reference in git.references()?.flatten() {
            let wanted = reference.is_branch() || (opts.all_commits && reference.is_tag());
            if wanted && let Ok(c) = reference.peel_to_commit() {
                keep_bases.insert(c.id());
                walk.push(c.id())?;
            }
        }
        if opts.all_commits {
            for id in walk {
                keep_bases.insert(id?);
            }
        }
    }
    let mut removed = Vec::new();
    for (name, commit) in exp::list(git)? {
        let base = git.find_commit(commit)?.parent_id(0).ok();
        if base.is_some_and(|b| keep_bases.contains(&b)) {
            continue;
        }
        if !opts.dry_run {
            git.find_reference(&exp::ref_name(&name))?.delete().with_context(|| format!("removing `{name}`"))?;
        }
        removed.push(name);
    }
    Ok(removed)
}
