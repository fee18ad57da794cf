//! `NativeClient`: the Rust core behind the JS `ChittyIDClient` class.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bindings::connection::{connection_config, ClientConnection, ConnectionOptions};
use crate::bindings::errors::{to_error_info, to_napi_error, ErrorInfo, Failed};
use crate::bindings::events::{JsEventSink, NativeEvent};
use crate::breaker::{BreakerConfig, CircuitBreaker};
use crate::client::{Client, Validation};
use crate::config::{normalize_service_url, normalize_timeout, ClientConfig, DEFAULT_MAX_RESPONSE_BYTES};
use crate::events::SharedSink;
use crate::resilience::Resilience;
use crate::retry::RetryPolicy;
use crate::stats::OpStats;

#[napi(object)]
pub struct RetryOptions {
    pub max_attempts: Option<u32>,
    pub initial_delay_ms: Option<f64>,
    pub max_delay_ms: Option<f64>,
    pub backoff_multiplier: Option<f64>,
    pub jitter: Option<f64>,
    pub max_retry_after_ms: Option<f64>,
}

#[napi(object)]
pub struct BreakerOptions {
    pub failure_threshold: Option<u32>,
    pub reset_timeout: Option<f64>,
    pub monitor_window: Option<f64>,
    pub half_open_attempts: Option<u32>,
}

#[napi(object)]
pub struct NativeClientOptions {
    pub service_url: Option<String>,
    pub api_key: Option<String>,
    pub timeout: Option<f64>,
    pub max_response_bytes: Option<u32>,
    /// `None` = defaults; `enabled: false` turns retry off.
    pub retry: Option<RetryOptions>,
    pub retry_enabled: Option<bool>,
    pub circuit_breaker: Option<BreakerOptions>,
    pub circuit_breaker_enabled: Option<bool>,
    /// `None` = defaults; `connection_enabled: false` turns the connection manager off.
    pub connection: Option<ConnectionOptions>,
    pub connection_enabled: Option<bool>,
}

#[napi(object)]
pub struct MintOutcome {
    pub id: Option<String>,
    pub error: Option<ErrorInfo>,
}

#[napi(object)]
pub struct BatchOutcome {
    pub ids: Option<Vec<String>>,
    pub error: Option<ErrorInfo>,
}

#[napi(object)]
pub struct ValidationResult {
    pub valid: bool,
    pub chitty_id: Option<String>,
    pub entity: Option<String>,
    pub error: Option<String>,
}

impl From<Validation> for ValidationResult {
    fn from(v: Validation) -> Self {
        Self { valid: v.valid, chitty_id: v.chitty_id, entity: v.entity, error: v.error }
    }
}

fn ms(value: Option<f64>, default: u64) -> u64 {
    value.filter(|v| v.is_finite() && *v >= 0.0).map_or(default, |v| v as u64)
}

fn retry_policy(opts: &NativeClientOptions) -> std::result::Result<Option<RetryPolicy>, String> {
    if opts.retry_enabled == Some(false) {
        return Ok(None);
    }
    let d = RetryPolicy::default();
    let policy = match &opts.retry {
        None => d,
        Some(r) => RetryPolicy {
            max_attempts: r.max_attempts.unwrap_or(d.max_attempts),
            initial_delay_ms: ms(r.initial_delay_ms, d.initial_delay_ms),
            max_delay_ms: ms(r.max_delay_ms, d.max_delay_ms),
            multiplier: r.backoff_multiplier.unwrap_or(d.multiplier),
            jitter: r.jitter.unwrap_or(d.jitter),
            max_retry_after_ms: ms(r.max_retry_after_ms, d.max_retry_after_ms),
        },
    };
    policy.validate().map_err(|e| format!("invalid retry option: {e}"))?;
    Ok(Some(policy))
}

fn breaker_config(opts: &NativeClientOptions) -> std::result::Result<Option<BreakerConfig>, String> {
    if opts.circuit_breaker_enabled == Some(false) {
        return Ok(None);
    }
    let d = BreakerConfig::default();
    let config = match &opts.circuit_breaker {
        None => d,
        Some(b) => BreakerConfig {
            failure_threshold: b.failure_threshold.unwrap_or(d.failure_threshold),
            reset_timeout_ms: ms(b.reset_timeout, d.reset_timeout_ms),
            monitor_window_ms: ms(b.monitor_window, d.monitor_window_ms),
            half_open_successes: b.half_open_attempts.unwrap_or(d.half_open_successes),
        },
    };
    config.validate().map_err(|e| format!("invalid circuitBreaker option: {e}"))?;
    Ok(Some(config))
}

