//! `mvc models`, `show`, `history`, `check`, `lineage`: reading the registry.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::lineage::lineage;
use mvc::ops::registry::{check, history, models, show};
use mvc::registry::{Event, RegistryRef, TagRecord};

use super::{human_size, shown, utc_time};
use crate::cli::Ui;

/// List registered artifacts with their latest version and the version in each stage
#[derive(clap::Args)]
pub struct ModelsArgs {
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run_models(args: ModelsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let _ = args;
    let repo = super::open_repo(cwd)?;
    let rows = models(&repo)?;
    if ui.json() {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let stages: serde_json::Map<String, serde_json::Value> =
                    r.stages.iter().map(|(s, v)| (s.clone(), v.to_string().into())).collect();
                serde_json::json!({
                    "name": r.name, "path": r.path, "type": r.kind, "latest": r.latest.map(|v| v.to_string()),
                    "stages": stages, "deprecated": r.deprecated,
                })
            })
            .collect();
        ui.out_json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        ui.status("no registered artifacts; `mvc register NAME PATH` registers one");
    }
    for r in &rows {
        let latest = r.latest.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        let stages: Vec<String> = r.stages.iter().map(|(s, v)| format!("{s}={v}")).collect();
        let deprecated = if r.deprecated { "  (deprecated)" } else { "" };
        ui.out(format!(
            "{}  latest {latest}  {}{deprecated}",
            shown(&r.name),
            if stages.is_empty() { "no stages".to_string() } else { stages.join(" ") }
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn registry_ref(s: &str) -> anyhow::Result<RegistryRef> {
    RegistryRef::parse(s, true).ok_or_else(|| {
        anyhow::anyhow!(mvc::error::hinted(
            format!("`{}` is not a registry reference", shown(s)),
            "use NAME, NAME@v1.2.3, NAME@latest or NAME#stage",
        ))
    })
}

/// Show one version: commit, content, stages, who registered and promoted it, metadata, deps
#[derive(clap::Args)]
pub struct ShowArgs {
    /// NAME, NAME@v1.2.3, NAME@latest or NAME#stage
    reference: String,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run_show(args: ShowArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let d = show(&repo, &registry_ref(&args.reference)?)?;
    if ui.json() {
        let deps: Vec<serde_json::Value> =
            d.deps.iter().map(|(p, o, v)| serde_json::json!({"path": p, "oid": o, "version": v})).collect();
        ui.out_json(&serde_json::json!({
            "name": d.name, "version": d.version.to_string(), "commit": d.registered.commit.to_string(),
            "path": d.path, "kind": d.pointer.kind.as_str(), "oid": d.pointer.oid.to_hex(), "size": d.pointer.size,
            "stages": d.stages, "registered_by": d.registered.tagger, "registered_at": d.registered.time,
            "promotions": d.promotions.iter().map(event_json).collect::<Vec<_>>(),
            "meta": d.pointer.meta, "deps": deps,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.out(format!("{}@{}", shown(&d.name), d.version))?;
    ui.out(format!("  path:        {}", shown(&d.path)))?;
    ui.out(format!("  commit:      {}", &d.registered.commit.to_string()[..12]))?;
    ui.out(format!(
        "  content:     {} {}  {}",
        d.pointer.kind.as_str(),
        d.pointer.oid.short(),
        human_size(d.pointer.size)
    ))?;
    if !d.stages.is_empty() {
        ui.out(format!("  stages:      {}", d.stages.join(", ")))?;
    }
    ui.out(format!("  registered:  {} by {}", utc_time(d.registered.time), d.registered.tagger))?;
    for p in &d.promotions {
        if let Event::Assign(stage) = &p.tag.event {
            ui.out(format!("  promoted:    {stage} {} by {}", utc_time(p.time), p.tagger))?;
        }
    }
    for (key, value) in &d.pointer.meta {
        if key == "deps" || key == "sources" {
            continue;
        }
        ui.out(format!("  {key}: {}", shown(&value.to_string())))?;
    }
    for (path, oid, version) in &d.deps {
        let version = version.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
        ui.out(format!("  dep:         {} {}{version}", shown(path), &oid[..12.min(oid.len())]))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn event_name(e: &TagRecord) -> String {
    match &e.tag.event {
        Event::Register(v) => format!("register {v}"),
        Event::Deregister(v) => format!("deregister {v}"),
        Event::Assign(s) => {
            let v = e.meta.get("version").cloned().unwrap_or_default();
            let verb = if e.meta.get("rollback").is_some_and(|r| r == "true") { "rollback" } else { "promote" };
            format!("{verb} {v} to {s}")
        }
        Event::Unassign(s) => format!("unassign {s}"),
        Event::Deprecate => "deprecate".to_string(),
    }
}

fn event_json(e: &TagRecord) -> serde_json::Value {
    serde_json::json!({
        "tag": e.tag.format(), "event": event_name(e), "commit": e.commit.to_string(),
        "tagger": e.tagger, "time": e.time, "message": e.message,
    })
}

/// The audit trail of an artifact: every registry event, newest first
#[derive(clap::Args)]
pub struct HistoryArgs {
    /// The registry name
    name: String,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run_history(args: HistoryArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let events = history(&repo, &args.name)?;
    if ui.json() {
        ui.out_json(&events.iter().map(event_json).collect::<Vec<_>>())?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in &events {
        ui.out(format!(
            "{}  {:28}  {}  {}  {}",
            utc_time(e.time),
            event_name(e),
            &e.commit.to_string()[..12],
            e.tagger,
            e.message.lines().next().unwrap_or("")
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
                    "params": n.params, "deps": n.deps,
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
