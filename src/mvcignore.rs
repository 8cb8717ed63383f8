//! `.mvcignore` files (gitignore syntax, like `.dvcignore`): what `add`, `commit`, `status`
//! and `checkout` skip inside tracked directories. A file at the repository root applies
//! everywhere; one in a subdirectory applies below it and overrides the ones above, as
//! gitignore does. Without any `.mvcignore` nothing is ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The file name.
pub const FILE_NAME: &str = ".mvcignore";

/// Largest `.mvcignore` mvc reads.
const MAX_BYTES: u64 = 1 << 20;

/// The pattern that decided about a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// Repo-relative path of the `.mvcignore` holding the pattern.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// The pattern as written (trailing spaces trimmed).
    pub pattern: String,
    /// A `!pattern`: the path is re-included, not ignored.
    pub negated: bool,
}

/// The `.mvcignore` rules of one work tree, read lazily (one file per directory, once).
pub struct MvcIgnore {
    root: PathBuf,
    loaded: Mutex<HashMap<String, Option<Arc<Gitignore>>>>,
}

impl MvcIgnore {
    /// The rules of the work tree at `root` (nothing is read yet).
    pub fn new(root: &Path) -> MvcIgnore {
        MvcIgnore { root: root.to_path_buf(), loaded: Mutex::new(HashMap::new()) }
    }

    /// The rules of `dir/.mvcignore` (repo-relative `dir`, `""` for the root), read once.
    /// A directory reached through a symlink contributes no rules: mvc never reads a
    /// work tree file through one.
    fn rules(&self, dir: &str) -> Result<Option<Arc<Gitignore>>> {
        if let Some(rules) = self.loaded.lock().unwrap_or_else(|e| e.into_inner()).get(dir) {
            return Ok(rules.clone());
        }
        let file_rel = if dir.is_empty() { FILE_NAME.to_string() } else { format!("{dir}/{FILE_NAME}") };
        let rules = if crate::paths::check_resolved(&self.root, &file_rel).is_err() {
            None
        } else {
            match crate::paths::read_workspace_file(&self.root, &file_rel, MAX_BYTES)? {
                None => None,
                Some(bytes) => Some(Arc::new(parse(&self.root.join(dir), &file_rel, &bytes)?)),
            }
        };
        self.loaded.lock().unwrap_or_else(|e| e.into_inner()).insert(dir.to_string(), rules.clone());
        Ok(rules)
    }

    /// The pattern deciding about `rel` itself (its own name, not its parents), from the
    /// deepest `.mvcignore` that has an opinion.
    fn decide(&self, rel: &str, is_dir: bool) -> Result<Option<Matched>> {
        let mut dir = crate::git::split_parent(rel).0;
        loop {
            if let Some(rules) = self.rules(dir)? {
                let inner = if dir.is_empty() { rel } else { &rel[dir.len() + 1..] };
                let found = rules.matched(inner, is_dir);
                if let Some(glob) = found.inner() {
                    let (file, line) = glob
                        .from()
                        .and_then(|f| f.to_str())
                        .and_then(|f| f.rsplit_once(':'))
                        .map(|(f, l)| (f.to_string(), l.parse().unwrap_or(0)))
                        .unwrap_or_default();
                    return Ok(Some(Matched {
                        file,
                        line,
                        pattern: glob.original().to_string(),
                        negated: glob.is_whitelist(),
                    }));
                }
            }
            if dir.is_empty() {
                return Ok(None);
            }
            dir = crate::git::split_parent(dir).0;
        }
    }

    /// Whether `rel` itself is ignored, assuming its parent directories are not (a walker
    /// that skips ignored directories asks this).
    pub fn ignores_entry(&self, rel: &str, is_dir: bool) -> Result<bool> {
        Ok(self.decide(rel, is_dir)?.is_some_and(|m| !m.negated))
    }

    /// The pattern that decides about repo-relative `rel`, its parent directories included:
    /// an ignored directory ignores everything in it, as in git. `None` when no pattern
    /// matches; a match with `negated` set re-includes the path.
    pub fn matched(&self, rel: &str, is_dir: bool) -> Result<Option<Matched>> {
        let mut end = 0;
        while let Some(i) = rel[end..].find('/') {
            let parent = &rel[..end + i];
            if let Some(m) = self.decide(parent, true)?.filter(|m| !m.negated) {
                return Ok(Some(m));
            }
            end += i + 1;
        }
        self.decide(rel, is_dir)
    }
}

/// Parses one `.mvcignore`; each pattern remembers `file:line` so `check-ignore -v` can
/// name it.
fn parse(dir_abs: &Path, file_rel: &str, bytes: &[u8]) -> Result<Gitignore> {
    let text = std::str::from_utf8(bytes).map_err(|_| anyhow!("`{file_rel}` is not valid UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut builder = GitignoreBuilder::new(dir_abs);
    for (i, line) in text.lines().enumerate() {
        builder
            .add_line(Some(PathBuf::from(format!("{file_rel}:{}", i + 1))), line)
            .map_err(|e| anyhow!("`{file_rel}` line {}: {e}", i + 1))?;
    }
    builder.build().map_err(|e| anyhow!("`{file_rel}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn root_rules_apply_everywhere_and_deeper_files_override() {
        let dir =
            tree(&[(".mvcignore", "# junk\n.DS_Store\n__pycache__/\n*.tmp\n"), ("data/.mvcignore", "!keep.tmp\n")]);
        let ignore = MvcIgnore::new(dir.path());
        assert!(ignore.ignores_entry("data/.DS_Store", false).unwrap());
        assert!(ignore.ignores_entry("data/sub/__pycache__", true).unwrap());
        assert!(!ignore.ignores_entry("data/sub/__pycache__", false).unwrap(), "a dir-only pattern");
        assert!(ignore.ignores_entry("data/x.tmp", false).unwrap());
        assert!(!ignore.ignores_entry("data/keep.tmp", false).unwrap());
        assert!(!ignore.ignores_entry("data/a.csv", false).unwrap());
        let m = ignore.matched("data/sub/__pycache__/m.pyc", false).unwrap().unwrap();
        assert_eq!(m, Matched { file: ".mvcignore".into(), line: 3, pattern: "__pycache__/".into(), negated: false });
        let m = ignore.matched("data/keep.tmp", false).unwrap().unwrap();
        assert_eq!((m.file.as_str(), m.line, m.negated), ("data/.mvcignore", 1, true));
    }

    #[test]
    fn no_file_ignores_nothing_and_a_symlinked_file_is_refused() {
        let dir = tree(&[("data/a", "a")]);
        let ignore = MvcIgnore::new(dir.path());
        assert_eq!(ignore.matched("data/.DS_Store", false).unwrap(), None);
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("data/.mvcignore")).unwrap();
        let err = MvcIgnore::new(dir.path()).matched("data/x", false).unwrap_err().to_string();
        assert!(err.contains("is a symlink"), "{err}");
    }
}
