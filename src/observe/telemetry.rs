//! Per-attempt records for the user's own logger and `diagnostics_channel` subscribers, and
//! the per-call headers that carry their trace context (docs/ARCHITECTURE.md, "Telemetry").
//!
//! A call submitted while telemetry is on, or with extra headers, runs inside a [`CallScope`]
//! (a tokio task-local set by the binding). The resilience loop and the transport report into
//! it through the free functions below; outside a scope each is one task-local lookup that
//! finds nothing, so a client nobody observes pays nothing else and queues nothing.
//!
//! Records wait in a bounded queue; the first one of a batch wakes the JS thread through the
//! client's completion wake-up (when the I/O thread runs out of work), which drains the queue
//! in one call. The I/O thread never blocks on JS: past [`MAX_QUEUED`] records are dropped and
//! counted.
//!
//! Health probes the client sends on its own (the connection manager's checks, the probes of a
//! down endpoint) belong to no call: they run in a [`CallScope::probe`], whose records carry
//! the [`Probe`] kind and wake JS through the background wake (the event channel: the
//! completion wake-up is detached while no call is pending). Like calls, they are recorded
//! under the switches JS last set (at a call, `connect()`, or an event), so a client nobody
//! observes pays nothing for its checks.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::ClientError;
use crate::exchange::Method;
use crate::exchange::Operation;

/// A `diagnostics_channel` subscriber listens: the start and the end of every attempt.
pub const TRACE: u8 = 1;
/// A logger is set: the end of every attempt.
pub const LOG: u8 = 2;

/// Records waiting for JS beyond this many are dropped (and counted), never waited for.
pub const MAX_QUEUED: usize = 65_536;

/// Headers a caller may not set: the client's own, and those that frame the message.
pub const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "accept",
    "content-type",
    "content-length",
    "idempotency-key",
    "host",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

pub fn is_reserved_header(name: &str) -> bool {
    RESERVED_HEADERS.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// Wakes the JS thread that drains the queue.
pub trait Wake: Send + Sync {
    fn wake(&self);

    /// Whether a wake-up would reach JS now.
    fn ready(&self) -> bool {
        true
    }
}

/// A health probe the client sends on its own, outside any call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The connection manager's health check (`connect()`, `connection.autoConnect`).
    Connection,
    /// A health check of an endpoint that is down, for failback (docs/ARCHITECTURE.md,
    /// "Endpoint failover").
    Failover,
}

impl Probe {
    /// As `diagnostics_channel` subscribers and the logger see it (`probe`).
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Connection => "connection",
            Probe::Failover => "failover",
        }
    }
}

/// What happened to one attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// The request is being handed to the transport.
    Start {
        call: u32,
        attempt: u32,
        op: Operation,
        method: Method,
        /// The request's URL, percent-encoded: the endpoint it went to (no credentials).
        url: String,
        idempotency_key: Option<String>,
        /// Unix ms, sub-ms precision.
        at_ms: f64,
        /// A health probe of the client's own, not a call (`call` then numbers the probe).
        probe: Option<Probe>,
    },
    /// The attempt's outcome, after the answer was classified and parsed.
    End {
        call: u32,
        attempt: u32,
        op: Operation,
        method: Option<Method>,
        /// The URL of the attempt's request, when it made one.
        url: Option<String>,
        /// The HTTP status, when the service answered.
        status: Option<u16>,
        /// The failure's `error.code`; `None` on success.
        code: Option<&'static str>,
        message: Option<String>,
        idempotency_key: Option<String>,
        duration_us: u64,
        at_ms: f64,
        probe: Option<Probe>,
    },
}

/// The per-client queue and switches.
pub struct Telemetry {
    flags: AtomicU8,
    queue: Mutex<Vec<Record>>,
    /// Dropped since the last [`Telemetry::take`] (for the logger's `telemetryDropped` record).
    dropped: AtomicU64,
    /// Dropped since the client was made (`getStats().telemetryDropped`).
    dropped_total: AtomicU64,
    wake: Arc<dyn Wake>,
    /// Wakes JS for probe records; `None`: probes are not recorded.
    background: Option<Arc<dyn Wake>>,
    /// Numbers the probes (their records' `call`).
    probes: AtomicU32,
}

