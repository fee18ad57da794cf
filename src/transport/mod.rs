//! One pool of keep-alive connections per `ChittyIDClient`, speaking a lean HTTP/1.1: the
//! request head's constant part is rendered once per client, each request is one write into
//! a reused buffer, and the response is framed in the connection's own read buffer. No URL
//! parsing, header maps or boxed futures per request: this path is the client's CPU budget.
//! Also: the per-request timeout, the response size cap, and Node-style failure codes.

pub mod fetch;
mod tls;
pub mod wire;

use std::io::ErrorKind;
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::ClientConfig;
use crate::error::{ClientError, Phase};
use wire::{parse_head, render_request, Chunked, Framing};
pub use wire::Method;

/// Idle connections kept per client; more are closed after use.
const MAX_IDLE: usize = 256;
/// A pooled connection idle at least this long that fails before answering is taken to have
/// been closed by the server's keep-alive timeout, and the request is sent again on a fresh
/// one. A connection reused sooner that fails is a real failure, left to the retry policy.
const STALE_AFTER: Duration = Duration::from_secs(1);

/// A complete answer from the service (any status).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub status_text: String,
    pub retry_after: Option<String>,
    pub body: Bytes,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Converts a non-2xx answer into the v1 error.
    pub fn error_for_status(self) -> Result<Response, ClientError> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(ClientError::Http { status: self.status, status_text: self.status_text, retry_after: self.retry_after })
        }
    }
}

pub struct Request<'a> {
    pub method: Method,
    /// Path below the service URL, already percent-encoded.
    pub path: &'a str,
    pub body: Option<Bytes>,
    pub idempotency_key: Option<&'a str>,
    pub timeout_ms: u64,
}

/// Where the service is, parsed once.
struct Endpoint {
    host: String,
    port: u16,
    base_path: String,
    tls: Option<(TlsConnector, rustls::pki_types::ServerName<'static>)>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    async fn read_buf(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(8192);
        }
        match self {
            Stream::Plain(s) => s.read_buf(buf).await,
            Stream::Tls(s) => s.read_buf(buf).await,
        }
    }
}

struct Conn {
    stream: Stream,
    buf: BytesMut,
    idle_since: std::time::Instant,
}

/// Why an exchange failed; `Unanswered` means the server sent nothing back, which on a reused
/// connection usually means it had closed it while idle (safe to send again once).
enum Failure {
    Unanswered(std::io::Error),
    Io(std::io::Error),
    Protocol(ClientError),
}

impl Conn {
    async fn exchange(&mut self, request: &[u8], max_body: usize) -> Result<(Response, bool), Failure> {
        self.stream.write_all(request).await.map_err(Failure::Unanswered)?;
        let head = loop {
            if let Some(head) = parse_head(&self.buf, max_body).map_err(Failure::Protocol)? {
                break head;
            }
            let n = self.stream.read_buf(&mut self.buf).await;
            match n {
                Ok(0) if self.buf.is_empty() => return Err(Failure::Unanswered(ErrorKind::UnexpectedEof.into())),
                Ok(0) => return Err(Failure::Io(ErrorKind::UnexpectedEof.into())),
                Ok(_) => {}
                Err(e) if self.buf.is_empty() => return Err(Failure::Unanswered(e)),
                Err(e) => return Err(Failure::Io(e)),
            }
        };
        self.buf.advance(head.len);
        let body = self.read_body(head.framing, max_body).await?;
        let response = Response { status: head.status, status_text: head.reason, retry_after: head.retry_after, body };
        // Leftover bytes would be a protocol violation; such a connection is not reused.
        Ok((response, head.keep_alive && self.buf.is_empty()))
    }

