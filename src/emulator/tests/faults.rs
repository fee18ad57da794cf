//! Each emulator fault over a real socket: what it changes and on which routes.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use serde_json::json;

use super::client::Client;
use super::start;
use crate::emulator::Faults;

const PEO: &str = r#"{"entity":"PEO"}"#;

fn faults(configure: impl FnOnce(&mut Faults)) -> Faults {
    let mut f = Faults::default();
    configure(&mut f);
    f
}

#[test]
fn latency_is_added_to_every_route() {
    let emu = start();
    emu.set_faults(faults(|f| f.latency_ms = 120));
    let mut client = Client::connect(&emu);
    for path in ["/health", "/validate/X"] {
        let started = Instant::now();
        assert_eq!(client.get(path).status, 200);
        assert!(started.elapsed() >= Duration::from_millis(120), "{path}");
    }
    let started = Instant::now();
    assert_eq!(client.post("/mint", PEO).status, 201);
    assert!(started.elapsed() >= Duration::from_millis(120));
    assert_eq!(emu.stats().faults_injected, 3);
}

#[test]
fn error_status_spares_health_by_default() {
    let emu = start();
    emu.set_faults(faults(|f| f.error_status = Some(503)));
    let mut client = Client::connect(&emu);
    let mint = client.post("/mint", PEO);
    assert_eq!(mint.status, 503);
    assert_eq!(mint.json(), json!({"success": false, "error": "injected error"}));
    assert_eq!(client.post("/mint/batch", r#"{"requests":[]}"#).status, 503);
    assert_eq!(client.get("/validate/X").status, 503);
    assert_eq!(client.get("/health").status, 200);
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.faults_injected, stats.requests.mint), (0, 3, 1));
}

#[test]
fn routes_narrow_the_response_faults() {
    let emu = start();
    emu.set_faults(faults(|f| {
        f.error_status = Some(500);
        f.routes = Some(vec!["validate".into(), "health".into()]);
    }));
    let mut client = Client::connect(&emu);
    assert_eq!(client.post("/mint", PEO).status, 201);
    assert_eq!(client.get("/validate/X").status, 500);
    assert_eq!(client.get("/health").status, 500);
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let emu = start();
    emu.set_faults(faults(|f| f.rate_limit_retry_after = Some(7)));
    let response = Client::connect(&emu).post("/mint", PEO);
    assert_eq!(response.status, 429);
    assert_eq!(response.header("retry-after"), Some("7"));
    assert_eq!(response.json()["success"], false);
    assert_eq!(emu.stats().minted, 0);
}

#[test]
fn reset_connection_gives_the_client_a_connection_error() {
    let emu = start();
    emu.set_faults(faults(|f| f.reset_connection = true));
    let error = Client::connect(&emu).send("POST", "/mint", &[], Some(PEO)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.faults_injected, stats.requests.mint), (0, 1, 1));
}

#[test]
fn drop_after_commit_mints_but_never_answers() {
    let emu = start();
    emu.set_faults(faults(|f| {
        f.drop_after_commit = true;
        f.remaining = Some(1);
    }));
    let key = [("Idempotency-Key", "lost-answer")];
    let error = Client::connect(&emu).send("POST", "/mint", &key, Some(PEO)).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset), "{error}");
    let stats = emu.stats();
    assert_eq!(stats.minted, 1);

    let retried = Client::connect(&emu).post_with("/mint", &key, PEO);
    assert_eq!(retried.status, 201);
    assert_eq!(retried.json()["chittyId"], stats.minted_ids[0]);
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.idempotent_replays), (1, 1));
}