impl Telemetry {
    pub fn new(wake: Arc<dyn Wake>) -> Self {
        Self {
            flags: AtomicU8::new(0),
            queue: Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
            dropped_total: AtomicU64::new(0),
            wake,
            background: None,
            probes: AtomicU32::new(0),
        }
    }

    /// Records probes too, waking JS for them through `background`.
    pub fn with_background(self, background: Arc<dyn Wake>) -> Self {
        Self { background: Some(background), ..self }
    }

    pub fn flags(&self) -> u8 {
        self.flags.load(Ordering::Relaxed)
    }

    /// `TRACE | LOG` as the JS side sees fit; 0 stops new calls from recording anything.
    pub fn set_flags(&self, flags: u8) {
        self.flags.store(flags & (TRACE | LOG), Ordering::Relaxed);
    }

    fn push(&self, record: Record, probe: bool) {
        let first = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            if queue.len() >= MAX_QUEUED {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                self.dropped_total.fetch_add(1, Ordering::Relaxed);
                return;
            }
            queue.push(record);
            queue.len() == 1
        };
        match &self.background {
            Some(background) if probe => background.wake(),
            _ if first => self.wake.wake(),
            _ => {}
        }
    }

    /// Everything queued so far, and how many records were dropped since the last call.
    pub fn take(&self) -> (Vec<Record>, u64) {
        let records = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()));
        (records, self.dropped.swap(0, Ordering::Relaxed))
    }

    /// Records dropped since the client was made, whether or not JS has drained since.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total.load(Ordering::Relaxed)
    }

    /// Test hook (`NativeClient::emit_test_telemetry`): queues `count` end records of a
    /// made-up call at once, so the queue's bound and the drop count can be checked exactly.
    pub fn push_test_records(&self, count: u32) {
        for attempt in 0..count {
            let record = Record::End {
                call: 0,
                attempt,
                op: Operation::Health,
                method: None,
                url: None,
                status: None,
                code: None,
                message: None,
                idempotency_key: None,
                duration_us: 0,
                at_ms: 0.0,
                probe: None,
            };
            self.push(record, false);
        }
    }
}

/// Extra request headers of one call, already checked (names are tokens, values visible ASCII
/// plus space and tab, nothing reserved).
pub type Headers = Arc<[(String, String)]>;

/// Checks `[name, value, name, value, ...]` as handed over by JS.
pub fn parse_headers(flat: Vec<String>) -> Result<Headers, ClientError> {
    let invalid = |detail: String| ClientError::InvalidArgument { detail };
    if !flat.len().is_multiple_of(2) {
        return Err(invalid("headers must come as name/value pairs".into()));
    }
    let mut pairs = Vec::with_capacity(flat.len() / 2);
    let mut items = flat.into_iter();
    while let (Some(name), Some(value)) = (items.next(), items.next()) {
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(invalid(format!("header name {name:?} is not an HTTP token")));
        }
        if is_reserved_header(&name) {
            return Err(invalid(format!("header {name:?} is set by the client and cannot be overridden")));
        }
        if !value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
            return Err(invalid(format!("the value of header {name:?} has characters not allowed in a header")));
        }
        pairs.push((name.to_ascii_lowercase(), value));
    }
    Ok(pairs.into())
}

/// What one submitted call carries through its attempts.
pub struct CallScope {
    call: u32,
    op: Operation,
    probe: Option<Probe>,
    telemetry: Option<Arc<Telemetry>>,
    flags: u8,
    headers: Option<Headers>,
    /// The attempt the resilience loop is on; 0 when the call does not go through it
    /// (`healthCheck()`), which makes the transport report the end itself.
    attempt: Cell<u32>,
    method: Cell<Option<Method>>,
    /// The URL of the attempt's request (kept only while telemetry is on).
    url: RefCell<Option<String>>,
    status: Cell<Option<u16>>,
    idempotency_key: RefCell<Option<String>>,
}