    async fn read_more(&mut self) -> Result<(), Failure> {
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err(Failure::Io(ErrorKind::UnexpectedEof.into())),
            Ok(_) => Ok(()),
            Err(e) => Err(Failure::Io(e)),
        }
    }

    async fn read_body(&mut self, framing: Framing, max_body: usize) -> Result<Bytes, Failure> {
        match framing {
            Framing::Length(len) => {
                while self.buf.len() < len {
                    self.read_more().await?;
                }
                Ok(self.buf.split_to(len).freeze())
            }
            Framing::Chunked => {
                let mut decoder = Chunked::default();
                let mut body = BytesMut::new();
                while !decoder.decode(&mut self.buf, &mut body, max_body).map_err(Failure::Protocol)? {
                    self.read_more().await?;
                }
                Ok(body.freeze())
            }
            Framing::UntilClose => loop {
                if self.buf.len() > max_body {
                    return Err(Failure::Protocol(ClientError::BodyTooLarge { limit: max_body }));
                }
                match self.stream.read_buf(&mut self.buf).await {
                    Ok(0) => return Ok(self.buf.split().freeze()),
                    Ok(_) => {}
                    Err(e) => return Err(Failure::Io(e)),
                }
            },
        }
    }
}

pub struct Transport {
    base_url: String,
    endpoint: Endpoint,
    /// Host, User-Agent, Accept and Authorization, rendered once.
    common_headers: Vec<u8>,
    idle: Mutex<Vec<Conn>>,
    max_response_bytes: usize,
    stale_after: Duration,
}

fn invalid(detail: impl Into<String>) -> ClientError {
    ClientError::InvalidArgument { detail: detail.into() }
}

fn render_common_headers(host_header: &str, api_key: Option<&str>) -> Result<Vec<u8>, ClientError> {
    let mut headers = format!(
        "Host: {host_header}\r\nUser-Agent: chittyid-client/{}\r\nAccept: application/json\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(key) = api_key.filter(|k| !k.is_empty()) {
        if key.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(invalid("apiKey contains characters not allowed in an HTTP header"));
        }
        headers.push_str("Authorization: Bearer ");
        headers.push_str(key);
        headers.push_str("\r\n");
    }
    Ok(headers.into_bytes())
}

