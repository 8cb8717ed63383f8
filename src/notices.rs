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

static QUEUE: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

fn push(level: Level, message: String) {
    let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
    if !queue.iter().any(|(l, m)| *l == level && *m == message) {
        queue.push((level, message));
    }
}

/// Queues a warning (a repeated one is shown once).
pub fn warn(message: impl Into<String>) {
    push(Level::Warning, message.into());
}

/// Queues a problem that the command stepped over: shown as an error, exit code 1.
pub fn problem(message: impl Into<String>) {
    push(Level::Problem, message.into());
}

/// Takes every queued notice, in order.
pub fn drain() -> Vec<(Level, String)> {
    std::mem::take(&mut *QUEUE.lock().unwrap_or_else(|e| e.into_inner()))
}
