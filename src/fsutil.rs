//! Small filesystem helpers shared by the core: atomic writes beside a target that never
//! follow a symlink, and the check that a workspace path does not pass through one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically: a temp file beside it (named for the leftover sweep,
/// see [`crate::leftovers`]), flushed, then renamed over it. A symlink at `path` is replaced,
/// never followed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let temp = crate::leftovers::temp_beside(path);
    let written = (|| -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::set_permissions(&temp, fs::Permissions::from_mode(mode))?;
        fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e).with_context(|| format!("writing `{}`", path.display()));
    }
    Ok(())
}

/// Refuses a workspace path `root/rel` if any directory between the root and it is a symlink
/// (writing through one could land outside the repository). See [`crate::paths::check_resolved`].
pub fn check_no_symlinked_parent(root: &Path, rel: &Path) -> Result<()> {
    let rel = rel.to_str().with_context(|| format!("`{}` is not valid UTF-8", rel.display()))?;
    crate::paths::check_resolved(root, rel)
}
