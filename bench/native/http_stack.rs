//! CPU per request of reqwest's request pipeline, beside hyper's HTTP/1.1 client used directly
//! and a bare socket, for bench/RESULTS.md "Analysis": what leaving reqwest would buy.
//! Not part of the package.
//!
//!   cargo run --release --no-default-features --features bench --example bench_http_stack -- URL MODE CONCURRENCY SECONDS
//!
//! URL is the emulator's base (`http://127.0.0.1:18080`). Every mode sends what the client sends
//! for a mint: `POST {URL}/v1/mint` with `{"entity":"PEO"}`, its user-agent, accept and
//! content-type, and a fresh idempotency key; connections are kept alive with TCP_NODELAY, each
//! answer is read whole, and one without a 2xx status (or an error) counts as a failure.
//!
//! MODE `socket`:       blocking std::net on the main thread, the request formatted by hand and
//!                      the answer delimited by its Content-Length: the floor without HTTP
//!                      libraries. CONCURRENCY 1 only.
//! MODE `hyper`:        `hyper::client::conn::http1`, one connection per concurrent loop.
//! MODE `reqwest`:      one `reqwest::Client` configured as src/transport/mod.rs configures ours.
//! MODE `reqwest-lean`: the same, with reqwest's retry layer told never to retry, so it no
//!                      longer clones every request in case it has to replay it.
//! MODE `client`:       the Rust client core, as bench_mint_loop's `local` mode drives it.
//! All but `socket` run CONCURRENCY loops as tasks on one current-thread runtime. After a 0.7 s
//! warm-up, SECONDS are measured (process CPU from /proc/self/stat); prints one JSON line.
//! Every loop is bounded by the deadline and an operation cap.

use std::future::Future;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use url::Url;

#[path = "common.rs"]
mod common;
use common::{process_cpu_us, BODY, MAX_OPS};

const USER_AGENT_VALUE: &str = "chittyid-client/2.0.0";
const JSON: &str = "application/json";
const IDEMPOTENCY_KEY: &str = "idempotency-key";
const WARMUP: Duration = Duration::from_millis(700);
const USAGE: &str = "usage: bench_http_stack URL socket|hyper|reqwest|reqwest-lean|client CONCURRENCY SECONDS";

/// The same key as the client makes for each mint (32 hex digits).
fn idempotency_key() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// Where the requests go, from the URL argument.
struct Target {
    host: String,
    port: u16,
    /// `host:port`, the Host header.
    authority: String,
    /// What our client takes as its service URL: `{URL}/v1`.
    service: String,
    /// `{URL}/v1/mint`.
    url: Url,
}

impl Target {
    fn parse(base: &str) -> Result<Self, String> {
        let service = format!("{}/v1", base.trim_end_matches('/'));
        let url = Url::parse(&format!("{service}/mint")).map_err(|e| format!("URL: {e}"))?;
        if url.scheme() != "http" {
            return Err("URL: only http:// is measured".into());
        }
        let host = url.host_str().ok_or("URL has no host")?.to_owned();
        let port = url.port_or_known_default().ok_or("URL has no port")?;
        Ok(Self { authority: format!("{host}:{port}"), host, port, service, url })
    }
}

/// Requests that ended well or not, and the end of the run, shared by the loops.
struct Tally {
    done: AtomicU64,
    failed: AtomicU64,
    stop: Instant,
}

impl Tally {
    fn new(stop: Instant) -> Self {
        Self { done: AtomicU64::new(0), failed: AtomicU64::new(0), stop }
    }

    /// Whether a loop sends one more request: before the deadline and under the cap.
    fn go(&self) -> bool {
        Instant::now() < self.stop && self.done.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed) < MAX_OPS
    }

    fn record(&self, ok: bool) {
        let counter = if ok { &self.done } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn counts(&self) -> (u64, u64) {
        (self.done.load(Ordering::Relaxed), self.failed.load(Ordering::Relaxed))
    }
}

/// What the measured part of a run did.
struct Sample {
    requests: u64,
    failures: u64,
    seconds: f64,
    cpu_us: f64,
}

/// A snapshot at the end of the warm-up, from which the measured part is counted.
struct Mark {
    at: Instant,
    cpu_us: f64,
    counts: (u64, u64),
}

impl Mark {
    fn now(tally: &Tally) -> Self {
        Self { at: Instant::now(), cpu_us: process_cpu_us(), counts: tally.counts() }
    }

