//! `mvc import-lfs`: files that git-lfs tracks in the current tree become mvc artifacts. The
//! content comes from the workspace (smudged) or git-lfs's object store (`.git/lfs/objects`,
//! filled with `git lfs fetch` when git-lfs is installed), always checked against the LFS
//! pointer's sha256. The files leave git's index, their `.gitattributes` lines go, and
//! history is left as it is (`git lfs migrate export` rewrites it, if wanted).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::error::hinted;
use crate::progress::Reporter;
use crate::repo::Repo;

/// What to import.
pub struct ImportLfsOptions {
    /// Only files matching these patterns (gitignore syntax, repo-relative); all when empty.
    pub patterns: Vec<String>,
    /// Any directory inside the work tree.
    pub cwd: PathBuf,
}

/// One file converted.
#[derive(Debug, Clone)]
pub struct LfsImported {
    /// Repo-relative path.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Its mvc oid.
    pub oid: crate::hash::Oid,
    /// Whether the content came from git-lfs's store rather than the workspace.
    pub from_lfs_store: bool,
}

/// What `import-lfs` did.
#[derive(Debug, Default)]
pub struct ImportLfsReport {
    /// Each file, in path order.
    pub artifacts: Vec<LfsImported>,
    /// `.gitattributes` lines removed, as `FILE: LINE`.
    pub removed_lines: Vec<String>,
    /// Files staged for the one commit that completes the conversion.
    pub staged: Vec<String>,
}

impl ImportLfsReport {
    /// Bytes across all files.
    pub fn bytes(&self) -> u64 {
        self.artifacts.iter().map(|a| a.size).sum()
    }
}

