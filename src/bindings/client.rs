//! `NativeClient`: the Rust core behind the JS `ChittyIDClient` class. How its calls run is in
//! `calls`; what `getStats()` returns, in `bindings::snapshot`.

mod calls;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bindings::bridge::completions::{to_js_pairs, Completer, CompleterWake, Outcome};
use crate::bindings::bridge::loop_wake::Payload;
use crate::bindings::connection::{ClientConnection, ConnectionStateInfo};
use crate::bindings::errors::to_napi_error;
use crate::bindings::events::{Constructor, EventCallback, JsEventSink};
use crate::bindings::fetch_transport::{self, FetchOrder};
use crate::bindings::options::{client_builder, NativeClientOptions};
use crate::bindings::snapshot::{to_client_stats, ClientStats};
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::observe::telemetry::Telemetry;
use crate::registry::SharedState;
use calls::{to_stopped_call, Calls, StoppedCall};

/// Refuses a caller's idempotency key that could not go into a header as is.
fn checked_key(key: Option<&str>) -> Result<()> {
    key.map_or(Ok(()), |k| crate::client::check_idempotency_key(k).map_err(|e| to_napi_error(&e)))
}

#[napi]
pub struct NativeClient {
    /// What submitting a call needs; also in this JS thread's registry under `calls_handle`.
    calls: Arc<Calls>,
    calls_handle: u32,
    /// Keeps process-scoped state alive while this client is.
    _shared: Arc<SharedState>,
    connection: ClientConnection,
    metric_labels: Vec<(String, String)>,
    /// This client's cache in this JS thread's registry (`bindings::cache`); 0 without one.
    cache_handle: u32,
}

impl NativeClient {
    /// The core client's snapshot with what only the binding knows: the telemetry records
    /// dropped (their queue is the binding's).
    fn snapshot(&self) -> crate::client::snapshot::ClientSnapshot {
        let mut snapshot = self.calls.core.snapshot();
        snapshot.telemetry_dropped = self.calls.telemetry.dropped_total();
        snapshot
    }
}

impl Drop for NativeClient {
    /// Runs on the JS thread (the object's finalizer): the wake-up handle belongs to its loop.
    fn drop(&mut self) {
        // With calls pending the JS object is still referenced, so this runs with calls pending
        // only when its environment goes away (a worker thread terminated mid-call): nobody
        // can receive their outcomes any more, so they stop as at `close()` and send nothing
        // more (a queued mint would otherwise mint an id nobody gets, and with `scope:
        // "process"` hold the other threads' calls behind it in the shared pause).
        self.calls.cancellations.cancel_all();
        self.calls.core.close();
        self.calls.completer.detach();
        calls::unregister(self.calls_handle);
        crate::bindings::cache::unregister(self.cache_handle);
    }
}

#[napi]
impl NativeClient {
    /// The call about to be submitted under `ticket` is made once: no retry, no failover. JS
    /// asks this when the call's `fetch` is a test double that would pass a second request on
    /// to the real network (lib/fetch-transport.js).
    #[napi(catch_unwind)]
    pub fn single_attempt(&self, ticket: u32) {
        self.calls.single_attempt.store(ticket, Ordering::Relaxed);
    }

    #[napi(constructor, catch_unwind)]
    pub fn new(options: NativeClientOptions) -> Result<Self> {
        // Events are wired lazily (see `attach_events`).
        let events = Arc::new(JsEventSink::detached());
        let built = client_builder(options)
            .and_then(|builder| builder.events(events.clone()).build())
            .map_err(|e| to_napi_error(&e))?;
        let core = built.client;
        let completer: Arc<Completer> = Arc::default();
        // Records of health probes (no call pending) wake JS through the event channel.
        let telemetry =
            Arc::new(Telemetry::new(Arc::new(CompleterWake(completer.clone()))).with_background(events.clone()));
        let connection = ClientConnection::new(built.connection, &core, events, &telemetry);
        let cache_handle = core.cache().map_or(0, |cache| crate::bindings::cache::register(cache.clone()));
        let calls = Arc::new(Calls {
            core,
            cancellations: Arc::default(),
            completer,
            telemetry,
            single_attempt: AtomicU32::new(0),
        });
        let calls_handle = calls::register(calls.clone());
        Ok(Self {
            calls,
            calls_handle,
            _shared: built.shared,
            connection,
            metric_labels: built.metric_labels,
            cache_handle,
        })
    }

