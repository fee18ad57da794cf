//! Native halves of the v1-compat resilience helpers (`lib/compat/resilience.js`): the same
//! circuit breaker state machine and backoff schedule the client runs on. Only the caller's
//! callback runs in JS; every call here is synchronous and cheap.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bindings::options::{
    compat_breaker_config, compat_retry_policy, invalid, lenient_jitter, lenient_millis, lenient_multiplier,
    BreakerOptions, RetryOptions,
};
use crate::policy::breaker::{Admission, BreakerSnapshot, CircuitBreaker, Trial};
use crate::policy::retry::matches_retryable;
use crate::rt::clock::SharedClock;

/// A breaker snapshot with wall-clock times (ms since the Unix epoch), flat; the JS side
/// shapes it into `getState()`.
#[napi(object)]
#[derive(Debug, PartialEq)]
pub struct CompatBreakerState {
    pub state: String,
    /// Failures inside the monitor window ending now.
    pub failures: u32,
    pub last_failure: Option<f64>,
    pub last_state_change: f64,
    /// Time spent in the current state.
    pub uptime_ms: f64,
    pub half_open_successes: u32,
    pub times_opened: f64,
    pub rejected: f64,
    pub failure_threshold: u32,
    pub reset_timeout: f64,
    pub monitor_window: f64,
    pub half_open_attempts: u32,
}

/// Moves a monotonic timestamp onto the wall clock, given "now" on both.
fn to_wall(mono_ms: u64, now_mono_ms: u64, now_unix_ms: u64) -> f64 {
    now_unix_ms.saturating_sub(now_mono_ms.saturating_sub(mono_ms)) as f64
}

pub fn wall_clock_state(snap: &BreakerSnapshot, now_mono_ms: u64, now_unix_ms: u64) -> CompatBreakerState {
    let wall = |ms| to_wall(ms, now_mono_ms, now_unix_ms);
    CompatBreakerState {
        state: snap.state.as_str().to_owned(),
        failures: snap.failures,
        last_failure: snap.last_failure_ms.map(wall),
        last_state_change: wall(snap.last_state_change_ms),
        uptime_ms: now_mono_ms.saturating_sub(snap.last_state_change_ms) as f64,
        half_open_successes: snap.half_open_successes,
        times_opened: snap.times_opened as f64,
        rejected: snap.rejected as f64,
        failure_threshold: snap.config.failure_threshold,
        reset_timeout: snap.config.reset_timeout_ms as f64,
        monitor_window: snap.config.monitor_window_ms as f64,
        half_open_attempts: snap.config.half_open_attempts,
    }
}

/// `crate::policy::breaker::CircuitBreaker` for the compat `CircuitBreaker` class: JS asks `admit()`,
/// runs the callback, then reports the outcome.
#[napi]
pub struct NativeCircuitBreaker {
    breaker: CircuitBreaker,
    clock: SharedClock,
}

#[napi]
impl NativeCircuitBreaker {
    #[napi(constructor)]
    pub fn new(options: Option<BreakerOptions>) -> Result<Self> {
        let options = options.unwrap_or(BreakerOptions {
            failure_threshold: None,
            reset_timeout: None,
            monitor_window: None,
            half_open_attempts: None,
        });
        let config = compat_breaker_config(&options).map_err(invalid)?;
        let clock = crate::rt::clock::system();
        Ok(Self { breaker: CircuitBreaker::new(config, clock.clone()), clock })
    }

    /// Admits a call (an expired OPEN moves to HALF_OPEN here): `code` as `admission_code`
    /// says, and while HALF_OPEN the `trial` to hand back with the outcome.
    #[napi]
    pub fn admit(&self) -> CompatAdmission {
        let (admission, trial) = self.breaker.admit_trial();
        CompatAdmission { code: admission_code(admission), trial: trial.map(Trial::to_f64) }
    }

    /// Records a success and ends `trial` (from `admit`), if any.
    #[napi]
    pub fn record_success(&self, trial: Option<f64>) {
        self.breaker.record_success();
        self.end_trial(trial);
    }

    /// Records a failure and ends `trial` (from `admit`), if any.
    #[napi]
    pub fn record_failure(&self, trial: Option<f64>) {
        self.breaker.record_failure();
        self.end_trial(trial);
    }

    fn end_trial(&self, trial: Option<f64>) {
        if let Some(trial) = trial {
            self.breaker.end_trial(Trial::from_f64(trial));
        }
    }

    /// The stored state: "CLOSED", "OPEN" or "HALF_OPEN".
    #[napi(getter)]
    pub fn state(&self) -> &'static str {
        self.breaker.state().as_str()
    }

    #[napi]
    pub fn snapshot(&self) -> CompatBreakerState {
        let snap = self.breaker.snapshot();
        wall_clock_state(&snap, self.clock.now_ms(), crate::rt::clock::unix_ms())
    }

    #[napi]
    pub fn reset(&self) {
        self.breaker.reset();
    }
}

