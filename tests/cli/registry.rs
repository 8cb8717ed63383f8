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
    2026-01-01 00:00  deregister v0.1.0                <id>  Test User  Deregister churn@v0.1.0
    2026-01-01 00:00  unassign v0.2.0 from staging     <id>  Test User  Unassign churn: unassign v0.2.0 from staging
    2026-01-01 00:00  unassign v0.2.0 from production  <id>  Test User  Roll back churn: unassign v0.2.0 from production
    2026-01-01 00:00  promote v0.2.0 to staging        <id>  Test User  Promote churn staging to v0.2.0
    2026-01-01 00:00  promote v0.2.0 to production     <id>  Test User  Promote churn production to v0.2.0
    2026-01-01 00:00  register v0.2.0                  <id>  Test User  Register churn@v0.2.0
    2026-01-01 00:00  promote v0.1.0 to production     <id>  Test User  Promote churn production to v0.1.0
    2026-01-01 00:00  register v0.1.0                  <id>  Test User  Register churn@v0.1.0
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

/// `trained()` with `churn` registered at v0.1.0 (in production) and v0.2.0..=v0.5.0 after
/// it, each pushed, then a sixth model committed but not registered, so the workspace's
/// pointer names none of the registered versions. Returns the model oids, v1 first.
fn six_models() -> (TestEnv, Vec<String>) {
    let env = trained();
    let mut oids = vec![env.pointer_oid("model.bin")];
    env.mvc(&["register", "-q", "churn", "model.bin"]).ok();
    env.mvc(&["promote", "-q", "churn", "v0.1.0", "--to", "production"]).ok();
    for n in 2..=6 {
        env.write("model.bin", format!("weights v{n}"));
        env.mvc(&["commit", "-q", "model.bin", "-m", &format!("model v{n}")]).ok();
        env.mvc(&["push", "-q"]).ok();
        if n < 6 {
            env.mvc(&["register", "-q", "churn", "--bump", "minor"]).ok();
        }
        oids.push(env.pointer_oid("model.bin"));
    }
    let run = env.mvc(&["models"]).ok();
    // Several tests build on this; `cargo test` runs them in one process.
    insta::allow_duplicates! {
        insta::assert_snapshot!(run.stdout, @"churn  latest v0.5.0  production=v0.1.0");
    }
    (env, oids)
}

/// Which of `oids` (model v1 first) the local cache still holds, as `v1 v3 …`.
fn cached(env: &TestEnv, oids: &[String]) -> String {
    let held: Vec<String> =
        oids.iter().enumerate().filter(|(_, o)| env.object(o).exists()).map(|(i, _)| format!("v{}", i + 1)).collect();
    held.join(" ")
}

/// Which of `oids` the local-directory remote `store` holds, as `v1 v3 …`.
fn on_store(store: &std::path::Path, oids: &[String]) -> String {
    fn files(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                files(&p, out);
            } else if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
                out.push(name.to_string());
            }
        }
    }
    let mut names = Vec::new();
    files(store, &mut names);
    let held: Vec<String> = oids
        .iter()
        .enumerate()
        .filter(|(_, o)| names.iter().any(|n| *n == o[2..]))
        .map(|(i, _)| format!("v{}", i + 1))
        .collect();
    held.join(" ")
}

#[test]
fn gc_keeps_stage_holders_and_the_newest_registered_versions() {
    let (env, oids) = six_models();
    assert_eq!(cached(&env, &oids), "v1 v2 v3 v4 v5 v6");
    // --keep-last 1 alone would keep only v6: production (v1) and the newest three
    // registered versions (v3, v4, v5) stay too; v2 goes.
    env.mvc(&["gc", "--keep-last", "1", "--force"]).ok();
    assert_eq!(cached(&env, &oids), "v1 v3 v4 v5 v6");
    env.mvc(&["gc", "--workspace", "--force"]).ok();
    assert_eq!(cached(&env, &oids), "v1 v3 v4 v5 v6");
    // A deregistered version's data is collectable; the next newest (v2) is already gone.
    env.mvc(&["deprecate", "-q", "churn", "v0.4.0"]).ok();
    env.mvc(&["gc", "--workspace", "--force"]).ok();
    assert_eq!(cached(&env, &oids), "v1 v3 v5 v6");
    // --keep-versions 0: only the stage holder (and the workspace's v6).
    env.mvc(&["gc", "--workspace", "--force", "--keep-versions", "0"]).ok();
    assert_eq!(cached(&env, &oids), "v1 v6");
    // The data directory the workspace names stays throughout.
    env.mvc(&["status", "--check"]).ok();
}

