//! The model registry: register, promote, rollback, deprecate, unassign, models, show,
//! history, check, lineage, and registry references in pull and get.

use crate::harness::TestEnv;

/// Commit ids and oids vary with the temp paths in the committed config: `<id>` in snapshots.
fn redact(text: &str) -> String {
    text.split_inclusive(|c: char| c.is_whitespace() || c == '`' || c == ')' || c == '(')
        .map(|piece| {
            let word = piece.trim_end_matches(|c: char| c.is_whitespace() || c == '`' || c == ')' || c == '(');
            if word.len() >= 12 && word.bytes().all(|b| b.is_ascii_hexdigit()) {
                piece.replacen(word, "<id>", 1)
            } else {
                piece.to_string()
            }
        })
        .collect()
}

/// data/ (v1) and model.bin made from it, with metrics and params, pushed to a
/// local-directory remote.
fn trained() -> TestEnv {
    let env = TestEnv::new();
    let store = env.path("../store");
    env.mvc(&["remote", "add", "--layout", "loose", "origin", store.to_str().unwrap()]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "init"]);
    env.write("data/train.csv", "x,y\n1,0\n");
    env.mvc(&["add", "-q", "data", "-m", "data v1"]).ok();
    env.write("metrics.json", r#"{"auc": 0.81, "loss": {"train": 0.30}}"#);
    env.write("model.bin", "weights v1");
    env.mvc(&[
        "add",
        "-q",
        "model.bin",
        "--metrics",
        "metrics.json",
        "--param",
        "lr=0.1",
        "--dep",
        "data",
        "--desc",
        "churn model",
        "-m",
        "model v1",
    ])
    .ok();
    env.mvc(&["push", "-q"]).ok();
    env
}

