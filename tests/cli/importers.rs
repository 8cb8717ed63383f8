//! `mvc import-dvc` and `mvc import-lfs`: coming from DVC or git-lfs in one command. Real
//! repositories made by the real tools when they are installed; the committed fixtures in
//! `tests/fixtures/` (made by `tests/fixtures/make.sh` with real DVC) otherwise.

use std::path::Path;

use crate::harness::TestEnv;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Copies a fixture into the repository (`gitignore` files become `.gitignore`).
fn copy_fixture(env: &TestEnv, name: &str) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let target = to.join(if name == "gitignore" { ".gitignore" } else { &name });
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    copy(&Path::new(FIXTURES).join(name), &env.root);
}

/// Whether `tool --version` runs in the sandbox; says loudly when it does not.
fn have(env: &TestEnv, tool: &str, what: &str) -> bool {
    let ok = env.bash_in(&env.root, &format!("{tool} --version")).code == 0;
    if !ok {
        // The loud warning a test without its real peer must print.
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "WARNING: `{tool}` is not installed; {what} NOT tested with the real tool (committed fixtures only)"
            );
        }
    }
    ok
}

/// The files of `git status --porcelain`, sorted.
fn porcelain(env: &TestEnv) -> String {
    let mut lines: Vec<String> = env.git(&["status", "--porcelain"]).lines().map(str::to_string).collect();
    lines.sort();
    lines.join("\n")
}

/// b3sum-style check: every byte of `rel` is `want`, and the pointer names its BLAKE3.
fn assert_bytes(env: &TestEnv, rel: &str, want: &[u8]) {
    assert_eq!(std::fs::read(env.path(rel)).unwrap(), want, "{rel}");
}

/// Push to a local remote, clone afresh, pull: every byte comes back.
fn assert_round_trip(env: &TestEnv, files: &[(&str, &[u8])]) {
    let store = env.path("../store");
    env.mvc(&["remote", "add", "--layout", "loose", "-d", "roundtrip", store.to_str().unwrap()]).ok();
    env.git(&["commit", "-qam", "remote"]);
    env.mvc(&["push", "-q"]).ok();
    let clone = env.clone_repo();
    clone.mvc(&["pull", "-q"]).ok();
    for (rel, want) in files {
        assert_bytes(&clone, rel, want);
    }
    assert_eq!(porcelain(&clone), "");
    clone.mvc(&["status"]).ok();
}

const DATA_CSV: &[u8] = b"id,label\n1,cat\n2,dog\n";

fn dvc3_files() -> Vec<(&'static str, Vec<u8>)> {
    let mut model = b"model of ".to_vec();
    model.extend_from_slice(DATA_CSV);
    vec![
        ("data.csv", DATA_CSV.to_vec()),
        ("images/a.png", b"png-1".to_vec()),
        ("images/sub/b.png", b"png-2".to_vec()),
        ("model.bin", model),
    ]
}

/// Checks a converted DVC 3 repository (a file, a directory and a pipeline output).
/// Shared by the fixture test and the real-DVC test; `cargo test` runs both in one process,
/// where insta refuses an inline snapshot asserted twice unless told it is on purpose.
fn check_dvc3_import(env: &TestEnv) {
    insta::allow_duplicates! { check_dvc3_import_once(env) }
}

