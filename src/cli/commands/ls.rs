//! `mvc ls`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::history::{Side, filters, ls};

use super::{human_size, shown};
use crate::cli::Ui;

/// List tracked artifacts at a revision (default: the workspace's pointers)
#[derive(clap::Args)]
pub struct LsArgs {
    /// A git revision; default: the workspace
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    /// Only artifacts at or under these paths
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    remote: super::transfer_args::RemoteChoice,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: LsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
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
