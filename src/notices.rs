//! Warnings the core has for the user (a stray file ignored, a migration done, the stat
//! index unavailable). The core never prints: it queues them here and the CLI prints them
//! on stderr when the command ends.

use std::sync::Mutex;

static QUEUE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Queues a warning (a repeated one is shown once).
pub fn warn(message: impl Into<String>) {
    let message = message.into();
    let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
    if !queue.contains(&message) {
        queue.push(message);
    }
}

/// Takes every queued warning.
pub fn drain() -> Vec<String> {
    std::mem::take(&mut *QUEUE.lock().unwrap_or_else(|e| e.into_inner()))
}
