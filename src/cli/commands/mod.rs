//! One file per command: clap args, then build options, call the op, render the report.

mod add;
mod cat;
mod check_ignore;
mod checkout;
mod commit;
mod compare;
mod completions;
mod config;
mod diff;
mod doctor;
mod du;
mod exp;
mod fetch;
mod fsck;
mod gc;
mod get;
mod import;
mod import_dvc;
mod import_lfs;
mod init;
mod install;
mod log;
mod ls;
mod man;
mod meta_args;
mod metrics;
mod models;
mod r#move;
mod plots;
mod push;
mod register;
mod remote;
mod remove;
mod status;
mod transfer_args;
mod unprotect;
mod update;

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use super::Ui;

#[derive(Subcommand)]
pub enum Command {
    Init(init::InitArgs),
    Add(add::AddArgs),
    Status(status::StatusArgs),
    Checkout(checkout::CheckoutArgs),
    Commit(commit::CommitArgs),
    Remove(remove::RemoveArgs),
    Move(r#move::MoveArgs),
    Unprotect(unprotect::UnprotectArgs),
    CheckIgnore(check_ignore::CheckIgnoreArgs),
    Config(config::ConfigArgs),
    Remote(remote::RemoteArgs),
    Push(push::PushArgs),
    Fetch(fetch::FetchArgs),
    Pull(fetch::PullArgs),
    Get(get::GetArgs),
    Import(import::ImportArgs),
    Update(update::UpdateArgs),
    Cat(cat::CatArgs),
    ImportDvc(import_dvc::ImportDvcArgs),
    ImportLfs(import_lfs::ImportLfsArgs),
    Diff(diff::DiffArgs),
    Log(log::LogArgs),
    Ls(ls::LsArgs),
    Gc(gc::GcArgs),
    Fsck(fsck::FsckArgs),
    Du(du::DuArgs),
    Install(install::InstallArgs),
    Register(register::RegisterArgs),
    Promote(register::PromoteArgs),
    Rollback(register::RollbackArgs),
    Unassign(register::UnassignArgs),
    Deprecate(register::DeprecateArgs),
    Models(models::ModelsArgs),
    Show(models::ShowArgs),
    History(models::HistoryArgs),
    Check(models::CheckArgs),
    Lineage(models::LineageArgs),
    Metrics(metrics::MetricsArgs),
    Params(metrics::ParamsArgs),
    Compare(compare::CompareArgs),
    Plots(plots::PlotsArgs),
    Exp(exp::ExpArgs),
    #[command(hide = true)]
    MergeDriver(install::MergeDriverArgs),
    Completions(completions::CompletionsArgs),
    Doctor(doctor::DoctorArgs),
    Man(man::ManArgs),
}

impl Command {
    /// Whether the command was asked for `--json` (which silences status messages).
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Init(a) => a.json,
            Command::Add(a) => a.json,
            Command::Status(a) => a.json,
            Command::Checkout(a) => a.json,
            Command::Commit(a) => a.json,
            Command::Remove(a) => a.json,
            Command::Unprotect(a) => a.json,
            Command::Doctor(a) => a.json,
            Command::Install(a) => a.json,
            Command::Move(a) => a.json,
            Command::Config(a) => a.wants_json(),
            Command::Remote(a) => a.wants_json(),
            Command::Push(a) => a.args.json,
            Command::Fetch(a) => a.args.json,
            Command::Pull(a) => a.args.json,
            Command::Get(a) => a.json,
            Command::Import(a) => a.json,
            Command::Update(a) => a.json,
            Command::ImportDvc(a) => a.json,
            Command::ImportLfs(a) => a.json,
            Command::Diff(a) => a.json,
            Command::Log(a) => a.json,
            Command::Ls(a) => a.json,
            Command::Gc(a) => a.json,
            Command::Fsck(a) => a.json,
            Command::Du(a) => a.json,
            Command::Register(a) => a.json,
            Command::Promote(a) => a.tag.json,
            Command::Rollback(a) => a.tag.json,
            Command::Unassign(a) => a.tag.json,
            Command::Deprecate(a) => a.tag.json,
            Command::Models(a) => a.json,
            Command::Show(a) => a.json,
            Command::History(a) => a.json,
            Command::Check(a) => a.json,
            Command::Lineage(a) => a.json,
            Command::Metrics(a) => a.wants_json(),
            Command::Params(a) => a.wants_json(),
            Command::Compare(a) => a.format.json,
            Command::Plots(a) => a.json,
            Command::Exp(a) => a.wants_json(),
            Command::CheckIgnore(a) => a.json,
            _ => false,
        }
    }
}

