//! `mvc remote`.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use mvc::config::Layer;
use mvc::ops::remote as ops;
use mvc::repo::Repo;

use crate::cli::Ui;

/// Manage remotes: where `push` sends data and `pull` gets it
#[derive(clap::Args)]
pub struct RemoteArgs {
    #[command(subcommand)]
    action: Action,
    /// Also commit the changed `.mvc/config` with this message
    #[arg(short, long, value_name = "MSG", global = true)]
    message: Option<String>,
    /// Print the result as JSON
    #[arg(long, global = true)]
    json: bool,
}

/// `--json` output of the commands that change a remote.
#[derive(serde::Serialize, Default)]
struct ChangeView {
    remote: String,
    action: &'static str,
    /// The remote is now the default (`add`, `default`).
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<bool>,
    /// The setting changed (`modify`); values are not echoed, secrets never are.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// The endpoint now trusted (`trust`), redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_endpoint: Option<String>,
    commit: Option<String>,
}

/// `--json` output of `remote list`.
#[derive(serde::Serialize)]
struct RemoteView<'a> {
    name: &'a str,
    url: &'a str,
    endpoint: Option<&'a str>,
    layout: &'a str,
    default: bool,
}

/// `--json` output of `remote migrate`.
#[derive(serde::Serialize)]
struct MigrateView<'a> {
    remote: &'a str,
    from: &'a str,
    to: &'a str,
    converted: u64,
    skipped: u64,
    bytes: u64,
    removed: u64,
}

#[derive(Subcommand)]
enum Action {
    /// Add a remote: s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, https://…, file://… or a directory
    Add {
        /// Its name, e.g. `origin`
        name: String,
        /// Where it is
        url: String,
        /// Make it the default remote (the first remote added always is)
        #[arg(short, long)]
        default: bool,
        /// Record it in this clone's own config (`.git/mvc/config`) instead of the committed config
        #[arg(long)]
        local: bool,
        /// How a first push lays objects out: `chunked` (the default: packs of deduplicated
        /// chunks; each version costs what changed) or `loose` (whole objects)
        #[arg(long, value_parser = ["loose", "chunked"])]
        layout: Option<String>,
    },
    /// List remotes
    List,
    /// Remove a remote from the config
    Remove {
        /// Its name
        #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::remote_names))]
        name: String,
    },
    /// Make a remote the default
    Default {
        /// Its name
        #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::remote_names))]
        name: String,
        /// Only for this clone (`.git/mvc/config`)
        #[arg(long)]
        local: bool,
    },
    /// Change a remote setting: endpoint, region, jobs, retries, profile, url…; secrets
    /// (access_key_id, secret_access_key, …) only with --local, read from standard input
    Modify {
        /// The remote
        #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::remote_names))]
        name: String,
        /// The setting
        key: String,
        /// The value (omit with --local to read a secret from standard input)
        value: Option<String>,
        /// Write to this clone's own config (`.git/mvc/config`, mode 0600)
        #[arg(long)]
        local: bool,
        /// Remove the setting
        #[arg(long, conflicts_with = "value")]
        unset: bool,
    },
    /// Convert a remote to another layout in place; a re-run resumes, and readers keep working
    Migrate {
        /// The remote
        #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::remote_names))]
        name: String,
        /// The layout to convert to
        #[arg(long, value_parser = ["loose", "chunked"])]
        to: String,
    },
    /// Allow your credentials to be sent to this remote's current endpoint
    Trust {
        /// The remote
        #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::remote_names))]
        name: String,
    },
}

impl RemoteArgs {
    pub fn wants_json(&self) -> bool {
        self.json
    }
}

/// Stages `.mvc/config` when the committed config changed, and commits it with `-m`.
fn record(repo: &Repo, changed_committed: bool, message: Option<&str>) -> anyhow::Result<Option<String>> {
    if !changed_committed {
        if message.is_some() {
            anyhow::bail!(
                "`-m` commits `.mvc/config`, which this change does not touch (it went to `.git/mvc/config`)"
            );
        }
        return Ok(None);
    }
    mvc::ops::stage_and_commit(repo, &[".mvc/config".to_string()], message)
}

fn layer(local: bool) -> Layer {
    if local { Layer::Local } else { Layer::Repo }
}

