//! Every option JS hands to native code, translated into a [`ClientBuilder`] in one place.
//!
//! The client's options arrive checked: `lib/options.js` (and the portable build's
//! `lib/portable/options.js`) apply the options table `lib/options.json`, the one home of every
//! option's default and range (docs/ARCHITECTURE.md "Options"). Here an absent field keeps the
//! builder's default, and a given numeric one passes [`table::check`] (the same table, the same
//! rule) before it is converted, so a direct `new NativeClient()` refuses what JS refuses; what
//! the plain types require of their values is checked by [`ClientBuilder::build`]. The compat
//! classes and the emulator check their own options ([`rules`]).

mod defaults;
pub mod rules;

use rules::Checked;
pub use rules::{
    compat_breaker_config, compat_retry_policy, count, invalid, lenient_jitter, lenient_millis, lenient_multiplier,
    millis,
};

use napi_derive::napi;

use crate::cache::{CacheConfig, DEFAULT_NEGATIVE_TTL_MS};
use crate::client::builder::ClientBuilder;
use crate::client::endpoints::FailoverConfig;
use crate::client::MintRetry;
use crate::connection::ConnectionConfig;
use crate::error::ClientError;
use crate::fleet::budget::RateConfig;
use crate::fleet::{FleetConfig, DEFAULT_BURST};
use crate::id::IdGrammar;
use crate::option_table as table;
use crate::policy::breaker::BreakerConfig;
use crate::policy::bulkhead::{BulkheadConfig, DEFAULT_MAX_QUEUE};
use crate::policy::rate_limit::RateLimitConfig;
use crate::policy::retry::RetryPolicy;
use crate::policy::retry_budget::RetryBudgetConfig;
use crate::transport::config::{ProxySetting, TransportConfig};
use crate::transport::TransportKind;
use crate::wire::WireMode;

// ---------------------------------------------------------------------------------------
// What JS passes

/// `retry` of the client, and the numeric fields of the compat `RETRY_CONFIG`.
#[napi(object)]
pub struct RetryOptions {
    pub max_attempts: Option<f64>,
    pub initial_delay_ms: Option<f64>,
    pub max_delay_ms: Option<f64>,
    pub backoff_multiplier: Option<f64>,
    pub jitter: Option<f64>,
    pub max_retry_after_ms: Option<f64>,
}

/// `retry.budget` (see `retry_budget`).
#[napi(object)]
pub struct RetryBudgetOptions {
    pub ratio: Option<f64>,
    pub window_ms: Option<f64>,
    pub min_per_second: Option<f64>,
}

/// `circuitBreaker` of the client, and the compat `CircuitBreaker(options)`.
#[napi(object)]
pub struct BreakerOptions {
    pub failure_threshold: Option<f64>,
    pub reset_timeout: Option<f64>,
    pub monitor_window: Option<f64>,
    pub half_open_attempts: Option<f64>,
}

#[napi(object)]
pub struct CacheOptions {
    pub max_size: Option<f64>,
    pub ttl_ms: Option<f64>,
    pub negative_ttl_ms: Option<f64>,
    pub stale_if_error_ms: Option<f64>,
    pub negative_stale_if_error_ms: Option<f64>,
}

/// `connection` (see `crate::connection`).
#[napi(object)]
pub struct ConnectionOptions {
    pub health_check_interval: Option<f64>,
    pub reconnect_delay: Option<f64>,
    pub max_reconnect_delay: Option<f64>,
    pub reconnect_multiplier: Option<f64>,
    /// `Infinity` never gives up.
    pub max_reconnect_attempts: Option<f64>,
    pub jitter: Option<f64>,
    /// Handled by the JS wrapper (starts monitoring after construction).
    pub auto_connect: Option<bool>,
}

/// `failover` (see `client::endpoints`).
#[napi(object)]
pub struct FailoverOptions {
    pub probe_interval_ms: Option<f64>,
    pub failback_successes: Option<f64>,
}

/// `bulkhead` (see `policy::bulkhead`).
#[napi(object)]
pub struct BulkheadOptions {
    pub max_concurrent: Option<f64>,
    pub max_queue: Option<f64>,
}

