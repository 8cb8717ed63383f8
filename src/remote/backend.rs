//! Opening a remote from config: URL schemes to object_store backends, request timeouts and
//! retries, and the credential rule of DESIGN §3.4 (ambient or stored credentials go only to
//! a provider's own endpoint, loopback, or an endpoint the user trusted).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use object_store::ClientOptions;
use object_store::RetryConfig;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use serde_json::{Map, Value};

use super::{Remote, root_path};
use crate::config::{self, Layer};
use crate::error::hinted;
use crate::repo::Repo;

/// Default retry count for transient errors.
const DEFAULT_RETRIES: usize = 5;

/// One remote's settings as merged from every config layer.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// Its name.
    pub name: String,
    /// Its settings (`url`, `endpoint`, `region`, `jobs`, `retries`, credentials…).
    pub settings: Map<String, Value>,
}

impl RemoteConfig {
    fn get(&self, key: &str) -> Option<String> {
        match self.settings.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The configured URL.
    pub fn url(&self) -> Result<String> {
        self.get("url").with_context(|| format!("remote `{}` has no `url`", self.name))
    }
}

/// Every configured remote, sorted by name.
pub fn configured(repo: &Repo) -> Vec<RemoteConfig> {
    let Some(Value::Object(remotes)) = repo.config.merged.get("remotes") else { return Vec::new() };
    remotes
        .iter()
        .filter_map(|(name, v)| v.as_object().map(|m| RemoteConfig { name: name.clone(), settings: m.clone() }))
        .collect()
}

/// The remote to use: `name` if given, else `core.remote`, else the only remote.
pub fn choose(repo: &Repo, name: Option<&str>) -> Result<RemoteConfig> {
    let all = configured(repo);
    let wanted = match name.map(str::to_string).or_else(|| repo.config.remote.clone()) {
        Some(n) => n,
        None if all.len() == 1 => all[0].name.clone(),
        None if all.is_empty() => bail!(hinted(
            "no remote is configured",
            "add one with `mvc remote add origin s3://bucket/path --default` (or a local directory path)"
        )),
        None => bail!(hinted(
            "several remotes are configured and none is the default",
            "pick one with `-r NAME`, or set a default with `mvc remote default NAME`"
        )),
    };
    all.into_iter()
        .find(|r| r.name == wanted)
        .ok_or_else(|| hinted(format!("no remote named `{wanted}`"), "list remotes with `mvc remote list`").into())
}

/// Shows a URL without user info or query string (where presigned secrets live).
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.scheme() != "file" => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            // Query strings carry presigned signatures and SAS tokens: never show them.
            let had_query = u.query().is_some();
            u.set_query(None);
            let mut base = u.to_string();
            // `Url` adds a `/` to a bare host; show what the user typed.
            if u.path() == "/" && !raw.split('?').next().unwrap_or(raw).ends_with('/') {
                base.pop();
            }
            let shown = if had_query { format!("{base}?<redacted>") } else { base };
            crate::text::sanitize(&shown)
        }
        _ => crate::text::sanitize(raw),
    }
}

