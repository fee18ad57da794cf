//! Delivers core events to JS through one bounded, weak threadsafe function per client:
//! it never keeps the process alive, and when its queue is full events are dropped
//! rather than blocking the runtime thread.
//!
//! `flush` queues a mark behind the events emitted so far: JS awaits it so that `connect()` and
//! `disconnect()` settle only after their events reached the listeners (docs/ARCHITECTURE.md
//! "Observability"). While a mark is on its way the function is referenced, so the wait itself
//! keeps the loop alive; with no mark pending it is weak again.
//!
//! Records of the client's own health probes (`crate::observe::telemetry::Probe`) wake JS
//! through here too (name `#records`: JS then drains the telemetry queue): they come while no
//! call is pending, when the completion wake-up is detached, and like events they must not keep
//! the process alive. One such wake-up is on its way at a time.
//!
//! Events the full queue turns away are counted (`getStats().eventsDropped`); the first delivery
//! after the first drop also hands JS a notice (name `#dropped`, the count so far), once per
//! client, which JS turns into one process warning.
//!
//! Each event's payload is built here, once, straight from the core's variant (its fields, in
//! camelCase, in the order of the `lib/types/events.d.ts` interface); the JS side only emits it.

use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use napi::bindgen_prelude::*;
use napi::check_status;
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::observe::events::{ErrorPayload, Event, EventSink};

/// Events queued for the JS thread, at most; past that they are dropped. As many as the attempt
/// records the telemetry queue holds: a burst of failing calls (1,000 mints at once, each
/// retried twice) queues thousands of `retry` events while the JS thread settles the calls,
/// and a bound of 1,024 dropped half of them.
const QUEUE_CAPACITY: usize = crate::observe::telemetry::MAX_QUEUED;

/// What the threadsafe function carries: an event, a mark (see [`JsEventSink::flush`]), or a
/// wake-up for probe records.
enum Item {
    Event(Event),
    Mark,
    Records,
}

/// The name the JS callback gets for a mark (no event has an empty name).
const MARK: &str = "";

/// The name the JS callback gets, once per client, with the number of events dropped so far.
const DROPPED: &str = "#dropped";

/// The name the JS callback gets when probe records wait in the telemetry queue.
const RECORDS: &str = "#records";

/// Events the full queue turned away, and whether JS was told.
#[derive(Default)]
struct Drops {
    count: AtomicU64,
    noticed: AtomicBool,
}

impl Drops {
    /// The count to hand JS now: the first time there is one.
    fn notice(&self) -> Option<u64> {
        let count = self.count.load(Ordering::Relaxed);
        (count > 0 && !self.noticed.swap(true, Ordering::Relaxed)).then_some(count)
    }
}

