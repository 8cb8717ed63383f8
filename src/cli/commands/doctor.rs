//! `mvc doctor`.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::doctor::doctor;

use crate::cli::Ui;

/// Show this mvc's version, backends, cache, and which link modes work here
#[derive(clap::Args)]
pub struct DoctorArgs {
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `--json` output.
#[derive(serde::Serialize)]
struct DoctorView {
    version: &'static str,
    libgit2: String,
    backends: Vec<&'static str>,
    project: Option<String>,
    cache: Option<String>,
    cache_shared: bool,
    link_modes: Vec<LinkView>,
    link_order: Vec<&'static str>,
}

#[derive(serde::Serialize)]
struct LinkView {
    mode: &'static str,
    works: bool,
}

pub fn run(_args: DoctorArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let r = doctor(cwd);
    let view = DoctorView {
        version: r.version,
        libgit2: r.libgit2,
        backends: r.backends,
        project: r.project.map(|p| p.display().to_string()),
        cache: r.cache.map(|p| p.display().to_string()),
        cache_shared: r.cache_shared,
        link_modes: r.link_modes.iter().map(|(m, ok)| LinkView { mode: m.as_str(), works: *ok }).collect(),
        link_order: r.link_order.iter().map(|m| m.as_str()).collect(),
    };
    if ui.json() {
        ui.out_json(&view)?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.out(format!("mvc {} (libgit2 {})", view.version, view.libgit2))?;
    ui.out(format!("backends: {}", view.backends.join(", ")))?;
    match (&view.project, &view.cache) {
        (Some(project), Some(cache)) => {
            ui.out(format!("project: {project}"))?;
            let shared = if view.cache_shared { " (shared, from cache.dir)" } else { "" };
            ui.out(format!("cache: {cache}{shared}"))?;
            let modes: Vec<String> = view
                .link_modes
                .iter()
                .map(|l| format!("{} {}", l.mode, if l.works { "works" } else { "unavailable" }))
                .collect();
            ui.out(format!("link modes here: {}", modes.join(", ")))?;
            ui.out(format!("core.link: {}", view.link_order.join(", ")))?;
        }
        _ => ui.out("project: none (not inside an mvc project)")?,
    }
    Ok(ExitCode::SUCCESS)
}
