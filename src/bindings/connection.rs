//! The health-check monitor (the JS connection manager) behind `NativeClient` (connect,
//! disconnect, state, close) and lazy event wiring.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bindings::events::{Constructor, EventCallback, JsEventSink};
use crate::client::Client;
use crate::connection::task::{ConnectionTask, Probe, TaskFuture};
use crate::connection::{ConnectionConfig, ConnectionMachine, ConnectionSnapshot, ConnectionState, UnixClock};
use crate::observe::telemetry::{scoped, CallScope, Probe as ProbeKind, Telemetry};
use crate::rt::clock::system;
use tokio_util::task::TaskTracker;

#[napi(object)]
pub struct ConnectionStatsInfo {
    pub total_connections: f64,
    pub total_reconnections: f64,
    pub total_failures: f64,
    pub total_health_checks: f64,
    pub successful_health_checks: f64,
    pub failed_health_checks: f64,
}

#[napi(object)]
pub struct ConnectionStateInfo {
    pub state: String,
    /// Unix ms of the last completed health check.
    pub last_health_check: Option<f64>,
    /// Unix ms of the last transition into CONNECTED.
    pub last_successful_connection: Option<f64>,
    pub reconnect_attempts: u32,
    pub is_healthy: bool,
    pub uptime: f64,
    /// ms until the next check or reconnect attempt, when one is scheduled.
    pub next_check_in: Option<f64>,
    /// False when the client was built with `connection: false`.
    pub enabled: bool,
    pub stats: ConnectionStatsInfo,
}

fn to_info(s: ConnectionSnapshot, enabled: bool) -> ConnectionStateInfo {
    ConnectionStateInfo {
        state: s.state.as_str().to_owned(),
        last_health_check: s.last_health_check.map(|v| v as f64),
        last_successful_connection: s.last_successful_connection.map(|v| v as f64),
        reconnect_attempts: s.reconnect_attempts,
        is_healthy: s.state == ConnectionState::Connected,
        uptime: s.uptime_ms as f64,
        next_check_in: s.next_check_in_ms.map(|v| v as f64),
        enabled,
        stats: ConnectionStatsInfo {
            total_connections: s.stats.total_connections as f64,
            total_reconnections: s.stats.total_reconnections as f64,
            total_failures: s.stats.total_failures as f64,
            total_health_checks: s.stats.total_health_checks as f64,
            successful_health_checks: s.stats.successful_health_checks as f64,
            failed_health_checks: s.stats.failed_health_checks as f64,
        },
    }
}

/// The monitor runs on the I/O thread, next to the requests it checks the service for, as one
/// of its client's tasks (`Client::tasks`), which `close()` waits for.
fn spawn_task(tasks: TaskTracker) -> impl FnOnce(TaskFuture) -> tokio::task::JoinHandle<()> {
    move |fut| crate::rt::runtime::spawn_tracked(tasks.track_future(fut))
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        self.close();
    }
}

fn disabled() -> napi::Error {
    napi::Error::new(
        Status::GenericFailure,
        "the connection manager is disabled (the client was created with connection: false)",
    )
}

/// The per-client connection manager kept by `NativeClient`, and the sink its events leave through.
pub struct ClientConnection {
    events: Arc<JsEventSink>,
    /// `None` when built with `connection: false`.
    task: Option<ConnectionTask>,
    /// The client's tasks, the driver task among them.
    tasks: TaskTracker,
}

impl ClientConnection {
    pub fn new(
        config: Option<ConnectionConfig>,
        core: &Arc<Client>,
        events: Arc<JsEventSink>,
        telemetry: &Arc<Telemetry>,
    ) -> Self {
        let task = config.map(|config| {
            let machine = ConnectionMachine::new(config, core.service_url().to_owned(), system(), Arc::new(UnixClock));
            let client = Arc::clone(core);
            let telemetry = Arc::clone(telemetry);
            // Each check is traced as a probe (`lib/telemetry.js`), not as a call.
            let probe: Probe = Arc::new(move || {
                let client = Arc::clone(&client);
                let scope = CallScope::probe(ProbeKind::Connection, &telemetry);
                Box::pin(async move { scoped(scope, client.watch_endpoints()).await })
            });
            ConnectionTask::new(machine, probe, events.clone())
        });
        Self { events, task, tasks: core.tasks().clone() }
    }

    /// Wires native events to `callback` (one weak threadsafe function, created on first call).
    pub fn attach_events(
        &self,
        callback: &EventCallback,
        object: &Constructor<()>,
        error: &Constructor<String>,
    ) -> Result<()> {
        self.events.attach(callback, object, error)
    }

    /// Queues a mark behind the events emitted so far ([`JsEventSink::flush`]).
    pub fn flush_events(&self, env: &Env) -> Result<bool> {
        self.events.flush(env)
    }

    /// Starts monitoring (or joins the attempt in flight); resolves true once CONNECTED, false
    /// when this first check fails. Dropping the future only stops the waiting.
    pub fn connect(&self) -> Result<impl std::future::Future<Output = bool> + Send + 'static> {
        let Some(monitor) = &self.task else { return Err(disabled()) };
        Ok(monitor.connect(spawn_task(self.tasks.clone())))
    }

    /// Like [`ClientConnection::connect`] with nothing waiting for the outcome.
    pub fn start(&self) -> Result<()> {
        drop(self.connect()?);
        Ok(())
    }

    pub fn disconnect(&self) {
        if let Some(monitor) = &self.task {
            monitor.disconnect();
        }
    }

    pub fn state(&self) -> ConnectionStateInfo {
        match &self.task {
            Some(monitor) => to_info(monitor.snapshot(), true),
            None => {
                let idle =
                    ConnectionMachine::new(ConnectionConfig::default(), String::new(), system(), Arc::new(UnixClock));
                to_info(idle.snapshot(), false)
            }
        }
    }

    /// Stops the monitor task and releases the event threadsafe function; idempotent.
    pub fn close(&self) {
        if let Some(monitor) = &self.task {
            monitor.close();
        }
        self.events.close();
    }
}