fn is_loopback(endpoint: &str) -> bool {
    let Ok(u) = url::Url::parse(endpoint) else { return false };
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether credentials may be sent to `endpoint` for remote `name`: no custom endpoint (the
/// provider's own), loopback, an endpoint set or trusted in the user's own config layers, or
/// one listed in `MVC_TRUSTED_ENDPOINTS`. The committed repo config alone is never enough: a
/// pull request could point an endpoint at a server that collects the CI job's secrets.
pub fn endpoint_trusted(repo: &Repo, name: &str, endpoint: Option<&str>) -> bool {
    let Some(endpoint) = endpoint else { return true };
    if is_loopback(endpoint) {
        return true;
    }
    let normal = |s: &str| s.trim_end_matches('/').to_string();
    // An endpoint the user's own environment names (`AWS_ENDPOINT_URL…`, an Azure
    // connection string's `BlobEndpoint`) is theirs.
    for var in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] {
        if std::env::var(var).is_ok_and(|e| !e.is_empty() && normal(&e) == normal(endpoint)) {
            return true;
        }
    }
    if std::env::var("AZURE_STORAGE_CONNECTION_STRING").is_ok_and(|c| {
        c.split(';').any(|kv| {
            kv.split_once('=').is_some_and(|(k, v)| k.trim() == "BlobEndpoint" && normal(v.trim()) == normal(endpoint))
        })
    }) {
        return true;
    }
    if let Ok(list) = std::env::var("MVC_TRUSTED_ENDPOINTS")
        && list.split(',').any(|e| normal(e.trim()) == normal(endpoint))
    {
        return true;
    }
    ["endpoint", "trusted_endpoint"]
        .iter()
        .any(|key| own_settings(repo, name, key).iter().any(|v| normal(v) == normal(endpoint)))
}

/// Values of remote `name`'s setting `key` in the user's own config layers (per-clone, then
/// global), never the committed one: what only the person at this machine may decide.
fn own_settings(repo: &Repo, name: &str, key: &str) -> Vec<String> {
    let mut values = Vec::new();
    for layer in [Layer::Local, Layer::Global] {
        let Ok(path) = repo.layer_path(layer) else { continue };
        let Ok(map) = config::read_layer(&path) else { continue };
        if let Some(Value::String(v)) = config::get_dotted(&map, &format!("remotes.{name}.{key}")) {
            values.push(v.clone());
        }
    }
    values
}

/// Extra root certificates for remote `rc` (a company CA, a test server's own certificate):
/// the `ca_bundle` file (an absolute path) set in the user's own config (`mvc remote modify
/// NAME ca_bundle PATH --local`), or for S3 `AWS_CA_BUNDLE`. A committed `ca_bundle` is ignored: a cloned
/// repository must not choose whom this machine's TLS trusts.
fn ca_certificates(repo: &Repo, rc: &RemoteConfig, s3: bool) -> Result<Vec<object_store::Certificate>> {
    let own = own_settings(repo, &rc.name, "ca_bundle").into_iter().next();
    if own.is_none() && rc.get("ca_bundle").is_some() {
        crate::notices::warn(format!(
            "remote `{}`: the committed `ca_bundle` is ignored; set it for this clone with `mvc remote modify {} ca_bundle PATH --local`",
            rc.name, rc.name
        ));
    }
    // Absolute only: a relative path would be resolved inside whichever repository runs, whose
    // files a clone chooses.
    if let Some(p) = own.as_deref().filter(|p| !std::path::Path::new(p).is_absolute()) {
        bail!(hinted(
            format!("remote `{}`: `ca_bundle` must be an absolute path, not `{}`", rc.name, crate::text::sanitize(p)),
            format!("`mvc remote modify {} ca_bundle /absolute/path/ca.pem --local`", rc.name)
        ));
    }
    let env = || std::env::var_os("AWS_CA_BUNDLE").filter(|v| s3 && !v.is_empty()).map(std::path::PathBuf::from);
    let Some(path) = own.map(std::path::PathBuf::from).or_else(env) else { return Ok(Vec::new()) };
    let shown = crate::text::sanitize(&path.to_string_lossy());
    let pem =
        std::fs::read(&path).with_context(|| format!("remote `{}`: cannot read the CA bundle `{shown}`", rc.name))?;
    let certs = object_store::Certificate::from_pem_bundle(&pem).ok().filter(|c| !c.is_empty());
    certs.with_context(|| format!("remote `{}`: the CA bundle `{shown}` holds no PEM certificate", rc.name))
}

fn client_options(allow_http: bool, ca: &[object_store::Certificate]) -> ClientOptions {
    use_ring_for_tls();
    // No overall request timeout (it would cut long uploads and downloads); a stalled
    // connection is caught by the read timeout instead.
    ca.iter().fold(
        ClientOptions::new()
            .with_allow_http(allow_http)
            .with_timeout_disabled()
            .with_connect_timeout(Duration::from_secs(5))
            .with_read_timeout(Duration::from_secs(60)),
        |options, cert| options.with_root_certificate(cert.clone()),
    )
}

/// TLS goes through rustls with ring's primitives (reqwest is built without a provider of its
/// own, so no aws-lc C build): installed once per process, before the first client exists.
fn use_ring_for_tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only when a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn retry_config(rc: &RemoteConfig) -> Result<RetryConfig> {
    let retries = match rc.get("retries") {
        None => DEFAULT_RETRIES,
        Some(s) => s.parse().with_context(|| format!("remote `{}`: `retries` must be a number", rc.name))?,
    };
    Ok(RetryConfig {
        max_retries: retries,
        retry_timeout: Duration::from_secs(if retries == 0 { 1 } else { 120 }),
        ..RetryConfig::default()
    })
}

/// Opens remote `rc` for reading. `jobs` overrides the configured concurrency. A local
/// remote directory that does not exist is not created (the first request says so).
pub fn open(repo: &Repo, rc: &RemoteConfig, jobs: Option<usize>) -> Result<Remote> {
    open_with(repo, rc, jobs, false)
}

/// Opens remote `rc` for writing: like [`open`], and a local remote directory is created.
pub fn open_writable(repo: &Repo, rc: &RemoteConfig, jobs: Option<usize>) -> Result<Remote> {
    open_with(repo, rc, jobs, true)
}

fn open_with(repo: &Repo, rc: &RemoteConfig, jobs: Option<usize>, create: bool) -> Result<Remote> {
    let url = rc.url()?;
    let jobs = match jobs {
        Some(j) => j,
        None => match rc.get("jobs") {
            Some(j) => j.parse().with_context(|| format!("remote `{}`: `jobs` must be a number", rc.name))?,
            None => repo.config.jobs,
        },
    }
    .clamp(1, 1024);
    let endpoint = if url.starts_with("s3://") || url.starts_with("s3a://") {
        s3_endpoint(rc)
    } else if url.starts_with("az://") || url.starts_with("azure://") {
        rc.get("endpoint").or_else(|| AzureSettings::of(rc).endpoint)
    } else {
        rc.get("endpoint")
    };
    let trusted = endpoint_trusted(repo, &rc.name, endpoint.as_deref());
    let display_url = redact_url(&url);
    let id = format!("{url}|{}", endpoint.clone().unwrap_or_default());
    let new_layout = match rc.get("layout") {
        None => super::Layout::Loose,
        Some(name) => super::Layout::parse(&name).with_context(|| {
            format!(
                "remote `{}`: `layout` must be `loose` or `chunked`, got `{}`",
                rc.name,
                crate::text::sanitize(&name)
            )
        })?,
    };
    let mut remote = Remote {
        name: rc.name.clone(),
        display_url,
        id,
        read_only: false,
        can_list: true,
        jobs,
        credentials_withheld: false,
        endpoint: endpoint.as_deref().map(redact_url).unwrap_or_else(|| redact_url(&url)),
        bucket: None,
        missing_dir: None,
        stop: Default::default(),
        lost: Default::default(),
        new_layout,
        layout: Default::default(),
        known: Default::default(),
        store: Arc::new(object_store::memory::InMemory::new()),
        root: Default::default(),
    };
    let allow_http = endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
    let ca = ca_certificates(repo, rc, url.starts_with("s3://") || url.starts_with("s3a://"))?;
    if url.starts_with("file:") && !url.starts_with("file://") {
        bail!(hinted(
            format!(
                "remote `{}` has the URL `{}`, which is not a valid file URL",
                rc.name,
                crate::text::sanitize(&url)
            ),
            format!(
                "use `file:///absolute/path`, or a plain path (relative paths are relative to the repository root): `mvc remote modify {} url PATH`",
                rc.name
            )
        ));
    }
    let parsed = url::Url::parse(&url).ok().filter(|u| u.scheme().len() > 1);
    let scheme = parsed.as_ref().map(|u| u.scheme().to_string());
    if let (Some(u), Some(s)) = (&parsed, scheme.as_deref())
        && matches!(s, "s3" | "s3a" | "gs" | "az" | "azure")
    {
        let bucket = u.host_str().with_context(|| format!("remote `{}`: `{url}` has no bucket", rc.name))?;
        validate_bucket(&rc.name, s, bucket)?;
        remote.bucket = Some(bucket.to_string());
        // The request host is built from these values; whatever it ends up being must pass
        // the same trust rule as an explicit endpoint before credentials go there.
        let target = request_url(rc, s, bucket, endpoint.as_deref())?;
        remote.endpoint = redact_url(&target);
        if trusted && !final_url_trusted(repo, &rc.name, &target, endpoint.as_deref()) {
            bail!(hinted(
                format!("remote `{}` would send credentials to `{}`, which is not trusted", rc.name, remote.endpoint),
                format!("if that host is yours, set it as the endpoint: `mvc remote modify {} endpoint URL`", rc.name)
            ));
        }
    }
    match scheme.as_deref() {
        Some("s3") | Some("s3a") => {
            let u = parsed.as_ref().expect("matched");
            let bucket = u.host_str().with_context(|| format!("remote `{}`: `{url}` has no bucket", rc.name))?;
            let mut b = if trusted { s3_credentials(rc)? } else { AmazonS3Builder::new() };
            if !trusted {
                b = b.with_skip_signature(true);
                remote.credentials_withheld = true;
            }
            b = b
                .with_bucket_name(bucket)
                .with_region(s3_region(rc)?)
                .with_client_options(client_options(allow_http, &ca))
                .with_retry(retry_config(rc)?);
            if let Some(e) = &endpoint {
                b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
            }
            remote.store = Arc::new(b.build().map_err(|e| store_config_error(rc, e))?);
            remote.root = root_path(u.path())?;
        }
        Some("gs") => {
            let u = parsed.as_ref().expect("matched");
            let bucket = u.host_str().with_context(|| format!("remote `{}`: `{url}` has no bucket", rc.name))?;
            let mut b = if trusted { GoogleCloudStorageBuilder::from_env() } else { GoogleCloudStorageBuilder::new() };
            if let Some(key) = rc.get("service_account_key").filter(|_| trusted) {
                b = b.with_service_account_key(key);
            }
            if let Some(e) = &endpoint {
                // A GCS-compatible server (fake-gcs-server, a proxy): the JSON API's base URL.
                b = b.with_base_url(e);
            }
            if !trusted {
                b = b.with_skip_signature(true);
                remote.credentials_withheld = true;
            }
            b = b
                .with_bucket_name(bucket)
                .with_client_options(client_options(allow_http, &ca))
                .with_retry(retry_config(rc)?);
            remote.store = Arc::new(b.build().map_err(|e| store_config_error(rc, e))?);
            remote.root = root_path(u.path())?;
        }
        Some("az") | Some("azure") => {
            let u = parsed.as_ref().expect("matched");
            let container = u.host_str().with_context(|| format!("remote `{}`: `{url}` has no container", rc.name))?;
            let az = AzureSettings::of(rc);
            let mut b = if trusted { MicrosoftAzureBuilder::from_env() } else { MicrosoftAzureBuilder::new() };
            if az.emulator && endpoint.is_some() {
                bail!(hinted(
                    format!("remote `{}` sets both `use_emulator` and `endpoint`", rc.name),
                    format!("keep one: `mvc remote modify {} use_emulator --unset` to use the endpoint", rc.name)
                ));
            }
            if let Some(account) = &az.account {
                validate_label(&rc.name, "account_name", account)?;
                b = b.with_account(account.clone());
            }
            if trusted {
                if let Some(key) = &az.key {
                    b = b.with_access_key(key.clone());
                }
                if let Some(sas) = &az.sas {
                    b = b.with_config("azure_storage_sas_token".parse().expect("a known key"), sas.clone());
                }
            }
            if az.emulator {
                b = b.with_use_emulator(true);
            }
            if let Some(e) = &endpoint {
                b = b.with_endpoint(e.clone());
            }
            if !trusted {
                b = b.with_skip_signature(true);
                remote.credentials_withheld = true;
            }
            b = b
                .with_container_name(container)
                .with_client_options(client_options(allow_http, &ca))
                .with_retry(retry_config(rc)?);
            remote.store = Arc::new(b.build().map_err(|e| store_config_error(rc, e))?);
            remote.root = root_path(u.path())?;
        }
        Some("http") | Some("https") => {
            let b = HttpBuilder::new()
                .with_url(url.trim_end_matches('/'))
                .with_client_options(client_options(url.starts_with("http://"), &ca))
                .with_retry(retry_config(rc)?);
            remote.store = Arc::new(b.build().map_err(|e| store_config_error(rc, e))?);
            remote.read_only = true;
            remote.can_list = false;
        }
        Some("file") => {
            let u = parsed.as_ref().expect("matched");
            let path =
                u.to_file_path().map_err(|_| anyhow::anyhow!("remote `{}`: invalid file URL `{url}`", rc.name))?;
            open_local(&mut remote, &path, create)?;
        }
        Some(other) => bail!(hinted(
            format!("remote `{}` has an unsupported URL scheme `{}:`", rc.name, crate::text::sanitize(other)),
            "use s3://, gs://, az://, https://, file:// or a directory path"
        )),
        None => {
            let path = std::path::Path::new(&url);
            let path = if path.is_absolute() { path.to_path_buf() } else { repo.root.join(path) };
            open_local(&mut remote, &path, create)?;
        }
    }
    Ok(remote)
}

fn open_local(remote: &mut Remote, path: &std::path::Path, create: bool) -> Result<()> {
    remote.endpoint = path.display().to_string();
    if !path.is_dir() {
        if !create {
            remote.missing_dir = Some(path.to_path_buf());
            return Ok(());
        }
        std::fs::create_dir_all(path).with_context(|| format!("creating the remote directory `{}`", path.display()))?;
    }
    let fs = LocalFileSystem::new_with_prefix(path)
        .with_context(|| format!("opening the remote directory `{}`", path.display()))?;
    remote.store = Arc::new(fs);
    Ok(())
}

/// The region an S3 remote uses, from the first of: the remote's `region`, `AWS_REGION`,
/// `AWS_DEFAULT_REGION`, the profile's `region` in `~/.aws/config` (`AWS_CONFIG_FILE`;
/// profile from the remote's `profile`, `AWS_PROFILE`, else `default`); else, on AWS itself,
/// the bucket's own region (asked once, as S3's redirect would tell), else `us-east-1`. It
/// becomes part of the request host, so it must be a plain label.
fn s3_region(rc: &RemoteConfig) -> Result<String> {
    let configured = rc
        .get("region")
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| aws_config_value(&aws_profile_name(rc), "region"));
    let region = match configured {
        Some(r) => r,
        None if s3_endpoint(rc).is_none() => bucket_region(rc).unwrap_or_else(|| "us-east-1".into()),
        None => "us-east-1".into(),
    };
    validate_label(&rc.name, "region", &region)?;
    Ok(region)
}

