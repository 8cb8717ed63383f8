//! A real S3-protocol server on 127.0.0.1 for tests: s3s over s3s-fs, served over HTTP by
//! hyper on its own runtime thread. Stopping it kills open connections too, as a crash would.

#![allow(dead_code)]

use std::path::PathBuf;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "AKIAMVCTEST";
/// The secret key the server accepts.
pub const SECRET_KEY: &str = "mvc-test-secret-do-not-print";
/// The bucket every server starts with.
pub const BUCKET: &str = "models";

/// A running server.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Directory holding the buckets (bucket = subdirectory).
    pub root: PathBuf,
    _dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    /// Starts a server with an empty bucket [`BUCKET`].
    pub fn start() -> S3Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let mut server = S3Server::start_at(root);
        server._dir = Some(dir);
        server
    }

    /// Starts a server over an existing root (to restart after [`S3Server::stop`]).
    pub fn start_at(root: PathBuf) -> S3Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let fs_root = root.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let fs = s3s_fs::FileSystem::new(&fs_root).expect("s3s-fs root");
                let mut builder = S3ServiceBuilder::new(fs);
                builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
                let service = builder.build();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let http = ConnBuilder::new(TokioExecutor::new());
                let mut stop_rx = stop_rx;
                loop {
                    let socket = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((socket, _)) => {
                                // Small responses must not wait out the peer's delayed ACK.
                                let _ = socket.set_nodelay(true);
                                socket
                            }
                            Err(_) => continue,
                        },
                        _ = &mut stop_rx => break,
                    };
                    let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
            });
            // Dropping the runtime here aborts every open connection.
            rt.shutdown_background();
        });
        S3Server { endpoint, root, _dir: None, stop: Some(stop_tx), thread: Some(thread) }
    }

    /// Stops the server and drops its connections.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Where the server keeps an object of the bucket, by key.
    pub fn object_file(&self, key: &str) -> PathBuf {
        self.root.join(BUCKET).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