/// What the compat `CircuitBreaker` is told by `admit()`.
#[napi(object)]
pub struct CompatAdmission {
    /// See `admission_code`.
    pub code: f64,
    /// While HALF_OPEN: the trial slot this call holds, for `recordSuccess` / `recordFailure`.
    pub trial: Option<f64>,
}

/// The breaker's answer as one number, for JS's fail-fast paths: 0 = admitted; > 0 = OPEN, ms
/// until the next trial (at least 1); < 0 = HALF_OPEN with all its trial calls in flight, minus
/// their number (the limit).
pub fn admission_code(admission: Admission) -> f64 {
    match admission {
        Admission::Allowed { .. } => 0.0,
        Admission::Rejected { retry_in_ms } => retry_in_ms.max(1) as f64,
        Admission::TrialsInFlight { limit } => -f64::from(limit.max(1)),
    }
}

/// Throws a `TypeError`-worthy error when `options` cannot make a retry schedule.
#[napi]
pub fn compat_check_retry_options(options: RetryOptions) -> Result<()> {
    compat_retry_policy(&options).map(drop).map_err(invalid)
}

/// After the 1-based `attempt` failed: the wait before the next one, or `null` when
/// `maxAttempts` is used up.
#[napi]
pub fn compat_retry_delay(options: RetryOptions, attempt: u32) -> Result<Option<f64>> {
    let policy = compat_retry_policy(&options).map_err(invalid)?;
    Ok(policy.next_delay_ms(attempt, None, 0.5).map(|ms| ms as f64))
}

/// `min(reconnectDelay × multiplier^attempts, maxReconnectDelay)`, exact when `jitter` is 0 or
/// absent: the schedule of the compat `ChittyIDConnectionManager`, from the client's own code.
#[napi]
pub fn reconnect_delay_ms(
    attempts: u32,
    reconnect_delay: f64,
    multiplier: f64,
    max_reconnect_delay: f64,
    jitter: Option<f64>,
) -> f64 {
    crate::connection::reconnect_delay_ms(
        attempts,
        lenient_millis(reconnect_delay),
        lenient_multiplier(multiplier),
        lenient_millis(max_reconnect_delay),
        lenient_jitter(jitter),
        fastrand::f64(),
    ) as f64
}

