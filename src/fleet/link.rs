//! The fleet's one Redis connection: every command bounded by the deadline, and a health
//! state that turns Redis trouble into local-only behaviour instead of failed calls.
//!
//! Up (or not yet known): commands go to Redis. Down: commands are skipped at once (so an
//! outage costs callers nothing), and one background task probes Redis until it answers.
//! The redis crate's `ConnectionManager` does the reconnecting; the probe drives it.

use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{FleetCounters, PROBE_INTERVAL_MS, PROBE_TIMEOUT_MS, TIMEOUTS_BEFORE_DEGRADED};
use crate::observe::events::{Event, SharedSink};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Health {
    /// Nothing answered yet.
    Unknown,
    Up,
    /// Skipping Redis; a probe task is running.
    Down,
    /// The client was closed: nothing is sent any more.
    Closed,
}

struct State {
    health: Health,
    consecutive_timeouts: u32,
    /// Why the link is down (redacted), while it is.
    reason: Option<String>,
}

pub struct Link {
    client: redis::Client,
    /// Created on first use, on the I/O runtime (the manager spawns its tasks there).
    manager: Mutex<Option<ConnectionManager>>,
    deadline: Duration,
    state: Mutex<State>,
    counters: Arc<FleetCounters>,
    sink: SharedSink,
    /// Redis error texts are scrubbed of it before they reach events or logs.
    password: Option<String>,
    /// The key `scripts/probe.lua` writes to prove the link can do the fleet's work.
    probe_key: String,
}

/// Why a command gave no answer (the caller goes on local-only either way).
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    /// Redis is known to be down: nothing was sent.
    Skipped,
    TimedOut,
    Failed,
}

impl Link {
    /// `probe_key`: a key of the fleet's own key space, which the health check writes (with a
    /// short TTL).
    pub fn new(
        client: redis::Client,
        deadline_ms: u64,
        counters: Arc<FleetCounters>,
        sink: SharedSink,
        probe_key: String,
    ) -> Self {
        let password = client.get_connection_info().redis_settings().password().map(str::to_owned);
        Self {
            client,
            manager: Mutex::new(None),
            deadline: Duration::from_millis(deadline_ms),
            state: Mutex::new(State { health: Health::Unknown, consecutive_timeouts: 0, reason: None }),
            counters,
            sink,
            password,
            probe_key,
        }
    }

    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// True while the last command (or probe) got an answer.
    pub fn is_connected(&self) -> bool {
        self.lock().health == Health::Up
    }

    pub fn is_degraded(&self) -> bool {
        self.lock().health == Health::Down
    }

    /// Why the link went down, while it is down: what `fleetDegraded` said, for a reader who
    /// came after the event (a listener added once the background connection had failed).
    pub fn degraded_reason(&self) -> Option<String> {
        let state = self.lock();
        (state.health == Health::Down).then(|| state.reason.clone()).flatten()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the connection (the manager's last clone closes it) and stops all Redis traffic.
    pub fn close(&self) {
        self.lock().health = Health::Closed;
        self.drop_connection();
    }

    /// Forgets the connection, so the next command or probe opens a new one. The redis crate's
    /// manager reconnects after a connection error but not after a timeout: a connection that
    /// went silent (Redis behind a NAT or load balancer that lost the flow) would otherwise be
    /// asked again and again, and the link would never come back.
    fn drop_connection(&self) {
        self.manager.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    fn manager(&self) -> Result<ConnectionManager, redis::RedisError> {
        if self.lock().health == Health::Closed {
            return Err(redis::RedisError::from((redis::ErrorKind::Client, "the client is closed")));
        }
        let mut slot = self.manager.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        // Few, quick reconnect attempts per command: the probe task retries for as long as
        // it takes, and callers never wait longer than the deadline anyway.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200))
            .set_connection_timeout(Some(Duration::from_millis(PROBE_TIMEOUT_MS)))
            .set_response_timeout(Some(Duration::from_millis(PROBE_TIMEOUT_MS)));
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    /// Runs one command against Redis within the deadline; `None` (with the reason) when Redis
    /// is down, slow or failing. Must run on a tokio runtime.
    pub async fn run<T, F, Fut>(self: &Arc<Self>, command: F) -> Result<T, Miss>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.run_within(self.deadline, command).await
    }

    /// [`Link::run`] for a caller that can wait less than the deadline: the command gets
    /// `limit` when that is shorter (at least 1 ms), so a call never waits on Redis past its
    /// own timeout.
    pub async fn run_within<T, F, Fut>(self: &Arc<Self>, limit: Duration, command: F) -> Result<T, Miss>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let deadline = self.deadline.min(limit).max(Duration::from_millis(1));
        match self.lock().health {
            Health::Down => {
                self.counters.skipped.fetch_add(1, Relaxed);
                return Err(Miss::Skipped);
            }
            Health::Closed => return Err(Miss::Skipped),
            Health::Unknown | Health::Up => {}
        }
        let manager = match self.manager() {
            Ok(m) => m,
            Err(e) => {
                self.failed(&e);
                return Err(Miss::Failed);
            }
        };
        match tokio::time::timeout(deadline, command(manager)).await {
            Ok(Ok(value)) => {
                self.answered();
                Ok(value)
            }
            Ok(Err(e)) => {
                self.failed(&e);
                Err(Miss::Failed)
            }
            // Cut short by the caller's own limit, not Redis's deadline: says nothing of Redis.
            Err(_) if deadline < self.deadline => Err(Miss::TimedOut),
            Err(_) => {
                self.timed_out();
                Err(Miss::TimedOut)
            }
        }
    }

    /// Connects in the background, so the first call does not pay for it.
    pub async fn warm_up(self: Arc<Self>) {
        match self.connect(Duration::from_millis(PROBE_TIMEOUT_MS)).await {
            Ok(()) => self.answered(),
            Err(reason) => self.go_down(reason),
        }
    }

    /// PING, then load every script (a restarted Redis has none), so calls start on EVALSHA,
    /// then run `scripts/probe.lua`: a Redis that answers but refuses the fleet's work (ACL,
    /// out of memory, read-only) does not count as up.
    async fn connect(&self, within: Duration) -> Result<(), String> {
        let mut manager = self.manager().map_err(|e| self.describe(&e))?;
        let ready = async {
            redis::cmd("PING").query_async::<()>(&mut manager).await?;
            for code in super::lua::ALL {
                // SCRIPT LOAD by hand: the crate's `load_async` asserts (in builds with debug
                // assertions) that the answer is the script's SHA-1, and a server that is not
                // Redis may answer anything.
                let hash: String = redis::cmd("SCRIPT").arg("LOAD").arg(code).query_async(&mut manager).await?;
                if hash != redis::Script::new(code).get_hash() {
                    return Err(redis::RedisError::from((
                        redis::ErrorKind::Client,
                        "SCRIPT LOAD answered with another SHA-1 than the script's (is this Redis?)",
                    )));
                }
            }
            redis::Script::new(super::lua::PROBE).key(&self.probe_key).invoke_async::<()>(&mut manager).await?;
            Ok::<(), redis::RedisError>(())
        };
        match tokio::time::timeout(within, ready).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.describe(&e)),
            Err(_) => Err(format!("Redis did not answer within {} ms", within.as_millis())),
        }
    }

