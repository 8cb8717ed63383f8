//! `exp push` / `exp pull`: experiment refs through the `git` executable (so credential
//! helpers and SSH config apply), their data through mvc's remote. Data goes up before the
//! refs that name it, and refs come down before their data is fetched.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::error::hinted;
use crate::exp;
use crate::progress::Reporter;
use crate::repo::Repo;
use crate::revs::RevSelection;

/// What to move and where.
#[derive(Debug, Clone, Default)]
pub struct ExpTransferOptions {
    /// Experiments (empty: all of them).
    pub names: Vec<String>,
    /// The git remote the refs go to or come from.
    pub git_remote: String,
    /// The mvc remote for the data (default: `core.remote`).
    pub remote: Option<String>,
    /// Concurrency override.
    pub jobs: Option<usize>,
}

/// What `exp push` did.
pub struct ExpPushReport {
    /// Experiments pushed.
    pub names: Vec<String>,
    /// The data pushed (None when the experiments track no data).
    pub data: Option<crate::ops::push::PushReport>,
}

/// What `exp pull` did.
pub struct ExpPullReport {
    /// Experiments fetched.
    pub names: Vec<String>,
    /// The data fetched into the cache (None when they track no data).
    pub data: Option<crate::ops::fetch::FetchReport>,
}

fn check_git_remote(name: &str) -> Result<()> {
    if name.is_empty() || name.starts_with('-') {
        bail!("`{}` is not a git remote", crate::text::sanitize(name));
    }
    Ok(())
}

/// Whether any of `commits` has a pointer (else there is no data to move).
fn has_pointers(repo: &Repo, commits: &[git2::Oid]) -> Result<bool> {
    for c in commits {
        if !crate::revs::artifacts_at(&repo.git, &repo.scope, *c)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs `git` in the work tree; its error output becomes the error.
fn git(repo: &Repo, args: &[String], what: &str) -> Result<()> {
    let output = Command::new("git")
        .current_dir(&repo.root)
        .args(args)
        .output()
        .with_context(|| format!("running `git` to {what}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(hinted(
            format!("`git` could not {what}: {}", crate::text::sanitize(stderr.trim())),
            "check the git remote with `git remote -v`",
        ));
    }
    Ok(())
}

/// Runs `mvc exp push`.
pub fn push(
    repo: &Repo,
    opts: &ExpTransferOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<ExpPushReport> {
    check_git_remote(&opts.git_remote)?;
    let chosen: Vec<(String, git2::Oid)> = if opts.names.is_empty() {
        exp::list(&repo.git)?
    } else {
        opts.names.iter().map(|n| Ok((n.clone(), super::commit_of(repo, n)?))).collect::<Result<_>>()?
    };
    if chosen.is_empty() {
        bail!(hinted("there are no experiments to push", "save one with `mvc exp run` or `mvc exp save`"));
    }
    let commits: Vec<git2::Oid> = chosen.iter().map(|(_, c)| *c).collect();
    let data = if has_pointers(repo, &commits)? {
        let push_opts = crate::ops::push::PushOptions {
            targets: Vec::new(),
            cwd: repo.root.clone(),
            remote: opts.remote.clone(),
            jobs: opts.jobs,
            revs: RevSelection { revs: commits.iter().map(|c| c.to_string()).collect(), ..Default::default() },
            verify: false,
        };
        Some(crate::ops::push::push(repo, &push_opts, rt, reporter)?)
    } else {
        None
    };
    let mut args: Vec<String> = vec!["push".into(), "--quiet".into(), "--".into(), opts.git_remote.clone()];
    args.extend(chosen.iter().map(|(n, _)| format!("+{r}:{r}", r = exp::ref_name(n))));
    git(repo, &args, "push the experiments")?;
    Ok(ExpPushReport { names: chosen.into_iter().map(|(n, _)| n).collect(), data })
}

/// Runs `mvc exp pull`: the refs, then their data into the cache (the workspace is left
/// alone; `mvc exp apply` brings one in).
pub fn pull(
    repo: &Repo,
    opts: &ExpTransferOptions,
    rt: &tokio::runtime::Runtime,
    reporter: &dyn Reporter,
) -> Result<ExpPullReport> {
    check_git_remote(&opts.git_remote)?;
    for n in &opts.names {
        exp::check_name(n)?;
    }
    let before: std::collections::HashMap<String, git2::Oid> = exp::list(&repo.git)?.into_iter().collect();
    let mut args: Vec<String> = vec!["fetch".into(), "--quiet".into(), "--".into(), opts.git_remote.clone()];
    if opts.names.is_empty() {
        args.push(format!("+{p}*:{p}*", p = exp::REF_PREFIX));
    } else {
        args.extend(opts.names.iter().map(|n| format!("+{r}:{r}", r = exp::ref_name(n))));
    }
    git(repo, &args, "fetch the experiments")?;
    let after = exp::list(&repo.git)?;
    let pulled: Vec<(String, git2::Oid)> = after
        .into_iter()
        .filter(|(n, c)| if opts.names.is_empty() { before.get(n) != Some(c) } else { opts.names.contains(n) })
        .collect();
    let commits: Vec<git2::Oid> = pulled.iter().map(|(_, c)| *c).collect();
    let data = if !commits.is_empty() && has_pointers(repo, &commits)? {
        let fetch_opts = crate::ops::fetch::FetchOptions {
            targets: Vec::new(),
            cwd: repo.root.clone(),
            remote: opts.remote.clone(),
            jobs: opts.jobs,
            revs: RevSelection { revs: commits.iter().map(|c| c.to_string()).collect(), ..Default::default() },
            force: false,
        };
        Some(crate::ops::fetch::fetch(repo, &fetch_opts, rt, reporter)?)
    } else {
        None
    };
    Ok(ExpPullReport { names: pulled.into_iter().map(|(n, _)| n).collect(), data })
}
