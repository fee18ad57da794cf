//! Circuit breaker state machine: CLOSED → OPEN after `failure_threshold` failures inside
//! `monitor_window_ms`; OPEN rejects until `reset_timeout_ms` after the last failure, then the
//! next admission moves it to HALF_OPEN; `half_open_successes` successes close it and any failure
//! in HALF_OPEN re-opens it. While HALF_OPEN at most `half_open_successes` trial calls are in
//! flight at once; the others are refused (`Admission::TrialsInFlight`) until one ends.
//!
//! The breaker does not run the guarded call: the caller asks `admit_trial()` (or `admit()`, a
//! check that takes no trial slot) first, reports the outcome with `record_success()` /
//! `record_failure()`, and ends the trial it was given with `end_trial()` however the call
//! ended. Time comes from the injected clock.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::rt::clock::SharedClock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "CLOSED",
            BreakerState::Open => "OPEN",
            BreakerState::HalfOpen => "HALF_OPEN",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub reset_timeout_ms: u64,
    pub monitor_window_ms: u64,
    pub half_open_successes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        use crate::client::table as t;
        Self {
            failure_threshold: t::CIRCUIT_BREAKER_FAILURE_THRESHOLD,
            reset_timeout_ms: t::CIRCUIT_BREAKER_RESET_TIMEOUT,
            monitor_window_ms: t::CIRCUIT_BREAKER_MONITOR_WINDOW,
            half_open_successes: t::CIRCUIT_BREAKER_HALF_OPEN_ATTEMPTS,
        }
    }
}

impl BreakerConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.failure_threshold == 0 {
            return Err("circuit breaker: failure_threshold must be at least 1".into());
        }
        if self.monitor_window_ms == 0 {
            return Err("circuit breaker: monitor_window_ms must be at least 1".into());
        }
        if self.half_open_successes == 0 {
            return Err("circuit breaker: half_open_successes must be at least 1".into());
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// `transition` is `Some` when this admission moved the breaker from OPEN to HALF_OPEN.
    Allowed {
        transition: Option<Transition>,
    },
    Rejected {
        retry_in_ms: u64,
    },
    /// HALF_OPEN with `limit` trial calls in flight already: fail fast until one ends.
    TrialsInFlight {
        limit: u32,
    },
}

/// A trial call admitted while HALF_OPEN; hand it back to [`CircuitBreaker::end_trial`] once the
/// call's outcome is recorded (or the call is abandoned). A trial of an earlier HALF_OPEN
/// period ends harmlessly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trial {
    period: u64,
}

impl Trial {
    /// As a number, for a JS caller that hands it back (the compat `CircuitBreaker`).
    pub fn to_f64(self) -> f64 {
        self.period as f64
    }

