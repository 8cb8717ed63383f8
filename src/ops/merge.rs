//! `mvc merge-driver BASE OURS THEIRS PATH`: git's merge driver for pointer files. When only
//! one side changed an artifact, that side wins. When both changed a directory, the manifests
//! are merged file by file (a file changed on one side only takes that side). Anything else
//! is a conflict: OURS is left as a valid pointer (never conflict markers inside YAML) and
//! the conflict is explained.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cache::{Batch, Cache};
use crate::manifest::{Entry, Manifest};
use crate::pointer::{Kind, Pointer};

/// How the merge ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    /// OURS now holds the merged pointer.
    Clean,
    /// OURS holds our side unchanged; the message says what conflicts.
    Conflict(String),
}

/// Merges the pointer at `path` (as git names it); writes the result into `ours`.
pub fn merge_pointers(cache: Option<&Cache>, base: &Path, ours: &Path, theirs: &Path, path: &str) -> Result<Merged> {
    let read = |p: &Path| -> Result<Option<Pointer>> {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading `{}`", p.display()))?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        // The temp files git hands us have other names: parse as the real pointer path.
        Ok(Some(Pointer::parse(Path::new(path), &text)?))
    };
    let (b, o, t) = (read(base)?, read(ours)?, read(theirs)?);
    let (Some(o), Some(t)) = (o, t) else {
        return Ok(Merged::Conflict(format!("`{path}` was deleted on one side and changed on the other")));
    };
    if o.oid == t.oid || b.as_ref().is_some_and(|b| b.oid == t.oid) {
        return Ok(Merged::Clean);
    }
    if b.as_ref().is_some_and(|b| b.oid == o.oid) {
        std::fs::copy(theirs, ours).with_context(|| format!("writing `{}`", ours.display()))?;
        return Ok(Merged::Clean);
    }
    let artifact = path.strip_suffix(crate::pointer::SUFFIX).unwrap_or(path);
    let both_changed = format!(
        "both sides changed `{artifact}` (ours {}, theirs {}); ours is kept. To take theirs: \
         `git checkout --theirs -- {} && mvc checkout {}`",
        o.oid.short(),
        t.oid.short(),
        crate::text::shell_quote(path),
        crate::text::shell_quote(artifact)
    );
    let (Some(b), Some(cache)) = (b, cache) else { return Ok(Merged::Conflict(both_changed)) };
    if [&b, &o, &t].iter().any(|p| p.kind != Kind::Dir) {
        return Ok(Merged::Conflict(both_changed));
    }
    let load = |p: &Pointer| -> Option<Manifest> {
        let bytes = cache.read_small(&p.oid, crate::ops::MAX_MANIFEST_BYTES).ok()?;
        Manifest::parse(&bytes).ok().filter(|m| m.oid() == p.oid)
    };
    let (Some(mb), Some(mo), Some(mt)) = (load(&b), load(&o), load(&t)) else {
        return Ok(Merged::Conflict(format!("{both_changed} (the manifests are not all in the cache to merge them)")));
    };
    match merge_manifests(&mb, &mo, &mt) {
        Ok(merged) => {
            let mut batch = Batch::default();
            let oid = cache.insert_bytes(&merged.to_bytes(), &mut batch)?;
            cache.publish(batch)?;
            let pointer =
                Pointer { oid, size: merged.total_size(), nfiles: Some(merged.entries.len() as u64), ..o.clone() };
            crate::fsutil::write_atomic(ours, pointer.to_yaml().as_bytes(), 0o644)?;
            Ok(Merged::Clean)
        }
        Err(files) => Ok(Merged::Conflict(format!(
            "both sides changed these files of `{artifact}` differently: {}; ours is kept",
            files.join(", ")
        ))),
    }
}

/// Three-way merge by file path; Err lists the files both sides changed differently.
fn merge_manifests(base: &Manifest, ours: &Manifest, theirs: &Manifest) -> Result<Manifest, Vec<String>> {
    let index =
        |m: &Manifest| -> BTreeMap<String, Entry> { m.entries.iter().map(|e| (e.path.clone(), e.clone())).collect() };
    let (b, o, t) = (index(base), index(ours), index(theirs));
    let paths: BTreeSet<&String> = b.keys().chain(o.keys()).chain(t.keys()).collect();
    let mut merged = Vec::new();
    let mut conflicts = Vec::new();
    let same = |x: Option<&Entry>, y: Option<&Entry>| x.map(|e| (e.oid, e.exec)) == y.map(|e| (e.oid, e.exec));
    for p in paths {
        let (eb, eo, et) = (b.get(p), o.get(p), t.get(p));
        let pick = if same(eo, et) || same(eb, et) {
            eo
        } else if same(eb, eo) {
            et
        } else {
            conflicts.push(crate::text::sanitize(p));
            continue;
        };
        merged.extend(pick.cloned());
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    Manifest::new(merged).map_err(|e| vec![e.to_string()])
}

/// Runs the driver from git: returns the process exit code (0 merged, 1 conflict).
pub fn run_driver(cwd: &Path, base: &Path, ours: &Path, theirs: &Path, path: &str) -> Result<Merged> {
    if !path.ends_with(crate::pointer::SUFFIX) {
        bail!("`{path}` is not a pointer file");
    }
    // The pointer's own project (a monorepo can hold several): open it from the pointer's
    // directory, as git runs the driver at the work tree's root.
    let dir = cwd.join(crate::git::split_parent(path).0);
    let repo = crate::repo::Repo::open(if dir.is_dir() { &dir } else { cwd }).ok();
    let cache = repo.as_ref().map(|r| r.cache());
    merge_pointers(cache.as_ref(), base, ours, theirs, path)
}
