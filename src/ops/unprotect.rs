//! `mvc unprotect`: turn workspace files that are links into the read-only cache (under
//! `core.link: hardlink` or `symlink`) into private writable copies, so they can be edited.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::ops::select;
use crate::repo::Repo;

/// What to unprotect.
pub struct UnprotectOptions {
    /// Artifacts as typed.
    pub targets: Vec<PathBuf>,
    /// Directory the targets are relative to.
    pub cwd: PathBuf,
}

/// What `unprotect` did.
pub struct UnprotectReport {
    /// Per artifact: files turned into private copies.
    pub artifacts: Vec<(String, u64)>,
}

/// Runs `mvc unprotect`.
pub fn unprotect(repo: &Repo, opts: &UnprotectOptions) -> Result<UnprotectReport> {
    let _lock = repo.lock("unprotect")?;
    let selected = select(repo, &opts.cwd, &opts.targets)?;
    // Checked before anything changes: a missing artifact is an error, not "0 files".
    if let Some(missing) = selected.iter().find(|a| fs::symlink_metadata(repo.abs(&a.rel)).is_err()) {
        bail!(crate::error::hinted(
            format!("`{}` is not in the workspace; there is nothing to unprotect", missing.rel),
            format!("restore it first with `mvc checkout {}`", crate::text::shell_quote(&missing.rel)),
        ));
    }
    let mut artifacts = Vec::new();
    for artifact in selected {
        let n = unprotect_path(repo, &artifact.rel)?;
        artifacts.push((artifact.rel, n));
    }
    Ok(UnprotectReport { artifacts })
}

/// Replaces every cache link at or under `rel` with a writable copy; returns how many.
pub(crate) fn unprotect_path(repo: &Repo, rel: &str) -> Result<u64> {
    let abs = repo.abs(rel);
    let cache = repo.cache();
    let mut count = 0;
    let files: Vec<PathBuf> = if abs.is_dir() && !fs::symlink_metadata(&abs).is_ok_and(|m| m.file_type().is_symlink()) {
        walkdir::WalkDir::new(&abs)
            .follow_links(false)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_type().is_dir())
            .map(|e| e.into_path())
            .collect()
    } else {
        vec![abs]
    };
    for file in files {
        if cache.is_linked_to_cache(&file) {
            private_copy(&file)?;
            count += 1;
        }
    }
    Ok(count)
}

/// Copies the bytes a link points at to a temp file beside it, then renames over the link.
fn private_copy(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let exec = fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    let temp = crate::leftovers::temp_beside(path);
    let copied = (|| -> std::io::Result<()> {
        let mut dst = fs::OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_NOFOLLOW).open(&temp)?;
        let mut src = fs::File::open(path)?;
        std::io::copy(&mut src, &mut dst)?;
        fs::set_permissions(&temp, fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 }))?;
        fs::rename(&temp, path)
    })();
    if let Err(e) = copied {
        let _ = fs::remove_file(&temp);
        return Err(e).with_context(|| format!("replacing `{}` with a private copy", path.display()));
    }
    Ok(())
}
