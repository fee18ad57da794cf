//! Request → response: routing, auth, body limits, the four routes, and the faults around them.
//! The deployed profile's routes are in `deployed.rs`; the faults and body limits are shared.

mod deployed;

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, EXPECT, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;

use super::faults::{Early, Injection, Late};
use super::idempotency::StoredResponse;
use super::ids;
use super::json::{self, JsonObject};
use super::ledger::{Commit, MintedIds};
use super::timestamp::iso8601_utc;
use super::{Profile, Reply, RouteKind, State};
use crate::rt::clock::unix_ms;

pub(crate) const SERVICE_VERSION: &str = "2.0.0";
const MAX_BATCH: usize = 1_000;
const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;
/// How much of a rejected oversized body is read away before giving up on the connection.
const DRAIN_AT_MOST: usize = 16 << 20;

/// Why the connection is closed instead of answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abort {
    /// Close with a TCP reset.
    Reset,
    /// Close quietly after the mint was committed.
    DropAfterCommit,
}

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Abort::Reset => "injected connection reset",
            Abort::DropAfterCommit => "injected drop after commit",
        })
    }
}

impl std::error::Error for Abort {}

enum Route {
    Health,
    Mint,
    Batch,
    /// The percent-decoded id.
    Validate(String),
    WrongMethod(RouteKind),
    NotFound,
}

impl Route {
    fn of(method: &Method, path: &str) -> Route {
        let path = without_api_prefix(path);
        let (route, expected) = match path {
            "/health" => (Route::Health, Method::GET),
            "/mint" => (Route::Mint, Method::POST),
            "/mint/batch" => (Route::Batch, Method::POST),
            _ => match path.strip_prefix("/validate/") {
                Some(raw_id) => (Route::Validate(percent_decode(raw_id)), Method::GET),
                None => return Route::NotFound,
            },
        };
        if *method == expected {
            route
        } else {
            Route::WrongMethod(route.kind())
        }
    }

    fn kind(&self) -> RouteKind {
        match self {
            Route::Health => RouteKind::Health,
            Route::Mint => RouteKind::Mint,
            Route::Batch => RouteKind::Batch,
            Route::Validate(_) => RouteKind::Validate,
            Route::WrongMethod(kind) => *kind,
            Route::NotFound => RouteKind::Other,
        }
    }
}

/// A request's route under the emulator's profile.
enum AnyRoute {
    V1(Route),
    Deployed(deployed::Route),
}

impl AnyRoute {
    fn kind(&self) -> RouteKind {
        match self {
            AnyRoute::V1(route) => route.kind(),
            AnyRoute::Deployed(route) => route.kind(),
        }
    }
}

fn without_api_prefix(path: &str) -> &str {
    ["/api/v1", "/v1"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix).filter(|rest| rest.starts_with('/')))
        .unwrap_or(path)
}