    fn sample(&self, tally: &Tally) -> Sample {
        let (done, failed) = tally.counts();
        Sample {
            requests: done - self.counts.0,
            failures: failed - self.counts.1,
            seconds: self.at.elapsed().as_secs_f64(),
            cpu_us: process_cpu_us() - self.cpu_us,
        }
    }
}

/// Runs `concurrency` loops made by `slot` from the start of the warm-up to the deadline;
/// the loops (and their connections) live on across the end of the warm-up.
async fn drive<Fut>(concurrency: usize, run: Duration, mut slot: impl FnMut(Arc<Tally>) -> Fut) -> Sample
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let start = Instant::now();
    let tally = Arc::new(Tally::new(start + WARMUP + run));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        set.spawn(slot(Arc::clone(&tally)));
    }
    tokio::time::sleep_until((start + WARMUP).into()).await;
    let mark = Mark::now(&tally);
    while set.join_next().await.is_some() {}
    mark.sample(&tally)
}

// ---- socket ----

/// One keep-alive connection read and written with blocking std::net calls.
struct RawConnection {
    stream: std::net::TcpStream,
    buf: Vec<u8>,
}

impl RawConnection {
    fn open(target: &Target) -> std::io::Result<Self> {
        let stream = std::net::TcpStream::connect((target.host.as_str(), target.port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Self { stream, buf: Vec::with_capacity(4096) })
    }

    /// Sends one request and reads its whole answer; Ok(true) when the status is 2xx.
    fn exchange(&mut self, request: &[u8]) -> std::io::Result<bool> {
        self.stream.write_all(request)?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let (head_len, body_len) = loop {
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break (end + 4, content_length(&self.buf[..end]).ok_or(std::io::ErrorKind::InvalidData)?);
            }
            if self.buf.len() > 64 * 1024 {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
        };
        while self.buf.len() < head_len + body_len {
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        // "HTTP/1.1 2xx ...": the status's first digit.
        Ok(self.buf.get(9) == Some(&b'2'))
    }
}

/// The Content-Length of a response head, just enough to find where the answer ends; this
/// harness needs nothing else of HTTP (the emulator answers with a length, never chunked).
fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        if !line[..colon].eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        std::str::from_utf8(&line[colon + 1..]).ok()?.trim().parse().ok()
    })
}

fn socket(target: &Target, run: Duration) -> Sample {
    let start = Instant::now();
    let tally = Tally::new(start + WARMUP + run);
    let mut mark = None;
    let mut connection: Option<RawConnection> = None;
    let mut request = Vec::with_capacity(512);
    while tally.go() {
        if mark.is_none() && start.elapsed() >= WARMUP {
            mark = Some(Mark::now(&tally));
        }
        if connection.is_none() {
            connection = RawConnection::open(target).ok();
        }
        let Some(conn) = connection.as_mut() else {
            tally.record(false);
            continue;
        };
        request.clear();
        write!(
            request,
            "POST {} HTTP/1.1\r\nhost: {}\r\nuser-agent: {USER_AGENT_VALUE}\r\naccept: {JSON}\r\n\
             content-type: {JSON}\r\n{IDEMPOTENCY_KEY}: {}\r\ncontent-length: {}\r\n\r\n",
            target.url.path(),
            target.authority,
            idempotency_key(),
            BODY.len()
        )
        .expect("writing to a Vec");
        request.extend_from_slice(BODY);
        match conn.exchange(&request) {
            Ok(ok) => tally.record(ok),
            Err(_) => {
                connection = None;
                tally.record(false);
            }
        }
    }
    mark.unwrap_or_else(|| Mark::now(&tally)).sample(&tally)
}

// ---- hyper ----

async fn hyper_connect(target: &Target) -> Result<SendRequest<Full<Bytes>>, Box<dyn std::error::Error>> {
    let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port)).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

async fn hyper_exchange(sender: &mut SendRequest<Full<Bytes>>, uri: &hyper::Uri, host: &HeaderValue) -> bool {
    if sender.ready().await.is_err() {
        return false;
    }
    let mut request = hyper::Request::new(Full::new(Bytes::from_static(BODY)));
    *request.method_mut() = hyper::Method::POST;
    *request.uri_mut() = uri.clone();
    let headers = request.headers_mut();
    headers.insert(HOST, host.clone());
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    headers.insert(ACCEPT, HeaderValue::from_static(JSON));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(HeaderName::from_static(IDEMPOTENCY_KEY), key_header());
    let Ok(response) = sender.send_request(request).await else { return false };
    let ok = response.status().is_success();
    response.into_body().collect().await.is_ok() && ok
}

