//! The chunked layout (DESIGN §7): push cuts objects into chunks, uploads the chunks no known
//! recipe holds in packs, then recipes; fetch reads recipes, fetches their terms with
//! coalesced ranged GETs, verifies every chunk and publishes an object only when it hashes to
//! its oid. An object is present when its recipe is.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use futures::stream::FuturesUnordered;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutPayload};

use super::Remote;
use super::chunk::Chunking;
use super::pack::{self, Entry, PackWriter};
use super::recipe::{ObjectRecipe, Recipe};
use super::reuse::LocalChunks;
use super::transfer::{DirObjects, Failure, Failures, Object, PushSet, TransferStats};
use crate::cache::{Batch, Cache};
use crate::hash::Oid;
use crate::progress::Reporter;
use crate::state::StatIndex;

/// A ranged GET covers at most this many bytes (memory: this times the remote's jobs).
const MAX_RANGE: u64 = 8 << 20;
/// Adjacent terms closer than this are fetched in one range (the gap is read and dropped).
const MAX_GAP: u64 = 64 << 10;
/// Objects rebuilt and published per group, so an interrupted pull keeps what it finished.
const GROUP_OBJECTS: usize = 1024;
/// Packs uploading at once during a push.
const PACKS_IN_FLIGHT: usize = 2;

/// Recipes this command has read, by every object they describe, and directories whose
/// manifest came from the cache (their recipes are read only if a file of theirs is needed).
#[derive(Default)]
pub struct Known(Mutex<HashMap<Oid, Arc<ObjectRecipe>>>, Mutex<Vec<Oid>>);

impl Known {
    /// Notes that the files of manifest `oid` may be fetched: their recipe is its recipe.
    pub fn directory(&self, oid: Oid) {
        if let Ok(mut dirs) = self.1.lock() {
            dirs.push(oid);
        }
    }

    fn get(&self, oid: &Oid) -> Option<Arc<ObjectRecipe>> {
        self.0.lock().ok()?.get(oid).cloned()
    }

    fn add(&self, recipe: &Recipe) {
        if let Ok(mut map) = self.0.lock() {
            for o in &recipe.objects {
                map.entry(o.oid).or_insert_with(|| Arc::new(o.clone()));
            }
        }
    }
}

impl Remote {
    fn under(&self, dir: &str, oid: &Oid) -> StorePath {
        self.root.clone().join(dir).join(oid.to_hex())
    }

    /// Where `oid`'s recipe lives on a chunked remote.
    pub fn recipe_key(&self, oid: &Oid) -> StorePath {
        self.under("recipes", oid)
    }

    /// Where pack `oid` lives on a chunked remote.
    pub fn pack_key(&self, oid: &Oid) -> StorePath {
        self.under("packs", oid)
    }

    /// Every recipe on the remote (one LIST of `recipes/`).
    pub async fn list_recipes(&self) -> Result<HashSet<Oid>> {
        let prefix = self.root.clone().join("recipes");
        let metas: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&prefix)).try_collect().await.map_err(|e| self.error("listing `recipes/`", e))?;
        Ok(metas.iter().filter_map(|m| m.location.filename()?.parse().ok()).collect())
    }

    /// Reads and validates `oid`'s recipe; `None` when there is none.
    pub async fn read_recipe(&self, oid: &Oid) -> Result<Option<Recipe>> {
        let what = || format!("reading the recipe of {}", oid.short());
        let got = match self.store.get(&self.recipe_key(oid)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(&what(), e)),
        };
        if got.meta.size > super::recipe::MAX_BYTES {
            bail!(self.bad_recipe(oid, "it is larger than any recipe mvc writes"));
        }
        let bytes = got.bytes().await.map_err(|e| self.error(&what(), e))?;
        let recipe = Recipe::parse(&bytes, oid).map_err(|e| self.bad_recipe(oid, &e.to_string()))?;
        self.known.add(&recipe);
        Ok(Some(recipe))
    }

    fn bad_recipe(&self, oid: &Oid, why: &str) -> anyhow::Error {
        self.note_lost(*oid);
        crate::error::hinted(
            format!("recipe {oid} on remote `{}` ({}) is corrupt: {why}", self.name, self.display_url),
            "push the object again from a machine that has it (`mvc push`); nothing was stored",
        )
        .into()
    }

    fn bad_pack(&self, pack: &Oid, why: &str) -> anyhow::Error {
        crate::error::hinted(
            format!(
                "pack {pack} on remote `{}` ({}) is corrupt: {why}; nothing from it was stored",
                self.name, self.display_url
            ),
            "the remote copy is bad: push the affected artifacts again from a machine with a good copy",
        )
        .into()
    }
}

/// The largest pack mvc reads whole (`fsck -c`, `gc --repack`): a full pack, its last chunk
/// and its footer index.
pub const MAX_PACK_BYTES: u64 = 2 * pack::TARGET_BYTES as u64;

/// What a pack turned out to be when read whole.
pub enum PackState {
    /// Not on the remote.
    Missing,
    /// Unreadable, or a chunk does not match its id; why.
    Corrupt(String),
    /// Verified: its entries by offset.
    Good(HashMap<u64, Entry>),
}

/// One damaged object found by [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damage {
    /// The object.
    pub oid: Oid,
    /// Missing (no recipe) or corrupt.
    pub copy: super::transfer::RemoteCopy,
    /// The missing or damaged pack that breaks it, if a pack is the cause.
    pub pack: Option<Oid>,
}

