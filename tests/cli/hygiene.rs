//! Issue #9: secrets stay out of committed config and output, exit codes say whose fault an
//! error is, messages tell the truth (real causes, quoted commands, no credentials).

use crate::harness::TestEnv;

const SECRET: &str = "TOPSECRETvalue123";

fn with_remote(env: &TestEnv) {
    let store = env.path("../store");
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", store.to_str().unwrap()]).ok();
}

#[test]
fn config_set_refuses_secrets_outside_the_per_clone_config() {
    let env = TestEnv::new();
    with_remote(&env);
    let committed_before = env.read(".mvc/config");
    let mut out = String::new();
    for (layer, key) in [
        (None, "secret_access_key"),
        (None, "sas_token"),
        (Some("--global"), "password"),
        (Some("--local"), "access_key_id"),
    ] {
        let dotted = format!("remotes.origin.{key}");
        let mut args = vec!["config", "set"];
        args.extend(layer);
        args.extend([dotted.as_str(), SECRET]);
        let run = env.mvc(&args).fails();
        out.push_str(&format!("# {}\n{}", args.join(" ").replace(SECRET, "VALUE"), run.stderr));
    }
    insta::assert_snapshot!(out, @r"
    # config set remotes.origin.secret_access_key VALUE
    error: `secret_access_key` is a secret and cannot go into the committed config
    hint: use `mvc remote modify --local origin secret_access_key` and type the value on standard input
    # config set remotes.origin.sas_token VALUE
    error: `sas_token` is a secret and cannot go into the committed config
    hint: use `mvc remote modify --local origin sas_token` and type the value on standard input
    # config set --global remotes.origin.password VALUE
    error: `password` is a secret and cannot go into the global config
    hint: use `mvc remote modify --local origin password` and type the value on standard input
    # config set --local remotes.origin.access_key_id VALUE
    error: `access_key_id` is a secret; it is not taken from the command line (shell history, process lists)
    hint: run `mvc remote modify --local origin access_key_id` and type it on standard input
    ");
    assert_eq!(env.read(".mvc/config"), committed_before, "nothing was written");
    assert!(!env.git(&["diff", "--cached"]).contains(SECRET));
    // Remote modify refuses the same way, from the same rule.
    let run = env.mvc_with(&["remote", "modify", "origin", "session_token"], &[], Some(SECRET)).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `session_token` is a secret and cannot go into the committed config
    hint: use `mvc remote modify --local origin session_token` and type the value on standard input
    ");
    // A plain setting still goes into the committed config, and a leaked secret can be removed.
    env.mvc(&["config", "set", "remotes.origin.region", "eu-west-1"]).ok();
    std::fs::write(env.path(".mvc/config"), format!("{}    token: {SECRET}\n", env.read(".mvc/config"))).unwrap();
    env.mvc(&["config", "unset", "remotes.origin.token"]).ok();
    assert!(!env.read(".mvc/config").contains(SECRET));
}

#[test]
fn config_get_and_list_redact_secrets_in_text_and_json() {
    let env = TestEnv::new();
    with_remote(&env);
    env.mvc_with(&["remote", "modify", "--local", "origin", "secret_access_key"], &[], Some(SECRET)).ok();
    env.mvc_with(&["remote", "modify", "--local", "origin", "sas_token"], &[], Some(SECRET)).ok();
    env.mvc(&["config", "set", "remotes.origin.region", "eu-west-1"]).ok();

    let get = env.mvc(&["config", "get", "remotes.origin.secret_access_key"]).ok();
    assert_eq!(get.stdout, "<redacted>\n");
    let get = env.mvc(&["config", "get", "remotes.origin.sas_token", "--json"]).ok();
    assert_eq!(get.json(), serde_json::json!("<redacted>"));
    let whole = env.mvc(&["config", "get", "remotes.origin", "--json"]).ok().json();
    assert_eq!(whole["secret_access_key"], "<redacted>");
    assert_eq!(whole["region"], "eu-west-1");

    let list = env.mvc(&["config", "list"]).ok();
    let lines: Vec<&str> = list.stdout.lines().filter(|l| l.contains("secret") || l.contains("sas")).collect();
    assert_eq!(lines, ["remotes.origin.sas_token=<redacted>", "remotes.origin.secret_access_key=<redacted>"]);
    let json = env.mvc(&["config", "list", "--json"]).ok();
    assert_eq!(json.json()["remotes.origin.secret_access_key"], "<redacted>");
    for run in [&get, &list, &json] {
        assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET), "{run:?}");
    }
}

