//! `mvc completions`.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Ui};

/// Print a shell completion script (e.g. `mvc completions bash > ~/.local/share/bash-completion/completions/mvc`)
#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    shell: clap_complete::Shell,
}

pub fn run(args: CompletionsArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "mvc", &mut buf);
    ui.out(String::from_utf8_lossy(&buf).trim_end())?;
    Ok(ExitCode::SUCCESS)
}
