//! How the core reports progress without printing: a trait the CLI implements (with
//! indicatif on a terminal) and a silent default.

/// Receives progress from long operations (hashing, transfers). Implementations must be
/// cheap and thread-safe: workers call `advance` from many threads.
pub trait Reporter: Sync {
    /// A phase begins: `what` (e.g. "hashing"), with totals when known (0 when unknown).
    fn start(&self, what: &str, total_items: u64, total_bytes: u64);
    /// Some items or bytes were done.
    fn advance(&self, items: u64, bytes: u64);
    /// The phase ended.
    fn finish(&self);
}

/// A reporter that shows nothing (tests, `--quiet`, `--json`, pipes).
pub struct Silent;

impl Reporter for Silent {
    fn start(&self, _: &str, _: u64, _: u64) {}
    fn advance(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}
