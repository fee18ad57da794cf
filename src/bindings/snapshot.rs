//! `getStats()`'s shape for JS: the client's snapshot (`crate::client::snapshot`) as napi
//! objects, field by field.

use napi_derive::napi;

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
    /// Events dropped on their way to the listeners: the JS thread fell behind the event queue
    /// (65,536 events). 0 unless it did.
    pub events_dropped: f64,
    /// Telemetry records (the `logger`'s attempt records, `chittyid:request` trace events)
    /// dropped: the JS thread fell behind their queue (65,536 records). 0 unless it did.
    pub telemetry_dropped: f64,
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

pub fn to_client_stats(s: crate::client::snapshot::ClientSnapshot) -> ClientStats {
    let ops: Vec<OperationStats> = s.operations.iter().map(to_operation_stats).collect();
    let retries = s.operations.iter().map(|o| o.retries).sum::<u64>() as f64;
    let mut ops = ops.into_iter();
    let mut next = || ops.next().expect("one snapshot per operation");
    ClientStats {
        requests: RequestStats { mint: next(), mint_batch: next(), validate: next(), health_check: next() },
        retries,
        rejected_by_breaker: s.rejected_by_breaker as f64,
        breaker: s.breaker.as_ref().map(to_breaker_stats),
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
        events_dropped: s.events_dropped as f64,
        telemetry_dropped: s.telemetry_dropped as f64,
        client_rate_limit: s.rate_limit.as_ref().map(|t| ClientRateLimitStats {
            requests_per_second: t.config.requests_per_second,
            burst: t.config.burst,
            waits: t.waits as f64,
            rejected: t.rejected as f64,
        }),
    }
}
