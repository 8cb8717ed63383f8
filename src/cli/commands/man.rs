//! `mvc man`: manual pages generated from the command line's own definition.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Ui};

/// Write man pages (`mvc.1`, `mvc-add.1`, …) into a directory, e.g. `~/.local/share/man/man1`
#[derive(clap::Args)]
pub struct ManArgs {
    /// Where to write them
    #[arg(value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: ManArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd, &args.out)?;
    let count = std::fs::read_dir(&args.out)?
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "1")))
        .count();
    ui.status(format!("wrote {} to `{}`", super::count(count as u64, "man page"), args.out.display()));
    Ok(ExitCode::SUCCESS)
}
