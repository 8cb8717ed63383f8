//! `mvc init`: create `.mvc/` (config and its `.gitignore`) at the git work tree's root and
//! stage both. Idempotent; `--force` rewrites them without touching the cache.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::repo::{MVC_DIR, discover_git};

/// Where and how to initialise.
pub struct InitOptions {
    /// Any directory inside the git work tree.
    pub cwd: PathBuf,
    /// Re-create `.mvc/config` and `.mvc/.gitignore` even if present.
    pub force: bool,
    /// Commit `.mvc/config` and `.mvc/.gitignore` with this message.
    pub message: Option<String>,
}

/// What `init` did.
pub struct InitReport {
    /// The project root.
    pub root: PathBuf,
    /// Whether anything was written (false: it was already initialised).
    pub created: bool,
    /// The commit made with `-m`, if any.
    pub commit: Option<String>,
}

const CONFIG: &str = "# mvc configuration (see `mvc config --help`); committed, so never put secrets here\ncore:\n  link: [reflink, copy]\n";
/// Only `config` and this file belong in `.mvc/` (DESIGN §2); everything else stays out of
/// commits.
const GITIGNORE: &str = "/*\n!/config\n!/.gitignore\n";

/// Runs `mvc init`.
pub fn init(opts: &InitOptions) -> Result<InitReport> {
    let git = discover_git(&opts.cwd)?;
    let root = git.workdir().expect("non-bare").to_path_buf();
    let root = std::fs::canonicalize(&root).with_context(|| format!("resolving `{}`", root.display()))?;
    let mvc = root.join(MVC_DIR);
    let config = mvc.join("config");
    let gitignore = mvc.join(".gitignore");
    let complete = config.is_file() && gitignore.is_file();
    if complete && !opts.force {
        // Still validate, so a damaged config is reported rather than silently kept.
        crate::config::read_layer(&config)?;
        let commit = commit_project_files(&git, opts.message.as_deref())?;
        return Ok(InitReport { root, created: false, commit });
    }
    if std::fs::symlink_metadata(&mvc).is_ok_and(|m| m.file_type().is_symlink() || !m.is_dir()) {
        anyhow::bail!("`{}` exists and is not a directory; move it away first", mvc.display());
    }
    std::fs::create_dir_all(&mvc).with_context(|| format!("creating `{}`", mvc.display()))?;
    write_if(&config, CONFIG, opts.force || !config.is_file())?;
    write_if(&gitignore, GITIGNORE, true)?;
    crate::git::stage(&git, &[format!("{MVC_DIR}/config"), format!("{MVC_DIR}/.gitignore")])?;
    let commit = commit_project_files(&git, opts.message.as_deref())?;
    Ok(InitReport { root, created: true, commit })
}

/// With a message, commits `.mvc/config` and `.mvc/.gitignore` when they differ from HEAD.
fn commit_project_files(git: &git2::Repository, message: Option<&str>) -> Result<Option<String>> {
    let Some(message) = message else { return Ok(None) };
    if crate::git::staged_changes(git, &|p| crate::git::PROJECT_FILES.contains(&p))?.is_empty() {
        return Ok(None);
    }
    Ok(Some(crate::git::commit_command(git, &[], message)?.to_string()))
}

fn write_if(path: &Path, text: &str, write: bool) -> Result<()> {
    if write {
        crate::fsutil::write_atomic(path, text.as_bytes(), 0o644)?;
    }
    Ok(())
}
