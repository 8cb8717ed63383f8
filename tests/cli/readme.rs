//! Docs that run: README's tour, exactly as printed, against a local-directory remote.

use crate::harness::TestEnv;

/// The shell block after `<!-- tour -->` in README.md.
fn tour() -> String {
    let readme = include_str!("../../README.md");
    let start = readme.find("<!-- tour -->").expect("README marks its tour");
    let rest = &readme[start..];
    let body = &rest[rest.find("```sh\n").expect("a sh block") + 6..];
    body[..body.find("```").expect("the block ends")].to_string()
}

#[test]
fn readme_tour_runs_as_printed() {
    let env = TestEnv::bare_git();
    // The project the tour starts in: a git repository with a model, a dataset and a
    // committed metrics file.
    let project = env.root.parent().unwrap().join("my-project");
    std::fs::rename(&env.root, &project).unwrap();
    std::fs::create_dir_all(&env.root).unwrap();
    std::fs::write(project.join("model.safetensors"), vec![7u8; 1 << 20]).unwrap();
    std::fs::create_dir_all(project.join("data")).unwrap();
    std::fs::write(project.join("data/train.csv"), "x,y\n1,0.5\n").unwrap();
    std::fs::write(project.join("data/test.csv"), "x,y\n2,0.7\n").unwrap();
    std::fs::write(project.join("metrics.json"), r#"{"auc": 0.91}"#).unwrap();
    let setup = env.bash_in(&project, "git add metrics.json && git commit -qm 'Add metrics'");
    assert_eq!(setup.code, 0, "{setup:?}");

    let remote = env.root.parent().unwrap().join("remote");
    let script = tour().replace("s3://bucket/models", remote.to_str().unwrap()).replace("<url>", "../my-project");
    let run = env.bash_in(env.root.parent().unwrap(), &script);
    assert_eq!(run.code, 0, "the tour failed:\n{}", run.stderr);
    assert!(run.stderr.contains("+ mvc plots auc --versions churn -o auc.html"), "every line ran: {}", run.stderr);

    let elsewhere = env.root.parent().unwrap().join("elsewhere");
    // The last line went back to v0.1.0: its weights are in the workspace again.
    let v1 = std::fs::read(elsewhere.join("model.safetensors")).unwrap();
    assert_eq!(v1, vec![7u8; 1 << 20]);
    assert!(std::fs::read_to_string(elsewhere.join("auc.html")).unwrap().contains("<svg"));
    let tags = env.bash_in(&elsewhere, "git tag --list 'churn*'");
    assert!(tags.stdout.contains("churn@v0.1.0") && tags.stdout.contains("churn@v0.2.0"), "{}", tags.stdout);
}

/// Runs an example script with the binary under test.
fn run_example(name: &str) -> crate::harness::Run {
    let env = TestEnv::bare_git();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name);
    let line = format!("MVC_BIN={} bash {}", env!("CARGO_BIN_EXE_mvc"), script.display());
    env.bash_in(&env.root, &line)
}

#[test]
fn quickstart_example_runs() {
    let run = run_example("quickstart.sh");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("quickstart: OK"), "{}", run.stdout);
}

#[test]
fn registry_example_runs() {
    let run = run_example("registry.sh");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// Every ```sh block of a doc page, in order.
fn sh_blocks(doc: &str) -> Vec<String> {
    doc.split("```sh\n").skip(1).map(|rest| rest[..rest.find("```").expect("the block ends")].to_string()).collect()
}

#[test]
fn docs_remotes_commands_run() {
    let env = TestEnv::new();
    env.git(&["commit", "-qm", "init"]);
    let blocks = sh_blocks(include_str!("../../docs/remotes.md"));
    assert!(blocks.len() >= 3, "docs/remotes.md has its command blocks");
    for block in blocks {
        let run = env.bash_in(&env.root, &block);
        assert_eq!(run.code, 0, "a block of docs/remotes.md failed:\n{block}\n{}", run.stderr);
    }
    let listed = env.mvc(&["remote", "list"]).ok().stdout;
    assert!(listed.contains("origin") && listed.contains("[default]"), "{listed}");
    assert!(env.git(&["log", "--format=%s"]).contains("Store data on S3"));
}

#[test]
fn docs_migrate_commands_run() {
    // A DVC 2 repository (the committed fixture) that also has one git-lfs file.
    let env = crate::harness::TestEnv::bare_git();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dvc2");
    env.bash_in(
        &env.root,
        &format!(
            "cp -a {}/. . && mv gitignore .gitignore && printf '*.lfs filter=lfs\\n' > .gitattributes \\
             && sha=$(printf y | sha256sum | cut -c1-64) && mkdir -p .git/lfs/objects/${{sha:0:2}}/${{sha:2:2}} \\
             && printf y > .git/lfs/objects/${{sha:0:2}}/${{sha:2:2}}/$sha \\
             && printf 'version https://git-lfs.github.com/spec/v1\\noid sha256:%s\\nsize 1\\n' $sha > a.lfs \\
             && git add -A && git commit -qm old",
            fixture.display()
        ),
    )
    .ok();
    let blocks = sh_blocks(include_str!("../../docs/migrate.md"));
    assert_eq!(blocks.len(), 3, "docs/migrate.md has its command blocks");
    for block in blocks {
        let run = env.bash_in(&env.root, &block);
        assert_eq!(run.code, 0, "a block of docs/migrate.md failed:\n{block}\n{}", run.stderr);
    }
    assert_eq!(env.read("model.pkl"), "weights, version 2 layout");
    assert_eq!(env.read("a.lfs"), "y");
    assert_eq!(env.git(&["status", "--porcelain", "--untracked-files=no"]), "");
}
