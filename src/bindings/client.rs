//! `NativeClient`: the Rust core behind the JS `ChittyIDClient` class.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bindings::bridge::completions::{to_js_pairs, Completer, CompleterWake, Completion, Outcome};
use crate::bindings::connection::{ClientConnection, ConnectionStateInfo};
use crate::bindings::errors::{to_error_info, to_napi_error};
use crate::bindings::events::{Constructor, EventCallback, JsEventSink};
use crate::bindings::fetch_transport::{self, FetchOrder};
use crate::bindings::options::{client_builder, NativeClientOptions};
use crate::client::Client;
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::observe::telemetry::{CallScope, Telemetry};
use crate::registry::SharedState;
use crate::rt::cancel::{Cancellations, Cancelled};
use crate::rt::runtime;

/// Refuses a caller's idempotency key that could not go into a header as is.
fn checked_key(key: Option<&str>) -> Result<()> {
    key.map_or(Ok(()), |k| crate::client::check_idempotency_key(k).map_err(|e| to_napi_error(&e)))
}

#[napi]
pub struct NativeClient {
    core: Arc<Client>,
    cancellations: Arc<Cancellations>,
    /// Keeps process-scoped state alive while this client is.
    _shared: Arc<SharedState>,
    connection: ClientConnection,
    completer: Arc<Completer>,
    telemetry: Arc<Telemetry>,
    metric_labels: Vec<(String, String)>,
    /// This client's cache in this JS thread's registry (`bindings::cache`); 0 without one.
    cache_handle: u32,
    /// The ticket JS asked to make in a single attempt (`singleAttempt`), until its submission
    /// takes it; 0 = none (tickets start at 1).
    single_attempt: AtomicU32,
}

impl Drop for NativeClient {
    /// Runs on the JS thread (the object's finalizer): the wake-up handle belongs to its loop.
    fn drop(&mut self) {
        self.completer.detach();
        crate::bindings::cache::unregister(self.cache_handle);
    }
}

/// A call's work, boxed where it is made: its future is kilobytes (the whole resilience and HTTP
/// state machine), and every wrapper around it would otherwise move all of it.
type CallFuture = Pin<Box<dyn Future<Output = std::result::Result<Outcome, ClientError>> + Send>>;

#[napi]
impl NativeClient {
    /// [`NativeClient::submit`] inside the call's telemetry scope: its extra `headers`
    /// (`[name, value, ...]`) and, when telemetry is on, the records of its attempts.
    fn submit_call(
        &self,
        ticket: u32,
        cancellable: bool,
        op: Operation,
        headers: Option<Vec<String>>,
        call: CallFuture,
    ) -> Result<()> {
        let headers = match headers.filter(|h| !h.is_empty()) {
            Some(flat) => Some(crate::observe::telemetry::parse_headers(flat).map_err(|e| to_napi_error(&e))?),
            None => None,
        };
        let scope = CallScope::new(ticket, op, &self.telemetry, headers);
        let mints = matches!(op, Operation::Mint | Operation::MintBatch);
        let call: CallFuture = Box::pin(crate::observe::telemetry::scoped(scope, call));
        // A fetch-transport call names itself to JS in every attempt (`transport::fetch::CallOrigin`).
        let call: CallFuture = if self.core.fetch_transport().is_some() {
            let single_attempt = self.single_attempt.swap(0, Ordering::Relaxed) == ticket;
            Box::pin(crate::transport::fetch::within_call(
                crate::transport::fetch::CallOrigin { ticket, single_attempt },
                call,
            ))
        } else {
            call
        };
        self.submit(ticket, cancellable, mints, call)
    }

    /// The call about to be submitted under `ticket` is made once: no retry, no failover. JS
    /// asks this when the call's `fetch` is a test double that would pass a second request on
    /// to the real network (lib/fetch-transport.js).
    #[napi(catch_unwind)]
    pub fn single_attempt(&self, ticket: u32) {
        self.single_attempt.store(ticket, Ordering::Relaxed);
    }

