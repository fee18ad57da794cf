//! The circuit breaker's state machine on a stepped clock.

use super::*;
use crate::rt::clock::ManualClock;
use std::sync::Arc;

use BreakerState::{Closed, HalfOpen, Open};

fn breaker() -> (CircuitBreaker, Arc<ManualClock>) {
    let clock = ManualClock::new(1_000);
    (CircuitBreaker::new(BreakerConfig::default(), clock.clone()), clock)
}

fn fail_times(b: &CircuitBreaker, n: u32) -> Vec<Transition> {
    (0..n).filter_map(|_| b.record_failure()).collect()
}

fn open_now(b: &CircuitBreaker) {
    assert_eq!(fail_times(b, 5), [Transition { from: Closed, to: Open }]);
}

fn allowed(transition: Option<Transition>) -> Admission {
    Admission::Allowed { transition }
}

#[test]
fn defaults_and_names() {
    let c = BreakerConfig::default();
    assert_eq!((c.failure_threshold, c.reset_timeout_ms), (5, 60_000));
    assert_eq!((c.monitor_window_ms, c.half_open_attempts), (10_000, 3));
    assert!(c.validate().is_ok());
    assert_eq!(Closed.as_str(), "CLOSED");
    assert_eq!(Open.as_str(), "OPEN");
    assert_eq!(HalfOpen.as_str(), "HALF_OPEN");
}

#[test]
fn validate_rejects_zeroes() {
    let zero_threshold = BreakerConfig { failure_threshold: 0, ..Default::default() };
    assert!(zero_threshold.validate().unwrap_err().contains("failure_threshold"));
    let zero_window = BreakerConfig { monitor_window_ms: 0, ..Default::default() };
    assert!(zero_window.validate().unwrap_err().contains("monitor_window_ms"));
    let zero_successes = BreakerConfig { half_open_attempts: 0, ..Default::default() };
    assert!(zero_successes.validate().unwrap_err().contains("half_open_attempts"));
}

#[test]
fn starts_closed_and_admits() {
    let (b, _) = breaker();
    assert_eq!(b.state(), Closed);
    assert_eq!(b.admit(), allowed(None));
    assert_eq!(b.record_success(), None);
}

#[test]
fn threshold_inside_window_opens() {
    let (b, clock) = breaker();
    for _ in 0..4 {
        assert_eq!(b.record_failure(), None);
        clock.advance(2_000);
    }
    assert_eq!(b.state(), Closed);
    // The first failure was 8 s ago: still inside the 10 s window.
    assert_eq!(b.record_failure(), Some(Transition { from: Closed, to: Open }));
    assert_eq!(b.state(), Open);
}

#[test]
fn failures_spread_beyond_window_do_not_open() {
    let (b, clock) = breaker();
    for _ in 0..50 {
        assert_eq!(b.record_failure(), None);
        clock.advance(2_500);
    }
    assert_eq!(b.state(), Closed);
    assert_eq!(b.snapshot().failures, 3);
}

#[test]
fn failure_exactly_window_old_has_expired() {
    let (b, clock) = breaker();
    fail_times(&b, 4);
    clock.advance(10_000);
    assert_eq!(b.record_failure(), None);
    assert_eq!(b.snapshot().failures, 1);
}

#[test]
fn open_rejects_with_time_left() {
    let (b, clock) = breaker();
    open_now(&b);
    assert_eq!(b.admit(), Admission::Rejected { retry_in_ms: 60_000 });
    clock.advance(59_999);
    assert_eq!(b.admit(), Admission::Rejected { retry_in_ms: 1 });
    assert_eq!(b.snapshot().rejected, 2);
}

#[test]
fn state_does_not_move_on_read() {
    let (b, clock) = breaker();
    open_now(&b);
    clock.advance(120_000);
    assert_eq!(b.state(), Open);
    assert_eq!(b.snapshot().state, Open);
}

#[test]
fn reset_timeout_moves_to_half_open_once() {
    let (b, clock) = breaker();
    open_now(&b);
    clock.advance(60_000);
    assert_eq!(b.admit(), allowed(Some(Transition { from: Open, to: HalfOpen })));
    assert_eq!(b.admit(), allowed(None));
    assert_eq!(b.state(), HalfOpen);
}

