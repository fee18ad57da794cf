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
//! MODE `transport`:    the client's own transport (src/transport/mod.rs) without the client core.
//! MODE `client`:       the Rust client core, as bench_mint_loop's `local` mode drives it.
//! `reqwest` takes knobs as `+` suffixes (`reqwest+exec+chunk+timer`: see `Knobs`), and any mode
//! but `socket` takes runtime knobs `+ei=N` (event_interval) and `+gqi=N` (global_queue_interval).
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
const USAGE: &str =
    "usage: bench_http_stack URL socket|hyper|reqwest[+KNOB...]|reqwest-lean|transport|client CONCURRENCY SECONDS";

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

/// The cap on a run's requests (warm-up included): `BENCH_OPS` when set, for counting
/// instructions per request under `valgrind --tool=callgrind` from two runs of different counts
/// (the difference of their totals over the difference of their requests).
fn op_cap() -> u64 {
    std::env::var("BENCH_OPS").ok().and_then(|v| v.parse().ok()).map_or(MAX_OPS, |n: u64| n.min(MAX_OPS))
}

/// Requests that ended well or not, and the end of the run, shared by the loops.
struct Tally {
    done: AtomicU64,
    failed: AtomicU64,
    stop: Instant,
    cap: u64,
}

impl Tally {
    fn new(stop: Instant) -> Self {
        Self { done: AtomicU64::new(0), failed: AtomicU64::new(0), stop, cap: op_cap() }
    }