    /// Runs `call` on the I/O thread and queues its outcome (or its error) under `ticket`. The
    /// task owns what it uses: a worker thread may be torn down mid-call. A call that can be
    /// aborted, and every mint (so `close()` can tell whether it may have minted), is
    /// registered here, on the JS thread, before the I/O thread runs it.
    fn submit(&self, ticket: u32, cancellable: bool, mints: bool, call: CallFuture) -> Result<()> {
        if !self.completer.is_attached() {
            return Err(napi::Error::new(Status::GenericFailure, "attachCompletions must be called before submitting"));
        }
        let completer = Arc::clone(&self.completer);
        let cancellations = Arc::clone(&self.cancellations);
        let registered = (cancellable || mints).then(|| cancellations.register(ticket, mints));
        runtime::spawn(async move {
            let outcome =
                match cancellations.run(registered.as_ref(), call).await.unwrap_or_else(|cancelled| match cancelled {
                    Cancelled::Aborted => Err(ClientError::Aborted),
                    Cancelled::Closed => Err(ClientError::Closed),
                }) {
                    Ok(outcome) => outcome,
                    Err(e) => Outcome::Error(to_error_info(&e)),
                };
            completer.push(Completion { ticket, outcome });
            // Only now: an abort until here still finds the call, and after it the outcome.
            if let Some(state) = &registered {
                cancellations.finish(ticket, state);
            }
        });
        Ok(())
    }

    #[napi(constructor, catch_unwind)]
    pub fn new(options: NativeClientOptions) -> Result<Self> {
        // Events are wired lazily (see `attach_events`).
        let events = Arc::new(JsEventSink::detached());
        let built = client_builder(options)
            .and_then(|builder| builder.events(events.clone()).build())
            .map_err(|e| to_napi_error(&e))?;
        let core = built.client;
        let connection = ClientConnection::new(built.connection, &core, events);
        let completer: Arc<Completer> = Arc::default();
        let telemetry = Arc::new(Telemetry::new(Arc::new(CompleterWake(completer.clone()))));
        let cache_handle = core.cache().map_or(0, |cache| crate::bindings::cache::register(cache.clone()));
        Ok(Self {
            core,
            cancellations: Arc::default(),
            _shared: built.shared,
            connection,
            completer,
            telemetry,
            metric_labels: built.metric_labels,
            cache_handle,
            single_attempt: AtomicU32::new(0),
        })
    }

    #[napi(getter)]
    pub fn service_url(&self) -> String {
        self.core.service_url().to_owned()
    }

    /// Synchronous breaker pre-check, so an open circuit rejects without a native promise:
    /// 0 when a call may go out, else the call must fail fast (it was counted as rejected, as
    /// `mint` itself would have): ms until the next trial while OPEN, minus the trial limit
    /// while HALF_OPEN with every trial call in flight (`compat::admission_code`).
    #[napi]
    pub fn breaker_admit(&self) -> f64 {
        use crate::policy::breaker::Admission;
        let admission = match self.core.admit_any() {
            Err(ClientError::CircuitOpen { retry_in_ms }) => Admission::Rejected { retry_in_ms },
            Err(ClientError::TrialsInFlight { limit }) => Admission::TrialsInFlight { limit },
            _ => Admission::Allowed { transition: None },
        };
        crate::bindings::compat::admission_code(admission)
    }

    /// Wires the completion channel (see `completions`) before calls are submitted; with
    /// `keep_alive`, also references it (one crossing where `keepAlive(true)` would be a second).
    #[napi(catch_unwind)]
    pub fn attach_completions(&self, env: &Env, on_ready: Function<(), ()>, keep_alive: Option<bool>) -> Result<()> {
        self.completer.attach(env, &on_ready)?;
        if keep_alive == Some(true) {
            self.completer.keep_alive(env, true);
        }
        Ok(())
    }

    /// Releases the completion channel of an idle client.
    #[napi(catch_unwind)]
    pub fn detach_completions(&self) {
        self.completer.detach();
    }