fn check_dvc3_import_once(env: &TestEnv) {
    let run = env.mvc(&["import-dvc", "--dry-run"]).ok();
    assert!(run.stderr.contains("Would import 3 artifacts"), "{}", run.stderr);
    assert_eq!(porcelain(env), "", "a dry run changes nothing");

    let run = env.mvc(&["import-dvc", "--json"]).ok();
    let json = run.json();
    assert_eq!(json["files"], 4, "{json}");
    assert_eq!(json["bytes"], 21 + 10 + 30, "{json}");
    assert_eq!(json["removed"], serde_json::json!(["data.csv.dvc", "images.dvc"]), "{json}");
    assert_eq!(json["artifacts"][2]["path"], "model.bin");
    assert_eq!(json["artifacts"][2]["from"], "dvc.lock:train");
    assert_eq!(json["artifacts"][2]["deps"], serde_json::json!(["data.csv", "images"]));
    assert_eq!(json["remotes"][0]["name"], "storage");
    assert_eq!(json["remotes"][0]["added"], true);

    for (rel, want) in dvc3_files() {
        assert_bytes(env, rel, &want);
    }
    let model = env.read("model.bin.mvc");
    assert!(model.contains(&format!("{{oid: {}, path: data.csv}}", env.pointer_oid("data.csv"))), "{model}");
    assert!(model.contains("cmd: python3 train.py"), "{model}");
    let data = env.read("data.csv.mvc");
    insta::assert_snapshot!(data, @r"
    # mvc pointer: commit this file; the data lives in the mvc cache and remotes
    version: 1
    kind: file
    path: data.csv
    oid: adbd46f70df5cc98892ac4ed2b8fab208f1f275d8ad93bd9564b800888b6a886
    size: 21
    meta:
      desc: labelled rows
      labels: [raw]
      owner: data-team
      type: dataset
    ");
    let config = env.read(".mvc/config");
    assert!(config.contains("s3://bucket/dvc-store") && config.contains("http://127.0.0.1:9"), "{config}");
    assert!(!config.contains("FIXTURE-SECRET"), "credentials are never carried over");

    // Exactly the conversion, staged: pointers in, `.dvc` files out, mvc's config.
    insta::assert_snapshot!(porcelain(env), @r"
    A  .mvc/.gitignore
    A  .mvc/config
    A  data.csv.mvc
    A  images.mvc
    A  model.bin.mvc
    D  data.csv.dvc
    D  images.dvc
    ");
    let status = env.mvc(&["status"]).ok();
    assert!(!status.stdout.contains("modified") && !status.stdout.contains("missing"), "{}", status.stdout);
    env.git(&["commit", "-qm", "mvc"]);
    assert_eq!(porcelain(env), "");

    // Twice is a no-op: the pipeline output is re-read to the same bytes.
    let before = env.read("model.bin.mvc");
    env.mvc(&["import-dvc", "-q"]).ok();
    assert_eq!(env.read("model.bin.mvc"), before);
    assert_eq!(porcelain(env), "");

    let files = dvc3_files();
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(r, b)| (*r, b.as_slice())).collect();
    assert_round_trip(env, &borrowed);
}

#[test]
fn importers_dvc3_fixture_with_data_only_in_dvcs_cache() {
    let env = TestEnv::bare_git();
    copy_fixture(&env, "dvc3");
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "dvc"]);
    assert!(!env.path("data.csv").exists() && !env.path("images").exists());
    check_dvc3_import(&env);
}

#[test]
fn importers_dvc3_made_by_real_dvc() {
    let env = TestEnv::bare_git();
    if !have(&env, "dvc", "import-dvc") {
        return;
    }
    // The same repository as the fixture, made now by the installed DVC, data in the workspace.
    env.bash_in(
        &env.root,
        r#"
dvc init -q
dvc config core.analytics false
printf 'id,label\n1,cat\n2,dog\n' > data.csv
dvc add -q data.csv
sed -i 's/^  path: data.csv$/  path: data.csv\n  desc: labelled rows\n  type: dataset\n  labels:\n  - raw/' data.csv.dvc
printf 'meta:\n  owner: data-team\n' >> data.csv.dvc
mkdir -p images/sub && printf 'png-1' > images/a.png && printf 'png-2' > images/sub/b.png
dvc add -q images
printf 'import pathlib\nd = pathlib.Path("data.csv").read_bytes()\npathlib.Path("model.bin").write_bytes(b"model of " + d)\n' > train.py
dvc stage add -q -n train -d data.csv -d images -d train.py -o model.bin python3 train.py
dvc repro -q
dvc remote add -q -d storage s3://bucket/dvc-store
dvc remote modify -q storage endpointurl http://127.0.0.1:9
dvc remote modify -q --local storage secret_access_key FIXTURE-SECRET-NEVER-COPIED
git add -A && git commit -qm dvc
# One output only in DVC's cache, as after a fresh clone plus `dvc fetch`.
rm -rf images
"#,
    )
    .ok();
    check_dvc3_import(&env);
}

