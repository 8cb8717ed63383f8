//! `mvc plots`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::compare::{Selection, columns};
use mvc::ops::plots::{chart, html, svg};

use crate::cli::Ui;

/// Draw metrics over versions as a line chart (SVG, or an HTML page with a table)
#[derive(clap::Args)]
pub struct PlotsArgs {
    /// Metrics to draw (flattened keys such as `loss.val`)
    #[arg(required = true)]
    metrics: Vec<String>,
    /// One point per registered version of this artifact
    #[arg(long, value_name = "NAME", conflicts_with = "revs")]
    versions: Option<String>,
    /// One point per revision or registry reference (repeatable)
    #[arg(long = "rev", value_name = "REF")]
    revs: Vec<String>,
    /// Output file: `.svg` or `.html` (default: plots.html)
    #[arg(short, long, value_name = "FILE", default_value = "plots.html")]
    out: PathBuf,
    /// Space the points by commit date instead of evenly by version
    #[arg(long)]
    by_date: bool,
    /// Open the result in the default viewer
    #[arg(long)]
    open: bool,
}

pub fn run(args: PlotsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let selection = match args.versions {
        Some(name) => Selection::Versions(name),
        None if args.revs.is_empty() => anyhow::bail!(mvc::error::hinted(
            "plots need versions to draw",
            "give `--versions NAME` or `--rev REF` (several)",
        )),
        None => Selection::Refs(args.revs),
    };
    let cols = columns(&repo, &selection)?;
    let chart = chart(&repo, &cols, &args.metrics, args.by_date)?;
    let out = if args.out.is_absolute() { args.out.clone() } else { cwd.join(&args.out) };
    let text = match out.extension().and_then(|e| e.to_str()) {
        Some("svg") => svg(&chart),
        Some("html") | Some("htm") => html(&chart, &args.metrics.join(", ")),
        _ => anyhow::bail!("`{}` should end in .svg or .html", args.out.display()),
    };
    std::fs::write(&out, text).map_err(|e| anyhow::anyhow!("writing `{}`: {e}", args.out.display()))?;
    for note in &chart.notes {
        ui.warn(note);
    }
    ui.status(format!(
        "wrote `{}` ({} series over {})",
        args.out.display(),
        chart.series.len(),
        super::count(chart.labels.len() as u64, "version")
    ));
    if args.open {
        let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        if std::process::Command::new(opener).arg(&out).spawn().is_err() {
            ui.warn(format!("could not run `{opener}`; open `{}` yourself", args.out.display()));
        }
    }
    Ok(ExitCode::SUCCESS)
}
