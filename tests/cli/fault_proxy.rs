//! A fault-injecting HTTP proxy on 127.0.0.1 between mvc and the S3 test server. Each client
//! connection carries requests one at a time; each is forwarded on a fresh upstream connection
//! (asked to close, so the response ends at EOF) unless a rule says otherwise. Rules match on
//! method and path and apply to the Nth..Nth+k matching requests: reset the connection, answer
//! a status, truncate or alter the response body, or kill the proxy (as if the server died).

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What to do to a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection with a reset, no response.
    Reset,
    /// Answer this status without forwarding.
    Status(u16),
    /// Forward, then send only the first half of the response body and close.
    Truncate,
    /// Forward, then alter one byte in the middle of the response body (differently each time).
    Corrupt,
    /// Stop listening and drop every connection: later connects are refused.
    Kill,
}

/// When a fault applies.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Request method, or any.
    pub method: Option<&'static str>,
    /// A substring of the request path (and query), or any.
    pub path: Option<String>,
    /// Matching requests to let through first.
    pub after: usize,
    /// Matching requests to apply the fault to (then the rule is spent).
    pub times: usize,
    /// The fault.
    pub fault: Fault,
    matched: usize,
}

impl Rule {
    /// A rule applying `fault` to every matching request.
    pub fn new(fault: Fault) -> Rule {
        Rule { method: None, path: None, after: 0, times: usize::MAX, fault, matched: 0 }
    }
    pub fn method(mut self, m: &'static str) -> Rule {
        self.method = Some(m);
        self
    }
    pub fn path(mut self, p: impl Into<String>) -> Rule {
        self.path = Some(p.into());
        self
    }
    pub fn after(mut self, n: usize) -> Rule {
        self.after = n;
        self
    }
    pub fn times(mut self, n: usize) -> Rule {
        self.times = n;
        self
    }
}

#[derive(Default)]
struct Shared {
    rules: Mutex<Vec<Rule>>,
    /// Every request seen: method, path, and what was done.
    log: Mutex<Vec<(String, String, Option<Fault>)>>,
    authorizations: Mutex<Vec<String>>,
    killed: AtomicBool,
}

/// A running proxy.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to use as the remote's endpoint.
    pub endpoint: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared::default());
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (kill_tx, mut kill_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                loop {
                    let socket = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((s, _)) => s,
                            Err(_) => continue,
                        },
                        _ = &mut stop_rx => break,
                        _ = kill_rx.recv() => break,
                    };
                    let _ = socket.set_nodelay(true);
                    let (state, upstream, kill) = (state.clone(), upstream.clone(), kill_tx.clone());
                    tokio::spawn(async move {
                        let _ = serve(socket, &upstream, &state, &kill).await;
                    });
                }
            });
            // Dropping the runtime aborts every open connection, as a killed server would.
            rt.shutdown_background();
        });
        FaultProxy { endpoint, shared, stop: Some(stop_tx), thread: Some(thread) }
    }

    /// Adds a rule (rules are tried in order; the first that applies wins).
    pub fn rule(&self, rule: Rule) {
        self.shared.rules.lock().unwrap().push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    /// Every request seen so far: method, path, fault applied.
    pub fn log(&self) -> Vec<(String, String, Option<Fault>)> {
        self.shared.log.lock().unwrap().clone()
    }

    /// How many requests got a fault.
    /// The `Authorization` headers of the requests seen (to check the signing region).
    pub fn authorizations(&self) -> Vec<String> {
        self.shared.authorizations.lock().unwrap().clone()
    }

    /// How many requests carried faults.
    pub fn faults_applied(&self) -> usize {
        self.log().iter().filter(|(_, _, f)| f.is_some()).count()
    }

    /// Whether a `Kill` rule fired.
    pub fn killed(&self) -> bool {
        self.shared.killed.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn choose(shared: &Shared, method: &str, path: &str) -> Option<(Fault, usize)> {
    let mut rules = shared.rules.lock().unwrap();
    for rule in rules.iter_mut() {
        let hit = rule.method.is_none_or(|m| m == method) && rule.path.as_deref().is_none_or(|p| path.contains(p));
        if !hit {
            continue;
        }
        rule.matched += 1;
        if rule.matched > rule.after && rule.matched - rule.after <= rule.times {
            return Some((rule.fault, rule.matched));
        }
    }
    None
}

/// Reads one request head and body from the client; None at a clean EOF.
async fn read_request(
    client: &mut TcpStream,
    pending: &mut Vec<u8>,
) -> std::io::Result<Option<(Vec<u8>, String, String)>> {
    let head_end = loop {
        if let Some(i) = find(pending, b"\r\n\r\n") {
            break i + 4;
        }
        let mut buf = [0u8; 16 << 10];
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        pending.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).to_string();
    let mut first = head.lines().next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let length: usize = header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while pending.len() < head_end + length {
        let mut buf = vec![0u8; 1 << 20];
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        pending.extend_from_slice(&buf[..n]);
    }
    let request: Vec<u8> = pending.drain(..head_end + length).collect();
    // Ask upstream to close after answering, so its response ends at EOF.
    let head_text = String::from_utf8_lossy(&request[..head_end]).to_string();
    let mut rewritten: String = head_text
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect();
    rewritten.push_str("connection: close\r\n\r\n");
    let mut out = rewritten.into_bytes();
    out.extend_from_slice(&request[head_end..]);
    Ok(Some((out, method, path)))
}

/// Makes closing the socket send a reset (RST) rather than a clean close.
#[allow(deprecated)]
fn reset_on_close(socket: &TcpStream) {
    let _ = socket.set_linger(Some(std::time::Duration::ZERO));
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    shared: &Shared,
    kill: &tokio::sync::mpsc::UnboundedSender<()>,
) -> std::io::Result<()> {
    let mut pending = Vec::new();
    // One request per connection: the upstream is asked to close after answering, and so
    // is the client (the response carries `connection: close`).
    let Some((request, method, path)) = read_request(&mut client, &mut pending).await? else { return Ok(()) };
    if let Some(auth) = header(&String::from_utf8_lossy(&request), "authorization") {
        shared.authorizations.lock().unwrap().push(auth);
    }
    let chosen = choose(shared, &method, &path);
    let fault = chosen.map(|(f, _)| f);
    shared.log.lock().unwrap().push((method, path, fault));
    match fault {
        Some(Fault::Reset) => {
            reset_on_close(&client);
            return Ok(());
        }
        Some(Fault::Kill) => {
            shared.killed.store(true, Ordering::SeqCst);
            let _ = kill.send(());
            reset_on_close(&client);
            return Ok(());
        }
        Some(Fault::Status(code)) => {
            let body = format!("<?xml version=\"1.0\"?><Error><Code>Injected{code}</Code></Error>");
            let response = format!(
                "HTTP/1.1 {code} Injected\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(response.as_bytes()).await?;
            return Ok(());
        }
        _ => {}
    }
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(&request).await?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).await?;
    let body_start = find(&response, b"\r\n\r\n").map(|i| i + 4).unwrap_or(response.len());
    match fault {
        Some(Fault::Truncate) => {
            let keep = body_start + (response.len() - body_start) / 2;
            client.write_all(&response[..keep]).await?;
            reset_on_close(&client);
            return Ok(());
        }
        Some(Fault::Corrupt) if response.len() > body_start => {
            // A different alteration each time, as a flaky network would make.
            let at = body_start + (response.len() - body_start) / 2;
            let nth = chosen.map_or(0, |(_, n)| n);
            response[at] ^= (1 + nth % 255) as u8;
        }
        _ => {}
    }
    client.write_all(&response).await?;
    Ok(())
}
