//! `ClientBuilder`: the one place a [`Client`] is assembled (docs/ARCHITECTURE.md, "Options").
//!
//! A new builder holds every default of the client (each read from the plain type it
//! configures, whose numbers come from the options table, `lib/options.json`); setters replace
//! one setting; [`ClientBuilder::build`] checks what the types themselves require (URLs,
//! timeout range, each policy's `validate()`, metric labels) and wires the policies of every
//! endpoint: the primary's `Resilience`, and one per failover endpoint with its own breaker
//! and 429 pause. The bindings only translate JS options into setter calls; the Rust benches
//! and tests use it directly.

use std::sync::Arc;

use crate::cache::{CacheConfig, ValidationCache, DEFAULT_NEGATIVE_TTL_MS};
use crate::client::endpoints::{EndpointSet, FailoverConfig};
use crate::client::{CachePolicy, CallRules, Client, Failover, Fallback, MintRetry};
use crate::connection::ConnectionConfig;
use crate::error::ClientError;
use crate::fleet::{Fleet, FleetConfig};
use crate::id::IdGrammar;
use crate::observe::events::{self, SharedSink};
use crate::observe::stats::OpStats;
use crate::option_table as table;
use crate::policy::attempt::Resilience;
use crate::policy::breaker::{BreakerConfig, CircuitBreaker};
use crate::policy::bulkhead::{Bulkhead, BulkheadConfig};
use crate::policy::pause::Pause;
use crate::policy::rate_limit::{RateLimit, RateLimitConfig};
use crate::policy::retry::RetryPolicy;
use crate::policy::retry_budget::{RetryBudget, RetryBudgetConfig};
use crate::registry::{self, SharedState};
use crate::rt::clock::{self, SharedClock};
use crate::transport::config::{normalize_service_url, ProxySetting, TransportConfig};
use crate::transport::{ClientTransport, TransportKind};
use crate::wire::WireMode;

/// Every setting of a client. `None` where a policy is off.
#[derive(Clone)]
pub struct ClientBuilder {
    config: TransportConfig,
    fallback_urls: Vec<String>,
    failover: FailoverConfig,
    transport: TransportKind,
    retry: Option<RetryPolicy>,
    mint_retry: MintRetry,
    retry_budget: Option<RetryBudgetConfig>,
    breaker: Option<BreakerConfig>,
    cache: Option<CacheConfig>,
    negative_ttl_ms: u64,
    connection: Option<ConnectionConfig>,
    process_scope: bool,
    bulkhead: Option<BulkheadConfig>,
    rate_limit: Option<RateLimitConfig>,
    fleet: Option<FleetConfig>,
    metric_labels: Vec<(String, String)>,
    wire: WireMode,
    accept_placeholders: bool,
    id_grammar: IdGrammar,
    sink: SharedSink,
    clock: SharedClock,
}

/// What [`ClientBuilder::build`] makes: the client, and what its binding wires around it.
pub struct BuiltClient {
    pub client: Arc<Client>,
    /// Cache, breaker and pause, shared per service URL under `scope: "process"`; keep it
    /// alive as long as the client.
    pub shared: Arc<SharedState>,
    /// The connection manager's settings; `None` = off.
    pub connection: Option<ConnectionConfig>,
    /// Constant labels on every series of `metrics()`.
    pub metric_labels: Vec<(String, String)>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            config: TransportConfig::default(),
            fallback_urls: Vec::new(),
            failover: FailoverConfig::default(),
            transport: TransportKind::Native,
            retry: Some(RetryPolicy::default()),
            mint_retry: MintRetry::default(),
            retry_budget: Some(RetryBudgetConfig::default()),
            breaker: Some(BreakerConfig::default()),
            cache: Some(CacheConfig::default()),
            negative_ttl_ms: DEFAULT_NEGATIVE_TTL_MS,
            connection: Some(ConnectionConfig::default()),
            process_scope: table::SCOPE == "process",
            bulkhead: None,
            rate_limit: None,
            fleet: None,
            metric_labels: Vec::new(),
            wire: WireMode::default(),
            accept_placeholders: table::ACCEPT_PLACEHOLDERS,
            id_grammar: IdGrammar::default(),
            sink: events::noop(),
            clock: clock::system(),
        }
    }
}

