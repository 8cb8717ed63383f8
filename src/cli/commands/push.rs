//! `mvc push`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::push::{PushOptions, push};

use super::human_size;
use super::transfer_args::{TransferArgs, runtime};
use crate::cli::Ui;

/// Upload the data of tracked artifacts to a remote
#[derive(clap::Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub args: TransferArgs,
    /// Download and hash every object in scope on the remote; upload again what is missing or
    /// corrupt there
    #[arg(long)]
    pub verify: bool,
}

pub fn run(args: PushArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let a = args.args;
    let repo = super::open_repo(cwd)?;
    let opts = PushOptions {
        targets: a.targets,
        cwd: cwd.to_path_buf(),
        remote: a.remote,
        jobs: a.jobs,
        revs: a.revs.selection(),
        verify: args.verify,
    };
    let rt = runtime()?;
    let report = push(&repo, &opts, &rt, &ui.reporter())?;
    let s = report.stats;
    if ui.json() {
        ui.out_json(&serde_json::json!({
            "remote": report.remote, "artifacts": report.artifacts,
            "uploaded": s.transferred, "bytes": s.bytes, "already_present": s.present, "checks": s.checks,
            "verified": s.verified, "repaired": s.repaired,
            "repaired_objects": report.repaired.iter().map(|r| serde_json::json!({
                "oid": r.oid.to_string(),
                "problem": if r.missing { "missing" } else { "corrupt" },
                "pack": r.pack.map(|p| p.to_string()),
                "artifacts": r.artifacts,
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        if args.verify {
            ui.status(format!(
                "verified {} on `{}`; {} missing or corrupt",
                super::count(s.verified, "object"),
                report.remote,
                s.repaired
            ));
            for r in &report.repaired {
                let problem = if r.missing { "missing" } else { "corrupt" };
                let pack = match r.pack {
                    Some(p) if r.missing => format!("pack {p} is missing; "),
                    Some(p) => format!("pack {p} is damaged; "),
                    None => String::new(),
                };
                let held: Vec<String> = r.artifacts.iter().map(|a| format!("`{a}`")).collect();
                ui.status(format!(
                    "repaired {}: was {problem} on `{}` ({pack}needed by {})",
                    r.oid,
                    report.remote,
                    if held.is_empty() { "this push".to_string() } else { held.join(", ") }
                ));
            }
        }
        ui.status(format!(
            "pushed {} ({}) to `{}`; {} already there",
            super::count(s.transferred, "object"),
            human_size(s.bytes),
            report.remote,
            s.present
        ));
    }
    Ok(ExitCode::SUCCESS)
}