/// Runs a parsed command from `cwd`.
pub fn run(command: Command, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init(args) => init::run(args, cwd, ui),
        Command::Add(args) => add::run(args, cwd, ui),
        Command::Status(args) => status::run(args, cwd, ui),
        Command::Checkout(args) => checkout::run(args, cwd, ui),
        Command::Commit(args) => commit::run(args, cwd, ui),
        Command::Remove(args) => remove::run(args, cwd, ui),
        Command::Move(args) => r#move::run(args, cwd, ui),
        Command::Unprotect(args) => unprotect::run(args, cwd, ui),
        Command::CheckIgnore(args) => check_ignore::run(args, cwd, ui),
        Command::Config(args) => config::run(args, cwd, ui),
        Command::Remote(args) => remote::run(args, cwd, ui),
        Command::Push(args) => push::run(args, cwd, ui),
        Command::Fetch(args) => fetch::run_fetch(args, cwd, ui),
        Command::Pull(args) => fetch::run_pull(args, cwd, ui),
        Command::Get(args) => get::run(args, cwd, ui),
        Command::Import(args) => import::run(args, cwd, ui),
        Command::Update(args) => update::run(args, cwd, ui),
        Command::Cat(args) => cat::run(args, cwd, ui),
        Command::ImportDvc(args) => import_dvc::run(args, cwd, ui),
        Command::ImportLfs(args) => import_lfs::run(args, cwd, ui),
        Command::Diff(args) => diff::run(args, cwd, ui),
        Command::Log(args) => log::run(args, cwd, ui),
        Command::Ls(args) => ls::run(args, cwd, ui),
        Command::Gc(args) => gc::run(args, cwd, ui),
        Command::Fsck(args) => fsck::run(args, cwd, ui),
        Command::Du(args) => du::run(args, cwd, ui),
        Command::Install(args) => install::run(args, cwd, ui),
        Command::Register(args) => register::run_register(args, cwd, ui),
        Command::Promote(args) => register::run_promote(args, cwd, ui),
        Command::Rollback(args) => register::run_rollback(args, cwd, ui),
        Command::Unassign(args) => register::run_unassign(args, cwd, ui),
        Command::Deprecate(args) => register::run_deprecate(args, cwd, ui),
        Command::Models(args) => models::run_models(args, cwd, ui),
        Command::Show(args) => models::run_show(args, cwd, ui),
        Command::History(args) => models::run_history(args, cwd, ui),
        Command::Check(args) => models::run_check(args, cwd, ui),
        Command::Lineage(args) => models::run_lineage(args, cwd, ui),
        Command::Metrics(args) => metrics::run_metrics(args, cwd, ui),
        Command::Params(args) => metrics::run_params(args, cwd, ui),
        Command::Compare(args) => compare::run(args, cwd, ui),
        Command::Plots(args) => plots::run(args, cwd, ui),
        Command::Exp(args) => exp::run(args, cwd, ui),
        Command::MergeDriver(args) => install::run_merge_driver(args, cwd, ui),
        Command::Completions(args) => completions::run(args, ui),
        Command::Doctor(args) => doctor::run(args, cwd, ui),
        Command::Man(args) => man::run(args, ui),
    }
}

/// Opens the project whose work tree holds `cwd` (every command but `init` and `get`).
pub fn open_repo(cwd: &Path) -> anyhow::Result<mvc::repo::Repo> {
    mvc::repo::Repo::open(cwd)
}

/// The line after a command that made a commit with `-m`.
pub fn report_commit(ui: &Ui, commit: Option<&str>) {
    if let Some(commit) = commit {
        ui.status(format!("Committed {}", &commit[..12.min(commit.len())]));
    }
}

/// Human-readable byte size: `1.5 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// The calendar date `(year, month, day)` of a day count since 1970-01-01
/// (Howard Hinnant's civil-from-days: no date crate for a few formats).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `2026-01-31 14:05` (UTC) for seconds since the epoch.
pub fn utc_time(secs: i64) -> String {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let minutes = secs.rem_euclid(86_400) / 60;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// `1 file`, `2 files`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// A path from a pointer or another person's commit, made safe to print.
pub fn shown(path: &str) -> String {
    mvc::text::sanitize(path)
}