fn percent_decode(raw: &str) -> String {
    if !raw.contains('%') {
        return raw.to_owned();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A response before it becomes an HTTP message, so faults can still change it.
struct Answer {
    status: u16,
    body: Bytes,
    retry_after_secs: Option<u64>,
    /// `X-Block-Reason`, sent with the rate limiter's 429.
    block_reason: Option<&'static str>,
    /// `Content-Type`: JSON unless a route says otherwise (`None`: no header, as for an empty
    /// preflight answer).
    content_type: Option<&'static str>,
    /// Headers a route adds (the deployed profile's CORS and deprecation headers).
    headers: Vec<(&'static str, HeaderValue)>,
}

/// The public service's rate-limit answer: 429 without `Retry-After`.
const BLOCKED_BODY: &[u8] = br#"{"error":"REQUEST_BLOCKED","reason":"RATE_LIMIT_EXCEEDED"}"#;
const BLOCK_REASON: &str = "RATE_LIMIT_EXCEEDED";

impl Answer {
    fn json(status: u16, body: Bytes) -> Self {
        Answer {
            status,
            body,
            retry_after_secs: None,
            block_reason: None,
            content_type: Some("application/json"),
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    fn error(status: u16, message: &str) -> Self {
        let body =
            JsonObject::with_capacity(48 + message.len()).boolean("success", false).string("error", message).finish();
        Answer::json(status, body)
    }

    fn replay(stored: StoredResponse) -> Self {
        Answer::json(stored.status, stored.body)
    }

    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn into_reply(self) -> Reply {
        let length = self.body.len();
        let mut reply = Response::new(Full::new(self.body));
        *reply.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = reply.headers_mut();
        if let Some(content_type) = self.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(reason) = self.block_reason {
            headers.insert("x-block-reason", HeaderValue::from_static(reason));
        }
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        reply
    }
}

/// Serves one request: counts it, applies the faults drawn for it, runs the route.
pub(crate) async fn respond(state: Arc<State>, request: Request<Incoming>) -> Result<Reply, Abort> {
    if request.version() == hyper::Version::HTTP_2 {
        state.h2_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if let Some(moved) =
        request.uri().path_and_query().and_then(|p| super::serving::redirect(state.redirect_status, p.as_str()))
    {
        return Ok(moved);
    }
    let gzip = state.compress && super::serving::accepts_gzip(request.headers());
    let route = match state.profile {
        Profile::V1 => AnyRoute::V1(Route::of(request.method(), request.uri().path())),
        Profile::Deployed => AnyRoute::Deployed(deployed::Route::of(request.method(), request.uri())),
    };
    // The deployed service's deprecated mint aliases move the request before it is processed:
    // not counted, no fault drawn (deployed.rs).
    if let AnyRoute::Deployed(deployed::Route::Moved(note)) = route {
        return Ok(deployed::moved(note).into_reply());
    }
    let kind = route.kind();
    state.ledger.count_request(kind);
    let injection = state.faults.draw(kind).unwrap_or_default();
    let answer = answer_with_faults(&state, route, request, injection).await?;
    let reply = answer.into_reply();
    Ok(if gzip { super::serving::gzip(reply).await } else { reply })
}

async fn answer_with_faults(
    state: &State,
    route: AnyRoute,
    request: Request<Incoming>,
    injection: Injection,
) -> Result<Answer, Abort> {
    let kind = route.kind();
    let before_route = injection.latency.is_some() || injection.early.is_some();
    if before_route {
        state.ledger.count_fault();
    }
    if let Some(delay) = injection.latency {
        tokio::time::sleep(delay).await;
    }
    if let Some(early) = injection.early {
        return early_answer(early, kind, state.profile);
    }
    let answer = match route {
        AnyRoute::V1(route) => route_answer(state, route, request).await,
        AnyRoute::Deployed(route) => deployed::answer(state, route, request, injection.placeholder).await,
    };
    match injection.late {
        Some(late) if answer.is_success() => {
            if !before_route {
                state.ledger.count_fault();
            }
            late_answer(late, answer)
        }
        _ => Ok(answer),
    }
}

fn early_answer(early: Early, kind: RouteKind, profile: Profile) -> Result<Answer, Abort> {
    let deployed = profile == Profile::Deployed;
    Ok(match early {
        Early::Down if kind == RouteKind::Health && deployed => Answer::json(503, deployed::health_body("down")),
        Early::Down if kind == RouteKind::Health => Answer::json(503, health_body("down")),
        Early::Down => Answer::error(503, "service unavailable"),
        Early::Reset => return Err(Abort::Reset),
        // The deployed service's 429 carries no Retry-After.
        Early::RateLimited { retry_after_secs } => {
            Answer { retry_after_secs: (!deployed).then_some(retry_after_secs), ..Answer::error(429, "rate limited") }
        }
        Early::Status(status) => Answer::error(status, "injected error"),
        Early::Blocked => {
            Answer { block_reason: Some(BLOCK_REASON), ..Answer::json(429, Bytes::from_static(BLOCKED_BODY)) }
        }
    })
}

fn late_answer(late: Late, answer: Answer) -> Result<Answer, Abort> {
    let body = match late {
        Late::DropAfterCommit => return Err(Abort::DropAfterCommit),
        Late::Malformed => json::malformed(&answer.body),
        Late::Oversized(size) => json::padded_to(&answer.body, size),
    };
    Ok(Answer { body, ..answer })
}

async fn route_answer(state: &State, route: Route, request: Request<Incoming>) -> Answer {
    let answer = match route {
        Route::Health => Answer::json(200, health_body("ok")),
        Route::NotFound => Answer::error(404, "not found"),
        Route::WrongMethod(_) => Answer::error(405, "method not allowed"),
        _ if !authorized(state, request.headers()) => Answer::error(401, "unauthorized"),
        Route::Validate(id) => validate(state, &id),
        Route::Mint => mint_route(state, request, RouteKind::Mint, mint).await,
        Route::Batch => mint_route(state, request, RouteKind::Batch, mint_batch).await,
    };
    match answer.status {
        401 => state.ledger.count_unauthorized(),
        400 | 413 => state.ledger.count_bad_request(),
        _ => {}
    }
    answer
}

fn health_body(status: &str) -> Bytes {
    JsonObject::with_capacity(72)
        .plain("status", status.as_bytes())
        .plain("service", b"chittyid-emulator")
        .plain("version", SERVICE_VERSION.as_bytes())
        .finish()
}

fn authorized(state: &State, headers: &HeaderMap) -> bool {
    match &state.expected_authorization {
        None => true,
        Some(expected) => headers.get(AUTHORIZATION).is_some_and(|v| v.as_bytes() == &expected[..]),
    }
}

/// Reads the body and the idempotency key, replays a known key, else runs `mint_from`.
async fn mint_route(
    state: &State,
    request: Request<Incoming>,
    kind: RouteKind,
    mint_from: fn(&State, &[u8], Option<&str>) -> Answer,
) -> Answer {
    let key = if state.ignores_idempotency_keys() {
        None
    } else {
        match idempotency_key(kind, request.headers()) {
            Ok(key) => key,
            Err(answer) => return answer,
        }
    };
    let body = match read_body(request, state.max_request_bytes).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    if let Some(stored) = key.as_deref().and_then(|k| state.ledger.replay(k)) {
        return Answer::replay(stored);
    }
    mint_from(state, &body, key.as_deref())
}

/// The `Idempotency-Key` header, namespaced by route so a mint key never replays a batch.
fn idempotency_key(kind: RouteKind, headers: &HeaderMap) -> Result<Option<String>, Answer> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let raw = value.as_bytes();
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > MAX_IDEMPOTENCY_KEY_BYTES {
        return Err(Answer::error(400, "Idempotency-Key is longer than 255 bytes"));
    }
    Ok(Some(format!("{}:{}", kind.name(), String::from_utf8_lossy(raw))))
}

async fn read_body(request: Request<Incoming>, limit: usize) -> Result<Bytes, Answer> {
    let too_large = || Answer::error(413, "request body too large");
    let headers = request.headers();
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    // Without `Expect: 100-continue` the client sends the body anyway; reading it keeps the
    // connection usable and lets the 413 arrive before the close (no reset over unread bytes).
    let drain_on_reject = headers.get(EXPECT).is_none();
    let mut body = request.into_body();
    if declared.is_some_and(|len| len > limit as u64) {
        if drain_on_reject {
            discard(&mut body, DRAIN_AT_MOST).await;
        }
        return Err(too_large());
    }
    match Limited::new(&mut body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => {
            discard(&mut body, DRAIN_AT_MOST).await;
            Err(too_large())
        }
        Err(_) => Err(Answer::error(400, "could not read the request body")),
    }
}

/// Reads and drops up to `at_most` more bytes of `body`.
async fn discard(body: &mut Incoming, at_most: usize) {
    let mut seen = 0;
    while seen <= at_most {
        match body.frame().await {
            Some(Ok(frame)) => seen += frame.data_ref().map_or(0, Bytes::len),
            _ => return,
        }
    }
}

#[derive(Deserialize)]
struct MintRequest<'a> {
    #[serde(borrow, default)]
    entity: Cow<'a, str>,
}

#[derive(Deserialize)]
struct BatchRequest<'a> {
    #[serde(borrow, default)]
    requests: Option<Vec<MintRequest<'a>>>,
}

fn type_letter(request: &MintRequest<'_>) -> Result<u8, String> {
    if request.entity.is_empty() {
        return Err("entity is required".to_owned());
    }
    ids::type_letter_for_entity(&request.entity).ok_or_else(|| {
        format!(
            "unknown entity: {} (expected one of PEO, PLACE, PROP, EVNT, AUTH, INFO, FACT, CONTEXT, ACTOR)",
            request.entity
        )
    })
}

fn bad_json(e: serde_json::Error) -> Answer {
    Answer::error(400, &format!("invalid JSON body: {e}"))
}

fn mint(state: &State, body: &[u8], key: Option<&str>) -> Answer {
    let request: MintRequest<'_> = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => return bad_json(e),
    };
    let letter = match type_letter(&request) {
        Ok(letter) => letter,
        Err(message) => return Answer::error(400, &message),
    };
    commit(state, key, &[letter], mint_body)
}

fn mint_batch(state: &State, body: &[u8], key: Option<&str>) -> Answer {
    let batch: BatchRequest<'_> = match serde_json::from_slice(body) {
        Ok(batch) => batch,
        Err(e) => return bad_json(e),
    };
    let Some(requests) = batch.requests else {
        return Answer::error(400, "requests must be an array");
    };
    if requests.len() > MAX_BATCH {
        return Answer::error(400, "at most 1000 requests per batch");
    }
    let letters: Result<Vec<u8>, String> = requests
        .iter()
        .enumerate()
        .map(|(i, request)| type_letter(request).map_err(|message| format!("requests[{i}]: {message}")))
        .collect();
    match letters {
        Ok(letters) => commit(state, key, &letters, batch_body),
        Err(message) => Answer::error(400, &message),
    }
}

fn commit(state: &State, key: Option<&str>, letters: &[u8], body: fn(MintedIds<'_>, &[u8]) -> Bytes) -> Answer {
    let respond = |ids: MintedIds<'_>| StoredResponse { status: 201, body: body(ids, letters) };
    match state.ledger.commit(key, letters, respond) {
        Commit::Fresh(stored) | Commit::Replayed(stored) => Answer::replay(stored),
    }
}

fn mint_body(mut ids: MintedIds<'_>, letters: &[u8]) -> Bytes {
    let id = ids.next().expect("one id per letter");
    let entity = ids::entity_for_type_letter(letters[0] as char).unwrap_or_default();
    JsonObject::with_capacity(144)
        .boolean("success", true)
        .plain("chittyId", id.as_ref())
        .plain("entity", entity.as_bytes())
        .plain("timestamp", &iso8601_utc(unix_ms()))
        .plain("version", SERVICE_VERSION.as_bytes())
        .finish()
}

fn batch_body(ids: MintedIds<'_>, letters: &[u8]) -> Bytes {
    JsonObject::with_capacity(32 + letters.len() * (crate::id::DEPLOYED_ID_LEN + 3))
        .boolean("success", true)
        .plain_array("chittyIds", ids)
        .finish()
}

fn validate(state: &State, id: &str) -> Answer {
    let shaped = ids::is_valid_format(id);
    let valid = shaped && ids::is_valid_checked(id);
    let mut body = JsonObject::with_capacity(96 + id.len()).boolean("valid", valid).string("chittyId", id);
    if let Some(entity) = ids::entity_of(id).filter(|_| valid) {
        body = body.plain("entity", entity.as_bytes());
    }
    body = body.boolean("minted", valid && state.ledger.was_minted(id));
    if !valid {
        let error = if shaped { "check character mismatch" } else { "invalid format" };
        body = body.plain("error", error.as_bytes());
    }
    Answer::json(200, body.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_stripped_only_at_a_segment_boundary() {
        assert_eq!(without_api_prefix("/v1/mint"), "/mint");
        assert_eq!(without_api_prefix("/api/v1/mint/batch"), "/mint/batch");
        assert_eq!(without_api_prefix("/v1mint"), "/v1mint");
        assert_eq!(without_api_prefix("/health"), "/health");
    }

    #[test]
    fn routes_by_method_and_path() {
        assert_eq!(Route::of(&Method::GET, "/v1/health").kind(), RouteKind::Health);
        assert!(matches!(Route::of(&Method::POST, "/api/v1/mint"), Route::Mint));
        assert!(matches!(Route::of(&Method::GET, "/mint"), Route::WrongMethod(RouteKind::Mint)));
        assert!(matches!(Route::of(&Method::POST, "/mint/batch"), Route::Batch));
        assert!(matches!(Route::of(&Method::GET, "/v2/mint"), Route::NotFound));
        assert!(matches!(Route::of(&Method::GET, "/validate/A%2DB"), Route::Validate(id) if id == "A-B"));
    }

    #[test]
    fn percent_decoding_leaves_broken_escapes_alone() {
        assert_eq!(percent_decode("CT%2DA"), "CT-A");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
