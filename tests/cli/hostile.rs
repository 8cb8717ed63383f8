//! A cloned repository is written by someone else: pointers, manifests, `.gitignore`,
//! `.mvc/` and config it carries can never make mvc delete, overwrite, read or upload
//! anything outside what the user asked for (issue #9 §0 and §1).

use std::os::unix::fs::symlink;

use crate::harness::TestEnv;

const OID: &str = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

/// A pointer as an attacker would commit it: `path` equals its own name minus `.mvc`, so the
/// old "path must be own name" check passes.
fn pointer(path: &str, kind: &str) -> String {
    let nfiles = if kind == "dir" { "nfiles: 1\n" } else { "" };
    format!("version: 1\nkind: {kind}\npath: {path}\noid: {OID}\nsize: 0\n{nfiles}")
}

/// Everything under `dir`, as sorted relative paths, to prove nothing changed.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn pointers_naming_the_root_git_mvc_or_the_parent_are_refused_everywhere() {
    let env = TestEnv::new();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin", "-m", "v1"]).ok();
    let outside = env.path("../outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("id_rsa"), "private key").unwrap();
    for (name, path, kind) in
        [("..mvc", ".", "dir"), ("...mvc", "..", "dir"), (".git.mvc", ".git", "dir"), (".mvc.mvc", ".mvc", "file")]
    {
        env.write(name, pointer(path, kind));
    }
    env.git(&["add", "-f", "..mvc", "...mvc", ".git.mvc", ".mvc.mvc"]);
    env.git(&["commit", "-qm", "hostile"]);
    let before_git = listing(&env.path(".git/refs"));
    let remote = env.path("../remote");
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", remote.to_str().unwrap()]).ok();

    let status = env.mvc(&["status"]);
    assert_eq!(status.code, 1, "{status:?}");
    insta::assert_snapshot!(status.stderr, @r"
    1 artifact, all up to date
    error: skipping pointer `...mvc`: `..` is not allowed: it has a `.` or `..` segment
    error: skipping pointer `..mvc`: `.` is not allowed: it has a `.` or `..` segment
    error: skipping pointer `.git.mvc`: `.git` is not allowed: git's own directory `.git` (in any spelling) is never tracked
    error: skipping pointer `.mvc.mvc`: `.mvc` is not allowed: `.mvc` holds mvc's configuration, not data
    ");
    for args in [&["checkout", "--force"][..], &["commit"], &["push"], &["pull", "--force"], &["gc", "--workspace"]] {
        let run = env.mvc(args);
        assert_eq!(run.code, 1, "mvc {args:?} must report the hostile pointers: {run:?}");
        assert!(run.stderr.contains("skipping pointer `..mvc`"), "{args:?}: {}", run.stderr);
    }
    // Nothing outside the repository was read, uploaded or deleted; `.git` and the data stay.
    assert_eq!(std::fs::read_to_string(outside.join("id_rsa")).unwrap(), "private key");
    assert_eq!(listing(&env.path(".git/refs")), before_git);
    assert_eq!(env.read("model.bin"), "weights");
    let uploaded = listing(&remote);
    assert!(uploaded.iter().filter(|p| p.starts_with("blake3/") && p.len() > 10).count() == 1, "{uploaded:?}");
}

#[test]
fn metrics_sources_and_gitignore_never_read_outside_the_work_tree() {
    let env = TestEnv::new();
    let secret = env.path("../docker-config.json");
    std::fs::write(&secret, r#"{"auth": "c2VjcmV0"}"#).unwrap();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    for source in [secret.to_str().unwrap(), "../docker-config.json", "link.json"] {
        let text =
            pointer("model.bin", "file").replace(OID, &env.pointer_oid("model.bin")).replace("size: 0", "size: 7")
                + &format!("meta:\n  sources: {{metrics: {source}}}\n");
        env.write("model.bin.mvc", &text);
        let _ = std::fs::remove_file(env.path("link.json"));
        symlink(&secret, env.path("link.json")).unwrap();
        let run = env.mvc(&["commit"]).fails();
        assert!(!env.read("model.bin.mvc").contains("c2VjcmV0"), "{source}: the secret was copied");
        assert!(run.stderr.contains("not allowed") || run.stderr.contains("symlink"), "{source}: {}", run.stderr);
    }

    // A committed `.gitignore` symlink is never read nor written through.
    std::fs::remove_file(env.path(".gitignore")).unwrap();
    symlink(&secret, env.path(".gitignore")).unwrap();
    env.write("other.bin", "o");
    let run = env.mvc(&["add", "other.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @"error: `.gitignore` is a symlink; mvc reads it only as a regular file");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), r#"{"auth": "c2VjcmV0"}"#);
    assert!(!env.git_run(&["show", ":.gitignore"]).stdout.contains("c2VjcmV0"));

    // A file name with a newline cannot inject `.gitignore` lines.
    env.write("x\n!secret", "x");
    let run = env.mvc(&["add", "x\n!secret"]).fails();
    assert!(run.stderr.contains("control character"), "{}", run.stderr);
}

#[test]
fn a_symlinked_mvc_dir_or_config_is_refused() {
    let env = TestEnv::new();
    let elsewhere = env.path("../elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::rename(env.path(".mvc"), elsewhere.join(".mvc")).unwrap();
    symlink(elsewhere.join(".mvc"), env.path(".mvc")).unwrap();
    for args in [&["status"][..], &["add", "x"], &["push"], &["config", "list"], &["gc", "--workspace"]] {
        let run = env.mvc(args).fails();
        assert!(run.stderr.contains("is a symlink; mvc refuses to follow it"), "{args:?}: {}", run.stderr);
    }
    std::fs::remove_file(env.path(".mvc")).unwrap();
    std::fs::rename(elsewhere.join(".mvc"), env.path(".mvc")).unwrap();

    // `.mvc/config` linked to a file of secrets: never read, never copied into the config.
    let secrets = env.path("../credentials");
    std::fs::write(&secrets, "aws_secret_access_key: hunter2\n").unwrap();
    std::fs::remove_file(env.path(".mvc/config")).unwrap();
    symlink(&secrets, env.path(".mvc/config")).unwrap();
    let run = env.mvc(&["remote", "add", "--layout", "loose", "origin", "/tmp/r"]).fails();
    assert!(run.stderr.contains("is a symlink; mvc reads config files only as regular files"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&secrets).unwrap(), "aws_secret_access_key: hunter2\n");
}

#[test]
fn files_committed_under_mvc_are_ignored_and_never_followed() {
    let env = TestEnv::new();
    let bashrc = env.path("../bashrc");
    std::fs::write(&bashrc, "export PATH=...\n").unwrap();
    std::fs::create_dir_all(env.path(".mvc/state")).unwrap();
    symlink(&bashrc, env.path(".mvc/state/clock")).unwrap();
    symlink(&bashrc, env.path(".mvc/lock")).unwrap();
    env.write(".mvc/config.local", "cache:\n  dir: /tmp/attacker-cache\nremotes:\n  origin:\n    trusted_endpoint: https://collector.example.com\n");
    env.git(&["add", "-f", ".mvc"]);
    env.git(&["commit", "-qm", "plant"]);
    let clone = env.clone_repo();
    clone.write("model.bin", "weights");
    let run = clone.mvc(&["add", "model.bin"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    added `model.bin` (7 B) 3edc5c4a5df8
    Staged the pointers; commit them with `git commit`
    warning: ignoring `.mvc/config.local`, `.mvc/lock`, `.mvc/state` in the work tree's `.mvc/` (only `config` and `.gitignore` belong there; this clone's own files live in `.git/mvc/`)
    ");
    clone.mvc(&["status"]).ok();
    assert_eq!(std::fs::read_to_string(&bashrc).unwrap(), "export PATH=...\n", "nothing written through links");
    assert!(clone.object(&clone.pointer_oid("model.bin")).exists(), "the cache is this clone's own");
    let config = clone.mvc(&["config", "get", "cache.dir"]);
    assert!(!config.stdout.contains("attacker"), "{config:?}");
}

#[test]
fn a_manifest_entry_under_git_is_refused() {
    let env = TestEnv::new();
    env.write("data/a", "a");
    env.mvc(&["add", "-q", "data"]).ok();
    // A manifest as a hostile remote or commit could carry it: `.git/config` inside `data`.
    let manifest = format!(
        r#"{{"version":1,"entries":[{{"path":".git/config","oid":"{}","size":1,"exec":false}}]}}"#,
        blake3::hash(b"a").to_hex()
    );
    let oid = blake3::hash(manifest.as_bytes()).to_hex().to_string();
    let object = env.object(&oid);
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    std::fs::write(&object, &manifest).unwrap();
    env.write("data.mvc", pointer("data", "dir").replace(OID, &oid));
    std::fs::remove_dir_all(env.path("data")).unwrap();
    let run = env.mvc(&["checkout", "--force"]).fails();
    assert!(run.stderr.contains("git's own directory `.git`"), "{}", run.stderr);
    assert!(!env.path("data/.git").exists());
}

#[test]
fn force_never_deletes_a_directory_mvc_did_not_write() {
    let env = TestEnv::new();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    std::fs::remove_file(env.path("model.bin")).unwrap();
    env.write("model.bin/precious.txt", "mine");
    let run = env.mvc(&["checkout", "--force"]).fails();
    assert!(run.stderr.contains("mvc never deletes a directory it did not write"), "{}", run.stderr);
    assert_eq!(env.read("model.bin/precious.txt"), "mine");
}

#[test]
fn the_cache_survives_git_clean_and_is_shared_by_worktrees() {
    let env = TestEnv::new();
    env.git(&["commit", "-qm", "init"]);
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin", "-m", "v1"]).ok();
    env.git(&["clean", "-qfdx"]);
    assert!(!env.path("model.bin").exists());
    env.mvc(&["checkout", "-q"]).ok();
    assert_eq!(env.read("model.bin"), "weights");
    let tree = env.path("../second");
    env.git(&["worktree", "add", "-q", tree.to_str().unwrap()]);
    env.mvc_in(&tree, &["checkout", "-q"]).ok();
    assert_eq!(std::fs::read_to_string(tree.join("model.bin")).unwrap(), "weights");
}

#[test]
fn an_old_clone_moves_its_files_into_the_git_directory_once() {
    let env = TestEnv::new();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    // Lay the clone out as an older mvc did.
    std::fs::rename(env.private("cache"), env.path(".mvc/cache")).unwrap();
    std::fs::rename(env.private("state"), env.path(".mvc/state")).unwrap();
    std::fs::write(env.path(".mvc/config.local"), "core:\n  jobs: 3\n").unwrap();
    let run = env.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stderr.replace(env.root.to_str().unwrap(), "$ROOT"), @r"
    1 artifact, all up to date
    warning: moved `.mvc/cache`, `.mvc/state`, `.mvc/config.local` into `$ROOT/.git/mvc` (mvc now keeps this clone's own files in the git directory)
    ");
    assert!(env.object(&env.pointer_oid("model.bin")).exists());
    assert_eq!(env.mvc(&["config", "get", "core.jobs"]).ok().stdout.trim(), "3");
    assert_eq!(env.mvc(&["status"]).ok().stderr, "1 artifact, all up to date\n", "only once");
}

#[test]
fn very_long_names_round_trip() {
    let env = TestEnv::new();
    let name = "n".repeat(250);
    env.write(&name, "long");
    env.mvc(&["add", "-q", &name]).ok();
    std::fs::remove_file(env.path(&name)).unwrap();
    env.mvc(&["checkout", "-q"]).ok();
    assert_eq!(env.read(&name), "long");
}

#[test]
fn a_killed_checkout_leaves_nothing_git_or_the_next_run_would_see() {
    let env = TestEnv::new();
    for i in 0..400 {
        env.write(&format!("data/f{i:03}"), vec![i as u8; 64 << 10]);
    }
    env.mvc(&["add", "-q", "data", "-m", "data"]).ok();
    for delay_ms in [5, 30, 80] {
        std::fs::remove_dir_all(env.path("data")).unwrap();
        let mut child = env.spawn_mvc(&["checkout"]);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        unsafe_kill9(&mut child);
        let seen = env.git(&["status", "--porcelain", "--untracked-files=all", "--ignored=no"]);
        assert!(!seen.contains(".mvc-tmp-"), "git never sees temp files: {seen}");
        let status = env.mvc(&["status"]);
        assert!(!status.stdout.contains(".mvc-tmp-"), "nor does mvc status: {}", status.stdout);
        // A half-written directory is never recorded as a version.
        let interrupted = std::fs::read_to_string(env.private("state/interrupted.json")).unwrap_or_default();
        if interrupted.contains("\"data\"") {
            let run = env.mvc(&["commit", "data"]).fails();
            assert!(run.stderr.contains("was interrupted"), "{}", run.stderr);
        }
        env.mvc(&["checkout", "-q"]).ok();
        let temps = listing(&env.path("data")).into_iter().filter(|p| p.contains(".mvc-tmp-")).count();
        assert_eq!(temps, 0, "the next run removed the temp files (kill at {delay_ms} ms)");
        env.mvc(&["status", "--check"]).ok();
    }
}

/// SIGKILL, as a crash or the OOM killer would.
fn unsafe_kill9(child: &mut std::process::Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn config_set_never_commits_secrets_hidden_in_maps_or_urls_and_list_redacts_queries() {
    let env = TestEnv::new();
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", "s3://bucket/x"]).ok();
    for (key, value) in [
        ("remotes.origin", "{url: \"s3://bucket/x\", secret_access_key: LEAKED}"),
        ("remotes.o3.url", "https://u:pw@h/x?sig=SIG2"),
        ("remotes.o3.endpoint", "https://minio/?token=T"),
        ("remotes.o4.connection_string", "AccountKey=K"),
    ] {
        let run = env.mvc(&["config", "set", key, value]).fails();
        assert!(run.stderr.contains("committed config"), "{key}: {}", run.stderr);
    }
    let committed = env.read(".mvc/config");
    for secret in ["LEAKED", "pw@", "SIG2", "token=T", "AccountKey"] {
        assert!(!committed.contains(secret), "{secret} reached .mvc/config:\n{committed}");
    }
    env.mvc(&[
        "remote",
        "add",
        "--layout",
        "loose",
        "-q",
        "--local",
        "o9",
        "https://user:pw@127.0.0.1:1/x?sig=SECRETSIG",
    ])
    .ok();
    for args in [&["config", "list"][..], &["config", "get", "remotes.o9.url"], &["config", "list", "--json"]] {
        let out = env.mvc(args).ok().stdout;
        assert!(!out.contains("SECRETSIG") && !out.contains(":pw@"), "{args:?}: {out}");
    }
}

#[test]
fn a_refusal_over_a_symlinked_gitignore_comes_before_any_change() {
    let env = TestEnv::new();
    env.write("a.bin", "d");
    env.mvc(&["add", "-q", "a.bin", "-m", "a"]).ok();
    let bashrc = env.path("../bashrc");
    std::fs::write(&bashrc, "keep\n").unwrap();
    std::fs::remove_file(env.path(".gitignore")).unwrap();
    symlink(&bashrc, env.path(".gitignore")).unwrap();
    let before = env.git(&["status", "--porcelain"]);
    env.mvc(&["move", "a.bin", "b.bin"]).fails();
    env.write("c.bin", "x");
    env.mvc(&["add", "c.bin"]).fails();
    env.mvc(&["remove", "a.bin"]).fails();
    assert!(env.path("a.bin.mvc").exists() && !env.path("b.bin.mvc").exists() && !env.path("c.bin.mvc").exists());
    assert_eq!(env.git(&["status", "--porcelain"]).replace("?? c.bin\n", ""), before);
    assert_eq!(std::fs::read_to_string(&bashrc).unwrap(), "keep\n");
}

#[test]
fn a_recorded_source_that_git_ignores_is_not_re_read() {
    let env = TestEnv::new();
    env.write(".gitignore", "secrets.yaml\n");
    env.write("secrets.yaml", "password: hunter2\n");
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    let text = env.read("model.bin.mvc") + "meta:\n  sources: {metrics: secrets.yaml}\n";
    env.write("model.bin.mvc", &text);
    env.write("model.bin", "retrained");
    let run = env.mvc(&["commit"]).ok();
    assert!(run.stderr.contains("git ignores it"), "{}", run.stderr);
    assert!(!env.read("model.bin.mvc").contains("hunter2"));
}

#[test]
fn a_local_remote_that_is_not_an_mvc_remote_is_never_written_or_collected() {
    let env = TestEnv::new();
    let home = env.path("../victim-home");
    std::fs::create_dir_all(home.join("blake3/ab")).unwrap();
    std::fs::write(home.join(".bashrc"), "keep\n").unwrap();
    let object_like = format!("blake3/ab/{}", "c".repeat(62));
    std::fs::write(home.join(&object_like), "not an object").unwrap();
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", home.to_str().unwrap()]).ok();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    let run = env.mvc(&["push"]).fails();
    assert!(run.stderr.contains("it is not an mvc remote"), "{}", run.stderr);
    let run = env.mvc(&["gc", "--workspace", "-c", "--grace-days", "0"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(home.join(&object_like).exists() && !home.join("mvc-remote.yaml").exists());
}
