//! HTTP for one `ChittyIDClient`: a thin adapter over one `reqwest::Client`, built once with
//! everything the client needs (docs/ARCHITECTURE.md, "Transport"): rustls with the client's
//! roots and ALPN (h2 when the server offers it), `fetch`-style redirects and decompression,
//! Node-style proxies, loopback-only name resolution for plain http, and a bound on
//! concurrent requests. What stays here: the per-request timeout, the response size cap
//! (applied to the decoded body while it streams in), and the mapping of failures to Node's
//! codes and to the phase the request reached.
//!
//! The hot path keeps per-request work small: the fixed routes' URLs are parsed once, the
//! constant headers are the client's defaults, the body is handed over as `Bytes` without a
//! copy, and a response that arrives in one chunk is kept as that chunk.

pub mod config;
mod errors;
pub mod fetch;
mod proxy;
mod redirect;
mod resolve;
mod tls;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT,
};
use reqwest::Url;
use tokio::sync::Semaphore;

use crate::error::{ClientError, Phase};
use crate::redact::Redactor;
use crate::transport::config::{ProxySetting, TransportConfig};

pub use redirect::MAX_REDIRECTS;

/// Idle pooled connections are closed after this long, shorter than the keep-alive timeout of
/// common servers (Node's is 5 s), so a request is rarely written onto a connection the
/// server is closing at that moment (an ambiguous failure for a mint).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

const USER_AGENT_VALUE: &str = concat!("chittyid-client/", env!("CARGO_PKG_VERSION"));

pub use crate::exchange::{Method, Request, Response};

impl Method {
    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        }
    }
}

/// The URLs of the routes with a fixed path, parsed once.
struct Routes {
    mint: Url,
    batch: Url,
    health: Url,
    /// The service URL itself, whose path other routes (`/validate/<id>`) extend: setting a
    /// path re-parses only the path, not the host.
    base: Url,
}

pub struct Transport {
    base_url: String,
    /// Taken at `close()`: the pool and its idle sockets go with the last clone (a request in
    /// flight holds one until it is dropped), not at reqwest's idle sweep seconds later.
    http: RwLock<Option<reqwest::Client>>,
    routes: Routes,
    /// `host:port`, for messages shaped like Node's.
    peer: String,
    /// One permit per request in flight: at most `max_connections` connections (HTTP/1.1) or
    /// streams (h2). Calls beyond it wait for a permit before their timeout starts.
    permits: Arc<Semaphore>,
    max_response_bytes: usize,
}

fn invalid(detail: impl Into<String>) -> ClientError {
    ClientError::InvalidArgument { detail: detail.into() }
}

fn default_headers(api_key: Option<&str>) -> Result<HeaderMap, ClientError> {
    let mut headers = HeaderMap::new();
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    if let Some(key) = api_key.filter(|k| !k.is_empty()) {
        let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| invalid("apiKey contains characters not allowed in an HTTP header"))?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    Ok(headers)
}

fn route(base: &str, path: &str) -> Result<Url, ClientError> {
    Url::parse(&format!("{base}{path}")).map_err(|e| invalid(format!("serviceUrl: {e}")))
}

