//! Making text from other people (paths, messages, pointer fields) safe to print.

/// Replaces control characters (including ANSI escape introducers) with `?`, so a hostile
/// file name or commit message cannot rewrite the user's terminal.
pub fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Quotes `s` for a POSIX shell, so a command suggested in a hint runs as shown whatever a
/// file or remote name holds (`x$(touch y)` stays a name). Plain words are left as they are.
pub fn shell_quote(s: &str) -> String {
    // `#` starts a comment only at the start of a word (registry tags hold it: `a#prod#3`).
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,#".contains(c);
    if !s.is_empty() && !s.starts_with('#') && s.chars().all(plain) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Hides the user info (`user:password@`, a token) of every URL in `s`, as in
/// `https://<redacted>@host/repo`; the rest of the text is unchanged.
pub fn redact_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail.find(|c: char| "/?#'\"`<> \t\r\n".contains(c)).unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str("<redacted>");
                out.push_str(&authority[i..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A URL without its credentials, for storing: `https://user:TOKEN@host/r` becomes
/// `https://host/r` (for http(s) any user info is a credential); for other schemes only a
/// password goes (`ssh://git@host/r` keeps the user `git`). Other text is unchanged.
pub fn strip_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_string() };
    let web = ["http", "https", "ftp", "ftps"].contains(&scheme.to_ascii_lowercase().as_str());
    match userinfo.split_once(':') {
        _ if web => format!("{scheme}://{host}{tail}"),
        Some((user, _)) => format!("{scheme}://{user}@{host}{tail}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_are_stripped_for_storing() {
        assert_eq!(super::strip_credentials("https://bob:s3cret@h.example/r.git"), "https://h.example/r.git");
        assert_eq!(super::strip_credentials("https://TOKEN@h.example/r"), "https://h.example/r");
        assert_eq!(super::strip_credentials("ssh://git:pw@h:22/r"), "ssh://git@h:22/r");
        assert_eq!(super::strip_credentials("ssh://git@h/r"), "ssh://git@h/r");
        assert_eq!(super::strip_credentials("git@github.com:o/r.git"), "git@github.com:o/r.git");
        assert_eq!(super::strip_credentials("/local/path"), "/local/path");
    }

    #[test]
    fn strips_escape_sequences() {
        assert_eq!(super::sanitize("a\x1b[31mb\nc"), "a?[31mb?c");
    }

    #[test]
    fn shell_quoting_keeps_hostile_names_inert() {
        assert_eq!(super::shell_quote("data/model.bin"), "data/model.bin");
        assert_eq!(super::shell_quote("x$(touch pwned)"), "'x$(touch pwned)'");
        assert_eq!(super::shell_quote("it's"), r"'it'\''s'");
        assert_eq!(super::shell_quote("a b;rm -rf ~"), "'a b;rm -rf ~'");
        assert_eq!(super::shell_quote(""), "''");
        assert_eq!(super::shell_quote("refs/tags/churn#production#4"), "refs/tags/churn#production#4");
        assert_eq!(super::shell_quote("#x"), "'#x'");
        // What a POSIX shell makes of each quoted name is the name itself, never a command.
        for name in ["x$(touch pwned)", "a#b", "#c", "a'b\"c", "`id`;|&<>*?~#", "tab\there", "naïve.bin"] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", super::shell_quote(name)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), name);
        }
    }

    #[test]
    fn userinfo_is_hidden_in_urls_inside_text() {
        let text = "fatal: unable to access 'https://bob:s3cret@git.example.com/r.git/': 403";
        assert_eq!(
            super::redact_userinfo(text),
            "fatal: unable to access 'https://<redacted>@git.example.com/r.git/': 403"
        );
        assert_eq!(
            super::redact_userinfo("https://tok@h/x and ssh://git@h:22/y"),
            "https://<redacted>@h/x and ssh://<redacted>@h:22/y"
        );
        assert_eq!(super::redact_userinfo("https://host/a@b"), "https://host/a@b");
        assert_eq!(super::redact_userinfo("git@github.com:o/r.git"), "git@github.com:o/r.git");
    }
}
