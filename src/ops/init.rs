//! `mvc init`: create `.mvc/` (config and its `.gitignore`) at the git work tree's root, or
//! with `--subdir` in the current directory below it (one of several projects in a monorepo),
//! and stage both. Idempotent; `--force` rewrites them without touching the cache.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::hinted;
use crate::repo::{MVC_DIR, Scope, discover_git};

/// Where and how to initialise.
pub struct InitOptions {
    /// Any directory inside the git work tree.
    pub cwd: PathBuf,
    /// Re-create `.mvc/config` and `.mvc/.gitignore` even if present.
    pub force: bool,
    /// Make `cwd` the project's root even though it is below the git work tree's root.
    pub subdir: bool,
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
    let git_root = git.workdir().expect("non-bare").to_path_buf();
    let git_root = std::fs::canonicalize(&git_root).with_context(|| format!("resolving `{}`", git_root.display()))?;
    let cwd = std::fs::canonicalize(&opts.cwd).with_context(|| format!("resolving `{}`", opts.cwd.display()))?;
    let root = project_root(&git_root, &cwd, opts.subdir)?;
    let scope = crate::repo::scope_of(&git_root, &root)?;
    let git = &git;
    let mvc = root.join(MVC_DIR);
    let config = mvc.join("config");
    let gitignore = mvc.join(".gitignore");
    let complete = config.is_file() && gitignore.is_file();
    if complete && !opts.force {
        // Still validate, so a damaged config is reported rather than silently kept.
        crate::config::read_layer(&config)?;
        let commit = commit_project_files(git, &scope, opts.message.as_deref())?;
        return Ok(InitReport { root, created: false, commit });
    }
    if std::fs::symlink_metadata(&mvc).is_ok_and(|m| m.file_type().is_symlink() || !m.is_dir()) {
        anyhow::bail!("`{}` exists and is not a directory; move it away first", mvc.display());
    }
    std::fs::create_dir_all(&mvc).with_context(|| format!("creating `{}`", mvc.display()))?;
    write_if(&config, CONFIG, opts.force || !config.is_file())?;
    write_if(&gitignore, GITIGNORE, true)?;
    crate::git::stage(git, &scope, &[format!("{MVC_DIR}/config"), format!("{MVC_DIR}/.gitignore")])?;
    let commit = commit_project_files(git, &scope, opts.message.as_deref())?;
    Ok(InitReport { root, created: true, commit })
}

/// With a message, commits `.mvc/config` and `.mvc/.gitignore` when they differ from HEAD.
fn commit_project_files(git: &git2::Repository, scope: &Scope, message: Option<&str>) -> Result<Option<String>> {
    let Some(message) = message else { return Ok(None) };
    if crate::git::staged_changes(git, scope, &|p| crate::git::PROJECT_FILES.contains(&p))?.is_empty() {
        return Ok(None);
    }
    Ok(Some(crate::git::commit_command(git, scope, &[], message)?.to_string()))
}

/// Where the project goes. Without `--subdir`: the git work tree's root, or the project
/// already around `cwd` (so `init` in a project's subdirectory stays idempotent); a `cwd`
/// below the root with no project around it is refused, since the root is seldom what the
/// user meant there. With `--subdir`: `cwd` itself, which must not be inside another project's
/// `.mvc` or `.git`, nor inside a project below the root.
fn project_root(git_root: &Path, cwd: &Path, subdir: bool) -> Result<PathBuf> {
    let existing = crate::repo::find_project(git_root, cwd);
    if !subdir {
        if cwd == git_root || existing != git_root || git_root.join(MVC_DIR).is_dir() {
            return Ok(existing);
        }
        anyhow::bail!(hinted(
            format!("`{}` is below the git work tree's root `{}`", cwd.display(), git_root.display()),
            "run `mvc init --subdir` to make this directory its own mvc project (as in a monorepo), or run `mvc init` at the root"
        ));
    }
    if cwd == git_root {
        anyhow::bail!(hinted(
            format!("`{}` is the git work tree's root", cwd.display()),
            "`--subdir` makes a project in a directory below the root; run plain `mvc init` here"
        ));
    }
    if existing != git_root && existing != cwd {
        anyhow::bail!(hinted(
            format!("`{}` is inside the mvc project `{}`", cwd.display(), existing.display()),
            "projects do not nest inside each other's directories; choose a directory outside it"
        ));
    }
    let rel = crate::repo::scope_of(git_root, cwd)?;
    if rel.prefix().split('/').any(|s| s == MVC_DIR) {
        anyhow::bail!("`{}` is inside a `.mvc` directory", cwd.display());
    }
    Ok(cwd.to_path_buf())
}

fn write_if(path: &Path, text: &str, write: bool) -> Result<()> {
    if write {
        crate::fsutil::write_atomic(path, text.as_bytes(), 0o644)?;
    }
    Ok(())
}
