//! The client-wide pause after a rate-limit answer (429), and the pace traffic resumes at.
//!
//! The public service limits per client IP and answers 429 without `Retry-After`, so one
//! caller's retry cannot be the unit of backing off: every call of the client to that service
//! waits at this gate. A 429 starts a pause of `Retry-After`, or else an adaptive one (about
//! 1 s with jitter, doubling while 429s continue, back to 1 s after a success). When the
//! pause ends, the calls waiting for it are not let go all at once (they would meet the same
//! limit together): after an adaptive pause they leave one per slot, at the rate the service
//! accepted before the pause (at least one a second), in a first-come first-served line where
//! only the head waits for its slot (`policy::line`), so a call that leaves the line costs the
//! calls behind it nothing. That rate is measured over the period of
//! traffic that led to the 429: from the end of the last pause, or from the first success after
//! a quiet second, never across idle time (which would dilute it). The pace grows by about 10 %
//! per second of successes until the next 429 measures it again (up or down), and is dropped
//! after a quiet minute. See docs/ARCHITECTURE.md, "Pause after a 429".
//!
//! Requests are stamped with the pause *epoch* they were sent in: a 429 for a request sent
//! before the current pause began is the same burst meeting the same limit, and neither
//! extends nor grows the pause.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{ClientError, Pacer};
use crate::policy::line::Line;
use crate::policy::retry::RetryPolicy;
use crate::rt::clock::SharedClock;

/// First adaptive pause; it doubles while 429s continue.
pub const INITIAL_PAUSE_MS: u64 = crate::option_table::PAUSE_INITIAL_MS;
/// No pause, adaptive or server-given, lasts longer.
pub const MAX_PAUSE_MS: u64 = crate::option_table::PAUSE_MAX_MS;
/// Spread of adaptive pauses, so clients limited together do not return together.
const PAUSE_JITTER: f64 = crate::option_table::PAUSE_JITTER;
/// The pace grows by this fraction per second's worth of successes.
const PACE_GROWTH_PER_SECOND: f64 = 0.1;
/// The slowest pace (below it, the growing pauses do the slowing down) and the pace above
/// which pacing is dropped.
const MIN_PACE_PER_SEC: f64 = 1.0;
const MAX_PACE_PER_SEC: f64 = 10_000.0;
/// Pacing ends after this long without a 429.
const PACE_QUIET_MS: u64 = 60_000;
/// The rate estimate never divides by less than this: a burst counts as a second's worth.
const MIN_ESTIMATE_WINDOW_MS: u64 = 1_000;
/// A success this long after the previous one starts a new measured period: the time between
/// is idleness, not what the service allowed.
const IDLE_GAP_MS: u64 = 1_000;

