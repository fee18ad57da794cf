//! Retry budget: retries allowed only as a fraction of recent calls, plus a small floor, so an
//! outage cannot multiply the traffic a client sends (docs/ARCHITECTURE.md, "Retry budget").
//!
//! Calls and retries are counted in a sliding window of `SLOTS` time slots. A retry may go
//! out while the retries in the window stay under `min_per_second × window + ratio × calls`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use crate::rt::clock::SharedClock;

/// The window is kept as this many slots; older slots are dropped whole.
const SLOTS: usize = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct RetryBudgetConfig {
    /// Retries allowed per call in the window, on top of the floor: 0.2 = one retry per five calls.
    pub ratio: f64,
    /// How far back calls and retries are counted.
    pub window_ms: u64,
    /// Retries always allowed per second of window, so a client with little traffic still retries.
    pub min_per_second: u32,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        use crate::option_table as t;
        Self {
            ratio: t::RETRY_BUDGET_RATIO,
            window_ms: t::RETRY_BUDGET_WINDOW_MS,
            min_per_second: t::RETRY_BUDGET_MIN_PER_SECOND,
        }
    }
}

impl RetryBudgetConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !self.ratio.is_finite() || self.ratio < 0.0 {
            return Err(format!("retry.budget.ratio must be a finite number >= 0, got {}", self.ratio));
        }
        if self.window_ms < 1 {
            return Err("retry.budget.windowMs must be at least 1".into());
        }
        Ok(())
    }

    /// Retries the floor alone allows over one window.
    fn floor(&self) -> f64 {
        f64::from(self.min_per_second) * self.window_ms as f64 / 1000.0
    }
}

#[derive(Clone, Copy, Default)]
struct Slot {
    calls: u64,
    retries: u64,
}

struct Window {
    slots: [Slot; SLOTS],
    /// The slot number (time / slot width) the newest slot stands for.
    current: u64,
}

pub struct RetryBudget {
    config: RetryBudgetConfig,
    slot_ms: u64,
    clock: SharedClock,
    window: Mutex<Window>,
    exhausted: AtomicU64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RetryBudgetSnapshot {
    pub config: RetryBudgetConfig,
    /// Retries refused because the budget was spent.
    pub exhausted: u64,
    pub calls_in_window: u64,
    pub retries_in_window: u64,
}

impl RetryBudget {
    /// Expects a validated config.
    pub fn new(config: RetryBudgetConfig, clock: SharedClock) -> Self {
        let slot_ms = (config.window_ms / SLOTS as u64).max(1);
        let current = clock.now_ms() / slot_ms;
        let window = Mutex::new(Window { slots: [Slot::default(); SLOTS], current });
        Self { config, slot_ms, clock, window, exhausted: AtomicU64::new(0) }
    }

    /// Counts a new call (not its retries).
    pub fn deposit(&self) {
        self.with_window(|w| w.slots[w.index()].calls += 1);
    }

    /// Takes one retry from the budget; false (counted as exhausted) when it is spent.
    pub fn try_withdraw(&self) -> bool {
        let allowed = self.with_window(|w| {
            let (calls, retries) = w.totals();
            let limit = self.config.floor() + self.config.ratio * calls as f64;
            if (retries as f64) < limit {
                w.slots[w.index()].retries += 1;
                true
            } else {
                false
            }
        });
        if !allowed {
            self.exhausted.fetch_add(1, Relaxed);
        }
        allowed
    }

    pub fn snapshot(&self) -> RetryBudgetSnapshot {
        let (calls, retries) = self.with_window(|w| w.totals());
        RetryBudgetSnapshot {
            config: self.config.clone(),
            exhausted: self.exhausted.load(Relaxed),
            calls_in_window: calls,
            retries_in_window: retries,
        }
    }

    /// Runs `f` on the window moved up to now (slots older than the window emptied).
    fn with_window<T>(&self, f: impl FnOnce(&mut Window) -> T) -> T {
        let now_slot = self.clock.now_ms() / self.slot_ms;
        let mut w = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if now_slot > w.current {
            let passed = (now_slot - w.current).min(SLOTS as u64);
            for step in 1..=passed {
                let index = ((w.current + step) % SLOTS as u64) as usize;
                w.slots[index] = Slot::default();
            }
            w.current = now_slot;
        }
        f(&mut w)
    }
}

impl Window {
    fn index(&self) -> usize {
        (self.current % SLOTS as u64) as usize
    }

    fn totals(&self) -> (u64, u64) {
        self.slots.iter().fold((0, 0), |(c, r), s| (c + s.calls, r + s.retries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::clock::ManualClock;
    use std::sync::Arc;

    fn budget(ratio: f64, window_ms: u64, min_per_second: u32) -> (RetryBudget, Arc<ManualClock>) {
        let clock = ManualClock::new(1_000_000);
        (RetryBudget::new(RetryBudgetConfig { ratio, window_ms, min_per_second }, clock.clone()), clock)
    }

    #[test]
    fn defaults_and_validation() {
        let d = RetryBudgetConfig::default();
        assert_eq!((d.ratio, d.window_ms, d.min_per_second), (0.2, 10_000, 10));
        assert!(d.validate().is_ok());
        assert!(RetryBudgetConfig { ratio: f64::NAN, ..d.clone() }.validate().is_err());
        assert!(RetryBudgetConfig { ratio: -0.1, ..d.clone() }.validate().is_err());
        assert!(RetryBudgetConfig { window_ms: 0, ..d }.validate().is_err());
    }

    #[test]
    fn retries_are_a_fraction_of_calls_plus_the_floor() {
        // Floor: 1/s over 2 s = 2 retries; ratio 0.2 of 100 calls = 20 more.
        let (b, _) = budget(0.2, 2_000, 1);
        for _ in 0..100 {
            b.deposit();
        }
        let granted = (0..100).filter(|_| b.try_withdraw()).count();
        assert_eq!(granted, 22);
        let s = b.snapshot();
        assert_eq!((s.exhausted, s.calls_in_window, s.retries_in_window), (78, 100, 22));
    }

    #[test]
    fn with_no_traffic_only_the_floor_is_available() {
        let (b, _) = budget(0.2, 10_000, 0);
        assert!(!b.try_withdraw(), "no floor, no calls: no retry");
        let (b, _) = budget(0.0, 1_000, 3);
        assert_eq!((0..10).filter(|_| b.try_withdraw()).count(), 3);
    }

    #[test]
    fn old_calls_and_retries_leave_the_window() {
        let (b, clock) = budget(1.0, 1_000, 0);
        for _ in 0..5 {
            b.deposit();
        }
        assert_eq!((0..10).filter(|_| b.try_withdraw()).count(), 5);
        // Half a window later the same slots still count.
        clock.advance(500);
        assert!(!b.try_withdraw());
        // A full window later everything has left: nothing to spend, nothing spent.
        clock.advance(500);
        assert_eq!(b.snapshot().calls_in_window, 0);
        assert!(!b.try_withdraw());
        b.deposit();
        assert!(b.try_withdraw());
        // A long idle gap empties every slot once, not slot by slot forever.
        clock.advance(u64::MAX / 4);
        assert_eq!(b.snapshot().retries_in_window, 0);
    }

    #[test]
    fn the_window_slides_slot_by_slot() {
        let (b, clock) = budget(1.0, 1_000, 0);
        b.deposit(); // slot 0
        clock.advance(400);
        b.deposit(); // slot 4
        clock.advance(650); // slot 0 has left (1,050 ms), slot 4 has not (650 ms)
        assert_eq!(b.snapshot().calls_in_window, 1);
    }
}
