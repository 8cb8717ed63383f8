//! Registry commands (DESIGN §3.5): register, promote, rollback, deprecate, unassign create
//! annotated tags with git2 (and push them with the `git` executable on request); models,
//! show, history and check read them back. The audit trail is the tags themselves.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::error::hinted;
use crate::pointer::Pointer;
use crate::registry::{
    self, ARTIFACTS_FILE, ArtifactState, Bump, Declared, Event, RegistryRef, TagName, TagRecord, Version,
};
use crate::remote::{backend, transfer};
use crate::repo::Repo;

/// What `register` should do.
pub struct RegisterOptions {
    /// The artifact's registry name.
    pub name: String,
    /// Its path (required the first time, when it is declared).
    pub path: Option<String>,
    /// `model` or `dataset`, for the declaration.
    pub kind: String,
    /// Description, for the declaration.
    pub description: Option<String>,
    /// An explicit version.
    pub version: Option<Version>,
    /// Or a bump of the latest (default: patch; `v0.1.0` first).
    pub bump: Option<Bump>,
    /// The tag message.
    pub message: Option<String>,
    /// The commit to register (default HEAD).
    pub rev: Option<String>,
    /// Register even when the content is not confirmed on the default remote.
    pub allow_unpushed: bool,
    /// Push the new tag to the git remote `origin`.
    pub push: bool,
}

/// A tag that was created.
#[derive(Debug, Clone)]
pub struct Created {
    /// The tag's name.
    pub tag: String,
    /// The commit it points at.
    pub commit: String,
    /// The version it concerns.
    pub version: Option<Version>,
    /// Whether it was pushed.
    pub pushed: bool,
    /// The commit that declared the artifact in `artifacts.yaml`, if this call made one.
    pub declared_in: Option<String>,
}

/// Runs `mvc register`.
pub fn register(repo: &Repo, opts: &RegisterOptions, rt: &tokio::runtime::Runtime) -> Result<Created> {
    registry::check_name("artifact", &opts.name)?;
    let _lock = repo.lock("register")?;
    let mut declared = registry::declarations(&repo.root)?;
    let mut declared_in = None;
    let path = match (declared.get(&opts.name), &opts.path) {
        (Some(d), Some(p)) if normalise(p) != d.path => bail!(hinted(
            format!("`{}` is declared with path `{}`, not `{}`", opts.name, d.path, normalise(p)),
            format!("edit `{ARTIFACTS_FILE}` to move it"),
        )),
        (Some(d), _) => d.path.clone(),
        (None, None) => bail!(hinted(
            format!("`{}` is not declared in `{ARTIFACTS_FILE}` yet", opts.name),
            format!("give its path the first time: `mvc register {} PATH`", crate::text::shell_quote(&opts.name)),
        )),
        (None, Some(p)) => {
            let path = normalise(p);
            let decl = Declared {
                path: path.clone(),
                kind: opts.kind.clone(),
                description: opts.description.clone().unwrap_or_default(),
            };
            declared_in = Some(declare(repo, &opts.name, &decl)?);
            declared.insert(opts.name.clone(), decl);
            path
        }
    };
    let commit = match &opts.rev {
        Some(rev) => crate::revs::resolve(&repo.git, rev)?,
        None => head(repo)?,
    };
    let pointer = pointer_at(repo, commit, &path)?;
    if !opts.allow_unpushed {
        require_pushed(repo, &pointer, &path, rt)?;
    }
    let records = registry::read_records(&repo.git)?;
    let states = registry::state(&records);
    let state = states.get(&opts.name);
    let latest = state.and_then(|s| s.latest()).map(|(v, _)| *v);
    let version = match (opts.version, latest) {
        (Some(v), Some(l)) if v <= l => bail!(hinted(
            format!("{v} is not greater than the latest version of `{}`, {l}", opts.name),
            format!("use `--bump patch` for {}", l.bump(Bump::Patch)),
        )),
        (Some(v), _) => v,
        (None, Some(l)) => l.bump(opts.bump.unwrap_or(Bump::Patch)),
        (None, None) => Version { major: 0, minor: 1, patch: 0 },
    };
    if records.iter().any(|r| {
        r.tag.artifact == opts.name && matches!(r.tag.event, Event::Register(v) | Event::Deregister(v) if v == version)
    }) {
        bail!("`{}@{version}` is already taken (a version is never reused, even after deregistering)", opts.name);
    }
    let tag = TagName { artifact: opts.name.clone(), event: Event::Register(version), counter: 0 };
    let text = opts.message.clone().unwrap_or_else(|| format!("Register {}@{version}", opts.name));
    let meta = [("path", path.clone()), ("oid", pointer.oid.to_hex()), ("version", version.to_string())];
    let mut created = create_tag(repo, &tag, commit, &registry::tag_message(&text, &meta), opts.push)?;
    created.version = Some(version);
    created.declared_in = declared_in;
    Ok(created)
}

