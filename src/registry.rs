//! The model registry's vocabulary (DESIGN §3.5): artifact and stage names, semantic
//! versions, the git tag of each event (GTO's format), and the state those events add up to.
//! Pure functions over tag names and messages; reading and writing tags is in `ops::registry`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Result, bail};

/// A semantic version `vMAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// Incompatible changes.
    pub major: u64,
    /// Compatible additions.
    pub minor: u64,
    /// Fixes.
    pub patch: u64,
}

impl Version {
    /// Parses `v1.2.3` (the `v` is required, as in GTO's tags).
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.strip_prefix('v')?.split('.');
        let mut next = || -> Option<u64> {
            let p = parts.next()?;
            // No leading zeros, no signs: semver's rule.
            if p.is_empty() || (p.len() > 1 && p.starts_with('0')) || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let v = Version { major: next()?, minor: next()?, patch: next()? };
        parts.next().is_none().then_some(v)
    }

    /// The next version for a bump of `part`.
    pub fn bump(self, part: Bump) -> Version {
        match part {
            Bump::Major => Version { major: self.major + 1, minor: 0, patch: 0 },
            Bump::Minor => Version { major: self.major, minor: self.minor + 1, patch: 0 },
            Bump::Patch => Version { patch: self.patch + 1, ..self },
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Which part of a version to increase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    /// `v1.2.3` -> `v2.0.0`.
    Major,
    /// `v1.2.3` -> `v1.3.0`.
    Minor,
    /// `v1.2.3` -> `v1.2.4`.
    Patch,
}

/// Checks an artifact or stage name: `[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?`, no `//`, and
/// valid inside a git ref.
pub fn check_name(what: &str, name: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    let body_ok = bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'_'));
    if !edge_ok(bytes.first()) || !edge_ok(bytes.last()) || !body_ok || name.contains("//") {
        bail!(crate::error::hinted(
            format!("`{}` is not a valid {what} name", crate::text::sanitize(name)),
            "use letters, digits, `-`, `_` and `/`, starting and ending with a letter or digit",
        ));
    }
    if !git2::Reference::is_valid_name(&format!("refs/tags/{name}@v0.0.0")) {
        bail!("`{name}` would not make a valid git tag");
    }
    Ok(())
}

/// What a registry tag records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `NAME@vX.Y.Z`.
    Register(Version),
    /// `NAME@vX.Y.Z!#N`.
    Deregister(Version),
    /// `NAME#STAGE#N`.
    Assign(String),
    /// `NAME#STAGE!#N`.
    Unassign(String),
    /// `NAME@deprecated#N`.
    Deprecate,
}

/// A parsed registry tag name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagName {
    /// The artifact.
    pub artifact: String,
    /// The event.
    pub event: Event,
    /// The `#N` counter; 0 for a register tag, which has none.
    pub counter: u64,
}

