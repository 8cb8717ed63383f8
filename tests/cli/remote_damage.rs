//! A remote that lost or mangled objects behind mvc's back: push, `push --verify`, fsck and
//! gc act on what the remote holds now, not on what this clone remembers.

use crate::fault_proxy::{Fault, FaultProxy, Rule};
use crate::harness::TestEnv;
use crate::push_pull::{files_under, project, s3};
use crate::s3_server::S3Server;

fn key(oid: &str) -> String {
    format!("project/blake3/{}/{}", &oid[..2], &oid[2..])
}

fn oid_of(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[test]
fn a_deleted_object_is_pushed_again_from_the_same_clone_and_from_a_fresh_one() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    let model = env.pointer_oid("model.bin");
    let clone = env.clone_repo();
    s3(&clone, &["pull", "-q"]).ok();

    std::fs::remove_file(server.object_file(&key(&model))).unwrap();
    let run = s3(&env, &["push"]).ok();
    insta::assert_snapshot!(run.stderr, @"pushed 1 object (3.0 MiB) to `origin`; 51 already there");
    assert!(server.object_file(&key(&model)).exists());

    std::fs::remove_file(server.object_file(&key(&model))).unwrap();
    let run = s3(&clone, &["push"]).ok();
    insta::assert_snapshot!(run.stderr, @"pushed 1 object (3.0 MiB) to `origin`; 51 already there");
    let run = s3(&env, &["status", "-r", "origin", "--check"]).ok();
    insta::assert_snapshot!(run.stderr, @"2 artifacts, all in the cache and on `origin`");
}

#[test]
fn a_manifest_goes_up_only_after_this_push_saw_every_file() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    // The server lost the directory's manifest and some of its files; this clone still
    // remembers all of them as present.
    let manifest = env.pointer_oid("data");
    let lost: Vec<String> = (0..5).map(|i| oid_of(format!("row {i}\n").as_bytes())).collect();
    std::fs::remove_file(server.object_file(&key(&manifest))).unwrap();
    for oid in &lost {
        std::fs::remove_file(server.object_file(&key(oid))).unwrap();
    }
    let json = s3(&env, &["push", "--json"]).ok().json();
    assert_eq!(json["uploaded"], 6, "five files, then the manifest: {json}");
    for oid in lost.iter().chain([&manifest]) {
        assert!(server.object_file(&key(oid)).exists(), "{oid}");
    }
    let clone = env.clone_repo();
    s3(&clone, &["pull", "-q"]).ok();
    assert_eq!(clone.read("data/part0/f0.txt"), "row 0\n");
}

#[test]
fn a_corrupt_object_on_the_remote_is_reported_by_fsck_and_repaired_by_push_verify() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    let bad = oid_of(b"row 7\n");
    std::fs::write(server.object_file(&key(&bad)), b"bit rot").unwrap();

    let run = s3(&env, &["fsck", "-c"]).fails();
    assert_eq!(run.stdout, format!("corrupt: {bad} in origin  (needed by `data`)\n"));
    // A plain push trusts the manifest that is there; --verify reads everything back.
    let json = s3(&env, &["push", "--json"]).ok().json();
    assert_eq!(json["uploaded"], 0, "{json}");
    let run = s3(&env, &["push", "--verify"]).ok();
    assert_eq!(
        run.stderr,
        format!(
            "verified 52 objects on `origin`; 1 missing or corrupt\nrepaired {bad}: was corrupt on `origin` (needed by `data`)\npushed 1 object (6 B) to `origin`; 51 already there\n"
        )
    );
    assert_eq!(std::fs::read(server.object_file(&key(&bad))).unwrap(), b"row 7\n");
    s3(&env, &["fsck", "--cloud"]).ok();
}

#[test]
fn fsck_cloud_repair_uploads_good_cache_copies() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    let model = env.pointer_oid("model.bin");
    let file = oid_of(b"row 3\n");
    std::fs::remove_file(server.object_file(&key(&model))).unwrap();
    std::fs::write(server.object_file(&key(&file)), b"garbage").unwrap();
    let run = s3(&env, &["fsck", "-c", "--repair"]).ok();
    let mut lines: Vec<&str> = run.stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("corrupt: {file} in origin  (needed by `data`; repaired)"),
            format!("missing: {model} in origin  (needed by `model.bin`; repaired)"),
        ]
    );
    assert_eq!(std::fs::read(server.object_file(&key(&file))).unwrap(), b"row 3\n");
    assert!(server.object_file(&key(&model)).exists());
    s3(&env, &["fsck", "-c"]).ok();
}

#[test]
fn gc_keeps_local_objects_that_the_remote_lost() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    let old = env.pointer_oid("model.bin");
    env.write("model.bin", "version two");
    env.mvc(&["commit", "-q", "-m", "v2"]).ok();
    s3(&env, &["push", "-q"]).ok();
    // This clone remembers the old model as pushed, but the remote lost it since.
    std::fs::remove_file(server.object_file(&key(&old))).unwrap();
    let json = s3(&env, &["gc", "--workspace", "--json"]).ok().json();
    let kept: Vec<&str> =
        json["kept_unconfirmed"].as_array().unwrap().iter().map(|o| o["oid"].as_str().unwrap()).collect();
    assert_eq!(kept, [old.as_str()], "{json}");
    assert_eq!(json["local"].as_array().unwrap().len(), 0, "{json}");
    assert!(env.object(&old).exists(), "the only copy stays");
}

