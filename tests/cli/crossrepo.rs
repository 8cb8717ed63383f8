//! Across repositories: `import`, `update`, `status --imports`, `ls URL`, and lineage of
//! imports, against a source project with a local-directory remote.

use crate::harness::TestEnv;

/// A source project: `model.bin` (v1) and `data/` pushed to a local-directory remote,
/// `churn@v0.1.0` registered and promoted to production.
fn source() -> TestEnv {
    let env = TestEnv::new();
    let store = env.path("../store");
    env.mvc(&["remote", "add", "origin", store.to_str().unwrap()]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "init"]);
    env.write("data/a.csv", "x\n1\n");
    env.write("data/b.csv", "x\n2\n");
    env.mvc(&["add", "-q", "data", "-m", "data"]).ok();
    env.write("model.bin", "weights v1");
    env.mvc(&["add", "-q", "model.bin", "--dep", "data", "-m", "model v1"]).ok();
    env.mvc(&["push", "-q"]).ok();
    env.mvc(&["register", "-q", "churn", "model.bin"]).ok();
    env.mvc(&["promote", "-q", "churn", "v0.1.0", "--to", "production"]).ok();
    env
}

/// The project that imports: initialised and committed.
fn consumer() -> TestEnv {
    let env = TestEnv::new();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "init"]);
    env
}

/// A new commit of `model.bin` in the source, pushed.
fn retrain(src: &TestEnv, weights: &str) {
    src.write("model.bin", weights);
    src.mvc(&["commit", "-q", "model.bin", "-m", weights]).ok();
    src.mvc(&["push", "-q"]).ok();
}

/// The `meta.source` line of a pointer, with the source's path and commit ids replaced.
fn source_line(env: &TestEnv, src: &TestEnv, pointer: &str) -> String {
    let text = env.read(pointer);
    let line = text.lines().find(|l| l.trim_start().starts_with("source:")).expect("a source line").trim();
    redact(line, src)
}

fn redact(text: &str, src: &TestEnv) -> String {
    let text = text.replace(src.root.to_str().unwrap(), "$SRC");
    text.split_inclusive(|c: char| c.is_whitespace() || "`,{}()\"".contains(c))
        .map(|piece| {
            let word = piece.trim_end_matches(|c: char| c.is_whitespace() || "`,{}()\"".contains(c));
            let word = word.trim_start_matches('"');
            if word.len() >= 12 && word.bytes().all(|b| b.is_ascii_hexdigit()) {
                piece.replacen(word, "<id>", 1)
            } else {
                piece.to_string()
            }
        })
        .collect::<String>()
        .replace("\"<id>\"", "<id>")
}

