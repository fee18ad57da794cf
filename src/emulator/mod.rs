//! A local ChittyID service emulator (README "Emulator"): the real routes, minted ids that follow the
//! official grammar, `Idempotency-Key` replays, run-time fault injection and a ledger of
//! everything it minted. It runs on its own thread with its own current-thread runtime, so it
//! never competes with the client's runtime.
//!
//! Two profiles: `V1` (the default) speaks v1's wire; `Deployed` speaks the wire of the service
//! deployed at id.chitty.cc (`routes/deployed.rs`): its routes and bodies, ids of the deployed
//! grammar, no batch route, no auth check, `Idempotency-Key` ignored, and placeholder ids under
//! the `placeholder` fault.

mod conn;
pub mod deployed_ids;
mod faults;
mod idempotency;
pub mod ids;
mod json;
mod ledger;
mod routes;
mod serving;
#[cfg(test)]
mod tests;
mod timestamp;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use faults::Faults;
pub use ledger::{LedgerSnapshot, RouteCounts};

use deployed_ids::DeployedIdGenerator;
use faults::FaultSwitch;
use ids::IdGenerator;
use ledger::{Generator, Ledger};

const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// An answer as the routes build it and the connection serves it.
pub(crate) type Reply = hyper::Response<http_body_util::Full<bytes::Bytes>>;

/// The routes as counted in the ledger and named in `Faults::routes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteKind {
    Health,
    Mint,
    Batch,
    Validate,
    Other,
}

impl RouteKind {
    pub fn name(self) -> &'static str {
        match self {
            RouteKind::Health => "health",
            RouteKind::Mint => "mint",
            RouteKind::Batch => "batch",
            RouteKind::Validate => "validate",
            RouteKind::Other => "other",
        }
    }
}

/// Which service the emulator plays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// v1's wire (README "Emulator").
    #[default]
    V1,
    /// The wire of the service deployed at id.chitty.cc.
    Deployed,
}

impl Profile {
    /// The names JS and the CLI use; the first is the default.
    pub const NAMES: [&'static str; 2] = ["v1", "deployed"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "v1" => Some(Profile::V1),
            "deployed" => Some(Profile::Deployed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::V1 => "v1",
            Profile::Deployed => "deployed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmulatorOptions {
    /// The wire it speaks.
    pub profile: Profile,
    /// Address to bind; a name such as "localhost" binds its first address that works.
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// When set (and non-empty), mint, batch and validate require `Authorization: Bearer <token>`
    /// (v1 profile; the deployed service checks no auth).
    pub token: Option<String>,
    /// Larger request bodies are answered with 413.
    pub max_request_bytes: usize,
    /// Serve HTTPS (h2 and HTTP/1.1 through ALPN) with a certificate from a CA made for this
    /// emulator alone (see [`Emulator::ca_pem`]).
    pub tls: bool,
    /// Answer requests under `/v1/` with this redirect status, pointing at `/api/v1/`.
    pub redirect_status: Option<u16>,
    /// Compress answers with gzip when the request accepts it.
    pub compress: bool,
    /// Mint as if `Idempotency-Key` did not exist, as the public service does (switchable at
    /// run time with [`Emulator::set_ignore_idempotency_keys`]). The deployed profile always
    /// ignores them.
    pub ignore_idempotency_keys: bool,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            profile: Profile::default(),
            host: "127.0.0.1".to_owned(),
            port: 0,
            token: None,
            max_request_bytes: 1 << 20,
            tls: false,
            redirect_status: None,
            compress: false,
            ignore_idempotency_keys: false,
        }
    }
}

/// What the request handlers share.
pub(crate) struct State {
    profile: Profile,
    expected_authorization: Option<Vec<u8>>,
    max_request_bytes: usize,
    ignore_idempotency_keys: AtomicBool,
    faults: FaultSwitch,
    ledger: Ledger,
    redirect_status: Option<u16>,
    compress: bool,
    /// Requests that arrived over HTTP/2.
    h2_requests: std::sync::atomic::AtomicU64,
    /// Deployed profile: the placeholders issued and not yet replaced, with the type letter
    /// asked for, as the service keeps them to mint a real id on their next validation.
    pending_placeholders: Mutex<std::collections::HashMap<String, u8>>,
}

impl State {
    fn new(opts: &EmulatorOptions) -> Self {
        let expected_authorization =
            opts.token.as_deref().filter(|token| !token.is_empty()).map(|token| format!("Bearer {token}").into_bytes());
        let now = crate::rt::clock::unix_ms();
        let (generator, expected_authorization) = match opts.profile {
            Profile::V1 => (Generator::V1(IdGenerator::new(timestamp::utc_year(now))), expected_authorization),
            Profile::Deployed => (Generator::Deployed(DeployedIdGenerator::new(timestamp::utc_year_month(now))), None),
        };
        Self {
            profile: opts.profile,
            expected_authorization,
            max_request_bytes: opts.max_request_bytes,
            ignore_idempotency_keys: AtomicBool::new(opts.ignore_idempotency_keys || opts.profile == Profile::Deployed),
            faults: FaultSwitch::default(),
            ledger: Ledger::new(generator),
            redirect_status: opts.redirect_status,
            compress: opts.compress,
            h2_requests: std::sync::atomic::AtomicU64::new(0),
            pending_placeholders: Mutex::default(),
        }
    }
}

