//! The deployed profile's routes: the wire of the service deployed at id.chitty.cc, as the newest
//! revision of its public source has it (facts only; docs/DEPLOYED.md has them per revision).
//!
//! - `GET /health` (`{ status: "ok", service: "chittyid", ... }`) and `GET /api/health`
//!   (`{ status: "healthy", ... }`).
//! - Mint: `POST /mint` at the origin. The older mint routes `POST /v1/mint`, `GET /generate`
//!   and `GET /api/get-chittyid` answer 308 to `/mint` with `Deprecation`, `Sunset`, `Link`
//!   and `Warning` headers and a `_deprecation` body, processing nothing (the service names
//!   its production origin in `Location`; the emulator its own, as a relative `/mint`).
//!   The type comes from the body's `entityType` (or `entity_type`), else the query's
//!   `entity_type`, `type` or `for`, else `thing`: a word (`person place thing event
//!   authority`), a letter (`P L T E A`, any case) or a purpose (`context`, `claude` → person;
//!   `work-item`, `document`, `general` → thing). An unreadable body counts as `{}`. 200 `{
//!   success: true, chittyId, components, ... }`. The emulator plays the minting backend too:
//!   it refuses a type it does not know, so the service answers an `INVALID_REQUEST`
//!   placeholder; the `placeholder` fault makes it answer the placeholder of that error code.
//! - `POST /api/validate` with `{ "id" }`: 200 `{ success: true, valid, error | components }`; a
//!   placeholder (loosely: 8 dash-separated parts, G `0`, `ERR`, SSSS 0..99 as `parseInt` reads
//!   it) answers `{ valid: false, isError: true, errorCode, errorName, ... }`. A placeholder the
//!   service issued and still holds (its production config binds the store of pending
//!   placeholders) is replaced instead when the minting backend works again (no `placeholder`
//!   fault left): a real id of the type asked is minted and the answer is `{ success: true,
//!   replaced: true, oldId, newId, ..., chittyId, components }` with no `valid`; the placeholder
//!   is forgotten. The service keys what it holds by the placeholder id, which is the same for
//!   every mint of one error, type and month: the last one is kept.
//! - `GET /api/spec`, and `OPTIONS` on any path (the CORS preflight: 200, no body, no
//!   `Content-Type`, allowing `GET, POST, OPTIONS` and the headers `Content-Type, Authorization`).
//! - Anything else, other methods included: 404 `{ success: false, error: "NOT_FOUND", ... }`.
//! - A body the service fails on (not JSON for validate, `null`, a non-string type or id) is its
//!   catch-all 503 `{ success: false, error: "SECURITY_ERROR" }`, with `X-Security-Error: true`
//!   and without the `Access-Control-Allow-Origin: *` every other JSON answer carries.
//!
//! No batch route, no auth check, `Idempotency-Key` ignored.

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, Uri};
use serde_json::Value;

use super::super::deployed_ids::{type_letter_for_word, word_for_type_letter};
use super::super::json::JsonObject;
use super::super::timestamp::{iso8601_utc, utc_year_month};
use super::super::{RouteKind, State};
use super::{percent_decode, read_body, Answer, SERVICE_VERSION};
use crate::id::{self, PLACEHOLDER_ERRORS};
use crate::rt::clock::unix_ms;

const SERVICE: &str = "chittyid";
/// The date the service gives for removing its deprecated mint routes.
const SUNSET: &str = "2027-05-27";

pub(super) enum Route {
    Health,
    ApiHealth,
    Mint,
    Validate,
    Spec,
    Preflight,
    /// A deprecated mint route, moved to `POST /mint` (308); the text names the old route.
    Moved(&'static str),
    NotFound(String),
}

impl Route {
    pub fn of(method: &Method, uri: &Uri) -> Route {
        let path = uri.path();
        if *method == Method::OPTIONS {
            return Route::Preflight;
        }
        match (method.as_str(), path) {
            ("GET", "/health") => Route::Health,
            ("GET", "/api/health") => Route::ApiHealth,
            ("POST", "/mint") => Route::Mint,
            ("POST", "/v1/mint") => Route::Moved("POST /v1/mint"),
            ("GET", "/generate") => Route::Moved("GET /generate"),
            ("GET", "/api/get-chittyid") => Route::Moved("GET /api/get-chittyid"),
            ("POST", "/api/validate") => Route::Validate,
            ("GET", "/api/spec") => Route::Spec,
            _ => Route::NotFound(path.to_owned()),
        }
    }