/// An Azure remote's account, credentials and endpoint: the remote's own settings first, then
/// `AZURE_STORAGE_CONNECTION_STRING`, then `AZURE_STORAGE_ACCOUNT(_NAME)`,
/// `AZURE_STORAGE_KEY`/`AZURE_STORAGE_ACCOUNT_KEY` and `AZURE_STORAGE_SAS_TOKEN`, as the
/// Azure CLI and SDKs read them.
#[derive(Debug, Default, PartialEq)]
struct AzureSettings {
    account: Option<String>,
    key: Option<String>,
    sas: Option<String>,
    endpoint: Option<String>,
    emulator: bool,
}

impl AzureSettings {
    fn of(rc: &RemoteConfig) -> AzureSettings {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let conn = env("AZURE_STORAGE_CONNECTION_STRING").unwrap_or_default();
        let part = |key: &str| {
            conn.split(';').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                k.trim().eq_ignore_ascii_case(key).then(|| v.trim().to_string()).filter(|v| !v.is_empty())
            })
        };
        let dev = part("UseDevelopmentStorage").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        AzureSettings {
            account: rc
                .get("account_name")
                .or_else(|| part("AccountName"))
                .or_else(|| env("AZURE_STORAGE_ACCOUNT_NAME"))
                .or_else(|| env("AZURE_STORAGE_ACCOUNT")),
            key: rc
                .get("access_key")
                .or_else(|| part("AccountKey"))
                .or_else(|| env("AZURE_STORAGE_ACCOUNT_KEY"))
                .or_else(|| env("AZURE_STORAGE_KEY")),
            sas: rc
                .get("sas_token")
                .or_else(|| part("SharedAccessSignature"))
                .or_else(|| env("AZURE_STORAGE_SAS_TOKEN")),
            endpoint: part("BlobEndpoint"),
            emulator: rc.get("use_emulator").as_deref() == Some("true") || dev,
        }
    }
}

