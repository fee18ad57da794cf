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

impl Default for ConnectionConfig {
    fn default() -> Self {
        use crate::option_table as t;
        Self {
            health_check_interval_ms: t::CONNECTION_HEALTH_CHECK_INTERVAL,
            reconnect_delay_ms: t::CONNECTION_RECONNECT_DELAY,
            max_reconnect_delay_ms: t::CONNECTION_MAX_RECONNECT_DELAY,
            multiplier: t::CONNECTION_RECONNECT_MULTIPLIER,
            max_reconnect_attempts: t::CONNECTION_MAX_RECONNECT_ATTEMPTS,
            jitter: t::CONNECTION_JITTER,
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
mod tests;
