//! What a DVC user expects on day one: `.mvcignore` and `check-ignore`, `--follow-symlinks`
//! for Hugging Face snapshot folders, `diff`/`metrics diff` against the workspace's data,
//! output that reads right (plurals, partial directories), and no progress in pipes.

use crate::harness::TestEnv;

/// A project whose `data` directory holds the junk a notebook and a Mac leave behind.
fn junk_project() -> TestEnv {
    let env = TestEnv::new();
    env.write(".mvcignore", "# OS and editor junk\n.DS_Store\n__pycache__/\n.ipynb_checkpoints/\n*.tmp\n!keep.tmp\n");
    env.write("data/a.csv", "a\n");
    env.write("data/.DS_Store", "finder");
    env.write("data/sub/b.csv", "b\n");
    env.write("data/sub/__pycache__/m.cpython-312.pyc", "bytecode");
    env.write("data/.ipynb_checkpoints/a-checkpoint.csv", "old");
    env.write("data/scratch.tmp", "t");
    env.write("data/keep.tmp", "k");
    env
}

#[test]
fn mvcignore_keeps_junk_out_of_add_status_and_checkout() {
    let env = junk_project();
    let run = env.mvc(&["add", "data"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    added `data` (5 B, 3 files) cc0ecebcbb35
    Staged the pointers; commit them with `git commit`
    ");
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "data"]);

    // New junk is not a change; a new data file is.
    env.write("data/sub/.DS_Store", "more finder");
    env.write("data/sub/__pycache__/n.pyc", "more bytecode");
    let run = env.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stderr, @"1 artifact, all up to date");
    env.write("data/c.csv", "c\n");
    let run = env.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    modified:    data  (1 added, 0 modified, 0 deleted)
        added: data/c.csv
    ");
    std::fs::remove_file(env.path("data/c.csv")).unwrap();

    // Checkout writes what is missing and never deletes an ignored file.
    std::fs::remove_file(env.path("data/a.csv")).unwrap();
    let run = env.mvc(&["checkout"]).ok();
    insta::assert_snapshot!(run.stderr, @"checked out `data` (1 file)");
    assert_eq!(env.read("data/a.csv"), "a\n");
    for kept in [
        "data/.DS_Store",
        "data/sub/.DS_Store",
        "data/sub/__pycache__/m.cpython-312.pyc",
        "data/.ipynb_checkpoints/a-checkpoint.csv",
        "data/scratch.tmp",
    ] {
        assert!(env.path(kept).exists(), "{kept} must survive checkout");
    }
    // Checking out a version without `sub/b.csv` deletes it (mvc wrote it) and leaves the
    // ignored files beside it alone.
    std::fs::remove_file(env.path("data/sub/b.csv")).unwrap();
    env.mvc(&["commit", "-q"]).ok();
    env.git(&["commit", "-qam", "no b"]);
    env.git(&["checkout", "-q", "HEAD~1", "--", "data.mvc"]);
    env.mvc(&["checkout", "-q"]).ok();
    assert_eq!(env.read("data/sub/b.csv"), "b\n");
    env.git(&["checkout", "-q", "HEAD", "--", "data.mvc"]);
    let run = env.mvc(&["checkout"]).ok();
    insta::assert_snapshot!(run.stderr, @"checked out `data` (0 files, 1 deleted)");
    assert!(!env.path("data/sub/b.csv").exists());
    assert!(env.path("data/sub/__pycache__/m.cpython-312.pyc").exists());
    assert!(env.path("data/sub/.DS_Store").exists());
}