/// The profile an S3 remote uses: its `profile`, `AWS_PROFILE`, else `default`.
fn aws_profile_name(rc: &RemoteConfig) -> String {
    rc.get("profile")
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "default".into())
}

/// The S3 endpoint: the remote's `endpoint`, else `AWS_ENDPOINT_URL_S3`, else
/// `AWS_ENDPOINT_URL` (set by the user or CI job, never by a commit).
fn s3_endpoint(rc: &RemoteConfig) -> Option<String> {
    rc.get("endpoint")
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok().filter(|e| !e.is_empty()))
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok().filter(|e| !e.is_empty()))
}

/// Asks AWS which region a bucket is in (S3 answers any region's endpoint with the bucket's
/// region in a header), waiting at most a few seconds; None when it cannot tell.
fn bucket_region(rc: &RemoteConfig) -> Option<String> {
    static ASKED: std::sync::Mutex<Vec<(String, Option<String>)>> = std::sync::Mutex::new(Vec::new());
    let url = url::Url::parse(&rc.url().ok()?).ok()?;
    let bucket = url.host_str()?.to_string();
    let mut asked = ASKED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, region)) = asked.iter().find(|(b, _)| *b == bucket) {
        return region.clone();
    }
    let region = ask_bucket_region(bucket.clone());
    asked.push((bucket, region.clone()));
    region
}