    /// The outcomes ready so far as `[breakerState, ticket, value, ticket, value, ...]`
    /// (see `completions::to_js_pairs`); `breakerState` is 0 while the circuit is CLOSED (or
    /// there is no breaker), so the JS side can skip the fail-fast pre-check until it is not.
    #[napi(catch_unwind, ts_return_type = "Array<number | string | string[] | ValidationResult | ErrorInfo>")]
    pub fn take_completions<'env>(&self, env: &'env Env) -> Result<Array<'env>> {
        to_js_pairs(env, self.core.breaker_state_code(), self.completer.take())
    }

    /// `POST /mint` with the request serialized as JSON by the caller, under the caller's
    /// idempotency key if it gave one.
    #[napi(catch_unwind)]
    pub fn submit_mint(
        &self,
        ticket: u32,
        body: String,
        cancellable: bool,
        idempotency_key: Option<String>,
        headers: Option<Vec<String>>,
    ) -> Result<()> {
        checked_key(idempotency_key.as_deref())?;
        let core = Arc::clone(&self.core);
        self.submit_call(
            ticket,
            cancellable,
            Operation::Mint,
            headers,
            Box::pin(async move { core.mint(body.into_bytes().into(), idempotency_key).await.map(Outcome::Id) }),
        )
    }

    /// `POST /mint/batch` with `{"requests":[...]}` serialized by the caller; `count` requests.
    #[napi(catch_unwind)]
    pub fn submit_mint_batch(
        &self,
        ticket: u32,
        body: String,
        count: u32,
        cancellable: bool,
        idempotency_key: Option<String>,
        headers: Option<Vec<String>>,
    ) -> Result<()> {
        checked_key(idempotency_key.as_deref())?;
        let core = Arc::clone(&self.core);
        self.submit_call(
            ticket,
            cancellable,
            Operation::MintBatch,
            headers,
            Box::pin(async move {
                core.mint_batch(body.into_bytes().into(), count as usize, idempotency_key).await.map(Outcome::Ids)
            }),
        )
    }

    /// The handle of this client's cache for `cachedVerdict` (`bindings::cache`); 0 without one.
    #[napi(getter)]
    pub fn cache_handle(&self) -> u32 {
        self.cache_handle
    }

    /// `validate()` after a cache miss already counted by `cachedVerdict` (`bindings::cache`).
    #[napi(catch_unwind)]
    pub fn submit_validate(
        &self,
        ticket: u32,
        id: String,
        cancellable: bool,
        headers: Option<Vec<String>>,
    ) -> Result<()> {
        let core = Arc::clone(&self.core);
        self.submit_call(
            ticket,
            cancellable,
            Operation::Validate,
            headers,
            Box::pin(async move { Ok(Outcome::Validation(core.validate_uncached(&id).await.into())) }),
        )
    }

    /// `invalidate(id)`, local part (synchronous): forgets `id` in this client's validation
    /// cache; true when it was held.
    #[napi(catch_unwind)]
    pub fn invalidate_local(&self, id: String) -> bool {
        self.core.invalidate_local(&id)
    }

    /// Whether `invalidate(id)` also deletes a fleet (Redis) entry, through `submitInvalidate`.
    #[napi(getter)]
    pub fn has_shared_cache(&self) -> bool {
        self.core.has_shared_cache()
    }

    /// `invalidate(id)`, fleet part: the completion under `ticket` is true when Redis held an
    /// entry for `id` (false also when Redis was unreachable within the fleet deadline).
    #[napi(catch_unwind)]
    pub fn submit_invalidate(&self, ticket: u32, id: String) -> Result<()> {
        let core = Arc::clone(&self.core);
        self.submit(ticket, false, false, Box::pin(async move { Ok(Outcome::Bool(core.invalidate_shared(&id).await)) }))
    }

    /// Stops the call submitted under `ticket` (its AbortSignal fired). `null` when it already
    /// finished natively (its outcome is queued); else whether a mint may have minted, and its key.
    #[napi(catch_unwind)]
    pub fn cancel(&self, ticket: u32) -> Option<StoppedCall> {
        self.cancellations.cancel(ticket).map(|s| to_stopped_call(ticket, s))
    }

    #[napi(catch_unwind)]
    pub fn get_stats(&self) -> ClientStats {
        to_client_stats(self.core.snapshot())
    }

    #[napi(catch_unwind)]
    pub fn metrics(&self) -> String {
        crate::client::metrics::render_with_labels(&self.core.snapshot(), &self.metric_labels)
    }

    /// `GET /health` (outside retry and breaker); its answer arrives as a completion.
    #[napi(catch_unwind)]
    pub fn submit_health_check(&self, ticket: u32, cancellable: bool, headers: Option<Vec<String>>) -> Result<()> {
        let core = Arc::clone(&self.core);
        self.submit_call(
            ticket,
            cancellable,
            Operation::Health,
            headers,
            Box::pin(async move { Ok(Outcome::Bool(core.health().await)) }),
        )
    }

    /// Wires native events to `callback` (one weak threadsafe function, created on first call);
    /// their payloads are made with `object` and `error`, the caller's `Object` and `Error`.
    #[napi(
        ts_args_type = "callback: (name: string, payload: object) => void, object: ObjectConstructor, error: ErrorConstructor"
    )]
    pub fn attach_events(
        &self,
        callback: EventCallback,
        object: Constructor<()>,
        error: Constructor<String>,
    ) -> Result<()> {
        self.connection.attach_events(&callback, &object, &error)
    }

    /// Starts monitoring (or joins the attempt in flight); the completion under `ticket` is
    /// true once CONNECTED, false when this first check fails. Cancelling it only stops the
    /// waiting: the monitor goes on.
    #[napi(catch_unwind)]
    pub fn submit_connect(&self, ticket: u32, cancellable: bool) -> Result<()> {
        let outcome = self.connection.connect()?;
        self.submit(ticket, cancellable, false, Box::pin(async move { Ok(Outcome::Bool(outcome.await)) }))
    }

    /// Like `connect()` without a promise (nothing waits on it, nothing keeps the loop alive).
    #[napi]
    pub fn start_connection(&self) -> Result<()> {
        self.connection.start()
    }

    #[napi]
    pub fn disconnect(&self) {
        self.connection.disconnect();
    }

    #[napi]
    pub fn connection_state(&self) -> ConnectionStateInfo {
        self.connection.state()
    }

    /// Stops every call in flight and every later one (each settles with `ECLIENTCLOSED`, its
    /// retries stop and its sockets close), the monitor task, releases the event threadsafe
    /// function and closes the fleet's Redis connection; idempotent. Returns the mints in
    /// flight whose request may have reached the service, with their keys.
    #[napi]
    pub fn close(&self) -> Vec<StoppedCall> {
        let stopped = self.cancellations.cancel_all();
        self.connection.close();
        if let Some(fleet) = self.core.resilience().fleet() {
            fleet.close();
        }
        stopped.into_iter().map(|(ticket, s)| to_stopped_call(ticket, s)).collect()
    }

    /// Whether this client's exchanges go through `globalThis.fetch`.
    #[napi(getter)]
    pub fn uses_fetch(&self) -> bool {
        self.core.fetch_transport().is_some()
    }

    /// Wires the fetch transport to `perform` (JS thread); a no-op when wired already or for a
    /// native-transport client.
    #[napi(catch_unwind)]
    pub fn attach_fetch(&self, perform: Function<FetchOrder, ()>) -> Result<()> {
        // One per endpoint (`serviceUrl` as a list), each wired to the same `perform`.
        for transport in self.core.fetch_transports() {
            fetch_transport::attach(transport, &perform)?;
        }
        Ok(())
    }

    /// Releases the threadsafe function; requests sent after this fail as closed.
    #[napi(catch_unwind)]
    pub fn detach_fetch(&self) {
        for transport in self.core.fetch_transports() {
            transport.detach();
        }
    }

    /// `1` (trace: start and end of each attempt) | `2` (log: end of each attempt); 0 = off.
    /// Calls submitted while it is 0 record nothing.
    #[napi(catch_unwind)]
    pub fn set_telemetry(&self, flags: u32) {
        self.telemetry.set_flags(flags.min(u32::from(u8::MAX)) as u8);
    }

    /// `[dropped, ...records]`, each record `RECORD_STRIDE` slots: kind (0 start, 1 end), call
    /// (the ticket), attempt, operation, method, path, idempotencyKey, status, code, message,
    /// durationUs, atMs (Unix ms); absent fields are holes.
    #[napi(catch_unwind, ts_return_type = "Array<number | string | undefined>")]
    pub fn take_telemetry<'env>(&self, env: &'env Env) -> Result<Array<'env>> {
        let (records, dropped) = self.telemetry.take();
        crate::bindings::telemetry::records_to_js(env, records, dropped)
    }
}

