//! The core at scale: a 1 GiB file, and a 20,000-file directory where touching files makes
//! `status` re-read exactly those files.

use std::io::Write;
use std::time::{Duration, SystemTime};

use crate::harness::TestEnv;

fn set_mtime(path: &std::path::Path, when: SystemTime) {
    std::fs::File::options().write(true).open(path).unwrap().set_modified(when).unwrap();
}

#[test]
fn one_gib_file_hashes_like_b3sum_and_is_cached_read_only() {
    let env = TestEnv::new();
    let path = env.path("model.safetensors");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut block = vec![0u8; 1 << 20];
    for i in 0..1024u32 {
        block[..4].copy_from_slice(&i.to_le_bytes());
        file.write_all(&block).unwrap();
    }
    drop(file);

    let run = env.mvc(&["add", "model.safetensors"]).ok();
    assert!(run.stderr.starts_with("added `model.safetensors` (1.0 GiB) "), "{}", run.stderr);
    let mut hasher = blake3::Hasher::new();
    hasher.update_mmap_rayon(&path).unwrap();
    let b3sum = hasher.finalize().to_hex().to_string();
    assert_eq!(env.pointer_oid("model.safetensors"), b3sum);

    use std::os::unix::fs::PermissionsExt;
    let object = env.object(&b3sum);
    assert_eq!(std::fs::metadata(&object).unwrap().permissions().mode() & 0o222, 0, "cache objects are read-only");
    // The pointer is staged; the data itself is ignored by git.
    insta::assert_snapshot!(env.git(&["status", "--short"]), @r"
    A  .gitignore
    A  .mvc/.gitignore
    A  .mvc/config
    A  model.safetensors.mvc
    ");
}

#[test]
fn touching_10_of_20000_files_rehashes_exactly_those() {
    let env = TestEnv::new();
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for i in 0..20_000 {
        let rel = format!("data/{:02}/f{i}.txt", i % 100);
        env.write(&rel, format!("row {i}\n"));
        // Old files, as in a real dataset: not "racily clean", so the index can trust them.
        set_mtime(&env.path(&rel), an_hour_ago);
    }
    let json = env.mvc(&["add", "data", "--json"]).ok().json();
    assert_eq!(json["artifacts"][0]["hashed"], 20_000);
    let json = env.mvc(&["status", "--json"]).ok().json();
    assert_eq!(json["hashed"], 0, "a clean status reads nothing");

    let half_an_hour_ago = SystemTime::now() - Duration::from_secs(1800);
    for i in 0..10 {
        set_mtime(&env.path(&format!("data/{:02}/f{i}.txt", i % 100)), half_an_hour_ago);
    }
    let json = env.mvc(&["status", "--json"]).ok().json();
    assert_eq!(json["hashed"], 10, "exactly the touched files are read again: {json}");
    assert_eq!(json["artifacts"][0]["workspace"], "unchanged");

    env.write("data/07/f7.txt", "edited\n");
    let run = env.mvc(&["status"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    modified:    data  (0 added, 1 modified, 0 deleted)
        modified: data/07/f7.txt
    ");
}
