//! The registry's write commands (DESIGN §3.5): register, promote, rollback, unassign and
//! deprecate each create one annotated tag, after every check passed, never in the same
//! second as the artifact's previous tag.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::error::hinted;
use crate::pointer::Pointer;
use crate::registry::{self, ARTIFACTS_FILE, ArtifactState, Bump, Declared, Event, TagName, Version};
use crate::registry_store::Registry;
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

/// A tag that was created (or, for `deprecate --undo`, deleted).
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

fn deprecated_error(name: &str) -> anyhow::Error {
    anyhow::Error::from(hinted(
        format!("`{name}` is deprecated"),
        format!("undo that first with `mvc deprecate {} --undo`", crate::text::shell_quote(name)),
    ))
}

/// Runs `mvc register`: every check first, then the declaration commit (if any), then the tag.
pub fn register(repo: &Repo, opts: &RegisterOptions, rt: &tokio::runtime::Runtime) -> Result<Created> {
    registry::check_name("artifact", &opts.name)?;
    let _lock = repo.lock("register")?;
    let reg = Registry::open(repo)?;
    let state = reg.states.get(&opts.name);
    if state.is_some_and(|s| s.registered && !s.active) {
        bail!(deprecated_error(&opts.name));
    }
    let (path, declare_new) = match (reg.declared.get(&opts.name), &opts.path) {
        (Some(d), Some(p)) if repo.git_path(&normalise(p)) != d.path => bail!(hinted(
            format!("`{}` is declared with path `{}`, not `{}`", opts.name, d.path, repo.git_path(&normalise(p))),
            format!("edit `{ARTIFACTS_FILE}` to move it"),
        )),
        (Some(d), _) => {
            let path = reg.project_path(&d.path).ok_or_else(|| {
                hinted(
                    format!("`{}` is declared with path `{}`, outside this mvc project", opts.name, d.path),
                    "register it from inside the project that tracks it",
                )
            })?;
            (path, None)
        }
        (None, None) => bail!(hinted(
            format!("`{}` is not declared in `{ARTIFACTS_FILE}` yet", opts.name),
            format!("give its path the first time: `mvc register {} PATH`", crate::text::shell_quote(&opts.name)),
        )),
        (None, Some(p)) => {
            let path = normalise(p);
            crate::paths::check_artifact_rel(&path)?;
            if let Some(types) = &reg.allowed_types
                && !types.contains(&opts.kind)
            {
                bail!("type `{}` is not one of `.gto`'s types: {}", opts.kind, types.join(", "));
            }
            // The registry is the git repository's: GTO reads paths from its root.
            let decl = Declared {
                path: repo.git_path(&path),
                kind: opts.kind.clone(),
                description: opts.description.clone().unwrap_or_default(),
            };
            (path, Some(decl))
        }
    };
    let mut commit = match &opts.rev {
        Some(rev) => crate::revs::resolve(&repo.git, rev)?,
        None => head(repo)?,
    };
    let pointer = pointer_at(repo, commit, &path)?;
    if !opts.allow_unpushed {
        require_pushed(repo, &pointer, &path, rt)?;
    }
    let latest = state.and_then(|s| s.latest()).and_then(|v| v.semver.clone());
    let version = match (&opts.version, &latest) {
        (Some(v), Some(l)) if v <= l => bail!(hinted(
            format!("{v} is not greater than the latest version of `{}`, {l}", opts.name),
            match l.bump(Bump::Patch) {
                Some(n) => format!("use `--bump patch` for {n}"),
                None => "choose a greater version".to_string(),
            },
        )),
        (Some(v), _) => v.clone(),
        (None, Some(l)) => {
            let part = opts.bump.unwrap_or(Bump::Patch);
            l.bump(part)
                .with_context(|| hinted(format!("bumping {l} would overflow"), "give `--version` explicitly"))?
        }
        (None, None) => Version::new(0, 1, 0),
    };
    let taken = reg.records.iter().any(|r| {
        r.tag.artifact == opts.name
            && matches!(&r.tag.event, Event::Register(v) | Event::Deregister(v) if v.to_string() == version.to_string())
    });
    if taken {
        bail!("`{}@{version}` is already taken (a version is never reused, even after deregistering)", opts.name);
    }
    // GTO reads at most one version of an artifact per commit (it refuses the repository otherwise).
    if declare_new.is_none()
        && let Some(other) = reg.records.iter().find(|r| {
            r.tag.artifact == opts.name
                && r.commit == commit
                && matches!(r.tag.event, Event::Register(_) | Event::Deregister(_))
        })
    {
        bail!(hinted(
            format!(
                "commit {} already carries a version of `{}` (`{}`); one commit holds at most one version",
                &commit.to_string()[..12],
                opts.name,
                other.name
            ),
            "commit the new data first, or promote the existing version",
        ));
    }
    let mut declared_in = None;
    if let Some(decl) = &declare_new {
        let c = declare(repo, &opts.name, decl)?;
        if opts.rev.is_none() {
            commit = c;
        }
        declared_in = Some(c.to_string());
    }
    let tag = TagName { artifact: opts.name.clone(), event: Event::Register(version.clone()), counter: None };
    let text = opts.message.clone().unwrap_or_else(|| format!("Register {}@{version}", opts.name));
    let meta = [("path", repo.git_path(&path)), ("oid", pointer.oid.to_hex()), ("version", version.to_string())];
    let mut created = create_tag(repo, state, &tag, commit, &registry::tag_message(&text, &meta), opts.push)?;
    created.version = Some(version);
    created.declared_in = declared_in;
    Ok(created)
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
fn declare(repo: &Repo, name: &str, decl: &Declared) -> Result<git2::Oid> {
    let file = repo.git_root.join(ARTIFACTS_FILE);
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
    let root = crate::repo::Scope::root();
    crate::git::stage(&repo.git, &root, &rels)?;
    crate::git::commit_paths(&repo.git, &root, &rels, &format!("Declare {name} in {ARTIFACTS_FILE}"))
}

/// The artifact's pointer in `commit` (`path` project-relative).
pub(crate) fn pointer_at(repo: &Repo, commit: git2::Oid, path: &str) -> Result<Pointer> {
    let pointer_rel = format!("{path}{}", crate::pointer::SUFFIX);
    let tree = repo.git.find_commit(commit)?.tree()?;
    let short = &commit.to_string()[..12];
    let entry = tree.get_path(Path::new(&repo.git_path(&pointer_rel))).map_err(|_| {
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

/// The tagger, dated so that GTO's whole-second ordering sees this event after the artifact's
/// previous one: when the date comes from the clock, wait for the next second; when the user
/// pinned it (`GIT_COMMITTER_DATE`), the next second after the artifact's last tag at the earliest.
fn tagger(repo: &Repo, state: Option<&ArtifactState>) -> Result<git2::Signature<'static>> {
    let last = state.and_then(|s| s.last_tag_time());
    loop {
        let sig = crate::git::signature(&repo.git, "COMMITTER")?;
        let Some(last) = last.filter(|l| sig.when().seconds() <= *l) else { return Ok(sig) };
        if std::env::var("GIT_COMMITTER_DATE").is_ok_and(|d| !d.trim().is_empty()) {
            let when = git2::Time::new(last + 1, sig.when().offset_minutes());
            let (name, email) = (sig.name().unwrap_or("?").to_string(), sig.email().unwrap_or("").to_string());
            return git2::Signature::new(&name, &email, &when).context("building the tagger");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn sign_tags(repo: &Repo) -> bool {
    repo.git.config().ok().and_then(|c| c.get_bool("tag.gpgSign").ok()).unwrap_or(false)
}

/// Creates the annotated tag (and pushes it when asked). A stage event whose counter was
/// taken by someone else's push meanwhile is retried with the next counter.
fn create_tag(
    repo: &Repo,
    state: Option<&ArtifactState>,
    tag: &TagName,
    commit: git2::Oid,
    message: &str,
    push: bool,
) -> Result<Created> {
    let tagger = tagger(repo, state)?;
    let object = repo.git.find_object(commit, None)?;
    let mut tag = tag.clone();
    for _attempt in 0..5 {
        let name = tag.format();
        if repo.git.find_reference(&format!("refs/tags/{name}")).is_ok() {
            bail!("tag `{name}` already exists");
        }
        if sign_tags(repo) {
            // `tag.gpgSign`: only the `git` executable signs, as for commits. It gets the
            // tagger's date (GTO's one-event-per-second order) and the message verbatim (the
            // default cleanup would drop lines starting with `#`).
            let when = tagger.when();
            let offset = when.offset_minutes();
            let date = format!(
                "{} {}{:02}{:02}",
                when.seconds(),
                if offset < 0 { '-' } else { '+' },
                offset.abs() / 60,
                offset.abs() % 60
            );
            git_with(
                repo,
                &["tag", "-s", "--cleanup=verbatim", "-m", message, "--", &name, &commit.to_string()],
                &[("GIT_COMMITTER_DATE", date.as_str())],
            )?;
        } else {
            repo.git
                .tag(&name, &object, &tagger, message, false)
                .map_err(|e| anyhow::anyhow!("creating tag `{name}`: {}", e.message()))?;
        }
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
            PushOutcome::Rejected(_) if tag.counter.is_some() => {
                // Someone pushed the same counter first: drop ours, fetch theirs, count again.
                let _ = repo.git.tag_delete(&name);
                git(repo, &["fetch", "--quiet", "--tags", "origin"])?;
                let reg = Registry::open(repo)?;
                tag.counter =
                    Some(registry::next_counter(reg.states.get(&tag.artifact).and_then(|s| s.max_counter.as_deref())));
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
    git_with(repo, args, &[])
}

fn git_with(repo: &Repo, args: &[&str], vars: &[(&str, &str)]) -> Result<()> {
    let out = Command::new("git")
        .current_dir(&repo.root)
        .args(args)
        .envs(vars.iter().copied())
        .output()
        .context("running `git`")?;
    if !out.status.success() {
        bail!(
            "`git {}` failed: {}",
            args.join(" "),
            crate::text::sanitize(String::from_utf8_lossy(&out.stderr).trim())
        );
    }
    Ok(())
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
    /// Assign a stage the version already has (as GTO's `--force`).
    pub force: bool,
    /// `deprecate --undo`: delete the deprecation tags (GTO's `deprecate --delete`).
    pub undo: bool,
}

fn active_state<'a>(reg: &'a Registry, name: &str) -> Result<&'a ArtifactState> {
    let s = reg.artifact(name)?;
    if !s.active {
        bail!(deprecated_error(name));
    }
    Ok(s)
}

/// Runs `mvc promote NAME VERSION --to STAGE`.
pub fn promote(repo: &Repo, opts: &StageOptions) -> Result<Created> {
    let _lock = repo.lock("promote")?;
    let reg = Registry::open(repo)?;
    reg.check_stage(&opts.stage)?;
    let state = active_state(&reg, &opts.name)?;
    let version = opts.version.clone().context("promote needs a version")?;
    let index = version_index(state, &opts.name, &version)?;
    if !opts.force && state.in_stage(index, &opts.stage) {
        bail!(hinted(
            format!("`{}@{version}` is already in stage `{}`", opts.name, opts.stage),
            "use `--force` to assign it again (it then becomes the stage's most recent assignment)",
        ));
    }
    super::check::gate(repo, &reg, &opts.name, index, "promote")?;
    assign(repo, state, index, &opts.stage, opts, "Promote")
}

fn version_index(state: &ArtifactState, name: &str, version: &Version) -> Result<usize> {
    let wanted = version.to_string();
    state.versions.iter().rposition(|v| v.name == wanted && v.registered && v.active).with_context(|| {
        hinted(
            format!("`{name}@{version}` is not registered"),
            format!("list versions with `mvc show {}`", crate::text::shell_quote(name)),
        )
    })
}

/// Runs `mvc rollback NAME --stage STAGE [--to VERSION]`: without `--to`, unassigns the
/// holder, so the stage goes back to the previous version that still holds it (GTO's reading).
pub fn rollback(repo: &Repo, opts: &StageOptions) -> Result<Created> {
    let _lock = repo.lock("rollback")?;
    let reg = Registry::open(repo)?;
    reg.check_stage(&opts.stage)?;
    let state = active_state(&reg, &opts.name)?;
    let holder = state.holder(&opts.stage).map(|v| v.name.clone());
    if let Some(v) = &opts.version {
        let index = version_index(state, &opts.name, v)?;
        if holder.as_deref() == Some(v.to_string().as_str()) {
            bail!("{v} already holds `{}` for `{}`", opts.stage, opts.name);
        }
        return assign(repo, state, index, &opts.stage, opts, "Roll back");
    }
    let Some(target) = state.rollback_target(&opts.stage) else {
        bail!(hinted(
            format!("`{}` has no earlier version in `{}` to roll back to", opts.name, opts.stage),
            format!("name one with `--to VERSION`; `mvc history {}` lists them", crate::text::shell_quote(&opts.name)),
        ));
    };
    let target = target.semver.clone();
    let mut created = unassign_holder(repo, state, opts, "Roll back")?;
    created.version = target;
    Ok(created)
}

fn assign(
    repo: &Repo,
    state: &ArtifactState,
    index: usize,
    stage: &str,
    opts: &StageOptions,
    verb: &str,
) -> Result<Created> {
    let v = &state.versions[index];
    let name = &state.name;
    let tag = TagName {
        artifact: name.clone(),
        event: Event::Assign(stage.to_string()),
        counter: Some(registry::next_counter(state.max_counter.as_deref())),
    };
    let text = opts.message.clone().unwrap_or_else(|| format!("{verb} {name} {stage} to {}", v.name));
    let meta = vec![("version", v.name.clone())];
    let mut created = create_tag(repo, Some(state), &tag, v.commit, &registry::tag_message(&text, &meta), opts.push)?;
    created.version = v.semver.clone();
    Ok(created)
}

fn unassign_holder(repo: &Repo, state: &ArtifactState, opts: &StageOptions, verb: &str) -> Result<Created> {
    let Some(holder) = state.holder(&opts.stage) else {
        bail!("no version of `{}` is in stage `{}`", opts.name, opts.stage);
    };
    let tag = TagName {
        artifact: opts.name.clone(),
        event: Event::Unassign(opts.stage.clone()),
        counter: Some(registry::next_counter(state.max_counter.as_deref())),
    };
    let text = opts
        .message
        .clone()
        .unwrap_or_else(|| format!("{verb} {}: unassign {} from {}", opts.name, holder.name, opts.stage));
    let meta = [("version", holder.name.clone())];
    let mut created =
        create_tag(repo, Some(state), &tag, holder.commit, &registry::tag_message(&text, &meta), opts.push)?;
    created.version = holder.semver.clone();
    Ok(created)
}

/// Runs `mvc unassign NAME --stage STAGE`.
pub fn unassign(repo: &Repo, opts: &StageOptions) -> Result<Created> {
    let _lock = repo.lock("unassign")?;
    let reg = Registry::open(repo)?;
    let state = active_state(&reg, &opts.name)?;
    unassign_holder(repo, state, opts, "Unassign")
}

/// Runs `mvc deprecate NAME [VERSION] [--undo]`: the whole artifact, one version (deregister),
/// or undoing a deprecation by deleting its tags (GTO's `deprecate --delete`).
pub fn deprecate(repo: &Repo, opts: &StageOptions) -> Result<Created> {
    let _lock = repo.lock("deprecate")?;
    let reg = Registry::open(repo)?;
    let state = reg.artifact(&opts.name)?;
    let counter = Some(registry::next_counter(state.max_counter.as_deref()));
    if opts.undo {
        let tags: Vec<&registry::TagRecord> =
            reg.records.iter().filter(|r| r.tag.artifact == opts.name && r.tag.event == Event::Deprecate).collect();
        if tags.is_empty() {
            bail!("`{}` is not deprecated", opts.name);
        }
        let mut pushed = true;
        for t in &tags {
            repo.git.tag_delete(&t.name).with_context(|| format!("deleting tag `{}`", t.name))?;
            if opts.push {
                git(repo, &["push", "--quiet", "origin", "--delete", &format!("refs/tags/{}", t.name)])?;
            } else {
                pushed = false;
            }
        }
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        return Ok(Created {
            tag: names.join(", "),
            commit: tags[0].commit.to_string(),
            version: None,
            pushed,
            declared_in: None,
        });
    }
    let (tag, commit, text) = match &opts.version {
        Some(v) => {
            let index = version_index(state, &opts.name, v)?;
            let tag = TagName { artifact: opts.name.clone(), event: Event::Deregister(v.clone()), counter };
            (tag, state.versions[index].commit, format!("Deregister {}@{v}", opts.name))
        }
        None => {
            if !state.active {
                bail!("`{}` is already deprecated", opts.name);
            }
            let commit = state.latest().map(|v| v.commit).or_else(|| state.versions.last().map(|v| v.commit));
            let commit = match commit {
                Some(c) => c,
                None => head(repo)?,
            };
            (
                TagName { artifact: opts.name.clone(), event: Event::Deprecate, counter },
                commit,
                format!("Deprecate {}", opts.name),
            )
        }
    };
    let text = opts.message.clone().unwrap_or(text);
    let mut created = create_tag(repo, Some(state), &tag, commit, &registry::tag_message(&text, &[]), opts.push)?;
    created.version = opts.version.clone();
    Ok(created)
}