impl Transport {
    pub fn new(config: &TransportConfig) -> Result<Self, ClientError> {
        let url = Url::parse(&config.service_url).map_err(|e| invalid(format!("serviceUrl: {e}")))?;
        let host = url.host_str().ok_or_else(|| invalid("serviceUrl has no host"))?;
        let port = url.port_or_known_default().ok_or_else(|| invalid("serviceUrl has no port"))?;
        let loopback_only = url.scheme() == "http" && !config.allow_insecure;
        let mut builder = reqwest::Client::builder()
            .default_headers(default_headers(config.api_key.as_deref())?)
            .redirect(redirect::policy(config.allow_insecure))
            // fetch sends none; the service URL's path is nothing another origin needs to know.
            .referer(false)
            .dns_resolver(Arc::new(resolve::Resolver { loopback_only }))
            .tcp_nodelay(true)
            .pool_max_idle_per_host(config.max_connections)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .connect_timeout(Duration::from_millis(config.timeout_ms))
            .tls_backend_preconfigured(tls::client_config(&config.extra_ca_pem, config.verify_tls)?)
            .no_proxy();
        for proxy in proxy::proxies(&config.proxy)? {
            builder = builder.proxy(proxy);
        }
        let http = builder.build().map_err(|e| invalid(format!("cannot build the HTTP client ({e})")))?;
        let base = config.service_url.as_str();
        Ok(Self {
            base_url: config.service_url.clone(),
            http: RwLock::new(Some(http)),
            routes: Routes {
                mint: route(base, "/mint")?,
                batch: route(base, "/mint/batch")?,
                health: route(base, "/health")?,
                base: url.clone(),
            },
            peer: format!("{}:{port}", host.trim_start_matches('[').trim_end_matches(']')),
            permits: Arc::new(Semaphore::new(config.max_connections)),
            max_response_bytes: config.max_response_bytes,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Drops this transport's HTTP client: its idle pooled connections close now, and later
    /// requests fail with `ECLIENTCLOSED`.
    pub fn close(&self) {
        let http = self.http.write().unwrap_or_else(PoisonError::into_inner).take();
        drop(http);
    }

    pub async fn send(&self, req: Request<'_>) -> Result<Response, ClientError> {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self.permits.acquire().await.ok();
        let timeout = Duration::from_millis(req.timeout_ms);
        let result = match tokio::time::timeout(timeout, self.exchange(&req)).await {
            Ok(Err(ClientError::Timeout { phase, .. })) => {
                Err(ClientError::Timeout { after_ms: req.timeout_ms, phase })
            }
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout { after_ms: req.timeout_ms, phase: Phase::Exchange }),
        };
        // The connection goes back to the pool from hyper's own task once the answer is read;
        // when every permit is taken (a call may be waiting for this one), letting that task run
        // before the permit passes on means the next request finds it idle instead of opening
        // one more connection. With permits to spare no call waits, and the yield would only
        // cost an extra poll of the driver.
        if self.permits.available_permits() == 0 {
            tokio::task::yield_now().await;
        }
        result
    }

    fn url_for(&self, req: &Request<'_>) -> Url {
        let mut url = self.path_url(req.path, req.from_origin);
        if req.query.is_some() {
            url.set_query(req.query);
        }
        url
    }

    fn path_url(&self, path: &str, from_origin: bool) -> Url {
        if from_origin {
            let mut url = self.routes.base.clone();
            url.set_path(path);
            return url;
        }
        match path {
            "/mint" => self.routes.mint.clone(),
            "/mint/batch" => self.routes.batch.clone(),
            "/health" => self.routes.health.clone(),
            _ => {
                let mut url = self.routes.base.clone();
                url.set_path(&format!("{}{path}", self.routes.base.path().trim_end_matches('/')));
                url
            }
        }
    }

    async fn exchange(&self, req: &Request<'_>) -> Result<Response, ClientError> {
        let mut request = reqwest::Request::new(req.method.to_reqwest(), self.url_for(req));
        let headers = request.headers_mut();
        // The call's own headers (trace context...), checked by `telemetry::parse_headers`;
        // the client's headers are inserted after them and so always win.
        if let Some(extra) = crate::observe::telemetry::extra_headers() {
            for (name, value) in extra.iter() {
                if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                    if !crate::observe::telemetry::is_reserved_header(name.as_str()) {
                        headers.append(name, value);
                    }
                }
            }
        }
        if let Some(key) = req.idempotency_key {
            let value =
                HeaderValue::from_str(key).map_err(|_| invalid("idempotencyKey is not a valid header value"))?;
            headers.insert(HeaderName::from_static("idempotency-key"), value);
        }
        if let Some(body) = &req.body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            *request.body_mut() = Some(body.clone().into());
        }
        let http = self.http.read().unwrap_or_else(PoisonError::into_inner).clone().ok_or(ClientError::Closed)?;
        let mut response = http.execute(request).await.map_err(|e| errors::classify(&e, &self.peer))?;
        let status = response.status();
        let status_text = match response.extensions().get::<hyper::ext::ReasonPhrase>() {
            Some(reason) => String::from_utf8_lossy(reason.as_bytes()).into_owned(),
            None => status.canonical_reason().unwrap_or("").to_owned(),
        };
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let limit = self.max_response_bytes;
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(ClientError::BodyTooLarge { limit });
        }
        let body = read_capped(&mut response, limit).await.map_err(|e| match e {
            ReadError::TooLarge => ClientError::BodyTooLarge { limit },
            ReadError::Failed(e) => errors::classify(&e, &self.peer),
        })?;
        Ok(Response { status: status.as_u16(), status_text, retry_after, body })
    }
}

enum ReadError {
    TooLarge,
    Failed(reqwest::Error),
}