/// `rateLimit` (see `policy::rate_limit`).
#[napi(object)]
pub struct ClientRateLimitOptions {
    pub requests_per_second: f64,
    pub burst: Option<f64>,
}

/// `fleet` (see `crate::fleet`).
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

#[napi(object)]
pub struct ProxyEnvOptions {
    pub http: Option<String>,
    pub https: Option<String>,
    pub no_proxy: Option<String>,
}

/// `new NativeClient(options)`: the client's config as `lib/options.js` normalized it.
#[napi(object)]
pub struct NativeClientOptions {
    pub service_url: Option<String>,
    /// `serviceUrl` given as a list: the endpoints after the first (`service_url`), in order.
    pub fallback_urls: Option<Vec<String>>,
    pub failover: Option<FailoverOptions>,
    pub allow_insecure: Option<bool>,
    /// Extra trusted CA certificates, PEM text.
    pub ca: Option<Vec<String>>,
    pub api_key: Option<String>,
    pub timeout: Option<f64>,
    pub max_response_bytes: Option<f64>,
    /// Requests in flight at once (HTTP/1.1 connections); more wait.
    pub max_connections: Option<f64>,
    /// False when `NODE_TLS_REJECT_UNAUTHORIZED=0` (read and warned about by the JS side).
    pub verify_tls: Option<bool>,
    /// The `proxy` option's URL.
    pub proxy_url: Option<String>,
    /// The proxy environment variables, when the process opted in to them.
    pub proxy_env: Option<ProxyEnvOptions>,
    /// `retry_enabled: false` (`retry: false`) turns retry off.
    pub retry: Option<RetryOptions>,
    pub retry_enabled: Option<bool>,
    /// `retry.mint`: `"safe"` or `"idempotent"` (see `MintRetry`).
    pub mint_retry: Option<String>,
    /// `retry_budget_enabled: false` (`budget: false`) lifts the cap.
    pub retry_budget: Option<RetryBudgetOptions>,
    pub retry_budget_enabled: Option<bool>,
    pub circuit_breaker: Option<BreakerOptions>,
    pub circuit_breaker_enabled: Option<bool>,
    pub cache: Option<CacheOptions>,
    pub cache_enabled: Option<bool>,
    /// `"client"` or `"process"`: share cache and breaker per service URL process-wide.
    pub scope: Option<String>,
    pub connection: Option<ConnectionOptions>,
    pub connection_enabled: Option<bool>,
    /// `"native"` or `"fetch"`: exchanges through `globalThis.fetch` (`bindings::fetch_transport`).
    pub transport: Option<String>,
    /// Constant labels on every series of `metrics()`, as `[name, value, ...]`.
    pub metric_labels: Option<Vec<String>>,
    /// Off unless given.
    pub fleet: Option<FleetOptions>,
    /// Off unless given.
    pub bulkhead: Option<BulkheadOptions>,
    /// The client-side rate limit; off unless given.
    pub rate_limit: Option<ClientRateLimitOptions>,
    /// `"auto"`, `"v1"` or `"deployed"` (see `crate::wire`).
    pub wire: Option<String>,
    /// Placeholder ids resolve (marked) instead of rejecting with `EPLACEHOLDER`.
    pub accept_placeholders: Option<bool>,
    /// `"any"`, `"v1"` or `"deployed"`: the grammars `validateFormat` and `validate()`'s
    /// format-only fallback accept.
    pub id_grammar: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Into the builder

/// The numeric option `path` as JS gave it, checked against the options table (the same rules
/// JS applied first), or `None` when absent.
fn checked(path: &str, value: Option<f64>) -> Checked<Option<f64>> {
    value.map(|v| table::check(path, v)).transpose()
}

/// A duration in ms (a fraction is dropped).
fn ms(path: &str, value: Option<f64>, default: u64) -> Checked<u64> {
    Ok(checked(path, value)?.map_or(default, |v| v as u64))
}

fn n32(path: &str, value: Option<f64>, default: u32) -> Checked<u32> {
    Ok(checked(path, value)?.map_or(default, |v| v as u32))
}

fn num(path: &str, value: Option<f64>, default: f64) -> Checked<f64> {
    Ok(checked(path, value)?.unwrap_or(default))
}

/// A count, or `Infinity` (`None`: no limit).
fn attempts(path: &str, value: Option<f64>, default: Option<u32>) -> Checked<Option<u32>> {
    Ok(match checked(path, value)? {
        None => default,
        Some(v) if v == f64::INFINITY => None,
        Some(v) => Some(v as u32),
    })
}

/// The transport a `transport` value of the table names (`table::TRANSPORT_VALUES`).
fn transport_kind(name: &str) -> TransportKind {
    match name {
        "fetch" => TransportKind::Fetch,
        _ => TransportKind::Native,
    }
}

/// One of `allowed` (the first is the default).
fn one_of<'a>(name: &str, value: Option<&'a str>, allowed: &[&'a str]) -> Checked<&'a str> {
    match value {
        None => Ok(allowed[0]),
        Some(v) if allowed.contains(&v) => Ok(v),
        Some(v) => Err(format!("{name} must be one of {allowed:?}, got {v:?}")),
    }
}

/// `new NativeClient(options)` as a [`ClientBuilder`] (events and clock are the caller's).
pub fn client_builder(o: NativeClientOptions) -> Result<ClientBuilder, ClientError> {
    translate(o).map_err(|detail| ClientError::InvalidArgument { detail })
}

fn translate(o: NativeClientOptions) -> Checked<ClientBuilder> {
    let config = TransportConfig::default();
    let enabled = |flag: Option<bool>| flag != Some(false);
    let mint_retry =
        MintRetry::parse(one_of("retry.mint", o.mint_retry.as_deref(), &table::RETRY_MINT_VALUES)?).unwrap_or_default();
    let negative_ttl_ms =
        ms("cache.negativeTtlMs", o.cache.as_ref().and_then(|c| c.negative_ttl_ms), DEFAULT_NEGATIVE_TTL_MS)?;
    let builder = ClientBuilder::new()
        .service_url(o.service_url.clone().unwrap_or_else(|| config.service_url.clone()))
        .fallback_urls(o.fallback_urls.clone().unwrap_or_default())
        .failover(failover_config(o.failover.as_ref())?)
        .allow_insecure(o.allow_insecure.unwrap_or(config.allow_insecure))
        .api_key(o.api_key.clone())
        .timeout_ms(ms("timeout", o.timeout, config.timeout_ms)?)
        .max_response_bytes(n32("maxResponseBytes", o.max_response_bytes, config.max_response_bytes as u32)? as usize)
        .max_connections(n32("maxConnections", o.max_connections, config.max_connections as u32)? as usize)
        .extra_ca_pem(extra_ca_pem(o.ca.as_deref()))
        .verify_tls(o.verify_tls.unwrap_or(config.verify_tls))
        .proxy(proxy_setting(&o))
        .id_grammar(
            IdGrammar::parse(one_of("idGrammar", o.id_grammar.as_deref(), &table::ID_GRAMMAR_VALUES)?)
                .unwrap_or_default(),
        )
        .process_scope(one_of("scope", o.scope.as_deref(), &table::SCOPE_VALUES)? == "process")
        // Absent: the table's default (JS names one first: lib/options.js `transportOption`).
        .transport(transport_kind(one_of("transport", o.transport.as_deref(), &table::TRANSPORT_VALUES)?))
        .retry(enabled(o.retry_enabled).then(|| retry_policy(o.retry.as_ref())).transpose()?)
        .mint_retry(mint_retry)
        .retry_budget(
            enabled(o.retry_budget_enabled).then(|| retry_budget_config(o.retry_budget.as_ref())).transpose()?,
        )
        .breaker(enabled(o.circuit_breaker_enabled).then(|| breaker_config(o.circuit_breaker.as_ref())).transpose()?)
        .cache(enabled(o.cache_enabled).then(|| cache_config(o.cache.as_ref())).transpose()?)
        .negative_ttl_ms(negative_ttl_ms)
        .connection(enabled(o.connection_enabled).then(|| connection_config(o.connection.as_ref())).transpose()?)
        .bulkhead(o.bulkhead.as_ref().map(bulkhead_config).transpose()?)
        .rate_limit(o.rate_limit.as_ref().map(rate_limit_config).transpose()?)
        .fleet(o.fleet.as_ref().map(fleet_config).transpose()?)
        .metric_labels(
            o.metric_labels.unwrap_or_default().chunks_exact(2).map(|kv| (kv[0].clone(), kv[1].clone())).collect(),
        )
        .wire(WireMode::parse(one_of("wire", o.wire.as_deref(), &table::WIRE_VALUES)?).unwrap_or_default())
        .accept_placeholders(o.accept_placeholders.unwrap_or(table::ACCEPT_PLACEHOLDERS));
    Ok(builder)
}

fn retry_policy(options: Option<&RetryOptions>) -> Checked<RetryPolicy> {
    let d = RetryPolicy::default();
    let Some(r) = options else { return Ok(d) };
    Ok(RetryPolicy {
        max_attempts: n32("retry.maxAttempts", r.max_attempts, d.max_attempts)?,
        initial_delay_ms: ms("retry.initialDelayMs", r.initial_delay_ms, d.initial_delay_ms)?,
        max_delay_ms: ms("retry.maxDelayMs", r.max_delay_ms, d.max_delay_ms)?,
        multiplier: num("retry.backoffMultiplier", r.backoff_multiplier, d.multiplier)?,
        jitter: num("retry.jitter", r.jitter, d.jitter)?,
        max_retry_after_ms: ms("retry.maxRetryAfterMs", r.max_retry_after_ms, d.max_retry_after_ms)?,
    })
}

fn retry_budget_config(options: Option<&RetryBudgetOptions>) -> Checked<RetryBudgetConfig> {
    let d = RetryBudgetConfig::default();
    let Some(b) = options else { return Ok(d) };
    Ok(RetryBudgetConfig {
        ratio: num("retry.budget.ratio", b.ratio, d.ratio)?,
        window_ms: ms("retry.budget.windowMs", b.window_ms, d.window_ms)?,
        min_per_second: n32("retry.budget.minPerSecond", b.min_per_second, d.min_per_second)?,
    })
}

fn breaker_config(options: Option<&BreakerOptions>) -> Checked<BreakerConfig> {
    let d = BreakerConfig::default();
    let Some(b) = options else { return Ok(d) };
    Ok(BreakerConfig {
        failure_threshold: n32("circuitBreaker.failureThreshold", b.failure_threshold, d.failure_threshold)?,
        reset_timeout_ms: ms("circuitBreaker.resetTimeout", b.reset_timeout, d.reset_timeout_ms)?,
        monitor_window_ms: ms("circuitBreaker.monitorWindow", b.monitor_window, d.monitor_window_ms)?,
        half_open_attempts: n32("circuitBreaker.halfOpenAttempts", b.half_open_attempts, d.half_open_attempts)?,
    })
}

fn cache_config(options: Option<&CacheOptions>) -> Checked<CacheConfig> {
    let d = CacheConfig::default();
    let Some(c) = options else { return Ok(d) };
    Ok(CacheConfig {
        max_size: n32("cache.maxSize", c.max_size, d.max_size as u32)? as usize,
        ttl_ms: ms("cache.ttlMs", c.ttl_ms, d.ttl_ms)?,
        stale_if_error_ms: ms("cache.staleIfErrorMs", c.stale_if_error_ms, d.stale_if_error_ms)?,
        negative_stale_if_error_ms: ms(
            "cache.negativeStaleIfErrorMs",
            c.negative_stale_if_error_ms,
            d.negative_stale_if_error_ms,
        )?,
    })
}

fn connection_config(options: Option<&ConnectionOptions>) -> Checked<ConnectionConfig> {
    let d = ConnectionConfig::default();
    let Some(o) = options else { return Ok(d) };
    Ok(ConnectionConfig {
        health_check_interval_ms: ms(
            "connection.healthCheckInterval",
            o.health_check_interval,
            d.health_check_interval_ms,
        )?,
        reconnect_delay_ms: ms("connection.reconnectDelay", o.reconnect_delay, d.reconnect_delay_ms)?,
        max_reconnect_delay_ms: ms("connection.maxReconnectDelay", o.max_reconnect_delay, d.max_reconnect_delay_ms)?,
        multiplier: num("connection.reconnectMultiplier", o.reconnect_multiplier, d.multiplier)?,
        max_reconnect_attempts: attempts(
            "connection.maxReconnectAttempts",
            o.max_reconnect_attempts,
            d.max_reconnect_attempts,
        )?,
        jitter: num("connection.jitter", o.jitter, d.jitter)?,
    })
}

fn failover_config(options: Option<&FailoverOptions>) -> Checked<FailoverConfig> {
    let d = FailoverConfig::default();
    let Some(f) = options else { return Ok(d) };
    Ok(FailoverConfig {
        probe_interval_ms: ms("failover.probeIntervalMs", f.probe_interval_ms, d.probe_interval_ms)?.max(1),
        failback_successes: n32("failover.failbackSuccesses", f.failback_successes, d.failback_successes)?,
    })
}

fn bulkhead_config(options: &BulkheadOptions) -> Checked<BulkheadConfig> {
    let Some(max_concurrent) = options.max_concurrent else {
        return Err("bulkhead.maxConcurrent is required".into());
    };
    Ok(BulkheadConfig {
        max_concurrent: n32("bulkhead.maxConcurrent", Some(max_concurrent), 1)?,
        max_queue: n32("bulkhead.maxQueue", options.max_queue, DEFAULT_MAX_QUEUE)?,
    })
}

fn rate_limit_config(options: &ClientRateLimitOptions) -> Checked<RateLimitConfig> {
    let per_second = num("rateLimit.requestsPerSecond", Some(options.requests_per_second), 0.0)?;
    Ok(RateLimitConfig {
        requests_per_second: per_second,
        burst: n32("rateLimit.burst", options.burst, RateLimitConfig::default_burst(per_second))?,
    })
}

fn fleet_config(options: &FleetOptions) -> Checked<FleetConfig> {
    let d = FleetConfig::new(options.redis.clone());
    if options.burst.is_some() && options.rate_per_second.is_none() {
        return Err("fleet.burst needs fleet.ratePerSecond".into());
    }
    let rate = match options.rate_per_second {
        None => None,
        Some(per_second) => Some(RateConfig {
            per_second: num("fleet.ratePerSecond", Some(per_second), 0.0)?,
            burst: num("fleet.burst", options.burst, DEFAULT_BURST)?,
        }),
    };
    Ok(FleetConfig {
        key_prefix: options.key_prefix.clone().unwrap_or(d.key_prefix.clone()),
        api_key_scope: options.api_key_scope.unwrap_or(d.api_key_scope),
        deadline_ms: ms("fleet.deadlineMs", options.deadline_ms, d.deadline_ms)?,
        rate,
        shared_cache: options.shared_cache.unwrap_or(d.shared_cache),
        breaker_hint: options.breaker_hint.unwrap_or(d.breaker_hint),
        coalesce_ms: ms("fleet.coalesceMs", options.coalesce_ms, d.coalesce_ms)?,
        ..d
    })
}

fn proxy_setting(opts: &NativeClientOptions) -> ProxySetting {
    match (&opts.proxy_url, &opts.proxy_env) {
        (Some(url), _) => ProxySetting::Url(url.clone()),
        (None, Some(env)) => {
            ProxySetting::Env { http: env.http.clone(), https: env.https.clone(), no_proxy: env.no_proxy.clone() }
        }
        (None, None) => ProxySetting::Direct,
    }
}

/// Roots beyond the bundled ones: the `ca` option, then the files Node and OpenSSL users
/// already point at (`NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`). Like Node, an unreadable file is
/// skipped rather than fatal.
fn extra_ca_pem(option: Option<&[String]>) -> Vec<Vec<u8>> {
    let mut pems: Vec<Vec<u8>> = option.unwrap_or_default().iter().map(|p| p.as_bytes().to_vec()).collect();
    for var in ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"] {
        if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            match std::fs::read(&path) {
                Ok(pem) => pems.push(pem),
                Err(e) => tracing::warn!(variable = var, error = %e, "ignoring unreadable CA file"),
            }
        }
    }
    pems
}

#[cfg(test)]
mod tests;
