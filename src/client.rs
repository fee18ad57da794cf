//! The v1 operations (mint, mintBatch, validate, healthCheck) over one transport,
//! each through the resilience path.

mod failover;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::watch;

use bytes::Bytes;
use serde::Deserialize;

use crate::bulkhead::{Bulkhead, BulkheadPermit};
use crate::cache::ValidationCache;
use crate::config::{ClientConfig, HEALTH_TIMEOUT_MS};
use crate::error::ClientError;
use crate::format::{self, IdGrammar};
use crate::redact::Redactor;
use crate::resilience::{Call, Replay, Resilience};
use crate::stats::{ClientSnapshot, Operation};
use crate::transport::fetch::FetchTransport;
use crate::transport::{ClientTransport, Method, Request, Response, TransportKind};

pub use failover::{EndpointSnapshot, Failover, Fallback};

pub struct Client {
    transport: ClientTransport,
    timeout_ms: u64,
    /// The grammars the format-only fallback of `validate()` accepts.
    id_grammar: IdGrammar,
    mint_retry: MintRetry,
    /// The API key's redaction (`crate::redact`) for what the parsers see; the transport holds
    /// the same and applies it to what comes back.
    redactor: Redactor,
    resilience: Resilience,
    cache: Option<CachePolicy>,
    /// Validations in flight, by id: concurrent callers for the same id share one request.
    inflight: Mutex<HashMap<String, watch::Receiver<Option<Validation>>>>,
    /// Bounds the calls in flight (see `bulkhead`); `None` = unbounded.
    bulkhead: Option<Bulkhead>,
    /// The endpoints after the primary (`transport`, `resilience`); `None` = one endpoint.
    failover: Option<Failover>,
    /// This client, for background health probes of down endpoints.
    me: Weak<Client>,
}

/// Which failures a mint is retried after (docs/ARCHITECTURE.md, "Retry safety").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MintRetry {
    /// Only failures that prove the service did not process it (connect phase, 429, 503); any
    /// other failure after it may have reached the service ends with `EMINTUNKNOWN`. For
    /// services that ignore `Idempotency-Key`, as the public one does.
    #[default]
    Safe,
    /// Every retryable failure, under the same key: for services that honour it.
    Idempotent,
}

impl MintRetry {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "safe" => Some(MintRetry::Safe),
            "idempotent" => Some(MintRetry::Idempotent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MintRetry::Safe => "safe",
            MintRetry::Idempotent => "idempotent",
        }
    }
}

/// The validation cache and how long each kind of answer lives in it.
pub struct CachePolicy {
    pub cache: Arc<ValidationCache>,
    /// "Not valid" may mean "not yet known" to a replicated service, so negative answers
    /// live shorter than positive ones.
    pub negative_ttl_ms: u64,
}

enum Flight {
    Lead(watch::Sender<Option<Validation>>),
    Wait(watch::Receiver<Option<Validation>>),
    /// Answered (and cached) while this caller was on its way.
    Done(Validation),
}

/// Removes an in-flight entry when its leader finishes or is dropped (cancelled); waiters of
/// a dropped leader see the channel close and ask the service themselves.
struct InflightGuard<'a> {
    client: &'a Client,
    id: &'a str,
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.client.inflight.lock() {
            map.remove(self.id);
        }
    }
}

/// What `validate()` resolves to; it never fails.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validation {
    pub valid: bool,
    pub chitty_id: Option<String>,
    pub entity: Option<String>,
    pub error: Option<String>,
    /// True when the answer came from the service (and so may be cached).
    pub authoritative: bool,
    /// A cached answer past its TTL, served in place of the format-only fallback because the
    /// service could not be reached (docs/ARCHITECTURE.md, "Stale if error").
    pub stale: bool,
}

impl Validation {
    /// Rebuilds an answer from a cached verdict; the entity follows from the type letter.
    pub fn from_cache(id: &str, valid: bool) -> Self {
        let entity = valid.then(|| format::entity_for_id(id)).flatten().map(str::to_owned);
        Validation { valid, chitty_id: Some(id.to_owned()), entity, error: None, authoritative: true, stale: false }
    }
}

