//! Another mvc project as a source of artifacts, shared by `get`, `import`, `update`,
//! `status --imports` and `ls URL`: cloning it with the `git` executable (so the user's
//! credentials and SSH config apply), resolving a revision or registry reference in it, and
//! pulling one artifact from its remote. Everything read from the clone is untrusted.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cache::LinkMode;
use crate::error::hinted;
use crate::ops::checkout::Outcome;
use crate::ops::fetch::{FetchOptions, pull};
use crate::pointer::Pointer;
use crate::progress::Reporter;
use crate::registry;
use crate::remote::transfer::TransferStats;
use crate::repo::Repo;

/// A cloned project, its files in a temporary directory that goes away with it.
pub struct Clone {
    /// Removed on drop.
    pub scratch: tempfile::TempDir,
    /// The clone's work tree (nothing checked out until [`Located::pull`]).
    pub dir: PathBuf,
    /// The clone.
    pub git: git2::Repository,
    /// The URL as given (never stored or shown as is: see [`shown_url`]).
    pub url: String,
}

/// An artifact located in a cloned project.
pub struct Located {
    /// The commit its pointer was read at.
    pub commit: String,
    /// The path asked for (the artifact, or a path inside a tracked directory), clean.
    pub path: String,
    /// The tracked artifact that is `path` or holds it.
    pub artifact: String,
    /// That artifact's pointer at `commit`.
    pub pointer: Pointer,
    /// The directory of the mvc project holding it (empty at the root; a monorepo's project
    /// made by `mvc init --subdir` otherwise), whose `.mvc/config` names its remotes.
    pub project: String,
}

/// What pulling a located artifact gave.
pub struct Pulled {
    /// Where the data is, inside the clone (move it out before the clone is dropped).
    pub data: PathBuf,
    /// The remote it came from.
    pub remote: String,
    /// Files written.
    pub files: u64,
    /// Transfer counts.
    pub stats: TransferStats,
}

