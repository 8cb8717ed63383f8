//! `mvc doctor`: what this mvc can do on this machine, for bug reports and first-day
//! setup: version, backends, the cache and whether each link mode works on its filesystem.

use std::path::{Path, PathBuf};

use crate::cache::LinkMode;
use crate::repo::Repo;

/// What `doctor` found.
pub struct DoctorReport {
    /// mvc's version.
    pub version: &'static str,
    /// libgit2's version.
    pub libgit2: String,
    /// Remote schemes this build speaks.
    pub backends: Vec<&'static str>,
    /// The project root, when run inside one.
    pub project: Option<PathBuf>,
    /// The cache directory (when inside a project).
    pub cache: Option<PathBuf>,
    /// Whether the cache is shared with other projects (`cache.dir`).
    pub cache_shared: bool,
    /// Each link mode and whether it works from the cache to the work tree.
    pub link_modes: Vec<(LinkMode, bool)>,
    /// The configured `core.link` order.
    pub link_order: Vec<LinkMode>,
}

/// Runs `mvc doctor` from `cwd` (inside a project or not).
pub fn doctor(cwd: &Path) -> DoctorReport {
    let (major, minor, patch) = git2::Version::get().libgit2_version();
    let mut report = DoctorReport {
        version: env!("CARGO_PKG_VERSION"),
        libgit2: format!("{major}.{minor}.{patch}"),
        backends: vec!["s3", "gs", "az", "https (read-only)", "file"],
        project: None,
        cache: None,
        cache_shared: false,
        link_modes: Vec::new(),
        link_order: Vec::new(),
    };
    let Ok(repo) = Repo::open(cwd) else { return report };
    let cache = repo.cache();
    report.link_modes = probe_links(cache.root(), &repo.root);
    report.project = Some(repo.root.clone());
    report.cache = Some(cache.root().to_path_buf());
    report.cache_shared = repo.cache_is_shared();
    report.link_order = repo.config.link.clone();
    report
}

/// Tries each link mode from a scratch file in the cache's `tmp/` to a scratch name at the
/// work tree's root (where artifacts live); both are removed.
fn probe_links(cache_root: &Path, root: &Path) -> Vec<(LinkMode, bool)> {
    let tmp = cache_root.join("tmp");
    if std::fs::create_dir_all(&tmp).is_err() {
        return Vec::new();
    }
    let Ok(source) = tempfile::Builder::new().prefix("doctor-").tempfile_in(&tmp) else { return Vec::new() };
    let _ = std::fs::write(source.path(), b"mvc doctor");
    [LinkMode::Reflink, LinkMode::Copy, LinkMode::Hardlink, LinkMode::Symlink]
        .into_iter()
        .map(|mode| {
            let dest = root.join(format!(".mvc-doctor-{}{}", std::process::id(), crate::leftovers::TEMP_MARK));
            let _ = std::fs::remove_file(&dest);
            let ok = match mode {
                LinkMode::Reflink => reflink_copy::reflink(source.path(), &dest).is_ok(),
                LinkMode::Copy => std::fs::copy(source.path(), &dest).is_ok(),
                LinkMode::Hardlink => std::fs::hard_link(source.path(), &dest).is_ok(),
                LinkMode::Symlink => std::os::unix::fs::symlink(source.path(), &dest).is_ok(),
            };
            let _ = std::fs::remove_file(&dest);
            (mode, ok)
        })
        .collect()
}
