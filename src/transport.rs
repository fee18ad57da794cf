//! One pooled keep-alive HTTP client per `ChittyIDClient`: sends a request, enforces the
//! timeout and the response size cap, and classifies transport failures into `ClientError`.

use std::error::Error as _;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;

use crate::config::ClientConfig;
use crate::error::ClientError;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

pub struct Transport {
    http: reqwest::Client,
    base_url: String,
    max_response_bytes: usize,
}

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
            Err(ClientError::Http {
                status: self.status,
                status_text: self.status_text,
                retry_after: self.retry_after,
            })
        }
    }
}

pub struct Request<'a> {
    pub method: Method,
    pub path: &'a str,
    pub body: Option<Bytes>,
    pub idempotency_key: Option<&'a str>,
    pub timeout_ms: u64,
}

fn default_headers(api_key: Option<&str>) -> Result<HeaderMap, ClientError> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    if let Some(key) = api_key.filter(|k| !k.is_empty()) {
        let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
            ClientError::InvalidArgument {
                detail: "apiKey contains characters not allowed in an HTTP header".into(),
            }
        })?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    Ok(headers)
}

impl Transport {
    pub fn new(config: &ClientConfig) -> Result<Self, ClientError> {
        let mut builder = reqwest::Client::builder();
        for pem in &config.extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                ClientError::InvalidArgument { detail: format!("cannot read a CA certificate: {e}") }
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .default_headers(default_headers(config.api_key.as_deref())?)
            .user_agent(concat!("chittyid-client/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::InvalidArgument {
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            base_url: config.service_url.clone(),
            max_response_bytes: config.max_response_bytes,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub async fn send(&self, req: Request<'_>) -> Result<Response, ClientError> {
        let timeout = Duration::from_millis(req.timeout_ms);
        let url = format!("{}{}", self.base_url, req.path);
        let method = req.method.clone();
        let started = std::time::Instant::now();
        let exchange = async {
            let mut builder = self.http.request(req.method, url);
            if let Some(body) = req.body {
                builder = builder.header(CONTENT_TYPE, "application/json").body(body);
            }
            if let Some(key) = req.idempotency_key {
                builder = builder.header(IDEMPOTENCY_KEY, key);
            }
            let response = builder.send().await.map_err(|e| self.classify(&e))?;
            self.read(response).await
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout { after_ms: req.timeout_ms }),
        };
        match &result {
            Ok(r) => tracing::debug!(%method, path = req.path, status = r.status, elapsed_us = started.elapsed().as_micros() as u64, "response"),
            Err(e) => tracing::debug!(%method, path = req.path, code = e.code(), error = %e, "request failed"),
        }
        result
    }

    async fn read(&self, mut response: reqwest::Response) -> Result<Response, ClientError> {
        let limit = self.max_response_bytes;
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(ClientError::BodyTooLarge { limit });
        }
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(ClientError::BodyTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status: status.as_u16(),
            status_text: status.canonical_reason().unwrap_or("").to_owned(),
            retry_after,
            body: body.freeze(),
        })
    }

    fn peer(&self) -> String {
        reqwest::Url::parse(&self.base_url)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_default()
    }

    /// Names a transport failure the way Node does (`ECONNREFUSED`, `ECONNRESET`, ...),
    /// since code that wraps v1 classifies retryable errors by those codes.
    fn classify(&self, err: &reqwest::Error) -> ClientError {
        if err.is_timeout() {
            return ClientError::Timeout { after_ms: 0 };
        }
        let peer = self.peer();
        tracing::trace!(error = ?err, "transport failure");
        if let Some(tls) = tls_failure(err) {
            return tls;
        }
        let (code, what) = match io_error_kind(err) {
            Some(std::io::ErrorKind::ConnectionRefused) => ("ECONNREFUSED", "connect ECONNREFUSED"),
            Some(std::io::ErrorKind::ConnectionReset) => ("ECONNRESET", "read ECONNRESET"),
            Some(std::io::ErrorKind::ConnectionAborted) => ("ECONNRESET", "connection aborted"),
            Some(std::io::ErrorKind::BrokenPipe) => ("EPIPE", "write EPIPE"),
            Some(std::io::ErrorKind::TimedOut) => ("ETIMEDOUT", "connect ETIMEDOUT"),
            Some(std::io::ErrorKind::AddrNotAvailable) => ("EADDRNOTAVAIL", "connect EADDRNOTAVAIL"),
            _ if chain_mentions(err, "dns error") => ("ENOTFOUND", "getaddrinfo ENOTFOUND"),
            _ if err.is_connect() => ("ECONNREFUSED", "connect failed"),
            _ => ("ECONNRESET", "socket hang up"),
        };
        ClientError::Transport { code, detail: format!("{what} {peer}") }
    }
}

fn io_error_kind(err: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

/// A failed certificate check, named with the code Node uses for the same failure.
fn tls_failure(err: &reqwest::Error) -> Option<ClientError> {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(mut e) = source {
        // The rustls error sits inside (nested) io::Errors, whose `source()` skips it.
        while let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            e = inner;
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            let code = match tls {
                rustls::Error::InvalidCertificate(c) => match c {
                    rustls::CertificateError::UnknownIssuer => "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                    rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. } => "ERR_TLS_CERT_ALTNAME_INVALID",
                    rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. } => "CERT_HAS_EXPIRED",
                    _ => "ERR_TLS_CERT_INVALID",
                },
                _ => "ERR_TLS_HANDSHAKE",
            };
            return Some(ClientError::Tls { code, detail: tls.to_string() });
        }
        source = e.source();
    }
    None
}

fn chain_mentions(err: &reqwest::Error, needle: &str) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = source {
        if e.to_string().contains(needle) {
            return true;
        }
        source = e.source();
    }
    false
}
