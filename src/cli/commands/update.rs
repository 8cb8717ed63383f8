//! `mvc update`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::import::{UpdateOptions, update};
use serde::Serialize;

use super::import::JsonSource;
use super::shown;
use super::transfer_args::runtime;
use crate::cli::Ui;

/// Move imported artifacts to their source's current revision (or stage holder)
#[derive(clap::Args)]
pub struct UpdateArgs {
    /// Imported artifacts to update; default: every import
    #[arg(value_name = "OUT")]
    targets: Vec<PathBuf>,
    /// Follow this revision or registry reference from now on
    #[arg(long, value_name = "REV|REF")]
    rev: Option<String>,
    /// The source project's remote to download from (default: its `core.remote`)
    #[arg(short = 'r', long = "remote", value_name = "NAME")]
    remote: Option<String>,
    /// Concurrent transfers
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Also commit the updated pointers with this message
    #[arg(short, long, value_name = "MSG")]
    message: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct JsonUpdated<'a> {
    out: String,
    change: &'static str,
    from: &'a str,
    source: JsonSource<'a>,
}

pub fn run(args: UpdateArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let opts = UpdateOptions {
        targets: args.targets,
        cwd: cwd.to_path_buf(),
        rev: args.rev,
        remote: args.remote,
        jobs: args.jobs,
        message: args.message,
    };
    let report = update(&repo, &opts, &runtime()?, &ui.reporter())?;
    let change = |moved: bool| if moved { "updated" } else { "unchanged" };
    if ui.json() {
        let items: Vec<JsonUpdated> = report
            .artifacts
            .iter()
            .map(|a| JsonUpdated {
                out: shown(&a.out),
                change: change(a.moved()),
                from: &a.recorded.oid,
                source: JsonSource::of(&a.now),
            })
            .collect();
        ui.out_json(&serde_json::json!({ "artifacts": items, "commit": report.commit }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for a in &report.artifacts {
        ui.status(format!(
            "{} `{}` ({} at {})",
            change(a.moved()),
            shown(&a.out),
            &a.now.oid[..12],
            &a.now.commit[..12]
        ));
    }
    super::report_commit(ui, report.commit.as_deref());
    Ok(ExitCode::SUCCESS)
}
