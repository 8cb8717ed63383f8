//! The model registry's vocabulary (DESIGN §3.5): artifact and stage names, semantic
//! versions, the git tag of each event (GTO's format), and the state those events add up to.
//! Pure functions over tag names and messages; reading and writing tags is in `ops::registry`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Result, bail};

/// A semantic version `vMAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` (SemVer 2.0 with GTO's `v`).
/// Ordered by SemVer precedence (build metadata last, only to keep `Eq` and `Ord` in step).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    /// Incompatible changes.
    pub major: u64,
    /// Compatible additions.
    pub minor: u64,
    /// Fixes.
    pub patch: u64,
    /// Pre-release identifiers (`rc.1`), empty for a release.
    pub pre: String,
    /// Build metadata (`build.5`), ignored by precedence.
    pub build: String,
}

fn numeric(p: &str) -> Option<u64> {
    // No leading zeros, no signs: semver's rule.
    if p.is_empty() || (p.len() > 1 && p.starts_with('0')) || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

fn ident_ok(p: &str, pre: bool) -> bool {
    !p.is_empty()
        && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && (!pre || !p.bytes().all(|b| b.is_ascii_digit()) || p == "0" || !p.starts_with('0'))
}

impl Version {
    /// Parses `v1.2.3`, `v1.0.0-rc.1`, `v1.0.0+build.5` (the `v` is required, as in GTO's tags).
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.strip_prefix('v')?;
        let (rest, build) = match s.split_once('+') {
            Some((_, "")) => return None,
            Some((a, b)) => (a, b),
            None => (s, ""),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((_, "")) => return None,
            Some((a, b)) => (a, b),
            None => (rest, ""),
        };
        if !pre.is_empty() && !pre.split('.').all(|p| ident_ok(p, true)) {
            return None;
        }
        if !build.is_empty() && !build.split('.').all(|p| ident_ok(p, false)) {
            return None;
        }
        let mut parts = core.split('.');
        let major = numeric(parts.next()?)?;
        let minor = numeric(parts.next()?)?;
        let patch = numeric(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Version { major, minor, patch, pre: pre.to_string(), build: build.to_string() })
    }

    /// A release version.
    pub fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version { major, minor, patch, pre: String::new(), build: String::new() }
    }

    /// The next version for a bump of `part` (as GTO's semver: pre-release and build dropped;
    /// a pre-release bumps to its release first only for patch), or None when a number would
    /// overflow.
    pub fn bump(&self, part: Bump) -> Option<Version> {
        Some(match part {
            Bump::Major => Version::new(self.major.checked_add(1)?, 0, 0),
            Bump::Minor => Version::new(self.major, self.minor.checked_add(1)?, 0),
            Bump::Patch => Version::new(self.major, self.minor, self.patch.checked_add(1)?),
        })
    }
}

fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let num = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
                let o = match (num(p), num(q)) {
                    (true, true) => (p.len(), p).cmp(&(q.len(), q)),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| cmp_pre(&self.pre, &other.pre))
            .then_with(|| self.build.cmp(&other.build))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
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
    /// `NAME@vX.Y.Z` (GTO may add `#N`).
    Register(Version),
    /// `NAME@vX.Y.Z!#N` or `NAME@vX.Y.Z!`.
    Deregister(Version),
    /// `NAME#STAGE#N` or `NAME#STAGE`.
    Assign(String),
    /// `NAME#STAGE!#N` or `NAME#STAGE!`.
    Unassign(String),
    /// `NAME@deprecated#N` or `NAME@deprecated`.
    Deprecate,
}

/// A parsed registry tag name (GTO's `tag_re`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagName {
    /// The artifact.
    pub artifact: String,
    /// The event.
    pub event: Event,
    /// The `#N` counter in decimal, when the tag has one (any size: GTO's are unbounded).
    pub counter: Option<String>,
}

