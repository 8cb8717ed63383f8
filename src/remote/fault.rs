//! What went wrong talking to a remote, read from an error's `source()` chain: an endpoint
//! that cannot be reached (and why), a bucket that does not exist, refused credentials, a
//! missing object, or something else. One function owns the decision; every message built
//! from a backend error goes through it, so users get one sentence, never raw XML.

use std::error::Error as StdError;

use object_store::client::{HttpError, HttpErrorKind};

/// Why an endpoint could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// Nothing listens there (or it was killed).
    Refused,
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// No answer in time.
    Timeout,
    /// The connection could not be made for another reason.
    Other,
}

impl Unreachable {
    /// The cause in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Unreachable::Refused => "connection refused",
            Unreachable::Dns => "the host name does not resolve (DNS)",
            Unreachable::Tls => "the TLS handshake failed (certificate or protocol)",
            Unreachable::Timeout => "the connection timed out",
            Unreachable::Other => "the connection failed",
        }
    }
}

/// The class of a backend error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The endpoint cannot be reached: retrying other objects is pointless.
    Unreachable(Unreachable),
    /// The bucket (or container) does not exist.
    NoSuchBucket,
    /// Credentials missing or refused.
    Denied,
    /// The object is not there.
    NotFound,
    /// Anything else; the text is a short, URL-free summary.
    Other(String),
}

impl Fault {
    /// Whether every other request would fail the same way, so the transfer should stop.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Fault::Unreachable(_) | Fault::NoSuchBucket | Fault::Denied)
    }
}

/// Classifies an object_store error by walking its source chain.
pub fn classify(err: &object_store::Error) -> Fault {
    let err_dyn: &(dyn StdError + 'static) = err;
    let texts: Vec<String> = chain(err_dyn).map(|e| e.to_string()).collect();
    let all = texts.join(" | ");
    if all.contains("NoSuchBucket")
        || all.contains("ContainerNotFound")
        || all.contains("The specified bucket does not exist")
    {
        return Fault::NoSuchBucket;
    }
    if let Some(u) = unreachable(err_dyn) {
        return Fault::Unreachable(u);
    }
    match err {
        object_store::Error::NotFound { .. } => return Fault::NotFound,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            return Fault::Denied;
        }
        _ => {}
    }
    let lower = all.to_lowercase();
    if lower.contains("accessdenied")
        || lower.contains("invalidaccesskeyid")
        || lower.contains("signaturedoesnotmatch")
        || lower.contains("403 forbidden")
    {
        return Fault::Denied;
    }
    Fault::Other(summary(&all))
}

fn chain<'a>(err: &'a (dyn StdError + 'static)) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let mut next = Some(err);
    std::iter::from_fn(move || {
        let current = next?;
        next = current.source();
        Some(current)
    })
}

/// Whether the chain says the connection itself failed, and why.
fn unreachable(err: &(dyn StdError + 'static)) -> Option<Unreachable> {
    let mut connect = false;
    let mut cause = None;
    for e in chain(err) {
        if let Some(h) = e.downcast_ref::<HttpError>()
            && h.kind() == HttpErrorKind::Connect
        {
            connect = true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => cause = cause.or(Some(Unreachable::Refused)),
                std::io::ErrorKind::TimedOut if connect => cause = cause.or(Some(Unreachable::Timeout)),
                _ => {}
            }
        }
        let text = e.to_string().to_lowercase();
        if text.contains("dns error") || text.contains("failed to lookup address") || text.contains("name or service") {
            cause = cause.or(Some(Unreachable::Dns));
        } else if text.contains("certificate") || text.contains("tls") || text.contains("ssl") {
            cause = cause.or(Some(Unreachable::Tls));
        } else if text.contains("tcp connect error") || text.contains("client error (connect)") {
            connect = true;
        } else if connect && text.contains("timed out") {
            cause = cause.or(Some(Unreachable::Timeout));
        }
    }
    match (connect, cause) {
        (_, Some(Unreachable::Refused)) => Some(Unreachable::Refused),
        (true, c) => Some(c.unwrap_or(Unreachable::Other)),
        (false, Some(c @ (Unreachable::Dns | Unreachable::Tls))) => Some(c),
        _ => None,
    }
}

/// A short description of an HTTP failure: the status line and the S3/Azure error code if a
/// body carried one, else the innermost cause; never a URL, XML or query string.
fn summary(all: &str) -> String {
    let code = between(all, "<Code>", "</Code>");
    let status = all.find("status code: ").map(|i| {
        let rest = &all[i + "status code: ".len()..];
        rest.split(':').next().unwrap_or(rest).trim().to_string()
    });
    match (status, code) {
        (Some(s), Some(c)) => format!("HTTP {s} ({c})"),
        (Some(s), None) => format!("HTTP {s}"),
        (None, Some(c)) => c.to_string(),
        (None, None) => {
            let last = all.rsplit(" | ").next().unwrap_or(all);
            strip_urls(last)
        }
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// Removes anything that looks like a URL (they may carry userinfo or signatures).
fn strip_urls(text: &str) -> String {
    text.split(' ')
        .map(|w| if w.contains("://") { "<url>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_never_carry_xml_or_urls() {
        let text = "Error performing GET http://u:p@127.0.0.1:1/b/k in 1ms - Server returned non-2xx status code: \
                    503 Service Unavailable: <?xml version=\"1.0\"?><Error><Code>SlowDown</Code></Error>";
        assert_eq!(summary(text), "HTTP 503 Service Unavailable (SlowDown)");
        assert_eq!(summary("a | b https://x.example/?sig=1 failed"), "b <url> failed");
    }

    #[test]
    fn refused_connections_are_recognised_in_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let http = HttpError::new(HttpErrorKind::Connect, io);
        let err = object_store::Error::Generic { store: "S3", source: Box::new(http) };
        assert_eq!(classify(&err), Fault::Unreachable(Unreachable::Refused));
        assert!(classify(&err).is_fatal());
    }
}
