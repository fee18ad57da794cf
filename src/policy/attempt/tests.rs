//! The attempt loop (`Resilience`) on a stepped clock: how the policies combine, and their events.

use super::*;
use crate::observe::events::testing::RecordingSink;
use crate::policy::breaker::BreakerConfig;
use crate::rt::clock::ManualClock;
use bytes::Bytes;

fn resilience(clock: Arc<ManualClock>, sink: Arc<RecordingSink>) -> Resilience {
    let config = BreakerConfig { failure_threshold: 1, reset_timeout_ms: 100, ..BreakerConfig::default() };
    Resilience {
        retry: None,
        breaker: Some(Arc::new(CircuitBreaker::new(config, clock.clone()))),
        pause: Arc::new(Pause::new(clock)),
        sink,
        stats: Arc::new(OpStats::default()),
        fleet: None,
        retry_budget: None,
        rate_limit: None,
    }
}

const MINT: Call<'static> =
    Call { op: Operation::Mint, replay: Replay::Retryable, wait_budget_ms: 1_000, yields_to_failover: false };

fn failing() -> std::future::Ready<Result<Response, ClientError>> {
    std::future::ready(Err(ClientError::Timeout { after_ms: 1, phase: crate::error::Phase::Exchange }))
}

fn ok() -> std::future::Ready<Result<Response, ClientError>> {
    let response = Response { status: 200, status_text: "OK".into(), retry_after: None, body: Bytes::new() };
    std::future::ready(Ok(response))
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
}

#[test]
fn admit_ahead_of_run_is_what_run_would_answer() {
    let clock = ManualClock::new(0);
    let sink = Arc::new(RecordingSink::default());
    let r = resilience(clock.clone(), sink.clone());
    assert!(r.admit().is_ok());
    assert_eq!(block_on(r.run(MINT, |_| failing(), |_| Ok(()))).unwrap_err().code(), "ETIMEDOUT");
    assert_eq!(sink.names(), ["circuitOpen"]);

    // Open: the pre-check rejects and counts it exactly as `run` does.
    clock.advance(40);
    assert_eq!(r.admit(), Err(ClientError::CircuitOpen { retry_in_ms: 60 }));
    assert_eq!(block_on(r.run(MINT, |_| ok(), |_| Ok(()))).unwrap_err(), ClientError::CircuitOpen { retry_in_ms: 60 });
    assert_eq!(r.stats.rejected_by_breaker(), 2);

    // Expired: the pre-check moves to HALF_OPEN once; `run` then admits without a second event.
    clock.advance(60);
    assert!(r.admit().is_ok());
    assert!(block_on(r.run(MINT, |_| ok(), |_| Ok(()))).is_ok());
    assert_eq!(sink.names(), ["circuitOpen", "circuitHalfOpen"]);
    assert_eq!(r.breaker.as_ref().unwrap().state(), BreakerState::HalfOpen);
    assert_eq!(r.stats.rejected_by_breaker(), 2);
}

#[test]
fn with_a_fleet_a_429_pauses_the_next_attempt_and_one_that_cannot_wait_fails_unsent() {
    let clock = ManualClock::new(0);
    let sink = Arc::new(RecordingSink::default());
    // No Redis at port 1: the fleet runs local-only, which is what this wiring needs.
    let config =
        crate::fleet::FleetConfig { deadline_ms: 20, ..crate::fleet::FleetConfig::new("redis://127.0.0.1:1/".into()) };
    let fleet = crate::fleet::Fleet::new(
        config,
        "http://127.0.0.1:9",
        None,
        crate::fleet::tls::Trust::DEFAULT,
        200,
        crate::observe::events::noop(),
        crate::rt::clock::system(),
    )
    .unwrap();
    let r = Resilience {
        retry: Some(RetryPolicy {
            max_attempts: 3,
            initial_delay_ms: 1,
            max_delay_ms: 1,
            jitter: 0.0,
            ..RetryPolicy::default()
        }),
        fleet: Some(fleet.clone()),
        ..resilience(clock, sink)
    };
    let mut attempts = 0;
    let err = block_on(r.run(
        MINT,
        |_| {
            attempts += 1;
            let response = Response {
                status: 429,
                status_text: "Too Many Requests".into(),
                retry_after: None,
                body: Bytes::new(),
            };
            std::future::ready(Ok(response))
        },
        |_| Ok(()),
    ))
    .unwrap_err();
    assert_eq!(attempts, 1, "the retry was not sent into the pause");
    assert_eq!(err.code(), "ERATELIMITED");
    // The pause the gate started went to the fleet; the gate itself refused the retry.
    assert_eq!(fleet.snapshot().pauses_published, 1);
    assert!(fleet.current_pause() > 0);
}