    pub fn kind(&self) -> RouteKind {
        match self {
            Route::Health | Route::ApiHealth => RouteKind::Health,
            Route::Mint => RouteKind::Mint,
            Route::Validate => RouteKind::Validate,
            Route::Spec | Route::Preflight | Route::Moved(_) | Route::NotFound(_) => RouteKind::Other,
        }
    }
}

pub(super) async fn answer(
    state: &State,
    route: Route,
    request: Request<Incoming>,
    placeholder: Option<&'static str>,
) -> Answer {
    let answer = match route {
        Route::Health => Answer::json(200, health_body("ok")),
        Route::ApiHealth => Answer::json(200, health_body("healthy")),
        Route::Mint => mint(state, request, placeholder).await,
        Route::Validate => validate(state, request).await,
        Route::Spec => Answer::json(200, spec_body()),
        Route::Preflight => return preflight(),
        Route::Moved(note) => return moved(note),
        Route::NotFound(path) => not_found(&path),
    };
    // Every JSON answer of the service allows any origin, but its catch-all 503.
    if answer.status == 503 {
        answer
    } else {
        answer.with_header("access-control-allow-origin", "*")
    }
}

/// The CORS preflight: 200 without a body or `Content-Type`.
fn preflight() -> Answer {
    Answer { content_type: None, ..Answer::json(200, Bytes::new()) }
        .with_header("access-control-allow-origin", "*")
        .with_header("access-control-allow-methods", "GET, POST, OPTIONS")
        .with_header("access-control-allow-headers", "Content-Type, Authorization")
}

/// A deprecated mint route's 308 to `/mint`: a JSON text sent as plain text (the service sets
/// no `Content-Type`, so its runtime's default for a string applies).
pub(super) fn moved(old: &'static str) -> Answer {
    let deprecation = JsonObject::with_capacity(160)
        .plain("canonical", b"/mint")
        .plain("sunset", SUNSET.as_bytes())
        .string("note", &format!("{old} is deprecated: mint with POST /mint"))
        .finish();
    let body = JsonObject::with_capacity(200).raw("_deprecation", &deprecation).finish();
    Answer { content_type: Some("text/plain;charset=UTF-8"), ..Answer::json(308, body) }
        .with_header("location", "/mint")
        .with_header("deprecation", "true")
        .with_header("sunset", SUNSET)
        .with_header("link", "</mint>; rel=\"successor-version\"")
        .with_header("warning", "299 - \"Deprecated endpoint: POST /mint is the mint route\"")
        .with_header("access-control-allow-origin", "*")
}

fn timestamp() -> [u8; 24] {
    iso8601_utc(unix_ms())
}

pub(super) fn health_body(status: &str) -> Bytes {
    JsonObject::with_capacity(128)
        .plain("status", status.as_bytes())
        .plain("service", SERVICE.as_bytes())
        .plain("version", SERVICE_VERSION.as_bytes())
        .plain("timestamp", &timestamp())
        .finish()
}

fn not_found(path: &str) -> Answer {
    let body = JsonObject::with_capacity(160 + path.len())
        .boolean("success", false)
        .plain("error", b"NOT_FOUND")
        .string("message", &format!("Route not found: {path}"))
        .plain("timestamp", &timestamp())
        .plain("service", SERVICE.as_bytes())
        .finish();
    Answer::json(404, body)
}

/// The service's catch-all answer to a request it failed on.
fn security_error() -> Answer {
    let body = JsonObject::with_capacity(128)
        .boolean("success", false)
        .plain("error", b"SECURITY_ERROR")
        .plain("message", b"request processing failed")
        .plain("timestamp", &timestamp())
        .finish();
    Answer::json(503, body).with_header("x-security-error", "true").with_header("x-chittyos-service", SERVICE)
}

fn spec_body() -> Bytes {
    let types = JsonObject::with_capacity(96)
        .plain("P", b"Person")
        .plain("L", b"Place")
        .plain("T", b"Thing")
        .plain("E", b"Event")
        .plain("A", b"Authority")
        .finish();
    let trust = JsonObject::with_capacity(128)
        .plain("0", b"Unverified")
        .plain("1", b"Basic")
        .plain("2", b"Standard")
        .plain("3", b"Verified")
        .plain("4", b"Premium")
        .plain("5", b"Official")
        .finish();
    let spec = JsonObject::with_capacity(320)
        .plain("format", b"VV-G-LLL-SSSS-T-YYMM-C-XX")
        .raw("entityTypes", &types)
        .raw("trustLevels", &trust)
        .finish();
    JsonObject::with_capacity(256)
        .boolean("success", true)
        .raw("specification", &spec)
        .plain("timestamp", &timestamp())
        .finish()
}

/// JavaScript's truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The first value of `name` in a query string (`URLSearchParams.get`), decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(&k.replace('+', " ")) == name).then(|| percent_decode(&v.replace('+', " ")))
    })
}