/// `arg` as a registry reference, when it has that syntax, is not an existing path, and
/// names an artifact that is declared or has registry tags (DESIGN §3.5).
pub fn as_registry_ref(repo: &Repo, cwd: &Path, arg: &str) -> Option<RegistryRef> {
    let r = RegistryRef::parse(arg, false)?;
    if cwd.join(arg).exists() {
        return None;
    }
    let declared = registry::declarations(&repo.root).ok()?.contains_key(r.name());
    let tagged = || registry::read_records(&repo.git).is_ok_and(|rs| rs.iter().any(|t| t.tag.artifact == r.name()));
    (declared || tagged()).then_some(r)
}

/// The commit and artifact path a registry reference names.
pub fn locate(repo: &Repo, r: &RegistryRef) -> Result<(git2::Oid, String)> {
    let resolved = registry::resolve_ref(&repo.git, r)?;
    let declared = registry::declarations(&repo.root)?;
    let path = registry::artifact_path(&resolved, &declared)
        .with_context(|| format!("`{}` has no path in its tag or in {ARTIFACTS_FILE}", resolved.name))?;
    Ok((resolved.record.commit, path))
}

/// `data/x/` -> `data/x`; `model.pkl.mvc` -> `model.pkl`.
fn normalise(path: &str) -> String {
    let p = path.trim_start_matches("./").trim_end_matches('/');
    p.strip_suffix(crate::pointer::SUFFIX).unwrap_or(p).to_string()
}

fn head(repo: &Repo) -> Result<git2::Oid> {
    Ok(repo.git.head().and_then(|h| h.peel_to_commit()).context("the repository has no commits yet")?.id())
}

/// Appends the declaration to `artifacts.yaml` and commits that file alone.
fn declare(repo: &Repo, name: &str, decl: &Declared) -> Result<String> {
    let file = repo.root.join(ARTIFACTS_FILE);
    let mut text = std::fs::read_to_string(&file).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "{name}:\n  type: {}\n  path: {}\n",
        crate::yaml::scalar(&decl.kind),
        crate::yaml::scalar(&decl.path)
    ));
    if !decl.description.is_empty() {
        text.push_str(&format!("  description: {}\n", crate::yaml::scalar(&decl.description)));
    }
    registry::parse_declarations(&text).context("the updated artifacts.yaml does not parse")?;
    crate::fsutil::write_atomic(&file, text.as_bytes(), 0o644)?;
    let rels = [ARTIFACTS_FILE.to_string()];
    crate::git::stage(&repo.git, &rels)?;
    let commit = crate::git::commit_paths(&repo.git, &rels, &format!("Declare {name} in {ARTIFACTS_FILE}"))?;
    Ok(commit.to_string())
}

/// The artifact's pointer in `commit`.
fn pointer_at(repo: &Repo, commit: git2::Oid, path: &str) -> Result<Pointer> {
    let pointer_rel = format!("{path}{}", crate::pointer::SUFFIX);
    let tree = repo.git.find_commit(commit)?.tree()?;
    let short = &commit.to_string()[..12];
    let entry = tree.get_path(Path::new(&pointer_rel)).map_err(|_| {
        hinted(
            format!("commit {short} has no `{pointer_rel}`"),
            format!("track and commit it first: `mvc add {} -m \"...\"`", crate::text::shell_quote(path)),
        )
    })?;
    let blob = entry.to_object(&repo.git)?.peel_to_blob()?;
    let text = std::str::from_utf8(blob.content()).with_context(|| format!("`{pointer_rel}` is not UTF-8"))?;
    Pointer::parse(Path::new(&pointer_rel), text).with_context(|| format!("at commit {short}"))
}

