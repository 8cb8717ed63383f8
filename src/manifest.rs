//! Directory manifests (DESIGN §3.2): the exact bytes that name a directory, and the checks
//! every manifest passes before use, wherever it came from.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::hash::Oid;

/// The only manifest version this build reads and writes.
pub const VERSION: u32 = 1;

/// One file inside a tracked directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Path relative to the directory, `/`-separated.
    pub path: String,
    /// The file content's oid.
    pub oid: Oid,
    /// Size in bytes.
    pub size: u64,
    /// Whether the file is executable.
    pub exec: bool,
}

/// A directory's content: its files, sorted by path bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version, always [`VERSION`].
    pub version: u32,
    /// Files, strictly increasing by path bytes.
    pub entries: Vec<Entry>,
}

/// Why a manifest or an entry path was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("not a valid manifest: {0}")]
    Json(serde_json::Error),
    #[error("manifest version {0} is not supported by this mvc (it reads version 1); upgrade mvc")]
    Version(u32),
    #[error("entry path {0:?} is not allowed: {1}")]
    BadPath(String, &'static str),
    #[error("entries are not strictly sorted at {0:?}")]
    Unsorted(String),
    #[error("entry {0:?} is both a file and a directory")]
    FileIsDirectory(String),
    #[error("entries {0:?} and {1:?} differ only in case and would collide on case-insensitive filesystems")]
    CaseCollision(String, String),
}

/// Checks a relative path under the rules of DESIGN §3.2 ([`crate::paths::check_inner_rel`]:
/// `/`-separated, valid UTF-8, no empty, `.` or `..` segments, no control characters, and no
/// `.git` segment in any spelling a filesystem folds to it).
pub fn check_entry_path(path: &str) -> Result<(), ManifestError> {
    crate::paths::check_inner_rel(path).map_err(|e| ManifestError::BadPath(e.path, e.why))
}

impl Manifest {
    /// Builds a manifest from entries in any order, sorting them by path bytes.
    pub fn new(mut entries: Vec<Entry>) -> Result<Manifest, ManifestError> {
        entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        let manifest = Manifest { version: VERSION, entries };
        manifest.validate()?;
        Ok(manifest)
    }

    /// The exact bytes hashed for the directory's oid.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serializes")
    }

    /// The directory's oid: BLAKE3 of [`Manifest::to_bytes`].
    pub fn oid(&self) -> Oid {
        Oid::of_bytes(&self.to_bytes())
    }

    /// Total bytes of all files.
    pub fn total_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// Parses and validates manifest bytes from any source (cache, remote, someone's commit).
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Applies every read-side rule of DESIGN §3.2.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.version != VERSION {
            return Err(ManifestError::Version(self.version));
        }
        // Paths as case-insensitive, normalising filesystems (macOS, Windows) see them: two
        // entries equal there, or a file that is a directory there, would collide on checkout.
        let fold = |p: &str| -> String {
            use unicode_normalization::UnicodeNormalization;
            p.nfc().collect::<String>().to_lowercase()
        };
        let mut directories: HashSet<String> = HashSet::new();
        let mut folded: std::collections::HashMap<String, &str> = Default::default();
        let mut previous: Option<&str> = None;
        for entry in &self.entries {
            check_entry_path(&entry.path)?;
            if let Some(prev) = previous
                && prev.as_bytes() >= entry.path.as_bytes()
            {
                return Err(ManifestError::Unsorted(crate::text::sanitize(&entry.path)));
            }
            previous = Some(&entry.path);
            let key = fold(&entry.path);
            let mut end = 0;
            while let Some(i) = key[end..].find('/') {
                directories.insert(key[..end + i].to_string());
                end += i + 1;
            }
            if let Some(other) = folded.insert(key, &entry.path) {
                return Err(ManifestError::CaseCollision(
                    crate::text::sanitize(other),
                    crate::text::sanitize(&entry.path),
                ));
            }
        }
        if let Some(entry) = self.entries.iter().find(|e| directories.contains(&fold(&e.path))) {
            return Err(ManifestError::FileIsDirectory(crate::text::sanitize(&entry.path)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, content: &[u8]) -> Entry {
        Entry { path: path.into(), oid: Oid::of_bytes(content), size: content.len() as u64, exec: false }
    }

    /// docs/formats.md carries a golden manifest and its oid; this keeps the two honest.
    #[test]
    fn golden_manifest_in_docs_matches() {
        let doc = include_str!("../docs/formats.md");
        let block = |tag: &str| {
            let start = doc.find(&format!("<!-- {tag} -->")).expect("golden marker in docs");
            let rest = &doc[start..];
            let open = rest.find("```").expect("code fence") + 3;
            let body_start = open + rest[open..].find('\n').expect("fence line") + 1;
            let body_end = body_start + rest[body_start..].find("```").expect("closing fence");
            rest[body_start..body_end].trim_end_matches('\n').to_string()
        };
        let bytes = block("golden-manifest");
        let oid = block("golden-manifest-oid");
        let manifest = Manifest::new(vec![
            entry("weights/layer1.bin", b"layer one"),
            entry("config.json", b"{}\n"),
            Entry { exec: true, ..entry("run.sh", b"#!/bin/sh\n") },
            entry("données/é.txt", b"utf-8"),
        ])
        .unwrap();
        assert_eq!(String::from_utf8(manifest.to_bytes()).unwrap(), bytes);
        assert_eq!(manifest.oid().to_hex(), oid);
        assert_eq!(Manifest::parse(bytes.as_bytes()).unwrap(), manifest);
    }

    #[test]
    fn rejects_hostile_paths() {
        for path in [
            "../x",
            "a/../b",
            "/etc/passwd",
            "a//b",
            "./a",
            "a/.",
            "",
            "a\nb",
            "a\\b",
            ".git/config",
            "sub/.GIT/hooks/x",
            ".git./config",
            "git~1/config",
        ] {
            let m = Manifest { version: 1, entries: vec![entry(path, b"x")] };
            assert!(m.validate().is_err(), "{path:?} should be refused");
        }
    }

    #[test]
    fn rejects_unsorted_duplicates_prefixes_and_case_collisions() {
        let m = |paths: &[&str]| Manifest { version: 1, entries: paths.iter().map(|p| entry(p, b"x")).collect() };
        assert!(matches!(m(&["b", "a"]).validate(), Err(ManifestError::Unsorted(_))));
        assert!(matches!(m(&["a", "a"]).validate(), Err(ManifestError::Unsorted(_))));
        assert!(matches!(m(&["a", "a-c", "a/b"]).validate(), Err(ManifestError::FileIsDirectory(_))));
        assert!(matches!(m(&["A.txt", "a.txt"]).validate(), Err(ManifestError::CaseCollision(..))));
        assert!(matches!(m(&["A", "a/b"]).validate(), Err(ManifestError::FileIsDirectory(_))));
        assert!(matches!(m(&["cafe\u{301}", "caf\u{e9}"]).validate(), Err(ManifestError::CaseCollision(..))));
        assert!(m(&["a/b", "a/c", "ab"]).validate().is_ok());
    }

    #[test]
    fn rejects_unknown_version_and_fields() {
        assert!(matches!(Manifest::parse(br#"{"version":2,"entries":[]}"#), Err(ManifestError::Version(2))));
        assert!(Manifest::parse(br#"{"version":1,"entries":[],"x":1}"#).is_err());
    }
}
