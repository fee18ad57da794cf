//! Delivers core events to JS through one bounded, weak threadsafe function per client:
//! it never keeps the process alive, and when its queue is full events are dropped
//! rather than blocking the runtime thread.

use std::sync::Mutex;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::observe::events::{Event, EventSink};

const QUEUE_CAPACITY: usize = 1024;

/// One event, flattened; the JS side builds the payload for `name`.
#[napi(object)]
#[derive(Default)]
pub struct NativeEvent {
    pub name: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub timestamp: Option<f64>,
    pub service_url: Option<String>,
    pub attempt: Option<u32>,
    pub attempts: Option<u32>,
    pub delay: Option<f64>,
    pub operation: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub failures: Option<u32>,
    /// `rateLimited`: the service said how long to pause (`Retry-After`).
    pub retry_after: Option<bool>,
}

impl From<Event> for NativeEvent {
    fn from(event: Event) -> Self {
        let name = event.name().to_owned();
        let base = NativeEvent { name, ..Default::default() };
        match event {
            Event::StateChange { from, to, timestamp } => {
                NativeEvent { from: Some(from.into()), to: Some(to.into()), timestamp: Some(timestamp as f64), ..base }
            }
            Event::Connected { service_url }
            | Event::Disconnected { service_url }
            | Event::Unhealthy { service_url } => NativeEvent { service_url: Some(service_url), ..base },
            Event::Reconnecting { attempt, delay_ms } => {
                NativeEvent { attempt: Some(attempt), delay: Some(delay_ms as f64), ..base }
            }
            Event::MaxReconnectAttemptsReached { attempts } => NativeEvent { attempts: Some(attempts), ..base },
            Event::Retry { operation, attempt, delay_ms, error_code, error_message } => NativeEvent {
                operation: Some(operation.into()),
                attempt: Some(attempt),
                delay: Some(delay_ms as f64),
                code: Some(error_code.into()),
                message: Some(error_message),
                ..base
            },
            Event::CircuitOpen { failures, retry_in_ms } => {
                NativeEvent { failures: Some(failures), delay: Some(retry_in_ms as f64), ..base }
            }
            Event::RateLimited { operation, retry_in_ms, retry_after } => NativeEvent {
                operation: Some(operation.into()),
                delay: Some(retry_in_ms as f64),
                retry_after: Some(retry_after),
                ..base
            },
            Event::CircuitHalfOpen | Event::CircuitClose => base,
            Event::Error { code, message } => NativeEvent { code: Some(code.into()), message: Some(message), ..base },
            Event::FleetDegraded { reason } => NativeEvent { message: Some(reason), ..base },
            Event::FleetRestored => base,
            Event::Failover { from, to, code } => {
                NativeEvent { from: Some(from), to: Some(to), code: Some(code.into()), ..base }
            }
            Event::Failback { from, to } => NativeEvent { from: Some(from), to: Some(to), ..base },
            // The id as `message`, the service's errorCode as `code`.
            Event::Placeholder { chitty_id, error_code } => {
                NativeEvent { message: Some(chitty_id), code: error_code, ..base }
            }
        }
    }
}

type EventFn = ThreadsafeFunction<NativeEvent, (), NativeEvent, Status, false, true, QUEUE_CAPACITY>;

enum Slot {
    /// No JS callback yet: events are dropped (nobody listens).
    Detached,
    Open(EventFn),
    /// `close()` was called: events are dropped for good.
    Closed,
}

pub struct JsEventSink {
    tsfn: Mutex<Slot>,
}

fn build(callback: &Function<NativeEvent, ()>) -> Result<EventFn> {
    callback
        .build_threadsafe_function::<NativeEvent>()
        .callee_handled::<false>()
        .weak::<true>()
        .max_queue_size::<QUEUE_CAPACITY>()
        .build()
}

impl JsEventSink {
    /// A sink with no callback yet; see [`JsEventSink::attach`]. Until then the client holds
    /// no JS handle at all (nothing for `--detectOpenHandles` to report).
    pub fn detached() -> Self {
        Self { tsfn: Mutex::new(Slot::Detached) }
    }

    /// Creates the threadsafe function on first use; later calls and calls after `close()`
    /// do nothing, so a client never has more than one.
    pub fn attach(&self, callback: &Function<NativeEvent, ()>) -> Result<()> {
        let mut slot = self.tsfn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(*slot, Slot::Detached) {
            *slot = Slot::Open(build(callback)?);
        }
        Ok(())
    }

    /// After this no event reaches JS, and the threadsafe function is released.
    pub fn close(&self) {
        let mut slot = self.tsfn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Slot::Closed;
    }
}

impl EventSink for JsEventSink {
    fn emit(&self, event: Event) {
        if let Ok(guard) = self.tsfn.lock() {
            if let Slot::Open(tsfn) = &*guard {
                tsfn.call(event.into(), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }
}