/// The type a mint asks for, lower-cased and mapped as the service maps it; `Err` when the
/// service would fail on the request (a non-string type).
fn requested_type(body: Option<&Value>, query: &str) -> Result<String, ()> {
    let from_body =
        body.and_then(|b| ["entityType", "entity_type"].into_iter().filter_map(|k| b.get(k)).find(|v| truthy(v)));
    let raw = match from_body {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(()),
        None => ["entity_type", "type", "for"]
            .into_iter()
            .find_map(|k| query_param(query, k).filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "thing".to_owned()),
    };
    let raw = raw.to_lowercase();
    let word = match raw.as_str() {
        "p" => "person",
        "l" => "place",
        "t" => "thing",
        "e" => "event",
        "a" => "authority",
        "context" | "claude" => "person",
        "work-item" | "document" | "general" => "thing",
        other => other,
    };
    Ok(word.to_owned())
}

async fn mint(state: &State, request: Request<Incoming>, placeholder: Option<&'static str>) -> Answer {
    let query = request.uri().query().unwrap_or("").to_owned();
    let bytes = match read_body(request, state.max_request_bytes).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
    // The service reads an unreadable body as `{}`; `null` it fails on.
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Null) => return security_error(),
        Ok(value) => Some(value),
        Err(_) => None,
    };
    let Ok(word) = requested_type(body.as_ref(), &query) else { return security_error() };
    let letter = type_letter_for_word(&word);
    if let Some(code) = placeholder {
        return placeholder_answer(state, code, letter.unwrap_or(b'T'));
    }
    let Some(letter) = letter else {
        // The minting backend refuses a type it does not know (400): the service's placeholder.
        return placeholder_answer(state, "INVALID_REQUEST", b'T');
    };
    let respond = |mut ids: super::super::ledger::MintedIds<'_>| {
        let id = ids.next().expect("one id per letter");
        super::StoredResponse { status: 200, body: mint_body(id.as_ref(), letter) }
    };
    match state.ledger.commit(None, &[letter], respond) {
        super::Commit::Fresh(stored) | super::Commit::Replayed(stored) => Answer::replay(stored),
    }
}

/// The service's `components` of a deployed-shaped id (its fields, by the service's names).
fn components(id: &[u8]) -> Bytes {
    let text = std::str::from_utf8(id).unwrap_or_default();
    let f: Vec<&str> = text.split('-').collect();
    let names =
        ["version", "region", "jurisdiction", "sequential", "entityType", "yearMonth", "trustLevel", "checksum"];
    names.iter().zip(f).fold(JsonObject::with_capacity(200), |o, (name, value)| o.string(name, value)).finish()
}

