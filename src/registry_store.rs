//! The registry of one repository, loaded once per command (DESIGN §3.5): every registry tag,
//! the state GTO's reading gives them, the declarations and the allowed stages; and the one
//! rule deciding whether an argument is a registry reference.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::registry::{
    self, ARTIFACTS_FILE, ArtifactState, Declared, Event, RegistryRef, TagName, TagRecord, Version, VersionState,
};

/// The registry as read once: records, state, declarations and stage rules.
pub struct Registry {
    /// Every registry tag (lightweight ones too; GTO counts but does not read them).
    pub records: Vec<TagRecord>,
    /// Per artifact, GTO's reading of the tags.
    pub states: BTreeMap<String, ArtifactState>,
    /// `artifacts.yaml` of the work tree (or of the commit, for another project).
    pub declared: BTreeMap<String, Declared>,
    /// Allowed stages: `.gto`'s `stages`, else mvc's `registry.stages`; None allows any.
    pub allowed_stages: Option<Vec<String>>,
    /// `.gto`'s allowed types, if set.
    pub allowed_types: Option<Vec<String>>,
    /// The project reading the registry. The registry belongs to the git repository (GTO
    /// reads `artifacts.yaml` at its root, and tags are repository-wide), so its paths are
    /// git-root-relative; [`Registry::path_of`] gives them project-relative.
    pub scope: crate::repo::Scope,
}

/// A registry reference resolved to one version.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The artifact's name.
    pub name: String,
    /// The version (state).
    pub version: VersionState,
    /// Its registration tag, when registered.
    pub record: Option<TagRecord>,
}

impl Resolved {
    /// The commit the version sits on.
    pub fn commit(&self) -> git2::Oid {
        self.version.commit
    }
}

/// Every registry tag in the repository (other tags are ignored).
pub fn read_records(git: &git2::Repository) -> Result<Vec<TagRecord>> {
    let mut out = Vec::new();
    for reference in git.references_glob("refs/tags/*").context("listing tags")?.flatten() {
        let Ok(name) = reference.shorthand() else { continue };
        let Some(tag) = TagName::parse(name) else { continue };
        let name = name.to_string();
        let Ok(commit) = reference.peel_to_commit() else { continue };
        let record = match reference.peel_to_tag() {
            Ok(t) => {
                let (who, email, when, offset) = match t.tagger() {
                    Some(s) => (
                        crate::text::sanitize(s.name().unwrap_or("?")),
                        crate::text::sanitize(s.email().unwrap_or("")),
                        s.when().seconds(),
                        s.when().offset_minutes(),
                    ),
                    None => (String::new(), String::new(), commit.time().seconds(), 0),
                };
                let (message, meta) = registry::parse_message(t.message().ok().flatten().unwrap_or(""));
                let message = crate::text::sanitize(&message);
                TagRecord {
                    name,
                    tag,
                    commit: commit.id(),
                    tagger: who,
                    email,
                    time: when,
                    offset,
                    annotated: true,
                    message,
                    meta,
                }
            }
            Err(_) => TagRecord {
                name,
                tag,
                commit: commit.id(),
                tagger: String::new(),
                email: String::new(),
                time: commit.time().seconds(),
                offset: 0,
                annotated: false,
                message: String::new(),
                meta: BTreeMap::new(),
            },
        };
        out.push(record);
    }
    Ok(out)
}

/// The declarations in the work tree's `artifacts.yaml` (empty when there is none).
pub fn declarations(root: &Path) -> Result<BTreeMap<String, Declared>> {
    match crate::paths::read_workspace_file(root, ARTIFACTS_FILE, crate::yaml::MAX_DOCUMENT_BYTES as u64 * 16)? {
        Some(bytes) => {
            let text =
                String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("`{ARTIFACTS_FILE}` is not valid UTF-8"))?;
            registry::parse_declarations(&text).map_err(|e| anyhow::anyhow!("`{ARTIFACTS_FILE}`: {e}"))
        }
        None => Ok(BTreeMap::new()),
    }
}