impl TagName {
    /// Parses a tag name in any of §3.5's forms; None for tags that are not registry tags.
    pub fn parse(tag: &str) -> Option<TagName> {
        let valid = |n: &str| check_name("artifact", n).is_ok();
        // Counter suffix `#N`, present on every event but register.
        let (body, counter) = match tag.rsplit_once('#') {
            Some((b, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => (b, n.parse().ok()?),
            _ => (tag, 0),
        };
        if let Some((artifact, rest)) = body.split_once('@') {
            if !valid(artifact) {
                return None;
            }
            let event = if rest == "deprecated" && counter > 0 {
                Event::Deprecate
            } else if let Some(v) = rest.strip_suffix('!') {
                Event::Deregister(Version::parse(v)?)
            } else {
                Event::Register(Version::parse(rest)?)
            };
            if matches!(event, Event::Register(_)) && counter != 0 {
                return None;
            }
            return Some(TagName { artifact: artifact.to_string(), event, counter });
        }
        let (artifact, stage) = body.split_once('#')?;
        if counter == 0 || !valid(artifact) {
            return None;
        }
        let (stage, unassign) = match stage.strip_suffix('!') {
            Some(s) => (s, true),
            None => (stage, false),
        };
        check_name("stage", stage).ok()?;
        let event = if unassign { Event::Unassign(stage.to_string()) } else { Event::Assign(stage.to_string()) };
        Some(TagName { artifact: artifact.to_string(), event, counter })
    }

    /// The tag's name.
    pub fn format(&self) -> String {
        let (a, n) = (&self.artifact, self.counter);
        match &self.event {
            Event::Register(v) => format!("{a}@{v}"),
            Event::Deregister(v) => format!("{a}@{v}!#{n}"),
            Event::Assign(s) => format!("{a}#{s}#{n}"),
            Event::Unassign(s) => format!("{a}#{s}!#{n}"),
            Event::Deprecate => format!("{a}@deprecated#{n}"),
        }
    }
}

/// A registry reference given where a revision or path is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryRef {
    /// `NAME`: its latest version.
    Latest(String),
    /// `NAME@vX.Y.Z`.
    Version(String, Version),
    /// `NAME#STAGE`: the version in that stage.
    Stage(String, String),
}

impl RegistryRef {
    /// Parses `NAME@v1.2.3`, `NAME@latest`, `NAME#stage`, or (with `bare_name`) `NAME`.
    pub fn parse(s: &str, bare_name: bool) -> Option<RegistryRef> {
        if let Some((name, rest)) = s.split_once('@') {
            check_name("artifact", name).ok()?;
            return match rest {
                "latest" => Some(RegistryRef::Latest(name.to_string())),
                v => Some(RegistryRef::Version(name.to_string(), Version::parse(v)?)),
            };
        }
        if let Some((name, stage)) = s.split_once('#') {
            check_name("artifact", name).ok()?;
            check_name("stage", stage).ok()?;
            return Some(RegistryRef::Stage(name.to_string(), stage.to_string()));
        }
        (bare_name && check_name("artifact", s).is_ok()).then(|| RegistryRef::Latest(s.to_string()))
    }

    /// The artifact's name.
    pub fn name(&self) -> &str {
        match self {
            RegistryRef::Latest(n) | RegistryRef::Version(n, _) | RegistryRef::Stage(n, _) => n,
        }
    }
}

/// One registry tag as read from git.
#[derive(Debug, Clone)]
pub struct TagRecord {
    /// The parsed name.
    pub tag: TagName,
    /// The commit it points at.
    pub commit: git2::Oid,
    /// Who made it (annotated tags); empty for lightweight tags.
    pub tagger: String,
    /// When, seconds since the epoch (the commit's time for lightweight tags).
    pub time: i64,
    /// The message's free text (before the metadata block).
    pub message: String,
    /// The metadata block (`path`, `oid`, `version`, `rollback`), when present.
    pub meta: BTreeMap<String, String>,
}

/// Separates a tag message's text from its metadata block.
pub const META_SEPARATOR: &str = "\n---\n";

/// Builds a tag message: the text, then a YAML block with `keys`.
pub fn tag_message(text: &str, keys: &[(&str, String)]) -> String {
    let mut out = text.trim_end().to_string();
    out.push_str(META_SEPARATOR);
    for (k, v) in keys {
        out.push_str(&format!("{k}: {}\n", crate::yaml::scalar(v)));
    }
    out
}

/// Splits a tag message into its text and its metadata block (simple `key: value` lines).
pub fn parse_message(message: &str) -> (String, BTreeMap<String, String>) {
    let Some((text, block)) = message.split_once(META_SEPARATOR) else {
        return (message.trim().to_string(), BTreeMap::new());
    };
    let meta = crate::yaml::parse::<BTreeMap<String, serde_json::Value>>(block)
        .map(|m| {
            m.into_iter().map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect()
        })
        .unwrap_or_default();
    (text.trim().to_string(), meta)
}

/// One artifact's registry state, derived from its tags.
#[derive(Debug, Clone, Default)]
pub struct ArtifactState {
    /// Registered (and not deregistered) versions, oldest first, with their tags.
    pub versions: Vec<(Version, TagRecord)>,
    /// Each stage's current holder.
    pub stages: BTreeMap<String, Version>,
    /// Each stage's holder stack: normal assigns push, unassigns push None, rollbacks pop.
    pub stage_history: BTreeMap<String, Vec<Option<Version>>>,
    /// Whether the artifact was deprecated.
    pub deprecated: bool,
    /// Every event, in order (counter, then time).
    pub events: Vec<TagRecord>,
    /// The highest counter among the artifact's tags.
    pub max_counter: u64,
}

impl ArtifactState {
    /// The latest registered version.
    pub fn latest(&self) -> Option<&(Version, TagRecord)> {
        self.versions.last()
    }

