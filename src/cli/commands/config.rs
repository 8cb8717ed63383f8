//! `mvc config`.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use mvc::config::Layer;
use mvc::repo::Repo;

use crate::cli::Ui;

/// Read or change configuration (`core.link`, `core.jobs`, `core.remote`, `cache.dir`, …)
#[derive(clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Print a value from the merged configuration
    Get {
        /// Dotted key, e.g. `core.jobs`
        key: String,
        /// Print it as JSON
        #[arg(long)]
        json: bool,
    },
    /// Set a value (in `.mvc/config` unless `--local` or `--global`)
    Set {
        /// Dotted key, e.g. `core.link`
        key: String,
        /// The value, read as YAML (`16`, `[hardlink, copy]`, `origin`)
        value: String,
        #[command(flatten)]
        layer: LayerArgs,
    },
    /// Remove a value from one config file
    Unset {
        /// Dotted key
        key: String,
        #[command(flatten)]
        layer: LayerArgs,
    },
    /// Print every set value as `key=value`
    List {
        /// Print them as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct LayerArgs {
    /// Write to this clone's own config (`.git/mvc/config`; never committed)
    #[arg(long, conflicts_with = "global")]
    local: bool,
    /// Write to the user's global config (`$XDG_CONFIG_HOME/mvc/config`)
    #[arg(long)]
    global: bool,
}

impl LayerArgs {
    fn layer(&self) -> Layer {
        if self.local {
            Layer::Local
        } else if self.global {
            Layer::Global
        } else {
            Layer::Repo
        }
    }
}

impl ConfigArgs {
    pub fn wants_json(&self) -> bool {
        matches!(self.action, Action::Get { json: true, .. } | Action::List { json: true })
    }
}

fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => mvc::text::sanitize(s),
        other => mvc::yaml::flow(other),
    }
}

pub fn run(args: ConfigArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = Repo::open(cwd)?;
    match args.action {
        Action::Get { key, json } => match mvc::ops::config::get(&repo, &key) {
            Some(value) if json => ui.out_json(&value)?,
            Some(value) => ui.out(plain(&value))?,
            None => {
                ui.error(&format!("`{key}` is not set"), None);
                return Ok(ExitCode::from(1));
            }
        },
        Action::Set { key, value, layer } => {
            if let (Some((name, setting)), Layer::Local) = (mvc::secrets::remote_secret(&key), layer.layer()) {
                return Err(mvc::secrets::from_command_line(name, setting));
            }
            mvc::ops::config::set(&repo, layer.layer(), &key, Some(&value))?;
            ui.status(format!("set `{key}` in the {} config", layer.layer().name()));
        }
        Action::Unset { key, layer } => {
            mvc::ops::config::set(&repo, layer.layer(), &key, None)?;
            ui.status(format!("removed `{key}` from the {} config", layer.layer().name()));
        }
        Action::List { json } => {
            let items = mvc::ops::config::list(&repo);
            if json {
                let map: serde_json::Map<String, serde_json::Value> = items.into_iter().collect();
                ui.out_json(&map)?;
            } else {
                for (key, value) in items {
                    ui.out(format!("{key}={}", plain(&value)))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
