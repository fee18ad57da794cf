//! The emulator's serving options, exercised through the client's own transport: HTTPS with
//! h2 negotiated by ALPN, a same-origin redirect of `/v1`, and gzip answers.

use bytes::Bytes;

use crate::emulator::{Emulator, EmulatorOptions};
use crate::transport::config::TransportConfig;
use crate::transport::{Method, Request, Transport};

fn mint_request(key: &str) -> Request<'_> {
    Request {
        method: Method::Post,
        path: "/mint",
        body: Some(Bytes::from_static(br#"{"entity":"PEO"}"#)),
        idempotency_key: Some(key),
        timeout_ms: 5000,
        from_origin: false,
        query: None,
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

#[test]
fn https_with_h2_through_alpn() {
    let emu = Emulator::spawn(EmulatorOptions { tls: true, ..EmulatorOptions::default() }).unwrap();
    assert!(emu.url().starts_with("https://127.0.0.1:"));
    let config = TransportConfig {
        service_url: format!("{}/v1", emu.url()),
        extra_ca_pem: vec![emu.ca_pem().unwrap().as_bytes().to_vec()],
        ..TransportConfig::default()
    };
    let t = Transport::new(&config).unwrap();
    block_on(async {
        for i in 0..5 {
            let r = t.send(mint_request(&format!("k{i}"))).await.unwrap();
            assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));
        }
    });
    assert_eq!(emu.h2_requests(), 5);
    assert_eq!(emu.stats().minted, 5);

    // Without the emulator's CA, the certificate is refused with Node's code.
    let untrusting = Transport::new(&TransportConfig { extra_ca_pem: Vec::new(), ..config.clone() }).unwrap();
    let err = block_on(untrusting.send(mint_request("k"))).unwrap_err();
    assert_eq!(err.code(), "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "{err:?}");
    assert!(!err.may_have_reached_service());
    // NODE_TLS_REJECT_UNAUTHORIZED=0 is honoured.
    let unverified =
        Transport::new(&TransportConfig { extra_ca_pem: Vec::new(), verify_tls: false, ..config }).unwrap();
    assert_eq!(block_on(unverified.send(mint_request("k-unverified"))).unwrap().status, 201);
}

#[test]
fn a_moved_v1_is_followed_with_method_body_and_key() {
    for status in [307, 308] {
        let emu =
            Emulator::spawn(EmulatorOptions { redirect_status: Some(status), ..EmulatorOptions::default() }).unwrap();
        let t =
            Transport::new(&TransportConfig { service_url: format!("{}/v1", emu.url()), ..TransportConfig::default() })
                .unwrap();
        block_on(async {
            let first = t.send(mint_request("same-key")).await.unwrap();
            let again = t.send(mint_request("same-key")).await.unwrap();
            assert_eq!(first.status, 201);
            assert_eq!(first.body, again.body, "the idempotency key travelled with the redirect");
        });
        assert_eq!(emu.stats().minted, 1, "{status}");
    }
}

#[test]
fn gzip_answers_are_decoded() {
    let emu = Emulator::spawn(EmulatorOptions { compress: true, ..EmulatorOptions::default() }).unwrap();
    let t = Transport::new(&TransportConfig { service_url: emu.url(), ..TransportConfig::default() }).unwrap();
    let r = block_on(t.send(mint_request("gz"))).unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(answer["chittyId"].as_str().unwrap().len() == 22, "{answer}");
}
