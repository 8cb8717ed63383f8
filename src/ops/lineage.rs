//! `mvc lineage REF`: the graph from data to model. Each artifact version's pointer records
//! its deps (path and oid); each dep's own pointer at the commit that recorded that oid has
//! its deps in turn. Versions are named where registered.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::Value;

use crate::ops::Artifact;
use crate::ops::history::log;
use crate::pointer::Pointer;
use crate::repo::Repo;
use crate::text::sanitize;

/// One artifact version in the graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// Repo-relative path.
    pub path: String,
    /// Content oid (hex).
    pub oid: String,
    /// `name@vX.Y.Z` when this exact version is registered.
    pub version: Option<String>,
    /// The commit that recorded this version (None when no commit has it).
    pub commit: Option<String>,
    /// Params recorded with it.
    pub params: Option<Value>,
    /// Indexes of the nodes it was made from.
    pub deps: Vec<usize>,
    /// For the origin of an import: the source project (credentials removed); `path`,
    /// `oid`, `commit` and `version` (the reference followed) are then that project's.
    pub repo: Option<String>,
}

/// The graph; node 0 is the one asked about.
#[derive(Debug, Clone, Default)]
pub struct Lineage {
    /// Every node once.
    pub nodes: Vec<Node>,
}

/// Builds the lineage of `target` (a registry reference, or an artifact path in the
/// workspace or, with `rev`, at that revision: a commit, branch or experiment).
pub fn lineage(repo: &Repo, target: &str, cwd: &std::path::Path, rev: Option<&str>) -> Result<Lineage> {
    let reg = crate::registry_store::Registry::open(repo)?;
    let registered: BTreeMap<(String, String), String> =
        reg.by_content().into_iter().filter_map(|(k, l)| Some((k, l.first()?.1.clone()))).collect();
    let (path, pointer, commit, label) = match reg.reference(target, || cwd.join(target).exists()) {
        Some(r) => {
            let resolved = reg.resolve(&r)?;
            let label = format!("{}@{}", resolved.name, resolved.version.name);
            let (commit, path) = reg.locate(&r)?;
            let at = crate::revs::artifacts_at(&repo.git, &repo.scope, commit)?;
            let pointer =
                at.get(&path).cloned().ok_or_else(|| anyhow::anyhow!("`{path}` is not in commit {commit}"))?;
            (path, pointer, Some(commit.to_string()), Some(label))
        }
        None => {
            let rel = repo.relative(cwd, std::path::Path::new(target))?;
            let rel = rel.strip_suffix(crate::pointer::SUFFIX).map(str::to_string).unwrap_or(rel);
            match rev {
                Some(rev) => {
                    let commit = crate::revs::resolve(&repo.git, rev)?;
                    let pointer = crate::revs::artifacts_at(&repo.git, &repo.scope, commit)?
                        .remove(&rel)
                        .ok_or_else(|| anyhow::anyhow!("`{rel}` is not tracked at `{}`", crate::text::sanitize(rev)))?;
                    (rel, pointer, Some(commit.to_string()), None)
                }
                None => {
                    let pointer = Artifact::from_rel(&rel).load_pointer(repo)?;
                    (rel, pointer, None, None)
                }
            }
        }
    };
    let mut graph = Lineage::default();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    add_node(repo, &mut graph, &mut index, &registered, path, pointer, commit, 0)?;
    // The version asked for, not another version with the same bytes.
    if let (Some(label), Some(node)) = (label, graph.nodes.first_mut()) {
        node.version = Some(label);
    }
    Ok(graph)
}

