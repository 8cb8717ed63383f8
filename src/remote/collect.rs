//! `gc -c` on a chunked remote (DESIGN §7): recipes no longer live and packs no live recipe
//! cites are deleted after the grace period, recipes first; `--repack` rewrites sparse packs
//! into fresh ones, then the recipes citing them, and only then deletes the old packs.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use anyhow::{Result, bail};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutPayload};

use super::Remote;
use super::chunked::PackState;
use super::pack::{self, Entry, PackWriter};
use super::recipe::{ObjectRecipe, Recipe};
use crate::hash::Oid;

/// A pack is repacked when less than this share (in percent) of its bytes is live.
pub const REPACK_BELOW_PERCENT: u64 = 50;

/// What [`collect`] deleted (or would delete) and rewrote.
#[derive(Debug, Default)]
pub struct Collected {
    /// Recipes deleted, with sizes.
    pub recipes: Vec<(Oid, u64)>,
    /// Packs deleted, with sizes (repacked ones included).
    pub packs: Vec<(Oid, u64)>,
    /// Packs rewritten by `--repack` (their live chunks moved to new packs).
    pub repacked: Vec<Oid>,
}

/// One listed object: name, size, age.
pub(crate) struct Listed {
    pub(crate) oid: Oid,
    pub(crate) size: u64,
    modified: SystemTime,
    location: StorePath,
}

impl Remote {
    pub(crate) async fn list_dir(&self, dir: &str) -> Result<Vec<Listed>> {
        let prefix = self.root.clone().join(dir);
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| self.error(&format!("listing `{dir}/`"), e))?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let oid = m.location.filename()?.parse().ok()?;
                Some(Listed { oid, size: m.size, modified: m.last_modified.into(), location: m.location })
            })
            .collect())
    }

    async fn delete_all(&self, what: &str, locations: Vec<StorePath>) -> Result<()> {
        if locations.is_empty() {
            return Ok(());
        }
        self.store
            .delete_stream(futures::stream::iter(locations.into_iter().map(Ok)).boxed())
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| self.error(what, e))?;
        Ok(())
    }
}

/// Collects a chunked remote: `keep` holds the objects that stay (recipes are named after
/// file objects and directory manifests); anything younger than `cutoff` stays too.
pub async fn collect(
    remote: &Remote,
    keep: &HashSet<Oid>,
    cutoff: SystemTime,
    dry_run: bool,
    repack: bool,
) -> Result<Collected> {
    let recipes = remote.list_dir("recipes").await?;
    let packs = remote.list_dir("packs").await?;
    let (live, dead): (Vec<Listed>, Vec<Listed>) =
        recipes.into_iter().partition(|r| keep.contains(&r.oid) || r.modified > cutoff);

    // Every recipe that stays is read: the packs it cites stay. One that cannot be read stops
    // gc before anything is deleted.
    let read: Vec<(Oid, Option<Recipe>)> = futures::stream::iter(live.iter().map(|r| r.oid))
        .map(|oid| async move { remote.read_recipe(&oid).await.map(|r| (oid, r)) })
        .buffer_unordered(remote.jobs)
        .try_collect()
        .await
        .map_err(|e| {
            remote.stop.error().unwrap_or_else(|| e.context("gc deleted nothing: a live recipe cannot be read"))
        })?;
    let live_recipes: HashMap<Oid, Recipe> = read.into_iter().filter_map(|(o, r)| Some((o, r?))).collect();
    // Live bytes per pack: each cited record once.
    let mut cited: HashMap<Oid, HashSet<(u64, u64)>> = HashMap::new();
    for r in live_recipes.values() {
        for o in &r.objects {
            for (pack, e) in o.entries() {
                cited.entry(pack).or_default().insert((e.offset, e.record_len()));
            }
        }
    }
    let mut out = Collected::default();
    let mut doomed_packs: Vec<&Listed> =
        packs.iter().filter(|p| !cited.contains_key(&p.oid) && p.modified <= cutoff).collect();
    let sparse: Vec<&Listed> = packs
        .iter()
        .filter(|p| p.modified <= cutoff && p.size > 0)
        .filter(|p| {
            cited
                .get(&p.oid)
                .is_some_and(|c| c.iter().map(|(_, len)| len).sum::<u64>() * 100 < p.size * REPACK_BELOW_PERCENT)
        })
        .collect();

    if repack && !sparse.is_empty() {
        if dry_run {
            out.repacked = sparse.iter().map(|p| p.oid).collect();
            doomed_packs.extend(sparse.iter().copied());
        } else {
            let moved = repack_packs(remote, &sparse, &cited, &live_recipes).await?;
            out.repacked = moved.clone();
            doomed_packs.extend(sparse.iter().filter(|p| moved.contains(&p.oid)).copied());
        }
    }
    out.recipes = dead.iter().map(|r| (r.oid, r.size)).collect();
    out.packs = doomed_packs.iter().map(|p| (p.oid, p.size)).collect();
    if !dry_run {
        super::lock::test_pause("gc-before-delete").await;
        // Recipes first: a pack is gone only once nothing that stays cites it.
        remote.delete_all("deleting dead recipes", dead.into_iter().map(|r| r.location).collect()).await?;
        remote
            .delete_all("deleting unreferenced packs", doomed_packs.iter().map(|p| p.location.clone()).collect())
            .await?;
    }
    Ok(out)
}