impl TagName {
    /// Parses a tag name in any of the forms GTO reads (§3.5); None for other tags.
    pub fn parse(tag: &str) -> Option<TagName> {
        let valid = |n: &str| check_name("artifact", n).is_ok();
        let (body, counter) = match tag.rsplit_once('#') {
            Some((b, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) && b.contains(['@', '#']) => {
                (b, Some(n.trim_start_matches('0').to_string()).map(|n| if n.is_empty() { "0".into() } else { n }))
            }
            _ => (tag, None),
        };
        if let Some((artifact, rest)) = body.split_once('@') {
            if !valid(artifact) {
                return None;
            }
            let event = if rest == "deprecated" {
                Event::Deprecate
            } else if let Some(v) = rest.strip_suffix('!') {
                Event::Deregister(Version::parse(v)?)
            } else {
                Event::Register(Version::parse(rest)?)
            };
            return Some(TagName { artifact: artifact.to_string(), event, counter });
        }
        let (artifact, stage) = body.split_once('#')?;
        if !valid(artifact) {
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
        let a = &self.artifact;
        let base = match &self.event {
            Event::Register(v) => format!("{a}@{v}"),
            Event::Deregister(v) => format!("{a}@{v}!"),
            Event::Assign(s) => format!("{a}#{s}"),
            Event::Unassign(s) => format!("{a}#{s}!"),
            Event::Deprecate => format!("{a}@deprecated"),
        };
        match &self.counter {
            Some(n) => format!("{base}#{n}"),
            None => base,
        }
    }
}

/// Orders decimal counters of any length (no leading zeros).
pub fn cmp_counter(a: &str, b: &str) -> Ordering {
    (a.len(), a).cmp(&(b.len(), b))
}

/// The decimal counter after `n` (`None` -> `1`), exact at any size.
pub fn next_counter(n: Option<&str>) -> String {
    let Some(n) = n else { return "1".into() };
    let mut digits: Vec<u8> = n.bytes().collect();
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return String::from_utf8(digits).expect("ascii digits");
        }
    }
    format!("1{}", String::from_utf8(digits).expect("ascii digits"))
}

/// A registry reference given where a revision or path is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryRef {
    /// `NAME` or `NAME@latest`: its latest version.
    Latest(String),
    /// `NAME@vX.Y.Z`.
    Version(String, Version),
    /// `NAME#STAGE`: the version in that stage.
    Stage(String, String),
    /// A whole event tag such as `NAME#STAGE#7` (what a CI job started by a tag push gets):
    /// the version that event concerns.
    Tag(TagName),
}

impl RegistryRef {
    /// Parses `NAME@v1.2.3`, `NAME@latest`, `NAME#stage`, a whole tag name
    /// (`NAME#stage#7`, `NAME@v1.2.3!#4`), or (with `bare_name`) `NAME`.
    pub fn parse(s: &str, bare_name: bool) -> Option<RegistryRef> {
        if let Some(name) = s.strip_suffix("@latest").or_else(|| s.strip_suffix("@greatest")) {
            check_name("artifact", name).ok()?;
            return Some(RegistryRef::Latest(name.to_string()));
        }
        if let Some(tag) = TagName::parse(s) {
            return Some(match (&tag.event, &tag.counter) {
                (Event::Register(v), None) => RegistryRef::Version(tag.artifact.clone(), v.clone()),
                (Event::Assign(stage), None) => RegistryRef::Stage(tag.artifact.clone(), stage.clone()),
                _ => RegistryRef::Tag(tag),
            });
        }
        (bare_name && check_name("artifact", s).is_ok()).then(|| RegistryRef::Latest(s.to_string()))
    }

    /// The artifact's name.
    pub fn name(&self) -> &str {
        match self {
            RegistryRef::Latest(n) | RegistryRef::Version(n, _) | RegistryRef::Stage(n, _) => n,
            RegistryRef::Tag(t) => &t.artifact,
        }
    }
}

/// One registry tag as read from git.
#[derive(Debug, Clone)]
pub struct TagRecord {
    /// The tag's full name.
    pub name: String,
    /// The parsed name.
    pub tag: TagName,
    /// The commit it points at.
    pub commit: git2::Oid,
    /// Who made it (annotated tags); empty for lightweight tags.
    pub tagger: String,
    /// The tagger's email.
    pub email: String,
    /// When, seconds since the epoch.
    pub time: i64,
    /// The tagger's UTC offset in minutes.
    pub offset: i32,
    /// Annotated (GTO ignores lightweight tags except for counting).
    pub annotated: bool,
    /// The message's free text (before the metadata block).
    pub message: String,
    /// The metadata block (`path`, `oid`, `version`), when present.
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

/// The kind of an event in GTO's model (its `priority` order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The commit a version sits on (GTO's enrichment event).
    Commit,
    /// The artifact was deprecated.
    Deprecation,
    /// A version was registered.
    Registration,
    /// A version was deregistered.
    Deregistration,
    /// A stage was assigned.
    Assignment,
    /// A stage was unassigned.
    Unassignment,
}

