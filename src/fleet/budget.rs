//! The fleet's shared rate budget: a token bucket in Redis (`scripts/acquire.lua`), consulted
//! before each request, and the fleet-wide rate-limit pause (`scripts/pause.lua`). While Redis
//! is unavailable (or late) the same bucket runs locally at this instance's share of the rate:
//! the rate divided by the instances active at the last refresh.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use redis::Script;

use super::link::Link;
use crate::option_table::PAUSE_MAX_MS as MAX_PAUSE_MS;
use crate::rt::clock::SharedClock;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateConfig {
    pub per_second: f64,
    /// Requests that may go out back to back after a quiet spell.
    pub burst: f64,
}

/// What a caller does before its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Go after this many ms (0: now); the slot is reserved.
    After(u64),
    /// The fleet is paused (the service answered 429) for this many ms; ask again then.
    Paused(u64),
    /// The next free slot is this many ms away, further than the caller can wait.
    Refused(u64),
}

/// The bucket of `scripts/acquire.lua`, for the local fallback and its tests: reservations may
/// take the tokens below zero, and each waits for its turn.
#[derive(Debug)]
pub struct LocalBucket {
    tokens: f64,
    at_ms: u64,
}

impl LocalBucket {
    pub fn new(config: RateConfig, now_ms: u64) -> Self {
        Self { tokens: config.burst, at_ms: now_ms }
    }

    /// A bucket whose first slot comes after `ahead_ms` from now: the slots Redis already
    /// granted this instance run until then, and the fleet's budget is spent that far.
    pub fn after(config: RateConfig, now_ms: u64, ahead_ms: u64) -> Self {
        if ahead_ms == 0 {
            return Self::new(config, now_ms);
        }
        Self { tokens: -(ahead_ms as f64) * config.per_second / 1000.0, at_ms: now_ms }
    }

    /// Requests reserved here that have not had their slot yet.
    pub fn promised(&self, config: RateConfig, now_ms: u64) -> u64 {
        let per_ms = config.per_second / 1000.0;
        let tokens = self.tokens + now_ms.saturating_sub(self.at_ms) as f64 * per_ms;
        if tokens < 0.0 {
            (-tokens).ceil() as u64
        } else {
            0
        }
    }

    pub fn reserve(&mut self, config: RateConfig, now_ms: u64, max_wait_ms: u64) -> Grant {
        let per_ms = config.per_second / 1000.0;
        let mut tokens = self.tokens;
        if now_ms > self.at_ms {
            tokens = (tokens + (now_ms - self.at_ms) as f64 * per_ms).min(config.burst);
        }
        tokens -= 1.0;
        let wait = if tokens < 0.0 { (-tokens / per_ms).ceil() as u64 } else { 0 };
        if wait > max_wait_ms {
            return Grant::Refused(wait);
        }
        self.tokens = tokens;
        self.at_ms = self.at_ms.max(now_ms);
        Grant::After(wait)
    }
}

/// Which bucket paces this instance, and what the other one promised: on a switch, the slots
/// promised by one are not handed out again by the other.
#[derive(Debug, Default)]
pub(super) struct Pacing {
    pub(super) local: Option<LocalBucket>,
    /// The last slot came from the local bucket.
    pub(super) on_local: bool,
    /// Clock ms of the furthest slot Redis granted this instance.
    redis_horizon_ms: u64,
    /// One call is carrying the local bucket's promises to Redis: the others carry none.
    debt_in_flight: bool,
}

pub struct RateBudget {
    link: Arc<Link>,
    config: Option<RateConfig>,
    bucket_key: String,
    pause_key: String,
    members_key: String,
    /// Instances active at the last refresh (1 until one succeeds).
    members: AtomicU64,
    acquire: Script,
    pause: Script,
    give_back: Script,
    local: Mutex<Pacing>,
    clock: SharedClock,
    /// Until when (clock ms) the fleet is known to be paused.
    paused_until_ms: AtomicU64,
}

