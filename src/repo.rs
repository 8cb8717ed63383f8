//! Finding the project (the git work tree root holding `.mvc/`), its per-clone directory
//! (`<git common dir>/mvc/`: cache, state, lock, per-clone config; DESIGN §2), turning user
//! paths into repo-relative ones safely, and the repository lock.
//!
//! Committed things live in the work tree and arrive with other people's commits; everything
//! mvc remembers for this clone lives in the git directory, where no commit can plant a file
//! or a symlink and `git clean -fdx` cannot wipe it.

use std::cell::OnceCell;
use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cache::Cache;
use crate::config::{Config, Layer};
use crate::error::hinted;
use crate::state::StatIndex;

/// Name of the committed per-project directory in the work tree.
pub const MVC_DIR: &str = ".mvc";

/// Name of the per-clone directory inside the git common dir.
pub const PRIVATE_DIR: &str = "mvc";

/// The only entries a work tree `.mvc/` may hold; anything else is ignored with a warning.
pub const COMMITTED_FILES: [&str; 2] = ["config", ".gitignore"];

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
    private_dir: PathBuf,
    index: OnceCell<StatIndex>,
}

/// A held repository lock (and, for a cache shared by several projects, a lock on that
/// cache); released on drop.
pub struct RepoLock {
    _file: File,
    _cache: Option<File>,
}

/// How a command holds a cache that other projects share (`cache.dir`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Adding and reading objects: any number of projects at once.
    Shared,
    /// Deleting objects (gc): no other project may be writing.
    Exclusive,
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        // The command finished: its workspace temp files were renamed or removed.
        crate::leftovers::end_journal();
    }
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

/// `<git common dir>/mvc`, created (mode 0700) if missing. Refuses a symlink there: mvc's own
/// files are never reached through a link.
pub fn private_dir_of(git: &git2::Repository) -> Result<PathBuf> {
    let common = fs::canonicalize(git.commondir())
        .with_context(|| format!("resolving the git directory `{}`", git.commondir().display()))?;
    let dir = common.join(PRIVATE_DIR);
    ensure_real_dir(&dir)?;
    Ok(dir)
}

/// Creates `dir` if missing (mode 0700) and refuses it if it is a symlink or not a directory.
pub fn ensure_real_dir(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => bail!(hinted(
            format!("`{}` is a symlink; mvc keeps its own files only in a real directory", dir.display()),
            "remove the link (and move its target's content there if you want to keep it)"
        )),
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!("`{}` is not a directory", dir.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating `{}`", dir.display()))
        }
        Err(e) => Err(e).with_context(|| format!("reading `{}`", dir.display())),
    }
}

impl Repo {
    /// Opens the project whose work tree contains `cwd`.
    pub fn open(cwd: &Path) -> Result<Repo> {
        let git = discover_git(cwd)?;
        let workdir = git.workdir().expect("checked non-bare").to_path_buf();
        let root = fs::canonicalize(&workdir).with_context(|| format!("resolving `{}`", workdir.display()))?;
        let mvc = root.join(MVC_DIR);
        match fs::symlink_metadata(&mvc) {
            Ok(m) if m.file_type().is_symlink() => bail!(hinted(
                format!("`{}` is a symlink; mvc refuses to follow it", mvc.display()),
                "a commit can carry a symlink: replace it with a real `.mvc` directory (`mvc init`)"
            )),
            Ok(m) if m.is_dir() => {}
            _ => bail!(NotInitialized(root)),
        }
        let private_dir = private_dir_of(&git)?;
        for notice in crate::migrate::old_layout(&git, &root, &private_dir)?.into_iter().chain(stray_files_notice(&mvc))
        {
            crate::notices::warn(notice);
        }
        crate::leftovers::exclude_temp_names(&git);
        let config = Config::load(&root, &private_dir)?;
        Ok(Repo { root, config, git, private_dir, index: OnceCell::new() })
    }

    /// `.mvc/` of this project (committed: config and its `.gitignore`).
    pub fn mvc_dir(&self) -> PathBuf {
        self.root.join(MVC_DIR)
    }

    /// `<git common dir>/mvc/`: everything this clone keeps for itself.
    pub fn private_dir(&self) -> &Path {
        &self.private_dir
    }

    /// `<git common dir>/mvc/state/`: the stat index, partial checkouts.
    pub fn state_dir(&self) -> PathBuf {
        self.private_dir.join("state")
    }

    /// Where corrupt cache objects are moved by `fsck --repair`.
    pub fn quarantine_dir(&self) -> PathBuf {
        self.private_dir.join("quarantine")
    }

    /// The file of one config layer.
    pub fn layer_path(&self, layer: Layer) -> Result<PathBuf> {
        crate::config::layer_path(layer, &self.root, &self.private_dir)
    }

    /// The object cache.
    pub fn cache(&self) -> Cache {
        Cache::new(self.config.cache_dir.clone())
    }

    /// The stat index, opened once per command and shared by everything in it.
    pub fn stat_index(&self) -> &StatIndex {
        self.index.get_or_init(|| StatIndex::open(&self.state_dir()))
    }

