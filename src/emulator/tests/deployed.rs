//! The deployed profile over real sockets: its routes, bodies, 404s, ids and placeholders.

use serde_json::json;

use super::client::Client;
use crate::emulator::{Emulator, EmulatorOptions, Faults, Profile};
use crate::id::{self, is_placeholder, is_valid_deployed};

fn start_deployed() -> Emulator {
    Emulator::spawn(EmulatorOptions { profile: Profile::Deployed, ..EmulatorOptions::default() })
        .expect("emulator starts")
}

fn minted_id(response: &super::client::HttpResponse) -> String {
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json()["chittyId"].as_str().unwrap().to_owned()
}

#[test]
fn health_answers_at_the_origin_only() {
    let emu = start_deployed();
    let mut client = Client::connect(&emu);
    let health = client.get("/health");
    assert_eq!(health.status, 200);
    let body = health.json();
    assert_eq!((body["status"].as_str(), body["service"].as_str()), (Some("ok"), Some("chittyid")));
    assert_eq!(client.get("/api/health").json()["status"], "healthy");
    for path in ["/v1/health", "/api/v1/health"] {
        let answer = client.get(path);
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.json()["error"], "NOT_FOUND");
    }
    assert_eq!(emu.stats().requests.health, 2);
}

#[test]
fn mint_reads_entity_type_in_every_form_and_answers_200_with_components() {
    let emu = start_deployed();
    let mut client = Client::connect(&emu);
    let cases = [
        (json!({ "entityType": "person" }), 'P'),
        (json!({ "entityType": "place" }), 'L'),
        (json!({ "entityType": "thing" }), 'T'),
        (json!({ "entityType": "event" }), 'E'),
        (json!({ "entityType": "authority" }), 'A'),
        (json!({ "entityType": "P" }), 'P'),
        (json!({ "entityType": "l" }), 'L'),
        (json!({ "entityType": "Event", "entity": "PEO" }), 'E'),
        (json!({ "entity_type": "authority" }), 'A'),
        (json!({ "entityType": "context" }), 'P'),
        // v1's wire: `entity` is not read, so everything is a Thing.
        (json!({ "entity": "PEO", "name": "n", "metadata": {} }), 'T'),
    ];
    for (request, letter) in &cases {
        let response = client.post("/mint", &request.to_string());
        let id = minted_id(&response);
        assert!(is_valid_deployed(&id), "{id}");
        assert_eq!(id.as_bytes()[14] as char, *letter, "{request}");
        let body = response.json();
        assert_eq!(body["success"], true);
        assert!(body.get("fallback").is_none());
        let parsed = id::parse_deployed(&id).unwrap();
        assert_eq!(
            body["components"],
            json!({ "version": parsed.version, "region": parsed.region, "jurisdiction": parsed.jurisdiction,
                    "sequential": parsed.sequential, "entityType": parsed.entity_type, "yearMonth": parsed.year_month,
                    "trustLevel": parsed.trust_level, "checksum": parsed.checksum })
        );
    }
    // The query is read when the body names no type.
    assert_eq!(minted_id(&client.post("/mint?type=place", "{}")).as_bytes()[14], b'L');
    assert_eq!(minted_id(&client.post("/mint?for=claude", "")).as_bytes()[14], b'P');
    assert_eq!(minted_id(&client.post("/mint?entity_type=event", "not json")).as_bytes()[14], b'E');
    let stats = emu.stats();
    assert_eq!(stats.minted, cases.len() as u64 + 3);
    assert_eq!(stats.requests.mint, cases.len() as u64 + 3);
    assert!(stats.minted_ids.iter().all(|id| is_valid_deployed(id)));
    let unique: std::collections::HashSet<&String> = stats.minted_ids.iter().collect();
    assert_eq!(unique.len(), stats.minted_ids.len());
}

