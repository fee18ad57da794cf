//! Backoff schedule and retry classification, shared by the client and the compat `withRetry`.
//!
//! Pure functions of their inputs: the caller supplies the random number for jitter and the
//! current time for `Retry-After` dates, so every schedule is reproducible in tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::ClientError;

#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts including the first; at least 1.
    pub max_attempts: u32,
    pub initial_delay_ms: u64,
    pub max_delay_ms: u64,
    pub multiplier: f64,
    /// Fraction in `0..=1`: the delay is `base * (1 + jitter * (2r - 1))`.
    pub jitter: f64,
    /// A server-requested `Retry-After` longer than this is not waited for.
    pub max_retry_after_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        use crate::option_table as t;
        Self {
            max_attempts: t::RETRY_MAX_ATTEMPTS,
            initial_delay_ms: t::RETRY_INITIAL_DELAY_MS,
            max_delay_ms: t::RETRY_MAX_DELAY_MS,
            multiplier: t::RETRY_BACKOFF_MULTIPLIER,
            jitter: t::RETRY_JITTER,
            max_retry_after_ms: t::RETRY_MAX_RETRY_AFTER_MS,
        }
    }
}

impl RetryPolicy {
    /// `min(initial * multiplier^retry_index, max_delay_ms)`; `retry_index` 0 is the first retry.
    pub fn base_delay_ms(&self, retry_index: u32) -> u64 {
        if self.initial_delay_ms == 0 {
            return 0;
        }
        let raw = self.initial_delay_ms as f64 * self.multiplier.powf(f64::from(retry_index));
        clamp_to_max(raw, self.max_delay_ms)
    }

    /// The base delay spread by `jitter` using `r` in `[0, 1)`, clamped to `[0, max_delay_ms]`.
    pub fn jittered_delay_ms(&self, retry_index: u32, r: f64) -> u64 {
        let base = self.base_delay_ms(retry_index) as f64;
        let r = if r.is_nan() { 0.5 } else { r.clamp(0.0, 1.0) };
        let jitter = if self.jitter.is_nan() { 0.0 } else { self.jitter.clamp(0.0, 1.0) };
        clamp_to_max(base * (1.0 + jitter * (2.0 * r - 1.0)), self.max_delay_ms)
    }

    /// After the 1-based `attempt` failed: the delay before the next attempt, or `None` when the
    /// attempts are exhausted or the server asks for a wait longer than `max_retry_after_ms`.
    /// A server `retry_after_ms` replaces the computed backoff.
    pub fn next_delay_ms(&self, attempt: u32, retry_after_ms: Option<u64>, r: f64) -> Option<u64> {
        if attempt >= self.max_attempts {
            return None;
        }
        match retry_after_ms {
            Some(wait) if wait > self.max_retry_after_ms => None,
            Some(wait) => Some(wait),
            None => Some(self.jittered_delay_ms(attempt.saturating_sub(1), r)),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("retry: max_attempts must be at least 1 (it counts the first attempt)".into());
        }
        if !self.multiplier.is_finite() {
            return Err(format!("retry: multiplier must be a finite number, got {}", self.multiplier));
        }
        if self.multiplier < 1.0 {
            return Err(format!("retry: multiplier must be >= 1, got {}", self.multiplier));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(format!("retry: jitter must be between 0 and 1, got {}", self.jitter));
        }
        Ok(())
    }
}

/// Converts a non-negative delay to whole ms, saturating at `max` (also for +inf and NaN).
fn clamp_to_max(ms: f64, max: u64) -> u64 {
    if ms <= 0.0 {
        0
    } else if ms < max as f64 {
        (ms.round() as u64).min(max)
    } else {
        max
    }
}