#[test]
fn half_open_successes_close() {
    let (b, clock) = breaker();
    open_now(&b);
    clock.advance(60_000);
    b.admit();
    assert_eq!(b.record_success(), None);
    assert_eq!(b.record_success(), None);
    assert_eq!(b.snapshot().half_open_successes, 2);
    assert_eq!(b.record_success(), Some(Transition { from: HalfOpen, to: Closed }));
    let snap = b.snapshot();
    assert_eq!((snap.state, snap.failures, snap.half_open_successes), (Closed, 0, 0));
    assert_eq!(snap.opened_at_ms, None);
    // Failures were cleared: it takes a full threshold again to open.
    assert!(fail_times(&b, 4).is_empty());
}

#[test]
fn failure_in_half_open_reopens_and_restarts_timeout() {
    let (b, clock) = breaker();
    open_now(&b);
    clock.advance(60_000);
    b.admit();
    b.record_success();
    clock.advance(500);
    assert_eq!(b.record_failure(), Some(Transition { from: HalfOpen, to: Open }));
    assert_eq!(b.admit(), Admission::Rejected { retry_in_ms: 60_000 });
    let snap = b.snapshot();
    assert_eq!(snap.times_opened, 2);
    assert_eq!(snap.half_open_successes, 0);
    assert_eq!(snap.opened_at_ms, Some(1_000 + 60_500));
    clock.advance(60_000);
    assert_eq!(b.admit(), allowed(Some(Transition { from: Open, to: HalfOpen })));
}

#[test]
fn half_open_admits_at_most_half_open_attempts_trials_at_once() {
    let (b, clock) = breaker();
    open_now(&b);
    clock.advance(60_000);
    let (first, t1) = b.admit_trial();
    assert_eq!(first, allowed(Some(Transition { from: Open, to: HalfOpen })));
    let (_, t2) = b.admit_trial();
    let (_, t3) = b.admit_trial();
    let (t1, t2, t3) = (t1.unwrap(), t2.unwrap(), t3.unwrap());
    // Three in flight (the default): the rest fail fast, the pre-check says the same.
    assert_eq!(b.admit_trial(), (Admission::TrialsInFlight { limit: 3 }, None));
    assert_eq!(b.admit(), Admission::TrialsInFlight { limit: 3 });
    assert_eq!(b.snapshot().rejected, 2);
    assert_eq!(b.snapshot().trials_in_flight, 3);
    // A trial that ends without an outcome for the breaker (a 429, an abort) frees its slot.
    b.end_trial(t1);
    assert_eq!(b.admit(), allowed(None));
    let (_, t4) = b.admit_trial();
    // Successes close the circuit; trials of that period end harmlessly afterwards.
    for t in [t2, t3] {
        b.record_success();
        b.end_trial(t);
    }
    assert_eq!(b.record_success(), Some(Transition { from: HalfOpen, to: Closed }));
    b.end_trial(t4.unwrap());
    assert_eq!(b.snapshot().trials_in_flight, 0);
    assert_eq!(b.admit_trial(), (allowed(None), None), "no trials while CLOSED");
}

#[test]
fn a_trial_of_an_earlier_half_open_period_does_not_free_a_slot_of_the_next() {
    let clock = ManualClock::new(0);
    let config = BreakerConfig { failure_threshold: 1, half_open_attempts: 1, ..Default::default() };
    let b = CircuitBreaker::new(config, clock.clone());
    b.record_failure();
    clock.advance(60_000);
    let (_, old) = b.admit_trial();
    // Another call's failure re-opens it; later the next period's single trial is taken.
    assert_eq!(b.record_failure(), Some(Transition { from: HalfOpen, to: Open }));
    clock.advance(60_000);
    let (_, current) = b.admit_trial();
    assert!(current.is_some());
    b.end_trial(old.unwrap());
    assert_eq!(b.admit(), Admission::TrialsInFlight { limit: 1 });
    b.end_trial(current.unwrap());
    assert_eq!(b.admit(), allowed(None));
}

#[test]
fn late_failure_while_open_extends_timeout() {
    let (b, clock) = breaker();
    open_now(&b);
    clock.advance(30_000);
    assert_eq!(b.record_failure(), None);
    assert_eq!(b.admit(), Admission::Rejected { retry_in_ms: 60_000 });
    assert_eq!(b.snapshot().times_opened, 1);
}

