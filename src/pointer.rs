//! Pointer files (`<artifact>.mvc`, DESIGN §3.3): the small YAML file git commits in place of
//! an artifact. Parsed as untrusted input; written with a fixed key order so bytes are stable.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::hash::Oid;
use crate::yaml::{self, YamlError};

/// The pointer format version this build reads and writes.
pub const VERSION: u32 = 1;

/// File name suffix of pointers.
pub const SUFFIX: &str = ".mvc";

const HEADER: &str = "# mvc pointer: commit this file; the data lives in the mvc cache and remotes\n";

/// Order in which known `meta` keys are written; other keys follow alphabetically.
const META_ORDER: [&str; 7] = ["description", "labels", "params", "metrics", "sources", "deps", "env"];

/// Whether the artifact is one file or a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A single file; `oid` is its content's BLAKE3.
    File,
    /// A directory; `oid` names its manifest.
    Dir,
}

impl Kind {
    /// `file` or `dir`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
        }
    }
}

/// A parsed, validated pointer.
#[derive(Debug, Clone, PartialEq)]
pub struct Pointer {
    /// File or directory.
    pub kind: Kind,
    /// The artifact's file name: always the pointer's own name minus `.mvc`.
    pub path: String,
    /// Content oid (file) or manifest oid (dir).
    pub oid: Oid,
    /// Bytes (for a directory, the sum of its files).
    pub size: u64,
    /// Number of files (directories only).
    pub nfiles: Option<u64>,
    /// Optional metadata: open maps, kept as read.
    pub meta: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPointer {
    version: u32,
    kind: Kind,
    path: String,
    oid: Oid,
    size: u64,
    #[serde(default)]
    nfiles: Option<u64>,
    #[serde(default)]
    meta: Option<Map<String, Value>>,
}

/// Only the version, read leniently, so a newer pointer gets "upgrade mvc" rather than a
/// complaint about the fields it added.
#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

/// A pointer file that could not be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum PointerError {
    #[error("reading pointer `{}`: {cause}", path.display())]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("invalid pointer `{}`: {cause}", path.display())]
    Yaml { path: PathBuf, cause: YamlError },
    #[error("invalid pointer `{}`: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("pointer `{}` has version {version}, newer than this mvc reads ({VERSION}); upgrade mvc", path.display())]
    TooNew { path: PathBuf, version: u32 },
}

/// The pointer path for an artifact path: `model.pkl` -> `model.pkl.mvc`.
pub fn pointer_path(artifact: &Path) -> PathBuf {
    let mut s = artifact.as_os_str().to_owned();
    s.push(SUFFIX);
    PathBuf::from(s)
}

/// The artifact path for a pointer path, or None when the name does not end in `.mvc`.
pub fn artifact_path(pointer: &Path) -> Option<PathBuf> {
    let name = pointer.file_name()?.to_str()?;
    let stem = name.strip_suffix(SUFFIX).filter(|s| !s.is_empty())?;
    Some(pointer.with_file_name(stem))
}