    /// Absolute workspace path of a repo-relative path.
    pub fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() { self.root.clone() } else { self.root.join(rel) }
    }

    /// Turns a path the user typed (relative to `cwd`, or absolute) into a `/`-separated path
    /// relative to the repo root. Refuses paths outside the repo, inside `.git` or `.mvc`,
    /// or passing through a symlinked directory. The root itself is the empty string.
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
        let rel = parts.join("/");
        if !rel.is_empty() {
            crate::paths::check_workspace_rel(&rel).map_err(|e| crate::paths::BadPath {
                path: crate::text::sanitize(&user.display().to_string()),
                why: e.why,
            })?;
        }
        crate::paths::check_resolved(&self.root, &rel)?;
        Ok(rel)
    }

    /// Takes the repository lock for a command that writes, waiting up to [`LOCK_WAIT`], then
    /// removes what killed mvc processes left behind (temp files in the cache and workspace).
    pub fn lock(&self, command: &str) -> Result<RepoLock> {
        self.lock_for(command, CacheUse::Shared)
    }

    /// [`Repo::lock`], saying how a shared cache is used: gc needs it to itself.
    pub fn lock_for(&self, command: &str, cache_use: CacheUse) -> Result<RepoLock> {
        let mut lock = lock_dir(&self.private_dir, command, LOCK_WAIT)?;
        if self.cache_is_shared() {
            lock._cache = Some(self.lock_shared_cache(command, cache_use)?);
        }
        crate::leftovers::sweep(&self.state_dir(), &self.cache());
        crate::leftovers::start_journal(&self.state_dir());
        Ok(lock)
    }

    /// Whether the cache lives outside this clone (`cache.dir`), where other projects may
    /// use it too.
    pub fn cache_is_shared(&self) -> bool {
        !self.config.cache_dir.starts_with(&self.private_dir)
    }

    /// Locks `<cache>/lock` (shared or exclusive) and records this project in
    /// `<cache>/projects/`, so a gc in any project knows who else uses the cache.
    fn lock_shared_cache(&self, command: &str, cache_use: CacheUse) -> Result<File> {
        let dir = &self.config.cache_dir;
        fs::create_dir_all(dir).with_context(|| format!("creating the cache `{}`", dir.display()))?;
        let path = dir.join("lock");
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .with_context(|| format!("opening the cache lock `{}`", path.display()))?;
        let started = Instant::now();
        loop {
            let attempt = match cache_use {
                CacheUse::Shared => file.try_lock_shared(),
                CacheUse::Exclusive => file.try_lock(),
            };
            match attempt {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => bail!(LockBusy {
                    holder: format!(
                        "another project is using the shared cache `{}` while mvc {command} waits",
                        dir.display()
                    )
                }),
                Err(fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("locking `{}`", path.display()));
                }
            }
        }
        let projects = dir.join("projects");
        let _ = fs::create_dir_all(&projects);
        let me = self.private_dir.to_string_lossy().into_owned();
        let entry = projects.join(&crate::hash::Oid::of_bytes(me.as_bytes()).to_hex()[..16]);
        if fs::read_to_string(&entry).ok().as_deref() != Some(me.as_str()) {
            let _ = crate::fsutil::write_atomic(&entry, me.as_bytes(), 0o644);
        }
        Ok(file)
    }

    /// Other projects recorded as using this project's shared cache (their per-clone
    /// directories), forgetting those that no longer exist.
    pub fn other_cache_users(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.config.cache_dir.join("projects")) else { return Vec::new() };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let Ok(text) = fs::read_to_string(entry.path()) else { continue };
            let dir = PathBuf::from(text.trim());
            if dir == self.private_dir {
                continue;
            }
            if dir.is_dir() {
                out.push(dir);
            } else {
                let _ = fs::remove_file(entry.path());
            }
        }
        out.sort();
        out
    }
}

/// A warning naming anything in the work tree's `.mvc/` besides `config` and `.gitignore`:
/// such files come from a commit (or an old mvc) and are never read.
fn stray_files_notice(mvc: &Path) -> Option<String> {
    let mut strays: Vec<String> = fs::read_dir(mvc)
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !COMMITTED_FILES.contains(&n.as_str()))
        .map(|n| format!("`.mvc/{}`", crate::text::sanitize(&n)))
        .collect();
    if strays.is_empty() {
        return None;
    }
    strays.sort();
    Some(format!(
        "ignoring {} in the work tree's `.mvc/` (only `config` and `.gitignore` belong there; this clone's own files live in `.git/mvc/`)",
        strays.join(", ")
    ))
}

/// Takes `dir/lock`, recording our pid and command in it so a waiting process can say who
/// holds it. The lock file is opened without following symlinks.
pub fn lock_dir(dir: &Path, command: &str, wait: Duration) -> Result<RepoLock> {
    let path = dir.join("lock");
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
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
                let _ = file.take(200).read_to_string(&mut holder);
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
    Ok(RepoLock { _file: file, _cache: None })
}