#[derive(Deserialize)]
struct MintAnswer {
    #[serde(rename = "chittyId")]
    chitty_id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct BatchAnswer {
    #[serde(rename = "chittyIds")]
    chitty_ids: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ValidateAnswer {
    valid: Option<serde_json::Value>,
    #[serde(rename = "chittyId")]
    chitty_id: Option<String>,
    entity: Option<String>,
    error: Option<String>,
}

fn bad(detail: impl Into<String>) -> ClientError {
    ClientError::BadResponse { detail: detail.into() }
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON ({e})")))
}

fn parse_mint(response: &Response) -> Result<String, ClientError> {
    match parse_json::<MintAnswer>(&response.body)?.chitty_id {
        Some(serde_json::Value::String(id)) => Ok(id),
        _ => Err(bad("the answer has no string chittyId")),
    }
}

/// The ids of a batch answer, which must be one per request (`expected`).
fn parse_batch(response: &Response, expected: usize) -> Result<Vec<String>, ClientError> {
    let Some(serde_json::Value::Array(items)) = parse_json::<BatchAnswer>(&response.body)?.chitty_ids
    else {
        return Err(bad("the answer has no chittyIds array"));
    };
    if items.len() != expected {
        return Err(bad(format!("chittyIds holds {} ids for {expected} requests", items.len())));
    }
    items
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(bad("chittyIds holds a value that is not a string")),
        })
        .collect()
}

fn parse_validation(response: &Response) -> Result<Validation, ClientError> {
    let answer: ValidateAnswer = parse_json(&response.body)?;
    let Some(serde_json::Value::Bool(valid)) = answer.valid else {
        return Err(bad("the answer has no boolean `valid`"));
    };
    Ok(Validation {
        valid,
        chitty_id: answer.chitty_id,
        entity: answer.entity,
        error: answer.error,
        authoritative: true,
        stale: false,
    })
}

/// `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` is percent-encoded.
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `validate()`'s answer for `.` and `..`, which no request can carry (`is_dot_segment`).
pub const DOT_SEGMENT_ID: &str = "ChittyID cannot be \".\" or \"..\" (a URL path drops dot segments)";

/// Whether `id` is a dot segment once encoded. `encodeURIComponent` leaves `.` alone, and every
/// URL parser (WHATWG's, so fetch's; the `url` crate under reqwest) removes a `.` or `..` path
/// segment, so `GET /validate/..` would go to another route with the key. Percent-encoding
/// cannot help: `%2e` is a dot to those parsers too. Any other id encodes to one segment that
/// stays one (`%` itself is encoded). No grammar makes these ids valid, so `validate()` answers
/// them without a request (docs/ARCHITECTURE.md, "Redaction").
pub fn is_dot_segment(id: &str) -> bool {
    id == "." || id == ".."
}

/// The longest caller-supplied idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A caller's idempotency key must fit in a header as is: 1 to 255 visible ASCII characters.
pub fn check_idempotency_key(key: &str) -> Result<(), ClientError> {
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !visible {
        return Err(ClientError::InvalidArgument {
            detail: format!("idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters (no spaces)"),
        });
    }
    Ok(())
}

/// A fresh key per logical mint, reused by its retries, so a retried mint cannot mint twice.
fn idempotency_key() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

