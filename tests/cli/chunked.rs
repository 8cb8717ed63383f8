//! Chunked remotes (DESIGN §7): round trips, dedup between versions, request counts for many
//! small files, damage and interrupted pushes, concurrent pushers.

use crate::fault_proxy::{Fault, FaultProxy, Rule};
use crate::harness::TestEnv;
use crate::push_pull::{files_under, s3};
use crate::s3_server::{BUCKET, S3Server};

/// Deterministic incompressible bytes (xorshift), like model weights.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// A repo with a chunked local-directory remote `origin` at `<tmp>/remote`.
fn local_project() -> TestEnv {
    let env = TestEnv::new();
    let remote = env.path("../remote");
    env.mvc(&["remote", "add", "origin", remote.to_str().unwrap(), "--layout", "chunked"]).ok();
    env
}

fn commit(env: &TestEnv, msg: &str) {
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", msg]);
}

fn pushed_bytes(env: &TestEnv) -> u64 {
    env.mvc(&["push", "--json"]).ok().json()["bytes"].as_u64().unwrap()
}

#[test]
fn chunked_round_trip_on_s3_with_partial_pull() {
    let server = S3Server::start();
    let env = TestEnv::new();
    env.write("model.bin", noise(3 << 20, 1));
    for i in 0..50 {
        env.write(&format!("data/part{}/f{i}.txt", i % 3), format!("row {i}\n"));
    }
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    env.mvc(&["remote", "add", "origin", &format!("s3://{BUCKET}/project"), "--layout", "chunked"]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &server.endpoint]).ok();
    env.mvc(&["remote", "modify", "origin", "retries", "0"]).ok();
    commit(&env, "v1");
    let run = s3(&env, &["push"]).ok();
    insta::assert_snapshot!(run.stderr, @"pushed 2 objects (3.0 MiB) to `origin`; 0 already there");
    let marker = std::fs::read_to_string(server.object_file("project/mvc-remote.yaml")).unwrap();
    assert!(marker.contains("layout: chunked\nchunking:\n  min: 16384\n  avg: 65536\n  max: 262144\n"), "{marker}");
    assert!(!server.object_file("project/blake3").exists(), "no loose objects on a chunked remote");
    let run = s3(&env, &["push"]).ok();
    insta::assert_snapshot!(run.stderr, @"pushed 0 objects (0 B) to `origin`; 2 already there");

    // A partial pull reads only what the one file needs.
    let clone = env.clone_repo();
    s3(&clone, &["pull", "data/part1/f1.txt"]).ok();
    assert_eq!(clone.read("data/part1/f1.txt"), "row 1\n");
    assert!(!clone.path("data/part0/f0.txt").exists());
    assert!(!clone.path("model.bin").exists());

    let run = s3(&clone, &["pull"]).ok();
    assert!(run.stderr.contains("checked out `model.bin` (1 file)"), "{}", run.stderr);
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
    for i in 0..50 {
        let rel = format!("data/part{}/f{i}.txt", i % 3);
        assert_eq!(clone.read(&rel), env.read(&rel));
    }
    assert_eq!(clone.mvc(&["status", "--check"]).code, 0);
}

#[test]
fn each_new_version_costs_what_changed() {
    let env = local_project();
    let size = 32 << 20;
    let mut model = noise(size, 7);
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    let v1 = pushed_bytes(&env);
    assert!(v1 >= size as u64 && v1 < size as u64 + (1 << 20), "v1 sent {v1}");

    // v2: 1 MiB overwritten in place.
    model[8 << 20..9 << 20].copy_from_slice(&noise(1 << 20, 8));
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2");
    let v2 = pushed_bytes(&env);
    assert!(v2 < (1 << 20) + (768 << 10), "an in-place 1 MiB change sent {v2} bytes");

    // v3: 4 KiB inserted in the middle; everything after it shifts.
    model.splice(16 << 20..16 << 20, noise(4096, 9));
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v3");
    let v3 = pushed_bytes(&env);
    assert!(v3 < 1 << 20, "a 4 KiB insertion sent {v3} bytes");

    // v4: a 2 MiB tensor appended.
    model.extend_from_slice(&noise(2 << 20, 10));
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v4");
    let v4 = pushed_bytes(&env);
    assert!(v4 < (2 << 20) + (512 << 10), "appending 2 MiB sent {v4} bytes");

    let stored = dir_bytes(&env.path("../remote"));
    assert!(stored < size as u64 + (5 << 20), "four versions take {stored} bytes on the remote");

    // Every version pulls back whole and verified.
    let clone = env.clone_repo();
    clone.mvc(&["fetch", "--all-commits"]).ok();
    clone.mvc(&["checkout"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), model);
    clone.mvc(&["checkout", "--rev", "HEAD~2", "model.bin"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap().len(), size);
}

#[test]
fn compressible_data_is_stored_compressed() {
    let env = local_project();
    let csv: String = (0..200_000).map(|i| format!("{i},{},label{}\n", i * 7 % 1000, i % 5)).collect();
    env.write("data.csv", &csv);
    env.mvc(&["add", "-q", "data.csv"]).ok();
    commit(&env, "v1");
    env.mvc(&["push"]).ok();
    let stored = dir_bytes(&env.path("../remote/packs"));
    assert!(stored * 2 < csv.len() as u64, "{stored} bytes stored for a {}-byte CSV", csv.len());
    let clone = env.clone_repo();
    clone.mvc(&["pull"]).ok();
    assert_eq!(clone.read("data.csv"), csv);
}

#[test]
fn many_small_files_cost_a_handful_of_requests() {
    let server = S3Server::start();
    let proxy = FaultProxy::start(&server.endpoint);
    let env = TestEnv::new();
    for i in 0..2000u64 {
        let len = 1024 + (i as usize * 37) % 3072;
        env.write(&format!("data/d{}/f{i:04}.bin", i % 20), noise(len, i + 100));
    }
    env.mvc(&["add", "-q", "data"]).ok();
    env.mvc(&["remote", "add", "origin", &format!("s3://{BUCKET}/p"), "--layout", "chunked"]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &proxy.endpoint]).ok();
    commit(&env, "v1");
    let json = s3(&env, &["push", "--json"]).ok().json();
    assert_eq!(json["uploaded"], 1, "one recipe for the directory: {json}");
    let pushed = proxy.log().len();
    // 9: marker GET, LIST and PUT, recipe HEAD, lock PUT, locks LIST, pack PUT, recipe PUT,
    // lock DELETE.
    assert!(pushed <= 9, "pushing 2,000 files took {pushed} requests: {:?}", proxy.log());

    let clone = env.clone_repo();
    let before = proxy.log().len();
    s3(&clone, &["pull"]).ok();
    let pulled = proxy.log().len() - before;
    assert!(pulled <= 8, "pulling 2,000 files took {pulled} requests: {:?}", &proxy.log()[before..]);
    assert_eq!(
        std::fs::read(clone.path("data/d7/f1987.bin")).unwrap(),
        std::fs::read(env.path("data/d7/f1987.bin")).unwrap()
    );
    assert_eq!(files_under(&clone.path("data")), 2000);
}

