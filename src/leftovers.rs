//! What a killed mvc leaves behind, and its removal by the next command that takes the
//! lock: temp files in the cache's `tmp/` (named `obj-PID-…`) and temp files beside
//! workspace targets (`.NAME.mvc-tmp-PID-N`) in the directories a journal lists
//! (`<git dir>/mvc/state/writing`). A file whose writer is still alive is never touched.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cache::Cache;

/// Every workspace temp name contains this; `.git/info/exclude` hides `*.mvc-tmp-*` from git.
pub const TEMP_MARK: &str = ".mvc-tmp-";

/// The line added to `.git/info/exclude`.
const EXCLUDE_LINE: &str = "*.mvc-tmp-*";

/// Longest file name we build from a user's name (NAME_MAX is 255 bytes).
const MAX_NAME: usize = 200;

/// The journal of this process: directories it may leave temp files in.
struct Journal {
    path: PathBuf,
    dirs: HashSet<PathBuf>,
}

static JOURNAL: Mutex<Option<Journal>> = Mutex::new(None);
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temp path beside `dest` for an atomic write (write there, then rename over `dest`),
/// named after our pid so a later sweep can tell whether its writer is alive. The directory
/// is recorded in the journal first, so a kill -9 mid-write leaves nothing unaccounted for.
pub fn temp_beside(dest: &Path) -> PathBuf {
    let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    record_dir(dir);
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    if name.len() > MAX_NAME {
        dir.join(format!("{TEMP_MARK}{pid}-{n}"))
    } else {
        dir.join(format!(".{name}{TEMP_MARK}{pid}-{n}"))
    }
}

fn record_dir(dir: &Path) {
    let mut guard = JOURNAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(journal) = guard.as_mut() else { return };
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !journal.dirs.insert(dir.clone()) {
        return;
    }
    let line = format!("{}\n", dir.display());
    let _ = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&journal.path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
}

/// Starts recording this process's workspace temp directories (called with the lock held).
pub fn start_journal(state_dir: &Path) {
    let _ = fs::create_dir_all(state_dir);
    let mut guard = JOURNAL.lock().unwrap_or_else(|e| e.into_inner());
    *guard = Some(Journal { path: state_dir.join("writing"), dirs: HashSet::new() });
}

/// Ends the journal of a command that finished (its temp files were renamed or removed).
pub fn end_journal() {
    let mut guard = JOURNAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(journal) = guard.take() {
        let _ = fs::remove_file(&journal.path);
    }
}

/// Removes temp files whose writer is dead: in the cache's `tmp/`, and in the workspace
/// directories the journal of an interrupted command lists. Best effort: never fails.
pub fn sweep(state_dir: &Path, cache: &Cache) {
    if let Ok(entries) = fs::read_dir(cache.tmp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("obj-").and_then(pid_prefix)
                && !alive(pid)
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let journal = state_dir.join("writing");
    let Ok(text) = fs::read_to_string(&journal) else { return };
    for dir in text.lines().map(Path::new) {
        let Ok(entries) = fs::read_dir(dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(at) = name.find(TEMP_MARK) else { continue };
            let Some(pid) = pid_prefix(&name[at + TEMP_MARK.len()..]) else { continue };
            let is_file = entry.file_type().is_ok_and(|t| !t.is_dir());
            if is_file && !alive(pid) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let _ = fs::remove_file(&journal);
}

/// Whether a file name is one of mvc's workspace temp names (`….mvc-tmp-PID-N`).
pub fn is_temp_name(name: &str) -> bool {
    name.find(TEMP_MARK).is_some_and(|at| pid_prefix(&name[at + TEMP_MARK.len()..]).is_some())
}

/// The pid at the start of `rest` (`1234-…`).
fn pid_prefix(rest: &str) -> Option<u32> {
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|p| *p > 0)
}

/// Whether process `pid` exists (ours counts as alive).
pub fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = i32::try_from(pid) else { return false };
    // SAFETY: kill with signal 0 only checks that the process exists; it sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Makes sure git never shows workspace temp files (`git add -A` must not pick up one a
/// killed process left): adds `*.mvc-tmp-*` to `.git/info/exclude`, which is per clone.
pub fn exclude_temp_names(git: &git2::Repository) {
    let path = git.commondir().join("info").join("exclude");
    let existing = fs::read_to_string(&path).unwrap_or_default();
    if existing.lines().any(|l| l.trim() == EXCLUDE_LINE) {
        return;
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# mvc: temp files of interrupted writes\n");
    text.push_str(EXCLUDE_LINE);
    text.push('\n');
    if let Some(dir) = path.parent() {
        let _ = fs::create_dir_all(dir);
    }
    let _ = fs::write(&path, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_carry_the_pid_and_fit_name_max() {
        let short = temp_beside(Path::new("/x/model.bin"));
        let name = short.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".model.bin.mvc-tmp-"), "{name}");
        let at = name.find(TEMP_MARK).unwrap();
        assert_eq!(pid_prefix(&name[at + TEMP_MARK.len()..]), Some(std::process::id()));
        let long = temp_beside(&Path::new("/x").join("n".repeat(250)));
        assert!(long.file_name().unwrap().len() < 64);
    }

    #[test]
    fn dead_writers_temps_go_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let work = dir.path().join("work");
        fs::create_dir_all(&work).unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        fs::create_dir_all(cache.tmp_dir()).unwrap();
        // pid 2^22+7 is above Linux's default pid_max, so no such process exists.
        let dead = 4_194_311u32;
        let me = std::process::id();
        for name in [format!(".a{TEMP_MARK}{dead}-0"), format!(".b{TEMP_MARK}{me}-0"), "user-file".into()] {
            fs::write(work.join(name), "x").unwrap();
        }
        fs::write(cache.tmp_dir().join(format!("obj-{dead}-abc")), "x").unwrap();
        fs::write(cache.tmp_dir().join(format!("obj-{me}-abc")), "x").unwrap();
        fs::create_dir_all(&state).unwrap();
        fs::write(state.join("writing"), format!("{}\n", work.display())).unwrap();
        sweep(&state, &cache);
        let mut left: Vec<String> =
            fs::read_dir(&work).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, vec![format!(".b{TEMP_MARK}{me}-0"), "user-file".to_string()]);
        assert_eq!(fs::read_dir(cache.tmp_dir()).unwrap().count(), 1);
        assert!(!state.join("writing").exists());
    }
}