impl Client {
    pub fn new(
        config: &ClientConfig,
        transport: TransportKind,
        resilience: Resilience,
        cache: Option<CachePolicy>,
        mint_retry: MintRetry,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            transport: ClientTransport::new(config, transport)?,
            timeout_ms: config.timeout_ms,
            id_grammar: config.id_grammar,
            mint_retry,
            redactor: Redactor::new(config.api_key.as_deref()),
            resilience,
            cache,
            inflight: Mutex::new(HashMap::new()),
            bulkhead: None,
            failover: None,
            me: Weak::new(),
        })
    }

    /// Adds endpoints after the primary (see `failover`).
    pub fn with_failover(mut self, failover: Option<Failover>) -> Self {
        self.failover = failover;
        self
    }

    /// The shared client, which knows itself (for background probes).
    pub fn into_shared(mut self) -> Arc<Self> {
        Arc::new_cyclic(|me| {
            self.me = me.clone();
            self
        })
    }

    /// Bounds this client's calls in flight with `bulkhead`.
    pub fn with_bulkhead(mut self, bulkhead: Option<Bulkhead>) -> Self {
        self.bulkhead = bulkhead;
        self
    }

    /// A slot in the bulkhead for one call (waiting at most the call's timeout), if there is one.
    async fn enter_bulkhead(&self) -> Result<Option<BulkheadPermit>, ClientError> {
        match &self.bulkhead {
            None => Ok(None),
            Some(b) => b.enter(self.timeout_ms).await.map(Some),
        }
    }

    pub fn cache(&self) -> Option<&Arc<ValidationCache>> {
        self.cache.as_ref().map(|c| &c.cache)
    }

    pub fn snapshot(&self) -> ClientSnapshot {
        let stats = &self.resilience.stats;
        ClientSnapshot {
            operations: Operation::ALL.iter().map(|&op| stats.snapshot(op)).collect(),
            breaker: self.resilience.breaker.as_ref().map(|b| b.snapshot()),
            cache: self.cache().map(|c| c.stats()),
            rejected_by_breaker: stats.rejected_by_breaker(),
            rate_limit: self.resilience.rate_limit.snapshot(),
            fleet: self.resilience.fleet.as_ref().map(|f| f.snapshot()),
            retry_budget: self.resilience.retry_budget.as_ref().map(|b| b.snapshot()),
            bulkhead: self.bulkhead.as_ref().map(|b| b.snapshot()),
            throttle: self.resilience.throttle.as_ref().map(|t| t.snapshot()),
            endpoints: self.endpoint_snapshots(),
        }
    }

    /// A cached answer, counted as a hit or miss.
    pub fn cached_validation(&self, id: &str) -> Option<Validation> {
        let valid = self.cache()?.get(id)?;
        Some(Validation::from_cache(id, valid))
    }

    pub fn service_url(&self) -> &str {
        self.transport.base_url()
    }

    /// The fetch transport, for the binding to wire to JS; `None` for the native one.
    pub fn fetch_transport(&self) -> Option<&FetchTransport> {
        self.transport.as_fetch()
    }

    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    /// A call of `op` under `replay`; it may wait out rate-limit pauses for up to its timeout.
    fn call<'a>(&self, op: Operation, replay: Replay<'a>) -> Call<'a> {
        Call { op, replay, wait_budget_ms: self.timeout_ms, hands_off: false }
    }

    /// Sends `body` under `key` (the caller's, or a fresh one) for every attempt.
    async fn post<T>(
        &self,
        op: Operation,
        path: &str,
        body: Bytes,
        key: Option<String>,
        parse: impl Fn(&Response) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let key = key.unwrap_or_else(idempotency_key);
        // Reported with an abort or close() that stops this mint after its request was sent.
        crate::cancel::note_key(&key);
        let request = || Request {
            method: Method::Post,
            path,
            body: Some(body.clone()),
            idempotency_key: Some(&key),
            timeout_ms: self.timeout_ms,
        };
        let replay = match self.mint_retry {
            MintRetry::Safe => Replay::IfNotProcessed { key: &key },
            MintRetry::Idempotent => Replay::Retryable,
        };
        let _slot = self.enter_bulkhead().await?;
        self.run_across(op, replay, request, parse).await
    }

    /// `POST /mint` with the request serialized by the caller; resolves to the new id. A
    /// caller's `key` (already checked by `check_idempotency_key`) makes the mint repeatable
    /// across calls: the service answers a repeated key with the id it minted the first time.
    pub async fn mint(&self, body: Bytes, key: Option<String>) -> Result<String, ClientError> {
        self.post(Operation::Mint, "/mint", body, key, parse_mint).await
    }

    /// `POST /mint/batch` with `{"requests":[...]}` serialized by the caller; `count` is the
    /// number of requests, and so of ids the answer must hold.
    pub async fn mint_batch(&self, body: Bytes, count: usize, key: Option<String>) -> Result<Vec<String>, ClientError> {
        self.post(Operation::MintBatch, "/mint/batch", body, key, |r| parse_batch(r, count)).await
    }

    /// Answers from the cache, else asks the service once for all concurrent callers of `id`.
    pub async fn validate(&self, id: &str) -> Validation {
        if let Some(hit) = self.cached_validation(id) {
            return hit;
        }
        self.validate_uncached(id).await
    }

    /// Asks the service (sharing a request already in flight for `id`) and caches the answer.
    /// A dot-segment id is answered here, without a request (`is_dot_segment`).
    pub async fn validate_uncached(&self, id: &str) -> Validation {
        if is_dot_segment(id) {
            return Validation { valid: false, error: Some(DOT_SEGMENT_ID.to_owned()), ..Validation::default() };
        }
        let tx = match self.join_or_lead(id) {
            Flight::Lead(tx) => tx,
            Flight::Done(answer) => return answer,
            Flight::Wait(mut rx) => {
                if let Ok(answer) = rx.wait_for(Option::is_some).await {
                    if let Some(v) = answer.clone() {
                        return v;
                    }
                }
                // The leader was cancelled before answering: ask on our own.
                return self.ask_and_remember(id).await;
            }
        };
        let _guard = InflightGuard { client: self, id };
        let answer = self.ask_and_remember(id).await;
        let _ = tx.send(Some(answer.clone()));
        answer
    }

    fn join_or_lead(&self, id: &str) -> Flight {
        let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rx) = map.get(id) {
            return Flight::Wait(rx.clone());
        }
        // A leader caches its answer before it leaves the map, so a caller that missed the
        // cache before the answer came finds it here instead of asking again.
        if let Some(valid) = self.cache().and_then(|c| c.peek(id)) {
            return Flight::Done(Validation::from_cache(id, valid));
        }
        let (tx, rx) = watch::channel(None);
        map.insert(id.to_owned(), rx);
        Flight::Lead(tx)
    }

    async fn ask_and_remember(&self, id: &str) -> Validation {
        // An `invalidate` while this request is out makes its answer too old to keep.
        let epoch = self.cache().map(|c| c.forget_epoch());
        let still_wanted = || self.cache().map(|c| c.forget_epoch()) == epoch;
        // Fleet mode: the shared cache (L2) before the service, when caching is on, and only
        // for well-formed ids: whatever Redis holds, an id that fails the format check is never
        // answered `valid: true` from it (a forged entry, see `fleet::cache`, is a miss anyway).
        let Some(l2) = self.shared_cache().filter(|_| format::is_valid_in(id, self.id_grammar)) else {
            let answer = self.ask_service(id).await;
            if still_wanted() {
                self.remember(id, &answer);
            }
            return answer;
        };
        let lease = match l2.lookup(id).await {
            crate::fleet::cache::Lookup::Hit { valid, ttl_ms } => {
                if still_wanted() {
                    self.remember_for(id, valid, ttl_ms.min(self.ttl_for(valid)));
                }
                return Validation::from_cache(id, valid);
            }
            crate::fleet::cache::Lookup::Miss(lease) => lease,
        };
        let answer = self.ask_service(id).await;
        let keep = still_wanted();
        if keep {
            self.remember(id, &answer);
        }
        let verdict = answer.authoritative.then_some(answer.valid).filter(|_| keep);
        l2.store(id, verdict, self.ttl_for(answer.valid), lease).await;
        answer
    }

    /// The fleet's shared cache, used when this client caches and fleet mode shares a cache.
    fn shared_cache(&self) -> Option<&crate::fleet::cache::SharedCache> {
        self.cache.as_ref()?;
        self.resilience.fleet.as_ref()?.shared_cache()
    }

    /// `client.invalidate(id)`, local part: forgets `id` in the validation cache (fresh or
    /// stale), and keeps an answer already on its way from being stored; true when it was held.
    pub fn invalidate_local(&self, id: &str) -> bool {
        self.cache().is_some_and(|c| c.invalidate(id))
    }

    /// Whether `invalidate` has a fleet entry to delete as well (and so must go to Redis).
    pub fn has_shared_cache(&self) -> bool {
        self.shared_cache().is_some()
    }

    /// `client.invalidate(id)`, fleet part: deletes the shared entry; true when there was one.
    pub async fn invalidate_shared(&self, id: &str) -> bool {
        match self.shared_cache() {
            Some(l2) => l2.forget(id).await,
            None => false,
        }
    }

    /// How long an answer lives in the cache: "not valid" shorter (see `CachePolicy`).
    fn ttl_for(&self, valid: bool) -> u64 {
        let Some(policy) = &self.cache else { return 0 };
        let ttl = policy.cache.config().ttl_ms;
        if valid { ttl } else { policy.negative_ttl_ms.min(ttl) }
    }

    fn remember(&self, id: &str, answer: &Validation) {
        if answer.authoritative {
            self.remember_for(id, answer.valid, self.ttl_for(answer.valid));
        }
    }

    fn remember_for(&self, id: &str, valid: bool, ttl_ms: u64) {
        let Some(policy) = &self.cache else { return };
        policy.cache.set_with_ttl(id, valid, ttl_ms);
    }

    /// Asks the service; never fails. A service error status yields `valid: false`;
    /// a transport failure falls back to the format check.
    async fn ask_service(&self, id: &str) -> Validation {
        let path = format!("/validate/{}", encode_uri_component(id));
        let request = || Request { method: Method::Get, path: &path, body: None, idempotency_key: None, timeout_ms: self.timeout_ms };
        let parse = |r: &Response| parse_validation(r).map(|v| self.redact_validation(v));
        let outcome = async {
            let _slot = self.enter_bulkhead().await?;
            self.run_across(Operation::Validate, Replay::Retryable, request, parse).await
        }
        .await;
        if let Err(err) = &outcome {
            if serves_stale(err) {
                if let Some(answer) = self.stale_answer(id) {
                    return answer;
                }
            }
        }
        match outcome {
            Ok(v) => v,
            Err(ClientError::Http { status, .. }) => Validation {
                valid: false,
                error: Some(format!("Service error: {status}")),
                ..Validation::default()
            },
            Err(e) => Validation {
                valid: format::is_valid_in(id, self.id_grammar),
                error: Some(e.to_string()),
                ..Validation::default()
            },
        }
    }

    /// The cached answer for `id` when the service could not give one: within its stale window
    /// (`stale: true`, counted), or fresh again because another caller refreshed it meanwhile.
    fn stale_answer(&self, id: &str) -> Option<Validation> {
        let (valid, stale) = self.cache()?.get_if_error(id)?;
        // Not the service's answer now: never cached again as a fresh one.
        Some(Validation { stale, authoritative: false, ..Validation::from_cache(id, valid) })
    }

    /// A validation answer as the caller gets it (docs/ARCHITECTURE.md, "Redaction"): the
    /// service's `error` is free text and is redacted; `chittyId` and `entity` are data, never
    /// rewritten, and dropped when they give the API key away (a service echoing the request's
    /// `Authorization` into them). The verdict stands either way.
    fn redact_validation(&self, mut v: Validation) -> Validation {
        for field in [&mut v.chitty_id, &mut v.entity] {
            if field.as_deref().is_some_and(|f| self.redactor.reveals(f)) {
                *field = None;
            }
        }
        if let Some(text) = &mut v.error {
            self.redactor.redact_in_place(text);
        }
        v
    }

    /// `GET /health` with a 5 s timeout, outside retry and breaker; never fails.
    pub async fn health(&self) -> bool {
        self.health_result().await.is_ok()
    }

    /// Like [`Client::health`], with the reason when the service is not healthy. It waits out
    /// a rate-limit pause like every other request, within its timeout. With several
    /// endpoints it asks the one calls go to now.
    pub async fn health_result(&self) -> Result<(), ClientError> {
        let endpoint = self.active_endpoint();
        let resilience = self.endpoint(endpoint).1;
        let gate = &resilience.rate_limit;
        let mut budget_ms = HEALTH_TIMEOUT_MS;
        resilience.pass_throttle(&mut budget_ms).await?;
        gate.pass(&mut budget_ms).await?;
        let stamp = gate.stamp();
        let started = std::time::Instant::now();
        let outcome = self
            .send_via(endpoint, Request {
                method: Method::Get,
                path: "/health",
                body: None,
                idempotency_key: None,
                timeout_ms: HEALTH_TIMEOUT_MS,
            })
            .await
            .and_then(Response::error_for_status);
        resilience.stats.record_attempt(Operation::Health, started.elapsed(), outcome.as_ref().err());
        let _ = resilience.record_for_gate(Operation::Health, stamp, outcome.as_ref().err());
        outcome.map(drop)
    }
}

