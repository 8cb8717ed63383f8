//! mvc (model version control): versions large model and data files next to code in git.
//!
//! Code map (one line each; see docs/architecture.md for the bird's-eye view):
//! - [`repo`]: find the project root and its per-clone directory, resolve user paths, the lock.
//! - [`paths`]: the one check of which paths mvc may touch (artifacts, manifests, sources).
//! - [`migrate`]: moves an old clone's `.mvc/{cache,state,…}` into the git directory once.
//! - [`leftovers`]: temp files of killed processes, removed by the next locked command.
//! - [`notices`]: warnings the core queues for the CLI to print.
//! - [`config`]: layered YAML configuration.
//! - [`hash`]: `Oid` and streaming BLAKE3 on all cores.
//! - [`cache`]: the content-addressed object store and workspace links.
//! - [`manifest`]: directory manifests and their validation.
//! - [`pointer`]: pointer files (`*.mvc`).
//! - [`state`]: the stat index, so unchanged files are never re-hashed.
//! - [`partial`]: directories pulled only in part.
//! - [`workspace`]: walking and hashing artifacts in the work tree.
//! - [`mvcignore`]: `.mvcignore` rules: what tracked directories leave out.
//! - [`git`]: staging, committing and `.gitignore` through git2.
//! - [`yaml`]: hardened YAML parsing and a stable emitter.
//! - [`ops`]: one module per command: options in, report out, never prints.
//! - [`progress`]: the trait through which the core reports progress.
//! - [`remote`]: object-store remotes and the transfer engine.
//! - [`revs`]: pointers at git revisions, read from git objects.
//! - [`registry`]: registry names, versions, tags and the state they add up to (pure).
//! - [`registry_store`]: the registry of a repository, read once per command from its tags,
//!   `artifacts.yaml` and `.gto`; the one rule for "is this argument a registry reference".
//! - [`error`]: errors that carry a hint. [`fsutil`]: atomic writes that never follow links.
//! - [`exp`]: experiment refs (`refs/exps/<name>`), names, run records and step logs.
//! - [`meta`]: metadata captured into pointers (params, metrics, deps, environment).
//! - [`secrets`]: which settings are secrets: where they may be written, how they are shown.
//! - [`text`]: making other people's text safe to print, and shell-quoting names in hints.
//!
//! Files on disk and their owners (`.git/mvc/` is the git common dir's `mvc/`: per clone,
//! out of reach of commits and `git clean`):
//! - `.mvc/config` (committed), `.git/mvc/config` (per clone), `~/.config/mvc/config` -> [`config`]
//! - `.git/mvc/cache/blake3/xx/…`, `.git/mvc/cache/tmp/` -> [`cache`]
//! - `.git/mvc/state/index.redb` -> [`state`]; `.git/mvc/state/partial.json` -> [`partial`]
//! - `.git/mvc/state/writing` (temp-file journal) -> [`leftovers`]
//! - `.git/mvc/lock` -> [`repo`]
//! - `.git/mvc/projects/<dir>/{config,cache,state,lock}`: the same, for a project made below
//!   the git root by `mvc init --subdir` -> [`repo`] (`Scope`: project paths <-> git paths)
//! - `refs/exps/<name>` (git refs), step logs `logs/*.jsonl` -> [`exp`]
//! - `.dvc/cache`, `*.dvc`, `dvc.lock`, `.git/lfs/objects` (read only, by the importers) ->
//!   [`ops::import_dvc`], [`ops::import_lfs`]
//! - `<artifact>.mvc` -> [`pointer`]; `.gitignore` lines -> [`git`]; `.mvcignore` -> [`mvcignore`]

pub mod cache;
pub mod config;
pub mod error;
pub mod exp;
pub mod fsutil;
pub mod git;
pub mod hash;
pub mod leftovers;
pub mod manifest;
pub mod meta;
pub mod migrate;
pub mod mvcignore;
pub mod notices;
pub mod ops;
pub mod partial;
pub mod paths;
pub mod pointer;
pub mod progress;
pub mod registry;
pub mod registry_store;
pub mod remote;
pub mod repo;
pub mod revs;
pub mod secrets;
pub mod state;
pub mod text;
pub mod workspace;
pub mod yaml;
