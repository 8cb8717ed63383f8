//! Clouds as their users configure them (DESIGN §3.4): the S3 region and endpoint from the
//! remote, the environment or the AWS profile, proved by the region in each request's
//! signature; Azure from its connection string, against Azurite when it is installed.

use crate::fault_proxy::FaultProxy;
use crate::harness::{Run, TestEnv};
use crate::s3_server::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use crate::tls_proxy::TlsProxy;

/// A project with one artifact and an S3 remote whose endpoint is `endpoint`.
fn project(endpoint: Option<&str>) -> TestEnv {
    let env = TestEnv::new();
    env.write("model.bin", "weights");
    env.mvc(&["add", "-q", "model.bin", "-m", "v1"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "origin", &format!("s3://{BUCKET}/models")]).ok();
    if let Some(e) = endpoint {
        env.mvc(&["remote", "modify", "-q", "origin", "endpoint", e]).ok();
    }
    env
}

fn with_creds(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut all = vec![("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY)];
    all.extend_from_slice(vars);
    env.mvc_with(args, &all, None)
}

/// The region in the credential scope of the last signed request
/// (`Credential=AKIA…/20260101/REGION/s3/aws4_request`).
fn signed_region(proxy: &FaultProxy) -> String {
    let auth = proxy.authorizations().pop().expect("a signed request");
    let scope = auth.split("Credential=").nth(1).expect("a credential scope");
    scope.split('/').nth(2).expect("a region").to_string()
}

#[test]
fn the_s3_region_comes_from_the_remote_the_environment_or_the_profile() {
    let server = S3Server::start();
    let proxy = FaultProxy::start(&server.endpoint);
    let env = project(Some(&proxy.endpoint));
    let home = env.path("../home");
    let aws = home.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    let mut seen = Vec::new();
    let mut check = |label: &str, vars: &[(&str, &str)]| {
        with_creds(&env, &["status", "-c"], vars);
        seen.push(format!("{label}: {}", signed_region(&proxy)));
    };
    check("nothing set", &[]);
    check("AWS_DEFAULT_REGION", &[("AWS_DEFAULT_REGION", "sa-east-1")]);
    check("AWS_REGION over AWS_DEFAULT_REGION", &[("AWS_REGION", "ap-south-1"), ("AWS_DEFAULT_REGION", "sa-east-1")]);
    std::fs::write(aws.join("config"), "[default]\nregion = eu-north-1\n\n[profile ci]\nregion = ca-central-1\n")
        .unwrap();
    check("default profile", &[]);
    check("AWS_PROFILE", &[("AWS_PROFILE", "ci")]);
    env.mvc(&["remote", "modify", "-q", "origin", "region", "eu-west-3"]).ok();
    check("remote setting over all", &[("AWS_REGION", "ap-south-1"), ("AWS_PROFILE", "ci")]);
    insta::assert_snapshot!(seen.join("\n"), @r"
    nothing set: us-east-1
    AWS_DEFAULT_REGION: sa-east-1
    AWS_REGION over AWS_DEFAULT_REGION: ap-south-1
    default profile: eu-north-1
    AWS_PROFILE: ca-central-1
    remote setting over all: eu-west-3
    ");
}

#[test]
fn aws_endpoint_url_from_the_environment_works_over_http() {
    let server = S3Server::start();
    let env = project(None);
    let vars = [("AWS_ENDPOINT_URL", server.endpoint.as_str())];
    with_creds(&env, &["push", "-q"], &vars).ok();
    let clone = env.clone_repo();
    clone
        .mvc(&["remote", "add", "--layout", "loose", "-q", "origin", &format!("s3://{BUCKET}/models"), "--local"])
        .ok();
    with_creds(&clone, &["pull", "-q"], &[("AWS_ENDPOINT_URL_S3", server.endpoint.as_str())]).ok();
    assert_eq!(clone.read("model.bin"), "weights");
}

#[test]
fn a_region_with_url_characters_never_reaches_a_request() {
    let env = project(None);
    env.mvc(&["remote", "modify", "-q", "origin", "region", "evil.example.com/x"]).ok();
    let run = with_creds(&env, &["push"], &[]).fails();
    assert!(run.stderr.contains("region"), "{}", run.stderr);
    let run = with_creds(&env, &["push"], &[("AWS_REGION", "us-east-1.evil.example")]);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn azure_use_emulator_and_endpoint_together_are_refused() {
    let env = TestEnv::new();
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "az", "az://container/x"]).ok();
    env.mvc(&["remote", "modify", "-q", "az", "use_emulator", "true"]).ok();
    env.mvc(&["remote", "modify", "-q", "az", "endpoint", "http://127.0.0.1:1/devstoreaccount1"]).ok();
    let run = env.mvc(&["status", "-c"]).fails();
    insta::assert_snapshot!(run.stderr, @r"
    error: remote `az` sets both `use_emulator` and `endpoint`
    hint: keep one: `mvc remote modify az use_emulator --unset` to use the endpoint
    ");
}

/// Azurite's well-known development account.
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Starts Azurite's blob service on a free port if `azurite-blob` is installed (`.ci/run`
/// installs it from npm); None, said loudly, when it is not.
fn azurite() -> Option<(std::process::Child, u16, tempfile::TempDir)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let dir = tempfile::tempdir().ok()?;
    let child = std::process::Command::new("azurite-blob")
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string(), "--silent", "--skipApiVersionCheck"])
        .arg("--location")
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(child) = child else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "WARNING: azurite-blob is not installed; the Azure round trip is NOT tested (`npm install -g azurite`)"
            );
        }
        return None;
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, port, dir));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