/// One event of an artifact.
#[derive(Debug, Clone)]
pub struct Ev {
    /// What happened.
    pub kind: Kind,
    /// When (whole seconds, as GTO reads tag times).
    pub time: i64,
    /// The tag, or None for a commit event.
    pub record: Option<usize>,
    /// The commit.
    pub commit: git2::Oid,
    /// The version's name (tag version or commit hex) for version events.
    pub version: Option<String>,
    /// The stage, for stage events.
    pub stage: Option<String>,
}

/// One version of an artifact in GTO's model.
#[derive(Debug, Clone)]
pub struct VersionState {
    /// The version's name: `v1.2.3`, or a commit hex for an unregistered commit.
    pub name: String,
    /// The parsed version, for semver names.
    pub semver: Option<Version>,
    /// Its commit.
    pub commit: git2::Oid,
    registrations: Vec<usize>,
    deregistrations: Vec<usize>,
    enrichments: Vec<usize>,
    stages: Vec<(String, Vec<usize>, Vec<usize>)>,
    /// Derived: active (registered and not deregistered since, or unregistered with events).
    pub active: bool,
    /// Derived: explicitly registered.
    pub registered: bool,
    /// Derived: has no register/deregister tag.
    pub discovered: bool,
    /// Derived: the authoring event's time and tag (or commit hex).
    pub created_at: i64,
    /// Derived: the tag (or commit) that made it.
    pub reference: String,
    /// Derived: the authoring event's record, if a tag.
    pub authoring: Option<usize>,
}

/// One artifact's registry state, derived from its tags exactly as GTO 1.10 reads them.
#[derive(Debug, Clone, Default)]
pub struct ArtifactState {
    /// The artifact's name.
    pub name: String,
    /// Every event, in the order GTO processed them.
    pub events: Vec<Ev>,
    /// Versions in GTO's insertion order.
    pub versions: Vec<VersionState>,
    deprecations: Vec<usize>,
    /// Not deprecated (GTO's `active`).
    pub active: bool,
    /// Has tags (GTO's `registered`).
    pub registered: bool,
    /// The latest active registered version (SemVer precedence), an index into `versions`.
    pub latest: Option<usize>,
    /// Each stage's holder, in GTO's order: (stage, index into `versions`).
    pub holders: Vec<(String, usize)>,
    /// Per stage, every version that still holds it, most recent assignment first.
    pub holding: BTreeMap<String, Vec<usize>>,
    /// The highest `#N` counter among the artifact's tags (lightweight ones included).
    pub max_counter: Option<String>,
    /// Commits that carry more than one version of this artifact: GTO refuses to read those.
    pub conflicts: Vec<String>,
}

/// The stable "sorted by time, newest first" of Python's `sorted(...)[::-1]`: among equal
/// times the one added last comes first.
fn desc(events: &[Ev], ids: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut v: Vec<usize> = ids.into_iter().collect();
    v.sort_by_key(|i| events[*i].time);
    v.reverse();
    v
}

impl VersionState {
    fn new(name: String, commit: git2::Oid) -> VersionState {
        VersionState {
            semver: Version::parse(&name),
            name,
            commit,
            registrations: vec![],
            deregistrations: vec![],
            enrichments: vec![],
            stages: vec![],
            active: false,
            registered: false,
            discovered: true,
            created_at: 0,
            reference: String::new(),
            authoring: None,
        }
    }

    fn has_direct(&self) -> bool {
        !self.registrations.is_empty() || !self.deregistrations.is_empty()
    }

    fn stage_events(&self, events: &[Ev], i: usize) -> Vec<usize> {
        let (_, a, u) = &self.stages[i];
        desc(events, a.iter().chain(u).copied())
    }

    fn indirect(&self, events: &[Ev]) -> Vec<usize> {
        let mut all: Vec<usize> = self.enrichments.clone();
        for i in 0..self.stages.len() {
            all.extend(self.stage_events(events, i));
        }
        desc(events, all)
    }