impl RateBudget {
    /// Keys `<scope>:rate`, `<scope>:pause` and `<scope>:members`.
    pub fn new(link: Arc<Link>, config: Option<RateConfig>, scope: &str, clock: SharedClock) -> Self {
        Self {
            link,
            config,
            bucket_key: format!("{scope}:rate"),
            pause_key: format!("{scope}:pause"),
            members_key: format!("{scope}:members"),
            members: AtomicU64::new(1),
            acquire: Script::new(super::lua::ACQUIRE),
            pause: Script::new(super::lua::PAUSE),
            give_back: Script::new(super::lua::GIVE_BACK),
            local: Mutex::new(Pacing::default()),
            clock,
            paused_until_ms: AtomicU64::new(0),
        }
    }

    pub fn pause_key(&self) -> &str {
        &self.pause_key
    }

    pub fn members_key(&self) -> &str {
        &self.members_key
    }

    #[cfg(test)]
    pub fn bucket_key(&self) -> &str {
        &self.bucket_key
    }

    /// A rate budget was asked for (`fleet.ratePerSecond`): each attempt reserves a slot.
    pub fn is_configured(&self) -> bool {
        self.config.is_some()
    }

    pub fn note_members(&self, members: u64) {
        self.members.store(members.max(1), Relaxed);
    }

    /// This instance's part of the budget, for the local bucket.
    fn local_share(&self, config: RateConfig) -> RateConfig {
        share(config, self.members.load(Relaxed))
    }

    /// The slot for one request. Without a configured rate only the known pause applies, and
    /// nothing is sent to Redis (the pause is refreshed in the background).
    pub async fn acquire(&self, max_wait_ms: u64) -> Grant {
        self.reserve(max_wait_ms).await.0
    }

    /// [`RateBudget::acquire`], and whether a slot reserved was taken from Redis's bucket (true)
    /// or the local one, for [`RateBudget::give_back`]. Redis gets at most `max_wait_ms` to
    /// answer (less than the deadline when the caller can wait less), and an answer it had no
    /// business giving (a wait beyond `max_wait_ms`, from something that is not the fleet's
    /// script) is a refusal, never a wait past the caller's timeout.
    pub async fn reserve(&self, max_wait_ms: u64) -> (Grant, bool) {
        let pause = self.current_pause();
        if pause > 0 {
            return (Grant::Paused(pause), false);
        }
        let Some(config) = self.config else { return (Grant::After(0), false) };
        // Back on Redis after local pacing: the slots the local bucket promised (their callers
        // are waiting for them) are taken from the shared bucket with this one.
        let debt = {
            let mut pacing = self.pacing();
            let debt = match &pacing.local {
                Some(bucket) if pacing.on_local && !pacing.debt_in_flight => {
                    bucket.promised(self.local_share(config), self.clock.now_ms())
                }
                _ => 0,
            };
            pacing.debt_in_flight |= debt > 0;
            debt
        };
        let answer = self
            .link
            .run_within(std::time::Duration::from_millis(max_wait_ms), |mut conn| async move {
                self.acquire
                    .key(&self.bucket_key)
                    .key(&self.pause_key)
                    .arg(config.per_second)
                    .arg(config.burst)
                    .arg(max_wait_ms)
                    .arg(debt)
                    .invoke_async::<(i64, i64)>(&mut conn)
                    .await
            })
            .await;
        if debt > 0 {
            // Recorded in Redis (or not, and the next call carries it again).
            self.pacing().debt_in_flight = false;
        }
        match answer {
            Ok((0, wait)) if wait.max(0) as u64 <= max_wait_ms => {
                let wait = wait.max(0) as u64;
                let mut pacing = self.pacing();
                pacing.on_local = false;
                pacing.redis_horizon_ms = pacing.redis_horizon_ms.max(self.clock.now_ms() + wait);
                (Grant::After(wait), true)
            }
            Ok((1, pause)) => {
                let pause = (pause.max(1) as u64).min(MAX_PAUSE_MS);
                self.note_pause(pause);
                (Grant::Paused(pause), true)
            }
            Ok((_, wait)) => {
                // The debt, if any, went into the shared bucket all the same.
                self.pacing().on_local = false;
                (Grant::Refused(wait.max(0) as u64), true)
            }
            Err(_) => (self.acquire_locally(config, max_wait_ms), false),
        }
    }