#[test]
fn importers_dvc2_cache_layout_and_relative_remote() {
    let env = TestEnv::bare_git();
    copy_fixture(&env, "dvc2");
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "dvc2"]);
    let run = env.mvc(&["import-dvc"]).ok();
    insta::assert_snapshot!(run.stderr, @r"
    imported `model.pkl` from `model.pkl.dvc` (DVC cache, 25 B)
    added remote `shared` (dvc-storage); DVC's data there is untouched: upload mvc's with `mvc push -r shared`
    Imported 1 artifact, 1 file, 25 B; 1 `.dvc` file replaced
    Staged the conversion; finish it with `git commit` (DVC's cache and remotes are left as they were)
    ");
    assert_bytes(&env, "model.pkl", b"weights, version 2 layout");
    assert_eq!(env.read(".gitignore"), "/model.pkl\n");
    assert!(env.path(".dvc/cache/4f/74168ecbb522d5f30c2960384a5f29").exists(), "DVC's cache is left alone");
    env.git(&["commit", "-qm", "mvc"]);
    assert_eq!(porcelain(&env), "");
}

/// A DVC 3 fixture committed, then `tweak` applied and committed: import-dvc must refuse
/// with `want` in its error and leave every file as it was.
fn refused(tweak: &str, want: &str) {
    let env = TestEnv::bare_git();
    copy_fixture(&env, "dvc3");
    env.bash_in(&env.root, tweak).ok();
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "dvc"]);
    let run = env.mvc(&["import-dvc"]).fails();
    assert!(run.stderr.contains(want), "wanted {want:?} in:\n{}", run.stderr);
    assert_eq!(porcelain(&env), "", "nothing changed");
    assert!(!env.path(".mvc").exists() && !env.path("data.csv.mvc").exists());
}

#[test]
fn importers_hostile_dvc_paths_are_refused_before_anything_is_read() {
    // Paths that reach outside the repository or into `.git`.
    refused(
        "printf 'outs:\\n- md5: acb8838f86fc4063184d5e3e13ad30b6\\n  path: ../../etc/passwd\\n' > evil.dvc",
        "error: `../../etc/passwd` in `evil.dvc` is outside the repository",
    );
    refused(
        "printf 'outs:\\n- md5: acb8838f86fc4063184d5e3e13ad30b6\\n  path: .git/config\\n' > evil.dvc",
        "error: `.git/config` in `evil.dvc` cannot be imported",
    );
    refused(
        "printf 'outs:\\n- md5: acb8838f86fc4063184d5e3e13ad30b6\\n  path: /etc/passwd\\n' > evil.dvc",
        "`/etc/passwd` in `evil.dvc` is not inside the repository",
    );
    refused(
        "sed -i 's|path: model.bin|path: ../outside.bin|' dvc.lock",
        "`../outside.bin` in `dvc.lock` is outside the repository",
    );
}

#[test]
fn importers_corrupt_dvc_cache_entries_are_refused() {
    // A file whose content does not match its md5.
    refused(
        "chmod u+w .dvc/cache/files/md5/ac/b8838f86fc4063184d5e3e13ad30b6; echo tampered > .dvc/cache/files/md5/ac/b8838f86fc4063184d5e3e13ad30b6",
        "DVC's cache entry `.dvc/cache/files/md5/ac/b8838f86fc4063184d5e3e13ad30b6` for `data.csv` does not match its md5",
    );
    // A directory manifest that lists a path outside the directory (its md5 made to match).
    refused(
        r#"m='[{"md5": "1d1d0d3f83a0a204c32b0c6d4ae637bd", "relpath": "../../../x"}]'
md5=$(printf '%s' "$m" | md5sum | cut -c1-32)
mkdir -p .dvc/cache/files/md5/${md5:0:2}
printf '%s' "$m" > .dvc/cache/files/md5/${md5:0:2}/${md5:2}.dir
sed -i "s/487124971b854f44efb11e6695654d87.dir/$md5.dir/" images.dvc"#,
        "DVC's manifest of `images` lists a path mvc refuses",
    );
    // A workspace file that is not what DVC recorded.
    refused("printf 'edited' > data.csv", "`data.csv` differs from what `data.csv.dvc` records");
}

