//! The client (docs/ARCHITECTURE.md, "Layers"): one `Client` per JS client, assembled by
//! `builder` (defaults from `table`), its parts and its small accessors. The v1 operations live
//! beside it, one file each: `mint` (mint, mintBatch), `validate` (cache, coalescing, the fleet's
//! L2, stale answers), `health`; how answers are read (`parse`), an id as a path segment (`uri`),
//! the mint's idempotency key and retry rule (`idempotency`), each endpoint's wire (`wired`) and
//! failover across endpoints (`failover`).

pub mod builder;
pub mod endpoints;
mod failover;
mod health;
mod idempotency;
pub mod metrics;
mod mint;
mod parse;
pub mod snapshot;
mod uri;
mod validate;
mod wired;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cache::ValidationCache;
use crate::client::snapshot::ClientSnapshot;
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::id::IdGrammar;
use crate::policy::attempt::{Call, Replay, Resilience};
use crate::policy::bulkhead::{Bulkhead, BulkheadPermit};
use crate::redact::Redactor;
use crate::transport::config::TransportConfig;
use crate::transport::fetch::FetchTransport;
use crate::transport::{ClientTransport, TransportKind};
use crate::wire::{EndpointWire, WireMode};

pub use failover::{EndpointSnapshot, Failover, Fallback};
pub use idempotency::{check_idempotency_key, MintRetry, MAX_IDEMPOTENCY_KEY_LEN};
pub use mint::BATCH_FALLBACK_CONCURRENCY;
pub use uri::{encode_uri_component, is_dot_segment, DOT_SEGMENT_ID};
pub use validate::{CachePolicy, Validation};

pub struct Client {
    transport: ClientTransport,
    timeout_ms: u64,
    /// The grammars the format-only fallback of `validate()` accepts.
    id_grammar: IdGrammar,
    mint_retry: MintRetry,
    /// The API key's redaction (`crate::redact`) for what the parsers see; the transport holds
    /// the same and applies it to what comes back.
    redactor: Redactor,
    resilience: Resilience,
    cache: Option<CachePolicy>,
    /// Validations in flight, by id: concurrent callers for the same id share one request.
    inflight: Mutex<HashMap<String, watch::Receiver<Option<Validation>>>>,
    /// Bounds the calls in flight (see `bulkhead`); `None` = unbounded.
    bulkhead: Option<Bulkhead>,
    /// The endpoints after the primary (`transport`, `resilience`); `None` = one endpoint.
    failover: Option<Failover>,
    /// This client, for background health probes of down endpoints.
    me: Weak<Client>,
    /// Each endpoint's wire (`crate::wire`), in endpoint order.
    wires: Vec<EndpointWire>,
    /// Placeholder ids resolve (marked by a `placeholder` event and counted) instead of
    /// rejecting with `EPLACEHOLDER`.
    accept_placeholders: bool,
    /// Placeholder ids resolved under `accept_placeholders`.
    placeholders_accepted: std::sync::atomic::AtomicU64,
    /// What runs for this client on the I/O thread: its calls, its connection manager and its
    /// failover probes. [`Client::close`] closes it; [`Client::closed`] waits for it to empty
    /// (docs/ARCHITECTURE.md, "Closing").
    tasks: TaskTracker,
    /// Cancelled by [`Client::close`]: the failover probes stop.
    closing: CancellationToken,
    /// Counts this client in [`live_clients`] while it exists.
    _live: Live,
}

