//! The emulator's v1 routes and bodies, and unique ids under load.

use std::collections::HashSet;

use serde_json::json;

use super::client::Client;
use super::{start, start_with_token};
use crate::emulator::ids;

const ENTITIES: [(&str, char); 9] = [
    ("PEO", 'P'),
    ("PLACE", 'L'),
    ("PROP", 'T'),
    ("EVNT", 'E'),
    ("AUTH", 'A'),
    ("INFO", 'I'),
    ("FACT", 'F'),
    ("CONTEXT", 'C'),
    ("ACTOR", 'R'),
];

fn mint_body(entity: &str) -> String {
    json!({ "entity": entity, "name": "n", "metadata": { "k": [1, 2] } }).to_string()
}

#[test]
fn health_answers_ok_with_json_headers() {
    let emu = start();
    let response = Client::connect(&emu).get("/health");
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"status": "ok", "service": "chittyid-emulator", "version": "2.0.0"}));
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("content-length"), Some(response.body.len().to_string().as_str()));
}

#[test]
fn mint_answers_each_entity_with_its_type_letter() {
    let emu = start();
    let mut client = Client::connect(&emu);
    for (entity, letter) in ENTITIES {
        let response = client.post("/mint", &mint_body(entity));
        assert_eq!(response.status, 201);
        let body = response.json();
        let id = body["chittyId"].as_str().unwrap();
        assert!(ids::is_valid_format(id) && ids::is_valid_checked(id), "{id}");
        assert_eq!(id.chars().nth(14), Some(letter));
        assert_eq!(body["entity"], entity);
        assert_eq!(body["success"], true);
        assert_eq!(body["version"], "2.0.0");
        let timestamp = body["timestamp"].as_str().unwrap();
        assert_eq!(timestamp.len(), 24);
        assert!(timestamp.ends_with('Z') && timestamp[2..4] == id[16..18], "{timestamp} {id}");
    }
    assert_eq!(emu.stats().minted, 9);
}

#[test]
fn twenty_thousand_mints_are_unique_and_all_in_the_ledger() {
    let emu = start();
    let mut client = Client::connect(&emu);
    let batch = json!({ "requests": vec![json!({"entity": "PEO"}); 1000] }).to_string();
    let mut minted = Vec::new();
    for _ in 0..19 {
        let response = client.post("/v1/mint/batch", &batch);
        assert_eq!(response.status, 201);
        let ids = response.json()["chittyIds"].as_array().unwrap().clone();
        minted.extend(ids.into_iter().map(|id| id.as_str().unwrap().to_owned()));
    }
    for i in 0..1000 {
        let entity = ENTITIES[i % ENTITIES.len()].0;
        minted.push(client.post("/mint", &mint_body(entity)).json()["chittyId"].as_str().unwrap().to_owned());
    }
    let unique: HashSet<&String> = minted.iter().collect();
    assert_eq!(unique.len(), 20_000);
    assert!(minted.iter().all(|id| ids::is_valid_checked(id)));
    let stats = emu.stats();
    assert_eq!(stats.minted, 20_000);
    assert_eq!(stats.minted_ids, minted);
    assert_eq!((stats.requests.batch, stats.requests.mint), (19, 1000));
    assert_eq!(stats.connections, 1);
}

#[test]
fn bad_mint_requests_get_400_and_mint_nothing() {
    let emu = start();
    let mut client = Client::connect(&emu);
    for body in ["{", "[]", "{}", r#"{"entity":"DOG"}"#, r#"{"entity":"peo"}"#, r#"{"entity":7}"#, ""] {
        let response = client.post("/mint", body);
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.json()["success"], false);
        assert!(response.json()["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let unknown = client.post("/mint", r#"{"entity":"DOG"}"#).json();
    assert!(unknown["error"].as_str().unwrap().contains("unknown entity: DOG"));
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.bad_requests), (0, 8));
}

