//! Errors that carry a hint for the user: the CLI prints them as `error: …` then `hint: …`.

use std::fmt;

/// A user-facing error with a suggestion of what to do.
#[derive(Debug)]
pub struct Hinted {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// Builds a [`Hinted`] error.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> Hinted {
    Hinted { message: message.into(), hint: hint.into() }
}

/// The hint carried anywhere in an error's chain, if any: as a cause, or as context added
/// with `.context(hinted(…))` (which only downcasting the error itself finds).
pub fn hint_of(err: &anyhow::Error) -> Option<String> {
    let hinted = err.downcast_ref::<Hinted>().or_else(|| err.chain().find_map(|c| c.downcast_ref::<Hinted>()));
    hinted.map(|h| h.hint.clone())
}
