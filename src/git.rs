//! git integration through git2: staging pointers and `.gitignore`s, committing exactly the
//! files mvc wrote, and checking what git already tracks. Commits go through the `git`
//! executable when the user has commit hooks or signing, so those still apply.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::repo::Scope;

/// Whether git tracks the project-relative `rel` (a file), or any file under it (a
/// directory).
pub fn is_tracked(git: &git2::Repository, scope: &Scope, rel: &str) -> Result<bool> {
    let index = git.index().context("reading the git index")?;
    let rel = scope.to_git(rel);
    if index.get_path(Path::new(&rel), 0).is_some() {
        return Ok(true);
    }
    let prefix = format!("{rel}/");
    Ok(index.iter().any(|e| e.path.starts_with(prefix.as_bytes())))
}

/// Project-relative paths of every pointer file (`*.mvc`) of the project at `scope` in the
/// git index: the artifacts this project tracks (`mvc add` stages every pointer it writes).
/// Pointers of a project in a subdirectory of this one (its own `.mvc/config` is in the
/// index) are that project's, not this one's.
pub fn indexed_pointers(git: &git2::Repository, scope: &Scope) -> Result<Vec<String>> {
    let index = git.index().context("reading the git index")?;
    let paths: Vec<String> = index
        .iter()
        .filter_map(|e| String::from_utf8(e.path).ok())
        .filter_map(|p| scope.from_git(&p).map(str::to_string))
        .collect();
    let nested: Vec<String> = paths
        .iter()
        .filter_map(|p| p.strip_suffix(NESTED_MARKER))
        .filter(|d| !d.is_empty())
        .map(|d| format!("{d}/"))
        .collect();
    let mut out: Vec<String> = paths
        .into_iter()
        .filter(|p| p.ends_with(crate::pointer::SUFFIX))
        .filter(|p| !p.starts_with(".mvc/"))
        .filter(|p| !nested.iter().any(|d| p.starts_with(d.as_str())))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The index path that marks a project in a subdirectory `D`: `D/.mvc/config`.
const NESTED_MARKER: &str = "/.mvc/config";

/// Stages each project-relative path as it is in the work tree (removing it from the index
/// if it is gone).
pub fn stage(git: &git2::Repository, scope: &Scope, rels: &[String]) -> Result<()> {
    let mut index = git.index().context("reading the git index")?;
    let root = git.workdir().context("repository has no work tree")?;
    for rel in rels {
        let rel = &scope.to_git(rel);
        if root.join(rel).exists() {
            index.add_path(Path::new(rel)).with_context(|| format!("staging `{rel}`"))?;
        } else {
            let _ = index.remove_path(Path::new(rel));
        }
    }
    index.write().context("writing the git index")
}

/// Commits exactly the project-relative `rels` (already staged) with `message`; the user's
/// other staged changes stay staged and uncommitted. Returns the new commit id.
pub fn commit_paths(git: &git2::Repository, scope: &Scope, rels: &[String], message: &str) -> Result<git2::Oid> {
    let rels: Vec<String> = rels.iter().map(|r| scope.to_git(r)).collect();
    let rels = &rels;
    if needs_git_executable(git) {
        return commit_with_git(git, rels, message);
    }
    let author = signature(git, "AUTHOR")?;
    let committer = signature(git, "COMMITTER")?;
    let index = git.index().context("reading the git index")?;
    let head = match git.head() {
        Ok(h) => Some(h.peel_to_commit().context("reading HEAD's commit")?),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch || e.code() == git2::ErrorCode::NotFound => None,
        Err(e) => return Err(e).context("reading HEAD"),
    };
    let mut partial = git2::Index::new().context("creating an index")?;
    if let Some(commit) = &head {
        partial.read_tree(&commit.tree()?).context("reading HEAD's tree")?;
    }
    for rel in rels {
        match index.get_path(Path::new(rel), 0) {
            Some(entry) => partial.add(&entry).with_context(|| format!("adding `{rel}` to the commit"))?,
            None => {
                let _ = partial.remove_path(Path::new(rel));
            }
        }
    }
    let tree_id = partial.write_tree_to(git).context("writing the commit's tree")?;
    let tree = git.find_tree(tree_id)?;
    let parents: Vec<&git2::Commit> = head.iter().collect();
    git.commit(Some("HEAD"), &author, &committer, message, &tree, &parents).context("creating the commit")
}

/// The committed files of the project itself (`.mvc/config`, `.mvc/.gitignore`).
pub const PROJECT_FILES: [&str; 2] = [".mvc/config", ".mvc/.gitignore"];

/// Project-relative paths whose staged version differs from HEAD's (or all staged paths on
/// an unborn branch), among those of the project at `scope` that `wanted` accepts.
pub fn staged_changes(git: &git2::Repository, scope: &Scope, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
    let head_tree = match git.head() {
        Ok(h) => Some(h.peel_to_tree().context("reading HEAD's tree")?),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch || e.code() == git2::ErrorCode::NotFound => None,
        Err(e) => return Err(e).context("reading HEAD"),
    };
    let index = git.index().context("reading the git index")?;
    let diff =
        git.diff_tree_to_index(head_tree.as_ref(), Some(&index), None).context("comparing HEAD and the index")?;
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let path = delta.new_file().path().or_else(|| delta.old_file().path());
        if let Some(p) = path.and_then(|p| p.to_str()).and_then(|p| scope.from_git(p))
            && wanted(p)
            && !out.iter().any(|o: &String| o == p)
        {
            out.push(p.to_string());
        }
    }
    Ok(out)
}

