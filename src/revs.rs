//! Pointers at git revisions (`--rev`, `--all-branches`, `--all-tags`, `--all-commits`),
//! read straight from git objects with git2: nothing is checked out.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result};

use crate::pointer::{self, Pointer};
use crate::repo::Scope;

/// Which revisions a command looks at, besides (or instead of) the workspace.
#[derive(Debug, Clone, Default)]
pub struct RevSelection {
    /// Explicit revisions (`--rev`), anything `git rev-parse` understands.
    pub revs: Vec<String>,
    /// Every local branch head.
    pub all_branches: bool,
    /// Every tag.
    pub all_tags: bool,
    /// Every commit reachable from any ref.
    pub all_commits: bool,
    /// Every experiment (`refs/exps/*`).
    pub all_experiments: bool,
}

impl RevSelection {
    /// Whether no revision was asked for (the command works on the workspace).
    pub fn is_empty(&self) -> bool {
        self.revs.is_empty() && !self.all_branches && !self.all_tags && !self.all_commits && !self.all_experiments
    }
}

/// The commits a selection names, deduplicated, in a stable order.
pub fn commits(git: &git2::Repository, sel: &RevSelection) -> Result<Vec<git2::Oid>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |oid: git2::Oid, out: &mut Vec<git2::Oid>| {
        if seen.insert(oid) {
            out.push(oid);
        }
    };
    for rev in &sel.revs {
        push(resolve(git, rev)?, &mut out);
    }
    if sel.all_experiments {
        for (_, commit) in crate::exp::list(git)? {
            push(commit, &mut out);
        }
    }
    if sel.all_branches || sel.all_tags || sel.all_commits {
        let refs = git.references().context("listing git refs")?;
        let mut tips = Vec::new();
        for r in refs.flatten() {
            let wanted = (sel.all_branches && r.is_branch())
                || (sel.all_tags && r.is_tag())
                || (sel.all_commits && (r.is_branch() || r.is_tag() || r.is_remote()));
            if wanted && let Ok(c) = r.peel_to_commit() {
                tips.push(c.id());
            }
        }
        if sel.all_commits {
            if let Ok(head) = git.head().and_then(|h| h.peel_to_commit()) {
                tips.push(head.id());
            }
            let mut walk = git.revwalk().context("walking git history")?;
            for tip in &tips {
                walk.push(*tip).context("walking git history")?;
            }
            for oid in walk {
                push(oid.context("walking git history")?, &mut out);
            }
        } else {
            for tip in tips {
                push(tip, &mut out);
            }
        }
    }
    Ok(out)
}

/// The commit `rev` names: anything `git rev-parse` understands, an experiment's name
/// (`refs/exps/<name>`), or a registry reference.
pub fn resolve(git: &git2::Repository, rev: &str) -> Result<git2::Oid> {
    if git.revparse_single(rev).is_err()
        && let Some(commit) = crate::exp::find(git, rev)
    {
        return Ok(commit);
    }
    // A registry reference (`churn@v1.2.0`, `churn@latest`, `churn#production`) names the
    // commit its version was registered on.
    if git.revparse_single(rev).is_err()
        && let Some(r) = crate::registry::RegistryRef::parse(rev, false)
    {
        let reg = crate::registry_store::Registry::load(git, git.workdir(), None)?;
        return Ok(reg.resolve(&r)?.commit());
    }
    let object = git.revparse_single(rev).map_err(|_| {
        let hint = if git.is_shallow() {
            "this clone is shallow, so older commits are not here: `git fetch --unshallow` fetches them"
        } else {
            "list revisions with `git log --oneline` or `git tag`"
        };
        crate::error::hinted(format!("unknown revision `{}`", crate::text::sanitize(rev)), hint)
    })?;
    let commit =
        object.peel_to_commit().with_context(|| format!("`{}` is not a commit", crate::text::sanitize(rev)))?;
    Ok(commit.id())
}

/// Every pointer of the project at `scope` at `commit`, keyed by project-relative artifact
/// path.
pub fn artifacts_at(git: &git2::Repository, scope: &Scope, commit: git2::Oid) -> Result<BTreeMap<String, Pointer>> {
    let pointers = pointers_in_commit(git, scope, commit, &|_| true, &mut HashSet::new())?;
    Ok(pointers.into_iter().map(|(rel, p)| (rel[..rel.len() - pointer::SUFFIX.len()].to_string(), p)).collect())
}

/// Every pointer in the project's part of `commit`'s tree (the directory of `scope`, leaving
/// out projects in its subdirectories) whose artifact path passes `keep`, keyed by
/// project-relative pointer path. Identical subtrees already seen (in `visited`) are
/// skipped, which makes walking many commits of one history cheap.
pub fn pointers_in_commit(
    git: &git2::Repository,
    scope: &Scope,
    commit: git2::Oid,
    keep: &dyn Fn(&str) -> bool,
    visited: &mut HashSet<git2::Oid>,
) -> Result<BTreeMap<String, Pointer>> {
    let commit = git.find_commit(commit).context("reading a commit")?;
    let tree = commit.tree().context("reading a commit's tree")?;
    let mut out = BTreeMap::new();
    let Some(tree) = scope.tree(git, tree)? else { return Ok(out) };
    walk_tree(git, &tree, "", keep, visited, &mut out, &commit.id().to_string())?;
    Ok(out)
}

/// Whether a subtree is another project's directory (it holds `.mvc/config`): its pointers
/// are that project's.
fn is_project_tree(tree: &git2::Tree) -> bool {
    tree.get_path(Path::new(".mvc/config")).is_ok()
}

fn walk_tree(
    git: &git2::Repository,
    tree: &git2::Tree,
    prefix: &str,
    keep: &dyn Fn(&str) -> bool,
    visited: &mut HashSet<git2::Oid>,
    out: &mut BTreeMap<String, Pointer>,
    commit: &str,
) -> Result<()> {
    if !visited.insert(tree.id()) {
        return Ok(());
    }
    for entry in tree.iter() {
        let Ok(name) = entry.name() else { continue };
        // A crafted tree could hold names git itself refuses; never turn them into paths.
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            continue;
        }
        let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") };
        match entry.kind() {
            Some(git2::ObjectType::Tree) => {
                if crate::paths::check_workspace_rel(&path).is_err() {
                    continue;
                }
                let sub = git.find_tree(entry.id()).context("reading a tree")?;
                if is_project_tree(&sub) {
                    continue;
                }
                walk_tree(git, &sub, &path, keep, visited, out, commit)?;
            }
            Some(git2::ObjectType::Blob) if name.ends_with(pointer::SUFFIX) && name.len() > pointer::SUFFIX.len() => {
                let artifact = &path[..path.len() - pointer::SUFFIX.len()];
                if let Err(e) = crate::paths::check_artifact_rel(artifact) {
                    crate::notices::warn(format!("skipping pointer `{path}` at commit {}: {e}", &commit[..12]));
                    continue;
                }
                if !keep(artifact) {
                    continue;
                }
                let blob = git.find_blob(entry.id()).context("reading a pointer blob")?;
                if blob.size() > crate::yaml::MAX_DOCUMENT_BYTES {
                    anyhow::bail!("pointer `{path}` at commit {} is over the 64 KiB limit", &commit[..12]);
                }
                let text = std::str::from_utf8(blob.content())
                    .with_context(|| format!("pointer `{path}` at commit {} is not UTF-8", &commit[..12]))?;
                let pointer =
                    Pointer::parse(Path::new(&path), text).with_context(|| format!("at commit {}", &commit[..12]))?;
                out.insert(path, pointer);
            }
            _ => {}
        }
    }
    Ok(())
}