tokio::task_local! {
    static CALL: CallScope;
}

impl CallScope {
    /// `None` when there is nothing to carry: the call then runs outside any scope.
    pub fn new(call: u32, op: Operation, telemetry: &Arc<Telemetry>, headers: Option<Headers>) -> Option<Self> {
        let flags = telemetry.flags();
        if flags == 0 && headers.is_none() {
            return None;
        }
        Some(Self::with(call, op, (flags != 0).then(|| Arc::clone(telemetry)), flags, headers))
    }

    /// The scope of a health probe of the client's own, recorded under the current switches;
    /// `None` when they are off or JS cannot receive its records (no event channel).
    pub fn probe(kind: Probe, telemetry: &Arc<Telemetry>) -> Option<Self> {
        let flags = telemetry.flags();
        if flags == 0 || !telemetry.background.as_ref().is_some_and(|b| b.ready()) {
            return None;
        }
        let number = telemetry.probes.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let mut scope = Self::with(number, Operation::Health, Some(Arc::clone(telemetry)), flags, None);
        scope.probe = Some(kind);
        Some(scope)
    }

    fn with(call: u32, op: Operation, telemetry: Option<Arc<Telemetry>>, flags: u8, headers: Option<Headers>) -> Self {
        Self {
            call,
            op,
            probe: None,
            telemetry,
            flags,
            headers,
            attempt: Cell::new(0),
            method: Cell::new(None),
            url: RefCell::new(None),
            status: Cell::new(None),
            idempotency_key: RefCell::new(None),
        }
    }

    fn record(&self, wanted: u8, record: impl FnOnce() -> Record) {
        if let Some(t) = &self.telemetry {
            if self.flags & wanted != 0 {
                t.push(record(), self.probe.is_some());
            }
        }
    }
}

/// The scope of a probe started from within the current scope (a call's or another probe's):
/// the probe runs on a task of its own, outside the scope, and is recorded as a probe.
pub fn probe_scope(kind: Probe) -> Option<CallScope> {
    CALL.try_with(|c| c.telemetry.as_ref().and_then(|t| CallScope::probe(kind, t))).ok().flatten()
}