/// Commits what a command staged (`rels`), together with the project's own files when they
/// are staged but not yet committed: a commit made by mvc is complete, so a clone of it is
/// an mvc project and ignores the data its pointers name. The user's other staged changes
/// stay staged. Returns the new commit id.
pub fn commit_command(git: &git2::Repository, scope: &Scope, rels: &[String], message: &str) -> Result<git2::Oid> {
    let mut paths: Vec<String> = rels.to_vec();
    for p in staged_changes(git, scope, &|p| PROJECT_FILES.contains(&p))? {
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    commit_paths(git, scope, &paths, message)
}

/// The identity `git commit` would use: `GIT_{role}_NAME`/`_EMAIL` (as CI jobs set them)
/// over `user.name`/`user.email`.
pub fn signature(git: &git2::Repository, role: &str) -> Result<git2::Signature<'static>> {
    let config = git.config().ok();
    let value = |var: &str, key: &str| {
        std::env::var(format!("GIT_{role}_{var}"))
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| config.as_ref().and_then(|c| c.get_string(key).ok()))
    };
    let when = std::env::var(format!("GIT_{role}_DATE")).ok().and_then(|d| parse_git_date(&d));
    match (value("NAME", "user.name"), value("EMAIL", "user.email")) {
        (Some(name), Some(email)) => match when {
            Some(time) => git2::Signature::new(&name, &email, &time),
            None => git2::Signature::now(&name, &email),
        }
        .context("building the commit identity"),
        _ => bail!(
            "git has no identity to commit with; set one with `git config user.name \"Your Name\"` and `git config user.email you@example.com`"
        ),
    }
}

/// `GIT_*_DATE` in the forms scripts use: `@SECONDS`, `SECONDS +HHMM`, or RFC 3339 UTC
/// (`2026-01-01T00:00:00Z`). Other forms fall back to now.
fn parse_git_date(raw: &str) -> Option<git2::Time> {
    let raw = raw.trim();
    if let Some(secs) = raw.strip_prefix('@') {
        return secs.parse().ok().map(|s| git2::Time::new(s, 0));
    }
    if let Some((secs, tz)) = raw.split_once(' ')
        && let (Ok(secs), Ok(tz)) = (secs.parse::<i64>(), tz.parse::<i32>())
    {
        return Some(git2::Time::new(secs, (tz / 100) * 60 + (tz % 100)));
    }
    let (date, time) = raw.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let mut t = time.split(':').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(git2::Time::new(days * 86_400 + hh * 3600 + mm * 60 + ss, 0))
}

/// Where git looks for hooks: `core.hooksPath` (relative to the work tree), else the common
/// git dir's `hooks/` (shared by every worktree).
pub fn hooks_dir(git: &git2::Repository) -> std::path::PathBuf {
    match git.config().ok().and_then(|c| c.get_path("core.hooksPath").ok()) {
        Some(p) if p.is_absolute() => p,
        Some(p) => git.workdir().map(|w| w.join(&p)).unwrap_or(p),
        None => git.commondir().join("hooks"),
    }
}