/// A call stopped by an abort or `close()`, as `cancel()` and `close()` report it.
#[napi(object)]
pub struct StoppedCall {
    pub ticket: u32,
    /// A mint whose request may have reached the service (an attempt was in flight, or one
    /// ended in a way that leaves the outcome unknown): it may have minted an id nobody got.
    pub may_have_minted: bool,
    /// The mint's idempotency key, when `may_have_minted`.
    pub idempotency_key: Option<String>,
}

fn to_stopped_call(ticket: u32, s: crate::rt::cancel::Stopped) -> StoppedCall {
    StoppedCall { ticket, may_have_minted: s.may_have_minted, idempotency_key: s.key }
}

#[napi(object)]
pub struct OperationStats {
    pub requests: f64,
    pub errors: f64,
    pub retries: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[napi(object)]
pub struct RequestStats {
    pub mint: OperationStats,
    pub mint_batch: OperationStats,
    pub validate: OperationStats,
    pub health_check: OperationStats,
}

#[napi(object)]
pub struct BreakerStats {
    pub state: String,
    pub failures: u32,
    pub times_opened: f64,
    pub rejected: f64,
    pub half_open_successes: u32,
}

#[napi(object)]
pub struct CacheStatsObject {
    pub hits: f64,
    pub misses: f64,
    pub evictions: f64,
    pub sets: f64,
    pub size: f64,
    pub max_size: f64,
    pub ttl_ms: f64,
    pub hit_rate: String,
    pub total_requests: f64,
    /// Expired answers served, marked stale, while the service could not be reached.
    pub stale_served: f64,
}

#[napi(object)]
pub struct RateLimitStats {
    /// Traffic is paused now.
    pub paused: bool,
    /// ms until the pause ends (0 when not paused).
    pub retry_in_ms: f64,
    /// 429 answers received.
    pub rate_limited: f64,
    /// Pauses started.
    pub pauses: f64,
    /// Calls that waited at the gate.
    pub waits: f64,
    /// Calls failed with ERATELIMITED.
    pub rejected: f64,
    /// Requests per second while paced after a pause; absent when unpaced.
    pub pace_per_second: Option<f64>,
}

#[napi(object)]
pub struct ClientStats {
    pub requests: RequestStats,
    pub retries: f64,
    pub rejected_by_breaker: f64,
    pub breaker: Option<BreakerStats>,
    pub cache: Option<CacheStatsObject>,
    pub rate_limit: RateLimitStats,
    pub fleet: Option<crate::bindings::fleet::FleetStats>,
    /// Retries refused because the retry budget was spent (0 without a budget).
    pub retry_budget_exhausted: f64,
    pub bulkhead: Option<BulkheadStats>,
    /// The client-side rate limit (`rateLimit`), when configured.
    pub client_rate_limit: Option<ClientRateLimitStats>,
    /// Every endpoint in order, when `serviceUrl` lists more than one.
    pub endpoints: Option<Vec<EndpointStats>>,
    /// The wire the endpoint calls go to speaks: `v1`, `deployed`, or `unknown` before an
    /// answer told (`wire: "auto"`).
    pub wire: String,
    /// Placeholder ids resolved because the client accepts them (`acceptPlaceholders`).
    pub placeholders_accepted: f64,
}

#[napi(object)]
pub struct EndpointStats {
    pub url: String,
    /// Not marked down (a down endpoint takes calls again after its health checks pass).
    pub healthy: bool,
    /// Calls go to this endpoint first now.
    pub active: bool,
    /// Requests sent to it (health probes included).
    pub requests: f64,
    /// Times calls failed over away from it.
    pub failovers: f64,
    pub breaker: Option<BreakerStats>,
    /// The wire it speaks, as far as known.
    pub wire: String,
}

#[napi(object)]
pub struct ClientRateLimitStats {
    pub requests_per_second: f64,
    pub burst: u32,
    /// Requests that waited for a token.
    pub waits: f64,
    /// Calls failed with ERATELIMITED (no token within their timeout).
    pub rejected: f64,
}

#[napi(object)]
pub struct BulkheadStats {
    pub max_concurrent: u32,
    pub max_queue: u32,
    pub in_flight: u32,
    pub queued: u32,
    /// Calls failed with EBULKHEADFULL.
    pub rejected: f64,
}

fn to_operation_stats(op: &crate::observe::stats::OpSnapshot) -> OperationStats {
    OperationStats {
        requests: op.attempts as f64,
        errors: op.errors as f64,
        retries: op.retries as f64,
        p50_ms: op.p50_ms,
        p99_ms: op.p99_ms,
    }
}

pub fn to_cache_stats(c: &crate::cache::CacheStats) -> CacheStatsObject {
    CacheStatsObject {
        hits: c.hits as f64,
        misses: c.misses as f64,
        evictions: c.evictions as f64,
        sets: c.sets as f64,
        size: c.size as f64,
        max_size: c.max_size as f64,
        ttl_ms: c.ttl_ms as f64,
        hit_rate: c.hit_rate(),
        total_requests: c.total_requests as f64,
        stale_served: c.stale_served as f64,
    }
}

fn to_breaker_stats(b: &crate::policy::breaker::BreakerSnapshot) -> BreakerStats {
    BreakerStats {
        state: b.state.as_str().to_owned(),
        failures: b.failures,
        times_opened: b.times_opened as f64,
        rejected: b.rejected as f64,
        half_open_successes: b.half_open_successes,
    }
}

fn to_client_stats(s: crate::client::snapshot::ClientSnapshot) -> ClientStats {
    let ops: Vec<OperationStats> = s.operations.iter().map(to_operation_stats).collect();
    let retries = s.operations.iter().map(|o| o.retries).sum::<u64>() as f64;
    let mut ops = ops.into_iter();
    let mut next = || ops.next().expect("one snapshot per operation");
    ClientStats {
        requests: RequestStats { mint: next(), mint_batch: next(), validate: next(), health_check: next() },
        retries,
        rejected_by_breaker: s.rejected_by_breaker as f64,
        breaker: s.breaker.map(|b| BreakerStats {
            state: b.state.as_str().to_owned(),
            failures: b.failures,
            times_opened: b.times_opened as f64,
            rejected: b.rejected as f64,
            half_open_successes: b.half_open_successes,
        }),
        cache: s.cache.as_ref().map(to_cache_stats),
        rate_limit: RateLimitStats {
            paused: s.pause.paused,
            retry_in_ms: s.pause.retry_in_ms as f64,
            rate_limited: s.pause.limited as f64,
            pauses: s.pause.pauses as f64,
            waits: s.pause.waits as f64,
            rejected: s.pause.rejected as f64,
            pace_per_second: s.pause.pace_per_sec.map(|p| (p * 100.0).round() / 100.0),
        },
        fleet: s.fleet.as_ref().map(crate::bindings::fleet::to_fleet_stats),
        retry_budget_exhausted: s.retry_budget.as_ref().map_or(0.0, |b| b.exhausted as f64),
        bulkhead: s.bulkhead.as_ref().map(|b| BulkheadStats {
            max_concurrent: b.config.max_concurrent,
            max_queue: b.config.max_queue,
            in_flight: b.in_flight as u32,
            queued: b.queued as u32,
            rejected: b.rejected as f64,
        }),
        endpoints: (!s.endpoints.is_empty()).then(|| {
            s.endpoints
                .iter()
                .map(|e| EndpointStats {
                    url: e.url.clone(),
                    healthy: e.healthy,
                    active: e.active,
                    requests: e.requests as f64,
                    failovers: e.failovers as f64,
                    breaker: e.breaker.as_ref().map(to_breaker_stats),
                    wire: e.wire.to_owned(),
                })
                .collect()
        }),
        wire: s.wire.to_owned(),
        placeholders_accepted: s.placeholders_accepted as f64,
        client_rate_limit: s.rate_limit.as_ref().map(|t| ClientRateLimitStats {
            requests_per_second: t.config.requests_per_second,
            burst: t.config.burst,
            waits: t.waits as f64,
            rejected: t.rejected as f64,
        }),
    }
}