/// Two builders are equal when their settings are (events and clock aside).
impl PartialEq for ClientBuilder {
    fn eq(&self, other: &Self) -> bool {
        let settings = |b: &Self| {
            (
                (b.config.clone(), b.fallback_urls.clone(), b.failover.clone(), b.transport, b.retry.clone()),
                (b.mint_retry, b.retry_budget.clone(), b.breaker.clone(), b.cache.clone(), b.negative_ttl_ms),
                (b.connection.clone(), b.process_scope, b.bulkhead.clone(), b.rate_limit.clone(), b.fleet.clone()),
                (b.metric_labels.clone(), b.wire, b.accept_placeholders, b.id_grammar),
            )
        };
        settings(self) == settings(other)
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("fallback_urls", &self.fallback_urls)
            .field("process_scope", &self.process_scope)
            .finish_non_exhaustive()
    }
}

fn invalid(detail: String) -> ClientError {
    ClientError::InvalidArgument { detail }
}

/// A type's refusal of the option `what`'s values.
fn named(what: &'static str) -> impl Fn(String) -> ClientError {
    move |e| invalid(format!("invalid {what} option: {e}"))
}

impl ClientBuilder {
    /// Every default: the public service, retry, retry budget, breaker, cache and connection
    /// manager on; bulkhead, rate limit, fleet and failover off; no events.
    pub fn new() -> Self {
        Self::default()
    }

    /// The primary endpoint (normalized by [`build`](Self::build)).
    pub fn service_url(mut self, url: impl Into<String>) -> Self {
        self.config.service_url = url.into();
        self
    }

    /// The endpoints after the primary, in order (endpoint failover).
    pub fn fallback_urls(mut self, urls: Vec<String>) -> Self {
        self.fallback_urls = urls;
        self
    }

    pub fn failover(mut self, failover: FailoverConfig) -> Self {
        self.failover = failover;
        self
    }

    /// An empty key is no key.
    pub fn api_key(mut self, key: Option<String>) -> Self {
        self.config.api_key = key.filter(|k| !k.is_empty());
        self
    }

