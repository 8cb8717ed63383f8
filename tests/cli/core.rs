//! Every core command and its refusals: init, add, status, checkout, commit, remove, move,
//! unprotect, config, completions. Exact output.

use crate::harness::TestEnv;

#[test]
fn init_outside_git_is_refused_and_init_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let env = TestEnv::bare_git();
    let run = env.mvc_in(dir.path(), &["init"]).fails();
    assert!(run.stderr.contains("is not inside a git work tree"), "{}", run.stderr);
    assert!(run.stderr.contains("run `git init` first"), "{}", run.stderr);

    let run = env.mvc(&["init"]).ok();
    insta::assert_snapshot!(run.stderr, @"Initialized mvc in `$ROOT`; commit `.mvc/config` and `.mvc/.gitignore`");
    insta::assert_snapshot!(env.git(&["status", "--short"]), @r"
    A  .mvc/.gitignore
    A  .mvc/config
    ");
    let config = env.read(".mvc/config");
    env.mvc(&["init", "-q"]).ok();
    assert_eq!(env.read(".mvc/config"), config, "a second init changes nothing");

    // --force repairs a damaged .mvc without touching the cache.
    env.write("model.bin", "w");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    std::fs::write(env.path(".mvc/config"), "{{{ not yaml").unwrap();
    let run = env.mvc(&["status"]).fails();
    assert!(run.stderr.contains(".mvc/config"), "{}", run.stderr);
    env.mvc(&["init", "-q", "--force"]).ok();
    assert!(env.object(&env.pointer_oid("model.bin")).exists());
    env.mvc(&["status", "--check"]).ok();
}

