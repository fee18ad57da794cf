//! The number rules of the native classes whose options JS does not check first: the compat
//! `CircuitBreaker`, `withRetry` and `ChittyIDConnectionManager` (docs/MIGRATION.md "The compat layer"), and
//! the emulator. An absent value takes its default; any value given must be in range, or the
//! call fails (a `TypeError` with `code: "ERR_INVALID_ARG_VALUE"` once JS rethrows it). The
//! client's options are checked once, in JS, against `lib/options.json` (docs/ARCHITECTURE.md
//! "Options").

use crate::bindings::errors::to_napi_error;
use crate::error::ClientError;
use crate::policy::breaker::BreakerConfig;
use crate::policy::retry::RetryPolicy;

use super::{BreakerOptions, RetryOptions};

/// An option the caller got wrong; JS rethrows it as a `TypeError` (`ERR_INVALID_ARG_VALUE`).
pub fn invalid(detail: String) -> napi::Error {
    to_napi_error(&ClientError::InvalidArgument { detail })
}

/// Largest number JS holds exactly; numeric options above it are refused rather than rounded.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

pub type Checked<T> = std::result::Result<T, String>;

/// A duration in ms: a finite number from 0 to 2^53-1 (a fraction is dropped).
pub fn millis(name: &str, value: Option<f64>, default: u64) -> Checked<u64> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && (0.0..=MAX_SAFE_INTEGER).contains(&v) => Ok(v as u64),
        Some(v) => Err(format!("{name} must be a finite number of ms from 0 to 2^53-1, got {v}")),
    }
}

/// Like [`millis`], and `Infinity` means "never" (the compat classes accept it, as v1 did).
fn millis_or_never(name: &str, value: Option<f64>, default: u64) -> Checked<u64> {
    match value {
        Some(v) if v == f64::INFINITY => Ok(u64::MAX),
        _ => millis(name, value, default),
    }
}

/// A count: an integer from `min` to 2^32-1.
pub fn count(name: &str, value: Option<f64>, default: u32, min: u32) -> Checked<u32> {
    match value {
        None => Ok(default),
        Some(v) if v.fract() == 0.0 && (f64::from(min)..=f64::from(u32::MAX)).contains(&v) => Ok(v as u32),
        Some(v) => Err(format!("{name} must be an integer from {min} to {}, got {v}", u32::MAX)),
    }
}

/// The compat `ChittyIDConnectionManager`'s live properties, read at each reconnect as v1 read
/// them: a value that is not a number of ms >= 0 (NaN, negative) counts as 0, and a huge one
/// saturates, so a property a caller set oddly can never throw inside a timer callback.
pub fn lenient_millis(value: f64) -> u64 {
    if value.is_nan() || value <= 0.0 {
        0
    } else {
        value as u64
    }
}

/// Like [`lenient_millis`] for the compat manager's growth factor (NaN counts as 1: no growth)
/// and jitter (absent or not finite: none; clamped to 0..1).
pub fn lenient_multiplier(value: f64) -> f64 {
    if value.is_nan() {
        1.0
    } else {
        value.max(0.0)
    }
}

pub fn lenient_jitter(value: Option<f64>) -> f64 {
    value.filter(|j| j.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0)
}

/// The compat `CircuitBreaker(options)`: the client's fields, counts from 1, and durations may
/// be `Infinity`, as v1 allowed.
pub fn compat_breaker_config(options: &BreakerOptions) -> Checked<BreakerConfig> {
    let d = BreakerConfig::default();
    let config = BreakerConfig {
        failure_threshold: count("failureThreshold", options.failure_threshold, d.failure_threshold, 1)?,
        reset_timeout_ms: millis_or_never("resetTimeout", options.reset_timeout, d.reset_timeout_ms)?,
        monitor_window_ms: match millis_or_never("monitorWindow", options.monitor_window, d.monitor_window_ms)? {
            0 => return Err("monitorWindow must be at least 1 ms".into()),
            ms => ms,
        },
        half_open_attempts: count("halfOpenAttempts", options.half_open_attempts, d.half_open_attempts, 1)?,
    };
    config.validate()?;
    Ok(config)
}