/// An LFS pointer: `oid sha256:…` and `size`.
#[derive(Debug, Clone, PartialEq)]
pub struct LfsPointer {
    /// Hex sha256.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

/// Parses git-lfs's pointer format (spec v1); `None` for anything else.
pub fn parse_pointer(bytes: &[u8]) -> Option<LfsPointer> {
    if bytes.len() > 1024 {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if !lines.next()?.starts_with("version https://git-lfs.github.com/spec/") {
        return None;
    }
    let (mut sha256, mut size) = (None, None);
    for line in lines {
        if let Some(v) = line.strip_prefix("oid sha256:") {
            sha256 = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("size ") {
            size = v.parse().ok();
        }
    }
    let sha256 = sha256.filter(|s| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))?;
    Some(LfsPointer { sha256, size: size? })
}

/// A `filter=lfs` line of a `.gitattributes`.
struct AttrLine {
    file: String,
    dir: String,
    line: String,
    matcher: ignore::gitignore::Gitignore,
}

impl AttrLine {
    /// Whether the line applies to the repo-relative `path` (only paths under its directory).
    fn matches(&self, root: &Path, path: &str) -> bool {
        let under = self.dir.is_empty() || path.starts_with(&format!("{}/", self.dir));
        under && self.matcher.matched_path_or_any_parents(root.join(path), false).is_ignore()
    }
}

/// Runs `mvc import-lfs`.
pub fn import_lfs(opts: &ImportLfsOptions, reporter: &dyn Reporter) -> Result<ImportLfsReport> {
    let git = crate::repo::discover_git(&opts.cwd)?;
    let root = git.workdir().context("the repository has no work tree")?.canonicalize()?;
    let mut report = ImportLfsReport::default();
    let attrs = lfs_attribute_lines(&git, &root)?;
    let selector = selector(&root, &opts.patterns)?;
    // Files in the index whose staged blob is an LFS pointer.
    let index = git.index().context("reading the git index")?;
    let mut found: Vec<(String, LfsPointer)> = Vec::new();
    for entry in index.iter() {
        let Ok(path) = String::from_utf8(entry.path.clone()) else { continue };
        if entry.file_size > 1024
            || (!opts.patterns.is_empty() && !selector.matched_path_or_any_parents(root.join(&path), false).is_ignore())
        {
            continue;
        }
        let Ok(blob) = git.find_blob(entry.id) else { continue };
        if let Some(pointer) = parse_pointer(blob.content()) {
            crate::paths::check_artifact_rel(&path)?;
            found.push((path, pointer));
        }
    }
    drop(index);
    found.sort_by(|a, b| a.0.cmp(&b.0));
    if found.is_empty() {
        return Ok(report);
    }
    // Every file's content is in place and verified before anything changes.
    let store = crate::repo::private_dir_of(&git)?.parent().map(|p| p.join("lfs/objects")).context("no git dir")?;
    let mut from_store = Vec::new();
    for (path, pointer) in &found {
        from_store.push(prepare(&root, &store, path, pointer)?);
    }

    if !root.join(crate::repo::MVC_DIR).join("config").is_file() {
        crate::ops::init::init(&crate::ops::init::InitOptions {
            cwd: root.clone(),
            force: false,
            subdir: false,
            message: None,
        })?;
        report.staged.extend([".mvc/config".to_string(), ".mvc/.gitignore".to_string()]);
    }
    let repo = Repo::open(&root)?;
    let _lock = repo.lock("import-lfs")?;
    // Out of git's index first, so the file is mvc's to ignore and track.
    let mut index = repo.git.index().context("reading the git index")?;
    for (path, _) in &found {
        index.remove_path(Path::new(path)).with_context(|| format!("removing `{path}` from git's index"))?;
    }
    index.write().context("writing the git index")?;
    let stat_index = repo.stat_index();
    for ((path, _), lfs) in found.iter().zip(from_store) {
        crate::git::check_gitignore(&repo.root, path)?;
        let stored = crate::ops::add::store_artifact(
            &repo,
            stat_index,
            path,
            &crate::meta::MetaInput::default(),
            &repo.root,
            false,
            reporter,
        )?;
        report.staged.push(path.clone());
        report.staged.push(format!("{path}{}", crate::pointer::SUFFIX));
        if let Some(g) = crate::git::ignore_artifact(&repo.git, &repo.scope, &repo.root, path)? {
            report.staged.push(g);
        }
        report.artifacts.push(LfsImported {
            path: path.clone(),
            size: stored.pointer.size,
            oid: stored.pointer.oid,
            from_lfs_store: lfs,
        });
    }
    // A `filter=lfs` line goes when no LFS file it matches is left in git.
    let remaining: Vec<String> = lfs_files_in_index(&repo.git)?;
    let mut by_file: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for a in &attrs {
        let matches_converted = found.iter().any(|(p, _)| a.matches(&root, p));
        let matches_left = remaining.iter().any(|p| a.matches(&root, p));
        if matches_converted && !matches_left {
            by_file.entry(a.file.clone()).or_default().push(a.line.clone());
        }
    }
    for (file, lines) in by_file {
        let text = crate::paths::read_workspace_file(&root, &file, 4 << 20)?.unwrap_or_default();
        let text = String::from_utf8_lossy(&text).into_owned();
        let kept: Vec<&str> = text.lines().filter(|l| !lines.iter().any(|r| r == l)).collect();
        let path = root.join(&file);
        if kept.iter().all(|l| l.trim().is_empty()) {
            std::fs::remove_file(&path).with_context(|| format!("removing `{file}`"))?;
        } else {
            let mut new = kept.join("\n");
            new.push('\n');
            crate::fsutil::write_atomic(&path, new.as_bytes(), 0o644)?;
        }
        report.removed_lines.extend(lines.iter().map(|l| format!("{file}: {l}")));
        report.staged.push(file);
    }
    report.staged.sort();
    report.staged.dedup();
    crate::git::stage(
        &repo.git,
        &repo.scope,
        &report.staged.iter().filter(|s| !found.iter().any(|(p, _)| p == *s)).cloned().collect::<Vec<_>>(),
    )?;
    Ok(report)
}

fn lfs_files_in_index(git: &git2::Repository) -> Result<Vec<String>> {
    let index = git.index().context("reading the git index")?;
    Ok(index
        .iter()
        .filter(|e| e.file_size <= 1024)
        .filter(|e| git.find_blob(e.id).is_ok_and(|b| parse_pointer(b.content()).is_some()))
        .filter_map(|e| String::from_utf8(e.path).ok())
        .collect())
}

/// The user's patterns as one gitignore-syntax matcher.
fn selector(root: &Path, patterns: &[String]) -> Result<ignore::gitignore::Gitignore> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
    for p in patterns {
        builder.add_line(None, p).with_context(|| format!("invalid pattern `{}`", crate::text::sanitize(p)))?;
    }
    builder.build().context("building the patterns")
}

/// Every `filter=lfs` line of every `.gitattributes` in the index.
fn lfs_attribute_lines(git: &git2::Repository, root: &Path) -> Result<Vec<AttrLine>> {
    let index = git.index().context("reading the git index")?;
    let files: Vec<String> = index
        .iter()
        .filter_map(|e| String::from_utf8(e.path).ok())
        .filter(|p| crate::git::split_parent(p).1 == ".gitattributes")
        .collect();
    let mut out = Vec::new();
    for file in files {
        let Some(bytes) = crate::paths::read_workspace_file(root, &file, 4 << 20)? else { continue };
        let dir = crate::git::split_parent(&file).0;
        for line in String::from_utf8_lossy(&bytes).lines() {
            let mut words = line.split_whitespace();
            let Some(pattern) = words.next().filter(|p| !p.starts_with('#')) else { continue };
            if !words.any(|w| w == "filter=lfs") {
                continue;
            }
            let mut builder = ignore::gitignore::GitignoreBuilder::new(root.join(dir));
            if builder.add_line(None, pattern).is_err() {
                continue;
            }
            let Ok(matcher) = builder.build() else { continue };
            out.push(AttrLine { file: file.clone(), dir: dir.to_string(), line: line.to_string(), matcher });
        }
    }
    Ok(out)
}

/// Makes sure the workspace holds the file's real content (its sha256 the pointer's).
/// Returns whether it came from git-lfs's store.
fn prepare(root: &Path, store: &Path, rel: &str, pointer: &LfsPointer) -> Result<bool> {
    crate::paths::check_resolved(root, rel)?;
    let abs = root.join(rel);
    let meta = abs.symlink_metadata().ok();
    if meta.as_ref().is_some_and(|m| m.file_type().is_symlink() || !m.is_file()) {
        bail!("`{rel}` is not a regular file");
    }
    let current = match &meta {
        Some(m) if m.len() <= 1024 => parse_pointer(&std::fs::read(&abs).with_context(|| format!("reading `{rel}`"))?),
        Some(_) => None,
        None => Some(pointer.clone()),
    };
    if current.is_none() {
        // Smudged content: it must be the committed version.
        if sha256_of(std::fs::File::open(&abs).with_context(|| format!("reading `{rel}`"))?, None)? != pointer.sha256 {
            bail!(hinted(
                format!("`{rel}` differs from the version git-lfs committed"),
                "commit it (`git add` and `git commit`) or restore it (`git checkout`) first, then import again"
            ));
        }
        return Ok(false);
    }
    let object = store.join(&pointer.sha256[..2]).join(&pointer.sha256[2..4]).join(&pointer.sha256);
    if !object.is_file() && lfs_installed(root) {
        let _ = Command::new("git").current_dir(root).args(["lfs", "fetch", "--include"]).arg(rel).output();
    }
    if !object.is_file() {
        bail!(hinted(
            format!("the content of `{rel}` is neither in the workspace nor in git-lfs's store"),
            format!("download it first: `git lfs pull --include {}`", crate::text::shell_quote(rel))
        ));
    }
    let parent = abs.parent().context("no parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating `{}`", parent.display()))?;
    let mut temp = tempfile::Builder::new().prefix(".mvc-import-").tempfile_in(parent)?;
    let src = std::fs::File::open(&object).with_context(|| format!("reading `{}`", object.display()))?;
    let got = sha256_of(src, Some(temp.as_file_mut()))?;
    if got != pointer.sha256 {
        bail!("git-lfs's object for `{rel}` does not match its sha256 (the store is corrupt); nothing was imported");
    }
    use std::os::unix::fs::PermissionsExt;
    temp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    temp.persist(&abs).with_context(|| format!("writing `{rel}`"))?;
    Ok(true)
}

fn lfs_installed(root: &Path) -> bool {
    Command::new("git").current_dir(root).args(["lfs", "version"]).output().is_ok_and(|o| o.status.success())
}

fn sha256_of(mut src: std::fs::File, mut copy: Option<&mut std::fs::File>) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf).context("reading")?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(c) = copy.as_mut() {
            c.write_all(&buf[..n]).context("writing a temporary file")?;
        }
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfs_pointers_parse_and_anything_else_does_not() {
        let sha = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
        let text = format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize 12345\n");
        assert_eq!(parse_pointer(text.as_bytes()), Some(LfsPointer { sha256: sha.into(), size: 12345 }));
        assert_eq!(parse_pointer(b"plain text"), None);
        assert_eq!(parse_pointer(b"version https://git-lfs.github.com/spec/v1\noid sha256:../../x\nsize 1\n"), None);
    }
}
