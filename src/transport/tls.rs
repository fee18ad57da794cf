//! TLS through rustls (ring): the bundled webpki roots plus any extra CA certificates, and
//! certificate failures named with the codes Node uses for them.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::error::ClientError;

fn invalid(detail: impl Into<String>) -> ClientError {
    ClientError::InvalidArgument { detail: detail.into() }
}

/// A connector trusting the webpki roots and every certificate in `extra_ca_pem`.
pub fn connector(extra_ca_pem: &[Vec<u8>]) -> Result<TlsConnector, ClientError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("cannot configure TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

pub fn server_name(host: &str) -> Result<ServerName<'static>, ClientError> {
    ServerName::try_from(host.to_owned()).map_err(|_| invalid(format!("{host} is not a valid TLS server name")))
}

/// The Node code for a failed handshake, when `err` carries a rustls error.
pub fn classify(err: &std::io::Error) -> Option<ClientError> {
    let mut inner: &(dyn std::error::Error + 'static) = err.get_ref()?;
    while let Some(io) = inner.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        inner = io;
    }
    let tls = inner.downcast_ref::<rustls::Error>()?;
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
    Some(ClientError::Tls { code, detail: tls.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_build_a_connector() {
        assert!(connector(&[]).is_ok());
    }

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        assert_eq!(connector(&[b"not a pem".to_vec()]).err().unwrap().code(), "ERR_INVALID_ARG_VALUE");
    }

    #[test]
    fn names_the_common_certificate_failures() {
        let unknown = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(classify(&unknown).unwrap().code(), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
        let wrapped = std::io::Error::other(unknown);
        assert_eq!(classify(&wrapped).unwrap().code(), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
        assert!(classify(&std::io::Error::from(std::io::ErrorKind::ConnectionReset)).is_none());
    }
}
