//! Integration tests: the real `mvc` binary in real temp git repositories.

mod harness;
mod s3_server;

mod add;
mod compare;
mod core;
mod get;
mod habits;
mod history;
mod hooks;
mod hostile;
mod hygiene;
mod push_pull;
mod registry;
mod robustness;
mod scale;