fn mint_body(id: &[u8], letter: u8) -> Bytes {
    JsonObject::with_capacity(400)
        .boolean("success", true)
        .plain("chittyId", id)
        .plain("entityType", word_for_type_letter(letter).unwrap_or("thing").as_bytes())
        .raw("components", &components(id))
        .plain("timestamp", &timestamp())
        .plain("service", b"id.chitty.cc")
        .plain("mintedBy", b"mint.chitty.cc")
        .finish()
}

/// The placeholder `03-0-ERR-<code number>-<T>-<YYMM now>-0-<pair>` and the service's 200
/// answer carrying it; counted apart, never minted.
fn placeholder_answer(state: &State, code: &'static str, letter: u8) -> Answer {
    let number = id::placeholder_error_number_of(code).unwrap_or(99);
    let yymm = utc_year_month(unix_ms());
    let fields =
        format!("03-0-ERR-{number:04}-{}-{}-0", char::from(letter), std::str::from_utf8(&yymm).unwrap_or("0000"));
    let id = id::with_check_pair(&fields).expect("placeholder fields are digits and letters");
    state.ledger.count_placeholder();
    pending(state).insert(id.clone(), letter);
    let body = JsonObject::with_capacity(512)
        .boolean("success", true)
        .plain("chittyId", id.as_bytes())
        .boolean("fallback", true)
        .plain("errorCode", code.as_bytes())
        .string(
            "message",
            &format!("minting backend failed ({code}): issued a placeholder id, to be replaced on next verification"),
        )
        .raw("components", &components(id.as_bytes()))
        .plain("timestamp", &timestamp())
        .plain("service", b"id.chitty.cc")
        .plain("mintedBy", b"fallback")
        .finish();
    Answer::json(200, body)
}

/// JavaScript's `parseInt(s)` without a radix for a placeholder's SSSS field: base 10, or base
/// 16 after a `0x` / `0X` prefix.
fn js_parse_int(s: &str) -> Option<i64> {
    let s = s.trim_start();
    let (sign, digits) = match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    };
    let (radix, digits) = match digits.get(..2) {
        Some("0x" | "0X") => (16, &digits[2..]),
        _ => (10, digits),
    };
    let end = digits.bytes().position(|c| !char::from(c).is_digit(radix)).unwrap_or(digits.len());
    // A long run of digits is far above 99 whatever it is; saturate rather than overflow.
    (end > 0).then(|| sign * i64::from_str_radix(&digits[..end], radix).unwrap_or(i64::MAX))
}

/// The service's own (loose) test for a placeholder.
fn looks_like_placeholder(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 8
        && parts[1] == "0"
        && parts[2] == "ERR"
        && js_parse_int(parts[3]).is_some_and(|n| (0..=99).contains(&n))
}

async fn validate(state: &State, request: Request<Incoming>) -> Answer {
    let bytes = match read_body(request, state.max_request_bytes).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
    let Ok(body) = serde_json::from_slice::<Value>(&bytes) else { return security_error() };
    if body.is_null() {
        return security_error();
    }
    let id = match body.get("id") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(v) if truthy(v) => return security_error(),
        _ => None,
    };
    let verdict = match id.filter(|s| !s.is_empty()) {
        Some(id) if looks_like_placeholder(id) => match replace_placeholder(state, id) {
            Some(replaced) => return Answer::json(200, replaced),
            None => placeholder_verdict(id),
        },
        Some(id) => id_verdict(id),
        None => JsonObject::with_capacity(128)
            .boolean("success", true)
            .boolean("valid", false)
            .plain("error", b"ChittyID is required and must be a string"),
    };
    Answer::json(200, verdict.plain("timestamp", &timestamp()).finish())
}

fn pending(state: &State) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, u8>> {
    state.pending_placeholders.lock().unwrap_or_else(|p| p.into_inner())
}

