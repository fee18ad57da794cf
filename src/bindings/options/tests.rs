//! The translation of JS options into a `ClientBuilder`.

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
fn absent_options_are_the_builders_defaults() {
    let mut b = client_builder(no_options()).unwrap();
    // Extra CAs also come from the environment (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE).
    b = b.extra_ca_pem(Vec::new());
    assert_eq!(b, ClientBuilder::new());
}

#[test]
fn given_fields_replace_their_default_and_the_rest_keep_theirs() {
    let b = client_builder(NativeClientOptions {
        timeout: Some(250.0),
        retry: Some(RetryOptions {
            max_attempts: Some(7.0),
            initial_delay_ms: None,
            max_delay_ms: None,
            backoff_multiplier: None,
            jitter: None,
            max_retry_after_ms: None,
        }),
        cache: Some(CacheOptions { negative_ttl_ms: Some(5.0), ..no_cache_options() }),
        connection: Some(ConnectionOptions {
            health_check_interval: None,
            reconnect_delay: None,
            max_reconnect_delay: None,
            reconnect_multiplier: None,
            max_reconnect_attempts: Some(f64::INFINITY),
            jitter: None,
            auto_connect: None,
        }),
        ..no_options()
    })
    .unwrap()
    .extra_ca_pem(Vec::new());
    let want = ClientBuilder::new()
        .timeout_ms(250)
        .retry(Some(RetryPolicy { max_attempts: 7, ..RetryPolicy::default() }))
        .negative_ttl_ms(5)
        .connection(Some(ConnectionConfig { max_reconnect_attempts: None, ..ConnectionConfig::default() }));
    assert_eq!(b, want);
}

#[test]
fn policies_turn_off() {
    let b = client_builder(NativeClientOptions {
        retry_enabled: Some(false),
        retry_budget_enabled: Some(false),
        circuit_breaker_enabled: Some(false),
        cache_enabled: Some(false),
        connection_enabled: Some(false),
        ..no_options()
    })
    .unwrap()
    .extra_ca_pem(Vec::new());
    let off = ClientBuilder::new().retry(None).retry_budget(None).breaker(None).cache(None).connection(None);
    assert_eq!(b, off);
}

#[test]
fn names_js_did_not_check_are_refused_never_guessed() {
    let cases: Vec<(NativeClientOptions, &str)> = vec![
        (NativeClientOptions { scope: Some("thread".into()), ..no_options() }, "scope"),
        (NativeClientOptions { transport: Some("xhr".into()), ..no_options() }, "transport"),
        (NativeClientOptions { id_grammar: Some("V1".into()), ..no_options() }, "idGrammar"),
        (NativeClientOptions { mint_retry: Some("always".into()), ..no_options() }, "retry.mint"),
        (NativeClientOptions { wire: Some("v2".into()), ..no_options() }, "wire"),
    ];
    for (options, needle) in cases {
        let err = client_builder(options).expect_err(needle).to_string();
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn values_the_types_refuse_fail_the_build_naming_the_option() {
    let cases: Vec<(NativeClientOptions, &str)> = vec![
        (NativeClientOptions { service_url: Some("ftp://h/v1".into()), ..no_options() }, "serviceUrl"),
        (
            NativeClientOptions { metric_labels: Some(vec!["operation".into(), "x".into()]), ..no_options() },
            "operation",
        ),
        (
            NativeClientOptions {
                rate_limit: Some(ClientRateLimitOptions { requests_per_second: 0.0, burst: None }),
                ..no_options()
            },
            "requestsPerSecond",
        ),
    ];
    for (options, needle) in cases {
        let err = client_builder(options).unwrap().build().err().expect(needle).to_string();
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
        rate_per_second: None,
        burst: Some(2.0),
        coalesce_ms: None,
        shared_cache: None,
        breaker_hint: None,
    };
    assert!(fleet_config(&options).unwrap_err().contains("fleet.burst"));
    let config = fleet_config(&FleetOptions { rate_per_second: Some(2.0), burst: None, ..options }).unwrap();
    let d = FleetConfig::new(String::new());
    assert_eq!(
        (config.deadline_ms, config.coalesce_ms, config.rate.map(|r| r.burst)),
        (d.deadline_ms, d.coalesce_ms, Some(DEFAULT_BURST))
    );
}

#[test]
fn id_grammar_names_one_or_both_grammars() {
    for (name, grammar) in [("any", IdGrammar::Any), ("v1", IdGrammar::V1), ("deployed", IdGrammar::Deployed)] {
        let b = client_builder(NativeClientOptions { id_grammar: Some(name.into()), ..no_options() }).unwrap();
        assert_eq!(b.extra_ca_pem(Vec::new()), ClientBuilder::new().id_grammar(grammar));
    }
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
        (NativeClientOptions { max_connections: Some(0.0), ..no_options() }, "maxConnections"),
        (NativeClientOptions { max_connections: Some(70_000.0), ..no_options() }, "maxConnections"),
        (NativeClientOptions { max_response_bytes: Some(1.5), ..no_options() }, "maxResponseBytes"),
        (NativeClientOptions { timeout: Some(-5.0), ..no_options() }, "timeout"),
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
    ];
    for (options, needle) in cases {
        let err = client_builder(options).expect_err(needle).to_string();
        assert!(err.contains(needle), "{needle}: {err}");
    }
}
