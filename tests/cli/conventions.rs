//! What DVC and git users type by habit: `-m` commits everything a command staged (so a
//! commit is complete and a clone of it works), and `-r/--remote NAME` names a remote on
//! every command that talks to one (issue #10).

use crate::harness::TestEnv;

/// The files of HEAD's commit, as `git show --stat` lists them.
fn committed_files(env: &TestEnv) -> String {
    env.git(&["show", "--name-only", "--no-renames", "--format=", "HEAD"])
}

#[test]
fn add_with_a_message_commits_a_complete_project_that_a_clone_can_use() {
    let env = TestEnv::bare_git();
    env.mvc(&["init", "-q"]).ok();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin", "-m", "Add the model"]).ok();
    insta::assert_snapshot!(committed_files(&env), @r"
    .gitignore
    .mvc/.gitignore
    .mvc/config
    model.bin.mvc
    ");
    let clone = env.clone_repo();
    let run = clone.mvc(&["status"]);
    assert_eq!(run.code, 0, "a clone is an mvc project: {run:?}");
}

#[test]
fn a_re_add_commits_the_ignore_line_an_earlier_uncommitted_add_wrote() {
    let env = TestEnv::new();
    env.git(&["commit", "-qm", "init"]);
    env.write("model.bin", "v1");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    env.write("model.bin", "v2");
    env.mvc(&["add", "-q", "model.bin", "-m", "v2"]).ok();
    assert!(committed_files(&env).contains(".gitignore"), "{}", committed_files(&env));
    assert!(env.git(&["show", "HEAD:.gitignore"]).contains("/model.bin"));
}

#[test]
fn commit_with_a_message_commits_pointers_staged_earlier() {
    let env = TestEnv::new();
    env.git(&["commit", "-qm", "init"]);
    env.write("model.bin", "v1");
    env.mvc(&["add", "-q", "model.bin"]).ok();
    let run = env.mvc(&["commit", "-m", "Record the model"]).ok();
    assert!(run.stderr.contains("Committed "), "{}", run.stderr);
    insta::assert_snapshot!(committed_files(&env), @r"
    .gitignore
    model.bin.mvc
    ");
    assert_eq!(env.git(&["status", "--porcelain"]), "", "nothing left staged");
}

#[test]
fn init_remove_move_remote_and_config_commit_with_a_message() {
    let env = TestEnv::bare_git();
    env.mvc(&["init", "-q", "-m", "Set up mvc"]).ok();
    insta::assert_snapshot!(committed_files(&env), @r"
    .mvc/.gitignore
    .mvc/config
    ");
    let remote = env.path("../remote");
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", remote.to_str().unwrap(), "-m", "Add a remote"])
        .ok();
    assert_eq!(committed_files(&env), ".mvc/config\n");
    assert!(env.git(&["show", "HEAD:.mvc/config"]).contains("origin"));
    // Without `-m` the change is staged, ready for the user's own commit.
    env.mvc(&["remote", "modify", "-q", "origin", "jobs", "4"]).ok();
    assert_eq!(env.git(&["status", "--porcelain"]), "M  .mvc/config\n");
    env.mvc(&["config", "set", "-q", "core.jobs", "8", "-m", "Tune jobs"]).ok();
    assert_eq!(committed_files(&env), ".mvc/config\n");
    let refused = env.mvc(&["config", "set", "--local", "core.jobs", "2", "-m", "x"]).fails();
    assert!(refused.stderr.contains("never committed"), "{}", refused.stderr);

    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin", "-m", "Add"]).ok();
    let json = env.mvc(&["move", "model.bin", "weights.bin", "-m", "Rename", "--json"]).ok().json();
    assert_eq!(json["to"], "weights.bin");
    assert!(json["commit"].is_string(), "{json}");
    insta::assert_snapshot!(committed_files(&env), @r"
    .gitignore
    model.bin.mvc
    weights.bin.mvc
    ");
    env.mvc(&["remove", "-q", "weights.bin", "-m", "Stop tracking"]).ok();
    insta::assert_snapshot!(committed_files(&env), @r"
    .gitignore
    weights.bin.mvc
    ");
    assert_eq!(env.git(&["status", "--porcelain", "--untracked-files=no"]), "");
}

#[test]
fn remote_names_a_remote_on_every_command_that_talks_to_one() {
    let env = TestEnv::new();
    env.git(&["commit", "-qm", "init"]);
    let remote = env.path("../remote");
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", remote.to_str().unwrap()]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "backup", env.path("../backup").to_str().unwrap()]).ok();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin", "-m", "v1"]).ok();
    for args in [
        &["push", "--remote", "backup"][..],
        &["push", "-r", "origin"],
        &["status", "--remote", "backup"],
        &["status", "-c"],
        &["ls", "--remote", "backup"],
        &["fsck", "--remote", "backup"],
        &["fetch", "--remote", "backup"],
        &["pull", "--remote", "backup"],
        &["gc", "--workspace", "--dry-run", "--remote", "backup"],
        &["checkout", "--rev", "HEAD", "--pull", "--remote", "backup"],
    ] {
        let run = env.mvc(args);
        assert_eq!(run.code, 0, "mvc {args:?}: {run:?}");
    }
    assert!(env.path("../backup/mvc-remote.yaml").exists(), "`--remote backup` was used");
    let run = env.mvc(&["push", "--remote", "nowhere"]).fails();
    assert!(run.stderr.contains("no remote named `nowhere`"), "{}", run.stderr);
}

#[test]
fn completions_know_the_repositorys_remotes() {
    let env = TestEnv::new();
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", "/tmp/mvc-test-r1"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "backup", "/tmp/mvc-test-r2"]).ok();
    let run = env.mvc_with(&["--", "mvc", "push", "--remote", ""], &[("COMPLETE", "fish")], None);
    assert_eq!(run.stdout, "backup\norigin\n", "{run:?}");
    let run = env.mvc_with(&["--", "mvc", "remote", "modify", ""], &[("COMPLETE", "fish")], None);
    assert!(run.stdout.starts_with("backup\norigin\n"), "{run:?}");
    // Registry names complete where a command takes one.
    env.write("model.bin", "w");
    env.mvc(&["add", "-q", "model.bin", "-m", "v1"]).ok();
    env.mvc(&["register", "-q", "--allow-unpushed", "churn", "model.bin"]).ok();
    let run = env.mvc_with(&["--", "mvc", "promote", ""], &[("COMPLETE", "fish")], None);
    assert!(run.stdout.starts_with("churn\n"), "{run:?}");
    let script = env.mvc(&["completions", "bash"]).ok().stdout;
    assert!(script.contains("COMPLETE=\"bash\"") || script.contains("COMPLETE=bash"), "{script}");
}

#[test]
fn doctor_and_man_pages() {
    let env = TestEnv::new();
    let json = env.mvc(&["doctor", "--json"]).ok().json();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["cache"], "$ROOT/.git/mvc/cache");
    let copy = json["link_modes"].as_array().unwrap().iter().find(|m| m["mode"] == "copy").unwrap().clone();
    assert_eq!(copy["works"], true, "{json}");
    let out = env.path("../man");
    env.mvc(&["man", out.to_str().unwrap()]).ok();
    let page = std::fs::read_to_string(out.join("mvc-push.1")).unwrap();
    assert!(page.contains("\\-\\-remote") || page.contains("--remote"), "{page}");
    assert!(out.join("mvc.1").exists());
}

#[test]
fn every_command_that_reports_takes_json() {
    let env = TestEnv::new();
    let help = env.mvc(&["--help"]).ok().stdout;
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with("Options:"))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(commands.len() > 30, "{commands:?}");
    // Groups are checked through their subcommands; these print scripts, files or data
    // (`cat` streams an artifact), not reports.
    let groups = ["remote", "config", "metrics", "params", "exp"];
    let exempt = ["help", "completions", "man", "cat"];
    let mut missing = Vec::new();
    for command in commands.iter().filter(|c| !exempt.contains(c)) {
        let mut invocations: Vec<Vec<String>> = vec![vec![command.to_string()]];
        if groups.contains(command) {
            let sub_help = env.mvc(&[command, "--help"]).ok().stdout;
            invocations = sub_help
                .split("Commands:")
                .nth(1)
                .unwrap_or_default()
                .lines()
                .take_while(|l| !l.starts_with("Options:"))
                .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|s| *s != "help")
                .map(|s| vec![command.to_string(), s.to_string()])
                .collect();
        }
        for args in invocations {
            let mut with_help: Vec<&str> = args.iter().map(String::as_str).collect();
            with_help.push("--help");
            if !env.mvc(&with_help).ok().stdout.contains("--json") {
                missing.push(args.join(" "));
            }
        }
    }
    assert!(missing.is_empty(), "commands without --json: {missing:?}");
}
