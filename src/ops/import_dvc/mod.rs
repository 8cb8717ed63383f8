//! `mvc import-dvc`: turns a DVC 2 or 3 repository's tracked outputs (`.dvc` files, `outs` of
//! `dvc.lock`/`dvc.yaml`) into mvc artifacts in one step. Data comes from the workspace (its
//! md5 checked against DVC's record) or, when the workspace lacks it, from DVC's cache (copied
//! out only if its md5 matches). Everything is planned and checked before anything changes;
//! nothing is deleted from DVC's cache or remotes.

pub mod data;
pub mod format;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::error::hinted;
use crate::ops::Artifact;
use crate::pointer::Kind;
use crate::progress::Reporter;
use crate::repo::Repo;
use format::{DvcConfig, RawOut};

/// What to import.
pub struct ImportDvcOptions {
    /// Only outputs at or under these paths (or of these `.dvc` files); all when empty.
    pub paths: Vec<PathBuf>,
    /// Directory the paths are relative to.
    pub cwd: PathBuf,
    /// Plan only: change nothing.
    pub dry_run: bool,
}

/// Where an output's data is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The workspace (its md5 checked when DVC recorded one).
    Workspace,
    /// DVC's cache (`.dvc/cache`), copied into the workspace after its md5 matched.
    DvcCache,
}

/// Where DVC recorded an output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A `.dvc` file (repo-relative).
    DvcFile(String),
    /// A pipeline stage: the `dvc.lock`/`dvc.yaml` (repo-relative) and the stage name.
    Stage { file: String, name: String },
}

impl Origin {
    /// `data.csv.dvc` or `dvc.lock:train`.
    pub fn label(&self) -> String {
        match self {
            Origin::DvcFile(f) => f.clone(),
            Origin::Stage { file, name } => format!("{file}:{name}"),
        }
    }
}

/// One output imported (or, with `--dry-run`, to be imported).
#[derive(Debug, Clone)]
pub struct Imported {
    /// Repo-relative artifact path.
    pub path: String,
    /// Where DVC recorded it.
    pub origin: Origin,
    /// Where its data came from.
    pub source: DataSource,
    /// File or directory (`None` in a plan, when DVC did not say).
    pub kind: Option<Kind>,
    /// Its mvc oid (`None` in a plan).
    pub oid: Option<crate::hash::Oid>,
    /// Bytes (DVC's record in a plan).
    pub size: u64,
    /// Files.
    pub files: u64,
    /// Artifacts it was made from (its stage's deps that are artifacts).
    pub deps: Vec<String>,
}

/// A DVC remote carried over (or not).
#[derive(Debug, Clone)]
pub struct RemoteImport {
    /// Its name.
    pub name: String,
    /// URL as mvc records it (shown without user info).
    pub url: String,
    /// Whether it was (or would be) added.
    pub added: bool,
    /// Why not, or what else to know.
    pub note: Option<String>,
}

/// What `import-dvc` did.
#[derive(Debug, Default)]
pub struct ImportDvcReport {
    /// Each output, in path order.
    pub artifacts: Vec<Imported>,
    /// `.dvc` files removed (replaced by pointers).
    pub removed: Vec<String>,
    /// DVC remotes.
    pub remotes: Vec<RemoteImport>,
    /// Files staged for the one commit that completes the conversion.
    pub staged: Vec<String>,
    /// Whether this was a plan only.
    pub dry_run: bool,
    /// Whether `mvc init` was run first.
    pub initialised: bool,
}

impl ImportDvcReport {
    /// Files across all artifacts.
    pub fn files(&self) -> u64 {
        self.artifacts.iter().map(|a| a.files).sum()
    }

    /// Bytes across all artifacts.
    pub fn bytes(&self) -> u64 {
        self.artifacts.iter().map(|a| a.size).sum()
    }
}

/// An output found in DVC's files, with its checked repo-relative path.
#[derive(Debug, Clone)]
struct Planned {
    rel: String,
    origin: Origin,
    out: RawOut,
    file_meta: Option<Map<String, Value>>,
    stage: Option<StageInfo>,
}

