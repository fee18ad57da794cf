//! `NativeClient`: the Rust core behind the JS `ChittyIDClient` class.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bindings::monitor::{connection_config, ClientMonitor, ConnectionOptions, ConnectionStateInfo};
use crate::bindings::completions::{to_js_pairs, Completer, Completion, Outcome};
use crate::bindings::errors::{to_error_info, to_napi_error};
use crate::bindings::events::{JsEventSink, NativeEvent};
use crate::bindings::fetch::{self, FetchOrder};
use crate::breaker::{BreakerConfig, CircuitBreaker};
use crate::bulkhead::{Bulkhead, BulkheadConfig};
use crate::client::{Failover, Fallback};
use crate::endpoints::{EndpointSet, FailoverConfig};
use crate::cache::{CacheConfig, ValidationCache};
use crate::client::{CachePolicy, Client, MintRetry, Validation};
use crate::shared::{self, SharedState};
use crate::cancel::{Cancellations, Cancelled};
use crate::config::{normalize_service_url, normalize_timeout, ClientConfig, DEFAULT_MAX_RESPONSE_BYTES};
use crate::error::ClientError;
use crate::events::SharedSink;
use crate::rate_limit::RateLimitGate;
use crate::resilience::Resilience;
use crate::runtime;
use crate::retry::RetryPolicy;
use crate::stats::{OpStats, Operation};
use crate::bindings::telemetry::CompleterWake;
use crate::telemetry::{CallScope, Telemetry};
use crate::retry_budget::{RetryBudget, RetryBudgetConfig};
use crate::token_bucket::{TokenBucket, TokenBucketConfig};
use crate::transport::TransportKind;

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

/// `rateLimit` (see `token_bucket`).
#[napi(object)]
pub struct ClientRateLimitOptions {
    pub requests_per_second: f64,
    pub burst: Option<f64>,
}

/// `bulkhead` (see `bulkhead`).
#[napi(object)]
pub struct BulkheadOptions {
    pub max_concurrent: Option<f64>,
    pub max_queue: Option<f64>,
}

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

#[napi(object)]
pub struct NativeClientOptions {
    pub service_url: Option<String>,
    pub allow_insecure: Option<bool>,
    /// Extra trusted CA certificates, PEM text.
    pub ca: Option<Vec<String>>,
    pub api_key: Option<String>,
    pub timeout: Option<f64>,
    pub max_response_bytes: Option<f64>,
    /// Requests in flight at once (HTTP/1.1 connections); more wait.
    pub max_connections: Option<u32>,
    /// False when `NODE_TLS_REJECT_UNAUTHORIZED=0` (read and warned about by the JS side).
    pub verify_tls: Option<bool>,
    /// The `proxy` option's URL.
    pub proxy_url: Option<String>,
    /// The proxy environment variables, when the process opted in to them.
    pub proxy_env: Option<ProxyEnvOptions>,
    /// `None` = defaults; `enabled: false` turns retry off.
    pub retry: Option<RetryOptions>,
    /// `retry.mint`: `"safe"` (default) or `"idempotent"` (see `MintRetry`).
    pub mint_retry: Option<String>,
    pub retry_enabled: Option<bool>,
    /// `retry.budget`; `retry_budget_enabled: false` (`budget: false`) lifts the cap.
    pub retry_budget: Option<RetryBudgetOptions>,
    pub retry_budget_enabled: Option<bool>,
    pub circuit_breaker: Option<BreakerOptions>,
    pub circuit_breaker_enabled: Option<bool>,
    pub cache: Option<CacheOptions>,
    pub cache_enabled: Option<bool>,
    /// `"client"` (default) or `"process"`: share cache and breaker per service URL process-wide.
    pub scope: Option<String>,
    /// `None` = defaults; `connection_enabled: false` turns the connection manager off.
    pub connection: Option<ConnectionOptions>,
    pub connection_enabled: Option<bool>,
    /// `"native"` (default) or `"fetch"`: exchanges through `globalThis.fetch` (`bindings::fetch`).
    pub transport: Option<String>,
    /// Constant labels on every series of `metrics()`, as `[name, value, ...]` (the `name`
    /// and `labels` options, checked by the JS side).
    pub metric_labels: Option<Vec<String>>,
    /// Fleet mode (`crate::fleet`); `None` = off.
    pub fleet: Option<crate::bindings::fleet::FleetOptions>,
    /// Off unless given.
    pub bulkhead: Option<BulkheadOptions>,
    /// The client-side rate limit; off unless given.
    pub rate_limit: Option<ClientRateLimitOptions>,
    /// `serviceUrl` given as a list: the endpoints after the first (`service_url`), in order.
    pub fallback_urls: Option<Vec<String>>,
    pub failover: Option<FailoverOptions>,
}

