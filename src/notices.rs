//! What the core has to tell the user besides a command's result: warnings (a stray file
//! ignored, a migration done, the stat index unavailable) and problems that did not stop
//! the command (an invalid pointer skipped while the rest of the repository was handled).
//! The core never prints: it queues them here and the CLI prints them when the command
//! ends; any problem makes the exit code 1.

use std::sync::Mutex;

/// How serious a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Printed as `warning: …`; the exit code is unchanged.
    Warning,
    /// Printed as `error: …`; the command goes on but exits 1.
    Problem,
}

/// One queued notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Warning or problem.
    pub level: Level,
    /// What happened.
    pub message: String,
    /// What to do about it, if anything.
    pub hint: Option<String>,
}

static QUEUE: Mutex<Vec<Notice>> = Mutex::new(Vec::new());

fn push(notice: Notice) {
    let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
    if !queue.contains(&notice) {
        queue.push(notice);
    }
}

/// Queues a warning (a repeated one is shown once).
pub fn warn(message: impl Into<String>) {
    push(Notice { level: Level::Warning, message: message.into(), hint: None });
}

/// Queues a problem that the command stepped over: shown as an error, exit code 1.
pub fn problem(message: impl Into<String>) {
    push(Notice { level: Level::Problem, message: message.into(), hint: None });
}

/// Queues an error the command stepped over, with its hint: shown as an error, exit code 1.
pub fn problem_from(err: &anyhow::Error) {
    push(Notice { level: Level::Problem, message: format!("{err:#}"), hint: crate::error::hint_of(err) });
}

/// Takes every queued notice, in order.
pub fn drain() -> Vec<Notice> {
    std::mem::take(&mut *QUEUE.lock().unwrap_or_else(|e| e.into_inner()))
}