#[test]
fn registry_check_asks_the_remote_now() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    s3(&env, &["register", "-q", "churn", "model.bin"]).ok();
    s3(&env, &["check", "churn"]).ok();
    // This clone pushed it and remembers so; the remote lost it since.
    std::fs::remove_file(server.object_file(&key(&env.pointer_oid("model.bin")))).unwrap();
    let run = s3(&env, &["check", "churn"]).fails();
    assert!(
        run.stdout.contains("is not on remote `origin`") || run.stderr.contains("is not on remote `origin`"),
        "{run:?}"
    );
}

#[test]
fn an_interrupted_gc_on_the_remote_never_leaves_a_manifest_without_its_files() {
    let server = S3Server::start();
    let proxy = FaultProxy::start(&server.endpoint);
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    let old_manifest = env.pointer_oid("data");
    let old_files: Vec<String> = (0..50).map(|i| oid_of(format!("row {i}\n").as_bytes())).collect();
    for i in 0..50 {
        env.write(&format!("data/part{}/f{i}.txt", i % 3), format!("new row {i}\n"));
    }
    env.mvc(&["commit", "-q", "-m", "v2"]).ok();
    s3(&env, &["push", "-q"]).ok();
    // gc dies after its first batch delete, as if killed: the second batch never happens.
    env.mvc(&["remote", "modify", "origin", "endpoint", &proxy.endpoint]).ok();
    proxy.rule(Rule::new(Fault::Status(500)).method("POST").path("delete").after(1));
    let run = s3(&env, &["gc", "--workspace", "-r", "origin", "--grace-days", "0"]).fails();
    assert!(run.stderr.starts_with("error: deleting unreferenced objects on remote `origin`"), "{}", run.stderr);
    assert!(!server.object_file(&key(&old_manifest)).exists(), "the manifest went first");
    for oid in &old_files {
        assert!(server.object_file(&key(oid)).exists(), "its files are still there");
    }
    // A completed run deletes the rest.
    proxy.clear();
    s3(&env, &["gc", "--workspace", "-r", "origin", "--grace-days", "0", "-q"]).ok();
    assert!(old_files.iter().all(|oid| !server.object_file(&key(oid)).exists()));
    assert_eq!(files_under(&server.root.join("models/project/blake3")), 52);
}

#[test]
fn push_refuses_a_corrupt_cache_object() {
    let server = S3Server::start();
    let env = project(&server);
    let model = env.pointer_oid("model.bin");
    let path = env.object(&model);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(&path, b"overwritten by accident").unwrap();
    let run = s3(&env, &["push"]).fails();
    let got = oid_of(b"overwritten by accident");
    assert_eq!(
        run.stderr,
        format!(
            "error: cache object {model} is corrupt (its content hashes to {got}); it was not uploaded\n\
             hint: run `mvc fsck --repair` to quarantine it and fetch a good copy (or `mvc add` the file again)\n"
        )
    );
    assert!(!server.object_file(&key(&model)).exists(), "the wrong bytes never reached the remote");
}

#[test]
fn read_only_commands_never_create_a_local_remote() {
    let env = TestEnv::new();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "origin", "../store"]).ok();
    for command in [&["pull"][..], &["fetch"], &["status", "-r", "origin"], &["fsck", "-c"], &["ls", "-c"]] {
        let run = env.mvc(command).fails();
        assert_eq!(
            run.stderr,
            "error: remote `origin` not found at `$ROOT/../store`\n\
             hint: check the path with `mvc remote list`; a first `mvc push -r origin` creates it\n",
            "{command:?}"
        );
    }
    assert!(!env.path("../store").exists());
    // The relative path is the repository root's, from any directory.
    std::fs::create_dir_all(env.path("sub")).unwrap();
    env.mvc_in(&env.path("sub"), &["push", "-q"]).ok();
    assert!(env.path("../store/mvc-remote.yaml").exists());

    env.mvc(&["remote", "modify", "origin", "url", "file:store"]).ok();
    let run = env.mvc(&["push"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: remote `origin` has the URL `file:store`, which is not a valid file URL
    hint: use `file:///absolute/path`, or a plain path (relative paths are relative to the repository root): `mvc remote modify origin url PATH`
    ");
}

#[test]
fn remote_add_refuses_credentials_in_committed_urls() {
    let env = TestEnv::new();
    let run =
        env.mvc(&["remote", "add", "--layout", "loose", "origin", "https://user:hunter2@example.com/models"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: the URL for remote `origin` carries credentials (a user name or password), which must not go into the committed config
    hint: give it without them, and store secrets with `mvc remote modify --local origin KEY` (read from standard input) or in environment variables
    ");
    let run = env
        .mvc(&["remote", "add", "--layout", "loose", "origin", "https://acct.blob.core.windows.net/c?sv=2022&sig=abc"])
        .fails();
    assert!(run.stderr.contains("a signature or token in its query"), "{}", run.stderr);
    assert!(!env.read(".mvc/config").contains("hunter2"));
    env.mvc(&["remote", "add", "--layout", "loose", "origin", "https://example.com/models"]).ok();
    let run = env.mvc(&["remote", "modify", "origin", "url", "https://u:pw@example.com/m"]).fails();
    assert!(run.stderr.contains("carries credentials"), "{}", run.stderr);
}

#[test]
fn one_object_the_remote_lost_does_not_stop_the_other_artifacts_checkout() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    let model = env.pointer_oid("model.bin");
    std::fs::remove_file(server.object_file(&key(&model))).unwrap();
    let clone = env.clone_repo();
    let run = s3(&clone, &["pull"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("`model.bin` was not checked out"), "{}", run.stderr);
    assert!(run.stderr.contains("checked out `data` (50 files)"), "{}", run.stderr);
    assert_eq!(files_under(&clone.path("data")), 50, "the intact artifact is in the workspace");
}
