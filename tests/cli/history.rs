//! `mvc diff`, `log`, `ls` and `checkout --rev` on a real history of three commits.

use crate::harness::TestEnv;

/// Three commits: v1 (model + data), v2 (model changed, a data file added), v3 (a data file
/// edited and one deleted). Tagged v1, v2, v3; pushed to a local-directory remote.
fn three_versions() -> TestEnv {
    let env = TestEnv::new();
    let remote = env.path("../store");
    env.mvc(&["remote", "add", "--layout", "loose", "origin", remote.to_str().unwrap()]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "mvc init"]);
    env.write("model.bin", "weights v1");
    env.write("data/a.csv", "a\n");
    env.write("data/b.csv", "b\n");
    env.mvc(&["add", "-q", "model.bin", "data", "-m", "v1"]).ok();
    env.git(&["tag", "v1"]);
    env.write("model.bin", "weights v2!");
    env.write("data/c.csv", "c\n");
    env.mvc(&["commit", "-q", "-m", "v2"]).ok();
    env.git(&["tag", "v2"]);
    env.write("data/a.csv", "a2\n");
    std::fs::remove_file(env.path("data/b.csv")).unwrap();
    env.mvc(&["commit", "-q", "-m", "v3"]).ok();
    env.git(&["tag", "v3"]);
    env.mvc(&["push", "-q", "--all-tags"]).ok();
    env
}

