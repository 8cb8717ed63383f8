//! `mvc plots`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::compare::{Column, Selection, columns};
use mvc::ops::history::Side;
use mvc::ops::plots::{chart, step_chart};

use crate::cli::Ui;
use crate::cli::chart::{html, svg};

/// Draw metrics over versions, or step curves of runs, as line charts (SVG, or an HTML page
/// with the numbers); one panel per metric
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
    #[arg(long, conflicts_with = "steps")]
    by_date: bool,
    /// Draw step curves from step logs (x = step), one line per run: the `--rev`s given
    /// (experiment names, revisions, `workspace`), else every experiment and the workspace
    #[arg(long, conflicts_with = "versions")]
    steps: bool,
    /// Open the result in the default viewer
    #[arg(long)]
    open: bool,
    /// Also print what was drawn as JSON (the chart still goes to `--out`)
    #[arg(long)]
    pub json: bool,
}

/// `--json` output: where the chart went and what it holds.
#[derive(serde::Serialize)]
struct PlotsView<'a> {
    out: String,
    series: usize,
    panels: usize,
    labels: &'a [String],
    notes: &'a [String],
}

pub fn run(args: PlotsArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let chart = if args.steps {
        let cols = if args.revs.is_empty() {
            let mut cols: Vec<Column> = mvc::exp::list(&repo.git)?
                .into_iter()
                .map(|(name, commit)| Column {
                    label: name,
                    side: Side::Rev(commit.to_string()),
                    only: None,
                    time: None,
                })
                .collect();
            cols.push(Column { label: "workspace".into(), side: Side::Workspace, only: None, time: None });
            cols
        } else {
            columns(&repo, &Selection::Refs(args.revs.clone()))?
        };
        step_chart(&repo, &cols, &args.metrics)?
    } else {
        let selection = match args.versions {
            Some(name) => Selection::Versions(name),
            None if args.revs.is_empty() => anyhow::bail!(mvc::error::hinted(
                "plots need versions to draw",
                "give `--versions NAME` or `--rev REF` (several), or `--steps` for step curves of runs",
            )),
            None => Selection::Refs(args.revs),
        };
        chart(&repo, &columns(&repo, &selection)?, &args.metrics, args.by_date)?
    };
    let out = if args.out.is_absolute() { args.out.clone() } else { cwd.join(&args.out) };
    let text = match out.extension().and_then(|e| e.to_str()) {
        Some("svg") => svg(&chart),
        Some("html") | Some("htm") => html(&chart, &args.metrics.join(", ")),
        _ => anyhow::bail!("`{}` should end in .svg or .html", args.out.display()),
    };
    std::fs::write(&out, text).map_err(|e| anyhow::anyhow!("writing `{}`: {e}", args.out.display()))?;
    for note in chart.notes.iter().filter(|_| !ui.json()) {
        ui.warn(note);
    }
    let series = chart.series().count();
    if ui.json() {
        let view = PlotsView {
            out: args.out.display().to_string(),
            series,
            panels: chart.panels.len(),
            labels: &chart.labels,
            notes: &chart.notes,
        };
        ui.out_json(&view)?;
    }
    let over = if args.steps {
        format!("{} of step curves", super::count(chart.panels.len() as u64, "panel"))
    } else {
        super::count(chart.labels.len() as u64, "version")
    };
    ui.status(format!("wrote `{}` ({series} series over {over})", args.out.display()));
    if args.open {
        let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        if std::process::Command::new(opener).arg(&out).spawn().is_err() {
            ui.warn(format!("could not run `{opener}`; open `{}` yourself", args.out.display()));
        }
    }
    Ok(ExitCode::SUCCESS)
}