/// Moves the live chunks of `sparse` packs into new packs, then rewrites every live recipe
/// that cites them. Returns the packs whose chunks moved (a damaged one is left for fsck).
async fn repack_packs(
    remote: &Remote,
    sparse: &[&Listed],
    cited: &HashMap<Oid, HashSet<(u64, u64)>>,
    recipes: &HashMap<Oid, Recipe>,
) -> Result<Vec<Oid>> {
    let mut moved_from = Vec::new();
    let mut new_loc: HashMap<(Oid, u64), (usize, Entry)> = HashMap::new();
    let mut by_id: HashMap<Oid, (usize, Entry)> = HashMap::new();
    let mut writer = PackWriter::default();
    let mut slot = 0usize;
    let mut written: HashMap<usize, Oid> = HashMap::new();
    for p in sparse {
        let (state, bytes) = remote.read_pack(&p.oid).await?;
        let PackState::Good(entries) = state else { continue };
        let mut wanted: Vec<u64> = cited.get(&p.oid).map(|c| c.iter().map(|(o, _)| *o).collect()).unwrap_or_default();
        wanted.sort_unstable();
        for offset in wanted {
            let Some(e) = entries.get(&offset) else {
                bail!(crate::error::hinted(
                    format!("a live recipe cites byte {offset} of pack {}, where no chunk starts", p.oid),
                    "run `mvc fsck -c --repair`, then gc again",
                ));
            };
            if let Some(done) = by_id.get(&e.id) {
                new_loc.insert((p.oid, offset), *done);
                continue;
            }
            let start = (e.offset + pack::RECORD_HEADER) as usize;
            let raw = pack::decode(e, &bytes[start..start + e.stored_len as usize])
                .map_err(|err| anyhow::anyhow!("pack {}: {err}", p.oid))?;
            if writer.len() + raw.len() > pack::TARGET_BYTES && !writer.is_empty() {
                written.insert(slot, upload_pack(remote, std::mem::take(&mut writer)).await?);
                slot += 1;
            }
            let ne = writer.add(e.id, &raw);
            by_id.insert(e.id, (slot, ne));
            new_loc.insert((p.oid, offset), (slot, ne));
        }
        moved_from.push(p.oid);
    }
    if !writer.is_empty() {
        written.insert(slot, upload_pack(remote, writer).await?);
    }
    // New packs are in place: rewrite the recipes that cite a moved pack.
    let moved: HashSet<Oid> = moved_from.iter().copied().collect();
    let rewrites: Vec<(Oid, Recipe)> = recipes
        .iter()
        .filter(|(_, r)| r.packs().any(|p| moved.contains(&p)))
        .map(|(top, r)| {
            let objects = r
                .objects
                .iter()
                .map(|o| {
                    let mut n = ObjectRecipe::new(o.oid);
                    for (pack, e) in o.entries() {
                        match new_loc.get(&(pack, e.offset)) {
                            Some((s, ne)) if moved.contains(&pack) => n.push(written[s], ne),
                            _ => n.push(pack, &e),
                        }
                    }
                    n
                })
                .collect();
            (*top, Recipe { objects })
        })
        .collect();
    futures::stream::iter(rewrites)
        .map(|(top, r)| async move {
            remote
                .store()
                .put(&remote.recipe_key(&top), PutPayload::from(r.to_bytes()))
                .await
                .map_err(|e| remote.error(&format!("rewriting the recipe of {}", top.short()), e))
        })
        .buffer_unordered(remote.jobs)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(moved_from)
}

async fn upload_pack(remote: &Remote, writer: PackWriter) -> Result<Oid> {
    let (oid, bytes, _) = writer.finish();
    remote
        .store()
        .put(&remote.pack_key(&oid), PutPayload::from(bytes))
        .await
        .map_err(|e| remote.error(&format!("uploading pack {}", oid.short()), e))?;
    Ok(oid)
}
