//! Endpoint failover: which of the configured service URLs a call goes to
//! (docs/ARCHITECTURE.md, "Endpoint failover").
//!
//! Endpoints are kept in the order given, the first being the primary. A call goes to the
//! first healthy endpoint and fails over along the list on a failure that says the endpoint
//! is unreachable or failing. An endpoint marked down is probed with health checks every
//! `probe_interval_ms` (while the client has traffic); it is healthy again, and calls fail
//! back to it, only after `failback_successes` probes in a row succeeded: the hysteresis that
//! keeps a flapping primary from taking traffic back at its first good answer.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::rt::clock::SharedClock;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverConfig {
    pub probe_interval_ms: u64,
    /// Consecutive successful probes before a down endpoint takes traffic again.
    pub failback_successes: u32,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        use crate::option_table as t;
        Self { probe_interval_ms: t::FAILOVER_PROBE_INTERVAL_MS, failback_successes: t::FAILOVER_FAILBACK_SUCCESSES }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Health {
    down: bool,
    /// Probes in a row that succeeded since the endpoint went down.
    successes: u32,
    next_probe_at_ms: u64,
    /// A probe is on its way: no other starts until it ends, so an endpoint that hangs gets
    /// one probe at a time, not one per interval side by side.
    probing: bool,
    failovers: u64,
}

/// A change of the endpoint calls go to first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// `from` went down; calls now go to `to` first.
    Failover { from: usize, to: usize },
    /// `to` (earlier in the list than `from`) is healthy again and takes calls back.
    Failback { from: usize, to: usize },
}

pub struct EndpointSet {
    config: FailoverConfig,
    clock: SharedClock,
    health: Mutex<Vec<Health>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointHealthSnapshot {
    pub healthy: bool,
    /// Times calls failed over away from this endpoint.
    pub failovers: u64,
}

impl EndpointSet {
    pub fn new(count: usize, config: FailoverConfig, clock: SharedClock) -> Self {
        Self { config, clock, health: Mutex::new(vec![Health::default(); count.max(1)]) }
    }

    /// The order a call tries endpoints in: healthy ones in list order, then the others (when
    /// every endpoint is down a call still tries them, the breakers deciding what goes out).
    pub fn order(&self) -> Vec<usize> {
        let health = self.lock();
        let healthy = (0..health.len()).filter(|&i| !health[i].down);
        let down = (0..health.len()).filter(|&i| health[i].down);
        healthy.chain(down).collect()
    }

    /// The first endpoint not marked down, if any.
    pub fn first_healthy(&self) -> Option<usize> {
        first_up(&self.lock())
    }

    /// The endpoint calls go to first now.
    pub fn active(&self) -> usize {
        let health = self.lock();
        (0..health.len()).find(|&i| !health[i].down).unwrap_or(0)
    }

    /// A call failed on `i` in a way that fails over; returns the switch if the active
    /// endpoint changed.
    pub fn on_failure(&self, i: usize) -> Option<Switch> {
        let now = self.clock.now_ms();
        let mut health = self.lock();
        let before = first_up(&health);
        let h = health.get_mut(i)?;
        if !h.down {
            h.down = true;
            h.failovers += 1;
            h.next_probe_at_ms = now.saturating_add(self.config.probe_interval_ms);
        }
        h.successes = 0;
        match (before, first_up(&health)) {
            (Some(from), Some(to)) if from == i => Some(Switch::Failover { from, to }),
            _ => None,
        }
    }

    /// A call succeeded on `i`. A down endpoint is not trusted back by one call (only probes
    /// bring it back), unless every endpoint is down: then the one that answered leads.
    pub fn on_success(&self, i: usize) -> Option<Switch> {
        let mut health = self.lock();
        if first_up(&health).is_some() || i >= health.len() {
            return None;
        }
        health[i] = Health { down: false, successes: 0, ..health[i] };
        None
    }

    /// Down endpoints whose probe is due; each is scheduled for its next probe.
    pub fn probes_due(&self) -> Vec<usize> {
        let now = self.clock.now_ms();
        let mut health = self.lock();
        let mut due = Vec::new();
        for (i, h) in health.iter_mut().enumerate() {
            if h.down && !h.probing && now >= h.next_probe_at_ms {
                h.next_probe_at_ms = now.saturating_add(self.config.probe_interval_ms);
                h.probing = true;
                due.push(i);
            }
        }
        due
    }