#[test]
fn success_while_open_is_ignored() {
    let (b, _) = breaker();
    open_now(&b);
    assert_eq!(b.record_success(), None);
    assert_eq!(b.state(), Open);
}

#[test]
fn reset_clears_everything() {
    let (b, clock) = breaker();
    open_now(&b);
    b.admit();
    clock.advance(7);
    b.reset();
    let snap = b.snapshot();
    assert_eq!(snap.state, Closed);
    assert_eq!((snap.failures, snap.times_opened, snap.rejected), (0, 0, 0));
    assert_eq!((snap.last_failure_ms, snap.opened_at_ms), (None, None));
    assert_eq!(snap.last_state_change_ms, 1_007);
    assert_eq!(b.admit(), allowed(None));
}

#[test]
fn snapshot_fields() {
    let (b, clock) = breaker();
    let snap = b.snapshot();
    assert_eq!(snap.last_state_change_ms, 1_000);
    assert_eq!(snap.config, BreakerConfig::default());
    b.record_failure();
    clock.advance(100);
    b.record_failure();
    let snap = b.snapshot();
    assert_eq!((snap.state, snap.failures), (Closed, 2));
    assert_eq!(snap.last_failure_ms, Some(1_100));
    clock.advance(100);
    fail_times(&b, 3);
    let snap = b.snapshot();
    assert_eq!((snap.state, snap.failures, snap.times_opened), (Open, 5, 1));
    assert_eq!((snap.opened_at_ms, snap.last_state_change_ms), (Some(1_200), 1_200));
    // The window keeps sliding in snapshots even while nothing is recorded.
    clock.advance(9_950);
    assert_eq!(b.snapshot().failures, 3);
}

#[test]
fn window_memory_is_bounded_by_threshold() {
    let clock = ManualClock::new(0);
    let config = BreakerConfig { failure_threshold: 3, ..Default::default() };
    let b = CircuitBreaker::new(config, clock.clone());
    fail_times(&b, 1_000);
    assert_eq!(b.lock().failures.len(), 3);
}

#[test]
fn threshold_of_one_opens_on_first_failure() {
    let clock = ManualClock::new(0);
    let config = BreakerConfig { failure_threshold: 1, half_open_attempts: 1, ..Default::default() };
    let b = CircuitBreaker::new(config, clock.clone());
    assert_eq!(b.record_failure(), Some(Transition { from: Closed, to: Open }));
    clock.advance(60_000);
    b.admit();
    assert_eq!(b.record_success(), Some(Transition { from: HalfOpen, to: Closed }));
}

fn ns_per_call(calls: u32, mut f: impl FnMut()) -> f64 {
    let start = std::time::Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(calls)
}

/// `cargo test --release --lib breaker::tests::admit_cost -- --ignored --nocapture`
#[test]
#[ignore]
fn admit_cost() {
    let b = CircuitBreaker::new(BreakerConfig::default(), crate::rt::clock::system());
    let closed = ns_per_call(5_000_000, || {
        std::hint::black_box(b.admit());
    });
    fail_times(&b, 5);
    let open = ns_per_call(5_000_000, || {
        std::hint::black_box(b.admit());
    });
    println!("admit: {closed:.1} ns closed, {open:.1} ns open (rejecting)");
}

#[test]
fn is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CircuitBreaker>();
}

#[test]
fn a_huge_threshold_reserves_nothing_up_front() {
    let config = BreakerConfig { failure_threshold: u32::MAX, ..BreakerConfig::default() };
    let b = CircuitBreaker::new(config, crate::rt::clock::ManualClock::new(0));
    assert!(b.record_failure().is_none());
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn a_fleet_hint_makes_a_closed_breaker_probe_and_one_failure_opens_it() {
    let (b, _clock) = breaker();
    assert_eq!(b.probe(), Some(Transition { from: Closed, to: HalfOpen }));
    assert_eq!(b.probe(), None, "already probing");
    assert_eq!(b.admit(), allowed(None));
    assert_eq!(b.record_failure(), Some(Transition { from: HalfOpen, to: Open }));
    assert_eq!(b.probe(), None, "an open breaker stays open");
}