impl Transport {
    pub fn new(config: &ClientConfig) -> Result<Self, ClientError> {
        let url = url::Url::parse(&config.service_url).map_err(|e| invalid(format!("serviceUrl: {e}")))?;
        let host = url.host_str().ok_or_else(|| invalid("serviceUrl has no host"))?;
        let port = url.port_or_known_default().ok_or_else(|| invalid("serviceUrl has no port"))?;
        let host_header = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let connect_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tls = match url.scheme() {
            "https" => Some((tls::connector(&config.extra_ca_pem)?, tls::server_name(&connect_host)?)),
            _ => None,
        };
        Ok(Self {
            base_url: config.service_url.clone(),
            endpoint: Endpoint { host: connect_host, port, base_path: url.path().trim_end_matches('/').to_owned(), tls },
            common_headers: render_common_headers(&host_header, config.api_key.as_deref())?,
            idle: Mutex::new(Vec::new()),
            max_response_bytes: config.max_response_bytes,
            stale_after: STALE_AFTER,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub async fn send(&self, req: Request<'_>) -> Result<Response, ClientError> {
        let started = std::time::Instant::now();
        let timeout = Duration::from_millis(req.timeout_ms);
        let result = match tokio::time::timeout(timeout, self.exchange(&req)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout { after_ms: req.timeout_ms, phase: Phase::Exchange }),
        };
        match &result {
            Ok(r) => tracing::debug!(method = req.method.as_str(), path = req.path, status = r.status, elapsed_us = started.elapsed().as_micros() as u64, "response"),
            Err(e) => tracing::debug!(method = req.method.as_str(), path = req.path, code = e.code(), error = %e, "request failed"),
        }
        result
    }

    async fn exchange(&self, req: &Request<'_>) -> Result<Response, ClientError> {
        let mut bytes = Vec::with_capacity(256 + self.common_headers.len() + req.body.as_ref().map_or(0, Bytes::len));
        let target = [self.endpoint.base_path.as_str(), req.path];
        render_request(&mut bytes, req.method, target, &self.common_headers, req.idempotency_key, req.body.as_deref());
        let mut pooled = self.checkout();
        loop {
            let maybe_stale = pooled.as_ref().is_some_and(|c| c.idle_since.elapsed() >= self.stale_after);
            let mut conn = match pooled.take() {
                Some(conn) => conn,
                None => self.connect().await?,
            };
            match conn.exchange(&bytes, self.max_response_bytes).await {
                Ok((response, reusable)) => {
                    if reusable {
                        self.checkin(conn);
                    }
                    return Ok(response);
                }
                // The server closed the idle connection before reading: send on a fresh one.
                Err(Failure::Unanswered(_)) if maybe_stale => continue,
                Err(Failure::Unanswered(e) | Failure::Io(e)) => return Err(self.classify(&e, "read")),
                Err(Failure::Protocol(e)) => return Err(e),
            }
        }
    }

    fn checkout(&self) -> Option<Conn> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn checkin(&self, mut conn: Conn) {
        conn.idle_since = std::time::Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    async fn connect(&self) -> Result<Conn, ClientError> {
        let e = &self.endpoint;
        let addrs: Vec<_> = tokio::net::lookup_host((e.host.as_str(), e.port))
            .await
            .map_err(|_| self.not_found())?
            .collect();
        if addrs.is_empty() {
            return Err(self.not_found());
        }
        let mut last = None;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(err) => last = Some(err),
            }
        }
        let tcp = match tcp {
            Some(tcp) => tcp,
            None => return Err(self.classify(&last.unwrap_or_else(|| ErrorKind::ConnectionRefused.into()), "connect")),
        };
        let _ = tcp.set_nodelay(true);
        let stream = match &e.tls {
            None => Stream::Plain(tcp),
            Some((connector, name)) => Stream::Tls(Box::new(
                connector.connect(name.clone(), tcp).await.map_err(|err| self.classify(&err, "connect"))?,
            )),
        };
        Ok(Conn { stream, buf: BytesMut::with_capacity(8192), idle_since: std::time::Instant::now() })
    }

    fn peer(&self) -> String {
        format!("{}:{}", self.endpoint.host, self.endpoint.port)
    }

    fn not_found(&self) -> ClientError {
        ClientError::Transport { code: "ENOTFOUND", detail: format!("getaddrinfo ENOTFOUND {}", self.endpoint.host), phase: Phase::Connect }
    }

    /// Names a transport failure the way Node does (`ECONNREFUSED`, `ECONNRESET`, ...), since
    /// code that wraps v1 classifies retryable errors by those codes.
    fn classify(&self, err: &std::io::Error, during: &str) -> ClientError {
        tracing::trace!(error = ?err, during, "transport failure");
        if let Some(tls) = tls::classify(err) {
            return tls;
        }
        let peer = self.peer();
        let (code, what) = match err.kind() {
            ErrorKind::ConnectionRefused => ("ECONNREFUSED", "connect ECONNREFUSED".to_owned()),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => ("ECONNRESET", format!("{during} ECONNRESET")),
            ErrorKind::BrokenPipe => ("EPIPE", "write EPIPE".to_owned()),
            ErrorKind::TimedOut => ("ETIMEDOUT", format!("{during} ETIMEDOUT")),
            ErrorKind::AddrNotAvailable => ("EADDRNOTAVAIL", "connect EADDRNOTAVAIL".to_owned()),
            ErrorKind::UnexpectedEof => ("ECONNRESET", "socket hang up".to_owned()),
            _ => ("ECONNRESET", format!("{during} failed ({err})")),
        };
        let phase = if during == "connect" { Phase::Connect } else { Phase::Exchange };
        ClientError::Transport { code, detail: format!("{what} {peer}"), phase }
    }
}

/// Which transport a client's exchanges go through (the `transport` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransportKind {
    #[default]
    Native,
    /// `globalThis.fetch`, through the JS side (`fetch::FetchTransport`).
    Fetch,
}

/// The transport of one client: the same `send` whichever it is.
pub enum ClientTransport {
    Native(Transport),
    Fetch(fetch::FetchTransport),
}

impl ClientTransport {
    pub fn new(config: &ClientConfig, kind: TransportKind) -> Result<Self, ClientError> {
        Ok(match kind {
            TransportKind::Native => ClientTransport::Native(Transport::new(config)?),
            TransportKind::Fetch => ClientTransport::Fetch(fetch::FetchTransport::new(config)?),
        })
    }

    pub fn base_url(&self) -> &str {
        match self {
            ClientTransport::Native(t) => t.base_url(),
            ClientTransport::Fetch(t) => t.base_url(),
        }
    }

