//! The connection manager's health-check monitor: a pure state machine over DISCONNECTED, CONNECTING, CONNECTED,
//! RECONNECTING and FAILED, driven by health-check outcomes. It does no I/O and never sleeps:
//! it says when the next check is due (on an injected monotonic clock) and which events to
//! emit; [`task`] runs it on tokio.
//!
//! Transitions:
//! - `connect()` from DISCONNECTED, RECONNECTING or FAILED → CONNECTING, attempts reset, a
//!   check is due at once. From CONNECTING it joins the attempt in flight; from CONNECTED it
//!   is already done.
//! - CONNECTING/RECONNECTING + healthy → CONNECTED (`connected`), checks every
//!   `health_check_interval_ms`.
//! - CONNECTED + unhealthy → `unhealthy`, then a reconnect is scheduled.
//! - CONNECTING + unhealthy → `error` (the caller's `connect()` resolves false), then a
//!   reconnect is scheduled.
//! - Scheduling a reconnect: when `reconnect_attempts >= max_reconnect_attempts` → FAILED and
//!   `maxReconnectAttemptsReached`; otherwise the delay is
//!   `min(reconnect_delay × multiplier^attempts, max_reconnect_delay)` (spread by `jitter`),
//!   attempts + 1, RECONNECTING and `reconnecting {attempt, delay}`.
//! - `disconnect()` from any other state → DISCONNECTED (`disconnected`); nothing is due.
//!
//! Every user-driven transition bumps an epoch; a check outcome carrying an older epoch is
//! stale and ignored, so a disconnect or reconnect never races a check already in flight.

pub mod task;

use crate::error::ClientError;
use crate::observe::events::Event;
use crate::policy::retry::RetryPolicy;
use crate::rt::clock::{Clock, SharedClock};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    Disconnected,
    Connecting,
    Connected,
    Reconnecting,
    Failed,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Disconnected => "DISCONNECTED",
            ConnectionState::Connecting => "CONNECTING",
            ConnectionState::Connected => "CONNECTED",
            ConnectionState::Reconnecting => "RECONNECTING",
            ConnectionState::Failed => "FAILED",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionConfig {
    pub health_check_interval_ms: u64,
    pub reconnect_delay_ms: u64,
    pub max_reconnect_delay_ms: u64,
    pub multiplier: f64,
    /// `None`: never give up.
    pub max_reconnect_attempts: Option<u32>,
    /// Fraction in `0..=1`: each reconnect delay is spread over ±jitter of its value.
    pub jitter: f64,
}

/// No reconnect of the client's monitor follows the last sooner than this, whatever the
/// options say (`reconnectDelay: 0, maxReconnectDelay: 0` would otherwise spin).
pub const MIN_RECONNECT_DELAY_MS: u64 = 10;

/// The client's default jitter on reconnect delays (±20 %).
pub const DEFAULT_JITTER: f64 = crate::client::table::CONNECTION_JITTER;

impl Default for ConnectionConfig {
    fn default() -> Self {
        use crate::client::table as t;
        Self {
            health_check_interval_ms: t::CONNECTION_HEALTH_CHECK_INTERVAL,
            reconnect_delay_ms: t::CONNECTION_RECONNECT_DELAY,
            max_reconnect_delay_ms: t::CONNECTION_MAX_RECONNECT_DELAY,
            multiplier: t::CONNECTION_RECONNECT_MULTIPLIER,
            max_reconnect_attempts: t::CONNECTION_MAX_RECONNECT_ATTEMPTS,
            jitter: DEFAULT_JITTER,
        }
    }
}

impl ConnectionConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.health_check_interval_ms == 0 {
            return Err("connection: healthCheckInterval must be at least 1 ms".into());
        }
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return Err(format!(
                "connection: reconnectMultiplier must be a finite number >= 1, got {}",
                self.multiplier
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(format!("connection: jitter must be between 0 and 1, got {}", self.jitter));
        }
        Ok(())
    }

    /// The backoff schedule as a retry policy: the same math the client's retries use.
    fn backoff(&self) -> RetryPolicy {
        backoff_policy(self.reconnect_delay_ms, self.multiplier, self.max_reconnect_delay_ms, self.jitter)
    }
}