fn require_pushed(repo: &Repo, pointer: &Pointer, path: &str, rt: &tokio::runtime::Runtime) -> Result<()> {
    let unpushed = || {
        hinted(
            format!(
                "`{path}` ({}) is not on the default remote, so others could not pull this version",
                pointer.oid.short()
            ),
            "push it with `mvc push`, or register anyway with `--allow-unpushed`",
        )
    };
    let Ok(rc) = backend::choose(repo, None) else { bail!(unpushed()) };
    let remote = backend::open(repo, &rc, None)?;
    let (present, _) = rt.block_on(transfer::present_on_remote(&remote, repo.stat_index(), &[pointer.oid]))?;
    if !present.contains(&pointer.oid) {
        bail!(unpushed());
    }
    Ok(())
}

/// Creates the annotated tag (and pushes it when asked). A stage event whose counter was
/// taken by someone else's push meanwhile is retried with the next counter.
fn create_tag(repo: &Repo, tag: &TagName, commit: git2::Oid, message: &str, push: bool) -> Result<Created> {
    let tagger = crate::git::signature(&repo.git, "COMMITTER")?;
    let object = repo.git.find_object(commit, None)?;
    let mut tag = tag.clone();
    for _attempt in 0..5 {
        let name = tag.format();
        repo.git.tag(&name, &object, &tagger, message, false).map_err(|e| {
            if e.code() == git2::ErrorCode::Exists {
                anyhow::anyhow!("tag `{name}` already exists")
            } else {
                anyhow::anyhow!("creating tag `{name}`: {}", e.message())
            }
        })?;
        let created = |pushed| Created {
            tag: name.clone(),
            commit: commit.to_string(),
            version: None,
            pushed,
            declared_in: None,
        };
        if !push {
            return Ok(created(false));
        }
        match push_tag(repo, &name)? {
            PushOutcome::Pushed => return Ok(created(true)),
            PushOutcome::Rejected(_) if tag.counter > 0 => {
                // Someone pushed the same counter first: drop ours, fetch theirs, count again.
                let _ = repo.git.tag_delete(&name);
                git(repo, &["fetch", "--quiet", "--tags", "origin"])?;
                let records = registry::read_records(&repo.git)?;
                let max = records.iter().filter(|r| r.tag.artifact == tag.artifact).map(|r| r.tag.counter).max();
                tag.counter = max.unwrap_or(0) + 1;
            }
            PushOutcome::Rejected(why) => bail!("pushing tag `{name}` was refused: {why}"),
        }
    }
    bail!("could not push a registry tag after 5 attempts: others keep pushing to the same artifact")
}

enum PushOutcome {
    Pushed,
    Rejected(String),
}

fn push_tag(repo: &Repo, name: &str) -> Result<PushOutcome> {
    let out = Command::new("git")
        .current_dir(&repo.root)
        .args(["push", "--quiet", "origin", &format!("refs/tags/{name}")])
        .output()
        .context("running `git push`")?;
    if out.status.success() {
        return Ok(PushOutcome::Pushed);
    }
    Ok(PushOutcome::Rejected(crate::text::sanitize(String::from_utf8_lossy(&out.stderr).trim())))
}

fn git(repo: &Repo, args: &[&str]) -> Result<()> {
    let out = Command::new("git").current_dir(&repo.root).args(args).output().context("running `git`")?;
    if !out.status.success() {
        bail!(
            "`git {}` failed: {}",
            args.join(" "),
            crate::text::sanitize(String::from_utf8_lossy(&out.stderr).trim())
        );
    }
    Ok(())
}

/// The registry state of one artifact, or a clear error when it has none.
fn artifact_state(repo: &Repo, name: &str) -> Result<(ArtifactState, Vec<TagRecord>)> {
    let records = registry::read_records(&repo.git)?;
    let mut states = registry::state(&records);
    match states.remove(name) {
        Some(s) => Ok((s, records)),
        None => bail!(hinted(
            format!("`{}` has no registered versions", crate::text::sanitize(name)),
            format!("register one with `mvc register {} PATH`", crate::text::shell_quote(name)),
        )),
    }
}

/// A stage event to create.
pub struct StageOptions {
    /// The artifact.
    pub name: String,
    /// The stage.
    pub stage: String,
    /// The version (promote; rollback's `--to`).
    pub version: Option<Version>,
    /// The tag message.
    pub message: Option<String>,
    /// Push the tag.
    pub push: bool,
}