    /// A slot of the local bucket reserved by a caller that stopped waiting for it: its token
    /// goes back at once.
    pub fn give_back_locally(&self) {
        if let Some(bucket) = self.pacing().local.as_mut() {
            bucket.tokens += 1.0;
        }
    }

    pub(super) fn pacing(&self) -> std::sync::MutexGuard<'_, Pacing> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `tokens` slots of Redis's bucket reserved by callers that stopped waiting for them
    /// (aborted, closed, their worker thread gone) go back (`scripts/give_back.lua`), so the
    /// fleet's later requests do not wait for callers that will never send.
    pub async fn give_back(&self, tokens: u64) {
        if tokens == 0 {
            return;
        }
        let _ = self
            .link
            .run(|mut conn| async move {
                self.give_back.key(&self.bucket_key).arg(tokens).invoke_async::<i64>(&mut conn).await
            })
            .await;
    }

    fn acquire_locally(&self, config: RateConfig, max_wait_ms: u64) -> Grant {
        let config = self.local_share(config);
        let now = self.clock.now_ms();
        let mut pacing = self.pacing();
        if !pacing.on_local {
            // Off Redis: local slots start after the last one Redis granted here.
            let ahead = pacing.redis_horizon_ms.saturating_sub(now);
            pacing.local = Some(LocalBucket::after(config, now, ahead));
            pacing.on_local = true;
        }
        pacing.local.get_or_insert_with(|| LocalBucket::new(config, now)).reserve(config, now, max_wait_ms)
    }

    /// Tells the whole fleet to hold its requests for `ms` (a 429 from the service). The
    /// pause applies here at once, whether or not Redis is reachable.
    pub async fn publish_pause(&self, ms: u64) -> bool {
        self.note_pause(ms);
        self.link
            .run(|mut conn| async move { self.pause.key(&self.pause_key).arg(ms).invoke_async::<i64>(&mut conn).await })
            .await
            .is_ok()
    }

    /// Ms left of the pause this instance knows of (its own 429s and what Redis told it).
    pub fn current_pause(&self) -> u64 {
        self.paused_until_ms.load(Relaxed).saturating_sub(self.clock.now_ms())
    }

    /// A pause learned from Redis or a 429; a longer pause already known is kept. No pause
    /// lasts longer than the longest the client honours after a 429 (`MAX_PAUSE_MS`), whatever
    /// Redis says.
    pub fn note_pause(&self, ms: u64) {
        self.paused_until_ms.fetch_max(self.clock.now_ms() + ms.min(MAX_PAUSE_MS), Relaxed);
    }
}

