//! `mvc log`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::Artifact;
use mvc::ops::history::log;

use super::{human_size, shown, utc_time};
use crate::cli::Ui;

/// Show every commit that changed an artifact's pointer, newest first
#[derive(clap::Args)]
pub struct LogArgs {
    /// The artifact (or its pointer)
    path: PathBuf,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: LogArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let rel = repo.relative(cwd, &args.path)?;
    let rel = rel.strip_suffix(mvc::pointer::SUFFIX).map(str::to_string).unwrap_or(rel);
    let entries = log(&repo, &Artifact::from_rel(&rel))?;
    if entries.is_empty() && !ui.json() {
        anyhow::bail!(mvc::error::hinted(
            format!("no commit on this branch changed `{}`", shown(&rel)),
            "commit its pointer first, or check the path with `mvc ls`"
        ));
    }
    if ui.json() {
        let items: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "commit": e.commit, "time": e.time, "author": e.author, "message": e.summary, "tags": e.tags,
                    "oid": e.pointer.as_ref().map(|p| p.oid.to_hex()), "size": e.pointer.as_ref().map(|p| p.size),
                    "deleted": e.pointer.is_none(),
                })
            })
            .collect();
        ui.out_json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    if repo.git.is_shallow() {
        ui.warn("this clone is shallow: commits before its boundary are not listed (`git fetch --unshallow`)");
    }
    for e in &entries {
        let tags = if e.tags.is_empty() { String::new() } else { format!("  ({})", e.tags.join(", ")) };
        ui.out(format!("{}  {}  {}{tags}", &e.commit[..12], utc_time(e.time), e.author))?;
        ui.out(format!("    {}", e.summary))?;
        match &e.pointer {
            Some(p) => ui.out(format!("    {}  {}", p.oid.short(), human_size(p.size)))?,
            None => ui.out("    deleted")?,
        }
    }
    Ok(ExitCode::SUCCESS)
}