impl Remote {
    /// Downloads pack `oid` whole (bounded) and verifies its header, every chunk against its
    /// id and its footer index.
    pub async fn read_pack(&self, oid: &Oid) -> Result<(PackState, Vec<u8>)> {
        let what = || format!("reading pack {}", oid.short());
        let got = match self.store.get(&self.pack_key(oid)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok((PackState::Missing, Vec::new())),
            Err(e) => return Err(self.error(&what(), e)),
        };
        if got.meta.size > MAX_PACK_BYTES {
            return Ok((PackState::Corrupt("it is larger than any pack mvc writes".into()), Vec::new()));
        }
        let bytes = got.bytes().await.map_err(|e| self.error(&what(), e))?.to_vec();
        let checked = tokio::task::block_in_place(|| {
            if Oid::of_bytes(&bytes) != *oid {
                return Err("its bytes do not hash to its name".to_string());
            }
            pack::verify(&bytes).map_err(|e| e.to_string())
        });
        Ok(match checked {
            Ok(entries) => (PackState::Good(entries.into_iter().map(|e| (e.offset, e)).collect()), bytes),
            Err(why) => (PackState::Corrupt(why), Vec::new()),
        })
    }
}

/// Checks `oids` on a chunked remote (`fsck -c`): reads their recipes (a directory's covers its
/// files), then every pack they cite, whole and verified; returns each object that is missing,
/// has a bad recipe, or cites a damaged or missing pack (named).
pub async fn verify(remote: &Remote, oids: &[Oid], reporter: &dyn Reporter) -> Result<Vec<Damage>> {
    use super::transfer::RemoteCopy;
    let _active = remote.stop.activate();
    let listed = if remote.can_list { Some(remote.list_recipes().await?) } else { None };
    let to_read: Vec<Oid> = oids.iter().filter(|o| listed.as_ref().is_none_or(|l| l.contains(o))).copied().collect();
    reporter.start("verifying on the remote", oids.len() as u64, 0);
    let read: Vec<(Oid, Result<Option<Recipe>>)> = futures::stream::iter(to_read)
        .map(|oid| async move { (oid, remote.read_recipe(&oid).await) })
        .buffer_unordered(remote.jobs)
        .collect()
        .await;
    if let Some(e) = remote.stop.error() {
        return Err(e);
    }
    let mut bad_recipe = HashSet::new();
    for (oid, r) in read {
        if r.is_err() {
            bad_recipe.insert(oid);
        }
    }
    let recipes: Vec<(Oid, Option<Arc<ObjectRecipe>>)> = oids.iter().map(|o| (*o, remote.known.get(o))).collect();
    let packs: HashSet<Oid> =
        recipes.iter().filter_map(|(_, r)| r.as_ref()).flat_map(|r| r.terms.iter().map(|t| t.pack)).collect();
    // Whole packs are up to 128 MiB: two at a time.
    let states: Vec<(Oid, PackState)> = futures::stream::iter(packs)
        .map(|p| async move {
            let (state, _) = remote.read_pack(&p).await?;
            reporter.advance(0, 0);
            anyhow::Ok((p, state))
        })
        .buffer_unordered(PACKS_IN_FLIGHT)
        .try_collect()
        .await
        .map_err(|e| remote.stop.error().unwrap_or(e))?;
    let states: HashMap<Oid, PackState> = states.into_iter().collect();
    let mut out = Vec::new();
    for (oid, recipe) in recipes {
        reporter.advance(1, 0);
        let damage = match recipe {
            None if bad_recipe.contains(&oid) => Some((RemoteCopy::Corrupt, None)),
            None => Some((RemoteCopy::Missing, None)),
            Some(r) => r.entries().find_map(|(pack, e)| match states.get(&pack) {
                Some(PackState::Good(entries)) => {
                    let ok = entries.get(&e.offset).is_some_and(|found| {
                        found.id == e.id && found.raw_len == e.raw_len && found.stored_len == e.stored_len
                    });
                    (!ok).then_some((RemoteCopy::Corrupt, Some(pack)))
                }
                Some(PackState::Missing) => Some((RemoteCopy::Missing, Some(pack))),
                _ => Some((RemoteCopy::Corrupt, Some(pack))),
            }),
        };
        if let Some((copy, pack)) = damage {
            remote.note_lost(oid);
            out.push(Damage { oid, copy, pack });
        }
    }
    reporter.finish();
    Ok(out)
}

/// Recipes proven at once by [`verify_streaming`].
const VERIFY_RECIPES_IN_FLIGHT: usize = 2;
/// Ranged reads one recipe's proof keeps in flight (memory: this times [`MAX_RANGE`], times
/// [`VERIFY_RECIPES_IN_FLIGHT`]).
const VERIFY_RANGES_IN_FLIGHT: usize = 4;

/// Proves `tops` (file objects and directory manifests) on a chunked remote (`push --verify`):
/// reads each one's recipe, then, in order, the pack ranges it cites; checks every record
/// against the recipe, every chunk against its id, and every object the recipe rebuilds
/// against its oid and size. Streams: nothing is stored, memory is bounded by the ranges in
/// flight. Returns each top whose recipe is missing or corrupt, or cites a missing or damaged
/// pack (named when a pack is the cause).
pub async fn verify_streaming(remote: &Remote, tops: &[Oid], reporter: &dyn Reporter) -> Result<Vec<Damage>> {
    let _active = remote.stop.activate();
    reporter.start("verifying on the remote", tops.len() as u64, 0);
    let found: Vec<Option<Damage>> = futures::stream::iter(tops.iter().copied())
        .map(|oid| async move {
            let r = tokio::select! {
                r = verify_recipe(remote, oid, reporter) => r,
                _ = remote.stop.raised() => Err(remote.stop.error().unwrap_or_else(|| anyhow::anyhow!("stopped"))),
            };
            reporter.advance(1, 0);
            r
        })
        .buffer_unordered(VERIFY_RECIPES_IN_FLIGHT)
        .try_collect()
        .await
        .map_err(|e| remote.stop.error().unwrap_or(e))?;
    reporter.finish();
    Ok(found.into_iter().flatten().collect())
}