fn ask_bucket_region(bucket: String) -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    // Its own thread and runtime: `open` may run inside or outside the command's runtime.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok();
        let region = rt.and_then(|rt| {
            rt.block_on(object_store::aws::resolve_bucket_region(&bucket, &client_options(false, &[]))).ok()
        });
        let _ = tx.send(region);
    });
    rx.recv_timeout(std::time::Duration::from_secs(5)).ok().flatten()
}

/// Refuses a value that becomes part of a host name (a region, an Azure account) unless it
/// is a plain DNS label: lowercase letters, digits and `-`.
pub fn validate_label(remote: &str, key: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !ok {
        bail!(hinted(
            format!("remote `{remote}`: `{key}` `{}` is not valid", crate::text::sanitize(value)),
            format!(
                "`{key}` may hold only lowercase letters, digits and `-`; fix it with `mvc remote modify {remote} {key} VALUE`"
            )
        ));
    }
    Ok(())
}

/// Refuses a bucket or container name that breaks the provider's naming rules (they can end
/// up in a host name).
pub fn validate_bucket(remote: &str, scheme: &str, bucket: &str) -> Result<()> {
    let (min, max, dots, underscores) = match scheme {
        "az" | "azure" => (3, 63, false, false),
        "gs" => (3, 222, true, true),
        _ => (3, 63, true, false),
    };
    let allowed = |b: u8| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (dots && b == b'.') || (underscores && b == b'_')
    };
    let bytes = bucket.as_bytes();
    let ok = (min..=max).contains(&bucket.len())
        && bytes.iter().all(|b| allowed(*b))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !bucket.contains("..");
    if !ok {
        bail!(hinted(
            format!("remote `{remote}`: `{}` is not a valid bucket name", crate::text::sanitize(bucket)),
            "bucket names are 3-63 lowercase letters, digits, `-` and `.` (see the provider's naming rules)"
        ));
    }
    Ok(())
}

