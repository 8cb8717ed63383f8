//! `mvc add`.

use crate::harness::TestEnv;

#[test]
fn add_file_writes_pointer_caches_object_and_stages() {
    let env = TestEnv::new();
    env.write("model.bin", b"weights v1");
    let run = env.mvc(&["add", "model.bin"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    added `model.bin` (10 B) 6acf968046c9
    Staged the pointers; commit them with `git commit`
    ");
    insta::assert_snapshot!(env.git(&["status", "--short"]), @r"
    A  .gitignore
    A  .mvc/.gitignore
    A  .mvc/config
    A  model.bin.mvc
    ");
}