/// Re-hashes the objects of one recipe as their chunks arrive in order.
struct Rehash<'a> {
    objects: &'a [ObjectRecipe],
    /// The object being hashed; those before it matched.
    cur: usize,
    hasher: blake3::Hasher,
    size: u64,
}

impl Rehash<'_> {
    /// Whether object `cur` hashed to its oid and size; moves on to the next.
    fn close(&mut self) -> bool {
        let o = &self.objects[self.cur];
        let ok = self.size == o.size && Oid::from_bytes(*self.hasher.finalize().as_bytes()) == o.oid;
        self.cur += 1;
        self.hasher = blake3::Hasher::new();
        self.size = 0;
        ok
    }

    /// Adds the next chunk of object `object`, closing those before it.
    fn feed(&mut self, object: usize, raw: &[u8]) -> bool {
        while self.cur < object {
            if !self.close() {
                return false;
            }
        }
        self.hasher.update(raw);
        self.size += raw.len() as u64;
        true
    }

    /// Closes every object left (an empty object has no chunks).
    fn finish(&mut self) -> bool {
        while self.cur < self.objects.len() {
            if !self.close() {
                return false;
            }
        }
        true
    }
}

/// A pack, a byte range of consecutive records in it, and per record: the object (its index in
/// the recipe) it belongs to and the entry the recipe expects.
type ProofRange = (Oid, u64, u64, Vec<(usize, Entry)>);

async fn verify_recipe(remote: &Remote, top: Oid, reporter: &dyn Reporter) -> Result<Option<Damage>> {
    use super::transfer::RemoteCopy;
    let damage = |copy: RemoteCopy, pack: Option<Oid>| {
        remote.note_lost(top);
        Ok(Some(Damage { oid: top, copy, pack }))
    };
    let recipe = match remote.read_recipe(&top).await {
        Ok(Some(r)) => r,
        Ok(None) => return damage(RemoteCopy::Missing, None),
        // Unreadable or invalid: written again by the repair.
        Err(_) if remote.stop.reason().is_none() => return damage(RemoteCopy::Corrupt, None),
        Err(e) => return Err(e),
    };
    // Ranges of consecutive records, in the order the objects need them.
    let mut ranges: Vec<ProofRange> = Vec::new();
    for (i, o) in recipe.objects.iter().enumerate() {
        for (pack, e) in o.entries() {
            let end = e.offset + e.record_len();
            if let Some((p, start, stop, list)) = ranges.last_mut()
                && *p == pack
                && e.offset == *stop
                && end - *start <= MAX_RANGE
            {
                *stop = end;
                list.push((i, e));
                continue;
            }
            ranges.push((pack, e.offset, end, vec![(i, e)]));
        }
    }
    let mut rehash = Rehash { objects: &recipe.objects, cur: 0, hasher: blake3::Hasher::new(), size: 0 };
    let mut reads = futures::stream::iter(ranges)
        .map(|(pack, start, stop, list)| async move {
            let got = remote.store().get_range(&remote.pack_key(&pack), start..stop).await;
            (pack, start, stop, list, got)
        })
        .buffered(VERIFY_RANGES_IN_FLIGHT);
    while let Some((pack, start, stop, list, got)) = reads.next().await {
        let bytes = match got {
            Ok(b) => b,
            Err(object_store::Error::NotFound { .. }) => return damage(RemoteCopy::Missing, Some(pack)),
            Err(e) => return Err(remote.error(&format!("reading pack {}", pack.short()), e)),
        };
        reporter.advance(0, bytes.len() as u64);
        let good = bytes.len() as u64 == stop - start
            && tokio::task::block_in_place(|| {
                let Ok(records) = pack::records(&bytes, start) else { return false };
                records.len() == list.len()
                    && records.iter().zip(&list).all(|((found, stored), (object, want))| {
                        found.id == want.id
                            && found.raw_len == want.raw_len
                            && found.stored_len == want.stored_len
                            && pack::decode(found, stored).is_ok_and(|raw| rehash.feed(*object, &raw))
                    })
            });
        if !good {
            return damage(RemoteCopy::Corrupt, Some(pack));
        }
    }
    if !rehash.finish() {
        // Every chunk is what the recipe says, yet an object is not: the recipe is wrong.
        return damage(RemoteCopy::Corrupt, None);
    }
    Ok(None)
}

