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

/// Where a project sits in its git work tree: the empty string for a project at the root,
/// else the `/`-separated path of its directory (`mvc init --subdir`). Paths inside a project
/// (pointers, arguments, reports) are project-relative; git's index and trees are
/// root-relative. [`Scope::to_git`] and [`Scope::from_git`] are the one translation between
/// the two, and [`Scope::tree`] the one way to a project's part of a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    prefix: String,
}

impl Scope {
    /// The scope of a project at the git work tree's root.
    pub fn root() -> Scope {
        Scope::default()
    }

    /// The scope of a project in the directory `prefix` (root-relative, checked).
    pub fn subdir(prefix: &str) -> Result<Scope> {
        if !prefix.is_empty() {
            crate::paths::check_workspace_rel(prefix)?;
        }
        Ok(Scope { prefix: prefix.to_string() })
    }

    /// The project's directory relative to the git work tree root (empty at the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the project is at the git work tree's root.
    pub fn is_root(&self) -> bool {
        self.prefix.is_empty()
    }

    /// The git-root-relative path of the project-relative `rel` (the project's own directory
    /// for the empty string).
    pub fn to_git(&self, rel: &str) -> String {
        match (self.prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{rel}", self.prefix),
        }
    }

    /// The project-relative path of the git-root-relative `git_rel`, or `None` when it lies
    /// outside the project.
    pub fn from_git<'a>(&self, git_rel: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            return Some(git_rel);
        }
        if git_rel == self.prefix {
            return Some("");
        }
        git_rel.strip_prefix(self.prefix.as_str())?.strip_prefix('/')
    }

    /// The project's directory in `tree` (a commit's root tree): the tree itself at the root,
    /// `None` when the commit has no such directory.
    pub fn tree<'r>(&self, git: &'r git2::Repository, tree: git2::Tree<'r>) -> Result<Option<git2::Tree<'r>>> {
        if self.prefix.is_empty() {
            return Ok(Some(tree));
        }
        let entry = match tree.get_path(Path::new(&self.prefix)) {
            Ok(entry) => entry,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading `{}` in a commit", self.prefix)),
        };
        if entry.kind() != Some(git2::ObjectType::Tree) {
            return Ok(None);
        }
        Ok(Some(git.find_tree(entry.id()).context("reading a tree")?))
    }

    /// The directory name this project's per-clone state gets under
    /// `<git common dir>/mvc/projects/`: the prefix with `%`, `/` and anything but
    /// `[A-Za-z0-9._-]` percent-encoded, so it is stable, readable and one path segment (a
    /// long one ends in a hash instead).
    pub fn state_name(&self) -> String {
        let mut out = String::new();
        for b in self.prefix.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        if out.len() > 120 {
            let hash = crate::hash::Oid::of_bytes(self.prefix.as_bytes()).to_hex();
            let mut cut = 100;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out = format!("{}-{}", &out[..cut], &hash[..16]);
        }
        out
    }
}

/// An open mvc project.
pub struct Repo {
    /// The project root (canonical): the git work tree root, or the directory below it that
    /// `mvc init --subdir` made a project.
    pub root: PathBuf,
    /// The git work tree root (canonical).
    pub git_root: PathBuf,
    /// Where the project sits in the git work tree.
    pub scope: Scope,
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

/// The per-clone directory of the project at `scope`: `<git common dir>/mvc` for the root
/// project (the layout every older clone has), `<git common dir>/mvc/projects/<name>` for a
/// project in a subdirectory, so two projects never share a lock, stat index, config or cache.
pub fn private_dir_for(git: &git2::Repository, scope: &Scope) -> Result<PathBuf> {
    let dir = private_dir_of(git)?;
    if scope.is_root() {
        return Ok(dir);
    }
    let projects = dir.join(PROJECTS_DIR);
    ensure_real_dir(&projects)?;
    let dir = projects.join(scope.state_name());
    ensure_real_dir(&dir)?;
    Ok(dir)
}

/// Name of the directory under `<git common dir>/mvc/` holding subdirectory projects' state.
pub const PROJECTS_DIR: &str = "projects";

/// The project directory for `cwd`: the nearest ancestor (up to `git_root`) holding a
/// project's `.mvc`, else `git_root` itself. Below the root only a `.mvc/config` file counts,
/// so a tracked directory that happens to hold a `.mvc` folder is not taken for a project.
pub fn find_project(git_root: &Path, cwd: &Path) -> PathBuf {
    let cwd = fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    if !cwd.starts_with(git_root) {
        return git_root.to_path_buf();
    }
    for dir in cwd.ancestors() {
        if dir == git_root || !dir.starts_with(git_root) {
            break;
        }
        if is_subproject(dir) {
            return dir.to_path_buf();
        }
    }
    git_root.to_path_buf()
}

/// Whether `dir` (below the git root) is a project: it holds a regular `.mvc/config`.
pub fn is_subproject(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join(MVC_DIR)).is_ok_and(|m| m.is_dir())
        && fs::symlink_metadata(dir.join(MVC_DIR).join("config")).is_ok_and(|m| m.is_file())
}