#[test]
fn gc_on_a_remote_keeps_registered_versions_and_collects_deregistered_ones() {
    let (env, oids) = six_models();
    let store = env.path("../store");
    assert_eq!(on_store(&store, &oids), "v1 v2 v3 v4 v5 v6");
    env.mvc(&["deprecate", "-q", "churn", "v0.2.0"]).ok();
    let run = env.mvc(&["gc", "--keep-last", "1", "--keep-versions", "0", "-c", "--grace-days", "0", "--force"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    deleted 4 objects (40 B) from the cache
    deleted 1 object (10 B) from `origin`
    ");
    // Every registered version stays on the remote (others pull them by name); the
    // deregistered v2 goes.
    assert_eq!(on_store(&store, &oids), "v1 v3 v4 v5 v6");
    assert_eq!(cached(&env, &oids), "v1 v6");
    // A fresh clone still pulls a registered version that no branch tip names.
    let clone = env.clone_repo();
    clone.mvc(&["pull", "-q", "churn@v0.3.0"]).ok();
    assert_eq!(clone.read("model.bin"), "weights v3");
}

#[test]
fn promote_gate_enforces_required_metadata_and_thresholds() {
    let env = trained();
    env.write("plain.bin", "no metrics here");
    env.mvc(&["add", "-q", "plain.bin", "-m", "plain model"]).ok();
    env.mvc(&["push", "-q"]).ok();
    env.mvc(&["register", "-q", "plain", "plain.bin"]).ok();
    env.mvc(&["register", "-q", "churn", "model.bin"]).ok();
    env.mvc(&["config", "set", "registry.required_meta", "[metrics]"]).ok();
    // Without the gate, the rule is only `check`'s.
    env.mvc(&["promote", "-q", "plain", "v0.1.0", "--to", "staging"]).ok();
    env.mvc(&["config", "set", "registry.gate", "[promote]"]).ok();
    let run = env.mvc(&["promote", "plain", "v0.1.0", "--to", "production"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `plain@v0.1.0` cannot be promoted: metadata `metrics` is missing (rule `metrics`)
    hint: `registry.gate` enforces `registry.required_meta`; record the metadata with the version's data
    ");
    env.mvc(&["promote", "-q", "churn", "v0.1.0", "--to", "staging"]).ok();

    env.mvc(&["config", "set", "registry.required_meta", "[metrics.auc >= 0.9]"]).ok();
    let run = env.mvc(&["promote", "churn", "v0.1.0", "--to", "production"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `churn@v0.1.0` cannot be promoted: metadata `metrics.auc` is 0.81, which fails rule `metrics.auc >= 0.9`
    hint: `registry.gate` enforces `registry.required_meta`; record the metadata with the version's data
    ");
    let run = env.mvc(&["check", "churn"]).fails();
    insta::assert_snapshot!(run.stdout, @"churn@v0.1.0: metadata `metrics.auc` is 0.81, which fails rule `metrics.auc >= 0.9`");
    env.write("metrics.json", r#"{"auc": 0.93, "loss": {"train": 0.2}}"#);
    env.write("model.bin", "weights v2");
    env.mvc(&["commit", "-q", "model.bin", "-m", "model v2"]).ok();
    env.mvc(&["push", "-q"]).ok();
    env.mvc(&["register", "-q", "churn"]).ok();
    env.mvc(&["promote", "-q", "churn", "v0.1.1", "--to", "production"]).ok();
    let run = env.mvc(&["models"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    churn  latest v0.1.1  production=v0.1.1 staging=v0.1.0
    plain  latest v0.1.0  staging=v0.1.0
    ");
    let run = env.mvc(&["check", "churn", "--stage", "production"]).ok();
    insta::assert_snapshot!(run.stderr, @"checked 1 version; 0 problems");
}

#[test]
#[allow(clippy::print_stderr)] // the loud warning when gpg is missing is the point
fn register_signs_tags_when_git_says_tag_gpgsign() {
    let env = trained();
    if std::process::Command::new("gpg").arg("--version").output().is_err() {
        eprintln!("*** gpg IS NOT INSTALLED: the tag-signing test is SKIPPED; install gnupg to run it ***");
        return;
    }
    let gnupg = tempfile::Builder::new().prefix("g").tempdir_in("/tmp").unwrap();
    let home = gnupg.path().to_str().unwrap().to_string();
    std::fs::set_permissions(gnupg.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let vars = [("GNUPGHOME", home.as_str())];
    let gen_key = env.bash_in(
        &env.root,
        &format!(
            "export GNUPGHOME={home}; gpg --batch --passphrase '' --quick-gen-key 'Test User <test@example.com>' ed25519 sign never"
        ),
    );
    assert_eq!(gen_key.code, 0, "{gen_key:?}");
    env.git(&["config", "tag.gpgSign", "true"]);
    env.mvc_in_with(&env.root.clone(), &["register", "-q", "churn", "model.bin"], &vars).ok();
    env.mvc_in_with(&env.root.clone(), &["promote", "-q", "churn", "v0.1.0", "--to", "production"], &vars).ok();
    for tag in ["churn@v0.1.0", "churn#production#1"] {
        let object = env.git(&["cat-file", "tag", tag]);
        assert!(object.contains("-----BEGIN PGP SIGNATURE-----"), "{tag} is not signed:\n{object}");
        let verify = env.bash_in(&env.root, &format!("export GNUPGHOME={home}; git tag -v '{tag}'"));
        assert_eq!(verify.code, 0, "`git tag -v {tag}` failed: {verify:?}");
    }
    // The signed tags read as mvc's own: metadata block intact, events in order.
    let json = env.mvc(&["show", "churn#production", "--json"]).ok().json();
    assert_eq!(json["version"], "v0.1.0");
    assert_eq!(json["path"], "model.bin");
    let dates = env.git(&["for-each-ref", "--format=%(taggerdate:unix)", "refs/tags/"]);
    let dates: Vec<&str> = dates.lines().collect();
    assert_eq!(dates.len(), 2);
    assert_ne!(dates[0], dates[1], "two events of one artifact in the same second");
    let _ = env.bash_in(&env.root, &format!("GNUPGHOME={home} gpgconf --kill gpg-agent"));
}

#[test]
fn status_reports_a_recorded_dep_that_is_no_longer_current() {
    let env = trained();
    let old = env.pointer_oid("data");
    env.mvc(&["status"]).ok();
    env.write("data/train.csv", "x,y\n1,0\n2,1\n");
    env.mvc(&["commit", "-q", "data", "-m", "data v2"]).ok();
    let new = env.pointer_oid("data");
    let run = env.mvc(&["status"]).ok();
    let text = run.stdout.replace(&old[..12], "<old>").replace(&new[..12], "<new>");
    insta::assert_snapshot!(text, @"stale dep:   model.bin was made from data at <old>; data is now <new>");
    let json = env.mvc(&["status", "--json"]).ok().json();
    let stale = serde_json::to_string(&json["artifacts"][1]["stale_deps"])
        .unwrap()
        .replace(&old, "<old>")
        .replace(&new, "<new>");
    insta::assert_snapshot!(stale, @r#"[{"current":"<new>","path":"data","recorded":"<old>"}]"#);
    assert_eq!(json["artifacts"][0]["stale_deps"], serde_json::json!([]));
    // Retrained on the new data: nothing stale any more.
    env.write("model.bin", "weights v2");
    env.mvc(&["add", "-q", "model.bin", "--dep", "data", "-m", "model v2"]).ok();
    let run = env.mvc(&["status"]).ok();
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!(run.stderr, @"2 artifacts, all up to date");
}