    /// The outcome of a health probe of `i`; returns the failback when `i` takes calls again.
    pub fn on_probe(&self, i: usize, ok: bool) -> Option<Switch> {
        let mut health = self.lock();
        let before = first_up(&health);
        let needed = self.config.failback_successes;
        let h = health.get_mut(i)?;
        h.probing = false;
        if !h.down {
            return None;
        }
        if !ok {
            h.successes = 0;
            return None;
        }
        h.successes += 1;
        if h.successes < needed {
            return None;
        }
        h.down = false;
        h.successes = 0;
        match before {
            Some(from) if from > i => Some(Switch::Failback { from, to: i }),
            _ => None,
        }
    }

    pub fn snapshot(&self) -> Vec<EndpointHealthSnapshot> {
        self.lock().iter().map(|h| EndpointHealthSnapshot { healthy: !h.down, failovers: h.failovers }).collect()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Health>> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn first_up(health: &[Health]) -> Option<usize> {
    health.iter().position(|h| !h.down)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::clock::ManualClock;
    use std::sync::Arc;

    fn set(count: usize) -> (EndpointSet, Arc<ManualClock>) {
        let clock = ManualClock::new(0);
        (
            EndpointSet::new(count, FailoverConfig { probe_interval_ms: 100, failback_successes: 3 }, clock.clone()),
            clock,
        )
    }

    #[test]
    fn calls_go_to_the_first_healthy_endpoint_and_fail_over_along_the_list() {
        let (s, _) = set(3);
        assert_eq!((s.active(), s.order()), (0, vec![0, 1, 2]));
        assert_eq!(s.on_failure(0), Some(Switch::Failover { from: 0, to: 1 }));
        assert_eq!(s.on_failure(0), None, "already down");
        assert_eq!(s.order(), [1, 2, 0]);
        assert_eq!(s.on_failure(2), None, "not the active one: no switch");
        assert_eq!(s.order(), [1, 0, 2]);
        assert_eq!(s.on_failure(1), None, "nowhere left to go");
        assert_eq!(s.order(), [0, 1, 2], "all down: every endpoint, in list order");
        // All down: the first to answer a call leads again.
        assert_eq!(s.on_success(1), None);
        assert_eq!(s.active(), 1);
        let snap = s.snapshot();
        assert_eq!(snap.iter().map(|h| h.failovers).collect::<Vec<_>>(), [1, 1, 1]);
    }

    #[test]
    fn failback_needs_consecutive_successful_probes_at_the_probe_interval() {
        let (s, clock) = set(2);
        s.on_failure(0);
        assert!(s.probes_due().is_empty(), "first probe one interval after going down");
        clock.advance(100);
        assert_eq!(s.probes_due(), [0]);
        assert!(s.probes_due().is_empty(), "scheduled once per interval");
        clock.advance(1_000);
        assert!(s.probes_due().is_empty(), "one probe at a time: the first has not ended");
        assert_eq!(s.on_probe(0, true), None);
        assert_eq!(s.probes_due(), [0], "due again once it ended");
        assert_eq!(s.on_probe(0, true), None);
        // A failure in between starts the count again: no flapping back.
        assert_eq!(s.on_probe(0, false), None);
        assert_eq!(s.on_probe(0, true), None);
        assert_eq!(s.on_probe(0, true), None);
        assert_eq!(s.active(), 1);
        assert_eq!(s.on_probe(0, true), Some(Switch::Failback { from: 1, to: 0 }));
        assert_eq!(s.active(), 0);
        assert_eq!(s.on_probe(0, true), None, "healthy endpoints ignore probes");
        assert!(s.probes_due().is_empty());
    }

    #[test]
    fn a_successful_call_does_not_bring_a_down_endpoint_back_while_another_is_up() {
        let (s, _) = set(2);
        s.on_failure(0);
        assert_eq!(s.on_success(0), None);
        assert_eq!(s.active(), 1);
        // A later endpoint coming back is no failback for the active earlier one.
        s.on_failure(1);
        s.on_success(0);
        assert_eq!(s.active(), 0);
    }

    #[test]
    fn a_single_endpoint_never_switches() {
        let (s, _) = set(1);
        assert_eq!(s.on_failure(0), None);
        assert_eq!(s.order(), [0]);
    }
}
