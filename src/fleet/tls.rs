//! The Redis client of a fleet, for `redis://` and `rediss://` (TLS) URLs. TLS follows the rules
//! of the HTTP transport (`transport::tls`): the bundled Mozilla roots plus the `ca` option and
//! `NODE_EXTRA_CA_CERTS` (both arrive as `extra_ca_pem`), and no verification at all only when
//! the process set `NODE_TLS_REJECT_UNAUTHORIZED=0` (`verify` false). The redis crate does the
//! handshake with rustls; this module only decides what it trusts.

use redis::{ConnectionAddr, IntoConnectionInfo, TlsCertificates};

/// What a TLS connection to Redis trusts: the client's own TLS settings.
#[derive(Clone, Copy, Debug)]
pub struct Trust<'a> {
    /// The `ca` option and `NODE_EXTRA_CA_CERTS` (PEM).
    pub extra_ca_pem: &'a [Vec<u8>],
    /// False only under `NODE_TLS_REJECT_UNAUTHORIZED=0`.
    pub verify: bool,
}

impl Trust<'static> {
    /// The bundled roots only, verified.
    pub const DEFAULT: Self = Trust { extra_ca_pem: &[], verify: true };
}

/// Builds the client without connecting. The error never quotes the URL (it may hold a
/// password).
pub fn redis_client(url: &str, trust: Trust<'_>) -> Result<redis::Client, String> {
    let Trust { extra_ca_pem, verify } = trust;
    let unusable = || "fleet.redis is not a usable redis:// or rediss:// URL".to_owned();
    if !url.starts_with("rediss://") {
        return redis::Client::open(url).map_err(|_| unusable());
    }
    // The crate reads `#insecure` as "skip verification"; here only the process-wide Node
    // setting may do that, as for the service's own connection.
    if url.contains('#') {
        return Err("fleet.redis must not have a #fragment (to skip TLS verification, set NODE_TLS_REJECT_UNAUTHORIZED=0; to trust a private CA, pass it as `ca`)".to_owned());
    }
    let info = url.into_connection_info().map_err(|_| unusable())?;
    let ConnectionAddr::TcpTls { host, port, .. } = info.addr().clone() else { return Err(unusable()) };
    let info = info.set_addr(ConnectionAddr::TcpTls { host, port, insecure: !verify, tls_params: None });
    if !verify || extra_ca_pem.is_empty() {
        // The crate's default store is the same bundled webpki roots the HTTP transport trusts.
        return redis::Client::open(info).map_err(|_| unusable());
    }
    // Given a root store, the crate trusts only it: the bundled roots go in with the extra CAs.
    let mut bundle = pem::encode_many(
        &webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|cert| pem::Pem::new("CERTIFICATE", cert.as_ref().to_vec()))
            .collect::<Vec<_>>(),
    )
    .into_bytes();
    for extra in extra_ca_pem {
        bundle.push(b'\n');
        bundle.extend_from_slice(extra);
    }
    redis::Client::build_with_tls(info, TlsCertificates { client_tls: None, root_cert: Some(bundle) }).map_err(|_| {
        "fleet.redis: the CA certificates given (`ca`, NODE_EXTRA_CA_CERTS) cannot be used for Redis".to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_fragments() {
        let insecure = Trust { verify: false, ..Trust::DEFAULT };
        assert!(redis_client("redis://127.0.0.1:6379/", Trust::DEFAULT).is_ok());
        assert!(redis_client("rediss://127.0.0.1:6380/", Trust::DEFAULT).is_ok());
        assert!(redis_client("rediss://127.0.0.1:6380/", insecure).is_ok());
        let err = redis_client("rediss://:pw@127.0.0.1:6380/#insecure", Trust::DEFAULT).unwrap_err();
        assert!(err.contains("NODE_TLS_REJECT_UNAUTHORIZED") && !err.contains("pw"), "{err}");
        assert!(redis_client("http://127.0.0.1:6380/", Trust::DEFAULT).is_err());
    }

    #[test]
    fn extra_cas_join_the_bundled_roots() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let extra = [params.self_signed(&key).unwrap().pem().into_bytes()];
        // The whole Mozilla set parses as a PEM trust store, with the extra CA after it.
        assert!(redis_client("rediss://127.0.0.1:6380/", Trust { extra_ca_pem: &extra, verify: true }).is_ok());
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
    }
}
