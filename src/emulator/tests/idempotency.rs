//! The emulator's idempotency keys: replays, separate mint and batch keys, `ignoreIdempotencyKeys`.

use serde_json::json;

use super::client::Client;
use super::start;

#[test]
fn a_repeated_key_replays_the_first_mint() {
    let emu = start();
    let mut client = Client::connect(&emu);
    let key = [("Idempotency-Key", "mint-1")];
    let first = client.post_with("/mint", &key, r#"{"entity":"PEO"}"#);
    let again = client.post_with("/v1/mint", &key, r#"{"entity":"PLACE"}"#);
    let broken = Client::connect(&emu).post_with("/mint", &key, "not json");
    assert_eq!((first.status, again.status, broken.status), (201, 201, 201));
    assert_eq!(first.body, again.body);
    assert_eq!(first.body, broken.body);
    let other = client.post_with("/mint", &[("Idempotency-Key", "mint-2")], r#"{"entity":"PEO"}"#);
    assert_ne!(other.json()["chittyId"], first.json()["chittyId"]);
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.idempotent_replays), (2, 2));
}

#[test]
fn batch_keys_replay_batches_and_are_separate_from_mint_keys() {
    let emu = start();
    let mut client = Client::connect(&emu);
    let key = [("Idempotency-Key", "shared")];
    let batch = r#"{"requests":[{"entity":"EVNT"},{"entity":"INFO"}]}"#;
    let first = client.post_with("/mint/batch", &key, batch);
    let again = client.post_with("/mint/batch", &key, r#"{"requests":[]}"#);
    assert_eq!(first.json()["chittyIds"].as_array().unwrap().len(), 2);
    assert_eq!(first.body, again.body);
    let mint = client.post_with("/mint", &key, r#"{"entity":"PEO"}"#);
    assert_eq!(mint.status, 201);
    assert!(mint.json()["chittyId"].is_string());
    let stats = emu.stats();
    assert_eq!((stats.minted, stats.idempotent_replays), (3, 1));
}

#[test]
fn failed_requests_do_not_claim_their_key() {
    let emu = start();
    let mut client = Client::connect(&emu);
    let key = [("Idempotency-Key", "retry-me")];
    assert_eq!(client.post_with("/mint", &key, r#"{"entity":"DOG"}"#).status, 400);
    let fixed = client.post_with("/mint", &key, r#"{"entity":"PEO"}"#);
    assert_eq!(fixed.status, 201);
    assert_eq!(emu.stats().idempotent_replays, 0);
    let too_long = "k".repeat(256);
    let response = client.post_with("/mint", &[("Idempotency-Key", &too_long)], r#"{"entity":"PEO"}"#);
    assert_eq!(response.status, 400);
}

#[test]
fn reset_ledger_forgets_keys_and_ids_but_never_reissues_an_id() {
    let emu = start();
    let mut client = Client::connect(&emu);
    let key = [("Idempotency-Key", "k")];
    let before = client.post_with("/mint", &key, r#"{"entity":"PEO"}"#).json()["chittyId"].clone();
    emu.reset_ledger();
    assert_eq!(emu.stats(), Default::default());
    let after = client.post_with("/mint", &key, r#"{"entity":"PEO"}"#).json()["chittyId"].clone();
    assert_ne!(before, after);
    let validated = client.get(&format!("/validate/{}", before.as_str().unwrap())).json();
    assert_eq!(validated["valid"], json!(true));
    assert_eq!(validated["minted"], json!(false));
    assert_eq!(emu.stats().minted_ids, vec![after.as_str().unwrap().to_owned()]);
}

#[test]
fn ignoring_keys_mints_again_for_a_repeated_key_until_switched_back() {
    let emu = start();
    emu.set_ignore_idempotency_keys(true);
    assert!(emu.ignores_idempotency_keys());
    let mut client = Client::connect(&emu);
    let key = [("Idempotency-Key", "same")];
    let first = client.post_with("/mint", &key, r#"{"entity":"PEO"}"#).json()["chittyId"].clone();
    let second = client.post_with("/mint", &key, r#"{"entity":"PEO"}"#).json()["chittyId"].clone();
    assert_ne!(first, second);
    // Not even an oversized key is looked at, as a service without key support would not.
    let huge = "k".repeat(300);
    assert_eq!(client.post_with("/mint", &[("Idempotency-Key", &huge)], r#"{"entity":"PEO"}"#).status, 201);
    assert_eq!((emu.stats().minted, emu.stats().idempotent_replays), (3, 0));
    emu.set_ignore_idempotency_keys(false);
    let third = client.post_with("/mint", &key, r#"{"entity":"PEO"}"#).json()["chittyId"].clone();
    let replayed = client.post_with("/mint", &key, r#"{"entity":"PEO"}"#).json()["chittyId"].clone();
    assert_eq!(third, replayed);
    assert_eq!((emu.stats().minted, emu.stats().idempotent_replays), (4, 1));
}