#[test]
fn a_corrupt_pack_is_refused_naming_the_remote_and_pack() {
    let env = local_project();
    env.write("model.bin", noise(2 << 20, 3));
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    env.mvc(&["push"]).ok();
    let packs: Vec<_> = std::fs::read_dir(env.path("../remote/packs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(packs.len(), 1);
    let mut bytes = std::fs::read(&packs[0]).unwrap();
    bytes[1 << 20] ^= 0x01;
    std::fs::write(&packs[0], bytes).unwrap();
    let name = packs[0].file_name().unwrap().to_str().unwrap().to_string();

    let clone = env.clone_repo();
    let run = clone.mvc(&["pull"]).fails();
    assert!(
        run.stderr.contains(&format!("error: pack {name} on remote `origin` ("))
            && run.stderr.contains("is corrupt: chunk "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing from it was stored"), "{}", run.stderr);
    assert!(!clone.path("model.bin").exists());
    assert!(!clone.object(&env.pointer_oid("model.bin")).exists(), "nothing unverified enters the cache");
}

#[test]
fn a_push_cut_off_before_its_recipes_is_never_misread_and_a_rerun_completes() {
    let server = S3Server::start();
    let proxy = FaultProxy::start(&server.endpoint);
    let env = TestEnv::new();
    env.write("model.bin", noise(3 << 20, 5));
    env.mvc(&["add", "-q", "model.bin"]).ok();
    env.mvc(&["remote", "add", "origin", &format!("s3://{BUCKET}/p"), "--layout", "chunked"]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &proxy.endpoint]).ok();
    env.mvc(&["remote", "modify", "origin", "retries", "0"]).ok();
    commit(&env, "v1");
    // Packs go up; the recipe never does (as if the pusher died between the two).
    proxy.rule(Rule::new(Fault::Status(500)).method("PUT").path("/recipes/"));
    s3(&env, &["push"]).fails();
    assert!(proxy.log().iter().any(|(m, p, f)| m == "PUT" && p.contains("/packs/") && f.is_none()));

    let clone = env.clone_repo();
    let run = s3(&clone, &["pull"]).fails();
    assert!(run.stderr.contains("is not on remote `origin`"), "{}", run.stderr);
    assert!(!clone.path("model.bin").exists());

    proxy.clear();
    s3(&env, &["push"]).ok();
    s3(&clone, &["pull"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
}

#[test]
fn killed_push_then_pull_never_misreads() {
    let env = local_project();
    env.write("model.bin", noise(24 << 20, 11));
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    let mut child = env.spawn_mvc(&["push"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let clone = env.clone_repo();
    let run = clone.mvc(&["pull"]);
    if run.code == 0 {
        assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
    } else {
        assert!(run.stderr.contains("is not on remote `origin`"), "{}", run.stderr);
        assert!(!clone.path("model.bin").exists());
    }
    env.mvc(&["push"]).ok();
    clone.mvc(&["pull"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
}

#[test]
fn two_concurrent_pushers_lose_nothing() {
    let env = local_project();
    env.write("base.bin", noise(1 << 20, 1));
    env.mvc(&["add", "-q", "base.bin"]).ok();
    commit(&env, "base");
    env.mvc(&["push"]).ok();
    let a = env.clone_repo();
    let b = env.clone_repo();
    // Both share most chunks with each other (same base content, different tails).
    let shared = noise(4 << 20, 2);
    a.write("a.bin", [shared.as_slice(), &noise(1 << 20, 3)].concat());
    b.write("b.bin", [shared.as_slice(), &noise(1 << 20, 4)].concat());
    for (c, f) in [(&a, "a.bin"), (&b, "b.bin")] {
        c.mvc(&["add", "-q", f]).ok();
        commit(c, f);
    }
    let pa = a.spawn_mvc(&["push"]);
    let pb = b.spawn_mvc(&["push"]);
    a.finish_child(pa).ok();
    b.finish_child(pb).ok();
    for (c, f) in [(&a, "a.bin"), (&b, "b.bin")] {
        let fresh = c.clone_repo();
        fresh.mvc(&["pull"]).ok();
        assert_eq!(std::fs::read(fresh.path(f)).unwrap(), std::fs::read(c.path(f)).unwrap());
        assert_eq!(std::fs::read(fresh.path("base.bin")).unwrap().len(), 1 << 20);
    }
}

/// The pack files of a local chunked remote.
fn packs_of(env: &TestEnv) -> Vec<std::path::PathBuf> {
    let mut packs: Vec<_> =
        std::fs::read_dir(env.path("../remote/packs")).unwrap().map(|e| e.unwrap().path()).collect();
    packs.sort();
    packs
}

#[test]
fn fsck_names_what_a_damaged_pack_breaks_and_repair_rewrites_it() {
    let env = local_project();
    env.write("model.bin", noise(2 << 20, 21));
    for i in 0..5 {
        env.write(&format!("data/f{i}.bin"), noise(3000, 30 + i));
    }
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    commit(&env, "v1");
    env.mvc(&["push"]).ok();
    env.mvc(&["fsck", "-c"]).ok();
    let packs = packs_of(&env);
    assert_eq!(packs.len(), 1);
    let pack = packs[0].file_name().unwrap().to_str().unwrap().to_string();
    let mut bytes = std::fs::read(&packs[0]).unwrap();
    bytes[100] ^= 0x01; // inside the first chunk of model.bin
    std::fs::write(&packs[0], bytes).unwrap();

    let run = env.mvc(&["fsck", "-c"]).fails();
    let model = env.pointer_oid("model.bin");
    assert!(
        run.stdout.contains(&format!("corrupt: {model} in origin  (pack {pack} is damaged; needed by `model.bin`)")),
        "{}",
        run.stdout
    );
    let json = env.mvc(&["fsck", "-c", "--json"]).json();
    let broken: Vec<&serde_json::Value> =
        json["findings"].as_array().unwrap().iter().filter(|f| f["place"] == "origin").collect();
    assert!(!broken.is_empty() && broken.iter().all(|f| f["pack"] == pack.as_str()), "{json}");

    let run = env.mvc(&["fsck", "-c", "--repair"]).ok();
    assert!(run.stdout.contains("repaired"), "{}", run.stdout);
    env.mvc(&["fsck", "-c"]).ok();
    let clone = env.clone_repo();
    clone.mvc(&["pull"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
    assert_eq!(std::fs::read(clone.path("data/f3.bin")).unwrap(), std::fs::read(env.path("data/f3.bin")).unwrap());
}

#[test]
fn fsck_reports_a_missing_pack_and_a_missing_recipe() {
    let env = local_project();
    env.write("a.bin", noise(100_000, 1));
    env.mvc(&["add", "-q", "a.bin"]).ok();
    commit(&env, "a");
    env.mvc(&["push"]).ok();
    env.write("b.bin", noise(100_000, 2));
    env.mvc(&["add", "-q", "b.bin"]).ok();
    commit(&env, "b");
    env.mvc(&["push"]).ok();
    let a = env.pointer_oid("a.bin");
    let b = env.pointer_oid("b.bin");
    std::fs::remove_file(env.path(&format!("../remote/recipes/{b}"))).unwrap();
    let run = env.mvc(&["fsck", "-c"]).fails();
    assert!(run.stdout.contains(&format!("missing: {b} in origin  (needed by `b.bin`)")), "{}", run.stdout);
    assert!(!run.stdout.contains(&a.to_string()), "{}", run.stdout);
    for p in packs_of(&env) {
        std::fs::remove_file(p).unwrap();
    }
    let run = env.mvc(&["fsck", "-c"]).fails();
    assert!(run.stdout.contains(&format!("missing: {a} in origin  (pack ")), "{}", run.stdout);
}

fn count_in(env: &TestEnv, dir: &str) -> usize {
    std::fs::read_dir(env.path(&format!("../remote/{dir}"))).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn gc_deletes_dead_recipes_and_packs_after_the_grace_period() {
    let env = local_project();
    env.write("model.bin", noise(2 << 20, 41));
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    env.mvc(&["push"]).ok();
    let v1 = env.pointer_oid("model.bin");
    env.write("model.bin", noise(2 << 20, 43));
    env.write("keep.bin", noise(300_000, 42));
    for i in 0..4 {
        env.write(&format!("data/f{i}.txt"), format!("row {i}\n"));
    }
    env.mvc(&["add", "-q", "model.bin", "keep.bin", "data"]).ok();
    commit(&env, "v2");
    env.mvc(&["push"]).ok();
    assert_eq!((count_in(&env, "recipes"), count_in(&env, "packs")), (4, 2));

    // Within the grace period nothing goes.
    let json = env.mvc(&["gc", "-w", "-c", "--json"]).ok().json();
    assert_eq!(
        (json["remote_objects"].as_array().unwrap().len(), json["remote_packs"].as_array().unwrap().len()),
        (0, 0)
    );
    assert_eq!((count_in(&env, "recipes"), count_in(&env, "packs")), (4, 2));

    let json = env.mvc(&["gc", "-w", "-c", "--grace-days", "0", "--json"]).ok().json();
    assert_eq!(json["remote_objects"][0]["oid"], v1.as_str(), "{json}");
    assert_eq!(json["remote_objects"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["remote_packs"].as_array().unwrap().len(), 1, "{json}");
    assert!(!env.path(&format!("../remote/recipes/{v1}")).exists());
    assert_eq!(count_in(&env, "packs"), 1);

    let clone = env.clone_repo();
    clone.mvc(&["pull"]).ok();
    for f in ["model.bin", "keep.bin", "data/f2.txt"] {
        assert_eq!(std::fs::read(clone.path(f)).unwrap(), std::fs::read(env.path(f)).unwrap(), "{f}");
    }
    let run = clone.mvc(&["checkout", "--rev", "HEAD~1", "model.bin"]);
    assert_ne!(run.code, 0, "the dead version is gone from the remote");
    clone.mvc(&["fsck", "-c"]).ok();
}

#[test]
fn gc_repack_rewrites_sparse_packs_and_keeps_every_live_object_pullable() {
    let env = local_project();
    let v1 = noise(4 << 20, 51);
    env.write("model.bin", &v1);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    env.mvc(&["push"]).ok();
    // v2 keeps the first MiB of v1: v1's pack ends up a quarter live.
    let v2 = [&v1[..1 << 20], &noise(3 << 20, 52)].concat();
    env.write("model.bin", &v2);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2");
    env.mvc(&["push"]).ok();
    let before = dir_bytes(&env.path("../remote/packs"));
    assert!(before > 7 << 20, "{before}");

    let json = env.mvc(&["gc", "-w", "-c", "--grace-days", "0", "--repack", "--dry-run", "--json"]).ok().json();
    assert_eq!(json["repacked"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(dir_bytes(&env.path("../remote/packs")), before, "a dry run changes nothing");

    let json = env.mvc(&["gc", "-w", "-c", "--grace-days", "0", "--repack", "--json"]).ok().json();
    assert_eq!(json["repacked"].as_array().unwrap().len(), 1, "{json}");
    let after = dir_bytes(&env.path("../remote/packs"));
    assert!(after < (4 << 20) + (512 << 10), "{after} bytes of packs after repack (before: {before})");
    assert_eq!(count_in(&env, "recipes"), 1);

    let clone = env.clone_repo();
    clone.mvc(&["pull"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), v2);
    clone.mvc(&["fsck", "-c"]).ok();
}

#[test]
fn migrate_converts_loose_to_chunked_and_back() {
    let env = TestEnv::new();
    let remote = env.path("../remote");
    env.mvc(&["remote", "add", "origin", remote.to_str().unwrap(), "--layout", "loose"]).ok();
    env.write("model.bin", noise(1 << 20, 61));
    for i in 0..6 {
        env.write(&format!("data/f{i}.txt"), format!("row {i}\n"));
    }
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    commit(&env, "v1");
    env.mvc(&["push"]).ok();
    env.write("model.bin", noise(1 << 20, 62));
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2");
    env.mvc(&["push"]).ok();
    let loose_files = files_under(&remote.join("blake3"));
    assert_eq!(loose_files, 9);

    let json = env.mvc(&["remote", "migrate", "origin", "--to", "chunked", "--json"]).ok().json();
    assert_eq!(json["from"], "loose");
    assert_eq!(json["to"], "chunked");
    assert_eq!(
        (json["converted"].as_u64(), json["skipped"].as_u64(), json["removed"].as_u64()),
        (Some(9), Some(0), Some(9))
    );
    assert!(std::fs::read_to_string(remote.join("mvc-remote.yaml")).unwrap().contains("layout: chunked"));
    assert_eq!(files_under(&remote.join("blake3")), 0);
    let clone = env.clone_repo();
    clone.mvc(&["pull"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
    assert_eq!(clone.read("data/f4.txt"), "row 4\n");
    clone.mvc(&["fetch", "--all-commits"]).ok();
    clone.mvc(&["checkout", "--rev", "HEAD~1", "model.bin"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), noise(1 << 20, 61));
    clone.mvc(&["fsck", "-c"]).ok();

    let run = env.mvc(&["remote", "migrate", "origin", "--to", "loose"]).ok();
    insta::assert_snapshot!(run.stderr, @"migrated `origin` from chunked to loose: converted 9 objects (2.0 MiB), 0 already converted; removed 10 files of the old layout");
    assert!(std::fs::read_to_string(remote.join("mvc-remote.yaml")).unwrap().contains("layout: blake3"));
    assert!(!remote.join("packs").exists() || files_under(&remote.join("packs")) == 0);
    assert_eq!(files_under(&remote.join("blake3")), 9);
    let clone = env.clone_repo();
    clone.mvc(&["pull"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
    assert_eq!(clone.read("data/f5.txt"), "row 5\n");
    clone.mvc(&["fsck", "-c"]).ok();
}

#[test]
fn an_interrupted_migration_keeps_readers_working_and_a_rerun_resumes() {
    let server = S3Server::start();
    let proxy = FaultProxy::start(&server.endpoint);
    let env = TestEnv::new();
    for i in 0..3 {
        env.write(&format!("m{i}.bin"), noise(200_000, 70 + i));
    }
    env.mvc(&["add", "-q", "m0.bin", "m1.bin", "m2.bin"]).ok();
    env.mvc(&["remote", "add", "origin", &format!("s3://{BUCKET}/p"), "--layout", "loose"]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &proxy.endpoint]).ok();
    env.mvc(&["remote", "modify", "origin", "retries", "0"]).ok();
    env.mvc(&["remote", "modify", "origin", "jobs", "1"]).ok();
    commit(&env, "v1");
    s3(&env, &["push"]).ok();

    // The first recipe goes up; the others fail, as if the migration died there.
    proxy.rule(Rule::new(Fault::Status(500)).method("PUT").path("/recipes/").after(1));
    s3(&env, &["remote", "migrate", "origin", "--to", "chunked"]).fails();
    let marker = std::fs::read_to_string(server.object_file("p/mvc-remote.yaml")).unwrap();
    assert!(marker.contains("layout: blake3"), "the marker switches only at the end: {marker}");
    let reader = env.clone_repo();
    s3(&reader, &["pull"]).ok();
    assert_eq!(std::fs::read(reader.path("m2.bin")).unwrap(), std::fs::read(env.path("m2.bin")).unwrap());

    proxy.clear();
    let json = s3(&env, &["remote", "migrate", "origin", "--to", "chunked", "--json"]).ok().json();
    assert_eq!((json["converted"].as_u64(), json["skipped"].as_u64()), (Some(2), Some(1)), "{json}");
    let fresh = env.clone_repo();
    s3(&fresh, &["pull"]).ok();
    for i in 0..3 {
        let f = format!("m{i}.bin");
        assert_eq!(std::fs::read(fresh.path(&f)).unwrap(), std::fs::read(env.path(&f)).unwrap());
    }
    assert!(!server.object_file("p/blake3").exists() || files_under(&server.object_file("p/blake3")) == 0);
}

#[test]
fn new_remotes_are_chunked_unless_loose_is_asked_for() {
    let env = TestEnv::new();
    env.mvc(&["remote", "add", "origin", env.path("../a").to_str().unwrap()]).ok();
    env.mvc(&["remote", "add", "plain", env.path("../b").to_str().unwrap(), "--layout", "loose"]).ok();
    let config = env.read(".mvc/config");
    assert!(config.contains("layout: chunked") && config.contains("layout: loose"), "{config}");
    // A remote configured with no layout (by hand, or by an older mvc) stays loose.
    env.write(
        ".mvc/config",
        format!("{}\n  old:\n    url: {}\n", config.trim_end(), env.path("../c").to_str().unwrap()),
    );
    let json = env.mvc(&["remote", "list", "--json"]).ok().json();
    let layouts: Vec<(&str, &str)> =
        json.as_array().unwrap().iter().map(|r| (r["name"].as_str().unwrap(), r["layout"].as_str().unwrap())).collect();
    assert_eq!(layouts, [("old", "loose"), ("origin", "chunked"), ("plain", "loose")], "{json}");
    env.write("model.bin", noise(100_000, 81));
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    for r in ["origin", "plain", "old"] {
        env.mvc(&["push", "-r", r]).ok();
    }
    assert!(std::fs::read_to_string(env.path("../a/mvc-remote.yaml")).unwrap().contains("layout: chunked"));
    assert!(std::fs::read_to_string(env.path("../b/mvc-remote.yaml")).unwrap().contains("layout: blake3"));
    assert!(std::fs::read_to_string(env.path("../c/mvc-remote.yaml")).unwrap().contains("layout: blake3"));
    assert_eq!(files_under(&env.path("../b/blake3")), 1);
    // The marker decides once written: a config that now says chunked does not change a loose remote.
    env.write(".mvc/config", env.read(".mvc/config").replace("layout: loose", "layout: chunked"));
    env.write("model.bin", noise(100_000, 82));
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2");
    env.mvc(&["push", "-r", "plain"]).ok();
    assert_eq!(files_under(&env.path("../b/blake3")), 2);
    assert!(!env.path("../b/recipes").exists());
}

/// Damages a chunked remote at `root` three ways in turn (a corrupted byte in a pack, every
/// pack deleted, a recipe deleted); each time `push --verify` finds it, names it, repairs it,
/// and a fresh clone pulls everything.
fn verify_finds_and_repairs(
    env: &TestEnv,
    root: &std::path::Path,
    mvc: &dyn Fn(&TestEnv, &[&str]) -> crate::harness::Run,
) {
    env.write("model.bin", noise(2 << 20, 91));
    for i in 0..5 {
        env.write(&format!("data/f{i}.bin"), noise(3000, 92 + i));
    }
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    commit(env, "v1");
    mvc(env, &["push"]).ok();
    let model = env.pointer_oid("model.bin");
    let data = env.pointer_oid("data");
    let json = mvc(env, &["push", "--verify", "--json"]).ok().json();
    assert_eq!((json["verified"].as_u64(), json["repaired"].as_u64()), (Some(7), Some(0)), "{json}");
    let pulls_everything = || {
        let fresh = env.clone_repo();
        mvc(&fresh, &["pull"]).ok();
        assert_eq!(std::fs::read(fresh.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
        for i in 0..5 {
            let f = format!("data/f{i}.bin");
            assert_eq!(std::fs::read(fresh.path(&f)).unwrap(), std::fs::read(env.path(&f)).unwrap());
        }
    };
    let packs = || -> Vec<std::path::PathBuf> {
        let mut p: Vec<_> = std::fs::read_dir(root.join("packs")).unwrap().map(|e| e.unwrap().path()).collect();
        p.sort();
        p
    };

    // A flipped byte inside model.bin's first chunk.
    let pack = packs()[0].clone();
    let pack_name = pack.file_name().unwrap().to_str().unwrap().to_string();
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&pack, bytes).unwrap();
    let run = mvc(env, &["push", "--verify"]).ok();
    assert!(
        run.stderr.contains(&format!(
            "repaired {model}: was corrupt on `origin` (pack {pack_name} is damaged; needed by `model.bin`)"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("verified 7 objects on `origin`; 1 missing or corrupt"), "{}", run.stderr);
    let json = mvc(env, &["push", "--verify", "--json"]).ok().json();
    assert_eq!(json["repaired"], 0, "repaired for good: {json}");
    pulls_everything();

    // Every pack gone.
    for p in packs() {
        std::fs::remove_file(p).unwrap();
    }
    let json = mvc(env, &["push", "--verify", "--json"]).ok().json();
    assert_eq!(json["repaired"], 2, "{json}");
    let found: Vec<&serde_json::Value> = json["repaired_objects"].as_array().unwrap().iter().collect();
    assert!(found.iter().all(|f| f["problem"] == "missing" && f["pack"].is_string()), "{json}");
    assert!(found.iter().any(|f| f["oid"] == data.as_str() && f["artifacts"][0] == "data"), "{json}");
    pulls_everything();

    // The directory's recipe gone.
    std::fs::remove_file(root.join(format!("recipes/{data}"))).unwrap();
    let json = mvc(env, &["push", "--verify", "--json"]).ok().json();
    assert_eq!(json["repaired_objects"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["repaired_objects"][0]["oid"], data.as_str(), "{json}");
    assert_eq!(json["repaired_objects"][0]["problem"], "missing", "{json}");
    assert!(json["repaired_objects"][0]["pack"].is_null(), "{json}");
    pulls_everything();
}

#[test]
fn push_verify_repairs_a_damaged_local_chunked_remote() {
    let env = local_project();
    let root = env.path("../remote");
    verify_finds_and_repairs(&env, &root, &|e, args| e.mvc(args));
}

#[test]
fn push_verify_repairs_a_damaged_chunked_remote_on_s3() {
    let server = S3Server::start();
    let env = TestEnv::new();
    env.mvc(&["remote", "add", "origin", &format!("s3://{BUCKET}/p"), "--layout", "chunked"]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &server.endpoint]).ok();
    env.mvc(&["remote", "modify", "origin", "retries", "0"]).ok();
    verify_finds_and_repairs(&env, &server.object_file("p"), &|e, args| s3(e, args));
}

/// Starts `mvc ARGS` in `env` paused at `point` (see `MVC_TEST_PAUSE_AT`) and waits until it
/// gets there.
fn spawn_paused(env: &TestEnv, args: &[&str], point: &str, dir: &std::path::Path) -> std::process::Child {
    let mut vars: Vec<(&str, &str)> = vec![("MVC_TEST_PAUSE_AT", point), ("MVC_TEST_PAUSE_DIR", dir.to_str().unwrap())];
    vars.extend(crate::push_pull::CREDS.iter().copied());
    let mut child = env.spawn_mvc_with(args, &vars);
    let reached = dir.join(format!("{point}.reached"));
    for _ in 0..3000 {
        if reached.exists() {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "`mvc {}` ended ({status}) before reaching {point}: {:?}",
                args.join(" "),
                env.finish_child(child).stderr
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("`mvc {}` never reached {point}", args.join(" "));
}

/// v1 pushed; v2 keeps most of v1's chunks and is committed but not pushed. Returns the project,
/// a clone (where gc runs: its workspace holds v2, so v1's recipe is dead to it) and v1's oid.
fn v2_dedups_against_v1(env: TestEnv) -> (TestEnv, TestEnv, String) {
    let v1 = noise(4 << 20, 101);
    env.write("model.bin", &v1);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    s3(&env, &["push"]).ok();
    let v1_oid = env.pointer_oid("model.bin");
    let mut v2 = v1.clone();
    v2[1 << 20..(1 << 20) + 4096].copy_from_slice(&noise(4096, 102));
    env.write("model.bin", &v2);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2");
    let gc_side = env.clone_repo();
    (env, gc_side, v1_oid)
}

fn race_push_against_gc(env: TestEnv, remote_root: &std::path::Path) {
    let (env, gc_side, v1) = v2_dedups_against_v1(env);
    let pause = tempfile::tempdir().unwrap();
    // The push has read v1's recipe and confirmed its pack, and is about to write v2's recipe
    // citing that pack.
    let push = spawn_paused(&env, &["push"], "push-before-recipes", pause.path());
    let run = s3(&gc_side, &["gc", "-w", "-c", "--grace-days", "0"]).fails();
    assert!(run.stderr.contains("is locked by `mvc push` (shared lock, host "), "{}", run.stderr);
    assert!(remote_root.join(format!("recipes/{v1}")).exists(), "gc deleted nothing");
    std::fs::write(pause.path().join("push-before-recipes.go"), b"").unwrap();
    env.finish_child(push).ok();
    assert!(!remote_root.join("locks").exists() || files_under(&remote_root.join("locks")) == 0, "the lock is gone");

    // Now gc runs: v1's recipe goes, the pack v2 cites stays.
    let json = s3(&gc_side, &["gc", "-w", "-c", "--grace-days", "0", "--json"]).ok().json();
    assert_eq!(json["remote_objects"][0]["oid"], v1.as_str(), "{json}");
    let fresh = env.clone_repo();
    s3(&fresh, &["pull"]).ok();
    assert_eq!(std::fs::read(fresh.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
    s3(&fresh, &["fsck", "-c"]).ok();
}

#[test]
fn gc_refuses_while_a_push_that_dedups_against_old_packs_runs() {
    let env = local_project();
    let root = env.path("../remote");
    race_push_against_gc(env, &root);
}

#[test]
fn gc_refuses_while_a_push_runs_on_s3() {
    let server = S3Server::start();
    let env = TestEnv::new();
    env.mvc(&["remote", "add", "origin", &format!("s3://{BUCKET}/p"), "--layout", "chunked"]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &server.endpoint]).ok();
    race_push_against_gc(env, &server.object_file("p"));
}

#[test]
fn a_push_refuses_while_gc_deletes_and_succeeds_after() {
    let env = local_project();
    let (env, gc_side, v1) = v2_dedups_against_v1(env);
    let pause = tempfile::tempdir().unwrap();
    let gc = spawn_paused(&gc_side, &["gc", "-w", "-c", "--grace-days", "0"], "gc-before-delete", pause.path());
    let run = env.mvc(&["push"]).fails();
    assert!(run.stderr.contains("is locked by `mvc gc` (exclusive lock, host "), "{}", run.stderr);
    assert!(run.stderr.contains("hint: wait for it to finish and re-run"), "{}", run.stderr);
    std::fs::write(pause.path().join("gc-before-delete.go"), b"").unwrap();
    gc_side.finish_child(gc).ok();
    assert!(!env.path(&format!("../remote/recipes/{v1}")).exists(), "gc collected v1");
    // v1's pack went with it: the push that follows uploads what it needs and loses nothing.
    env.mvc(&["push"]).ok();
    let fresh = env.clone_repo();
    fresh.mvc(&["pull"]).ok();
    assert_eq!(std::fs::read(fresh.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
}

#[test]
fn stale_and_dead_locks_are_ignored_fresh_foreign_ones_are_not() {
    let env = local_project();
    env.write("model.bin", noise(200_000, 111));
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    env.mvc(&["push"]).ok();
    let locks = env.path("../remote/locks");
    std::fs::create_dir_all(&locks).unwrap();
    // A push on another machine, refreshed just now.
    let foreign = locks.join("shared-0123456789abcdef-00");
    std::fs::write(&foreign, r#"{"kind":"shared","command":"push","host":"build-box","pid":4242,"started":0}"#)
        .unwrap();
    let run = env.mvc(&["gc", "-w", "-c"]).fails();
    assert!(run.stderr.contains("is locked by `mvc push` (shared lock, host build-box, pid 4242)"), "{}", run.stderr);
    // Pushes share.
    env.mvc(&["push", "--verify"]).ok();
    // Not refreshed for an hour: stale, ignored and removed by gc.
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&foreign).unwrap().set_modified(hour_ago).unwrap();
    env.mvc(&["gc", "-w", "-c"]).ok();
    assert!(!foreign.exists());
    // A gc of this host whose process is gone (no pid is that large).
    let dead = locks.join("exclusive-fedcba9876543210-00");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let pidns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let lock = |machine: &str| {
        format!(
            r#"{{"kind":"exclusive","command":"gc","host":"{}","pid":2147483647,"started":0,"machine":"{machine}"}}"#,
            host.trim()
        )
    };
    std::fs::write(&dead, lock(&format!("{}:{}", boot.trim(), pidns.display()))).unwrap();
    env.mvc(&["gc", "-w", "-c"]).ok();
    assert!(!dead.exists(), "a dead process's lock is removed by gc");
    // The same hostname in another PID namespace (a container): its pid means nothing here,
    // so only age makes it stale.
    std::fs::write(&dead, lock("another-boot:pid:[1]")).unwrap();
    let run = env.mvc(&["gc", "-w", "-c"]).fails();
    assert!(run.stderr.contains("is locked by `mvc gc`"), "{}", run.stderr);
    // A stamp from the future is no store's: ignored, and removed.
    let year_ahead = std::time::SystemTime::now() + std::time::Duration::from_secs(365 * 24 * 3600);
    std::fs::File::options().write(true).open(&dead).unwrap().set_modified(year_ahead).unwrap();
    env.mvc(&["gc", "-w", "-c"]).ok();
    assert!(!dead.exists());
    // Only lock-named objects directly under `locks/` are locks: gc never deletes anything
    // else there, nor what a symlinked directory leads to, however old.
    let outside = env.path("../precious");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("thesis.tex"), "years of work").unwrap();
    std::fs::write(outside.join("shared-0000-00"), "named like a lock").unwrap();
    std::fs::write(locks.join("notes.txt"), "someone's file").unwrap();
    for f in [outside.join("thesis.tex"), outside.join("shared-0000-00"), locks.join("notes.txt")] {
        std::fs::File::options().write(true).open(&f).unwrap().set_modified(hour_ago).unwrap();
    }
    std::os::unix::fs::symlink(&outside, locks.join("shared-link-00")).unwrap();
    std::os::unix::fs::symlink(&outside, locks.join("innocent")).unwrap();
    env.mvc(&["gc", "-w", "-c"]).ok();
    assert_eq!(std::fs::read_to_string(outside.join("thesis.tex")).unwrap(), "years of work");
    assert!(outside.join("shared-0000-00").exists());
    assert!(locks.join("notes.txt").exists());
}

/// Pulls with `--json` and returns (bytes downloaded, bytes reused from the cache).
fn pulled(env: &TestEnv) -> (u64, u64) {
    let json = s3(env, &["pull", "--json"]).ok().json();
    (json["bytes"].as_u64().unwrap(), json["reused_bytes"].as_u64().unwrap())
}

/// An S3-backed project whose `model.bin` (v1, `size` bytes) is pushed, and a clone that
/// pulled it.
fn pulled_v1(server: &S3Server, model: &[u8]) -> (TestEnv, TestEnv) {
    let env = TestEnv::new();
    env.write("model.bin", model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    env.mvc(&["remote", "add", "origin", &format!("s3://{BUCKET}/p"), "--layout", "chunked"]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &server.endpoint]).ok();
    commit(&env, "v1");
    s3(&env, &["push", "-q"]).ok();
    let clone = env.clone_repo();
    let (bytes, reused) = pulled(&clone);
    assert!(bytes >= model.len() as u64 && reused == 0, "v1 downloaded {bytes}, reused {reused}");
    (env, clone)
}

#[test]
fn pull_takes_unchanged_chunks_from_the_local_earlier_version() {
    let server = S3Server::start();
    let size = 24 << 20;
    let mut model = noise(size, 21);
    let (env, clone) = pulled_v1(&server, &model);

    // v2: 1 MiB overwritten in place, pushed from the origin repository.
    model[8 << 20..9 << 20].copy_from_slice(&noise(1 << 20, 22));
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2");
    s3(&env, &["push", "-q"]).ok();

    clone.git(&["pull", "-q"]);
    let (bytes, reused) = pulled(&clone);
    assert!(bytes < size as u64 / 10, "a 1 MiB change downloaded {bytes} bytes");
    assert!(bytes_of_chunks(reused + bytes, size), "downloaded {bytes} + reused {reused}");
    assert!(std::fs::read(clone.path("model.bin")).unwrap() == model, "the pulled file differs");
    assert_eq!(clone.mvc(&["status", "--check"]).code, 0);
    let run = s3(&clone, &["pull"]).ok();
    insta::assert_snapshot!(run.stderr, @"pulled 0 objects (0 B) from `origin`; 1 already in the cache");
}

/// Whether `got` (downloaded pack bytes plus reused raw bytes) is about one object of `size`:
/// pack records add 41 bytes per ~64 KiB chunk.
fn bytes_of_chunks(got: u64, size: usize) -> bool {
    got >= size as u64 && got < size as u64 + (size as u64 / 1000)
}

#[test]
fn a_corrupt_local_earlier_version_is_downloaded_instead() {
    let server = S3Server::start();
    let size = 16 << 20;
    let mut model = noise(size, 31);
    let (env, clone) = pulled_v1(&server, &model);
    let v1 = clone.pointer_oid("model.bin");

    model[4 << 20..(4 << 20) + 4096].copy_from_slice(&noise(4096, 32));
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2");
    s3(&env, &["push", "-q"]).ok();

    // Bytes flipped in the cached v1 (as an edit through a hardlink would).
    let object = clone.object(&v1);
    let mut damaged = std::fs::read(&object).unwrap();
    for at in [1 << 20, 10 << 20, (10 << 20) + 300_000] {
        damaged[at] ^= 0xff;
    }
    std::fs::set_permissions(&object, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&object, &damaged).unwrap();

    clone.git(&["pull", "-q"]);
    let (bytes, reused) = pulled(&clone);
    assert!(std::fs::read(clone.path("model.bin")).unwrap() == model, "the pulled file differs");
    // The changed chunk and the three damaged ones came over the network, nothing else.
    assert!(bytes > 3 * (16 << 10) && bytes < 3 << 20, "downloaded {bytes} bytes");
    assert!(reused > size as u64 - (3 << 20), "reused {reused} bytes");
    assert_eq!(clone.mvc(&["status", "--check"]).code, 0);
}

#[test]
fn a_directory_pull_reuses_the_files_of_its_earlier_version() {
    let env = local_project();
    let mut big = noise(8 << 20, 41);
    env.write("data/a/big.bin", &big);
    env.write("data/b/other.bin", noise(4 << 20, 42));
    env.write("data/labels.txt", "cat\ndog\n");
    env.mvc(&["add", "-q", "data"]).ok();
    commit(&env, "v1");
    env.mvc(&["push", "-q"]).ok();
    let clone = env.clone_repo();
    clone.mvc(&["pull", "-q"]).ok();

    big[(2 << 20)..(2 << 20) + (256 << 10)].copy_from_slice(&noise(256 << 10, 43));
    env.write("data/a/big.bin", &big);
    env.write("data/labels.txt", "cat\ndog\nbird\n");
    env.mvc(&["add", "-q", "data"]).ok();
    commit(&env, "v2");
    env.mvc(&["push", "-q"]).ok();

    clone.git(&["pull", "-q"]);
    let json = clone.mvc(&["pull", "--json"]).ok().json();
    let (bytes, reused) = (json["bytes"].as_u64().unwrap(), json["reused_bytes"].as_u64().unwrap());
    assert!(bytes < 1 << 20, "a 256 KiB change in one file downloaded {bytes} bytes");
    assert!(reused > (7 << 20) + (512 << 10), "reused {reused} bytes");
    assert!(std::fs::read(clone.path("data/a/big.bin")).unwrap() == big, "the pulled file differs");
    assert_eq!(clone.read("data/labels.txt"), "cat\ndog\nbird\n");
    assert_eq!(clone.mvc(&["status", "--check"]).code, 0);
}

#[test]
fn push_dedups_against_registered_versions_that_history_lacks() {
    let env = local_project();
    let size = 16 << 20;
    let mut model = noise(size, 51);
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    assert!(pushed_bytes(&env) >= size as u64);
    env.mvc(&["register", "-q", "churn", "model.bin"]).ok();

    // A branch with no history: only the registry tag names v1.
    env.git(&["checkout", "-q", "--orphan", "fresh"]);
    model[(6 << 20)..(7 << 20)].copy_from_slice(&noise(1 << 20, 52));
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2 on a fresh branch");
    let v2 = pushed_bytes(&env);
    assert!(v2 < (1 << 20) + (768 << 10), "an in-place 1 MiB change sent {v2} bytes");

    // A clone of that branch alone pulls v1 through the registry, then v2 reusing it.
    let clone = env.clone_repo();
    clone.git(&["fetch", "-q", "--tags"]);
    clone.mvc(&["pull", "-q", "churn@latest"]).ok();
    clone.git(&["checkout", "-q", "--", "model.bin.mvc"]);
    let json = clone.mvc(&["pull", "--json"]).ok().json();
    let bytes = json["bytes"].as_u64().unwrap();
    assert!(bytes < 2 << 20, "v2 downloaded {bytes} bytes with v1 in the cache");
    assert!(std::fs::read(clone.path("model.bin")).unwrap() == model, "the pulled file differs");
}

#[test]
fn a_local_version_the_remote_has_no_recipe_for_is_cut_locally() {
    let env = local_project();
    let size = 16 << 20;
    let mut model = noise(size, 61);
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    env.mvc(&["push", "-q"]).ok();
    let v1 = env.pointer_oid("model.bin");
    let clone = env.clone_repo();
    clone.mvc(&["pull", "-q"]).ok();

    model[(3 << 20)..(3 << 20) + 8192].copy_from_slice(&noise(8192, 62));
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2");
    env.mvc(&["push", "-q"]).ok();
    // v1's recipe is gone (collected), its packs stay: v2's recipe cites them.
    std::fs::remove_file(env.path(&format!("../remote/recipes/{v1}"))).unwrap();

    clone.git(&["pull", "-q"]);
    let json = clone.mvc(&["pull", "--json"]).ok().json();
    let (bytes, reused) = (json["bytes"].as_u64().unwrap(), json["reused_bytes"].as_u64().unwrap());
    assert!(bytes < 1 << 20, "an 8 KiB change downloaded {bytes} bytes");
    assert!(reused > size as u64 - (1 << 20), "reused {reused} bytes");
    assert!(std::fs::read(clone.path("model.bin")).unwrap() == model, "the pulled file differs");
}

#[test]
fn a_damaged_pack_fails_only_the_artifacts_it_holds() {
    let env = local_project();
    env.write("model.bin", noise(300_000, 71));
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "model");
    env.mvc(&["push", "-q"]).ok();
    let model_pack = packs_of(&env);
    assert_eq!(model_pack.len(), 1);
    env.write("small.bin", noise(20_000, 72));
    env.mvc(&["add", "-q", "small.bin"]).ok();
    commit(&env, "small");
    env.mvc(&["push", "-q"]).ok();
    // One byte of the model's pack flipped, in the middle of its chunks.
    let mut bytes = std::fs::read(&model_pack[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::set_permissions(&model_pack[0], std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&model_pack[0], bytes).unwrap();

    let clone = env.clone_repo();
    let run = clone.mvc(&["pull"]).fails();
    assert!(run.stderr.contains("is corrupt"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(clone.path("small.bin")).unwrap(),
        noise(20_000, 72),
        "the intact artifact is checked out"
    );
    assert!(!clone.path("model.bin").exists(), "nothing from the damaged pack is stored");
}

#[test]
fn push_verify_of_a_new_version_sends_only_what_changed() {
    let env = local_project();
    let mut model = noise(4 << 20, 81);
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v1");
    env.mvc(&["push", "--verify", "-q"]).ok();
    model[1 << 20..(1 << 20) + 100_000].copy_from_slice(&noise(100_000, 82));
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    commit(&env, "v2");
    let json = env.mvc(&["push", "--verify", "--json"]).ok().json();
    assert!(json["bytes"].as_u64().unwrap() < 1 << 20, "v2 dedups against v1: {json}");
    let clone = env.clone_repo();
    clone.mvc(&["pull", "-q"]).ok();
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), model);
}