fn backoff_policy(delay_ms: u64, multiplier: f64, max_delay_ms: u64, jitter: f64) -> RetryPolicy {
    RetryPolicy { initial_delay_ms: delay_ms, max_delay_ms, multiplier, jitter, ..RetryPolicy::default() }
}

/// `min(delay × multiplier^attempts, max_delay)` spread by `jitter` with `r` in `[0, 1)`;
/// with `jitter` 0 it is exact. Used by the client's monitor and by the compat
/// `ChittyIDConnectionManager` (through the binding), so both follow one schedule.
pub fn reconnect_delay_ms(
    attempts: u32,
    delay_ms: u64,
    multiplier: f64,
    max_delay_ms: u64,
    jitter: f64,
    r: f64,
) -> u64 {
    backoff_policy(delay_ms, multiplier, max_delay_ms, jitter).jittered_delay_ms(attempts, r)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    pub total_connections: u64,
    pub total_reconnections: u64,
    /// Failed connection attempts (the first one and every reconnect attempt).
    pub total_failures: u64,
    pub total_health_checks: u64,
    pub successful_health_checks: u64,
    pub failed_health_checks: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionSnapshot {
    pub state: ConnectionState,
    /// Wall-clock ms (Unix epoch) of the last completed health check.
    pub last_health_check: Option<u64>,
    /// Wall-clock ms of the last transition into CONNECTED.
    pub last_successful_connection: Option<u64>,
    pub reconnect_attempts: u32,
    /// Milliseconds in CONNECTED so far; 0 in any other state.
    pub uptime_ms: u64,
    /// Milliseconds until the next check or reconnect attempt; `None` when nothing is due.
    pub next_check_in_ms: Option<u64>,
    pub stats: ConnectionStats,
}

/// What `connect()` asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectRequest {
    /// Already CONNECTED: resolve true now.
    AlreadyConnected,
    /// Wait for the outcome of connection attempt `id` (see [`Step::resolved`]).
    Wait { id: u64 },
}

/// The result of one input: events to emit, in order, and possibly the settled outcome of a
/// `connect()` attempt.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    pub events: Vec<Event>,
    /// `(attempt id, connected?)` once a CONNECTING attempt is decided or abandoned.
    pub resolved: Option<(u64, bool)>,
}

/// What the driver should do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub epoch: u64,
    /// Run a health check in this many ms; `None`: wait for a command.
    pub check_in_ms: Option<u64>,
    pub closed: bool,
}

pub struct ConnectionMachine {
    config: ConnectionConfig,
    service_url: String,
    /// Monotonic time, for scheduling.
    mono: SharedClock,
    /// Wall-clock Unix ms, for timestamps shown to users.
    wall: SharedClock,
    rng: fastrand::Rng,
    state: ConnectionState,
    reconnect_attempts: u32,
    last_health_check: Option<u64>,
    last_successful_connection: Option<u64>,
    connected_since_mono: Option<u64>,
    stats: ConnectionStats,
    epoch: u64,
    due_at: Option<u64>,
    pending_connect: Option<u64>,
    next_connect_id: u64,
    closed: bool,
}

impl ConnectionMachine {
    pub fn new(config: ConnectionConfig, service_url: String, mono: SharedClock, wall: SharedClock) -> Self {
        Self {
            config,
            service_url,
            mono,
            wall,
            rng: fastrand::Rng::new(),
            state: ConnectionState::Disconnected,
            reconnect_attempts: 0,
            last_health_check: None,
            last_successful_connection: None,
            connected_since_mono: None,
            stats: ConnectionStats::default(),
            epoch: 0,
            due_at: None,
            pending_connect: None,
            next_connect_id: 1,
            closed: false,
        }
    }

