//! Client-side rate limit (`rateLimit: { requestsPerSecond, burst }`): a token bucket kept as
//! its theoretical arrival time (GCRA), so it is one number under a lock and needs no refill
//! task (docs/ARCHITECTURE.md, "Rate limit"). Every request waits for its token
//! rather than fail, out of the call's wait budget; a wait longer than the budget fails at once
//! with `ERATELIMITED` and takes no token.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::error::{ClientError, Pacer};
use crate::policy::line::Line;
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
pub enum Turn {
    /// A token was taken: send now.
    Now,
    /// The call's token comes in about this long: wait in the line (at its head, for this
    /// long), then ask again. Nothing was taken.
    In(u64),
    /// No token within the budget; the call's would come this far away. Nothing was taken.
    Refused(u64),
}

pub struct RateLimit {
    config: RateLimitConfig,
    /// ms between tokens.
    interval_ms: f64,
    clock: SharedClock,
    /// When the bucket would be empty again were no more tokens taken (ms on the clock).
    theoretical_arrival_ms: Mutex<f64>,
    /// Requests waiting for a token, first come first served.
    line: Line,
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
            line: Line::default(),
            waits: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// Takes a token if one conforms now; else says when the token of a call with `ahead`
    /// requests before it in the line would, or that it would not within `budget_ms`.
    pub fn try_take(&self, budget_ms: u64, ahead: usize) -> Turn {
        let now = self.clock.now_ms() as f64;
        let mut tat = self.theoretical_arrival_ms.lock().unwrap_or_else(PoisonError::into_inner);
        let next = tat.max(now) + self.interval_ms * (1 + ahead) as f64;
        // `burst` tokens may be outstanding: the request conforms once `next` is within
        // `burst` intervals of now.
        let wait = (next - now - f64::from(self.config.burst) * self.interval_ms).max(0.0).ceil() as u64;
        if wait > budget_ms {
            return Turn::Refused(wait);
        }
        if wait > 0 {
            return Turn::In(wait);
        }
        *tat = tat.max(now) + self.interval_ms;
        Turn::Now
    }