    /// Stage index -> (activated_at, created_at) for active stages, in GTO's ascending order.
    fn active_stages(&self, events: &[Ev]) -> Vec<(usize, i64, i64)> {
        let mut out: Vec<(usize, i64, i64)> = (0..self.stages.len())
            .filter_map(|i| {
                let evs = self.stage_events(events, i);
                let first = *evs.first()?;
                (events[first].kind == Kind::Assignment).then_some((i, events[first].time, events[first].time))
            })
            .collect();
        out.sort_by_key(|s| s.1);
        out
    }

    fn derive(&mut self, events: &[Ev], records: &[TagRecord]) {
        let direct = desc(events, self.registrations.iter().chain(&self.deregistrations).copied());
        self.registered = !self.registrations.is_empty();
        self.discovered = direct.is_empty();
        let indirect = self.indirect(events);
        self.active = match direct.first() {
            Some(i) => events[*i].kind == Kind::Registration,
            None => !indirect.is_empty(),
        };
        let authoring = direct
            .iter()
            .find(|i| events[**i].kind == Kind::Registration)
            .or_else(|| indirect.first())
            .or_else(|| direct.first())
            .copied();
        if let Some(a) = authoring {
            self.created_at = events[a].time;
            self.authoring = events[a].record;
            self.reference = match events[a].record {
                Some(r) => records[r].name.clone(),
                None => events[a].commit.to_string(),
            };
        }
    }

    /// Stage names this version holds an active assignment of.
    pub fn stage_names(&self) -> impl Iterator<Item = &str> {
        self.stages.iter().map(|(s, _, _)| s.as_str())
    }
}

/// What `state` needs besides the tags: commit times and HEAD's declarations, which GTO
/// adds as events of their own.
pub struct Context<'a> {
    /// A commit's committer time.
    pub commit_time: &'a dyn Fn(git2::Oid) -> Option<i64>,
    /// HEAD and the artifacts its committed `artifacts.yaml` declares.
    pub head: Option<(git2::Oid, Vec<String>)>,
}

fn sort_semver_desc(versions: &[VersionState], mut idx: Vec<usize>) -> Vec<usize> {
    let (mut semver, mut other): (Vec<usize>, Vec<usize>) = idx.drain(..).partition(|i| versions[*i].semver.is_some());
    semver.sort_by(|a, b| {
        let (x, y) = (versions[*a].semver.as_ref().expect("semver"), versions[*b].semver.as_ref().expect("semver"));
        // Python's semver ignores build metadata in comparisons.
        (x.major, x.minor, x.patch).cmp(&(y.major, y.minor, y.patch)).then_with(|| cmp_pre(&x.pre, &y.pre))
    });
    semver.reverse();
    other.sort_by(|a, b| versions[*a].name.cmp(&versions[*b].name));
    other.reverse();
    semver.extend(other);
    semver
}

impl ArtifactState {
    fn find_version(&self, name: Option<&str>, commit: Option<git2::Oid>) -> Vec<usize> {
        (0..self.versions.len())
            .filter(|i| {
                let v = &self.versions[*i];
                name.is_none_or(|n| v.name == n) && commit.is_none_or(|c| v.commit == c) && v.has_direct()
            })
            .collect()
    }

    fn version_for(&mut self, name: &str, commit: git2::Oid) -> usize {
        match self.find_version(Some(name), Some(commit)).first() {
            Some(i) => *i,
            None => {
                self.versions.push(VersionState::new(name.to_string(), commit));
                self.versions.len() - 1
            }
        }
    }

    /// Active versions, as GTO's `get_versions`; `timestamp` sorts by creation, else SemVer.
    pub fn versions_where(&self, non_explicit: bool, discovered: bool, timestamp: bool) -> Vec<usize> {
        let idx: Vec<usize> = (0..self.versions.len())
            .filter(|i| {
                let v = &self.versions[*i];
                v.active
                    && ((v.registered && !v.discovered)
                        || (discovered && v.discovered)
                        || (non_explicit && !v.registered))
            })
            .collect();
        if timestamp {
            let mut idx = idx;
            idx.sort_by_key(|i| self.versions[*i].created_at);
            idx.reverse();
            idx
        } else {
            sort_semver_desc(&self.versions, idx)
        }
    }