#[allow(clippy::too_many_arguments)]
fn add_node(
    repo: &Repo,
    graph: &mut Lineage,
    index: &mut BTreeMap<(String, String), usize>,
    registered: &BTreeMap<(String, String), String>,
    path: String,
    pointer: Pointer,
    commit: Option<String>,
    depth: usize,
) -> Result<usize> {
    let key = (path.clone(), pointer.oid.to_hex());
    if let Some(i) = index.get(&key) {
        return Ok(*i);
    }
    let i = graph.nodes.len();
    index.insert(key.clone(), i);
    graph.nodes.push(Node {
        path: path.clone(),
        oid: key.1.clone(),
        version: registered.get(&key).cloned(),
        commit,
        params: pointer.meta.get("params").cloned(),
        deps: Vec::new(),
        repo: None,
    });
    // An import's origin is the source project's artifact at the commit it was read at.
    if let Ok(Some(source)) = crate::ops::import::Source::of(&pointer, &format!("{path}{}", crate::pointer::SUFFIX)) {
        let j = graph.nodes.len();
        graph.nodes.push(Node {
            path: source.path,
            oid: source.oid,
            version: source.rev,
            commit: Some(source.commit),
            params: None,
            deps: Vec::new(),
            repo: Some(source.repo),
        });
        graph.nodes[i].deps.push(j);
    }
    // Deep chains are cut rather than followed forever (a cycle is impossible by oids, but
    // hostile pointers could claim anything).
    if depth >= 64 {
        return Ok(i);
    }
    for (dep_path, dep_oid) in crate::meta::deps(&pointer) {
        let (dep_pointer, dep_commit) = find_version(repo, &dep_path, &dep_oid)?;
        let child = match dep_pointer {
            Some(p) => add_node(repo, graph, index, registered, dep_path, p, dep_commit, depth + 1)?,
            None => {
                // Not in this history: a leaf known only by path and oid.
                let leaf = (dep_path.clone(), dep_oid.clone());
                match index.get(&leaf) {
                    Some(j) => *j,
                    None => {
                        let j = graph.nodes.len();
                        index.insert(leaf.clone(), j);
                        graph.nodes.push(Node {
                            path: dep_path,
                            oid: dep_oid,
                            version: registered.get(&leaf).cloned(),
                            commit: None,
                            params: None,
                            deps: Vec::new(),
                            repo: None,
                        });
                        j
                    }
                }
            }
        };
        graph.nodes[i].deps.push(child);
    }
    Ok(i)
}

/// The pointer of `path` with content `oid` and the oldest commit that recorded it.
fn find_version(repo: &Repo, path: &str, oid: &str) -> Result<(Option<Pointer>, Option<String>)> {
    let entries = log(repo, &Artifact::from_rel(path))?;
    let found = entries.into_iter().rev().find(|e| e.pointer.as_ref().is_some_and(|p| p.oid.to_hex() == oid));
    Ok(match found {
        Some(e) => (e.pointer, Some(e.commit)),
        None => (None, None),
    })
}

impl Lineage {
    fn label(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let short = &n.oid[..12.min(n.oid.len())];
        match (&n.repo, &n.version) {
            (Some(repo), Some(v)) => format!("{}: {} {short} ({})", sanitize(repo), sanitize(&n.path), sanitize(v)),
            (Some(repo), None) => format!("{}: {} {short}", sanitize(repo), sanitize(&n.path)),
            (None, Some(v)) => format!("{v} ({})", n.path),
            (None, None) => format!("{} {short}", n.path),
        }
    }

    /// An indented tree, the artifact first and its deps beneath.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.text_node(0, 0, &mut out, &mut Vec::new());
        out
    }

    fn text_node(&self, i: usize, depth: usize, out: &mut String, path: &mut Vec<usize>) {
        let n = &self.nodes[i];
        let commit = n.commit.as_deref().map(|c| format!("  commit {}", &c[..12.min(c.len())])).unwrap_or_default();
        let params = n.params.as_ref().map(|p| format!("  params {p}")).unwrap_or_default();
        out.push_str(&format!(
            "{}{}{commit}{params}\n",
            "    ".repeat(depth) + if depth > 0 { "<- " } else { "" },
            self.label(i)
        ));
        if path.contains(&i) {
            return;
        }
        path.push(i);
        for d in &n.deps {
            self.text_node(*d, depth + 1, out, path);
        }
        path.pop();
    }

    /// A Mermaid flowchart (data flows left to right into the model).
    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (i, _) in self.nodes.iter().enumerate() {
            out.push_str(&format!("    n{i}[\"{}\"]\n", self.label(i).replace('"', "'")));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for d in &n.deps {
                out.push_str(&format!("    n{d} --> n{i}\n"));
            }
        }
        out
    }

    /// A Graphviz digraph.
    pub fn dot(&self) -> String {
        let mut out = String::from("digraph lineage {\n    rankdir=LR;\n");
        for (i, _) in self.nodes.iter().enumerate() {
            out.push_str(&format!(
                "    n{i} [label=\"{}\"];\n",
                self.label(i).replace('\\', "\\\\").replace('"', "\\\"")
            ));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for d in &n.deps {
                out.push_str(&format!("    n{d} -> n{i};\n"));
            }
        }
        out.push_str("}\n");
        out
    }
}
