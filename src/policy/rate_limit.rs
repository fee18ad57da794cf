//! Client-side rate limit (`rateLimit: { requestsPerSecond, burst }`): a token bucket kept as
//! its theoretical arrival time (GCRA), so it is one number under a lock and needs no refill
//! task (docs/ARCHITECTURE.md, "Rate limit"). Every request waits for its token
//! rather than fail, out of the call's wait budget; a wait longer than the budget fails at once
//! with `ERATELIMITED` and takes no token.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::error::ClientError;
use crate::rt::clock::SharedClock;

#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitConfig {
    pub requests_per_second: f64,
    /// Requests that may go out back to back after a quiet period.
    pub burst: u32,
}

impl RateLimitConfig {
    /// One second's worth of requests (at least 1): the burst when the option leaves it out.
    pub fn default_burst(requests_per_second: f64) -> u32 {
        requests_per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32
    }

    pub fn validate(&self) -> Result<(), String> {
        if !self.requests_per_second.is_finite() || self.requests_per_second <= 0.0 {
            return Err(format!(
                "rateLimit.requestsPerSecond must be a finite number > 0, got {}",
                self.requests_per_second
            ));
        }
        if self.burst == 0 {
            return Err("rateLimit.burst must be at least 1".into());
        }
        Ok(())
    }
}

/// The answer to "may a request go out within `budget_ms`?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// A token is reserved; send after waiting this long (0 = now).
    After(u64),
    /// No token within the budget; the next one is this far away. Nothing was reserved.
    Refused(u64),
}

/// A token being waited for; dropped before the wait ends, it is given back.
struct TokenHeld<'a>(&'a RateLimit);

impl Drop for TokenHeld<'_> {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

