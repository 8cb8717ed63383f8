//! `mvc check-ignore`: which paths `.mvcignore` files make `add`, `commit`, `status` and
//! `checkout` skip, and which pattern decides (like `git check-ignore`).

use std::path::PathBuf;

use anyhow::Result;

use crate::mvcignore::{Matched, MvcIgnore};
use crate::repo::Repo;

/// What to check.
pub struct CheckIgnoreOptions {
    /// Paths as the user typed them.
    pub paths: Vec<PathBuf>,
    /// Directory the paths are relative to.
    pub cwd: PathBuf,
}

/// One path's verdict.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The path as typed.
    pub path: PathBuf,
    /// Repo-relative.
    pub rel: String,
    /// The deciding pattern, if any (a negated one re-includes the path).
    pub matched: Option<Matched>,
}

impl Checked {
    /// Whether `.mvcignore` ignores the path.
    pub fn ignored(&self) -> bool {
        self.matched.as_ref().is_some_and(|m| !m.negated)
    }
}

/// Runs `mvc check-ignore`. A path that is a directory on disk is matched as one.
pub fn check_ignore(repo: &Repo, opts: &CheckIgnoreOptions) -> Result<Vec<Checked>> {
    let ignore = MvcIgnore::new(&repo.root);
    let mut out = Vec::new();
    for path in &opts.paths {
        let rel = repo.relative(&opts.cwd, path)?;
        let is_dir = std::fs::symlink_metadata(repo.abs(&rel)).is_ok_and(|m| m.is_dir());
        let matched = if rel.is_empty() { None } else { ignore.matched(&rel, is_dir)? };
        out.push(Checked { path: path.clone(), rel, matched });
    }
    Ok(out)
}
