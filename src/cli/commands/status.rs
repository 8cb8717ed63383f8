//! `mvc status`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::remote_status::{RemoteStatusOptions, remote_status};
use mvc::ops::status::{ArtifactStatus, StatusOptions, Workspace, status};
use mvc::repo::Repo;
use serde::Serialize;

use super::shown;
use super::transfer_args::runtime;
use crate::cli::Ui;

/// Show which artifacts differ from their pointers or are missing from the cache
#[derive(clap::Args)]
pub struct StatusArgs {
    /// Artifacts (or directories holding artifacts) to inspect; default: all
    #[arg(value_name = "PATH")]
    targets: Vec<PathBuf>,
    /// Exit 1 when anything differs (`--check=modified`: only when an artifact was modified)
    #[arg(long, value_name = "WHAT", num_args = 0..=1, require_equals = true, default_missing_value = "any")]
    check: Option<Check>,
    #[command(flatten)]
    remote: super::transfer_args::RemoteChoice,
    /// Ask each imported artifact's source project whether it moved (network)
    #[arg(long)]
    imports: bool,
    /// Concurrent existence checks against the remote
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Check {
    /// Any difference: modified, missing, or not in the cache
    Any,
    /// Only artifacts modified in the workspace (a fresh clone that has not pulled is fine)
    Modified,
}

#[derive(Serialize)]
struct JsonStatus<'a> {
    artifacts: Vec<JsonArtifact<'a>>,
    hashed: u64,
}

#[derive(Serialize)]
struct JsonArtifact<'a> {
    path: &'a str,
    kind: &'static str,
    oid: String,
    workspace: &'static str,
    in_cache: bool,
    partial: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<JsonChanges<'a>>,
    stale_deps: Vec<JsonStaleDep<'a>>,
}

#[derive(Serialize)]
struct JsonStaleDep<'a> {
    path: &'a str,
    recorded: &'a str,
    current: String,
}

#[derive(Serialize)]
struct JsonChanges<'a> {
    added: &'a [String],
    modified: &'a [String],
    deleted: &'a [String],
    not_pulled: &'a [String],
}

fn workspace_name(w: Workspace) -> &'static str {
    match w {
        Workspace::Unchanged => "unchanged",
        Workspace::Modified => "modified",
        Workspace::Missing => "missing",
    }
}