    /// 1 ms to `config::MAX_TIMEOUT_MS` (checked by `build`).
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.config.timeout_ms = ms;
        self
    }

    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.config.max_response_bytes = bytes;
        self
    }

    pub fn max_connections(mut self, n: usize) -> Self {
        self.config.max_connections = n;
        self
    }

    pub fn extra_ca_pem(mut self, pems: Vec<Vec<u8>>) -> Self {
        self.config.extra_ca_pem = pems;
        self
    }

    pub fn verify_tls(mut self, verify: bool) -> Self {
        self.config.verify_tls = verify;
        self
    }

    pub fn allow_insecure(mut self, allow: bool) -> Self {
        self.config.allow_insecure = allow;
        self
    }

    pub fn proxy(mut self, proxy: ProxySetting) -> Self {
        self.config.proxy = proxy;
        self
    }

    pub fn id_grammar(mut self, grammar: IdGrammar) -> Self {
        self.id_grammar = grammar;
        self
    }

    pub fn transport(mut self, transport: TransportKind) -> Self {
        self.transport = transport;
        self
    }

    /// `None` turns retry off, and its budget with it.
    pub fn retry(mut self, retry: Option<RetryPolicy>) -> Self {
        self.retry = retry;
        self
    }

    pub fn mint_retry(mut self, mint_retry: MintRetry) -> Self {
        self.mint_retry = mint_retry;
        self
    }

    /// `None` lifts the cap on retries.
    pub fn retry_budget(mut self, budget: Option<RetryBudgetConfig>) -> Self {
        self.retry_budget = budget;
        self
    }

    pub fn breaker(mut self, breaker: Option<BreakerConfig>) -> Self {
        self.breaker = breaker;
        self
    }

    pub fn cache(mut self, cache: Option<CacheConfig>) -> Self {
        self.cache = cache;
        self
    }

    /// How long a "not valid" answer is served (at most the cache's `ttl_ms`).
    pub fn negative_ttl_ms(mut self, ms: u64) -> Self {
        self.negative_ttl_ms = ms;
        self
    }

    pub fn connection(mut self, connection: Option<ConnectionConfig>) -> Self {
        self.connection = connection;
        self
    }

    /// Cache, breaker and pause shared per service URL process-wide (`scope: "process"`).
    pub fn process_scope(mut self, shared: bool) -> Self {
        self.process_scope = shared;
        self
    }

    pub fn bulkhead(mut self, bulkhead: Option<BulkheadConfig>) -> Self {
        self.bulkhead = bulkhead;
        self
    }

    pub fn rate_limit(mut self, rate_limit: Option<RateLimitConfig>) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    pub fn fleet(mut self, fleet: Option<FleetConfig>) -> Self {
        self.fleet = fleet;
        self
    }

    pub fn metric_labels(mut self, labels: Vec<(String, String)>) -> Self {
        self.metric_labels = labels;
        self
    }

    pub fn wire(mut self, wire: WireMode) -> Self {
        self.wire = wire;
        self
    }

    pub fn accept_placeholders(mut self, accept: bool) -> Self {
        self.accept_placeholders = accept;
        self
    }

    /// Where the client's events go (default: nowhere).
    pub fn events(mut self, sink: SharedSink) -> Self {
        self.sink = sink;
        self
    }

    /// The clock of the policies (default: the system's).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Checks what the plain types require of their values, each failure an
    /// `InvalidArgument` naming the option.
    fn check(&mut self) -> Result<(), ClientError> {
        let allow_insecure = self.config.allow_insecure;
        self.config.service_url = normalize_service_url(&self.config.service_url, allow_insecure)?;
        for url in &mut self.fallback_urls {
            *url = normalize_service_url(url, allow_insecure)?;
        }
        // What the table allows of the plain numbers (the policies check theirs below).
        table::check("timeout", self.config.timeout_ms as f64).map_err(invalid)?;
        table::check("maxResponseBytes", self.config.max_response_bytes as f64).map_err(invalid)?;
        table::check("maxConnections", self.config.max_connections as f64).map_err(invalid)?;
        if let Some(r) = &self.retry {
            r.validate().map_err(named("retry"))?;
        }
        if let Some(b) = &self.retry_budget {
            b.validate().map_err(invalid)?;
        }
        if let Some(b) = &self.breaker {
            b.validate().map_err(named("circuitBreaker"))?;
        }
        if let Some(c) = &self.cache {
            c.validate().map_err(named("cache"))?;
        }
        if let Some(c) = &self.connection {
            c.validate().map_err(invalid)?;
        }
        if self.failover.probe_interval_ms == 0 || self.failover.failback_successes == 0 {
            return Err(invalid("failover.probeIntervalMs and failover.failbackSuccesses must be at least 1".into()));
        }
        if let Some(b) = &self.bulkhead {
            b.validate().map_err(invalid)?;
        }
        if let Some(r) = &self.rate_limit {
            r.validate().map_err(invalid)?;
        }
        if let Some(f) = &self.fleet {
            f.validate().map_err(invalid)?;
        }
        crate::client::metrics::check_constant_labels(&self.metric_labels).map_err(invalid)
    }

    /// Checks every setting and assembles the client: its transport(s), the policies of each
    /// endpoint, the cache, bulkhead and fleet connection (started in the background).
    pub fn build(mut self) -> Result<BuiltClient, ClientError> {
        self.check()?;
        let Self { config, clock, sink, .. } = &self;
        let new_breaker = || self.breaker.clone().map(|c| Arc::new(CircuitBreaker::new(c, clock.clone())));
        let new_state = || SharedState {
            breaker: new_breaker(),
            pause: Arc::new(Pause::new(clock.clone())),
            cache: self.cache.clone().map(|c| Arc::new(ValidationCache::new(c, clock.clone()))),
        };
        let shared = if self.process_scope {
            registry::for_service(&config.service_url, new_state)
        } else {
            Arc::new(new_state())
        };
        let fleet = match &self.fleet {
            None => None,
            Some(fleet_config) => Some(Fleet::new(
                fleet_config.clone(),
                &config.service_url,
                config.api_key.as_deref(),
                crate::fleet::tls::Trust { extra_ca_pem: &config.extra_ca_pem, verify: config.verify_tls },
                config.timeout_ms,
                sink.clone(),
                clock.clone(),
            )?),
        };
        // Retry off takes its budget with it: there is nothing to cap.
        let retry_budget = self.retry_budget.clone().filter(|_| self.retry.is_some());
        let resilience = Resilience::new(shared.pause.clone(), sink.clone(), Arc::new(OpStats::default()))
            .with_retry(self.retry.clone())
            .with_breaker(shared.breaker.clone())
            .with_fleet(fleet.clone())
            .with_retry_budget(retry_budget.map(|c| Arc::new(RetryBudget::new(c, clock.clone()))))
            .with_rate_limit(self.rate_limit.clone().map(|c| Arc::new(RateLimit::new(c, clock.clone()))));
        let cache = shared
            .cache
            .clone()
            .filter(|_| self.cache.is_some())
            .map(|cache| CachePolicy { cache, negative_ttl_ms: self.negative_ttl_ms });
        let failover = if self.fallback_urls.is_empty() {
            None
        } else {
            let mut fallbacks = Vec::with_capacity(self.fallback_urls.len());
            for service_url in &self.fallback_urls {
                let endpoint_config = TransportConfig { service_url: service_url.clone(), ..config.clone() };
                let transport = ClientTransport::new(&endpoint_config, self.transport)?;
                let resilience = resilience.for_fallback(new_breaker(), Arc::new(Pause::new(clock.clone())));
                fallbacks.push(Fallback { transport, resilience });
            }
            let set = EndpointSet::new(fallbacks.len() + 1, self.failover.clone(), clock.clone());
            Some(Failover::new(fallbacks, set))
        };
        let rules = CallRules {
            mint_retry: self.mint_retry,
            wire: self.wire,
            accept_placeholders: self.accept_placeholders,
            id_grammar: self.id_grammar,
        };
        let client = Client::new(config, self.transport, resilience, cache, rules)?
            .with_bulkhead(self.bulkhead.clone().map(Bulkhead::new))
            .with_failover(failover)
            .into_shared();
        // The fleet connects to Redis when the client starts it (`Client::start_fleet`), not
        // here: the JS side does so on the next tick, after listeners added right after the
        // constructor can hear its first event.
        Ok(BuiltClient { client, shared, connection: self.connection, metric_labels: self.metric_labels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_builder_holds_the_defaults_of_the_plain_types() {
        let b = ClientBuilder::new();
        assert_eq!(b.config, TransportConfig::default());
        assert_eq!(b.retry, Some(RetryPolicy::default()));
        assert_eq!(b.retry_budget, Some(RetryBudgetConfig::default()));
        assert_eq!(b.breaker, Some(BreakerConfig::default()));
        assert_eq!(b.cache, Some(CacheConfig::default()));
        assert_eq!(b.negative_ttl_ms, DEFAULT_NEGATIVE_TTL_MS);
        assert_eq!(b.connection, Some(ConnectionConfig::default()));
        assert_eq!(b.failover, FailoverConfig::default());
        assert!(b.bulkhead.is_none() && b.rate_limit.is_none() && b.fleet.is_none() && !b.process_scope);
    }

    #[test]
    fn build_refuses_what_the_types_refuse_naming_the_option() {
        let cases: Vec<(ClientBuilder, &str)> = vec![
            (ClientBuilder::new().service_url("ftp://h/v1"), "serviceUrl"),
            (ClientBuilder::new().fallback_urls(vec!["http://10.0.0.1/".into()]), "serviceUrl"),
            (ClientBuilder::new().timeout_ms(0), "timeout"),
            (ClientBuilder::new().timeout_ms(crate::transport::config::MAX_TIMEOUT_MS + 1), "timeout"),
            (ClientBuilder::new().max_connections(70_000), "maxConnections"),
            (ClientBuilder::new().max_response_bytes(0), "maxResponseBytes"),
            (ClientBuilder::new().retry(Some(RetryPolicy { multiplier: 0.5, ..RetryPolicy::default() })), "retry"),
            (ClientBuilder::new().cache(Some(CacheConfig { max_size: 0, ..CacheConfig::default() })), "cache"),
            (
                ClientBuilder::new().failover(FailoverConfig { failback_successes: 0, ..FailoverConfig::default() }),
                "failover",
            ),
            (ClientBuilder::new().metric_labels(vec![("operation".into(), "x".into())]), "operation"),
        ];
        for (builder, needle) in cases {
            let err = builder.build().err().expect(needle);
            assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE", "{needle}");
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn every_endpoint_gets_its_policies_and_retry_off_takes_its_budget() {
        let built = ClientBuilder::new()
            .service_url("http://127.0.0.1:1/v1/")
            .fallback_urls(vec!["http://127.0.0.1:2/v1".into(), "http://127.0.0.1:3/v1".into()])
            .retry(None)
            .build()
            .unwrap();
        let client = &built.client;
        assert_eq!(client.service_url(), "http://127.0.0.1:1/v1");
        assert!(client.resilience().retry_budget().is_none());
        assert_eq!(client.snapshot().endpoints.len(), 3);
        // Each endpoint has a breaker of its own.
        let primary = client.resilience().breaker().unwrap();
        assert!(Arc::ptr_eq(primary, built.shared.breaker.as_ref().unwrap()));
        assert!(built.connection.is_some() && built.metric_labels.is_empty());
    }

    #[test]
    fn process_scope_shares_cache_breaker_and_pause_per_service_url() {
        let url = "http://127.0.0.1:9/builder-process-scope";
        let a = ClientBuilder::new().service_url(url).process_scope(true).build().unwrap();
        let b = ClientBuilder::new().service_url(url).process_scope(true).build().unwrap();
        let c = ClientBuilder::new().service_url(url).build().unwrap();
        assert!(Arc::ptr_eq(&a.shared, &b.shared));
        assert!(!Arc::ptr_eq(&a.shared, &c.shared));
    }
}