    fn answered(&self) {
        let mut state = self.lock();
        state.consecutive_timeouts = 0;
        // A command that was in flight when the client closed changes nothing.
        if state.health == Health::Unknown {
            state.health = Health::Up;
        }
    }

    fn failed(self: &Arc<Self>, e: &redis::RedisError) {
        self.counters.errors.fetch_add(1, Relaxed);
        self.go_down(self.describe(e));
    }

    fn timed_out(self: &Arc<Self>) {
        self.counters.timeouts.fetch_add(1, Relaxed);
        // One slow answer on a busy machine is not an outage; a run of them is. While the first
        // connection is being made, the warm-up (with its longer timeout) decides.
        let run = {
            let mut state = self.lock();
            if state.health == Health::Unknown {
                return;
            }
            state.consecutive_timeouts += 1;
            state.consecutive_timeouts
        };
        if run >= TIMEOUTS_BEFORE_DEGRADED {
            self.go_down(format!(
                "{run} Redis commands in a row got no answer within {} ms",
                self.deadline.as_millis()
            ));
        }
    }

    fn describe(&self, e: &redis::RedisError) -> String {
        // The one redaction rule (crate::redact); no password, nothing to redact.
        crate::redact::redact(&e.to_string(), self.password.as_deref().unwrap_or("")).into_owned()
    }

    fn go_down(self: &Arc<Self>, reason: String) {
        {
            let mut state = self.lock();
            if matches!(state.health, Health::Down | Health::Closed) {
                return;
            }
            state.health = Health::Down;
            state.consecutive_timeouts = 0;
            state.reason = Some(reason.clone());
        }
        self.drop_connection();
        self.counters.degradations.fetch_add(1, Relaxed);
        tracing::warn!(reason = %reason, "fleet: Redis unavailable, continuing local-only");
        self.sink.emit(Event::FleetDegraded { reason });
        let link = Arc::downgrade(self);
        tokio::spawn(probe_until_up(link));
    }

    fn come_back(&self) {
        {
            let mut state = self.lock();
            if state.health == Health::Closed {
                return;
            }
            state.health = Health::Up;
            state.consecutive_timeouts = 0;
        }
        self.counters.restorations.fetch_add(1, Relaxed);
        tracing::info!("fleet: Redis answers again, fleet mode restored");
        self.sink.emit(Event::FleetRestored);
    }
}

/// PINGs every `PROBE_INTERVAL_MS` until Redis answers, then restores the link; stops when
/// the client is closed or gone.
async fn probe_until_up(link: Weak<Link>) {
    loop {
        tokio::time::sleep(Duration::from_millis(PROBE_INTERVAL_MS)).await;
        let Some(link) = link.upgrade() else { return };
        if link.lock().health == Health::Closed {
            return;
        }
        if link.connect(Duration::from_millis(PROBE_TIMEOUT_MS)).await.is_ok() {
            link.come_back();
            return;
        }
        // The next probe starts from a new connection (see `Link::drop_connection`).
        link.drop_connection();
    }
}