/// Clones `url` (anything `git clone` accepts, or a path relative to `cwd`) into a new
/// temporary directory inside `parent`.
pub fn clone(url: &str, parent: &Path, cwd: &Path) -> Result<Clone> {
    std::fs::create_dir_all(parent).with_context(|| format!("creating `{}`", parent.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix(".mvc-get-")
        .tempdir_in(parent)
        .with_context(|| format!("creating a temporary directory in `{}`", parent.display()))?;
    let dir = scratch.path().join("project");
    git_clone(url, &dir, cwd, &[])?;
    let git = git2::Repository::open(&dir).context("opening the cloned project")?;
    Ok(Clone { scratch, dir, git, url: url.to_string() })
}

/// `git clone --quiet --no-checkout EXTRA… -- URL DEST`.
pub(crate) fn git_clone(url: &str, dest: &Path, cwd: &Path, extra: &[&str]) -> Result<()> {
    // `--` keeps a URL that starts with `-` from being read as an option.
    let output = Command::new("git")
        .current_dir(cwd)
        .args(["clone", "--quiet", "--no-checkout"])
        .args(extra)
        .arg("--")
        .arg(url)
        .arg(dest)
        .output()
        .context("running `git clone`")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("`git clone` of `{}` failed: {}", shown_url(url), redact_credentials(url, stderr.trim()));
    }
    Ok(())
}

impl Clone {
    /// Finds `path` at `rev` (default branch when None). `path` may be a registry reference
    /// of the project (`churn#production`), and so may `rev`, which must then name `path`.
    /// Returns the location and the reference used, if any.
    pub fn locate(&self, path: &str, rev: Option<&str>) -> Result<(Located, Option<String>)> {
        let git = &self.git;
        let reg = crate::registry_store::Registry::load(git, None, None)?;
        let path_ref = reg.reference(path, || false);
        let rev_ref = rev.and_then(|r| reg.reference(r, || false));
        let (commit, found, used) = match (path_ref, rev_ref) {
            (Some(_), _) if rev.is_some() => {
                bail!("`{}` already names a version; leave out `--rev`", crate::text::sanitize(path))
            }
            (Some(r), _) | (None, Some(r)) => {
                let resolved = reg.resolve(&r)?;
                let commit = git.find_commit(resolved.commit())?;
                let declared = crate::registry_store::declarations_at(git, commit.id());
                let found = registry::artifact_path(resolved.record.as_ref(), declared.get(&resolved.name))
                    .with_context(|| format!("`{}` names no path in that project", r.name()))?;
                let used = rev.unwrap_or(path).to_string();
                (commit, clean_path(&found)?, Some(used))
            }
            (None, None) => (resolve_rev(git, rev, &self.url)?, clean_path(path)?, None),
        };
        let path = match (&used, rev) {
            // `--rev churn#production` with a PATH: the reference must name that artifact.
            (Some(used), Some(_)) => {
                let wanted = clean_path(path)?;
                if wanted != found {
                    bail!(
                        "`{}` names `{}` in that project, not `{wanted}`",
                        crate::text::sanitize(used),
                        crate::text::sanitize(&found)
                    );
                }
                wanted
            }
            _ => found,
        };
        let tree = commit.tree().context("reading the commit's tree")?;
        let Some(project) = enclosing_project(&tree, &path) else {
            bail!("`{}` at {} is not an mvc project (it has no `.mvc/config`)", shown_url(&self.url), short(&commit));
        };
        let artifact = enclosing_pointer(&tree, &path).ok_or_else(|| {
            anyhow::anyhow!(
                "`{}` is not tracked by mvc in `{}` at {}",
                crate::text::sanitize(&path),
                shown_url(&self.url),
                short(&commit)
            )
        })?;
        let pointer_rel = format!("{artifact}{}", crate::pointer::SUFFIX);
        let blob = tree
            .get_path(Path::new(&pointer_rel))
            .and_then(|e| e.to_object(git))
            .and_then(|o| o.peel_to_blob())
            .with_context(|| format!("reading `{}`", crate::text::sanitize(&pointer_rel)))?;
        if blob.size() > crate::yaml::MAX_DOCUMENT_BYTES {
            bail!("the pointer `{}` in `{}` is too large", crate::text::sanitize(&pointer_rel), shown_url(&self.url));
        }
        let text = std::str::from_utf8(blob.content())
            .map_err(|_| anyhow::anyhow!("`{}` is not valid UTF-8", crate::text::sanitize(&pointer_rel)))?;
        let pointer = Pointer::parse(Path::new(&pointer_rel), text)?;
        Ok((Located { commit: commit.id().to_string(), path, artifact, pointer, project }, used))
    }

    /// Pulls `located.path` from the project's remote into the clone's work tree, with a
    /// scratch cache that owns nothing afterwards (the data is copied, never linked).
    pub fn pull(
        &self,
        located: &Located,
        remote: Option<&str>,
        jobs: Option<usize>,
        rt: &tokio::runtime::Runtime,
        reporter: &dyn Reporter,
    ) -> Result<Pulled> {
        let commit = self.git.find_commit(git2::Oid::from_str(&located.commit)?)?;
        let mut checkout = git2::build::CheckoutBuilder::new();
        let scope = crate::repo::Scope::subdir(&located.project)?;
        checkout.force().disable_pathspec_match(true).path(scope.to_git(".mvc/config")).path(format!(
            "{}{}",
            located.artifact,
            crate::pointer::SUFFIX
        ));
        self.git.checkout_tree(commit.as_object(), Some(&mut checkout)).context("checking out the pointer")?;
        let mut repo = Repo::open(&self.dir.join(&located.project))?;
        let inner = scope.from_git(&located.path).context("the artifact is outside its project")?.to_string();
        // The scratch cache disappears with the clone: the output must own its bytes.
        repo.config.link = vec![LinkMode::Reflink, LinkMode::Copy];
        let fetch = FetchOptions {
            targets: vec![PathBuf::from(&inner)],
            cwd: repo.root.clone(),
            remote: remote.map(str::to_string),
            jobs,
            revs: Default::default(),
            force: false,
        };
        let report = pull(&repo, &fetch, rt, reporter)?;
        let mut files = 0;
        for c in &report.checkout {
            match &c.outcome {
                Outcome::Failed { message, hint } => match hint {
                    Some(h) => bail!(hinted(message.clone(), h.clone())),
                    None => bail!("{message}"),
                },
                Outcome::Updated { written, .. } => files += written,
                Outcome::Unchanged => {}
            }
        }
        Ok(Pulled { data: repo.abs(&inner), remote: report.remote, files, stats: report.stats })
    }
}

/// THE rule for `mvc ls ARG…`: whether the first argument names another repository (a URL,
/// `user@host:path`, or a directory that is the root of a git repository other than the one
/// `cwd` is in) rather than a path in this one.
pub fn is_repository(arg: &str, cwd: &Path) -> bool {
    if arg.contains("://") {
        return true;
    }
    if let Some((before, _)) = arg.split_once(':')
        && before.contains('@')
        && !before.contains('/')
    {
        return true;
    }
    let dir = cwd.join(arg);
    let is_repo_root = dir.join(".git").exists() || (dir.join("HEAD").is_file() && dir.join("objects").is_dir());
    if !is_repo_root {
        return false;
    }
    let here = git2::Repository::discover(cwd).ok().and_then(|g| g.workdir().and_then(|w| w.canonicalize().ok()));
    here.is_none_or(|h| dir.canonicalize().ok().as_deref() != Some(h.as_path()))
}

/// `data/train/`, `./data/train.mvc` -> `data/train`; refuses absolute paths and `..`.
pub fn clean_path(raw: &str) -> Result<String> {
    let trimmed = raw.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(crate::pointer::SUFFIX).unwrap_or(trimmed);
    let parts: Vec<&str> = trimmed.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if raw.starts_with('/') || parts.is_empty() || parts.iter().any(|p| *p == ".." || *p == ".git" || *p == ".mvc") {
        bail!(
            "`{}` is not a path inside the project (give it relative to the project's root)",
            crate::text::sanitize(raw)
        );
    }
    let joined = parts.join("/");
    crate::paths::check_artifact_rel(&joined).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(joined)
}

/// The repository URL as messages show it: without user info (`https://user:TOKEN@host/…`
/// is how CI jobs often pass a token) and without control characters.
pub fn shown_url(url: &str) -> String {
    crate::text::sanitize(&crate::text::redact_userinfo(url))
}

/// The repository URL as a pointer records it: no credentials (the user's credential helper
/// supplies them again on `update`), and a local path made absolute so `update` finds it
/// from any directory.
pub fn stored_url(url: &str, cwd: &Path) -> String {
    if !url.contains("://") && !url.starts_with('-') {
        let local = cwd.join(url);
        if local.is_dir()
            && let Ok(abs) = local.canonicalize()
            && let Some(s) = abs.to_str()
        {
            return s.to_string();
        }
    }
    crate::text::strip_credentials(url)
}

/// Text from `git` about `url` (its stderr), safe to show: URLs without user info, and the
/// URL's own user info hidden wherever it appears.
pub fn redact_credentials(url: &str, text: &str) -> String {
    let mut text = crate::text::redact_userinfo(text);
    let authority = url.split_once("://").map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(rest));
    if let Some((userinfo, _)) = authority.and_then(|a| a.rsplit_once('@'))
        && !userinfo.is_empty()
    {
        text = text.replace(userinfo, "<redacted>");
        // A bare password is hidden too (git may quote it alone), unless it is so short that
        // replacing it would garble the message.
        if let Some((_, password)) = userinfo.split_once(':')
            && password.len() >= 4
        {
            text = text.replace(password, "<redacted>");
        }
    }
    crate::text::sanitize(&text)
}