/// The service's replacement of a placeholder it holds, when its minting backend mints again:
/// a real id of the type asked, and the held placeholder forgotten. `None` while the backend
/// still fails (a `placeholder` fault is set) or when the placeholder is not held.
fn replace_placeholder(state: &State, id: &str) -> Option<Bytes> {
    let faults = state.faults.get();
    if faults.placeholder.is_some() && faults.remaining != Some(0) {
        return None;
    }
    let letter = pending(state).remove(id)?;
    let respond = |mut ids: super::super::ledger::MintedIds<'_>| {
        let new_id = ids.next().expect("one id per letter");
        let new_id = new_id.as_ref();
        let body = JsonObject::with_capacity(640)
            .boolean("success", true)
            .boolean("replaced", true)
            .string("oldId", id)
            .plain("newId", new_id)
            .plain("message", b"placeholder replaced by a minted id")
            .plain("chittyId", new_id)
            .plain("entityType", word_for_type_letter(letter).unwrap_or("thing").as_bytes())
            .raw("components", &components(new_id))
            .plain("timestamp", &timestamp())
            .finish();
        super::StoredResponse { status: 200, body }
    };
    match state.ledger.commit(None, &[letter], respond) {
        super::Commit::Fresh(stored) | super::Commit::Replayed(stored) => Some(stored.body),
    }
}

fn placeholder_verdict(id: &str) -> JsonObject {
    let sequential = id.split('-').nth(3).unwrap_or_default();
    let name =
        PLACEHOLDER_ERRORS.iter().find(|(_, n)| format!("{n:04}") == sequential).map_or("UNKNOWN_ERROR", |(c, _)| c);
    JsonObject::with_capacity(256)
        .boolean("success", true)
        .boolean("valid", false)
        .boolean("isError", true)
        .string("errorCode", sequential)
        .plain("errorName", name.as_bytes())
        .string("message", &format!("placeholder id ({name}); verify again to have it replaced"))
        .boolean("canReplace", true)
}

