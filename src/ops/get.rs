//! `mvc get REPO PATH`: download one artifact (or a path inside a tracked directory) from
//! another mvc project without initialising anything locally. The project is cloned with the
//! `git` executable (so the user's credentials and SSH config apply) into a temporary
//! directory beside the output, the pointer is pulled there, and the result is renamed into
//! place, so an interrupted `get` leaves no partial output.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cache::LinkMode;
use crate::error::hinted;
use crate::ops::checkout::Outcome;
use crate::ops::fetch::{FetchOptions, pull};
use crate::progress::Reporter;
use crate::registry;
use crate::remote::transfer::TransferStats;
use crate::repo::Repo;

/// What to get and where to put it.
pub struct GetOptions {
    /// Anything `git clone` accepts, or a local path (relative to `cwd`).
    pub repo_url: String,
    /// The artifact, or a path inside a tracked directory, relative to the project's root.
    pub path: String,
    /// Revision to read the pointer at; the default branch when None.
    pub rev: Option<String>,
    /// Output path; default: the artifact's file name in `cwd`.
    pub out: Option<PathBuf>,
    /// The directory the command runs in.
    pub cwd: PathBuf,
    /// Remote name in the project's config; its default remote when None.
    pub remote: Option<String>,
    /// Concurrency override.
    pub jobs: Option<usize>,
}

/// What `get` did.
pub struct GetReport {
    /// Where the data now is.
    pub out: PathBuf,
    /// The commit the pointer was read at.
    pub commit: String,
    /// The remote the data came from.
    pub remote: String,
    /// Files written.
    pub files: u64,
    /// Transfer counts.
    pub stats: TransferStats,
}

/// Runs `mvc get`.
pub fn get(opts: &GetOptions, rt: &tokio::runtime::Runtime, reporter: &dyn Reporter) -> Result<GetReport> {
    let out_given = opts.out.as_ref().map(|o| if o.is_absolute() { o.clone() } else { opts.cwd.join(o) });
    let parent = match &out_given {
        Some(o) => o.parent().context("the output path has no parent directory")?.to_path_buf(),
        None => opts.cwd.clone(),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating `{}`", parent.display()))?;
    // The clone lives beside the output so the final rename stays on one filesystem.
    let scratch = tempfile::Builder::new()
        .prefix(".mvc-get-")
        .tempdir_in(&parent)
        .with_context(|| format!("creating a temporary directory in `{}`", parent.display()))?;
    let clone_dir = scratch.path().join("project");
    clone(&opts.repo_url, &clone_dir, &opts.cwd)?;
    let git = git2::Repository::open(&clone_dir).context("opening the cloned project")?;

    // `churn@v1.2.0` or `churn#production` names a registered version of that project.
    let reg = crate::registry_store::Registry::load(&git, None, None)?;
    let registered = reg.reference(&opts.path, || false);
    let (commit, path) = match registered {
        Some(r) => {
            if opts.rev.is_some() {
                bail!("`{}` already names a version; leave out `--rev`", crate::text::sanitize(&opts.path));
            }
            let resolved = reg.resolve(&r)?;
            let commit = git.find_commit(resolved.commit())?;
            let declared = crate::registry_store::declarations_at(&git, commit.id());
            let path = registry::artifact_path(resolved.record.as_ref(), declared.get(&resolved.name))
                .with_context(|| format!("`{}` names no path in that project", opts.path))?;
            (commit, clean_path(&path)?)
        }
        None => (resolve_rev(&git, opts.rev.as_deref(), &opts.repo_url)?, clean_path(&opts.path)?),
    };
    let name = path.rsplit('/').next().expect("clean paths are not empty").to_string();
    let out = out_given.unwrap_or_else(|| opts.cwd.join(&name));
    if out.symlink_metadata().is_ok() {
        let shown = opts.out.clone().unwrap_or_else(|| PathBuf::from(&name));
        bail!(hinted(format!("`{}` already exists", shown.display()), "remove it, or choose another path with `-o`"));
    }
    let tree = commit.tree().context("reading the commit's tree")?;
    if tree.get_path(Path::new(".mvc/config")).is_err() {
        bail!("`{}` at {} is not an mvc project (it has no `.mvc/config`)", shown_url(&opts.repo_url), short(&commit));
    }
    let artifact = enclosing_pointer(&tree, &path).ok_or_else(|| {
        anyhow::anyhow!(
            "`{}` is not tracked by mvc in `{}` at {}",
            crate::text::sanitize(&path),
            shown_url(&opts.repo_url),
            short(&commit)
        )
    })?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.force().disable_pathspec_match(true).path(".mvc/config").path(format!("{artifact}.mvc"));
    git.checkout_tree(commit.as_object(), Some(&mut checkout)).context("checking out the pointer")?;
    let commit_id = commit.id().to_string();

    let mut repo = Repo::open(&clone_dir)?;
    // The scratch cache disappears with the clone: the output must own its bytes.
    repo.config.link = vec![LinkMode::Reflink, LinkMode::Copy];
    let fetch = FetchOptions {
        targets: vec![PathBuf::from(&path)],
        cwd: repo.root.clone(),
        remote: opts.remote.clone(),
        jobs: opts.jobs,
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
    let fetched = repo.abs(&path);
    std::fs::rename(&fetched, &out).with_context(|| format!("moving the result into `{}`", out.display()))?;
    Ok(GetReport { out, commit: commit_id, remote: report.remote, files, stats: report.stats })
}

/// `data/train/`, `./data/train.mvc` -> `data/train`; refuses absolute paths and `..`.
fn clean_path(raw: &str) -> Result<String> {
    let trimmed = raw.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(crate::pointer::SUFFIX).unwrap_or(trimmed);
    let parts: Vec<&str> = trimmed.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if raw.starts_with('/') || parts.is_empty() || parts.iter().any(|p| *p == ".." || *p == ".git" || *p == ".mvc") {
        bail!(
            "`{}` is not a path inside the project (give it relative to the project's root)",
            crate::text::sanitize(raw)
        );
    }
    Ok(parts.join("/"))
}

fn clone(url: &str, dest: &Path, cwd: &Path) -> Result<()> {
    // `--` keeps a URL that starts with `-` from being read as an option.
    let output = Command::new("git")
        .current_dir(cwd)
        .args(["clone", "--quiet", "--no-checkout", "--"])
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

/// The repository URL as messages show it: without user info (`https://user:TOKEN@host/…`
/// is how CI jobs often pass a token) and without control characters.
fn shown_url(url: &str) -> String {
    crate::text::sanitize(&crate::text::redact_userinfo(url))
}

/// Text from `git` about `url` (its stderr), safe to show: URLs without user info, and the
/// URL's own user info hidden wherever it appears.
fn redact_credentials(url: &str, text: &str) -> String {
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
