//! YAML in and out: parsing untrusted documents under tight limits (serde-saphyr), and a
//! small emitter with a fixed key order so files mvc writes have stable bytes.

use std::fmt::Write as _;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Largest YAML document mvc reads (pointers and config files are tiny).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// A YAML document that could not be read, with the 1-based line when known.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct YamlError {
    /// 1-based line of the problem, when the parser knows it.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// Parses an untrusted YAML document: size-checked first, duplicate keys refused, alias and
/// depth budgets tight, and no include features.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    parse_limited(text, MAX_DOCUMENT_BYTES, 20_000)
}

/// [`parse`] with larger size and node budgets, for other tools' files that grow with a
/// project (DVC's `dvc.lock` lists every dependency of every stage).
pub fn parse_limited<T: DeserializeOwned>(text: &str, max_bytes: usize, max_nodes: usize) -> Result<T, YamlError> {
    if text.len() > max_bytes {
        return Err(YamlError {
            line: None,
            message: format!("file is {} bytes, over the {} byte limit", text.len(), max_bytes),
        });
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 32,
            max_nodes: max_nodes,
            max_aliases: 64,
            max_anchors: 64,
            max_documents: 1,
        },
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::Error,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| YamlError {
        line: e.location().map(|l| l.line()).filter(|&l| l > 0),
        message: first_line(&e.to_string()),
    })
}

fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or("invalid YAML").trim();
    // The parser's own position suffix duplicates the line we print in front.
    let line = match line.rfind(" at line ") {
        Some(i) => &line[..i],
        None => line,
    };
    crate::text::sanitize(&plain_wording(line))
}

/// The parser's messages in the user's terms: its hints address programmers using the
/// library (`set DuplicateKeyPolicy in Options`), not someone editing a file.
fn plain_wording(line: &str) -> String {
    if let Some(rest) = line.strip_prefix("duplicate mapping key") {
        let key = rest.strip_prefix(": ").and_then(|r| r.split(", set ").next()).map(str::trim);
        return match key {
            Some(k) if !k.is_empty() => format!("the key `{k}` appears twice"),
            _ => "a key appears twice".to_string(),
        };
    }
    if line.starts_with("!!binary scalar is not valid UTF-8") {
        return "a `!!binary` value is not text; write it as a plain string".to_string();
    }
    if let Some(rest) = line.strip_prefix("budget breached: ") {
        let what = rest.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("size").to_lowercase();
        return format!("the document is too large or too deeply nested (limit on {what})");
    }
    line.to_string()
}

/// Renders a string as a YAML scalar: plain when that reads back as the same string,
/// double-quoted (JSON escaping, which YAML accepts) otherwise.
pub fn scalar(s: &str) -> String {
    if is_plain_safe(s) { s.to_string() } else { serde_json::to_string(s).expect("strings always serialize") }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | ' ' | '+');
    let reserved = ["null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", ".nan"];
    s.chars().all(allowed)
        && !first.is_ascii_digit()
        && !matches!(first, '-' | '.' | '+' | ' ')
        && !s.ends_with(' ')
        && !reserved.contains(&s.to_ascii_lowercase().as_str())
}

/// Renders a JSON value in YAML flow style: `{a: 1, b: [x, y]}`.
pub fn flow(value: &Value) -> String {
    let mut out = String::new();
    write_flow(&mut out, value);
    out
}

fn write_flow(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&scalar(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_flow(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}: ", scalar(k));
                write_flow(out, v);
            }
            out.push('}');
        }
    }
}

/// Renders a map in block style, nested maps indented by two spaces, lists and scalars in
/// flow style. Keys keep the map's order.
pub fn block(map: &Map<String, Value>, indent: usize) -> String {
    let mut out = String::new();
    for (key, value) in map {
        let pad = " ".repeat(indent);
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                let _ = writeln!(out, "{pad}{}:", scalar(key));
                out.push_str(&block(inner, indent + 2));
            }
            other => {
                let _ = writeln!(out, "{pad}{}: {}", scalar(key), flow(other));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back_as_the_same_string() {
        for s in [
            "model.pkl",
            "data/train",
            "yes",
            "No",
            "123",
            "1e5",
            "-x",
            "a: b",
            "a #b",
            "",
            " lead",
            "trail ",
            "\"q\"",
            "tab\there",
            "null",
            "~",
            "é.bin",
            "[x]",
            "{y}",
            "*a",
            "&b",
            "!t",
            "%p",
            "@a",
            "`b",
            "0x10",
            ".5",
            "with space",
        ] {
            let doc = format!("k: {}\n", scalar(s));
            let back: std::collections::BTreeMap<String, String> = parse(&doc).unwrap();
            assert_eq!(back["k"], s, "scalar {s:?} rendered as {doc:?}");
        }
    }

    #[test]
    fn flow_values_round_trip() {
        let value: Value =
            serde_json::json!({"lr": 0.001, "batch": 32, "tags": ["a", "b c"], "ok": true, "none": null});
        let doc = format!("v: {}\n", flow(&value));
        let back: std::collections::BTreeMap<String, Value> = parse(&doc).unwrap();
        assert_eq!(back["v"], value);
    }

    #[test]
    fn duplicate_keys_and_oversized_documents_are_refused() {
        let err = parse::<Value>("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        assert_eq!(err.to_string(), "line 2: the key `a` appears twice");
        let big = format!("a: \"{}\"\n", "x".repeat(MAX_DOCUMENT_BYTES));
        assert!(parse::<Value>(&big).is_err());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            let _ = writeln!(doc, "a{i}: &a{i} [{}]", vec![prev; 10].join(", "));
        }
        assert!(parse::<Value>(&doc).is_err());
    }
}