    /// Waits for a token, spending the wait from `budget_ms`. Requests that must wait do so in
    /// a first-come first-served line where only the head waits for the clock
    /// (`policy::line`): one that stops waiting (aborted, closed, its worker thread gone)
    /// leaves no reserved token behind for later requests to wait out.
    pub async fn acquire(&self, budget_ms: &mut u64) -> Result<(), ClientError> {
        let mut place = None;
        loop {
            let ahead = if place.is_some() { 0 } else { self.line.count() };
            match self.try_take(*budget_ms, ahead) {
                Turn::Now => return Ok(()),
                Turn::Refused(retry_in_ms) => return Err(self.reject(retry_in_ms)),
                Turn::In(wait) if place.is_some() => {
                    *budget_ms -= wait;
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                Turn::In(wait) => {
                    self.waits.fetch_add(1, Relaxed);
                    place = Some(self.line.join_within(budget_ms).await.ok_or_else(|| self.reject(wait))?);
                }
            }
        }
    }

    fn reject(&self, retry_in_ms: u64) -> ClientError {
        self.rejected.fetch_add(1, Relaxed);
        ClientError::RateLimited { retry_in_ms, by: Pacer::RateLimit }
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
        let (b, clock) = bucket(10.0, 3);
        let turns: Vec<_> = (0..3).map(|_| b.try_take(u64::MAX, 0)).collect();
        assert_eq!(turns, [Turn::Now; 3]);
        // The head of the line waits one interval; asking again takes nothing.
        assert_eq!(b.try_take(u64::MAX, 0), Turn::In(100));
        assert_eq!(b.try_take(u64::MAX, 0), Turn::In(100));
        // A newcomer behind two others waits for their tokens too.
        assert_eq!(b.try_take(u64::MAX, 2), Turn::In(300));
        clock.advance(100);
        assert_eq!(b.try_take(u64::MAX, 0), Turn::Now);
        assert_eq!(b.try_take(u64::MAX, 0), Turn::In(100));
    }

    #[test]
    fn tokens_come_back_with_time_up_to_the_burst() {
        let (b, clock) = bucket(10.0, 2);
        assert_eq!(b.try_take(0, 0), Turn::Now);
        assert_eq!(b.try_take(0, 0), Turn::Now);
        assert_eq!(b.try_take(0, 0), Turn::Refused(100));
        clock.advance(100);
        assert_eq!(b.try_take(0, 0), Turn::Now);
        assert_eq!(b.try_take(0, 0), Turn::Refused(100));
        // A long quiet period refills only up to the burst.
        clock.advance(60_000);
        assert_eq!(b.try_take(0, 0), Turn::Now);
        assert_eq!(b.try_take(0, 0), Turn::Now);
        assert_eq!(b.try_take(0, 0), Turn::Refused(100));
    }

    #[test]
    fn a_refused_call_takes_no_token() {
        let (b, _) = bucket(1.0, 1);
        assert_eq!(b.try_take(0, 0), Turn::Now);
        for _ in 0..5 {
            assert_eq!(b.try_take(500, 0), Turn::Refused(1_000));
        }
        assert_eq!(b.try_take(1_000, 0), Turn::In(1_000));
        assert_eq!(b.try_take(1_999, 1), Turn::Refused(2_000));
    }

    #[test]
    fn with_tokens_to_spare_a_newcomer_takes_one_only() {
        let (b, _) = bucket(10.0, 5);
        assert_eq!(b.try_take(0, 3), Turn::Now);
        let turns: Vec<_> = (0..5).map(|_| b.try_take(0, 0)).collect();
        assert_eq!(turns, [Turn::Now, Turn::Now, Turn::Now, Turn::Now, Turn::Refused(100)]);
    }

    #[test]
    fn fractional_rates_and_high_rates_keep_their_pace() {
        let (b, _) = bucket(0.5, 1);
        assert_eq!(b.try_take(u64::MAX, 0), Turn::Now);
        assert_eq!(b.try_take(u64::MAX, 0), Turn::In(2_000));
        // 4,000/s: 4 tokens per ms; 4,000 requests after the burst of 1 span about one second.
        let (b, _) = bucket(4_000.0, 1);
        assert_eq!(b.try_take(u64::MAX, 0), Turn::Now);
        assert_eq!(b.try_take(u64::MAX, 3_999), Turn::In(1_000));
    }

    #[test]
    fn acquire_spends_the_wait_from_the_budget_and_counts() {
        // A clock that stands still, so the second request's wait is exactly one interval
        // however slowly the test runs (the real clock once left CI a wait of 9 ms, not 10).
        // The test moves it on by that interval while the request sleeps the wait out.
        let (b, clock) = bucket(4.0, 1);
        let b = Arc::new(b);
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            let mut budget = 1_000;
            b.acquire(&mut budget).await.unwrap();
            assert_eq!(budget, 1_000);
            let second = tokio::spawn({
                let b = b.clone();
                async move {
                    let mut budget = 1_000;
                    b.acquire(&mut budget).await.map(|()| budget)
                }
            });
            // One thread: the spawned request runs until it sleeps out its wait before this
            // task looks again.
            while b.snapshot().waits == 0 {
                tokio::task::yield_now().await;
            }
            clock.advance(250);
            let budget = second.await.unwrap().unwrap();
            // One interval spent (less whatever real time reaching the head of the empty line
            // took); 500 had it been spent twice.
            assert!((501..=750).contains(&budget), "{budget}");
            let mut tight = 5;
            let err = b.acquire(&mut tight).await.unwrap_err();
            assert_eq!(err.code(), "ERATELIMITED");
            assert!(!err.may_have_reached_service());
        });
        let s = b.snapshot();
        assert_eq!((s.waits, s.rejected), (1, 1));
    }

    /// Requests waiting in line that stop waiting leave nothing behind: one already waiting
    /// behind them waits one interval more, not one per request that left.
    #[test]
    fn requests_that_leave_the_line_leave_no_gap() {
        let b = Arc::new(RateLimit::new(
            RateLimitConfig { requests_per_second: 1.0, burst: 1 },
            crate::rt::clock::system(),
        ));
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            b.acquire(&mut 0).await.unwrap();
            let waited = crate::policy::line::wait_behind_leavers(&b.line, || {
                let b = b.clone();
                async move {
                    let mut budget = 60_000;
                    b.acquire(&mut budget).await.unwrap();
                    60_000 - budget
                }
            })
            .await;
            // About the interval the first token left (1 s); 51 s if the 50 counted.
            assert!(waited < 2_000, "waited {waited} ms");
        });
    }
}
