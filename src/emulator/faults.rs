//! Fault injection settings, and the per-request decision of which faults to apply.
//!
//! Which requests a setting can touch:
//! - `latency_ms` and `down` apply to every route (health included); `routes` does not narrow them.
//! - `error_status`, `rate_limit_retry_after`, `reset_connection`, `malformed_json` and
//!   `oversized_body` apply to the routes named in `routes`, or to every route except health
//!   when `routes` is `None`.
//! - `drop_after_commit` applies to those routes too, but only ever to mint and batch.
//! - `placeholder` applies to those routes too, but only ever to mint, and only under the
//!   deployed profile: the mint answers 200 with a placeholder id instead of minting, as the
//!   deployed service does when its minting backend fails.
//! - `rate_limit_per_second` applies to the same routes as the response faults. It is a
//!   token bucket (burst = the rate, at least 1) over every request to them, outside
//!   `probability` and `remaining`: a request it refuses gets the public service's 429 (no
//!   `Retry-After`, `X-Block-Reason`), before every other fault but `down`.
//!
//! A request is *eligible* when at least one setting applies to its route. Each eligible
//! request draws against `probability` (None = always) and then takes one from `remaining`
//! (None = unlimited); only then does it get every fault that applies to it. Ineligible
//! requests never consume `remaining`.
//!
//! Precedence when several apply to one request: latency is always served first, then the
//! first of down > reset_connection > rate_limit_retry_after > error_status answers instead of
//! the route; otherwise the route runs (a deployed mint with `placeholder` answers its
//! placeholder) and its success answer (2xx only) is subject to
//! drop_after_commit > malformed_json > oversized_body.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::RouteKind;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Added before answering.
    pub latency_ms: u64,
    /// Answer this status with a JSON error body instead of running the route.
    pub error_status: Option<u16>,
    /// Answer 429 with `Retry-After: <secs>`.
    pub rate_limit_retry_after: Option<u64>,
    /// Abort the TCP connection (RST) without any response.
    pub reset_connection: bool,
    /// Mint/batch only: commit the mint (ledger, idempotency key), then close the connection
    /// without a response. Idempotent replays are dropped the same way.
    pub drop_after_commit: bool,
    /// Success answers get a truncated, invalid JSON body.
    pub malformed_json: bool,
    /// Success answers are padded with a `"pad"` field to this many bytes (still valid JSON).
    pub oversized_body: Option<usize>,
    /// Every route answers 503 (health says `"status":"down"`).
    pub down: bool,
    /// At most this many requests per second (fractions allowed: 10/60 is 10 a minute); the
    /// rest get 429 `{"error":"REQUEST_BLOCKED","reason":"RATE_LIMIT_EXCEEDED"}`.
    pub rate_limit_per_second: Option<f64>,
    /// Deployed profile: mints answer 200 `{ success: true, fallback: true, errorCode, chittyId }`
    /// with a placeholder id carrying this error code (one of `format::PLACEHOLDER_ERRORS`),
    /// minting nothing.
    pub placeholder: Option<&'static str>,
    /// Narrows the response faults to these routes: "health", "mint", "batch", "validate".
    pub routes: Option<Vec<String>>,
    /// Chance in 0..=1 that an eligible request is faulted; None = always.
    pub probability: Option<f64>,
    /// Fault only the next N eligible requests, then behave normally; None = no limit.
    pub remaining: Option<u64>,
}

/// Answers given instead of running the route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Early {
    Down,
    Reset,
    RateLimited {
        retry_after_secs: u64,
    },
    Status(u16),
    /// Refused by `rate_limit_per_second`.
    Blocked,
}

/// Changes to a success answer after the route ran.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Late {
    DropAfterCommit,
    Malformed,
    Oversized(usize),
}

/// The faults chosen for one request.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Injection {
    pub latency: Option<Duration>,
    pub early: Option<Early>,
    pub late: Option<Late>,
    /// The error code of the placeholder a deployed mint answers with.
    pub placeholder: Option<&'static str>,
}

impl Injection {
    fn is_empty(&self) -> bool {
        *self == Injection::default()
    }
}

impl Faults {
    fn response_faults_target(&self, route: RouteKind) -> bool {
        match &self.routes {
            Some(names) => names.iter().any(|name| name == route.name()),
            None => route != RouteKind::Health,
        }
    }

    fn injection_for(&self, route: RouteKind) -> Injection {
        let latency = (self.latency_ms > 0).then(|| Duration::from_millis(self.latency_ms));
        let targeted = self.response_faults_target(route);
        let placeholder = self.placeholder.filter(|_| targeted && route == RouteKind::Mint);
        Injection { latency, early: self.early_for(targeted), late: self.late_for(route, targeted), placeholder }
    }

    fn early_for(&self, targeted: bool) -> Option<Early> {
        if self.down {
            return Some(Early::Down);
        }
        if !targeted {
            return None;
        }
        if self.reset_connection {
            Some(Early::Reset)
        } else if let Some(secs) = self.rate_limit_retry_after {
            Some(Early::RateLimited { retry_after_secs: secs })
        } else {
            self.error_status.map(Early::Status)
        }
    }

