//! `mvc remote migrate`: converts a remote between the loose and chunked layouts in place.
//! Objects already converted are skipped (a re-run resumes); both kinds stay until every
//! object is converted, then the marker switches, and only then are the old kind's files
//! deleted, so readers keep working throughout.

use std::collections::HashSet;

use anyhow::Result;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};

use super::transfer::{DirObjects, Object, PushMode, PushSet};
use super::{Layout, MARKER, Remote};
use crate::cache::Cache;
use crate::hash::Oid;
use crate::progress::Reporter;
use crate::state::StatIndex;

/// Objects converted per batch (the scratch cache holds one batch at a time).
const BATCH_OBJECTS: usize = 512;
/// Bytes converted per batch, at most (a larger single object is a batch alone).
const BATCH_BYTES: u64 = 256 << 20;
/// Conversion passes: a pusher that wrote the old layout during a pass is caught by the next.
const PASSES: usize = 3;

/// What a migration did.
#[derive(Debug, Default, Clone)]
pub struct Migrated {
    /// The layout before.
    pub from: &'static str,
    /// The layout now.
    pub to: &'static str,
    /// Objects converted by this run.
    pub converted: u64,
    /// Objects found already converted (by an interrupted earlier run).
    pub skipped: u64,
    /// Bytes of objects converted.
    pub bytes: u64,
    /// Files of the old layout deleted at the end.
    pub removed: u64,
}

/// Converts `src` (opened, any layout) to `to`. `dst` is a second handle on the same remote
/// whose layout is not read yet; `scratch` is an empty cache for one batch.
pub async fn migrate(
    src: &Remote,
    dst: &Remote,
    to: Layout,
    scratch: &Cache,
    index: &StatIndex,
    reporter: &dyn Reporter,
) -> Result<Migrated> {
    src.check_layout(false).await?;
    src.require_marker().await?;
    // Alone on the remote: it deletes the old layout's files at the end (its own pushes, in
    // this process, do not conflict).
    let lock = src.lock(super::lock::LockKind::Exclusive, "remote migrate").await?;
    let result = convert(src, dst, to, scratch, index, reporter).await;
    lock.release().await;
    result
}

async fn convert(
    src: &Remote,
    dst: &Remote,
    to: Layout,
    scratch: &Cache,
    index: &StatIndex,
    reporter: &dyn Reporter,
) -> Result<Migrated> {
    let _ = dst.layout.set(to);
    let mut out = Migrated { from: src.layout().name(), to: to.name(), ..Default::default() };
    let _active = src.stop.activate();
    for pass in 0..PASSES {
        let (todo, done) = match to {
            Layout::Chunked(_) => to_chunked_todo(src, dst).await?,
            Layout::Loose => to_loose_todo(src, dst).await?,
        };
        if pass == 0 {
            out.skipped = done;
        }
        if todo.is_empty() {
            break;
        }
        for batch in batches(todo) {
            let objects: Vec<Object> = batch.iter().flat_map(all_objects).collect();
            let fetched = super::transfer::fetch(src, scratch, &objects, reporter).await;
            let result = match fetched {
                Ok(_) => push_batch(dst, scratch, index, &batch, to, reporter).await,
                Err(e) => Err(e),
            };
            for o in &objects {
                let _ = scratch.remove(&o.oid);
            }
            result?;
            out.converted += objects.len() as u64;
            out.bytes += batch.iter().map(|u| u.bytes).sum::<u64>();
        }
    }
    // Everything is there in the new layout: switch the marker, then drop the old files.
    src.store()
        .put(&src.root.clone().join(MARKER), PutPayload::from(to.marker_text().into_bytes()))
        .await
        .map_err(|e| src.error("writing the layout marker", e))?;
    let old: Vec<&str> = match to {
        Layout::Chunked(_) => vec!["blake3"],
        Layout::Loose => vec!["recipes", "packs"],
    };
    for dir in old {
        let prefix = src.root.clone().join(dir);
        let listed: Vec<object_store::ObjectMeta> = src
            .store()
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| src.error(&format!("listing `{dir}/`"), e))?;
        out.removed += listed.len() as u64;
        if !listed.is_empty() {
            use futures::StreamExt;
            src.store()
                .delete_stream(futures::stream::iter(listed.into_iter().map(|m| Ok(m.location))).boxed())
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| src.error(&format!("deleting `{dir}/`"), e))?;
        }
    }
    index.forget_remote(&src.id);
    Ok(out)
}

