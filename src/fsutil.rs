//! Small filesystem helpers shared by the core: atomic writes beside a target and checks
//! that a workspace path does not pass through a symlink.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Writes `bytes` to `path` atomically: a temp file beside it, flushed, then renamed over it.
/// A symlink at `path` is replaced, never followed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".mvc-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temp file beside `{}`", path.display()))?;
    temp.write_all(bytes).with_context(|| format!("writing `{}`", path.display()))?;
    temp.as_file().sync_all().with_context(|| format!("flushing `{}`", path.display()))?;
    fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of `{}`", path.display()))?;
    temp.persist(path).with_context(|| format!("writing `{}`", path.display()))?;
    Ok(())
}

/// Refuses a workspace path `root/rel` if any directory between the root and it is a symlink
/// (writing through one could land outside the repository).
pub fn check_no_symlinked_parent(root: &Path, rel: &Path) -> Result<()> {
    let mut current = root.to_path_buf();
    let components: Vec<_> = rel.components().collect();
    for component in components.iter().take(components.len().saturating_sub(1)) {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                bail!("`{}` is a symlink; mvc does not write through symlinked directories", current.display())
            }
            Ok(m) if !m.is_dir() => bail!("`{}` is not a directory", current.display()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("reading `{}`", current.display())),
        }
    }
    Ok(())
}