/// `push --verify` on a chunked remote: proves every top of `set` ([`verify_streaming`]), then
/// pushes again what is missing or damaged, cut into fresh packs with its recipe rewritten.
/// Returns the counts and what was found damaged.
pub async fn push_verified(
    remote: &Remote,
    cache: &Cache,
    index: &StatIndex,
    set: &PushSet,
    params: Chunking,
    reporter: &dyn Reporter,
) -> Result<(TransferStats, Vec<Damage>)> {
    let mut seen = HashSet::new();
    let tops: Vec<Oid> = set
        .files
        .iter()
        .map(|f| f.oid)
        .chain(set.dirs.iter().map(|d| d.manifest))
        .filter(|o| seen.insert(*o))
        .collect();
    let damage = verify_streaming(remote, &tops, reporter).await?;
    // An object without a recipe is pushed as a plain push would, deduplicated against earlier
    // versions; one whose recipe or packs are damaged is cut into fresh packs, never citing
    // what is damaged. Both are reported.
    let (absent, damaged): (Vec<Damage>, Vec<Damage>) =
        damage.into_iter().partition(|d| d.pack.is_none() && d.copy == super::transfer::RemoteCopy::Missing);
    let subset = |of: &[Damage], history: bool| {
        let wanted: HashSet<Oid> = of.iter().map(|d| d.oid).collect();
        PushSet {
            files: set.files.iter().filter(|f| wanted.contains(&f.oid)).cloned().collect(),
            dirs: set.dirs.iter().filter(|d| wanted.contains(&d.manifest)).cloned().collect(),
            history: if history { set.history.clone() } else { Default::default() },
        }
    };
    let bad: HashSet<Oid> = absent.iter().chain(&damaged).map(|d| d.oid).collect();
    let good: Vec<Oid> = tops.iter().filter(|o| !bad.contains(o)).copied().collect();
    index.mark_present(&remote.id, &good);
    let mut stats = TransferStats::default();
    if !absent.is_empty() {
        stats = stats.plus(&push(remote, cache, index, &subset(&absent, true), params, false, reporter).await?);
    }
    if !damaged.is_empty() {
        stats = stats.plus(&push(remote, cache, index, &subset(&damaged, false), params, true, reporter).await?);
    }
    let mut repaired = damaged;
    repaired.extend(absent);
    let mut objects: HashSet<Oid> = tops.iter().copied().collect();
    objects.extend(set.dirs.iter().flat_map(|d| d.files.iter().map(|f| f.oid)));
    stats.verified = objects.len() as u64;
    stats.repaired = repaired.len() as u64;
    stats.present = good.len() as u64;
    Ok((stats, repaired))
}

/// Where one chunk of an object being pushed lives: a pack already on the remote, or a pack
/// this push is building (by its number).
#[derive(Clone, Copy)]
enum Loc {
    Remote(Oid, Entry),
    New(usize, Entry),
}

/// One object to cut: its oid, and whether the cache must hold it.
struct Job {
    oid: Oid,
}

/// What the chunker thread produced.
struct Cut {
    /// Per object: where each chunk lives, in order, or why it could not be cut.
    objects: HashMap<Oid, Result<Vec<Loc>>>,
}

