//! Experiments: `mvc exp run|save|show|diff|apply|branch|remove|push|pull|gc`, experiment
//! names as revisions, step logs in `metrics show` and `plots --steps`, gc's scope.

use crate::harness::TestEnv;

/// A project with a tracked model that records `params.yaml` and `metrics.json`, and a
/// training script that writes both plus a step log from `lr`.
fn project() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        "train.sh",
        "#!/bin/sh\nset -e\nlr=$(awk '/^lr:/ {print $2}' params.yaml)\nmkdir -p logs\n: > logs/train.jsonl\n\
         for s in 1 2 3; do awk -v s=$s -v lr=$lr 'BEGIN {printf \"{\\\"step\\\": %d, \\\"loss\\\": %.3f}\\n\", s, 1/(1+lr*s)}' >> logs/train.jsonl; done\n\
         awk -v lr=$lr 'BEGIN {printf \"{\\\"auc\\\": %.2f}\\n\", 0.5+lr}' > metrics.json\n\
         printf 'weights %s\\n' \"$lr\" > model.bin\n",
    );
    env.bash_in(&env.root, "chmod +x train.sh");
    env.write("params.yaml", "# knobs\nlr: 0.1  # learning rate\nbatch: 32\n");
    assert_eq!(env.bash_in(&env.root, "./train.sh").code, 0);
    env.mvc(&["add", "-q", "model.bin", "--params", "params.yaml", "--metrics", "metrics.json"]).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "baseline"]);
    env
}

fn head(env: &TestEnv) -> String {
    env.git(&["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn runs_are_saved_without_touching_branch_index_or_workspace_pointers() {
    let env = project();
    let before = head(&env);
    let pointer_before = env.read("model.bin.mvc");
    let run = env.mvc(&["exp", "run", "-n", "fast", "--set", "lr=0.3", "--", "./train.sh"]).ok();
    assert_eq!(run.stdout, "fast\n");
    assert!(run.stderr.contains("set 1 param in `params.yaml`"), "{}", run.stderr);
    // --set kept the comments and the other keys.
    assert_eq!(env.read("params.yaml"), "# knobs\nlr: 0.3  # learning rate\nbatch: 32\n");
    assert_eq!(head(&env), before, "the branch did not move");
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]), "", "nothing staged");
    assert_eq!(env.read("model.bin.mvc"), pointer_before, "the workspace pointer is untouched");
    // The experiment's commit: parent HEAD, the re-recorded pointer, params, metrics, log.
    assert_eq!(env.git(&["rev-parse", "refs/exps/fast^"]).trim(), before);
    let files = env.git(&["show", "--name-only", "--format=", "refs/exps/fast"]);
    insta::assert_snapshot!(files, @r"
    logs/train.jsonl
    metrics.json
    model.bin.mvc
    params.yaml
    ");
    let pointer = env.git(&["show", "refs/exps/fast:model.bin.mvc"]);
    assert!(pointer.contains("auc: 0.8") && pointer.contains("lr: 0.3"), "{pointer}");
    let oid = pointer.lines().find_map(|l| l.strip_prefix("oid: ")).unwrap();
    assert!(env.object(oid).exists(), "the run's model is in the cache");
    let message = env.git(&["log", "-1", "--format=%B", "refs/exps/fast"]);
    assert!(message.contains("Exp-Command: ./train.sh") && message.contains("Exp-Status: ok"), "{message}");
}

#[test]
fn a_failed_run_is_saved_and_marked() {
    let env = project();
    let run = env.mvc(&["exp", "run", "-n", "broken", "--", "sh", "-c", "./train.sh; exit 3"]).fails();
    assert!(
        run.stderr.contains("error: the command failed (exit 3); the run is saved as `broken`, marked failed"),
        "{}",
        run.stderr
    );
    let show = env.mvc(&["exp", "show", "--json"]).ok().json();
    assert_eq!(show["experiments"][0]["status"], "failed");
    assert_eq!(show["experiments"][0]["exit"], 3);
    // A taken name is refused before the command runs.
    let again = env.mvc(&["exp", "run", "-n", "broken", "--", "touch", "ran"]).fails();
    assert!(again.stderr.contains("an experiment named `broken` already exists"), "{}", again.stderr);
    assert!(!env.path("ran").exists());
}