/// What a call must do before sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Go,
    /// The pause runs this much longer: wait, then ask again.
    Wait {
        ms: u64,
    },
    /// Paced, and the call's turn is about this far away: wait in the line (at its head, for
    /// this long), then ask again.
    Queue {
        ms: u64,
    },
    /// The wait is longer than the call may wait.
    TooLong {
        ms: u64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct PauseSnapshot {
    pub paused: bool,
    pub retry_in_ms: u64,
    /// 429 answers received.
    pub limited: u64,
    /// Pauses started.
    pub pauses: u64,
    /// Calls that had to wait at the gate (each counted once per wait).
    pub waits: u64,
    /// Calls failed with `ERATELIMITED`.
    pub rejected: u64,
    /// Requests per second while paced, `None` when unpaced.
    pub pace_per_sec: Option<f64>,
}

#[derive(Debug)]
struct GateState {
    paused_until: u64,
    /// Growth step of the adaptive pause: 0 after a success.
    step: u32,
    /// Released at most this many requests per second; `None` = unpaced.
    pace: Option<f64>,
    next_slot: u64,
    /// The pace is re-measured when the pause ends.
    estimate_due: bool,
    /// When the period measured by the next estimate ended (the 429 that began the pause).
    open_until: u64,
    last_limited: u64,
}

pub struct Pause {
    clock: SharedClock,
    /// False until the first 429: an unlimited client pays one atomic load per request.
    engaged: AtomicBool,
    epoch: AtomicU64,
    successes: AtomicU64,
    /// The measured period (kept before the first 429 too, which measures it): when it began,
    /// the success count then, and the last success (ms + 1; 0 = none yet).
    period_start: AtomicU64,
    period_base: AtomicU64,
    last_success: AtomicU64,
    limited: AtomicU64,
    pauses: AtomicU64,
    waits: AtomicU64,
    rejected: AtomicU64,
    state: Mutex<GateState>,
    /// Calls waiting for a paced slot, first come first served.
    line: Line,
}

impl Pause {
    pub fn new(clock: SharedClock) -> Self {
        let now = clock.now_ms();
        Self {
            clock,
            engaged: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            period_start: AtomicU64::new(now),
            period_base: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
            limited: AtomicU64::new(0),
            pauses: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            line: Line::default(),
            state: Mutex::new(GateState {
                paused_until: 0,
                step: 0,
                pace: None,
                next_slot: 0,
                estimate_due: false,
                open_until: now,
                last_limited: 0,
            }),
        }
    }

    /// The epoch a request is sent in; pass it back with its outcome.
    pub fn stamp(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Whether a call may send now, given how long it may still wait (`budget_ms`) and how
    /// many calls are in the paced line ahead of it (0 for the line's head).
    pub fn admit(&self, budget_ms: u64, ahead: usize) -> Admit {
        if !self.engaged.load(Ordering::Acquire) {
            return Admit::Go;
        }
        let mut s = self.lock();
        let now = self.clock.now_ms();
        if now < s.paused_until {
            let ms = s.paused_until - now;
            return if ms > budget_ms { Admit::TooLong { ms } } else { Admit::Wait { ms } };
        }
        if s.estimate_due {
            self.measure_pace(&mut s, now);
        }
        if s.pace.is_some() && now.saturating_sub(s.last_limited) > PACE_QUIET_MS {
            s.pace = None;
        }
        let Some(pace) = s.pace else { return Admit::Go };
        let interval = (1000.0 / pace).ceil() as u64;
        let slot = s.next_slot.max(now);
        let ms = (slot - now).saturating_add(interval.saturating_mul(ahead as u64));
        if ms > budget_ms {
            return Admit::TooLong { ms };
        }
        if ms > 0 {
            return Admit::Queue { ms };
        }
        s.next_slot = slot + interval;
        Admit::Go
    }

    /// Waits at the gate until the call may send, spending from `budget_ms`; fails with
    /// `RateLimited` when the wait would outlast it.
    pub async fn pass(&self, budget_ms: &mut u64) -> Result<(), ClientError> {
        let mut counted = false;
        // Held from joining the paced line until the call leaves the gate (sent or not).
        let mut place = None;
        loop {
            let ahead = if place.is_some() { 0 } else { self.line.count() };
            let ms = match self.admit(*budget_ms, ahead) {
                Admit::Go => return Ok(()),
                Admit::TooLong { ms } => return Err(self.reject(ms)),
                Admit::Wait { ms } => ms,
                Admit::Queue { ms } if place.is_some() => ms,
                Admit::Queue { ms } => {
                    if !counted {
                        self.waits.fetch_add(1, Ordering::Relaxed);
                        counted = true;
                    }
                    place = Some(self.line.join_within(budget_ms).await.ok_or_else(|| self.reject(ms))?);
                    continue;
                }
            };
            if !counted {
                self.waits.fetch_add(1, Ordering::Relaxed);
                counted = true;
            }
            *budget_ms -= ms;
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    fn reject(&self, retry_in_ms: u64) -> ClientError {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        ClientError::RateLimited { retry_in_ms, by: Pacer::Pause }
    }

    /// A request stamped `stamp` succeeded.
    pub fn on_success(&self, stamp: u64) {
        let before = self.successes.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now_ms();
        let last = self.last_success.swap(now + 1, Ordering::Relaxed);
        if last == 0 || (now + 1).saturating_sub(last) > IDLE_GAP_MS {
            self.period_start.store(now, Ordering::Relaxed);
            self.period_base.store(before, Ordering::Relaxed);
        }
        if !self.engaged.load(Ordering::Acquire) {
            return;
        }
        let mut s = self.lock();
        if stamp == self.epoch.load(Ordering::Acquire) {
            s.step = 0;
        }
        if let Some(pace) = s.pace {
            let grown = pace * (1.0 + PACE_GROWTH_PER_SECOND / pace.max(1.0));
            s.pace = (grown <= MAX_PACE_PER_SEC).then_some(grown);
        }
    }

    /// A request stamped `stamp` got a 429. Returns the new pause in ms when this answer
    /// started one (not when it belongs to a burst already being waited out). `r` in `[0, 1)`
    /// spreads an adaptive pause.
    pub fn on_rate_limited(&self, stamp: u64, retry_after_ms: Option<u64>, r: f64) -> Option<u64> {
        self.limited.fetch_add(1, Ordering::Relaxed);
        let mut s = self.lock();
        self.engaged.store(true, Ordering::Release);
        let now = self.clock.now_ms();
        s.last_limited = now;
        if stamp != self.epoch.load(Ordering::Acquire) {
            return None;
        }
        // The service said when to come back: the pause is all, nothing to measure.
        s.estimate_due = retry_after_ms.is_none();
        let pause = match retry_after_ms {
            Some(ms) => ms.min(MAX_PAUSE_MS),
            None => {
                let policy = RetryPolicy {
                    initial_delay_ms: INITIAL_PAUSE_MS,
                    max_delay_ms: MAX_PAUSE_MS,
                    multiplier: 2.0,
                    jitter: PAUSE_JITTER,
                    ..RetryPolicy::default()
                };
                let pause = policy.jittered_delay_ms(s.step, r);
                s.step = s.step.saturating_add(1);
                pause
            }
        };
        s.paused_until = s.paused_until.max(now + pause);
        s.open_until = now;
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.pauses.fetch_add(1, Ordering::Relaxed);
        Some(pause)
    }

    /// ms until the pause ends (0 when not paused).
    pub fn retry_in_ms(&self) -> u64 {
        if !self.engaged.load(Ordering::Acquire) {
            return 0;
        }
        self.lock().paused_until.saturating_sub(self.clock.now_ms())
    }

    /// The pace after a pause: what the service accepted over the period before it, counting
    /// the successes of requests sent then that were answered during the pause. It replaces
    /// the pace before: sent at that pace, the period measures at most what it let through
    /// plus what the service accepted beyond it, so the pace follows the service both ways.
    fn measure_pace(&self, s: &mut GateState, now: u64) {
        let successes = self.successes.load(Ordering::Relaxed);
        let accepted = successes.saturating_sub(self.period_base.load(Ordering::Relaxed)) as f64;
        let since = self.period_start.load(Ordering::Relaxed);
        let window_ms = s.open_until.saturating_sub(since).max(MIN_ESTIMATE_WINDOW_MS) as f64;
        s.pace = Some((accepted * 1000.0 / window_ms).max(MIN_PACE_PER_SEC));
        s.estimate_due = false;
        self.period_start.store(now, Ordering::Relaxed);
        self.period_base.store(successes, Ordering::Relaxed);
        s.next_slot = now;
    }

    pub fn snapshot(&self) -> PauseSnapshot {
        let (paused_until, pace) = {
            let s = self.lock();
            (s.paused_until, s.pace)
        };
        let retry_in_ms = paused_until.saturating_sub(self.clock.now_ms());
        PauseSnapshot {
            paused: retry_in_ms > 0,
            retry_in_ms,
            limited: self.limited.load(Ordering::Relaxed),
            pauses: self.pauses.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            pace_per_sec: pace,
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests;
