//! The command line: clap types, dispatch, and turning errors into messages and exit codes.
//!
//! Exit codes are decided once, here ([`exit_code`]), from the error's types:
//! - 0: success, and a closed pipe (`mvc ls | head`): an `io::Error` of kind `BrokenPipe`
//!   anywhere in the chain.
//! - 2: usage errors: clap's, and a `-C DIR` that cannot be used.
//! - 255: internal errors, which the user's input did not cause and cannot fix: a panic
//!   (also one inside a tokio task, a `JoinError`), and an error whose root cause is a git2
//!   fault of its object database, index, objects, trees, zlib, threads or memory
//!   (`GenericError` code, so not "not found", "exists", "locked"; git2's `Os` class is left
//!   out, as it mostly means a permission or a missing file), or an `io::Error` whose
//!   kind names no condition of the user's files, disk or network (`Other`, `Unsupported`,
//!   `OutOfMemory`, `WriteZero`, or an uncategorised errno such as `EIO`).
//! - 1: everything else: an error carrying a [`mvc::error::Hinted`] (whatever its cause: the
//!   core has said what to do), the core's typed errors, messages the core raised itself, and
//!   I/O errors the user can act on (not found, permission denied, disk full, read-only
//!   filesystem, a symlink loop, connection refused, …).

mod chart;
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
    // `COMPLETE=bash mvc -- …` (from `mvc completions`): print completions and exit.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command).complete();
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
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commands::run(cli.command, &cwd, &ui)));
    let mut problems = false;
    for notice in mvc::notices::drain() {
        match notice.level {
            mvc::notices::Level::Warning => ui.warn(mvc::text::sanitize(&notice.message)),
            mvc::notices::Level::Problem => {
                problems = true;
                ui.error(&mvc::text::sanitize(&notice.message), notice.hint.as_deref());
            }
        }
    }
    match outcome {
        // A problem the command stepped over (an invalid pointer skipped) still fails it.
        Ok(Ok(code)) if problems && code == ExitCode::SUCCESS => ExitCode::from(1),
        Ok(Ok(code)) => code,
        Ok(Err(err)) => report_error(&ui, &err),
        Err(_) => ExitCode::from(INTERNAL),
    }
}

/// The exit code of an internal error (see the module docs).
const INTERNAL: u8 = 255;

#[allow(clippy::print_stderr)]
fn eprintln_internal() {
    eprintln!("error: mvc hit an internal error (a bug); please report it with the message above");
}

/// Prints an error with its causes and hint; returns the exit code for it.
fn report_error(ui: &Ui, err: &anyhow::Error) -> ExitCode {
    let code = exit_code(err);
    if code == 0 {
        return ExitCode::SUCCESS;
    }
    // git2 appends "; class=Odb (9); code=NotFound (-3)" to its messages: not for users.
    let text = |c: &(dyn std::error::Error + 'static)| match c.downcast_ref::<git2::Error>() {
        Some(e) => e.message().to_string(),
        None => c.to_string(),
    };
    let message = err.chain().map(text).collect::<Vec<_>>().join(": ");
    let hint = mvc::error::hint_of(err).or_else(|| err.chain().find_map(hint_for));
    let hint = match hint {
        None if code == INTERNAL => Some(
            "this is an internal error (a failing disk, damaged git data, or a bug in mvc), not a fault of your input"
                .into(),
        ),
        other => other,
    };
    ui.error(&mvc::text::sanitize(&message), hint.as_deref());
    ExitCode::from(code)
}