/// `failover` (see `endpoints`).
#[napi(object)]
pub struct FailoverOptions {
    pub probe_interval_ms: Option<f64>,
    pub failback_successes: Option<f64>,
}

#[napi(object)]
pub struct ProxyEnvOptions {
    pub http: Option<String>,
    pub https: Option<String>,
    pub no_proxy: Option<String>,
}

fn proxy_setting(opts: &NativeClientOptions) -> crate::config::ProxySetting {
    use crate::config::ProxySetting;
    match (&opts.proxy_url, &opts.proxy_env) {
        (Some(url), _) => ProxySetting::Url(url.clone()),
        (None, Some(env)) => ProxySetting::Env { http: env.http.clone(), https: env.https.clone(), no_proxy: env.no_proxy.clone() },
        (None, None) => ProxySetting::Direct,
    }
}

/// Largest number JS holds exactly; numeric options above it are refused rather than rounded.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A duration option in ms: a finite number >= 0 (fractions are truncated), or the default.
fn ms(name: &str, value: Option<f64>, default: u64) -> std::result::Result<u64, String> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && (0.0..=MAX_SAFE_INTEGER).contains(&v) => Ok(v as u64),
        Some(v) => Err(format!("{name} must be a finite number of ms >= 0, got {v}")),
    }
}

/// A count option: an integer in `min..=u32::MAX`, or the default. Never wraps.
fn count(name: &str, value: Option<f64>, default: u32, min: u32) -> std::result::Result<u32, String> {
    match value {
        None => Ok(default),
        Some(v) if v.fract() == 0.0 && (f64::from(min)..=f64::from(u32::MAX)).contains(&v) => Ok(v as u32),
        Some(v) => Err(format!("{name} must be an integer from {min} to {}, got {v}", u32::MAX)),
    }
}

/// `maxResponseBytes`: an integer from 1 to u32::MAX bytes.
fn max_response_bytes(value: Option<f64>) -> std::result::Result<usize, String> {
    count("maxResponseBytes", value, DEFAULT_MAX_RESPONSE_BYTES as u32, 1).map(|n| n as usize)
}

fn mint_retry(opts: &NativeClientOptions) -> std::result::Result<MintRetry, String> {
    match opts.mint_retry.as_deref() {
        None => Ok(MintRetry::default()),
        Some(v) => MintRetry::parse(v).ok_or_else(|| format!("retry.mint must be \"safe\" or \"idempotent\", got {v:?}")),
    }
}

fn retry_policy(opts: &NativeClientOptions) -> std::result::Result<Option<RetryPolicy>, String> {
    if opts.retry_enabled == Some(false) {
        return Ok(None);
    }
    let d = RetryPolicy::default();
    let policy = match &opts.retry {
        None => d,
        Some(r) => RetryPolicy {
            max_attempts: count("retry.maxAttempts", r.max_attempts, d.max_attempts, 1)?,
            initial_delay_ms: ms("retry.initialDelayMs", r.initial_delay_ms, d.initial_delay_ms)?,
            max_delay_ms: ms("retry.maxDelayMs", r.max_delay_ms, d.max_delay_ms)?,
            multiplier: r.backoff_multiplier.unwrap_or(d.multiplier),
            jitter: r.jitter.unwrap_or(d.jitter),
            max_retry_after_ms: ms("retry.maxRetryAfterMs", r.max_retry_after_ms, d.max_retry_after_ms)?,
        },
    };
    policy.validate().map_err(|e| format!("invalid retry option: {e}"))?;
    Ok(Some(policy))
}

