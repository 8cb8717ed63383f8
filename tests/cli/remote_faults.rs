//! Faults between mvc and a remote, injected by a proxy on 127.0.0.1 in front of the S3 test
//! server: transient errors are retried, altered bodies are refused and counted, a dead or
//! unreachable endpoint gives one true sentence fast, and a missing bucket is named.

use std::time::{Duration, Instant};

use crate::fault_proxy::{Fault, FaultProxy, Rule};
use crate::harness::TestEnv;
use crate::push_pull::{CREDS, project, s3};
use crate::s3_server::{BUCKET, S3Server};

/// Points `origin` at `endpoint` with `retries` retries.
fn via(env: &TestEnv, endpoint: &str, retries: &str) {
    env.mvc(&["remote", "modify", "origin", "endpoint", endpoint]).ok();
    env.mvc(&["remote", "modify", "origin", "retries", retries]).ok();
}

fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[test]
fn transient_503s_and_resets_are_retried_and_the_transfer_succeeds() {
    let server = S3Server::start();
    let proxy = FaultProxy::start(&server.endpoint);
    let env = project(&server);
    via(&env, &proxy.endpoint, "5");
    proxy.rule(Rule::new(Fault::Status(503)).method("PUT").path("/blake3/").times(3));
    proxy.rule(Rule::new(Fault::Reset).method("PUT").path("/blake3/").after(3).times(2));
    let json = s3(&env, &["push", "--json"]).ok().json();
    assert_eq!(json["uploaded"], 52, "{json}");
    assert_eq!(proxy.faults_applied(), 5);

    let clone = env.clone_repo();
    via(&clone, &proxy.endpoint, "5");
    proxy.clear();
    proxy.rule(Rule::new(Fault::Status(503)).method("GET").path("/blake3/").times(2));
    proxy.rule(Rule::new(Fault::Reset).method("GET").path("/blake3/").after(2).times(2));
    proxy.rule(Rule::new(Fault::Truncate).method("GET").path("/blake3/").after(4).times(2));
    let json = s3(&clone, &["pull", "--json"]).ok().json();
    assert_eq!(json["downloaded"], 52, "{json}");
    assert_eq!(proxy.faults_applied(), 5 + 6);
    assert_eq!(std::fs::read(clone.path("model.bin")).unwrap(), std::fs::read(env.path("model.bin")).unwrap());
}

#[test]
fn altered_bodies_are_refused_counted_and_named_and_nothing_unverified_is_kept() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    let proxy = FaultProxy::start(&server.endpoint);
    let clone = env.clone_repo();
    via(&clone, &proxy.endpoint, "0");
    // The manifest arrives intact; every file is altered, differently on each download.
    proxy.rule(Rule::new(Fault::Corrupt).method("GET").path("/blake3/").after(1));
    let run = s3(&clone, &["pull", "data"]).fails();
    assert!(
        run.stderr.starts_with("error: `data` was not checked out: its data could not be downloaded\n"),
        "{}",
        run.stderr
    );
    let first = run.stderr.lines().find(|l| l.contains("could not be downloaded from remote")).unwrap_or_default();
    assert!(first.starts_with("error: 50 objects could not be downloaded from remote `origin`: "), "{}", run.stderr);
    assert_eq!(first.matches("(corrupted in transfer)").count(), 10, "the first ten are named: {first}");
    assert!(first.ends_with(", and 40 more"), "{first}");
    // Every file was fetched a second time before it was judged.
    let gets = proxy.log().iter().filter(|(m, p, _)| m == "GET" && p.contains("/blake3/")).count();
    assert_eq!(gets, 1 + 2 * 50);
    // Nothing unverified entered the cache, and no temp file was left behind.
    for i in 0..50 {
        let oid = blake3_hex(format!("row {i}\n").as_bytes());
        assert!(!clone.object(&oid).exists(), "f{i} must not be in the cache");
    }
    let manifest = clone.object(&clone.pointer_oid("data"));
    let tmp = manifest.parent().unwrap().parent().unwrap().parent().unwrap().join("tmp");
    let temps = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    assert_eq!(temps, 0, "no partial downloads are left in {}", tmp.display());

    // One bad download each is survived: the second copy is good.
    proxy.clear();
    proxy.rule(Rule::new(Fault::Corrupt).method("GET").path("/blake3/").times(10));
    let json = s3(&clone, &["pull", "--json"]).ok().json();
    assert_eq!(json["downloaded"], 51, "{json}");
}

#[test]
fn a_remote_copy_that_is_corrupt_is_told_apart_from_a_bad_transfer() {
    let server = S3Server::start();
    let env = project(&server);
    s3(&env, &["push", "-q"]).ok();
    let oid = env.pointer_oid("model.bin");
    std::fs::write(server.object_file(&format!("project/blake3/{}/{}", &oid[..2], &oid[2..])), b"tampered").unwrap();
    let clone = env.clone_repo();
    let run = s3(&clone, &["pull", "model.bin"]).fails();
    let tampered = blake3_hex(b"tampered");
    let expected = format!(
        "error: object {oid} on remote `origin` (s3://{BUCKET}/project) is corrupt: its content hashes to {tampered} \
         (the same on two downloads); it was not stored\n\
         hint: the remote copy is bad: repair it from a machine with a good copy with `mvc push --verify` (or `mvc fsck -c --repair`)\n"
    );
    assert!(run.stderr.ends_with(&expected), "{}", run.stderr);
    assert!(run.stderr.starts_with("error: `model.bin` was not checked out: its data could not be downloaded\n"));
}