    /// Seeds the jitter source, for reproducible schedules in tests.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = fastrand::Rng::with_seed(seed);
        self
    }

    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn plan(&self) -> Plan {
        let now = self.mono.now_ms();
        Plan { epoch: self.epoch, check_in_ms: self.due_at.map(|at| at.saturating_sub(now)), closed: self.closed }
    }

    pub fn snapshot(&self) -> ConnectionSnapshot {
        let now = self.mono.now_ms();
        ConnectionSnapshot {
            state: self.state,
            last_health_check: self.last_health_check,
            last_successful_connection: self.last_successful_connection,
            reconnect_attempts: self.reconnect_attempts,
            uptime_ms: match (self.state, self.connected_since_mono) {
                (ConnectionState::Connected, Some(since)) => now.saturating_sub(since),
                _ => 0,
            },
            next_check_in_ms: self.due_at.map(|at| at.saturating_sub(now)),
            stats: self.stats,
        }
    }

    /// Starts an attempt (or joins the one in flight). Events go to `step`.
    pub fn connect(&mut self, step: &mut Step) -> ConnectRequest {
        if self.closed {
            return ConnectRequest::Wait { id: 0 };
        }
        match self.state {
            ConnectionState::Connected => ConnectRequest::AlreadyConnected,
            ConnectionState::Connecting => match self.pending_connect {
                Some(id) => ConnectRequest::Wait { id },
                None => self.start_attempt(step),
            },
            _ => self.start_attempt(step),
        }
    }

    fn start_attempt(&mut self, step: &mut Step) -> ConnectRequest {
        self.epoch += 1;
        self.reconnect_attempts = 0;
        self.transition(ConnectionState::Connecting, step);
        self.due_at = Some(self.mono.now_ms());
        let id = self.next_connect_id;
        self.next_connect_id += 1;
        self.pending_connect = Some(id);
        ConnectRequest::Wait { id }
    }

    /// Stops monitoring and reconnecting. Emits `disconnected` unless already DISCONNECTED.
    pub fn disconnect(&mut self) -> Step {
        let mut step = Step::default();
        self.epoch += 1;
        self.due_at = None;
        step.resolved = self.pending_connect.take().map(|id| (id, false));
        if self.state != ConnectionState::Disconnected {
            self.transition(ConnectionState::Disconnected, &mut step);
            step.events.push(Event::Disconnected { service_url: self.service_url.clone() });
        }
        step
    }

    /// Stops for good without emitting anything (the client is closing).
    pub fn close(&mut self) -> Step {
        let resolved = self.pending_connect.take().map(|id| (id, false));
        self.closed = true;
        self.epoch += 1;
        self.due_at = None;
        self.state = ConnectionState::Disconnected;
        self.connected_since_mono = None;
        Step { events: Vec::new(), resolved }
    }

    /// Applies the outcome of a health check started under `epoch`; `None` when that check
    /// is stale (a connect, disconnect or close happened meanwhile).
    pub fn on_check(&mut self, epoch: u64, outcome: Result<(), ClientError>) -> Option<Step> {
        if self.closed || epoch != self.epoch {
            return None;
        }
        let mut step = Step::default();
        self.stats.total_health_checks += 1;
        self.last_health_check = Some(self.wall.now_ms());
        match &outcome {
            Ok(()) => self.stats.successful_health_checks += 1,
            Err(_) => self.stats.failed_health_checks += 1,
        }
        match (self.state, outcome) {
            (ConnectionState::Connecting | ConnectionState::Reconnecting, Ok(())) => {
                self.reconnect_attempts = 0;
                self.stats.total_connections += 1;
                self.last_successful_connection = self.last_health_check;
                self.connected_since_mono = Some(self.mono.now_ms());
                self.transition(ConnectionState::Connected, &mut step);
                step.events.push(Event::Connected { service_url: self.service_url.clone() });
                step.resolved = self.pending_connect.take().map(|id| (id, true));
                self.due_in(self.config.health_check_interval_ms);
            }
            (ConnectionState::Connected, Ok(())) => self.due_in(self.config.health_check_interval_ms),
            (ConnectionState::Connecting, Err(err)) => {
                self.stats.total_failures += 1;
                step.events.push(Event::Error {
                    code: err.code(),
                    message: format!("cannot connect to the ChittyID service at {}: {err}", self.service_url),
                });
                step.resolved = self.pending_connect.take().map(|id| (id, false));
                self.schedule_reconnect(&mut step);
            }
            (ConnectionState::Reconnecting, Err(_)) => {
                self.stats.total_failures += 1;
                self.schedule_reconnect(&mut step);
            }
            (ConnectionState::Connected, Err(_)) => {
                self.connected_since_mono = None;
                step.events.push(Event::Unhealthy { service_url: self.service_url.clone() });
                self.schedule_reconnect(&mut step);
            }
            (ConnectionState::Disconnected | ConnectionState::Failed, _) => self.due_at = None,
        }
        Some(step)
    }

    fn schedule_reconnect(&mut self, step: &mut Step) {
        if self.config.max_reconnect_attempts.is_some_and(|max| self.reconnect_attempts >= max) {
            self.due_at = None;
            self.transition(ConnectionState::Failed, step);
            step.events.push(Event::MaxReconnectAttemptsReached { attempts: self.reconnect_attempts });
            return;
        }
        let delay_ms = self
            .config
            .backoff()
            .jittered_delay_ms(self.reconnect_attempts, self.rng.f64())
            .max(MIN_RECONNECT_DELAY_MS);
        self.reconnect_attempts = self.reconnect_attempts.saturating_add(1);
        self.stats.total_reconnections += 1;
        self.due_in(delay_ms);
        self.transition(ConnectionState::Reconnecting, step);
        step.events.push(Event::Reconnecting { attempt: self.reconnect_attempts, delay: delay_ms });
    }

    fn due_in(&mut self, ms: u64) {
        self.due_at = Some(self.mono.now_ms().saturating_add(ms));
    }

    fn transition(&mut self, to: ConnectionState, step: &mut Step) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        if to != ConnectionState::Connected {
            self.connected_since_mono = None;
        }
        step.events.push(Event::StateChange { from: from.as_str(), to: to.as_str(), timestamp: self.wall.now_ms() });
    }
}

