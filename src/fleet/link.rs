//! The fleet's one Redis connection: every command bounded by the deadline, and a health
//! state that turns Redis trouble into local-only behaviour instead of failed calls.
//!
//! Up (or not yet known): commands go to Redis. Down: commands are skipped at once (so an
//! outage costs callers nothing), and one background task probes Redis until it answers; the
//! probe opens a new connection each time.
//!
//! The link owns the fleet's background tasks (`Link::spawn`, a `TaskTracker`): the connection
//! attempts, probes, give-backs, publications and refreshes. Every connection attempt runs in
//! a task of the link or of a call, never detached (the redis crate's `ConnectionManager`
//! reconnects in a task of its own, which `close()` could not wait for), so once those tasks
//! have ended and the link is closed, no connection to Redis is left (`Link::closed`).

use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
    /// The open connection; opened on first use (its reader and writer run in a task of the
    /// redis crate, aborted when the last clone of the connection is dropped).
    connection: Mutex<Option<MultiplexedConnection>>,
    /// One connection attempt at a time; the others wait for it (within their deadline).
    connecting: tokio::sync::Mutex<()>,
    /// The fleet's background tasks: `Link::closed` waits for them.
    tasks: TaskTracker,
    /// Cancelled when the client closes: the warm-up, the probes and the refreshes stop.
    closing: CancellationToken,
    deadline: Duration,
    /// What the health check (the warm-up, a probe) gives each of its round trips: the
    /// deadline, and at least `PROBE_TIMEOUT_MS`.
    probe_timeout: Duration,
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
            connection: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            tasks: TaskTracker::new(),
            closing: CancellationToken::new(),
            deadline: Duration::from_millis(deadline_ms),
            probe_timeout: Duration::from_millis(deadline_ms.max(PROBE_TIMEOUT_MS)),
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

    /// Runs `fut` as a background task of the fleet, on the caller's runtime (else the I/O
    /// thread); [`Link::closed`] waits for it. A task started after the close began may still run
    /// (a give-back): it is tracked like the others.
    pub fn spawn<F: Future<Output = ()> + Send + 'static>(&self, fut: F) {
        let fut = self.tasks.track_future(fut);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn(fut)),
            Err(_) => crate::rt::runtime::spawn(fut),
        }
    }

    /// [`Link::spawn`] for work that is of no use once the client closes (reads, connection
    /// attempts, probes): the close drops it where it stands (a connection being opened is
    /// abandoned with its socket). Not started at all after the close began.
    pub fn spawn_until_closed<F: Future<Output = ()> + Send + 'static>(&self, fut: F) {
        if self.closing.is_cancelled() {
            return;
        }
        let closing = self.closing.clone();
        self.spawn(async move {
            tokio::select! {
                () = closing.cancelled() => {}
                () = fut => {}
            }
        });
    }

    /// The client is closing: the warm-up, the probes and the refreshes stop now; what else runs
    /// (give-backs, publications) ends within the deadline. Nothing is closed yet: the caller
    /// closes the link (`Link::close`) once its last commands are sent.
    pub fn begin_close(&self) {
        self.closing.cancel();
        self.tasks.close();
    }

    /// Drops the connection and stops all Redis traffic: later commands are skipped, a
    /// connection being opened is not kept.
    pub fn close(&self) {
        self.lock().health = Health::Closed;
        self.drop_connection();
    }

    /// Resolves once the close has begun and every background task has ended. With the link
    /// closed, the connection's last clone is gone with them; the redis crate's task that
    /// read and wrote it was aborted then, and the yields let it be dropped (its socket closed)
    /// before the caller goes on (the I/O thread runs one task after another).
    pub async fn closed(&self) {
        self.tasks.wait().await;
        for _ in 0..2 {
            tokio::task::yield_now().await;
        }
    }

    /// True once the close has begun and no background task is left.
    pub fn is_closed(&self) -> bool {
        self.tasks.is_closed() && self.tasks.is_empty()
    }

    /// Forgets the connection, so the next command or probe opens a new one. The redis crate
    /// does not drop a connection after a timeout: one that went silent (Redis behind a NAT or
    /// load balancer that lost the flow) would otherwise be asked again and again, and the link
    /// would never come back.
    fn drop_connection(&self) {
        self.connection.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    fn is_closing(&self) -> bool {
        self.lock().health == Health::Closed
    }

    fn closed_error() -> redis::RedisError {
        redis::RedisError::from((redis::ErrorKind::Client, "the client is closed"))
    }

    /// The open connection, or a new one (one attempt at a time; the caller bounds the wait).
    async fn connection(&self) -> Result<MultiplexedConnection, redis::RedisError> {
        let current = || self.connection.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if self.is_closing() {
            return Err(Self::closed_error());
        }
        if let Some(c) = current() {
            return Ok(c);
        }
        let _turn = self.connecting.lock().await;
        if let Some(c) = current() {
            return Ok(c);
        }
        // No timeout of the crate's own: the link bounds every use of the connection (a command
        // by its deadline, the health check by `probe_timeout`), and that bound is the one the
        // options promise. The crate's (500 ms by default; 1 s as set here before) cut every
        // command first, as an error, whatever `deadlineMs` said.
        let config = AsyncConnectionConfig::new().set_connection_timeout(None).set_response_timeout(None);
        let opened = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        let mut slot = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        // Closed meanwhile: the new connection is dropped here, not kept.
        if self.is_closing() {
            return Err(Self::closed_error());
        }
        *slot = Some(opened.clone());
        Ok(opened)
    }

    /// Runs one command against Redis within the deadline; `None` (with the reason) when Redis
    /// is down, slow or failing. Must run on a tokio runtime.
    pub async fn run<T, F, Fut>(self: &Arc<Self>, command: F) -> Result<T, Miss>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.run_within(self.deadline, command).await
    }

    /// [`Link::run`] for a caller that can wait less than the deadline: the command gets
    /// `limit` when that is shorter (at least 1 ms), so a call never waits on Redis past its
    /// own timeout.
    pub async fn run_within<T, F, Fut>(self: &Arc<Self>, limit: Duration, command: F) -> Result<T, Miss>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
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
        let exchange = async {
            let connection = self.connection().await?;
            command(connection).await
        };
        match tokio::time::timeout(deadline, exchange).await {
            // Closed meanwhile: says nothing of Redis.
            Ok(Err(_)) if self.is_closing() => Err(Miss::Skipped),
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
        match self.connect().await {
            Ok(()) => self.answered(),
            Err(reason) => self.go_down(reason),
        }
    }

    /// The health check: PING, then load every script (a restarted Redis has none), so calls
    /// start on EVALSHA, then run `scripts/probe.lua`: a Redis that answers but refuses the
    /// fleet's work (ACL, out of memory, read-only) does not count as up. Each round trip (the
    /// connection's opening included) gets `probe_timeout`: a Redis that answers commands within
    /// the deadline passes it, however long that deadline is.
    async fn connect(&self) -> Result<(), String> {
        let limit = self.probe_timeout;
        let ready = async {
            let mut connection = within(limit, self.connection()).await?;
            within(limit, redis::cmd("PING").query_async::<()>(&mut connection)).await?;
            for code in super::lua::ALL {
                // SCRIPT LOAD by hand: the crate's `load_async` asserts (in builds with debug
                // assertions) that the answer is the script's SHA-1, and a server that is not
                // Redis may answer anything.
                let mut load = redis::cmd("SCRIPT");
                load.arg("LOAD").arg(code);
                if within(limit, load.query_async::<String>(&mut connection)).await?
                    != redis::Script::new(code).get_hash()
                {
                    return Err(Some(redis::RedisError::from((
                        redis::ErrorKind::Client,
                        "SCRIPT LOAD answered with another SHA-1 than the script's (is this Redis?)",
                    ))));
                }
            }
            let probe = redis::Script::new(super::lua::PROBE);
            within(limit, probe.key(&self.probe_key).invoke_async::<()>(&mut connection)).await?;
            Ok(())
        };
        match ready.await {
            Ok(()) => Ok(()),
            Err(Some(e)) => Err(self.describe(&e)),
            Err(None) => Err(format!("Redis did not answer within {} ms", limit.as_millis())),
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
        self.spawn_until_closed(probe_until_up(Arc::downgrade(self)));
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
        if link.connect().await.is_ok() {
            link.come_back();
            return;
        }
        // The next probe starts from a new connection (see `Link::drop_connection`).
        link.drop_connection();
    }
}

/// One round trip of the health check, bounded by `limit`: `Err(None)` when no answer came in
/// time.
async fn within<T>(
    limit: Duration,
    step: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Option<redis::RedisError>> {
    match tokio::time::timeout(limit, step).await {
        Ok(answer) => answer.map_err(Some),
        Err(_) => Err(None),
    }
}