#[test]
fn add_handles_files_dirs_subdirectories_and_escaped_names() {
    let env = TestEnv::new();
    env.write("models/weights*#1.bin", "w");
    env.write("models/data/a.csv", "a");
    env.write("models/data/sub/b.csv", "b");
    let run = env.mvc_in(&env.path("models"), &["add", "weights*#1.bin", "data"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    added `models/weights*#1.bin` (1 B) f2f21520bebe
    added `models/data` (2 B, 2 files) 489735e43695
    Staged the pointers; commit them with `git commit`
    ");
    insta::assert_snapshot!(env.read("models/.gitignore"), @r"
    /weights\*#1.bin
    /data
    ");
    assert_eq!(env.git(&["check-ignore", "models/weights*#1.bin"]).trim(), "models/weights*#1.bin");
    // The escaped line matches only that name.
    env.write("models/weights-other.bin", "x");
    assert_eq!(env.git(&["status", "--short", "--", "models/weights-other.bin"]), "?? models/weights-other.bin\n");

    let pointer = env.read("models/data.mvc");
    let run = env.mvc(&["add", "models/data"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    unchanged `models/data` (2 B, 2 files) 489735e43695
    Staged the pointers; commit them with `git commit`
    ");
    assert_eq!(env.read("models/data.mvc"), pointer, "re-adding unchanged content rewrites nothing");
}

#[test]
fn add_refuses_what_it_must_not_track() {
    let env = TestEnv::new();
    env.write("tracked.txt", "t");
    env.git(&["add", "tracked.txt"]);
    let outside = env.path("../outside.bin");
    std::fs::write(&outside, "o").unwrap();
    env.write("data/a", "a");
    std::os::unix::fs::symlink("/etc/hostname", env.path("data/link")).unwrap();

    let cases: [&[&str]; 5] = [
        &["add", "../outside.bin"],
        &["add", ".git/config"],
        &["add", ".mvc/config"],
        &["add", "tracked.txt"],
        &["add", "data"],
    ];
    let mut out = String::new();
    for args in cases {
        out.push_str(&format!("$ mvc {}\n{}", args.join(" "), env.mvc(args).fails().stderr));
    }
    insta::assert_snapshot!(out, @r"
    $ mvc add ../outside.bin
    error: `../outside.bin` is outside the repository `$ROOT`
    $ mvc add .git/config
    error: `.git/config` is not allowed: git's own directory `.git` (in any spelling) is never tracked
    $ mvc add .mvc/config
    error: `.mvc/config` is not allowed: `.mvc` holds mvc's configuration, not data
    $ mvc add tracked.txt
    error: `tracked.txt` is already tracked by git
    hint: stop tracking it in git first: `git rm -r --cached -- tracked.txt`
    $ mvc add data
    error: `$ROOT/data/link` is a symlink; mvc stores files, not symlinks, inside directories
    hint: store what it points to with `mvc add --follow-symlinks data` (or set `core.follow_symlinks: true`), or replace the link with a file
    ");
    assert_eq!(
        env.git(&["status", "--short", "--untracked-files=no"]),
        "A  .mvc/.gitignore\nA  .mvc/config\nA  tracked.txt\n"
    );
}

#[test]
fn add_with_message_commits_exactly_its_files() {
    let env = TestEnv::new();
    env.git(&["commit", "-qm", "init"]);
    env.write("notes.txt", "mine");
    env.git(&["add", "notes.txt"]);
    env.write("model.bin", "w");
    let run = env.mvc(&["add", "model.bin", "-m", "Track the model"]).ok();
    assert!(run.stderr.contains("Committed "), "{}", run.stderr);
    insta::assert_snapshot!(env.git(&["show", "--stat", "--format=%s", "HEAD"]), @r"
    Track the model

     .gitignore    | 1 +
     model.bin.mvc | 6 ++++++
     2 files changed, 7 insertions(+)
    ");
    assert_eq!(env.git(&["status", "--short"]), "A  notes.txt\n", "the user's staged file stays staged");
}

#[test]
fn status_reports_each_state_and_check_modes() {
    let env = TestEnv::new();
    for (name, content) in [("same.bin", "s"), ("changed.bin", "c"), ("gone.bin", "g")] {
        env.write(name, content);
    }
    env.write("dir/a", "a");
    env.write("dir/b", "b");
    env.mvc(&["add", "-q", "same.bin", "changed.bin", "gone.bin", "dir"]).ok();
    env.git(&["commit", "-qam", "v1"]);
    env.write("changed.bin", "c2");
    std::fs::remove_file(env.path("gone.bin")).unwrap();
    env.write("dir/a", "a2");
    env.write("dir/new", "n");
    std::fs::remove_file(env.path("dir/b")).unwrap();
    let run = env.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    modified:    changed.bin
    modified:    dir  (1 added, 1 modified, 1 deleted)
        added: dir/new
        modified: dir/a
        deleted: dir/b
    missing:     gone.bin  (restore with `mvc checkout`)
    ");
    assert_eq!(env.mvc(&["status", "--check"]).code, 1);
    assert_eq!(env.mvc(&["status", "--check=modified"]).code, 1);

    // A fresh clone that has not pulled is fine for --check=modified (the pre-commit hook).
    env.mvc(&["checkout", "-q", "--force"]).ok();
    let clone = env.clone_repo();
    assert_eq!(clone.mvc(&["status", "--check=modified"]).code, 0);
    assert_eq!(clone.mvc(&["status", "--check"]).code, 1);
}

#[test]
fn checkout_never_loses_unsaved_data_without_force() {
    let env = TestEnv::new();
    env.write("model.bin", "v1");
    env.write("data/a", "a");
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    env.write("model.bin", "unsaved edit");
    env.write("data/extra", "unsaved file");
    let run = env.mvc(&["checkout"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `model.bin` has changes that are not in the cache; checkout would lose them
    hint: save them with `mvc add model.bin` (or `mvc commit`), or discard them with `--force`
    1 artifact already up to date
    warning: left `data/extra` in place: it is not part of `data` and mvc did not write it
    ");
    assert_eq!(env.read("model.bin"), "unsaved edit");
    assert_eq!(env.read("data/extra"), "unsaved file");
    env.mvc(&["checkout", "--force", "-q"]).ok();
    assert_eq!(env.read("model.bin"), "v1");
    // A file mvc did not write is never deleted, even with `--force` (and even when its
    // content happens to be in the cache).
    assert_eq!(env.read("data/extra"), "unsaved file");
    env.write("data/extra", "a");
    env.mvc(&["checkout", "--force", "-q"]).ok();
    assert_eq!(env.read("data/extra"), "a");
}

#[test]
fn commit_records_changes_and_missing_artifacts_are_named() {
    let env = TestEnv::new();
    env.write("model.bin", "v1");
    env.write("other.bin", "o");
    env.mvc(&["add", "-q", "model.bin", "other.bin", "-m", "v1"]).ok();
    env.write("model.bin", "v2");
    std::fs::remove_file(env.path("other.bin")).unwrap();
    let run = env.mvc(&["commit", "-m", "v2"]).ok();
    let (summary, committed) = run.stderr.rsplit_once("Committed ").expect("a commit line");
    insta::assert_snapshot!(summary, @r"
    updated `model.bin` (2 B) a32d57bd2838
    warning: `other.bin` is missing from the workspace; its pointer is unchanged
    ");
    assert_eq!(committed.trim(), &env.git(&["rev-parse", "HEAD"]).trim()[..12]);
    assert_eq!(env.pointer_oid("model.bin"), blake3::hash(b"v2").to_hex().to_string());
    assert_eq!(env.git(&["log", "-1", "--format=%s"]).trim(), "v2");
}

#[test]
fn remove_move_and_unprotect() {
    let env = TestEnv::new();
    env.mvc(&["config", "set", "core.link", "[hardlink, copy]"]).ok();
    env.write("model.bin", "v1");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| std::fs::metadata(env.path(p)).unwrap().permissions().mode() & 0o222;
    assert_eq!(mode("model.bin"), 0, "a hard-linked workspace file is read-only");
    let run = env.mvc(&["unprotect", "model.bin"]).ok();
    insta::assert_snapshot!(run.stderr, @"made `model.bin` writable (1 file)");
    assert_ne!(mode("model.bin"), 0);
    env.write("model.bin", "edited in place");
    assert_eq!(std::fs::read(env.object(&env.pointer_oid("model.bin"))).unwrap(), b"v1", "the cache is untouched");

    env.mvc(&["commit", "-q"]).ok();
    let run = env.mvc(&["move", "model.bin", "models/final.bin"]).ok();
    insta::assert_snapshot!(run.stderr, @"moved `model.bin` to `models/final.bin`");
    assert!(env.read("models/final.bin.mvc").contains("path: final.bin"));
    assert!(env.read("models/.gitignore").contains("/final.bin"));
    assert!(!env.path(".gitignore").exists(), "the emptied `.gitignore` is deleted");

    let run = env.mvc(&["remove", "models/final.bin"]).ok();
    insta::assert_snapshot!(run.stderr, @"stopped tracking `models/final.bin` (the data stays in the workspace)");
    assert!(!env.path("models/final.bin.mvc").exists());
    assert_eq!(env.read("models/final.bin"), "edited in place", "the data stays");
    let run = env.mvc(&["remove", "models/final.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `models/final.bin` is not tracked by mvc (no `models/final.bin.mvc`)
    hint: track it with `mvc add models/final.bin`
    ");
}

#[test]
fn config_get_set_list_and_refusals() {
    let env = TestEnv::new();
    env.mvc(&["config", "set", "core.jobs", "8"]).ok();
    assert_eq!(env.mvc(&["config", "get", "core.jobs"]).ok().stdout, "8\n");
    let run = env.mvc(&["config", "set", "core.link", "[teleport]"]).fails();
    insta::assert_snapshot!(run.stderr, @r#"error: `core.link` was not changed: `core.link` has `"teleport"`; allowed: reflink, copy, hardlink, symlink"#);
    assert_eq!(env.mvc(&["config", "get", "core.jobs"]).ok().stdout, "8\n", "a refused set leaves the file as it was");
    let run = env.mvc(&["config", "list"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    core.jobs=8
    core.link=[reflink, copy]
    ");
    let run = env.mvc(&["completions", "bash"]).ok();
    assert!(run.stdout.contains("_clap_complete_mvc()") && run.stdout.contains("complete "), "{}", run.stdout);
}