/// The scope of the project at `root` in the work tree at `git_root` (both canonical).
pub fn scope_of(git_root: &Path, root: &Path) -> Result<Scope> {
    let rel = root
        .strip_prefix(git_root)
        .with_context(|| format!("`{}` is outside the git work tree `{}`", root.display(), git_root.display()))?;
    let mut parts = Vec::new();
    for c in rel.components() {
        parts.push(c.as_os_str().to_str().with_context(|| format!("`{}` is not valid UTF-8", root.display()))?);
    }
    Scope::subdir(&parts.join("/"))
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
    /// Opens the project containing `cwd`: the nearest directory at or above it, not above
    /// the git work tree root, that holds `.mvc/` (below the root, `.mvc/config`).
    pub fn open(cwd: &Path) -> Result<Repo> {
        let git = discover_git(cwd)?;
        let workdir = git.workdir().expect("checked non-bare").to_path_buf();
        let git_root = fs::canonicalize(&workdir).with_context(|| format!("resolving `{}`", workdir.display()))?;
        let root = find_project(&git_root, cwd);
        let mvc = root.join(MVC_DIR);
        match fs::symlink_metadata(&mvc) {
            Ok(m) if m.file_type().is_symlink() => bail!(hinted(
                format!("`{}` is a symlink; mvc refuses to follow it", mvc.display()),
                "a commit can carry a symlink: replace it with a real `.mvc` directory (`mvc init`)"
            )),
            Ok(m) if m.is_dir() => {}
            _ => bail!(NotInitialized(root)),
        }
        let scope = scope_of(&git_root, &root)?;
        let private_dir = private_dir_for(&git, &scope)?;
        let moved = if scope.is_root() { crate::migrate::old_layout(&git, &root, &private_dir)? } else { Vec::new() };
        for notice in moved.into_iter().chain(stray_files_notice(&mvc)) {
            crate::notices::warn(notice);
        }
        crate::leftovers::exclude_temp_names(&git);
        let config = Config::load(&root, &private_dir)?;
        Ok(Repo { root, git_root, scope, config, git, private_dir, index: OnceCell::new() })
    }

    /// The git-root-relative path of the project-relative `rel` (see [`Scope::to_git`]).
    pub fn git_path(&self, rel: &str) -> String {
        self.scope.to_git(rel)
    }

    /// The project-relative path of the git-root-relative `git_rel`, if it is inside this
    /// project (see [`Scope::from_git`]).
    pub fn project_path<'a>(&self, git_rel: &'a str) -> Option<&'a str> {
        self.scope.from_git(git_rel)
    }

    /// The project's directory in `commit`'s tree (`None` when the commit lacks it): where
    /// paths are project-relative, as everywhere in mvc.
    pub fn project_tree(&self, commit: git2::Oid) -> Result<Option<git2::Tree<'_>>> {
        let tree =
            self.git.find_commit(commit).context("reading a commit")?.tree().context("reading a commit's tree")?;
        self.scope.tree(&self.git, tree)
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
        let rel = match normal.strip_prefix(&self.root) {
            Ok(rel) => rel,
            Err(_) if !self.scope.is_root() && normal.starts_with(&self.git_root) => bail!(hinted(
                format!("`{}` is outside the mvc project `{}`", user.display(), self.root.display()),
                "each project tracks only its own directory; run mvc inside the project that holds it"
            )),
            Err(_) => bail!("`{}` is outside the repository `{}`", user.display(), self.root.display()),
        };
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
        if let Some(nested) = self.nested_project(&rel) {
            bail!(hinted(
                format!("`{}` belongs to the mvc project in `{}`, not to this one", user.display(), nested),
                format!("run mvc inside `{nested}` to work on it")
            ));
        }
        Ok(rel)
    }

    /// The project-relative directory of another project (`mvc init --subdir`) that contains
    /// the project-relative `rel`, if any: its files are that project's to track.
    pub fn nested_project(&self, rel: &str) -> Option<String> {
        let mut dir = self.root.clone();
        let mut path = Vec::new();
        for segment in rel.split('/').filter(|s| !s.is_empty()) {
            dir.push(segment);
            path.push(segment);
            if is_subproject(&dir) {
                return Some(path.join("/"));
            }
        }
        None
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

#[cfg(test)]
mod scope_tests {
    use super::Scope;

    #[test]
    fn scope_translates_both_ways_and_only_inside_the_project() {
        let root = Scope::root();
        assert_eq!((root.to_git("x/y"), root.from_git("x/y")), ("x/y".to_string(), Some("x/y")));
        let a = Scope::subdir("ml/a").unwrap();
        assert_eq!(a.to_git("data/x.mvc"), "ml/a/data/x.mvc");
        assert_eq!(a.to_git(""), "ml/a");
        assert_eq!(a.from_git("ml/a/data/x.mvc"), Some("data/x.mvc"));
        assert_eq!(a.from_git("ml/a"), Some(""));
        assert_eq!(a.from_git("ml/ab/x"), None);
        assert_eq!(a.from_git("ml/b/x"), None);
        assert!(Scope::subdir("../x").is_err() && Scope::subdir("a/.git").is_err());
    }

    #[test]
    fn state_names_are_one_readable_segment() {
        assert_eq!(Scope::subdir("ml/a b").unwrap().state_name(), "ml%2Fa%20b");
        assert_ne!(Scope::subdir("a/b").unwrap().state_name(), Scope::subdir("a%2Fb").unwrap().state_name());
        let long = Scope::subdir("x/".repeat(100).trim_end_matches('/')).unwrap().state_name();
        assert!(long.len() <= 120 && !long.contains('/'), "{long}");
    }
}