    pub async fn send(&self, req: Request<'_>) -> Result<Response, ClientError> {
        match self {
            ClientTransport::Native(t) => t.send(req).await,
            ClientTransport::Fetch(t) => t.send(req).await,
        }
    }

    pub fn as_fetch(&self) -> Option<&fetch::FetchTransport> {
        match self {
            ClientTransport::Fetch(t) => Some(t),
            ClientTransport::Native(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    fn transport(url: &str) -> Transport {
        let config = ClientConfig { service_url: url.into(), api_key: Some("k".into()), ..ClientConfig::default() };
        Transport::new(&config).unwrap()
    }

    fn get(path: &str) -> Request<'_> {
        Request { method: Method::Get, path, body: None, idempotency_key: None, timeout_ms: 2000 }
    }

    /// A server that answers each connection's requests with `answers` in turn, then closes.
    async fn serve(answers: Vec<&'static [u8]>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            let (mut socket, _) = listener.accept().await.unwrap();
            for answer in answers {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap();
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                socket.write_all(answer).await.unwrap();
            }
            seen
        });
        (url, task)
    }

    #[test]
    fn reuses_one_connection_and_sends_the_prerendered_head() {
        runtime().block_on(async {
            let (url, server) = serve(vec![
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            ])
            .await;
            let t = transport(&url);
            assert_eq!(&t.send(get("/health")).await.unwrap().body[..], b"ok");
            assert_eq!(&t.send(get("/health")).await.unwrap().body[..], b"abc");
            let seen = server.await.unwrap();
            assert!(seen[0].starts_with("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:"));
            assert!(seen[0].contains("Authorization: Bearer k\r\n"));
            assert_eq!(seen.len(), 2, "both requests on one connection");
        });
    }

    #[test]
    fn a_stale_pooled_connection_is_replaced_transparently() {
        runtime().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let server = tokio::spawn(async move {
                // First connection: answer once, then close while the client holds it idle.
                let (mut first, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let _ = first.read(&mut buf).await.unwrap();
                first.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na").await.unwrap();
                drop(first);
                let (mut second, _) = listener.accept().await.unwrap();
                let _ = second.read(&mut buf).await.unwrap();
                second.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb").await.unwrap();
            });
            let t = Transport { stale_after: Duration::from_millis(20), ..transport(&url) };
            assert_eq!(&t.send(get("/x")).await.unwrap().body[..], b"a");
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(&t.send(get("/x")).await.unwrap().body[..], b"b");
            server.await.unwrap();
        });
    }

    #[test]
    fn a_pooled_connection_reused_at_once_that_fails_is_a_real_failure() {
        runtime().block_on(async {
            let (url, server) = serve(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"]).await;
            let t = transport(&url);
            assert_eq!(&t.send(get("/x")).await.unwrap().body[..], b"a");
            server.await.unwrap(); // the server has closed the connection
            assert_eq!(t.send(get("/x")).await.unwrap_err().code(), "ECONNRESET");
        });
    }

    #[test]
    fn a_connection_closed_mid_body_is_a_reset() {
        runtime().block_on(async {
            let (url, server) = serve(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"]).await;
            let t = transport(&url);
            let err = t.send(get("/x")).await.unwrap_err();
            assert_eq!(err.code(), "ECONNRESET");
            assert!(err.to_string().contains("fetch failed"));
            server.await.unwrap();
        });
    }

    #[test]
    fn refused_and_unresolvable_hosts_have_node_codes() {
        runtime().block_on(async {
            let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
            let refused = transport(&format!("http://127.0.0.1:{port}")).send(get("/x")).await.unwrap_err();
            assert_eq!(refused.code(), "ECONNREFUSED");
            let missing = transport("http://no-such-host.invalid").send(get("/x")).await.unwrap_err();
            assert_eq!(missing.code(), "ENOTFOUND");
        });
    }

    #[test]
    fn header_injection_through_the_key_is_refused() {
        let config = ClientConfig { api_key: Some("a\r\nX: y".into()), ..ClientConfig::default() };
        assert_eq!(Transport::new(&config).err().unwrap().code(), "ERR_INVALID_ARG_VALUE");
    }
}