/// The exit code for an error: 0 for a closed pipe, 255 for internal errors, else 1 (the
/// rules are in the module docs).
fn exit_code(err: &anyhow::Error) -> u8 {
    use std::io::ErrorKind as K;
    let io_kind = |c: &(dyn std::error::Error + 'static)| c.downcast_ref::<std::io::Error>().map(|e| e.kind());
    if err.chain().any(|c| io_kind(c) == Some(K::BrokenPipe)) {
        return 0;
    }
    // Ctrl-C or SIGTERM during a transfer: the shell's convention for an interrupted command.
    if err.chain().any(|c| c.downcast_ref::<mvc::remote::Interrupted>().is_some()) {
        return 130;
    }
    if err.chain().any(|c| c.downcast_ref::<tokio::task::JoinError>().is_some()) {
        return INTERNAL;
    }
    if mvc::error::hint_of(err).is_some() {
        return 1;
    }
    let root = err.root_cause();
    if let Some(e) = root.downcast_ref::<git2::Error>() {
        use git2::ErrorClass as C;
        let fault = matches!(
            e.class(),
            C::NoMemory | C::Index | C::Odb | C::Zlib | C::Thread | C::Object | C::Tree | C::Indexer
        );
        return if fault && e.code() == git2::ErrorCode::GenericError { INTERNAL } else { 1 };
    }
    // A symlink loop, or a symlink refused by O_NOFOLLOW: the user's files (its kind,
    // `FilesystemLoop`, cannot be matched on stable Rust).
    if root.downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error) == Some(libc::ELOOP) {
        return 1;
    }
    match io_kind(root) {
        None => 1,
        Some(
            K::NotFound
            | K::PermissionDenied
            | K::AlreadyExists
            | K::StorageFull
            | K::QuotaExceeded
            | K::ReadOnlyFilesystem
            | K::FileTooLarge
            | K::IsADirectory
            | K::NotADirectory
            | K::DirectoryNotEmpty
            | K::InvalidFilename
            | K::InvalidInput
            | K::InvalidData
            | K::UnexpectedEof
            | K::TimedOut
            | K::Interrupted
            | K::WouldBlock
            | K::ResourceBusy
            | K::ExecutableFileBusy
            | K::CrossesDevices
            | K::TooManyLinks
            | K::ArgumentListTooLong
            | K::StaleNetworkFileHandle
            | K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NetworkDown
            | K::AddrInUse
            | K::AddrNotAvailable,
        ) => 1,
        Some(_) => INTERNAL,
    }
}

/// What to suggest for errors the core knows.
fn hint_for(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
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

    #[test]
    fn errors_are_classified_by_their_types() {
        use std::io::{Error, ErrorKind};

        use anyhow::Context;
        use git2::{ErrorClass, ErrorCode};
        let code = |r: anyhow::Result<()>| super::exit_code(&r.unwrap_err());
        let io = |kind: ErrorKind| -> anyhow::Result<()> { Err(Error::from(kind)).context("reading `x`") };
        assert_eq!(code(io(ErrorKind::BrokenPipe)), 0);
        assert_eq!(code(io(ErrorKind::NotFound)), 1);
        assert_eq!(code(io(ErrorKind::StorageFull)), 1);
        assert_eq!(code(io(ErrorKind::Other)), 255);
        assert_eq!(code(Err(Error::from_raw_os_error(libc::EIO)).context("reading `x`")), 255);
        assert_eq!(code(Err(Error::from_raw_os_error(libc::ELOOP)).context("opening `x`")), 1);
        assert_eq!(code(Err(Error::other("x")).context(mvc::error::hinted("known", "do this"))), 1);
        assert_eq!(code(Err(anyhow::anyhow!("`x` is not tracked"))), 1);
        let git = |code, class| -> anyhow::Result<()> { Err(git2::Error::new(code, class, "m")).context("git") };
        assert_eq!(code(git(ErrorCode::GenericError, ErrorClass::Odb)), 255);
        assert_eq!(code(git(ErrorCode::GenericError, ErrorClass::Index)), 255);
        assert_eq!(code(git(ErrorCode::NotFound, ErrorClass::Odb)), 1);
        assert_eq!(code(git(ErrorCode::GenericError, ErrorClass::Reference)), 1);
    }
}
