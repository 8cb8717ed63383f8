//! `mvc remote`, `push`, `fetch`, `pull` against a real S3-protocol server on 127.0.0.1 and
//! a local-directory remote.

use crate::harness::{Run, TestEnv};
use crate::s3_server::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};

pub const CREDS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY)];

pub fn s3(env: &TestEnv, args: &[&str]) -> Run {
    env.mvc_with(args, &CREDS, None)
}

/// A repo with a 3 MiB model and a 50-file dataset committed, and an S3 remote.
pub fn project(server: &S3Server) -> TestEnv {
    let env = TestEnv::new();
    let model: Vec<u8> = (0..3 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    env.write("model.bin", &model);
    for i in 0..50 {
        env.write(&format!("data/part{}/f{i}.txt", i % 3), format!("row {i}\n"));
    }
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "origin", &format!("s3://{BUCKET}/project")]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &server.endpoint]).ok();
    env.mvc(&["remote", "modify", "origin", "retries", "0"]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env
}

pub fn files_under(dir: &std::path::Path) -> usize {
    walkdir::WalkDir::new(dir).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()).count()
}

#[test]
fn push_clone_pull_gives_identical_bytes() {
    let server = S3Server::start();
    let env = project(&server);
    let run = s3(&env, &["push"]).ok();
    insta::assert_snapshot!(run.stderr, @"pushed 52 objects (3.0 MiB) to `origin`; 0 already there");
    assert!(server.object_file("project/mvc-remote.yaml").exists());

    let clone = env.clone_repo();
    let run = clone.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    not pulled:  data  (not in the workspace or cache; `mvc pull`)
    not pulled:  model.bin  (not in the workspace or cache; `mvc pull`)
    ");
    let run = s3(&clone, &["pull"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    checked out `data` (50 files)
    checked out `model.bin` (1 file)
    pulled 52 objects (3.0 MiB) from `origin`; 0 already in the cache
    ");
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
    for i in 0..50 {
        let rel = format!("data/part{}/f{i}.txt", i % 3);
        assert_eq!(clone.read(&rel), env.read(&rel));
    }
    assert_eq!(clone.mvc(&["status", "--check"]).code, 0);
}

#[test]
fn second_push_asks_once_per_artifact_not_per_file() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push"]).ok();
    let json = s3(&env, &["push", "--json"]).ok().json();
    assert_eq!(json["uploaded"], 0);
    // One HEAD for the model and one for the directory's manifest (which vouches for its 50
    // files): the remote is asked now, since someone may have deleted something since.
    assert_eq!(json["checks"], 2, "{json}");
    assert_eq!(json["already_present"], 52);
}

#[test]
fn manifest_on_remote_implies_its_files() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push"]).ok();
    // A fresh clone that adds nothing new knows nothing locally, but the manifest answers for
    // all 50 files with one request.
    let clone = env.clone_repo();
    s3(&clone, &["pull"]).ok();
    let json = s3(&clone, &["push", "--json"]).ok().json();
    assert_eq!(json["uploaded"], 0);
    assert!(json["checks"].as_u64().unwrap() <= 2, "{json}");
}

#[test]
fn pull_of_a_sub_path_downloads_only_it_and_commit_keeps_the_rest() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push"]).ok();
    let clone = env.clone_repo();
    let json = s3(&clone, &["pull", "data/part1", "--json"]).ok().json();
    // The 17 files in part1, plus the manifest that lists them.
    assert_eq!(json["downloaded"], 18, "{json}");
    assert_eq!(files_under(&clone.path("data")), 17);
    let run = clone.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    partial:     data  (33 files not pulled)
    not pulled:  model.bin  (not in the workspace or cache; `mvc pull`)
    ");
    // Editing a pulled file and committing keeps the 33 unpulled files in the new version.
    clone.write("data/part1/f1.txt", "changed\n");
    clone.mvc(&["commit", "-q", "data"]).ok();
    assert!(clone.read("data.mvc").contains("nfiles: 50"), "{}", clone.read("data.mvc"));
}

