//! `mvc ls URL [PATH]`: the artifacts of another project without its data. A bare, shallow
//! clone through the `git` executable (pointers and registry tags only, in a temporary
//! directory), read with the same registry rules as this project's.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::ops::source::{redact_credentials, shown_url};
use crate::pointer::Pointer;

/// What to list.
pub struct LsUrlOptions {
    /// Anything `git clone` accepts, or a local path (relative to `cwd`).
    pub repo_url: String,
    /// Only artifacts at or under these project paths.
    pub paths: Vec<String>,
    /// Revision (commit, tag or branch); the default branch when None.
    pub rev: Option<String>,
    /// The directory the command runs in.
    pub cwd: std::path::PathBuf,
}

/// A registered version of an artifact listed.
#[derive(Debug, Clone)]
pub struct RegisteredVersion {
    /// The registry name (`churn`).
    pub name: String,
    /// `v1.2.0`.
    pub version: String,
    /// Stages it holds.
    pub stages: Vec<String>,
    /// Whether it is the name's latest version.
    pub latest: bool,
}

/// One artifact of the other project.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Path in that project.
    pub path: String,
    /// Its pointer at the commit listed.
    pub pointer: Pointer,
    /// Registered versions recorded at this path, oldest first.
    pub versions: Vec<RegisteredVersion>,
}

/// What `ls URL` found.
pub struct LsUrlReport {
    /// The commit listed.
    pub commit: String,
    /// Its artifacts, sorted by path.
    pub artifacts: Vec<Listed>,
}

/// Runs `mvc ls URL`.
pub fn ls_url(opts: &LsUrlOptions) -> Result<LsUrlReport> {
    let scratch = tempfile::Builder::new().prefix("mvc-ls-").tempdir().context("creating a temporary directory")?;
    let dir = scratch.path().join("project.git");
    // A local path is cloned through `file://`, where `--depth` applies.
    let local = (!opts.repo_url.contains("://") && !opts.repo_url.starts_with('-'))
        .then(|| opts.cwd.join(&opts.repo_url).canonicalize().ok())
        .flatten()
        .filter(|p| p.is_dir());
    let url = match &local {
        Some(p) => format!("file://{}", p.display()),
        None => opts.repo_url.clone(),
    };
    crate::ops::source::git_clone(&url, &dir, &opts.cwd, &["--bare", "--depth", "1", "--no-tags"])?;
    fetch(&dir, &opts.repo_url, &["+refs/tags/*:refs/tags/*"])?;
    let git = git2::Repository::open_bare(&dir).context("opening the cloned project")?;
    let commit = match &opts.rev {
        None => git.head().and_then(|h| h.peel_to_commit()).context("the cloned project has no commits")?.id(),
        Some(rev) => {
            if rev.starts_with('-') {
                bail!("`{}` is not a revision", crate::text::sanitize(rev));
            }
            match git.revparse_single(rev).and_then(|o| o.peel_to_commit()) {
                Ok(c) => c.id(),
                Err(_) => {
                    fetch(&dir, &opts.repo_url, &[rev])
                        .with_context(|| format!("`{}` is not a revision", crate::text::sanitize(rev)))?;
                    git.revparse_single("FETCH_HEAD").and_then(|o| o.peel_to_commit())?.id()
                }
            }
        }
    };
    let wanted: Vec<String> = opts.paths.iter().map(|p| crate::ops::source::clean_path(p)).collect::<Result<_>>()?;
    let reg = crate::registry_store::Registry::load(&git, None, None)?;
    let mut artifacts = Vec::new();
    for (path, pointer) in crate::revs::artifacts_at(&git, &crate::repo::Scope::root(), commit)? {
        let keep = wanted.is_empty() || wanted.iter().any(|w| path == *w || path.starts_with(&format!("{w}/")));
        if keep {
            let versions = versions_at(&reg, &path);
            artifacts.push(Listed { path, pointer, versions });
        }
    }
    Ok(LsUrlReport { commit: commit.to_string(), artifacts })
}

/// `git fetch --quiet --depth 1 origin REFSPEC…` in the bare clone.
fn fetch(dir: &Path, url: &str, refspecs: &[&str]) -> Result<()> {
    let output = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(["fetch", "--quiet", "--depth", "1", "origin"])
        .args(refspecs)
        .output()
        .context("running `git fetch`")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("`git fetch` from `{}` failed: {}", shown_url(url), redact_credentials(url, stderr.trim()));
    }
    Ok(())
}

/// The registered, active versions whose pointer is at `path`.
fn versions_at(reg: &crate::registry_store::Registry, path: &str) -> Vec<RegisteredVersion> {
    let mut out = Vec::new();
    for (name, state) in &reg.states {
        for (i, v) in state.versions.iter().enumerate().filter(|(_, v)| v.registered && v.active) {
            let record = reg.registration(v);
            let at = crate::registry::artifact_path(record, reg.declared.get(name));
            if at.as_deref() != Some(path) {
                continue;
            }
            out.push(RegisteredVersion {
                name: name.clone(),
                version: v.name.clone(),
                stages: state.stages_of(i),
                latest: state.latest == Some(i),
            });
        }
    }
    out
}