    /// The registration of `v`.
    pub fn version(&self, v: Version) -> Option<&TagRecord> {
        self.versions.iter().find(|(x, _)| *x == v).map(|(_, t)| t)
    }

    /// Which version a rollback of `stage` returns to: the holder before the current one.
    pub fn rollback_target(&self, stage: &str) -> Option<Version> {
        let stack = self.stage_history.get(stage)?;
        let current = stack.last().copied().flatten();
        stack.iter().rev().skip(1).flatten().copied().find(|v| Some(*v) != current)
    }
}

/// Folds tag records into per-artifact state.
pub fn state(records: &[TagRecord]) -> BTreeMap<String, ArtifactState> {
    let mut sorted: Vec<&TagRecord> = records.iter().collect();
    sorted.sort_by(|a, b| order(a, b));
    let mut out: BTreeMap<String, ArtifactState> = BTreeMap::new();
    for r in sorted {
        let s = out.entry(r.tag.artifact.clone()).or_default();
        s.max_counter = s.max_counter.max(r.tag.counter);
        s.events.push(r.clone());
        match &r.tag.event {
            Event::Register(v) => {
                s.versions.retain(|(x, _)| x != v);
                s.versions.push((*v, r.clone()));
            }
            Event::Deregister(v) => s.versions.retain(|(x, _)| x != v),
            Event::Deprecate => s.deprecated = true,
            Event::Assign(stage) => {
                let v = r.meta.get("version").and_then(|v| Version::parse(v));
                let v = v.or_else(|| version_at(&s.versions, r.commit));
                let stack = s.stage_history.entry(stage.clone()).or_default();
                if r.meta.get("rollback").is_some_and(|x| x == "true") && stack.len() > 1 {
                    stack.pop();
                    if stack.last().copied().flatten() != v {
                        stack.push(v);
                    }
                } else {
                    stack.push(v);
                }
            }
            Event::Unassign(stage) => s.stage_history.entry(stage.clone()).or_default().push(None),
        }
    }
    for s in out.values_mut() {
        s.versions.sort_by_key(|(v, _)| *v);
        s.stages = s
            .stage_history
            .iter()
            .filter_map(|(stage, stack)| Some((stage.clone(), stack.last().copied().flatten()?)))
            .collect();
    }
    out
}

/// GTO's assign tags carry no version: it is the version registered on the same commit.
fn version_at(versions: &[(Version, TagRecord)], commit: git2::Oid) -> Option<Version> {
    versions.iter().rev().find(|(_, t)| t.commit == commit).map(|(v, _)| *v)
}

/// Events are ordered by counter, then tagger time. Register tags carry no counter and sort
/// first, so every stage event can find the version it names.
fn order(a: &TagRecord, b: &TagRecord) -> Ordering {
    (a.tag.counter, a.time).cmp(&(b.tag.counter, b.time))
}

/// Every registry tag in the repository (other tags are ignored).
pub fn read_records(git: &git2::Repository) -> Result<Vec<TagRecord>> {
    let mut out = Vec::new();
    for reference in git.references_glob("refs/tags/*")?.flatten() {
        let Ok(name) = reference.shorthand() else { continue };
        let Some(tag) = TagName::parse(name) else { continue };
        let Ok(commit) = reference.peel_to_commit() else { continue };
        let (tagger, time, message) = match reference.peel_to_tag() {
            Ok(t) => {
                let who = t.tagger().map(|s| {
                    let name = s.name().unwrap_or("?");
                    (crate::text::sanitize(name), s.when().seconds())
                });
                let (who, when) = who.unwrap_or_else(|| (String::new(), commit.time().seconds()));
                (who, when, t.message().ok().flatten().unwrap_or("").to_string())
            }
            Err(_) => (String::new(), commit.time().seconds(), String::new()),
        };
        let (message, meta) = parse_message(&message);
        out.push(TagRecord { tag, commit: commit.id(), tagger, time, message: crate::text::sanitize(&message), meta });
    }
    Ok(out)
}

/// An artifact declared in `artifacts.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Repo-relative artifact path.
    pub path: String,
    /// `model` or `dataset` (free text in GTO; shown as is).
    pub kind: String,
    /// One line about it.
    pub description: String,
}