    /// Every version, active or not, newest SemVer first (GTO's `show NAME -d`).
    pub fn all_versions(&self) -> Vec<usize> {
        let idx: Vec<usize> =
            (0..self.versions.len()).filter(|i| self.versions[*i].has_direct() || self.versions[*i].active).collect();
        sort_semver_desc(&self.versions, idx)
    }

    fn derive(&mut self, records: &[TagRecord]) {
        let events = std::mem::take(&mut self.events);
        for v in &mut self.versions {
            v.derive(&events, records);
        }
        self.registered = events.iter().any(|e| e.kind != Kind::Commit);
        let version_max = self
            .versions
            .iter()
            .flat_map(|v| {
                v.registrations
                    .iter()
                    .chain(&v.deregistrations)
                    .chain(&v.enrichments)
                    .chain(v.stages.iter().flat_map(|(_, a, u)| a.iter().chain(u)))
            })
            .map(|i| events[*i].time)
            .max();
        let dep_max = self.deprecations.iter().map(|i| events[*i].time).max();
        self.active = match (version_max, dep_max) {
            (None, None) => false,
            (None, Some(_)) => false,
            (Some(_), None) => true,
            (Some(v), Some(d)) => v >= d,
        };
        self.latest = self.versions_where(false, false, false).first().copied();
        // GTO's get_vstages(sort=timestamp, versions_per_stage=1).
        let mut assignments: Vec<(usize, usize, i64)> = Vec::new();
        for vi in self.versions_where(true, false, true) {
            for (si, _, created) in self.versions[vi].active_stages(&events) {
                assignments.push((vi, si, created));
            }
        }
        assignments.sort_by_key(|a| a.2);
        assignments.reverse();
        self.holders.clear();
        self.holding.clear();
        for (vi, si, _) in assignments {
            let stage = self.versions[vi].stages[si].0.clone();
            let list = self.holding.entry(stage.clone()).or_default();
            if !list.iter().any(|x| self.versions[*x].name == self.versions[vi].name) {
                list.push(vi);
            }
            if !self.holders.iter().any(|(s, _)| *s == stage) {
                self.holders.push((stage, vi));
            }
        }
        self.events = events;
    }

    /// The version holding `stage`.
    pub fn holder(&self, stage: &str) -> Option<&VersionState> {
        self.holders.iter().find(|(s, _)| s == stage).map(|(_, v)| &self.versions[*v])
    }

    /// The latest registered version.
    pub fn latest(&self) -> Option<&VersionState> {
        self.latest.map(|i| &self.versions[i])
    }

    /// An active registered version by name.
    pub fn version(&self, v: &Version) -> Option<&VersionState> {
        let name = v.to_string();
        self.versions.iter().rev().find(|x| x.name == name && x.registered && x.active)
    }

    /// Stages `v` holds now, in GTO's order.
    pub fn stages_of(&self, version_index: usize) -> Vec<String> {
        let name = &self.versions[version_index].name;
        self.holders.iter().filter(|(_, x)| self.versions[*x].name == *name).map(|(s, _)| s.clone()).collect()
    }

    /// Whether `v` has an active assignment of `stage` (GTO then wants `--force` to assign it again).
    pub fn in_stage(&self, version_index: usize, stage: &str) -> bool {
        self.holding.get(stage).is_some_and(|l| l.contains(&version_index))
    }

    /// The version a rollback of `stage` gives it back to: the next one still holding it.
    pub fn rollback_target(&self, stage: &str) -> Option<&VersionState> {
        self.holding.get(stage).and_then(|l| l.get(1)).map(|i| &self.versions[*i])
    }

    /// The time of the artifact's newest tag.
    pub fn last_tag_time(&self) -> Option<i64> {
        self.events.iter().filter(|e| e.record.is_some()).map(|e| e.time).max()
    }
}