/// Transient failures that another attempt may cure.
pub fn is_retryable(err: &ClientError) -> bool {
    match err {
        ClientError::Http { status, .. } => is_retryable_status(*status),
        // A garbled 2xx is retried too: under the same idempotency key the service replays
        // the committed answer, so nothing minted is lost.
        ClientError::Transport { .. } | ClientError::Timeout { .. } | ClientError::BadResponse { .. } => true,
        // A rate-limited placeholder waits at the gate like a 429; others are final.
        ClientError::Placeholder { .. } => err.is_rate_limit(),
        // A refusal, a local stop, or a failure that another attempt cannot change.
        ClientError::Tls { .. }
        | ClientError::Refused { .. }
        | ClientError::BodyTooLarge { .. }
        | ClientError::CircuitOpen { .. }
        | ClientError::TrialsInFlight { .. }
        | ClientError::Aborted
        | ClientError::MintOutcomeUnknown { .. }
        | ClientError::RateLimited { .. }
        | ClientError::BulkheadFull { .. }
        | ClientError::Closed
        | ClientError::InvalidArgument { .. }
        | ClientError::BatchIncomplete { .. }
        | ClientError::RouteNotFound { .. } => false,
    }
}

/// Statuses worth another attempt: timeout, rate limit and gateway/availability errors.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 502 | 503 | 504)
}

/// Parses a `Retry-After` value (delta-seconds or an HTTP-date) into ms from `now_unix_ms`.
/// Dates in the past give 0; anything unparsable gives `None`.
pub fn parse_retry_after(value: &str, now_unix_ms: u64) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(parse_delta_seconds_ms(value));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(unix_ms_of(date).saturating_sub(now_unix_ms))
}

/// `value` is all ASCII digits; absurdly large values saturate instead of failing.
fn parse_delta_seconds_ms(value: &str) -> u64 {
    value.parse::<u64>().map_or(u64::MAX, |secs| secs.saturating_mul(1000))
}