pub fn run(args: StatusArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    if let Some(remote) = args.remote.selected() {
        let remote = Some(remote).filter(|r| !r.is_empty());
        let opts = RemoteStatusOptions { targets: args.targets, cwd: cwd.to_path_buf(), remote, jobs: args.jobs };
        return run_remote(&repo, &opts, args.check.is_some(), ui);
    }
    if args.imports {
        return run_imports(&repo, &args.targets, cwd, args.check.is_some(), ui);
    }
    let reporter = ui.reporter();
    let report = status(&repo, &StatusOptions { targets: args.targets, cwd: cwd.to_path_buf() }, &reporter)?;
    if ui.json() {
        let artifacts = report.artifacts.iter().map(to_json).collect();
        ui.out_json(&JsonStatus { artifacts, hashed: report.hashed })?;
    } else {
        for a in report.artifacts.iter().filter(|a| !a.is_clean() || is_partial(a) || !a.stale_deps.is_empty()) {
            render(ui, a)?;
        }
        // A directory pulled in part is not up to date, even though nothing in it changed.
        if report.artifacts.iter().all(|a| a.is_clean() && !is_partial(a) && a.stale_deps.is_empty()) {
            ui.status(format!("{}, all up to date", super::count(report.artifacts.len() as u64, "artifact")));
        }
    }
    let failed = match args.check {
        None => false,
        Some(Check::Any) => report.artifacts.iter().any(|a| !a.is_clean()),
        Some(Check::Modified) => report.artifacts.iter().any(|a| a.workspace == Workspace::Modified),
    };
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `status --remote`: one line per artifact that is not on both sides; `--check` fails when
/// anything is not pushed.
fn run_remote(repo: &Repo, opts: &RemoteStatusOptions, check: bool, ui: &Ui) -> anyhow::Result<ExitCode> {
    let report = remote_status(repo, opts, &runtime()?)?;
    let name = &report.remote;
    if ui.json() {
        let artifacts: Vec<serde_json::Value> = report
            .artifacts
            .iter()
            .map(|a| {
                serde_json::json!({
                    "path": a.path, "kind": a.kind.as_str(), "oid": a.oid.to_hex(),
                    "in_cache": a.in_cache, "on_remote": a.on_remote,
                })
            })
            .collect();
        ui.out_json(&serde_json::json!({"remote": name, "artifacts": artifacts, "checks": report.checks}))?;
    } else {
        for a in &report.artifacts {
            let path = shown(&a.path);
            let quoted = shown(&mvc::text::shell_quote(name));
            match (a.in_cache, a.on_remote) {
                (true, false) => ui.out(format!("not pushed:  {path}  (`mvc push -r {quoted}`)"))?,
                (false, true) => ui.out(format!("not pulled:  {path}  (`mvc pull -r {quoted}`)"))?,
                (false, false) => ui.out(format!(
                    "unavailable: {path}  (neither in the cache nor on `{}`; not pushed from where it was added?)",
                    shown(name)
                ))?,
                (true, true) => {}
            }
        }
        if report.artifacts.iter().all(|a| a.in_cache && a.on_remote) {
            ui.status(format!(
                "{}, all in the cache and on `{name}`",
                super::count(report.artifacts.len() as u64, "artifact")
            ));
        }
    }
    let failed = check && report.artifacts.iter().any(|a| !a.on_remote);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

#[derive(Serialize)]
struct JsonImport<'a> {
    out: String,
    moved: bool,
    recorded: super::import::JsonSource<'a>,
    now: super::import::JsonSource<'a>,
}

/// `status --imports`: one line per import whose source moved; `--check` fails then.
fn run_imports(repo: &Repo, targets: &[PathBuf], cwd: &Path, check: bool, ui: &Ui) -> anyhow::Result<ExitCode> {
    let states = mvc::ops::import::import_status(repo, cwd, targets)?;
    if ui.json() {
        let imports: Vec<JsonImport> = states
            .iter()
            .map(|s| JsonImport {
                out: shown(&s.out),
                moved: s.moved(),
                recorded: super::import::JsonSource::of(&s.recorded),
                now: super::import::JsonSource::of(&s.now),
            })
            .collect();
        ui.out_json(&serde_json::json!({ "imports": imports }))?;
    } else {
        for s in states.iter().filter(|s| s.moved()) {
            ui.out(format!(
                "moved: {} (source now at {}, oid {})",
                shown(&s.out),
                &s.now.commit[..12],
                &s.now.oid[..12]
            ))?;
        }
        if states.iter().all(|s| !s.moved()) {
            ui.status(format!("{}, all up to date with their sources", super::count(states.len() as u64, "import")));
        }
    }
    let failed = check && states.iter().any(|s| s.moved());
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Whether a directory was pulled only in part.
fn is_partial(a: &ArtifactStatus) -> bool {
    a.changes.as_ref().is_some_and(|c| !c.not_pulled.is_empty())
}

fn to_json(a: &ArtifactStatus) -> JsonArtifact<'_> {
    JsonArtifact {
        path: &a.path,
        kind: a.kind.as_str(),
        oid: a.oid.to_hex(),
        workspace: workspace_name(a.workspace),
        in_cache: a.in_cache,
        partial: is_partial(a),
        changes: a.changes.as_ref().map(|c| JsonChanges {
            added: &c.added,
            modified: &c.modified,
            deleted: &c.deleted,
            not_pulled: &c.not_pulled,
        }),
        stale_deps: a
            .stale_deps
            .iter()
            .map(|d| JsonStaleDep { path: &d.path, recorded: &d.recorded, current: d.current.to_hex() })
            .collect(),
    }
}

fn render(ui: &Ui, a: &ArtifactStatus) -> std::io::Result<()> {
    let path = shown(&a.path);
    match (a.workspace, a.in_cache) {
        (Workspace::Missing, true) => ui.out(format!("missing:     {path}  (restore with `mvc checkout`)"))?,
        (Workspace::Missing, false) => {
            ui.out(format!("not pulled:  {path}  (not in the workspace or cache; `mvc pull`)"))?
        }
        (Workspace::Modified, _) => {
            let detail = a
                .changes
                .as_ref()
                .map(|c| {
                    format!("  ({} added, {} modified, {} deleted)", c.added.len(), c.modified.len(), c.deleted.len())
                })
                .unwrap_or_default();
            ui.out(format!("modified:    {path}{detail}"))?;
            if let Some(c) = &a.changes {
                let lines = c
                    .added
                    .iter()
                    .map(|p| ("added", p))
                    .chain(c.modified.iter().map(|p| ("modified", p)))
                    .chain(c.deleted.iter().map(|p| ("deleted", p)));
                let total = c.added.len() + c.modified.len() + c.deleted.len();
                for (what, p) in lines.take(10) {
                    ui.out(format!("    {what}: {path}/{}", shown(p)))?;
                }
                if total > 10 {
                    ui.out(format!("    … and {} more", total - 10))?;
                }
            }
            if !a.in_cache {
                ui.out(format!("not cached:  {path}  (the committed version is not in the cache)"))?;
            }
        }
        (Workspace::Unchanged, false) => {
            ui.out(format!("not cached:  {path}  (the workspace copy is intact; `mvc commit` re-caches it)"))?
        }
        (Workspace::Unchanged, true) => {}
    }
    if let Some(c) = a.changes.as_ref().filter(|c| !c.not_pulled.is_empty()) {
        ui.out(format!("partial:     {path}  ({} not pulled)", super::count(c.not_pulled.len() as u64, "file")))?;
    }
    for d in &a.stale_deps {
        let dep = shown(&d.path);
        let recorded = shown(&d.recorded.chars().take(12).collect::<String>());
        ui.out(format!("stale dep:   {path} was made from {dep} at {recorded}; {dep} is now {}", d.current.short()))?;
    }
    Ok(())
}
