//! A small S3-protocol server on 127.0.0.1 for benchmarks and trying mvc without a cloud
//! account: s3s over s3s-fs, the same server the tests start.
//!
//! `cargo run --release --example s3_server -- --root DIR [--port N] [--bucket NAME]`
//! Access key `AKIAMVCTEST`, secret `mvc-test-secret-do-not-print`. Prints
//! `ready http://127.0.0.1:PORT` once it listens.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

const ACCESS_KEY: &str = "AKIAMVCTEST";
const SECRET_KEY: &str = "mvc-test-secret-do-not-print";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut root = None;
    let mut port = 0u16;
    let mut buckets = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--root" => root = args.next(),
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            "--bucket" => buckets.push(args.next().ok_or("--bucket needs a value")?),
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let root = std::path::PathBuf::from(root.ok_or("--root DIR is required")?);
    if buckets.is_empty() {
        buckets.push("models".to_string());
    }
    for bucket in &buckets {
        std::fs::create_dir_all(root.join(bucket))?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| format!("s3s-fs over `{}`: {e:?}", root.display()))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let http = ConnBuilder::new(TokioExecutor::new());
        use std::io::Write;
        writeln!(std::io::stdout(), "ready http://{}", listener.local_addr()?)?;
        std::io::stdout().flush()?;
        loop {
            let (socket, _) = listener.accept().await?;
            let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}
