//! mvc (model version control): versions large model and data files next to code in git.
//!
//! Code map (one line each; see docs/architecture.md for the bird's-eye view):
//! - [`repo`]: find the project root, resolve user paths safely, the repo lock.
//! - [`config`]: layered YAML configuration.
//! - [`hash`]: `Oid` and streaming BLAKE3 on all cores.
//! - [`cache`]: the content-addressed object store and workspace links.
//! - [`manifest`]: directory manifests and their validation.
//! - [`pointer`]: pointer files (`*.mvc`).
//! - [`state`]: the stat index, so unchanged files are never re-hashed.
//! - [`partial`]: directories pulled only in part.
//! - [`workspace`]: walking and hashing artifacts in the work tree.
//! - [`git`]: staging, committing and `.gitignore` through git2.
//! - [`yaml`]: hardened YAML parsing and a stable emitter.
//! - [`ops`]: one module per command: options in, report out, never prints.
//! - [`progress`]: the trait through which the core reports progress.
//! - [`remote`]: object-store remotes and the transfer engine.
//! - [`revs`]: pointers at git revisions, read from git objects.
//! - [`registry`]: registry names, versions, tags and the state they add up to.
//! - [`meta`]: metadata captured into pointers (params, metrics, deps, environment).
//! - [`secrets`]: which settings are secrets: where they may be written, how they are shown.
//! - [`text`]: making other people's text safe to print, and shell-quoting names in hints.
//!
//! Files on disk and their owners:
//! - `.mvc/config`, `.mvc/config.local`, `~/.config/mvc/config` -> [`config`]
//! - `.mvc/cache/blake3/xx/…`, `.mvc/cache/tmp/` -> [`cache`]
//! - `.mvc/state/index.redb` -> [`state`]
//! - `.mvc/lock` -> [`repo`]
//! - `<artifact>.mvc` -> [`pointer`]; `.gitignore` lines -> [`git`]

pub mod cache;
pub mod config;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod hash;
pub mod manifest;
pub mod meta;
pub mod ops;
pub mod partial;
pub mod pointer;
pub mod progress;
pub mod registry;
pub mod remote;
pub mod repo;
pub mod revs;
pub mod secrets;
pub mod state;
pub mod text;
pub mod workspace;
pub mod yaml;