impl Pointer {
    /// Reads and validates the pointer at `path` (size-checked before parsing).
    pub fn load(path: &Path) -> Result<Pointer, PointerError> {
        let io = |cause| PointerError::Io { path: path.to_path_buf(), cause };
        let meta = std::fs::symlink_metadata(path).map_err(io)?;
        if !meta.file_type().is_file() {
            return Err(PointerError::Invalid { path: path.into(), message: "not a regular file".into() });
        }
        if meta.len() > yaml::MAX_DOCUMENT_BYTES as u64 {
            return Err(PointerError::Invalid {
                path: path.into(),
                message: format!("{} bytes, over the {} byte limit for pointers", meta.len(), yaml::MAX_DOCUMENT_BYTES),
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| PointerError::Invalid { path: path.into(), message: "not valid UTF-8".into() })?;
        Pointer::parse(path, &text)
    }

    /// Parses pointer text read from `path` (a workspace file or a git blob at that path).
    pub fn parse(path: &Path, text: &str) -> Result<Pointer, PointerError> {
        let invalid = |message: String| PointerError::Invalid { path: path.into(), message };
        let raw: RawPointer = match yaml::parse(text) {
            Ok(raw) => raw,
            Err(cause) => {
                if let Ok(v) = yaml::parse::<VersionOnly>(&strip_unknown_for_version(text))
                    && v.version > VERSION
                {
                    return Err(PointerError::TooNew { path: path.into(), version: v.version });
                }
                return Err(PointerError::Yaml { path: path.into(), cause });
            }
        };
        if raw.version != VERSION {
            if raw.version > VERSION {
                return Err(PointerError::TooNew { path: path.into(), version: raw.version });
            }
            return Err(invalid(format!("unsupported version {}", raw.version)));
        }
        let own_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(SUFFIX))
            .ok_or_else(|| invalid("pointer file names end in `.mvc`".into()))?;
        if raw.path != own_name {
            return Err(invalid(format!(
                "`path: {}` must be this pointer's own name minus `.mvc` (`{own_name}`)",
                crate::text::sanitize(&raw.path)
            )));
        }
        match (raw.kind, raw.nfiles) {
            (Kind::Dir, None) => return Err(invalid("`kind: dir` needs `nfiles`".into())),
            (Kind::File, Some(_)) => return Err(invalid("`nfiles` is only for `kind: dir`".into())),
            _ => {}
        }
        Ok(Pointer {
            kind: raw.kind,
            path: raw.path,
            oid: raw.oid,
            size: raw.size,
            nfiles: raw.nfiles,
            meta: raw.meta.unwrap_or_default(),
        })
    }

    /// The exact bytes of this pointer: fixed key order, no timestamps.
    pub fn to_yaml(&self) -> String {
        let mut out = String::from(HEADER);
        out.push_str(&format!("version: {VERSION}\n"));
        out.push_str(&format!("kind: {}\n", self.kind.as_str()));
        out.push_str(&format!("path: {}\n", yaml::scalar(&self.path)));
        out.push_str(&format!("oid: {}\n", self.oid));
        out.push_str(&format!("size: {}\n", self.size));
        if let Some(n) = self.nfiles {
            out.push_str(&format!("nfiles: {n}\n"));
        }
        if !self.meta.is_empty() {
            out.push_str("meta:\n");
            let mut ordered = Map::new();
            for key in META_ORDER {
                if let Some(v) = self.meta.get(key) {
                    ordered.insert(key.to_string(), v.clone());
                }
            }
            for (k, v) in &self.meta {
                if !META_ORDER.contains(&k.as_str()) {
                    ordered.insert(k.clone(), v.clone());
                }
            }
            for (k, v) in &ordered {
                out.push_str(&format!("  {}: {}\n", yaml::scalar(k), yaml::flow(v)));
            }
        }
        out
    }
}

/// Keeps only the `version:` line, to read a version from a document we otherwise refuse.
fn strip_unknown_for_version(text: &str) -> String {
    text.lines().filter(|l| l.starts_with("version:")).take(1).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Pointer {
        Pointer {
            kind: Kind::File,
            path: "model.pkl".into(),
            oid: Oid::of_bytes(b"weights"),
            size: 7,
            nfiles: None,
            meta: Map::new(),
        }
    }

    #[test]
    fn round_trips_byte_identically() {
        let mut p = sample();
        p.meta.insert("metrics".into(), serde_json::json!({"accuracy": 0.953}));
        p.meta.insert("description".into(), serde_json::json!("churn classifier"));
        p.meta.insert("zeta".into(), serde_json::json!([1, 2]));
        let text = p.to_yaml();
        let back = Pointer::parse(Path::new("dir/model.pkl.mvc"), &text).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.to_yaml(), text);
        insta::assert_snapshot!(text, @r"
        # mvc pointer: commit this file; the data lives in the mvc cache and remotes
        version: 1
        kind: file
        path: model.pkl
        oid: 3edc5c4a5df8c79ef4f8dbdc373cd21ca041ccf39fe5693250d004092094dc4a
        size: 7
        meta:
          description: churn classifier
          metrics: {accuracy: 0.953}
          zeta: [1, 2]
        ");
    }

    #[test]
    fn path_must_be_own_name() {
        let mut p = sample();
        p.path = "../../etc/passwd".into();
        let err = Pointer::parse(Path::new("model.pkl.mvc"), &p.to_yaml()).unwrap_err();
        assert!(err.to_string().contains("must be this pointer's own name"), "{err}");
    }

    #[test]
    fn unknown_keys_and_newer_versions_are_named() {
        let text = sample().to_yaml() + "extra: 1\n";
        let err = Pointer::parse(Path::new("model.pkl.mvc"), &text).unwrap_err().to_string();
        assert!(err.contains("extra") && err.contains("line 7"), "{err}");
        let newer = sample().to_yaml().replace("version: 1", "version: 2") + "chunks: []\n";
        let err = Pointer::parse(Path::new("model.pkl.mvc"), &newer).unwrap_err().to_string();
        assert!(err.contains("upgrade mvc"), "{err}");
    }

    #[test]
    fn dir_needs_nfiles() {
        let text = sample().to_yaml().replace("kind: file", "kind: dir");
        assert!(Pointer::parse(Path::new("model.pkl.mvc"), &text).is_err());
    }
}
