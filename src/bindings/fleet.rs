//! The `fleet` option and `getStats().fleet`, between JS and `crate::fleet`.

use napi_derive::napi;

use crate::fleet::rate::RateConfig;
use crate::fleet::{FleetConfig, FleetSnapshot, DEFAULT_BURST};

#[napi(object)]
pub struct FleetOptions {
    /// `redis://[user:password@]host:port[/db]`.
    pub redis: String,
    pub key_prefix: Option<String>,
    pub api_key_scope: Option<bool>,
    pub deadline_ms: Option<f64>,
    pub rate_per_second: Option<f64>,
    pub burst: Option<f64>,
    pub coalesce_ms: Option<f64>,
    pub shared_cache: Option<bool>,
    pub breaker_hint: Option<bool>,
}

fn whole_ms(name: &str, value: Option<f64>, default: u64) -> Result<u64, String> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 => Ok(v as u64),
        Some(v) => Err(format!("fleet.{name} must be a whole number of ms, got {v}")),
    }
}

pub fn fleet_config(options: &FleetOptions) -> Result<FleetConfig, String> {
    let d = FleetConfig::new(options.redis.clone());
    if options.burst.is_some() && options.rate_per_second.is_none() {
        return Err("fleet.burst needs fleet.ratePerSecond".into());
    }
    let config = FleetConfig {
        key_prefix: options.key_prefix.clone().unwrap_or(d.key_prefix.clone()),
        api_key_scope: options.api_key_scope.unwrap_or(d.api_key_scope),
        deadline_ms: whole_ms("deadlineMs", options.deadline_ms, d.deadline_ms)?,
        rate: options.rate_per_second.map(|per_second| RateConfig { per_second, burst: options.burst.unwrap_or(DEFAULT_BURST) }),
        shared_cache: options.shared_cache.unwrap_or(d.shared_cache),
        breaker_hint: options.breaker_hint.unwrap_or(d.breaker_hint),
        coalesce_ms: whole_ms("coalesceMs", options.coalesce_ms, d.coalesce_ms)?,
        ..d
    };
    config.validate()?;
    Ok(config)
}

#[napi(object)]
pub struct FleetStats {
    /// The last Redis command (or probe) got an answer.
    pub connected: bool,
    /// Redis is unavailable: the client runs local-only until a probe succeeds.
    pub degraded: bool,
    pub errors: f64,
    pub timeouts: f64,
    /// Redis commands not sent because Redis was known to be down.
    pub skipped: f64,
    pub degradations: f64,
    pub restorations: f64,
    pub l2_hits: f64,
    pub l2_misses: f64,
    pub l2_writes: f64,
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
        errors: s.errors as f64,
        timeouts: s.timeouts as f64,
        skipped: s.skipped as f64,
        degradations: s.degradations as f64,
        restorations: s.restorations as f64,
        l2_hits: s.l2_hits as f64,
        l2_misses: s.l2_misses as f64,
        l2_writes: s.l2_writes as f64,
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