/// Checks a git-lfs repository with `models/a.bin` and `b.bin` tracked by `*.bin`.
/// Shared by the fixture test and the real-git-lfs test (see [`check_dvc3_import`]).
fn check_lfs_import(env: &TestEnv) {
    insta::allow_duplicates! { check_lfs_import_once(env) }
}

fn check_lfs_import_once(env: &TestEnv) {
    let json = env.mvc(&["import-lfs", "--json"]).ok().json();
    assert_eq!(json["bytes"], 12 + 7, "{json}");
    assert_eq!(json["removed_lines"], serde_json::json!([".gitattributes: *.bin filter=lfs diff=lfs merge=lfs -text"]));
    assert_bytes(env, "models/a.bin", b"weights v1\n\0");
    assert_bytes(env, "b.bin", b"second\n");
    assert_eq!(env.read(".gitattributes"), "*.txt text\n", "only the LFS line goes");
    insta::assert_snapshot!(porcelain(env), @r"
    A  .gitignore
    A  .mvc/.gitignore
    A  .mvc/config
    A  b.bin.mvc
    A  models/.gitignore
    A  models/a.bin.mvc
    D  b.bin
    D  models/a.bin
    M  .gitattributes
    ");
    env.git(&["commit", "-qm", "from lfs"]);
    assert_eq!(porcelain(env), "");
    let before = env.read("models/a.bin.mvc");
    let again = env.mvc(&["import-lfs"]).ok();
    assert!(again.stderr.starts_with("Imported 0 files"), "{}", again.stderr);
    assert_eq!(env.read("models/a.bin.mvc"), before, "byte-stable when run twice");
    assert_eq!(porcelain(env), "");
    assert_round_trip(env, &[("models/a.bin", b"weights v1\n\0"), ("b.bin", b"second\n")]);
}

#[test]
fn importers_lfs_fixture_with_content_only_in_the_lfs_store() {
    let env = TestEnv::bare_git();
    // What a clone without git-lfs holds: pointers committed, content in `.git/lfs/objects`.
    env.bash_in(
        &env.root,
        r#"
printf '*.bin filter=lfs diff=lfs merge=lfs -text\n*.txt text\n' > .gitattributes
store() {
  sha=$(printf "$2" | sha256sum | cut -c1-64)
  mkdir -p .git/lfs/objects/${sha:0:2}/${sha:2:2} "$(dirname "$1")"
  printf "$2" > .git/lfs/objects/${sha:0:2}/${sha:2:2}/$sha
  printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %s\n' "$sha" "$3" > "$1"
}
store models/a.bin 'weights v1\n\0' 12
store b.bin 'second\n' 7
git add -A && git commit -qm lfs
"#,
    )
    .ok();
    check_lfs_import(&env);
}

#[test]
fn importers_lfs_made_by_real_git_lfs() {
    let env = TestEnv::bare_git();
    if !have(&env, "git-lfs", "import-lfs") {
        return;
    }
    env.bash_in(
        &env.root,
        r#"
git lfs install --local >/dev/null
git lfs track '*.bin' >/dev/null
printf '*.txt text\n' >> .gitattributes
mkdir -p models && printf 'weights v1\n\0' > models/a.bin && printf 'second\n' > b.bin
git add -A && git commit -qm lfs
test "$(git cat-file -p HEAD:b.bin | head -1)" = "version https://git-lfs.github.com/spec/v1"
"#,
    )
    .ok();
    check_lfs_import(&env);
}

#[test]
fn importers_lfs_refuses_a_corrupt_store_object() {
    let env = TestEnv::bare_git();
    env.bash_in(
        &env.root,
        r#"
printf '*.bin filter=lfs -text\n' > .gitattributes
sha=$(printf 'real' | sha256sum | cut -c1-64)
mkdir -p .git/lfs/objects/${sha:0:2}/${sha:2:2}
printf 'forged' > .git/lfs/objects/${sha:0:2}/${sha:2:2}/$sha
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 4\n' "$sha" > x.bin
git add -A && git commit -qm lfs
"#,
    )
    .ok();
    let run = env.mvc(&["import-lfs"]).fails();
    assert!(run.stderr.contains("git-lfs's object for `x.bin` does not match its sha256"), "{}", run.stderr);
    assert_eq!(porcelain(&env), "");
    assert!(!env.path(".mvc").exists());
}
