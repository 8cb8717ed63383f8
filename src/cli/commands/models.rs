//! `mvc models`, `show`, `history`, `check`, `lineage`: reading the registry.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use mvc::ops::lineage::lineage;
use mvc::ops::registry::{check, history, models, show, show_versions};
use mvc::registry::{Event, RegistryRef, TagRecord};

use super::{human_size, shown, utc_time};
use crate::cli::Ui;

/// List registered artifacts with their latest version and the version in each stage
#[derive(clap::Args)]
pub struct ModelsArgs {
    /// Include deprecated artifacts (as `gto show -d`)
    #[arg(short = 'd', long)]
    deprecated: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `mvc models --json`: one entry per artifact; `gto show --json`'s `{version, stage,
/// registered, active}` under the same names, keyed as `latest` and `stages`.
#[derive(serde::Serialize)]
struct ModelView<'a> {
    name: &'a str,
    path: Option<&'a str>,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    latest: Option<&'a str>,
    stages: BTreeMap<&'a str, Option<&'a str>>,
    registered: bool,
    active: bool,
}

pub fn run_models(args: ModelsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let rows = models(&repo, args.deprecated)?;
    if ui.json() {
        let items: Vec<ModelView> = rows
            .iter()
            .map(|r| ModelView {
                name: &r.name,
                path: r.path.as_deref(),
                kind: r.kind.as_deref(),
                latest: r.latest.as_deref(),
                stages: r.stages.iter().map(|(s, v)| (s.as_str(), v.as_deref())).collect(),
                registered: r.registered,
                active: r.active,
            })
            .collect();
        ui.out_json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        ui.status("no registered artifacts; `mvc register NAME PATH` registers one");
    }
    for r in &rows {
        let latest = r.latest.clone().unwrap_or_else(|| "-".into());
        let stages: Vec<String> =
            r.stages.iter().filter_map(|(s, v)| v.as_ref().map(|v| format!("{s}={}", shown(v)))).collect();
        let deprecated = if r.active { "" } else { "  (deprecated)" };
        ui.out(format!(
            "{}  latest {}  {}{deprecated}",
            shown(&r.name),
            shown(&latest),
            if stages.is_empty() { "no stages".to_string() } else { stages.join(" ") }
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn registry_ref(s: &str) -> anyhow::Result<RegistryRef> {
    RegistryRef::parse(s, true).ok_or_else(|| {
        anyhow::anyhow!(mvc::error::hinted(
            format!("`{}` is not a registry reference", shown(s)),
            "use NAME, NAME@v1.2.3, NAME@latest, NAME#stage or a tag name such as NAME#stage#7",
        ))
    })
}

/// Show an artifact's versions (NAME), or one version in detail (NAME@v1.2.3, NAME#stage,
/// NAME@latest, or a whole tag name such as NAME#production#7)
#[derive(clap::Args)]
pub struct ShowArgs {
    /// NAME, NAME@v1.2.3, NAME@latest, NAME#stage or a registry tag name
    reference: String,
    /// With NAME: also deregistered versions and deprecated artifacts (as `gto show -d`)
    #[arg(long)]
    all: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `mvc show NAME --json`: one entry per version, as `gto show NAME --json` lists them
/// (`commit` is GTO's `commit_hexsha`, `active` its `is_active`, `stages` the names of its
/// `stages`, `registered` whether it has `registrations`).
#[derive(serde::Serialize)]
struct VersionView<'a> {
    artifact: &'a str,
    version: &'a str,
    commit: &'a str,
    active: bool,
    registered: bool,
    discovered: bool,
    created_at: String,
    #[serde(rename = "ref")]
    reference: &'a str,
    stages: &'a [String],
}

/// RFC 3339 with the tagger's offset, as GTO prints times.
fn rfc3339(secs: i64, offset_min: i32) -> String {
    let local = secs + i64::from(offset_min) * 60;
    let rem = local.rem_euclid(86_400);
    let (y, m, d) = super::civil_from_days(local.div_euclid(86_400));
    let sign = if offset_min < 0 { '-' } else { '+' };
    let off = offset_min.abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        off / 60,
        off % 60
    )
}

pub fn run_show(args: ShowArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let reference = registry_ref(&args.reference)?;
    if let RegistryRef::Latest(name) = &reference
        && !args.reference.ends_with("@latest")
    {
        let rows = show_versions(&repo, name.as_str(), args.all)?;
        if ui.json() {
            let views: Vec<VersionView> = rows
                .iter()
                .map(|v| VersionView {
                    artifact: &v.artifact,
                    version: &v.version,
                    commit: &v.commit,
                    active: v.active,
                    registered: v.registered,
                    discovered: v.discovered,
                    created_at: rfc3339(v.created_at.0, v.created_at.1),
                    reference: &v.reference,
                    stages: &v.stages,
                })
                .collect();
            ui.out_json(&views)?;
            return Ok(ExitCode::SUCCESS);
        }
        for v in &rows {
            let state = if v.active { "" } else { "  (deregistered)" };
            ui.out(format!(
                "{}  {}  {}  {}{state}",
                shown(&v.version),
                &v.commit[..12],
                utc_time(v.created_at.0),
                if v.stages.is_empty() { "-".to_string() } else { v.stages.join(", ") }
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let d = show(&repo, &reference)?;
    let (by, at) = d.registered.as_ref().map(|r| (r.tagger.clone(), r.time)).unwrap_or_default();
    if ui.json() {
        let deps: Vec<serde_json::Value> =
            d.deps.iter().map(|(p, o, v)| serde_json::json!({"path": p, "oid": o, "version": v})).collect();
        ui.out_json(&serde_json::json!({
            "name": d.name, "version": d.version, "commit": d.commit.to_string(),
            "path": d.path, "kind": d.pointer.kind.as_str(), "oid": d.pointer.oid.to_hex(), "size": d.pointer.size,
            "stages": d.stages, "registered_by": by, "registered_at": at,
            "promotions": d.promotions.iter().map(|p| event_json(p, None)).collect::<Vec<_>>(),
            "meta": d.pointer.meta, "deps": deps,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.out(format!("{}@{}", shown(&d.name), shown(&d.version)))?;
    ui.out(format!("  path:        {}", shown(&d.path)))?;
    ui.out(format!("  commit:      {}", &d.commit.to_string()[..12]))?;
    ui.out(format!(
        "  content:     {} {}  {}",
        d.pointer.kind.as_str(),
        d.pointer.oid.short(),
        human_size(d.pointer.size)
    ))?;
    if !d.stages.is_empty() {
        ui.out(format!("  stages:      {}", d.stages.join(", ")))?;
    }
    if d.registered.is_some() {
        ui.out(format!("  registered:  {} by {}", utc_time(at), by))?;
    }
    for p in &d.promotions {
        if let Event::Assign(stage) = &p.tag.event {
            ui.out(format!("  promoted:    {stage} {} by {}", utc_time(p.time), p.tagger))?;
        }
    }
    for (key, value) in &d.pointer.meta {
        if key == "deps" || key == "sources" {
            continue;
        }
        ui.out(format!("  {:<13}{}", format!("{}:", shown(key)), shown(&value.to_string())))?;
    }
    for (path, oid, version) in &d.deps {
        let version = version.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
        ui.out(format!("  dep:         {} {}{version}", shown(path), &oid[..12.min(oid.len())]))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn event_name(e: &TagRecord, version: Option<&str>) -> String {
    let v = version.map(str::to_string).or_else(|| e.meta.get("version").cloned()).unwrap_or_default();
    match &e.tag.event {
        Event::Register(v) => format!("register {v}"),
        Event::Deregister(v) => format!("deregister {v}"),
        Event::Assign(s) => format!("promote {v} to {s}"),
        Event::Unassign(s) => format!("unassign {v} from {s}"),
        Event::Deprecate => "deprecate".to_string(),
    }
}

fn event_json(e: &TagRecord, version: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "tag": e.name, "event": event_name(e, version), "commit": e.commit.to_string(),
        "tagger": e.tagger, "time": e.time, "message": e.message,
    })
}

/// The audit trail of an artifact: every registry event, newest first
#[derive(clap::Args)]
pub struct HistoryArgs {
    /// The registry name
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::registry_names))]
    name: String,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run_history(args: HistoryArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let events = history(&repo, &args.name)?;
    if ui.json() {
        ui.out_json(&events.iter().map(|e| event_json(&e.record, e.version.as_deref())).collect::<Vec<_>>())?;
        return Ok(ExitCode::SUCCESS);
    }
    // Tagger and message came from whoever wrote the tag: shown sanitised.
    let names: Vec<String> = events.iter().map(|e| shown(&event_name(&e.record, e.version.as_deref()))).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (e, name) in events.iter().zip(&names) {
        let r = &e.record;
        ui.out(format!(
            "{}  {name:width$}  {}  {}  {}",
            utc_time(r.time),
            &r.commit.to_string()[..12],
            shown(&r.tagger),
            shown(r.message.lines().next().unwrap_or(""))
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// CI gate: registered versions have the required metadata, known deps, and data on the remote
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Artifacts to check (default: all registered)
    names: Vec<String>,
    /// Only the version in this stage
    #[arg(long, value_name = "STAGE")]
    stage: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run_check(args: CheckArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let (checked, problems) = check(&repo, &args.names, args.stage.as_deref(), &super::transfer_args::runtime()?)?;
    if ui.json() {
        let items: Vec<serde_json::Value> =
            problems.iter().map(|p| serde_json::json!({"version": p.version, "problem": p.problem})).collect();
        ui.out_json(&serde_json::json!({"checked": checked, "problems": items}))?;
    } else {
        for p in &problems {
            ui.out(format!("{}: {}", shown(&p.version), shown(&p.problem)))?;
        }
        ui.status(format!(
            "checked {}; {}",
            super::count(checked as u64, "version"),
            super::count(problems.len() as u64, "problem")
        ));
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Mermaid,
    Dot,
}

/// The graph from data to model: deps, recursively, with versions, commits and params
#[derive(clap::Args)]
pub struct LineageArgs {
    /// A registry reference (NAME@v1.2.3, NAME#stage) or an artifact path
    target: String,
    /// Read the artifact path at this revision or experiment instead of the workspace
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Print the graph as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run_lineage(args: LineageArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let graph = lineage(&repo, &args.target, cwd, args.rev.as_deref())?;
    if ui.json() {
        let nodes: Vec<serde_json::Value> = graph
            .nodes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "path": n.path, "oid": n.oid, "version": n.version, "commit": n.commit,
                    "params": n.params, "deps": n.deps, "repo": n.repo.as_deref().map(super::shown),
                })
            })
            .collect();
        ui.out_json(&serde_json::json!({ "nodes": nodes }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = match args.format {
        Format::Text => graph.text(),
        Format::Mermaid => graph.mermaid(),
        Format::Dot => graph.dot(),
    };
    for line in text.lines() {
        ui.out(line)?;
    }
    Ok(ExitCode::SUCCESS)
}