#[test]
fn drop_after_commit_leaves_validate_and_failed_mints_alone() {
    let emu = start();
    emu.set_faults(faults(|f| f.drop_after_commit = true));
    let mut client = Client::connect(&emu);
    assert_eq!(client.get("/validate/X").status, 200);
    assert_eq!(client.post("/mint", r#"{"entity":"DOG"}"#).status, 400);
    assert_eq!(emu.stats().faults_injected, 0);
    assert!(client.send("POST", "/mint/batch", &[], Some(r#"{"requests":[{"entity":"PEO"}]}"#)).is_err());
    assert_eq!(emu.stats().minted, 1);
}

#[test]
fn malformed_json_breaks_success_bodies_only() {
    let emu = start();
    emu.set_faults(faults(|f| f.malformed_json = true));
    let mut client = Client::connect(&emu);
    let mint = client.post("/mint", PEO);
    assert_eq!(mint.status, 201);
    assert!(serde_json::from_slice::<serde_json::Value>(&mint.body).is_err());
    assert_eq!(client.post("/mint", "{").json()["success"], false);
    assert_eq!(emu.stats().minted, 1);
}

#[test]
fn oversized_body_pads_success_answers_to_the_size() {
    let emu = start();
    emu.set_faults(faults(|f| f.oversized_body = Some(3 << 20)));
    let mint = Client::connect(&emu).post("/mint", PEO);
    assert_eq!(mint.body.len(), 3 << 20);
    assert_eq!(mint.header("content-length"), Some((3usize << 20).to_string().as_str()));
    assert!(mint.json()["chittyId"].is_string());
}

#[test]
fn down_fails_health_and_everything_else() {
    let emu = start();
    emu.set_faults(faults(|f| f.down = true));
    let mut client = Client::connect(&emu);
    let health = client.get("/health");
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["status"], "down");
    assert_eq!(client.post("/mint", PEO).status, 503);
    assert_eq!(client.get("/validate/X").status, 503);
    emu.set_faults(Faults::default());
    assert_eq!(client.get("/health").status, 200);
}

#[test]
fn remaining_faults_exactly_that_many_requests() {
    let emu = start();
    emu.set_faults(faults(|f| {
        f.error_status = Some(503);
        f.remaining = Some(3);
    }));
    let mut client = Client::connect(&emu);
    assert_eq!(client.get("/health").status, 200);
    let statuses: Vec<u16> = (0..5).map(|_| client.post("/mint", PEO).status).collect();
    assert_eq!(statuses, [503, 503, 503, 201, 201]);
    assert_eq!(emu.faults().remaining, Some(0));
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.faults_injected), (2, 3));
}

#[test]
fn probability_zero_never_faults() {
    let emu = start();
    emu.set_faults(faults(|f| {
        f.error_status = Some(500);
        f.probability = Some(0.0);
    }));
    let mut client = Client::connect(&emu);
    assert!((0..20).all(|_| client.post("/mint", PEO).status == 201));
}

#[test]
fn faults_switch_at_run_time_on_an_open_connection() {
    let emu = start();
    let mut client = Client::connect(&emu);
    assert_eq!(client.post("/mint", PEO).status, 201);
    let outage = faults(|f| f.error_status = Some(502));
    emu.set_faults(outage.clone());
    assert_eq!(emu.faults(), outage);
    assert_eq!(client.post("/mint", PEO).status, 502);
    emu.set_faults(Faults::default());
    assert_eq!(client.post("/mint", PEO).status, 201);
    assert_eq!(emu.stats().minted, 2);
}

#[test]
fn the_rate_limit_answers_like_the_public_service() {
    let emu = start();
    emu.set_faults(crate::emulator::Faults { rate_limit_per_second: Some(2.0), ..Default::default() });
    let mut client = Client::connect(&emu);
    let statuses: Vec<u16> = (0..4).map(|_| client.post("/mint", r#"{"entity":"PEO"}"#).status).collect();
    assert_eq!(statuses, [201, 201, 429, 429]);
    let blocked = client.post("/mint", r#"{"entity":"PEO"}"#);
    assert_eq!(blocked.status, 429);
    assert_eq!(blocked.header("retry-after"), None);
    assert_eq!(blocked.header("x-block-reason"), Some("RATE_LIMIT_EXCEEDED"));
    assert_eq!(blocked.json(), serde_json::json!({ "error": "REQUEST_BLOCKED", "reason": "RATE_LIMIT_EXCEEDED" }));
    assert_eq!(client.get("/health").status, 200, "health is not limited unless listed");
    assert_eq!(emu.stats().minted, 2);
}