/// Runs `fut` inside `scope`, if any.
pub async fn scoped<F: Future>(scope: Option<CallScope>, fut: F) -> F::Output {
    match scope {
        Some(scope) => CALL.scope(scope, fut).await,
        None => fut.await,
    }
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The resilience loop is about to make attempt `number`.
pub fn attempt_begins(number: u32) {
    let _ = CALL.try_with(|c| {
        c.attempt.set(number);
        c.status.set(None);
        c.url.take();
    });
}

/// The resilience loop classified attempt `number`: `err` is its failure, if any.
pub fn attempt_ends(op: Operation, number: u32, elapsed: Duration, err: Option<&ClientError>) {
    let _ = CALL.try_with(|c| c.record(TRACE | LOG, || end_record(c, op, number, elapsed, err)));
}

fn end_record(c: &CallScope, op: Operation, attempt: u32, elapsed: Duration, err: Option<&ClientError>) -> Record {
    Record::End {
        call: c.call,
        attempt,
        op,
        method: c.method.get(),
        url: c.url.borrow().clone(),
        status: err.and_then(ClientError::status).or_else(|| c.status.get()),
        code: err.map(ClientError::code),
        message: err.map(ToString::to_string),
        idempotency_key: c.idempotency_key.borrow().clone(),
        duration_us: elapsed.as_micros() as u64,
        at_ms: now_ms(),
        probe: c.probe,
    }
}

/// The extra headers of the call in progress.
pub fn extra_headers() -> Option<Headers> {
    CALL.try_with(|c| c.headers.clone()).ok().flatten()
}

/// Reported by the transport around one exchange; see [`request_starts`].
pub struct Exchange {
    started: Option<Instant>,
}

/// The transport is handing a request over to `url()` (asked only while telemetry is on).
/// Returns what [`Exchange::finished`] needs.
pub fn request_starts(method: Method, url: impl FnOnce() -> String, idempotency_key: Option<&str>) -> Exchange {
    let started = CALL.try_with(|c| {
        c.method.set(Some(method));
        if c.telemetry.is_some() {
            if c.idempotency_key.borrow().as_deref() != idempotency_key {
                *c.idempotency_key.borrow_mut() = idempotency_key.map(str::to_owned);
            }
            *c.url.borrow_mut() = Some(url());
        }
        let standalone = c.attempt.get() == 0;
        let attempt = if standalone { 1 } else { c.attempt.get() };
        c.record(TRACE, || Record::Start {
            call: c.call,
            attempt,
            op: c.op,
            method,
            url: c.url.borrow().clone().unwrap_or_default(),
            idempotency_key: idempotency_key.map(str::to_owned),
            at_ms: now_ms(),
            probe: c.probe,
        });
        standalone.then(Instant::now)
    });
    Exchange { started: started.ok().flatten() }
}

impl Exchange {
    /// The transport's outcome: its status goes into the attempt's end record, which the
    /// transport writes itself for a call outside the resilience loop.
    pub fn finished(mut self, outcome: &Result<crate::exchange::Response, ClientError>) {
        let started = self.started.take();
        let _ = CALL.try_with(|c| {
            let status = match outcome {
                Ok(r) => Some(r.status),
                Err(e) => e.status(),
            };
            c.status.set(status);
            if let Some(started) = started {
                let failure = match outcome {
                    Ok(r) if !r.is_success() => Some(ClientError::Http {
                        status: r.status,
                        status_text: r.status_text.clone(),
                        retry_after: None,
                        backend_failed: r.status == 503 && crate::wire::unavailable_after_backend(&r.body),
                    }),
                    Ok(_) => None,
                    Err(e) => Some(e.clone()),
                };
                c.record(TRACE | LOG, || end_record(c, c.op, 1, started.elapsed(), failure.as_ref()));
            }
        });
    }
}

impl Drop for Exchange {
    /// A standalone exchange dropped before its answer (a probe stopped by `disconnect()` or
    /// `close()`, a `healthCheck()` aborted) still ends its attempt, as aborted: a subscriber's
    /// span never stays open. Not logged: the caller stopped it, nothing failed (an attempt the
    /// loop abandons is not logged either). (tokio drops a scoped future inside its scope.)
    fn drop(&mut self) {
        if let Some(started) = self.started.take() {
            let _ = CALL.try_with(|c| {
                c.record(TRACE, || end_record(c, c.op, 1, started.elapsed(), Some(&ClientError::Aborted)))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct CountingWake(AtomicUsize);

    impl Wake for CountingWake {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn telemetry(flags: u8) -> (Arc<Telemetry>, Arc<CountingWake>) {
        let wake = Arc::new(CountingWake::default());
        let t = Arc::new(Telemetry::new(wake.clone()));
        t.set_flags(flags);
        (t, wake)
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
    }

    fn attempt(number: u32, err: Option<ClientError>) {
        attempt_begins(number);
        let exchange = request_starts(Method::Post, || "https://h/v1/mint".to_owned(), Some("k1"));
        let outcome = match &err {
            Some(e) => Err(e.clone()),
            None => Ok(crate::exchange::Response {
                status: 201,
                status_text: "Created".into(),
                retry_after: None,
                body: bytes::Bytes::new(),
            }),
        };
        exchange.finished(&outcome);
        attempt_ends(Operation::Mint, number, Duration::from_micros(1500), err.as_ref());
    }

    #[test]
    fn nothing_is_recorded_outside_a_scope_or_with_telemetry_off() {
        let (t, wake) = telemetry(0);
        assert!(CallScope::new(1, Operation::Mint, &t, None).is_none(), "off and no headers: no scope at all");
        attempt(1, None);
        block_on(scoped(
            CallScope::new(
                1,
                Operation::Mint,
                &t,
                Some(parse_headers(vec!["traceparent".into(), "x".into()]).unwrap()),
            ),
            async {
                attempt(1, None);
                assert_eq!(extra_headers().unwrap()[0], ("traceparent".to_owned(), "x".to_owned()));
            },
        ));
        assert!(t.take().0.is_empty());
        assert_eq!(wake.0.load(Ordering::Relaxed), 0);
        assert!(extra_headers().is_none());
    }

    #[test]
    fn tracing_records_start_and_end_of_every_attempt_and_wakes_once_per_batch() {
        let (t, wake) = telemetry(TRACE);
        let http = ClientError::Http {
            status: 503,
            status_text: "Service Unavailable".into(),
            retry_after: None,
            backend_failed: false,
        };
        block_on(scoped(CallScope::new(7, Operation::Mint, &t, None), async {
            attempt(1, Some(http.clone()));
            attempt(2, None);
        }));
        let (records, dropped) = t.take();
        assert_eq!(dropped, 0);
        assert_eq!(wake.0.load(Ordering::Relaxed), 1, "one wake-up for the batch");
        assert_eq!(records.len(), 4);
        match (&records[0], &records[1], &records[3]) {
            (
                Record::Start { call: 7, attempt: 1, url, idempotency_key, .. },
                Record::End { attempt: 1, status: Some(503), code: Some("EHTTP"), .. },
                Record::End {
                    attempt: 2,
                    status: Some(201),
                    code: None,
                    duration_us: 1500,
                    method: Some(Method::Post),
                    idempotency_key: key,
                    url: end_url,
                    ..
                },
            ) => {
                assert_eq!(url, "https://h/v1/mint");
                assert_eq!(end_url.as_deref(), Some("https://h/v1/mint"));
                assert_eq!(idempotency_key.as_deref(), Some("k1"));
                assert_eq!(key.as_deref(), Some("k1"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn logging_alone_records_only_ends_and_a_standalone_exchange_ends_itself() {
        let (t, _) = telemetry(LOG);
        block_on(scoped(CallScope::new(3, Operation::Health, &t, None), async {
            let exchange = request_starts(Method::Get, || "https://h/health".to_owned(), None);
            let outcome = Ok(crate::exchange::Response {
                status: 503,
                status_text: "x".into(),
                retry_after: None,
                body: bytes::Bytes::new(),
            });
            exchange.finished(&outcome);
        }));
        let (records, _) = t.take();
        assert_eq!(records.len(), 1);
        assert!(
            matches!(
                &records[0],
                Record::End { call: 3, attempt: 1, op: Operation::Health, status: Some(503), code: Some("EHTTP"), .. }
            ),
            "{records:?}"
        );
    }

    #[test]
    fn a_probe_is_recorded_with_its_kind_and_wakes_js_through_the_background_wake() {
        #[derive(Default)]
        struct Background(AtomicUsize, std::sync::atomic::AtomicBool);
        impl Wake for Background {
            fn wake(&self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
            fn ready(&self) -> bool {
                self.1.load(Ordering::Relaxed)
            }
        }
        let calls = Arc::new(CountingWake::default());
        let background = Arc::new(Background::default());
        let t = Arc::new(Telemetry::new(calls.clone()).with_background(background.clone()));
        t.set_flags(TRACE);
        assert!(CallScope::probe(Probe::Connection, &t).is_none(), "JS cannot receive its records yet");
        background.1.store(true, Ordering::Relaxed);
        t.set_flags(0);
        assert!(CallScope::probe(Probe::Connection, &t).is_none(), "nobody observes: nothing recorded");
        t.set_flags(TRACE);
        let check = || {
            let exchange = request_starts(Method::Get, || "https://h/health".to_owned(), None);
            let outcome = Ok(crate::exchange::Response {
                status: 200,
                status_text: "OK".into(),
                retry_after: None,
                body: bytes::Bytes::new(),
            });
            exchange.finished(&outcome);
        };
        block_on(scoped(CallScope::probe(Probe::Connection, &t), async { check() }));
        block_on(scoped(CallScope::probe(Probe::Connection, &t), async {
            // A failover probe started from here is a probe of its own, numbered on.
            block_on_other_thread(scoped(probe_scope(Probe::Failover), async move { check() }));
        }));
        let (records, _) = t.take();
        let seen: Vec<_> = records
            .iter()
            .map(|r| match r {
                Record::Start { call, probe, attempt: 1, op: Operation::Health, .. } => ("start", *call, *probe),
                Record::End { call, probe, attempt: 1, status: Some(200), code: None, .. } => ("end", *call, *probe),
                other => panic!("{other:?}"),
            })
            .collect();
        let (c, f) = (Some(Probe::Connection), Some(Probe::Failover));
        assert_eq!(seen, [("start", 1, c), ("end", 1, c), ("start", 3, f), ("end", 3, f)]);
        assert_eq!(calls.0.load(Ordering::Relaxed), 0, "the completion wake-up is not for probes");
        assert_eq!(background.0.load(Ordering::Relaxed), 4);
        // Outside any scope, or from a call nobody observes, no probe scope.
        assert!(probe_scope(Probe::Failover).is_none());
    }

    fn block_on_other_thread<F: Future + Send + 'static>(f: F)
    where
        F::Output: Send,
    {
        std::thread::spawn(move || block_on(f)).join().unwrap();
    }

    #[test]
    fn a_standalone_exchange_dropped_before_its_answer_ends_as_aborted() {
        let stopped = |flags| {
            let (t, _) = telemetry(flags);
            let fut = scoped(CallScope::new(4, Operation::Health, &t, None), async {
                let _exchange = request_starts(Method::Get, || "https://h/health".to_owned(), None);
                std::future::pending::<()>().await;
            });
            let mut fut = Box::pin(fut);
            let waker = std::task::Waker::noop();
            assert!(fut.as_mut().poll(&mut std::task::Context::from_waker(waker)).is_pending());
            drop(fut);
            t.take().0
        };
        assert_eq!(stopped(LOG), [], "stopped, not failed: nothing for the logger");
        let records = stopped(TRACE);
        assert_eq!(records.len(), 2, "{records:?}");
        assert!(
            matches!(&records[1], Record::End { call: 4, attempt: 1, code: Some("ABORT_ERR"), status: None, .. }),
            "{records:?}"
        );
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let (t, _) = telemetry(LOG);
        block_on(scoped(CallScope::new(1, Operation::Mint, &t, None), async {
            for n in 0..(MAX_QUEUED as u32 + 5) {
                attempt_ends(Operation::Mint, n, Duration::ZERO, None);
            }
        }));
        let (records, dropped) = t.take();
        assert_eq!((records.len(), dropped), (MAX_QUEUED, 5));
        // The running total stays when the queue is drained, and counts on.
        assert_eq!(t.dropped_total(), 5);
        t.push_test_records(MAX_QUEUED as u32 + 2);
        assert_eq!(t.take().1, 2);
        assert_eq!(t.dropped_total(), 7);
        assert_eq!(t.take().1, 0);
    }

    #[test]
    fn headers_must_be_tokens_with_plain_values_and_not_the_clients_own() {
        let ok = parse_headers(vec!["traceparent".into(), "00-aa-bb-01".into(), "X-Tenant".into(), "a b\tc".into()])
            .unwrap();
        assert_eq!(ok[1], ("x-tenant".to_owned(), "a b\tc".to_owned()));
        for (name, value) in [
            ("Authorization", "Bearer x"),
            ("content-type", "text/plain"),
            ("Idempotency-Key", "k"),
            ("HOST", "evil"),
            ("bad name", "v"),
            ("", "v"),
            ("x-a", "line\r\nX-Evil: 1"),
            ("x-a", "caf\u{e9}"),
        ] {
            let err = parse_headers(vec![name.into(), value.into()]).unwrap_err();
            assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE", "{name:?}: {value:?}");
        }
        assert!(parse_headers(vec!["odd".into()]).is_err());
    }
}