/// What the JS callback is called with: the event's name and its payload.
type Delivery = FnArgs<(&'static str, Raw)>;

/// The JS callback events arrive through: `(name, payload) => void`, with the payload that
/// `lib/types/events.d.ts` types for `name`.
pub type EventCallback<'scope> = Function<'scope, Delivery, ()>;

/// The `Object` and `Error` constructors of the JS side's realm. Payloads are made with them, so
/// they are the JS side's own objects and errors even where it runs in a realm of its own (jest
/// runs each test file in a VM context): `instanceof Error` holds there as for an error made in JS.
pub type Constructor<'scope, Args> = Function<'scope, Args, ()>;

type EventFn = ThreadsafeFunction<Item, (), Delivery, Status, false, true, QUEUE_CAPACITY>;

struct Realm {
    object: FunctionRef<(), ()>,
    error: FunctionRef<String, ()>,
    /// The JS callback itself, for the drop notice (a second call within one delivery).
    callback: FunctionRef<Delivery, ()>,
    drops: Arc<Drops>,
    /// A `#records` wake-up is queued (see [`Wake for JsEventSink`]).
    records_owed: Arc<AtomicBool>,
}

impl Realm {
    fn new(
        callback: &EventCallback,
        object: &Constructor<()>,
        error: &Constructor<String>,
        sink: &JsEventSink,
    ) -> Result<Self> {
        Ok(Self {
            object: object.create_ref()?,
            error: error.create_ref()?,
            callback: callback.create_ref()?,
            drops: Arc::clone(&sink.drops),
            records_owed: Arc::clone(&sink.records_owed),
        })
    }

    /// Hands JS the drop notice, if one is due: before the item being delivered, which was
    /// queued before the first drop.
    fn notify_drops(&self, env: &Env) -> Result<()> {
        if let Some(count) = self.drops.notice() {
            // SAFETY: on the JS thread (the threadsafe function's callback), with its live `env`.
            let count = unsafe { f64::to_napi_value(env.raw(), count as f64)? };
            self.callback.borrow_back(env)?.call(FnArgs { data: (DROPPED, Raw(count)) })?;
        }
        Ok(())
    }

    /// `{}`.
    fn object(&self, env: &Env) -> Result<sys::napi_value> {
        Ok(self.object.borrow_back(env)?.new_instance(())?.raw())
    }

    /// `Object.assign(new Error(message), { code })`.
    fn error(&self, env: &Env, error: ErrorPayload) -> Result<sys::napi_value> {
        let value = self.error.borrow_back(env)?.new_instance(error.message)?.raw();
        put(env, value, c"code", error.code)?;
        Ok(value)
    }

    /// The payload of `event`.
    fn payload(&self, env: &Env, event: Event) -> Result<sys::napi_value> {
        /// A new object with `key: value, ...`, in that order (JSON.stringify shows it).
        macro_rules! object {
            ($($key:literal => $value:expr),* $(,)?) => {{
                let object = self.object(env)?;
                $(put(env, object, $key, $value)?;)*
                Ok(object)
            }};
        }
        match event {
            Event::StateChange { from, to, timestamp } => {
                object!(c"from" => from, c"to" => to, c"timestamp" => number(timestamp))
            }
            Event::Connected { service_url }
            | Event::Disconnected { service_url }
            | Event::Unhealthy { service_url } => {
                object!(c"serviceUrl" => service_url)
            }
            Event::Reconnecting { attempt, delay } => object!(c"attempt" => attempt, c"delay" => number(delay)),
            Event::MaxReconnectAttemptsReached { attempts } => object!(c"attempts" => attempts),
            Event::Retry { operation, attempt, delay, error } => object!(
                c"operation" => operation,
                c"attempt" => attempt,
                c"delay" => number(delay),
                c"error" => Raw(self.error(env, error)?),
            ),
            Event::CircuitOpen { failures, reset_timeout } => {
                object!(c"failures" => failures, c"resetTimeout" => number(reset_timeout))
            }
            Event::RateLimited { operation, retry_in_ms, retry_after } => object!(
                c"operation" => operation,
                c"retryInMs" => number(retry_in_ms),
                c"retryAfter" => retry_after,
            ),
            Event::CircuitHalfOpen | Event::CircuitClose | Event::FleetRestored => object!(),
            Event::Error { code, message } => self.error(env, ErrorPayload { code, message }),
            Event::FleetDegraded { reason } => object!(c"reason" => reason),
            Event::Failover { from, to, code } => object!(c"from" => from, c"to" => to, c"code" => code),
            Event::Failback { from, to } => object!(c"from" => from, c"to" => to),
            // `errorCode` is null when the service sent none.
            Event::Placeholder { chitty_id, error_code } => {
                object!(c"chittyId" => chitty_id, c"errorCode" => error_code)
            }
        }
    }

    /// The arguments of the JS callback for the event (or the mark) in `ctx`.
    fn delivery(&self, ctx: ThreadsafeCallContext<Item>, slot: &Weak<Mutex<Slot>>) -> Result<Delivery> {
        // A notice that fails must not cost the item its delivery (a mark someone waits for).
        let _ = self.notify_drops(&ctx.env);
        match ctx.value {
            Item::Event(event) => {
                let name = event.name();
                let payload = self.payload(&ctx.env, event)?;
                Ok(FnArgs { data: (name, Raw(payload)) })
            }
            Item::Records => {
                // Cleared before JS drains: a record queued from now on owes another wake-up.
                self.records_owed.store(false, Ordering::Release);
                Ok(FnArgs { data: (RECORDS, Raw(undefined(&ctx.env)?)) })
            }
            Item::Mark => {
                if let Some(slot) = slot.upgrade() {
                    if let Slot::Open(open) = &mut *lock(&slot) {
                        open.marks = open.marks.saturating_sub(1);
                        if open.marks == 0 {
                            // The last mark arrived: weak again. A failure (the environment is
                            // going away) must not cost the mark its delivery.
                            #[allow(deprecated)]
                            let _ = open.tsfn.unref(&ctx.env);
                        }
                    }
                }
                Ok(FnArgs { data: (MARK, Raw(undefined(&ctx.env)?)) })
            }
        }
    }
}

/// A JS value made already.
pub struct Raw(sys::napi_value);

impl ToNapiValue for Raw {
    unsafe fn to_napi_value(_env: sys::napi_env, value: Self) -> Result<sys::napi_value> {
        Ok(value.0)
    }
}

/// `object[key] = value`.
fn put<V: ToNapiValue>(env: &Env, object: sys::napi_value, key: &CStr, value: V) -> Result<()> {
    let env = env.raw();
    // SAFETY: on the JS thread (the threadsafe function's callback), with its live `env`.
    let value = unsafe { V::to_napi_value(env, value)? };
    check_status!(unsafe { sys::napi_set_named_property(env, object, key.as_ptr(), value) })
}

/// `undefined`.
fn undefined(env: &Env) -> Result<sys::napi_value> {
    // SAFETY: on the JS thread (the threadsafe function's callback), with its live `env`.
    unsafe { <() as ToNapiValue>::to_napi_value(env.raw(), ()) }
}

/// Milliseconds and epoch times as JS numbers.
fn number(value: u64) -> f64 {
    value as f64
}

struct Open {
    tsfn: EventFn,
    /// Marks queued and not yet delivered; the function is referenced while there are any.
    marks: usize,
}

enum Slot {
    /// No JS callback yet: events are dropped (nobody listens).
    Detached,
    Open(Open),
    /// `close()` was called: events are dropped for good.
    Closed,
}

pub struct JsEventSink {
    tsfn: Arc<Mutex<Slot>>,
    drops: Arc<Drops>,
    records_owed: Arc<AtomicBool>,
}

fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

fn build(callback: &EventCallback, realm: Realm, slot: Weak<Mutex<Slot>>) -> Result<EventFn> {
    callback
        .build_threadsafe_function::<Item>()
        .callee_handled::<false>()
        .weak::<true>()
        .max_queue_size::<QUEUE_CAPACITY>()
        .build_callback(move |ctx| realm.delivery(ctx, &slot))
}

impl JsEventSink {
    /// A sink with no callback yet; see [`JsEventSink::attach`]. Until then the client holds
    /// no JS handle at all (nothing for `--detectOpenHandles` to report).
    pub fn detached() -> Self {
        Self { tsfn: Arc::new(Mutex::new(Slot::Detached)), drops: Arc::default(), records_owed: Arc::default() }
    }

    /// Creates the threadsafe function on first use; later calls and calls after `close()`
    /// do nothing, so a client never has more than one. `object` and `error` are the JS side's
    /// `Object` and `Error`.
    pub fn attach(
        &self,
        callback: &EventCallback,
        object: &Constructor<()>,
        error: &Constructor<String>,
    ) -> Result<()> {
        let mut slot = lock(&self.tsfn);
        if matches!(*slot, Slot::Detached) {
            let realm = Realm::new(callback, object, error, self)?;
            let tsfn = build(callback, realm, Arc::downgrade(&self.tsfn))?;
            *slot = Slot::Open(Open { tsfn, marks: 0 });
        }
        Ok(())
    }

    /// Queues a mark behind every event emitted so far; the JS callback gets it (name `""`)
    /// once they all reached it. Until then the function keeps the loop alive. False when no
    /// mark will come: no callback yet, closed, or the queue is full.
    pub fn flush(&self, env: &Env) -> Result<bool> {
        let mut slot = lock(&self.tsfn);
        let Slot::Open(open) = &mut *slot else { return Ok(false) };
        #[allow(deprecated)]
        if open.marks == 0 && open.tsfn.refer(env).is_err() {
            return Ok(false); // the environment is going away: no mark will come
        }
        if open.tsfn.call(Item::Mark, ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
            if open.marks == 0 {
                #[allow(deprecated)]
                let _ = open.tsfn.unref(env);
            }
            return Ok(false);
        }
        open.marks += 1;
        Ok(true)
    }

    /// After this no event reaches JS, and the threadsafe function is released.
    pub fn close(&self) {
        *lock(&self.tsfn) = Slot::Closed;
    }
}

impl EventSink for JsEventSink {
    fn emit(&self, event: Event) {
        if let Ok(guard) = self.tsfn.lock() {
            if let Slot::Open(open) = &*guard {
                // Only a full queue counts: with no callback yet, or after `close()`, nobody listens.
                if open.tsfn.call(Item::Event(event), ThreadsafeFunctionCallMode::NonBlocking) == Status::QueueFull {
                    self.drops.count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn dropped(&self) -> u64 {
        self.drops.count.load(Ordering::Relaxed)
    }
}

/// Wakes JS for the records of health probes (`crate::observe::telemetry`), through the event
/// channel: weak, so a probe never keeps the process alive.
impl crate::observe::telemetry::Wake for JsEventSink {
    fn wake(&self) {
        if self.records_owed.swap(true, Ordering::AcqRel) {
            return; // one on its way takes these records too
        }
        let sent = match &*lock(&self.tsfn) {
            Slot::Open(open) => open.tsfn.call(Item::Records, ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok,
            _ => false,
        };
        if !sent {
            self.records_owed.store(false, Ordering::Release);
        }
    }

    fn ready(&self) -> bool {
        matches!(*lock(&self.tsfn), Slot::Open(_))
    }
}