#[test]
fn exit_codes_tell_usage_known_and_internal_errors_apart() {
    let env = TestEnv::new();
    env.write("model.bin", "weights");
    assert_eq!(env.mvc(&["add", "--no-such-flag", "model.bin"]).code, 2, "usage error");
    assert_eq!(env.mvc(&["-C", "no/such/dir", "status"]).code, 2, "unusable -C");
    let known = env.mvc(&["checkout", "not-tracked.bin"]);
    assert_eq!(known.code, 1, "a known problem: {known:?}");
    assert!(known.stderr.contains("hint: "), "{}", known.stderr);

    // A damaged git index is nothing the user typed: git2 fails inside, and that is 255.
    env.git(&["add", "model.bin"]);
    let mut index = std::fs::read(env.path(".git/index")).unwrap();
    let at = index.len() - 30;
    index[at] ^= 0xff;
    std::fs::write(env.path(".git/index"), index).unwrap();
    let run = env.mvc(&["add", "model.bin"]);
    assert_eq!(run.code, 255, "{run:?}");
    insta::assert_snapshot!(run.stderr, @r"
    error: reading the git index: invalid data in index - calculated checksum does not match expected
    hint: this is an internal error (a failing disk, damaged git data, or a bug in mvc), not a fault of your input
    ");
}

#[test]
fn a_broken_dot_git_is_reported_as_itself_not_as_no_repository() {
    let env = TestEnv::bare_git();
    std::fs::remove_dir_all(env.path(".git")).unwrap();
    std::fs::write(env.path(".git"), "gitdir: /nonexistent/worktree/.git\n").unwrap();
    let run = env.mvc(&["status"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `$ROOT/.git` is not a usable git directory: failed to resolve path '/nonexistent/worktree/.git': No such file or directory
    hint: repair or remove it (a `.git` file must say `gitdir: PATH` of an existing git directory)
    ");
    // A repository git2 cannot read says why.
    let other = TestEnv::bare_git();
    std::fs::write(other.path(".git/config"), "[core\nbroken").unwrap();
    let run = other.mvc(&["status"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: cannot open the git repository around `$ROOT`: failed to parse config file: missing ']' in section header (in $ROOT/.git/config:1)
    hint: `git status` there shows what git makes of it
    ");
    // With no `.git` at all it is still "not a git repository".
    std::fs::remove_file(env.path(".git")).unwrap();
    let run = env.mvc(&["status"]).fails();
    assert!(run.stderr.contains("is not inside a git work tree"), "{}", run.stderr);
}

#[test]
fn a_repository_owned_by_another_user_names_safe_directory() {
    // Only root can give a directory away; elsewhere this case cannot be built.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let env = TestEnv::new();
    for entry in walkdir::WalkDir::new(&env.root) {
        std::os::unix::fs::lchown(entry.unwrap().path(), Some(65534), None).unwrap();
    }
    let run = env.mvc(&["status"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: git refuses to open the repository at `$ROOT`: repository path '$ROOT' is not owned by current user
    hint: it belongs to another user; if you trust it, run `git config --global --add safe.directory $ROOT`
    ");
    // The suggested command works.
    env.git(&["config", "--global", "--add", "safe.directory", env.root.to_str().unwrap()]);
    env.mvc(&["status"]).ok();
}

#[test]
fn the_merge_conflict_hint_quotes_a_hostile_name_and_runs_as_shown() {
    let env = TestEnv::new();
    let name = "x$(touch pwned) it's.bin";
    env.write(name, "base");
    env.mvc(&["add", "-q", name]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "base"]);
    env.mvc(&["install", "-q"]).ok();
    env.git(&["checkout", "-qb", "other"]);
    env.write(name, "theirs");
    env.mvc(&["commit", "-q", "-m", "theirs"]).ok();
    env.git(&["checkout", "-q", "main"]);
    env.write(name, "ours");
    env.mvc(&["commit", "-q", "-m", "ours"]).ok();

    let run = env.git_run(&["merge", "-q", "other"]);
    assert_ne!(run.code, 0, "a conflict: {run:?}");
    let line = run.stderr.lines().chain(run.stdout.lines()).find(|l| l.contains("To take theirs")).unwrap();
    insta::assert_snapshot!(line, @r"error: mvc merge: both sides changed `x$(touch pwned) it's.bin` (ours cd9488de804d, theirs a92d7dd9a46e); ours is kept. To take theirs: `git checkout --theirs -- 'x$(touch pwned) it'\''s.bin.mvc' && mvc checkout 'x$(touch pwned) it'\''s.bin'`");
    let command = line.split('`').nth(3).unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_mvc")).parent().unwrap().display().to_string();
    let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(&env.root)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(!env.path("pwned").exists(), "the name ran as a command");
    assert_eq!(env.read(name), "theirs");
}

#[test]
fn a_full_cache_disk_is_blamed_on_the_cache_not_on_the_file_being_added() {
    // A private mount namespace gives mvc a 256 KiB disk for its cache; where the system
    // allows no user namespaces this case cannot be built.
    let allowed = std::process::Command::new("unshare").args(["-rm", "true"]).output();
    if !allowed.is_ok_and(|o| o.status.success()) {
        return;
    }
    let env = TestEnv::new();
    let cache = env.path("../cachefs");
    std::fs::create_dir_all(&cache).unwrap();
    env.mvc(&["config", "set", "--local", "cache.dir", cache.to_str().unwrap()]).ok();
    env.write("small.bin", vec![7u8; 1 << 20]);
    env.write("large.bin", vec![9u8; 17 << 20]); // copied by the kernel, not through mvc's buffer
    let script = r#"mount -t tmpfs -o size=256k tmpfs "$0" && exec "$@""#;
    let mut out = String::new();
    for file in ["small.bin", "large.bin"] {
        let wrapper = ["unshare", "-rm", "sh", "-c", script, cache.to_str().unwrap()];
        let run = env.mvc_wrapped(&wrapper, &["add", file]).fails();
        out.push_str(&run.stderr);
    }
    insta::assert_snapshot!(out, @r"
    error: writing to the cache `$ROOT/../cachefs`: No space left on device (os error 28)
    hint: free some space on its disk, or move the cache to a larger one with `mvc config set --local cache.dir PATH`
    error: writing to the cache `$ROOT/../cachefs`: No space left on device (os error 28)
    hint: free some space on its disk, or move the cache to a larger one with `mvc config set --local cache.dir PATH`
    ");
    assert!(!env.path("small.bin.mvc").exists() && !env.path("large.bin.mvc").exists());
}

#[test]
fn get_never_shows_the_credentials_in_the_repository_url() {
    let env = TestEnv::bare_git();
    // Nothing listens on port 1 of loopback: the clone fails without touching the internet.
    let url = "http://bob:hunter2secret@127.0.0.1:1/team/models.git";
    let run = env.mvc(&["get", url, "model.bin"]).fails();
    assert!(!run.stderr.contains("hunter2secret") && !run.stderr.contains("bob"), "{}", run.stderr);
    let first = run.stderr.lines().next().unwrap();
    let shown = first.split(": fatal:").next().unwrap();
    insta::assert_snapshot!(shown, @r"error: `git clone` of `http://<redacted>@127.0.0.1:1/team/models.git` failed");
}

#[test]
fn fsck_reports_objects_the_workspace_needs_that_the_cache_lacks() {
    let env = TestEnv::new();
    with_remote(&env);
    env.write("model.bin", "weights");
    env.write("data/part0/a.txt", "a\n");
    env.write("data/part1/b.txt", "b\n");
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env.mvc(&["push", "-q"]).ok();
    env.mvc(&["fsck"]).ok();

    let oid = env.pointer_oid("model.bin");
    std::fs::remove_file(env.object(&oid)).unwrap();
    let run = env.mvc(&["fsck"]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!(format!("{}{}", run.stdout, run.stderr), @r"
    missing: 3edc5c4a5df8c79ef4f8dbdc373cd21ca041ccf39fe5693250d004092094dc4a in cache  (needed by `model.bin`)
    checked 3 cache objects; 1 problem
    warning: `mvc pull` fetches the objects the workspace needs from the remote
    ");
    let json = env.mvc(&["fsck", "--json"]).json();
    assert_eq!(json["findings"][0]["problem"], "missing");
    assert_eq!(json["findings"][0]["needed_by"], serde_json::json!(["model.bin"]));
    env.mvc(&["pull", "-q"]).ok();
    env.mvc(&["fsck"]).ok();

    // Files left out of a partial pull on purpose are not problems; the rest of a fresh clone is.
    let clone = env.clone_repo();
    clone.mvc(&["pull", "-q", "data/part0"]).ok();
    let run = clone.mvc(&["fsck"]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!(run.stdout, @r"missing: 3edc5c4a5df8c79ef4f8dbdc373cd21ca041ccf39fe5693250d004092094dc4a in cache  (needed by `model.bin`)");
    clone.mvc(&["pull", "-q", "model.bin"]).ok();
    clone.mvc(&["fsck"]).ok();
}