    /// Fleet mode: connects to Redis in the background (`Client::start_fleet`). JS calls it on
    /// the next tick after the constructor, so listeners added right after it hear the fleet's
    /// first event.
    #[napi(catch_unwind)]
    pub fn start_fleet(&self) {
        self.calls.core.start_fleet();
    }

    #[napi(getter)]
    pub fn service_url(&self) -> String {
        self.calls.core.service_url().to_owned()
    }

    /// Synchronous breaker pre-check, so an open circuit rejects without a native promise:
    /// 0 when a call may go out, else the call must fail fast (it was counted as rejected, as
    /// `mint` itself would have): ms until the next trial while OPEN, minus the trial limit
    /// while HALF_OPEN with every trial call in flight (`compat::admission_code`).
    #[napi]
    pub fn breaker_admit(&self) -> f64 {
        use crate::policy::breaker::Admission;
        let admission = match self.calls.core.admit_any() {
            Err(ClientError::CircuitOpen { retry_in_ms }) => Admission::Rejected { retry_in_ms },
            Err(ClientError::TrialsInFlight { limit }) => Admission::TrialsInFlight { limit },
            _ => Admission::Allowed { transition: None },
        };
        crate::bindings::compat::admission_code(admission)
    }

    /// Wires the completion channel (see `completions`) before calls are submitted: `on_ready`
    /// is called with the outcomes ready, as `takeCompletions()` returns them. With
    /// `keep_alive`, also references it (one crossing where `keepAlive(true)` would be a second).
    #[napi(catch_unwind)]
    pub fn attach_completions(&self, env: &Env, on_ready: Function<(), ()>, keep_alive: Option<bool>) -> Result<()> {
        // `on_ready` gets what `takeCompletions()` would return. Held weakly: the handle that
        // holds this belongs to the completer, which `calls` holds.
        let calls = Arc::downgrade(&self.calls);
        let payload: Payload = Box::new(move |raw_env| {
            let Some(calls) = calls.upgrade() else { return std::ptr::null_mut() };
            let env = Env::from_raw(raw_env);
            to_js_pairs(&env, calls.core.breaker_state_code(), calls.completer.take())
                .map_or(std::ptr::null_mut(), |ready| ready.value().value)
        });
        self.calls.completer.attach(env, &on_ready, payload)?;
        if keep_alive == Some(true) {
            self.calls.completer.keep_alive(env, true);
        }
        Ok(())
    }

    /// Releases the completion channel of an idle client.
    #[napi(catch_unwind)]
    pub fn detach_completions(&self) {
        self.calls.completer.detach();
    }

