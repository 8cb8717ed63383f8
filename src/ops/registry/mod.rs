//! Registry commands (DESIGN §3.5), by concern: `write` creates tags (register, promote,
//! rollback, unassign, deprecate), `read` reports what GTO's reading of them gives (models,
//! show, history), `check` is the CI gate and the promote gate, `retention` tells gc what to
//! keep. All of them work on one `Registry` loaded per command.

mod check;
mod read;
mod retention;
mod write;

pub use check::{CheckProblem, check};
pub use read::{HistoryEvent, ModelRow, VersionDetail, VersionRow, history, models, show, show_versions};
pub use retention::{deregistered_tag_paths, retained_pointers};
pub(crate) use write::pointer_at;
pub use write::{Created, RegisterOptions, StageOptions, deprecate, promote, register, rollback, unassign};

use std::path::Path;

use crate::registry::RegistryRef;
use crate::registry_store::Registry;
use crate::repo::Repo;

/// `arg` as a registry reference (the one rule, `Registry::reference`), given relative to `cwd`.
pub fn as_registry_ref(repo: &Repo, cwd: &Path, arg: &str) -> Option<RegistryRef> {
    Registry::open(repo).ok()?.reference(arg, || cwd.join(arg).exists())
}

/// The commit and artifact path a registry reference names.
pub fn locate(repo: &Repo, r: &RegistryRef) -> anyhow::Result<(git2::Oid, String)> {
    Registry::open(repo)?.locate(r)
}