pub struct RateLimit {
    config: RateLimitConfig,
    /// ms between tokens.
    interval_ms: f64,
    clock: SharedClock,
    /// When the bucket would be empty again were no more tokens taken (ms on the clock).
    theoretical_arrival_ms: Mutex<f64>,
    waits: AtomicU64,
    rejected: AtomicU64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitSnapshot {
    pub config: RateLimitConfig,
    /// Requests that waited for a token.
    pub waits: u64,
    /// Calls failed with ERATELIMITED because no token came within their timeout.
    pub rejected: u64,
}

impl RateLimit {
    /// Expects a validated config.
    pub fn new(config: RateLimitConfig, clock: SharedClock) -> Self {
        let interval_ms = 1000.0 / config.requests_per_second;
        Self {
            config,
            interval_ms,
            clock,
            theoretical_arrival_ms: Mutex::new(0.0),
            waits: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// Reserves the next token if it comes within `budget_ms`.
    pub fn reserve(&self, budget_ms: u64) -> Reservation {
        let now = self.clock.now_ms() as f64;
        let mut tat = self.theoretical_arrival_ms.lock().unwrap_or_else(PoisonError::into_inner);
        let next = tat.max(now) + self.interval_ms;
        // `burst` tokens may be outstanding: the request conforms once `next` is within
        // `burst` intervals of now.
        let wait = (next - now - f64::from(self.config.burst) * self.interval_ms).max(0.0).ceil() as u64;
        if wait > budget_ms {
            return Reservation::Refused(wait);
        }
        *tat = next;
        Reservation::After(wait)
    }

    /// Waits for a token, spending the wait from `budget_ms`.
    pub async fn acquire(&self, budget_ms: &mut u64) -> Result<(), ClientError> {
        match self.reserve(*budget_ms) {
            Reservation::After(0) => Ok(()),
            Reservation::After(wait) => {
                self.waits.fetch_add(1, Relaxed);
                *budget_ms -= wait;
                let held = TokenHeld(self);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                std::mem::forget(held); // the token came and is used
                Ok(())
            }
            Reservation::Refused(retry_in_ms) => {
                self.rejected.fetch_add(1, Relaxed);
                Err(ClientError::Throttled { retry_in_ms })
            }
        }
    }

    /// A reserved token whose caller stopped waiting for it (aborted, closed, its worker
    /// thread gone) goes back, so later requests do not wait for callers that will never send.
    fn give_back(&self) {
        *self.theoretical_arrival_ms.lock().unwrap_or_else(PoisonError::into_inner) -= self.interval_ms;
    }

    pub fn snapshot(&self) -> RateLimitSnapshot {
        RateLimitSnapshot {
            config: self.config.clone(),
            waits: self.waits.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::clock::ManualClock;
    use std::sync::Arc;

    fn bucket(requests_per_second: f64, burst: u32) -> (RateLimit, Arc<ManualClock>) {
        let clock = ManualClock::new(10_000);
        (RateLimit::new(RateLimitConfig { requests_per_second, burst }, clock.clone()), clock)
    }

    #[test]
    fn config_checks_and_default_burst() {
        assert_eq!(RateLimitConfig::default_burst(0.5), 1);
        assert_eq!(RateLimitConfig::default_burst(50.0), 50);
        assert_eq!(RateLimitConfig::default_burst(2.5), 3);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(RateLimitConfig { requests_per_second: bad, burst: 1 }.validate().is_err(), "{bad}");
        }
        assert!(RateLimitConfig { requests_per_second: 1.0, burst: 0 }.validate().is_err());
    }

    #[test]
    fn a_burst_goes_out_at_once_then_one_token_per_interval() {
        let (b, _) = bucket(10.0, 3);
        let waits: Vec<_> = (0..6).map(|_| b.reserve(u64::MAX)).collect();
        use Reservation::After;
        assert_eq!(waits, [After(0), After(0), After(0), After(100), After(200), After(300)]);
    }

    #[test]
    fn tokens_come_back_with_time_up_to_the_burst() {
        let (b, clock) = bucket(10.0, 2);
        assert_eq!(b.reserve(0), Reservation::After(0));
        assert_eq!(b.reserve(0), Reservation::After(0));
        assert_eq!(b.reserve(0), Reservation::Refused(100));
        clock.advance(100);
        assert_eq!(b.reserve(0), Reservation::After(0));
        assert_eq!(b.reserve(0), Reservation::Refused(100));
        // A long quiet period refills only up to the burst.
        clock.advance(60_000);
        assert_eq!(b.reserve(0), Reservation::After(0));
        assert_eq!(b.reserve(0), Reservation::After(0));
        assert_eq!(b.reserve(0), Reservation::Refused(100));
    }

    #[test]
    fn a_refused_reservation_takes_no_token() {
        let (b, _) = bucket(1.0, 1);
        assert_eq!(b.reserve(0), Reservation::After(0));
        for _ in 0..5 {
            assert_eq!(b.reserve(500), Reservation::Refused(1_000));
        }
        assert_eq!(b.reserve(1_000), Reservation::After(1_000));
    }

    #[test]
    fn fractional_rates_and_high_rates_keep_their_pace() {
        let (b, _) = bucket(0.5, 1);
        assert_eq!(b.reserve(u64::MAX), Reservation::After(0));
        assert_eq!(b.reserve(u64::MAX), Reservation::After(2_000));
        // 4,000/s: 4 tokens per ms; 4,000 requests after the burst of 1 span about one second.
        let (b, _) = bucket(4_000.0, 1);
        let last = (0..4_001).map(|_| b.reserve(u64::MAX)).last().unwrap();
        assert_eq!(last, Reservation::After(1_000));
    }

    #[test]
    fn acquire_spends_the_wait_from_the_budget_and_counts() {
        let (b, _) = bucket(100.0, 1);
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            let mut budget = 1_000;
            b.acquire(&mut budget).await.unwrap();
            assert_eq!(budget, 1_000);
            b.acquire(&mut budget).await.unwrap();
            assert_eq!(budget, 990);
            let mut tight = 5;
            let err = b.acquire(&mut tight).await.unwrap_err();
            assert_eq!(err.code(), "ERATELIMITED");
            assert!(!err.may_have_reached_service());
        });
        let s = b.snapshot();
        assert_eq!((s.waits, s.rejected), (1, 1));
    }
}
