//! `mvc install`: git hooks and the pointer merge driver, exercised through real git.

use crate::harness::TestEnv;

/// A repo with hooks installed, a local-directory remote, and `model.bin` + `data/`
/// committed on `main`.
fn installed() -> TestEnv {
    let env = TestEnv::new();
    let remote = env.path("../store");
    env.mvc(&["remote", "add", "--layout", "loose", "origin", remote.to_str().unwrap()]).ok();
    env.write("model.bin", "main weights");
    env.write("data/a.csv", "a\n");
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "main"]);
    env.mvc(&["install"]).ok();
    env
}

#[test]
fn install_reports_chains_and_uninstalls_exactly() {
    let env = TestEnv::new();
    let user_hook = env.path(".git/hooks/pre-commit");
    std::fs::write(&user_hook, "#!/bin/sh\necho user hook ran >> \"$(git rev-parse --git-dir)/user-hook.log\"\n")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&user_hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let run = env.mvc(&["install"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    installed hooks in `$ROOT/.git/hooks`: post-checkout, post-merge, pre-commit, pre-push
    your existing hooks run first: pre-commit
    registered the merge driver for `*.mvc`
    ");
    env.mvc(&["install"]).ok(); // idempotent: the user's hook is not chained twice
    env.write("f.txt", "x");
    env.git(&["add", "f.txt"]);
    env.git(&["commit", "-qm", "f"]);
    assert_eq!(std::fs::read_to_string(env.path(".git/user-hook.log")).unwrap(), "user hook ran\n");

    let run = env.mvc(&["install", "--uninstall"]).ok();
    insta::assert_snapshot!(run.stderr, @"removed hooks from `$ROOT/.git/hooks`: post-checkout, post-merge, pre-commit, pre-push");
    assert!(std::fs::read_to_string(&user_hook).unwrap().contains("user hook ran"));
    let mut left: Vec<String> = std::fs::read_dir(env.path(".git/hooks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".sample"))
        .collect();
    left.sort();
    assert_eq!(left, ["pre-commit"]);
    assert!(!env.git(&["config", "--list"]).contains("merge.mvc"));
}

#[test]
fn branch_switch_checks_out_the_branchs_data() {
    let env = installed();
    env.git(&["checkout", "-qb", "experiment"]);
    env.write("model.bin", "experiment weights");
    env.mvc(&["commit", "-q", "-m", "experiment"]).ok();
    env.git(&["checkout", "-q", "main"]);
    assert_eq!(env.read("model.bin"), "main weights");
    env.git(&["checkout", "-q", "experiment"]);
    assert_eq!(env.read("model.bin"), "experiment weights");
}

#[test]
fn commit_with_a_modified_artifact_is_refused() {
    let env = installed();
    env.write("model.bin", "edited but not recorded");
    env.write("notes.txt", "n");
    env.git(&["add", "notes.txt"]);
    let run = env.git_run(&["commit", "-qm", "notes"]);
    assert_ne!(run.code, 0);
    let stderr = run.stderr;
    assert!(stderr.contains("modified:    model.bin"), "{stderr}");
    assert!(stderr.contains("record them with `mvc commit`"), "{stderr}");
    // After recording, the commit goes through.
    env.mvc(&["commit", "-q"]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "notes"]);
}

#[test]
fn git_push_pushes_the_data_of_the_pushed_commits() {
    let env = installed();
    let bare = env.path("../origin.git");
    std::process::Command::new("git").args(["init", "-q", "--bare"]).arg(&bare).status().unwrap();
    env.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    env.git(&["push", "-q", "origin", "main"]);
    let store = env.path("../store");
    let oid = env.pointer_oid("model.bin");
    assert!(store.join("blake3").join(&oid[..2]).join(&oid[2..]).exists(), "the pre-push hook pushed the model");
}

#[test]
fn merge_driver_merges_directories_changed_on_both_sides() {
    let env = installed();
    env.git(&["checkout", "-qb", "left"]);
    env.write("data/left.csv", "l\n");
    env.mvc(&["commit", "-q", "-m", "left adds a file"]).ok();
    env.git(&["checkout", "-q", "main"]);
    env.write("data/right.csv", "r\n");
    env.mvc(&["commit", "-q", "-m", "main adds a file"]).ok();
    env.git(&["merge", "-q", "--no-edit", "left"]);
    assert!(env.read("data.mvc").contains("nfiles: 3"), "{}", env.read("data.mvc"));
    assert_eq!(env.read("data/left.csv"), "l\n", "post-merge checked the merged data out");
    assert_eq!(env.mvc(&["status", "--check"]).code, 0);

    // Both sides changing the same file is a conflict that leaves a valid pointer.
    env.git(&["checkout", "-qb", "other"]);
    env.write("model.bin", "other weights");
    env.mvc(&["commit", "-q", "-m", "other model"]).ok();
    env.git(&["checkout", "-q", "main"]);
    env.write("model.bin", "main weights 2");
    env.mvc(&["commit", "-q", "-m", "main model"]).ok();
    let run = env.git_run(&["merge", "--no-edit", "other"]);
    assert_ne!(run.code, 0);
    let stderr = run.stderr;
    assert!(stderr.contains("both sides changed `model.bin`"), "{stderr}");
    assert!(env.mvc(&["status"]).code == 0, "the pointer still parses");
}
