//! The differential test of DESIGN §3.5: seeded random sequences of registry events, made by
//! mvc and (when GTO 1.10 is installed) by GTO, many in the same second; after each step
//! `mvc models --json` and `mvc show NAME --json` must equal what `gto show --json` reports.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::harness::TestEnv;

/// The Python interpreter that has GTO 1.10, if any.
fn gto_python() -> Option<String> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import gto, sys; assert gto.__version__.startswith('1.10'), gto.__version__; print(sys.executable)",
        ])
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `gto ARGS` with its clock pinned to `time` (GTO dates tags with the clock; dulwich
/// reads `time.time()`), in the sandbox's environment.
fn gto(env: &TestEnv, py: &str, time: i64, args: &[&str]) -> crate::harness::Run {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "TZ=UTC {py} -c 'import sys, time; time.time = lambda: {time}.0; from gto.cli import app; sys.argv[0] = \"gto\"; sys.exit(app())' {} 2>&1 || true",
        quoted.join(" ")
    );
    env.bash_in(&env.root.clone(), &script)
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const ARTIFACTS: [&str; 2] = ["churn", "fraud"];
const STAGES: [&str; 2] = ["production", "staging"];

fn mvc_at(env: &TestEnv, time: i64, args: &[&str]) -> crate::harness::Run {
    let date = format!("@{time} +0000");
    env.mvc_in_with(&env.root.clone(), args, &[("GIT_COMMITTER_DATE", date.as_str())])
}

/// GTO's `show --json`, mapped onto mvc's `models --json` fields.
fn gto_models(raw: &Value) -> Value {
    let mut out = BTreeMap::new();
    for (name, v) in raw.as_object().expect("object") {
        out.insert(
            name.clone(),
            json!({"latest": v["version"], "stages": v["stage"], "registered": v["registered"], "active": v["active"]}),
        );
    }
    json!(out)
}

fn mvc_models(raw: &Value) -> Value {
    let mut out = BTreeMap::new();
    for m in raw.as_array().expect("array") {
        out.insert(
            m["name"].as_str().expect("name").to_string(),
            json!({"latest": m["latest"], "stages": m["stages"], "registered": m["registered"], "active": m["active"]}),
        );
    }
    json!(out)
}

/// GTO's `show NAME --json`, mapped onto mvc's `show NAME --json` fields.
fn gto_versions(raw: &Value) -> Value {
    json!(
        raw.as_array()
            .expect("array")
            .iter()
            .map(|v| json!({
                "version": v["version"], "commit": v["commit_hexsha"], "active": v["is_active"],
                "registered": !v["registrations"].as_array().expect("list").is_empty(),
                "discovered": v["discovered"], "created_at": v["created_at"], "ref": v["ref"],
                "stages": v["stages"].as_array().expect("list").iter().map(|s| s["stage"].clone()).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )
}

fn mvc_versions(raw: &Value) -> Value {
    json!(
        raw.as_array()
            .expect("array")
            .iter()
            .map(|v| json!({
                "version": v["version"], "commit": v["commit"], "active": v["active"], "registered": v["registered"],
                "discovered": v["discovered"], "created_at": v["created_at"], "ref": v["ref"], "stages": v["stages"],
            }))
            .collect::<Vec<_>>()
    )
}

/// mvc's own invariants, checked with or without GTO.
fn check_invariants(models: &Value, shows: &BTreeMap<String, Value>) {
    for m in models.as_array().expect("array") {
        let name = m["name"].as_str().expect("name");
        let Some(versions) = shows.get(name) else { continue };
        let listed: Vec<&str> =
            versions.as_array().expect("array").iter().filter_map(|v| v["version"].as_str()).collect();
        for (stage, holder) in m["stages"].as_object().expect("stages") {
            if let Some(h) = holder.as_str() {
                assert!(listed.contains(&h), "{name}#{stage} is held by {h}, which `show` does not list: {listed:?}");
                let v = versions.as_array().expect("array").iter().find(|v| v["version"] == *h).expect("listed");
                assert!(v["stages"].as_array().expect("list").iter().any(|s| s == stage), "{h} does not show {stage}");
            }
        }
        if let Some(latest) = m["latest"].as_str() {
            assert!(listed.contains(&latest), "latest {latest} of {name} is not listed");
        }
    }
}

fn run_sequence(seed: u64, steps: usize, py: Option<&str>) -> usize {
    let env = TestEnv::new();
    let mut declared = String::new();
    for a in ARTIFACTS {
        env.write(&format!("{a}.bin"), format!("{a} 0"));
        env.mvc(&["add", &format!("{a}.bin"), "-q"]).ok();
        declared.push_str(&format!("{a}:\n  type: model\n  path: {a}.bin\n"));
    }
    env.write("artifacts.yaml", declared);
    env.git(&["add", "artifacts.yaml"]);
    env.git(&["commit", "-qm", "declare"]);
    let mut rng = Lcg(seed);
    let mut time = 1_767_312_000; // 2026-01-02, after every commit's date
    let mut compared = 0;
    let mut content = 0;
    for step in 0..steps {
        if rng.next(3) == 0 {
            time += 1;
        }
        let a = ARTIFACTS[rng.next(2) as usize];
        let stage = STAGES[rng.next(2) as usize];
        let by_gto = py.is_some() && rng.next(2) == 0;
        let models = mvc_at(&env, time, &["models", "--json", "-d"]).ok().json();
        let state = models.as_array().expect("array").iter().find(|m| m["name"] == a).cloned();
        let versions: Vec<String> = mvc_at(&env, time, &["show", a, "--json"])
            .json()
            .as_array()
            .map(|l| {
                l.iter()
                    .filter(|v| v["registered"] == true)
                    .filter_map(|v| v["version"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let pick = (!versions.is_empty()).then(|| versions[rng.next(versions.len() as u64) as usize].clone());
        let holder = state.as_ref().and_then(|s| s["stages"][stage].as_str().map(String::from));
        let op = rng.next(10);
        let label;
        match (op, by_gto) {
            (0..=2, _) => {
                content += 1;
                env.write(&format!("{a}.bin"), format!("{a} {content}"));
                env.mvc(&["add", &format!("{a}.bin"), "-q", "-m", &format!("{a} {content}")]).ok();
                let bump = ["--bump-patch", "--bump-minor", "--bump-major"][rng.next(3) as usize];
                if let (true, Some(py)) = (by_gto, py) {
                    gto(&env, py, time, &["register", a, "HEAD", bump]);
                    label = format!("gto register {a} {bump}");
                } else {
                    let part = &bump[7..];
                    mvc_at(&env, time, &["register", a, "--allow-unpushed", "--bump", part]);
                    label = format!("mvc register {a} --bump {part}");
                }
            }
            (3..=5, _) if pick.is_some() => {
                let v = pick.clone().expect("some");
                let force = rng.next(2) == 0;
                if let (true, Some(py)) = (by_gto, py) {
                    let mut args = vec!["assign", a, "--version", &v, "--stage", stage];
                    if force {
                        args.push("--force");
                    }
                    gto(&env, py, time, &args);
                } else {
                    let mut args = vec!["promote", a, &v, "--to", stage];
                    if force {
                        args.push("--force");
                    }
                    mvc_at(&env, time, &args);
                }
                label = format!("{} promote {a} {v} {stage} force={force}", if by_gto { "gto" } else { "mvc" });
            }
            (6, _) if holder.is_some() => {
                let h = holder.clone().expect("some");
                if let (true, Some(py)) = (by_gto, py) {
                    gto(&env, py, time, &["unassign", a, "--version", &h, "--stage", stage]);
                } else {
                    mvc_at(&env, time, &["unassign", a, "--stage", stage]);
                }
                label = format!("unassign {a} {stage} ({h})");
            }
            (7, _) if holder.is_some() => {
                mvc_at(&env, time, &["rollback", a, "--stage", stage]);
                label = format!("mvc rollback {a} {stage}");
            }
            (8, _) if pick.is_some() => {
                let v = pick.clone().expect("some");
                if let (true, Some(py)) = (by_gto, py) {
                    gto(&env, py, time, &["deregister", a, "--version", &v]);
                } else {
                    mvc_at(&env, time, &["deprecate", a, &v]);
                }
                label = format!("deregister {a} {v}");
            }
            (9, _) if state.is_some() => {
                if state.as_ref().is_some_and(|s| s["active"] == false) {
                    mvc_at(&env, time, &["deprecate", a, "--undo"]);
                    label = format!("mvc deprecate {a} --undo");
                } else if let (true, Some(py)) = (by_gto, py) {
                    gto(&env, py, time, &["deprecate", a]);
                    label = format!("gto deprecate {a}");
                } else {
                    mvc_at(&env, time, &["deprecate", a]);
                    label = format!("mvc deprecate {a}");
                }
            }
            _ => continue,
        }
        let models = env.mvc(&["models", "--json"]).ok().json();
        let mut shows = BTreeMap::new();
        for a in ARTIFACTS {
            let r = env.mvc(&["show", a, "--json"]);
            if r.code == 0 {
                shows.insert(a.to_string(), r.json());
            }
        }
        check_invariants(&models, &shows);
        if let Some(py) = py {
            let tags = env.git(&["tag", "-l"]);
            let raw = gto(&env, py, time, &["show", "--json"]);
            let theirs: Value = serde_json::from_str(&raw.stdout).unwrap_or_else(|_| {
                panic!("seed {seed} step {step} ({label}): gto show failed:\n{}\ntags:\n{tags}", raw.stdout)
            });
            assert_eq!(
                mvc_models(&models),
                gto_models(&theirs),
                "seed {seed} step {step} after {label}; tags:\n{tags}"
            );
            for (a, ours) in &shows {
                let raw = gto(&env, py, time, &["show", a, "--json"]);
                let theirs: Value = serde_json::from_str(&raw.stdout)
                    .unwrap_or_else(|_| panic!("seed {seed} step {step}: gto show {a} failed:\n{}", raw.stdout));
                assert_eq!(
                    mvc_versions(ours),
                    gto_versions(&theirs),
                    "seed {seed} step {step} after {label}: show {a}; tags:\n{tags}"
                );
            }
            compared += 1;
        }
    }
    compared
}

#[test]
#[allow(clippy::print_stderr)] // the loud warning when GTO is missing is the point
fn mvc_reads_the_registry_as_gto_does() {
    let py = gto_python();
    if py.is_none() {
        eprintln!(
            "WARNING: GTO 1.10 is not installed (`python3 -m pip install gto==1.10.1`): the GTO differential test did NOT compare against GTO; it checks mvc's own invariants only"
        );
    }
    let steps = if py.is_some() { 50 } else { 40 };
    let mut compared = 0;
    for seed in [1, 2, 3, 4] {
        compared += run_sequence(seed, steps, py.as_deref());
    }
    if py.is_some() {
        assert!(compared >= 100, "only {compared} steps were compared with GTO");
    }
}
