//! `exp run --set KEY=VALUE`: editing the params file (YAML or JSON) in place, changing only
//! the values named and keeping the rest of the file (order, comments, layout) as it was.

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::config::{get_dotted, parse_cli_value, set_dotted};
use crate::error::hinted;
use crate::repo::Repo;

/// Largest params file edited.
const MAX_PARAMS_BYTES: u64 = 4 << 20;

/// The params file `--set` edits, repo-relative: `exp.params`, else the one params file the
/// workspace's pointers record as their source, else `params.yaml`/`params.yml`/`params.json`.
pub fn params_file(repo: &Repo) -> Result<String> {
    if let Some(v) = get_dotted(&repo.config.merged, "exp.params") {
        let Some(rel) = v.as_str() else { bail!("`exp.params` must be a path") };
        crate::paths::check_workspace_rel(rel).context("`exp.params`")?;
        return Ok(rel.to_string());
    }
    let mut sources = std::collections::BTreeSet::new();
    for (_, pointer) in crate::ops::load_pointers(repo, crate::ops::tracked(repo)?) {
        if let Some(s) = get_dotted(&pointer.meta, "sources.params").and_then(|v| v.as_str()) {
            sources.insert(s.to_string());
        }
    }
    if sources.len() == 1 {
        let rel = sources.into_iter().next().expect("one source");
        crate::paths::check_workspace_rel(&rel).context("`meta.sources.params`")?;
        return Ok(rel);
    }
    for name in ["params.yaml", "params.yml", "params.json"] {
        if repo.root.join(name).is_file() {
            return Ok(name.to_string());
        }
    }
    bail!(hinted(
        "no params file for `--set` to edit",
        "create `params.yaml`, or name it: `mvc config exp.params FILE`",
    ))
}

/// Sets each `KEY=VALUE` (dotted keys for nested maps; values read as YAML reads them) in the
/// params file at `rel`.
pub fn set_params(repo: &Repo, rel: &str, pairs: &[String]) -> Result<()> {
    let bytes = crate::paths::read_workspace_file(&repo.root, rel, MAX_PARAMS_BYTES)?
        .ok_or_else(|| hinted(format!("the params file `{rel}` does not exist"), "create it, or set `exp.params`"))?;
    let mut text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("`{rel}` is not valid UTF-8"))?;
    let json = rel.ends_with(".json");
    for pair in pairs {
        let Some((key, raw)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            bail!(hinted(format!("`{pair}` is not KEY=VALUE"), "write it as `--set lr=0.01`"));
        };
        let value = parse_cli_value(raw);
        let path: Vec<&str> = key.split('.').collect();
        if path.iter().any(|s| s.is_empty()) {
            bail!("`{key}` is not a param name");
        }
        text = if json { set_json(&text, &path, &value) } else { set_yaml(&text, &path, &value) }
            .with_context(|| format!("setting `{key}` in `{rel}`"))?;
    }
    crate::fsutil::check_no_symlinked_parent(&repo.root, std::path::Path::new(rel))?;
    crate::fsutil::write_atomic(&repo.root.join(rel), text.as_bytes(), 0o644)
}

/// The document with the whole value at `path` replaced (or added).
fn set_yaml(text: &str, path: &[&str], value: &Value) -> Result<String> {
    let parsed: Value = if text.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        crate::yaml::parse(text).map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let Value::Object(mut map) = parsed else { bail!("the params file must hold a mapping") };
    if let Some(edited) = yaml_in_place(text, path, &crate::yaml::flow(value)) {
        return Ok(edited);
    }
    // A key that is not there yet: written out whole (comments are lost only then).
    set_dotted_path(&mut map, path, value.clone())?;
    Ok(crate::yaml::block(&map, 0))
}

fn set_dotted_path(map: &mut serde_json::Map<String, Value>, path: &[&str], value: Value) -> Result<()> {
    if path.len() == 1 {
        map.insert(path[0].to_string(), value);
        return Ok(());
    }
    set_dotted(map, &path.join("."), value)
}

/// Replaces the scalar of `path` in block-style YAML, keeping everything else byte for byte;
/// None when the key is not there as a `key: value` line.
fn yaml_in_place(text: &str, path: &[&str], new: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let content = |l: &str| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---"
    };
    let (mut start, mut end, mut level) = (0, lines.len(), None::<usize>);
    for (depth, segment) in path.iter().enumerate() {
        let want = match level {
            None => 0,
            Some(_) => lines[start..end].iter().find(|l| content(l)).map(|l| indent(l))?,
        };
        if level.is_some_and(|l| want <= l) {
            return None;
        }
        let found = (start..end).find(|&i| {
            let l = lines[i];
            content(l) && indent(l) == want && key_of(l.trim_start()).is_some_and(|k| k == *segment)
        })?;
        if depth + 1 == path.len() {
            let line = lines[found];
            let after_key = line.find(':')? + 1;
            let rest = &line[after_key..];
            let value_part = rest.trim_end_matches(['\n', '\r']);
            if value_part.trim().is_empty() {
                return None; // a nested mapping, not a scalar
            }
            let comment = comment_of(value_part).unwrap_or("");
            let newline = &rest[value_part.len()..];
            let mut out: String = lines[..found].concat();
            out.push_str(&line[..after_key]);
            out.push(' ');
            out.push_str(new);
            if !comment.is_empty() {
                out.push_str("  ");
                out.push_str(comment);
            }
            out.push_str(newline);
            out.push_str(&lines[found + 1..].concat());
            return Some(out);
        }
        let parent_indent = want;
        start = found + 1;
        end = (start..lines.len())
            .find(|&i| content(lines[i]) && indent(lines[i]) <= parent_indent)
            .unwrap_or(lines.len());
        level = Some(parent_indent);
    }
    None
}

