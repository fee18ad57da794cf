//! What the client tells the outside world: events, the logger, the Prometheus text and the
//! tracing/diagnostics telemetry of each exchange (docs/ARCHITECTURE.md, "Observability").

pub mod events;
pub mod logging;
pub mod stats;
pub mod telemetry;
