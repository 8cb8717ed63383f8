//! `mvc config`.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use mvc::config::Layer;

use crate::cli::Ui;

/// Read or change configuration (`core.link`, `core.jobs`, `core.remote`, `cache.dir`, …)
#[derive(clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    action: Action,
    /// With `set`/`unset` on the committed config: also commit `.mvc/config` with this message
    #[arg(short, long, value_name = "MSG", global = true)]
    message: Option<String>,
    /// Print the result as JSON
    #[arg(long, global = true)]
    json: bool,
}

/// `--json` output of `set` and `unset`.
#[derive(serde::Serialize)]
struct ChangeView<'a> {
    key: &'a str,
    action: &'a str,
    layer: &'a str,
    commit: Option<String>,
}

#[derive(Subcommand)]
enum Action {
    /// Print a value from the merged configuration
    Get {
        /// Dotted key, e.g. `core.jobs`
        key: String,
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
    List,
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
        self.json
    }
}

fn finish(ui: &Ui, json: bool, view: &ChangeView) -> anyhow::Result<()> {
    if json {
        ui.out_json(view)?;
    } else {
        super::report_commit(ui, view.commit.as_deref());
    }
    Ok(())
}

fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => mvc::text::sanitize(s),
        other => mvc::yaml::flow(other),
    }
}

pub fn run(args: ConfigArgs, cwd: &Path, ui: &Ui) -> anyhow::Result<ExitCode> {
    let repo = super::open_repo(cwd)?;
    let json = args.json;
    let commit = |layer: Layer| -> anyhow::Result<Option<String>> {
        match (&args.message, layer) {
            (None, _) => Ok(None),
            (Some(m), Layer::Repo) => mvc::ops::stage_and_commit(&repo, &[".mvc/config".to_string()], Some(m)),
            (Some(_), _) => anyhow::bail!("`-m` commits `.mvc/config`; the {} config is never committed", layer.name()),
        }
    };
    match args.action {
        Action::Get { key } => match mvc::ops::config::get(&repo, &key) {
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
            let commit = commit(layer.layer())?;
            let view = ChangeView { key: &key, action: "set", layer: layer.layer().name(), commit };
            finish(ui, json, &view)?;
        }
        Action::Unset { key, layer } => {
            mvc::ops::config::set(&repo, layer.layer(), &key, None)?;
            ui.status(format!("removed `{key}` from the {} config", layer.layer().name()));
            let commit = commit(layer.layer())?;
            let view = ChangeView { key: &key, action: "unset", layer: layer.layer().name(), commit };
            finish(ui, json, &view)?;
        }
        Action::List => {
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
