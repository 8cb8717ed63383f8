//! `mvc add`.

use crate::harness::TestEnv;

#[test]
fn add_file_writes_pointer_caches_object_and_stages() {
    let env = TestEnv::new();
    env.write("model.bin", b"weights v1");
    let run = env.mvc(&["add", "model.bin"]).ok();
    insta::assert_snapshot!(run.stderr, @"");
    assert_eq!(env.git(&["status", "--short"]), "");
}