/// Folds tag records into per-artifact state, exactly as GTO 1.10 does: deprecations, then
/// registrations, then stage events, each sorted by tag time in whole seconds (ties in tag
/// name order), stage events naming the version registered on their commit; then a commit
/// event for every version and for HEAD's declared artifacts.
pub fn state(records: &[TagRecord], ctx: &Context<'_>) -> BTreeMap<String, ArtifactState> {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by(|a, b| records[*a].name.cmp(&records[*b].name));
    let mut out: BTreeMap<String, ArtifactState> = BTreeMap::new();
    for r in &order {
        let rec = &records[*r];
        let s = out
            .entry(rec.tag.artifact.clone())
            .or_insert_with(|| ArtifactState { name: rec.tag.artifact.clone(), ..Default::default() });
        if let Some(n) = &rec.tag.counter
            && s.max_counter.as_deref().is_none_or(|m| cmp_counter(n, m) == Ordering::Greater)
        {
            s.max_counter = Some(n.clone());
        }
    }
    let phase = |e: &Event| match e {
        Event::Deprecate => 0,
        Event::Register(_) | Event::Deregister(_) => 1,
        Event::Assign(_) | Event::Unassign(_) => 2,
    };
    for p in 0..3 {
        let mut these: Vec<usize> =
            order.iter().copied().filter(|i| records[*i].annotated && phase(&records[*i].tag.event) == p).collect();
        these.sort_by_key(|i| records[*i].time);
        for ri in these {
            let rec = &records[ri];
            let s = out.get_mut(&rec.tag.artifact).expect("entry made above");
            let mut ev = Ev {
                kind: Kind::Commit,
                time: rec.time,
                record: Some(ri),
                commit: rec.commit,
                version: None,
                stage: None,
            };
            match &rec.tag.event {
                Event::Deprecate => {
                    ev.kind = Kind::Deprecation;
                    s.events.push(ev);
                    s.deprecations.push(s.events.len() - 1);
                }
                Event::Register(v) | Event::Deregister(v) => {
                    let name = v.to_string();
                    let vi = s.version_for(&name, rec.commit);
                    ev.kind = if matches!(rec.tag.event, Event::Register(_)) {
                        Kind::Registration
                    } else {
                        Kind::Deregistration
                    };
                    ev.version = Some(name);
                    s.events.push(ev);
                    let ei = s.events.len() - 1;
                    let v = &mut s.versions[vi];
                    if s.events[ei].kind == Kind::Registration {
                        v.registrations.push(ei)
                    } else {
                        v.deregistrations.push(ei)
                    }
                }
                Event::Assign(stage) | Event::Unassign(stage) => {
                    let found = s.find_version(None, Some(rec.commit));
                    let vi = match found.len() {
                        0 => {
                            // GTO makes an empty version for the commit, then another holding the event.
                            s.versions.push(VersionState::new(rec.commit.to_string(), rec.commit));
                            s.versions.push(VersionState::new(rec.commit.to_string(), rec.commit));
                            s.versions.len() - 1
                        }
                        1 => found[0],
                        _ => {
                            let names: Vec<&str> = found.iter().map(|i| s.versions[*i].name.as_str()).collect();
                            let conflict =
                                format!("commit {} carries {}", &rec.commit.to_string()[..12], names.join(", "));
                            if !s.conflicts.contains(&conflict) {
                                s.conflicts.push(conflict);
                            }
                            let named = rec.meta.get("version");
                            *found
                                .iter()
                                .find(|i| Some(&s.versions[**i].name) == named)
                                .unwrap_or(found.last().expect("several"))
                        }
                    };
                    ev.kind =
                        if matches!(rec.tag.event, Event::Assign(_)) { Kind::Assignment } else { Kind::Unassignment };
                    ev.version = Some(s.versions[vi].name.clone());
                    ev.stage = Some(stage.clone());
                    s.events.push(ev);
                    let ei = s.events.len() - 1;
                    let v = &mut s.versions[vi];
                    let si = match v.stages.iter().position(|(x, _, _)| x == stage) {
                        Some(i) => i,
                        None => {
                            v.stages.push((stage.clone(), vec![], vec![]));
                            v.stages.len() - 1
                        }
                    };
                    if matches!(rec.tag.event, Event::Assign(_)) {
                        v.stages[si].1.push(ei)
                    } else {
                        v.stages[si].2.push(ei)
                    }
                }
            }
        }
    }
    // Python's list.append + stable sort by time, per list.
    for s in out.values_mut() {
        let events = &s.events;
        let by_time = |l: &mut Vec<usize>| l.sort_by_key(|i| events[*i].time);
        by_time(&mut s.deprecations);
        for v in &mut s.versions {
            by_time(&mut v.registrations);
            by_time(&mut v.deregistrations);
            for (_, a, u) in &mut v.stages {
                by_time(a);
                by_time(u);
            }
        }
    }
    // Enrichment: a commit event for every version, then for HEAD's declared artifacts.
    for s in out.values_mut() {
        for vi in 0..s.versions.len() {
            let commit = s.versions[vi].commit;
            if let Some(t) = (ctx.commit_time)(commit) {
                s.events.push(Ev {
                    kind: Kind::Commit,
                    time: t,
                    record: None,
                    commit,
                    version: Some(s.versions[vi].name.clone()),
                    stage: None,
                });
                let ei = s.events.len() - 1;
                s.versions[vi].enrichments.push(ei);
            }
        }
    }
    if let Some((head, names)) = &ctx.head
        && let Some(t) = (ctx.commit_time)(*head)
    {
        for name in names {
            let s =
                out.entry(name.clone()).or_insert_with(|| ArtifactState { name: name.clone(), ..Default::default() });
            if !s.find_version(None, Some(*head)).is_empty() {
                continue; // the same commit event again: GTO drops duplicates
            }
            s.versions.push(VersionState::new(head.to_string(), *head));
            s.events.push(Ev {
                kind: Kind::Commit,
                time: t,
                record: None,
                commit: *head,
                version: Some(head.to_string()),
                stage: None,
            });
            let ei = s.events.len() - 1;
            s.versions.last_mut().expect("pushed").enrichments.push(ei);
        }
    }
    for s in out.values_mut() {
        s.derive(records);
    }
    out
}

