//! `getStats().fleet`, between `crate::fleet` and JS (the `fleet` option is in `options`).

use napi_derive::napi;

use crate::fleet::FleetSnapshot;

#[napi(object)]
pub struct FleetStats {
    /// The last Redis command (or probe) got an answer.
    pub connected: bool,
    /// Redis is unavailable: the client runs local-only until a probe succeeds.
    pub degraded: bool,
    /// While degraded: why (the `reason` of the last `fleetDegraded`, redacted); absent otherwise.
    pub degraded_reason: Option<String>,
    pub errors: f64,
    pub timeouts: f64,
    /// Redis commands not sent because Redis was known to be down.
    pub skipped: f64,
    pub degradations: f64,
    pub restorations: f64,
    pub l2_hits: f64,
    pub l2_misses: f64,
    pub l2_writes: f64,
    /// Shared-cache entries ignored because they failed authentication (forged, foreign, or
    /// replayed past their signed expiry).
    pub l2_rejected: f64,
    /// Validations answered by the L2 after waiting for another instance's request.
    pub coalesced: f64,
    pub rate_waits: f64,
    pub rate_wait_ms: f64,
    /// Calls failed with ERATELIMITED (no slot within their timeout).
    pub rate_limited: f64,
    pub pause_waits: f64,
    pub pauses_published: f64,
    /// Ms left of the fleet-wide rate-limit pause known here.
    pub pause_ms: f64,
    pub breaker_hints_published: f64,
    pub breaker_hints_applied: f64,
}

pub fn to_fleet_stats(s: &FleetSnapshot) -> FleetStats {
    FleetStats {
        connected: s.connected,
        degraded: s.degraded,
        degraded_reason: s.degraded_reason.clone(),
        errors: s.errors as f64,
        timeouts: s.timeouts as f64,
        skipped: s.skipped as f64,
        degradations: s.degradations as f64,
        restorations: s.restorations as f64,
        l2_hits: s.l2_hits as f64,
        l2_misses: s.l2_misses as f64,
        l2_writes: s.l2_writes as f64,
        l2_rejected: s.l2_rejected as f64,
        coalesced: s.coalesced as f64,
        rate_waits: s.rate_waits as f64,
        rate_wait_ms: s.rate_wait_ms as f64,
        rate_limited: s.rate_limited as f64,
        pause_waits: s.pause_waits as f64,
        pauses_published: s.pauses_published as f64,
        pause_ms: s.pause_ms as f64,
        breaker_hints_published: s.hints_published as f64,
        breaker_hints_applied: s.hints_applied as f64,
    }
}