#[test]
fn show_sorts_filters_and_prints_every_format() {
    let env = project();
    for (name, lr) in [("a", "0.1"), ("b", "0.3"), ("c", "0.2")] {
        env.mvc(&["exp", "run", "-q", "-n", name, "--set", &format!("lr={lr}"), "--", "./train.sh"]).ok();
    }
    let run = env.mvc(&["exp", "show", "--sort-by", "auc", "--sort-order", "desc"]).ok();
    let base = &head(&env)[..7];
    insta::assert_snapshot!(run.stdout.replace(base, "BASE___"), @r"
    experiment  base     created           status  batch   lr  auc
    b           BASE___  2026-01-01 00:00  ok         32  0.3  0.8
    c           BASE___  2026-01-01 00:00  ok         32  0.2  0.7
    a           BASE___  2026-01-01 00:00  ok         32  0.1  0.6
    ");
    let run = env.mvc(&["exp", "show", "--where", "auc>0.65", "--sort-by", "lr", "--csv"]).ok();
    insta::assert_snapshot!(run.stdout.replace(base, "BASE___"), @r"
    experiment,base,created,status,batch,lr,auc
    c,BASE___,2026-01-01 00:00,ok,32,0.2,0.7
    b,BASE___,2026-01-01 00:00,ok,32,0.3,0.8
    ");
    let run = env.mvc(&["exp", "show", "--where", "auc>0.65", "--md"]).ok();
    assert!(
        run.stdout.starts_with("| experiment | base | created | status | batch | lr | auc |\n|---|"),
        "{}",
        run.stdout
    );
    let run = env.mvc(&["exp", "show", "--sort-by", "f1"]).fails();
    assert!(run.stderr.contains("no experiment has a metric or param named `f1`"), "{}", run.stderr);
    let run = env.mvc(&["exp", "show", "--where", "auc"]).fails();
    assert!(run.stderr.contains("`auc` is not a condition"), "{}", run.stderr);

    let run = env.mvc(&["exp", "diff", "a", "b"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
            key    a    b   change
    param   lr   0.1  0.3  +0.2000
    metric  auc  0.6  0.8  +0.2000
    ");
}

#[test]
fn experiment_names_are_revisions_everywhere() {
    let env = project();
    env.mvc(&["exp", "run", "-q", "-n", "a", "--set", "lr=0.3", "--", "./train.sh"]).ok();
    let run = env.mvc(&["metrics", "show", "a", "HEAD"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    rev   path       auc
    a     model.bin  0.8
    HEAD  model.bin  0.6
    ");
    let run = env.mvc(&["params", "diff", "HEAD", "a"]).ok();
    assert!(run.stdout.contains("model.bin  lr     0.1  0.3"), "{}", run.stdout);
    let run = env.mvc(&["compare", "HEAD", "a", "--json"]).ok().json();
    assert_eq!(run["artifacts"][0]["change"], "modified");
    assert_eq!(run["new"], "a");
    let run = env.mvc(&["lineage", "model.bin", "--rev", "a", "--json"]).ok().json();
    assert_eq!(run["nodes"][0]["commit"].as_str().unwrap(), env.git(&["rev-parse", "refs/exps/a"]).trim());
    // Registering straight from the experiment's commit.
    env.mvc(&["register", "-q", "churn", "model.bin", "--rev", "a", "--allow-unpushed"]).ok();
    let run = env.mvc(&["metrics", "show", "churn@latest"]).ok();
    assert!(run.stdout.contains("churn@latest  model.bin  0.8"), "{}", run.stdout);
}

#[test]
fn step_logs_stand_in_for_metrics_and_draw_curves_of_several_runs() {
    let env = TestEnv::new();
    env.write("params.yaml", "lr: 1\n");
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "start"]);
    let log = |n: usize, k: f64| -> String {
        (1..=n).map(|s| format!("{{\"step\": {s}, \"loss\": {:.2}, \"acc\": {}}}\n", k / s as f64, s * 10)).collect()
    };
    env.write("logs/train.jsonl", log(4, 1.0));
    env.mvc(&["exp", "save", "-q", "-n", "one"]).ok();
    // Python writes NaN; a half-written last line is skipped.
    env.write("logs/train.jsonl", log(3, 2.0) + "{\"step\": 4, \"loss\": NaN, \"acc\": 40}\n{\"step\": 5, \"lo");
    env.mvc(&["exp", "save", "-q", "-n", "two"]).ok();
    let run = env.mvc(&["exp", "show"]).ok();
    assert!(
        run.stdout.contains("lr  acc  loss  step"),
        "params from params.yaml, metrics from the log: {}",
        run.stdout
    );
    assert!(run.stdout.contains("two ") && run.stdout.contains("NaN"), "{}", run.stdout);
    let run = env.mvc(&["metrics", "show", "one"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    rev  path              acc  loss  step
    one  logs/train.jsonl   40  0.25     4
    ");
    // The workspace's log counts too: a run in progress shows its curve so far.
    env.write("logs/train.jsonl", log(2, 3.0));
    let run = env.mvc(&["plots", "loss", "acc", "--steps", "-o", "steps.svg"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    warning: `loss` of two is NaN or infinite at 1 step(s): not plotted
    wrote `steps.svg` (6 series over 2 panels of step curves)
    ");
    let svg = env.read("steps.svg");
    assert_eq!(svg.matches("<g class=\"panel\"").count(), 2, "one panel per metric");
    for name in ["one", "two", "workspace"] {
        assert!(svg.contains(&format!("data-series=\"{name}\"")), "{name}");
    }
    assert!(svg.contains(">step</text>"), "x axis title");
    let run = env.mvc(&["plots", "loss", "--steps", "--rev", "one", "-o", "one.html"]).ok();
    assert!(run.stderr.contains("1 series"), "{}", run.stderr);
    assert!(env.read("one.html").contains("<td>0.25</td>"));
}

#[test]
fn apply_brings_code_params_and_data_back_and_refuses_to_lose_work() {
    let env = project();
    env.mvc(&["exp", "run", "-q", "-n", "best", "--set", "lr=0.4", "--", "./train.sh"]).ok();
    env.mvc(&["exp", "run", "-q", "-n", "worse", "--set", "lr=0.2", "--", "./train.sh"]).ok();
    // Uncommitted work that no experiment holds is not overwritten.
    env.write("params.yaml", "lr: 9\n");
    let run = env.mvc(&["exp", "apply", "best"]).fails();
    assert!(run.stderr.contains("`params.yaml` has changes that no commit or experiment holds"), "{}", run.stderr);
    env.mvc(&["exp", "apply", "best", "--force"]).ok();
    assert_eq!(env.read("params.yaml"), "# knobs\nlr: 0.4  # learning rate\nbatch: 32\n");
    assert_eq!(env.read("model.bin"), "weights 0.4\n");
    assert_eq!(env.read("metrics.json"), "{\"auc\": 0.90}\n");
    let status = env.mvc(&["status"]).ok();
    assert!(status.stderr.contains("up to date") || status.stdout.contains("up to date"), "{status:?}");
    // Branch, remove, gc.
    env.mvc(&["exp", "branch", "best", "tuned"]).ok();
    assert_eq!(env.git(&["rev-parse", "tuned"]), env.git(&["rev-parse", "refs/exps/best"]));
    env.mvc(&["exp", "remove", "worse"]).ok();
    let run = env.mvc(&["exp", "remove", "worse"]).fails();
    assert!(run.stderr.contains("no experiment named `worse`"), "{}", run.stderr);
    env.git(&["commit", "-qam", "next"]);
    let run = env.mvc(&["exp", "gc", "--dry-run"]).ok();
    assert_eq!(run.stdout, "best\n", "started from the old HEAD");
    env.mvc(&["exp", "gc", "--all-commits"]).ok();
    assert_eq!(env.mvc(&["exp", "show", "--json"]).ok().json()["experiments"].as_array().unwrap().len(), 1);
    env.mvc(&["exp", "gc"]).ok();
    assert_eq!(env.mvc(&["exp", "show", "--json"]).ok().json()["experiments"].as_array().unwrap().len(), 0);
}

#[test]
fn gc_all_experiments_keeps_their_data() {
    let env = project();
    env.mvc(&["exp", "run", "-q", "-n", "a", "--set", "lr=0.3", "--", "./train.sh"]).ok();
    let oid = env.git(&["show", "refs/exps/a:model.bin.mvc"]);
    let oid = oid.lines().find_map(|l| l.strip_prefix("oid: ")).unwrap().to_string();
    env.mvc(&["gc", "-w", "--all-experiments", "--force"]).ok();
    assert!(env.object(&oid).exists(), "kept for the experiment");
    env.mvc(&["gc", "-w", "--force"]).ok();
    assert!(!env.object(&oid).exists(), "only the experiment referenced it");
}

#[test]
fn push_and_pull_move_refs_through_git_and_data_through_the_remote() {
    let env = project();
    let bare = env.root.parent().unwrap().join("origin.git");
    assert_eq!(env.bash_in(env.root.parent().unwrap(), "git init -q --bare -b main origin.git").code, 0);
    env.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let storage = env.root.parent().unwrap().join("storage");
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "storage", storage.to_str().unwrap()]).ok();
    env.git(&["commit", "-qam", "remote"]);
    env.git(&["push", "-q", "origin", "main"]);
    env.mvc(&["exp", "run", "-q", "-n", "a", "--set", "lr=0.3", "--", "./train.sh"]).ok();
    env.mvc(&["exp", "run", "-q", "-n", "b", "--set", "lr=0.2", "--", "./train.sh"]).ok();
    let run = env.mvc(&["exp", "push", "a"]).ok();
    insta::assert_snapshot!(run.stdout + &run.stderr, @r"
    a
    pushed 1 experiment (git remote `origin`, data through `storage` (1 object))
    ");
    env.mvc(&["exp", "push"]).ok();
    let table = env.mvc(&["exp", "show"]).ok().stdout;

    let mate = TestEnv::bare_git();
    std::fs::remove_dir_all(&mate.root).unwrap();
    let out = mate.bash_in(mate.root.parent().unwrap(), &format!("git clone -q {} repo", bare.display()));
    assert_eq!(out.code, 0, "{out:?}");
    let run = mate.mvc(&["exp", "pull", "--json"]).ok().json();
    assert_eq!(run["experiments"], serde_json::json!(["a", "b"]));
    assert_eq!(mate.mvc(&["exp", "show"]).ok().stdout, table);
    mate.mvc(&["exp", "apply", "a"]).ok();
    assert_eq!(mate.read("model.bin"), "weights 0.3\n", "the data came through the mvc remote");
    let run = env.mvc(&["exp", "push", "--git-remote=-x"]).fails();
    assert!(run.stderr.contains("is not a git remote"), "{}", run.stderr);
}

#[test]
fn experiments_example_runs() {
    let env = TestEnv::bare_git();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/experiments.sh");
    let run = env.bash_in(&env.root, &format!("MVC_BIN={} bash {}", env!("CARGO_BIN_EXE_mvc"), script.display()));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("experiments: OK"), "{}", run.stdout);
    assert!(run.stdout.contains("lr-0.01     "), "the table: {}", run.stdout);
}

#[test]
fn metrics_input_is_checked_and_non_finite_values_are_kept() {
    let env = TestEnv::new();
    env.write("model.bin", "w");
    // A dotted key and a nested one naming the same value: an error, not a lost value.
    env.write("metrics.json", r#"{"a.b": 1, "a": {"b": 2}}"#);
    let run = env.mvc(&["add", "model.bin", "--metrics", "metrics.json"]).fails();
    assert!(run.stderr.contains("`metrics.json`: the key `a.b` is given twice"), "{}", run.stderr);
    // A metric given as text is refused with a word on what to do.
    let run = env.mvc(&["add", "model.bin", "--metric", "auc=abc"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: `auc=abc`: a metric must be a number, and `abc` is not one
    hint: give a number (`auc=0.91`); text belongs in `--param` or `--desc`
    ");
    // Duplicate keys are named in the user's terms, not the YAML library's.
    env.write("metrics.json", "auc: 1\nauc: 2\n");
    let run = env.mvc(&["add", "model.bin", "--metrics", "metrics.json"]).fails();
    assert!(run.stderr.contains("line 2: the key `auc` appears twice"), "{}", run.stderr);
    assert!(!run.stderr.contains("DuplicateKeyPolicy"), "{}", run.stderr);
    // Python's NaN and -Infinity: kept as markers, shown, and skipped by plots with a note.
    env.write("metrics.json", r#"{"loss": NaN, "gain": -Infinity, "auc": 0.5}"#);
    env.mvc(&["add", "-q", "model.bin", "--metrics", "metrics.json", "-m", "v1"]).ok();
    env.write("metrics.json", r#"{"loss": 0.25, "gain": 2, "auc": 0.75}"#);
    env.mvc(&["commit", "-q", "model.bin", "-m", "v2"]).ok();
    let run = env.mvc(&["metrics", "show", "HEAD~1"]).ok();
    assert!(run.stdout.contains("0.5  -Infinity   NaN"), "{}", run.stdout);
    let run = env.mvc(&["plots", "loss", "auc", "--rev", "HEAD~1", "--rev", "HEAD", "-o", "p.svg"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    warning: `loss` at HEAD~1 is NaN: not plotted
    wrote `p.svg` (2 series over 2 versions)
    ");
    // Integer changes print as integers.
    env.write("metrics.json", r#"{"loss": 0.25, "gain": 50002, "auc": 0.75}"#);
    let run = env.mvc(&["metrics", "diff"]).ok();
    assert!(run.stdout.contains("gain      2  50002  +50000"), "{}", run.stdout);
}

#[test]
fn plots_size_margins_to_labels_round_ticks_and_date_points() {
    let env = TestEnv::new();
    env.write("model.bin", "w");
    for (i, rows) in [100_000, 80_000, 120_000].iter().enumerate() {
        env.write("metrics.json", format!("{{\"rows\": {rows}, \"auc\": 0.{}}}", 7 + i));
        let date = format!("2026-01-0{}T00:00:00Z", i + 1);
        let r = env.mvc_in_with(
            &env.root.clone(),
            &["add", "-q", "model.bin", "--metrics", "metrics.json", "-m", &format!("a-very-long-version-name-{i}")],
            &[("GIT_COMMITTER_DATE", &date)],
        );
        assert_eq!(r.code, 0, "{r:?}");
        env.git(&["tag", &format!("release-candidate-number-{i}")]);
    }
    let tags = ["release-candidate-number-0", "release-candidate-number-1", "release-candidate-number-2"];
    let mut args = vec!["plots", "rows", "auc", "--by-date", "-o", "d.svg"];
    for t in &tags {
        args.extend(["--rev", t]);
    }
    env.mvc(&args).ok();
    let svg = env.read("d.svg");
    assert_eq!(svg.matches("<g class=\"panel\"").count(), 2, "rows and auc on their own axes");
    assert!(svg.contains(">2026-01-01<") || svg.contains("· 2026-01-01<"), "dates under the points: {svg}");
    assert!(svg.contains(">commit date (UTC)</text>") && svg.contains(">rows</text>"), "axis titles");
    // Tick labels are round and never negative for non-negative data.
    let ticks: Vec<&str> = svg
        .lines()
        .filter(|l| l.contains("text-anchor=\"end\">") && !l.contains("class=\"label\""))
        .map(|l| l.rsplit("\">").next().unwrap().trim_end_matches("</text>"))
        .collect();
    assert!(ticks.contains(&"80000") && ticks.contains(&"0.7"), "{ticks:?}");
    assert!(ticks.iter().all(|t| !t.starts_with('-') && t.len() <= 6), "{ticks:?}");
    // The first (rotated) label fits left of the plot: the margin is at least its reach.
    let left: f64 = svg.lines().find(|l| l.contains("stroke=\"black\"")).unwrap().split("x1=\"").nth(1).unwrap()[..5]
        .trim_end_matches('"')
        .parse()
        .unwrap();
    let label = svg.lines().find(|l| l.contains("class=\"label\"")).unwrap();
    let text = label.rsplit("\">").next().unwrap().trim_end_matches("</text>");
    assert!(text.ends_with(" · 2026-01-01"), "{text}");
    assert!(left >= 0.87 * 7.0 * text.chars().count() as f64, "left margin {left} for {text}");

    // compare --csv is CSV.
    let run = env.mvc(&["compare", tags[0], tags[2], "--csv"]).ok();
    let first = run.stdout.lines().next().unwrap();
    assert_eq!(first, "section,path,key,old,new,change,change %");
    assert!(run.stdout.contains("metric,model.bin,rows,100000,120000,+20000,+20.0%"), "{}", run.stdout);
}
