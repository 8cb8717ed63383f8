//! `mvc ls`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::history::{Side, filters, ls};
use mvc::ops::ls_url::{LsUrlOptions, ls_url};
use serde::Serialize;

use super::{human_size, shown};
use crate::cli::Ui;

/// List tracked artifacts at a revision (default: the workspace's pointers), or another
/// project's (`mvc ls URL [PATH]`: without its data, with registry versions)
#[derive(clap::Args)]
pub struct LsArgs {
    /// A git revision; default: the workspace
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    /// Only artifacts at or under these paths; a first argument that is a URL or another
    /// repository lists that project
    #[arg(value_name = "[URL] PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    remote: super::transfer_args::RemoteChoice,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct JsonRemoteLs<'a> {
    repo: String,
    commit: &'a str,
    artifacts: Vec<JsonRemoteArtifact<'a>>,
}

#[derive(Serialize)]
struct JsonRemoteArtifact<'a> {
    path: String,
    kind: &'static str,
    oid: String,
    size: u64,
    nfiles: Option<u64>,
    versions: Vec<JsonVersion<'a>>,
}

#[derive(Serialize)]
struct JsonVersion<'a> {
    name: &'a str,
    version: &'a str,
    stages: &'a [String],
    latest: bool,
}

pub fn run(args: LsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    if let Some(first) = args.paths.first().and_then(|p| p.to_str())
        && mvc::ops::source::is_repository(first, cwd)
    {
        return run_url(args, cwd, ui);
    }
    let repo = super::open_repo(cwd)?;
    let side = args.rev.map(Side::Rev).unwrap_or(Side::Workspace);
    let listed = ls(&repo, &side, &filters(&repo, cwd, &args.paths)?)?;
    let on_remote = match &args.remote.selected() {
        None => None,
        Some(name) => {
            let name = Some(name.clone()).filter(|n| !n.is_empty());
            let rc = mvc::remote::backend::choose(&repo, name.as_deref())?;
            let remote = mvc::remote::backend::open(&repo, &rc, None)?;
            let oids: Vec<_> = listed.iter().map(|l| l.pointer.oid).collect();
            let rt = super::transfer_args::runtime()?;
            let (present, _) =
                rt.block_on(mvc::remote::transfer::present_on_remote(&remote, repo.stat_index(), &oids))?;
            Some(present)
        }
    };
    if ui.json() {
        let items: Vec<serde_json::Value> = listed
            .iter()
            .map(|l| {
                let mut v = serde_json::json!({
                    "path": l.path, "kind": l.pointer.kind.as_str(), "oid": l.pointer.oid.to_hex(),
                    "size": l.pointer.size, "nfiles": l.pointer.nfiles, "in_cache": l.in_cache,
                });
                if let Some(p) = &on_remote {
                    v["on_remote"] = p.contains(&l.pointer.oid).into();
                }
                v
            })
            .collect();
        ui.out_json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    for l in &listed {
        let p = &l.pointer;
        let size = match p.nfiles {
            Some(n) => format!("{} in {}", human_size(p.size), super::count(n, "file")),
            None => human_size(p.size),
        };
        let mut where_ = vec![if l.in_cache { "cached" } else { "not cached" }];
        if let Some(present) = &on_remote {
            where_.push(if present.contains(&p.oid) { "on remote" } else { "not on remote" });
        }
        ui.out(format!(
            "{:4}  {}  {:>22}  {}  ({})",
            p.kind.as_str(),
            p.oid.short(),
            size,
            shown(&l.path),
            where_.join(", ")
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `mvc ls URL [PATH…]`.
fn run_url(args: LsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let mut rest = args.paths.iter().map(|p| p.to_string_lossy().into_owned());
    let url = rest.next().expect("a first argument");
    let opts = LsUrlOptions { repo_url: url.clone(), paths: rest.collect(), rev: args.rev, cwd: cwd.to_path_buf() };
    let report = ls_url(&opts)?;
    if ui.json() {
        let artifacts = report
            .artifacts
            .iter()
            .map(|a| JsonRemoteArtifact {
                path: shown(&a.path),
                kind: a.pointer.kind.as_str(),
                oid: a.pointer.oid.to_hex(),
                size: a.pointer.size,
                nfiles: a.pointer.nfiles,
                versions: a
                    .versions
                    .iter()
                    .map(|v| JsonVersion { name: &v.name, version: &v.version, stages: &v.stages, latest: v.latest })
                    .collect(),
            })
            .collect();
        let repo = mvc::ops::source::shown_url(&url);
        ui.out_json(&JsonRemoteLs { repo, commit: &report.commit, artifacts })?;
        return Ok(ExitCode::SUCCESS);
    }
    for a in &report.artifacts {
        let p = &a.pointer;
        let size = match p.nfiles {
            Some(n) => format!("{} in {}", human_size(p.size), super::count(n, "file")),
            None => human_size(p.size),
        };
        let versions: Vec<String> = a
            .versions
            .iter()
            .rev()
            .map(|v| {
                let stages = if v.stages.is_empty() { String::new() } else { format!(" [{}]", v.stages.join(", ")) };
                format!("{}@{}{stages}", shown(&v.name), shown(&v.version))
            })
            .collect();
        let versions = if versions.is_empty() { String::new() } else { format!("  ({})", versions.join(", ")) };
        ui.out(format!("{:4}  {}  {:>22}  {}{versions}", p.kind.as_str(), p.oid.short(), size, shown(&a.path)))?;
    }
    Ok(ExitCode::SUCCESS)
}