/// `config` split evenly between `members` instances; each keeps a burst of at least 1.
pub fn share(config: RateConfig, members: u64) -> RateConfig {
    let n = members.max(1) as f64;
    RateConfig { per_second: config.per_second / n, burst: (config.burst / n).max(1.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_share_splits_the_rate_between_active_instances() {
        let c = RateConfig { per_second: 100.0, burst: 8.0 };
        assert_eq!(share(c, 0), c);
        assert_eq!(share(c, 1), c);
        assert_eq!(share(c, 4), RateConfig { per_second: 25.0, burst: 2.0 });
        assert_eq!(share(c, 16), RateConfig { per_second: 6.25, burst: 1.0 });
    }

    const TEN_PER_SECOND: RateConfig = RateConfig { per_second: 10.0, burst: 2.0 };

    #[test]
    fn the_burst_goes_at_once_then_one_slot_per_interval() {
        let mut b = LocalBucket::new(TEN_PER_SECOND, 1_000);
        assert_eq!(b.reserve(TEN_PER_SECOND, 1_000, 10_000), Grant::After(0));
        assert_eq!(b.reserve(TEN_PER_SECOND, 1_000, 10_000), Grant::After(0));
        assert_eq!(b.reserve(TEN_PER_SECOND, 1_000, 10_000), Grant::After(100));
        assert_eq!(b.reserve(TEN_PER_SECOND, 1_000, 10_000), Grant::After(200));
        // 150 ms later the queue has moved on by 1.5 slots.
        assert_eq!(b.reserve(TEN_PER_SECOND, 1_150, 10_000), Grant::After(150));
    }

    #[test]
    fn a_slot_too_far_away_is_refused_and_not_reserved() {
        let mut b = LocalBucket::new(TEN_PER_SECOND, 0);
        for _ in 0..2 {
            b.reserve(TEN_PER_SECOND, 0, 0);
        }
        assert_eq!(b.reserve(TEN_PER_SECOND, 0, 50), Grant::Refused(100));
        assert_eq!(b.reserve(TEN_PER_SECOND, 0, 100), Grant::After(100), "the refusal took nothing");
    }

    #[test]
    fn over_any_window_the_rate_holds() {
        let config = RateConfig { per_second: 50.0, burst: 1.0 };
        let mut b = LocalBucket::new(config, 0);
        let starts: Vec<u64> = (0..500)
            .map(|_| match b.reserve(config, 0, u64::MAX) {
                Grant::After(w) => w,
                other => panic!("{other:?}"),
            })
            .collect();
        // 500 requests at 50/s with a burst of 1: the last starts at 9.98 s.
        assert_eq!(*starts.last().unwrap(), 9_980);
        for window_start in (0..10_000).step_by(250) {
            let inside = starts.iter().filter(|&&s| s >= window_start && s < window_start + 1_000).count();
            assert!(inside <= 50, "{inside} starts in the second from {window_start} ms");
        }
    }

    #[test]
    fn a_bucket_can_start_after_slots_granted_elsewhere_and_count_its_promises() {
        let mut b = LocalBucket::after(TEN_PER_SECOND, 1_000, 300);
        assert_eq!(b.promised(TEN_PER_SECOND, 1_000), 3);
        // The first slot comes one interval after the last one granted elsewhere.
        assert_eq!(b.reserve(TEN_PER_SECOND, 1_000, 10_000), Grant::After(400));
        assert_eq!(b.promised(TEN_PER_SECOND, 1_000), 4);
        assert_eq!(b.promised(TEN_PER_SECOND, 1_250), 2, "2.5 slots later, 1.5 left");
        assert_eq!(b.promised(TEN_PER_SECOND, 2_000), 0);
        assert_eq!(LocalBucket::after(TEN_PER_SECOND, 0, 0).promised(TEN_PER_SECOND, 0), 0);
        let mut fresh = LocalBucket::after(TEN_PER_SECOND, 0, 0);
        assert_eq!(fresh.reserve(TEN_PER_SECOND, 0, 10_000), Grant::After(0), "nothing ahead: the burst");
    }

    #[test]
    fn the_known_pause_only_grows_and_runs_out() {
        let clock = crate::rt::clock::ManualClock::new(0);
        let link = Arc::new(Link::new(
            redis::Client::open("redis://127.0.0.1:1/").unwrap(),
            10,
            Default::default(),
            crate::observe::events::noop(),
            "probe".into(),
        ));
        let budget = RateBudget::new(link, None, "s", clock.clone());
        budget.note_pause(500);
        budget.note_pause(100);
        assert_eq!(budget.current_pause(), 500);
        clock.advance(400);
        assert_eq!(budget.current_pause(), 100);
        clock.advance(200);
        assert_eq!(budget.current_pause(), 0);
    }
}
