//! `mvc init --subdir`: several mvc projects in one git repository (a monorepo), each with
//! its own config, cache, remote and state, its paths relative to its own directory.

use crate::harness::TestEnv;

/// A git repository with the projects `a/` and `b/`, each with one committed artifact and
/// its own local-directory remote (`../remote-a`, `../remote-b`).
fn monorepo() -> TestEnv {
    let env = TestEnv::bare_git();
    env.write("README.md", "monorepo\n");
    env.git(&["add", "README.md"]);
    env.git(&["commit", "-qm", "root"]);
    for (project, artifact, content) in [("a", "data/train.bin", "train rows"), ("b", "model.bin", "weights")] {
        let dir = env.path(project);
        std::fs::create_dir_all(&dir).unwrap();
        env.mvc_in(&dir, &["init", "--subdir", "-q", "-m", &format!("init {project}")]).ok();
        env.write(&format!("{project}/{artifact}"), content);
        env.mvc_in(&dir, &["add", artifact, "-q", "-m", &format!("add {project}")]).ok();
        let remote = env.root.parent().unwrap().join(format!("remote-{project}"));
        // Loose, so the test can count each remote's objects.
        env.mvc_in(
            &dir,
            &["remote", "add", "-q", "--layout", "loose", "origin", remote.to_str().unwrap(), "-m", "remote"],
        )
        .ok();
        env.mvc_in(&dir, &["push", "-q"]).ok();
    }
    env
}

