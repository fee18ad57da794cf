//! Runs a [`ConnectionMachine`] on tokio: one task per client sleeps until the next check is
//! due, runs the health probe and feeds the outcome back. User commands (connect, disconnect,
//! close) change the machine synchronously on the caller's thread and wake the task, which
//! then drops a check that is no longer wanted.
//!
//! The task owns no JS handle: events leave through the client's sink (a weak threadsafe
//! function in the binding), so a running monitor never keeps Node's event loop alive.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::{ConnectRequest, ConnectionMachine, ConnectionSnapshot, Step};
use crate::error::ClientError;
use crate::observe::events::SharedSink;

pub type ProbeFuture = Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send>>;
/// One health check (the client's `GET /health`, 5 s timeout).
pub type Probe = Arc<dyn Fn() -> ProbeFuture + Send + Sync>;
pub type TaskFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

struct Shared {
    machine: Mutex<ConnectionMachine>,
    wake: Notify,
    /// The last settled connect attempt: `(id, connected?)`; ids only grow.
    outcomes: watch::Sender<(u64, bool)>,
    sink: SharedSink,
    probe: Probe,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ConnectionMachine> {
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Emits while the machine is still locked, so events from the JS thread and from the
    /// task can never be reordered.
    fn apply(&self, step: Step) {
        for event in step.events {
            self.sink.emit(event);
        }
        if let Some(outcome) = step.resolved {
            self.outcomes.send_replace(outcome);
        }
    }
}

pub struct ConnectionTask {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl ConnectionTask {
    pub fn new(machine: ConnectionMachine, probe: Probe, sink: SharedSink) -> Self {
        let shared = Shared {
            machine: Mutex::new(machine),
            wake: Notify::new(),
            outcomes: watch::channel((0, false)).0,
            sink,
            probe,
        };
        Self { shared: Arc::new(shared), task: Mutex::new(None) }
    }

    /// Starts a connection attempt, or joins the one in flight; the future resolves to true
    /// once CONNECTED, false when the attempt fails or is abandoned (disconnect, close).
    /// `spawn` starts the driver task the first time.
    pub fn connect(
        &self,
        spawn: impl FnOnce(TaskFuture) -> JoinHandle<()>,
    ) -> impl Future<Output = bool> + Send + 'static {
        let mut outcomes = self.shared.outcomes.subscribe();
        let request = {
            let mut machine = self.shared.lock();
            let epoch = machine.plan().epoch;
            let mut step = Step::default();
            let request = machine.connect(&mut step);
            let changed = machine.plan().epoch != epoch;
            let closed = machine.is_closed();
            self.shared.apply(step);
            drop(machine);
            // A task spawned now plans from the new state; an existing one must be woken.
            let spawned = !closed && self.ensure_task(spawn);
            if changed && !spawned {
                self.wake();
            }
            request
        };
        async move {
            let id = match request {
                ConnectRequest::AlreadyConnected => return true,
                ConnectRequest::Wait { id: 0 } => return false,
                ConnectRequest::Wait { id } => id,
            };
            loop {
                let (settled, connected) = *outcomes.borrow_and_update();
                if settled >= id {
                    return settled == id && connected;
                }
                if outcomes.changed().await.is_err() {
                    return false;
                }
            }
        }
    }

    /// Stops checking and reconnecting; emits `stateChange` and `disconnected` unless already
    /// DISCONNECTED.
    pub fn disconnect(&self) {
        let mut machine = self.shared.lock();
        let step = machine.disconnect();
        self.shared.apply(step);
        drop(machine);
        self.wake();
    }

    /// Stops for good, silently: pending `connect()` calls resolve false and the task ends.
    pub fn close(&self) {
        let mut machine = self.shared.lock();
        let step = machine.close();
        self.shared.apply(step);
        drop(machine);
        self.shared.wake.notify_one();
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = task {
            task.abort();
        }
    }

    /// Wakes the task so it plans again; without a task there is nothing to wake (and no
    /// stale permit is left for a task spawned later).
    fn wake(&self) {
        if self.task.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
            self.shared.wake.notify_one();
        }
    }

    pub fn snapshot(&self) -> ConnectionSnapshot {
        self.shared.lock().snapshot()
    }

