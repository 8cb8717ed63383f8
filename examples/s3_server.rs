//! A small S3-protocol server on 127.0.0.1 for benchmarks and trying mvc without a cloud
//! account: s3s over s3s-fs, the same server the tests start.
//!
//! `cargo run --release --example s3_server -- --root DIR [--port N] [--bucket NAME] [--requests FILE]`
//! Access key `AKIAMVCTEST`, secret `mvc-test-secret-do-not-print`. Prints
//! `ready http://127.0.0.1:PORT` once it listens. With `--requests FILE`, appends one line
//! per request (`METHOD /bucket/key`), so benchmarks count what each tool asked for.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

const ACCESS_KEY: &str = "AKIAMVCTEST";
const SECRET_KEY: &str = "mvc-test-secret-do-not-print";

/// s3s-fs, except that a HEAD on a key that is a directory on disk answers 404 as S3 does
/// (s3s-fs answers 500, which makes DVC's pull fail and would leave it out of the benchmark).
struct S3Like {
    fs: s3s_fs::FileSystem,
    root: std::path::PathBuf,
}

#[async_trait::async_trait]
impl S3 for S3Like {
    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        if self.root.join(&req.input.bucket).join(&req.input.key).is_dir() {
            return Err(s3_error!(NoSuchKey));
        }
        self.fs.head_object(req).await
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        self.fs.copy_object(req).await
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.fs.delete_objects(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        self.fs.get_object(req).await
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        self.fs.list_objects(req).await
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.fs.put_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.fs.upload_part_copy(req).await
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        self.fs.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut root = None;
    let mut port = 0u16;
    let mut buckets = Vec::new();
    let mut requests = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--root" => root = args.next(),
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            "--bucket" => buckets.push(args.next().ok_or("--bucket needs a value")?),
            "--requests" => requests = Some(args.next().ok_or("--requests needs a file")?),
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
    let log = match requests {
        Some(path) => Some(std::sync::Arc::new(std::sync::Mutex::new(
            std::fs::OpenOptions::new().create(true).append(true).open(path)?,
        ))),
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| format!("s3s-fs over `{}`: {e:?}", root.display()))?;
        let mut builder = S3ServiceBuilder::new(S3Like { fs, root: root.clone() });
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let s3 = builder.build();
        let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            if let Some(log) = &log {
                use std::io::Write;
                let _ = writeln!(log.lock().expect("log lock"), "{} {}", req.method(), req.uri().path());
            }
            hyper::service::Service::call(&s3, req)
        });
        let http = ConnBuilder::new(TokioExecutor::new());
        use std::io::Write;
        writeln!(std::io::stdout(), "ready http://{}", listener.local_addr()?)?;
        std::io::stdout().flush()?;
        loop {
            let (socket, _) = listener.accept().await?;
            // Without this, small responses wait out the peer's delayed ACK (~40 ms each).
            socket.set_nodelay(true)?;
            let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}