    pub fn from_f64(period: f64) -> Self {
        Self { period: period as u64 }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct BreakerSnapshot {
    pub state: BreakerState,
    /// Failures inside the monitor window ending now.
    pub failures: u32,
    pub last_failure_ms: Option<u64>,
    pub last_state_change_ms: u64,
    /// When the breaker last opened; `None` while CLOSED.
    pub opened_at_ms: Option<u64>,
    pub half_open_successes: u32,
    pub times_opened: u64,
    pub rejected: u64,
    /// Trial calls in flight (HALF_OPEN only).
    pub trials_in_flight: u32,
    pub config: BreakerConfig,
}

pub struct CircuitBreaker {
    config: BreakerConfig,
    clock: SharedClock,
    inner: Mutex<Inner>,
}

struct Inner {
    state: BreakerState,
    /// Timestamps of recent failures, oldest first, never more than `failure_threshold`.
    failures: VecDeque<u64>,
    last_failure_ms: Option<u64>,
    last_state_change_ms: u64,
    opened_at_ms: Option<u64>,
    half_open_successes: u32,
    times_opened: u64,
    rejected: u64,
    /// Trial calls in flight in this HALF_OPEN period.
    trials: u32,
    /// Counts state changes, so a trial ends only in the period that admitted it.
    period: u64,
}

/// Failures reserved for up front; more are allocated as they happen.
const INITIAL_FAILURE_CAPACITY: u32 = 64;

impl Inner {
    fn new(threshold: u32, now: u64) -> Self {
        Self {
            state: BreakerState::Closed,
            // Grows with the failures actually seen: a huge threshold must not reserve memory.
            failures: VecDeque::with_capacity(threshold.min(INITIAL_FAILURE_CAPACITY) as usize),
            last_failure_ms: None,
            last_state_change_ms: now,
            opened_at_ms: None,
            half_open_successes: 0,
            times_opened: 0,
            rejected: 0,
            trials: 0,
            period: 0,
        }
    }

    fn move_to(&mut self, to: BreakerState, now: u64) -> Transition {
        let from = self.state;
        self.state = to;
        self.last_state_change_ms = now;
        self.half_open_successes = 0;
        self.trials = 0;
        self.period += 1;
        match to {
            BreakerState::Open => {
                self.opened_at_ms = Some(now);
                self.times_opened += 1;
            }
            BreakerState::Closed => {
                self.opened_at_ms = None;
                self.failures.clear();
            }
            BreakerState::HalfOpen => {}
        }
        Transition { from, to }
    }

    fn prune_failures(&mut self, now: u64, window_ms: u64) {
        while self.failures.front().is_some_and(|&t| now.saturating_sub(t) >= window_ms) {
            self.failures.pop_front();
        }
    }

    fn push_failure(&mut self, now: u64, threshold: usize) {
        if self.failures.len() >= threshold {
            self.failures.pop_front();
        }
        self.failures.push_back(now);
        self.last_failure_ms = Some(now);
    }

    fn failures_in_window(&self, now: u64, window_ms: u64) -> u32 {
        self.failures.iter().filter(|&&t| now.saturating_sub(t) < window_ms).count() as u32
    }

    /// The reset timeout runs from the last failure (or from opening, if none was recorded).
    fn open_since_ms(&self) -> u64 {
        self.last_failure_ms.or(self.opened_at_ms).unwrap_or(self.last_state_change_ms)
    }
}

impl CircuitBreaker {
    /// Expects a validated config; zero thresholds are treated as 1.
    pub fn new(config: BreakerConfig, clock: SharedClock) -> Self {
        let config = BreakerConfig {
            failure_threshold: config.failure_threshold.max(1),
            half_open_successes: config.half_open_successes.max(1),
            ..config
        };
        let inner = Inner::new(config.failure_threshold, clock.now_ms());
        Self { config, clock, inner: Mutex::new(inner) }
    }

    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Asks whether a call may proceed, without taking a trial slot: what [`admit_trial`]
    /// would answer now (a pre-check ahead of the real admission). This is the fail-fast hot
    /// path: one lock, and the clock is read only while OPEN.
    ///
    /// [`admit_trial`]: CircuitBreaker::admit_trial
    pub fn admit(&self) -> Admission {
        self.admission(false).0
    }

    /// Admits a call; while HALF_OPEN it takes one of the `half_open_successes` trial slots,
    /// returned as the [`Trial`] to end with [`CircuitBreaker::end_trial`].
    pub fn admit_trial(&self) -> (Admission, Option<Trial>) {
        self.admission(true)
    }

    fn admission(&self, take_trial: bool) -> (Admission, Option<Trial>) {
        let mut inner = self.lock();
        let mut transition = None;
        match inner.state {
            BreakerState::Closed => return (Admission::Allowed { transition: None }, None),
            BreakerState::Open => {
                let now = self.clock.now_ms();
                let elapsed = now.saturating_sub(inner.open_since_ms());
                if elapsed < self.config.reset_timeout_ms {
                    inner.rejected += 1;
                    return (Admission::Rejected { retry_in_ms: self.config.reset_timeout_ms - elapsed }, None);
                }
                transition = Some(inner.move_to(BreakerState::HalfOpen, now));
            }
            BreakerState::HalfOpen => {}
        }
        let limit = self.config.half_open_successes;
        if inner.trials >= limit {
            inner.rejected += 1;
            return (Admission::TrialsInFlight { limit }, None);
        }
        let trial = take_trial.then(|| {
            inner.trials += 1;
            Trial { period: inner.period }
        });
        (Admission::Allowed { transition }, trial)
    }

    /// The trial call admitted as `trial` has ended (its outcome recorded, or abandoned).
    pub fn end_trial(&self, trial: Trial) {
        let mut inner = self.lock();
        if inner.period == trial.period {
            inner.trials = inner.trials.saturating_sub(1);
        }
    }

    pub fn record_success(&self) -> Option<Transition> {
        let mut inner = self.lock();
        if inner.state != BreakerState::HalfOpen {
            return None;
        }
        inner.half_open_successes += 1;
        if inner.half_open_successes < self.config.half_open_successes {
            return None;
        }
        Some(inner.move_to(BreakerState::Closed, self.clock.now_ms()))
    }

    pub fn record_failure(&self) -> Option<Transition> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        inner.prune_failures(now, self.config.monitor_window_ms);
        inner.push_failure(now, self.config.failure_threshold as usize);
        let should_open = match inner.state {
            BreakerState::Closed => inner.failures.len() >= self.config.failure_threshold as usize,
            BreakerState::HalfOpen => true,
            // A late failure of a call admitted earlier only pushes the reset timeout back.
            BreakerState::Open => false,
        };
        should_open.then(|| inner.move_to(BreakerState::Open, now))
    }

    /// Another instance of the fleet saw the service fail: a CLOSED breaker moves to
    /// HALF_OPEN, so its next failure opens it at once (fleet mode's breaker hint).
    pub fn probe(&self) -> Option<Transition> {
        let mut inner = self.lock();
        (inner.state == BreakerState::Closed).then(|| inner.move_to(BreakerState::HalfOpen, self.clock.now_ms()))
    }

    /// The stored state; an expired OPEN is reported as OPEN until `admit()` moves it.
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    pub fn snapshot(&self) -> BreakerSnapshot {
        let now = self.clock.now_ms();
        let inner = self.lock();
        BreakerSnapshot {
            state: inner.state,
            failures: inner.failures_in_window(now, self.config.monitor_window_ms),
            last_failure_ms: inner.last_failure_ms,
            last_state_change_ms: inner.last_state_change_ms,
            opened_at_ms: inner.opened_at_ms,
            half_open_successes: inner.half_open_successes,
            times_opened: inner.times_opened,
            rejected: inner.rejected,
            trials_in_flight: inner.trials,
            config: self.config.clone(),
        }
    }

    /// Back to CLOSED with every counter cleared.
    pub fn reset(&self) {
        let now = self.clock.now_ms();
        *self.lock() = Inner::new(self.config.failure_threshold, now);
    }

    /// Nothing inside the lock can panic, so a poisoned lock still holds consistent state.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!((c.monitor_window_ms, c.half_open_successes), (10_000, 3));
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
        let zero_successes = BreakerConfig { half_open_successes: 0, ..Default::default() };
        assert!(zero_successes.validate().unwrap_err().contains("half_open_successes"));
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
    fn half_open_admits_at_most_half_open_successes_trials_at_once() {
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
        let config = BreakerConfig { failure_threshold: 1, half_open_successes: 1, ..Default::default() };
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
        let config = BreakerConfig { failure_threshold: 1, half_open_successes: 1, ..Default::default() };
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
}