/// The base URL the client will call for a cloud remote: the endpoint if set, else the
/// provider's host built from the region or account.
pub fn request_url(rc: &RemoteConfig, scheme: &str, bucket: &str, endpoint: Option<&str>) -> Result<String> {
    if let Some(e) = endpoint {
        return Ok(e.to_string());
    }
    Ok(match scheme {
        "s3" | "s3a" => format!("https://s3.{}.amazonaws.com/{bucket}", s3_region(rc)?),
        "gs" => format!("https://storage.googleapis.com/{bucket}"),
        _ if rc.get("use_emulator").as_deref() == Some("true") => format!("http://127.0.0.1:10000/{bucket}"),
        _ => {
            let account = AzureSettings::of(rc).account.unwrap_or_default();
            if !account.is_empty() {
                validate_label(&rc.name, "account_name", &account)?;
            }
            format!("https://{account}.blob.core.windows.net/{bucket}")
        }
    })
}

/// Whether `url`'s host is one of the providers' own (every label a plain DNS label).
fn is_provider_host(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else { return false };
    if u.scheme() != "https" || !u.username().is_empty() || u.password().is_some() || u.port().is_some() {
        return false;
    }
    let Some(url::Host::Domain(host)) = u.host() else { return false };
    let labels_ok = host
        .split('.')
        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    labels_ok
        && (host.ends_with(".amazonaws.com")
            || host.ends_with(".blob.core.windows.net")
            || host == "storage.googleapis.com")
}

