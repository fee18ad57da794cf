//! Every option JS hands to native code, converted in one place and by one rule: an absent
//! field takes its default, which is defined once, beside the plain type it configures
//! (`ClientConfig`, `RetryPolicy`, `RetryBudgetConfig`, `BreakerConfig`, `CacheConfig`,
//! `ConnectionConfig`, `FailoverConfig`, `BulkheadConfig`, `RateLimitConfig`, `FleetConfig`);
//! any value given must be in range, or the call fails with [`invalid`] (a `TypeError` with
//! `code: "ERR_INVALID_ARG_VALUE"` once JS rethrows it). No value is ever wrapped, truncated
//! into range or silently replaced by its default.
//!
//! `lib/options.js` checks the same ranges first, with messages naming the JS option; the
//! checks here guard the native classes against direct use. [`client_defaults`] hands every
//! default to JS, so JS never restates one.

use napi_derive::napi;

use crate::bindings::errors::to_napi_error;
use crate::cache::{CacheConfig, DEFAULT_NEGATIVE_TTL_MS};
use crate::client::config::{self, normalize_service_url, normalize_timeout, ClientConfig, ProxySetting};
use crate::client::endpoints::FailoverConfig;
use crate::client::MintRetry;
use crate::connection::ConnectionConfig;
use crate::error::ClientError;
use crate::fleet::budget::RateConfig;
use crate::fleet::{FleetConfig, DEFAULT_BURST};
use crate::id::IdGrammar;
use crate::policy::breaker::BreakerConfig;
use crate::policy::bulkhead::{BulkheadConfig, DEFAULT_MAX_QUEUE};
use crate::policy::rate_limit::RateLimitConfig;
use crate::policy::retry::{default_retryable_errors, RetryPolicy};
use crate::policy::retry_budget::RetryBudgetConfig;
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

/// `connection` (see `monitor`).
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

/// `failover` (see `endpoints`).
#[napi(object)]
pub struct FailoverOptions {
    pub probe_interval_ms: Option<f64>,
    pub failback_successes: Option<f64>,
}

/// `bulkhead` (see `bulkhead`).
#[napi(object)]
pub struct BulkheadOptions {
    pub max_concurrent: Option<f64>,
    pub max_queue: Option<f64>,
}

/// `rateLimit` (see `token_bucket`).
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
// What native code gets

/// The validation cache's settings.
#[derive(Debug, PartialEq)]
pub struct CacheSettings {
    pub config: CacheConfig,
    /// How long a "not valid" answer is served (at most `config.ttl_ms`).
    pub negative_ttl_ms: u64,
}

/// Every option of a client, checked; `None` where a policy is off.
pub struct ClientSettings {
    pub config: ClientConfig,
    /// Normalized like `config.service_url`.
    pub fallback_urls: Vec<String>,
    pub failover: FailoverConfig,
    pub transport: TransportKind,
    pub retry: Option<RetryPolicy>,
    pub mint_retry: MintRetry,
    pub retry_budget: Option<RetryBudgetConfig>,
    pub breaker: Option<BreakerConfig>,
    pub cache: Option<CacheSettings>,
    pub connection: Option<ConnectionConfig>,
    /// `scope: "process"`: cache, breaker and rate-limit gate shared per service URL.
    pub process_scope: bool,
    pub bulkhead: Option<BulkheadConfig>,
    pub rate_limit: Option<RateLimitConfig>,
    pub fleet: Option<FleetConfig>,
    pub metric_labels: Vec<(String, String)>,
    pub wire: WireMode,
    pub accept_placeholders: bool,
}

/// An option the caller got wrong; JS rethrows it as a `TypeError` (`ERR_INVALID_ARG_VALUE`).
pub fn invalid(detail: String) -> napi::Error {
    to_napi_error(&ClientError::InvalidArgument { detail })
}

// ---------------------------------------------------------------------------------------
// The number rules, one each

/// Largest number JS holds exactly; numeric options above it are refused rather than rounded.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

pub type Checked<T> = std::result::Result<T, String>;

/// A duration in ms: a finite number from 0 to 2^53-1 (a fraction is dropped).
pub fn millis(name: &str, value: Option<f64>, default: u64) -> Checked<u64> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && (0.0..=MAX_SAFE_INTEGER).contains(&v) => Ok(v as u64),
        Some(v) => Err(format!("{name} must be a finite number of ms from 0 to 2^53-1, got {v}")),
    }
}

/// Like [`millis`], and `Infinity` means "never" (the compat classes accept it, as v1 did).
fn millis_or_never(name: &str, value: Option<f64>, default: u64) -> Checked<u64> {
    match value {
        Some(v) if v == f64::INFINITY => Ok(u64::MAX),
        _ => millis(name, value, default),
    }
}

