//! Integration tests: the real `mvc` binary in real temp git repositories.

mod fault_proxy;
mod harness;
mod s3_server;
mod tls_proxy;

mod add;
mod cat;
mod chunked;
mod clouds;
mod compare;
mod conventions;
mod core;
mod crossrepo;
mod du;
mod exp;
mod get;
mod gto_diff;
mod habits;
mod history;
mod hooks;
mod hostile;
mod hygiene;
mod importers;
mod json_docs;
mod push_pull;
mod readme;
mod registry;
mod remote_damage;
mod remote_faults;
mod robustness;
mod scale;
mod subdir;