#[test]
fn diff_between_revisions_and_the_workspace() {
    let env = three_versions();
    let run = env.mvc(&["diff", "v1", "v3"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    modified:  data  (2 files, 4 B -> 2 files, 5 B)  31fa8132bcf3 -> 656196ea7088
    modified:  model.bin  (10 B -> 11 B)  6acf968046c9 -> 54615a141ecc
    ");
    let run = env.mvc(&["diff", "v2", "v3", "--granular"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    modified:  data  (3 files, 6 B -> 2 files, 5 B)  e5d25df8fa1d -> 656196ea7088
        modified: data/a.csv
        deleted: data/b.csv
    ");
    let run = env.mvc(&["diff", "v1", "v2", "model.bin"]).ok();
    insta::assert_snapshot!(run.stdout, @"modified:  model.bin  (10 B -> 11 B)  6acf968046c9 -> 54615a141ecc");
    let run = env.mvc(&["diff"]).ok();
    insta::assert_snapshot!(run.stderr, @"no artifact changed between HEAD and workspace");
    // A clone with an empty cache reads the manifests from the remote.
    let clone = env.clone_repo();
    let run = clone.mvc(&["diff", "v2", "v3", "--granular"]).ok();
    assert!(run.stdout.contains("    deleted: data/b.csv"), "{}", run.stdout);
    let json = env.mvc(&["diff", "v1", "v2", "--json"]).ok().json();
    assert_eq!(json["changes"][1]["path"], "model.bin");
    assert_eq!(json["changes"][1]["old"]["size"], 10);
    assert_eq!(json["changes"][1]["new"]["size"], 11);
}

#[test]
fn log_lists_the_commits_that_changed_an_artifact() {
    let env = three_versions();
    env.write("README.md", "unrelated\n");
    env.git(&["add", "README.md"]);
    env.git(&["commit", "-qm", "docs only"]);
    let run = env.mvc(&["log", "model.bin"]).ok();
    // Commit ids depend on the temp paths in the committed config: show them as <commit>.
    let shown: Vec<String> = run
        .stdout
        .lines()
        .map(|l| if l.starts_with(' ') { l.to_string() } else { format!("<commit>{}", &l[12..]) })
        .collect();
    insta::assert_snapshot!(shown.join("\n"), @r"
    <commit>  2026-01-01 00:00  Test User  (v2)
        v2
        54615a141ecc  11 B
    <commit>  2026-01-01 00:00  Test User  (v1)
        v1
        6acf968046c9  10 B
    ");
    let json = env.mvc(&["log", "data", "--json"]).ok().json();
    assert_eq!(json.as_array().unwrap().len(), 3, "{json}");
    let run = env.mvc(&["log", "nothing.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: no commit on this branch changed `nothing.bin`
    hint: commit its pointer first, or check the path with `mvc ls`
    ");
}

#[test]
fn ls_shows_artifacts_at_a_revision() {
    let env = three_versions();
    let run = env.mvc(&["ls", "--rev", "v1"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    dir   31fa8132bcf3          4 B in 2 files  data  (cached)
    file  6acf968046c9                    10 B  model.bin  (cached)
    ");
    let run = env.mvc(&["ls", "-c"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    dir   656196ea7088          5 B in 2 files  data  (cached, on remote)
    file  54615a141ecc                    11 B  model.bin  (cached, on remote)
    ");
}

#[test]
fn checkout_rev_restores_v1_and_refuses_to_lose_work() {
    let env = three_versions();
    let run = env.mvc(&["checkout", "--rev", "v1"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    checked out `data` (2 files, 1 deleted)
    checked out `model.bin` (1 file)
    ");
    assert_eq!(env.read("model.bin"), "weights v1");
    assert_eq!(env.read("data/b.csv"), "b\n");
    assert!(!env.path("data/c.csv").exists());
    // The rollback is visible to git as a change of pointers.
    insta::assert_snapshot!(env.git(&["status", "--short"]), @r"
    M data.mvc
    M model.bin.mvc
    ");

    // A pointer edited since HEAD is not overwritten.
    let run = env.mvc(&["checkout", "--rev", "v3", "model.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `model.bin.mvc` has edits that are not committed
    hint: commit them first, or use `--force` to replace the pointer
    ");
    env.git(&["commit", "-qam", "roll back to v1"]);

    // Unrecorded edits are not thrown away.
    env.write("model.bin", "precious unsaved work");
    let run = env.mvc(&["checkout", "--rev", "v3", "model.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `model.bin` has changes that are not recorded in its pointer
    hint: record them with `mvc commit model.bin`, or use `--force` to discard them
    ");
    assert_eq!(env.read("model.bin"), "precious unsaved work");
    env.mvc(&["checkout", "--rev", "v3", "model.bin", "--force"]).ok();
    assert_eq!(env.read("model.bin"), "weights v2!");

    // In a fresh clone nothing is cached: `--pull` fetches v1 first.
    let clone = env.clone_repo();
    let run = clone.mvc(&["checkout", "--rev", "v1", "model.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `model.bin` at this revision (6acf968046c9) is not in the cache
    hint: add `--pull` to fetch it from the remote
    ");
    clone.mvc(&["checkout", "--rev", "v1", "--pull", "model.bin"]).ok();
    assert_eq!(clone.read("model.bin"), "weights v1");
}

#[test]
fn gc_keep_last_removes_exactly_the_older_versions_and_pull_brings_them_back() {
    let env = three_versions();
    let run = env.mvc(&["gc"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: gc needs a scope: what to keep
    hint: use --workspace, --all-branches, --all-tags, --all-commits, --all-experiments or --keep-last N (combinable)
    ");

    let run = env.mvc(&["gc", "--keep-last", "1", "--dry-run"]).ok();
    // Older versions: model v1, the two older data manifests, and a.csv/b.csv as they were.
    let mut listed: Vec<&str> = run.stdout.lines().map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    listed.sort();
    let mut expected = vec![
        blake3::hash(b"weights v1").to_hex().to_string(),
        blake3::hash(b"a\n").to_hex().to_string(),
        blake3::hash(b"b\n").to_hex().to_string(),
        env.mvc(&["ls", "--rev", "v1", "--json"]).ok().json()[0]["oid"].as_str().unwrap().to_string(),
        env.mvc(&["ls", "--rev", "v2", "--json"]).ok().json()[0]["oid"].as_str().unwrap().to_string(),
    ];
    expected.sort();
    assert_eq!(listed, expected);
    insta::assert_snapshot!(run.stderr, @"would delete 5 objects (624 B) from the cache");

    let run = env.mvc(&["gc", "--keep-last", "1"]).ok();
    insta::assert_snapshot!(run.stderr, @"deleted 5 objects (624 B) from the cache");
    assert_eq!(env.mvc(&["status", "--check"]).code, 0, "the workspace's versions are intact");
    env.mvc(&["checkout", "--rev", "v1", "--pull"]).ok();
    assert_eq!(env.read("model.bin"), "weights v1");
    assert_eq!(env.read("data/b.csv"), "b\n");
}

#[test]
fn gc_keeps_what_no_remote_has() {
    let env = TestEnv::new();
    env.write("model.bin", "v1");
    env.mvc(&["add", "-q", "model.bin", "-m", "v1"]).ok();
    env.write("model.bin", "v2");
    env.mvc(&["commit", "-q", "-m", "v2"]).ok();
    let run = env.mvc(&["gc", "--workspace"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    deleted 0 objects (0 B) from the cache
    warning: kept 1 unreferenced object (2 B) that no remote confirms having; push them, or use `--force` to delete them anyway
    ");
    let run = env.mvc(&["gc", "--workspace", "--force"]).ok();
    insta::assert_snapshot!(run.stderr, @"deleted 1 object (2 B) from the cache");
}

#[test]
fn fsck_finds_a_corrupt_object_and_repair_heals_it() {
    let env = three_versions();
    let oid = blake3::hash(b"weights v2!").to_hex().to_string();
    let object = env.object(&oid);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&object, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&object, "bit rot").unwrap();

    let run = env.mvc(&["fsck"]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!(run.stdout, @"corrupt: 54615a141eccb2ac8a13f65104d978b9aa8d22d44aa00e66562def18ca1bd94a in cache  (needed by `model.bin`)");
    let run = env.mvc(&["fsck", "--repair"]).ok();
    insta::assert_snapshot!(run.stderr, @"checked 9 cache objects; 1 problem, 1 repaired");
    assert_eq!(std::fs::read(&object).unwrap(), b"weights v2!");
    assert!(env.private(&format!("quarantine/{oid}")).exists());
    let run = env.mvc(&["fsck", "--cloud"]).ok();
    insta::assert_snapshot!(run.stderr, @"checked 9 cache objects and 4 on the remote; 0 problems");
}

#[test]
fn shallow_clones_and_typos_get_clear_errors_not_wrong_answers() {
    let env = three_versions();
    let run = env.mvc(&["diff", "v1", "nonsense"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `nonsense` is neither a revision nor a tracked path
    hint: list revisions with `git log --oneline`, artifacts with `mvc ls`
    ");
    let shallow = env.path("../shallow");
    let url = format!("file://{}", env.root.display());
    env.git(&["clone", "-q", "--depth", "1", &url, shallow.to_str().unwrap()]);
    let run = env.mvc_in(&shallow, &["diff", "HEAD~1", "HEAD"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `HEAD~1` is neither a revision nor a tracked path
    hint: this clone is shallow, so older commits are not here: `git fetch --unshallow` fetches them
    ");
    let run = env.mvc_in(&shallow, &["log", "model.bin"]).ok();
    assert!(run.stderr.contains("this clone is shallow"), "{}", run.stderr);
}
