//! Experiments (DESIGN §8): their refs (`refs/exps/<name>`), names, the run record carried in
//! the commit message, and step logs (JSON Lines a training script appends to, one object
//! per step), read from the workspace or from any commit's tree.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::error::hinted;

/// Where experiment refs live.
pub const REF_PREFIX: &str = "refs/exps/";

/// Step logs read when `exp.logs` is not set.
pub const DEFAULT_LOGS: &str = "logs/*.jsonl";

/// Largest step log read (a long run logs a few MiB).
pub const MAX_LOG_BYTES: u64 = 64 << 20;

/// The ref of experiment `name`.
pub fn ref_name(name: &str) -> String {
    format!("{REF_PREFIX}{name}")
}

/// Checks an experiment name: letters, digits, `.`, `_` and `-`, starting and ending with a
/// letter or digit, so it is one ref component and never mistaken for an option.
pub fn check_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let ends_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty()
        || name.len() > 100
        || !name.chars().all(ok_char)
        || !ends_ok
        || name.contains("..")
        || !git2::Reference::is_valid_name(&ref_name(name))
    {
        bail!(hinted(
            format!("`{}` is not a valid experiment name", crate::text::sanitize(name)),
            "use letters, digits, `.`, `_` and `-`, starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// The commit of experiment `name`, if there is one.
pub fn find(git: &git2::Repository, name: &str) -> Option<git2::Oid> {
    if check_name(name).is_err() {
        return None;
    }
    git.find_reference(&ref_name(name)).ok()?.peel_to_commit().ok().map(|c| c.id())
}

/// Every experiment: (name, commit), sorted by name.
pub fn list(git: &git2::Repository) -> Result<Vec<(String, git2::Oid)>> {
    let mut out = Vec::new();
    for reference in git.references_glob(&format!("{REF_PREFIX}*")).context("listing experiments")?.flatten() {
        let Some(name) = reference.name().ok().and_then(|n| n.strip_prefix(REF_PREFIX)) else { continue };
        if check_name(name).is_err() {
            continue;
        }
        let Ok(commit) = reference.peel_to_commit() else { continue };
        out.push((name.to_string(), commit.id()));
    }
    out.sort();
    Ok(out)
}

const ADJECTIVES: [&str; 32] = [
    "amber", "bold", "brisk", "calm", "clever", "crisp", "dusty", "eager", "fair", "fleet", "gentle", "glad", "hazy",
    "humble", "keen", "lucky", "mellow", "merry", "misty", "noble", "proud", "quiet", "rapid", "rosy", "shy", "silent",
    "sunny", "swift", "tidy", "vivid", "warm", "witty",
];
const NOUNS: [&str; 32] = [
    "badge", "basin", "birch", "brook", "cedar", "cloud", "coral", "delta", "dune", "ember", "fern", "field", "fjord",
    "frost", "grove", "harbor", "heron", "lake", "maple", "meadow", "mesa", "orbit", "otter", "pine", "prism", "reef",
    "ridge", "river", "spark", "stone", "tide", "willow",
];

/// A new two-word name (`swift-otter`) no experiment has yet; a number is appended when the
/// words run out.
pub fn generate_name(git: &git2::Repository) -> String {
    let seed = format!(
        "{:?}{}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default(),
        std::process::id()
    );
    let hash = blake3::hash(seed.as_bytes());
    let bytes = hash.as_bytes();
    for attempt in 0..64usize {
        let a = ADJECTIVES[(bytes[attempt % 32] as usize + attempt) % ADJECTIVES.len()];
        let n = NOUNS[(bytes[(attempt + 7) % 32] as usize + attempt * 3) % NOUNS.len()];
        let name = format!("{a}-{n}");
        if find(git, &name).is_none() {
            return name;
        }
    }
    let mut i = 2;
    loop {
        let name = format!("{}-{}-{i}", ADJECTIVES[bytes[0] as usize % 32], NOUNS[bytes[1] as usize % 32]);
        if find(git, &name).is_none() {
            return name;
        }
        i += 1;
    }
}

/// What `exp run` recorded about the command (absent for `exp save`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    /// The command, shell-quoted.
    pub command: Option<String>,
    /// Its exit code (None: killed by a signal, or not a run).
    pub exit: Option<i32>,
    /// Whether the run failed (non-zero exit or a signal).
    pub failed: bool,
    /// Wall-clock seconds.
    pub duration: Option<f64>,
}

/// The commit message of an experiment: a summary line, then trailers `git log` shows.
pub fn message(name: &str, record: &RunRecord) -> String {
    let mut msg = format!("mvc exp: {name}\n");
    let mut trailers = Vec::new();
    if let Some(cmd) = &record.command {
        trailers.push(format!("Exp-Command: {}", cmd.replace('\n', " ")));
    }
    if record.command.is_some() {
        trailers.push(format!(
            "Exp-Status: {}",
            match (record.failed, record.exit) {
                (false, _) => "ok".to_string(),
                (true, Some(code)) => format!("failed (exit {code})"),
                (true, None) => "failed (killed by a signal)".to_string(),
            }
        ));
    }
    if let Some(d) = record.duration {
        trailers.push(format!("Exp-Duration: {d:.3}"));
    }
    if !trailers.is_empty() {
        msg.push('\n');
        msg.push_str(&trailers.join("\n"));
        msg.push('\n');
    }
    msg
}

/// Reads back what [`message`] wrote; anything else gives an empty record.
pub fn parse_message(text: &str) -> RunRecord {
    let mut record = RunRecord::default();
    for line in text.lines() {
        if let Some(cmd) = line.strip_prefix("Exp-Command: ") {
            record.command = Some(crate::text::sanitize(cmd));
        } else if let Some(status) = line.strip_prefix("Exp-Status: ") {
            record.failed = status != "ok";
            record.exit = if status == "ok" {
                Some(0)
            } else {
                status.strip_prefix("failed (exit ").and_then(|s| s.strip_suffix(')')).and_then(|s| s.parse().ok())
            };
        } else if let Some(d) = line.strip_prefix("Exp-Duration: ") {
            record.duration = d.trim().parse().ok();
        }
    }
    record
}

/// Whether `path` (repo-relative, `/`-separated) matches `pattern`: `*` and `?` within one
/// path segment, `**` across any number of them.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn segs(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => segs(&p[1..], s) || (!s.is_empty() && segs(p, &s[1..])),
            (Some(pp), Some(ss)) => seg(pp.as_bytes(), ss.as_bytes()) && segs(&p[1..], &s[1..]),
            _ => false,
        }
    }
    fn seg(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => seg(&p[1..], s) || (!s.is_empty() && seg(p, &s[1..])),
            (Some(b'?'), Some(_)) => seg(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => seg(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    segs(&p, &s)
}

/// The directory a pattern's matches all live under (its segments before the first
/// wildcard), so only that part of a tree is walked.
pub fn glob_base(pattern: &str) -> String {
    let segments: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let fixed: Vec<&str> =
        segments[..segments.len() - 1].iter().take_while(|s| !s.contains(['*', '?', '['])).copied().collect();
    fixed.join("/")
}

/// The step-log patterns: `exp.logs` (a pattern or a list), else [`DEFAULT_LOGS`].
pub fn log_patterns(config: &crate::config::Config) -> Result<Vec<String>> {
    match crate::config::get_dotted(&config.merged, "exp.logs") {
        None | Some(Value::Null) => Ok(vec![DEFAULT_LOGS.to_string()]),
        Some(Value::String(s)) => Ok(s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).context("`exp.logs` must be a list of glob patterns"))
            .collect(),
        Some(_) => bail!("`exp.logs` must be a glob pattern or a list of them"),
    }
}

/// One step of a step log: its step number and numeric values.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `step` (else the line's position, from 0).
    pub step: f64,
    /// Every other key with a number (or a non-finite marker), flattened.
    pub values: BTreeMap<String, f64>,
}