/// The root file that declares registry artifacts (GTO reads the same file).
pub const ARTIFACTS_FILE: &str = "artifacts.yaml";

/// Reads `artifacts.yaml` text: NAME -> path, type, description; other keys are ignored.
pub fn parse_declarations(text: &str) -> Result<BTreeMap<String, Declared>> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let raw: BTreeMap<String, serde_json::Value> = crate::yaml::parse(text)?;
    let mut out = BTreeMap::new();
    for (name, v) in raw {
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        out.insert(name, Declared { path: field("path"), kind: field("type"), description: field("description") });
    }
    Ok(out)
}

/// The declarations in the work tree's `artifacts.yaml` (empty when there is none).
pub fn declarations(root: &std::path::Path) -> Result<BTreeMap<String, Declared>> {
    match crate::paths::read_workspace_file(root, ARTIFACTS_FILE, crate::yaml::MAX_DOCUMENT_BYTES as u64 * 16)? {
        Some(bytes) => {
            let text =
                String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("`{ARTIFACTS_FILE}` is not valid UTF-8"))?;
            parse_declarations(&text).map_err(|e| anyhow::anyhow!("`{ARTIFACTS_FILE}`: {e}"))
        }
        None => Ok(BTreeMap::new()),
    }
}

/// A registry reference resolved to a version on a commit.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The artifact's name.
    pub name: String,
    /// The version.
    pub version: Version,
    /// Its registration tag.
    pub record: TagRecord,
}

/// Resolves a registry reference against the tags of `git`.
pub fn resolve_ref(git: &git2::Repository, r: &RegistryRef) -> Result<Resolved> {
    let records = read_records(git)?;
    let all = state(&records);
    let name = r.name();
    let Some(s) = all.get(name) else {
        bail!(crate::error::hinted(
            format!("`{}` has no registered versions", crate::text::sanitize(name)),
            "register one with `mvc register NAME PATH`",
        ));
    };
    let version = match r {
        RegistryRef::Latest(_) => s.latest().map(|(v, _)| *v),
        RegistryRef::Version(_, v) => Some(*v),
        RegistryRef::Stage(_, stage) => s.stages.get(stage).copied(),
    };
    let Some(version) = version else {
        bail!(match r {
            RegistryRef::Stage(n, stage) => format!("no version of `{n}` is in stage `{stage}`"),
            _ => format!("`{name}` has no registered versions"),
        });
    };
    let Some(record) = s.version(version) else {
        bail!(crate::error::hinted(
            format!("`{name}@{version}` is not registered"),
            format!("list versions with `mvc show {}`", crate::text::shell_quote(name)),
        ));
    };
    Ok(Resolved { name: name.to_string(), version, record: record.clone() })
}