/// The key of a `key: value` line (plain or quoted).
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once(':')?;
    let key = key.trim();
    Some(
        key.strip_prefix('"')
            .and_then(|k| k.strip_suffix('"'))
            .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
            .unwrap_or(key),
    )
}

/// A trailing ` # comment` outside quotes.
fn comment_of(value: &str) -> Option<&str> {
    let (mut single, mut double) = (false, false);
    let bytes = value.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single && !double && (i == 0 || bytes[i - 1] == b' ') => return Some(&value[i..]),
            _ => {}
        }
    }
    None
}

/// The document with the value at `path` replaced in place (or added, which re-writes it).
fn set_json(text: &str, path: &[&str], value: &Value) -> Result<String> {
    let parsed: Value = serde_json::from_str(text).context("the params file is not valid JSON")?;
    let Value::Object(mut map) = parsed else { bail!("the params file must hold a JSON object") };
    let new = serde_json::to_string(value)?;
    if let Some((start, end)) = json_span(text.as_bytes(), path) {
        return Ok(format!("{}{new}{}", &text[..start], &text[end..]));
    }
    set_dotted_path(&mut map, path, value.clone())?;
    Ok(serde_json::to_string_pretty(&Value::Object(map))? + "\n")
}

/// Byte range of the value at `path` in a JSON document.
fn json_span(s: &[u8], path: &[&str]) -> Option<(usize, usize)> {
    let mut i = skip_ws(s, 0);
    for (depth, segment) in path.iter().enumerate() {
        if s.get(i) != Some(&b'{') {
            return None;
        }
        i += 1;
        let mut found = None;
        loop {
            i = skip_ws(s, i);
            if s.get(i) == Some(&b'}') {
                break;
            }
            let key_end = string_end(s, i)?;
            let key: String = serde_json::from_slice(&s[i..key_end]).ok()?;
            i = skip_ws(s, key_end);
            if s.get(i) != Some(&b':') {
                return None;
            }
            let value_start = skip_ws(s, i + 1);
            let value_end = value_end(s, value_start)?;
            if key == *segment {
                found = Some((value_start, value_end));
            }
            i = skip_ws(s, value_end);
            match s.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => break,
                _ => return None,
            }
        }
        let (value_start, value_end) = found?;
        if depth + 1 == path.len() {
            return Some((value_start, value_end));
        }
        i = value_start;
    }
    None
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

fn string_end(s: &[u8], i: usize) -> Option<usize> {
    if s.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

fn value_end(s: &[u8], i: usize) -> Option<usize> {
    match s.get(i)? {
        b'"' => string_end(s, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < s.len() {
                match s[j] {
                    b'"' => {
                        j = string_end(s, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < s.len() && !matches!(s[j], b',' | b'}' | b']') && !s[j].is_ascii_whitespace() {
                j += 1;
            }
            Some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_values_change_in_place_keeping_comments_and_order() {
        let doc = "# training\nlr: 0.1  # learning rate\nmodel:\n  depth: 3\n  name: \"a # b\"\nepochs: 5\n";
        let out = set_yaml(doc, &["lr"], &Value::from(0.01)).unwrap();
        assert_eq!(out, "# training\nlr: 0.01  # learning rate\nmodel:\n  depth: 3\n  name: \"a # b\"\nepochs: 5\n");
        let out = set_yaml(&out, &["model", "depth"], &Value::from(4)).unwrap();
        assert!(out.contains("  depth: 4\n") && out.contains("epochs: 5"), "{out}");
        let out = set_yaml(&out, &["model", "name"], &Value::from("x")).unwrap();
        assert!(out.contains("  name: x\n"), "{out}");
        // A new key: the document is written out with it.
        let out = set_yaml("lr: 1\n", &["seed"], &Value::from(7)).unwrap();
        let back: Value = crate::yaml::parse(&out).unwrap();
        assert_eq!(back, serde_json::json!({"lr": 1, "seed": 7}));
    }

    #[test]
    fn json_values_change_in_place() {
        let doc = "{\n  \"lr\": 0.1,\n  \"opt\": {\"name\": \"sgd\", \"m\": [1, 2]},\n  \"z\": 1\n}\n";
        let out = set_json(doc, &["opt", "name"], &Value::from("adam")).unwrap();
        assert_eq!(out, "{\n  \"lr\": 0.1,\n  \"opt\": {\"name\": \"adam\", \"m\": [1, 2]},\n  \"z\": 1\n}\n");
        let out = set_json(&out, &["lr"], &Value::from(0.01)).unwrap();
        assert!(out.starts_with("{\n  \"lr\": 0.01,\n"), "{out}");
        let out = set_json("{\"a\": 1}", &["b"], &Value::from(2)).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), serde_json::json!({"a": 1, "b": 2}));
    }
}