#[test]
fn all_tags_pushes_every_tagged_version() {
    let server = S3Server::start();
    let env = project(&server);
    env.git(&["tag", "v1"]);
    env.write("model.bin", "version two");
    env.mvc(&["commit", "-q", "-m", "v2"]).ok();
    env.git(&["tag", "v2"]);
    let json = s3(&env, &["push", "--all-tags", "--json"]).ok().json();
    // `data` is the same in both versions: three distinct artifact versions, and only the
    // new model is a new object.
    assert_eq!(json["artifacts"], 3, "{json}");
    assert_eq!(json["uploaded"], 53, "{json}");

    // A clone can fetch v1's model without checking v1 out.
    let clone = env.clone_repo();
    let json = s3(&clone, &["fetch", "model.bin", "--rev", "v1", "--json"]).ok().json();
    assert_eq!(json["downloaded"], 1);
}

#[test]
fn corrupt_object_on_remote_fails_pull_and_keeps_nothing() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push"]).ok();
    let oid = env.pointer_oid("model.bin");
    let key = format!("project/blake3/{}/{}", &oid[..2], &oid[2..]);
    std::fs::write(server.object_file(&key), b"tampered").unwrap();

    let clone = env.clone_repo();
    let run = s3(&clone, &["pull", "model.bin"]).fails();
    assert!(run.stderr.contains(&format!("object {oid} on remote `origin`")), "{}", run.stderr);
    assert!(run.stderr.contains("is corrupt"), "{}", run.stderr);
    assert!(!clone.path("model.bin").exists());
    assert_eq!(files_under(&clone.private("cache")), 0, "nothing unverified enters the cache");
}

#[test]
fn wrong_credentials_give_a_clear_error_without_the_secret() {
    let server = S3Server::start();
    let env = project(&server);
    let wrong = "wrong-secret-value-123";
    let run =
        env.mvc_with(&["push"], &[("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", wrong)], None).fails();
    assert!(run.stderr.contains("remote `origin`"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: check the credentials"), "{}", run.stderr);
    assert!(!run.stderr.contains(wrong) && !run.stderr.contains(SECRET_KEY), "{}", run.stderr);
}

#[test]
fn secrets_go_to_config_local_from_stdin_and_work() {
    let server = S3Server::start();
    let env = project(&server);
    env.mvc_with(&["remote", "modify", "--local", "origin", "access_key_id"], &[], Some(ACCESS_KEY)).ok();
    env.mvc_with(&["remote", "modify", "--local", "origin", "secret_access_key"], &[], Some(SECRET_KEY)).ok();
    let run = env.mvc(&["remote", "modify", "origin", "secret_access_key", "x"]).fails();
    assert!(run.stderr.contains("is a secret"), "{}", run.stderr);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.private("config")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!env.read(".mvc/config").contains(SECRET_KEY));
    env.mvc(&["push", "-q"]).ok();
    let list = env.mvc(&["remote", "list"]).ok();
    assert!(!list.stdout.contains(SECRET_KEY));
}

#[test]
fn server_stopped_mid_push_errors_clearly_and_a_rerun_completes() {
    let mut server = S3Server::start();
    let env = TestEnv::new();
    for i in 0..400 {
        let mut content = vec![0u8; 64 << 10];
        content[..8].copy_from_slice(&(i as u64).to_le_bytes());
        env.write(&format!("data/f{i:03}"), content);
    }
    env.mvc(&["add", "-q", "data"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "origin", &format!("s3://{BUCKET}/p")]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &server.endpoint]).ok();
    env.mvc(&["remote", "modify", "origin", "retries", "0"]).ok();
    env.mvc(&["config", "set", "core.jobs", "2"]).ok();

    let child = env.spawn_mvc_with(&["push"], &CREDS);
    // Stop the server once some objects have arrived.
    let shard_dir = server.root.join(BUCKET).join("p").join("blake3");
    let started = std::time::Instant::now();
    while files_under(&shard_dir) < 5 && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.stop();
    let run = env.finish_child(child);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("remote `origin`"), "{}", run.stderr);

    let root = server.root.clone();
    let server = S3Server::start_at(root);
    env.mvc(&["remote", "modify", "origin", "endpoint", &server.endpoint]).ok();
    let json = s3(&env, &["push", "--json"]).ok().json();
    let uploaded = json["uploaded"].as_u64().unwrap();
    assert!(uploaded < 401, "the re-run sent only what was missing: {json}");
    assert_eq!(uploaded + json["already_present"].as_u64().unwrap(), 401, "{json}");
}