    /// True while the driver task exists (from the first `connect()` until `close()`).
    pub fn is_running(&self) -> bool {
        self.task.lock().unwrap_or_else(PoisonError::into_inner).as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Returns true when this call spawned the task.
    fn ensure_task(&self, spawn: impl FnOnce(TaskFuture) -> JoinHandle<()>) -> bool {
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if task.is_some() {
            return false;
        }
        *task = Some(spawn(Box::pin(drive(Arc::clone(&self.shared)))));
        true
    }
}

impl Drop for ConnectionTask {
    fn drop(&mut self) {
        self.close();
    }
}

/// The driver: one iteration per due check, each bounded by the probe's own timeout.
async fn drive(shared: Arc<Shared>) {
    loop {
        let plan = shared.lock().plan();
        if plan.closed {
            return;
        }
        let Some(wait_ms) = plan.check_in_ms else {
            shared.wake.notified().await;
            continue;
        };
        if wait_ms > 0 {
            tokio::select! {
                _ = shared.wake.notified() => continue,
                _ = tokio::time::sleep(Duration::from_millis(wait_ms)) => {}
            }
        }
        let outcome = tokio::select! {
            // The command first: one that came since the plan (while the check was being
            // made, or with the timer) drops the check before it sends anything. Polled in
            // random order, the probe went first about every other time and sent its request.
            biased;
            _ = shared.wake.notified() => continue,
            outcome = (shared.probe)() => outcome,
        };
        let mut machine = shared.lock();
        if let Some(step) = machine.on_check(plan.epoch, outcome) {
            shared.apply(step);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
    use std::time::Instant;

    use super::*;
    use crate::connection::{ConnectionConfig, ConnectionState, UnixClock};
    use crate::observe::events::testing::RecordingSink;
    use crate::observe::events::Event;
    use crate::rt::clock::system;

    struct Fake {
        healthy: AtomicBool,
        checks: AtomicU32,
        latency_ms: AtomicU32,
    }

    fn setup(config: ConnectionConfig) -> (ConnectionTask, Arc<Fake>, Arc<RecordingSink>) {
        let fake =
            Arc::new(Fake { healthy: AtomicBool::new(true), checks: AtomicU32::new(0), latency_ms: AtomicU32::new(0) });
        let sink = Arc::new(RecordingSink::default());
        let f = Arc::clone(&fake);
        let probe: Probe = Arc::new(move || {
            let f = Arc::clone(&f);
            Box::pin(async move {
                f.checks.fetch_add(1, SeqCst);
                let latency = f.latency_ms.load(SeqCst);
                if latency > 0 {
                    tokio::time::sleep(Duration::from_millis(latency.into())).await;
                }
                if f.healthy.load(SeqCst) {
                    Ok(())
                } else {
                    Err(ClientError::Http {
                        status: 503,
                        status_text: "Service Unavailable".into(),
                        retry_after: None,
                        backend_failed: false,
                    })
                }
            })
        });
        let machine = ConnectionMachine::new(config, "http://test/v1".into(), system(), Arc::new(UnixClock));
        (ConnectionTask::new(machine, probe, sink.clone()), fake, sink)
    }

    fn fast(max_attempts: Option<u32>) -> ConnectionConfig {
        ConnectionConfig {
            health_check_interval_ms: 20,
            reconnect_delay_ms: 10,
            max_reconnect_delay_ms: 40,
            multiplier: 2.0,
            max_reconnect_attempts: max_attempts,
            jitter: 0.0,
        }
    }

    /// Polls `cond` every 5 ms for at most `ms`.
    async fn eventually(ms: u64, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < deadline {
            if cond() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cond()
    }

    fn spawn(fut: TaskFuture) -> JoinHandle<()> {
        tokio::spawn(fut)
    }

    #[tokio::test]
    async fn monitors_loses_and_regains_the_connection() {
        let (monitor, fake, sink) = setup(fast(None));
        assert!(monitor.connect(spawn).await);
        assert_eq!(monitor.snapshot().state, ConnectionState::Connected);
        assert!(eventually(1_000, || fake.checks.load(SeqCst) >= 3).await, "checks every interval");

        fake.healthy.store(false, SeqCst);
        assert!(eventually(2_000, || monitor.snapshot().reconnect_attempts >= 3).await);
        fake.healthy.store(true, SeqCst);
        assert!(eventually(2_000, || monitor.snapshot().state == ConnectionState::Connected).await);

        let events = sink.events.lock().unwrap().clone();
        let names: Vec<_> = events.iter().map(Event::name).collect();
        let lost = names.iter().position(|n| *n == "unhealthy").expect("unhealthy");
        assert_eq!(names[..2], ["stateChange", "stateChange"]);
        assert_eq!(names[2], "connected");
        assert_eq!(names[lost + 1], "stateChange");
        let delays: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Reconnecting { attempt, delay } => Some((*attempt, *delay)),
                _ => None,
            })
            .collect();
        assert!(delays.len() >= 3);
        assert_eq!(delays[..3], [(1, 10), (2, 20), (3, 40)]);
        assert_eq!(*names.last().unwrap(), "connected");
        monitor.close();
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let (monitor, fake, sink) = setup(fast(Some(2)));
        assert!(monitor.connect(spawn).await);
        fake.healthy.store(false, SeqCst);
        assert!(eventually(2_000, || monitor.snapshot().state == ConnectionState::Failed).await);
        let checks = fake.checks.load(SeqCst);
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(fake.checks.load(SeqCst), checks, "no checks once FAILED");
        assert!(sink.names().contains(&"maxReconnectAttemptsReached"));
        monitor.close();
    }

    #[tokio::test]
    async fn concurrent_connects_share_one_attempt() {
        let (monitor, fake, _) = setup(ConnectionConfig { health_check_interval_ms: 60_000, ..fast(None) });
        fake.latency_ms.store(30, SeqCst);
        let a = monitor.connect(spawn);
        let b = monitor.connect(spawn);
        assert_eq!(tokio::join!(a, b), (true, true));
        assert_eq!(fake.checks.load(SeqCst), 1);
        monitor.close();
    }

    #[tokio::test]
    async fn a_failed_first_connect_resolves_false_and_keeps_reconnecting() {
        let (monitor, fake, sink) = setup(fast(None));
        fake.healthy.store(false, SeqCst);
        assert!(!monitor.connect(spawn).await);
        assert_eq!(monitor.snapshot().state, ConnectionState::Reconnecting);
        fake.healthy.store(true, SeqCst);
        assert!(eventually(1_000, || monitor.snapshot().state == ConnectionState::Connected).await);
        assert!(sink.names().contains(&"error"));
        monitor.close();
    }

    #[tokio::test]
    async fn disconnect_abandons_the_check_in_flight() {
        let (monitor, fake, sink) = setup(fast(None));
        fake.latency_ms.store(200, SeqCst);
        let pending = tokio::spawn(monitor.connect(spawn));
        assert!(eventually(500, || fake.checks.load(SeqCst) >= 1).await);
        monitor.disconnect();
        assert!(!pending.await.unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(monitor.snapshot().state, ConnectionState::Disconnected);
        assert_eq!(sink.names(), ["stateChange", "stateChange", "disconnected"]);
    }

    /// A disconnect that lands after the task planned a check and before the check starts
    /// (here: while the probe is being made) drops the check before it sends anything.
    #[tokio::test]
    async fn a_disconnect_just_before_a_check_starts_sends_nothing() {
        for round in 0..30 {
            let sent = Arc::new(AtomicU32::new(0));
            let armed = Arc::new(AtomicBool::new(false));
            let task: Arc<std::sync::OnceLock<std::sync::Weak<ConnectionTask>>> = Arc::default();
            let probe: Probe = Arc::new({
                let (sent, armed, task) = (sent.clone(), armed.clone(), task.clone());
                move || {
                    if armed.swap(false, SeqCst) {
                        task.get().and_then(std::sync::Weak::upgrade).unwrap().disconnect();
                    }
                    let sent = sent.clone();
                    Box::pin(async move {
                        sent.fetch_add(1, SeqCst);
                        Ok(())
                    })
                }
            });
            let machine = ConnectionMachine::new(fast(None), "http://test/v1".into(), system(), Arc::new(UnixClock));
            let monitor = Arc::new(ConnectionTask::new(machine, probe, Arc::new(RecordingSink::default())));
            task.set(Arc::downgrade(&monitor)).unwrap();
            assert!(monitor.connect(spawn).await);
            assert_eq!(sent.load(SeqCst), 1);
            armed.store(true, SeqCst);
            assert!(eventually(10_000, || monitor.snapshot().state == ConnectionState::Disconnected).await);
            // The task has planned again (nothing due) before this looks.
            tokio::task::yield_now().await;
            assert_eq!(sent.load(SeqCst), 1, "round {round}: the check began after the disconnect");
            monitor.close();
        }
    }

    #[tokio::test]
    async fn close_stops_the_task_and_emits_nothing() {
        let (monitor, fake, sink) = setup(fast(None));
        assert!(monitor.connect(spawn).await);
        assert!(monitor.is_running());
        let before = sink.names().len();
        monitor.close();
        assert!(eventually(500, || !monitor.is_running()).await);
        let checks = fake.checks.load(SeqCst);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(fake.checks.load(SeqCst), checks);
        assert_eq!(sink.names().len(), before);
        assert!(!monitor.connect(spawn).await, "connect after close resolves false");
        assert!(!monitor.is_running(), "and does not start the task again");
    }
}
