//! Metadata flags shared by `add` and `commit`.

use std::path::PathBuf;

use mvc::meta::MetaInput;

/// What to record in the pointer's `meta` (never changes the artifact's oid).
#[derive(clap::Args)]
pub struct MetaArgs {
    /// A one-line description
    #[arg(long, value_name = "TEXT")]
    desc: Option<String>,
    /// A label (repeatable)
    #[arg(long = "label", value_name = "LABEL")]
    labels: Vec<String>,
    /// Record params from a JSON or YAML file (re-read by later `mvc commit`s)
    #[arg(long = "params", value_name = "FILE")]
    params_file: Option<PathBuf>,
    /// Record metrics from a JSON or YAML file (re-read by later `mvc commit`s)
    #[arg(long = "metrics", value_name = "FILE")]
    metrics_file: Option<PathBuf>,
    /// Record one param (repeatable; `a.b=1` nests)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Record one metric (repeatable)
    #[arg(long = "metric", value_name = "KEY=VALUE")]
    metrics: Vec<String>,
    /// A tracked artifact this one was made from (repeatable): records its path and oid
    #[arg(long = "dep", value_name = "PATH")]
    deps: Vec<PathBuf>,
    /// Record OS, CPU, GPUs, mvc's version and the hashes of lock files at the repo root
    #[arg(long)]
    capture_env: bool,
}

impl MetaArgs {
    pub fn input(self) -> MetaInput {
        MetaInput {
            desc: self.desc,
            labels: self.labels,
            params_file: self.params_file,
            metrics_file: self.metrics_file,
            params: self.params,
            metrics: self.metrics,
            deps: self.deps,
            capture_env: self.capture_env,
        }
    }
}
