//! The command line: clap types, dispatch, and turning errors into messages and exit codes
//! (1 for known problems, 2 for usage errors, 255 for internal errors; a closed pipe is 0).

mod commands;
mod table;
mod ui;

use std::process::ExitCode;

use clap::Parser;

pub use ui::Ui;

/// Model version control: version large model and data files next to code in git
#[derive(Parser)]
#[command(name = "mvc", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: commands::Command,
    /// Print only data and errors
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Run as if mvc was started in this directory
    #[arg(short = 'C', value_name = "DIR", global = true)]
    directory: Option<std::path::PathBuf>,
}

/// Parses arguments, runs the command, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        eprintln_internal();
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let cwd = match &cli.directory {
        Some(dir) => match std::fs::canonicalize(dir) {
            Ok(d) => d,
            Err(e) => {
                Ui::new(false, false).error(&format!("cannot use `-C {}`: {e}", dir.display()), None);
                return ExitCode::from(2);
            }
        },
        None => match std::env::current_dir() {
            Ok(d) => d,
            Err(e) => {
                Ui::new(false, false).error(&format!("cannot read the current directory: {e}"), None);
                return ExitCode::from(1);
            }
        },
    };
    let json = cli.command.wants_json();
    let ui = Ui::new(cli.quiet, json);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commands::run(cli.command, &cwd, &ui))) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => report_error(&ui, &err),
        Err(_) => ExitCode::from(255),
    }
}

#[allow(clippy::print_stderr)]
fn eprintln_internal() {
    eprintln!("error: mvc hit an internal error (a bug); please report it with the message above");
}

/// Prints an error with its causes and hint; returns the exit code for it.
fn report_error(ui: &Ui, err: &anyhow::Error) -> ExitCode {
    if err
        .chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
    {
        return ExitCode::SUCCESS;
    }
    let message = err.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ");
    let hint = err.chain().find_map(hint_for);
    ui.error(&mvc::text::sanitize(&message), hint.as_deref());
    if err.chain().any(|c| c.downcast_ref::<mvc::remote::Interrupted>().is_some()) {
        return ExitCode::from(130);
    }
    ExitCode::from(1)
}

/// What to suggest for errors the core knows.
fn hint_for(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(h) = cause.downcast_ref::<mvc::error::Hinted>() {
        return Some(h.hint.clone());
    }
    if cause.downcast_ref::<mvc::repo::NotAGitRepo>().is_some() {
        return Some("mvc versions data inside a git repository: run `git init` first".into());
    }
    if cause.downcast_ref::<mvc::repo::NotInitialized>().is_some() {
        return Some("run `mvc init` at the root of the repository".into());
    }
    if cause.downcast_ref::<mvc::repo::LockBusy>().is_some() {
        return Some("wait for it to finish; if no mvc is running, the lock is released automatically".into());
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