/// A count: an integer from `min` to 2^32-1.
pub fn count(name: &str, value: Option<f64>, default: u32, min: u32) -> Checked<u32> {
    match value {
        None => Ok(default),
        Some(v) if v.fract() == 0.0 && (f64::from(min)..=f64::from(u32::MAX)).contains(&v) => Ok(v as u32),
        Some(v) => Err(format!("{name} must be an integer from {min} to {}, got {v}", u32::MAX)),
    }
}

/// A count that may be `Infinity` (`None`: no limit).
fn count_or_unlimited(name: &str, value: Option<f64>, default: Option<u32>) -> Checked<Option<u32>> {
    match value {
        None => Ok(default),
        Some(v) if v == f64::INFINITY => Ok(None),
        Some(v) if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) => Ok(Some(v as u32)),
        Some(v) => Err(format!("{name} must be an integer from 0 to {} or Infinity, got {v}", u32::MAX)),
    }
}

/// A finite number from 0 to 2^53-1 (ratios, multipliers, jitter; tighter bounds are checked
/// by the type they configure).
fn number(name: &str, value: Option<f64>, default: f64) -> Checked<f64> {
    match value {
        None => Ok(default),
        Some(v) if (0.0..=MAX_SAFE_INTEGER).contains(&v) => Ok(v),
        Some(v) => Err(format!("{name} must be a finite number from 0 to 2^53-1, got {v}")),
    }
}

/// The values of `scope`; the first is the default.
const SCOPES: [&str; 2] = ["client", "process"];
/// The values of `transport` on the native side; the first is the default (JS picks one first).
const TRANSPORTS: [&str; 2] = ["native", "fetch"];

/// One of `allowed` (the first is the default).
fn one_of<'a>(name: &str, value: Option<&'a str>, allowed: &[&'a str]) -> Checked<&'a str> {
    match value {
        None => Ok(allowed[0]),
        Some(v) if allowed.contains(&v) => Ok(v),
        Some(v) => Err(format!("{name} must be one of {allowed:?}, got {v:?}")),
    }
}

// ---------------------------------------------------------------------------------------
// The client

/// Converts and checks every option of `new NativeClient(options)`.
pub fn client_settings(options: NativeClientOptions) -> std::result::Result<ClientSettings, ClientError> {
    let invalid = |detail: String| ClientError::InvalidArgument { detail };
    let allow_insecure = options.allow_insecure.unwrap_or(false);
    let service_url = match &options.service_url {
        Some(url) => normalize_service_url(url, allow_insecure)?,
        None => config::DEFAULT_SERVICE_URL.to_owned(),
    };
    let fallback_urls = options
        .fallback_urls
        .iter()
        .flatten()
        .map(|url| normalize_service_url(url, allow_insecure))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let d = ClientConfig::default();
    let config = ClientConfig {
        service_url,
        api_key: options.api_key.clone().filter(|k| !k.is_empty()),
        timeout_ms: normalize_timeout(options.timeout)?,
        max_response_bytes: count("maxResponseBytes", options.max_response_bytes, d.max_response_bytes as u32, 1)
            .map_err(invalid)? as usize,
        extra_ca_pem: extra_ca_pem(options.ca.as_deref()),
        verify_tls: options.verify_tls.unwrap_or(d.verify_tls),
        allow_insecure,
        max_connections: max_connections(options.max_connections).map_err(invalid)?,
        proxy: proxy_setting(&options),
        id_grammar: id_grammar(options.id_grammar.as_deref()).map_err(invalid)?,
    };
    let process_scope = one_of("scope", options.scope.as_deref(), &SCOPES).map_err(invalid)? == "process";
    let transport = match one_of("transport", options.transport.as_deref(), &TRANSPORTS).map_err(invalid)? {
        "fetch" => TransportKind::Fetch,
        _ => TransportKind::Native,
    };
    let mint_retry = match options.mint_retry.as_deref() {
        None => MintRetry::default(),
        Some(v) => MintRetry::parse(v)
            .ok_or_else(|| invalid(format!("retry.mint must be \"safe\" or \"idempotent\", got {v:?}")))?,
    };
    let enabled = |flag: Option<bool>| flag != Some(false);
    let retry_on = enabled(options.retry_enabled);
    let settings = ClientSettings {
        config,
        fallback_urls,
        failover: failover_config(options.failover.as_ref()).map_err(invalid)?,
        transport,
        retry: retry_on.then(|| retry_policy(options.retry.as_ref())).transpose().map_err(invalid)?,
        mint_retry,
        retry_budget: (retry_on && enabled(options.retry_budget_enabled))
            .then(|| retry_budget_config(options.retry_budget.as_ref()))
            .transpose()
            .map_err(invalid)?,
        breaker: enabled(options.circuit_breaker_enabled)
            .then(|| breaker_config(options.circuit_breaker.as_ref()))
            .transpose()
            .map_err(invalid)?,
        cache: enabled(options.cache_enabled)
            .then(|| cache_settings(options.cache.as_ref()))
            .transpose()
            .map_err(invalid)?,
        connection: enabled(options.connection_enabled)
            .then(|| connection_config(options.connection.as_ref()))
            .transpose()
            .map_err(invalid)?,
        process_scope,
        bulkhead: options.bulkhead.as_ref().map(bulkhead_config).transpose().map_err(invalid)?,
        rate_limit: options.rate_limit.as_ref().map(rate_limit_config).transpose().map_err(invalid)?,
        fleet: options.fleet.as_ref().map(fleet_config).transpose().map_err(invalid)?,
        metric_labels: options
            .metric_labels
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|kv| (kv[0].clone(), kv[1].clone()))
            .collect(),
        wire: WireMode::parse(one_of("wire", options.wire.as_deref(), &WireMode::VALUES).map_err(invalid)?)
            .unwrap_or_default(),
        accept_placeholders: options.accept_placeholders.unwrap_or(false),
    };
    crate::client::metrics::check_constant_labels(&settings.metric_labels).map_err(invalid)?;
    Ok(settings)
}

