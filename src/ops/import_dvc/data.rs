//! Reading DVC's data: the md5 of a workspace file, and objects of DVC's cache (DVC 3's
//! `files/md5/ab/cdef…` and 2.x's `ab/cdef…`), copied into the workspace only when their md5
//! is the one DVC recorded. Nothing is read through a symlink or outside the repository.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use md5::{Digest, Md5};

/// md5 of a stream, both of the raw bytes and with `\r\n` read as `\n` (DVC 2 hashed text
/// files that way), so an entry DVC 2 wrote verifies either way.
pub struct Md5s {
    raw: Md5,
    unix: Md5,
    pending_cr: bool,
}

impl Md5s {
    /// Starts both hashes.
    pub fn new() -> Md5s {
        Md5s { raw: Md5::new(), unix: Md5::new(), pending_cr: false }
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.raw.update(bytes);
        let mut start = 0;
        if self.pending_cr {
            self.pending_cr = false;
            if bytes.first() != Some(&b'\n') {
                self.unix.update(b"\r");
            }
        }
        for (i, pair) in bytes.windows(2).enumerate() {
            if pair == b"\r\n" {
                self.unix.update(&bytes[start..i]);
                start = i + 1;
            }
        }
        match bytes[start..].split_last() {
            Some((b'\r', rest)) => {
                self.unix.update(rest);
                self.pending_cr = true;
            }
            _ => self.unix.update(&bytes[start..]),
        }
    }

    /// Whether `expected` (hex) is the raw md5, or (for `legacy` entries) the `\r\n`-folded one.
    pub fn matches(self, expected: &str, legacy: bool) -> bool {
        let mut unix = self.unix;
        if self.pending_cr {
            unix.update(b"\r");
        }
        hex(&self.raw.finalize()) == expected || (legacy && hex(&unix.finalize()) == expected)
    }
}

impl Default for Md5s {
    fn default() -> Self {
        Md5s::new()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens a repo-relative file for reading: path checked, no symlinked directory on the way,
/// the file itself not a symlink. `Ok(None)` when absent.
pub fn open_in_repo(root: &Path, rel: &str) -> Result<Option<File>> {
    crate::paths::check_inner_rel(rel)?;
    crate::paths::check_resolved(root, rel)?;
    match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(root.join(rel)) {
        Ok(f) if f.metadata().is_ok_and(|m| m.is_file()) => Ok(Some(f)),
        Ok(_) => bail!("`{rel}` is not a regular file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("reading `{rel}`"))),
    }
}

/// Whether the file's md5 is `expected`.
pub fn md5_matches(file: &File, expected: &str, legacy: bool) -> Result<bool> {
    let mut file = file;
    let mut hasher = Md5s::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).context("reading")?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.matches(expected, legacy))
}

/// Where DVC keeps the object `md5` (`.dir` for a directory's manifest), repo-relative:
/// DVC 3's layout first, then 2.x's. `None` when neither has it.
pub fn cache_object(root: &Path, cache_rel: &str, md5: &str, dir: bool) -> Option<String> {
    let suffix = if dir { ".dir" } else { "" };
    [
        format!("{cache_rel}/files/md5/{}/{}{suffix}", &md5[..2], &md5[2..]),
        format!("{cache_rel}/{}/{}{suffix}", &md5[..2], &md5[2..]),
    ]
    .into_iter()
    .find(|rel| matches!(open_in_repo(root, rel), Ok(Some(_))))
}

/// Reads a small cache object (a `.dir` manifest), checking its md5.
pub fn read_verified(root: &Path, rel: &str, md5: &str, limit: u64, label: &str) -> Result<Vec<u8>> {
    let file = open_in_repo(root, rel)?.with_context(|| format!("`{rel}` is gone"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).with_context(|| format!("reading `{rel}`"))?;
    if bytes.len() as u64 > limit {
        bail!("`{rel}` is over the {limit} byte limit");
    }
    let mut hasher = Md5s::new();
    hasher.update(&bytes);
    if !hasher.matches(md5, false) {
        bail!(mismatch(rel, label));
    }
    Ok(bytes)
}

fn mismatch(rel: &str, label: &str) -> String {
    format!(
        "DVC's cache entry `{rel}` for `{}` does not match its md5 (the cache is corrupt); nothing was imported from it",
        crate::text::sanitize(label)
    )
}

/// Copies DVC's cache object `src_rel` to the workspace file `dest_rel` (both repo-relative),
/// hashing while copying; the file appears (by rename) only when its md5 is `md5`.
pub fn restore(root: &Path, src_rel: &str, dest_rel: &str, md5: &str, legacy: bool, label: &str) -> Result<u64> {
    crate::paths::check_workspace_rel(dest_rel)?;
    crate::paths::check_resolved(root, dest_rel)?;
    let mut src = open_in_repo(root, src_rel)?.with_context(|| format!("`{src_rel}` is gone"))?;
    let dest = root.join(dest_rel);
    let parent = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(root));
    std::fs::create_dir_all(&parent).with_context(|| format!("creating `{}`", parent.display()))?;
    crate::paths::check_resolved(root, dest_rel)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".mvc-import-")
        .tempfile_in(&parent)
        .with_context(|| format!("creating a temporary file in `{}`", parent.display()))?;
    let mut hasher = Md5s::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = src.read(&mut buf).with_context(|| format!("reading `{src_rel}`"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        temp.write_all(&buf[..n]).context("writing a temporary file")?;
        total += n as u64;
    }
    if !hasher.matches(md5, legacy) {
        bail!(mismatch(src_rel, label));
    }
    use std::os::unix::fs::PermissionsExt;
    temp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).context("setting file mode")?;
    // A DVC checkout by symlink leaves a link here; it is replaced by the file itself.
    if dest.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(&dest).with_context(|| format!("removing the link `{dest_rel}`"))?;
    }
    temp.persist(&dest).with_context(|| format!("writing `{dest_rel}`"))?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_md5_folds_crlf_across_chunk_boundaries() {
        let mut h = Md5s::new();
        for chunk in [&b"a\r"[..], b"\nb\r\n"] {
            h.update(chunk);
        }
        let mut direct = Md5::new();
        direct.update(b"a\nb\n");
        let want = hex(&direct.finalize());
        assert!(h.matches(&want, true));
        let mut h = Md5s::new();
        h.update(b"a\r\nb\r\n");
        assert!(!h.matches(&want, false), "only legacy entries fold line ends");
        let mut h = Md5s::new();
        h.update(b"x\r");
        let mut direct = Md5::new();
        direct.update(b"x\r");
        assert!(h.matches(&hex(&direct.finalize()), true), "a lone trailing \\r is kept");
    }
}
