//! `mvc register`, `promote`, `rollback`, `unassign`, `deprecate`: the registry's write
//! commands, each creating one annotated tag.

use std::path::Path;
use std::process::ExitCode;

use mvc::ops::registry::{Created, RegisterOptions, StageOptions, deprecate, promote, register, rollback, unassign};
use mvc::registry::{Bump, Version};

use crate::cli::Ui;

fn parse_version(s: &str) -> Result<Version, String> {
    Version::parse(s).ok_or_else(|| format!("`{s}` is not a version like v1.2.3 or v1.0.0-rc.1"))
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BumpArg {
    Major,
    Minor,
    Patch,
}

/// Register a new version of an artifact (a `NAME@vX.Y.Z` tag on the commit)
#[derive(clap::Args)]
pub struct RegisterArgs {
    /// The registry name
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::registry_names))]
    name: String,
    /// The artifact's path (needed the first time, to declare it in artifacts.yaml)
    path: Option<String>,
    /// The version (default: v0.1.0 first, then a patch bump)
    #[arg(long, value_parser = parse_version, conflicts_with = "bump")]
    version: Option<Version>,
    /// Bump the latest version
    #[arg(long, value_enum)]
    bump: Option<BumpArg>,
    /// The artifact's type, for the declaration
    #[arg(long = "type", default_value = "model", value_parser = ["model", "dataset"])]
    kind: String,
    /// A description, for the declaration
    #[arg(long, value_name = "TEXT")]
    desc: Option<String>,
    /// The tag message
    #[arg(short, long)]
    message: Option<String>,
    /// Register this commit instead of HEAD
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
    /// Register even if the data is not on the default remote
    #[arg(long)]
    allow_unpushed: bool,
    /// Push the tag to git's `origin`
    #[arg(long)]
    push: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run_register(args: RegisterArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let opts = RegisterOptions {
        name: args.name,
        path: args.path,
        kind: args.kind,
        description: args.desc,
        version: args.version,
        bump: args.bump.map(|b| match b {
            BumpArg::Major => Bump::Major,
            BumpArg::Minor => Bump::Minor,
            BumpArg::Patch => Bump::Patch,
        }),
        message: args.message,
        rev: args.rev,
        allow_unpushed: args.allow_unpushed,
        push: args.push,
    };
    let created = register(&repo, &opts, &super::transfer_args::runtime()?)?;
    if let Some(commit) = &created.declared_in {
        ui.status(format!("declared `{}` in artifacts.yaml (commit {})", opts.name, &commit[..12]));
    }
    report(ui, "registered", &created)
}

fn report(ui: &Ui, verb: &str, created: &Created) -> anyhow::Result<ExitCode> {
    if ui.json() {
        ui.out_json(&serde_json::json!({
            "tag": created.tag, "commit": created.commit, "pushed": created.pushed,
            "version": created.version.as_ref().map(|v| v.to_string()), "declared_in": created.declared_in,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    ui.status(format!("{verb} `{}` on commit {}", created.tag, &created.commit[..12]));
    if !created.pushed {
        ui.status(format!(
            "share it with `git push origin {}`",
            mvc::text::shell_quote(&format!("refs/tags/{}", created.tag))
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Options shared by the stage commands.
#[derive(clap::Args)]
pub struct TagArgs {
    /// The tag message
    #[arg(short, long)]
    message: Option<String>,
    /// Push the tag to git's `origin`
    #[arg(long)]
    push: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// Assign a stage (staging, production, ...) to a version
#[derive(clap::Args)]
pub struct PromoteArgs {
    /// The registry name
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::registry_names))]
    name: String,
    /// The version to promote
    #[arg(value_parser = parse_version)]
    version: Version,
    /// The stage
    #[arg(long = "to", value_name = "STAGE")]
    stage: String,
    /// Assign the stage even if this version already has it (as GTO's `--force`)
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    pub tag: TagArgs,
}

pub fn run_promote(args: PromoteArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let mut opts = stage_options(args.name, args.stage, Some(args.version), &args.tag);
    opts.force = args.force;
    report(ui, "promoted", &promote(&repo, &opts)?)
}

/// Give a stage back to the version that held it before (or to --to VERSION)
#[derive(clap::Args)]
pub struct RollbackArgs {
    /// The registry name
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::registry_names))]
    name: String,
    /// The stage to roll back
    #[arg(long, value_name = "STAGE")]
    stage: String,
    /// The version to roll back to (default: the previous holder)
    #[arg(long = "to", value_parser = parse_version)]
    version: Option<Version>,
    #[command(flatten)]
    pub tag: TagArgs,
}

pub fn run_rollback(args: RollbackArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let opts = stage_options(args.name, args.stage, args.version, &args.tag);
    report(ui, "rolled back:", &rollback(&repo, &opts)?)
}

/// Remove a stage from the version that holds it
#[derive(clap::Args)]
pub struct UnassignArgs {
    /// The registry name
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::registry_names))]
    name: String,
    /// The stage
    #[arg(long, value_name = "STAGE")]
    stage: String,
    #[command(flatten)]
    pub tag: TagArgs,
}

pub fn run_unassign(args: UnassignArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let opts = stage_options(args.name, args.stage, None, &args.tag);
    report(ui, "unassigned", &unassign(&repo, &opts)?)
}

/// Deprecate an artifact, or deregister one version of it
#[derive(clap::Args)]
pub struct DeprecateArgs {
    /// The registry name
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::registry_names))]
    name: String,
    /// Deregister only this version
    #[arg(value_parser = parse_version)]
    version: Option<Version>,
    /// Undo the artifact's deprecation (deletes its deprecation tags, as `gto deprecate --delete`)
    #[arg(long, conflicts_with = "version")]
    undo: bool,
    #[command(flatten)]
    pub tag: TagArgs,
}

pub fn run_deprecate(args: DeprecateArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let mut opts = stage_options(args.name, String::new(), args.version.clone(), &args.tag);
    opts.undo = args.undo;
    let verb = if args.undo {
        "deleted deprecation"
    } else if args.version.is_some() {
        "deregistered"
    } else {
        "deprecated"
    };
    report(ui, verb, &deprecate(&repo, &opts)?)
}

fn stage_options(name: String, stage: String, version: Option<Version>, tag: &TagArgs) -> StageOptions {
    StageOptions { name, stage, version, message: tag.message.clone(), push: tag.push, force: false, undo: false }
}