/// The user's commits run hooks or are signed: only the `git` executable honours both.
fn needs_git_executable(git: &git2::Repository) -> bool {
    let config = git.config().ok();
    if config.as_ref().and_then(|c| c.get_bool("commit.gpgSign").ok()).unwrap_or(false) {
        return true;
    }
    let hooks_dir = hooks_dir(git);
    ["pre-commit", "prepare-commit-msg", "commit-msg", "post-commit"].iter().any(|hook| {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(hooks_dir.join(hook)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

fn commit_with_git(git: &git2::Repository, rels: &[String], message: &str) -> Result<git2::Oid> {
    let workdir = git.workdir().context("repository has no work tree")?;
    let output = Command::new("git")
        .current_dir(workdir)
        .args(["commit", "--quiet", "--only", "-m", message, "--"])
        .args(rels)
        .output()
        .context("running `git commit` (needed because this repository has commit hooks or signing)")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("`git commit` failed: {}", crate::text::sanitize(stderr.trim()));
    }
    let head = git.head().context("reading HEAD after `git commit`")?;
    head.target().context("HEAD does not point at a commit")
}

/// Escapes a file name for a `.gitignore` line so it matches only itself.
pub fn gitignore_escape(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        match c {
            '*' | '?' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '!' | '#' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    // Trailing spaces are dropped by git unless escaped.
    let trimmed = out.trim_end_matches(' ');
    let trailing = out.len() - trimmed.len();
    format!("{trimmed}{}", "\\ ".repeat(trailing))
}

/// The `.gitignore` line for the artifact `name` in its own directory: `/name`, anchored.
fn ignore_line(name: &str) -> String {
    format!("/{}", gitignore_escape(name))
}

/// Largest `.gitignore` mvc edits.
const MAX_GITIGNORE_BYTES: u64 = 4 << 20;

/// The `.gitignore` beside the artifact at `rel`, repo-relative.
pub fn gitignore_of(rel: &str) -> String {
    match split_parent(rel).0 {
        "" => ".gitignore".to_string(),
        dir => format!("{dir}/.gitignore"),
    }
}

/// Reads a `.gitignore` in the work tree: never through a symlink (a committed link to
/// `/proc/self/environ` would copy mvc's environment into a staged file).
fn read_gitignore(root: &Path, rel: &str) -> Result<String> {
    let bytes = crate::paths::read_workspace_file(root, rel, MAX_GITIGNORE_BYTES)?.unwrap_or_default();
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("`{rel}` is not valid UTF-8"))
}

/// Checks, before a command changes anything, that the `.gitignore` beside the artifact at
/// `rel` can be read and rewritten (a regular file, or absent), so a refusal comes first.
pub fn check_gitignore(root: &Path, rel: &str) -> Result<()> {
    read_gitignore(root, &gitignore_of(rel)).map(|_| ())
}

/// Adds the artifact at `rel` to the `.gitignore` beside it. Returns that `.gitignore`'s
/// project-relative path when it needs staging: changed now, or (after an interrupted run)
/// holding the line in the work tree but not in git's index.
pub fn ignore_artifact(git: &git2::Repository, scope: &Scope, root: &Path, rel: &str) -> Result<Option<String>> {
    crate::paths::check_artifact_rel(rel)?;
    let gitignore_rel = gitignore_of(rel);
    let line = ignore_line(split_parent(rel).1);
    let existing = read_gitignore(root, &gitignore_rel)?;
    if existing.lines().any(|l| l == line) {
        return Ok((!index_has_line(git, &scope.to_git(&gitignore_rel), &line)).then_some(gitignore_rel));
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    text.push('\n');
    crate::fsutil::write_atomic(&root.join(&gitignore_rel), text.as_bytes(), 0o644)?;
    Ok(Some(gitignore_rel))
}

/// Whether the staged version of the file at the git-root-relative `rel` has `line`.
fn index_has_line(git: &git2::Repository, rel: &str, line: &str) -> bool {
    let Ok(index) = git.index() else { return false };
    let Some(entry) = index.get_path(Path::new(rel), 0) else { return false };
    let Ok(blob) = git.find_blob(entry.id) else { return false };
    String::from_utf8_lossy(blob.content()).lines().any(|l| l == line)
}

/// Removes the artifact's line from the `.gitignore` beside it; returns that file's
/// repo-relative path when it changed. A `.gitignore` left with nothing but blank lines is
/// deleted (staging the returned path then stages the deletion).
pub fn unignore_artifact(root: &Path, rel: &str) -> Result<Option<String>> {
    crate::paths::check_artifact_rel(rel)?;
    let gitignore_rel = gitignore_of(rel);
    let existing = read_gitignore(root, &gitignore_rel)?;
    let line = ignore_line(split_parent(rel).1);
    if !existing.lines().any(|l| l == line) {
        return Ok(None);
    }
    let kept: Vec<&str> = existing.lines().filter(|l| *l != line).collect();
    if kept.iter().all(|l| l.trim().is_empty()) {
        let path = root.join(&gitignore_rel);
        std::fs::remove_file(&path).with_context(|| format!("removing `{}`", path.display()))?;
        return Ok(Some(gitignore_rel));
    }
    let mut text = kept.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    crate::fsutil::write_atomic(&root.join(&gitignore_rel), text.as_bytes(), 0o644)?;
    Ok(Some(gitignore_rel))
}

/// Splits `a/b/c` into (`a/b`, `c`); a top-level name has an empty parent.
pub fn split_parent(rel: &str) -> (&str, &str) {
    match rel.rfind('/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => ("", rel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_dates_in_script_forms_parse() {
        assert_eq!(parse_git_date("2026-01-01T00:00:00Z").unwrap().seconds(), 1_767_225_600);
        assert_eq!(parse_git_date("@1767225600").unwrap().seconds(), 1_767_225_600);
        let t = parse_git_date("1767225600 +0130").unwrap();
        assert_eq!((t.seconds(), t.offset_minutes()), (1_767_225_600, 90));
        assert!(parse_git_date("yesterday").is_none());
    }

    #[test]
    fn gitignore_lines_match_only_the_name() {
        assert_eq!(ignore_line("model.pkl"), "/model.pkl");
        assert_eq!(ignore_line("a*b?[c]"), "/a\\*b\\?\\[c\\]");
        assert_eq!(ignore_line("!x"), "/\\!x");
        assert_eq!(ignore_line("#x"), "/\\#x");
        assert_eq!(ignore_line("x  "), "/x\\ \\ ");
    }
}
