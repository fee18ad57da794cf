//! The v1 operations (mint, mintBatch, validate, healthCheck) over one transport,
//! each through the resilience path.

pub mod builder;
pub mod config;
pub mod endpoints;
mod failover;
pub mod metrics;
pub mod snapshot;
pub mod table;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::watch;

use bytes::Bytes;
use serde::Deserialize;

use crate::cache::ValidationCache;
use crate::client::config::{ClientConfig, HEALTH_TIMEOUT_MS};
use crate::client::snapshot::ClientSnapshot;
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::id::{self, IdGrammar};
use crate::policy::attempt::{Call, Replay, Resilience};
use crate::policy::bulkhead::{Bulkhead, BulkheadPermit};
use crate::redact::Redactor;
use crate::transport::fetch::FetchTransport;
use crate::transport::{ClientTransport, Method, Request, Response, TransportKind};
use crate::wire::{self, EndpointWire, MintChecks, Route, Wire, WireMode};

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
    /// Each endpoint's wire (`crate::wire`), in endpoint order.
    wires: Vec<EndpointWire>,
    /// Placeholder ids resolve (marked by a `placeholder` event and counted) instead of
    /// rejecting with `EPLACEHOLDER`.
    accept_placeholders: bool,
    /// Placeholder ids resolved under `accept_placeholders`.
    placeholders_accepted: std::sync::atomic::AtomicU64,
}

/// How many single mints `mintBatch` runs at once against a service without a batch route.
pub const BATCH_FALLBACK_CONCURRENCY: usize = crate::client::table::BATCH_FALLBACK_CONCURRENCY as usize;

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
    /// A code to branch on beside `error`: `EAUTH` (the service refused the credentials, so
    /// the answer says nothing about the id), `EPLACEHOLDER` (the id is a placeholder).
    pub error_code: Option<&'static str>,
    /// True when the answer came from the service (and so may be cached).
    pub authoritative: bool,
    /// A cached answer past its TTL, served in place of the format-only fallback because the
    /// service could not be reached (docs/ARCHITECTURE.md, "Stale if error").
    pub stale: bool,
}

impl Validation {
    /// Rebuilds an answer from a cached verdict; the entity follows from the type letter.
    pub fn from_cache(id: &str, valid: bool) -> Self {
        let entity = valid.then(|| id::entity_for_id(id)).flatten().map(str::to_owned);
        Validation {
            valid,
            chitty_id: Some(id.to_owned()),
            entity,
            error: None,
            error_code: None,
            authoritative: true,
            stale: false,
        }
    }
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
    /// The deployed service: a placeholder id validated (`isError`), or replaced by a real
    /// id (`replaced`, `newId`).
    #[serde(rename = "isError")]
    is_error: Option<bool>,
    replaced: Option<bool>,
    #[serde(rename = "newId")]
    new_id: Option<String>,
}

fn bad(detail: impl Into<String>) -> ClientError {
    ClientError::BadResponse { detail: detail.into() }
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON ({e})")))
}

#[cfg(test)]
fn parse_mint(response: &Response) -> Result<String, ClientError> {
    let checks = MintChecks { grammar: false, accept_placeholders: true, api_key: None };
    wire::parse_mint(&response.body, checks).map(|m| m.id)
}

