//! `mvc du`: logical against stored bytes, so a chunked remote's saving is visible.

use crate::harness::TestEnv;

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn two_versions(layout: &str) -> TestEnv {
    let env = TestEnv::new();
    let remote = env.path("../remote");
    env.mvc(&["remote", "add", "origin", remote.to_str().unwrap(), "--layout", layout]).ok();
    let mut model = noise(4 << 20, 1);
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env.mvc(&["push"]).ok();
    model[1 << 20..2 << 20].copy_from_slice(&noise(1 << 20, 2));
    env.write("model.bin", &model);
    env.mvc(&["add", "-q", "model.bin"]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v2"]);
    env.mvc(&["push"]).ok();
    env
}

#[test]
fn du_shows_what_a_chunked_remote_saves() {
    let env = two_versions("chunked");
    let json = env.mvc(&["du", "--json"]).ok().json();
    assert_eq!(json["remote"], "origin");
    assert_eq!(json["layout"], "chunked");
    assert_eq!(json["objects"], 2);
    assert_eq!(json["logical_bytes"], 8 << 20);
    assert_eq!(json["workspace_bytes"], 4 << 20);
    assert_eq!((json["packs"].as_u64(), json["recipes"].as_u64()), (Some(2), Some(2)));
    let stored = json["stored_bytes"].as_u64().unwrap();
    assert!(stored > 4 << 20 && stored < (5 << 20) + (768 << 10), "{json}");

    let run = env.mvc(&["du", "-r", "origin"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "remote     origin (chunked)");
    assert_eq!(lines[1], "logical    8.0 MiB  in 2 objects");
    assert!(
        lines[2].starts_with("stored     ")
            && lines[2].contains(" in 2 packs and 2 recipes (")
            && lines[2].ends_with("% of logical)"),
        "{}",
        run.stdout
    );
    assert_eq!(lines[3], "workspace  4.0 MiB");
}

#[test]
fn du_on_a_loose_remote_stores_every_version_whole() {
    let env = two_versions("loose");
    let json = env.mvc(&["du", "--json"]).ok().json();
    assert_eq!(json["layout"], "loose");
    assert_eq!(json["objects"], 2);
    assert_eq!(json["stored_bytes"], 8 << 20);
    assert_eq!(json["logical_bytes"], 8 << 20);
    assert_eq!((json["packs"].as_u64(), json["recipes"].as_u64()), (Some(0), Some(0)));
}