fn retry_budget_config(opts: &NativeClientOptions) -> std::result::Result<Option<RetryBudgetConfig>, String> {
    if opts.retry_enabled == Some(false) || opts.retry_budget_enabled == Some(false) {
        return Ok(None);
    }
    let d = RetryBudgetConfig::default();
    let config = match &opts.retry_budget {
        None => d,
        Some(b) => RetryBudgetConfig {
            ratio: b.ratio.unwrap_or(d.ratio),
            window_ms: ms("retry.budget.windowMs", b.window_ms, d.window_ms)?,
            min_per_second: count("retry.budget.minPerSecond", b.min_per_second, d.min_per_second, 0)?,
        },
    };
    config.validate()?;
    Ok(Some(config))
}

/// Calls that may wait for a bulkhead slot when the option leaves `maxQueue` out: none, so a
/// full bulkhead fails fast (as cockatiel's and resilience4j's do by default).
const DEFAULT_BULKHEAD_QUEUE: u32 = 0;

fn bulkhead_config(opts: &NativeClientOptions) -> std::result::Result<Option<BulkheadConfig>, String> {
    let Some(b) = &opts.bulkhead else { return Ok(None) };
    let Some(max_concurrent) = b.max_concurrent else {
        return Err("bulkhead.maxConcurrent is required".into());
    };
    let config = BulkheadConfig {
        max_concurrent: count("bulkhead.maxConcurrent", Some(max_concurrent), 1, 1)?,
        max_queue: count("bulkhead.maxQueue", b.max_queue, DEFAULT_BULKHEAD_QUEUE, 0)?,
    };
    config.validate()?;
    Ok(Some(config))
}

fn throttle_config(opts: &NativeClientOptions) -> std::result::Result<Option<TokenBucketConfig>, String> {
    let Some(r) = &opts.rate_limit else { return Ok(None) };
    let burst = count("rateLimit.burst", r.burst, TokenBucketConfig::default_burst(r.requests_per_second), 1)?;
    let config = TokenBucketConfig { requests_per_second: r.requests_per_second, burst };
    config.validate()?;
    Ok(Some(config))
}

fn failover_config(opts: &NativeClientOptions) -> std::result::Result<FailoverConfig, String> {
    let d = FailoverConfig::default();
    let Some(f) = &opts.failover else { return Ok(d) };
    Ok(FailoverConfig {
        probe_interval_ms: ms("failover.probeIntervalMs", f.probe_interval_ms, d.probe_interval_ms)?.max(1),
        failback_successes: count("failover.failbackSuccesses", f.failback_successes, d.failback_successes, 1)?,
    })
}

fn breaker_config(opts: &NativeClientOptions) -> std::result::Result<Option<BreakerConfig>, String> {
    if opts.circuit_breaker_enabled == Some(false) {
        return Ok(None);
    }
    let d = BreakerConfig::default();
    let config = match &opts.circuit_breaker {
        None => d,
        Some(b) => BreakerConfig {
            failure_threshold: count("circuitBreaker.failureThreshold", b.failure_threshold, d.failure_threshold, 0)?,
            reset_timeout_ms: ms("circuitBreaker.resetTimeout", b.reset_timeout, d.reset_timeout_ms)?,
            monitor_window_ms: ms("circuitBreaker.monitorWindow", b.monitor_window, d.monitor_window_ms)?,
            half_open_successes: count("circuitBreaker.halfOpenAttempts", b.half_open_attempts, d.half_open_successes, 0)?,
        },
    };
    config.validate().map_err(|e| format!("invalid circuitBreaker option: {e}"))?;
    Ok(Some(config))
}

/// Negative answers live 30 s by default (see `CachePolicy`).
const DEFAULT_NEGATIVE_TTL_MS: u64 = 30_000;

