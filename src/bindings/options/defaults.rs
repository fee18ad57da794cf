//! Every default of the client's options, handed to JS (`clientDefaults()`), read from the
//! plain types that take them from the options table, or from the table itself
//! (`crate::option_table`) where no plain type holds one (`scope`, `acceptPlaceholders`,
//! `connection.autoConnect`).

use napi_derive::napi;

use crate::cache::{CacheConfig, DEFAULT_NEGATIVE_TTL_MS};
use crate::client::endpoints::FailoverConfig;
use crate::client::MintRetry;
use crate::connection::ConnectionConfig;
use crate::fleet::{FleetConfig, DEFAULT_BURST};
use crate::policy::breaker::BreakerConfig;
use crate::policy::bulkhead::DEFAULT_MAX_QUEUE;
use crate::policy::retry::{default_retryable_errors, RetryPolicy};
use crate::policy::retry_budget::RetryBudgetConfig;
use crate::transport::config::{self, TransportConfig};
use crate::wire::WireMode;

use super::{BreakerOptions, CacheOptions, ConnectionOptions, FailoverOptions, RetryBudgetOptions};

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

/// `retry` defaults, shaped as the option: its numeric fields, `mint` and `budget`.
#[napi(object)]
pub struct RetryDefaults {
    pub max_attempts: f64,
    pub initial_delay_ms: f64,
    pub max_delay_ms: f64,
    pub backoff_multiplier: f64,
    pub jitter: f64,
    pub max_retry_after_ms: f64,
    pub mint: String,
    pub budget: RetryBudgetOptions,
}

/// `bulkhead` defaults (the bulkhead itself is off unless given; `maxConcurrent` has none).
#[napi(object)]
pub struct BulkheadDefaults {
    pub max_queue: f64,
}

/// The default of every option of `new ChittyIDClient(config)` that has a fixed one, shaped as
/// the options are (`retry.mint` under `retry`, `bulkhead.maxQueue` under `bulkhead`), and two
/// values that are not options.
#[napi(object)]
pub struct ClientDefaults {
    pub service_url: String,
    pub timeout: f64,
    /// `healthCheck()`'s own timeout (not an option: `fixed.healthTimeoutMs` of the table).
    pub health_timeout_ms: f64,
    pub max_response_bytes: f64,
    pub max_connections: f64,
    pub scope: String,
    pub allow_insecure: bool,
    pub id_grammar: String,
    pub retry: RetryDefaults,
    pub circuit_breaker: BreakerOptions,
    pub cache: CacheOptions,
    pub connection: ConnectionOptions,
    pub failover: FailoverOptions,
    pub bulkhead: BulkheadDefaults,
    pub fleet: FleetDefaults,
    /// `retryableErrors` of the compat `RETRY_CONFIG` (not an option).
    pub retryable_errors: Vec<String>,
    /// `wire`.
    pub wire: String,
    pub accept_placeholders: bool,
    /// Where neither the option nor `CHITTYID_TRANSPORT` names one and no test runner runs.
    pub transport: String,
}

/// Every default, as the client is built with it.
#[napi]
pub fn client_defaults() -> ClientDefaults {
    let config = TransportConfig::default();
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
        health_timeout_ms: config::HEALTH_TIMEOUT_MS as f64,
        max_response_bytes: config.max_response_bytes as f64,
        max_connections: config.max_connections as f64,
        scope: crate::option_table::SCOPE.to_owned(),
        allow_insecure: config.allow_insecure,
        id_grammar: crate::id::IdGrammar::default().as_str().to_owned(),
        retry: RetryDefaults {
            max_attempts: f64::from(retry.max_attempts),
            initial_delay_ms: retry.initial_delay_ms as f64,
            max_delay_ms: retry.max_delay_ms as f64,
            backoff_multiplier: retry.multiplier,
            jitter: retry.jitter,
            max_retry_after_ms: retry.max_retry_after_ms as f64,
            mint: MintRetry::default().as_str().to_owned(),
            budget: RetryBudgetOptions {
                ratio: Some(budget.ratio),
                window_ms: Some(budget.window_ms as f64),
                min_per_second: Some(f64::from(budget.min_per_second)),
            },
        },
        circuit_breaker: BreakerOptions {
            failure_threshold: Some(f64::from(breaker.failure_threshold)),
            reset_timeout: Some(breaker.reset_timeout_ms as f64),
            monitor_window: Some(breaker.monitor_window_ms as f64),
            half_open_attempts: Some(f64::from(breaker.half_open_attempts)),
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
            auto_connect: Some(crate::option_table::CONNECTION_AUTO_CONNECT),
        },
        failover: FailoverOptions {
            probe_interval_ms: Some(failover.probe_interval_ms as f64),
            failback_successes: Some(f64::from(failover.failback_successes)),
        },
        bulkhead: BulkheadDefaults { max_queue: f64::from(DEFAULT_MAX_QUEUE) },
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
        accept_placeholders: crate::option_table::ACCEPT_PLACEHOLDERS,
        transport: crate::option_table::TRANSPORT.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_js_sees_are_the_plain_types_defaults() {
        let d = client_defaults();
        assert_eq!(d.timeout, config::DEFAULT_TIMEOUT_MS as f64);
        assert_eq!(d.retry.max_attempts, f64::from(RetryPolicy::default().max_attempts));
        assert_eq!(d.cache.negative_ttl_ms, Some(DEFAULT_NEGATIVE_TTL_MS as f64));
        assert_eq!(d.id_grammar, "any");
        assert_eq!(d.connection.max_reconnect_attempts, Some(f64::INFINITY));
        assert_eq!(d.retry.mint, "safe");
        assert_eq!(d.service_url, config::DEFAULT_SERVICE_URL);
        assert!(d.retryable_errors.iter().any(|e| e == "ECONNREFUSED"));
    }

    #[test]
    fn the_enums_defaults_and_names_are_the_tables() {
        use crate::id::IdGrammar;
        use crate::option_table as table;
        assert_eq!(MintRetry::default().as_str(), table::RETRY_MINT);
        assert_eq!(WireMode::default().as_str(), table::WIRE);
        assert_eq!(WireMode::VALUES, table::WIRE_VALUES);
        assert_eq!(IdGrammar::default().as_str(), table::ID_GRAMMAR);
        assert_eq!(IdGrammar::NAMES, table::ID_GRAMMAR_VALUES);
        assert_eq!(table::SCOPE_VALUES[0], table::SCOPE);
        assert_eq!(super::super::transport_kind(table::TRANSPORT), crate::transport::TransportKind::default());
    }
}
