//! `mvc get`: one artifact from another project, with nothing initialised locally.

use crate::harness::TestEnv;
use crate::s3_server::{ACCESS_KEY, S3Server, SECRET_KEY};

const CREDS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY)];

/// A project with a model and a dataset pushed to an S3 remote, tagged `v1`.
fn published(server: &S3Server) -> TestEnv {
    let env = TestEnv::new();
    env.write("models/model.bin", "weights v1");
    for i in 0..6 {
        env.write(&format!("data/part{}/f{i}.txt", i % 2), format!("row {i}\n"));
    }
    env.mvc(&["add", "-q", "models/model.bin", "data"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "origin", "s3://models/published"]).ok();
    env.mvc(&["remote", "modify", "origin", "endpoint", &server.endpoint]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env.git(&["tag", "v1"]);
    env.mvc_with(&["push", "-q"], &CREDS, None).ok();
    env
}

/// A directory outside any git repository.
fn outside(env: &TestEnv) -> std::path::PathBuf {
    let dir = env.path("../elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn get_downloads_a_file_a_revision_and_a_sub_path() {
    let server = S3Server::start();
    let env = published(&server);
    env.write("models/model.bin", "weights v2");
    env.mvc(&["commit", "-q", "-m", "v2"]).ok();
    env.mvc_with(&["push", "-q"], &CREDS, None).ok();
    let dir = outside(&env);
    let repo = env.root.to_str().unwrap();

    let run = env.mvc_in_with(&dir, &["get", repo, "models/model.bin"], &CREDS).ok();
    assert!(run.stderr.starts_with("got `model.bin` (1 file, 10 B) from `origin` at "), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("model.bin")).unwrap(), "weights v2");

    env.mvc_in_with(&dir, &["get", repo, "models/model.bin", "--rev", "v1", "-o", "old/model.bin"], &CREDS).ok();
    assert_eq!(std::fs::read_to_string(dir.join("old/model.bin")).unwrap(), "weights v1");

    let json = env.mvc_in_with(&dir, &["get", repo, "data/part1", "--json"], &CREDS).ok().json();
    assert_eq!(json["files"], 3, "{json}");
    assert_eq!(std::fs::read_to_string(dir.join("part1/f3.txt")).unwrap(), "row 3\n");
    assert!(!dir.join("part0").exists());

    // Nothing but the outputs is left behind: no clone, no cache, no `.mvc`.
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["model.bin", "old", "part1"]);
}

#[test]
fn get_refusals_name_what_is_wrong() {
    let server = S3Server::start();
    let env = published(&server);
    let dir = outside(&env);
    let repo = env.root.to_str().unwrap();

    let run = env.mvc_in_with(&dir, &["get", repo, "README.md"], &CREDS).fails();
    assert!(run.stderr.starts_with("error: `README.md` is not tracked by mvc in `"), "{}", run.stderr);
    let run = env.mvc_in_with(&dir, &["get", repo, "../secrets"], &CREDS).fails();
    insta::assert_snapshot!(run.stderr, @"error: `../secrets` is not a path inside the project (give it relative to the project's root)");
    let run = env.mvc_in_with(&dir, &["get", repo, "data", "--rev", "nope"], &CREDS).fails();
    insta::assert_snapshot!(run.stderr, @"error: `nope` is not a revision of `$ROOT`");

    std::fs::write(dir.join("model.bin"), "mine").unwrap();
    let run = env.mvc_in_with(&dir, &["get", repo, "models/model.bin"], &CREDS).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `model.bin` already exists
    hint: remove it, or choose another path with `-o`
    ");
    assert_eq!(std::fs::read_to_string(dir.join("model.bin")).unwrap(), "mine");

    // A REPO that looks like an option reaches `git clone` as a URL, never as an option.
    let marker = dir.join("pwned");
    let hostile = format!("--upload-pack=touch {}", marker.display());
    let run = env.mvc_in_with(&dir, &["get", "--", &hostile, "data"], &CREDS).fails();
    assert!(run.stderr.contains("`git clone` of `--upload-pack"), "{}", run.stderr);
    assert!(!marker.exists());
}