#[test]
fn two_projects_push_and_pull_each_their_own_data() {
    let env = monorepo();
    // Pointers and ignore lines are project-relative, as in a project at the root.
    assert!(env.read("a/data/train.bin.mvc").contains("path: train.bin"));
    assert_eq!(env.read("a/data/.gitignore"), "/train.bin\n");
    assert!(env.read("a/.mvc/config").contains("remote-a"));
    assert!(env.read("b/.mvc/config").contains("remote-b"));
    // Each project has its own per-clone state; the root layout is untouched.
    assert!(env.private("projects/a/cache/blake3").is_dir());
    assert!(env.private("projects/b/cache/blake3").is_dir());
    assert!(!env.private("cache").exists());
    // Each remote holds only its own project's data.
    let count = |dir: &str| walk_files(&env.root.parent().unwrap().join(dir).join("blake3")).len();
    assert_eq!((count("remote-a"), count("remote-b")), (1, 1));

    let clone = env.clone_repo();
    for (project, artifact, content) in [("a", "data/train.bin", "train rows"), ("b", "model.bin", "weights")] {
        clone.mvc_in(&clone.path(project), &["pull", "-q"]).ok();
        assert_eq!(clone.read(&format!("{project}/{artifact}")), content);
    }
    // Status from a directory nested inside a project sees that project only.
    let run = clone.mvc_in(&clone.path("a/data"), &["status", "--json"]).ok();
    let paths: Vec<String> = run.json()["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| a["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, ["data/train.bin"]);
    let run = clone.mvc_in(&clone.path("b"), &["ls"]).ok();
    insta::assert_snapshot!(run.stdout, @"file  3edc5c4a5df8                     7 B  model.bin  (cached)");
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk_files(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

#[test]
fn init_below_the_root_without_subdir_is_refused_with_a_hint() {
    let env = TestEnv::bare_git();
    std::fs::create_dir_all(env.path("proj")).unwrap();
    let run = env.mvc_in(&env.path("proj"), &["init"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `$ROOT/proj` is below the git work tree's root `$ROOT`
    hint: run `mvc init --subdir` to make this directory its own mvc project (as in a monorepo), or run `mvc init` at the root
    ");
    assert!(!env.path("proj/.mvc").exists() && !env.path(".mvc").exists());
    // `--subdir` at the root itself makes no sense.
    env.mvc(&["init", "--subdir"]).fails();
    env.mvc_in(&env.path("proj"), &["init", "--subdir", "-q"]).ok();
    // Idempotent, from inside the project too.
    std::fs::create_dir_all(env.path("proj/deep")).unwrap();
    env.mvc_in(&env.path("proj/deep"), &["init", "-q"]).ok();
    assert!(!env.path("proj/deep/.mvc").exists());
}

#[test]
fn a_project_cannot_reach_into_another_or_outside() {
    let env = monorepo();
    env.write("b/other.bin", "b's file");
    env.write("outside.bin", "root file");
    for target in ["../b/other.bin", "../outside.bin"] {
        let run = env.mvc_in(&env.path("a"), &["add", target]).fails();
        assert!(run.stderr.contains("is outside the mvc project"), "{target}: {}", run.stderr);
    }
    // A project at the root does not take over the projects below it.
    env.mvc(&["init", "-q"]).ok();
    let run = env.mvc(&["add", "b/other.bin"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `b/other.bin` belongs to the mvc project in `b`, not to this one
    hint: run mvc inside `b` to work on it
    ");
    let run = env.mvc(&["ls"]).ok();
    assert_eq!(run.stdout, "", "the root project lists none of a's or b's artifacts");
    // A pointer in `a` naming a path in `b` is refused when read.
    env.write("a/evil.bin.mvc", env.read("b/model.bin.mvc").replace("path: model.bin", "path: ../b/model.bin"));
    env.git(&["add", "a/evil.bin.mvc"]);
    let run = env.mvc_in(&env.path("a"), &["status"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("evil.bin.mvc"), "{}", run.stderr);
}

#[test]
fn log_and_diff_in_a_subdir_project() {
    let env = monorepo();
    let a = env.path("a");
    env.write("a/data/train.bin", "more train rows");
    env.mvc_in(&a, &["commit", "-q", "-m", "more rows"]).ok();
    // git sees the pointer at its git-root path; mvc shows it project-relative.
    let changed = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(changed, "a/data/train.bin.mvc\n");
    let run = env.mvc_in(&a, &["diff", "HEAD~1", "--json"]).ok();
    let json = run.json();
    let text = json.to_string();
    assert!(text.contains("\"data/train.bin\""), "{text}");
    assert!(text.contains("modified"), "{text}");
    let run = env.mvc_in(&a.join("data"), &["log", "train.bin", "--json"]).ok();
    let entries = run.json();
    let messages: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["subject"].as_str().unwrap_or("")).collect();
    assert_eq!(messages.len(), 2, "{entries}");
    // checkout --rev restores the older version in the project.
    env.mvc_in(&a, &["checkout", "--rev", "HEAD~1", "data/train.bin", "-q"]).ok();
    assert_eq!(env.read("a/data/train.bin"), "train rows");
}

#[test]
fn hooks_serve_every_project_that_installed_them() {
    let env = monorepo();
    env.mvc_in(&env.path("a"), &["install", "-q"]).ok();
    env.mvc_in(&env.path("b"), &["install", "-q"]).ok();
    let hook = std::fs::read_to_string(env.path(".git/hooks/post-checkout")).unwrap();
    assert!(hook.contains("# mvc-project: a\n# mvc-project: b\n"), "{hook}");

    env.git(&["checkout", "-qb", "experiment"]);
    env.write("a/data/train.bin", "experiment rows");
    env.write("b/model.bin", "experiment weights");
    env.mvc_in(&env.path("a"), &["commit", "-q", "-m", "exp a"]).ok();
    env.mvc_in(&env.path("b"), &["commit", "-q", "-m", "exp b"]).ok();
    // A branch switch at the git root checks out both projects' data.
    env.git(&["checkout", "-q", "main"]);
    assert_eq!(env.read("a/data/train.bin"), "train rows");
    assert_eq!(env.read("b/model.bin"), "weights");
    // pre-commit refuses a modified artifact in either project.
    env.write("b/model.bin", "edited");
    env.write("a/notes.txt", "n");
    env.git(&["add", "a/notes.txt"]);
    env.git(&["commit", "-qm", "a's notes"]); // b's edit is not this commit's business
    env.write("b/notes.txt", "n");
    env.git(&["add", "b/notes.txt"]);
    let run = env.git_run(&["commit", "-qm", "b's notes"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("modified:    model.bin"), "{}", run.stderr);
    // A project missing from the checked-out tree (an orphan branch, the commit removing it)
    // is skipped, not an error.
    env.git(&["checkout", "-q", "--orphan", "fresh"]);
    env.git(&["rm", "-rqf", "."]);
    env.write("x.txt", "x");
    env.git(&["add", "x.txt"]);
    let run = env.git_run(&["commit", "-qm", "unrelated history"]);
    assert_eq!(run.code, 0, "{run:?}");
    env.git(&["checkout", "-qf", "main"]);
    // Uninstalling one project keeps the hook for the other.
    env.mvc_in(&env.path("b"), &["install", "--uninstall", "-q"]).ok();
    let hook = std::fs::read_to_string(env.path(".git/hooks/post-checkout")).unwrap();
    assert!(hook.contains("# mvc-project: a\n") && !hook.contains("mvc-project: b"), "{hook}");
    env.mvc_in(&env.path("a"), &["install", "--uninstall", "-q"]).ok();
    assert!(!env.path(".git/hooks/post-checkout").exists());
}

/// The `gto` executable, or a loud note that the check against it is skipped.
#[allow(clippy::print_stderr)] // the loud warning when GTO is missing is the point
fn gto_available() -> bool {
    let ok = std::process::Command::new("gto").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("\n\n*** `gto` IS NOT INSTALLED: the subdir registry is NOT checked against GTO ***\n\n");
    }
    ok
}

#[test]
fn registry_of_a_subdir_project_is_read_by_gto() {
    let env = monorepo();
    let b = env.path("b");
    let run = env.mvc_in(&b, &["register", "churn", "model.bin", "-q"]).ok();
    assert_eq!(run.stdout, "");
    env.mvc_in(&b, &["promote", "churn", "v0.1.0", "--to", "production", "-q"]).ok();
    // The registry is the git repository's: `artifacts.yaml` at its root, paths from there.
    assert_eq!(env.read("artifacts.yaml"), "churn:\n  type: model\n  path: b/model.bin\n");
    assert!(!env.path("b/artifacts.yaml").exists());
    let tag = env.git(&["tag", "-l", "--format=%(contents)", "churn@v0.1.0"]);
    assert!(tag.contains("path: b/model.bin"), "{tag}");
    // mvc in the project resolves the version to its own paths.
    let show = env.mvc_in(&b, &["show", "churn@v0.1.0", "--json"]).ok().json();
    assert_eq!(show["path"], "model.bin", "{show}");
    env.write("b/model.bin", "changed");
    env.mvc_in(&b, &["checkout", "--rev", "churn#production", "-q", "--force"]).ok();
    assert_eq!(env.read("b/model.bin"), "weights");
    // Project a cannot act on b's artifact.
    let run = env.mvc_in(&env.path("a"), &["show", "churn@v0.1.0"]).fails();
    assert!(run.stderr.contains("outside this mvc project"), "{}", run.stderr);

    if !gto_available() {
        return;
    }
    let run = env.bash_in(&env.root.clone(), "gto show --json");
    assert_eq!(run.code, 0, "{run:?}");
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("gto show --json");
    assert_eq!(shown["churn"]["version"], "v0.1.0", "{shown}");
    assert_eq!(shown["churn"]["stage"]["production"], "v0.1.0", "{shown}");
    let run = env.bash_in(&env.root.clone(), "gto show churn --json");
    assert_eq!(run.code, 0, "{run:?}");
    let versions: serde_json::Value = serde_json::from_str(&run.stdout).expect("gto show churn --json");
    assert_eq!(versions[0]["version"], "v0.1.0", "{versions}");
    assert_eq!(versions[0]["stages"][0]["stage"], "production", "{versions}");
    // GTO's reading of `artifacts.yaml` names the git-root path.
    assert_eq!(versions[0]["enrichments"][0]["enrichments"][0]["artifact"]["path"], "b/model.bin", "{versions}");
    let run = env.bash_in(&env.root.clone(), "gto doctor");
    assert!(run.code == 0 && run.stdout.contains("No issues found"), "{run:?}");
}

/// The shell block after `<!-- monorepo -->` in docs/monorepo.md.
fn monorepo_doc() -> String {
    let doc = include_str!("../../docs/monorepo.md");
    let start = doc.find("<!-- monorepo -->").expect("the doc marks its example");
    let rest = &doc[start..];
    let body = &rest[rest.find("```sh\n").expect("a sh block") + 6..];
    body[..body.find("```").expect("the block ends")].to_string()
}

#[test]
fn monorepo_doc_runs_as_printed() {
    let env = TestEnv::bare_git();
    let base = env.root.parent().unwrap().to_path_buf();
    let script = monorepo_doc().replace("s3://bucket/", &format!("{}/remotes/", base.display()));
    let run = env.bash_in(&base, &script);
    assert_eq!(run.code, 0, "the example failed:\n{}", run.stderr);
    let read = |rel: &str| std::fs::read_to_string(base.join("monorepo").join(rel)).unwrap();
    assert_eq!(read("artifacts.yaml"), "corpus:\n  type: dataset\n  path: nlp/data\n");
    assert!(read("nlp/data.mvc").contains("path: data"));
    assert_eq!(read("vision/.gitignore"), "/model.bin\n");
    assert!(run.stdout.contains("nlp: corpus") && !run.stdout.contains("vision: model"), "{}", run.stdout);
    for project in ["vision", "nlp"] {
        assert!(base.join("remotes").join(project).join("mvc-remote.yaml").is_file(), "{project} pushed to its remote");
    }
}