#[test]
fn retry_and_circuit_open_events_carry_their_payloads() {
    let sink = Arc::new(RecordingSink::default());
    let r = Resilience {
        retry: Some(RetryPolicy {
            max_attempts: 2,
            initial_delay_ms: 1,
            max_delay_ms: 1,
            jitter: 0.0,
            ..RetryPolicy::default()
        }),
        breaker: Some(Arc::new(CircuitBreaker::new(
            BreakerConfig { failure_threshold: 2, reset_timeout_ms: 100, ..BreakerConfig::default() },
            ManualClock::new(0),
        ))),
        ..resilience(ManualClock::new(0), sink.clone())
    };
    let err = block_on(r.run(MINT, |_| failing(), |_| Ok(()))).unwrap_err();
    let error = ErrorPayload { code: "ETIMEDOUT", message: err.to_string() };
    assert_eq!(
        *sink.events.lock().unwrap(),
        [
            Event::Retry { operation: "mint", attempt: 1, delay: 1, error },
            Event::CircuitOpen { failures: 2, reset_timeout: 100 },
        ]
    );
}

#[test]
fn a_failure_that_opens_the_circuit_is_not_retried() {
    let clock = ManualClock::new(0);
    let sink = Arc::new(RecordingSink::default());
    let r = Resilience {
        retry: Some(RetryPolicy { max_attempts: 5, ..RetryPolicy::default() }),
        ..resilience(clock, sink.clone())
    };
    let mut attempts = 0;
    let err = block_on(r.run(
        MINT,
        |_| {
            attempts += 1;
            failing()
        },
        |_| Ok(()),
    ))
    .unwrap_err();
    assert_eq!(err.code(), "ETIMEDOUT", "the real failure, not ECIRCUITOPEN");
    assert_eq!(attempts, 1);
    assert_eq!(r.stats.snapshot(Operation::Mint).retries, 0);
    assert_eq!(sink.names(), ["circuitOpen"]);
}

#[test]
fn a_call_js_asked_to_make_once_is_not_retried() {
    let r = Resilience {
        retry: Some(RetryPolicy { max_attempts: 5, initial_delay_ms: 0, ..RetryPolicy::default() }),
        breaker: None,
        ..resilience(ManualClock::new(0), Arc::new(RecordingSink::default()))
    };
    let once = crate::transport::fetch::CallOrigin { ticket: 1, single_attempt: true };
    for (origin, want) in [(Some(once), 1), (None, 2)] {
        let mut attempts = 0;
        let run = r.run(
            MINT,
            |_| {
                attempts += 1;
                std::future::ready(if attempts == 1 { status(503, None) } else { status(200, None) })
            },
            |_| Ok(()),
        );
        let outcome = match origin {
            Some(origin) => block_on(crate::transport::fetch::within_call(origin, run)),
            None => block_on(run),
        };
        assert_eq!(attempts, want);
        assert_eq!(outcome.is_ok(), origin.is_none(), "the first answer (503) is final for a single-attempt call");
    }
}

fn status(code: u16, retry_after: Option<&str>) -> Result<Response, ClientError> {
    Ok(Response {
        status: code,
        status_text: String::new(),
        retry_after: retry_after.map(str::to_owned),
        body: Bytes::new(),
    })
}

fn exchange_timeout() -> Result<Response, ClientError> {
    Err(ClientError::Timeout { after_ms: 1, phase: crate::error::Phase::Exchange })
}

fn refused() -> Result<Response, ClientError> {
    Err(ClientError::Transport { code: "ECONNREFUSED", detail: "refused".into(), phase: crate::error::Phase::Connect })
}