async fn hyper_slot(target: Arc<Target>, tally: Arc<Tally>) {
    let uri: hyper::Uri = target.url.path().parse().expect("the mint path is a valid URI");
    let host = HeaderValue::from_str(&target.authority).expect("host:port is a valid header value");
    let mut sender = None;
    while tally.go() {
        if sender.as_ref().is_none_or(SendRequest::is_closed) {
            sender = hyper_connect(&target).await.ok();
        }
        let ok = match sender.as_mut() {
            Some(sender) => hyper_exchange(sender, &uri, &host).await,
            None => false,
        };
        tally.record(ok);
    }
}

fn key_header() -> HeaderValue {
    HeaderValue::try_from(idempotency_key()).expect("hex digits are a valid header value")
}

// ---- reqwest ----

fn reqwest_client(concurrency: usize, lean: bool) -> reqwest::Client {
    // The crate builds reqwest with `rustls-no-provider`: a client needs a crypto provider even
    // for plain http. Ours hands reqwest a ring-based TLS config; the process default does here
    // (ring is deprecated by rustls only for lacking post-quantum key exchange).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    headers.insert(ACCEPT, HeaderValue::from_static(JSON));
    let mut builder = reqwest::Client::builder()
        .default_headers(headers)
        .tcp_nodelay(true)
        .pool_max_idle_per_host(concurrency)
        .pool_idle_timeout(Duration::from_secs(4))
        .no_proxy();
    if lean {
        builder = builder.retry(reqwest::retry::never().max_retries_per_request(0));
    }
    builder.build().expect("the reqwest client")
}

async fn reqwest_slot(client: reqwest::Client, url: Url, tally: Arc<Tally>) {
    while tally.go() {
        let sent = client
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(JSON))
            .header(HeaderName::from_static(IDEMPOTENCY_KEY), key_header())
            .body(Bytes::from_static(BODY))
            .send()
            .await;
        let ok = match sent {
            Ok(response) => {
                let ok = response.status().is_success();
                response.bytes().await.is_ok() && ok
            }
            Err(_) => false,
        };
        tally.record(ok);
    }
}

// ---- client ----

fn our_client(target: &Target) -> Arc<chittyid_client::client::Client> {
    common::mint_loop_client(target.service.as_str())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(mode), Some(concurrency), Some(seconds)) =
        (args.get(1), args.get(2), args.get(3), args.get(4))
    else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let target = Target::parse(url).unwrap_or_else(|e| {
        eprintln!("{e}\n{USAGE}");
        std::process::exit(2);
    });
    let concurrency: usize = concurrency.parse::<usize>().unwrap_or(1).clamp(1, 4096);
    let seconds: f64 = seconds.parse::<f64>().unwrap_or(3.0).clamp(0.1, 60.0);
    let run = Duration::from_secs_f64(seconds);
    let mode = mode.as_str();
    let sample = if mode == "socket" {
        if concurrency != 1 {
            eprintln!("mode socket measures CONCURRENCY 1 only");
            std::process::exit(2);
        }
        socket(&target, run)
    } else {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let target = Arc::new(target);
        rt.block_on(async {
            match mode {
                "hyper" => drive(concurrency, run, |tally| hyper_slot(Arc::clone(&target), tally)).await,
                "reqwest" | "reqwest-lean" => {
                    let client = reqwest_client(concurrency, mode == "reqwest-lean");
                    drive(concurrency, run, |tally| reqwest_slot(client.clone(), target.url.clone(), tally)).await
                }
                "client" => {
                    let client = our_client(&target);
                    drive(concurrency, run, |tally| {
                        let client = Arc::clone(&client);
                        async move {
                            while tally.go() {
                                tally.record(client.mint(Bytes::from_static(BODY), None).await.is_ok());
                            }
                        }
                    })
                    .await
                }
                _ => {
                    eprintln!("unknown mode {mode:?}\n{USAGE}");
                    std::process::exit(2);
                }
            }
        })
    };
    println!(
        "{{\"mode\":\"{mode}\",\"concurrency\":{concurrency},\"requests\":{},\"failures\":{},\"cpuUsPerRequest\":{:.2},\"throughput\":{:.0}}}",
        sample.requests,
        sample.failures,
        sample.cpu_us / sample.requests.max(1) as f64,
        sample.requests as f64 / sample.seconds
    );
}