pub fn run(args: RemoteArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let message = args.message.as_deref();
    let view =
        |remote: &str, action: &'static str| ChangeView { remote: remote.to_string(), action, ..Default::default() };
    let change = match args.action {
        Action::Add { name, url, default, local, layout } => {
            let is_default = ops::add(&repo, &name, &url, default, layout.as_deref(), layer(local))?;
            let note = if is_default { " (default)" } else { "" };
            ui.status(format!("added remote `{name}`{note}: {}", mvc::remote::backend::redact_url(&url)));
            let commit = record(&repo, !local, message)?;
            ChangeView { default: Some(is_default), commit, ..view(&name, "add") }
        }
        Action::List => {
            if message.is_some() {
                anyhow::bail!("`-m` is for commands that change `.mvc/config`; `remote list` changes nothing");
            }
            let entries = ops::list(&repo);
            if args.json {
                let items: Vec<RemoteView> = entries
                    .iter()
                    .map(|e| RemoteView {
                        name: &e.name,
                        url: &e.url,
                        endpoint: e.endpoint.as_deref(),
                        layout: &e.layout,
                        default: e.default,
                    })
                    .collect();
                ui.out_json(&items)?;
            } else {
                let width = entries.iter().map(|e| e.name.chars().count()).max().unwrap_or(0);
                for e in entries {
                    let endpoint = e.endpoint.map(|ep| format!(" (endpoint {ep})")).unwrap_or_default();
                    let default = if e.default { " [default]" } else { "" };
                    ui.out(format!("{:width$}  {}{endpoint} [{}]{default}", e.name, e.url, e.layout))?;
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        Action::Migrate { name, to } => {
            if message.is_some() {
                anyhow::bail!(
                    "`-m` is for commands that change `.mvc/config`; `remote migrate` changes the remote only"
                );
            }
            let m = ops::migrate(&repo, &name, &to, &super::transfer_args::runtime()?, &ui.reporter())?;
            if args.json {
                ui.out_json(&MigrateView {
                    remote: &name,
                    from: m.from,
                    to: m.to,
                    converted: m.converted,
                    skipped: m.skipped,
                    bytes: m.bytes,
                    removed: m.removed,
                })?;
            } else {
                ui.status(format!(
                    "migrated `{name}` from {} to {}: converted {} ({}), {} already converted; removed {} of the old layout",
                    m.from,
                    m.to,
                    super::count(m.converted, "object"),
                    super::human_size(m.bytes),
                    m.skipped,
                    super::count(m.removed, "file"),
                ));
            }
            return Ok(ExitCode::SUCCESS);
        }
        Action::Remove { name } => {
            ops::remove(&repo, &name)?;
            ui.status(format!("removed remote `{name}`"));
            let commit = record(&repo, true, message)?;
            ChangeView { commit, ..view(&name, "remove") }
        }
        Action::Default { name, local } => {
            ops::set_default(&repo, &name, layer(local))?;
            ui.status(format!("`{name}` is now the default remote"));
            let commit = record(&repo, !local, message)?;
            ChangeView { default: Some(true), commit, ..view(&name, "default") }
        }
        Action::Modify { name, key, value, local, unset } => {
            let secret = mvc::secrets::is_secret_setting(&key);
            let value = match (value, unset) {
                (_, true) => None,
                (Some(_), false) if secret => return Err(mvc::secrets::from_command_line(&name, &key)),
                (Some(v), false) => Some(v),
                (None, false) => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    let s = s.trim_end_matches(['\n', '\r']).to_string();
                    if s.is_empty() {
                        anyhow::bail!("no value for `{key}` on standard input");
                    }
                    Some(s)
                }
            };
            ops::modify(&repo, &name, &key, value.as_deref(), layer(local))?;
            let shown = if secret { "<hidden>".to_string() } else { value.clone().unwrap_or_default() };
            match value {
                Some(_) => ui.status(format!("set `{key}` of remote `{name}` to {shown}")),
                None => ui.status(format!("removed `{key}` of remote `{name}`")),
            }
            let commit = record(&repo, !local, message)?;
            ChangeView { key: Some(key), commit, ..view(&name, "modify") }
        }
        Action::Trust { name } => {
            let endpoint = ops::trust(&repo, &name)?;
            match &endpoint {
                Some(endpoint) => ui.status(format!(
                    "credentials may now be sent to `{}` for remote `{name}` (recorded in .git/mvc/config)",
                    mvc::remote::backend::redact_url(endpoint)
                )),
                None => ui.status(format!("remote `{name}` uses its provider's own endpoint, which is always trusted")),
            }
            record(&repo, false, message)?;
            let trusted_endpoint = endpoint.map(|e| mvc::remote::backend::redact_url(&e));
            ChangeView { trusted_endpoint, ..view(&name, "trust") }
        }
    };
    if args.json {
        ui.out_json(&change)?;
    } else {
        super::report_commit(ui, change.commit.as_deref());
    }
    Ok(ExitCode::SUCCESS)
}