/// Makes every object of `set` present on a chunked remote (see [`super::transfer::push`]).
/// `history` maps an object to its artifact's earlier versions (newest first), whose recipes
/// tell which chunks the remote already holds.
pub async fn push(
    remote: &Remote,
    cache: &Cache,
    index: &StatIndex,
    set: &PushSet,
    params: Chunking,
    rewrite: bool,
    reporter: &dyn Reporter,
) -> Result<TransferStats> {
    let mut stats = TransferStats::default();
    let tops: Vec<Oid> = set.files.iter().map(|f| f.oid).chain(set.dirs.iter().map(|d| d.manifest)).collect();
    // `rewrite` (fsck --repair, migrate): recipes that exist are written again, over fresh packs.
    let there = if rewrite {
        HashSet::new()
    } else {
        super::transfer::check_exists(
            remote,
            tops.iter().copied().collect::<HashSet<_>>().into_iter().collect(),
            &mut stats,
        )
        .await?
    };
    let files: Vec<&Object> = unique(set.files.iter().filter(|f| !there.contains(&f.oid)), |f| f.oid);
    let dirs: Vec<&DirObjects> = unique(set.dirs.iter().filter(|d| !there.contains(&d.manifest)), |d| d.manifest);
    // Held from reading the earlier recipes to writing the new ones: no gc deletes a pack this
    // push cites meanwhile.
    let lock = if files.is_empty() && dirs.is_empty() {
        None
    } else {
        Some(remote.lock(super::lock::LockKind::Shared, "push").await?)
    };

    // Objects that cannot be pushed from here.
    let mut missing: Vec<Oid> = files.iter().map(|f| f.oid).filter(|o| !cache.contains(o)).collect();
    for d in &dirs {
        missing.extend(std::iter::once(d.manifest).chain(d.files.iter().map(|f| f.oid)).filter(|o| !cache.contains(o)));
    }
    let files: Vec<&Object> = files.into_iter().filter(|f| cache.contains(&f.oid)).collect();
    let dirs: Vec<&DirObjects> = dirs
        .into_iter()
        .filter(|d| cache.contains(&d.manifest) && d.files.iter().all(|f| cache.contains(&f.oid)))
        .collect();

    // Dedup sources: recipes of earlier versions, confirmed now along with the packs they cite.
    let wanted_tops: HashSet<Oid> = files.iter().map(|f| f.oid).chain(dirs.iter().map(|d| d.manifest)).collect();
    let mut sources: Vec<Oid> = Vec::new();
    for top in &wanted_tops {
        for earlier in set.history.get(top).into_iter().flatten() {
            if !wanted_tops.contains(earlier) && !sources.contains(earlier) {
                sources.push(*earlier);
            }
        }
    }
    // A rewrite (a repair) cuts into fresh packs only: an earlier recipe may cite the very pack
    // that is damaged.
    let known = if rewrite { HashMap::new() } else { load_sources(remote, &sources, &mut stats).await? };

    // Everything to cut, files before the manifests that list them.
    let mut jobs: Vec<Job> = Vec::new();
    let mut queued = HashSet::new();
    for oid in
        files.iter().map(|f| f.oid).chain(dirs.iter().flat_map(|d| d.files.iter().map(|f| f.oid).chain([d.manifest])))
    {
        if queued.insert(oid) {
            jobs.push(Job { oid });
        }
    }
    let total: u64 =
        jobs.iter().map(|j| std::fs::metadata(cache.object_path(&j.oid)).map(|m| m.len()).unwrap_or(0)).sum();
    reporter.start("pushing", jobs.len() as u64, total);

    // The chunker runs on a blocking thread and hands finished packs to this task, which
    // uploads them (a few at a time) while the next one fills.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, Oid, Vec<u8>)>(1);
    let cutter = {
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || cut_all(&cache, jobs, params, known, tx))
    };
    let mut packs: HashMap<usize, Oid> = HashMap::new();
    let mut uploading = FuturesUnordered::new();
    let mut failed: Option<anyhow::Error> = None;
    let mut open = true;
    while open || !uploading.is_empty() {
        tokio::select! {
            next = rx.recv(), if open && uploading.len() < PACKS_IN_FLIGHT => match next {
                Some((slot, oid, bytes)) => {
                    let len = bytes.len() as u64;
                    let key = remote.pack_key(&oid);
                    uploading.push(async move {
                        let r = remote.store().put(&key, PutPayload::from(bytes)).await;
                        (slot, oid, len, r)
                    });
                }
                None => open = false,
            },
            Some((slot, oid, len, r)) = uploading.next(), if !uploading.is_empty() => match r {
                Ok(_) => {
                    packs.insert(slot, oid);
                    stats.bytes += len;
                    reporter.advance(0, len);
                }
                Err(e) => {
                    failed.get_or_insert(remote.error(&format!("uploading pack {}", oid.short()), e));
                    open = false;
                    rx.close();
                }
            },
            _ = remote.stop.raised() => {
                rx.close();
                open = false;
                uploading.clear();
            }
        }
    }
    // Unblock the chunker if it waits on a full channel, then collect it.
    drop(rx);
    let cut = cutter.await.context("chunking objects")?;
    reporter.finish();
    if let Some(e) = remote.stop.error() {
        return Err(e);
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let Cut { objects } = cut?;

    super::lock::test_pause("push-before-recipes").await;
    // Recipes, now that every pack they cite is there.
    let resolve = |oid: &Oid| -> Result<ObjectRecipe> {
        let locs = objects.get(oid).context("object was not cut")?.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let mut r = ObjectRecipe::new(*oid);
        for loc in locs {
            match loc {
                Loc::Remote(pack, e) => r.push(*pack, e),
                Loc::New(slot, e) => r.push(*packs.get(slot).context("a pack of this push was not uploaded")?, e),
            }
        }
        Ok(r)
    };
    let mut recipes: Vec<(Oid, Result<Recipe>)> = Vec::new();
    for f in &files {
        recipes.push((f.oid, resolve(&f.oid).map(|o| Recipe { objects: vec![o] })));
    }
    for d in &dirs {
        let built = (|| {
            let mut objects = vec![resolve(&d.manifest)?];
            let mut seen = HashSet::from([d.manifest]);
            for f in &d.files {
                if seen.insert(f.oid) {
                    objects.push(resolve(&f.oid)?);
                }
            }
            Ok(Recipe { objects })
        })();
        recipes.push((d.manifest, built));
    }
    let mut failures = Failures::new("uploaded to", remote);
    let results: Vec<(Oid, Result<u64>)> = futures::stream::iter(recipes)
        .map(|(oid, built)| async move {
            let r = async {
                let bytes = built?.to_bytes();
                let len = bytes.len() as u64;
                remote
                    .store()
                    .put(&remote.recipe_key(&oid), PutPayload::from(bytes))
                    .await
                    .map_err(|e| remote.error(&format!("uploading the recipe of {}", oid.short()), e))?;
                anyhow::Ok(len)
            }
            .await;
            reporter.advance(1, 0);
            (oid, r)
        })
        .buffer_unordered(remote.jobs)
        .collect()
        .await;
    let mut confirmed: Vec<Oid> = there.iter().copied().collect();
    for (oid, r) in results {
        match r {
            Ok(len) => {
                stats.transferred += 1;
                stats.bytes += len;
                confirmed.push(oid);
            }
            Err(error) => failures.push(Failure { oid, error }),
        }
    }
    index.mark_present(&remote.id, &confirmed);
    if let Some(lock) = lock {
        lock.release().await;
    }
    stats.present = there.len() as u64;
    let stats = failures.into_result(stats)?;
    if let Some(first) = missing.first() {
        bail!(crate::error::hinted(
            super::transfer::MissingLocally { count: missing.len(), first: *first }.to_string(),
            "they were never added on this machine or were garbage-collected; `mvc status` shows which artifacts"
        ));
    }
    Ok(stats)
}

fn unique<'a, T, K: std::hash::Hash + Eq>(items: impl Iterator<Item = &'a T>, key: impl Fn(&T) -> K) -> Vec<&'a T> {
    let mut seen = HashSet::new();
    items.filter(|i| seen.insert(key(i))).collect()
}

