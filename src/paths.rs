//! The one decision "may mvc touch this path?", made here for every entry point: pointer
//! files (in the work tree or in git objects), registry tags, manifests, `meta.sources`,
//! `meta.deps` and command-line arguments. Paths from a cloned repository are written by
//! someone else, so they are checked as text and, before any file is read or written, on
//! disk (no symlinked component).

use std::path::Path;

use anyhow::{Result, bail};

/// A path mvc refuses to work with, and why.
#[derive(Debug, thiserror::Error)]
#[error("`{path}` is not allowed: {why}")]
pub struct BadPath {
    /// The path, made safe to print.
    pub path: String,
    /// Why it was refused.
    pub why: &'static str,
}

fn bad(path: &str, why: &'static str) -> Result<(), BadPath> {
    Err(BadPath { path: crate::text::sanitize(path), why })
}

/// Code points that HFS+ ignores when comparing names, so `.g\u{200c}it` is `.git` there.
fn hfs_ignorable(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

/// Whether a path segment is `.git` on some filesystem: any case, HFS+'s ignorable code
/// points, Windows' trailing dots and spaces, NTFS's 8.3 short name `GIT~1` and its stream
/// syntax (`.git::$INDEX_ALLOCATION`).
pub fn is_git_dir_name(segment: &str) -> bool {
    let folded: String = segment.chars().filter(|c| !hfs_ignorable(*c)).collect::<String>().to_lowercase();
    let folded = folded.split(':').next().unwrap_or_default();
    let trimmed = folded.trim_end_matches(['.', ' ']);
    trimmed == ".git" || trimmed == "git~1"
}

/// Rules for any relative path inside a tracked directory (a manifest entry): `/`-separated,
/// no empty, `.` or `..` segment, no control character or backslash, no `.git` segment in
/// any form a filesystem folds to it (a checked-out `.git/config` would be a repository with
/// someone else's hooks).
pub fn check_inner_rel(path: &str) -> Result<(), BadPath> {
    if path.is_empty() {
        return bad(path, "it is empty");
    }
    if path.chars().any(char::is_control) {
        return bad(path, "it has a control character");
    }
    if path.contains('\\') {
        return bad(path, "it has a backslash (a separator on Windows)");
    }
    for segment in path.split('/') {
        match segment {
            "" => return bad(path, "it has an empty segment (an absolute path or `//`)"),
            "." | ".." => return bad(path, "it has a `.` or `..` segment"),
            s if is_git_dir_name(s) => {
                return bad(path, "git's own directory `.git` (in any spelling) is never tracked");
            }
            _ => {}
        }
    }
    Ok(())
}

/// Rules for a repo-relative workspace path (a file mvc reads or writes): those of
/// [`check_inner_rel`], and nothing inside `.mvc/`.
pub fn check_workspace_rel(rel: &str) -> Result<(), BadPath> {
    check_inner_rel(rel)?;
    if rel.split('/').next() == Some(crate::repo::MVC_DIR) {
        return bad(rel, "`.mvc` holds mvc's configuration, not data");
    }
    Ok(())
}

/// Rules for a repo-relative artifact path: those of [`check_workspace_rel`] (so never the
/// root, `.`, `..`, `.git`, `.mvc` or anything under them), and not itself a pointer file.
pub fn check_artifact_rel(rel: &str) -> Result<(), BadPath> {
    check_workspace_rel(rel)?;
    if rel.ends_with(crate::pointer::SUFFIX) {
        return bad(rel, "names ending in `.mvc` are pointer files");
    }
    Ok(())
}

/// Checks `root/rel` on disk: no directory between the root and it is a symlink (writing or
/// reading through one could reach outside the repository), and every existing one is a
/// directory. The last component itself is the caller's to check (it may not exist yet).
pub fn check_resolved(root: &Path, rel: &str) -> Result<()> {
    if rel.is_empty() {
        return Ok(());
    }
    let mut current = root.to_path_buf();
    let segments: Vec<&str> = rel.split('/').collect();
    for segment in &segments[..segments.len() - 1] {
        current.push(segment);
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                bail!("`{}` is a symlink; mvc does not read or write through symlinked directories", current.display())
            }
            Ok(m) if !m.is_dir() => bail!("`{}` is not a directory", current.display()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading `{}`", current.display()))),
        }
    }
    Ok(())
}

/// Reads a small work tree file (`.gitignore`, a params or metrics file) at repo-relative
/// `rel`: the path must pass [`check_workspace_rel`] and [`check_resolved`], and the file is
/// opened without following a symlink, so a committed link to `/proc/self/environ` or
/// `~/.docker/config.json` is refused. `Ok(None)` when it does not exist.
pub fn read_workspace_file(root: &Path, rel: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    check_workspace_rel(rel)?;
    check_resolved(root, rel)?;
    let path = root.join(rel);
    let file = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            bail!("`{rel}` is a symlink; mvc reads it only as a regular file")
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading `{rel}`"))),
    };
    let meta = file.metadata().map_err(|e| anyhow::Error::new(e).context(format!("reading `{rel}`")))?;
    if !meta.is_file() {
        bail!("`{rel}` is not a regular file");
    }
    if meta.len() > limit {
        bail!("`{rel}` is {} bytes, over the {limit} byte limit", meta.len());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::Error::new(e).context(format!("reading `{rel}`")))?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_never_reach_the_root_git_mvc_or_outside() {
        for rel in [
            "",
            ".",
            "..",
            ".git",
            ".mvc",
            ".mvc/cache",
            ".git/config",
            "a/.git/config",
            "a/../..",
            "/etc/passwd",
            "a//b",
            ".GIT",
            ".Git/hooks",
            ".git.",
            ".git ",
            "GIT~1/config",
            ".g\u{200c}it/config",
            ".git::$INDEX_ALLOCATION",
            "x\n!secret",
            "a\\b",
            "model.bin.mvc",
            "a\u{1b}[31m",
        ] {
            assert!(check_artifact_rel(rel).is_err(), "{rel:?} should be refused");
        }
        for rel in ["model.bin", "data/train", ".github/x", "a/.gitignore", "a/.gitx", "git", "é/ü.bin", "a.mvcx"] {
            assert!(check_artifact_rel(rel).is_ok(), "{rel:?} should be allowed");
        }
    }

    #[test]
    fn inner_paths_may_hold_mvc_but_never_git() {
        assert!(check_inner_rel("sub/.mvc/config").is_ok());
        assert!(check_inner_rel("sub/.GIT/config").is_err());
        assert!(check_workspace_rel("sub/.mvc/config").is_ok());
        assert!(check_workspace_rel(".mvc/config").is_err());
    }

    #[test]
    fn symlinks_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(root.join("secret"), root.join("metrics.json")).unwrap();
        std::os::unix::fs::symlink(root, root.join("linked")).unwrap();
        let err = read_workspace_file(root, "metrics.json", 100).unwrap_err().to_string();
        assert!(err.contains("is a symlink"), "{err}");
        let err = read_workspace_file(root, "linked/secret", 100).unwrap_err().to_string();
        assert!(err.contains("is a symlink"), "{err}");
        assert!(read_workspace_file(root, "missing", 100).unwrap().is_none());
        assert_eq!(read_workspace_file(root, "secret", 100).unwrap().unwrap(), b"s");
    }
}