/// The trust rule applied to the URL the client will actually call: with no endpoint set, it
/// must be the provider's own host; with one, the endpoint must be trusted (DESIGN §3.4).
pub fn final_url_trusted(repo: &Repo, name: &str, url: &str, endpoint: Option<&str>) -> bool {
    match endpoint {
        None => is_provider_host(url),
        Some(_) => endpoint_trusted(repo, name, Some(url)),
    }
}

fn store_config_error(rc: &RemoteConfig, e: object_store::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "remote `{}` is misconfigured: {}",
        rc.name,
        super::redact_text(&crate::text::sanitize(&e.to_string()))
    )
}

/// An S3 builder with credentials from, in order: the remote's own stored keys
/// (the per-clone config), the standard `AWS_*` environment variables, or an `~/.aws` profile.
fn s3_credentials(rc: &RemoteConfig) -> Result<AmazonS3Builder> {
    let mut b = AmazonS3Builder::from_env();
    if let (Some(id), Some(secret)) = (rc.get("access_key_id"), rc.get("secret_access_key")) {
        b = b.with_access_key_id(id).with_secret_access_key(secret);
        if let Some(token) = rc.get("session_token") {
            b = b.with_token(token);
        }
        return Ok(b);
    }
    let env_has_keys = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    if !env_has_keys {
        let profile =
            rc.get("profile").or_else(|| std::env::var("AWS_PROFILE").ok()).unwrap_or_else(|| "default".into());
        if let Some(creds) = aws_profile(&profile) {
            b = b.with_access_key_id(creds.0).with_secret_access_key(creds.1);
            if let Some(token) = creds.2 {
                b = b.with_token(token);
            }
        }
    }
    Ok(b)
}

/// Reads `[profile]` keys from `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`).
fn aws_profile(profile: &str) -> Option<(String, String, Option<String>)> {
    let path = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".aws").join("credentials")))?;
    let section = ini_section(&std::fs::read_to_string(path).ok()?, profile);
    let get = |k: &str| section.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    Some((get("aws_access_key_id")?, get("aws_secret_access_key")?, get("aws_session_token")))
}

/// A value of a profile in `~/.aws/config` (or `AWS_CONFIG_FILE`), where profiles other
/// than `default` are written `[profile NAME]`.
fn aws_config_value(profile: &str, key: &str) -> Option<String> {
    let path = std::env::var_os("AWS_CONFIG_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".aws").join("config")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let mut section = ini_section(&text, &format!("profile {profile}"));
    if section.is_empty() && profile == "default" {
        section = ini_section(&text, "default");
    }
    section.into_iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| !v.is_empty())
}