/// The commit `rev` names in the clone: a commit id, tag, or branch of the cloned project.
fn resolve_rev<'r>(git: &'r git2::Repository, rev: Option<&str>, url: &str) -> Result<git2::Commit<'r>> {
    let Some(rev) = rev else {
        return git.head().and_then(|h| h.peel_to_commit()).context("the cloned project has no commits");
    };
    let found = git.revparse_single(rev).or_else(|_| git.revparse_single(&format!("origin/{rev}")));
    match found.and_then(|o| o.peel_to_commit()) {
        Ok(c) => Ok(c),
        Err(_) => bail!("`{}` is not a revision of `{}`", crate::text::sanitize(rev), shown_url(url)),
    }
}

/// The mvc project holding `path` in a commit's tree: the nearest directory above it with a
/// `.mvc/config` (the root, or a project made by `mvc init --subdir`).
fn enclosing_project(tree: &git2::Tree, path: &str) -> Option<String> {
    let mut dir = path;
    loop {
        dir = match dir.rfind('/') {
            Some(i) => &dir[..i],
            None => "",
        };
        let config = if dir.is_empty() { ".mvc/config".to_string() } else { format!("{dir}/.mvc/config") };
        if tree.get_path(Path::new(&config)).is_ok_and(|e| e.kind() == Some(git2::ObjectType::Blob)) {
            return Some(dir.to_string());
        }
        if dir.is_empty() {
            return None;
        }
    }
}