    fn late_for(&self, route: RouteKind, targeted: bool) -> Option<Late> {
        if !targeted {
            return None;
        }
        let mints = matches!(route, RouteKind::Mint | RouteKind::Batch);
        if self.drop_after_commit && mints {
            Some(Late::DropAfterCommit)
        } else if self.malformed_json {
            Some(Late::Malformed)
        } else {
            self.oversized_body.map(Late::Oversized)
        }
    }

    /// Nothing but the rate limiter (which is checked apart) could be injected.
    fn is_inert(&self) -> bool {
        let settings_only =
            Faults { routes: None, probability: None, remaining: None, rate_limit_per_second: None, ..self.clone() };
        self.remaining == Some(0) || settings_only == Faults::default()
    }
}

/// The token bucket behind `rate_limit_per_second`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn full(rate: f64) -> Self {
        Bucket { tokens: burst(rate), refilled: Instant::now() }
    }

    fn take(&mut self, rate: f64) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst(rate));
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The bucket's size: a second's worth, at least one request (none at rate 0).
fn burst(rate: f64) -> f64 {
    if rate > 0.0 {
        rate.ceil().max(1.0)
    } else {
        0.0
    }
}

/// The active faults, shared between the control handle and the server thread.
#[derive(Debug, Default)]
pub(crate) struct FaultSwitch {
    active: Mutex<Faults>,
    bucket: Mutex<Option<Bucket>>,
    /// False when nothing can be injected, so the hot path skips the lock.
    armed: AtomicBool,
}

impl FaultSwitch {
    pub fn set(&self, faults: Faults) {
        let mut active = self.lock();
        self.armed.store(!faults.is_inert() || faults.rate_limit_per_second.is_some(), Ordering::Release);
        *self.bucket.lock().unwrap_or_else(|p| p.into_inner()) = faults.rate_limit_per_second.map(Bucket::full);
        *active = faults;
    }

    /// The active faults; `remaining` shows what is left of the burst.
    pub fn get(&self) -> Faults {
        self.lock().clone()
    }

