//! `mvc diff`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mvc::ops::history::{Change, DiffEntry, Side, diff, filters};
use mvc::pointer::Pointer;

use super::{human_size, shown};
use crate::cli::Ui;

/// Show artifacts added, modified or deleted between two revisions (default: HEAD and the
/// workspace's data, committed to the cache or not)
#[derive(clap::Args)]
pub struct DiffArgs {
    /// Up to two revisions, then artifact paths to limit the comparison to
    #[arg(value_name = "REV_A [REV_B] [PATH]")]
    args: Vec<String>,
    /// For directories, list the files that changed inside them (manifests from the cache or the default remote)
    #[arg(long)]
    granular: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: DiffArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    // Leading arguments that name revisions (and not files) are revisions; the rest are paths.
    let mut revs = Vec::new();
    let mut paths = Vec::new();
    for a in args.args {
        let is_rev =
            paths.is_empty() && revs.len() < 2 && !cwd.join(&a).exists() && mvc::revs::resolve(&repo.git, &a).is_ok();
        if is_rev { revs.push(a) } else { paths.push(PathBuf::from(a)) }
    }
    let (old, new) = match revs.as_slice() {
        [] => (Side::Rev("HEAD".into()), Side::Workspace),
        [a] => (Side::Rev(a.clone()), Side::Workspace),
        [a, b, ..] => (Side::Rev(a.clone()), Side::Rev(b.clone())),
    };
    let filters = filters(&repo, cwd, &paths)?;
    // A word that is neither a revision nor a tracked path is a typo, not an empty diff.
    for (typed, f) in paths.iter().zip(&filters) {
        let known = |side: &Side| {
            mvc::ops::history::pointers(&repo, side)
                .is_ok_and(|p| p.keys().any(|a| f.is_empty() || a == f || a.starts_with(&format!("{f}/"))))
        };
        if !known(&old) && !known(&new) {
            anyhow::bail!(mvc::error::hinted(
                format!("`{}` is neither a revision nor a tracked path", typed.display()),
                if repo.git.is_shallow() {
                    "this clone is shallow, so older commits are not here: `git fetch --unshallow` fetches them"
                } else {
                    "list revisions with `git log --oneline`, artifacts with `mvc ls`"
                },
            ));
        }
    }
    let rt = if args.granular { Some(super::transfer_args::runtime()?) } else { None };
    let entries = diff(&repo, &old, &new, &filters, rt.as_ref(), &ui.reporter())?;
    if ui.json() {
        let changes: Vec<serde_json::Value> = entries.iter().map(to_json).collect();
        ui.out_json(&serde_json::json!({"old": old.label(), "new": new.label(), "changes": changes}))?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in &entries {
        render(ui, e)?;
    }
    if entries.is_empty() {
        ui.status(format!("no artifact changed between {} and {}", old.label(), new.label()));
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(p: &Pointer) -> String {
    match p.nfiles {
        Some(n) => format!("{}, {}", super::count(n, "file"), human_size(p.size)),
        None => human_size(p.size),
    }
}

fn render(ui: &Ui, e: &DiffEntry) -> std::io::Result<()> {
    let path = shown(&e.path);
    match (e.change, &e.old, &e.new) {
        (Change::Added, _, Some(n)) => ui.out(format!("added:     {path}  ({})  {}", describe(n), n.oid.short()))?,
        (Change::Deleted, Some(o), _) => ui.out(format!("deleted:   {path}  ({})  {}", describe(o), o.oid.short()))?,
        (_, Some(o), Some(n)) => ui.out(format!(
            "modified:  {path}  ({} -> {})  {} -> {}",
            describe(o),
            describe(n),
            o.oid.short(),
            n.oid.short()
        ))?,
        _ => {}
    }
    if let Some(f) = &e.files {
        let lines = f
            .added
            .iter()
            .map(|p| ("added", p))
            .chain(f.modified.iter().map(|p| ("modified", p)))
            .chain(f.deleted.iter().map(|p| ("deleted", p)));
        for (what, p) in lines {
            ui.out(format!("    {what}: {path}/{}", shown(p)))?;
        }
    }
    Ok(())
}

fn side_json(p: &Option<Pointer>) -> serde_json::Value {
    match p {
        Some(p) => {
            serde_json::json!({"kind": p.kind.as_str(), "oid": p.oid.to_hex(), "size": p.size, "nfiles": p.nfiles})
        }
        None => serde_json::Value::Null,
    }
}

fn to_json(e: &DiffEntry) -> serde_json::Value {
    let mut v = serde_json::json!({
        "path": e.path, "change": e.change.as_str(), "old": side_json(&e.old), "new": side_json(&e.new),
    });
    if let Some(f) = &e.files {
        v["files"] = serde_json::json!({"added": f.added, "modified": f.modified, "deleted": f.deleted});
    }
    v
}