/// `idGrammar`: one of `IdGrammar::NAMES` (the first is the default).
fn id_grammar(value: Option<&str>) -> Checked<IdGrammar> {
    let name = one_of("idGrammar", value, &IdGrammar::NAMES)?;
    Ok(IdGrammar::parse(name).unwrap_or_default())
}

fn max_connections(value: Option<f64>) -> Checked<usize> {
    let d = ClientConfig::default().max_connections;
    count("maxConnections", value, d as u32, 1).and_then(|n| match n {
        1..=65_535 => Ok(n as usize),
        _ => Err(format!("maxConnections must be an integer from 1 to 65535, got {n}")),
    })
}

fn retry_policy(options: Option<&RetryOptions>) -> Checked<RetryPolicy> {
    let d = RetryPolicy::default();
    let Some(r) = options else { return Ok(d) };
    let policy = RetryPolicy {
        max_attempts: count("retry.maxAttempts", r.max_attempts, d.max_attempts, 1)?,
        initial_delay_ms: millis("retry.initialDelayMs", r.initial_delay_ms, d.initial_delay_ms)?,
        max_delay_ms: millis("retry.maxDelayMs", r.max_delay_ms, d.max_delay_ms)?,
        multiplier: number("retry.backoffMultiplier", r.backoff_multiplier, d.multiplier)?,
        jitter: number("retry.jitter", r.jitter, d.jitter)?,
        max_retry_after_ms: millis("retry.maxRetryAfterMs", r.max_retry_after_ms, d.max_retry_after_ms)?,
    };
    policy.validate().map_err(|e| format!("invalid retry option: {e}"))?;
    Ok(policy)
}

fn retry_budget_config(options: Option<&RetryBudgetOptions>) -> Checked<RetryBudgetConfig> {
    let d = RetryBudgetConfig::default();
    let Some(b) = options else { return Ok(d) };
    let config = RetryBudgetConfig {
        ratio: number("retry.budget.ratio", b.ratio, d.ratio)?,
        window_ms: millis("retry.budget.windowMs", b.window_ms, d.window_ms)?,
        min_per_second: count("retry.budget.minPerSecond", b.min_per_second, d.min_per_second, 0)?,
    };
    config.validate()?;
    Ok(config)
}

fn breaker_config(options: Option<&BreakerOptions>) -> Checked<BreakerConfig> {
    let d = BreakerConfig::default();
    let Some(b) = options else { return Ok(d) };
    let config = BreakerConfig {
        failure_threshold: count("circuitBreaker.failureThreshold", b.failure_threshold, d.failure_threshold, 0)?,
        reset_timeout_ms: millis("circuitBreaker.resetTimeout", b.reset_timeout, d.reset_timeout_ms)?,
        monitor_window_ms: millis("circuitBreaker.monitorWindow", b.monitor_window, d.monitor_window_ms)?,
        half_open_successes: count("circuitBreaker.halfOpenAttempts", b.half_open_attempts, d.half_open_successes, 0)?,
    };
    config.validate().map_err(|e| format!("invalid circuitBreaker option: {e}"))?;
    Ok(config)
}

fn cache_settings(options: Option<&CacheOptions>) -> Checked<CacheSettings> {
    let d = CacheConfig::default();
    let field = |get: fn(&CacheOptions) -> Option<f64>| options.and_then(get);
    let config = CacheConfig {
        max_size: count("cache.maxSize", field(|c| c.max_size), d.max_size as u32, 1)? as usize,
        ttl_ms: millis("cache.ttlMs", field(|c| c.ttl_ms), d.ttl_ms)?,
        stale_if_error_ms: millis("cache.staleIfErrorMs", field(|c| c.stale_if_error_ms), d.stale_if_error_ms)?,
        negative_stale_if_error_ms: millis(
            "cache.negativeStaleIfErrorMs",
            field(|c| c.negative_stale_if_error_ms),
            d.negative_stale_if_error_ms,
        )?,
    };
    config.validate().map_err(|e| format!("invalid cache option: {e}"))?;
    let negative_ttl_ms = millis("cache.negativeTtlMs", field(|c| c.negative_ttl_ms), DEFAULT_NEGATIVE_TTL_MS)?;
    Ok(CacheSettings { config, negative_ttl_ms })
}