fn invalid(detail: String) -> napi::Error {
    to_napi_error(&crate::error::ClientError::InvalidArgument { detail })
}

#[napi]
pub struct NativeClient {
    core: Arc<Client>,
    conn: ClientConnection,
}

impl NativeClient {
    pub(crate) fn connection(&self) -> &ClientConnection {
        &self.conn
    }
}

#[napi]
impl NativeClient {
    #[napi(constructor)]
    pub fn new(
        options: NativeClientOptions,
        on_event: Option<Function<NativeEvent, ()>>,
    ) -> Result<Self> {
        let service_url = match &options.service_url {
            Some(url) => normalize_service_url(url).map_err(|e| to_napi_error(&e))?,
            None => crate::config::DEFAULT_SERVICE_URL.to_owned(),
        };
        let config = ClientConfig {
            service_url,
            api_key: options.api_key.clone().filter(|k| !k.is_empty()),
            timeout_ms: normalize_timeout(options.timeout).map_err(|e| to_napi_error(&e))?,
            max_response_bytes: options
                .max_response_bytes
                .map_or(DEFAULT_MAX_RESPONSE_BYTES, |n| n as usize),
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
        let resilience = Resilience {
            retry: retry_policy(&options).map_err(invalid)?,
            breaker: breaker_config(&options)
                .map_err(invalid)?
                .map(|c| Arc::new(CircuitBreaker::new(c, clock.clone()))),
            sink,
            stats: Arc::new(OpStats::default()),
        };
        let core = Arc::new(Client::new(&config, resilience).map_err(|e| to_napi_error(&e))?);
        let conn = ClientConnection::new(connection, &core, events);
        Ok(Self { core, conn })
    }

    #[napi(getter)]
    pub fn service_url(&self) -> String {
        self.core.service_url().to_owned()
    }

    /// `body` is the request serialized as JSON; `entity` is only used in error messages.
    #[napi(ts_return_type = "Promise<MintOutcome>")]
    pub fn mint(&self, env: &Env, entity: String, body: String) -> Result<AsyncBlock<MintOutcome>> {
        let core = Arc::clone(&self.core);
        owned(env, async move {
            match core.mint(body.into_bytes().into()).await {
                Ok(id) => MintOutcome { id: Some(id), error: None },
                Err(e) => MintOutcome { id: None, error: Some(to_error_info(Failed::Mint { entity: &entity }, &e)) },
            }
        })
    }

    #[napi(ts_return_type = "Promise<BatchOutcome>")]
    pub fn mint_batch(&self, env: &Env, body: String) -> Result<AsyncBlock<BatchOutcome>> {
        let core = Arc::clone(&self.core);
        owned(env, async move {
            match core.mint_batch(body.into_bytes().into()).await {
                Ok(ids) => BatchOutcome { ids: Some(ids), error: None },
                Err(e) => BatchOutcome { ids: None, error: Some(to_error_info(Failed::MintBatch, &e)) },
            }
        })
    }

    #[napi(ts_return_type = "Promise<ValidationResult>")]
    pub fn validate(&self, env: &Env, id: String) -> Result<AsyncBlock<ValidationResult>> {
        let core = Arc::clone(&self.core);
        owned(env, async move { core.validate(&id).await.into() })
    }

    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn health_check(&self, env: &Env) -> Result<AsyncBlock<bool>> {
        let core = Arc::clone(&self.core);
        owned(env, async move { core.health().await })
    }
}

/// A promise for `fut`, which owns everything it uses. An `async fn(&self)` would borrow the
/// `NativeClient` across awaits on the I/O thread, and a worker's teardown frees that object
/// while requests are still in flight; an owned `Arc<Client>` outlives it safely.
fn owned<T, F>(env: &Env, fut: F) -> Result<AsyncBlock<T>>
where
    T: ToNapiValue + Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    AsyncBlockBuilder::new(async move { Ok(fut.await) }).build(env)
}
