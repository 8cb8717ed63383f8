//! `mvc completions`: the shell script that asks mvc itself for completions, so remote
//! names (`-r`/`--remote`) complete from this repository's config.

use std::process::ExitCode;

use crate::cli::Ui;

/// Print a shell completion script (e.g. `mvc completions bash > ~/.local/share/bash-completion/completions/mvc`)
#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    shell: clap_complete::Shell,
}

pub fn run(args: CompletionsArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    // The script calls back into `mvc` (`COMPLETE=SHELL mvc -- …`, handled first thing in
    // `cli::main`), so completions know the repository's remotes and stay in step with the
    // binary.
    let shells = clap_complete::env::Shells::builtins();
    let name = args.shell.to_string();
    let shell = shells.completer(&name).ok_or_else(|| anyhow::anyhow!("no completions for `{name}`"))?;
    let mut buf = Vec::new();
    shell.write_registration("COMPLETE", "mvc", "mvc", "mvc", &mut buf)?;
    ui.out(String::from_utf8_lossy(&buf).trim_end())?;
    Ok(ExitCode::SUCCESS)
}

/// Registry names (registered or declared) of the repository around the current directory.
pub fn registry_names() -> Vec<clap_complete::CompletionCandidate> {
    let Ok(cwd) = std::env::current_dir() else { return Vec::new() };
    let Ok(repo) = mvc::repo::Repo::open(&cwd) else { return Vec::new() };
    let Ok(registry) = mvc::registry_store::Registry::open(&repo) else { return Vec::new() };
    let names: std::collections::BTreeSet<&String> = registry.states.keys().chain(registry.declared.keys()).collect();
    names.into_iter().map(|n| clap_complete::CompletionCandidate::new(n.clone())).collect()
}

/// Remote names of the repository around the current directory, for `-r`/`--remote`.
pub fn remote_names() -> Vec<clap_complete::CompletionCandidate> {
    let Ok(cwd) = std::env::current_dir() else { return Vec::new() };
    let Ok(repo) = mvc::repo::Repo::open(&cwd) else { return Vec::new() };
    mvc::remote::backend::configured(&repo)
        .into_iter()
        .map(|rc| clap_complete::CompletionCandidate::new(rc.name))
        .collect()
}
