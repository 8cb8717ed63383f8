//! Pulls that take chunks from local earlier versions (DESIGN §7): the recipes of objects the
//! cache already holds (other versions of the artifacts being pulled) say where each of their
//! chunks sits in the local file, so a chunk the wanted object shares with them is copied from
//! disk instead of downloaded. Every chunk read from the cache is hashed and must match its id
//! (a cache object may be corrupt, or hardlinked into the workspace and edited); one that does
//! not is downloaded instead.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt};

use super::Remote;
use super::chunk::Chunking;
use super::recipe::{ObjectRecipe, Recipe};
use crate::cache::Cache;
use crate::hash::Oid;

/// Where one chunk sits in a local cache object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spot {
    object: Oid,
    offset: u64,
    len: u32,
}

/// Chunks that local cache objects hold, by chunk id. Empty when nothing can be reused.
#[derive(Debug, Default)]
pub struct LocalChunks {
    by_id: HashMap<Oid, Spot>,
}

impl LocalChunks {
    /// Reads the recipes of `sources` (cache objects: other versions of what is being pulled;
    /// a directory's recipe covers its files) from the remote, one small GET each, and indexes
    /// the chunks of every object in them that the cache holds. A source the remote has no
    /// readable recipe for (never pushed there, or collected) is cut locally instead, with the
    /// remote's chunking, a directory's files too, reading at most `budget` bytes. Returns the
    /// index and the recipe reads made.
    pub async fn load(remote: &Remote, cache: &Cache, sources: &[Oid], budget: u64) -> Result<(LocalChunks, u64)> {
        let super::Layout::Chunked(params) = remote.layout() else { return Ok((LocalChunks::default(), 0)) };
        let recipes: Vec<(Oid, Option<Recipe>)> = futures::stream::iter(sources)
            .map(|oid| async move {
                match remote.read_recipe(oid).await {
                    Ok(r) => Ok((*oid, r)),
                    Err(_) if remote.stop.reason().is_none() => Ok((*oid, None)),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(remote.jobs)
            .try_collect()
            .await?;
        let objects = recipes.iter().filter_map(|(_, r)| r.as_ref()).flat_map(|r| r.objects.iter());
        let mut by_id = index(objects, |oid| cache.contains(oid));
        let unrecorded: Vec<Oid> = recipes.iter().filter(|(_, r)| r.is_none()).map(|(o, _)| *o).collect();
        if !unrecorded.is_empty() {
            let cache = cache.clone();
            let cut = tokio::task::spawn_blocking(move || cut_local(&cache, &unrecorded, params, budget))
                .await
                .context("cutting local versions")?;
            for (id, spot) in cut {
                by_id.entry(id).or_insert(spot);
            }
        }
        Ok((LocalChunks { by_id }, sources.len() as u64))
    }

    /// Whether no chunk can be taken locally.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Copies chunk `id` (`len` bytes) from the local object holding it into `dest` at `at`,
    /// if one does and those bytes hash to `id`; `Ok(false)` when it must be downloaded. Only
    /// writing `dest` fails. `buf` is reused between calls (memory: one chunk).
    pub fn copy(
        &self,
        cache: &Cache,
        id: &Oid,
        len: u32,
        dest: &std::fs::File,
        at: u64,
        buf: &mut Vec<u8>,
    ) -> std::io::Result<bool> {
        let Some(spot) = self.by_id.get(id).filter(|s| s.len == len) else { return Ok(false) };
        buf.resize(len as usize, 0);
        let read = std::fs::File::open(cache.object_path(&spot.object)).and_then(|f| f.read_exact_at(buf, spot.offset));
        if read.is_err() || super::chunk::id_of(buf) != *id {
            return Ok(false);
        }
        dest.write_all_at(buf, at)?;
        Ok(true)
    }
}

/// Where each chunk of `objects` sits in its object, for the objects `held` says are local
/// (the first place found wins).
fn index<'a>(objects: impl Iterator<Item = &'a ObjectRecipe>, held: impl Fn(&Oid) -> bool) -> HashMap<Oid, Spot> {
    let mut out = HashMap::new();
    for o in objects.filter(|o| held(&o.oid)) {
        let mut offset = 0u64;
        for (_, e) in o.entries() {
            out.entry(e.id).or_insert(Spot { object: o.oid, offset, len: e.raw_len });
            offset += e.raw_len as u64;
        }
    }
    out
}

/// A manifest's bytes begin so (DESIGN §3.2); other objects are not read as one.
const MANIFEST_START: &[u8] = br#"{"version":1,"entries":["#;

/// Cuts cache objects `oids` (and, for a directory's manifest, the files it lists that the
/// cache holds) with `params`, as a push would, streaming (memory: one chunk), until `budget`
/// bytes were read; an object that cannot be read is skipped.
fn cut_local(cache: &Cache, oids: &[Oid], params: Chunking, budget: u64) -> HashMap<Oid, Spot> {
    let mut out = HashMap::new();
    let mut spent = 0u64;
    let mut queue: Vec<Oid> = Vec::new();
    for oid in oids {
        queue.push(*oid);
        queue.extend(manifest_files(cache, oid).into_iter().filter(|f| cache.contains(f)));
    }
    let mut seen = std::collections::HashSet::new();
    for oid in queue.into_iter().filter(|o| seen.insert(*o)) {
        let path = cache.object_path(&oid);
        let Ok(file) = std::fs::File::open(&path) else { continue };
        let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        if spent.saturating_add(len) > budget {
            continue;
        }
        spent += len;
        let mut offset = 0u64;
        for chunk in params.split(std::io::BufReader::with_capacity(1 << 20, file)) {
            let Ok(data) = chunk else { break };
            let len = data.len() as u32;
            out.entry(super::chunk::id_of(&data)).or_insert(Spot { object: oid, offset, len });
            offset += len as u64;
        }
    }
    out
}

/// The file objects cache object `oid` lists, when it is a valid directory manifest.
fn manifest_files(cache: &Cache, oid: &Oid) -> Vec<Oid> {
    let mut start = [0u8; MANIFEST_START.len()];
    let opened = std::fs::File::open(cache.object_path(oid)).and_then(|f| f.read_exact_at(&mut start, 0));
    if opened.is_err() || start != MANIFEST_START {
        return Vec::new();
    }
    let Ok(bytes) = cache.read_small(oid, crate::ops::MAX_MANIFEST_BYTES) else { return Vec::new() };
    match crate::manifest::Manifest::parse(&bytes) {
        Ok(m) => m.entries.iter().map(|e| e.oid).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::pack::{Codec, Entry};

    fn entry(id: Oid, offset: u64, raw_len: u32) -> Entry {
        Entry { id, offset, codec: Codec::Raw, raw_len, stored_len: raw_len }
    }

    #[test]
    fn chunks_are_placed_at_their_raw_offsets_in_held_objects_only() {
        let (a, b, c) = (Oid::of_bytes(b"a"), Oid::of_bytes(b"b"), Oid::of_bytes(b"c"));
        let pack = Oid::of_bytes(b"pack");
        let mut held = ObjectRecipe::new(Oid::of_bytes(b"held"));
        held.push(pack, &entry(a, 16, 100));
        held.push(pack, &entry(b, 157, 50));
        let mut absent = ObjectRecipe::new(Oid::of_bytes(b"absent"));
        absent.push(pack, &entry(c, 500, 10));
        let got = index([&held, &absent].into_iter(), |o| *o == held.oid);
        assert_eq!(got.len(), 2);
        assert_eq!(got[&a], Spot { object: held.oid, offset: 0, len: 100 });
        assert_eq!(got[&b], Spot { object: held.oid, offset: 100, len: 50 });
    }
}