/// The declarations in `commit`'s `artifacts.yaml`.
pub fn declarations_at(git: &git2::Repository, commit: git2::Oid) -> BTreeMap<String, Declared> {
    let blob = git
        .find_commit(commit)
        .and_then(|c| c.tree())
        .and_then(|t| t.get_path(Path::new(ARTIFACTS_FILE)))
        .and_then(|e| e.to_object(git))
        .and_then(|o| o.peel_to_blob());
    match blob {
        Ok(b) if b.size() <= crate::yaml::MAX_DOCUMENT_BYTES * 16 => {
            registry::parse_declarations(&String::from_utf8_lossy(b.content())).unwrap_or_default()
        }
        _ => BTreeMap::new(),
    }
}

/// `.gto`'s `stages` and `types` (GTO's config file at the repo root).
fn gto_config(root: Option<&Path>) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let Some(text) = root.and_then(|r| std::fs::read_to_string(r.join(".gto")).ok()) else { return (None, None) };
    let Ok(v) = crate::yaml::parse::<serde_json::Value>(&text) else { return (None, None) };
    let list = |k: &str| {
        v.get(k).and_then(|x| x.as_array()).map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
    };
    (list("stages"), list("types"))
}

impl Registry {
    /// Loads the registry of `git`, with the work tree at `root` (declarations, `.gto`) and
    /// mvc's configured stages.
    pub fn load(git: &git2::Repository, root: Option<&Path>, config_stages: Option<Vec<String>>) -> Result<Registry> {
        let records = read_records(git)?;
        let head = git.head().ok().and_then(|h| h.peel_to_commit().ok()).map(|c| c.id());
        let declared = match root {
            Some(r) => declarations(r)?,
            None => head.map(|h| declarations_at(git, h)).unwrap_or_default(),
        };
        let head_declared = head.map(|h| (h, declarations_at(git, h).into_keys().collect()));
        let mut times: HashMap<git2::Oid, Option<i64>> = HashMap::new();
        let mut commit_time = |oid: git2::Oid| -> Option<i64> {
            *times.entry(oid).or_insert_with(|| git.find_commit(oid).ok().map(|c| c.time().seconds()))
        };
        for r in &records {
            commit_time(r.commit);
        }
        if let Some((h, _)) = &head_declared {
            commit_time(*h);
        }
        let lookup = |oid: git2::Oid| times.get(&oid).copied().flatten();
        let states = registry::state(&records, &registry::Context { commit_time: &lookup, head: head_declared });
        let (gto_stages, allowed_types) = gto_config(root);
        Ok(Registry {
            records,
            states,
            declared,
            allowed_stages: gto_stages.or(config_stages),
            allowed_types,
            scope: crate::repo::Scope::root(),
        })
    }