#[derive(Debug, Clone)]
struct StageInfo {
    cmd: Option<String>,
    deps: Vec<String>,
}

/// Runs `mvc import-dvc`.
pub fn import_dvc(opts: &ImportDvcOptions, reporter: &dyn Reporter) -> Result<ImportDvcReport> {
    let git = crate::repo::discover_git(&opts.cwd)?;
    let root = git.workdir().context("the repository has no work tree")?.canonicalize()?;
    if !root.join(".dvc").is_dir() && !git_index_has(&git, is_dvc_file) {
        bail!(hinted(
            format!("`{}` is not a DVC repository (no `.dvc/` and no `.dvc` files)", root.display()),
            "run `mvc import-dvc` at the root of a DVC project"
        ));
    }
    let mut report = ImportDvcReport { dry_run: opts.dry_run, ..Default::default() };
    let config = read_config(&root)?;
    let planned = plan(&git, &root, &opts.cwd, &opts.paths)?;
    let cache_rel = cache_dir(&config);
    if opts.dry_run {
        for p in &planned {
            let source = if present(&root, &p.rel) { DataSource::Workspace } else { DataSource::DvcCache };
            let kind = p.out.md5().map(|(_, dir)| if dir { Kind::Dir } else { Kind::File });
            report.artifacts.push(Imported {
                path: p.rel.clone(),
                origin: p.origin.clone(),
                source,
                kind,
                oid: None,
                size: p.out.size.unwrap_or(0),
                files: if kind == Some(Kind::Dir) { 0 } else { 1 },
                deps: p.stage.as_ref().map(|s| s.deps.clone()).unwrap_or_default(),
            });
        }
        report.remotes = plan_remotes(&root, &config);
        return Ok(report);
    }

    // Every output's data is in the workspace and matches DVC's md5 before anything of
    // mvc's is written: a corrupt cache entry stops the import with nothing converted.
    let mut sources = Vec::new();
    for p in &planned {
        sources.push(prepare_data(&root, &cache_rel, p)?);
    }

    if !root.join(crate::repo::MVC_DIR).join("config").is_file() {
        crate::ops::init::init(&crate::ops::init::InitOptions {
            cwd: root.clone(),
            force: false,
            subdir: false,
            message: None,
        })?;
        report.initialised = true;
        report.staged.extend([".mvc/config".to_string(), ".mvc/.gitignore".to_string()]);
    }
    let repo = Repo::open(&root)?;
    {
        let _lock = repo.lock("import-dvc")?;
        let index = repo.stat_index();
        let mut oids: BTreeMap<String, crate::hash::Oid> = BTreeMap::new();
        let mut stored = Vec::new();
        for (p, source) in planned.iter().zip(&sources) {
            crate::git::check_gitignore(&repo.root, &p.rel)?;
            let s = crate::ops::add::store_artifact(
                &repo,
                index,
                &p.rel,
                &crate::meta::MetaInput::default(),
                &repo.root,
                false,
                reporter,
            )
            .with_context(|| format!("importing `{}`", p.rel))?;
            oids.insert(p.rel.clone(), s.pointer.oid);
            stored.push((p, *source, s));
        }
        for (p, source, s) in stored {
            let mut pointer = s.pointer.clone();
            let deps = carry_meta(&repo, p, &oids, &mut pointer.meta);
            let artifact = Artifact::from_rel(&p.rel);
            crate::ops::add::write_pointer(&repo, &artifact, &pointer)?;
            report.staged.push(artifact.pointer_rel.clone());
            report.staged.extend(replace_ignore_lines(&repo, &p.rel)?);
            report.artifacts.push(Imported {
                path: p.rel.clone(),
                origin: p.origin.clone(),
                source,
                kind: Some(pointer.kind),
                oid: Some(pointer.oid),
                size: pointer.size,
                files: pointer.nfiles.unwrap_or(1),
                deps,
            });
        }
        // A `.dvc` file goes once every output it recorded is an artifact.
        let mut dvc_files: Vec<&String> = planned
            .iter()
            .filter_map(|p| match &p.origin {
                Origin::DvcFile(f) => Some(f),
                Origin::Stage { .. } => None,
            })
            .collect();
        dvc_files.dedup();
        for f in dvc_files {
            let path = repo.abs(f);
            if path.symlink_metadata().is_ok() {
                std::fs::remove_file(&path).with_context(|| format!("removing `{f}`"))?;
            }
            report.removed.push(f.clone());
            report.staged.push(f.clone());
        }
    }
    // Remotes last: `remote add` takes the lock itself.
    report.remotes = plan_remotes(&root, &config);
    for r in report.remotes.iter_mut().filter(|r| r.added) {
        let dvc = config.remotes.iter().find(|d| d.name == r.name).expect("planned from the config");
        let default = config.default_remote.as_deref() == Some(r.name.as_str()) && repo.config.remote.is_none();
        let added = crate::ops::remote::add(&repo, &r.name, &r.url, default, None, crate::config::Layer::Repo)
            .and_then(|_| {
                // Reopened: the remote exists only in the config just written.
                let repo = Repo::open(&root)?;
                for (key, value) in [("endpoint", &dvc.endpoint), ("region", &dvc.region)] {
                    if let Some(v) = value {
                        crate::ops::remote::modify(&repo, &r.name, key, Some(v), crate::config::Layer::Repo)?;
                    }
                }
                Ok(())
            });
        if let Err(e) = added {
            r.added = false;
            r.note = Some(format!("not added: {e:#}"));
        } else if !report.staged.iter().any(|s| s == ".mvc/config") {
            report.staged.push(".mvc/config".into());
        }
    }
    crate::git::stage(&repo.git, &repo.scope, &report.staged)?;
    report.staged.sort();
    report.staged.dedup();
    report.artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

fn is_dvc_file(p: &str) -> bool {
    p.ends_with(".dvc") && !p.starts_with(".dvc/") && crate::git::split_parent(p).1 != ".dvc"
}

fn git_index_has(git: &git2::Repository, f: impl Fn(&str) -> bool) -> bool {
    git.index().is_ok_and(|i| i.iter().any(|e| std::str::from_utf8(&e.path).is_ok_and(&f)))
}

fn present(root: &Path, rel: &str) -> bool {
    root.join(rel).symlink_metadata().is_ok_and(|m| !m.file_type().is_symlink())
}

/// `.dvc/config` (committed); `cache.dir` is honoured only from `.dvc/config.local`, never
/// from a committed file (it could point anywhere on the machine).
fn read_config(root: &Path) -> Result<DvcConfig> {
    let read = |rel: &str| -> Result<String> {
        let bytes = crate::paths::read_workspace_file(root, rel, 1 << 20)?.unwrap_or_default();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    let mut config = format::parse_config(&read(".dvc/config")?);
    let local = format::parse_config(&read(".dvc/config.local")?);
    if let Some(dir) = &config.cache_dir {
        crate::notices::warn(format!(
            "`.dvc/config` sets `cache.dir: {}`; only `.dvc/cache` is read (move the data there, or set it in `.dvc/config.local` if it is inside the repository)",
            crate::text::sanitize(dir)
        ));
    }
    config.cache_dir = local.cache_dir;
    Ok(config)
}

/// DVC's cache directory, repo-relative: `.dvc/cache`, or a `cache.dir` from
/// `.dvc/config.local` that stays inside the repository.
fn cache_dir(config: &DvcConfig) -> String {
    match &config.cache_dir {
        Some(dir) => match format::resolve(".dvc", None, dir, ".dvc/config.local") {
            Ok(rel) => rel,
            Err(e) => {
                crate::notices::warn(format!("{e:#}; reading `.dvc/cache` instead"));
                ".dvc/cache".into()
            }
        },
        None => ".dvc/cache".into(),
    }
}

/// Reads DVC's files in the git index and lists the outputs to import, every path checked.
fn plan(git: &git2::Repository, root: &Path, cwd: &Path, wanted: &[PathBuf]) -> Result<Vec<Planned>> {
    let index = git.index().context("reading the git index")?;
    let mut files: Vec<String> =
        index.iter().filter_map(|e| String::from_utf8(e.path).ok()).filter(|p| !p.starts_with(".dvc/")).collect();
    files.sort();
    let mut planned: Vec<Planned> = Vec::new();
    let read = |rel: &str, limit: u64| -> Result<Option<String>> {
        Ok(crate::paths::read_workspace_file(root, rel, limit)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
    };
    for rel in files.iter().filter(|p| is_dvc_file(p)) {
        let Some(text) = read(rel, crate::yaml::MAX_DOCUMENT_BYTES as u64)? else { continue };
        let file = format::parse_dvc_file(rel, &text)?;
        let base = crate::git::split_parent(rel).0;
        for out in file.outs {
            if out.cache == Some(false) {
                continue;
            }
            let path = format::resolve(base, file.wdir.as_deref(), &out.path, rel)?;
            planned.push(Planned {
                rel: path,
                origin: Origin::DvcFile(rel.clone()),
                out,
                file_meta: file.meta.clone(),
                stage: None,
            });
        }
    }
    for yaml_rel in files.iter().filter(|p| crate::git::split_parent(p).1 == "dvc.yaml") {
        let base = crate::git::split_parent(yaml_rel).0;
        let lock_rel = if base.is_empty() { "dvc.lock".to_string() } else { format!("{base}/dvc.lock") };
        let Some(text) = read(yaml_rel, 16 << 20)? else { continue };
        let pipeline = format::parse_yaml(yaml_rel, &text)?;
        let lock = match read(&lock_rel, 16 << 20)? {
            Some(text) => Some(format::parse_lock(&lock_rel, &text)?),
            None => None,
        };
        for (name, stage) in &pipeline.stages {
            let locked = lock.as_ref().and_then(|l| l.stages.get(name));
            let wdir = stage.wdir.as_deref();
            let dep_paths: Vec<String> = match locked {
                Some(l) => l.deps.iter().map(|d| d.path.clone()).collect(),
                None => format::yaml_deps(stage),
            };
            let mut deps = Vec::new();
            for d in dep_paths {
                // A dep outside the repository (or on a URL) is no lineage mvc can follow.
                if let Ok(p) = format::resolve(base, wdir, &d, yaml_rel) {
                    deps.push(p);
                }
            }
            let info =
                StageInfo { cmd: format::cmd_text(&locked.and_then(|l| l.cmd.clone()).or(stage.cmd.clone())), deps };
            let (origin_file, outs): (&str, Vec<RawOut>) = match locked {
                Some(l) => (lock_rel.as_str(), l.outs.clone()),
                None => (
                    yaml_rel.as_str(),
                    format::cached_yaml_outs(stage)
                        .into_iter()
                        .map(|path| RawOut { path, ..Default::default() })
                        .collect(),
                ),
            };
            let cached = format::cached_yaml_outs(stage);
            for out in outs {
                let path = format::resolve(base, wdir, &out.path, origin_file)?;
                // `cache: false` outputs (named in dvc.yaml) stay git's.
                if !cached.iter().any(|c| c.trim_end_matches('/') == out.path.trim_end_matches('/')) {
                    continue;
                }
                planned.push(Planned {
                    rel: path,
                    origin: Origin::Stage { file: origin_file.to_string(), name: name.clone() },
                    out,
                    file_meta: None,
                    stage: Some(info.clone()),
                });
            }
        }
    }
    planned.sort_by(|a, b| a.rel.cmp(&b.rel));
    for pair in planned.windows(2) {
        if pair[0].rel == pair[1].rel {
            bail!(
                "`{}` is recorded twice, by `{}` and `{}`",
                pair[0].rel,
                pair[0].origin.label(),
                pair[1].origin.label()
            );
        }
    }
    for (i, p) in planned.iter().enumerate() {
        if let Some(outer) = planned[..i].iter().find(|o| p.rel.starts_with(&format!("{}/", o.rel))) {
            bail!("`{}` is inside `{}`, which DVC also tracks; mvc artifacts do not nest", p.rel, outer.rel);
        }
    }
    if !wanted.is_empty() {
        let mut selected = Vec::new();
        for w in wanted {
            let base = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
            let abs = if w.is_absolute() { w.clone() } else { base.join(w) };
            let rel = abs
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().into_owned())
                .map_err(|_| anyhow::anyhow!("`{}` is outside the repository", w.display()))?;
            let rel = normalise(&rel);
            let matched: Vec<&Planned> = planned
                .iter()
                .filter(|p| {
                    rel.is_empty()
                        || p.rel == rel
                        || p.rel.starts_with(&format!("{rel}/"))
                        || matches!(&p.origin, Origin::DvcFile(f) if *f == rel)
                })
                .collect();
            if matched.is_empty() {
                bail!("`{}` is not an output DVC tracks", w.display());
            }
            selected.extend(matched.into_iter().cloned());
        }
        selected.sort_by(|a, b| a.rel.cmp(&b.rel));
        selected.dedup_by(|a, b| a.rel == b.rel);
        planned = selected;
    }
    Ok(planned)
}

fn normalise(rel: &str) -> String {
    rel.split('/').filter(|s| !s.is_empty() && *s != ".").collect::<Vec<_>>().join("/")
}

/// Makes sure the output's data is in the workspace and is what DVC recorded.
fn prepare_data(root: &Path, cache_rel: &str, p: &Planned) -> Result<DataSource> {
    let label = p.origin.label();
    let md5 = p.out.md5();
    let legacy = p.out.legacy();
    crate::paths::check_resolved(root, &p.rel)?;
    if present(root, &p.rel) {
        let Some((md5, dir)) = md5 else { return Ok(DataSource::Workspace) };
        let differs = || {
            hinted(
                format!("`{}` differs from what `{label}` records", p.rel),
                "record it with `dvc commit`, or restore it with `dvc checkout`, then import again",
            )
        };
        if !dir {
            let file = data::open_in_repo(root, &p.rel)?.with_context(|| format!("`{}` is not a file", p.rel))?;
            if !data::md5_matches(&file, &md5, legacy)? {
                bail!(differs());
            }
            return Ok(DataSource::Workspace);
        }
        // A directory is checked file by file against DVC's manifest, when the cache has it.
        if let Some(manifest_rel) = data::cache_object(root, cache_rel, &md5, true) {
            let bytes = data::read_verified(root, &manifest_rel, &md5, format::MAX_DIR_MANIFEST_BYTES, &p.rel)?;
            let entries = format::parse_dir_manifest(&bytes, &p.rel)?;
            for e in &entries {
                let rel = format!("{}/{}", p.rel, e.relpath);
                match data::open_in_repo(root, &rel)? {
                    Some(f) if data::md5_matches(&f, &e.md5.to_ascii_lowercase(), legacy)? => {}
                    _ => bail!(differs()),
                }
            }
            let on_disk = walkdir::WalkDir::new(root.join(&p.rel))
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file())
                .count();
            if on_disk != entries.len() {
                bail!(differs());
            }
        }
        return Ok(DataSource::Workspace);
    }
    let Some((md5, dir)) = md5 else {
        bail!(hinted(
            format!("`{}` is not in the workspace and `{label}` records no md5 to find it by", p.rel),
            "run `dvc pull` (or `dvc repro`) first"
        ));
    };
    let missing = || {
        hinted(
            format!("`{}` is neither in the workspace nor in DVC's cache (`{cache_rel}`)", p.rel),
            format!("fetch it first: `dvc pull {}`", crate::text::shell_quote(&p.rel)),
        )
    };
    if !dir {
        let src = data::cache_object(root, cache_rel, &md5, false).ok_or_else(missing)?;
        data::restore(root, &src, &p.rel, &md5, legacy, &p.rel)?;
        return Ok(DataSource::DvcCache);
    }
    let manifest_rel = data::cache_object(root, cache_rel, &md5, true).ok_or_else(missing)?;
    let bytes = data::read_verified(root, &manifest_rel, &md5, format::MAX_DIR_MANIFEST_BYTES, &p.rel)?;
    let entries = format::parse_dir_manifest(&bytes, &p.rel)?;
    // Check every file is there before writing any.
    let mut found = Vec::new();
    for e in &entries {
        let md5 = e.md5.to_ascii_lowercase();
        let src = data::cache_object(root, cache_rel, &md5, false).ok_or_else(missing)?;
        found.push((src, e, md5));
    }
    for (src, e, md5) in found {
        let dest = format!("{}/{}", p.rel, e.relpath);
        data::restore(root, &src, &dest, &md5, legacy, &p.rel)?;
    }
    Ok(DataSource::DvcCache)
}

/// Carries DVC's `desc`, `type`, `labels` and `meta` into the pointer's `meta`, and the
/// stage's deps (those that are artifacts) into `meta.deps`. Returns the deps' paths.
fn carry_meta(
    repo: &Repo,
    p: &Planned,
    oids: &BTreeMap<String, crate::hash::Oid>,
    meta: &mut Map<String, Value>,
) -> Vec<String> {
    if let Some(desc) = &p.out.desc {
        meta.insert("desc".into(), desc.clone().into());
    }
    if let Some(kind) = &p.out.kind {
        meta.insert("type".into(), kind.clone().into());
    }
    if !p.out.labels.is_empty() {
        meta.insert("labels".into(), p.out.labels.iter().cloned().map(Value::String).collect());
    }
    for extra in [&p.file_meta, &p.out.meta].into_iter().flatten() {
        for (k, v) in extra {
            if ["params", "metrics", "sources", "deps", "env", "source", "stage"].contains(&k.as_str()) {
                crate::notices::warn(format!(
                    "`meta.{}` of `{}` clashes with mvc's own `meta.{0}`; kept as `meta.dvc_{0}`",
                    crate::text::sanitize(k),
                    p.origin.label()
                ));
                meta.insert(format!("dvc_{k}"), v.clone());
            } else {
                meta.insert(k.clone(), v.clone());
            }
        }
    }
    let Some(stage) = &p.stage else { return Vec::new() };
    let mut deps = Vec::new();
    let mut seen = Vec::new();
    for dep in &stage.deps {
        // A dep is an artifact imported now, one mvc already tracks, or a file inside one.
        let target = if oids.contains_key(dep) || repo.abs(&format!("{dep}.mvc")).is_file() {
            Some(dep.clone())
        } else {
            oids.keys().find(|a| dep.starts_with(&format!("{a}/"))).cloned()
        };
        let Some(target) = target.filter(|t| *t != p.rel && !seen.contains(t)) else { continue };
        let oid = oids
            .get(&target)
            .copied()
            .or_else(|| Artifact::from_rel(&target).load_pointer(repo).ok().map(|ptr| ptr.oid));
        if let Some(oid) = oid {
            deps.push(serde_json::json!({"path": target, "oid": oid.to_hex()}));
            seen.push(target);
        }
    }
    if !deps.is_empty() {
        meta.insert("deps".into(), Value::Array(deps));
    }
    let mut info = Map::new();
    if let Origin::Stage { name, .. } = &p.origin {
        info.insert("name".into(), name.clone().into());
    }
    if let Some(cmd) = &stage.cmd {
        info.insert("cmd".into(), cmd.clone().into());
    }
    info.insert("deps".into(), stage.deps.iter().cloned().map(Value::String).collect());
    meta.insert("stage".into(), Value::Object(info));
    seen
}

/// Removes DVC's `.gitignore` line for the output when it differs from mvc's, and makes sure
/// mvc's is there. Returns the `.gitignore` to stage when it changed.
fn replace_ignore_lines(repo: &Repo, rel: &str) -> Result<Option<String>> {
    let gitignore = crate::git::gitignore_of(rel);
    let name = crate::git::split_parent(rel).1;
    let ours = format!("/{}", crate::git::gitignore_escape(name));
    let theirs = [format!("/{name}"), format!("/{name}/"), format!("/{}/", crate::git::gitignore_escape(name))];
    let text = crate::paths::read_workspace_file(&repo.root, &gitignore, 4 << 20)?.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).into_owned();
    let mut changed = false;
    if text.lines().any(|l| theirs.contains(&l.to_string()) && l != ours) {
        let kept: Vec<&str> = text.lines().filter(|l| !theirs.contains(&l.to_string()) || *l == ours).collect();
        let mut new = kept.join("\n");
        if !new.is_empty() {
            new.push('\n');
        }
        crate::fsutil::write_atomic(&repo.abs(&gitignore), new.as_bytes(), 0o644)?;
        changed = true;
    }
    let added = crate::git::ignore_artifact(&repo.git, &repo.scope, &repo.root, rel)?;
    Ok(if changed || added.is_some() { Some(gitignore) } else { None })
}