/// Runs `mvc promote NAME VERSION --to STAGE`.
pub fn promote(repo: &Repo, opts: &StageOptions) -> Result<Created> {
    check_stage(repo, &opts.stage)?;
    let _lock = repo.lock("promote")?;
    let (state, _) = artifact_state(repo, &opts.name)?;
    let version = opts.version.context("promote needs a version")?;
    assign(repo, &opts.name, &state, version, &opts.stage, opts, false)
}

/// Runs `mvc rollback NAME --stage STAGE [--to VERSION]`.
pub fn rollback(repo: &Repo, opts: &StageOptions) -> Result<Created> {
    check_stage(repo, &opts.stage)?;
    let _lock = repo.lock("rollback")?;
    let (state, _) = artifact_state(repo, &opts.name)?;
    let version = match opts.version.or_else(|| state.rollback_target(&opts.stage)) {
        Some(v) => v,
        None => bail!(hinted(
            format!("`{}` has no earlier version in `{}` to roll back to", opts.name, opts.stage),
            format!("name one with `--to VERSION`; `mvc history {}` lists them", crate::text::shell_quote(&opts.name)),
        )),
    };
    if state.stages.get(&opts.stage) == Some(&version) {
        bail!("{version} already holds `{}` for `{}`", opts.stage, opts.name);
    }
    assign(repo, &opts.name, &state, version, &opts.stage, opts, true)
}

fn assign(
    repo: &Repo,
    name: &str,
    state: &ArtifactState,
    version: Version,
    stage: &str,
    opts: &StageOptions,
    is_rollback: bool,
) -> Result<Created> {
    let Some(record) = state.version(version) else {
        bail!(hinted(
            format!("`{name}@{version}` is not registered"),
            format!("list versions with `mvc show {}`", crate::text::shell_quote(name))
        ));
    };
    let tag =
        TagName { artifact: name.to_string(), event: Event::Assign(stage.to_string()), counter: state.max_counter + 1 };
    let verb = if is_rollback { "Roll back" } else { "Promote" };
    let text = opts.message.clone().unwrap_or_else(|| format!("{verb} {name} {stage} to {version}"));
    let mut meta = vec![("version", version.to_string())];
    meta.extend(record.meta.get("path").map(|p| ("path", p.clone())));
    meta.extend(record.meta.get("oid").map(|o| ("oid", o.clone())));
    if is_rollback {
        meta.push(("rollback", "true".to_string()));
    }
    let mut created = create_tag(repo, &tag, record.commit, &registry::tag_message(&text, &meta), opts.push)?;
    created.version = Some(version);
    Ok(created)
}

/// Runs `mvc unassign NAME --stage STAGE`.
pub fn unassign(repo: &Repo, opts: &StageOptions) -> Result<Created> {
    let _lock = repo.lock("unassign")?;
    let (state, _) = artifact_state(repo, &opts.name)?;
    let Some(version) = state.stages.get(&opts.stage).copied() else {
        bail!("no version of `{}` is in stage `{}`", opts.name, opts.stage);
    };
    let record = state.version(version).context("the stage holder is not registered")?;
    let tag = TagName {
        artifact: opts.name.clone(),
        event: Event::Unassign(opts.stage.clone()),
        counter: state.max_counter + 1,
    };
    let text = opts.message.clone().unwrap_or_else(|| format!("Unassign {} from {}", opts.name, opts.stage));
    let meta = [("version", version.to_string())];
    let mut created = create_tag(repo, &tag, record.commit, &registry::tag_message(&text, &meta), opts.push)?;
    created.version = Some(version);
    Ok(created)
}

/// Runs `mvc deprecate NAME [VERSION]`: the whole artifact, or one version (deregister).
pub fn deprecate(repo: &Repo, opts: &StageOptions) -> Result<Created> {
    let _lock = repo.lock("deprecate")?;
    let (state, _) = artifact_state(repo, &opts.name)?;
    let counter = state.max_counter + 1;
    let (tag, commit, text) = match opts.version {
        Some(v) => {
            let record = state.version(v).with_context(|| format!("`{}@{v}` is not registered", opts.name))?;
            let tag = TagName { artifact: opts.name.clone(), event: Event::Deregister(v), counter };
            (tag, record.commit, format!("Deregister {}@{v}", opts.name))
        }
        None => {
            if state.deprecated {
                bail!("`{}` is already deprecated", opts.name);
            }
            let commit = state.latest().map(|(_, r)| r.commit).context("no version to deprecate")?;
            (
                TagName { artifact: opts.name.clone(), event: Event::Deprecate, counter },
                commit,
                format!("Deprecate {}", opts.name),
            )
        }
    };
    let text = opts.message.clone().unwrap_or(text);
    let mut created = create_tag(repo, &tag, commit, &registry::tag_message(&text, &[]), opts.push)?;
    created.version = opts.version;
    Ok(created)
}