fn connection_config(options: Option<&ConnectionOptions>) -> Checked<ConnectionConfig> {
    let d = ConnectionConfig::default();
    let Some(o) = options else { return Ok(d) };
    let config = ConnectionConfig {
        health_check_interval_ms: millis(
            "connection.healthCheckInterval",
            o.health_check_interval,
            d.health_check_interval_ms,
        )?,
        reconnect_delay_ms: millis("connection.reconnectDelay", o.reconnect_delay, d.reconnect_delay_ms)?,
        max_reconnect_delay_ms: millis(
            "connection.maxReconnectDelay",
            o.max_reconnect_delay,
            d.max_reconnect_delay_ms,
        )?,
        multiplier: number("connection.reconnectMultiplier", o.reconnect_multiplier, d.multiplier)?,
        max_reconnect_attempts: count_or_unlimited(
            "connection.maxReconnectAttempts",
            o.max_reconnect_attempts,
            d.max_reconnect_attempts,
        )?,
        jitter: number("connection.jitter", o.jitter, d.jitter)?,
    };
    config.validate()?;
    Ok(config)
}

fn failover_config(options: Option<&FailoverOptions>) -> Checked<FailoverConfig> {
    let d = FailoverConfig::default();
    let Some(f) = options else { return Ok(d) };
    Ok(FailoverConfig {
        probe_interval_ms: millis("failover.probeIntervalMs", f.probe_interval_ms, d.probe_interval_ms)?.max(1),
        failback_successes: count("failover.failbackSuccesses", f.failback_successes, d.failback_successes, 1)?,
    })
}

fn bulkhead_config(options: &BulkheadOptions) -> Checked<BulkheadConfig> {
    let Some(max_concurrent) = options.max_concurrent else {
        return Err("bulkhead.maxConcurrent is required".into());
    };
    let config = BulkheadConfig {
        max_concurrent: count("bulkhead.maxConcurrent", Some(max_concurrent), 1, 1)?,
        max_queue: count("bulkhead.maxQueue", options.max_queue, DEFAULT_MAX_QUEUE, 0)?,
    };
    config.validate()?;
    Ok(config)
}

fn rate_limit_config(options: &ClientRateLimitOptions) -> Checked<RateLimitConfig> {
    let per_second = options.requests_per_second;
    let config = RateLimitConfig {
        requests_per_second: per_second,
        burst: count("rateLimit.burst", options.burst, RateLimitConfig::default_burst(per_second), 1)?,
    };
    config.validate()?;
    Ok(config)
}

