//! `mvc install`: git hooks that keep data in step with git (checkout after a branch switch
//! or merge, refuse commits of modified artifacts, push data before pointers leave), and a
//! merge driver for pointers. A user's existing hook is kept and chained, never overwritten;
//! `--uninstall` removes exactly what was added. Hooks belong to the git repository, so one
//! hook serves every project in it that ran `mvc install` (`# mvc-project: DIR` lines), running
//! mvc in each project's directory in turn.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::repo::Repo;

/// The line that marks a hook as ours.
const MARKER: &str = "# mvc-hook: installed by `mvc install`; `mvc install --uninstall` removes it";
/// The line naming a project (its directory relative to the git root, `.` for the root) that
/// a hook runs mvc in.
const PROJECT_LINE: &str = "# mvc-project: ";
/// Suffix of a user's hook that ours runs first.
const CHAINED: &str = ".pre-mvc";
/// Pointer files use the mvc merge driver (written to `.git/info/attributes`).
const ATTRIBUTES_LINE: &str = "*.mvc merge=mvc";

/// What `install` did, per hook.
#[derive(Debug, Default)]
pub struct InstallReport {
    /// The hooks directory.
    pub hooks_dir: PathBuf,
    /// Hooks written.
    pub installed: Vec<String>,
    /// Existing user hooks now chained before ours.
    pub chained: Vec<String>,
    /// Hooks removed (uninstall).
    pub removed: Vec<String>,
}

