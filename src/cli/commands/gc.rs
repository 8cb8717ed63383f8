//! `mvc gc`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use mvc::ops::gc::{GcOptions, gc};
use mvc::revs::RevSelection;

use super::{count, human_size};
use crate::cli::Ui;

/// Delete cache objects (and, with --remote, remote objects) that no version in scope uses
#[derive(clap::Args)]
pub struct GcArgs {
    /// Keep what the workspace's pointers use (always kept; alone, keeps nothing else)
    #[arg(short, long)]
    workspace: bool,
    /// Keep what every local branch head uses
    #[arg(long)]
    all_branches: bool,
    /// Keep what every tag uses
    #[arg(long)]
    all_tags: bool,
    /// Keep what every commit reachable from a ref uses
    #[arg(long)]
    all_commits: bool,
    /// Keep what every experiment references (`refs/exps/*`)
    #[arg(long)]
    all_experiments: bool,
    /// Keep the last N versions of every artifact on the current branch
    #[arg(long, value_name = "N")]
    keep_last: Option<usize>,
    /// Also keep the newest N registered versions of each artifact (stage holders are always kept)
    #[arg(long, value_name = "N", default_value_t = 3)]
    keep_versions: usize,
    #[command(flatten)]
    remote: super::transfer_args::RemoteChoice,
    /// Remote objects younger than this many days stay
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    grace_days: u64,
    /// On a chunked remote, also rewrite packs less than half live into new packs
    #[arg(long)]
    repack: bool,
    /// Print what would be deleted, delete nothing
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Also delete cache objects that no remote confirms having
    #[arg(short, long)]
    force: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: GcArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let opts = GcOptions {
        workspace: args.workspace,
        revs: RevSelection {
            revs: Vec::new(),
            all_branches: args.all_branches,
            all_tags: args.all_tags,
            all_commits: args.all_commits,
            all_experiments: args.all_experiments,
        },
        keep_last: args.keep_last,
        keep_versions: args.keep_versions,
        remote: args.remote.selected(),
        dry_run: args.dry_run,
        force: args.force,
        grace: Duration::from_secs(args.grace_days * 86_400),
        repack: args.repack,
    };
    let report = gc(&repo, &opts, &super::transfer_args::runtime()?, &ui.reporter())?;
    let total = |v: &[(mvc::hash::Oid, u64)]| v.iter().map(|(_, s)| s).sum::<u64>();
    if ui.json() {
        let list = |v: &[(mvc::hash::Oid, u64)]| {
            v.iter().map(|(o, s)| serde_json::json!({"oid": o.to_hex(), "size": s})).collect::<Vec<_>>()
        };
        ui.out_json(&serde_json::json!({
            "dry_run": args.dry_run, "local": list(&report.local), "local_bytes": total(&report.local),
            "kept_unconfirmed": list(&report.kept_unconfirmed),
            "remote": report.remote_name, "remote_objects": list(&report.remote), "remote_bytes": total(&report.remote),
            "remote_packs": list(&report.remote_packs), "remote_pack_bytes": total(&report.remote_packs),
            "repacked": report.repacked.iter().map(|o| o.to_hex()).collect::<Vec<_>>(),
            "stale_temps": report.stale_temps,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if args.dry_run { "would delete" } else { "deleted" };
    if args.dry_run {
        for (oid, size) in &report.local {
            ui.out(format!("cache   {}  {}", oid.to_hex(), human_size(*size)))?;
        }
        for (oid, size) in &report.remote {
            ui.out(format!("remote  {}  {}", oid.to_hex(), human_size(*size)))?;
        }
        for (oid, size) in &report.remote_packs {
            ui.out(format!("pack    {}  {}", oid.to_hex(), human_size(*size)))?;
        }
    }
    ui.status(format!(
        "{verb} {} ({}) from the cache",
        count(report.local.len() as u64, "object"),
        human_size(total(&report.local))
    ));
    if let Some(name) = &report.remote_name {
        ui.status(format!(
            "{verb} {} ({}) from `{name}`",
            count(report.remote.len() as u64, "object"),
            human_size(total(&report.remote))
        ));
        if !report.remote_packs.is_empty() || !report.repacked.is_empty() {
            ui.status(format!(
                "{verb} {} ({}) from `{name}`; {} {}",
                count(report.remote_packs.len() as u64, "pack"),
                human_size(total(&report.remote_packs)),
                if args.dry_run { "would repack" } else { "repacked" },
                count(report.repacked.len() as u64, "sparse pack"),
            ));
        }
    }
    if report.stale_temps > 0 {
        ui.status(format!("removed {} left by interrupted runs", count(report.stale_temps as u64, "temp file")));
    }
    if !report.kept_unconfirmed.is_empty() {
        ui.warn(format!(
            "kept {} ({}) that no remote confirms having; push them, or use `--force` to delete them anyway",
            count(report.kept_unconfirmed.len() as u64, "unreferenced object"),
            human_size(total(&report.kept_unconfirmed))
        ));
    }
    Ok(ExitCode::SUCCESS)
}