fn check_stage(repo: &Repo, stage: &str) -> Result<()> {
    registry::check_name("stage", stage)?;
    if let Some(serde_json::Value::Array(allowed)) = crate::config::get_dotted(&repo.config.merged, "registry.stages") {
        let names: Vec<&str> = allowed.iter().filter_map(|v| v.as_str()).collect();
        if !names.contains(&stage) {
            bail!(hinted(
                format!("`{stage}` is not one of the stages in `registry.stages`: {}", names.join(", ")),
                "add it with `mvc config set registry.stages \"[...]\"`",
            ));
        }
    }
    Ok(())
}

/// One artifact in `mvc models`.
#[derive(Debug, Clone)]
pub struct ModelRow {
    /// Registry name.
    pub name: String,
    /// Declared path, if declared.
    pub path: Option<String>,
    /// Declared type.
    pub kind: Option<String>,
    /// The latest version.
    pub latest: Option<Version>,
    /// Each stage's holder.
    pub stages: BTreeMap<String, Version>,
    /// Deprecated.
    pub deprecated: bool,
}

/// Runs `mvc models`.
pub fn models(repo: &Repo) -> Result<Vec<ModelRow>> {
    let declared = registry::declarations(&repo.root)?;
    let states = registry::state(&registry::read_records(&repo.git)?);
    let names: std::collections::BTreeSet<&String> = declared.keys().chain(states.keys()).collect();
    Ok(names
        .into_iter()
        .map(|name| {
            let s = states.get(name);
            ModelRow {
                name: name.clone(),
                path: declared.get(name).map(|d| d.path.clone()),
                kind: declared.get(name).map(|d| d.kind.clone()),
                latest: s.and_then(|s| s.latest()).map(|(v, _)| *v),
                stages: s.map(|s| s.stages.clone()).unwrap_or_default(),
                deprecated: s.is_some_and(|s| s.deprecated),
            }
        })
        .collect())
}

/// One version in detail (`mvc show`).
#[derive(Debug, Clone)]
pub struct VersionDetail {
    /// Registry name.
    pub name: String,
    /// The version.
    pub version: Version,
    /// The registration tag.
    pub registered: TagRecord,
    /// Artifact path.
    pub path: String,
    /// The pointer at the version's commit.
    pub pointer: Pointer,
    /// Stages this version holds now.
    pub stages: Vec<String>,
    /// Assign events for this version (who promoted it, when).
    pub promotions: Vec<TagRecord>,
    /// Deps with the registered version that matches their oid, if any (`name@version`).
    pub deps: Vec<(String, String, Option<String>)>,
}

/// Runs `mvc show REF`.
pub fn show(repo: &Repo, r: &RegistryRef) -> Result<VersionDetail> {
    let resolved = registry::resolve_ref(&repo.git, r)?;
    let declared = registry::declarations(&repo.root)?;
    let path = registry::artifact_path(&resolved, &declared).context("the version's tag names no path")?;
    let pointer = pointer_at(repo, resolved.record.commit, &path)?;
    let records = registry::read_records(&repo.git)?;
    let states = registry::state(&records);
    let state = &states[&resolved.name];
    let version = resolved.version;
    let stages = state.stages.iter().filter(|(_, v)| **v == version).map(|(s, _)| s.clone()).collect();
    let promotions = state
        .events
        .iter()
        .filter(|e| {
            matches!(e.tag.event, Event::Assign(_)) && e.meta.get("version").is_some_and(|v| *v == version.to_string())
        })
        .cloned()
        .collect();
    let deps = crate::meta::deps(&pointer)
        .into_iter()
        .map(|(dep_path, oid)| {
            let registered = states.iter().find_map(|(name, s)| {
                s.versions.iter().find_map(|(v, t)| {
                    (t.meta.get("oid") == Some(&oid) && t.meta.get("path") == Some(&dep_path))
                        .then(|| format!("{name}@{v}"))
                })
            });
            (dep_path, oid, registered)
        })
        .collect();
    Ok(VersionDetail {
        name: resolved.name,
        version,
        registered: resolved.record,
        path,
        pointer,
        stages,
        promotions,
        deps,
    })
}