/// Installs (or with `uninstall`, removes) the hooks and the merge driver.
pub fn install(repo: &Repo, uninstall: bool) -> Result<InstallReport> {
    let dir = crate::git::hooks_dir(&repo.git);
    let mut report = InstallReport { hooks_dir: dir.clone(), ..Default::default() };
    let me = if repo.scope.is_root() { ".".to_string() } else { repo.scope.prefix().to_string() };
    if me.contains(['\n', '\r']) {
        anyhow::bail!("the project's directory name has a line break; hooks cannot name it");
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
    for name in HOOKS {
        let path = dir.join(name);
        let chained = dir.join(format!("{name}{CHAINED}"));
        let existing = fs::read_to_string(&path).ok();
        let ours = existing.as_deref().is_some_and(|t| t.contains(MARKER));
        let mut projects = if ours { projects_of(existing.as_deref().unwrap_or_default()) } else { Vec::new() };
        projects.retain(|p| *p != me);
        if uninstall {
            if ours && projects.is_empty() {
                fs::remove_file(&path).with_context(|| format!("removing `{}`", path.display()))?;
                report.removed.push(name.to_string());
                if chained.exists() {
                    fs::rename(&chained, &path).with_context(|| format!("restoring `{}`", path.display()))?;
                }
            } else if ours {
                write_hook(&path, name, &projects)?;
                report.removed.push(name.to_string());
            }
            continue;
        }
        projects.push(me.clone());
        projects.sort();
        if path.exists() && !ours {
            if chained.exists() {
                anyhow::bail!(crate::error::hinted(
                    format!("both `{}` and `{}` exist", path.display(), chained.display()),
                    "merge them by hand, then run `mvc install` again",
                ));
            }
            fs::rename(&path, &chained).with_context(|| format!("moving `{}` aside", path.display()))?;
            report.chained.push(name.to_string());
        }
        write_hook(&path, name, &projects)?;
        report.installed.push(name.to_string());
    }
    let others_remain =
        uninstall && HOOKS.iter().any(|name| fs::read_to_string(dir.join(name)).is_ok_and(|t| t.contains(MARKER)));
    if !others_remain {
        merge_driver(repo, uninstall)?;
    }
    Ok(report)
}

/// The projects a hook of ours serves; a hook from before projects were listed served the
/// root project.
fn projects_of(script: &str) -> Vec<String> {
    let listed: Vec<String> = script.lines().filter_map(|l| l.strip_prefix(PROJECT_LINE)).map(str::to_string).collect();
    if listed.is_empty() { vec![".".to_string()] } else { listed }
}

/// Writes the hook `name` running mvc in each of `projects` (git-root-relative directories;
/// git runs hooks at the work tree's root), one after the other, each in a subshell so its
/// `exit 0` ends only its own part. A failing part (pre-commit's refusal) fails the hook; a
/// project missing from the checked-out tree (a branch from before it, the commit deleting
/// it) is skipped.
fn write_hook(path: &std::path::Path, name: &str, projects: &[String]) -> Result<()> {
    let mut script = format!("#!/bin/sh\n{MARKER}\n");
    for p in projects {
        script.push_str(&format!("{PROJECT_LINE}{p}\n"));
    }
    script.push_str(&prelude(name));
    for p in projects {
        script.push_str(&format!(
            "( cd -- {} 2>/dev/null && [ -f .mvc/config ] || exit 0\n{}) || exit $?\n",
            crate::text::shell_quote(p),
            hook_body(name)
        ));
    }
    crate::fsutil::write_atomic(path, script.as_bytes(), 0o755)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Registers `mvc merge-driver` for `*.mvc` in this clone's git config and info/attributes.
fn merge_driver(repo: &Repo, uninstall: bool) -> Result<()> {
    let mut config = repo.git.config().context("opening git config")?.open_level(git2::ConfigLevel::Local)?;
    let attributes = repo.git.commondir().join("info").join("attributes");
    let existing = fs::read_to_string(&attributes).unwrap_or_default();
    let kept: Vec<&str> = existing.lines().filter(|l| *l != ATTRIBUTES_LINE).collect();
    let mut text = kept.join("\n");
    if uninstall {
        let _ = config.remove("merge.mvc.name");
        let _ = config.remove("merge.mvc.driver");
    } else {
        config.set_str("merge.mvc.name", "mvc pointer merge")?;
        config.set_str("merge.mvc.driver", "mvc merge-driver %O %A %B %P")?;
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(ATTRIBUTES_LINE);
    }
    if !text.is_empty() {
        text.push('\n');
    }
    if text != existing {
        fs::create_dir_all(attributes.parent().expect("has a parent"))?;
        crate::fsutil::write_atomic(&attributes, text.as_bytes(), 0o644)?;
    }
    Ok(())
}

/// The start of every hook: run the user's chained hook first (pre-push hands it the same
/// stdin), and skip with a warning when `mvc` is not on PATH, so a machine without mvc can
/// still use git.
fn prelude(name: &str) -> String {
    let run_chained = if name == "pre-push" {
        "input=\"$(cat)\"\nif [ -x \"$chained\" ]; then printf '%s\\n' \"$input\" | \"$chained\" \"$@\" || exit $?; fi"
    } else {
        "if [ -x \"$chained\" ]; then \"$chained\" \"$@\" || exit $?; fi"
    };
    format!(
        "chained=\"$(dirname \"$0\")/{name}{CHAINED}\"\n{run_chained}\n\
         if ! command -v mvc >/dev/null 2>&1; then\n    \
         echo \"mvc hook: \\`mvc\\` is not on PATH; skipping the {name} hook\" >&2\n    exit 0\nfi\n"
    )
}

const CHECKOUT: &str = r#"mvc checkout -q || echo "mvc hook: some artifacts could not be checked out (see above); \`mvc pull\` fetches missing data" >&2
exit 0
"#;

const POST_CHECKOUT: &str = r#"# Branch switches only ($3 = 1), and not while a rebase replays commits.
[ "$3" = 1 ] || exit 0
git_dir="$(git rev-parse --git-dir)"
if [ -d "$git_dir/rebase-merge" ] || [ -d "$git_dir/rebase-apply" ]; then exit 0; fi
"#;

const PRE_COMMIT: &str = r#"# Only a project this commit changes (another project's edits are not this commit's).
if git diff --cached --quiet -- .; then exit 0; fi
if ! mvc status --check=modified >&2; then
    echo "mvc: tracked artifacts changed since their pointers were written; record them with \`mvc commit\` (or restore them with \`mvc checkout\`), then commit again" >&2
    exit 1
fi
"#;

const PRE_PUSH: &str = r#"if [ -z "$(mvc remote list 2>/dev/null)" ]; then
    echo "mvc hook: no mvc remote is configured; data is not pushed" >&2
    exit 0
fi
# Push the data of exactly the commits and tags being pushed (deletions have a zero id).
set --
zero="0000000000000000000000000000000000000000"
while read -r local_ref local_oid remote_ref remote_oid; do
    if [ -n "$local_oid" ] && [ "$local_oid" != "$zero" ]; then set -- "$@" --rev "$local_oid"; fi
done <<EOF
$input
EOF
[ $# -eq 0 ] && exit 0
exec mvc push -q "$@"
"#;

/// Each hook's own part, after the prelude.
fn hook_body(name: &str) -> String {
    match name {
        "post-checkout" => format!("{POST_CHECKOUT}{CHECKOUT}"),
        "post-merge" => CHECKOUT.to_string(),
        "pre-commit" => PRE_COMMIT.to_string(),
        "pre-push" => PRE_PUSH.to_string(),
        _ => unreachable!("unknown hook {name}"),
    }
}

/// The hooks mvc installs.
const HOOKS: [&str; 4] = ["post-checkout", "post-merge", "pre-commit", "pre-push"];