/// Runs a mint whose attempts answer `script` in order (then 200), with 5 attempts and no
/// backoff; returns the outcome and the number of attempts made.
fn mint_with(replay: Replay<'_>, script: Vec<Result<Response, ClientError>>) -> (Result<(), ClientError>, usize) {
    let clock = ManualClock::new(0);
    let r = Resilience {
        retry: Some(RetryPolicy { max_attempts: 5, initial_delay_ms: 0, ..RetryPolicy::default() }),
        breaker: None,
        ..resilience(clock, Arc::new(RecordingSink::default()))
    };
    let mut script = script.into_iter();
    let mut attempts = 0;
    let call = Call { op: Operation::Mint, replay, wait_budget_ms: 1_000, yields_to_failover: false };
    let outcome = block_on(r.run(
        call,
        |_| {
            attempts += 1;
            std::future::ready(script.next().unwrap_or_else(|| status(200, None)))
        },
        |_| Ok(()),
    ));
    (outcome, attempts)
}

#[test]
fn an_exhausted_retry_budget_ends_the_call_with_its_failure() {
    use crate::policy::retry_budget::{RetryBudget, RetryBudgetConfig};
    let clock = ManualClock::new(0);
    let budget = Arc::new(RetryBudget::new(
        RetryBudgetConfig { ratio: 0.5, window_ms: 1_000, min_per_second: 0 },
        clock.clone(),
    ));
    let r = Resilience {
        retry: Some(RetryPolicy { max_attempts: 5, initial_delay_ms: 0, ..RetryPolicy::default() }),
        breaker: None,
        retry_budget: Some(budget.clone()),
        ..resilience(clock, Arc::new(RecordingSink::default()))
    };
    // Ratio 0.5: the first call (one deposit, half a retry) gets one retry; then the budget
    // is spent, for the rest of the first call and for the second (2 calls, 1 retry).
    let mut attempts = 0;
    let mut run = || {
        block_on(r.run(
            MINT,
            |_| {
                attempts += 1;
                failing()
            },
            |_| Ok(()),
        ))
    };
    assert_eq!(run().unwrap_err().code(), "ETIMEDOUT");
    assert_eq!(run().unwrap_err().code(), "ETIMEDOUT");
    assert_eq!(attempts, 2 + 1);
    let s = budget.snapshot();
    assert_eq!((s.calls_in_window, s.retries_in_window, s.exhausted), (2, 1, 2));
}

#[test]
fn a_retried_429_does_not_spend_the_retry_budget() {
    use crate::policy::retry_budget::{RetryBudget, RetryBudgetConfig};
    let clock = ManualClock::new(0);
    let budget = Arc::new(RetryBudget::new(
        RetryBudgetConfig { ratio: 0.0, window_ms: 1_000, min_per_second: 0 },
        clock.clone(),
    ));
    let r = Resilience {
        retry: Some(RetryPolicy { max_attempts: 3, initial_delay_ms: 0, ..RetryPolicy::default() }),
        breaker: None,
        retry_budget: Some(budget.clone()),
        ..resilience(clock, Arc::new(RecordingSink::default()))
    };
    let mut script = vec![status(429, Some("0"))].into_iter();
    let outcome =
        block_on(r.run(MINT, |_| std::future::ready(script.next().unwrap_or_else(|| status(200, None))), |_| Ok(())));
    assert!(outcome.is_ok());
    assert_eq!(budget.snapshot().exhausted, 0);
}

#[test]
fn a_run_that_hands_off_ends_at_the_first_failure_that_fails_over_under_the_mint_rule() {
    let clock = ManualClock::new(0);
    let r = Resilience {
        retry: Some(RetryPolicy { max_attempts: 5, initial_delay_ms: 0, ..RetryPolicy::default() }),
        breaker: None,
        ..resilience(clock, Arc::new(RecordingSink::default()))
    };
    let safe = Replay::IfNotProcessed { key: "k" };
    for (replay, first, code) in [
        (safe, refused(), "ECONNREFUSED"),
        (safe, status(503, None), "EHTTP"),
        // May have been processed: the mint rule ends it as unknown, never on another endpoint.
        (safe, exchange_timeout(), "EMINTUNKNOWN"),
        (safe, status(502, None), "EMINTUNKNOWN"),
        (Replay::Retryable, exchange_timeout(), "ETIMEDOUT"),
    ] {
        let mut script = vec![first].into_iter();
        let mut attempts = 0;
        let call = Call { op: Operation::Mint, replay, wait_budget_ms: 1_000, yields_to_failover: true };
        let err = block_on(r.run(
            call,
            |_| {
                attempts += 1;
                std::future::ready(script.next().unwrap_or_else(|| status(200, None)))
            },
            |_| Ok(()),
        ))
        .unwrap_err();
        assert_eq!((err.code(), attempts), (code, 1));
    }
    // A 429 does not fail over: it is retried here, through the gate.
    let mut script = vec![status(429, Some("0"))].into_iter();
    let call = Call { op: Operation::Mint, replay: safe, wait_budget_ms: 1_000, yields_to_failover: true };
    assert!(block_on(r.run(
        call,
        |_| std::future::ready(script.next().unwrap_or_else(|| status(200, None))),
        |_| Ok(())
    ))
    .is_ok());
}