/// The tracked artifact that is `path` or contains it: the nearest `X.mvc` in the tree.
fn enclosing_pointer(tree: &git2::Tree, path: &str) -> Option<String> {
    let mut candidate = path;
    loop {
        let pointer = format!("{candidate}{}", crate::pointer::SUFFIX);
        if tree.get_path(Path::new(&pointer)).is_ok_and(|e| e.kind() == Some(git2::ObjectType::Blob)) {
            return Some(candidate.to_string());
        }
        candidate = &candidate[..candidate.rfind('/')?];
    }
}

fn short(commit: &git2::Commit) -> String {
    commit.id().to_string()[..12].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_never_reach_a_message() {
        let url = "https://bob:s3cret@git.example.com/team/models.git";
        assert_eq!(shown_url(url), "https://<redacted>@git.example.com/team/models.git");
        let stderr = "fatal: Authentication failed for 'https://bob:s3cret@git.example.com/team/models.git/'\n\
                      remote: password s3cret rejected";
        let shown = redact_credentials(url, stderr);
        assert!(!shown.contains("s3cret") && !shown.contains("bob"), "{shown}");
        assert_eq!(redact_credentials("/local/path", "fatal: no such repo"), "fatal: no such repo");
        assert_eq!(stored_url(url, Path::new("/nonexistent")), "https://git.example.com/team/models.git");
    }

    #[test]
    fn only_urls_and_other_repositories_are_repositories() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path();
        git2::Repository::init(cwd.join("here")).unwrap();
        git2::Repository::init(cwd.join("other")).unwrap();
        std::fs::create_dir_all(cwd.join("here/data")).unwrap();
        let here = cwd.join("here");
        assert!(is_repository("https://host/team/r.git", &here));
        assert!(is_repository("git@github.com:team/r.git", &here));
        assert!(is_repository("../other", &here));
        assert!(!is_repository("data", &here));
        assert!(!is_repository(".", &here));
        assert!(!is_repository("a:b/c", &here));
    }

    #[test]
    fn paths_are_cleaned_and_escapes_refused() {
        assert_eq!(clean_path("data/train/").unwrap(), "data/train");
        assert_eq!(clean_path("./model.bin.mvc").unwrap(), "model.bin");
        for bad in ["/etc/passwd", "../x", "a/../../b", ".git/config", "", "."] {
            assert!(clean_path(bad).is_err(), "{bad}");
        }
    }
}
