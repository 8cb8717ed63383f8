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
    },
    /// List remotes
    List {
        /// Print them as JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove a remote from the config
    Remove {
        /// Its name
        name: String,
    },
    /// Make a remote the default
    Default {
        /// Its name
        name: String,
        /// Only for this clone (`.git/mvc/config`)
        #[arg(long)]
        local: bool,
    },
    /// Change a remote setting: endpoint, region, jobs, retries, profile, url…; secrets
    /// (access_key_id, secret_access_key, …) only with --local, read from standard input
    Modify {
        /// The remote
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
    /// Allow your credentials to be sent to this remote's current endpoint
    Trust {
        /// The remote
        name: String,
    },
}

impl RemoteArgs {
    pub fn wants_json(&self) -> bool {
        matches!(self.action, Action::List { json: true })
    }
}

fn layer(local: bool) -> Layer {
    if local { Layer::Local } else { Layer::Repo }
}

pub fn run(args: RemoteArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = Repo::open(cwd)?;
    match args.action {
        Action::Add { name, url, default, local } => {
            let is_default = ops::add(&repo, &name, &url, default, layer(local))?;
            let note = if is_default { " (default)" } else { "" };
            ui.status(format!("added remote `{name}`{note}: {}", mvc::remote::backend::redact_url(&url)));
        }
        Action::List { json } => {
            let entries = ops::list(&repo);
            if json {
                let items: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|e| serde_json::json!({"name": e.name, "url": e.url, "endpoint": e.endpoint, "default": e.default}))
                    .collect();
                ui.out_json(&items)?;
            } else {
                let width = entries.iter().map(|e| e.name.chars().count()).max().unwrap_or(0);
                for e in entries {
                    let endpoint = e.endpoint.map(|ep| format!(" (endpoint {ep})")).unwrap_or_default();
                    let default = if e.default { " [default]" } else { "" };
                    ui.out(format!("{:width$}  {}{endpoint}{default}", e.name, e.url))?;
                }
            }
        }
        Action::Remove { name } => {
            ops::remove(&repo, &name)?;
            ui.status(format!("removed remote `{name}`"));
        }
        Action::Default { name, local } => {
            ops::set_default(&repo, &name, layer(local))?;
            ui.status(format!("`{name}` is now the default remote"));
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
        }
        Action::Trust { name } => match ops::trust(&repo, &name)? {
            Some(endpoint) => ui.status(format!(
                "credentials may now be sent to `{}` for remote `{name}` (recorded in .git/mvc/config)",
                mvc::remote::backend::redact_url(&endpoint)
            )),
            None => ui.status(format!("remote `{name}` uses its provider's own endpoint, which is always trusted")),
        },
    }
    Ok(ExitCode::SUCCESS)
}