/// Reads the (decoded) body chunk by chunk, stopping as soon as it would exceed `limit`.
async fn read_capped(response: &mut reqwest::Response, limit: usize) -> Result<Bytes, ReadError> {
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Failed)? {
        // `rest` holds the first chunk too once a second one arrived.
        let so_far = if rest.is_empty() { first.as_ref().map_or(0, Bytes::len) } else { rest.len() };
        if so_far + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        match &first {
            None => first = Some(chunk),
            Some(head) => {
                if rest.is_empty() {
                    rest.extend_from_slice(head);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(if rest.is_empty() { first.unwrap_or_default() } else { rest.freeze() })
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
pub struct ClientTransport {
    kind: Kind,
    /// `scheme://host[:port]` of the service URL, for the URLs of routes below the origin.
    origin: String,
    /// Scrubs the API key from what comes back, before anything (the caller, telemetry, logs,
    /// the parsers) sees it (docs/ARCHITECTURE.md, "Redaction").
    redactor: Redactor,
    /// The same for the passwords of the proxy URLs: a proxy may echo `Proxy-Authorization`
    /// (`Basic base64(user:password)`) in the 407 it answers a plain-http request with.
    proxy_redactors: Vec<Redactor>,
}

/// A redactor per password in the proxy URLs of `setting` (percent-decoded, as sent).
fn proxy_redactors(setting: &ProxySetting) -> Vec<Redactor> {
    let urls: Vec<&String> = match setting {
        ProxySetting::Direct => Vec::new(),
        ProxySetting::Url(url) => vec![url],
        ProxySetting::Env { http, https, .. } => http.iter().chain(https.iter()).collect(),
    };
    urls.into_iter()
        .filter_map(|url| {
            let parsed = Url::parse(url).or_else(|_| Url::parse(&format!("http://{url}"))).ok()?;
            let password = percent_encoding::percent_decode_str(parsed.password()?).decode_utf8_lossy().into_owned();
            (!password.is_empty()).then(|| Redactor::new(Some(&password)))
        })
        .collect()
}

// One per client, matched on every request: boxing the larger variant would add a pointer hop there.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Native(Transport),
    Fetch(fetch::FetchTransport),
}

impl ClientTransport {
    pub fn new(config: &TransportConfig, kind: TransportKind) -> Result<Self, ClientError> {
        let kind = match kind {
            TransportKind::Native => Kind::Native(Transport::new(config)?),
            TransportKind::Fetch => {
                // The platform's fetch makes the requests, with its own proxy rules and CAs; the
                // `proxy` and `ca` settings are still checked, so a bad one is refused at
                // construction whichever transport the process picks (jest: fetch; production: native).
                proxy::proxies(&config.proxy)?;
                tls::extra_roots(&config.extra_ca_pem)?;
                Kind::Fetch(fetch::FetchTransport::new(config)?)
            }
        };
        let origin = Url::parse(&config.service_url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        Ok(Self {
            kind,
            origin,
            redactor: Redactor::new(config.api_key.as_deref()),
            proxy_redactors: proxy_redactors(&config.proxy),
        })
    }

    pub fn base_url(&self) -> &str {
        match &self.kind {
            Kind::Native(t) => t.base_url(),
            Kind::Fetch(t) => t.base_url(),
        }
    }

    /// One exchange. What the service sends back is free text (the reason phrase, a failure's
    /// detail) redacted of the key here, the one place both transports' answers pass; the body
    /// is data and goes to the parsers as sent.
    pub async fn send(&self, req: Request<'_>) -> Result<Response, ClientError> {
        // The URL telemetry shows is the one this endpoint sends to (the service URL carries no
        // credentials, query or fragment: `config::normalize_service_url`).
        let base = if req.from_origin { self.origin.as_str() } else { self.base_url() };
        let exchange =
            crate::observe::telemetry::request_starts(req.method, || req.url_below(base), req.idempotency_key);
        let (method, path, started) = (req.method, req.path, std::time::Instant::now());
        let (transport, result) = match &self.kind {
            Kind::Native(t) => ("native", t.send(req).await),
            Kind::Fetch(t) => ("fetch", t.send(req).await),
        };
        let result = match result {
            Ok(mut response) => {
                for redactor in std::iter::once(&self.redactor).chain(&self.proxy_redactors) {
                    redactor.redact_in_place(&mut response.status_text);
                }
                Ok(response)
            }
            Err(err) => Err(self.proxy_redactors.iter().fold(err.redacted(&self.redactor), |e, r| e.redacted(r))),
        };
        match &result {
            Ok(r) => tracing::debug!(
                transport,
                method = method.as_str(),
                path,
                status = r.status,
                elapsed_us = started.elapsed().as_micros() as u64,
                "response"
            ),
            Err(e) => {
                tracing::debug!(transport, method = method.as_str(), path, code = e.code(), error = %e, "request failed")
            }
        }
        exchange.finished(&result);
        result
    }

    /// The native transport drops its HTTP client and pool ([`Transport::close`]); the fetch
    /// transport holds no socket of its own (JS unwires it).
    pub fn close(&self) {
        if let Kind::Native(t) = &self.kind {
            t.close();
        }
    }

    pub fn as_fetch(&self) -> Option<&fetch::FetchTransport> {
        match &self.kind {
            Kind::Fetch(t) => Some(t),
            Kind::Native(_) => None,
        }
    }
}

#[cfg(test)]
mod tests;
