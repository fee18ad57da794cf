//! Client configuration (assembled and checked by `builder::ClientBuilder`).

use crate::error::ClientError;

use crate::option_table as table;

pub const DEFAULT_SERVICE_URL: &str = table::SERVICE_URL;
pub const DEFAULT_TIMEOUT_MS: u64 = table::TIMEOUT;
/// `healthCheck()`'s own timeout (not an option).
pub const HEALTH_TIMEOUT_MS: u64 = table::HEALTH_TIMEOUT_MS;
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = table::MAX_RESPONSE_BYTES as usize;
/// Requests in flight per client (so HTTP/1.1 connections); more wait for a free one.
pub const DEFAULT_MAX_CONNECTIONS: usize = table::MAX_CONNECTIONS as usize;
/// Longest timeout accepted (about 24 days, what a JS timer can hold).
pub const MAX_TIMEOUT_MS: u64 = table::TIMEOUT_MAX;

#[derive(Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Base URL without trailing slashes; endpoint paths are appended as given.
    pub service_url: String,
    pub api_key: Option<String>,
    pub timeout_ms: u64,
    pub max_response_bytes: usize,
    /// Extra trusted roots (PEM), on top of the bundled webpki roots.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// False only when the process set `NODE_TLS_REJECT_UNAUTHORIZED=0`.
    pub verify_tls: bool,
    /// Plain http to hosts that are not loopback is allowed (and loopback names are not
    /// checked against their resolved addresses).
    pub allow_insecure: bool,
    pub max_connections: usize,
    pub proxy: ProxySetting,
}

/// Which proxy the client's requests go through (see `transport::proxy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProxySetting {
    #[default]
    Direct,
    /// The `proxy` option: every request goes through this proxy.
    Url(String),
    /// Node's environment variables, read by the JS side when the process opted in.
    Env { http: Option<String>, https: Option<String>, no_proxy: Option<String> },
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("service_url", &self.service_url)
            .field("api_key", &self.api_key.as_ref().map(|_| crate::redact::REDACTED))
            .field("timeout_ms", &self.timeout_ms)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("extra_ca_pem", &self.extra_ca_pem.len())
            .field("verify_tls", &self.verify_tls)
            .field("allow_insecure", &self.allow_insecure)
            .field("max_connections", &self.max_connections)
            // Proxy URLs may carry credentials.
            .field("proxy", &!matches!(self.proxy, ProxySetting::Direct))
            .finish()
    }
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            service_url: DEFAULT_SERVICE_URL.to_owned(),
            api_key: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            extra_ca_pem: Vec::new(),
            verify_tls: true,
            allow_insecure: table::ALLOW_INSECURE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            proxy: ProxySetting::Direct,
        }
    }
}

fn invalid(detail: impl Into<String>) -> ClientError {
    ClientError::InvalidArgument { detail: detail.into() }
}

/// Whether `host` is loopback as far as the URL alone can tell: a loopback IP, or `localhost`
/// / `*.localhost` (whose resolved addresses `transport::resolve` then checks).
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Checks that `url` is an absolute http(s) URL and strips trailing slashes so that
/// `${serviceUrl}/mint` never becomes `//mint`. Plain http is refused for anything but a
/// loopback host unless `allow_insecure`: the API key would travel in clear text.
pub fn normalize_service_url(url: &str, allow_insecure: bool) -> Result<String, ClientError> {
    let parsed =
        url::Url::parse(url).map_err(|e| invalid(format!("serviceUrl must be an absolute http(s) URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!("serviceUrl must use http or https, not {}:", parsed.scheme())));
    }
    let Some(host) = parsed.host().filter(|h| !matches!(h, url::Host::Domain(""))) else {
        return Err(invalid("serviceUrl has no host"));
    };
    if parsed.scheme() == "http" && !allow_insecure && !is_loopback_host(&host) {
        return Err(invalid(
            "serviceUrl uses plain http to a non-loopback host; use https, or set allowInsecure: true",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("serviceUrl must not carry credentials; use apiKey"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("serviceUrl must not have a query or fragment"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_trailing_slashes() {
        assert_eq!(normalize_service_url("http://127.0.0.1:1/v1/", false).unwrap(), "http://127.0.0.1:1/v1");
        assert_eq!(normalize_service_url("https://id.chitty.cc/v1", false).unwrap(), DEFAULT_SERVICE_URL);
        assert_eq!(normalize_service_url("http://localhost//", false).unwrap(), "http://localhost");
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "http://127.0.0.1:8787",
            "http://127.9.9.9/",
            "http://[::1]:1/v1",
            "http://localhost:1",
            "http://api.localhost",
        ] {
            assert!(normalize_service_url(ok, false).is_ok(), "{ok}");
        }
        for remote in ["http://id.chitty.cc/v1", "http://10.0.0.1/", "http://[2001:db8::1]/"] {
            assert!(normalize_service_url(remote, false).is_err(), "{remote}");
            assert!(normalize_service_url(remote, true).is_ok(), "{remote}");
        }
    }

    #[test]
    fn rejects_unusable_urls() {
        for bad in [
            "",
            "/v1",
            "id.chitty.cc",
            "ftp://h/v1",
            "file:///etc",
            "http://u:p@h/",
            "http://h/?a=1",
            "javascript:alert(1)",
        ] {
            let err = normalize_service_url(bad, true).unwrap_err();
            assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE", "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let c = TransportConfig { api_key: Some("sekrit".into()), ..Default::default() };
        assert!(!format!("{c:?}").contains("sekrit"));
    }
}