impl State {
    pub(crate) fn ignores_idempotency_keys(&self) -> bool {
        self.ignore_idempotency_keys.load(Ordering::Relaxed)
    }
}

/// A running emulator. Clones share it; it shuts down on [`Emulator::shutdown`] or when the
/// last clone is dropped.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    addr: SocketAddr,
    /// The CA that signed the certificate, when serving HTTPS.
    ca_pem: Option<String>,
    state: Arc<State>,
    server: Mutex<Option<ServerThread>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let server = self.server.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(server) = server {
            server.stop();
        }
    }
}

impl Emulator {
    /// Binds synchronously (so the port is known and errors surface here), then serves on a
    /// dedicated thread running a tokio current-thread runtime.
    pub fn spawn(opts: EmulatorOptions) -> io::Result<Emulator> {
        let listener = bind(&opts.host, opts.port)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(&opts));
        let tls = if opts.tls { Some(serving::tls()?) } else { None };
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let server = ServerThread::start(listener, Arc::clone(&state), tls.map(|t| t.acceptor))?;
        let inner = Inner { addr, ca_pem, state, server: Mutex::new(Some(server)) };
        Ok(Emulator { inner: Arc::new(inner) })
    }

    /// `http://HOST:PORT`, or `https://` when serving TLS (an IPv6 host in brackets; a
    /// wildcard bind shows loopback).
    pub fn url(&self) -> String {
        let scheme = if self.inner.ca_pem.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", reachable(self.inner.addr))
    }

    /// How many requests arrived over HTTP/2 (only possible with `tls`).
    pub fn h2_requests(&self) -> u64 {
        self.inner.state.h2_requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The PEM of the CA to trust (the client's `ca` option) when serving HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.inner.ca_pem.as_deref()
    }

    pub fn port(&self) -> u16 {
        self.inner.addr.port()
    }

    /// Replaces the active faults; requests already past their fault draw are not affected.
    pub fn set_faults(&self, faults: Faults) {
        self.inner.state.faults.set(faults);
    }

    /// Whether mints honour `Idempotency-Key` (the default) or ignore it like the public
    /// service, so a retried mint mints again. The deployed profile ignores keys whatever this
    /// says.
    pub fn set_ignore_idempotency_keys(&self, ignore: bool) {
        let ignore = ignore || self.inner.state.profile == Profile::Deployed;
        self.inner.state.ignore_idempotency_keys.store(ignore, Ordering::Relaxed);
    }

    pub fn profile(&self) -> Profile {
        self.inner.state.profile
    }

    pub fn ignores_idempotency_keys(&self) -> bool {
        self.inner.state.ignores_idempotency_keys()
    }

    /// The active faults (`remaining` counts down as faults are injected).
    pub fn faults(&self) -> Faults {
        self.inner.state.faults.get()
    }

    pub fn stats(&self) -> LedgerSnapshot {
        self.inner.state.ledger.snapshot()
    }

    /// Zeroes the counters and forgets minted ids, idempotency keys and the placeholders
    /// waiting to be replaced. Later mints still get ids never handed out before.
    pub fn reset_ledger(&self) {
        self.inner.state.ledger.reset();
        self.inner.state.pending_placeholders.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Stops accepting, drops open connections and joins the server thread, waiting at most
    /// about two seconds. Idempotent.
    pub fn shutdown(&self) {
        let server = self.inner.server.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(server) = server {
            server.stop();
        }
    }
}

fn bind(host: &str, port: u16) -> io::Result<std::net::TcpListener> {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let listener = std::net::TcpListener::bind((host, port))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

/// The thread that owns the runtime, the listener and every connection.
struct ServerThread {
    stop: oneshot::Sender<()>,
    finished: mpsc::Receiver<()>,
    thread: JoinHandle<()>,
}

impl ServerThread {
    fn start(
        listener: std::net::TcpListener,
        state: Arc<State>,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let (stop, stop_requested) = oneshot::channel();
        let (finished_tx, finished) = mpsc::channel();
        let thread = std::thread::Builder::new().name("chittyid-emulator".to_owned()).spawn(move || {
            runtime.block_on(accept_until_stopped(listener, state, tls, stop_requested));
            // Dropping the runtime drops every connection task, closing their sockets.
            drop(runtime);
            let _ = finished_tx.send(());
        })?;
        Ok(Self { stop, finished, thread })
    }

    fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.thread().id() == std::thread::current().id() {
            return;
        }
        match self.finished.recv_timeout(SHUTDOWN_WAIT) {
            Err(mpsc::RecvTimeoutError::Timeout) => {} // leave it detached rather than hang
            _ => {
                let _ = self.thread.join();
            }
        }
    }
}

async fn accept_until_stopped(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    state.ledger.count_connection();
                    match &tls {
                        None => drop(tokio::spawn(conn::serve(stream, Arc::clone(&state)))),
                        Some(tls) => drop(tokio::spawn(conn::serve_tls(stream, Arc::clone(&state), tls.clone()))),
                    }
                }
                // Out of descriptors or an aborted handshake: pause rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}
