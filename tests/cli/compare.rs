//! Comparing versions: `metrics show|diff`, `params diff`, `compare`, `plots`, on four
//! registered versions with different metrics and params.

use crate::harness::TestEnv;

/// `churn` registered four times (v0.1.0 .. v0.1.3). v0.1.2 records no `f1`, v0.1.1 has a
/// non-numeric `note`; the training data changes before v0.1.3.
fn four_versions() -> TestEnv {
    let env = TestEnv::new();
    env.write("data/train.csv", "x\n1\n");
    env.mvc(&["add", "-q", "data"]).ok();
    let versions = [
        (r#"{"auc": 0.71, "f1": 0.60, "loss": {"train": 0.40}}"#, "0.1", "64"),
        (r#"{"auc": 0.75, "f1": 0.62, "loss": {"train": 0.35}, "note": "baseline"}"#, "0.1", "128"),
        (r#"{"auc": 0.74, "loss": {"train": 0.36}}"#, "0.05", "128"),
        (r#"{"auc": 0.80, "f1": 0.66, "loss": {"train": 0.30}}"#, "0.05", "256"),
    ];
    for (i, (metrics, lr, batch)) in versions.iter().enumerate() {
        if i == 3 {
            env.write("data/train.csv", "x\n1\n2\n");
            env.mvc(&["commit", "-q", "data"]).ok();
        }
        env.write("metrics.json", metrics);
        env.write("model.bin", format!("weights {i}"));
        let (lr, batch) = (format!("lr={lr}"), format!("batch={batch}"));
        let mut args = vec!["add", "-q", "model.bin", "--metrics", "metrics.json", "--param", &lr, "--param", &batch];
        args.extend(["--dep", "data"]);
        env.mvc(&args).ok();
        env.git(&["add", "-A"]);
        env.git(&["commit", "-qm", &format!("train {i}")]);
        let register = if i == 0 {
            vec!["register", "-q", "churn", "model.bin", "--allow-unpushed"]
        } else {
            vec!["register", "-q", "churn", "--allow-unpushed"]
        };
        env.mvc(&register).ok();
        if i == 0 {
            env.git(&["add", "-A"]);
        }
    }
    env
}

#[test]
fn metrics_show_over_versions_in_every_format() {
    let env = four_versions();
    let run = env.mvc(&["metrics", "show", "--versions", "churn"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    rev           path        auc    f1  loss.train  note
    churn@v0.1.0  model.bin  0.71   0.6         0.4
    churn@v0.1.1  model.bin  0.75  0.62        0.35  baseline
    churn@v0.1.2  model.bin  0.74              0.36
    churn@v0.1.3  model.bin   0.8  0.66         0.3
    ");
    let run = env.mvc(&["metrics", "show", "--versions", "churn", "--md"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    | rev | path | auc | f1 | loss.train | note |
    |---|---|---|---|---|---|
    | churn@v0.1.0 | model.bin | 0.71 | 0.6 | 0.4 |  |
    | churn@v0.1.1 | model.bin | 0.75 | 0.62 | 0.35 | baseline |
    | churn@v0.1.2 | model.bin | 0.74 |  | 0.36 |  |
    | churn@v0.1.3 | model.bin | 0.8 | 0.66 | 0.3 |  |
    ");
    let run = env.mvc(&["metrics", "show", "churn@v0.1.0", "churn@v0.1.2", "--csv"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    rev,path,auc,f1,loss.train
    churn@v0.1.0,model.bin,0.71,0.6,0.4
    churn@v0.1.2,model.bin,0.74,,0.36
    ");
    let json = env.mvc(&["metrics", "show", "--versions", "churn", "--json"]).ok().json();
    assert_eq!(json["metrics"], serde_json::json!(["auc", "f1", "loss.train", "note"]));
    assert_eq!(json["rows"][2]["rev"], "churn@v0.1.2");
    assert!(json["rows"][2]["metrics"].get("f1").is_none(), "missing is absent, not an error");
}

#[test]
fn metrics_and_params_diffs_name_the_data_change() {
    let env = four_versions();
    let run = env.mvc(&["metrics", "diff", "churn@v0.1.0", "churn@v0.1.3"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    path       metric       old   new   change  change %
    model.bin  auc         0.71   0.8  +0.0900    +12.7%
    model.bin  f1           0.6  0.66  +0.0600    +10.0%
    model.bin  loss.train   0.4   0.3  -0.1000    -25.0%
    dep changed: `model.bin` was made from `data` 82bb628f1b2d -> fe05cec89de8
    ");
    let run = env.mvc(&["params", "diff", "churn@v0.1.2", "churn@v0.1.3"]).ok();
    insta::assert_snapshot!(run.stdout, @r"
    path       param  old  new
    model.bin  batch  128  256
    dep changed: `model.bin` was made from `data` 82bb628f1b2d -> fe05cec89de8
    ");
    let json = env.mvc(&["metrics", "diff", "churn@v0.1.0", "churn@v0.1.1", "--json"]).ok().json();
    assert_eq!(json["changes"][0]["key"], "auc");
    assert!((json["changes"][0]["change"].as_f64().unwrap() - 0.04).abs() < 1e-9);
    let run = env.mvc(&["metrics", "diff"]).ok();
    insta::assert_snapshot!(run.stderr, @"no metrics changed between HEAD and workspace");
}

#[test]
fn compare_shows_one_screen() {
    let env = four_versions();
    let run = env.mvc(&["compare", "churn@v0.1.2", "churn@v0.1.3"]).ok();
    let shown: String = run
        .stdout
        .lines()
        .map(|l| {
            // Oids and dates vary with the machine's clock: keep the shape.
            let l = if l.starts_with("old:") || l.starts_with("new:") {
                l.split("  by ").next().unwrap().to_string()
            } else {
                l.to_string()
            };
            l + "\n"
        })
        .collect();
    insta::assert_snapshot!(shown, @r"
    old: churn@v0.1.2
    new: churn@v0.1.3

    artifacts:
      modified: data  82bb628f1b2d -> fe05cec89de8  (4 B -> 6 B)
      modified: model.bin  1f7e60de7171 -> 7dbb2365b87d  (9 B -> 9 B)

    metrics:
      path       metric       old   new   change  change %
      model.bin  auc         0.74   0.8  +0.0600     +8.1%
      model.bin  f1                0.66
      model.bin  loss.train  0.36   0.3  -0.0600    -16.7%

    params:
      path       param  old  new
      model.bin  batch  128  256

    deps:
      dep changed: `model.bin` was made from `data` 82bb628f1b2d -> fe05cec89de8
    ");
}

#[test]
fn plots_write_a_valid_svg_with_one_path_per_metric() {
    let env = four_versions();
    let run = env.mvc(&["plots", "auc", "f1", "note", "--versions", "churn", "-o", "chart.svg"]).ok();
    insta::assert_snapshot!(run.stderr, @r#"
    warning: `note` at churn@v0.1.1 is "baseline", not a number: not plotted
    wrote `chart.svg` (2 series over 4 versions)
    "#);
    let svg = env.read("chart.svg");
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<path class=\"series\"").count(), 2, "auc and f1; `note` is not numeric");
    for v in ["churn@v0.1.0", "churn@v0.1.1", "churn@v0.1.2", "churn@v0.1.3"] {
        assert!(svg.contains(&format!(">{v}</text>")), "label {v}");
    }
    // Well-formed enough for any XML parser: every element opened is closed.
    let opened = svg.matches('<').count();
    let self_closed = svg.matches("/>").count();
    let closing = svg.matches("</").count();
    assert_eq!(opened - closing, self_closed + closing, "{svg}");
    // The f1 line breaks at v0.1.2, where it is missing: two segments.
    let f1 = svg.lines().find(|l| l.starts_with("<path") && l.contains("data-metric=\"f1\"")).unwrap();
    assert_eq!(f1.matches('M').count(), 2, "{f1}");

    env.mvc(&["plots", "auc", "--versions", "churn", "--by-date", "-o", "dated.svg"]).ok();
    assert_eq!(env.read("dated.svg").matches("<path class=\"series\"").count(), 1);
    env.mvc(&["plots", "auc", "--versions", "churn", "-o", "report.html"]).ok();
    let html = env.read("report.html");
    assert!(html.contains("<svg") && html.contains("<td>0.8</td>") && !html.contains("<script"));
    let run = env.mvc(&["plots", "nothing", "--versions", "churn"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: nothing to plot: `nothing` is not recorded in any of these versions
    hint: list the recorded metrics with `mvc metrics show`
    ");
}
