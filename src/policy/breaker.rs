//! Circuit breaker state machine: CLOSED → OPEN after `failure_threshold` failures inside
//! `monitor_window_ms`; OPEN rejects until `reset_timeout_ms` after the last failure, then the
//! next admission moves it to HALF_OPEN; `half_open_attempts` successes close it and any failure
//! in HALF_OPEN re-opens it. While HALF_OPEN at most `half_open_attempts` trial calls are in
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
    pub half_open_attempts: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        use crate::option_table as t;
        Self {
            failure_threshold: t::CIRCUIT_BREAKER_FAILURE_THRESHOLD,
            reset_timeout_ms: t::CIRCUIT_BREAKER_RESET_TIMEOUT,
            monitor_window_ms: t::CIRCUIT_BREAKER_MONITOR_WINDOW,
            half_open_attempts: t::CIRCUIT_BREAKER_HALF_OPEN_ATTEMPTS,
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
        if self.half_open_attempts == 0 {
            return Err("circuit breaker: half_open_attempts must be at least 1".into());
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
            half_open_attempts: config.half_open_attempts.max(1),
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

    /// Admits a call; while HALF_OPEN it takes one of the `half_open_attempts` trial slots,
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
        let limit = self.config.half_open_attempts;
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
        if inner.half_open_successes < self.config.half_open_attempts {
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
mod tests;
