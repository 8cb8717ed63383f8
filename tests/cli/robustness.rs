//! Bad input and bad luck: hostile pointers, a second writer, a process killed mid-add, a
//! corrupt cache object. Each gets a clear error naming the file, and no data is lost.

use std::io::Write;

use crate::harness::TestEnv;

fn tracked(env: &TestEnv) {
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin"]).ok();
}

#[test]
fn hostile_pointers_get_errors_naming_the_file() {
    let env = TestEnv::new();
    tracked(&env);
    let oid = env.pointer_oid("model.bin");
    let cases = [
        ("not yaml", "version: 1\nkind: [file\n".to_string()),
        ("path escape", format!("version: 1\nkind: file\npath: ../../etc/passwd\noid: {oid}\nsize: 7\n")),
        ("newer version", format!("version: 99\nkind: file\npath: model.bin\noid: {oid}\nsize: 7\n")),
        ("bad oid", "version: 1\nkind: file\npath: model.bin\noid: 1234\nsize: 7\n".to_string()),
        ("unknown key", format!("version: 1\nkind: file\npath: model.bin\noid: {oid}\nsize: 7\nexec: rm -rf /\n")),
        (
            "alias bomb",
            format!(
                "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\nversion: 1\nkind: file\npath: model.bin\noid: {oid}\nsize: 7\n"
            ),
        ),
    ];
    let mut out = String::new();
    for (what, text) in cases {
        std::fs::write(env.path("model.bin.mvc"), text).unwrap();
        let run = env.mvc(&["status"]).fails();
        out.push_str(&format!("# {what}\n{}", run.stderr));
    }
    insta::assert_snapshot!(out, @r"
    # not yaml
    0 artifacts, all up to date
    error: invalid pointer `$ROOT/model.bin.mvc`: line 2: externally tagged enum expected scalar or mapping
    # path escape
    0 artifacts, all up to date
    error: invalid pointer `$ROOT/model.bin.mvc`: `path: ../../etc/passwd` must be this pointer's own name minus `.mvc` (`model.bin`)
    # newer version
    0 artifacts, all up to date
    error: pointer `$ROOT/model.bin.mvc` has version 99, newer than this mvc reads (1); upgrade mvc
    # bad oid
    0 artifacts, all up to date
    error: invalid pointer `$ROOT/model.bin.mvc`: line 4: invalid oid `1234`: expected 64 lowercase hex characters
    # unknown key
    0 artifacts, all up to date
    error: invalid pointer `$ROOT/model.bin.mvc`: line 6: unknown field `exec`, expected one of version, kind, path, oid, size, nfiles, meta
    # alias bomb
    0 artifacts, all up to date
    error: invalid pointer `$ROOT/model.bin.mvc`: line 1: unknown field `a`, expected one of version, kind, path, oid, size, nfiles, meta
    ");
    assert_eq!(env.read("model.bin"), "weights", "the data is untouched");
}

#[test]
fn a_second_writer_waits_then_names_the_holder_while_readers_go_on() {
    let env = TestEnv::new();
    tracked(&env);
    let mut lock = std::fs::OpenOptions::new().write(true).open(env.private("lock")).unwrap();
    lock.lock().unwrap();
    lock.set_len(0).unwrap();
    write!(lock, "pid 4242: mvc push").unwrap();
    env.write("other.bin", "o");
    let started = std::time::Instant::now();
    let run = env.mvc(&["add", "other.bin"]).fails();
    assert!(started.elapsed() >= std::time::Duration::from_secs(2), "it waits before giving up");
    insta::assert_snapshot!(run.stderr, @r"
    error: another mvc process is working in this repository (pid 4242: mvc push); waited 3s
    hint: wait for it to finish; if no mvc is running, the lock is released automatically
    ");
    env.mvc(&["status", "--check"]).ok();
    drop(lock);
    env.mvc(&["add", "-q", "other.bin"]).ok();
}

#[test]
fn a_process_killed_mid_add_leaves_only_correct_objects() {
    let env = TestEnv::new();
    let mut file = std::io::BufWriter::new(std::fs::File::create(env.path("big.bin")).unwrap());
    let mut block = vec![7u8; 1 << 20];
    for i in 0..400u32 {
        block[..4].copy_from_slice(&i.to_le_bytes());
        file.write_all(&block).unwrap();
    }
    drop(file);
    let original = blake3::hash(&std::fs::read(env.path("big.bin")).unwrap());

    for delay_ms in [20, 120, 400] {
        let mut child = env.spawn_mvc(&["add", "big.bin"]);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        // Every object in the cache is complete and named by its content.
        for entry in walkdir::WalkDir::new(env.private("cache/blake3")).into_iter().filter_map(Result::ok) {
            if entry.file_type().is_file() {
                let name = format!(
                    "{}{}",
                    entry.path().parent().unwrap().file_name().unwrap().to_str().unwrap(),
                    entry.file_name().to_str().unwrap()
                );
                let mut hasher = blake3::Hasher::new();
                hasher.update_mmap(entry.path()).unwrap();
                assert_eq!(hasher.finalize().to_hex().as_str(), name, "object {name} after a kill at {delay_ms} ms");
            }
        }
        assert_eq!(blake3::hash(&std::fs::read(env.path("big.bin")).unwrap()), original, "the user's file is intact");
    }
    env.mvc(&["add", "-q", "big.bin"]).ok();
    assert_eq!(env.pointer_oid("big.bin"), original.to_hex().to_string());
    env.mvc(&["status", "--check"]).ok();
    // The next command that takes the lock removed the temp files the killed ones left.
    let temps = std::fs::read_dir(env.private("cache/tmp")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(temps, 0, "temp files of killed processes are swept");
    // A re-run of an interrupted add still stages the `.gitignore` line.
    assert!(env.git(&["show", ":.gitignore"]).contains("/big.bin"));

    // Temp files a killed process left behind are swept by gc once they are a day old.
    let leftover = env.private("cache/tmp/obj-left-by-a-crash");
    std::fs::write(&leftover, "partial").unwrap();
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::File::options().write(true).open(&leftover).unwrap().set_modified(two_days_ago).unwrap();
    let json = env.mvc(&["gc", "--workspace", "--json"]).ok().json();
    assert!(json["stale_temps"].as_u64().unwrap() >= 1, "{json}");
    assert!(!leftover.exists());
}

#[test]
fn a_corrupt_cache_object_is_never_checked_out() {
    let env = TestEnv::new();
    tracked(&env);
    let object = env.object(&env.pointer_oid("model.bin"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&object, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&object, "rotten!").unwrap();
    std::fs::remove_file(env.path("model.bin")).unwrap();
    let run = env.mvc(&["checkout"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: the cache object 3edc5c4a5df8c79ef4f8dbdc373cd21ca041ccf39fe5693250d004092094dc4a for `$ROOT/model.bin` is corrupt (its content does not match its oid)
    hint: `mvc fsck --repair` moves it aside and fetches a good copy from the remote
    ");
    assert!(!env.path("model.bin").exists() || env.read("model.bin") != "rotten!");
    assert_eq!(env.mvc(&["fsck"]).code, 1);
}

#[test]
fn gc_in_one_project_never_deletes_what_another_sharing_the_cache_needs() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let shared = a.path("../shared-cache");
    let vars = [("MVC_CACHE_DIR", shared.to_str().unwrap())];
    a.write("model.bin", "a's weights");
    b.write("model.bin", "b's weights");
    a.mvc_in_with(&a.root, &["add", "-q", "model.bin"], &vars).ok();
    b.mvc_in_with(&b.root, &["add", "-q", "model.bin"], &vars).ok();
    std::fs::remove_file(a.path("model.bin")).unwrap();
    std::fs::remove_file(a.path("model.bin.mvc")).unwrap();
    a.git(&["rm", "-q", "--cached", "model.bin.mvc"]);
    let run = a.mvc_in_with(&a.root, &["gc", "--workspace"], &vars).fails();
    assert!(run.stderr.contains("is shared with 1 other project(s)"), "{}", run.stderr);
    let b_object = shared.join(format!("blake3/{}", &b.pointer_oid("model.bin")[..2]));
    assert!(b_object.exists(), "b's data is still there");
    b.mvc_in_with(&b.root, &["status", "--check"], &vars).ok();
}

#[test]
fn an_in_place_write_to_a_hardlinked_file_is_detected_refused_and_repaired() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let remote = env.path("../remote");
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", remote.to_str().unwrap()]).ok();
    env.mvc(&["config", "set", "core.link", "[hardlink, copy]"]).ok();
    env.write("model.bin", "good weights");
    env.write("fresh.bin", "fresh weights");
    env.mvc(&["add", "-q", "model.bin", "fresh.bin"]).ok();
    env.mvc(&["push", "-q", "model.bin"]).ok();
    let oid = env.pointer_oid("model.bin");
    // Someone (root, or a tool that chmods first) writes into the linked file: the cache
    // object shares its inode and is corrupted with it.
    for name in ["model.bin", "fresh.bin"] {
        std::fs::set_permissions(env.path(name), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(env.path(name), "edited in place!").unwrap();
    }
    let status = env.mvc(&["status", "--json"]).json();
    assert!(status.to_string().contains("modified"), "status sees the edit: {status}");
    // Push hashes what it uploads: the corrupt object of `fresh.bin` never leaves the machine.
    let run = env.mvc(&["push", "fresh.bin"]).fails();
    assert!(run.stderr.contains("mvc fsck --repair"), "{}", run.stderr);
    // fsck --repair moves the corrupt object aside and fetches the good copy; checkout restores.
    env.mvc(&["fsck", "--repair"]);
    assert_eq!(std::fs::read_to_string(env.object(&oid)).unwrap(), "good weights");
    env.mvc(&["checkout", "--force", "-q", "model.bin"]).ok();
    assert_eq!(env.read("model.bin"), "good weights");
}
