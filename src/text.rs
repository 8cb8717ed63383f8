//! Making text from other people (paths, messages, pointer fields) safe to print.

/// Replaces control characters (including ANSI escape introducers) with `?`, so a hostile
/// file name or commit message cannot rewrite the user's terminal.
pub fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_escape_sequences() {
        assert_eq!(super::sanitize("a\x1b[31mb\nc"), "a?[31mb?c");
    }
}
