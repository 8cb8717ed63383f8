//! `mvc du`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::du::du;

use super::{count, human_size};
use crate::cli::Ui;

/// Show what a remote stores against what it holds (logical vs stored bytes)
#[derive(clap::Args)]
pub struct DuArgs {
    /// The remote (default: the default remote)
    #[arg(short, long, value_name = "NAME", add = clap_complete::ArgValueCandidates::new(super::completions::remote_names))]
    remote: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `--json` output.
#[derive(serde::Serialize)]
struct DuView<'a> {
    remote: &'a str,
    layout: &'a str,
    workspace_bytes: u64,
    objects: u64,
    logical_bytes: u64,
    stored_bytes: u64,
    packs: u64,
    recipes: u64,
}

pub fn run(args: DuArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let r = du(&repo, args.remote.as_deref(), &super::transfer_args::runtime()?)?;
    if ui.json() {
        ui.out_json(&DuView {
            remote: &r.remote,
            layout: r.layout,
            workspace_bytes: r.workspace_bytes,
            objects: r.objects,
            logical_bytes: r.logical_bytes,
            stored_bytes: r.stored_bytes,
            packs: r.packs,
            recipes: r.recipes,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let share = (r.stored_bytes * 100).checked_div(r.logical_bytes).unwrap_or(100);
    ui.out(format!("remote     {} ({})", r.remote, r.layout))?;
    ui.out(format!("logical    {}  in {}", human_size(r.logical_bytes), count(r.objects, "object")))?;
    let stored_in = if r.layout == "chunked" {
        format!("{} and {}", count(r.packs, "pack"), count(r.recipes, "recipe"))
    } else {
        count(r.objects, "object")
    };
    ui.out(format!("stored     {}  in {stored_in} ({share}% of logical)", human_size(r.stored_bytes)))?;
    ui.out(format!("workspace  {}", human_size(r.workspace_bytes)))?;
    Ok(ExitCode::SUCCESS)
}