/// The compat `withRetry` schedule (`RETRY_CONFIG`'s numeric fields): the client's policy
/// without jitter, so each wait is exactly
/// `min(initialDelayMs * backoffMultiplier^(attempt-1), maxDelayMs)`. `jitter` and
/// `maxRetryAfterMs` are not `withRetry` options and are not read.
pub fn compat_retry_policy(options: &RetryOptions) -> Checked<RetryPolicy> {
    let d = RetryPolicy::default();
    let policy = RetryPolicy {
        max_attempts: count("maxAttempts", options.max_attempts, d.max_attempts, 1)?,
        initial_delay_ms: millis_or_never("initialDelayMs", options.initial_delay_ms, d.initial_delay_ms)?,
        max_delay_ms: millis_or_never("maxDelayMs", options.max_delay_ms, d.max_delay_ms)?,
        multiplier: match options.backoff_multiplier {
            None => d.multiplier,
            Some(m) if m.is_finite() && m >= 1.0 => m,
            Some(m) => return Err(format!("backoffMultiplier must be a finite number >= 1, got {m}")),
        },
        jitter: 0.0,
        max_retry_after_ms: d.max_retry_after_ms,
    };
    policy.validate()?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_numbers_absent_is_the_default_anything_else_is_checked() {
        assert_eq!(millis("x", None, 7), Ok(7));
        assert_eq!(millis("x", Some(2.9), 7), Ok(2));
        for bad in [f64::NAN, -1.0, f64::INFINITY, 1e300] {
            assert!(millis("x", Some(bad), 7).unwrap_err().starts_with("x must be"), "{bad}");
        }
        assert_eq!(millis_or_never("x", Some(f64::INFINITY), 7), Ok(u64::MAX));
        assert!(millis_or_never("x", Some(f64::NAN), 7).is_err());
        assert_eq!(count("n", Some(4.0), 1, 1), Ok(4));
        for bad in [0.0, 1.5, f64::NAN, 4_294_967_296.0, f64::INFINITY, -1.0] {
            assert!(count("n", Some(bad), 1, 1).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_compat_managers_live_properties_never_fail() {
        assert_eq!(
            (lenient_millis(f64::NAN), lenient_millis(-5.0), lenient_millis(2.7), lenient_millis(f64::INFINITY)),
            (0, 0, 2, u64::MAX)
        );
        assert_eq!((lenient_multiplier(f64::NAN), lenient_multiplier(-2.0), lenient_multiplier(3.0)), (1.0, 0.0, 3.0));
        assert_eq!(
            (
                lenient_jitter(None),
                lenient_jitter(Some(f64::NAN)),
                lenient_jitter(Some(7.0)),
                lenient_jitter(Some(0.3))
            ),
            (0.0, 0.0, 1.0, 0.3)
        );
    }

    #[test]
    fn compat_options_accept_infinity_where_v1_did() {
        let breaker = BreakerOptions {
            failure_threshold: None,
            reset_timeout: Some(f64::INFINITY),
            monitor_window: None,
            half_open_attempts: None,
        };
        assert_eq!(compat_breaker_config(&breaker).unwrap().reset_timeout_ms, u64::MAX);
        let zero_window = BreakerOptions { monitor_window: Some(0.0), ..breaker };
        assert!(compat_breaker_config(&zero_window).unwrap_err().contains("monitorWindow"));
        let retry = RetryOptions {
            max_attempts: None,
            initial_delay_ms: None,
            max_delay_ms: Some(f64::INFINITY),
            backoff_multiplier: Some(0.5),
            jitter: None,
            max_retry_after_ms: None,
        };
        assert!(compat_retry_policy(&retry).unwrap_err().contains("backoffMultiplier"));
    }
}