/// Wall-clock time as a [`Clock`]: Unix-epoch milliseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnixClock;

impl Clock for UnixClock {
    fn now_ms(&self) -> u64 {
        crate::rt::clock::unix_ms()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rt::clock::ManualClock;

    const URL: &str = "http://127.0.0.1:9/v1";

    fn down() -> Result<(), ClientError> {
        Err(ClientError::Http { status: 503, status_text: "Service Unavailable".into(), retry_after: None })
    }

    fn exact(max_attempts: Option<u32>) -> ConnectionConfig {
        ConnectionConfig { jitter: 0.0, max_reconnect_attempts: max_attempts, ..ConnectionConfig::default() }
    }

    fn machine(config: ConnectionConfig) -> (ConnectionMachine, Arc<ManualClock>) {
        let clock = ManualClock::new(1_000);
        let m = ConnectionMachine::new(config, URL.into(), clock.clone(), clock.clone()).with_seed(7);
        (m, clock)
    }

    fn names(step: &Step) -> Vec<&'static str> {
        step.events.iter().map(Event::name).collect()
    }

    fn state_changes(step: &Step) -> Vec<(&'static str, &'static str)> {
        step.events
            .iter()
            .filter_map(|e| match e {
                Event::StateChange { from, to, .. } => Some((*from, *to)),
                _ => None,
            })
            .collect()
    }

    fn reconnecting(step: &Step) -> Option<(u32, u64)> {
        step.events.iter().find_map(|e| match e {
            Event::Reconnecting { attempt, delay } => Some((*attempt, *delay)),
            _ => None,
        })
    }

    /// connect() + a healthy first check.
    fn connected(m: &mut ConnectionMachine) {
        let mut step = Step::default();
        let ConnectRequest::Wait { id } = m.connect(&mut step) else { panic!("should wait") };
        let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
        assert_eq!(step.resolved, Some((id, true)));
        assert_eq!(m.state(), ConnectionState::Connected);
    }