/// The ids of a batch answer, which must be one per request (`expected`).
fn parse_batch(response: &Response, expected: usize) -> Result<Vec<String>, ClientError> {
    let Some(serde_json::Value::Array(items)) = parse_json::<BatchAnswer>(&response.body)?.chitty_ids else {
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

/// A validate answer of either wire (the deployed one adds placeholder answers).
fn parse_validation(response: &Response) -> Result<Validation, ClientError> {
    let answer: ValidateAnswer = parse_json(&response.body)?;
    if answer.replaced == Some(true) {
        // The service minted a real id for this placeholder: the placeholder itself is not one.
        let new_id = answer.new_id.unwrap_or_default();
        return Ok(Validation {
            valid: false,
            error: Some(format!("placeholder id, replaced by {new_id}")),
            error_code: Some("EPLACEHOLDER"),
            authoritative: true,
            ..Validation::default()
        });
    }
    let Some(serde_json::Value::Bool(valid)) = answer.valid else {
        return Err(bad("the answer has no boolean `valid`"));
    };
    let placeholder = answer.is_error == Some(true);
    Ok(Validation {
        valid,
        chitty_id: answer.chitty_id,
        entity: answer.entity,
        error: answer.error.or_else(|| placeholder.then(|| "placeholder id (not a minted id)".to_owned())),
        error_code: placeholder.then_some("EPLACEHOLDER"),
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
            detail: format!(
                "idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters (no spaces)"
            ),
        });
    }
    Ok(())
}

/// A fresh key per logical mint, reused by its retries, so a retried mint cannot mint twice.
fn idempotency_key() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

impl Client {
    /// Assembled by `builder::ClientBuilder`, the one place every part gets its default.
    pub(super) fn new(
        config: &ClientConfig,
        transport: TransportKind,
        resilience: Resilience,
        cache: Option<CachePolicy>,
        mint_retry: MintRetry,
        wire_mode: WireMode,
        accept_placeholders: bool,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            wires: vec![EndpointWire::new(wire_mode, &config.service_url)],
            accept_placeholders,
            placeholders_accepted: std::sync::atomic::AtomicU64::new(0),
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
    pub(super) fn with_failover(mut self, failover: Option<Failover>) -> Self {
        let mode = self.wires[0].mode();
        if let Some(f) = &failover {
            self.wires.extend(f.fallbacks.iter().map(|b| EndpointWire::new(mode, b.transport.base_url())));
        }
        self.failover = failover;
        self
    }

    /// The wire endpoint `i` speaks (as far as known).
    pub fn wire_of(&self, i: usize) -> Wire {
        self.wires.get(i).map_or(Wire::Unknown, EndpointWire::get)
    }

    fn wire(&self, i: usize) -> &EndpointWire {
        self.wires.get(i).unwrap_or(&self.wires[0])
    }

    /// Placeholder ids resolved because the caller accepts them.
    pub fn placeholders_accepted(&self) -> u64 {
        self.placeholders_accepted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// One attempt on endpoint `i` of an operation with a v1 route and a deployed one. With
    /// the wire unknown it tries v1's route first and, when that is a 404, the deployed one
    /// (a 404 processed nothing, so sending again is safe), learning the wire from which
    /// answered. `v1_answer_tells`: a 2xx on v1's route shows the endpoint speaks v1.
    async fn send_wired(
        &self,
        i: usize,
        v1: Request<'_>,
        deployed: Option<Request<'_>>,
        v1_answer_tells: bool,
    ) -> Result<Response, ClientError> {
        let wire = self.wire(i);
        match (wire.get(), deployed) {
            (Wire::Deployed, Some(d)) => self.send_via(i, d).await,
            (Wire::Unknown, Some(d)) => {
                let first = self.send_via(i, v1).await?;
                if first.status != 404 {
                    if v1_answer_tells && first.is_success() {
                        wire.learn(Wire::V1);
                    }
                    return Ok(first);
                }
                let second = self.send_via(i, d).await?;
                if second.is_success() {
                    wire.learn(Wire::Deployed);
                }
                // Neither route exists: the answer is v1's route's 404.
                Ok(if second.status == 404 { first } else { second })
            }
            _ => self.send_via(i, v1).await,
        }
    }

    /// The URL a request goes to, for messages.
    fn url_of(&self, i: usize, route: Route) -> String {
        let base = self.endpoint_url(i);
        if !route.from_origin {
            return format!("{base}{}", route.path);
        }
        let origin = reqwest::Url::parse(base).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        format!("{origin}{}", route.path)
    }

    /// A 404 named with the route tried (on the active endpoint's current wire).
    fn name_404(&self, err: ClientError, method: Method, v1: Route, deployed: Option<Route>) -> ClientError {
        match err {
            ClientError::Http { status: 404, status_text, .. } => {
                let i = self.active_endpoint();
                let route = match (self.wire_of(i), deployed) {
                    (Wire::Deployed, Some(d)) => d,
                    _ => v1,
                };
                ClientError::RouteNotFound { method: method.as_str(), url: self.url_of(i, route), status_text }
            }
            other => other,
        }
    }

    /// The shared client, which knows itself (for background probes).
    pub fn into_shared(mut self) -> Arc<Self> {
        Arc::new_cyclic(|me| {
            self.me = me.clone();
            self
        })
    }

    /// Bounds this client's calls in flight with `bulkhead`.
    pub(super) fn with_bulkhead(mut self, bulkhead: Option<Bulkhead>) -> Self {
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
        let stats = &self.resilience.stats();
        ClientSnapshot {
            operations: Operation::ALL.iter().map(|&op| stats.snapshot(op)).collect(),
            breaker: self.resilience.breaker().map(|b| b.snapshot()),
            cache: self.cache().map(|c| c.stats()),
            rejected_by_breaker: stats.rejected_by_breaker(),
            pause: self.resilience.pause().snapshot(),
            fleet: self.resilience.fleet().map(|f| f.snapshot()),
            retry_budget: self.resilience.retry_budget().map(|b| b.snapshot()),
            bulkhead: self.bulkhead.as_ref().map(|b| b.snapshot()),
            rate_limit: self.resilience.rate_limit().map(|t| t.snapshot()),
            endpoints: self.endpoint_snapshots(),
            wire: self.wire_of(self.active_endpoint()).as_str(),
            placeholders_accepted: self.placeholders_accepted(),
        }
    }

    /// The wire of every endpoint, in order.
    pub fn wires(&self) -> Vec<Wire> {
        (0..self.wires.len()).map(|i| self.wire_of(i)).collect()
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
        Call { op, replay, wait_budget_ms: self.timeout_ms, yields_to_failover: false }
    }

    /// The replay rule of a mint under `key`.
    fn mint_replay<'k>(&self, key: &'k str) -> Replay<'k> {
        match self.mint_retry {
            MintRetry::Safe => Replay::IfNotProcessed { key },
            MintRetry::Idempotent => Replay::Retryable,
        }
    }

    fn wire_mode_of_all(&self) -> WireMode {
        self.wires[0].mode()
    }

    /// `POST /mint` with the request serialized by the caller; resolves to the new id. A
    /// caller's `key` (already checked by `check_idempotency_key`) makes the mint repeatable
    /// across calls: the service answers a repeated key with the id it minted the first time.
    /// On the deployed wire (and while it is unknown) the body carries `entityType` too, and
    /// the answer is read as either wire's (docs/ARCHITECTURE.md, "Two wires").
    pub async fn mint(&self, body: Bytes, key: Option<String>) -> Result<String, ClientError> {
        let key = key.unwrap_or_else(idempotency_key);
        // Reported with an abort or close() that stops this mint after its request was sent.
        crate::rt::cancel::note_key(&key);
        // Only while some endpoint may speak the deployed wire: once every one is known to
        // speak v1, a mint costs no extra parse.
        let typed: Option<Bytes> = if self.wires.iter().all(|w| w.get() == Wire::V1) {
            None
        } else {
            wire::with_entity_type(&body).map(Bytes::from)
        };
        let request = |i: usize, route: Route| {
            let chosen = match (&typed, self.wire_of(i)) {
                (Some(typed), Wire::Unknown | Wire::Deployed) => typed.clone(),
                _ => body.clone(),
            };
            Request {
                method: Method::Post,
                path: route.path,
                body: Some(chosen),
                idempotency_key: Some(&key),
                timeout_ms: self.timeout_ms,
                from_origin: route.from_origin,
            }
        };
        let attempt = |i: usize| {
            let w = self.wire(i);
            let v1 = request(i, wire::V1_MINT);
            let deployed =
                (!w.same_url(wire::DEPLOYED_MINT, wire::V1_MINT.path)).then(|| request(i, wire::DEPLOYED_MINT));
            self.send_wired(i, v1, deployed, false)
        };
        let checks = MintChecks {
            grammar: self.wire_mode_of_all() != WireMode::V1,
            accept_placeholders: self.accept_placeholders,
            api_key: self.redactor.key(),
        };
        let parse = |i: usize, r: &Response| {
            let outcome = wire::parse_mint(&r.body, checks);
            match &outcome {
                Ok(minted) => self.wire(i).learn(minted.wire),
                Err(ClientError::Placeholder { .. }) => self.wire(i).learn(Wire::Deployed),
                Err(_) => {}
            }
            outcome
        };
        let _slot = self.enter_bulkhead().await?;
        let minted = self
            .run_wired(Operation::Mint, self.mint_replay(&key), attempt, parse)
            .await
            .map_err(|e| self.name_404(e, Method::Post, wire::V1_MINT, Some(wire::DEPLOYED_MINT)))?;
        if let Some(error_code) = minted.placeholder {
            self.placeholders_accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(code = error_code.as_deref().unwrap_or(""), "accepted a placeholder id");
            let error_code = error_code.map(|code| self.redactor.redact(&code).into_owned());
            self.resilience
                .sink()
                .emit(crate::observe::events::Event::Placeholder { chitty_id: minted.id.clone(), error_code });
        }
        Ok(minted.id)
    }

    /// `POST /mint/batch` with `{"requests":[...]}` serialized by the caller; `count` is the
    /// number of requests, and so of ids the answer must hold. Against a service without a
    /// batch route (the deployed wire, or a 404 under `wire: "auto"`) it mints one by one.
    pub async fn mint_batch(&self, body: Bytes, count: usize, key: Option<String>) -> Result<Vec<String>, ClientError> {
        let active = self.active_endpoint();
        let no_route = self.wire_of(active) == Wire::Deployed || self.wire(active).has_batch_route() == Some(false);
        if no_route && self.wire_mode_of_all() != WireMode::V1 {
            return self.mint_one_by_one(&body, count, key.as_deref()).await;
        }
        let key_or_fresh = key.clone().unwrap_or_else(idempotency_key);
        crate::rt::cancel::note_key(&key_or_fresh);
        let request = |_: usize| Request {
            method: Method::Post,
            path: "/mint/batch",
            body: Some(body.clone()),
            idempotency_key: Some(&key_or_fresh),
            timeout_ms: self.timeout_ms,
            from_origin: false,
        };
        let parse = |i: usize, r: &Response| {
            self.wire(i).set_batch_route(true);
            parse_batch(r, count)
        };
        let outcome = async {
            let _slot = self.enter_bulkhead().await?;
            self.run_across(Operation::MintBatch, self.mint_replay(&key_or_fresh), request, parse).await
        }
        .await;
        match outcome {
            Err(ClientError::Http { status: 404, .. }) if self.wire_mode_of_all() == WireMode::Auto => {
                let i = self.active_endpoint();
                self.wire(i).set_batch_route(false);
                self.mint_one_by_one(&body, count, key.as_deref()).await
            }
            other => other
                .map_err(|e| self.name_404(e, Method::Post, Route { path: "/mint/batch", from_origin: false }, None)),
        }
    }

    /// `mintBatch` without a batch route: single mints, at most `BATCH_FALLBACK_CONCURRENCY`
    /// at once, ids in request order. After a failure no new mint starts; the ones in flight
    /// finish, and the error carries every id minted (`BatchIncomplete`), so none is lost.
    async fn mint_one_by_one(&self, body: &[u8], count: usize, key: Option<&str>) -> Result<Vec<String>, ClientError> {
        #[derive(Deserialize)]
        struct Requests {
            requests: Vec<serde_json::Value>,
        }
        let requests = parse_json::<Requests>(body)
            .map_err(|_| ClientError::InvalidArgument { detail: "mintBatch body must be {\"requests\":[...]}".into() })?
            .requests;
        if requests.len() != count {
            return Err(ClientError::InvalidArgument {
                detail: format!("mintBatch: {} requests for a count of {count}", requests.len()),
            });
        }
        let bodies: Vec<Bytes> =
            requests.iter().map(|r| Bytes::from(serde_json::to_vec(r).unwrap_or_default())).collect();
        // One key per request, derived from the caller's so a repeated batch repeats each mint.
        let key_for = |i: usize| key.map(|k| format!("{k}.{i}")).filter(|k| k.len() <= MAX_IDEMPOTENCY_KEY_LEN);
        let results =
            bounded_in_order(count, BATCH_FALLBACK_CONCURRENCY, |i| Box::pin(self.mint(bodies[i].clone(), key_for(i))))
                .await;
        let mut minted = Vec::with_capacity(count);
        let mut failed = Vec::new();
        let mut first = None;
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Some(Ok(id)) => minted.push(Some(id)),
                Some(Err(err)) => {
                    minted.push(None);
                    failed.push(i);
                    first.get_or_insert(err);
                }
                None => minted.push(None),
            }
        }
        match first {
            None => Ok(minted.into_iter().map(Option::unwrap_or_default).collect()),
            Some(cause) => Err(ClientError::BatchIncomplete { minted, failed, cause: Box::new(cause) }),
        }
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
        let Some(l2) = self.shared_cache().filter(|_| id::is_valid_in(id, self.id_grammar)) else {
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
        self.resilience.fleet()?.shared_cache()
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
        if valid {
            ttl
        } else {
            policy.negative_ttl_ms.min(ttl)
        }
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
        let body = Bytes::from(wire::validate_body(id));
        let v1 = || Request {
            method: Method::Get,
            path: &path,
            body: None,
            idempotency_key: None,
            timeout_ms: self.timeout_ms,
            from_origin: false,
        };
        let deployed = || Request {
            method: Method::Post,
            path: wire::DEPLOYED_VALIDATE.path,
            body: Some(body.clone()),
            idempotency_key: None,
            timeout_ms: self.timeout_ms,
            from_origin: true,
        };
        let attempt = |i: usize| self.send_wired(i, v1(), Some(deployed()), true);
        let parse = |i: usize, r: &Response| {
            parse_validation(r).map(|mut v| {
                // The deployed service does not repeat the id; v1's answer shape does.
                if v.chitty_id.is_none() && v.error_code.is_none() && self.wire_of(i) == Wire::Deployed {
                    v.chitty_id = Some(id.to_owned());
                }
                self.redact_validation(v)
            })
        };
        let outcome = async {
            let _slot = self.enter_bulkhead().await?;
            self.run_wired(Operation::Validate, Replay::Retryable, attempt, parse).await
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
            Err(ClientError::Http { status: status @ (401 | 403), .. }) => Validation {
                valid: false,
                error: Some(format!("Service error: {status}")),
                // Not a verdict on the id: the service refused the credentials.
                error_code: Some("EAUTH"),
                ..Validation::default()
            },
            Err(ClientError::Http { status: 404, .. }) => {
                let i = self.active_endpoint();
                let (method, route) = match self.wire_of(i) {
                    Wire::Deployed => ("POST", wire::DEPLOYED_VALIDATE),
                    _ => ("GET", Route { path: "/validate/", from_origin: false }),
                };
                let url = self.url_of(i, route);
                let tail = if route.from_origin { String::new() } else { encode_uri_component(id) };
                Validation {
                    valid: false,
                    error: Some(format!("Service error: 404 (no such route: {method} {url}{tail})")),
                    ..Validation::default()
                }
            }
            Err(ClientError::Http { status, .. }) => {
                Validation { valid: false, error: Some(format!("Service error: {status}")), ..Validation::default() }
            }
            Err(e) => Validation {
                valid: id::is_valid_in(id, self.id_grammar),
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
        let gate = resilience.pause();
        let mut budget_ms = HEALTH_TIMEOUT_MS;
        resilience.pass_throttle(&mut budget_ms).await?;
        gate.pass(&mut budget_ms).await?;
        let stamp = gate.stamp();
        let started = std::time::Instant::now();
        let outcome = self.health_of(endpoint, HEALTH_TIMEOUT_MS).await;
        resilience.stats().record_attempt(Operation::Health, started.elapsed(), outcome.as_ref().err());
        let _ = resilience.record_for_gate(Operation::Health, stamp, outcome.as_ref().err());
        outcome.map(drop)
    }
}

/// A boxed attempt of [`bounded_in_order`].
type Attempt<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ClientError>> + Send + 'a>>;

/// Runs `count` attempts, at most `limit` at once, and returns their results in order. After
/// the first failure no new one starts (`None` in its place); those in flight finish. All are
/// polled in the caller's task, so its scope (telemetry, extra headers) holds for each.
async fn bounded_in_order<'a, T>(
    count: usize,
    limit: usize,
    make: impl Fn(usize) -> Attempt<'a, T>,
) -> Vec<Option<Result<T, ClientError>>> {
    use std::task::Poll;
    let mut results: Vec<Option<Result<T, ClientError>>> = (0..count).map(|_| None).collect();
    let mut running: Vec<(usize, Attempt<'a, T>)> = Vec::new();
    let mut next = 0;
    let mut stopped = false;
    std::future::poll_fn(|cx| loop {
        while !stopped && running.len() < limit.max(1) && next < count {
            running.push((next, make(next)));
            next += 1;
        }
        let mut progressed = false;
        let mut k = 0;
        while k < running.len() {
            if let Poll::Ready(result) = running[k].1.as_mut().poll(cx) {
                let (i, _) = running.swap_remove(k);
                stopped |= result.is_err();
                results[i] = Some(result);
                progressed = true;
            } else {
                k += 1;
            }
        }
        if running.is_empty() && (stopped || next >= count) {
            return Poll::Ready(());
        }
        if !progressed {
            return Poll::Pending;
        }
    })
    .await;
    results
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
        Response {
            status: 201,
            status_text: "Created".into(),
            retry_after: None,
            body: body.as_bytes().to_vec().into(),
        }
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
    fn bounded_in_order_keeps_order_bounds_concurrency_and_stops_after_a_failure() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let (running, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let run = |fail_at: Option<usize>| {
            rt.block_on(bounded_in_order(10, 3, |i| {
                let (running, peak) = (&running, &peak);
                Box::pin(async move {
                    peak.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                    // Later positions finish first: order comes from the position, not the finish.
                    tokio::time::sleep(std::time::Duration::from_millis(10 - i as u64)).await;
                    running.fetch_sub(1, SeqCst);
                    if Some(i) == fail_at {
                        Err(ClientError::Closed)
                    } else {
                        Ok(i)
                    }
                })
            }))
        };
        let all = run(None);
        assert_eq!(
            all.iter().map(|r| *r.as_ref().unwrap().as_ref().unwrap()).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!(peak.load(SeqCst), 3);
        let stopped = run(Some(1));
        assert!(matches!(stopped[1], Some(Err(_))));
        assert!(
            stopped[0].as_ref().is_some_and(|r| r.is_ok()) && stopped[2].as_ref().is_some_and(|r| r.is_ok()),
            "those in flight finish"
        );
        let started = stopped.iter().filter(|r| r.is_some()).count();
        assert!(started < 10, "no new one starts after the failure");
        assert!(stopped[started..].iter().all(Option::is_none), "what did not start is at the end: {stopped:?}");
    }

    #[test]
    fn caller_idempotency_keys_must_fit_a_header_as_is() {
        for good in ["k", "order-42:attempt/7", &"x".repeat(super::MAX_IDEMPOTENCY_KEY_LEN)] {
            assert!(super::check_idempotency_key(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "two words",
            "line\r\nX-Evil: 1",
            "caf\u{e9}",
            "tab\t",
            &"x".repeat(super::MAX_IDEMPOTENCY_KEY_LEN + 1),
        ] {
            let err = super::check_idempotency_key(bad).unwrap_err();
            assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE", "{bad:?}");
        }
    }
}
