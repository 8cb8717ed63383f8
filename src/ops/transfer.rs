//! What a push, fetch or pull applies to: the selected artifacts' pointers in the workspace
//! or at git revisions, and the objects they need.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::ops::{Artifact, enclosing_artifact, select};
use crate::pointer::Pointer;
use crate::repo::Repo;
use crate::revs::{self, RevSelection};

/// One artifact version to transfer.
#[derive(Debug, Clone)]
pub struct Target {
    /// The artifact.
    pub artifact: Artifact,
    /// Its pointer (from the workspace or a revision).
    pub pointer: Pointer,
    /// For a directory: only files under this inner path (a partial pull), if set.
    pub subpath: Option<String>,
}

/// The artifacts named by `targets` (paths, pointer paths, or paths inside a tracked
/// directory) in the workspace, or at the selected revisions.
pub fn gather(repo: &Repo, cwd: &Path, targets: &[PathBuf], sel: &RevSelection) -> Result<Vec<Target>> {
    let mut wanted: Vec<(String, Option<String>)> = Vec::new();
    for t in targets {
        let rel = repo.relative(cwd, t)?;
        let rel = rel.strip_suffix(crate::pointer::SUFFIX).map(str::to_string).unwrap_or(rel);
        match enclosing_artifact(repo, &rel) {
            Some(parent) => {
                let inner = rel[parent.rel.len() + 1..].to_string();
                wanted.push((parent.rel, Some(inner)));
            }
            None => wanted.push((rel, None)),
        }
    }
    if sel.is_empty() {
        let plain: Vec<PathBuf> =
            wanted.iter().filter(|(_, sub)| sub.is_none()).map(|(rel, _)| repo.abs(rel)).collect();
        let mut out = Vec::new();
        if targets.is_empty() || !plain.is_empty() {
            for (artifact, pointer) in crate::ops::load_pointers(repo, select(repo, &repo.root, &plain)?) {
                out.push(Target { artifact, pointer, subpath: None });
            }
        }
        for (rel, sub) in wanted.iter().filter(|(_, s)| s.is_some()) {
            let artifact = Artifact::checked(rel)?;
            let pointer = artifact.load_pointer(repo)?;
            out.push(Target { artifact, pointer, subpath: sub.clone() });
        }
        return Ok(out);
    }
    let keep = |artifact: &str| {
        wanted.is_empty()
            || wanted
                .iter()
                .any(|(rel, _)| rel.is_empty() || artifact == rel || artifact.starts_with(&format!("{rel}/")))
    };
    let mut visited = HashSet::new();
    let mut seen: BTreeMap<(String, crate::hash::Oid), ()> = BTreeMap::new();
    let mut out = Vec::new();
    for commit in revs::commits(&repo.git, sel)? {
        for (pointer_rel, pointer) in revs::pointers_in_commit(&repo.git, &repo.scope, commit, &keep, &mut visited)? {
            let Some(artifact) = Artifact::from_pointer(&pointer_rel) else { continue };
            if seen.insert((artifact.rel.clone(), pointer.oid), ()).is_some() {
                continue;
            }
            let subpath = wanted.iter().find(|(rel, _)| *rel == artifact.rel).and_then(|(_, s)| s.clone());
            out.push(Target { artifact, pointer, subpath });
        }
    }
    Ok(out)
}
