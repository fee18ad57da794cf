//! What the client reports as it runs. Each variant's fields are the payload JS receives, field
//! for field (the binding names them in camelCase, `src/bindings/events.rs`;
//! `lib/types/events.d.ts` types them): no layer reshapes an event on its way out
//! (docs/ARCHITECTURE.md, "Observability"). The core only knows the `EventSink` trait.

use std::sync::Arc;

/// A failure as an event carries it: JS receives an `Error` with this `message` and `code`.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorPayload {
    pub code: &'static str,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `StateChangeEvent`: the connection manager changed state; `timestamp` in Unix-epoch ms.
    StateChange {
        from: &'static str,
        to: &'static str,
        timestamp: u64,
    },
    /// `ServiceUrlEvent`, as are `Disconnected` and `Unhealthy`.
    Connected {
        service_url: String,
    },
    Disconnected {
        service_url: String,
    },
    /// `ReconnectingEvent`: reconnect `attempt` (1-based) is made in `delay` ms.
    Reconnecting {
        attempt: u32,
        delay: u64,
    },
    Unhealthy {
        service_url: String,
    },
    MaxReconnectAttemptsReached {
        attempts: u32,
    },
    /// `RetryEvent`: `attempt` (1-based) failed with `error`; the next one is in `delay` ms.
    Retry {
        operation: &'static str,
        attempt: u32,
        delay: u64,
        error: ErrorPayload,
    },
    /// `CircuitOpenEvent`: the breaker opened after `failures`; it tries again in `reset_timeout` ms.
    CircuitOpen {
        failures: u32,
        reset_timeout: u64,
    },
    /// `RateLimitedEvent`: a 429 paused the client's traffic for `retry_in_ms` (`retry_after`: the
    /// service said how long).
    RateLimited {
        operation: &'static str,
        retry_in_ms: u64,
        retry_after: bool,
    },
    /// An empty payload (`{}`), as are `CircuitClose` and `FleetRestored`.
    CircuitHalfOpen,
    CircuitClose,
    /// The payload is the error itself: an `Error` with this `message` and `code`.
    Error {
        code: &'static str,
        message: String,
    },
    /// Fleet mode: Redis is unavailable; the client continues local-only.
    FleetDegraded {
        reason: String,
    },
    /// Fleet mode: Redis answers again.
    FleetRestored,
    /// Calls now go to `to` first: `from` failed with `code` (docs/ARCHITECTURE.md, "Endpoint failover").
    Failover {
        from: String,
        to: String,
        code: &'static str,
    },
    /// `to`, earlier in the list, passed its health checks and takes calls back from `from`.
    Failback {
        from: String,
        to: String,
    },
    /// A mint resolved to a placeholder id because the client accepts them (`acceptPlaceholders`):
    /// not a minted id; the service means to replace it (docs/ARCHITECTURE.md, "Two wires").
    /// `error_code` is the service's `errorCode` (JS: null when absent).
    Placeholder {
        chitty_id: String,
        error_code: Option<String>,
    },
}

impl Event {
    /// The name the JS EventEmitter emits it under.
    pub fn name(&self) -> &'static str {
        match self {
            Event::StateChange { .. } => "stateChange",
            Event::Connected { .. } => "connected",
            Event::Disconnected { .. } => "disconnected",
            Event::Reconnecting { .. } => "reconnecting",
            Event::Unhealthy { .. } => "unhealthy",
            Event::MaxReconnectAttemptsReached { .. } => "maxReconnectAttemptsReached",
            Event::Retry { .. } => "retry",
            Event::CircuitOpen { .. } => "circuitOpen",
            Event::RateLimited { .. } => "rateLimited",
            Event::CircuitHalfOpen => "circuitHalfOpen",
            Event::CircuitClose => "circuitClose",
            Event::Error { .. } => "error",
            Event::FleetDegraded { .. } => "fleetDegraded",
            Event::FleetRestored => "fleetRestored",
            Event::Failover { .. } => "failover",
            Event::Failback { .. } => "failback",
            Event::Placeholder { .. } => "placeholder",
        }
    }
}

pub trait EventSink: Send + Sync + 'static {
    fn emit(&self, event: Event);

    /// Events this sink could not hand on (its queue was full) since the client was created;
    /// `getStats().eventsDropped`.
    fn dropped(&self) -> u64 {
        0
    }
}

pub type SharedSink = Arc<dyn EventSink>;

/// Drops every event; used when nobody listens (tests, pure-Rust use).
pub struct NoopSink;

impl EventSink for NoopSink {
    fn emit(&self, _event: Event) {}
}

pub fn noop() -> SharedSink {
    Arc::new(NoopSink)
}

#[cfg(test)]
pub mod testing {
    use super::*;
    use std::sync::Mutex;

    /// Records every event, for assertions.
    #[derive(Default)]
    pub struct RecordingSink {
        pub events: Mutex<Vec<Event>>,
    }

    impl RecordingSink {
        pub fn names(&self) -> Vec<&'static str> {
            self.events.lock().unwrap().iter().map(Event::name).collect()
        }
    }

    impl EventSink for RecordingSink {
        fn emit(&self, event: Event) {
            self.events.lock().unwrap().push(event);
        }
    }
}
