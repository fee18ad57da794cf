//! Turns a failed exchange (reqwest's error and whatever it wraps) into the client's error:
//! Node's failure codes (`ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`, TLS codes ...), since code
//! that wraps v1 classifies retryable errors by them, and the phase the request reached
//! (docs/ARCHITECTURE.md, "Retry safety").

use std::error::Error as StdError;
use std::io::ErrorKind;

use crate::error::{ClientError, Phase};

use super::redirect::RedirectRefused;
use super::resolve::{NotFound, NotLoopback};

/// The first error of type `T` in `err`'s chain. An `io::Error` hides the error it wraps from
/// `source()` (it answers that error's own source), so those are unwrapped by hand.
pub fn find_in_chain<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            current = Some(inner);
            continue;
        }
        current = e.source();
    }
    None
}

/// Local resource exhaustion: this process, not the service, is out of something. Such a
/// failure happens before anything is sent and never counts against the service.
pub fn local_resource_code(err: &std::io::Error) -> Option<&'static str> {
    match err.raw_os_error()? {
        24 => Some("EMFILE"),
        23 => Some("ENFILE"),
        105 => Some("ENOBUFS"),
        12 => Some("ENOMEM"),
        99 => Some("EADDRNOTAVAIL"),
        _ => None,
    }
}

fn io_code(err: &std::io::Error, phase: Phase) -> (&'static str, &'static str) {
    if let Some(code) = local_resource_code(err) {
        return (code, "connect");
    }
    let during = if phase == Phase::Connect { "connect" } else { "read" };
    let code = match err.kind() {
        ErrorKind::ConnectionRefused => "ECONNREFUSED",
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => "ECONNRESET",
        ErrorKind::BrokenPipe => "EPIPE",
        ErrorKind::TimedOut => "ETIMEDOUT",
        ErrorKind::HostUnreachable => "EHOSTUNREACH",
        ErrorKind::NetworkUnreachable => "ENETUNREACH",
        _ => "ECONNRESET",
    };
    (code, during)
}

/// How reqwest words a CONNECT answered with 407; it has no error type for it.
const PROXY_AUTH_REFUSED: &str = "proxy authorization required";

/// `peer` is `host:port` of the service, for messages shaped like Node's
/// (`connect ECONNREFUSED 127.0.0.1:8787`).
pub fn classify(err: &reqwest::Error, peer: &str) -> ClientError {
    let root: &(dyn StdError + 'static) = err;
    if let Some(refused) = find_in_chain::<RedirectRefused>(root) {
        return ClientError::Refused { code: refused.code, detail: refused.to_string() };
    }
    if let Some(not_loopback) = find_in_chain::<NotLoopback>(root) {
        return ClientError::Refused { code: "ERR_INSECURE_TARGET", detail: not_loopback.to_string() };
    }
    if let Some(NotFound(host)) = find_in_chain::<NotFound>(root) {
        return ClientError::Transport {
            code: "ENOTFOUND",
            detail: format!("getaddrinfo ENOTFOUND {host}"),
            phase: Phase::Connect,
        };
    }
    if let Some(tls) = find_in_chain::<rustls::Error>(root) {
        return super::tls::classify(tls);
    }
    let phase = if err.is_connect() { Phase::Connect } else { Phase::Exchange };
    if phase == Phase::Connect && chain_text(root).contains(PROXY_AUTH_REFUSED) {
        return ClientError::Refused {
            code: "ERR_PROXY_AUTH",
            detail: "the proxy answered CONNECT with 407 Proxy Authentication Required (check the credentials in the proxy URL)".into(),
        };
    }
    if err.is_timeout() {
        return ClientError::Timeout { after_ms: 0, phase };
    }
    // A body that cannot be decompressed carries an io::Error (InvalidData) too: it is the
    // answer that is bad, not the connection.
    if err.is_decode() {
        return ClientError::BadResponse { detail: format!("the body cannot be read ({})", chain_text(root)) };
    }
    if let Some(io) = find_in_chain::<std::io::Error>(root) {
        let (code, during) = io_code(io, phase);
        let phase = if local_resource_code(io).is_some() { Phase::Connect } else { phase };
        return ClientError::Transport { code, detail: format!("{during} {code} {peer}"), phase };
    }
    if let Some(hyper_err) = find_in_chain::<hyper::Error>(root) {
        if hyper_err.is_parse() || hyper_err.is_parse_status() || hyper_err.is_parse_too_large() {
            return ClientError::BadResponse { detail: format!("malformed HTTP response ({hyper_err})") };
        }
        if hyper_err.is_incomplete_message() || hyper_err.is_canceled() || hyper_err.is_closed() {
            return ClientError::Transport { code: "ECONNRESET", detail: format!("socket hang up {peer}"), phase };
        }
    }
    if err.is_body() {
        return ClientError::BadResponse { detail: format!("the body cannot be read ({})", chain_text(root)) };
    }
    if err.is_redirect() {
        return ClientError::Refused { code: "ERR_TOO_MANY_REDIRECTS", detail: chain_text(root) };
    }
    let code = if phase == Phase::Connect { "ECONNREFUSED" } else { "ECONNRESET" };
    ClientError::Transport { code, detail: format!("{} ({}) {peer}", code, chain_text(root)), phase }
}

/// Every message in the chain, innermost last; URLs carry no secret (the key is a header).
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_tls_failure_however_deeply_it_is_wrapped() {
        let unknown = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(find_in_chain::<rustls::Error>(&unknown).is_some());
        let wrapped = std::io::Error::other(unknown);
        assert!(matches!(find_in_chain::<rustls::Error>(&wrapped), Some(rustls::Error::InvalidCertificate(_))));
        assert!(find_in_chain::<rustls::Error>(&std::io::Error::from(std::io::ErrorKind::ConnectionReset)).is_none());
    }
}