#[test]
fn no_batch_route_no_v1_routes_and_404s_in_the_services_shape() {
    let emu = start_deployed();
    let mut client = Client::connect(&emu);
    let cases: [(&str, &str); 8] = [
        ("POST", "/v1/mint/batch"),
        ("POST", "/mint/batch"),
        ("POST", "/mint/"),
        ("GET", "/mint"),
        ("POST", "/api/v1/mint"),
        ("GET", "/v1/validate/03-1-USA-1234-P-2612-2-00"),
        ("GET", "/v1/mint"),
        ("POST", "/health"),
    ];
    for (method, path) in cases {
        let answer = client.send(method, path, &[], Some("{\"requests\":[]}")).unwrap();
        assert_eq!(answer.status, 404, "{method} {path}");
        let body = answer.json();
        assert_eq!(
            (body["success"].as_bool(), body["error"].as_str()),
            (Some(false), Some("NOT_FOUND")),
            "{method} {path}"
        );
        assert_eq!(body["message"], format!("Route not found: {}", path.split('?').next().unwrap()));
    }
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.requests.other, stats.requests.batch), (0, cases.len() as u64, 0));
}

#[test]
fn validate_answers_as_the_service_does() {
    let emu = start_deployed();
    let mut client = Client::connect(&emu);
    let id = minted_id(&client.post("/mint", r#"{"entityType":"person"}"#));
    let valid = client.post("/api/validate", &json!({ "id": id }).to_string());
    assert_eq!(valid.status, 200);
    let body = valid.json();
    assert_eq!((body["success"].as_bool(), body["valid"].as_bool()), (Some(true), Some(true)));
    assert_eq!(body["components"]["entityType"], "P");

    let pair: u8 = id[23..].parse().unwrap();
    let wrong = format!("{}{:02}", &id[..23], (pair + 1) % 97);
    let cases = [
        (json!({ "id": wrong }), format!("Invalid checksum: expected {pair:02}, got {:02}", (pair + 1) % 97)),
        (json!({ "id": "CT-A-CHI-1234-I-24-A-0" }), "Version must be 2 digits".to_owned()),
        (
            json!({ "id": "03-1-USA-1234-P-2612-2" }),
            "Invalid format: must have 8 parts separated by hyphens".to_owned(),
        ),
        (json!({ "id": "03-1-USA-1234-X-2612-2-00" }), "Entity type must be P, L, T, E, or A".to_owned()),
        (json!({ "id": "03-1-USA-1234-P-2612-6-00" }), "Trust level must be 0-5".to_owned()),
        (json!({}), "ChittyID is required and must be a string".to_owned()),
        (json!({ "id": "" }), "ChittyID is required and must be a string".to_owned()),
    ];
    for (request, error) in cases {
        let answer = client.post("/api/validate", &request.to_string());
        assert_eq!(answer.status, 200, "{request}");
        let body = answer.json();
        assert_eq!(
            (body["success"].as_bool(), body["valid"].as_bool(), body["error"].as_str()),
            (Some(true), Some(false), Some(error.as_str())),
            "{request}"
        );
    }
    // A placeholder is reported as one.
    let placeholder = client.post("/api/validate", r#"{"id":"03-0-ERR-0007-T-2612-0-00"}"#).json();
    assert_eq!(
        (
            placeholder["valid"].as_bool(),
            placeholder["isError"].as_bool(),
            placeholder["errorCode"].as_str(),
            placeholder["errorName"].as_str()
        ),
        (Some(false), Some(true), Some("0007"), Some("RATE_LIMITED"))
    );
    // Bodies the service fails on: its catch-all 503.
    for body in ["not json", "null", r#"{"id": 42}"#] {
        let answer = client.post("/api/validate", body);
        assert_eq!((answer.status, answer.json()["error"].as_str()), (503, Some("SECURITY_ERROR")), "{body}");
    }
    assert_eq!(emu.stats().requests.validate, 12);
}

#[test]
fn no_auth_and_idempotency_keys_are_ignored_so_a_retried_mint_mints_twice() {
    let emu = Emulator::spawn(EmulatorOptions {
        profile: Profile::Deployed,
        token: Some("secret".into()),
        ..EmulatorOptions::default()
    })
    .unwrap();
    assert!(emu.ignores_idempotency_keys());
    emu.set_ignore_idempotency_keys(false);
    assert!(emu.ignores_idempotency_keys(), "the deployed profile always ignores keys");
    let mut client = Client::connect(&emu);
    let key = [("Idempotency-Key", "same-key")];
    let first = minted_id(&client.post_with("/mint", &key, r#"{"entityType":"thing"}"#));
    let second = minted_id(&client.post_with("/mint", &key, r#"{"entityType":"thing"}"#));
    assert_ne!(first, second);
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.idempotent_replays, stats.unauthorized), (2, 0, 0));
}

#[test]
fn placeholder_faults_answer_200_placeholders_that_are_not_minted() {
    let emu = start_deployed();
    let mut client = Client::connect(&emu);
    for (code, number) in [("MINT_UNAVAILABLE", 1), ("MINT_TIMEOUT", 2), ("RATE_LIMITED", 7), ("INTERNAL_ERROR", 99)] {
        emu.set_faults(Faults { placeholder: Some(code), ..Faults::default() });
        let response = client.post("/mint", r#"{"entityType":"event"}"#);
        let id = minted_id(&response);
        let body = response.json();
        assert_eq!(
            (body["success"].as_bool(), body["fallback"].as_bool(), body["errorCode"].as_str()),
            (Some(true), Some(true), Some(code))
        );
        assert!(is_placeholder(&id) && !is_valid_deployed(&id), "{id}");
        assert_eq!(id::placeholder_error_number(&id), Some(number));
        assert_eq!(&id[..13], format!("03-0-ERR-{number:04}"));
        assert_eq!(id.as_bytes()[14], b'E', "the requested type");
        assert_eq!(
            id::deployed_check_pair(&id[..22]).map(|p| format!("{p:02}")),
            Some(id[23..].to_owned()),
            "its pair is right"
        );
        assert_eq!(body["components"]["region"], "0");
    }
    // Validate and health are untouched; an unknown type is the backend's INVALID_REQUEST.
    assert_eq!(client.get("/health").status, 200);
    emu.set_faults(Faults::default());
    let invalid = client.post("/mint", r#"{"entityType":"robot"}"#).json();
    assert_eq!((invalid["fallback"].as_bool(), invalid["errorCode"].as_str()), (Some(true), Some("INVALID_REQUEST")));
    assert!(invalid["chittyId"].as_str().unwrap().starts_with("03-0-ERR-0008-T-"));
    let real = minted_id(&client.post("/mint", r#"{"entityType":"person"}"#));
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.placeholders), (1, 5));
    assert_eq!(stats.minted_ids, vec![real]);
    emu.reset_ledger();
    assert_eq!(emu.stats().placeholders, 0);
}

#[test]
fn the_other_faults_keep_working_and_429_has_no_retry_after() {
    let emu = start_deployed();
    let mut client = Client::connect(&emu);
    emu.set_faults(Faults { rate_limit_retry_after: Some(7), ..Faults::default() });
    let limited = client.post("/mint", r#"{"entityType":"person"}"#);
    assert_eq!((limited.status, limited.header("retry-after")), (429, None));
    emu.set_faults(Faults { rate_limit_per_second: Some(1.0), routes: Some(vec!["mint".into()]), ..Faults::default() });
    let statuses: Vec<u16> = (0..3).map(|_| client.post("/mint", "{}").status).collect();
    assert_eq!(statuses[0], 200);
    assert!(statuses[1..].contains(&429), "{statuses:?}");
    emu.set_faults(Faults { error_status: Some(503), remaining: Some(1), ..Faults::default() });
    assert_eq!(client.post("/api/validate", r#"{"id":"x"}"#).status, 503);
    assert_eq!(client.post("/api/validate", r#"{"id":"x"}"#).status, 200);
    emu.set_faults(Faults { down: true, ..Faults::default() });
    let down = client.get("/health");
    assert_eq!((down.status, down.json()["status"].as_str()), (503, Some("down")));
    emu.set_faults(Faults { drop_after_commit: true, remaining: Some(1), ..Faults::default() });
    let before = emu.stats().minted;
    assert!(Client::connect(&emu).send("POST", "/mint", &[], Some("{}")).is_err());
    assert_eq!(emu.stats().minted, before + 1, "committed, then dropped");
    emu.set_faults(Faults { malformed_json: true, remaining: Some(1), ..Faults::default() });
    let garbled = client.post("/mint", "{}");
    assert_eq!(garbled.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&garbled.body).is_err());
}

#[test]
fn the_v1_profile_ignores_the_placeholder_fault() {
    let emu = super::start();
    assert_eq!(emu.profile(), Profile::V1);
    emu.set_faults(Faults { placeholder: Some("MINT_UNAVAILABLE"), ..Faults::default() });
    let response = Client::connect(&emu).post("/mint", r#"{"entity":"PEO"}"#);
    assert_eq!(response.status, 201);
    assert!(crate::id::is_valid_v1(response.json()["chittyId"].as_str().unwrap()));
    assert_eq!(emu.stats().placeholders, 0);
}

#[test]
fn the_old_mint_routes_answer_308_to_mint_and_process_nothing() {
    let emu = start_deployed();
    emu.set_faults(Faults { error_status: Some(500), remaining: Some(1), ..Faults::default() });
    let mut client = Client::connect(&emu);
    for (method, path) in [("POST", "/v1/mint"), ("GET", "/generate?type=place"), ("GET", "/api/get-chittyid")] {
        let body = (method == "POST").then_some(r#"{"entityType":"person"}"#);
        let moved = client.send(method, path, &[], body).unwrap();
        assert_eq!(moved.status, 308, "{method} {path}");
        assert_eq!(moved.header("location"), Some("/mint"));
        assert_eq!((moved.header("deprecation"), moved.header("sunset")), (Some("true"), Some("2027-05-27")));
        assert!(moved.header("link").is_some_and(|l| l.contains("successor-version")));
        assert!(moved.header("warning").is_some_and(|w| w.starts_with("299 ")));
        assert_eq!(moved.header("access-control-allow-origin"), Some("*"));
        assert!(moved.header("content-type").is_some_and(|t| t.starts_with("text/plain")), "no JSON type set");
        assert_eq!(moved.json()["_deprecation"]["sunset"], "2027-05-27");
    }
    // Nothing minted, nothing counted, no fault spent on the moves.
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.requests.mint, stats.requests.other), (0, 0, 0));
    assert_eq!(client.post("/mint", "{}").status, 500, "the fault waits for a request that is processed");
}

#[test]
fn cors_as_the_service_sets_it() {
    let emu = start_deployed();
    let mut client = Client::connect(&emu);
    let preflight = client.send("OPTIONS", "/mint", &[], None).unwrap();
    assert_eq!((preflight.status, preflight.body.len(), preflight.header("content-type")), (200, 0, None));
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(preflight.header("access-control-allow-methods"), Some("GET, POST, OPTIONS"));
    assert_eq!(preflight.header("access-control-allow-headers"), Some("Content-Type, Authorization"));
    for answer in [
        client.get("/health"),
        client.get("/api/spec"),
        client.post("/mint", "{}"),
        client.post("/api/validate", r#"{"id":"x"}"#),
        client.get("/nowhere"),
    ] {
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"), "{}", answer.status);
        assert_eq!(answer.header("content-type"), Some("application/json"));
    }
    // The catch-all 503 is the one JSON answer without it.
    let failed = client.post("/api/validate", "not json");
    assert_eq!((failed.status, failed.header("access-control-allow-origin")), (503, None));
    assert_eq!(
        (failed.header("x-security-error"), failed.header("x-chittyos-service")),
        (Some("true"), Some("chittyid"))
    );
    let spec = client.get("/api/spec").json();
    assert_eq!(spec["specification"]["format"], "VV-G-LLL-SSSS-T-YYMM-C-XX");
    assert_eq!(spec["specification"]["trustLevels"]["5"], "Official");
}
