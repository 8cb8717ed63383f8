//! `mvc cat`: an artifact's bytes on stdout, verified, nothing written to the workspace.

use crate::harness::TestEnv;

#[test]
fn cat_streams_files_inner_files_and_old_revisions_verified() {
    let env = TestEnv::new();
    env.write("model.bin", "weights v1");
    env.write("data/a.txt", "alpha");
    env.write("data/sub/b.txt", "beta");
    env.mvc(&["add", "-q", "-m", "v1", "model.bin", "data"]).ok();
    env.write("model.bin", "weights v2");
    env.mvc(&["commit", "-q", "-m", "v2"]).ok();

    assert_eq!(env.mvc(&["cat", "model.bin"]).ok().stdout, "weights v2");
    assert_eq!(env.mvc(&["cat", "model.bin", "--rev", "HEAD~1"]).ok().stdout, "weights v1");
    assert_eq!(env.mvc(&["cat", "data/sub/b.txt"]).ok().stdout, "beta");
    let run = env.mvc(&["cat", "data"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `data` is a directory
    hint: name a file inside it: `mvc cat data/FILE`
    ");
    let run = env.mvc(&["cat", "data/nope.txt"]).fails();
    insta::assert_snapshot!(run.stderr, @"error: `nope.txt` is not in `data`");

    // A corrupt cache object: the bytes went out, but the exit code says they are wrong.
    let object = env.object(&env.pointer_oid("model.bin"));
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(&object, "weights v3").unwrap();
    let run = env.mvc(&["cat", "model.bin"]).fails();
    assert!(run.stderr.contains("is corrupt: what was written does not match its oid"), "{}", run.stderr);
}

#[test]
fn cat_downloads_from_the_remote_without_touching_the_workspace() {
    let env = TestEnv::new();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    let store = env.path("../store");
    env.mvc(&["remote", "add", "--layout", "loose", "-d", "local", store.to_str().unwrap()]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env.mvc(&["push", "-q"]).ok();
    let clone = env.clone_repo();
    assert_eq!(clone.mvc(&["cat", "model.bin"]).ok().stdout, "weights");
    assert!(!clone.path("model.bin").exists(), "nothing written to the workspace");
    assert!(clone.object(&clone.pointer_oid("model.bin")).exists(), "kept in the cache");
}
