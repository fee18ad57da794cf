//! `validate()`: the validation cache, one request for all concurrent callers of an id, the
//! fleet's shared cache (L2), the service, and a stale answer when the service cannot give one.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;

use super::parse::parse_validation;
use super::uri::{encode_uri_component, is_dot_segment, DOT_SEGMENT_ID};
use super::Client;
use crate::cache::ValidationCache;
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::id;
use crate::policy::attempt::Replay;
use crate::transport::{Method, Request, Response};
use crate::wire::{self, Route, Wire};

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
    /// The deployed service minted a real id for this placeholder while validating it (its
    /// answer `replaced: true, newId`): the id that replaces it.
    pub replaced_by: Option<String>,
    /// True when the answer came from the service (and so may be cached).
    pub authoritative: bool,
    /// A cached answer past its TTL, served in place of the format-only fallback because the
    /// service could not be reached (docs/ARCHITECTURE.md, "Stale if error").
    pub stale: bool,
}

impl Validation {
    /// Whether the answer may be cached: the service's, and without an `error_code`. A
    /// placeholder's answer is asked again each time (the deployed service may replace the
    /// placeholder on the next validation, and a cached verdict would drop the code), as the
    /// portable build does.
    pub fn cacheable(&self) -> bool {
        self.authoritative && self.error_code.is_none()
    }

    /// Rebuilds an answer from a cached verdict; the entity follows from the type letter.
    pub fn from_cache(id: &str, valid: bool) -> Self {
        let entity = valid.then(|| id::entity_for_id(id)).flatten().map(str::to_owned);
        Validation {
            valid,
            chitty_id: Some(id.to_owned()),
            entity,
            error: None,
            error_code: None,
            replaced_by: None,
            authoritative: true,
            stale: false,
        }
    }
}

impl Client {
    /// A cached answer, counted as a hit or miss.
    pub fn cached_validation(&self, id: &str) -> Option<Validation> {
        let valid = self.cache()?.get(id)?;
        Some(Validation::from_cache(id, valid))
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
        let verdict = answer.cacheable().then_some(answer.valid).filter(|_| keep);
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
        if answer.cacheable() {
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
            query: None,
        };
        let deployed = || Request {
            method: Method::Post,
            path: wire::DEPLOYED_VALIDATE.path,
            body: Some(body.clone()),
            idempotency_key: None,
            timeout_ms: self.timeout_ms,
            from_origin: true,
            query: None,
        };
        let attempt = |i: usize| self.send_wired(i, v1(), Some(deployed()), true);
        let parse = |i: usize, r: &Response| {
            parse_validation(r).map(|mut v| {
                // The deployed service repeats neither the id nor its entity; v1's answer shape
                // does. The entity follows from the type letter, as in a cached answer.
                if v.error_code.is_none() && self.wire_of(i) == Wire::Deployed {
                    v.chitty_id.get_or_insert_with(|| id.to_owned());
                    if v.valid && v.entity.is_none() {
                        v.entity = id::entity_for_id(id).map(str::to_owned);
                    }
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
                    _ => ("GET", Route::below_service("/validate/")),
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
        for field in [&mut v.chitty_id, &mut v.entity, &mut v.replaced_by] {
            if field.as_deref().is_some_and(|f| self.redactor.reveals(f)) {
                *field = None;
            }
        }
        if let Some(text) = &mut v.error {
            self.redactor.redact_in_place(text);
        }
        v
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