/// The stages GTO lists as columns: `.gto`'s allowed stages when set, else every stage some
/// version holds, sorted.
pub fn stage_columns(states: &BTreeMap<String, ArtifactState>, allowed: Option<&[String]>) -> Vec<String> {
    match allowed {
        Some(a) => a.to_vec(),
        None => {
            let used: std::collections::BTreeSet<&String> = states.values().flat_map(|s| s.holding.keys()).collect();
            used.into_iter().cloned().collect()
        }
    }
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

/// Where a registered artifact's pointer lives at a version: the path recorded in its tag,
/// else the declaration's. A path no artifact may have (tags and `artifacts.yaml` come with
/// other people's pushes) counts as none.
pub fn artifact_path(record: Option<&TagRecord>, declared: Option<&Declared>) -> Option<String> {
    record
        .and_then(|r| r.meta.get("path").cloned())
        .or_else(|| declared.map(|d| d.path.clone()))
        .filter(|p| crate::paths::check_artifact_rel(p).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn every_tag_form_round_trips() {
        let n = |s: &str| Some(s.to_string());
        let cases = [
            ("churn@v1.2.3", "churn", Event::Register(v("v1.2.3")), None),
            ("churn@v1.2.3!#4", "churn", Event::Deregister(v("v1.2.3")), n("4")),
            ("churn@v1.2.3!", "churn", Event::Deregister(v("v1.2.3")), None),
            ("team/churn-model#production#5", "team/churn-model", Event::Assign("production".into()), n("5")),
            ("churn#production", "churn", Event::Assign("production".into()), None),
            ("churn#staging!#6", "churn", Event::Unassign("staging".into()), n("6")),
            ("churn#staging!", "churn", Event::Unassign("staging".into()), None),
            ("my_model@deprecated#7", "my_model", Event::Deprecate, n("7")),
            ("my_model@deprecated", "my_model", Event::Deprecate, None),
            ("churn@v1.0.0-rc.1", "churn", Event::Register(v("v1.0.0-rc.1")), None),
            ("churn#prod#99999999999999999999999", "churn", Event::Assign("prod".into()), n("99999999999999999999999")),
        ];
        for (tag, artifact, event, counter) in cases {
            let parsed = TagName::parse(tag).unwrap_or_else(|| panic!("{tag}"));
            assert_eq!(parsed, TagName { artifact: artifact.into(), event, counter }, "{tag}");
            assert_eq!(parsed.format(), tag);
        }
    }

    #[test]
    fn non_registry_tags_are_ignored() {
        for tag in ["v1.0.0", "release-2", "churn@1.2.3", "churn@v1.2", "-x@v1.0.0", "a//b@v1.0.0", "churn@deprecated!"]
        {
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
    fn versions_order_by_semver_precedence_and_never_wrap() {
        assert!(v("v1.10.0") > v("v1.9.9"));
        assert!(v("v2.0.0") > v("v1.99.99"));
        assert!(v("v1.0.0") > v("v1.0.0-rc.2"));
        assert!(v("v1.0.0-rc.10") > v("v1.0.0-rc.2"));
        assert!(v("v1.0.0-rc.1") > v("v1.0.0-alpha"));
        assert!(v("v1.0.0-alpha.1") > v("v1.0.0-alpha"));
        assert_eq!(v("v1.2.3").bump(Bump::Patch), Some(v("v1.2.4")));
        assert_eq!(v("v1.2.3").bump(Bump::Minor), Some(v("v1.3.0")));
        assert_eq!(v("v1.2.3-rc.1").bump(Bump::Major), Some(v("v2.0.0")));
        assert_eq!(v("v18446744073709551615.0.0").bump(Bump::Major), None);
        for bad in ["1.2.3", "v1.2", "v1.2.3.4", "v01.2.3", "v1.2.x", "v1.2.3-", "v1.2.3-01", "v"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn counters_count_past_any_integer() {
        assert_eq!(next_counter(None), "1");
        assert_eq!(next_counter(Some("9")), "10");
        assert_eq!(next_counter(Some("18446744073709551615")), "18446744073709551616");
        assert_eq!(cmp_counter("10", "9"), Ordering::Greater);
    }

    #[test]
    fn registry_refs_parse() {
        assert_eq!(RegistryRef::parse("churn@v1.2.0", false), Some(RegistryRef::Version("churn".into(), v("v1.2.0"))));
        assert_eq!(RegistryRef::parse("churn@latest", false), Some(RegistryRef::Latest("churn".into())));
        assert_eq!(
            RegistryRef::parse("churn#production", false),
            Some(RegistryRef::Stage("churn".into(), "production".into()))
        );
        assert!(matches!(RegistryRef::parse("churn#production#7", false), Some(RegistryRef::Tag(_))));
        assert_eq!(RegistryRef::parse("churn", false), None);
        assert_eq!(RegistryRef::parse("churn", true), Some(RegistryRef::Latest("churn".into())));
        assert_eq!(RegistryRef::parse("HEAD~1", false), None);
    }

    fn record(tag: &str, time: i64, commit: u8) -> TagRecord {
        TagRecord {
            name: tag.into(),
            tag: TagName::parse(tag).unwrap(),
            commit: git2::Oid::from_bytes(&[commit; 20]).unwrap(),
            tagger: "t".into(),
            email: "t@e".into(),
            time,
            offset: 0,
            annotated: true,
            message: String::new(),
            meta: BTreeMap::new(),
        }
    }

    fn holder(tags: &[TagRecord], stage: &str) -> Option<String> {
        let none = |_| None;
        let s = state(tags, &Context { commit_time: &none, head: None });
        s["m"].holder(stage).map(|v| v.name.clone())
    }

    #[test]
    fn the_stage_goes_back_to_the_previous_holder() {
        let mut tags = vec![
            record("m@v1.0.0", 1, 1),
            record("m@v1.1.0", 2, 2),
            record("m@v1.2.0", 3, 3),
            record("m#prod#1", 4, 1),
            record("m#prod#2", 5, 2),
            record("m#prod#3", 6, 3),
        ];
        assert_eq!(holder(&tags, "prod").as_deref(), Some("v1.2.0"));
        tags.push(record("m#prod!#4", 7, 3));
        assert_eq!(holder(&tags, "prod").as_deref(), Some("v1.1.0"));
        tags.push(record("m@v1.1.0!#5", 8, 2));
        assert_eq!(holder(&tags, "prod").as_deref(), Some("v1.0.0"));
    }

    #[test]
    fn same_second_events_order_as_gto_does() {
        // Both assigned in one second: GTO's stable sort then reverse leaves the version
        // registered first holding the stage, whatever the counters say.
        let tags = vec![
            record("m@v1.0.0", 1, 1),
            record("m@v1.1.0", 2, 2),
            record("m#prod#2", 5, 1),
            record("m#prod#1", 5, 2),
        ];
        assert_eq!(holder(&tags, "prod").as_deref(), Some("v1.0.0"));
        // An unassign in the same second as the assign wins.
        let tags = vec![record("m@v1.0.0", 1, 1), record("m#prod#1", 5, 1), record("m#prod!#2", 5, 1)];
        assert_eq!(holder(&tags, "prod"), None);
    }
}