    /// Decides the faults for one request on `route`, consuming from `remaining`.
    pub fn draw(&self, route: RouteKind) -> Option<Injection> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut active = self.lock();
        if let Some(rate) = active.rate_limit_per_second.filter(|_| active.response_faults_target(route)) {
            let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            let admitted = bucket.get_or_insert_with(|| Bucket::full(rate)).take(rate);
            if !admitted && !active.down {
                let latency = (active.latency_ms > 0).then(|| Duration::from_millis(active.latency_ms));
                return Some(Injection { latency, early: Some(Early::Blocked), ..Injection::default() });
            }
        }
        let injection = active.injection_for(route);
        if injection.is_empty() || !roll(active.probability) {
            return None;
        }
        if let Some(left) = active.remaining.as_mut() {
            if *left == 0 {
                return None;
            }
            *left -= 1;
            if *left == 0 && active.rate_limit_per_second.is_none() {
                self.armed.store(false, Ordering::Release);
            }
        }
        Some(injection)
    }

    fn lock(&self) -> MutexGuard<'_, Faults> {
        self.active.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn roll(probability: Option<f64>) -> bool {
    match probability {
        None => true,
        Some(p) if p >= 1.0 => true,
        Some(p) => fastrand::f64() < p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(faults: Faults) -> FaultSwitch {
        let s = FaultSwitch::default();
        s.set(faults);
        s
    }

    #[test]
    fn no_faults_means_no_injection() {
        let s = FaultSwitch::default();
        assert_eq!(s.draw(RouteKind::Mint), None);
        let s = switch(Faults { probability: Some(1.0), remaining: Some(5), ..Faults::default() });
        assert_eq!(s.draw(RouteKind::Mint), None);
    }

    #[test]
    fn response_faults_spare_health_unless_listed() {
        let s = switch(Faults { error_status: Some(503), ..Faults::default() });
        assert_eq!(s.draw(RouteKind::Health), None);
        assert_eq!(s.draw(RouteKind::Validate).unwrap().early, Some(Early::Status(503)));
        let s = switch(Faults { error_status: Some(500), routes: Some(vec!["health".into()]), ..Faults::default() });
        assert_eq!(s.draw(RouteKind::Health).unwrap().early, Some(Early::Status(500)));
        assert_eq!(s.draw(RouteKind::Mint), None);
    }

    #[test]
    fn latency_and_down_reach_every_route() {
        let s = switch(Faults { latency_ms: 5, down: true, routes: Some(vec!["mint".into()]), ..Faults::default() });
        for route in [RouteKind::Health, RouteKind::Validate, RouteKind::Other] {
            let i = s.draw(route).unwrap();
            assert_eq!(i.latency, Some(Duration::from_millis(5)));
            assert_eq!(i.early, Some(Early::Down));
        }
    }

    #[test]
    fn precedence_follows_the_documented_order() {
        let all = Faults {
            reset_connection: true,
            rate_limit_retry_after: Some(2),
            error_status: Some(500),
            drop_after_commit: true,
            malformed_json: true,
            oversized_body: Some(10_000),
            ..Faults::default()
        };
        assert_eq!(switch(all.clone()).draw(RouteKind::Mint).unwrap().early, Some(Early::Reset));
        let no_reset = Faults { reset_connection: false, ..all.clone() };
        let i = switch(no_reset.clone()).draw(RouteKind::Mint).unwrap();
        assert_eq!(i.early, Some(Early::RateLimited { retry_after_secs: 2 }));
        assert_eq!(i.late, Some(Late::DropAfterCommit));
        assert_eq!(switch(no_reset).draw(RouteKind::Validate).unwrap().late, Some(Late::Malformed));
        let oversized_only = Faults { oversized_body: Some(9), ..Faults::default() };
        assert_eq!(switch(oversized_only).draw(RouteKind::Batch).unwrap().late, Some(Late::Oversized(9)));
        assert_eq!(switch(Faults { down: true, ..all }).draw(RouteKind::Mint).unwrap().early, Some(Early::Down));
    }

    #[test]
    fn drop_after_commit_only_touches_mints() {
        let s = switch(Faults { drop_after_commit: true, ..Faults::default() });
        assert_eq!(s.draw(RouteKind::Validate), None);
        assert_eq!(s.draw(RouteKind::Batch).unwrap().late, Some(Late::DropAfterCommit));
    }

    #[test]
    fn remaining_counts_down_only_on_eligible_requests() {
        let s = switch(Faults { error_status: Some(503), remaining: Some(2), ..Faults::default() });
        assert_eq!(s.draw(RouteKind::Health), None);
        assert!(s.draw(RouteKind::Mint).is_some());
        assert_eq!(s.get().remaining, Some(1));
        assert!(s.draw(RouteKind::Mint).is_some());
        assert_eq!(s.draw(RouteKind::Mint), None);
        assert_eq!(s.get().remaining, Some(0));
    }

    #[test]
    fn probability_zero_never_faults_and_one_always_does() {
        let never = switch(Faults { error_status: Some(500), probability: Some(0.0), ..Faults::default() });
        let always = switch(Faults { error_status: Some(500), probability: Some(1.0), ..Faults::default() });
        for _ in 0..200 {
            assert_eq!(never.draw(RouteKind::Mint), None);
            assert!(always.draw(RouteKind::Mint).is_some());
        }
    }

    #[test]
    fn probability_is_roughly_honoured() {
        let s = switch(Faults { error_status: Some(500), probability: Some(0.5), ..Faults::default() });
        let hits = (0..4_000).filter(|_| s.draw(RouteKind::Mint).is_some()).count();
        assert!((1_600..2_400).contains(&hits), "{hits}");
    }

    #[test]
    fn the_rate_limit_admits_a_burst_then_blocks_outside_probability_and_remaining() {
        let s = switch(Faults {
            rate_limit_per_second: Some(3.0),
            probability: Some(0.0),
            remaining: Some(0),
            ..Faults::default()
        });
        let outcomes: Vec<Option<Early>> = (0..5).map(|_| s.draw(RouteKind::Mint).and_then(|i| i.early)).collect();
        assert_eq!(outcomes, [None, None, None, Some(Early::Blocked), Some(Early::Blocked)]);
        // Health is not a target unless listed; a refill admits again.
        assert_eq!(s.draw(RouteKind::Health), None);
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(s.draw(RouteKind::Mint), None);
        // Setting the faults again refills the bucket; clearing them ends the limit.
        s.set(Faults { rate_limit_per_second: Some(1.0), ..Faults::default() });
        assert_eq!(s.draw(RouteKind::Validate), None);
        assert_eq!(s.draw(RouteKind::Validate).and_then(|i| i.early), Some(Early::Blocked));
        s.set(Faults::default());
        assert_eq!(s.draw(RouteKind::Validate), None);
    }

    #[test]
    fn placeholders_touch_only_mints_and_lose_to_early_answers() {
        let s = switch(Faults { placeholder: Some("MINT_TIMEOUT"), ..Faults::default() });
        assert_eq!(s.draw(RouteKind::Validate), None);
        assert_eq!(s.draw(RouteKind::Health), None);
        assert_eq!(s.draw(RouteKind::Mint).unwrap().placeholder, Some("MINT_TIMEOUT"));
        let both = switch(Faults {
            placeholder: Some("RATE_LIMITED"),
            error_status: Some(500),
            remaining: Some(1),
            ..Faults::default()
        });
        let i = both.draw(RouteKind::Mint).unwrap();
        assert_eq!((i.early, i.placeholder), (Some(Early::Status(500)), Some("RATE_LIMITED")));
        assert_eq!(both.draw(RouteKind::Mint), None, "remaining counts placeholders too");
    }

    #[test]
    fn down_wins_over_the_rate_limit() {
        let s = switch(Faults { rate_limit_per_second: Some(0.0), down: true, ..Faults::default() });
        assert_eq!(s.draw(RouteKind::Mint).unwrap().early, Some(Early::Down));
    }
}
