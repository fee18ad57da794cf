//! Everything observable about one client at one instant, as `getStats()` and the metrics read it.

use crate::observe::stats::OpSnapshot;

/// One endpoint as `getStats().endpoints` shows it.
#[derive(Clone, Debug)]
pub struct EndpointSnapshot {
    pub url: String,
    pub healthy: bool,
    pub active: bool,
    pub requests: u64,
    pub failovers: u64,
    pub breaker: Option<crate::policy::breaker::BreakerSnapshot>,
    /// The wire it speaks, as far as known (`crate::wire::Wire::as_str`).
    pub wire: &'static str,
}

/// Everything observable about one client at one instant.
#[derive(Clone, Debug)]
pub struct ClientSnapshot {
    pub operations: Vec<OpSnapshot>,
    pub breaker: Option<crate::policy::breaker::BreakerSnapshot>,
    pub cache: Option<crate::cache::CacheStats>,
    pub rejected_by_breaker: u64,
    pub pause: crate::policy::pause::PauseSnapshot,
    /// Fleet mode's counters; `None` when it is off.
    pub fleet: Option<crate::fleet::FleetSnapshot>,
    pub retry_budget: Option<crate::policy::retry_budget::RetryBudgetSnapshot>,
    pub bulkhead: Option<crate::policy::bulkhead::BulkheadSnapshot>,
    pub rate_limit: Option<crate::policy::rate_limit::RateLimitSnapshot>,
    /// Every endpoint, when the client has more than one.
    pub endpoints: Vec<EndpointSnapshot>,
    /// The wire of the endpoint calls go to (`crate::wire::Wire::as_str`).
    pub wire: &'static str,
    /// Placeholder ids resolved because the caller accepts them (`acceptPlaceholders`).
    pub placeholders_accepted: u64,
    /// Events dropped on their way to the listeners (the sink's queue was full).
    pub events_dropped: u64,
    /// Telemetry records (for the logger and `diagnostics_channel`) dropped because JS did not
    /// drain them in time (their queue was full). The binding fills it in: the records' queue
    /// is the binding's (`NativeClient::snapshot`).
    pub telemetry_dropped: u64,
}
