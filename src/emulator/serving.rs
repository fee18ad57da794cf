//! How the emulator serves, beyond the routes: HTTPS with a throwaway CA (HTTP/2 and
//! HTTP/1.1 offered through ALPN), a same-origin move of `/v1/...` to `/api/v1/...` answered
//! with a redirect, and gzip-compressed answers. These model what sits in front of the real
//! service (a CDN terminating TLS, speaking h2, compressing, redirecting), so the client's
//! `fetch`-like behaviour is tested end to end.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, LOCATION};
use hyper::{HeaderMap, Response, StatusCode};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use super::Reply;

/// A CA made for this emulator alone and the acceptor presenting a certificate it signed for
/// `localhost`, `127.0.0.1` and `::1`.
pub(crate) struct Tls {
    pub acceptor: TlsAcceptor,
    pub ca_pem: String,
}

pub(crate) fn tls() -> std::io::Result<Tls> {
    let fail =
        |e: &dyn std::fmt::Display| std::io::Error::other(format!("cannot make the emulator's certificate: {e}"));
    let ca_key = KeyPair::generate().map_err(|e| fail(&e))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail(&e))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "chittyid emulator CA");
    let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| fail(&e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(|e| fail(&e))?;
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let mut leaf_params = CertificateParams::new(names).map_err(|e| fail(&e))?;
    leaf_params.distinguished_name.push(DnType::CommonName, "chittyid emulator");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(|e| fail(&e))?;

    let chain = vec![CertificateDer::from(leaf.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    // ring is this crate's one crypto provider (it also signs the fleet's entries); rustls marks its
    // provider deprecated only for lacking post-quantum key exchange, which loopback and Redis do not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(&e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| fail(&e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls { acceptor: TlsAcceptor::from(Arc::new(config)), ca_pem: ca_cert.pem() })
}

/// With `redirect_status` set, a request under `/v1/` is answered with that status and the
/// same path under `/api/v1/` (a same-origin move).
pub(crate) fn redirect(status: Option<u16>, path_and_query: &str) -> Option<Reply> {
    let status = StatusCode::from_u16(status?).ok()?;
    let rest = path_and_query.strip_prefix("/v1/")?;
    let mut reply = Response::new(Full::new(Bytes::new()));
    *reply.status_mut() = status;
    let location = HeaderValue::from_str(&format!("/api/v1/{rest}")).ok()?;
    reply.headers_mut().insert(LOCATION, location);
    reply.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(0));
    Some(reply)
}

pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|coding| coding.trim().split(';').next() == Some("gzip")))
}

/// The same answer, gzip-encoded.
pub(crate) async fn gzip(reply: Reply) -> Reply {
    use std::io::Write;
    let (mut parts, body) = reply.into_parts();
    let plain = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(plain.len() / 2 + 32), flate2::Compression::fast());
    let compressed = encoder.write_all(&plain).and_then(|()| encoder.finish()).unwrap_or_default();
    parts.headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(compressed.len()));
    Response::from_parts(parts, Full::new(Bytes::from(compressed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_setup_can_be_made() {
        let tls = tls().unwrap();
        assert!(tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn only_v1_paths_are_moved() {
        let reply = redirect(Some(308), "/v1/mint").unwrap();
        assert_eq!(reply.status(), 308);
        assert_eq!(reply.headers()[LOCATION], "/api/v1/mint");
        assert!(redirect(Some(308), "/api/v1/mint").is_none());
        assert!(redirect(None, "/v1/mint").is_none());
    }

    #[test]
    fn gzip_is_recognised_among_codings() {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8"));
        assert!(accepts_gzip(&headers));
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        assert!(!accepts_gzip(&headers));
    }
}