fn unix_ms_of(time: SystemTime) -> u64 {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// v1-compat classification: retryable when `code` equals an entry or `message` contains one,
/// ignoring case. Empty entries are ignored (they would otherwise match every message).
pub fn matches_retryable(code: Option<&str>, message: &str, retryable: &[String]) -> bool {
    let code = code.map(str::to_lowercase);
    let message = message.to_lowercase();
    retryable.iter().filter(|entry| !entry.is_empty()).any(|entry| {
        let entry = entry.to_lowercase();
        code.as_deref() == Some(entry.as_str()) || message.contains(&entry)
    })
}

/// The default `retryableErrors` of the compat `RETRY_CONFIG`.
pub fn default_retryable_errors() -> Vec<String> {
    ["ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "EPIPE", "fetch failed", "network error"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_jitter() -> RetryPolicy {
        RetryPolicy { jitter: 0.0, ..RetryPolicy::default() }
    }

    /// Vectors computed by hand, which the portable build's retry rule is held to as well
    /// (__test__/portable.test.mjs): the two implementations of one rule.
    #[test]
    fn shared_vectors_with_the_portable_build() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/__test__/vectors/retry.json")))
                .unwrap();
        for c in v["jitteredDelayMs"].as_array().unwrap() {
            let p = &c["policy"];
            let policy = RetryPolicy {
                initial_delay_ms: p["initialDelayMs"].as_u64().unwrap(),
                max_delay_ms: p["maxDelayMs"].as_u64().unwrap(),
                multiplier: p["backoffMultiplier"].as_f64().unwrap(),
                jitter: p["jitter"].as_f64().unwrap(),
                ..RetryPolicy::default()
            };
            let index = u32::try_from(c["retryIndex"].as_u64().unwrap()).unwrap();
            assert_eq!(
                policy.jittered_delay_ms(index, c["r"].as_f64().unwrap()),
                c["expected"].as_u64().unwrap(),
                "{c}"
            );
        }
        for c in v["parseRetryAfter"].as_array().unwrap() {
            let got = parse_retry_after(c["value"].as_str().unwrap(), c["nowMs"].as_u64().unwrap());
            assert_eq!(got, c["expected"].as_u64(), "{c}");
        }
    }

    #[test]
    fn defaults_match_the_design() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts, 3);
        assert_eq!(p.initial_delay_ms, 100);
        assert_eq!(p.max_delay_ms, 5000);
        assert_eq!(p.multiplier, 2.0);
        assert_eq!(p.jitter, 0.5);
        assert_eq!(p.max_retry_after_ms, 30_000);
        assert!(p.validate().is_ok());
    }

    #[test]
    fn schedule_doubles_and_caps() {
        let p = RetryPolicy::default();
        let got: Vec<u64> = (0..9).map(|i| p.base_delay_ms(i)).collect();
        assert_eq!(got, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    }

    #[test]
    fn huge_retry_index_does_not_overflow() {
        let p = RetryPolicy::default();
        assert_eq!(p.base_delay_ms(1000), 5000);
        assert_eq!(p.base_delay_ms(u32::MAX), 5000);
        assert_eq!(p.jittered_delay_ms(u32::MAX, 0.999_999), 5000);
        let unbounded = RetryPolicy { max_delay_ms: u64::MAX, ..RetryPolicy::default() };
        assert_eq!(unbounded.base_delay_ms(1000), u64::MAX);
    }

    #[test]
    fn zero_initial_delay_stays_zero() {
        let p = RetryPolicy { initial_delay_ms: 0, ..RetryPolicy::default() };
        assert_eq!(p.base_delay_ms(u32::MAX), 0);
    }

    #[test]
    fn multiplier_one_is_constant() {
        let p = RetryPolicy { multiplier: 1.0, ..no_jitter() };
        assert_eq!(p.base_delay_ms(0), 100);
        assert_eq!(p.base_delay_ms(50), 100);
    }

    #[test]
    fn jitter_bounds() {
        let p = RetryPolicy::default();
        assert_eq!(p.jittered_delay_ms(0, 0.0), 50);
        assert_eq!(p.jittered_delay_ms(0, 0.5), 100);
        let high = p.jittered_delay_ms(0, 0.999_999_9);
        assert!((149..=150).contains(&high), "{high}");
        // At the cap the upper half of the spread is clamped away.
        assert_eq!(p.jittered_delay_ms(10, 0.0), 2500);
        assert_eq!(p.jittered_delay_ms(10, 0.999_999_9), 5000);
    }

    #[test]
    fn jitter_tolerates_out_of_range_r() {
        let p = RetryPolicy::default();
        assert_eq!(p.jittered_delay_ms(0, -3.0), 50);
        assert_eq!(p.jittered_delay_ms(0, 7.0), 150);
        assert_eq!(p.jittered_delay_ms(0, f64::NAN), 100);
    }

    #[test]
    fn full_jitter_can_reach_zero() {
        let p = RetryPolicy { jitter: 1.0, ..RetryPolicy::default() };
        assert_eq!(p.jittered_delay_ms(0, 0.0), 0);
        assert_eq!(p.jittered_delay_ms(0, 0.5), 100);
    }

    #[test]
    fn next_delay_follows_schedule_until_exhausted() {
        let p = no_jitter();
        assert_eq!(p.next_delay_ms(1, None, 0.3), Some(100));
        assert_eq!(p.next_delay_ms(2, None, 0.3), Some(200));
        assert_eq!(p.next_delay_ms(3, None, 0.3), None);
        assert_eq!(p.next_delay_ms(4, None, 0.3), None);
    }

    #[test]
    fn single_attempt_never_retries() {
        let p = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
        assert_eq!(p.next_delay_ms(1, None, 0.5), None);
        assert_eq!(p.next_delay_ms(1, Some(10), 0.5), None);
    }

    #[test]
    fn retry_after_replaces_backoff() {
        let p = no_jitter();
        assert_eq!(p.next_delay_ms(1, Some(2500), 0.0), Some(2500));
        assert_eq!(p.next_delay_ms(1, Some(0), 0.0), Some(0));
        assert_eq!(p.next_delay_ms(1, Some(30_000), 0.0), Some(30_000));
    }

    #[test]
    fn retry_after_above_cap_gives_up() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay_ms(1, Some(30_001), 0.5), None);
        assert_eq!(p.next_delay_ms(1, Some(u64::MAX), 0.5), None);
    }

    #[test]
    fn validate_reports_bad_fields() {
        let bad = |p: RetryPolicy, needle: &str| {
            let err = p.validate().unwrap_err();
            assert!(err.contains(needle), "{err:?} should mention {needle}");
        };
        bad(RetryPolicy { max_attempts: 0, ..Default::default() }, "max_attempts");
        bad(RetryPolicy { multiplier: 0.5, ..Default::default() }, "multiplier");
        bad(RetryPolicy { multiplier: f64::NAN, ..Default::default() }, "multiplier");
        bad(RetryPolicy { multiplier: f64::INFINITY, ..Default::default() }, "multiplier");
        bad(RetryPolicy { jitter: -0.1, ..Default::default() }, "jitter");
        bad(RetryPolicy { jitter: 1.5, ..Default::default() }, "jitter");
        bad(RetryPolicy { jitter: f64::NAN, ..Default::default() }, "jitter");
        assert!(RetryPolicy { jitter: 1.0, multiplier: 1.0, ..Default::default() }.validate().is_ok());
    }

    #[test]
    fn transient_failures_are_retried_and_refusals_are_not() {
        let http =
            |status| ClientError::Http { status, status_text: String::new(), retry_after: None, backend_failed: false };
        for status in [408, 429, 502, 503, 504] {
            assert!(is_retryable(&http(status)), "{status}");
        }
        for status in [400, 401, 403, 404, 422, 500, 501] {
            assert!(!is_retryable(&http(status)), "{status}");
        }
        assert!(is_retryable(&ClientError::Timeout { after_ms: 5, phase: crate::error::Phase::Exchange }));
        assert!(!is_retryable(&ClientError::CircuitOpen { retry_in_ms: 10 }));
        assert!(!is_retryable(&ClientError::TrialsInFlight { limit: 3 }));
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 201, 400, 401, 403, 404, 409, 500, 501, 505] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after("120", 0), Some(120_000));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(0));
        assert_eq!(parse_retry_after("99999999999999999999999", 0), Some(u64::MAX));
    }

    #[test]
    fn retry_after_http_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 s after the epoch.
        let date_ms = 784_111_777_000;
        let v = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(parse_retry_after(v, date_ms - 5_000), Some(5_000));
        assert_eq!(parse_retry_after(v, date_ms - 250), Some(250));
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", date_ms - 1_000), Some(1_000));
    }

    #[test]
    fn retry_after_past_date_is_zero() {
        let v = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(parse_retry_after(v, 784_111_777_000 + 60_000), Some(0));
    }

    #[test]
    fn retry_after_garbage_is_none() {
        for v in ["", "  ", "soon", "-5", "1.5", "12s", "Sun, 32 Nov 1994 08:49:37 GMT"] {
            assert_eq!(parse_retry_after(v, 0), None, "{v:?}");
        }
    }

    #[test]
    fn matches_by_code_case_insensitively() {
        let list = default_retryable_errors();
        assert!(matches_retryable(Some("ECONNREFUSED"), "boom", &list));
        assert!(matches_retryable(Some("econnreset"), "", &list));
        assert!(!matches_retryable(Some("ECONNREFUSEDX"), "boom", &list));
        assert!(!matches_retryable(Some("EACCES"), "permission denied", &list));
    }

    #[test]
    fn matches_by_message_substring() {
        let list = default_retryable_errors();
        assert!(matches_retryable(None, "TypeError: Fetch Failed", &list));
        assert!(matches_retryable(None, "connect ETIMEDOUT 10.0.0.1:443", &list));
        assert!(matches_retryable(None, "A NETWORK ERROR occurred", &list));
        assert!(!matches_retryable(None, "ChittyID service error: 400 Bad Request", &list));
        assert!(!matches_retryable(None, "anything", &[]));
    }

    #[test]
    fn empty_entries_match_nothing() {
        let list = vec![String::new()];
        assert!(!matches_retryable(Some(""), "anything", &list));
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn retry_after_never_panics(value in "\\PC{0,40}", now in any::<u64>()) {
                let _ = parse_retry_after(&value, now);
            }

            #[test]
            fn delays_stay_within_the_cap(retry in 0u32..2000, r in 0.0f64..1.0, jitter in 0.0f64..=1.0) {
                let policy = RetryPolicy { jitter, ..RetryPolicy::default() };
                prop_assert!(policy.jittered_delay_ms(retry, r) <= policy.max_delay_ms);
            }
        }
    }
}