/// Which DVC remotes become mvc remotes, with their URLs translated.
fn plan_remotes(root: &Path, config: &DvcConfig) -> Vec<RemoteImport> {
    let existing: Vec<String> = Repo::open(root)
        .map(|r| crate::remote::backend::configured(&r).into_iter().map(|c| c.name).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for r in &config.remotes {
        let Some(url) = &r.url else { continue };
        let shown = crate::text::sanitize(&crate::text::redact_userinfo(url));
        let (url, note) = match translate_url(url) {
            Ok(u) => (u, None),
            Err(why) => {
                out.push(RemoteImport { name: r.name.clone(), url: shown, added: false, note: Some(why) });
                continue;
            }
        };
        if existing.contains(&r.name) {
            out.push(RemoteImport {
                name: r.name.clone(),
                url,
                added: false,
                note: Some("mvc already has a remote of this name; left as it is".into()),
            });
            continue;
        }
        out.push(RemoteImport { name: r.name.clone(), url, added: true, note });
    }
    out
}

/// DVC's remote URL as mvc's: the same for s3/gs/http(s) and paths (relative ones are
/// relative to `.dvc/` in DVC, to the repository root in mvc), `azure://` -> `az://`.
/// Credentials in a URL are never carried over.
fn translate_url(url: &str) -> Result<String, String> {
    if crate::text::redact_userinfo(url) != url {
        return Err("its URL holds credentials; add it yourself with `mvc remote add` and `--local` secrets".into());
    }
    if let Some(rest) = url.strip_prefix("azure://") {
        return Ok(format!("az://{rest}"));
    }
    match url.split_once("://") {
        Some(("s3" | "gs" | "http" | "https" | "file", _)) => Ok(url.to_string()),
        Some((scheme, _)) => Err(format!("mvc has no `{}` remotes", crate::text::sanitize(scheme))),
        None if url.starts_with('/') => Ok(url.to_string()),
        None => {
            let mut parts: Vec<&str> = vec![".dvc"];
            let mut ups = 0;
            for s in url.split('/') {
                match s {
                    "" | "." => {}
                    ".." => {
                        if parts.pop().is_none() {
                            ups += 1;
                        }
                    }
                    s => parts.push(s),
                }
            }
            let mut all = vec![".."; ups];
            all.extend(parts);
            Ok(if all.is_empty() { ".".into() } else { all.join("/") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_translate_and_credentials_stay_behind() {
        assert_eq!(translate_url("s3://b/p").unwrap(), "s3://b/p");
        assert_eq!(translate_url("azure://c/p").unwrap(), "az://c/p");
        assert_eq!(translate_url("../../storage").unwrap(), "../storage");
        assert_eq!(translate_url("/mnt/dvc").unwrap(), "/mnt/dvc");
        assert!(translate_url("ssh://host/p").unwrap_err().contains("`ssh`"));
        assert!(translate_url("https://bob:pw@host/p").is_err());
    }
}