    /// Loads the registry of an mvc repository.
    pub fn open(repo: &crate::repo::Repo) -> Result<Registry> {
        let stages = match crate::config::get_dotted(&repo.config.merged, "registry.stages") {
            Some(serde_json::Value::Array(a)) => {
                Some(a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            }
            _ => None,
        };
        let mut reg = Registry::load(&repo.git, Some(&repo.git_root), stages)?;
        reg.scope = repo.scope.clone();
        Ok(reg)
    }

    /// Whether `name` is an artifact of this registry (declared, or with registry tags).
    pub fn knows(&self, name: &str) -> bool {
        self.declared.contains_key(name) || self.states.contains_key(name)
    }

    /// THE rule for a positional argument: a registry reference when it has that syntax, names
    /// an artifact this registry knows, and is not an existing path (`exists`).
    pub fn reference(&self, arg: &str, exists: impl FnOnce() -> bool) -> Option<RegistryRef> {
        let r = RegistryRef::parse(arg, false)?;
        (self.knows(r.name()) && !exists()).then_some(r)
    }

    /// The state of `name`, or a clear error when it has no tags.
    pub fn artifact(&self, name: &str) -> Result<&ArtifactState> {
        self.states.get(name).with_context(|| {
            crate::error::hinted(
                format!("`{}` has no registered versions", crate::text::sanitize(name)),
                format!("register one with `mvc register {} PATH`", crate::text::shell_quote(name)),
            )
        })
    }

    /// The registration record of a version.
    pub fn registration(&self, v: &VersionState) -> Option<&TagRecord> {
        v.authoring.map(|i| &self.records[i]).filter(|r| matches!(r.tag.event, Event::Register(_)))
    }

    /// Resolves a reference to a version.
    pub fn resolve(&self, r: &RegistryRef) -> Result<Resolved> {
        let name = r.name();
        let s = self.artifact(name)?;
        let not_registered = |v: &dyn std::fmt::Display| {
            crate::error::hinted(
                format!("`{name}@{v}` is not registered"),
                format!("list versions with `mvc show {}`", crate::text::shell_quote(name)),
            )
        };
        let version: &VersionState = match r {
            RegistryRef::Latest(_) => s.latest().with_context(|| format!("`{name}` has no registered versions"))?,
            RegistryRef::Version(_, v) => s.version(v).ok_or_else(|| not_registered(v))?,
            RegistryRef::Stage(_, stage) => {
                s.holder(stage).with_context(|| format!("no version of `{name}` is in stage `{stage}`"))?
            }
            RegistryRef::Tag(tag) => {
                let rec = self
                    .records
                    .iter()
                    .find(|x| x.name == tag.format() || x.tag == *tag)
                    .with_context(|| format!("there is no tag `{}`", tag.format()))?;
                let wanted = match &rec.tag.event {
                    Event::Register(v) | Event::Deregister(v) => Some(v.to_string()),
                    _ => None,
                };
                s.versions
                    .iter()
                    .rev()
                    .find(|v| v.commit == rec.commit && wanted.as_ref().is_none_or(|w| *w == v.name) && v.registered)
                    .with_context(|| format!("tag `{}` names no registered version", rec.name))?
            }
        };
        Ok(Resolved { name: name.to_string(), version: version.clone(), record: self.registration(version).cloned() })
    }

    /// Where a version's pointer lives, relative to the project reading the registry; `None`
    /// when its tag and `artifacts.yaml` name no path, or a path in another project.
    pub fn path_of(&self, resolved: &Resolved) -> Option<String> {
        self.project_path(&self.registry_path_of(resolved)?)
    }

    /// Where a version's pointer lives as the registry (and GTO) says: git-root-relative.
    pub fn registry_path_of(&self, resolved: &Resolved) -> Option<String> {
        registry::artifact_path(resolved.record.as_ref(), self.declared.get(&resolved.name))
    }

    /// The project-relative path of a registry (git-root-relative) path, if it is inside
    /// the project reading the registry.
    pub fn project_path(&self, registry_path: &str) -> Option<String> {
        self.scope.from_git(registry_path).filter(|p| !p.is_empty()).map(str::to_string)
    }

    /// The commit and project-relative artifact path a registry reference names.
    pub fn locate(&self, r: &RegistryRef) -> Result<(git2::Oid, String)> {
        let resolved = self.resolve(r)?;
        let registry_path = self
            .registry_path_of(&resolved)
            .with_context(|| format!("`{}` has no path in its tag or in {ARTIFACTS_FILE}", resolved.name))?;
        let path = self.project_path(&registry_path).ok_or_else(|| {
            crate::error::hinted(
                format!("`{}` is `{registry_path}`, outside this mvc project", resolved.name),
                "run the command inside the project that tracks it",
            )
        })?;
        Ok((resolved.commit(), path))
    }

    /// Checks a stage name against the allowed stages.
    pub fn check_stage(&self, stage: &str) -> Result<()> {
        registry::check_name("stage", stage)?;
        if let Some(allowed) = &self.allowed_stages
            && !allowed.iter().any(|s| s == stage)
        {
            bail!(crate::error::hinted(
                format!("`{stage}` is not one of the allowed stages: {}", allowed.join(", ")),
                "the list is `.gto`'s `stages` or mvc's `registry.stages`",
            ));
        }
        Ok(())
    }

    /// `NAME@VERSION` labels of registered versions by (project-relative path, oid), for
    /// lineage and deps.
    pub fn by_content(&self) -> BTreeMap<(String, String), Vec<(Version, String)>> {
        let mut out: BTreeMap<(String, String), Vec<(Version, String)>> = BTreeMap::new();
        for (name, s) in &self.states {
            for v in s.versions.iter().filter(|v| v.registered && v.active) {
                let (Some(rec), Some(sv)) = (self.registration(v), &v.semver) else { continue };
                if let (Some(p), Some(o)) =
                    (rec.meta.get("path").and_then(|p| self.project_path(p)), rec.meta.get("oid"))
                {
                    out.entry((p, o.clone())).or_default().push((sv.clone(), format!("{name}@{sv}")));
                }
            }
        }
        for list in out.values_mut() {
            list.sort();
        }
        out
    }
}