/// The `key = value` pairs of section `[name]` of an INI file.
fn ini_section(text: &str, name: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line.trim_matches(|c| c == '[' || c == ']').trim() == name;
            continue;
        }
        if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_secrets() {
        assert_eq!(redact_url("https://user:pw@host/p?sig=abc"), "https://host/p?<redacted>");
        assert_eq!(redact_url("s3://bucket/models"), "s3://bucket/models");
        assert_eq!(redact_url("/data/remote"), "/data/remote");
        assert_eq!(redact_url("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(redact_url("https://user:pw@host:1/"), "https://host:1/");
    }

    #[test]
    fn a_committed_endpoint_alone_never_receives_credentials() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join(".mvc")).unwrap();
        let committed = "remotes:\n  origin:\n    url: s3://bucket/x\n    endpoint: https://collector.example.com\n";
        std::fs::write(dir.path().join(".mvc/config"), committed).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        // A pull request can change `.mvc/config`; that must not redirect a CI job's secrets.
        assert!(!endpoint_trusted(&repo, "origin", Some("https://collector.example.com")));
        assert!(endpoint_trusted(&repo, "origin", None), "the provider's own endpoint");
        assert!(endpoint_trusted(&repo, "origin", Some("http://127.0.0.1:9000")));
        // The user's own (uncommitted) layer can vouch for it.
        let local = "remotes:\n  origin:\n    trusted_endpoint: https://collector.example.com/\n";
        std::fs::write(repo.layer_path(Layer::Local).unwrap(), local).unwrap();
        assert!(endpoint_trusted(&repo, "origin", Some("https://collector.example.com")));
    }

    fn remote(settings: &str) -> RemoteConfig {
        let settings: Value = serde_json::from_str(settings).unwrap();
        RemoteConfig { name: "origin".into(), settings: settings.as_object().unwrap().clone() }
    }

    #[test]
    fn host_labels_from_config_are_validated() {
        for good in ["us-east-1", "eu-central-2", "myaccount", "acct-01"] {
            assert!(validate_label("origin", "region", good).is_ok(), "{good}");
        }
        for bad in ["evil.com/", "x.attacker.com", "us-east-1#", "a@b", "UPPER", "", "-x", "x-", "a b", "a:80"] {
            assert!(validate_label("origin", "region", bad).is_err(), "{bad:?}");
        }
        assert!(validate_bucket("origin", "s3", "my.bucket-1").is_ok());
        for bad in ["ab", "Bucket", "a..b", "-ab", "b@evil.com", "b/c", "a_b"] {
            assert!(validate_bucket("origin", "s3", bad).is_err(), "{bad:?}");
        }
        assert!(validate_bucket("origin", "az", "my.container").is_err(), "no dots in Azure containers");
        // A committed region that would move the request host elsewhere is refused.
        let rc = remote(r#"{"url": "s3://b/x", "region": "x.attacker.example/"}"#);
        assert!(request_url(&rc, "s3", "bbb", None).is_err());
        let rc = remote(r#"{"url": "az://c/x", "account_name": "attacker.example#"}"#);
        assert!(request_url(&rc, "az", "ccc", None).is_err());
    }

    #[test]
    fn the_final_url_is_what_the_trust_rule_checks() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join(".mvc")).unwrap();
        std::fs::write(dir.path().join(".mvc/config"), "remotes: {}\n").unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        let rc = remote(r#"{"url": "s3://bbb/x", "region": "eu-west-1"}"#);
        let url = request_url(&rc, "s3", "bbb", None).unwrap();
        assert_eq!(url, "https://s3.eu-west-1.amazonaws.com/bbb");
        assert!(final_url_trusted(&repo, "origin", &url, None));
        let rc = remote(r#"{"url": "az://ccc/x", "account_name": "acct"}"#);
        let url = request_url(&rc, "az", "ccc", None).unwrap();
        assert_eq!(url, "https://acct.blob.core.windows.net/ccc");
        assert!(final_url_trusted(&repo, "origin", &url, None));
        // Hosts that only look like a provider's are not trusted.
        for url in [
            "https://s3.amazonaws.com.evil.example/b",
            "https://evil.example/.amazonaws.com",
            "http://s3.us-east-1.amazonaws.com/b",
            "https://user:pw@s3.us-east-1.amazonaws.com/b",
            "https://s3.us-east-1.amazonaws.com:8443/b",
        ] {
            assert!(!final_url_trusted(&repo, "origin", url, None), "{url}");
        }
        // With an endpoint, the endpoint rule decides (a committed one alone is not enough).
        assert!(!final_url_trusted(&repo, "origin", "https://collector.example", Some("https://collector.example")));
        assert!(final_url_trusted(&repo, "origin", "http://127.0.0.1:9000", Some("http://127.0.0.1:9000")));
    }

    #[test]
    fn loopback_endpoints_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:9000"));
        assert!(is_loopback("http://localhost:9000"));
        assert!(is_loopback("http://[::1]:9000"));
        assert!(!is_loopback("http://10.0.0.1:9000"));
        assert!(!is_loopback("https://evil.example.com"));
    }
}