/// v1 classification: `code` equals, or `message` contains, an entry (case-insensitive).
#[napi]
pub fn compat_is_retryable(code: Option<String>, message: String, retryable_errors: Vec<String>) -> bool {
    matches_retryable(code.as_deref(), &message, &retryable_errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::breaker::BreakerConfig;
    use crate::rt::clock::ManualClock;

    fn retry_options(max: f64, initial: f64, cap: f64, mult: f64) -> RetryOptions {
        RetryOptions {
            max_attempts: Some(max),
            initial_delay_ms: Some(initial),
            max_delay_ms: Some(cap),
            backoff_multiplier: Some(mult),
            jitter: None,
            max_retry_after_ms: None,
        }
    }

    fn no_breaker_options() -> BreakerOptions {
        BreakerOptions { failure_threshold: None, reset_timeout: None, monitor_window: None, half_open_attempts: None }
    }

    #[test]
    fn absent_breaker_options_are_the_defaults() {
        assert_eq!(compat_breaker_config(&no_breaker_options()).unwrap(), BreakerConfig::default());
    }

    #[test]
    fn breaker_options_map_one_to_one() {
        let options = BreakerOptions {
            failure_threshold: Some(3.0),
            reset_timeout: Some(300.0),
            monitor_window: Some(1000.0),
            half_open_attempts: Some(2.0),
        };
        let c = compat_breaker_config(&options).unwrap();
        assert_eq!((c.failure_threshold, c.reset_timeout_ms), (3, 300));
        assert_eq!((c.monitor_window_ms, c.half_open_attempts), (1000, 2));
    }

    #[test]
    fn bad_breaker_options_name_the_field() {
        let cases: [(BreakerOptions, &str); 6] = [
            (BreakerOptions { failure_threshold: Some(0.0), ..no_breaker_options() }, "failureThreshold"),
            (BreakerOptions { failure_threshold: Some(-1.0), ..no_breaker_options() }, "failureThreshold"),
            (BreakerOptions { failure_threshold: Some(2.5), ..no_breaker_options() }, "failureThreshold"),
            (BreakerOptions { reset_timeout: Some(f64::NAN), ..no_breaker_options() }, "resetTimeout"),
            (BreakerOptions { monitor_window: Some(0.0), ..no_breaker_options() }, "monitorWindow"),
            (BreakerOptions { half_open_attempts: Some(f64::INFINITY), ..no_breaker_options() }, "halfOpenAttempts"),
        ];
        for (options, needle) in cases {
            let err = compat_breaker_config(&options).unwrap_err();
            assert!(err.contains(needle), "{err:?} should mention {needle}");
        }
    }

    #[test]
    fn infinite_reset_timeout_saturates() {
        let options = BreakerOptions { reset_timeout: Some(f64::INFINITY), ..no_breaker_options() };
        assert_eq!(compat_breaker_config(&options).unwrap().reset_timeout_ms, u64::MAX);
    }

    #[test]
    fn compat_schedule_is_the_unjittered_client_schedule() {
        let policy = compat_retry_policy(&retry_options(6.0, 100.0, 5000.0, 2.0)).unwrap();
        assert_eq!(policy.jitter, 0.0);
        let got: Vec<Option<u64>> = (1..=6).map(|a| policy.next_delay_ms(a, None, 0.5)).collect();
        assert_eq!(got, [Some(100), Some(200), Some(400), Some(800), Some(1600), None]);
        for attempt in 1..6 {
            assert_eq!(policy.next_delay_ms(attempt, None, 0.9), Some(policy.base_delay_ms(attempt - 1)));
        }
    }

    #[test]
    fn compat_schedule_caps() {
        let policy = compat_retry_policy(&retry_options(10.0, 10.0, 35.0, 3.0)).unwrap();
        let got: Vec<Option<u64>> = (1..=4).map(|a| policy.next_delay_ms(a, None, 0.5)).collect();
        assert_eq!(got, [Some(10), Some(30), Some(35), Some(35)]);
    }

    #[test]
    fn absent_retry_options_match_retry_config() {
        let none = RetryOptions {
            max_attempts: None,
            initial_delay_ms: None,
            max_delay_ms: None,
            backoff_multiplier: None,
            jitter: None,
            max_retry_after_ms: None,
        };
        let p = compat_retry_policy(&none).unwrap();
        assert_eq!((p.max_attempts, p.initial_delay_ms, p.max_delay_ms, p.multiplier), (3, 100, 5000, 2.0));
    }

    #[test]
    fn bad_retry_options_name_the_field() {
        for (options, needle) in [
            (retry_options(0.0, 100.0, 5000.0, 2.0), "maxAttempts"),
            (retry_options(1.5, 100.0, 5000.0, 2.0), "maxAttempts"),
            (retry_options(3.0, -1.0, 5000.0, 2.0), "initialDelayMs"),
            (retry_options(3.0, 100.0, f64::NAN, 2.0), "maxDelayMs"),
            (retry_options(3.0, 100.0, 5000.0, 0.5), "backoffMultiplier"),
            (retry_options(3.0, 100.0, 5000.0, f64::NAN), "backoffMultiplier"),
        ] {
            let err = compat_retry_policy(&options).unwrap_err();
            assert!(err.contains(needle), "{err:?} should mention {needle}");
        }
    }

    #[test]
    fn admission_codes() {
        assert_eq!(admission_code(Admission::Allowed { transition: None }), 0.0);
        assert_eq!(admission_code(Admission::Rejected { retry_in_ms: 250 }), 250.0);
        assert_eq!(admission_code(Admission::Rejected { retry_in_ms: 0 }), 1.0);
        assert_eq!(admission_code(Admission::TrialsInFlight { limit: 3 }), -3.0);
    }

    #[test]
    fn snapshot_on_the_wall_clock() {
        let clock = ManualClock::new(1_000);
        let config = BreakerConfig { failure_threshold: 2, ..BreakerConfig::default() };
        let breaker = CircuitBreaker::new(config, clock.clone());
        let fresh = wall_clock_state(&breaker.snapshot(), 1_500, 1_700_000_000_500);
        assert_eq!(fresh.state, "CLOSED");
        assert_eq!(fresh.last_failure, None);
        assert_eq!(fresh.last_state_change, 1_700_000_000_000.0);
        assert_eq!(fresh.uptime_ms, 500.0);

        clock.advance(100);
        breaker.record_failure();
        clock.advance(100);
        breaker.record_failure();
        let open = wall_clock_state(&breaker.snapshot(), 1_250, 1_700_000_000_250);
        assert_eq!(open.state, "OPEN");
        assert_eq!(open.failures, 2);
        assert_eq!(open.last_failure, Some(1_700_000_000_200.0));
        assert_eq!(open.last_state_change, 1_700_000_000_200.0);
        assert_eq!(open.uptime_ms, 50.0);
        assert_eq!(open.times_opened, 1.0);
        assert_eq!((open.failure_threshold, open.half_open_attempts), (2, 3));
        assert_eq!((open.reset_timeout, open.monitor_window), (60_000.0, 10_000.0));
    }

    #[test]
    fn wall_clock_never_underflows() {
        assert_eq!(to_wall(0, u64::MAX, 5), 0.0);
        assert_eq!(to_wall(10, 10, 99), 99.0);
    }

    #[test]
    fn classification_is_the_shared_one() {
        let list = crate::policy::retry::default_retryable_errors();
        assert!(compat_is_retryable(Some("ECONNREFUSED".into()), "x".into(), list.clone()));
        assert!(compat_is_retryable(None, "TypeError: fetch failed".into(), list.clone()));
        assert!(!compat_is_retryable(Some("EHTTP".into()), "400 Bad Request".into(), list));
    }
}
