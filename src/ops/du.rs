//! `mvc du`: what a remote stores against what it holds, so a chunked remote's saving shows:
//! logical bytes (the objects it can rebuild, whole) and stored bytes (packs and recipes, or
//! loose objects), beside the bytes the workspace's pointers name.

use std::collections::HashMap;

use anyhow::Result;
use futures::{StreamExt, TryStreamExt};

use crate::hash::Oid;
use crate::remote::{Layout, backend};
use crate::repo::Repo;

/// What `du` measured.
#[derive(Debug, Clone)]
pub struct DuReport {
    /// The remote's name.
    pub remote: String,
    /// Its layout (`loose` or `chunked`).
    pub layout: &'static str,
    /// Bytes the workspace's pointers name (each object once).
    pub workspace_bytes: u64,
    /// Objects the remote can rebuild.
    pub objects: u64,
    /// Their whole size.
    pub logical_bytes: u64,
    /// Bytes the remote stores for them.
    pub stored_bytes: u64,
    /// Packs (chunked).
    pub packs: u64,
    /// Recipes (chunked).
    pub recipes: u64,
}

/// Runs `mvc du` on `remote` (`None`: the default remote). On a chunked remote every recipe is
/// read (one GET each); on a loose one a LIST of its objects suffices.
pub fn du(repo: &Repo, remote: Option<&str>, rt: &tokio::runtime::Runtime) -> Result<DuReport> {
    let mut named: HashMap<Oid, u64> = HashMap::new();
    for artifact in crate::ops::tracked(repo)? {
        let p = artifact.load_pointer(repo)?;
        named.insert(p.oid, p.size);
    }
    let workspace_bytes = named.values().sum();
    let remote = backend::open(repo, &backend::choose(repo, remote)?, None)?;
    rt.block_on(async {
        remote.check_layout(false).await?;
        let mut report = DuReport {
            remote: remote.name.clone(),
            layout: remote.layout().name(),
            workspace_bytes,
            objects: 0,
            logical_bytes: 0,
            stored_bytes: 0,
            packs: 0,
            recipes: 0,
        };
        match remote.layout() {
            Layout::Loose => {
                let loose: Vec<object_store::ObjectMeta> = remote
                    .store()
                    .list(Some(&remote.objects_prefix()))
                    .try_collect()
                    .await
                    .map_err(|e| remote.error("listing objects", e))?;
                report.objects = loose.len() as u64;
                report.stored_bytes = loose.iter().map(|m| m.size).sum();
                report.logical_bytes = report.stored_bytes;
            }
            Layout::Chunked(_) => {
                let recipes = remote.list_dir("recipes").await?;
                let packs = remote.list_dir("packs").await?;
                report.recipes = recipes.len() as u64;
                report.packs = packs.len() as u64;
                report.stored_bytes =
                    recipes.iter().map(|r| r.size).sum::<u64>() + packs.iter().map(|p| p.size).sum::<u64>();
                let remote = &remote;
                let read: Vec<Option<crate::remote::recipe::Recipe>> = futures::stream::iter(recipes.iter())
                    .map(|r| async move { remote.read_recipe(&r.oid).await })
                    .buffer_unordered(remote.jobs)
                    .try_collect()
                    .await?;
                let mut objects: HashMap<Oid, u64> = HashMap::new();
                for o in read.iter().flatten().flat_map(|r| r.objects.iter()) {
                    objects.insert(o.oid, o.size);
                }
                report.objects = objects.len() as u64;
                report.logical_bytes = objects.values().sum();
            }
        }
        Ok(report)
    })
}
