//! The one-time move of an old clone's per-clone files from the work tree's `.mvc/` into
//! `<git common dir>/mvc/` (DESIGN §2). Only files git does not track are moved: anything
//! under `.mvc/` that a commit carries is someone else's and is never adopted.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

/// Old location (under `.mvc/`) and new location (under the per-clone dir).
const MOVES: [(&str, &str); 4] =
    [("cache", "cache"), ("state", "state"), ("quarantine", "quarantine"), ("config.local", "config")];

/// Moves what an older mvc kept in `root/.mvc/` into `private`; returns a line saying so when
/// anything moved.
pub fn old_layout(git: &git2::Repository, root: &Path, private: &Path) -> Result<Vec<String>> {
    let old = root.join(crate::repo::MVC_DIR);
    let mut moved = Vec::new();
    for (from, to) in MOVES {
        let src = old.join(from);
        let Ok(meta) = fs::symlink_metadata(&src) else { continue };
        let dst = private.join(to);
        if meta.file_type().is_symlink() || fs::symlink_metadata(&dst).is_ok() || tracked_by_git(git, from)? {
            continue;
        }
        move_path(&src, &dst).with_context(|| format!("moving `{}` to `{}`", src.display(), dst.display()))?;
        moved.push(format!("`.mvc/{from}`"));
    }
    // The old lock and temp directory hold nothing worth keeping.
    let lock = old.join("lock");
    if fs::symlink_metadata(&lock).is_ok_and(|m| m.is_file()) && !tracked_by_git(git, "lock")? {
        let _ = fs::remove_file(&lock);
    }
    let tmp = old.join("tmp");
    if fs::symlink_metadata(&tmp).is_ok_and(|m| m.is_dir()) && !tracked_by_git(git, "tmp")? {
        let _ = fs::remove_dir_all(&tmp);
    }
    if moved.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![format!(
        "moved {} into `{}` (mvc now keeps this clone's own files in the git directory)",
        moved.join(", "),
        private.display()
    )])
}

/// Whether git's index has `.mvc/NAME` or anything under it.
fn tracked_by_git(git: &git2::Repository, name: &str) -> Result<bool> {
    let index = git.index().context("reading the git index")?;
    let exact = format!(".mvc/{name}");
    let prefix = format!(".mvc/{name}/");
    Ok(index.iter().any(|e| e.path == exact.as_bytes() || e.path.starts_with(prefix.as_bytes())))
}

/// A rename, or copy-then-delete across filesystems.
fn move_path(src: &Path, dst: &Path) -> std::io::Result<()> {
    match fs::rename(src, dst) {
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            copy_tree(src, dst)?;
            if src.is_dir() { fs::remove_dir_all(src) } else { fs::remove_file(src) }
        }
        other => other,
    }
}

fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    if meta.is_dir() {
        fs::create_dir_all(dst)?;
        for entry in fs::read_dir(src)? {
            let entry = entry?;
            copy_tree(&entry.path(), &dst.join(entry.file_name()))?;
        }
        Ok(())
    } else if meta.is_file() {
        fs::copy(src, dst).map(|_| ())
    } else {
        Ok(())
    }
}
