//! Flags shared by push, fetch and pull (and the selection part of status).

use std::path::PathBuf;

use mvc::revs::RevSelection;

/// Which artifacts and revisions, and which remote.
#[derive(clap::Args)]
pub struct TransferArgs {
    /// Artifacts, or paths inside a tracked directory; default: all
    #[arg(value_name = "TARGET")]
    pub targets: Vec<PathBuf>,
    /// The remote to use (default: `core.remote`)
    #[arg(short = 'r', long = "remote", value_name = "NAME", add = clap_complete::ArgValueCandidates::new(super::completions::remote_names))]
    pub remote: Option<String>,
    /// Concurrent transfers (default: the remote's `jobs`, else `core.jobs`)
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub revs: RevArgs,
    /// Print a JSON summary
    #[arg(long)]
    pub json: bool,
}

/// Revision selection.
#[derive(clap::Args)]
pub struct RevArgs {
    /// Use the pointers at this git revision instead of the workspace (repeatable)
    #[arg(long = "rev", value_name = "REV")]
    pub revs: Vec<String>,
    /// Use the pointers at every local branch head
    #[arg(long)]
    pub all_branches: bool,
    /// Use the pointers at every tag
    #[arg(long)]
    pub all_tags: bool,
    /// Use the pointers at every commit reachable from a ref
    #[arg(long)]
    pub all_commits: bool,
    /// Use the pointers of every experiment (`mvc exp show` lists them)
    #[arg(long)]
    pub all_experiments: bool,
}

impl RevArgs {
    pub fn selection(&self) -> RevSelection {
        RevSelection {
            revs: self.revs.clone(),
            all_branches: self.all_branches,
            all_tags: self.all_tags,
            all_commits: self.all_commits,
            all_experiments: self.all_experiments,
        }
    }
}

/// The one async runtime of a command that talks to remotes. It also listens for SIGINT and
/// SIGTERM: a running transfer is stopped (in-flight requests cancelled, multipart uploads
/// aborted) and the command exits with 130; with no transfer running, or on a second
/// signal, the process exits at once.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
            return;
        };
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if !mvc::remote::interrupt_active() {
                std::process::exit(130);
            }
        }
    });
    Ok(rt)
}

/// What `--remote` without a name stands for: its old spelling as a switch.
const OLD_SWITCH: &str = "\u{1}";

/// `-c`/`--cloud` (also look at the default remote, as DVC spells it) or `-r`/`--remote NAME`
/// (look at that remote). `--remote` without a name, the old switch, still means the default
/// remote for one release, with a deprecation line.
#[derive(clap::Args)]
pub struct RemoteChoice {
    /// Also look at the default remote
    #[arg(short = 'c', long = "cloud")]
    default_remote: bool,
    /// Also look at this remote
    #[arg(
        short = 'r',
        long = "remote",
        value_name = "NAME",
        num_args = 0..=1,
        default_missing_value = OLD_SWITCH,
        conflicts_with = "default_remote",
        add = clap_complete::ArgValueCandidates::new(super::completions::remote_names)
    )]
    named: Option<String>,
}

impl RemoteChoice {
    /// None when no remote was asked for; `Some("")` for the default remote.
    pub fn selected(&self) -> Option<String> {
        match (&self.named, self.default_remote) {
            (Some(name), _) if name == OLD_SWITCH => {
                mvc::notices::warn(
                    "`--remote` without a name is deprecated; use `-c` (the default remote) or `-r NAME`",
                );
                Some(String::new())
            }
            (Some(name), _) => Some(name.clone()),
            (None, true) => Some(String::new()),
            (None, false) => None,
        }
    }
}