/// The cache configuration and the negative-answer TTL, or `None` when caching is off.
fn cache_policy(opts: &NativeClientOptions) -> std::result::Result<Option<(CacheConfig, u64)>, String> {
    if opts.cache_enabled == Some(false) {
        return Ok(None);
    }
    let d = CacheConfig::default();
    let c = opts.cache.as_ref();
    let config = CacheConfig {
        max_size: c.and_then(|c| c.max_size).map_or(Ok(d.max_size), |n| {
            if n.is_finite() && n >= 1.0 && n.fract() == 0.0 { Ok(n as usize) } else { Err(format!("cache.maxSize must be a positive integer, got {n}")) }
        })?,
        ttl_ms: ms("cache.ttlMs", c.and_then(|c| c.ttl_ms), d.ttl_ms)?,
        stale_if_error_ms: ms("cache.staleIfErrorMs", c.and_then(|c| c.stale_if_error_ms), d.stale_if_error_ms)?,
        negative_stale_if_error_ms: ms(
            "cache.negativeStaleIfErrorMs",
            c.and_then(|c| c.negative_stale_if_error_ms),
            d.negative_stale_if_error_ms,
        )?,
    };
    config.validate().map_err(|e| format!("invalid cache option: {e}"))?;
    let negative_ttl_ms = ms("cache.negativeTtlMs", c.and_then(|c| c.negative_ttl_ms), DEFAULT_NEGATIVE_TTL_MS)?;
    Ok(Some((config, negative_ttl_ms)))
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

/// Refuses a caller's idempotency key that could not go into a header as is.
fn checked_key(key: Option<&str>) -> Result<()> {
    key.map_or(Ok(()), |k| crate::client::check_idempotency_key(k).map_err(|e| to_napi_error(&e)))
}

fn invalid(detail: String) -> napi::Error {
    to_napi_error(&crate::error::ClientError::InvalidArgument { detail })
}

#[napi]
pub struct NativeClient {
    core: Arc<Client>,
    cancellations: Arc<Cancellations>,
    /// Keeps process-scoped state alive while this client is.
    _shared: Arc<SharedState>,
    monitor: ClientMonitor,
    completer: Arc<Completer>,
    telemetry: Arc<Telemetry>,
    metric_labels: Vec<(String, String)>,
}

impl Drop for NativeClient {
    /// Runs on the JS thread (the object's finalizer): the wake-up handle belongs to its loop.
    fn drop(&mut self) {
        self.completer.detach();
    }
}

#[napi]
impl NativeClient {



    /// [`NativeClient::submit`] inside the call's telemetry scope: its extra `headers`
    /// (`[name, value, ...]`) and, when telemetry is on, the records of its attempts.
    fn submit_call<T, W, Fut>(
        &self,
        ticket: u32,
        cancellable: bool,
        op: Operation,
        headers: Option<Vec<String>>,
        work: W,
        value: impl FnOnce(T) -> Outcome + Send + 'static,
    ) -> Result<()>
    where
        W: FnOnce(Arc<Client>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, ClientError>> + Send + 'static,
        T: Send + 'static,
    {
        let headers = match headers.filter(|h| !h.is_empty()) {
            Some(flat) => Some(crate::telemetry::parse_headers(flat).map_err(|e| to_napi_error(&e))?),
            None => None,
        };
        let scope = CallScope::new(ticket, op, &self.telemetry, headers);
        self.submit(ticket, cancellable, move |core| crate::telemetry::scoped(scope, Box::pin(work(core))), value)
    }

    /// Runs `work` on the I/O thread and queues its outcome under `ticket`: the value as `value`
    /// renders it, or the error. The task owns what it uses: a worker thread may be torn down
    /// mid-call.
    fn submit<T, W, Fut>(
        &self,
        ticket: u32,
        cancellable: bool,
        work: W,
        value: impl FnOnce(T) -> Outcome + Send + 'static,
    ) -> Result<()>
    where
        W: FnOnce(Arc<Client>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, ClientError>> + Send + 'static,
        T: Send + 'static,
    {
        if !self.completer.is_attached() {
            return Err(napi::Error::new(Status::GenericFailure, "attachCompletions must be called before submitting"));
        }
        let completer = Arc::clone(&self.completer);
        let cancellations = Arc::clone(&self.cancellations);
        let token = cancellable.then_some(ticket);
        // Boxed at once: a call's future is kilobytes (the whole resilience and HTTP state
        // machine), and every wrapper around it would otherwise move all of it.
        let call = Box::pin(work(Arc::clone(&self.core)));
        runtime::spawn(async move {
            let outcome = match cancellations.run(token, call).await.unwrap_or_else(|cancelled| match cancelled {
                Cancelled::Aborted => Err(ClientError::Aborted),
                Cancelled::Closed => Err(ClientError::Closed),
            }) {
                Ok(v) => value(v),
                Err(e) => Outcome::Error(to_error_info(&e)),
            };
            completer.push(Completion { ticket, outcome });
        });
        Ok(())
    }

    #[napi(constructor, catch_unwind)]
    pub fn new(
        options: NativeClientOptions,
        on_event: Option<Function<NativeEvent, ()>>,
    ) -> Result<Self> {
        let service_url = match &options.service_url {
            Some(url) => normalize_service_url(url, options.allow_insecure.unwrap_or(false))
                .map_err(|e| to_napi_error(&e))?,
            None => crate::config::DEFAULT_SERVICE_URL.to_owned(),
        };
        let config = ClientConfig {
            service_url,
            api_key: options.api_key.clone().filter(|k| !k.is_empty()),
            timeout_ms: normalize_timeout(options.timeout).map_err(|e| to_napi_error(&e))?,
            max_response_bytes: max_response_bytes(options.max_response_bytes).map_err(invalid)?,
            extra_ca_pem: extra_ca_pem(options.ca.as_deref()),
            verify_tls: options.verify_tls.unwrap_or(true),
            allow_insecure: options.allow_insecure.unwrap_or(false),
            max_connections: match options.max_connections {
                None => crate::config::DEFAULT_MAX_CONNECTIONS,
                Some(0) => return Err(invalid("maxConnections must be at least 1".to_owned())),
                Some(n) => n as usize,
            },
            proxy: proxy_setting(&options),
        };
        // Events are wired lazily (see `attach_events`) unless a callback is given here.
        let events = Arc::new(JsEventSink::detached());
        if let Some(f) = &on_event {
            events.attach(f)?;
        }
        let sink: SharedSink = events.clone();
        let connection = match options.connection_enabled {
            Some(false) => None,
            _ => Some(connection_config(options.connection.as_ref()).map_err(invalid)?),
        };
        let clock = crate::clock::system();
        let breaker_config = breaker_config(&options).map_err(invalid)?;
        let cache_policy = cache_policy(&options).map_err(invalid)?;
        let new_state = || SharedState {
            breaker: breaker_config.clone().map(|c| Arc::new(CircuitBreaker::new(c, clock.clone()))),
            rate_limit: Arc::new(RateLimitGate::new(clock.clone())),
            cache: cache_policy.as_ref().map(|(c, _)| Arc::new(ValidationCache::new(c.clone(), clock.clone()))),
        };
        let state = match options.scope.as_deref() {
            None | Some("client") => Arc::new(new_state()),
            Some("process") => shared::for_service(&config.service_url, new_state),
            Some(other) => return Err(invalid(format!("scope must be \"client\" or \"process\", got {other:?}"))),
        };
        let fleet = match &options.fleet {
            None => None,
            Some(f) => {
                let fleet_config = crate::bindings::fleet::fleet_config(f).map_err(invalid)?;
                let fleet = crate::fleet::Fleet::new(fleet_config, &config.service_url, config.api_key.as_deref(), config.timeout_ms, sink.clone(), clock.clone())
                    .map_err(|e| to_napi_error(&e))?;
                Some(fleet)
            }
        };
        let resilience = Resilience {
            retry: retry_policy(&options).map_err(invalid)?,
            breaker: state.breaker.clone(),
            rate_limit: state.rate_limit.clone(),
            sink,
            stats: Arc::new(OpStats::default()),
            fleet,
            retry_budget: retry_budget_config(&options).map_err(invalid)?.map(|c| Arc::new(RetryBudget::new(c, clock.clone()))),
            throttle: throttle_config(&options).map_err(invalid)?.map(|c| Arc::new(TokenBucket::new(c, clock.clone()))),
        };
        let cache = state.cache.clone().zip(cache_policy).map(|(cache, (_, negative_ttl_ms))| CachePolicy { cache, negative_ttl_ms });
        let transport = match options.transport.as_deref() {
            None | Some("native") => TransportKind::Native,
            Some("fetch") => TransportKind::Fetch,
            Some(other) => return Err(invalid(format!("transport must be \"native\" or \"fetch\", got {other:?}"))),
        };
        let mint_retry = mint_retry(&options).map_err(invalid)?;
        let bulkhead = bulkhead_config(&options).map_err(invalid)?.map(Bulkhead::new);
        let fallback_urls = options.fallback_urls.as_deref().unwrap_or_default();
        let failover = if fallback_urls.is_empty() {
            None
        } else {
            let mut fallbacks = Vec::with_capacity(fallback_urls.len());
            for url in fallback_urls {
                let service_url = normalize_service_url(url, options.allow_insecure.unwrap_or(false)).map_err(|e| to_napi_error(&e))?;
                let endpoint_config = ClientConfig { service_url, ..config.clone() };
                let transport = crate::transport::ClientTransport::new(&endpoint_config, transport).map_err(|e| to_napi_error(&e))?;
                let resilience = Resilience {
                    retry: resilience.retry.clone(),
                    breaker: breaker_config.clone().map(|c| Arc::new(CircuitBreaker::new(c, clock.clone()))),
                    rate_limit: Arc::new(RateLimitGate::new(clock.clone())),
                    sink: resilience.sink.clone(),
                    stats: resilience.stats.clone(),
                    retry_budget: resilience.retry_budget.clone(),
                    throttle: resilience.throttle.clone(),
                    // The fleet's budget and pause are the primary service's (keyed by its origin).
                    fleet: None,
                };
                fallbacks.push(Fallback { transport, resilience });
            }
            let set = EndpointSet::new(fallbacks.len() + 1, failover_config(&options).map_err(invalid)?, clock.clone());
            Some(Failover::new(fallbacks, set))
        };
        let core = Client::new(&config, transport, resilience, cache, mint_retry).map_err(|e| to_napi_error(&e))?;
        let core = core.with_bulkhead(bulkhead).with_failover(failover).into_shared();
        if let Some(fleet) = &core.resilience().fleet {
            fleet.start();
        }
        let monitor = ClientMonitor::new(connection, &core, events);
        let completer: Arc<Completer> = Arc::default();
        let telemetry = Arc::new(Telemetry::new(Arc::new(CompleterWake(completer.clone()))));
        let metric_labels = options.metric_labels.unwrap_or_default().chunks_exact(2).map(|kv| (kv[0].clone(), kv[1].clone())).collect();
        Ok(Self { core, cancellations: Arc::default(), _shared: state, monitor, completer, telemetry, metric_labels })
    }

    #[napi(getter)]
    pub fn service_url(&self) -> String {
        self.core.service_url().to_owned()
    }

    /// Synchronous breaker pre-check, so an open circuit rejects without a native promise:
    /// 0 when a call may go out, else ms until the next trial (the call must fail fast; it
    /// was counted as rejected, as `mint` itself would have).
    #[napi]
    pub fn breaker_admit(&self) -> f64 {
        match self.core.admit_any() {
            Err(crate::error::ClientError::CircuitOpen { retry_in_ms }) => retry_in_ms.max(1) as f64,
            _ => 0.0,
        }
    }

    /// Wires the completion channel (see `completions`) before calls are submitted.
    #[napi(catch_unwind)]
    pub fn attach_completions(&self, env: &Env, on_ready: Function<(), ()>) -> Result<()> {
        self.completer.attach(env, &on_ready)
    }

    /// Releases the completion channel of an idle client.
    #[napi(catch_unwind)]
    pub fn detach_completions(&self) {
        self.completer.detach();
    }

    /// The outcomes ready so far as `[breakerState, ticket, value, ticket, value, ...]`
    /// (see `completions::to_js_pairs`); `breakerState` is 0 while the circuit is CLOSED (or
    /// there is no breaker), so the JS side can skip the fail-fast pre-check until it is not.
    #[napi(catch_unwind, ts_return_type = "Array<number | string | string[] | ValidationResult | ErrorInfo>")]
    pub fn take_completions<'env>(&self, env: &'env Env) -> Result<Array<'env>> {
        to_js_pairs(env, self.core.breaker_state_code(), self.completer.take())
    }

    /// Keeps the event loop alive while the JS side has calls pending.
    #[napi(catch_unwind)]
    pub fn keep_alive(&self, env: &Env, pending: bool) {
        self.completer.keep_alive(env, pending);
    }

    /// `POST /mint` with the request serialized as JSON by the caller, under the caller's
    /// idempotency key if it gave one.
    #[napi(catch_unwind)]
    pub fn submit_mint(&self, ticket: u32, body: String, cancellable: bool, idempotency_key: Option<String>, headers: Option<Vec<String>>) -> Result<()> {
        checked_key(idempotency_key.as_deref())?;
        self.submit_call(ticket, cancellable, Operation::Mint, headers, |core| async move { core.mint(body.into_bytes().into(), idempotency_key).await }, Outcome::Id)
    }

    /// `POST /mint/batch` with `{"requests":[...]}` serialized by the caller; `count` requests.
    #[napi(catch_unwind)]
    pub fn submit_mint_batch(&self, ticket: u32, body: String, count: u32, cancellable: bool, idempotency_key: Option<String>, headers: Option<Vec<String>>) -> Result<()> {
        checked_key(idempotency_key.as_deref())?;
        self.submit_call(ticket, cancellable, Operation::MintBatch, headers, |core| async move { core.mint_batch(body.into_bytes().into(), count as usize, idempotency_key).await }, Outcome::Ids)
    }

    /// The cache lookup of `validate()`, synchronous so a hit needs no promise from native:
    /// 0 = miss, 1 = cached valid, 2 = cached invalid. Counts a hit or a miss.
    #[napi(catch_unwind)]
    pub fn cached_verdict(&self, id: String) -> u32 {
        match self.core.cache().and_then(|c| c.get(&id)) {
            None => 0,
            Some(true) => 1,
            Some(false) => 2,
        }
    }

    /// `validate()` after a cache miss already counted by `cachedVerdict`.
    #[napi(catch_unwind)]
    pub fn submit_validate(&self, ticket: u32, id: String, cancellable: bool, headers: Option<Vec<String>>) -> Result<()> {
        self.submit_call(ticket, cancellable, Operation::Validate, headers, |core| async move { Ok(core.validate_uncached(&id).await) }, |v: Validation| Outcome::Validation(v.into()))
    }

    /// Stops the call registered under `token` (its AbortSignal fired).
    #[napi(catch_unwind)]
    pub fn cancel(&self, token: u32) -> bool {
        self.cancellations.cancel(token)
    }

    #[napi(catch_unwind)]
    pub fn get_stats(&self) -> ClientStats {
        to_client_stats(self.core.snapshot())
    }

    #[napi(catch_unwind)]
    pub fn metrics(&self) -> String {
        crate::metrics::render_with_labels(&self.core.snapshot(), &self.metric_labels)
    }

    /// `GET /health` (outside retry and breaker); its answer arrives as a completion.
    #[napi(catch_unwind)]
    pub fn submit_health_check(&self, ticket: u32, cancellable: bool, headers: Option<Vec<String>>) -> Result<()> {
        self.submit_call(ticket, cancellable, Operation::Health, headers, |core| async move { Ok(core.health().await) }, Outcome::Bool)
    }

    /// Wires native events to `callback` (one weak threadsafe function, created on first call).
    #[napi]
    pub fn attach_events(&self, callback: Function<NativeEvent, ()>) -> Result<()> {
        self.monitor.attach_events(&callback)
    }

    /// Starts monitoring (or joins the attempt in flight); the completion under `ticket` is
    /// true once CONNECTED, false when this first check fails. Cancelling it only stops the
    /// waiting: the monitor goes on.
    #[napi(catch_unwind)]
    pub fn submit_connect(&self, ticket: u32, cancellable: bool) -> Result<()> {
        let outcome = self.monitor.connect()?;
        self.submit(ticket, cancellable, |_| async move { Ok(outcome.await) }, Outcome::Bool)
    }

    /// Like `connect()` without a promise (nothing waits on it, nothing keeps the loop alive).
    #[napi]
    pub fn start_connection(&self) -> Result<()> {
        self.monitor.start()
    }

    #[napi]
    pub fn disconnect(&self) {
        self.monitor.disconnect();
    }

    #[napi]
    pub fn connection_state(&self) -> ConnectionStateInfo {
        self.monitor.state()
    }

    /// Stops every call in flight and every later one (each settles with `ECLIENTCLOSED`, its
    /// retries stop and its sockets close), the monitor task, releases the event threadsafe
    /// function and closes the fleet's Redis connection; idempotent.
    #[napi]
    pub fn close(&self) {
        self.cancellations.cancel_all();
        self.monitor.close();
        if let Some(fleet) = &self.core.resilience().fleet {
            fleet.close();
        }
    }

    /// Whether this client's exchanges go through `globalThis.fetch`.
    #[napi(getter)]
    pub fn uses_fetch(&self) -> bool {
        self.core.fetch_transport().is_some()
    }

    /// Wires the fetch transport to `perform` (JS thread); a no-op when wired already or for a
    /// native-transport client.
    #[napi(catch_unwind)]
    pub fn attach_fetch(&self, perform: Function<FetchOrder, ()>) -> Result<()> {
        // One per endpoint (`serviceUrl` as a list), each wired to the same `perform`.
        for transport in self.core.fetch_transports() {
            fetch::attach(transport, &perform)?;
        }
        Ok(())
    }

    /// Releases the threadsafe function; requests sent after this fail as closed.
    #[napi(catch_unwind)]
    pub fn detach_fetch(&self) {
        for transport in self.core.fetch_transports() {
            transport.detach();
        }
    }

    /// `1` (trace: start and end of each attempt) | `2` (log: end of each attempt); 0 = off.
    /// Calls submitted while it is 0 record nothing.
    #[napi(catch_unwind)]
    pub fn set_telemetry(&self, flags: u32) {
        self.telemetry.set_flags(flags.min(u32::from(u8::MAX)) as u8);
    }

    /// `[dropped, ...records]`, each record `RECORD_STRIDE` slots: kind (0 start, 1 end), call
    /// (the ticket), attempt, operation, method, path, idempotencyKey, status, code, message,
    /// durationUs, atMs (Unix ms); absent fields are holes.
    #[napi(catch_unwind, ts_return_type = "Array<number | string | undefined>")]
    pub fn take_telemetry<'env>(&self, env: &'env Env) -> Result<Array<'env>> {
        let (records, dropped) = self.telemetry.take();
        crate::bindings::telemetry::records_to_js(env, records, dropped)
    }
}

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