#[test]
fn check_ignore_prints_ignored_paths_like_git() {
    let env = junk_project();
    env.write("data/sub/.mvcignore", "# deeper rules win\n!.DS_Store\n");
    let paths = ["data/.DS_Store", "data/sub/__pycache__/x.pyc", "data/a.csv", "data/keep.tmp", "data/sub/.DS_Store"];
    let mut args = vec!["check-ignore"];
    args.extend(paths);
    let run = env.mvc(&args).ok();
    insta::assert_snapshot!(run.stdout, @r"
    data/.DS_Store
    data/sub/__pycache__/x.pyc
    ");
    let mut args = vec!["check-ignore", "-v"];
    args.extend(paths);
    let run = env.mvc(&args).ok();
    insta::assert_snapshot!(run.stdout, @r"
    .mvcignore:2:.DS_Store	data/.DS_Store
    .mvcignore:3:__pycache__/	data/sub/__pycache__/x.pyc
    .mvcignore:6:!keep.tmp	data/keep.tmp
    data/sub/.mvcignore:2:!.DS_Store	data/sub/.DS_Store
    ");
    // From a subdirectory, paths are relative to it; nothing ignored exits 1.
    let run = env.mvc_in(&env.path("data"), &["check-ignore", ".DS_Store"]).ok();
    assert_eq!(run.stdout, ".DS_Store\n");
    let run = env.mvc(&["check-ignore", "data/a.csv", "data/keep.tmp"]).fails();
    assert_eq!(run.stdout, "");
    let json = env.mvc(&["check-ignore", "--json", "data/scratch.tmp"]).ok().json();
    assert_eq!(
        json,
        serde_json::json!({"paths": [{"path": "data/scratch.tmp", "ignored": true,
            "source": {"file": ".mvcignore", "line": 5, "pattern": "*.tmp", "negated": false}}]})
    );
}

#[test]
fn mvcignore_is_never_read_through_a_symlink() {
    let env = TestEnv::new();
    env.write("data/a", "a");
    std::os::unix::fs::symlink("/etc/hostname", env.path(".mvcignore")).unwrap();
    let run = env.mvc(&["add", "data"]).fails();
    assert!(run.stderr.contains("`.mvcignore` is a symlink"), "{}", run.stderr);
}

/// A Hugging Face cache folder: snapshot files are relative links into `blobs/`.
fn hf_snapshot(env: &TestEnv) {
    env.write("hf/blobs/4f2a", "weights v1");
    env.write("hf/blobs/9c1d", "{\"dim\": 4}");
    std::fs::create_dir_all(env.path("hf/snapshots/abc")).unwrap();
    std::os::unix::fs::symlink("../../blobs/4f2a", env.path("hf/snapshots/abc/model.bin")).unwrap();
    std::os::unix::fs::symlink("../../blobs/9c1d", env.path("hf/snapshots/abc/config.json")).unwrap();
    std::os::unix::fs::symlink("snapshots/abc", env.path("hf/latest")).unwrap();
}

#[test]
fn follow_symlinks_stores_a_hugging_face_snapshot() {
    let env = TestEnv::new();
    hf_snapshot(&env);
    let run = env.mvc(&["add", "hf"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `$ROOT/hf/latest` is a symlink; mvc stores files, not symlinks, inside directories
    hint: store what it points to with `mvc add --follow-symlinks hf` (or set `core.follow_symlinks: true`), or replace the link with a file
    ");
    assert!(!env.path("hf.mvc").exists());

    let run = env.mvc(&["add", "--follow-symlinks", "hf"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    added `hf` (60 B, 6 files) 64fb63d2a880
    Staged the pointers; commit them with `git commit`
    ");
    // The links are left as they are; status compares through them.
    assert!(std::fs::symlink_metadata(env.path("hf/snapshots/abc/model.bin")).unwrap().file_type().is_symlink());
    env.mvc(&["status", "--check"]).ok();
    // A clone gets the content as plain files.
    env.git(&["commit", "-qm", "hf"]);
    let remote = env.path("../store");
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", remote.to_str().unwrap()]).ok();
    env.git(&["commit", "-qam", "remote"]);
    env.mvc(&["push", "-q"]).ok();
    let clone = env.clone_repo();
    clone.mvc(&["pull", "-q"]).ok();
    assert_eq!(clone.read("hf/snapshots/abc/model.bin"), "weights v1");
    assert_eq!(clone.read("hf/latest/config.json"), "{\"dim\": 4}");

    // Retargeting a link is a change; `commit` stores it when told to follow (here: config).
    env.write("hf/blobs/77aa", "weights v2");
    std::fs::remove_file(env.path("hf/snapshots/abc/model.bin")).unwrap();
    std::os::unix::fs::symlink("../../blobs/77aa", env.path("hf/snapshots/abc/model.bin")).unwrap();
    let run = env.mvc(&["commit"]).fails();
    assert!(run.stderr.contains("--follow-symlinks"), "{}", run.stderr);
    env.mvc(&["config", "set", "core.follow_symlinks", "true"]).ok();
    env.mvc(&["commit", "-q"]).ok();
    assert!(env.read("hf.mvc").contains("nfiles: 7"), "{}", env.read("hf.mvc"));
}

#[test]
fn follow_symlinks_names_dangling_links_and_loops() {
    let env = TestEnv::new();
    env.write("d/a", "a");
    std::os::unix::fs::symlink("missing", env.path("d/broken")).unwrap();
    let run = env.mvc(&["add", "--follow-symlinks", "d"]).fails();
    insta::assert_snapshot!(run.stderr, @"error: `$ROOT/d/broken` is a dangling symlink (its target does not exist)");
    std::fs::remove_file(env.path("d/broken")).unwrap();
    std::os::unix::fs::symlink("..", env.path("d/sub")).unwrap();
    std::fs::create_dir_all(env.path("d/x")).unwrap();
    std::os::unix::fs::symlink("..", env.path("d/x/up")).unwrap();
    std::fs::remove_file(env.path("d/sub")).unwrap();
    let run = env.mvc(&["add", "--follow-symlinks", "d"]).fails();
    insta::assert_snapshot!(run.stderr, @"error: `$ROOT/d/x/up` is a symlink loop (it leads back to `$ROOT/d`)");
    // A link to the user's own files outside the repository is their choice with the flag.
    std::fs::remove_file(env.path("d/x/up")).unwrap();
    let outside = env.path("../outside.bin");
    std::fs::write(&outside, "mine").unwrap();
    std::os::unix::fs::symlink(&outside, env.path("d/x/outside.bin")).unwrap();
    env.mvc(&["add", "-q", "d"]).fails();
    env.mvc(&["add", "-q", "--follow-symlinks", "d"]).ok();
    assert!(env.read("d.mvc").contains("nfiles: 2"));
}

#[test]
fn diff_without_a_revision_compares_head_with_the_workspace_data() {
    let env = TestEnv::new();
    env.write("model.bin", "v1");
    env.write("data/a", "a");
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    env.git(&["commit", "-qm", "v1"]);
    env.write("model.bin", "v2 retrained");
    env.write("data/b", "b");
    env.write("extra.bin", "new");
    env.mvc(&["add", "-q", "extra.bin"]).ok();
    let run = env.mvc(&["diff"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    modified:  data  (1 file, 1 B -> 2 files, 2 B)  80a9988b6fd3 -> ba4188cbfeec
    added:     extra.bin  (3 B)  b20ab0a020a4
    modified:  model.bin  (2 B -> 12 B)  2a84887509a9 -> db00b085640e
    ");
    let run = env.mvc(&["diff", "--granular", "data"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    modified:  data  (1 file, 1 B -> 2 files, 2 B)  80a9988b6fd3 -> ba4188cbfeec
        added: data/b
    ");
    // Nothing was stored: the workspace's version is what `commit` would record.
    env.mvc(&["commit", "-q"]).ok();
    assert_eq!(env.pointer_oid("data")[..12], *"ba4188cbfeec");
    env.git(&["commit", "-qam", "v2"]);
    let run = env.mvc(&["diff"]).ok();
    insta::assert_snapshot!(run.stderr, @"no artifact changed between HEAD and workspace");
}

#[test]
fn metrics_diff_without_a_revision_reads_the_workspace_files() {
    let env = TestEnv::new();
    env.write("model.bin", "v1");
    env.write("metrics.json", "{\"auc\": 0.8}");
    env.write("params.yaml", "lr: 0.1\n");
    env.mvc(&["add", "-q", "model.bin", "--metrics", "metrics.json", "--params", "params.yaml"]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    // Retrained: new files, nothing recorded yet.
    env.write("metrics.json", "{\"auc\": 0.9, \"loss\": 0.2}");
    env.write("params.yaml", "lr: 0.01\n");
    let run = env.mvc(&["metrics", "diff"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    path       metric  old  new   change  change %
    model.bin  auc     0.8  0.9  +0.1000    +12.5%
    model.bin  loss         0.2
    ");
    let run = env.mvc(&["params", "diff"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    path       param  old   new
    model.bin  lr     0.1  0.01
    ");
    assert!(env.read("model.bin.mvc").contains("auc: 0.8"), "nothing was written");
}

#[test]
fn counts_read_right_in_the_singular() {
    let env = TestEnv::new();
    env.write("data/only", "x");
    let run = env.mvc(&["add", "data"]).ok();
    assert!(run.stderr.contains("(1 B, 1 file)"), "{}", run.stderr);
    let run = env.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stderr, @"1 artifact, all up to date");
    std::fs::remove_file(env.path("data/only")).unwrap();
    let run = env.mvc(&["checkout"]).ok();
    insta::assert_snapshot!(run.stderr, @"checked out `data` (1 file)");
    let run = env.mvc(&["checkout"]).ok();
    insta::assert_snapshot!(run.stderr, @"1 artifact already up to date");
    // A file artifact with the same content names the object to take out of the cache.
    env.write("same", "x");
    env.mvc(&["add", "-q", "same"]).ok();
    let object = env.object(&env.pointer_oid("same"));
    std::fs::remove_file(&object).unwrap();
    std::fs::remove_file(env.path("data/only")).unwrap();
    let run = env.mvc(&["checkout", "data"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: 1 of 1 file of `data` is not in the cache
    hint: fetch it with `mvc pull`
    ");
}

#[test]
fn a_partly_pulled_directory_is_partial_not_up_to_date() {
    let env = TestEnv::new();
    env.write("data/a", "a");
    env.write("data/sub/b", "b");
    env.mvc(&["add", "-q", "data"]).ok();
    let remote = env.path("../store");
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", remote.to_str().unwrap()]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env.mvc(&["push", "-q"]).ok();
    let clone = env.clone_repo();
    clone.mvc(&["pull", "-q", "data/sub"]).ok();
    let run = clone.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stdout, @"partial:     data  (1 file not pulled)");
    assert!(!run.stderr.contains("up to date"), "{}", run.stderr);
    let json = clone.mvc(&["status", "--json"]).ok().json();
    assert_eq!(json["artifacts"][0]["partial"], true);
    clone.mvc(&["pull", "-q"]).ok();
    let run = clone.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stderr, @"1 artifact, all up to date");
}

#[test]
fn unprotect_of_a_missing_artifact_is_an_error() {
    let env = TestEnv::new();
    env.mvc(&["config", "set", "core.link", "[hardlink]"]).ok();
    env.write("model.bin", "w");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    std::fs::remove_file(env.path("model.bin")).unwrap();
    let run = env.mvc(&["unprotect", "model.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `model.bin` is not in the workspace; there is nothing to unprotect
    hint: restore it first with `mvc checkout model.bin`
    ");
    env.mvc(&["checkout", "-q"]).ok();
    let run = env.mvc(&["unprotect", "model.bin"]).ok();
    insta::assert_snapshot!(run.stderr, @"made `model.bin` writable (1 file)");
}

#[test]
fn remove_leaves_no_empty_gitignore() {
    let env = TestEnv::new();
    env.write("models/model.bin", "w");
    env.write("models/other.bin", "o");
    env.mvc(&["add", "-q", "models/model.bin", "models/other.bin"]).ok();
    env.git(&["commit", "-qm", "add"]);
    env.mvc(&["remove", "-q", "models/model.bin"]).ok();
    assert_eq!(env.read("models/.gitignore"), "/other.bin\n");
    env.mvc(&["remove", "-q", "models/other.bin"]).ok();
    assert!(!env.path("models/.gitignore").exists(), "an emptied .gitignore is deleted");
    insta::assert_snapshot!(env.git(&["status", "--short"]), @r"
    D  models/.gitignore
    D  models/model.bin.mvc
    D  models/other.bin.mvc
    ?? models/
    ");
    // A .gitignore with the user's own lines stays.
    env.write("w.bin", "w");
    env.write(".gitignore", "*.log\n");
    env.mvc(&["add", "-q", "w.bin"]).ok();
    env.mvc(&["remove", "-q", "w.bin"]).ok();
    assert_eq!(env.read(".gitignore"), "*.log\n");
}

#[test]
fn no_progress_reaches_a_pipe() {
    let env = TestEnv::new();
    env.write("big.bin", vec![7u8; 64 << 20]);
    let run = env.mvc(&["add", "big.bin"]).ok();
    assert!(!run.stderr.contains('\r') && !run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    insta::assert_snapshot!(run.stderr, @r"
    added `big.bin` (64.0 MiB) d3230b4b1629
    Staged the pointers; commit them with `git commit`
    ");
    std::fs::remove_file(env.path("big.bin")).unwrap();
    let run = env.mvc(&["checkout"]).ok();
    assert_eq!(run.stderr, "checked out `big.bin` (1 file)\n");
}

#[test]
fn the_documented_mvcignore_example_works() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/formats.md")).unwrap();
    let block = doc.split("<!-- mvcignore-example -->\n```gitignore\n").nth(1).expect("the example block");
    let example = block.split("```").next().unwrap();
    let env = TestEnv::new();
    env.write(".mvcignore", example);
    env.write("data/train.csv", "t\n");
    for junk in ["data/.DS_Store", "data/__pycache__/x.pyc", "data/.ipynb_checkpoints/n.ipynb", "data/w.bin.partial"] {
        env.write(junk, "junk");
    }
    let run = env.mvc(&["add", "data"]).ok();
    assert!(run.stderr.contains("(2 B, 1 file)"), "{}", run.stderr);
    let run = env.mvc(&["check-ignore", "-v", "data/.DS_Store", "data/model.pyc", "data/train.csv"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    .mvcignore:2:.DS_Store	data/.DS_Store
    .mvcignore:8:*.py[cod]	data/model.pyc
    ");
}