/// One unit to convert: a single object, or a directory (manifest first, then its files).
struct Unit {
    objects: Vec<Oid>,
    bytes: u64,
}

fn all_objects(u: &Unit) -> Vec<Object> {
    u.objects.iter().map(|o| Object { oid: *o, size: None }).collect()
}

fn batches(units: Vec<Unit>) -> Vec<Vec<Unit>> {
    let mut out: Vec<Vec<Unit>> = Vec::new();
    let (mut n, mut b) = (0usize, 0u64);
    for u in units {
        if out.is_empty() || n + u.objects.len() > BATCH_OBJECTS || b + u.bytes > BATCH_BYTES {
            out.push(Vec::new());
            n = 0;
            b = 0;
        }
        n += u.objects.len();
        b += u.bytes;
        out.last_mut().expect("pushed above").push(u);
    }
    out
}

async fn push_batch(
    dst: &Remote,
    scratch: &Cache,
    index: &StatIndex,
    batch: &[Unit],
    to: Layout,
    reporter: &dyn Reporter,
) -> Result<()> {
    let mut set = PushSet::default();
    for u in batch {
        match u.objects.as_slice() {
            [one] => set.files.push(Object { oid: *one, size: None }),
            [manifest, files @ ..] => set.dirs.push(DirObjects {
                manifest: *manifest,
                files: files.iter().map(|o| Object { oid: *o, size: None }).collect(),
            }),
            [] => {}
        }
    }
    match to {
        Layout::Chunked(params) => {
            super::chunked::push(dst, scratch, index, &set, params, false, reporter).await?;
        }
        Layout::Loose => {
            super::transfer::push(dst, scratch, index, &set, PushMode::default(), reporter).await?;
        }
    }
    Ok(())
}

/// Loose objects to cut into the chunked layout: each gets its own recipe (a directory's
/// files are found by their own recipes). Returns them and how many already have one.
async fn to_chunked_todo(src: &Remote, dst: &Remote) -> Result<(Vec<Unit>, u64)> {
    let prefix = src.objects_prefix();
    let listed: Vec<object_store::ObjectMeta> =
        src.store().list(Some(&prefix)).try_collect().await.map_err(|e| src.error("listing objects", e))?;
    let recipes = dst.list_recipes().await?;
    let mut todo = Vec::new();
    let mut done = 0;
    for meta in listed {
        let parts: Vec<String> = meta.location.parts().map(|p| p.as_ref().to_string()).collect();
        let [.., two, rest] = parts.as_slice() else { continue };
        let Ok(oid) = format!("{two}{rest}").parse::<Oid>() else { continue };
        if recipes.contains(&oid) {
            done += 1;
        } else {
            todo.push(Unit { objects: vec![oid], bytes: meta.size });
        }
    }
    Ok((todo, done))
}

/// Recipes whose objects are not all loose yet: a directory's recipe becomes its files and
/// then its manifest (a loose manifest vouches for its files).
async fn to_loose_todo(src: &Remote, dst: &Remote) -> Result<(Vec<Unit>, u64)> {
    let recipes = src.list_recipes().await?;
    let mut loose = HashSet::new();
    let prefix = dst.objects_prefix();
    let listed: Vec<object_store::ObjectMeta> =
        dst.store().list(Some(&prefix)).try_collect().await.map_err(|e| dst.error("listing objects", e))?;
    for meta in listed {
        let parts: Vec<String> = meta.location.parts().map(|p| p.as_ref().to_string()).collect();
        if let [.., two, rest] = parts.as_slice()
            && let Ok(oid) = format!("{two}{rest}").parse::<Oid>()
        {
            loose.insert(oid);
        }
    }
    let mut todo = Vec::new();
    let mut done = 0;
    for top in recipes {
        // Its manifest (or object) is loose: pushes put it there last, so the rest is too.
        if loose.contains(&top) {
            done += 1;
            continue;
        }
        let Some(recipe) = src.read_recipe(&top).await? else { continue };
        let bytes = recipe.objects.iter().map(|o| o.size).sum();
        todo.push(Unit { objects: recipe.objects.iter().map(|o| o.oid).collect(), bytes });
    }
    Ok((todo, done))
}