/// Creates a container with a SharedKey-signed request (python's standard library does the
/// HMAC), as `az storage container create` would.
fn create_container(port: u16, container: &str) {
    let script = format!(
        r#"
import base64, hashlib, hmac, http.client, email.utils
date = email.utils.formatdate(usegmt=True)
path = "/{AZURITE_ACCOUNT}/{container}"
canon_headers = "x-ms-date:" + date + "\nx-ms-version:2021-08-06\n"
canon_resource = "/{AZURITE_ACCOUNT}" + path + "\nrestype:container"
to_sign = "PUT\n\n\n\n\n\n\n\n\n\n\n\n" + canon_headers + canon_resource
sig = base64.b64encode(hmac.new(base64.b64decode("{AZURITE_KEY}"), to_sign.encode(), hashlib.sha256).digest()).decode()
c = http.client.HTTPConnection("127.0.0.1", {port})
c.request("PUT", path + "?restype=container", headers={{"x-ms-date": date, "x-ms-version": "2021-08-06", "Authorization": "SharedKey {AZURITE_ACCOUNT}:" + sig, "Content-Length": "0"}})
r = c.getresponse()
assert r.status in (201, 409), (r.status, r.read())
"#
    );
    let out = std::process::Command::new("python3").args(["-c", &script]).output().expect("python3");
    assert!(out.status.success(), "creating the container: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn azure_round_trip_with_a_connection_string_against_azurite() {
    let Some((mut child, port, _dir)) = azurite() else { return };
    create_container(port, "models");
    let conn = format!(
        "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    );
    let vars = [("AZURE_STORAGE_CONNECTION_STRING", conn.as_str())];
    let env = TestEnv::new();
    env.git(&["commit", "-qm", "init"]);
    env.write("model.bin", "azure weights");
    env.mvc(&["add", "-q", "model.bin", "-m", "v1"]).ok();
    env.mvc(&["remote", "add", "--layout", "loose", "-q", "az", "az://models/project", "-m", "remote"]).ok();
    let pushed = env.mvc_with(&["push"], &vars, None);
    let clone = env.clone_repo();
    let pulled = clone.mvc_with(&["pull", "-q"], &vars, None);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(pushed.code, 0, "{pushed:?}");
    assert_eq!(pulled.code, 0, "{pulled:?}");
    assert_eq!(clone.read("model.bin"), "azure weights");
}

#[test]
fn https_with_a_private_ca_works_once_this_clone_is_given_the_ca() {
    let server = S3Server::start();
    let tls = TlsProxy::start(&server.endpoint);
    let env = project(Some(&tls.endpoint));
    let ca = env.path("../ca.pem");
    std::fs::write(&ca, &tls.ca_pem).unwrap();
    let ca = ca.to_str().unwrap();
    let port = tls.endpoint.rsplit(':').next().unwrap().to_string();
    let unport = |s: String| s.replace(&port, "PORT");
    // Unknown CA: one sentence, and the hint says how to trust it.
    let refused = with_creds(&env, &["push", "-q"], &[]).fails();
    insta::assert_snapshot!(unport(refused.stderr), @r"
    error: cannot connect to remote `origin` at https://127.0.0.1:PORT: the TLS handshake failed (certificate or protocol)
    hint: if the server's certificate comes from your own CA, give mvc that CA: `mvc remote modify origin ca_bundle PATH --local` (or AWS_CA_BUNDLE for S3)
    ");
    // The committed config cannot choose whom TLS trusts.
    let committed = env.mvc(&["remote", "modify", "origin", "ca_bundle", ca]).fails();
    insta::assert_snapshot!(committed.stderr, @r"
    error: `ca_bundle` of remote `origin` cannot go into the committed config: a clone must not choose whom TLS trusts
    hint: set it for this clone: `mvc remote modify origin ca_bundle /absolute/path --local`
    ");
    let by_config = env.mvc(&["config", "set", "remotes.origin.ca_bundle", ca]).fails();
    assert!(by_config.stderr.contains("cannot go into the committed config"), "{}", by_config.stderr);
    let in_a_map =
        env.mvc(&["config", "set", "remotes.origin", &format!("{{url: s3://{BUCKET}/models, ca_bundle: {ca}}}")]);
    assert!(in_a_map.fails().stderr.contains("cannot go into the committed config"));
    // A relative path would be resolved in whichever repository runs: refused.
    env.mvc(&["remote", "modify", "-q", "origin", "ca_bundle", "ca.pem", "--local"]).ok();
    let relative = with_creds(&env, &["push", "-q"], &[]).fails();
    assert!(relative.stderr.contains("`ca_bundle` must be an absolute path"), "{}", relative.stderr);
    // This clone's own setting makes push work over TLS.
    env.mvc(&["remote", "modify", "-q", "origin", "ca_bundle", ca, "--local"]).ok();
    with_creds(&env, &["push", "-q"], &[]).ok();
    env.git(&["add", ".mvc/config"]);
    env.git(&["commit", "-qm", "remote"]);

    // A clone that received a `ca_bundle` in the committed config ignores it, loudly.
    let clone = env.clone_repo();
    let config = clone.read(".mvc/config");
    let endpoint_line = config.lines().find(|l| l.trim_start().starts_with("endpoint:")).expect("endpoint").to_string();
    let indent = &endpoint_line[..endpoint_line.len() - endpoint_line.trim_start().len()];
    clone.write(".mvc/config", config.replace(&endpoint_line, &format!("{endpoint_line}\n{indent}ca_bundle: {ca}")));
    let ignored = with_creds(&clone, &["pull"], &[]).fails();
    assert!(ignored.stderr.contains("the committed `ca_bundle` is ignored"), "{}", ignored.stderr);
    assert!(ignored.stderr.contains("TLS handshake failed"), "{}", ignored.stderr);
    // AWS_CA_BUNDLE, the AWS CLI's variable, is the user's own choice.
    with_creds(&clone, &["pull", "-q"], &[("AWS_CA_BUNDLE", ca)]).ok();
    assert_eq!(clone.read("model.bin"), "weights");
}
