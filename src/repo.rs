//! Finding the project (the git work tree root holding `.mvc/`), turning user paths into
//! repo-relative ones safely, and the repository lock (`.mvc/lock`).

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cache::Cache;
use crate::config::Config;
use crate::state::StatIndex;

/// Name of the per-repo directory.
pub const MVC_DIR: &str = ".mvc";

/// How long a second writer waits for the lock before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(3);

/// The current directory is not inside a git work tree.
#[derive(Debug, thiserror::Error)]
#[error("`{}` is not inside a git work tree", .0.display())]
pub struct NotAGitRepo(pub PathBuf);

/// The git work tree has no `.mvc/` yet.
#[derive(Debug, thiserror::Error)]
#[error("`{}` is not an mvc project (no `.mvc` directory)", .0.display())]
pub struct NotInitialized(pub PathBuf);

/// Another process holds the repository lock.
#[derive(Debug, thiserror::Error)]
#[error("another mvc process is working in this repository ({holder}); waited {}s", LOCK_WAIT.as_secs())]
pub struct LockBusy {
    /// Who holds it, as that process recorded: pid and command.
    pub holder: String,
}

/// An open mvc project.
pub struct Repo {
    /// The git work tree root (canonical).
    pub root: PathBuf,
    /// The merged configuration.
    pub config: Config,
    /// The git repository.
    pub git: git2::Repository,
}

/// A held repository lock; released on drop.
pub struct RepoLock {
    _file: File,
}

/// Finds the git work tree containing `cwd`. Only "no repository here" is [`NotAGitRepo`];
/// any other failure (a repository owned by another user, a `.git` file pointing nowhere, a
/// broken config) is reported as itself, since `git init` would not fix it.
pub fn discover_git(cwd: &Path) -> Result<git2::Repository> {
    let git = match git2::Repository::discover(cwd) {
        Ok(git) => git,
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            // A `.git` that git2 could not use (a `.git` file pointing nowhere, a half-deleted
            // directory) is not "no repository": say which one and why.
            match cwd.ancestors().map(|dir| dir.join(".git")).find(|dot_git| dot_git.symlink_metadata().is_ok()) {
                Some(dot_git) => {
                    let context = crate::error::hinted(
                        format!("`{}` is not a usable git directory", dot_git.display()),
                        "repair or remove it (a `.git` file must say `gitdir: PATH` of an existing git directory)",
                    );
                    return Err(anyhow::Error::new(e).context(context));
                }
                None => bail!(NotAGitRepo(cwd.to_path_buf())),
            }
        }
        Err(e) if e.code() == git2::ErrorCode::Owner => {
            // libgit2 names the repository: "repository path '/x/' is not owned by current user".
            let message = e.message().to_string();
            let path = message.split('\'').nth(1).map(|p| p.trim_end_matches('/').to_string());
            let path = path.unwrap_or_else(|| cwd.display().to_string());
            let hint = format!(
                "it belongs to another user; if you trust it, run `git config --global --add safe.directory {}`",
                crate::text::shell_quote(&path)
            );
            let context = crate::error::hinted(format!("git refuses to open the repository at `{path}`"), hint);
            return Err(anyhow::Error::new(e).context(context));
        }
        Err(e) => {
            let context = crate::error::hinted(
                format!("cannot open the git repository around `{}`", cwd.display()),
                "`git status` there shows what git makes of it",
            );
            return Err(anyhow::Error::new(e).context(context));
        }
    };
    if git.is_bare() || git.workdir().is_none() {
        bail!(NotAGitRepo(cwd.to_path_buf()));
    }
    Ok(git)
}

impl Repo {
    /// Opens the project whose work tree contains `cwd`.
    pub fn open(cwd: &Path) -> Result<Repo> {
        let git = discover_git(cwd)?;
        let workdir = git.workdir().expect("checked non-bare").to_path_buf();
        let root = fs::canonicalize(&workdir).with_context(|| format!("resolving `{}`", workdir.display()))?;
        if !root.join(MVC_DIR).is_dir() {
            bail!(NotInitialized(root));
        }
        let config = Config::load(&root)?;
        Ok(Repo { root, config, git })
    }

    /// `.mvc/` of this project.
    pub fn mvc_dir(&self) -> PathBuf {
        self.root.join(MVC_DIR)
    }

    /// The object cache.
    pub fn cache(&self) -> Cache {
        Cache::new(self.config.cache_dir.clone())
    }

    /// The stat index.
    pub fn stat_index(&self) -> StatIndex {
        StatIndex::open(&self.mvc_dir().join("state"))
    }

    /// Absolute workspace path of a repo-relative path.
    pub fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() { self.root.clone() } else { self.root.join(rel) }
    }

    /// Turns a path the user typed (relative to `cwd`, or absolute) into a `/`-separated path
    /// relative to the repo root. Refuses paths outside the repo, inside `.git` or `.mvc`,
    /// or passing through a symlinked directory.
    pub fn relative(&self, cwd: &Path, user: &Path) -> Result<String> {
        let joined = if user.is_absolute() { user.to_path_buf() } else { cwd.join(user) };
        let mut normal = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::ParentDir => {
                    normal.pop();
                }
                Component::CurDir => {}
                other => normal.push(other),
            }
        }
        let rel = normal
            .strip_prefix(&self.root)
            .map_err(|_| anyhow::anyhow!("`{}` is outside the repository `{}`", user.display(), self.root.display()))?;
        let mut parts = Vec::new();
        for c in rel.components() {
            let s = c.as_os_str().to_str().with_context(|| format!("`{}` is not valid UTF-8", user.display()))?;
            parts.push(s.to_string());
        }
        if let Some(first) = parts.first()
            && (first == ".git" || first == MVC_DIR)
        {
            bail!("`{}` is inside `{first}`, which mvc does not track", user.display());
        }
        if parts.iter().any(|p| p == ".git") {
            bail!("`{}` is inside a `.git` directory, which mvc does not track", user.display());
        }
        crate::fsutil::check_no_symlinked_parent(&self.root, rel)?;
        Ok(parts.join("/"))
    }

    /// Takes the repository lock for a command that writes, waiting up to [`LOCK_WAIT`].
    pub fn lock(&self, command: &str) -> Result<RepoLock> {
        lock_dir(&self.mvc_dir(), command, LOCK_WAIT)
    }
}

/// Takes `dir/lock`, recording our pid and command in it so a waiting process can say who
/// holds it.
pub fn lock_dir(dir: &Path, command: &str, wait: Duration) -> Result<RepoLock> {
    let path = dir.join("lock");
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening the lock file `{}`", path.display()))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = crate::text::sanitize(holder.trim());
                bail!(LockBusy { holder: if holder.is_empty() { "unknown process".into() } else { holder } });
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking `{}`", path.display()));
            }
        }
    }
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "pid {}: mvc {command}", std::process::id());
    let _ = file.flush();
    Ok(RepoLock { _file: file })
}