    /// Whether a loop sends one more request: before the deadline and under the cap.
    fn go(&self) -> bool {
        Instant::now() < self.stop && self.done.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed) < self.cap
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
    /// Every request of the run, warm-up included.
    total: u64,
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
            total: done + failed,
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

/// Knobs of a `reqwest` run, from the mode's `+`-separated suffixes (`reqwest+exec+chunk`).
#[derive(Clone, Copy, Default)]
struct Knobs {
    /// `noretry`: reqwest's retry layer told never to retry (no per-request clone).
    no_retry: bool,
    /// `noredir`: `redirect::Policy::none()` (the layer stays in the stack either way).
    no_redirect: bool,
    /// `h1`: `http1_only()`.
    http1_only: bool,
    /// `noae`: no decoding accepted, so no `Accept-Encoding` header (what the header costs;
    /// the decompression layer stays). Not a behaviour the client may have.
    no_accept_encoding: bool,
    /// `exec`: a `reqwest::Request` built directly and sent with `Client::execute`, as
    /// src/transport/mod.rs does, instead of the request builder.
    execute: bool,
    /// `chunk`: the body read with `chunk()` in a loop (as src/transport does) instead of `bytes()`.
    chunk: bool,
    /// `rtimeout`: reqwest's own total timeout set (a timer per request inside reqwest).
    reqwest_timeout: bool,
    /// `timer`: the exchange wrapped in `tokio::time::timeout`, as src/transport does.
    our_timer: bool,
    /// `hdrs`: user-agent and accept set on each request instead of as the client's defaults.
    per_request_headers: bool,
}

impl Knobs {
    fn parse(suffixes: &[&str]) -> Result<Self, String> {
        let mut k = Self::default();
        for s in suffixes {
            match *s {
                "noretry" => k.no_retry = true,
                "noredir" => k.no_redirect = true,
                "h1" => k.http1_only = true,
                "noae" => k.no_accept_encoding = true,
                "exec" => k.execute = true,
                "chunk" => k.chunk = true,
                "rtimeout" => k.reqwest_timeout = true,
                "timer" => k.our_timer = true,
                "hdrs" => k.per_request_headers = true,
                // Runtime knobs, read in main.
                s if s.starts_with("ei=") || s.starts_with("gqi=") => {}
                other => return Err(format!("unknown knob {other:?}")),
            }
        }
        Ok(k)
    }
}

fn reqwest_client(concurrency: usize, knobs: Knobs) -> reqwest::Client {
    // The crate builds reqwest with `rustls-no-provider`: a client needs a crypto provider even
    // for plain http. Ours hands reqwest a ring-based TLS config; the process default does here
    // (ring is deprecated by rustls only for lacking post-quantum key exchange).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut headers = reqwest::header::HeaderMap::new();
    if !knobs.per_request_headers {
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(ACCEPT, HeaderValue::from_static(JSON));
    }
    let mut builder = reqwest::Client::builder()
        .default_headers(headers)
        .referer(false)
        .tcp_nodelay(true)
        .pool_max_idle_per_host(concurrency)
        .pool_idle_timeout(Duration::from_secs(4))
        .connect_timeout(Duration::from_secs(10))
        .no_proxy();
    if knobs.no_retry {
        builder = builder.retry(reqwest::retry::never().max_retries_per_request(0));
    }
    if knobs.no_redirect {
        builder = builder.redirect(reqwest::redirect::Policy::none());
    }
    if knobs.http1_only {
        builder = builder.http1_only();
    }
    if knobs.no_accept_encoding {
        builder = builder.no_gzip().no_brotli().no_deflate();
    }
    if knobs.reqwest_timeout {
        builder = builder.timeout(Duration::from_secs(10));
    }
    builder.build().expect("the reqwest client")
}

async fn reqwest_once(client: &reqwest::Client, url: &Url, knobs: Knobs) -> Result<bool, reqwest::Error> {
    let mut response = if knobs.execute {
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        let headers = request.headers_mut();
        if knobs.per_request_headers {
            headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
            headers.insert(ACCEPT, HeaderValue::from_static(JSON));
        }
        headers.insert(HeaderName::from_static(IDEMPOTENCY_KEY), key_header());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        *request.body_mut() = Some(Bytes::from_static(BODY).into());
        client.execute(request).await?
    } else {
        let mut builder = client.post(url.clone());
        if knobs.per_request_headers {
            builder = builder
                .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
                .header(ACCEPT, HeaderValue::from_static(JSON));
        }
        builder
            .header(CONTENT_TYPE, HeaderValue::from_static(JSON))
            .header(HeaderName::from_static(IDEMPOTENCY_KEY), key_header())
            .body(Bytes::from_static(BODY))
            .send()
            .await?
    };
    let ok = response.status().is_success();
    if knobs.chunk {
        let mut total = 0;
        while let Some(chunk) = response.chunk().await? {
            total += chunk.len();
        }
        Ok(ok && total > 0)
    } else {
        Ok(ok && !response.bytes().await?.is_empty())
    }
}

async fn reqwest_slot(client: reqwest::Client, url: Url, knobs: Knobs, tally: Arc<Tally>) {
    while tally.go() {
        let ok = if knobs.our_timer {
            matches!(
                tokio::time::timeout(Duration::from_secs(10), reqwest_once(&client, &url, knobs)).await,
                Ok(Ok(true))
            )
        } else {
            matches!(reqwest_once(&client, &url, knobs).await, Ok(true))
        };
        tally.record(ok);
    }
}

// ---- transport ----

/// The client's own transport (src/transport/mod.rs) alone: reqwest as configured there, the
/// permits, the attempt timer, the status text and the capped body read; no client core.
async fn transport_slot(transport: Arc<chittyid_client::transport::Transport>, tally: Arc<Tally>) {
    use chittyid_client::exchange::{Method, Request};
    while tally.go() {
        let key = idempotency_key();
        let request = Request {
            method: Method::Post,
            path: "/mint",
            body: Some(Bytes::from_static(BODY)),
            idempotency_key: Some(&key),
            timeout_ms: 10_000,
            from_origin: false,
            query: None,
        };
        tally.record(transport.send(request).await.is_ok_and(|r| (200..300).contains(&r.status)));
    }
}

/// With the client's defaults (`maxConnections` 256, so no call waits for a permit here).
fn our_transport(target: &Target) -> Arc<chittyid_client::transport::Transport> {
    let config = chittyid_client::transport::config::TransportConfig {
        service_url: target.service.clone(),
        ..Default::default()
    };
    Arc::new(chittyid_client::transport::Transport::new(&config).expect("the transport"))
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
    let full_mode = mode.as_str();
    let mut parts = full_mode.split('+');
    let mode = parts.next().unwrap_or("");
    let suffixes: Vec<&str> = parts.collect();
    let mut knobs = Knobs::parse(&suffixes).unwrap_or_else(|e| {
        eprintln!("{e}\n{USAGE}");
        std::process::exit(2);
    });
    let sample = if mode == "socket" {
        if concurrency != 1 {
            eprintln!("mode socket measures CONCURRENCY 1 only");
            std::process::exit(2);
        }
        socket(&target, run)
    } else {
        let mut builder = tokio::runtime::Builder::new_current_thread();
        builder.enable_all();
        for knob in &suffixes {
            if let Some(n) = knob.strip_prefix("ei=").and_then(|n| n.parse().ok()) {
                builder.event_interval(n);
            }
            if let Some(n) = knob.strip_prefix("gqi=").and_then(|n| n.parse().ok()) {
                builder.global_queue_interval(n);
            }
        }
        let rt = builder.build().expect("runtime");
        let target = Arc::new(target);
        rt.block_on(async {
            match mode {
                "hyper" => drive(concurrency, run, |tally| hyper_slot(Arc::clone(&target), tally)).await,
                "reqwest" | "reqwest-lean" => {
                    if mode == "reqwest-lean" {
                        knobs.no_retry = true;
                    }
                    let client = reqwest_client(concurrency, knobs);
                    drive(concurrency, run, |tally| reqwest_slot(client.clone(), target.url.clone(), knobs, tally))
                        .await
                }
                "transport" => {
                    let transport = our_transport(&target);
                    drive(concurrency, run, |tally| transport_slot(Arc::clone(&transport), tally)).await
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
        "{{\"mode\":\"{full_mode}\",\"concurrency\":{concurrency},\"requests\":{},\"failures\":{},\"cpuUsPerRequest\":{:.2},\"throughput\":{:.0},\"totalRequests\":{}}}",
        sample.requests,
        sample.failures,
        sample.cpu_us / sample.requests.max(1) as f64,
        sample.requests as f64 / sample.seconds,
        sample.total
    );
}