fn fleet_config(options: &FleetOptions) -> Checked<FleetConfig> {
    let d = FleetConfig::new(options.redis.clone());
    if options.burst.is_some() && options.rate_per_second.is_none() {
        return Err("fleet.burst needs fleet.ratePerSecond".into());
    }
    let rate = match options.rate_per_second {
        None => None,
        Some(per_second) => Some(RateConfig {
            per_second: number("fleet.ratePerSecond", Some(per_second), 0.0)?,
            burst: number("fleet.burst", options.burst, DEFAULT_BURST)?,
        }),
    };
    let config = FleetConfig {
        key_prefix: options.key_prefix.clone().unwrap_or(d.key_prefix.clone()),
        api_key_scope: options.api_key_scope.unwrap_or(d.api_key_scope),
        deadline_ms: millis("fleet.deadlineMs", options.deadline_ms, d.deadline_ms)?,
        rate,
        shared_cache: options.shared_cache.unwrap_or(d.shared_cache),
        breaker_hint: options.breaker_hint.unwrap_or(d.breaker_hint),
        coalesce_ms: millis("fleet.coalesceMs", options.coalesce_ms, d.coalesce_ms)?,
        ..d
    };
    config.validate()?;
    Ok(config)
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

// ---------------------------------------------------------------------------------------
// The compat classes (README "Compat layer")

/// The compat `ChittyIDConnectionManager`'s live properties, read at each reconnect as v1 read
/// them: a value that is not a number of ms >= 0 (NaN, negative) counts as 0, and a huge one
/// saturates, so a property a caller set oddly can never throw inside a timer callback.
pub fn lenient_millis(value: f64) -> u64 {
    if value.is_nan() || value <= 0.0 {
        0
    } else {
        value as u64
    }
}

/// Like [`lenient_millis`] for the compat manager's growth factor (NaN counts as 1: no growth)
/// and jitter (absent or not finite: none; clamped to 0..1).
pub fn lenient_multiplier(value: f64) -> f64 {
    if value.is_nan() {
        1.0
    } else {
        value.max(0.0)
    }
}

pub fn lenient_jitter(value: Option<f64>) -> f64 {
    value.filter(|j| j.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0)
}

/// The compat `CircuitBreaker(options)`: the client's fields, counts from 1, and durations may
/// be `Infinity`, as v1 allowed.
pub fn compat_breaker_config(options: &BreakerOptions) -> Checked<BreakerConfig> {
    let d = BreakerConfig::default();
    let config = BreakerConfig {
        failure_threshold: count("failureThreshold", options.failure_threshold, d.failure_threshold, 1)?,
        reset_timeout_ms: millis_or_never("resetTimeout", options.reset_timeout, d.reset_timeout_ms)?,
        monitor_window_ms: match millis_or_never("monitorWindow", options.monitor_window, d.monitor_window_ms)? {
            0 => return Err("monitorWindow must be at least 1 ms".into()),
            ms => ms,
        },
        half_open_successes: count("halfOpenAttempts", options.half_open_attempts, d.half_open_successes, 1)?,
    };
    config.validate()?;
    Ok(config)
}

/// The compat `withRetry` schedule (`RETRY_CONFIG`'s numeric fields): the client's policy
/// without jitter, so each wait is exactly
/// `min(initialDelayMs * backoffMultiplier^(attempt-1), maxDelayMs)`. `jitter` and
/// `maxRetryAfterMs` are not `withRetry` options and are not read.
pub fn compat_retry_policy(options: &RetryOptions) -> Checked<RetryPolicy> {
    let d = RetryPolicy::default();
    let policy = RetryPolicy {
        max_attempts: count("maxAttempts", options.max_attempts, d.max_attempts, 1)?,
        initial_delay_ms: millis_or_never("initialDelayMs", options.initial_delay_ms, d.initial_delay_ms)?,
        max_delay_ms: millis_or_never("maxDelayMs", options.max_delay_ms, d.max_delay_ms)?,
        multiplier: match options.backoff_multiplier {
            None => d.multiplier,
            Some(m) if m.is_finite() && m >= 1.0 => m,
            Some(m) => return Err(format!("backoffMultiplier must be a finite number >= 1, got {m}")),
        },
        jitter: 0.0,
        max_retry_after_ms: d.max_retry_after_ms,
    };
    policy.validate()?;
    Ok(policy)
}

// ---------------------------------------------------------------------------------------
// The defaults, for JS

/// `fleet` defaults (the `redis` URL has none).
#[napi(object)]
pub struct FleetDefaults {
    pub key_prefix: String,
    pub api_key_scope: bool,
    pub deadline_ms: f64,
    pub burst: f64,
    pub coalesce_ms: f64,
    pub shared_cache: bool,
    pub breaker_hint: bool,
}

/// The default of every option of `new ChittyIDClient(config)` that has a fixed one, shaped as
/// the options are.
#[napi(object)]
pub struct ClientDefaults {
    pub service_url: String,
    pub timeout: f64,
    /// `healthCheck()`'s own timeout, ms (not an option).
    pub health_timeout: f64,
    pub max_response_bytes: f64,
    pub max_connections: f64,
    pub scope: String,
    pub allow_insecure: bool,
    pub id_grammar: String,
    pub retry: RetryOptions,
    /// `retry.mint`.
    pub mint_retry: String,
    /// `retry.budget`.
    pub retry_budget: RetryBudgetOptions,
    pub circuit_breaker: BreakerOptions,
    pub cache: CacheOptions,
    pub connection: ConnectionOptions,
    pub failover: FailoverOptions,
    /// `bulkhead.maxQueue` (the bulkhead itself is off unless given).
    pub bulkhead_max_queue: f64,
    pub fleet: FleetDefaults,
    /// `retryableErrors` of the compat `RETRY_CONFIG`.
    pub retryable_errors: Vec<String>,
    /// `wire`.
    pub wire: String,
    /// The values `wire` accepts.
    pub wires: Vec<String>,
    pub accept_placeholders: bool,
}

/// Every default, read from the types that define them.
#[napi]
pub fn client_defaults() -> ClientDefaults {
    let config = ClientConfig::default();
    let retry = RetryPolicy::default();
    let budget = RetryBudgetConfig::default();
    let breaker = BreakerConfig::default();
    let cache = CacheConfig::default();
    let connection = ConnectionConfig::default();
    let failover = FailoverConfig::default();
    let fleet = FleetConfig::new(String::new());
    ClientDefaults {
        service_url: config.service_url,
        timeout: config.timeout_ms as f64,
        health_timeout: config::HEALTH_TIMEOUT_MS as f64,
        max_response_bytes: config.max_response_bytes as f64,
        max_connections: config.max_connections as f64,
        scope: SCOPES[0].to_owned(),
        allow_insecure: config.allow_insecure,
        id_grammar: config.id_grammar.as_str().to_owned(),
        retry: RetryOptions {
            max_attempts: Some(f64::from(retry.max_attempts)),
            initial_delay_ms: Some(retry.initial_delay_ms as f64),
            max_delay_ms: Some(retry.max_delay_ms as f64),
            backoff_multiplier: Some(retry.multiplier),
            jitter: Some(retry.jitter),
            max_retry_after_ms: Some(retry.max_retry_after_ms as f64),
        },
        mint_retry: MintRetry::default().as_str().to_owned(),
        retry_budget: RetryBudgetOptions {
            ratio: Some(budget.ratio),
            window_ms: Some(budget.window_ms as f64),
            min_per_second: Some(f64::from(budget.min_per_second)),
        },
        circuit_breaker: BreakerOptions {
            failure_threshold: Some(f64::from(breaker.failure_threshold)),
            reset_timeout: Some(breaker.reset_timeout_ms as f64),
            monitor_window: Some(breaker.monitor_window_ms as f64),
            half_open_attempts: Some(f64::from(breaker.half_open_successes)),
        },
        cache: CacheOptions {
            max_size: Some(cache.max_size as f64),
            ttl_ms: Some(cache.ttl_ms as f64),
            negative_ttl_ms: Some(DEFAULT_NEGATIVE_TTL_MS as f64),
            stale_if_error_ms: Some(cache.stale_if_error_ms as f64),
            negative_stale_if_error_ms: Some(cache.negative_stale_if_error_ms as f64),
        },
        connection: ConnectionOptions {
            health_check_interval: Some(connection.health_check_interval_ms as f64),
            reconnect_delay: Some(connection.reconnect_delay_ms as f64),
            max_reconnect_delay: Some(connection.max_reconnect_delay_ms as f64),
            reconnect_multiplier: Some(connection.multiplier),
            max_reconnect_attempts: Some(connection.max_reconnect_attempts.map_or(f64::INFINITY, f64::from)),
            jitter: Some(connection.jitter),
            auto_connect: Some(false),
        },
        failover: FailoverOptions {
            probe_interval_ms: Some(failover.probe_interval_ms as f64),
            failback_successes: Some(f64::from(failover.failback_successes)),
        },
        bulkhead_max_queue: f64::from(DEFAULT_MAX_QUEUE),
        fleet: FleetDefaults {
            key_prefix: fleet.key_prefix,
            api_key_scope: fleet.api_key_scope,
            deadline_ms: fleet.deadline_ms as f64,
            burst: DEFAULT_BURST,
            coalesce_ms: fleet.coalesce_ms as f64,
            shared_cache: fleet.shared_cache,
            breaker_hint: fleet.breaker_hint,
        },
        retryable_errors: default_retryable_errors(),
        wire: WireMode::default().as_str().to_owned(),
        wires: WireMode::VALUES.iter().map(|&w| w.to_owned()).collect(),
        accept_placeholders: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_options() -> NativeClientOptions {
        NativeClientOptions {
            service_url: None,
            fallback_urls: None,
            failover: None,
            allow_insecure: None,
            ca: None,
            api_key: None,
            timeout: None,
            max_response_bytes: None,
            max_connections: None,
            verify_tls: None,
            proxy_url: None,
            proxy_env: None,
            retry: None,
            retry_enabled: None,
            mint_retry: None,
            retry_budget: None,
            retry_budget_enabled: None,
            circuit_breaker: None,
            circuit_breaker_enabled: None,
            cache: None,
            cache_enabled: None,
            scope: None,
            connection: None,
            connection_enabled: None,
            transport: None,
            metric_labels: None,
            fleet: None,
            bulkhead: None,
            rate_limit: None,
            wire: None,
            accept_placeholders: None,
            id_grammar: None,
        }
    }

    fn no_cache_options() -> CacheOptions {
        CacheOptions {
            max_size: None,
            ttl_ms: None,
            negative_ttl_ms: None,
            stale_if_error_ms: None,
            negative_stale_if_error_ms: None,
        }
    }

    #[test]
    fn one_rule_for_numbers_absent_is_the_default_anything_else_is_checked() {
        assert_eq!(millis("x", None, 7), Ok(7));
        assert_eq!(millis("x", Some(2.9), 7), Ok(2));
        for bad in [f64::NAN, -1.0, f64::INFINITY, 1e300] {
            assert!(millis("x", Some(bad), 7).unwrap_err().starts_with("x must be"), "{bad}");
        }
        assert_eq!(millis_or_never("x", Some(f64::INFINITY), 7), Ok(u64::MAX));
        assert!(millis_or_never("x", Some(f64::NAN), 7).is_err());
        assert_eq!(count("n", Some(4.0), 1, 1), Ok(4));
        for bad in [0.0, 1.5, f64::NAN, 4_294_967_296.0, f64::INFINITY, -1.0] {
            assert!(count("n", Some(bad), 1, 1).is_err(), "{bad}");
        }
        assert_eq!(count_or_unlimited("a", Some(f64::INFINITY), Some(3)), Ok(None));
        assert_eq!(count_or_unlimited("a", Some(0.0), None), Ok(Some(0)));
        assert!(count_or_unlimited("a", Some(-1.0), None).unwrap_err().contains("or Infinity"));
        assert!(count_or_unlimited("a", Some(1e10), None).is_err(), "never saturated into 'unlimited'");
        assert!(number("f", Some(f64::NAN), 1.0).is_err());
        assert!(number("f", Some(-0.5), 1.0).is_err());
        assert!(number("f", Some(f64::INFINITY), 1.0).is_err());
        assert!(number("f", Some(1e300), 1.0).is_err());
        assert_eq!(one_of("s", None, &["a", "b"]), Ok("a"));
        assert!(one_of("s", Some("c"), &["a", "b"]).unwrap_err().contains("\"c\""));
    }

    #[test]
    fn absent_options_are_the_defaults_of_the_plain_types() {
        let s = client_settings(no_options()).unwrap();
        // Extra CAs also come from the environment (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE).
        assert_eq!(s.config, ClientConfig { extra_ca_pem: s.config.extra_ca_pem.clone(), ..ClientConfig::default() });
        assert_eq!(s.retry, Some(RetryPolicy::default()));
        assert_eq!(s.retry_budget, Some(RetryBudgetConfig::default()));
        assert_eq!(s.breaker, Some(BreakerConfig::default()));
        assert_eq!(
            s.cache,
            Some(CacheSettings { config: CacheConfig::default(), negative_ttl_ms: DEFAULT_NEGATIVE_TTL_MS })
        );
        assert_eq!(s.connection, Some(ConnectionConfig::default()));
        assert_eq!(s.failover, FailoverConfig::default());
        assert_eq!(s.mint_retry, MintRetry::default());
        assert!(!s.process_scope && s.bulkhead.is_none() && s.rate_limit.is_none() && s.fleet.is_none());
        assert!(s.fallback_urls.is_empty() && s.metric_labels.is_empty());
    }

    #[test]
    fn policies_turn_off_and_retry_off_takes_its_budget_with_it() {
        let s = client_settings(NativeClientOptions {
            retry_enabled: Some(false),
            circuit_breaker_enabled: Some(false),
            cache_enabled: Some(false),
            connection_enabled: Some(false),
            ..no_options()
        })
        .unwrap();
        assert!(
            s.retry.is_none()
                && s.retry_budget.is_none()
                && s.breaker.is_none()
                && s.cache.is_none()
                && s.connection.is_none()
        );
        let s = client_settings(NativeClientOptions { retry_budget_enabled: Some(false), ..no_options() }).unwrap();
        assert!(s.retry.is_some() && s.retry_budget.is_none());
    }

    #[test]
    fn bad_values_name_the_option() {
        let cases: Vec<(NativeClientOptions, &str)> = vec![
            (
                NativeClientOptions {
                    retry: Some(RetryOptions {
                        max_attempts: None,
                        initial_delay_ms: None,
                        max_delay_ms: None,
                        backoff_multiplier: Some(f64::NAN),
                        jitter: None,
                        max_retry_after_ms: None,
                    }),
                    ..no_options()
                },
                "retry.backoffMultiplier",
            ),
            (
                NativeClientOptions {
                    cache: Some(CacheOptions { max_size: Some(0.0), ..no_cache_options() }),
                    ..no_options()
                },
                "cache.maxSize",
            ),
            (
                NativeClientOptions {
                    cache: Some(CacheOptions { negative_ttl_ms: Some(-1.0), ..no_cache_options() }),
                    ..no_options()
                },
                "cache.negativeTtlMs",
            ),
            (NativeClientOptions { max_connections: Some(70_000.0), ..no_options() }, "maxConnections"),
            (NativeClientOptions { max_connections: Some(0.0), ..no_options() }, "maxConnections"),
            (NativeClientOptions { max_response_bytes: Some(1.5), ..no_options() }, "maxResponseBytes"),
            (NativeClientOptions { scope: Some("thread".into()), ..no_options() }, "scope"),
            (NativeClientOptions { transport: Some("xhr".into()), ..no_options() }, "transport"),
            (NativeClientOptions { id_grammar: Some("V1".into()), ..no_options() }, "idGrammar"),
            (NativeClientOptions { mint_retry: Some("always".into()), ..no_options() }, "retry.mint"),
            (NativeClientOptions { wire: Some("v2".into()), ..no_options() }, "wire"),
            (
                NativeClientOptions {
                    bulkhead: Some(BulkheadOptions { max_concurrent: None, max_queue: None }),
                    ..no_options()
                },
                "bulkhead.maxConcurrent",
            ),
            (
                NativeClientOptions {
                    rate_limit: Some(ClientRateLimitOptions { requests_per_second: 5.0, burst: Some(0.0) }),
                    ..no_options()
                },
                "rateLimit.burst",
            ),
            (
                NativeClientOptions {
                    failover: Some(FailoverOptions { probe_interval_ms: None, failback_successes: Some(0.0) }),
                    ..no_options()
                },
                "failover.failbackSuccesses",
            ),
            (
                NativeClientOptions {
                    connection: Some(ConnectionOptions {
                        health_check_interval: None,
                        reconnect_delay: Some(-5.0),
                        max_reconnect_delay: None,
                        reconnect_multiplier: None,
                        max_reconnect_attempts: None,
                        jitter: None,
                        auto_connect: None,
                    }),
                    ..no_options()
                },
                "connection.reconnectDelay",
            ),
        ];
        for (options, needle) in cases {
            let err = client_settings(options).err().expect(needle).to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn fleet_options_take_the_fleet_defaults() {
        let options = FleetOptions {
            redis: "redis://127.0.0.1:6379".into(),
            key_prefix: None,
            api_key_scope: None,
            deadline_ms: None,
            rate_per_second: Some(2.0),
            burst: None,
            coalesce_ms: Some(-1.0),
            shared_cache: None,
            breaker_hint: None,
        };
        assert!(fleet_config(&options).unwrap_err().contains("fleet.coalesceMs"));
        let config = fleet_config(&FleetOptions { coalesce_ms: None, ..options }).unwrap();
        let d = FleetConfig::new(String::new());
        assert_eq!(
            (config.deadline_ms, config.coalesce_ms, config.rate.map(|r| r.burst)),
            (d.deadline_ms, d.coalesce_ms, Some(DEFAULT_BURST))
        );
    }

    #[test]
    fn the_compat_managers_live_properties_never_fail() {
        assert_eq!(
            (lenient_millis(f64::NAN), lenient_millis(-5.0), lenient_millis(2.7), lenient_millis(f64::INFINITY)),
            (0, 0, 2, u64::MAX)
        );
        assert_eq!((lenient_multiplier(f64::NAN), lenient_multiplier(-2.0), lenient_multiplier(3.0)), (1.0, 0.0, 3.0));
        assert_eq!(
            (
                lenient_jitter(None),
                lenient_jitter(Some(f64::NAN)),
                lenient_jitter(Some(7.0)),
                lenient_jitter(Some(0.3))
            ),
            (0.0, 0.0, 1.0, 0.3)
        );
    }

    #[test]
    fn compat_options_accept_infinity_where_v1_did() {
        let breaker = BreakerOptions {
            failure_threshold: None,
            reset_timeout: Some(f64::INFINITY),
            monitor_window: None,
            half_open_attempts: None,
        };
        assert_eq!(compat_breaker_config(&breaker).unwrap().reset_timeout_ms, u64::MAX);
        let zero_window = BreakerOptions { monitor_window: Some(0.0), ..breaker };
        assert!(compat_breaker_config(&zero_window).unwrap_err().contains("monitorWindow"));
        let retry = RetryOptions {
            max_attempts: None,
            initial_delay_ms: None,
            max_delay_ms: Some(f64::INFINITY),
            backoff_multiplier: Some(0.5),
            jitter: None,
            max_retry_after_ms: None,
        };
        assert!(compat_retry_policy(&retry).unwrap_err().contains("backoffMultiplier"));
    }

    #[test]
    fn id_grammar_names_one_or_both_grammars() {
        assert_eq!(client_settings(no_options()).unwrap().config.id_grammar, IdGrammar::Any);
        for (name, grammar) in [("any", IdGrammar::Any), ("v1", IdGrammar::V1), ("deployed", IdGrammar::Deployed)] {
            let s = client_settings(NativeClientOptions { id_grammar: Some(name.into()), ..no_options() }).unwrap();
            assert_eq!(s.config.id_grammar, grammar);
        }
    }

    #[test]
    fn the_defaults_js_sees_are_the_plain_types_defaults() {
        let d = client_defaults();
        assert_eq!(d.timeout, config::DEFAULT_TIMEOUT_MS as f64);
        assert_eq!(d.retry.max_attempts, Some(f64::from(RetryPolicy::default().max_attempts)));
        assert_eq!(d.cache.negative_ttl_ms, Some(DEFAULT_NEGATIVE_TTL_MS as f64));
        assert_eq!(d.id_grammar, "any");
        assert_eq!(d.connection.max_reconnect_attempts, Some(f64::INFINITY));
        assert_eq!(d.mint_retry, "safe");
        assert_eq!(d.service_url, config::DEFAULT_SERVICE_URL);
        assert!(d.retryable_errors.iter().any(|e| e == "ECONNREFUSED"));
    }
}