static LIVE_CLIENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Core clients alive in the process (every thread's): the leak check's count of clients that
/// were dropped, or not (docs/TESTING.md "Leak check").
pub fn live_clients() -> usize {
    LIVE_CLIENTS.load(std::sync::atomic::Ordering::Relaxed)
}

struct Live;

impl Live {
    fn new() -> Self {
        LIVE_CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE_CLIENTS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How a client treats its calls and the answers it gets, fixed when it is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallRules {
    /// When a mint may be sent again (`retry.mint`).
    pub mint_retry: MintRetry,
    /// Which wire the endpoints speak (`wire`).
    pub wire: WireMode,
    /// Placeholder ids resolve instead of rejecting (`acceptPlaceholders`).
    pub accept_placeholders: bool,
    /// The grammars `validate()`'s format-only fallback accepts (`idGrammar`).
    pub id_grammar: IdGrammar,
}

impl Client {
    /// Assembled by `builder::ClientBuilder`, the one place every part gets its default.
    pub(super) fn new(
        config: &TransportConfig,
        transport: TransportKind,
        resilience: Resilience,
        cache: Option<CachePolicy>,
        rules: CallRules,
    ) -> Result<Self, ClientError> {
        let CallRules { mint_retry, wire: wire_mode, accept_placeholders, id_grammar } = rules;
        Ok(Self {
            wires: vec![EndpointWire::new(wire_mode, &config.service_url)],
            accept_placeholders,
            placeholders_accepted: std::sync::atomic::AtomicU64::new(0),
            transport: ClientTransport::new(config, transport)?,
            timeout_ms: config.timeout_ms,
            id_grammar,
            mint_retry,
            redactor: Redactor::new(config.api_key.as_deref()),
            resilience,
            cache,
            inflight: Mutex::new(HashMap::new()),
            bulkhead: None,
            failover: None,
            me: Weak::new(),
            tasks: TaskTracker::new(),
            closing: CancellationToken::new(),
            _live: Live::new(),
        })
    }

    /// Adds endpoints after the primary (see `failover`).
    pub(super) fn with_failover(mut self, failover: Option<Failover>) -> Self {
        let mode = self.wires[0].mode();
        if let Some(f) = &failover {
            self.wires.extend(f.fallbacks.iter().map(|b| EndpointWire::new(mode, b.transport.base_url())));
        }
        self.failover = failover;
        self
    }

    /// Validations in flight (the coalescing map's ids).
    pub fn validations_in_flight(&self) -> usize {
        self.inflight.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Placeholder ids resolved because the caller accepts them.
    pub fn placeholders_accepted(&self) -> u64 {
        self.placeholders_accepted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The shared client, which knows itself (for background probes).
    pub fn into_shared(mut self) -> Arc<Self> {
        Arc::new_cyclic(|me| {
            self.me = me.clone();
            self
        })
    }

    /// Bounds this client's calls in flight with `bulkhead`.
    pub(super) fn with_bulkhead(mut self, bulkhead: Option<Bulkhead>) -> Self {
        self.bulkhead = bulkhead;
        self
    }

    /// A slot in the bulkhead for one call (waiting at most the call's timeout), if there is one.
    async fn enter_bulkhead(&self) -> Result<Option<BulkheadPermit>, ClientError> {
        match &self.bulkhead {
            None => Ok(None),
            Some(b) => b.enter(self.timeout_ms).await.map(Some),
        }
    }

    pub fn cache(&self) -> Option<&Arc<ValidationCache>> {
        self.cache.as_ref().map(|c| &c.cache)
    }

    pub fn snapshot(&self) -> ClientSnapshot {
        let stats = &self.resilience.stats();
        ClientSnapshot {
            operations: Operation::ALL.iter().map(|&op| stats.snapshot(op)).collect(),
            breaker: self.resilience.breaker().map(|b| b.snapshot()),
            cache: self.cache().map(|c| c.stats()),
            rejected_by_breaker: stats.rejected_by_breaker(),
            pause: self.resilience.pause().snapshot(),
            fleet: self.resilience.fleet().map(|f| f.snapshot()),
            retry_budget: self.resilience.retry_budget().map(|b| b.snapshot()),
            bulkhead: self.bulkhead.as_ref().map(|b| b.snapshot()),
            rate_limit: self.resilience.rate_limit().map(|t| t.snapshot()),
            endpoints: self.endpoint_snapshots(),
            wire: self.wire_of(self.active_endpoint()).as_str(),
            placeholders_accepted: self.placeholders_accepted(),
            events_dropped: self.resilience.sink().dropped(),
            telemetry_dropped: 0,
        }
    }

    pub fn service_url(&self) -> &str {
        self.transport.base_url()
    }

    /// The fetch transport, for the binding to wire to JS; `None` for the native one.
    pub fn fetch_transport(&self) -> Option<&FetchTransport> {
        self.transport.as_fetch()
    }

    /// Where the tasks run for this client are tracked; a task tracked here is one
    /// [`Client::closed`] waits for.
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// Fleet mode: connects to Redis in the background, so the first call does not pay for it
    /// (calls before it open the connection themselves). Called once the client's events can
    /// be heard (lib/client.js starts it on the next tick); a no-op without a fleet or after
    /// `close()`.
    pub fn start_fleet(&self) {
        if let Some(fleet) = self.resilience.fleet() {
            fleet.start();
        }
    }

    /// Stops what this client runs besides the calls (which `rt::cancel` stops): no failover
    /// probe starts, those under way stop, every endpoint's transport drops its HTTP client
    /// and its pool, so idle sockets close now, and fleet mode gives back its slots and closes
    /// its Redis link (`Fleet::close`). The caller stops the calls and the connection manager.
    /// Idempotent.
    pub fn close(&self) {
        self.closing.cancel();
        self.tasks.close();
        for i in 0..self.endpoint_count() {
            self.endpoint(i).0.close();
        }
        if let Some(fleet) = self.resilience.fleet() {
            fleet.close();
        }
    }

    /// Resolves once every tracked task of a closed client has ended: its futures (and what
    /// they held: attempts, sockets, permits) are dropped, so its stats are final; and, in
    /// fleet mode, once the fleet's background tasks have ended and its Redis connection is
    /// closed (`Fleet::closed`).
    pub async fn closed(&self) {
        self.tasks.wait().await;
        if let Some(fleet) = self.resilience.fleet() {
            fleet.closed().await;
        }
    }

    /// True when [`Client::closed`] would resolve at once (closed, nothing left running). Never in
    /// fleet mode: the Redis connection's task ends on the I/O thread, which `closed` lets run.
    pub fn is_closed_and_idle(&self) -> bool {
        self.tasks.is_closed() && self.tasks.is_empty() && self.resilience.fleet().is_none()
    }

    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    /// A call of `op` under `replay`; it may wait out rate-limit pauses for up to its timeout.
    fn call<'a>(&self, op: Operation, replay: Replay<'a>) -> Call<'a> {
        Call { op, replay, wait_budget_ms: self.timeout_ms, yields_to_failover: false }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::builder::ClientBuilder;
    use crate::error::ClientError;

    /// One keep-alive connection answering every request with 200; hands the socket's end (EOF
    /// seen) to `closed`.
    async fn keep_alive_server() -> (String, tokio::sync::oneshot::Receiver<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let body = r#"{"status":"ok"}"#;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        socket.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
                    }
                }
            }
            let _ = tx.send(());
        });
        (url, rx)
    }

    #[tokio::test]
    async fn close_drops_the_pool_and_closed_waits_for_the_tracked_tasks() {
        let (url, connection_ended) = keep_alive_server().await;
        let client = ClientBuilder::new().service_url(&url).connection(None).build().unwrap().client;
        assert_eq!(client.health_result().await, Ok(()));
        // A task of the client that has not ended yet: closed() waits for it.
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(client.tasks().track_future(async move {
            let _ = released.await;
        }));
        client.close();
        assert!(tokio::time::timeout(Duration::from_millis(50), client.closed()).await.is_err());
        release.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), client.closed()).await.expect("closed() once the task ended");
        // The idle pooled connection is closed now, not at the pool's idle sweep (4 s): the
        // client is still referenced here.
        tokio::time::timeout(Duration::from_secs(2), connection_ended).await.expect("the connection closed").unwrap();
        assert_eq!(client.health_result().await, Err(ClientError::Closed));
    }
}