/// The service's field-by-field check of a deployed id, with its messages.
fn id_verdict(id: &str) -> JsonObject {
    let invalid = |error: &str| {
        JsonObject::with_capacity(128).boolean("success", true).boolean("valid", false).string("error", error)
    };
    let parts: Vec<&str> = id.split('-').collect();
    if parts.len() != 8 {
        return invalid("Invalid format: must have 8 parts separated by hyphens");
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
    let checks: [(bool, &str); 8] = [
        (digits(parts[0], 2), "Version must be 2 digits"),
        (parts[1].len() == 1 && matches!(parts[1].as_bytes()[0], b'1'..=b'9'), "Region must be 1 digit (1-9)"),
        (
            parts[2].len() == 3 && parts[2].bytes().all(|c| c.is_ascii_uppercase()),
            "Jurisdiction must be 3 uppercase letters",
        ),
        (digits(parts[3], 4), "Sequential must be 4 digits"),
        (["P", "L", "T", "E", "A"].contains(&parts[4]), "Entity type must be P, L, T, E, or A"),
        (digits(parts[5], 4), "Year-Month must be 4 digits (YYMM)"),
        (parts[6].len() == 1 && matches!(parts[6].as_bytes()[0], b'0'..=b'5'), "Trust level must be 0-5"),
        (digits(parts[7], 2), "Checksum must be 2 digits"),
    ];
    if let Some((_, error)) = checks.iter().find(|(ok, _)| !ok) {
        return invalid(error);
    }
    let expected = id::deployed_check_pair(&parts[..7].concat()).map(|p| format!("{p:02}")).unwrap_or_default();
    if expected != parts[7] {
        return invalid(&format!("Invalid checksum: expected {expected}, got {}", parts[7]));
    }
    JsonObject::with_capacity(320)
        .boolean("success", true)
        .boolean("valid", true)
        .raw("components", &components(id.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_as_the_service_has_them() {
        let route = |m: Method, p: &str| Route::of(&m, &p.parse::<Uri>().unwrap());
        assert!(matches!(route(Method::POST, "/mint"), Route::Mint));
        assert!(matches!(route(Method::POST, "/mint?type=person"), Route::Mint));
        assert!(matches!(route(Method::POST, "/v1/mint"), Route::Moved(_)));
        assert!(matches!(route(Method::GET, "/generate?type=person"), Route::Moved(_)));
        assert!(matches!(route(Method::GET, "/api/get-chittyid"), Route::Moved(_)));
        assert!(matches!(route(Method::POST, "/api/validate"), Route::Validate));
        assert!(matches!(route(Method::GET, "/health"), Route::Health));
        assert!(matches!(route(Method::GET, "/api/health"), Route::ApiHealth));
        assert!(matches!(route(Method::OPTIONS, "/anything"), Route::Preflight));
        for (m, p) in [
            (Method::GET, "/v1/mint"),
            (Method::GET, "/mint"),
            (Method::POST, "/mint/"),
            (Method::POST, "/generate"),
            (Method::POST, "/v1/mint/batch"),
            (Method::GET, "/v1/health"),
            (Method::GET, "/validate/x"),
            (Method::POST, "/health"),
        ] {
            assert!(matches!(route(m.clone(), p), Route::NotFound(_)), "{m} {p}");
        }
    }

    #[test]
    fn reads_the_type_as_the_service_does() {
        let body = |json: &str| serde_json::from_str::<Value>(json).unwrap();
        let t = |b: Option<Value>, q: &str| requested_type(b.as_ref(), q);
        assert_eq!(t(Some(body(r#"{"entityType":"Person"}"#)), ""), Ok("person".into()));
        assert_eq!(t(Some(body(r#"{"entityType":"A"}"#)), ""), Ok("authority".into()));
        assert_eq!(t(Some(body(r#"{"entity_type":"l"}"#)), ""), Ok("place".into()));
        assert_eq!(t(Some(body(r#"{"entityType":"","entity_type":"e"}"#)), ""), Ok("event".into()));
        assert_eq!(t(Some(body(r#"{"entity":"PEO"}"#)), ""), Ok("thing".into()), "v1's `entity` is not read");
        assert_eq!(t(Some(body(r#"{"entityType":"claude"}"#)), ""), Ok("person".into()));
        assert_eq!(t(Some(body(r#"{"entityType":"work-item"}"#)), ""), Ok("thing".into()));
        assert_eq!(t(Some(body(r#"{"entityType":"robot"}"#)), ""), Ok("robot".into()));
        assert_eq!(t(Some(body(r#"{"entityType":5}"#)), ""), Err(()));
        assert_eq!(t(Some(body(r#"{"entityType":0}"#)), "type=event"), Ok("event".into()), "falsy values fall through");
        assert_eq!(t(None, "for=context&type=place"), Ok("place".into()));
        assert_eq!(t(None, "entity_type=P&type=place"), Ok("person".into()));
        assert_eq!(t(None, "for=work%2Ditem"), Ok("thing".into()));
        assert_eq!(t(None, ""), Ok("thing".into()));
    }

    #[test]
    fn recognises_placeholders_as_loosely_as_the_service() {
        assert!(looks_like_placeholder("03-0-ERR-0001-T-2612-0-22"));
        assert!(looks_like_placeholder("03-0-ERR-00ab-T-2612-0-22"), "parseInt reads the leading 00");
        assert!(looks_like_placeholder("x-0-ERR-99-y-z-w-v"));
        assert!(!looks_like_placeholder("03-0-ERR-0100-T-2612-0-22"));
        assert!(!looks_like_placeholder("03-0-ERR--1-T-2612-0-22"));
        assert!(!looks_like_placeholder("03-1-ERR-0001-T-2612-0-22"));
        assert_eq!(js_parse_int("  42x"), Some(42));
        // parseInt without a radix reads a 0x prefix as hexadecimal.
        assert_eq!(js_parse_int("0x63"), Some(99));
        assert_eq!(js_parse_int("0X1g"), Some(1));
        assert_eq!(js_parse_int("0x"), None);
        assert!(looks_like_placeholder("03-0-ERR-0x63-T-2612-0-22"));
        assert!(!looks_like_placeholder("03-0-ERR-0x64-T-2612-0-22"), "0x64 is 100");
        assert_eq!(js_parse_int("x"), None);
    }
}