/// Runs `mvc history NAME`: every event, newest first.
pub fn history(repo: &Repo, name: &str) -> Result<Vec<TagRecord>> {
    let (state, _) = artifact_state(repo, name)?;
    let mut events = state.events;
    events.reverse();
    Ok(events)
}

/// One problem `mvc check` found.
#[derive(Debug, Clone)]
pub struct CheckProblem {
    /// `NAME@vX.Y.Z`.
    pub version: String,
    /// What is wrong.
    pub problem: String,
}

/// Runs `mvc check`: required metadata, deps, and objects on the remote.
pub fn check(
    repo: &Repo,
    names: &[String],
    stage: Option<&str>,
    rt: &tokio::runtime::Runtime,
) -> Result<(usize, Vec<CheckProblem>)> {
    let records = registry::read_records(&repo.git)?;
    let states = registry::state(&records);
    let required: Vec<String> = match crate::config::get_dotted(&repo.config.merged, "registry.required_meta") {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let declared = registry::declarations(&repo.root)?;
    let wanted: Vec<&String> = if names.is_empty() { states.keys().collect() } else { names.iter().collect() };
    let remote = backend::choose(repo, None).ok().map(|rc| backend::open(repo, &rc, None)).transpose()?;
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut oids = Vec::new();
    for name in wanted {
        let Some(state) = states.get(name) else {
            problems.push(CheckProblem { version: name.clone(), problem: "has no registered versions".into() });
            continue;
        };
        let versions: Vec<Version> = match stage {
            Some(s) => state.stages.get(s).copied().into_iter().collect(),
            None => state.versions.iter().map(|(v, _)| *v).collect(),
        };
        if versions.is_empty() && stage.is_some() {
            problems.push(CheckProblem {
                version: name.clone(),
                problem: format!("nothing is in stage `{}`", stage.unwrap_or("")),
            });
        }
        for v in versions {
            checked += 1;
            let label = format!("{name}@{v}");
            let resolved = registry::resolve_ref(&repo.git, &RegistryRef::Version(name.clone(), v))?;
            let Some(path) = registry::artifact_path(&resolved, &declared) else {
                problems.push(CheckProblem { version: label, problem: "its tag names no path".into() });
                continue;
            };
            let pointer = match pointer_at(repo, resolved.record.commit, &path) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(CheckProblem { version: label, problem: format!("{e:#}") });
                    continue;
                }
            };
            for key in &required {
                if crate::config::get_dotted(&pointer.meta, key).is_none() {
                    problems
                        .push(CheckProblem { version: label.clone(), problem: format!("metadata `{key}` is missing") });
                }
            }
            let tree = repo.git.find_commit(resolved.record.commit)?.tree()?;
            for (dep, _) in crate::meta::deps(&pointer) {
                let tracked = tree.get_path(Path::new(&format!("{dep}{}", crate::pointer::SUFFIX))).is_ok();
                let registered = declared.values().any(|d| d.path == dep);
                if !tracked && !registered {
                    problems.push(CheckProblem {
                        version: label.clone(),
                        problem: format!("dep `{dep}` is neither tracked nor registered"),
                    });
                }
            }
            oids.push((label, pointer.oid));
        }
    }
    match &remote {
        Some(remote) => {
            let list: Vec<crate::hash::Oid> = oids.iter().map(|(_, o)| *o).collect();
            let (present, _) = rt.block_on(transfer::present_on_remote(remote, repo.stat_index(), &list))?;
            for (label, oid) in oids.iter().filter(|(_, o)| !present.contains(o)) {
                problems.push(CheckProblem {
                    version: label.clone(),
                    problem: format!("its data ({}) is not on remote `{}`", oid.short(), remote.name),
                });
            }
        }
        None if !oids.is_empty() => {
            problems.push(CheckProblem {
                version: "-".into(),
                problem: "no default remote is configured to check the data on".into(),
            });
        }
        None => {}
    }
    Ok((checked, problems))
}