    /// The outcomes ready so far as `[breakerState, ticket, value, ticket, value, ...]`
    /// (see `completions::to_js_pairs`); `breakerState` is 0 while the circuit is CLOSED (or
    /// there is no breaker), so the JS side can skip the fail-fast pre-check until it is not.
    #[napi(catch_unwind, ts_return_type = "Array<number | string | string[] | ValidationResult | ErrorInfo>")]
    pub fn take_completions<'env>(&self, env: &'env Env) -> Result<Array<'env>> {
        to_js_pairs(env, self.calls.core.breaker_state_code(), self.calls.completer.take())
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
        let core = Arc::clone(&self.calls.core);
        self.calls.submit_call(
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

    /// The handle JS submits mints and validations with (`calls::submit_mint`, `calls::submit_validate`).
    #[napi(getter)]
    pub fn calls_handle(&self) -> u32 {
        self.calls_handle
    }

    /// `invalidate(id)`, local part (synchronous): forgets `id` in this client's validation
    /// cache; true when it was held.
    #[napi(catch_unwind)]
    pub fn invalidate_local(&self, id: String) -> bool {
        self.calls.core.invalidate_local(&id)
    }

    /// Whether `invalidate(id)` also deletes a fleet (Redis) entry, through `submitInvalidate`.
    #[napi(getter)]
    pub fn has_shared_cache(&self) -> bool {
        self.calls.core.has_shared_cache()
    }

    /// `invalidate(id)`, fleet part: the completion under `ticket` is true when Redis held an
    /// entry for `id` (false also when Redis was unreachable within the fleet deadline).
    #[napi(catch_unwind)]
    pub fn submit_invalidate(&self, ticket: u32, id: String) -> Result<()> {
        let core = Arc::clone(&self.calls.core);
        self.calls.submit(
            ticket,
            false,
            false,
            Box::pin(async move { Ok(Outcome::Bool(core.invalidate_shared(&id).await)) }),
        )
    }

    /// Stops the call submitted under `ticket` (its AbortSignal fired). `null` when it already
    /// finished natively (its outcome is queued); else whether a mint may have minted, and its key.
    #[napi(catch_unwind)]
    pub fn cancel(&self, ticket: u32) -> Option<StoppedCall> {
        self.calls.cancellations.cancel(ticket).map(|s| to_stopped_call(ticket, s))
    }

    /// This client's native bookkeeping, for the leak check (`bindings::diagnostics`). Test hook.
    #[napi(catch_unwind)]
    pub fn internal_counts(&self) -> napi::Result<crate::bindings::diagnostics::ClientCounts, &'static str> {
        crate::bindings::diagnostics::require_test_hooks("internalCounts")?;
        Ok(crate::bindings::diagnostics::ClientCounts {
            flights: crate::bindings::diagnostics::count(self.calls.core.validations_in_flight()),
            registered_calls: crate::bindings::diagnostics::count(self.calls.cancellations.pending()),
            queued_outcomes: crate::bindings::diagnostics::count(self.calls.completer.queued()),
        })
    }

    #[napi(catch_unwind)]
    pub fn get_stats(&self) -> ClientStats {
        to_client_stats(self.snapshot())
    }

    #[napi(catch_unwind)]
    pub fn metrics(&self) -> String {
        crate::client::metrics::render_with_labels(&self.snapshot(), &self.metric_labels)
    }

    /// `GET /health` (outside retry and breaker); its answer arrives as a completion.
    #[napi(catch_unwind)]
    pub fn submit_health_check(&self, ticket: u32, cancellable: bool, headers: Option<Vec<String>>) -> Result<()> {
        let core = Arc::clone(&self.calls.core);
        self.calls.submit_call(
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

    /// Test hook: emits `count` `circuitHalfOpen` events at once from this thread, which is busy
    /// here meanwhile, as it is while a burst arrives from the I/O thread: the event queue's
    /// bound and `eventsDropped` can be checked exactly (`__test__/event-payloads.test.mjs`).
    #[napi]
    pub fn emit_test_events(&self, count: u32) -> napi::Result<(), &'static str> {
        crate::bindings::diagnostics::require_test_hooks("emitTestEvents")?;
        let sink = self.calls.core.resilience().sink();
        for _ in 0..count {
            sink.emit(crate::observe::events::Event::CircuitHalfOpen);
        }
        Ok(())
    }

    /// Test hook: queues `count` telemetry records at once, as a burst of attempts would while
    /// the JS thread is busy: the records' queue bound and `telemetryDropped` can be checked
    /// exactly (`__test__/telemetry-logger.test.mjs`).
    #[napi]
    pub fn emit_test_telemetry(&self, count: u32) -> napi::Result<(), &'static str> {
        crate::bindings::diagnostics::require_test_hooks("emitTestTelemetry")?;
        self.calls.telemetry.push_test_records(count);
        Ok(())
    }

    /// Queues a mark behind every event emitted so far: the event callback gets it as the name
    /// `""` once they all reached it (the function keeps the loop alive until then). False when
    /// no mark will come (no callback attached, closed, queue full).
    #[napi]
    pub fn flush_events(&self, env: Env) -> Result<bool> {
        self.connection.flush_events(&env)
    }

    /// Starts monitoring (or joins the attempt in flight); the completion under `ticket` is
    /// true once CONNECTED, false when this first check fails. Cancelling it only stops the
    /// waiting: the monitor goes on.
    #[napi(catch_unwind)]
    pub fn submit_connect(&self, ticket: u32, cancellable: bool) -> Result<()> {
        let outcome = self.connection.connect()?;
        self.calls.submit(ticket, cancellable, false, Box::pin(async move { Ok(Outcome::Bool(outcome.await)) }))
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
    /// retries stop and its sockets close), the monitor task and the failover probes, drops the
    /// HTTP client and its pool (idle sockets close now), releases the event threadsafe
    /// function and closes the fleet's Redis connection; idempotent. Returns the mints in
    /// flight whose request may have reached the service, with their keys. What it stopped
    /// ends on the I/O thread a moment later: `submitClosed` says when.
    #[napi]
    pub fn close(&self) -> Vec<StoppedCall> {
        let stopped = self.calls.cancellations.cancel_all();
        self.connection.close();
        self.calls.core.close();
        stopped.into_iter().map(|(ticket, s)| to_stopped_call(ticket, s)).collect()
    }

    /// After `close()`: the completion under `ticket` (true) comes once every task of this
    /// client has ended on the I/O thread (its calls, their outcomes queued before it; the
    /// monitor; the probes), so its stats are final and nothing of it runs any more
    /// (docs/ARCHITECTURE.md, "Closing").
    #[napi(catch_unwind)]
    pub fn submit_closed(&self, ticket: u32) -> Result<()> {
        if !self.calls.core.tasks().is_closed() {
            return Err(napi::Error::new(Status::GenericFailure, "submitClosed must come after close()"));
        }
        if !self.calls.completer.is_attached() {
            return Err(napi::Error::new(Status::GenericFailure, "attachCompletions must be called before submitting"));
        }
        let done = crate::bindings::bridge::completions::Completion { ticket, outcome: Outcome::Bool(true) };
        // Nothing left running (a client that never sent anything): no need to start the I/O
        // thread for it. A task cannot start after close().
        if self.calls.core.is_closed_and_idle() {
            self.calls.completer.push(done);
            return Ok(());
        }
        let core = Arc::clone(&self.calls.core);
        let completer = Arc::clone(&self.calls.completer);
        crate::rt::runtime::spawn(async move {
            core.closed().await;
            completer.push(done);
        });
        Ok(())
    }

    /// Whether this client's exchanges go through `globalThis.fetch`.
    #[napi(getter)]
    pub fn uses_fetch(&self) -> bool {
        self.calls.core.fetch_transport().is_some()
    }

    /// Wires the fetch transport to `perform` (JS thread); a no-op when wired already or for a
    /// native-transport client.
    #[napi(catch_unwind)]
    pub fn attach_fetch(&self, perform: Function<FetchOrder, ()>) -> Result<()> {
        // One per endpoint (`serviceUrl` as a list), each wired to the same `perform`.
        for transport in self.calls.core.fetch_transports() {
            fetch_transport::attach(transport, &perform)?;
        }
        Ok(())
    }

    /// Releases the threadsafe function; requests sent after this fail as closed.
    #[napi(catch_unwind)]
    pub fn detach_fetch(&self) {
        for transport in self.calls.core.fetch_transports() {
            transport.detach();
        }
    }

    /// `1` (trace: start and end of each attempt) | `2` (log: end of each attempt); 0 = off.
    /// Calls submitted while it is 0 record nothing.
    #[napi(catch_unwind)]
    pub fn set_telemetry(&self, flags: u32) {
        self.calls.telemetry.set_flags(flags.min(u32::from(u8::MAX)) as u8);
    }

    /// `[dropped, ...records]`, each record `RECORD_STRIDE` slots: kind (0 start, 1 end), call
    /// (the ticket), attempt, operation, method, path, idempotencyKey, status, code, message,
    /// durationUs, atMs (Unix ms); absent fields are holes.
    #[napi(catch_unwind, ts_return_type = "Array<number | string | undefined>")]
    pub fn take_telemetry<'env>(&self, env: &'env Env) -> Result<Array<'env>> {
        let (records, dropped) = self.calls.telemetry.take();
        crate::bindings::telemetry::records_to_js(env, records, dropped)
    }
}