#[test]
fn register_promote_rollback_and_show() {
    let env = trained();
    let run = env.mvc(&["register", "churn", "model.bin"]).ok();
    insta::assert_snapshot!(redact(&run.stderr), @r"
    declared `churn` in artifacts.yaml (commit <id>)
    registered `churn@v0.1.0` on commit <id>
    share it with `git push origin refs/tags/churn@v0.1.0`
    ");
    assert!(env.read("artifacts.yaml").contains("churn:\n  type: model\n  path: model.bin\n"));
    env.mvc(&["promote", "churn", "v0.1.0", "--to", "production"]).ok();

    // A better model: `commit` re-reads the metrics file recorded as its source.
    env.write("metrics.json", r#"{"auc": 0.85, "loss": {"train": 0.25}}"#);
    env.write("model.bin", "weights v2");
    env.mvc(&["commit", "-q", "model.bin", "-m", "model v2"]).ok();
    let run = env.mvc(&["register", "churn", "--bump", "minor"]).fails();
    insta::assert_snapshot!(redact(&run.stderr), @r"
    error: `model.bin` (<id>) is not on the default remote, so others could not pull this version
    hint: push it with `mvc push`, or register anyway with `--allow-unpushed`
    ");
    env.mvc(&["push", "-q"]).ok();
    env.mvc(&["register", "-q", "churn", "--bump", "minor"]).ok();
    env.mvc(&["promote", "-q", "churn", "v0.2.0", "--to", "production"]).ok();
    env.mvc(&["promote", "-q", "churn", "v0.2.0", "--to", "staging"]).ok();

    let run = env.mvc(&["models"]).ok();
    insta::assert_snapshot!(run.stdout, @"churn  latest v0.2.0  production=v0.2.0 staging=v0.2.0");
    let json = env.mvc(&["show", "churn#production", "--json"]).ok().json();
    assert_eq!(json["version"], "v0.2.0");
    assert_eq!(json["meta"]["metrics"]["auc"], 0.85);
    assert_eq!(json["meta"]["params"]["lr"], 0.1);
    assert_eq!(json["deps"][0]["path"], "data");

    let run = env.mvc(&["rollback", "churn", "--stage", "production"]).ok();
    insta::assert_snapshot!(redact(&run.stderr), @r"
    rolled back: `churn#production!#4` on commit <id>
    share it with `git push origin 'refs/tags/churn#production!#4'`
    ");
    let json = env.mvc(&["show", "churn#production", "--json"]).ok().json();
    assert_eq!(json["version"], "v0.1.0");
    assert_eq!(json["meta"]["metrics"]["auc"], 0.81);
    // Nothing earlier to go back to.
    let run = env.mvc(&["rollback", "churn", "--stage", "production"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `churn` has no earlier version in `production` to roll back to
    hint: name one with `--to VERSION`; `mvc history churn` lists them
    ");

    env.mvc(&["unassign", "-q", "churn", "--stage", "staging"]).ok();
    env.mvc(&["deprecate", "-q", "churn", "v0.1.0"]).ok();
    let run = env.mvc(&["history", "churn"]).ok();
    insta::assert_snapshot!(redact(&run.stdout), @r"
    2026-01-01 00:00  deregister v0.1.0             <id>  Test User  Deregister churn@v0.1.0
    2026-01-01 00:00  unassign v0.2.0 from staging  <id>  Test User  Unassign churn: unassign v0.2.0 from staging
    2026-01-01 00:00  unassign v0.2.0 from production  <id>  Test User  Roll back churn: unassign v0.2.0 from production
    2026-01-01 00:00  promote v0.2.0 to staging     <id>  Test User  Promote churn staging to v0.2.0
    2026-01-01 00:00  promote v0.2.0 to production  <id>  Test User  Promote churn production to v0.2.0
    2026-01-01 00:00  register v0.2.0               <id>  Test User  Register churn@v0.2.0
    2026-01-01 00:00  promote v0.1.0 to production  <id>  Test User  Promote churn production to v0.1.0
    2026-01-01 00:00  register v0.1.0               <id>  Test User  Register churn@v0.1.0
    ");
    let run = env.mvc(&["show", "churn"]).ok();
    insta::assert_snapshot!(redact(&run.stdout), @"v0.2.0  <id>  2026-01-01 00:00  -");
}

#[test]
fn registry_refusals_name_the_problem() {
    let env = trained();
    let run = env.mvc(&["register", "churn"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `churn` is not declared in `artifacts.yaml` yet
    hint: give its path the first time: `mvc register churn PATH`
    ");
    let run = env.mvc(&["register", "bad-", "model.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `bad-` is not a valid artifact name
    hint: use letters, digits, `-`, `_` and `/`, starting and ending with a letter or digit
    ");
    env.mvc(&["register", "-q", "churn", "model.bin", "--version", "v1.0.0"]).ok();
    let run = env.mvc(&["register", "churn", "--version", "v0.9.0", "--allow-unpushed"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: v0.9.0 is not greater than the latest version of `churn`, v1.0.0
    hint: use `--bump patch` for v1.0.1
    ");
    let run = env.mvc(&["register", "churn", "--version", "1.2"]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = env.mvc(&["promote", "churn", "v3.0.0", "--to", "production"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `churn@v3.0.0` is not registered
    hint: list versions with `mvc show churn`
    ");
    env.mvc(&["config", "set", "registry.stages", "[staging, production]"]).ok();
    let run = env.mvc(&["promote", "churn", "v1.0.0", "--to", "qa"]).fails();
    insta::assert_snapshot!(run.stderr, @r#"
    error: `qa` is not one of the allowed stages: staging, production
    hint: the list is `.gto`'s `stages` or mvc's `registry.stages`
    "#);
    let run = env.mvc(&["show", "nothing#production"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `nothing` has no registered versions
    hint: register one with `mvc register nothing PATH`
    ");
}

#[test]
fn check_lineage_and_registry_refs_in_pull_and_get() {
    let env = trained();
    env.mvc(&["register", "-q", "churn", "model.bin"]).ok();
    env.mvc(&["register", "-q", "train-data", "data", "--type", "dataset"]).ok();
    env.mvc(&["promote", "-q", "churn", "v0.1.0", "--to", "production"]).ok();
    env.write("model.bin", "weights v2");
    env.mvc(&["commit", "-q", "model.bin", "-m", "model v2"]).ok();
    env.mvc(&["push", "-q"]).ok();
    env.mvc(&["register", "-q", "churn"]).ok();

    env.mvc(&["config", "set", "registry.required_meta", "[metrics.auc, desc]"]).ok();
    let run = env.mvc(&["check", "churn"]).ok();
    insta::assert_snapshot!(run.stderr, @"checked 2 versions; 0 problems");
    env.mvc(&["config", "set", "registry.required_meta", "[params.epochs]"]).ok();
    let run = env.mvc(&["check", "churn", "--stage", "production"]).fails();
    insta::assert_snapshot!(run.stdout, @"churn@v0.1.0: metadata `params.epochs` is missing (rule `params.epochs`)");

    let run = env.mvc(&["lineage", "churn@v0.1.0"]).ok();
    insta::assert_snapshot!(redact(&run.stdout), @r#"
    churn@v0.1.0 (model.bin)  commit <id>  params {"lr":0.1}
        <- train-data@v0.1.0 (data)  commit <id>
    "#);
    let run = env.mvc(&["lineage", "churn@v0.1.0", "--format", "mermaid"]).ok();
    insta::assert_snapshot!(run.stdout, @r#"
    flowchart LR
        n0["churn@v0.1.0 (model.bin)"]
        n1["train-data@v0.1.0 (data)"]
        n1 --> n0
    "#);

    // A fresh clone pulls the production version by name.
    let clone = env.clone_repo();
    clone.mvc(&["pull", "-q", "churn#production"]).ok();
    assert_eq!(clone.read("model.bin"), "weights v1");
    // And `get` fetches a registered version from the project without a workspace.
    let out = env.path("../elsewhere");
    std::fs::create_dir_all(&out).unwrap();
    env.mvc_in(&out, &["get", env.root.to_str().unwrap(), "churn@v0.1.1", "-o", "model-latest.bin"]).ok();
    assert_eq!(std::fs::read_to_string(out.join("model-latest.bin")).unwrap(), "weights v2");
}

#[test]
fn push_sends_the_new_tag_to_origin() {
    let env = trained();
    let bare = env.path("../origin.git");
    let init = std::process::Command::new("git").args(["init", "-q", "--bare"]).arg(&bare).status().unwrap();
    assert!(init.success());
    env.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    env.git(&["push", "-q", "origin", "main"]);
    env.mvc(&["register", "-q", "churn", "model.bin", "--push"]).ok();
    env.git(&["push", "-q", "origin", "main"]); // the declaration commit
    env.mvc(&["promote", "-q", "churn", "v0.1.0", "--to", "production", "--push"]).ok();
    let out = std::process::Command::new("git").arg("-C").arg(&bare).args(["tag", "--list"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "churn#production#1\nchurn@v0.1.0\n");
}