#[test]
fn local_directory_remote_round_trip() {
    let env = TestEnv::new();
    env.write("model.bin", "weights");
    env.write("data/a", "a");
    env.mvc(&["add", "-q", "model.bin", "data"]).ok();
    let remote = env.path("../remote-store");
    env.mvc(&["remote", "add", "--layout", "loose", "origin", remote.to_str().unwrap()]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env.mvc(&["push", "-q"]).ok();
    assert!(remote.join("mvc-remote.yaml").exists());
    let clone = env.clone_repo();
    // The clone names the remote by the same absolute path.
    clone.mvc(&["pull", "-q"]).ok();
    assert_eq!(clone.read("model.bin"), "weights");
    assert_eq!(clone.read("data/a"), "a");
}

#[test]
fn unknown_remote_layout_is_refused() {
    let env = TestEnv::new();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    let remote = env.path("../remote-store");
    std::fs::create_dir_all(&remote).unwrap();
    std::fs::write(remote.join("mvc-remote.yaml"), "version: 7\nlayout: chunked\n").unwrap();
    env.mvc(&["remote", "add", "--layout", "loose", "origin", remote.to_str().unwrap()]).ok();
    let run = env.mvc(&["push"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: remote `origin` ($ROOT/../remote-store) uses layout `chunked` version 7, which this mvc does not know
    hint: upgrade mvc
    ");
}

#[test]
fn remote_commands_manage_config() {
    let env = TestEnv::new();
    env.mvc(&["remote", "add", "origin", "s3://bucket/models"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "backup", "/srv/backup"]).ok();
    let run = env.mvc(&["remote", "list"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    backup  /srv/backup [loose]
    origin  s3://bucket/models [chunked] [default]
    ");
    env.mvc(&["remote", "default", "backup"]).ok();
    let run = env.mvc(&["remote", "add", "--layout", "loose", "origin", "s3://x"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: a remote named `origin` already exists
    hint: change it with `mvc remote modify origin url URL`
    ");
    env.mvc(&["remote", "remove", "backup"]).ok();
    let run = env.mvc(&["remote", "list"]).ok();
    insta::assert_snapshot!(run.stdout, @"origin  s3://bucket/models [chunked]");
    // With the default removed, the only remote left is used.
    let store = env.path("../store");
    env.mvc(&["remote", "modify", "origin", "url", store.to_str().unwrap()]).ok();
    let run = env.mvc(&["push"]).ok();
    insta::assert_snapshot!(run.stderr, @"pushed 0 objects (0 B) to `origin`; 0 already there");
}

#[test]
fn status_remote_shows_what_push_and_pull_would_do() {
    let server = S3Server::start();
    let env = project(&server);
    let run = s3(&env, &["status", "-c", "--check"]);
    assert_eq!(run.code, 1, "nothing pushed yet: {run:?}");
    insta::assert_snapshot!(run.stdout, @r"
    not pushed:  data  (`mvc push -r origin`)
    not pushed:  model.bin  (`mvc push -r origin`)
    ");
    s3(&env, &["push", "-q"]).ok();
    let run = s3(&env, &["status", "-r", "origin", "--check"]).ok();
    insta::assert_snapshot!(run.stderr, @"2 artifacts, all in the cache and on `origin`");
    let json = s3(&env, &["status", "--remote", "origin", "--json"]).ok().json();
    assert_eq!(json["checks"], 2, "one request per artifact, asked now: {json}");

    let clone = env.clone_repo();
    let run = s3(&clone, &["status", "--cloud"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    not pulled:  data  (`mvc pull -r origin`)
    not pulled:  model.bin  (`mvc pull -r origin`)
    ");
    // The old spelling, `--remote` as a switch, works for one release with a deprecation line.
    let run = s3(&clone, &["status", "--remote"]).ok();
    assert!(run.stderr.contains("`--remote` without a name is deprecated; use `-c`"), "{}", run.stderr);
    assert!(run.stdout.contains("not pulled:  data"));
}

#[test]
fn gc_on_the_remote_deletes_only_unreferenced_objects_past_the_grace_period() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    let old_model = env.pointer_oid("model.bin");
    env.write("model.bin", "version two");
    env.mvc(&["commit", "-q", "-m", "v2"]).ok();
    s3(&env, &["push", "-q"]).ok();
    let key = |oid: &str| format!("project/blake3/{}/{}", &oid[..2], &oid[2..]);

    // Within the grace period nothing on the remote goes.
    let json = s3(&env, &["gc", "--keep-last", "1", "-c", "--json"]).ok().json();
    assert_eq!(json["remote_objects"].as_array().unwrap().len(), 0, "{json}");
    assert!(server.object_file(&key(&old_model)).exists());

    let json = s3(&env, &["gc", "--keep-last", "1", "-r", "origin", "--grace-days", "0", "--json"]).ok().json();
    let gone: Vec<&str> =
        json["remote_objects"].as_array().unwrap().iter().map(|o| o["oid"].as_str().unwrap()).collect();
    assert_eq!(gone, [old_model.as_str()], "{json}");
    assert!(!server.object_file(&key(&old_model)).exists());
    assert!(server.object_file(&key(&env.pointer_oid("model.bin"))).exists());
    // The workspace's data is intact on the remote: a fresh clone pulls it.
    let clone = env.clone_repo();
    s3(&clone, &["pull", "-q"]).ok();
    assert_eq!(clone.read("model.bin"), "version two");
}

#[test]
fn push_refuses_when_data_is_in_neither_the_cache_nor_the_remote() {
    let env = TestEnv::new();
    env.write("data/a", "a");
    env.write("model.bin", "m");
    env.mvc(&["add", "-q", "data", "model.bin"]).ok();
    std::fs::remove_dir_all(env.private("cache")).unwrap();
    let remote = env.path("../store");
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", remote.to_str().unwrap()]).ok();
    let run = env.mvc(&["push"]).fails();
    assert!(run.stderr.starts_with("error: 2 objects to push are not in the local cache"), "{}", run.stderr);
}

#[test]
fn gc_on_the_remote_keeps_what_any_tag_or_branch_points_at() {
    let server = S3Server::start();
    let env = project(&server);
    env.git(&["tag", "churn@v1.0.0"]);
    s3(&env, &["push", "-q"]).ok();
    let tagged_model = env.pointer_oid("model.bin");
    env.write("model.bin", "version two");
    env.mvc(&["commit", "-q", "-m", "v2"]).ok();
    s3(&env, &["push", "-q"]).ok();
    let json = s3(&env, &["gc", "--workspace", "-r", "origin", "--grace-days", "0", "--json"]).ok().json();
    assert_eq!(json["remote_objects"].as_array().unwrap().len(), 0, "{json}");
    let key = format!("project/blake3/{}/{}", &tagged_model[..2], &tagged_model[2..]);
    assert!(server.object_file(&key).exists(), "the tagged version stays pullable");
}
