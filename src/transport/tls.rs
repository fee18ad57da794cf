//! TLS through rustls on ring: the bundled webpki roots plus any extra CA certificates, ALPN
//! offering h2 and http/1.1, and an opt-out of verification for `NODE_TLS_REJECT_UNAUTHORIZED=0`.
//! Also names certificate failures with the codes Node uses for them.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::ClientError;

fn invalid(detail: impl Into<String>) -> ClientError {
    ClientError::InvalidArgument { detail: detail.into() }
}

/// Every certificate of the `ca` option's bundles, each read as a trust anchor; a bundle without
/// one, or a certificate that cannot be one, is an invalid argument.
pub fn extra_roots(extra_ca_pem: &[Vec<u8>]) -> Result<RootCertStore, ClientError> {
    let mut roots = RootCertStore::empty();
    for pem in extra_ca_pem {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| invalid(format!("cannot read a CA certificate: {e}")))?;
            roots.add(cert).map_err(|e| invalid(format!("cannot use a CA certificate: {e}")))?;
            found += 1;
        }
        if found == 0 {
            return Err(invalid("a CA bundle holds no PEM certificate"));
        }
    }
    Ok(roots)
}

/// The rustls configuration of one client: trusts the webpki roots and every certificate in
/// `extra_ca_pem`, or (when `verify` is false) any certificate at all.
pub fn client_config(extra_ca_pem: &[Vec<u8>], verify: bool) -> Result<ClientConfig, ClientError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    roots.roots.extend(extra_roots(extra_ca_pem)?.roots);
    // ring is this crate's one crypto provider (it also signs the fleet's entries); rustls marks its
    // provider deprecated only for lacking post-quantum key exchange, which loopback and Redis do not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("cannot configure TLS: {e}")))?;
    let mut config = if verify {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// What `NODE_TLS_REJECT_UNAUTHORIZED=0` asks for: the certificate is not checked; the
/// handshake signatures still are, so the connection is at least encrypted to its peer.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The Node code for a failed handshake (the rustls error found in a failure's source chain).
pub fn classify(tls: &rustls::Error) -> ClientError {
    let code = match tls {
        rustls::Error::InvalidCertificate(c) => match c {
            rustls::CertificateError::UnknownIssuer => "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
            rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. } => {
                "ERR_TLS_CERT_ALTNAME_INVALID"
            }
            rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. } => "CERT_HAS_EXPIRED",
            _ => "ERR_TLS_CERT_INVALID",
        },
        _ => "ERR_TLS_HANDSHAKE",
    };
    ClientError::Tls { code, detail: tls.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_build_a_config_offering_h2() {
        let config = client_config(&[], true).unwrap();
        assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert!(client_config(&[], false).is_ok());
    }

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        assert_eq!(client_config(&[b"not a pem".to_vec()], true).err().unwrap().code(), "ERR_INVALID_ARG_VALUE");
    }

    #[test]
    fn names_the_common_certificate_failures() {
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert_eq!(classify(&unknown).code(), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
        let expired = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        assert_eq!(classify(&expired).code(), "CERT_HAS_EXPIRED");
        assert_eq!(classify(&rustls::Error::HandshakeNotComplete).code(), "ERR_TLS_HANDSHAKE");
    }
}
