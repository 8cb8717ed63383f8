//! `TestEnv`: a temp git repository with a sandboxed environment (no inherited variables,
//! private HOME and XDG_CONFIG_HOME, fixed git identity and dates, NO_COLOR), and helpers to
//! run `mvc` and `git` in it and normalise their output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A sandboxed git repository for one test.
pub struct TestEnv {
    _dir: tempfile::TempDir,
    /// The repository root (canonical).
    pub root: PathBuf,
    home: PathBuf,
}

/// The result of running a command: exit code and both streams, `$ROOT` substituted.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns self for chaining.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "command failed:\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Asserts exit code 1 (a known error).
    #[track_caller]
    pub fn fails(self) -> Run {
        assert_eq!(self.code, 1, "expected exit 1:\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// PATH with the built `mvc` first, so git hooks installed by `mvc install` find it.
fn path_with_mvc() -> std::ffi::OsString {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_mvc")).parent().expect("binary has a directory").to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&rest))).expect("valid PATH")
}

impl TestEnv {
    /// A fresh repository with `git init` and `mvc init` done.
    pub fn new() -> TestEnv {
        let env = TestEnv::bare_git();
        env.mvc(&["init", "-q"]).ok();
        env
    }

    /// A fresh git repository without `mvc init`.
    pub fn bare_git() -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = dir.path().canonicalize().expect("canonical temp dir");
        let root = base.join("repo");
        let home = base.join("home");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(home.join(".config")).unwrap();
        let env = TestEnv { _dir: dir, root, home };
        env.git(&["init", "-q", "-b", "main"]);
        env
    }

    /// A path inside the repository.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes a file (creating parents).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// Reads a file as a string.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    fn command(&self, program: &Path, args: &[&str], cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", path_with_mvc())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test User")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test User")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z");
        cmd
    }

    /// Runs `mvc ARGS` at the repository root.
    pub fn mvc(&self, args: &[&str]) -> Run {
        self.mvc_in(&self.root.clone(), args)
    }

    /// Runs `mvc ARGS` in a directory.
    pub fn mvc_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let out = self.command(Path::new(env!("CARGO_BIN_EXE_mvc")), args, cwd).output().expect("run mvc");
        self.finish(out)
    }

    /// Runs `mvc ARGS` in a directory with extra environment variables.
    pub fn mvc_in_with(&self, cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(Path::new(env!("CARGO_BIN_EXE_mvc")), args, cwd);
        cmd.envs(vars.iter().copied());
        let out = cmd.output().expect("run mvc");
        self.finish(out)
    }

    /// Runs `WRAPPER… mvc ARGS` at the root, e.g. under `unshare` to give mvc its own mounts.
    pub fn mvc_wrapped(&self, wrapper: &[&str], args: &[&str]) -> Run {
        let (program, rest) = wrapper.split_first().expect("a wrapper program");
        let mut all = rest.to_vec();
        all.push(env!("CARGO_BIN_EXE_mvc"));
        all.extend(args);
        let out = self.command(Path::new(program), &all, &self.root).output().expect("run the wrapper");
        self.finish(out)
    }

    /// Runs a bash script in `cwd` with this sandbox's environment (`set -euo pipefail`:
    /// the first failing line fails the run).
    pub fn bash_in(&self, cwd: &Path, script: &str) -> Run {
        let full = format!("set -euxo pipefail\n{script}");
        let out = self.command(Path::new("bash"), &["-c", &full], cwd).output().expect("run bash");
        self.finish(out)
    }

    /// Runs `git ARGS` at the root and returns the result, success or not.
    pub fn git_run(&self, args: &[&str]) -> Run {
        let out = self.command(Path::new("git"), args, &self.root).output().expect("run git");
        self.finish(out)
    }

    /// Runs `git ARGS` at the root and asserts success; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.command(Path::new("git"), args, &self.root).output().expect("run git");
        let run = self.finish(out);
        assert_eq!(run.code, 0, "git {args:?} failed: {}", run.stderr);
        run.stdout
    }

    fn finish(&self, out: Output) -> Run {
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(self.root.to_str().unwrap(), "$ROOT");
        Run { code: out.status.code().unwrap_or(-1), stdout: clean(&out.stdout), stderr: clean(&out.stderr) }
    }

    /// Runs `mvc ARGS` at the root with extra environment variables and optional stdin.
    pub fn mvc_with(&self, args: &[&str], vars: &[(&str, &str)], stdin: Option<&str>) -> Run {
        use std::io::Write;
        let mut cmd = self.command(Path::new(env!("CARGO_BIN_EXE_mvc")), args, &self.root);
        cmd.envs(vars.iter().copied());
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("run mvc");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(input) = stdin {
            pipe.write_all(input.as_bytes()).unwrap();
        }
        drop(pipe);
        self.finish(child.wait_with_output().expect("wait for mvc"))
    }

    /// Starts `mvc ARGS` in the background (for tests that interrupt it).
    pub fn spawn_mvc(&self, args: &[&str]) -> std::process::Child {
        self.command(Path::new(env!("CARGO_BIN_EXE_mvc")), args, &self.root)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn mvc")
    }

    /// Starts `mvc ARGS` in the background with extra environment variables.
    pub fn spawn_mvc_with(&self, args: &[&str], vars: &[(&str, &str)]) -> std::process::Child {
        self.command(Path::new(env!("CARGO_BIN_EXE_mvc")), args, &self.root)
            .envs(vars.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn mvc")
    }

    /// Normalises a finished background run like [`TestEnv::mvc`] does.
    pub fn finish_child(&self, child: std::process::Child) -> Run {
        self.finish(child.wait_with_output().expect("wait for mvc"))
    }

    /// A fresh `git clone` of this repository in its own sandbox (no mvc data, as a teammate
    /// or CI job would have).
    pub fn clone_repo(&self) -> TestEnv {
        let other = TestEnv::bare_git();
        std::fs::remove_dir_all(&other.root).unwrap();
        let out = other
            .command(
                Path::new("git"),
                &["clone", "-q", self.root.to_str().unwrap(), other.root.to_str().unwrap()],
                &self.root,
            )
            .output()
            .expect("git clone");
        assert!(out.status.success(), "git clone failed: {}", String::from_utf8_lossy(&out.stderr));
        other
    }

    /// The oid field of a pointer file.
    pub fn pointer_oid(&self, artifact: &str) -> String {
        let text = self.read(&format!("{artifact}.mvc"));
        text.lines().find_map(|l| l.strip_prefix("oid: ")).expect("pointer has an oid").to_string()
    }

    /// A path in this clone's own mvc directory (`.git/mvc/`: cache, state, lock, config).
    pub fn private(&self, rel: &str) -> PathBuf {
        self.path(&format!(".git/mvc/{rel}"))
    }

    /// The path of a cache object.
    pub fn object(&self, oid: &str) -> PathBuf {
        self.private(&format!("cache/blake3/{}/{}", &oid[..2], &oid[2..]))
    }
}