/// Failures after which `validate()` serves a stale cached answer: the service could not be
/// reached or is failing (transport, timeout, open circuit, rate-limit wait, bulkhead, 5xx, a
/// garbled answer). A 4xx is the service answering, and is answered as before.
fn serves_stale(err: &ClientError) -> bool {
    match err {
        ClientError::Http { status, .. } => *status >= 500,
        ClientError::Aborted | ClientError::Closed | ClientError::InvalidArgument { .. } => false,
        _ => true,
    }
}

pub type SharedClient = Arc<Client>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(encode_uri_component("CT-A-CHI-1234-I-24-A-0"), "CT-A-CHI-1234-I-24-A-0");
        assert_eq!(encode_uri_component("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(encode_uri_component("é"), "%C3%A9");
        assert_eq!(encode_uri_component("!~*'()._"), "!~*'()._");
    }

    fn ok(body: &str) -> Response {
        Response { status: 201, status_text: "Created".into(), retry_after: None, body: body.as_bytes().to_vec().into() }
    }

    #[test]
    fn mint_answer_needs_a_string_id() {
        assert_eq!(parse_mint(&ok(r#"{"chittyId":"X"}"#)).unwrap(), "X");
        for body in [r#"{}"#, r#"{"chittyId":1}"#, r#"{"chittyId":null}"#, "nope", "[]"] {
            assert_eq!(parse_mint(&ok(body)).unwrap_err().code(), "EBADRESPONSE", "{body}");
        }
    }

    #[test]
    fn batch_answer_needs_an_array_of_strings() {
        assert_eq!(parse_batch(&ok(r#"{"chittyIds":["A","B"]}"#), 2).unwrap(), ["A", "B"]);
        for body in [r#"{}"#, r#"{"chittyIds":"A"}"#, r#"{"chittyIds":["A",2]}"#] {
            assert!(parse_batch(&ok(body), 2).is_err(), "{body}");
        }
    }

    #[test]
    fn batch_answer_needs_one_id_per_request() {
        for body in [r#"{"chittyIds":[]}"#, r#"{"chittyIds":["A"]}"#, r#"{"chittyIds":["A","B","C","D","E"]}"#] {
            let err = parse_batch(&ok(body), 3).unwrap_err();
            assert_eq!(err.code(), "EBADRESPONSE", "{body}");
            assert!(err.to_string().contains("for 3 requests"), "{err}");
        }
    }

    #[test]
    fn only_dot_segments_cannot_be_sent() {
        for id in [".", ".."] {
            assert!(is_dot_segment(id), "{id}");
        }
        for id in ["", "...", "%2e", "%2e%2e", "a/../b", "./", "CT-A-CHI-1234-I-24-A-0"] {
            assert!(!is_dot_segment(id), "{id}");
            // The URL parser under the native transport keeps the segment as encoded.
            let path = format!("/v1/validate/{}", encode_uri_component(id));
            assert_eq!(reqwest::Url::parse(&format!("http://h{path}")).unwrap().path(), path, "{id}");
        }
    }

    #[test]
    fn validation_answer_needs_a_boolean() {
        let v = parse_validation(&ok(r#"{"valid":true,"chittyId":"X","entity":"PEO"}"#)).unwrap();
        assert!(v.valid && v.authoritative);
        assert_eq!(v.entity.as_deref(), Some("PEO"));
        assert!(parse_validation(&ok(r#"{"valid":"yes"}"#)).is_err());
    }

    mod fuzz {
        use super::*;
        use crate::fuzzing::mutated_seed;
        use proptest::prelude::*;

        fn answer(body: Vec<u8>) -> Response {
            Response { status: 200, status_text: "OK".into(), retry_after: None, body: body.into() }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Whatever a server sends, parsing answers Ok or a BadResponse: never a panic.
            #[test]
            fn response_parsers_never_panic(bytes in mutated_seed("responses")) {
                let r = answer(bytes);
                for err in [parse_mint(&r).err(), parse_batch(&r, 1).err(), parse_validation(&r).err()].into_iter().flatten() {
                    prop_assert_eq!(err.code(), "EBADRESPONSE");
                }
            }

            #[test]
            fn a_string_chitty_id_is_returned_verbatim(id in "\\PC{0,40}") {
                let body = serde_json::json!({ "success": true, "chittyId": id }).to_string();
                prop_assert_eq!(parse_mint(&answer(body.into_bytes())).unwrap(), id);
            }

            #[test]
            fn encoded_ids_only_use_unreserved_characters(id in "\\PC{0,40}") {
                let encoded = encode_uri_component(&id);
                prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%".contains(&b)));
            }
        }
    }

    #[test]
    fn caller_idempotency_keys_must_fit_a_header_as_is() {
        for good in ["k", "order-42:attempt/7", &"x".repeat(super::MAX_IDEMPOTENCY_KEY_LEN)] {
            assert!(super::check_idempotency_key(good).is_ok(), "{good:?}");
        }
        for bad in ["", "two words", "line\r\nX-Evil: 1", "caf\u{e9}", "tab\t", &"x".repeat(super::MAX_IDEMPOTENCY_KEY_LEN + 1)] {
            let err = super::check_idempotency_key(bad).unwrap_err();
            assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE", "{bad:?}");
        }
    }
}