const SAFE: Replay<'static> = Replay::IfNotProcessed { key: "key-1" };

#[test]
fn a_safe_mint_is_retried_only_after_failures_that_prove_it_was_not_processed() {
    let (outcome, attempts) = mint_with(SAFE, vec![refused(), status(503, None), status(429, Some("0")), refused()]);
    assert!(outcome.is_ok());
    assert_eq!(attempts, 5);
}

#[test]
fn a_safe_mint_that_may_have_reached_the_service_fails_with_its_key_and_cause() {
    for (failure, cause_code) in [
        (exchange_timeout(), "ETIMEDOUT"),
        (status(500, None), "EHTTP"),
        (status(502, None), "EHTTP"),
        (status(504, None), "EHTTP"),
        (Err(ClientError::BadResponse { detail: "garbled".into() }), "EBADRESPONSE"),
    ] {
        let (outcome, attempts) = mint_with(SAFE, vec![refused(), failure]);
        let err = outcome.unwrap_err();
        assert_eq!(attempts, 2, "{cause_code}");
        assert_eq!(err.code(), "EMINTUNKNOWN");
        let ClientError::MintOutcomeUnknown { key, cause } = &err else { panic!("{err:?}") };
        assert_eq!((key.as_str(), cause.code()), ("key-1", cause_code));
    }
}

#[test]
fn an_idempotent_mint_is_retried_after_anything_retryable() {
    let (outcome, attempts) = mint_with(
        Replay::Retryable,
        vec![exchange_timeout(), status(502, None), Err(ClientError::BadResponse { detail: "x".into() })],
    );
    assert!(outcome.is_ok());
    assert_eq!(attempts, 4);
    // A 500 stays final, with its own code.
    let (outcome, attempts) = mint_with(Replay::Retryable, vec![status(500, None)]);
    assert_eq!((outcome.unwrap_err().code(), attempts), ("EHTTP", 1));
}

#[test]
fn a_safe_mint_is_not_retried_after_a_408_but_the_refusal_is_not_unknown() {
    let (outcome, attempts) = mint_with(SAFE, vec![status(408, None)]);
    let err = outcome.unwrap_err();
    assert_eq!((err.code(), err.status(), attempts), ("EHTTP", Some(408), 1));
    let (outcome, attempts) = mint_with(Replay::Retryable, vec![status(408, None)]);
    assert!(outcome.is_ok());
    assert_eq!(attempts, 2);
}

#[test]
fn a_429_pauses_the_gate_announces_it_and_leaves_the_breaker_alone() {
    let clock = ManualClock::new(0);
    let sink = Arc::new(RecordingSink::default());
    let r = resilience(clock.clone(), sink.clone());
    let call =
        Call { op: Operation::Validate, replay: Replay::Retryable, wait_budget_ms: 1_000, yields_to_failover: false };
    let err = block_on(r.run(call, |_| std::future::ready(status(429, None)), |_| Ok(()))).unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(sink.names(), ["rateLimited"], "no circuitOpen although failureThreshold is 1");
    assert_eq!(r.breaker.as_ref().unwrap().state(), BreakerState::Closed);
    assert!(r.pause.retry_in_ms() >= 800);
    // Every later call waits at the gate; one that cannot wait that long fails at once.
    let short = Call { wait_budget_ms: 10, ..call };
    let mut attempts = 0;
    let err = block_on(r.run(
        short,
        |_| {
            attempts += 1;
            std::future::ready(status(200, None))
        },
        |_| Ok(()),
    ))
    .unwrap_err();
    assert_eq!((err.code(), attempts), ("ERATELIMITED", 0));
    clock.advance(2_000);
    assert!(block_on(r.run(short, |_| std::future::ready(status(200, None)), |_| Ok(()))).is_ok());
}