/// Where a registered artifact's pointer lives at its version: the path recorded in the tag,
/// else the declaration's. A path no artifact may have (tags and `artifacts.yaml` come with
/// other people's pushes) counts as none.
pub fn artifact_path(resolved: &Resolved, declared: &BTreeMap<String, Declared>) -> Option<String> {
    resolved
        .record
        .meta
        .get("path")
        .cloned()
        .or_else(|| declared.get(&resolved.name).map(|d| d.path.clone()))
        .filter(|p| crate::paths::check_artifact_rel(p).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_form_round_trips() {
        let v = Version::parse("v1.2.3").unwrap();
        let cases = [
            ("churn@v1.2.3", "churn", Event::Register(v), 0),
            ("churn@v1.2.3!#4", "churn", Event::Deregister(v), 4),
            ("team/churn-model#production#5", "team/churn-model", Event::Assign("production".into()), 5),
            ("churn#staging!#6", "churn", Event::Unassign("staging".into()), 6),
            ("my_model@deprecated#7", "my_model", Event::Deprecate, 7),
        ];
        for (tag, artifact, event, counter) in cases {
            let parsed = TagName::parse(tag).unwrap_or_else(|| panic!("{tag}"));
            assert_eq!(parsed, TagName { artifact: artifact.into(), event, counter }, "{tag}");
            assert_eq!(parsed.format(), tag);
        }
    }

    #[test]
    fn non_registry_tags_are_ignored() {
        for tag in [
            "v1.0.0",
            "release-2",
            "churn@1.2.3",
            "churn@v1.2",
            "churn#prod",
            "-x@v1.0.0",
            "a//b@v1.0.0",
            "churn@v1.0.0#3",
        ] {
            assert_eq!(TagName::parse(tag), None, "{tag}");
        }
    }

    #[test]
    fn names_are_validated() {
        for ok in ["churn", "a", "team/churn-v2", "x_y"] {
            assert!(check_name("artifact", ok).is_ok(), "{ok}");
        }
        for bad in ["", "-churn", "churn-", "a//b", "a b", "a.b", "ch@rn", "a#b", "/a"] {
            assert!(check_name("artifact", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_order_and_bump_semantically() {
        let p = |s| Version::parse(s).unwrap();
        assert!(p("v1.10.0") > p("v1.9.9"));
        assert!(p("v2.0.0") > p("v1.99.99"));
        assert_eq!(p("v1.2.3").bump(Bump::Patch), p("v1.2.4"));
        assert_eq!(p("v1.2.3").bump(Bump::Minor), p("v1.3.0"));
        assert_eq!(p("v1.2.3").bump(Bump::Major), p("v2.0.0"));
        for bad in ["1.2.3", "v1.2", "v1.2.3.4", "v01.2.3", "v1.2.x", "v1.2.3-rc1", "v"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn registry_refs_parse() {
        let v = Version::parse("v1.2.0").unwrap();
        assert_eq!(RegistryRef::parse("churn@v1.2.0", false), Some(RegistryRef::Version("churn".into(), v)));
        assert_eq!(RegistryRef::parse("churn@latest", false), Some(RegistryRef::Latest("churn".into())));
        assert_eq!(
            RegistryRef::parse("churn#production", false),
            Some(RegistryRef::Stage("churn".into(), "production".into()))
        );
        assert_eq!(RegistryRef::parse("churn", false), None);
        assert_eq!(RegistryRef::parse("churn", true), Some(RegistryRef::Latest("churn".into())));
        assert_eq!(RegistryRef::parse("HEAD~1", false), None);
    }

    fn record(tag: &str, time: i64, meta: &[(&str, &str)]) -> TagRecord {
        TagRecord {
            tag: TagName::parse(tag).unwrap(),
            commit: git2::Oid::ZERO_SHA1,
            tagger: "t".into(),
            time,
            message: String::new(),
            meta: meta.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn repeated_rollbacks_walk_back_through_holders() {
        let mut tags = vec![
            record("m@v1.0.0", 1, &[]),
            record("m@v1.1.0", 2, &[]),
            record("m@v1.2.0", 3, &[]),
            record("m#prod#1", 4, &[("version", "v1.0.0")]),
            record("m#prod#2", 5, &[("version", "v1.1.0")]),
            record("m#prod#3", 6, &[("version", "v1.2.0")]),
        ];
        let s = &state(&tags)["m"];
        assert_eq!(s.stages["prod"].to_string(), "v1.2.0");
        assert_eq!(s.rollback_target("prod").unwrap().to_string(), "v1.1.0");
        tags.push(record("m#prod#4", 7, &[("version", "v1.1.0"), ("rollback", "true")]));
        let s = &state(&tags)["m"];
        assert_eq!(s.stages["prod"].to_string(), "v1.1.0");
        assert_eq!(s.rollback_target("prod").unwrap().to_string(), "v1.0.0");
        tags.push(record("m#prod!#5", 8, &[]));
        assert!(!state(&tags)["m"].stages.contains_key("prod"));
        assert_eq!(state(&tags)["m"].rollback_target("prod").unwrap().to_string(), "v1.1.0");
    }
}
