//! docs/json.md is a promise: each documented `--json` output has exactly the fields the
//! command prints: no undocumented field, no missing top-level one (compared as sets of key
//! paths, recursively, on a real run).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::TestEnv;

/// The first ```json block after the line that mentions `header` in docs/json.md.
fn documented(header: &str) -> Value {
    let doc = include_str!("../../docs/json.md");
    let at = doc.find(header).unwrap_or_else(|| panic!("docs/json.md documents {header}"));
    let rest = &doc[at..];
    let body = &rest[rest.find("```json\n").expect("a json block") + 8..];
    let block = &body[..body.find("```").expect("the block ends")];
    serde_json::from_str(block).unwrap_or_else(|e| panic!("{header}: the documented example is JSON: {e}\n{block}"))
}

/// Every key path of a JSON value (`artifacts[].path`), arrays merged.
fn shape(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = format!("{prefix}{k}");
                out.insert(path.clone());
                shape(v, &format!("{path}."), out);
            }
        }
        Value::Array(items) => {
            for item in items {
                shape(item, &format!("{prefix}[]."), out);
            }
        }
        _ => {}
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    shape(value, "", &mut out);
    out
}

/// Asserts that a real output prints no undocumented key, and every documented top-level
/// key (nested ones may be optional, as a failed checkout's `error`).
#[track_caller]
fn matches_doc(header: &str, actual: &Value) {
    let (doc, real) = (keys(&documented(header)), keys(actual));
    let missing: Vec<&String> = doc.difference(&real).filter(|k| !k.contains('.')).collect();
    let extra: Vec<&String> = real.difference(&doc).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{header}: documented but not printed {missing:?}; printed but not documented {extra:?}\n{actual:#}"
    );
}

#[test]
fn core_and_remote_outputs_match_docs_json() {
    let env = TestEnv::bare_git();
    matches_doc("`mvc init --json`", &env.mvc(&["init", "--json"]).ok().json());
    let remote = env.path("../store");
    let added =
        env.mvc(&["remote", "add", "--layout", "loose", "origin", remote.to_str().unwrap(), "--json"]).ok().json();
    matches_doc("`mvc remote add|remove|default|modify|trust --json`", &added);
    matches_doc("`mvc remote list --json`", &env.mvc(&["remote", "list", "--json"]).ok().json());
    env.write("data/a.csv", "a");
    env.write("data/b.csv", "b");
    env.write("model.bin", "weights");
    matches_doc("`mvc add --json`", &env.mvc(&["add", "data", "model.bin", "--json"]).ok().json());
    env.write("data/a.csv", "changed");
    matches_doc("`mvc status --json`", &env.mvc(&["status", "--json"]).json());
    matches_doc("`mvc commit --json`", &env.mvc(&["commit", "--json", "-m", "v1"]).ok().json());
    matches_doc("`mvc push --json`", &env.mvc(&["push", "--json"]).ok().json());
    matches_doc("`mvc status --remote --json`", &env.mvc(&["status", "-c", "--json"]).ok().json());
    std::fs::remove_file(env.path("model.bin")).unwrap();
    matches_doc("`mvc checkout --json`", &env.mvc(&["checkout", "--json"]).ok().json());
    matches_doc("`mvc ls [--rev REV] --json [--remote]`", &env.mvc(&["ls", "-c", "--json"]).ok().json());
    matches_doc("`mvc fsck --json`", &env.mvc(&["fsck", "--json"]).ok().json());
    let set = env.mvc(&["config", "set", "core.jobs", "4", "--json"]).ok().json();
    matches_doc("`mvc config set --json`", &set);
    matches_doc("`mvc install --json`", &env.mvc(&["install", "--json"]).ok().json());
    matches_doc("`mvc doctor --json`", &env.mvc(&["doctor", "--json"]).ok().json());
    matches_doc("`mvc unprotect --json`", &env.mvc(&["unprotect", "data", "--json"]).ok().json());
    let moved = env.mvc(&["move", "model.bin", "weights.bin", "--json"]).ok().json();
    matches_doc("`mvc remove --json` / `mvc move --json`", &env.mvc(&["remove", "data", "--json"]).ok().json());
    assert_eq!(moved["to"], "weights.bin");

    // `commit -m` committed `.mvc/config` with the remote, so a clone can pull at once.
    let clone = env.clone_repo();
    matches_doc("`mvc fetch --json` / `mvc pull --json`", &clone.mvc(&["pull", "--json"]).ok().json());
}

#[test]
fn import_outputs_match_docs_json() {
    let env = TestEnv::bare_git();
    env.bash_in(
        &env.root,
        "mkdir .dvc && printf 'x' > m.bin && printf 'outs:\\n- md5: 9dd4e461268c8034f5c8564e155c67a6\\n  path: m.bin\\n' > m.bin.dvc \
         && printf '/m.bin\\n' > .gitignore && git add -A && git commit -qm dvc",
    )
    .ok();
    matches_doc("`mvc import-dvc --json`", &env.mvc(&["import-dvc", "--json"]).ok().json());
    env.bash_in(
        &env.root,
        "git commit -qm mvc && printf '*.lfs filter=lfs\\n' > .gitattributes && sha=$(printf y | sha256sum | cut -c1-64) \
         && mkdir -p .git/lfs/objects/${sha:0:2}/${sha:2:2} && printf y > .git/lfs/objects/${sha:0:2}/${sha:2:2}/$sha \
         && printf 'version https://git-lfs.github.com/spec/v1\\noid sha256:%s\\nsize 1\\n' $sha > a.lfs \
         && git add -A && git commit -qm lfs",
    )
    .ok();
    matches_doc("`mvc import-lfs --json`", &env.mvc(&["import-lfs", "--json"]).ok().json());
}

#[test]
fn crossrepo_outputs_match_docs_json() {
    let src = TestEnv::new();
    let store = src.path("../store");
    src.mvc(&["remote", "add", "origin", store.to_str().unwrap()]).ok();
    src.write("model.bin", "weights v1");
    src.mvc(&["add", "-q", "model.bin", "-m", "v1"]).ok();
    src.mvc(&["push", "-q"]).ok();
    src.mvc(&["register", "-q", "churn", "model.bin"]).ok();
    let url = src.root.to_str().unwrap();
    let env = TestEnv::new();
    matches_doc("`mvc import URL PATH --json`", &env.mvc(&["import", url, "model.bin", "--json"]).ok().json());
    src.write("model.bin", "weights v2");
    src.mvc(&["commit", "-q", "model.bin", "-m", "v2"]).ok();
    src.mvc(&["push", "-q"]).ok();
    matches_doc("`mvc status --imports --json`", &env.mvc(&["status", "--imports", "--json"]).ok().json());
    matches_doc("`mvc update [OUT…] --json`", &env.mvc(&["update", "--json"]).ok().json());
    matches_doc("`mvc ls URL [PATH…] [--rev REV] --json`", &env.mvc(&["ls", url, "--json"]).ok().json());
    matches_doc("`mvc lineage REF --json`", &env.mvc(&["lineage", "model.bin", "--json"]).ok().json());
}
