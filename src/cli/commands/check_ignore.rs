//! `mvc check-ignore`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::check_ignore::{CheckIgnoreOptions, check_ignore};

use super::shown;
use crate::cli::Ui;

/// Print the paths that `.mvcignore` makes mvc skip inside tracked directories; exit 1 when
/// none is
#[derive(clap::Args)]
pub struct CheckIgnoreArgs {
    /// Paths to check
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also show the deciding pattern as `FILE:LINE:PATTERN<TAB>PATH` (negated matches too)
    #[arg(short, long)]
    verbose: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CheckIgnoreArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let checked = check_ignore(&repo, &CheckIgnoreOptions { paths: args.paths, cwd: cwd.to_path_buf() })?;
    let any = checked.iter().any(|c| c.ignored());
    if ui.json() {
        let paths: Vec<serde_json::Value> = checked
            .iter()
            .map(|c| {
                let source = c.matched.as_ref().map(
                    |m| serde_json::json!({"file": m.file, "line": m.line, "pattern": m.pattern, "negated": m.negated}),
                );
                serde_json::json!({"path": c.rel, "ignored": c.ignored(), "source": source})
            })
            .collect();
        ui.out_json(&serde_json::json!({ "paths": paths }))?;
    } else {
        for c in &checked {
            let path = shown(&c.path.display().to_string());
            match &c.matched {
                Some(m) if args.verbose => {
                    ui.out(format!("{}:{}:{}\t{path}", shown(&m.file), m.line, shown(&m.pattern)))?
                }
                Some(m) if !m.negated => ui.out(path)?,
                _ => {}
            }
        }
    }
    Ok(if any { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