/// Reads the recipes of `sources` (those that exist) and confirms now that every pack they cite
/// is there; returns where each of their chunks lives. A recipe citing a missing pack is not used.
async fn load_sources(
    remote: &Remote,
    sources: &[Oid],
    stats: &mut TransferStats,
) -> Result<HashMap<Oid, (Oid, Entry)>> {
    let recipes: Vec<Option<Recipe>> = futures::stream::iter(sources.iter())
        .map(|oid| async move {
            match remote.read_recipe(oid).await {
                Ok(r) => Ok(r),
                // A damaged earlier recipe only means less dedup.
                Err(_) if remote.stop.reason().is_none() => Ok(None),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(remote.jobs)
        .try_collect()
        .await?;
    stats.checks += sources.len() as u64;
    let recipes: Vec<Recipe> = recipes.into_iter().flatten().collect();
    let packs: HashSet<Oid> = recipes.iter().flat_map(|r| r.packs()).collect();
    stats.checks += packs.len() as u64;
    let present: Vec<Option<Oid>> = futures::stream::iter(packs)
        .map(|p| async move {
            match remote.store().head(&remote.pack_key(&p)).await {
                Ok(_) => Ok(Some(p)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(remote.error(&format!("checking pack {}", p.short()), e)),
            }
        })
        .buffer_unordered(remote.jobs)
        .try_collect()
        .await?;
    let present: HashSet<Oid> = present.into_iter().flatten().collect();
    let mut known = HashMap::new();
    for r in recipes.iter().filter(|r| r.packs().all(|p| present.contains(&p))) {
        for o in &r.objects {
            for (pack, e) in o.entries() {
                known.entry(e.id).or_insert((pack, e));
            }
        }
    }
    Ok(known)
}

/// Reads an object while hashing it, so a corrupt cache object is never pushed.
struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Cuts every job's object, appending chunks no known recipe (nor this push) holds to packs,
/// which go to `tx` as they fill.
fn cut_all(
    cache: &Cache,
    jobs: Vec<Job>,
    params: Chunking,
    known: HashMap<Oid, (Oid, Entry)>,
    tx: tokio::sync::mpsc::Sender<(usize, Oid, Vec<u8>)>,
) -> Result<Cut> {
    let mut fresh: HashMap<Oid, (usize, Entry)> = HashMap::new();
    let mut writer = PackWriter::default();
    let mut slot = 0usize;
    let mut objects = HashMap::new();
    let send = |slot: usize, w: PackWriter| -> Result<()> {
        let (oid, bytes, _) = w.finish();
        tx.blocking_send((slot, oid, bytes)).map_err(|_| anyhow::anyhow!("the push stopped"))
    };
    for job in jobs {
        let path = cache.object_path(&job.oid);
        let one = (|| -> Result<Vec<Loc>> {
            let file = std::fs::File::open(&path).with_context(|| format!("reading `{}`", path.display()))?;
            let mut reader =
                Hashing { inner: std::io::BufReader::with_capacity(1 << 20, file), hasher: blake3::Hasher::new() };
            let mut locs = Vec::new();
            for data in params.split(&mut reader) {
                let data = data.with_context(|| format!("reading `{}`", path.display()))?;
                let id = super::chunk::id_of(&data);
                if let Some((pack, e)) = known.get(&id) {
                    locs.push(Loc::Remote(*pack, *e));
                } else if let Some((s, e)) = fresh.get(&id) {
                    locs.push(Loc::New(*s, *e));
                } else {
                    if writer.len() + data.len() > pack::TARGET_BYTES && !writer.is_empty() {
                        send(slot, std::mem::take(&mut writer))?;
                        slot += 1;
                    }
                    let e = writer.add(id, &data);
                    fresh.insert(id, (slot, e));
                    locs.push(Loc::New(slot, e));
                }
            }
            let got = Oid::from_bytes(*reader.hasher.finalize().as_bytes());
            if got != job.oid {
                return Err(crate::error::hinted(
                    super::upload::CorruptInCache { oid: job.oid, got }.to_string(),
                    "run `mvc fsck --repair` to quarantine it and fetch a good copy (or `mvc add` the file again)",
                )
                .into());
            }
            Ok(locs)
        })();
        if let Err(e) = &one
            && e.to_string() == "the push stopped"
        {
            bail!("the push stopped");
        }
        objects.insert(job.oid, one);
    }
    if !writer.is_empty() {
        send(slot, writer)?;
    }
    Ok(Cut { objects })
}

/// One chunk to place: where it is in a pack, and where its bytes go.
struct Piece {
    pack: Oid,
    offset: u64,
    id: Oid,
    stored_len: u32,
    raw_len: u32,
    /// Index of the object in the group, and the offset in it.
    object: usize,
    at: u64,
}

/// Downloads `objects` that are not in the cache from a chunked remote: their recipes (unless
/// this command read them already), then their terms in coalesced ranged GETs; every chunk is
/// checked against its id, and every object against its oid before it is published. Chunks
/// that cache objects `sources` (other versions of the same artifacts) hold are copied from
/// them instead, once they hash to their ids (`reuse`).
pub async fn fetch(
    remote: &Remote,
    cache: &Cache,
    objects: &[Object],
    sources: &[Oid],
    reporter: &dyn Reporter,
) -> Result<TransferStats> {
    let mut stats = TransferStats::default();
    let mut seen = HashSet::new();
    let needed: Vec<Oid> =
        objects.iter().filter(|o| seen.insert(o.oid) && !cache.contains(&o.oid)).map(|o| o.oid).collect();
    stats.present = (seen.len() - needed.len()) as u64;
    let mut failures = Failures::new("downloaded from", remote);

    // Recipes not read yet: first those of directories this command looks at, then the
    // objects' own.
    if needed.iter().any(|o| remote.known.get(o).is_none()) {
        let dirs: Vec<Oid> = remote.known.1.lock().map(|mut d| std::mem::take(&mut *d)).unwrap_or_default();
        let dirs: Vec<Oid> = dirs.into_iter().filter(|d| remote.known.get(d).is_none()).collect();
        let _: Vec<Option<Recipe>> = futures::stream::iter(dirs)
            .map(|oid| async move { remote.read_recipe(&oid).await })
            .buffer_unordered(remote.jobs)
            .try_collect()
            .await?;
    }
    let unknown: Vec<Oid> = needed.iter().filter(|o| remote.known.get(o).is_none()).copied().collect();
    let read: Vec<(Oid, Result<Option<Recipe>>)> = futures::stream::iter(unknown)
        .map(|oid| async move { (oid, remote.read_recipe(&oid).await) })
        .buffer_unordered(remote.jobs)
        .collect()
        .await;
    for (oid, r) in read {
        match r {
            Ok(Some(_)) => {}
            Ok(None) => {
                remote.note_lost(oid);
                failures.push(Failure {
                    oid,
                    error: crate::error::hinted(
                        format!("object {oid} is not on remote `{}` ({})", remote.name, remote.display_url),
                        "push it from a machine that has it: `mvc push`",
                    )
                    .into(),
                });
            }
            Err(error) => failures.push(Failure { oid, error }),
        }
    }
    let recipes: Vec<Arc<ObjectRecipe>> = needed.iter().filter_map(|o| remote.known.get(o)).collect();
    let total: u64 = recipes.iter().map(|r| r.size).sum();
    let local = if recipes.is_empty() || sources.is_empty() {
        LocalChunks::default()
    } else {
        // Cutting local versions the remote has no recipe for reads at most twice the bytes
        // this fetch could save.
        let (local, reads) = LocalChunks::load(remote, cache, sources, total.saturating_mul(2)).await?;
        stats.checks += reads;
        local
    };
    reporter.start("fetching", recipes.len() as u64, total);
    for group in recipes.chunks(GROUP_OBJECTS) {
        if remote.stop.reason().is_some() {
            break;
        }
        let (done, bytes, reused, errors) = fetch_group(remote, cache, group, &local, reporter).await?;
        stats.transferred += done as u64;
        stats.bytes += bytes;
        stats.reused += reused;
        for f in errors {
            failures.push(f);
        }
    }
    reporter.finish();
    failures.into_result(stats)
}

/// Rebuilds one group of objects into temp files (chunks `local` holds copied from the cache,
/// the rest downloaded) and publishes those that verify. Returns objects done, bytes
/// downloaded, bytes copied locally and failures.
async fn fetch_group(
    remote: &Remote,
    cache: &Cache,
    group: &[Arc<ObjectRecipe>],
    local: &LocalChunks,
    reporter: &dyn Reporter,
) -> Result<(usize, u64, u64, Vec<Failure>)> {
    let mut temps = Vec::new();
    for r in group {
        let (file, path) = cache.temp_file()?;
        file.set_len(r.size).with_context(|| format!("sizing `{}`", path.display()))?;
        temps.push((file, path));
    }
    let mut pieces = Vec::new();
    for (i, r) in group.iter().enumerate() {
        let mut at = 0u64;
        for (pack, e) in r.entries() {
            let (offset, id, stored_len, raw_len) = (e.offset, e.id, e.stored_len, e.raw_len);
            pieces.push(Piece { pack, offset, id, stored_len, raw_len, object: i, at });
            at += e.raw_len as u64;
        }
    }
    let (mut pieces, reused) = match tokio::task::block_in_place(|| take_local(cache, local, pieces, &temps)) {
        Ok(r) => r,
        Err(e) => {
            for (_, path) in &temps {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    reporter.advance(0, reused);
    pieces.sort_by_key(|p| (p.pack, p.offset));
    // Coalesce into ranges: same pack, close together, bounded in size.
    let mut ranges: Vec<(Oid, u64, u64, Vec<Piece>)> = Vec::new();
    for p in pieces {
        let end = p.offset + pack::RECORD_HEADER + p.stored_len as u64;
        if let Some((pack, start, stop, list)) = ranges.last_mut()
            && *pack == p.pack
            && p.offset <= *stop + MAX_GAP
            && end.max(*stop) - *start <= MAX_RANGE
        {
            *stop = (*stop).max(end);
            list.push(p);
            continue;
        }
        ranges.push((p.pack, p.offset, end, vec![p]));
    }
    let temps_ref = &temps;
    let results: Vec<(Vec<usize>, Result<u64>)> = futures::stream::iter(ranges)
        .map(|(pack, start, stop, list)| async move {
            let objects: Vec<usize> = list.iter().map(|p| p.object).collect();
            (objects, fetch_range(remote, pack, start, stop, &list, temps_ref, reporter).await)
        })
        .buffer_unordered(remote.jobs)
        .collect()
        .await;
    // A range that failed (a missing or damaged pack) fails only the objects it was for; the
    // others are still checked and published, as on a loose remote.
    let mut bytes = 0;
    let mut failed: HashMap<usize, anyhow::Error> = HashMap::new();
    for (objects, r) in results {
        match r {
            Ok(n) => bytes += n,
            Err(e) => {
                let (message, hint) = (e.to_string(), crate::error::hint_of(&e));
                let copy = || match &hint {
                    Some(h) => crate::error::hinted(message.clone(), h.clone()).into(),
                    None => anyhow::anyhow!(message.clone()),
                };
                for i in objects {
                    failed.entry(i).or_insert_with(copy);
                }
            }
        }
    }
    if let Some(stopped) = remote.stop.error() {
        for (_, path) in &temps {
            let _ = std::fs::remove_file(path);
        }
        return Err(stopped);
    }
    // Every object is checked against its oid before it enters the cache.
    let mut batch = Batch::default();
    let mut failures = Vec::new();
    let mut done = 0;
    for (i, (r, (file, path))) in group.iter().zip(temps).enumerate() {
        drop(file);
        if let Some(error) = failed.remove(&i) {
            let _ = std::fs::remove_file(&path);
            failures.push(Failure { oid: r.oid, error });
            continue;
        }
        let got =
            crate::hash::hash_file(&path, &mut |_| {}).with_context(|| format!("hashing `{}`", path.display()))?;
        if got.oid == r.oid {
            cache.stage_verified(path, r.oid, &mut batch);
            done += 1;
            reporter.advance(1, 0);
        } else {
            let _ = std::fs::remove_file(&path);
            remote.note_lost(r.oid);
            failures.push(Failure {
                oid: r.oid,
                error: remote.bad_recipe(&r.oid, &format!("the object it rebuilds hashes to {}", got.oid)),
            });
        }
    }
    let cache = cache.clone();
    tokio::task::spawn_blocking(move || cache.publish(batch)).await.context("publishing downloads")??;
    Ok((done, bytes, reused, failures))
}

/// Downloads pack bytes `start..stop` and places the chunks of `list` into their objects'
/// temp files; returns the bytes downloaded.
async fn fetch_range(
    remote: &Remote,
    pack: Oid,
    start: u64,
    stop: u64,
    list: &[Piece],
    temps: &[(std::fs::File, std::path::PathBuf)],
    reporter: &dyn Reporter,
) -> Result<u64> {
    let what = || format!("downloading pack {}", pack.short());
    let key = remote.pack_key(&pack);
    let bytes = tokio::select! {
        r = remote.store().get_range(&key, start..stop) => match r {
            Ok(b) => b,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(crate::error::hinted(
                    format!("pack {pack} is missing from remote `{}` ({})", remote.name, remote.display_url),
                    "push the affected artifacts again from a machine that has them",
                ).into());
            }
            Err(e) => return Err(remote.error(&what(), e)),
        },
        _ = remote.stop.raised() => return Err(remote.stop.error().unwrap_or_else(|| anyhow::anyhow!("stopped"))),
    };
    let n = bytes.len() as u64;
    if n != stop - start {
        return Err(remote.bad_pack(&pack, &format!("a read of bytes {start}..{stop} returned {n} bytes")));
    }
    tokio::task::block_in_place(|| place(remote, &pack, start, &bytes, list, temps))?;
    reporter.advance(0, n);
    Ok(n)
}

/// Copies the pieces `local` holds from cache objects into their temp files (in parallel, one
/// chunk in memory per thread); returns the pieces still to download and the bytes copied.
fn take_local(
    cache: &Cache,
    local: &LocalChunks,
    pieces: Vec<Piece>,
    temps: &[(std::fs::File, std::path::PathBuf)],
) -> Result<(Vec<Piece>, u64)> {
    use rayon::prelude::*;
    if local.is_empty() {
        return Ok((pieces, 0));
    }
    let tried: Vec<Result<(Piece, bool)>> = pieces
        .into_par_iter()
        .map_init(Vec::new, |buf, p| {
            let (file, path) = &temps[p.object];
            let took = local
                .copy(cache, &p.id, p.raw_len, file, p.at, buf)
                .with_context(|| format!("writing `{}`", path.display()))?;
            Ok((p, took))
        })
        .collect();
    let mut rest = Vec::new();
    let mut reused = 0;
    for t in tried {
        match t? {
            (p, true) => reused += p.raw_len as u64,
            (p, false) => rest.push(p),
        }
    }
    Ok((rest, reused))
}

/// Decodes the records of one ranged read and writes each wanted chunk where it goes.
fn place(
    remote: &Remote,
    pack: &Oid,
    start: u64,
    bytes: &[u8],
    list: &[Piece],
    temps: &[(std::fs::File, std::path::PathBuf)],
) -> Result<()> {
    // Pieces are sorted by offset, so a chunk wanted twice is decoded once; only one decoded
    // chunk is held at a time (compressed ranges can expand a lot).
    let mut last: Option<(u64, Vec<u8>)> = None;
    for p in list {
        if last.as_ref().map(|(o, _)| *o) != Some(p.offset) {
            let from = (p.offset - start) as usize;
            let to = from + pack::RECORD_HEADER as usize + p.stored_len as usize;
            let records =
                pack::records(&bytes[from..to], p.offset).map_err(|e| remote.bad_pack(pack, &e.to_string()))?;
            let [(e, stored)] = records.as_slice() else {
                return Err(remote.bad_pack(pack, &format!("no single record at byte {}", p.offset)));
            };
            if e.id != p.id {
                return Err(remote.bad_pack(pack, &format!("byte {} holds chunk {}, not {}", p.offset, e.id, p.id)));
            }
            let raw = pack::decode(e, stored).map_err(|e| remote.bad_pack(pack, &e.to_string()))?;
            last = Some((p.offset, raw));
        }
        let raw = &last.as_ref().expect("decoded above").1;
        let (file, path) = &temps[p.object];
        file.write_all_at(raw, p.at).with_context(|| format!("writing `{}`", path.display()))?;
    }
    Ok(())
}