#[test]
fn server_killed_mid_push_gives_one_sentence_and_a_rerun_completes() {
    let server = S3Server::start();
    let proxy = FaultProxy::start(&server.endpoint);
    let env = TestEnv::new();
    for i in 0..300 {
        let mut content = vec![0u8; 16 << 10];
        content[..8].copy_from_slice(&(i as u64).to_le_bytes());
        env.write(&format!("data/f{i:03}"), content);
    }
    env.mvc(&["add", "-q", "data"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "origin", &format!("s3://{BUCKET}/p")]).ok();
    via(&env, &proxy.endpoint, "2");
    proxy.rule(Rule::new(Fault::Kill).method("PUT").path("/blake3/").after(20).times(1));
    let started = Instant::now();
    let run = s3(&env, &["push"]).fails();
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert!(proxy.killed());
    let stderr = run.stderr.replace(&proxy.endpoint, "$PROXY");
    insta::assert_snapshot!(stderr, @r"
    error: cannot connect to remote `origin` at $PROXY: connection refused
    hint: check the URL/endpoint (`mvc remote list`) and your network, then re-run; objects already sent are not sent again
    ");
    let puts = proxy.log().iter().filter(|(m, _, _)| m == "PUT").count();
    assert!(puts <= 21 + 16, "{puts} uploads reached the proxy");

    via(&env, &server.endpoint, "0");
    let json = s3(&env, &["push", "--json"]).ok().json();
    let uploaded = json["uploaded"].as_u64().unwrap();
    assert!(uploaded < 301, "the re-run sent only what was missing: {json}");
    assert_eq!(uploaded + json["already_present"].as_u64().unwrap(), 301, "{json}");
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    let clone = env.clone_repo();
    s3(&clone, &["pull", "-q"]).ok();
    assert_eq!(std::fs::read(clone.path("data/f123")).unwrap(), std::fs::read(env.path("data/f123")).unwrap());
}

#[test]
fn unreachable_endpoint_fails_fast_with_one_sentence() {
    let env = TestEnv::new();
    for i in 0..1000 {
        env.write(&format!("data/f{i:04}"), format!("object {i}\n"));
    }
    env.mvc(&["add", "-q", "data"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "origin", &format!("s3://{BUCKET}/p")]).ok();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    via(&env, &endpoint, "5");
    for command in [&["push"][..], &["pull"], &["status", "-r", "origin"]] {
        let started = Instant::now();
        let run = s3(&env, command).fails();
        assert!(started.elapsed() < Duration::from_secs(30), "{command:?} took {:?}", started.elapsed());
        let stderr = run.stderr.replace(&port.to_string(), "$PORT");
        assert_eq!(
            stderr,
            "error: cannot connect to remote `origin` at http://127.0.0.1:$PORT: connection refused\n\
             hint: check the URL/endpoint (`mvc remote list`) and your network, then re-run; objects already sent are not sent again\n",
            "{command:?}"
        );
    }
}

#[test]
fn missing_bucket_is_named_by_push_pull_and_status() {
    let server = S3Server::start();
    let env = project(&server);
    env.mvc(&["remote", "modify", "origin", "url", "s3://nosuch/project"]).ok();
    for command in [&["push"][..], &["pull"], &["status", "-r", "origin"], &["fetch"]] {
        let run = s3(&env, command).fails();
        assert_eq!(
            run.stderr,
            "error: bucket `nosuch` does not exist on remote `origin` (s3://nosuch/project)\n\
             hint: create the bucket, or fix the URL with `mvc remote modify origin url URL`\n",
            "{command:?}"
        );
    }
    assert!(!server.root.join("nosuch").exists(), "nothing created it");
}

#[test]
fn an_interrupted_push_aborts_its_multipart_uploads() {
    let server = S3Server::start();
    let proxy = FaultProxy::start(&server.endpoint);
    let env = TestEnv::new();
    let big: Vec<u8> = (0..40u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    env.write("big.bin", &big);
    env.mvc(&["add", "-q", "big.bin"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "origin", &format!("s3://{BUCKET}/p")]).ok();
    via(&env, &proxy.endpoint, "0");
    // The second part fails for good: the upload must be aborted, not left to collect parts.
    proxy.rule(Rule::new(Fault::Status(500)).method("PUT").path("partNumber=2"));
    let run = s3(&env, &["push"]).fails();
    assert!(run.stderr.starts_with("error: uploading object "), "{}", run.stderr);
    let aborted = proxy.log().iter().any(|(m, p, _)| m == "DELETE" && p.contains("uploadId="));
    assert!(aborted, "an AbortMultipartUpload was sent: {:?}", proxy.log());

    // Ctrl-C (SIGTERM here) mid-upload: exits non-zero, aborts, and leaves nothing behind.
    proxy.clear();
    let slow = Rule::new(Fault::Status(503)).method("PUT").path("partNumber=");
    proxy.rule(slow);
    via(&env, &proxy.endpoint, "50");
    let before = proxy.log().len();
    let child = env.spawn_mvc_with(&["push"], &CREDS);
    let started = Instant::now();
    while !proxy.log()[before..].iter().any(|(m, p, _)| m == "PUT" && p.contains("partNumber=")) {
        assert!(started.elapsed() < Duration::from_secs(20), "no part upload started");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let run = env.finish_child(child);
    assert_eq!(run.code, 130, "{run:?}");
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
    let aborts = proxy.log()[before..].iter().filter(|(m, p, _)| m == "DELETE" && p.contains("uploadId=")).count();
    assert_eq!(aborts, 1, "the interrupted upload was aborted too: {:?}", proxy.log());
}