fn to_operation_stats(op: &crate::stats::OpSnapshot) -> OperationStats {
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

fn to_breaker_stats(b: &crate::breaker::BreakerSnapshot) -> BreakerStats {
    BreakerStats {
        state: b.state.as_str().to_owned(),
        failures: b.failures,
        times_opened: b.times_opened as f64,
        rejected: b.rejected as f64,
        half_open_successes: b.half_open_successes,
    }
}

fn to_client_stats(s: crate::stats::ClientSnapshot) -> ClientStats {
    let ops: Vec<OperationStats> = s.operations.iter().map(to_operation_stats).collect();
    let retries = s.operations.iter().map(|o| o.retries).sum::<u64>() as f64;
    let mut ops = ops.into_iter();
    let mut next = || ops.next().expect("one snapshot per operation");
    ClientStats {
        requests: RequestStats { mint: next(), mint_batch: next(), validate: next(), health_check: next() },
        retries,
        rejected_by_breaker: s.rejected_by_breaker as f64,
        breaker: s.breaker.map(|b| BreakerStats {
            state: b.state.as_str().to_owned(),
            failures: b.failures,
            times_opened: b.times_opened as f64,
            rejected: b.rejected as f64,
            half_open_successes: b.half_open_successes,
        }),
        cache: s.cache.as_ref().map(to_cache_stats),
        rate_limit: RateLimitStats {
            paused: s.rate_limit.paused,
            retry_in_ms: s.rate_limit.retry_in_ms as f64,
            rate_limited: s.rate_limit.limited as f64,
            pauses: s.rate_limit.pauses as f64,
            waits: s.rate_limit.waits as f64,
            rejected: s.rate_limit.rejected as f64,
            pace_per_second: s.rate_limit.pace_per_sec.map(|p| (p * 100.0).round() / 100.0),
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
                })
                .collect()
        }),
        client_rate_limit: s.throttle.as_ref().map(|t| ClientRateLimitStats {
            requests_per_second: t.config.requests_per_second,
            burst: t.config.burst,
            waits: t.waits as f64,
            rejected: t.rejected as f64,
        }),
    }
}
