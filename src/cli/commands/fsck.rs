//! `mvc fsck`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::fsck::{FsckOptions, Problem, fsck};

use super::shown;
use crate::cli::Ui;

/// Re-hash cache objects (and a remote's) and report corrupt or missing ones
#[derive(clap::Args)]
pub struct FsckArgs {
    #[command(flatten)]
    remote: super::transfer_args::RemoteChoice,
    /// Move corrupt cache objects to `.git/mvc/quarantine/` and fetch good copies from the remote; with
    /// `-c`, also upload good cache copies of what the remote lost or mangled
    #[arg(long)]
    repair: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: FsckArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let opts = FsckOptions { remote: args.remote.selected(), repair: args.repair };
    let report = fsck(&repo, &opts, &super::transfer_args::runtime()?, &ui.reporter())?;
    let unresolved = report.findings.iter().filter(|f| !f.repaired).count();
    if ui.json() {
        let findings: Vec<serde_json::Value> = report
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "place": f.place, "oid": f.oid.to_hex(),
                    "problem": if f.problem == Problem::Corrupt { "corrupt" } else { "missing" },
                    "needed_by": f.needed_by, "repaired": f.repaired,
                    "pack": f.pack.map(|p| p.to_hex()),
                })
            })
            .collect();
        ui.out_json(&serde_json::json!({
            "cache_checked": report.cache_checked, "remote_checked": report.remote_checked, "findings": findings,
        }))?;
    } else {
        for f in &report.findings {
            let problem = if f.problem == Problem::Corrupt { "corrupt" } else { "missing" };
            let needed = if f.needed_by.is_empty() {
                "not used by the workspace".to_string()
            } else {
                format!(
                    "needed by {}",
                    f.needed_by.iter().map(|a| format!("`{}`", shown(a))).collect::<Vec<_>>().join(", ")
                )
            };
            let repaired = if f.repaired { "; repaired" } else { "" };
            let pack = match (f.pack, f.problem) {
                (Some(p), Problem::Missing) => format!("pack {} is missing; ", p.to_hex()),
                (Some(p), Problem::Corrupt) => format!("pack {} is damaged; ", p.to_hex()),
                (None, _) => String::new(),
            };
            ui.out(format!("{problem}: {} in {}  ({pack}{needed}{repaired})", f.oid.to_hex(), shown(&f.place)))?;
        }
        let repaired = report.findings.len() - unresolved;
        ui.status(format!(
            "checked {}{}; {}{}",
            super::count(report.cache_checked as u64, "cache object"),
            if report.remote_checked > 0 {
                format!(" and {} on the remote", report.remote_checked)
            } else {
                String::new()
            },
            super::count(report.findings.len() as u64, "problem"),
            if repaired > 0 { format!(", {repaired} repaired") } else { String::new() }
        ));
        let missing_here = |f: &&mvc::ops::fsck::Finding| f.problem == Problem::Missing && f.place == "cache";
        if report.findings.iter().filter(|f| !f.repaired).any(|f| !missing_here(&f)) && !args.repair {
            ui.warn("`mvc fsck --repair` quarantines corrupt cache objects and fetches good copies from the remote");
        }
        if report.findings.iter().any(|f| missing_here(&f)) {
            ui.warn("`mvc pull` fetches the objects the workspace needs from the remote");
        }
    }
    Ok(if unresolved > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