#[test]
fn crossrepo_import_by_path_and_by_reference() {
    let src = source();
    let env = consumer();
    let url = src.root.to_str().unwrap();

    let run = env.mvc(&["import", url, "model.bin", "-o", "models/churn.bin"]).ok();
    insta::assert_snapshot!(redact(&run.stderr, &src), @"imported `models/churn.bin` (10 B) from `$SRC` `model.bin` at <id>");
    assert_eq!(env.read("models/churn.bin"), "weights v1");
    assert_eq!(env.pointer_oid("models/churn.bin"), src.pointer_oid("model.bin"));
    insta::assert_snapshot!(source_line(&env, &src, "models/churn.bin.mvc"), @"source: {commit: <id>, oid: <id>, path: model.bin, repo: $SRC, rev: null}");
    // Pointer and ignore line are staged; the data is ignored.
    let staged = env.git(&["diff", "--cached", "--name-only"]);
    assert_eq!(staged, "models/.gitignore\nmodels/churn.bin.mvc\n");
    assert_eq!(env.mvc(&["status", "--json"]).ok().json()["artifacts"][0]["workspace"], "unchanged");

    let json = env.mvc(&["import", url, "churn#production", "-m", "import churn", "--json"]).ok().json();
    assert_eq!(json["out"], "model.bin", "{json}");
    assert_eq!(json["source"]["rev"], "churn#production");
    assert_eq!(json["source"]["path"], "model.bin");
    assert_eq!(json["source"]["oid"], src.pointer_oid("model.bin"));
    assert!(json["commit"].is_string(), "{json}");
    assert_eq!(env.git(&["status", "--porcelain"]), "A  models/.gitignore\nA  models/churn.bin.mvc\n");

    // A directory, at a revision, under `--rev`.
    let json = env.mvc(&["import", url, "data", "--rev", "main", "--json"]).ok().json();
    assert_eq!(json["kind"], "dir");
    assert_eq!(json["nfiles"], 2);
    assert_eq!(json["source"]["rev"], "main");
    assert_eq!(env.read("data/b.csv"), "x\n2\n");

    let run = env.mvc(&["import", url, "model.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `model.bin` already exists
    hint: remove it, or choose another path with `-o`
    ");
    let run = env.mvc(&["import", url, "data/a.csv", "-o", "a.csv"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `data/a.csv` is inside the tracked directory `data` of that project
    hint: import whole artifacts (or copy one file with `mvc get`)
    ");
}

#[test]
fn crossrepo_update_follows_a_branch_and_a_stage() {
    let src = source();
    let env = consumer();
    let url = src.root.to_str().unwrap();
    env.mvc(&["import", "-q", url, "model.bin", "-o", "latest.bin", "-m", "latest"]).ok();
    env.mvc(&["import", "-q", url, "churn#production", "-o", "prod.bin", "-m", "prod"]).ok();

    let run = env.mvc(&["update"]).ok();
    insta::assert_snapshot!(redact(&run.stderr, &src), @r"
    unchanged `latest.bin` (<id> at <id>)
    unchanged `prod.bin` (<id> at <id>)
    ");

    retrain(&src, "weights v2");
    let json = env.mvc(&["status", "--imports", "--json"]).ok().json();
    let imports = json["imports"].as_array().expect("imports");
    assert_eq!(imports.len(), 2, "{json}");
    assert_eq!((imports[0]["out"].clone(), imports[0]["moved"].clone()), ("latest.bin".into(), true.into()));
    assert_eq!((imports[1]["out"].clone(), imports[1]["moved"].clone()), ("prod.bin".into(), false.into()));
    let run = env.mvc(&["status", "--imports"]).ok();
    assert!(redact(&run.stdout, &src).contains("moved: latest.bin (source now at <id>, oid <id>)"), "{}", run.stdout);

    let json = env.mvc(&["update", "--json", "-m", "update"]).ok().json();
    assert_eq!(json["artifacts"][0]["change"], "updated", "{json}");
    assert_eq!(json["artifacts"][1]["change"], "unchanged", "{json}");
    assert_eq!(env.read("latest.bin"), "weights v2");
    assert_eq!(env.read("prod.bin"), "weights v1");
    assert_eq!(env.pointer_oid("latest.bin"), src.pointer_oid("model.bin"));
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    // Promote v0.2.0: the production import follows the stage's new holder.
    src.mvc(&["register", "-q", "churn", "--bump", "minor"]).ok();
    src.mvc(&["promote", "-q", "churn", "v0.2.0", "--to", "production"]).ok();
    let run = env.mvc(&["update", "prod.bin"]).ok();
    assert!(run.stderr.starts_with("updated `prod.bin`"), "{}", run.stderr);
    assert_eq!(env.read("prod.bin"), "weights v2");
    assert!(env.read("prod.bin.mvc").contains(r#"rev: "churn#production""#));
    assert_eq!(env.mvc(&["status", "--json"]).ok().json()["artifacts"][1]["workspace"], "unchanged");

    // Lineage follows the import to the source project's commit.
    let run = env.mvc(&["lineage", "prod.bin"]).ok();
    insta::assert_snapshot!(redact(&run.stdout, &src), @r"
    prod.bin <id>
        <- $SRC: model.bin <id> (churn#production)  commit <id>
    ");
    let json = env.mvc(&["lineage", "prod.bin", "--json"]).ok().json();
    assert_eq!(json["nodes"][1]["repo"], src.root.to_str().unwrap(), "{json}");

    let run = env.mvc(&["update", "latest.bin", "--rev", "churn@v0.1.0"]).ok();
    assert!(run.stderr.starts_with("updated `latest.bin`"), "{}", run.stderr);
    assert_eq!(env.read("latest.bin"), "weights v1");

    env.write("mine.bin", "local");
    env.mvc(&["add", "-q", "mine.bin"]).ok();
    let run = env.mvc(&["update", "mine.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `mine.bin` was not imported from another project
    hint: import it with `mvc import URL PATH`
    ");
}

#[test]
fn crossrepo_ls_url_lists_sizes_and_versions_without_data() {
    let src = source();
    retrain(&src, "weights v2!");
    src.mvc(&["register", "-q", "churn", "--bump", "minor"]).ok();
    src.mvc(&["promote", "-q", "churn", "v0.2.0", "--to", "staging"]).ok();
    let env = consumer();
    let url = src.root.to_str().unwrap();

    let run = env.mvc(&["ls", url]).ok();
    insta::assert_snapshot!(redact(&run.stdout, &src), @r"
    dir   <id>          8 B in 2 files  data
    file  <id>                    11 B  model.bin  (churn@v0.2.0 [staging], churn@v0.1.0 [production])
    ");
    let json = env.mvc(&["ls", url, "model.bin", "--json"]).ok().json();
    let artifacts = json["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 1, "{json}");
    assert_eq!(artifacts[0]["size"], 11);
    assert_eq!(artifacts[0]["oid"], src.pointer_oid("model.bin"));
    assert_eq!(artifacts[0]["versions"][1]["version"], "v0.2.0");
    assert_eq!(artifacts[0]["versions"][1]["latest"], true);
    assert_eq!(artifacts[0]["versions"][0]["stages"][0], "production");

    let json = env.mvc(&["ls", url, "--rev", "churn@v0.1.0", "--json"]).ok().json();
    assert_eq!(json["artifacts"][1]["size"], 10, "{json}");
    // Nothing was downloaded or left behind here.
    assert!(!env.path("model.bin").exists());
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    // A path in this project is still a path.
    env.write("local.bin", "x");
    env.mvc(&["add", "-q", "local.bin"]).ok();
    assert!(env.mvc(&["ls", "local.bin"]).ok().stdout.contains("local.bin"));
}

#[test]
fn crossrepo_hostile_sources_are_refused() {
    let src = source();
    let env = consumer();
    let url = src.root.to_str().unwrap();

    // A registry tag whose path escapes the project.
    src.git(&[
        "tag",
        "-a",
        "evil@v1.0.0",
        "-m",
        "Register evil@v1.0.0\n\n```yaml\npath: ../../etc/passwd\noid: abc\n```",
    ]);
    src.write("artifacts.yaml", "evil:\n  path: ../../etc/passwd\n");
    src.git(&["add", "artifacts.yaml"]);
    src.git(&["commit", "-qm", "evil"]);
    let run = env.mvc(&["import", url, "evil@v1.0.0"]).fails();
    assert!(run.stderr.contains("names no path") || run.stderr.contains("not a path inside"), "{}", run.stderr);
    let run = env.mvc(&["import", url, "../../etc/passwd"]).fails();
    insta::assert_snapshot!(run.stderr, @"error: `../../etc/passwd` is not a path inside the project (give it relative to the project's root)");
    let run = env.mvc(&["import", url, "model.bin", "-o", "../outside.bin"]).fails();
    assert!(run.stderr.contains("outside the repository"), "{}", run.stderr);
    assert!(!env.path("../outside.bin").exists());

    // A recorded source path that escapes (a hostile commit to this project) is refused.
    env.mvc(&["import", "-q", url, "model.bin"]).ok();
    let pointer = env.read("model.bin.mvc").replace("path: model.bin,", "path: ../../secret,");
    env.write("model.bin.mvc", pointer);
    let run = env.mvc(&["update"]).fails();
    assert!(run.stderr.contains("`meta.source.path` of `model.bin.mvc`"), "{}", run.stderr);

    // A URL that looks like an option reaches `git clone` as a URL, never as an option.
    let marker = env.path("../pwned");
    let hostile = format!("--upload-pack=touch {}", marker.display());
    let run = env.mvc(&["import", "-o", "x.bin", "--", &hostile, "model.bin"]).fails();
    assert!(run.stderr.contains("`git clone` of `--upload-pack"), "{}", run.stderr);
    // For `ls`, one with `://` (so it is taken as a URL; the shell would ignore the rest).
    let run = env.mvc(&["ls", "--", &format!("{hostile} #://x")]).fails();
    assert!(run.stderr.contains("`git clone` of `--upload-pack"), "{}", run.stderr);
    assert!(!marker.exists());

    // Credentials in the URL are never stored nor printed.
    let secret_url = "https://bob:s3cretT0ken@127.0.0.1:9/team/models.git";
    let run = env.mvc(&["import", secret_url, "model.bin", "-o", "y.bin"]).fails();
    assert!(!run.stderr.contains("s3cretT0ken") && !run.stderr.contains("bob"), "{}", run.stderr);
    assert!(run.stderr.contains("https://<redacted>@127.0.0.1:9/team/models.git"), "{}", run.stderr);
    let run = env.mvc(&["ls", secret_url, "--json"]).fails();
    assert!(!run.stderr.contains("s3cretT0ken"), "{}", run.stderr);
}