#[test]
fn escaped_entity_strings_are_understood() {
    let emu = start();
    let response = Client::connect(&emu).post("/mint", r#"{"entity":"P\u0045O"}"#);
    assert_eq!(response.status, 201);
}

#[test]
fn token_is_required_except_for_health() {
    let emu = start_with_token("s3cret");
    let mut client = Client::connect(&emu);
    let body = mint_body("PEO");
    for auth in [None, Some("Bearer wrong"), Some("bearer s3cret"), Some("s3cret"), Some("Bearer s3cret2")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let mint = client.post_with("/mint", &headers, &body);
        assert_eq!((mint.status, mint.json()), (401, json!({"success": false, "error": "unauthorized"})));
        assert_eq!(client.send("GET", "/validate/X", &headers, None).unwrap().status, 401);
        assert_eq!(client.post_with("/mint/batch", &headers, r#"{"requests":[]}"#).status, 401);
    }
    let good = [("Authorization", "Bearer s3cret")];
    assert_eq!(client.get("/health").status, 200);
    assert_eq!(client.post_with("/mint", &good, &body).status, 201);
    assert_eq!(client.post_with("/mint/batch", &good, r#"{"requests":[{"entity":"INFO"}]}"#).status, 201);
    assert_eq!(client.send("GET", "/validate/X", &good, None).unwrap().status, 200);
    let stats = emu.stats();
    assert_eq!((stats.unauthorized, stats.minted), (15, 2));
}

#[test]
fn batch_mints_in_order_and_is_atomic() {
    let emu = start();
    let mut client = Client::connect(&emu);
    let ok = client.post("/mint/batch", r#"{"requests":[{"entity":"PEO"},{"entity":"PLACE"},{"entity":"ACTOR"}]}"#);
    assert_eq!(ok.status, 201);
    let body = ok.json();
    assert_eq!(body["success"], true);
    let minted: Vec<&str> = body["chittyIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let letters: String = minted.iter().map(|id| id.chars().nth(14).unwrap()).collect();
    assert_eq!(letters, "PLR");

    let bad = client.post("/mint/batch", r#"{"requests":[{"entity":"PEO"},{"entity":"NOPE"}]}"#);
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().starts_with("requests[1]:"));
    assert_eq!(client.post("/mint/batch", r#"{"requests":[{"entity":"PEO"}, 5]}"#).status, 400);
    assert_eq!(client.post("/mint/batch", r#"{"nope":[]}"#).status, 400);
    let too_many = json!({ "requests": vec![json!({"entity": "PEO"}); 1001] }).to_string();
    assert_eq!(client.post("/mint/batch", &too_many).status, 400);
    assert_eq!(emu.stats().minted, 3);

    let empty = client.post("/mint/batch", r#"{"requests":[]}"#);
    assert_eq!((empty.status, empty.json()), (201, json!({"success": true, "chittyIds": []})));
    assert_eq!(emu.stats().minted_ids, minted);
}

#[test]
fn validate_is_stateless_and_reports_minted() {
    let emu = start();
    let mut client = Client::connect(&emu);
    let id = client.post("/mint", &mint_body("FACT")).json()["chittyId"].as_str().unwrap().to_owned();
    let fresh = client.get(&format!("/validate/{id}"));
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.json(), json!({"valid": true, "chittyId": id, "entity": "FACT", "minted": true}));

    let other = super::start();
    let elsewhere = Client::connect(&other).get(&format!("/api/v1/validate/{id}")).json();
    assert_eq!(elsewhere, json!({"valid": true, "chittyId": id, "entity": "FACT", "minted": false}));

    let encoded = id.replace('-', "%2D");
    assert_eq!(client.get(&format!("/v1/validate/{encoded}")).json()["chittyId"], id);

    let mut wrong_check = id.clone().into_bytes();
    wrong_check[19] = if wrong_check[19] == b'A' { b'B' } else { b'A' };
    let wrong_check = String::from_utf8(wrong_check).unwrap();
    let mismatch = client.get(&format!("/validate/{wrong_check}")).json();
    assert_eq!(mismatch["valid"], false);
    assert_eq!(mismatch["minted"], false);
    assert_eq!(mismatch["error"], "check character mismatch");
    assert!(mismatch.get("entity").is_none());

    let legacy = client.get("/validate/CHITTY-PEO-%22quoted%22").json();
    assert_eq!(
        legacy,
        json!({"valid": false, "chittyId": "CHITTY-PEO-\"quoted\"", "minted": false, "error": "invalid format"})
    );
    assert_eq!(client.get("/validate/").json()["error"], "invalid format");
}

#[test]
fn every_prefix_serves_every_route() {
    let emu = start();
    let mut client = Client::connect(&emu);
    for prefix in ["", "/v1", "/api/v1"] {
        assert_eq!(client.get(&format!("{prefix}/health")).status, 200);
        let id =
            client.post(&format!("{prefix}/mint"), &mint_body("AUTH")).json()["chittyId"].as_str().unwrap().to_owned();
        assert_eq!(client.post(&format!("{prefix}/mint/batch"), r#"{"requests":[{"entity":"PROP"}]}"#).status, 201);
        assert_eq!(client.get(&format!("{prefix}/validate/{id}")).json()["minted"], true);
    }
    let stats = emu.stats();
    assert_eq!(
        (stats.requests.health, stats.requests.mint, stats.requests.batch, stats.requests.validate),
        (3, 3, 3, 3)
    );
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405() {
    let emu = start();
    let mut client = Client::connect(&emu);
    for path in ["/", "/v2/health", "/v1", "/mint/batch/x", "//mint", "/healthz"] {
        let response = client.get(path);
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(response.json(), json!({"success": false, "error": "not found"}));
    }
    assert_eq!(client.get("/mint").status, 405);
    assert_eq!(client.post("/health", "{}").status, 405);
    let stats = emu.stats();
    assert_eq!((stats.requests.other, stats.requests.mint, stats.requests.health), (6, 1, 1));
}

#[test]
fn bodies_over_the_limit_get_413_and_keep_the_connection() {
    let emu = crate::emulator::Emulator::spawn(crate::emulator::EmulatorOptions {
        max_request_bytes: 64,
        ..Default::default()
    })
    .unwrap();
    let mut client = Client::connect(&emu);
    let big = format!(r#"{{"entity":"PEO","name":"{}"}}"#, "x".repeat(100));
    let response = client.post("/mint", &big);
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["success"], false);

    let chunked = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let headers = [("Transfer-Encoding", "chunked")];
    assert_eq!(client.send_raw_body("POST", "/mint", &headers, &chunked).unwrap().status, 413);

    let huge = format!(r#"{{"entity":"PEO","name":"{}"}}"#, "x".repeat(4 << 20));
    assert_eq!(client.post("/mint/batch", &huge).status, 413);
    assert_eq!(client.post("/mint", &mint_body("PEO")).status, 201);
    let stats = emu.stats();
    assert_eq!((stats.bad_requests, stats.minted, stats.connections), (3, 1, 1));
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let emu = start();
    let mut client = Client::connect(&emu);
    for _ in 0..200 {
        assert_eq!(client.get("/v1/health").status, 200);
    }
    assert_eq!(emu.stats().connections, 1);
}