/// Parses a step log. Lines that are blank or not a JSON object (a line being written while
/// we read, say) are skipped; NaN and infinities written by Python's `json` are kept.
pub fn parse_log(text: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(Value::Object(map)) = parse_json_line(line) else { continue };
        let flat = crate::meta::flatten_lenient(&Value::Object(map));
        let step = flat.get("step").and_then(crate::meta::number).unwrap_or(out.len() as f64);
        let values = flat
            .iter()
            .filter(|(k, _)| k.as_str() != "step")
            .filter_map(|(k, v)| Some((k.clone(), crate::meta::number(v)?)))
            .collect();
        out.push(Step { step, values });
    }
    out
}

fn parse_json_line(line: &str) -> Option<Value> {
    serde_json::from_str(line).ok().or_else(|| {
        // Python writes `NaN`, `Infinity` and `-Infinity`, which JSON lacks.
        let fixed = crate::meta::quote_non_finite(line);
        serde_json::from_str(&fixed).ok()
    })
}

/// The last step's values: a run's metrics when it has no metrics file.
pub fn last_values(steps: &[Step]) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(last) = steps.last() {
        out.insert("step".into(), crate::meta::number_value(last.step));
        for (k, v) in &last.values {
            out.insert(k.clone(), crate::meta::number_value(*v));
        }
    }
    out
}