    #[test]
    fn defaults_match_the_design() {
        let c = ConnectionConfig::default();
        assert_eq!(c.health_check_interval_ms, 30_000);
        assert_eq!(c.reconnect_delay_ms, 1_000);
        assert_eq!(c.max_reconnect_delay_ms, 60_000);
        assert_eq!(c.multiplier, 2.0);
        assert_eq!(c.max_reconnect_attempts, None);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn starts_disconnected_with_nothing_due() {
        let (m, _) = machine(exact(None));
        let s = m.snapshot();
        assert_eq!(s.state, ConnectionState::Disconnected);
        assert_eq!(s.next_check_in_ms, None);
        assert_eq!(s.last_health_check, None);
        assert_eq!(s.stats, ConnectionStats::default());
        assert_eq!(m.plan().check_in_ms, None);
    }

    #[test]
    fn connect_checks_at_once_then_every_interval() {
        let (mut m, clock) = machine(exact(None));
        let mut step = Step::default();
        assert_eq!(m.connect(&mut step), ConnectRequest::Wait { id: 1 });
        assert_eq!(state_changes(&step), [("DISCONNECTED", "CONNECTING")]);
        assert_eq!(m.plan().check_in_ms, Some(0));

        clock.advance(5);
        let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
        assert_eq!(names(&step), ["stateChange", "connected"]);
        assert_eq!(step.events[0], Event::StateChange { from: "CONNECTING", to: "CONNECTED", timestamp: 1_005 });
        assert_eq!(step.events[1], Event::Connected { service_url: URL.into() });
        assert_eq!(m.plan().check_in_ms, Some(30_000));

        let s = m.snapshot();
        assert_eq!(s.last_health_check, Some(1_005));
        assert_eq!(s.last_successful_connection, Some(1_005));
        assert_eq!(s.stats.total_connections, 1);
        assert_eq!(s.stats.successful_health_checks, 1);

        clock.advance(30_000);
        assert_eq!(m.snapshot().uptime_ms, 30_000);
        assert_eq!(m.plan().check_in_ms, Some(0));
        let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
        assert!(step.events.is_empty());
        assert_eq!(m.plan().check_in_ms, Some(30_000));
        assert_eq!(m.snapshot().stats.total_health_checks, 2);
    }

    #[test]
    fn connect_while_connecting_joins_and_while_connected_is_immediate() {
        let (mut m, _) = machine(exact(None));
        let mut step = Step::default();
        let first = m.connect(&mut step);
        let mut again = Step::default();
        assert_eq!(m.connect(&mut again), first);
        assert!(again.events.is_empty());
        m.on_check(m.plan().epoch, Ok(())).unwrap();
        let mut step = Step::default();
        assert_eq!(m.connect(&mut step), ConnectRequest::AlreadyConnected);
        assert!(step.events.is_empty());
    }

    #[test]
    fn loss_emits_unhealthy_then_reconnects_with_exact_backoff() {
        let (mut m, clock) = machine(exact(None));
        connected(&mut m);
        let step = m.on_check(m.plan().epoch, down()).unwrap();
        assert_eq!(names(&step), ["unhealthy", "stateChange", "reconnecting"]);
        assert_eq!(state_changes(&step), [("CONNECTED", "RECONNECTING")]);
        assert_eq!(reconnecting(&step), Some((1, 1_000)));
        assert_eq!(m.plan().check_in_ms, Some(1_000));

        let mut delays = vec![];
        for _ in 0..8 {
            clock.advance(m.plan().check_in_ms.unwrap());
            let step = m.on_check(m.plan().epoch, down()).unwrap();
            assert_eq!(names(&step), ["reconnecting"], "no state change while reconnecting");
            delays.push(reconnecting(&step).unwrap());
        }
        assert_eq!(
            delays,
            [(2, 2_000), (3, 4_000), (4, 8_000), (5, 16_000), (6, 32_000), (7, 60_000), (8, 60_000), (9, 60_000)]
        );

        let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
        assert_eq!(names(&step), ["stateChange", "connected"]);
        assert_eq!(state_changes(&step), [("RECONNECTING", "CONNECTED")]);
        let s = m.snapshot();
        assert_eq!(s.reconnect_attempts, 0);
        assert_eq!(s.stats.total_connections, 2);
        assert_eq!(s.stats.total_reconnections, 9);
        assert_eq!(s.stats.total_failures, 8);
        assert_eq!(s.stats.failed_health_checks, 9);
    }

    #[test]
    fn backoff_uses_configured_values() {
        let config =
            ConnectionConfig { reconnect_delay_ms: 50, multiplier: 3.0, max_reconnect_delay_ms: 1_000, ..exact(None) };
        let (mut m, _) = machine(config);
        connected(&mut m);
        let mut delays = vec![reconnecting(&m.on_check(m.plan().epoch, down()).unwrap()).unwrap().1];
        for _ in 0..4 {
            delays.push(reconnecting(&m.on_check(m.plan().epoch, down()).unwrap()).unwrap().1);
        }
        assert_eq!(delays, [50, 150, 450, 1_000, 1_000]);
    }

    #[test]
    fn jitter_stays_within_its_band() {
        let config = ConnectionConfig { jitter: 0.2, max_reconnect_attempts: None, ..ConnectionConfig::default() };
        let (mut m, _) = machine(config);
        connected(&mut m);
        let mut seen = std::collections::HashSet::new();
        for attempts in 0..12u32 {
            let (attempt, delay) = reconnecting(&m.on_check(m.plan().epoch, down()).unwrap()).unwrap();
            assert_eq!(attempt, attempts + 1);
            let base = (1_000f64 * 2f64.powi(attempts as i32)).min(60_000.0);
            let (lo, hi) = ((base * 0.8).floor() as u64, (base * 1.2).min(60_000.0).ceil() as u64);
            assert!((lo..=hi).contains(&delay), "attempt {attempt}: {delay} not in {lo}..={hi}");
            seen.insert(delay);
        }
        assert!(seen.len() > 6, "jitter should vary the delays: {seen:?}");
    }

    #[test]
    fn failed_first_connect_errors_and_keeps_trying() {
        let (mut m, _) = machine(exact(None));
        let mut step = Step::default();
        let ConnectRequest::Wait { id } = m.connect(&mut step) else { panic!() };
        let step = m.on_check(m.plan().epoch, down()).unwrap();
        assert_eq!(names(&step), ["error", "stateChange", "reconnecting"]);
        assert_eq!(state_changes(&step), [("CONNECTING", "RECONNECTING")]);
        assert_eq!(step.resolved, Some((id, false)));
        match &step.events[0] {
            Event::Error { code, message } => {
                assert_eq!(*code, "EHTTP");
                assert!(message.contains("503"), "{message}");
                assert!(message.contains(URL), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
        assert_eq!(step.resolved, None, "the connect() caller already has its answer");
        assert_eq!(m.state(), ConnectionState::Connected);
    }

    #[test]
    fn max_attempts_fails_and_stops() {
        let (mut m, _) = machine(exact(Some(2)));
        connected(&mut m);
        let s1 = m.on_check(m.plan().epoch, down()).unwrap();
        assert_eq!(reconnecting(&s1), Some((1, 1_000)));
        let s2 = m.on_check(m.plan().epoch, down()).unwrap();
        assert_eq!(reconnecting(&s2), Some((2, 2_000)));
        let s3 = m.on_check(m.plan().epoch, down()).unwrap();
        assert_eq!(names(&s3), ["stateChange", "maxReconnectAttemptsReached"]);
        assert_eq!(state_changes(&s3), [("RECONNECTING", "FAILED")]);
        assert_eq!(s3.events[1], Event::MaxReconnectAttemptsReached { attempts: 2 });
        assert_eq!(m.plan().check_in_ms, None, "nothing is due once FAILED");
        assert_eq!(m.snapshot().reconnect_attempts, 2);

        // connect() starts over from FAILED.
        let mut step = Step::default();
        assert!(matches!(m.connect(&mut step), ConnectRequest::Wait { .. }));
        assert_eq!(state_changes(&step), [("FAILED", "CONNECTING")]);
        assert_eq!(m.snapshot().reconnect_attempts, 0);
    }

    #[test]
    fn zero_max_attempts_fails_at_the_first_failure() {
        let (mut m, _) = machine(exact(Some(0)));
        let mut step = Step::default();
        m.connect(&mut step);
        let step = m.on_check(m.plan().epoch, down()).unwrap();
        assert_eq!(names(&step), ["error", "stateChange", "maxReconnectAttemptsReached"]);
        assert_eq!(m.state(), ConnectionState::Failed);
    }

    #[test]
    fn disconnect_cancels_everything_and_makes_outcomes_stale() {
        let (mut m, _) = machine(exact(None));
        let mut step = Step::default();
        let ConnectRequest::Wait { id } = m.connect(&mut step) else { panic!() };
        let epoch = m.plan().epoch;
        let step = m.disconnect();
        assert_eq!(names(&step), ["stateChange", "disconnected"]);
        assert_eq!(step.resolved, Some((id, false)));
        assert_eq!(m.plan().check_in_ms, None);
        assert_eq!(m.on_check(epoch, Ok(())), None, "a check from before the disconnect is stale");
        assert_eq!(m.state(), ConnectionState::Disconnected);
        assert!(m.disconnect().events.is_empty(), "disconnecting twice emits nothing");
    }

    #[test]
    fn connect_while_reconnecting_starts_over_at_once() {
        let (mut m, _) = machine(exact(None));
        connected(&mut m);
        for _ in 0..3 {
            m.on_check(m.plan().epoch, down()).unwrap();
        }
        let stale = m.plan().epoch;
        assert_eq!(m.snapshot().reconnect_attempts, 3);
        let mut step = Step::default();
        assert!(matches!(m.connect(&mut step), ConnectRequest::Wait { .. }));
        assert_eq!(state_changes(&step), [("RECONNECTING", "CONNECTING")]);
        assert_eq!(m.plan().check_in_ms, Some(0));
        assert_eq!(m.snapshot().reconnect_attempts, 0);
        assert_eq!(m.on_check(stale, down()), None);
    }

    #[test]
    fn close_is_silent_and_final() {
        let (mut m, _) = machine(exact(None));
        let mut step = Step::default();
        let ConnectRequest::Wait { id } = m.connect(&mut step) else { panic!() };
        let epoch = m.plan().epoch;
        let step = m.close();
        assert!(step.events.is_empty());
        assert_eq!(step.resolved, Some((id, false)));
        assert!(m.plan().closed);
        assert_eq!(m.on_check(epoch, Ok(())), None);
        assert_eq!(m.connect(&mut Step::default()), ConnectRequest::Wait { id: 0 });
        assert_eq!(m.state(), ConnectionState::Disconnected);
    }

    #[test]
    fn exact_delay_function_matches_the_compat_formula() {
        let f = |attempts| reconnect_delay_ms(attempts, 1_000, 2.0, 60_000, 0.0, 0.9);
        assert_eq!((0..8).map(f).collect::<Vec<_>>(), [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
        assert_eq!(reconnect_delay_ms(u32::MAX, 1_000, 2.0, 60_000, 0.0, 0.0), 60_000);
        assert_eq!(reconnect_delay_ms(3, 10, 1.5, u64::MAX, 0.0, 0.0), 34);
        assert_eq!(reconnect_delay_ms(0, 0, 2.0, 60_000, 0.0, 0.0), 0);
    }

    #[test]
    fn validate_rejects_unusable_settings() {
        let bad = |c: ConnectionConfig, needle: &str| {
            let err = c.validate().unwrap_err();
            assert!(err.contains(needle), "{err}");
        };
        bad(ConnectionConfig { health_check_interval_ms: 0, ..Default::default() }, "healthCheckInterval");
        bad(ConnectionConfig { multiplier: 0.5, ..Default::default() }, "reconnectMultiplier");
        bad(ConnectionConfig { multiplier: f64::NAN, ..Default::default() }, "reconnectMultiplier");
        bad(ConnectionConfig { jitter: 2.0, ..Default::default() }, "jitter");
    }

    #[test]
    fn reconnect_delays_have_a_floor() {
        let (mut m, clock) =
            machine(ConnectionConfig { reconnect_delay_ms: 0, max_reconnect_delay_ms: 0, ..exact(None) });
        connected(&mut m);
        let mut delays = vec![];
        for _ in 0..3 {
            let step = m.on_check(m.plan().epoch, down()).unwrap();
            delays.push(reconnecting(&step).unwrap().1);
            clock.advance(m.plan().check_in_ms.unwrap());
        }
        assert_eq!(delays, [MIN_RECONNECT_DELAY_MS; 3]);
    }
}