/// Step logs in the workspace matching `patterns`: (path, text), sorted by path.
pub fn workspace_logs(root: &Path, patterns: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    for pattern in patterns {
        let base = glob_base(pattern);
        if !base.is_empty() && crate::paths::check_workspace_rel(&base).is_err() {
            continue;
        }
        let dir = if base.is_empty() { root.to_path_buf() } else { root.join(&base) };
        if crate::paths::check_resolved(root, &base).is_err() || !dir.is_dir() {
            continue;
        }
        for entry in walkdir::WalkDir::new(&dir).follow_links(false).max_depth(16).into_iter().flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(root) else { continue };
            let Some(rel) = rel.to_str() else { continue };
            if rel.starts_with(".git/") || !glob_match(pattern, rel) || crate::paths::check_workspace_rel(rel).is_err()
            {
                continue;
            }
            if let Some(bytes) = crate::paths::read_workspace_file(root, rel, MAX_LOG_BYTES)? {
                out.insert(rel.to_string(), String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Step logs in `commit`'s tree matching `patterns`: (path, text), sorted by path.
pub fn commit_logs(
    git: &git2::Repository,
    scope: &crate::repo::Scope,
    commit: git2::Oid,
    patterns: &[String],
) -> Result<Vec<(String, String)>> {
    let tree = git.find_commit(commit).context("reading a commit")?.tree().context("reading a commit's tree")?;
    let mut out = BTreeMap::new();
    let Some(tree) = scope.tree(git, tree)? else { return Ok(Vec::new()) };
    for pattern in patterns {
        let base = glob_base(pattern);
        let sub = if base.is_empty() {
            tree.clone()
        } else {
            match tree.get_path(Path::new(&base)).ok().and_then(|e| e.to_object(git).ok()?.into_tree().ok()) {
                Some(t) => t,
                None => continue,
            }
        };
        let mut found = Vec::new();
        sub.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob)
                && let Ok(name) = entry.name()
            {
                let rel = [base.as_str(), dir.trim_end_matches('/'), name]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/");
                if glob_match(pattern, &rel) && crate::paths::check_workspace_rel(&rel).is_ok() {
                    found.push((rel, entry.id()));
                }
            }
            git2::TreeWalkResult::Ok
        })
        .context("walking a commit's tree")?;
        for (rel, id) in found {
            let blob = git.find_blob(id).context("reading a step log")?;
            if blob.size() as u64 > MAX_LOG_BYTES {
                crate::notices::warn(format!("step log `{rel}` is over {MAX_LOG_BYTES} bytes: skipped"));
                continue;
            }
            out.insert(rel, String::from_utf8_lossy(blob.content()).into_owned());
        }
    }
    Ok(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_single_safe_ref_components() {
        for ok in ["swift-otter", "lr0.01", "a", "run_3"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a/b", "a..b", "x.", "a b", "a.lock", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn run_records_round_trip_through_the_message() {
        let r = RunRecord { command: Some("python train.py".into()), exit: Some(3), failed: true, duration: Some(1.5) };
        let msg = message("swift-otter", &r);
        assert!(msg.starts_with("mvc exp: swift-otter\n\n"), "{msg}");
        assert_eq!(parse_message(&msg), r);
        let ok = RunRecord { command: Some("x".into()), exit: Some(0), failed: false, duration: Some(0.25) };
        assert_eq!(parse_message(&message("n", &ok)), ok);
        assert_eq!(parse_message(&message("n", &RunRecord::default())), RunRecord::default());
    }

    #[test]
    fn globs_match_within_and_across_segments() {
        assert!(glob_match("logs/*.jsonl", "logs/train.jsonl"));
        assert!(!glob_match("logs/*.jsonl", "logs/a/train.jsonl"));
        assert!(!glob_match("logs/*.jsonl", "other/train.jsonl"));
        assert!(glob_match("**/*.jsonl", "a/b/c.jsonl"));
        assert!(glob_match("**/*.jsonl", "c.jsonl"));
        assert!(glob_match("run?.log", "run1.log"));
        assert_eq!(glob_base("logs/*.jsonl"), "logs");
        assert_eq!(glob_base("a/b/**/x"), "a/b");
        assert_eq!(glob_base("*.jsonl"), "");
    }

    #[test]
    fn step_logs_skip_partial_lines_and_keep_non_finite_values() {
        let steps =
            parse_log("{\"step\": 1, \"loss\": 0.5}\n\n{\"step\": 2, \"loss\": NaN, \"acc\": 1}\n{\"step\": 3, \"lo");
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].step, 2.0);
        assert!(steps[1].values["loss"].is_nan());
        let last = last_values(&steps);
        assert_eq!(last["loss"], Value::String("NaN".into()));
        assert_eq!(last["acc"], Value::from(1));
        assert_eq!(last["step"], Value::from(2));
    }
}
