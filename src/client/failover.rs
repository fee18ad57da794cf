//! Endpoint failover for one client (docs/ARCHITECTURE.md, "Endpoint failover"): the fallback
//! endpoints after the primary, each with its own transport, breaker and pause (after a 429), and
//! the run of a call across them in the order `EndpointSet` gives.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::client::endpoints::{EndpointSet, Switch};
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::observe::events::Event;
use crate::policy::attempt::{Replay, Resilience};
use crate::policy::breaker::BreakerState;
use crate::transport::config::HEALTH_TIMEOUT_MS;
use crate::transport::{ClientTransport, Method, Request, Response};

use super::Client;

/// An endpoint after the primary.
pub struct Fallback {
    pub transport: ClientTransport,
    /// Its own breaker and pause (after a 429); retry policy, budget, rate limit, stats and events
    /// are the client's.
    pub resilience: Resilience,
}

pub struct Failover {
    pub(super) fallbacks: Vec<Fallback>,
    pub(super) set: EndpointSet,
    /// Requests sent to each endpoint (probes included).
    requests: Vec<AtomicU64>,
}

impl Failover {
    pub fn new(fallbacks: Vec<Fallback>, set: EndpointSet) -> Self {
        let requests = (0..=fallbacks.len()).map(|_| AtomicU64::new(0)).collect();
        Self { fallbacks, set, requests }
    }
}

pub use crate::client::snapshot::EndpointSnapshot;

impl Client {
    /// The transport and resilience of endpoint `i` (0 = the primary).
    pub(super) fn endpoint(&self, i: usize) -> (&ClientTransport, &Resilience) {
        match (i.checked_sub(1), &self.failover) {
            (Some(j), Some(f)) if j < f.fallbacks.len() => (&f.fallbacks[j].transport, &f.fallbacks[j].resilience),
            _ => (&self.transport, &self.resilience),
        }
    }

    pub(super) fn endpoint_count(&self) -> usize {
        1 + self.failover.as_ref().map_or(0, |f| f.fallbacks.len())
    }

    /// The endpoint calls go to first now.
    pub fn active_endpoint(&self) -> usize {
        self.failover.as_ref().map_or(0, |f| f.set.active())
    }

    /// Sends through endpoint `i` (the transport redacts the key from what comes back).
    pub(super) async fn send_via(&self, i: usize, request: Request<'_>) -> Result<Response, ClientError> {
        if let Some(counter) = self.failover.as_ref().and_then(|f| f.requests.get(i)) {
            counter.fetch_add(1, Relaxed);
        }
        let (transport, _) = self.endpoint(i);
        transport.send(request).await
    }

    /// Runs a call on the first healthy endpoint, and on the next ones while it fails in a way
    /// that fails over. A safe mint reaches the next endpoint only after a failure that proves
    /// it was not processed (`Resilience::run` ends it otherwise), with the same request, so
    /// its idempotency key travels with it.
    pub(super) async fn run_across<'r, T, R, P>(
        &self,
        op: Operation,
        replay: Replay<'_>,
        request: R,
        parse: P,
    ) -> Result<T, ClientError>
    where
        R: Fn(usize) -> Request<'r>,
        P: Fn(usize, &Response) -> Result<T, ClientError>,
    {
        self.run_wired(op, replay, |i| self.send_via(i, request(i)), parse).await
    }

    /// [`Client::run_across`] with each attempt on endpoint `i` made by `attempt(i)` (which
    /// may pick the route by the endpoint's wire, see `Client::send_wired`); `parse` is told
    /// the endpoint that answered.
    pub(super) async fn run_wired<T, A, Fut, P>(
        &self,
        op: Operation,
        replay: Replay<'_>,
        attempt: A,
        parse: P,
    ) -> Result<T, ClientError>
    where
        A: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = Result<Response, ClientError>>,
        P: Fn(usize, &Response) -> Result<T, ClientError>,
    {
        // A parser's complaint may quote the answer: free text from the service like the rest.
        let parse = |i: usize, r: &Response| parse(i, r).map_err(|e| e.redacted(&self.redactor));
        let Some(failover) = &self.failover else {
            return self.resilience.run(self.call(op, replay), |_| attempt(0), |r| parse(0, r)).await;
        };
        self.start_due_probes();
        let order = failover.set.order();
        let mut last = None;
        for (n, &i) in order.iter().enumerate() {
            let yields_to_failover = n + 1 < order.len();
            let (_, resilience) = self.endpoint(i);
            let call = crate::policy::attempt::Call { yields_to_failover, ..self.call(op, replay) };
            match resilience.run(call, |_| attempt(i), |r| parse(i, r)).await {
                Ok(value) => {
                    failover.set.on_success(i);
                    return Ok(value);
                }
                Err(err) if err.fails_over() && !crate::transport::fetch::single_attempt() => {
                    self.mark_down(i, &err);
                    last = Some(err);
                }
                Err(err) => {
                    // A mint that may have been processed ends here (no other endpoint sees
                    // it), but what went wrong (a timeout, a 5xx...) still says this endpoint
                    // is unwell: it is marked down, so the next calls go to the next one.
                    if let Some(cause) = err.wrapped().filter(|c| c.fails_over()) {
                        if !crate::transport::fetch::single_attempt() {
                            self.mark_down(i, cause);
                        }
                    }
                    return Err(err);
                }
            }
        }
        Err(last.unwrap_or(ClientError::Closed))
    }

    /// Endpoint `i` failed with `err` (one that fails over): down, and `failover` if it led.
    fn mark_down(&self, i: usize, err: &ClientError) {
        let Some(failover) = &self.failover else { return };
        if let Some(Switch::Failover { from, to }) = failover.set.on_failure(i) {
            tracing::warn!(
                from = self.endpoint_url(from),
                to = self.endpoint_url(to),
                code = err.code(),
                "failing over"
            );
            self.resilience.sink().emit(Event::Failover {
                from: self.endpoint_url(from).to_owned(),
                to: self.endpoint_url(to).to_owned(),
                code: err.code(),
            });
        }
    }

    /// The connection manager's health check. With several endpoints it watches them all: it
    /// checks the endpoint calls go to and, when that one is down, fails over and checks the
    /// next; down endpoints due a probe are probed (in the background), so failback happens
    /// without traffic too. Healthy while some endpoint is.
    pub async fn watch_endpoints(&self) -> Result<(), ClientError> {
        let Some(failover) = &self.failover else { return self.health_result().await };
        self.start_due_probes();
        let mut last = None;
        while let Some(active) = failover.set.first_healthy() {
            match self.health_result().await {
                Ok(()) => return Ok(()),
                Err(err) if err.fails_over() && !crate::transport::fetch::single_attempt() => {
                    self.mark_down(active, &err);
                    last = Some(err);
                }
                Err(err) => return Err(err),
            }
        }
        match last {
            Some(err) => Err(err),
            // Every endpoint was down already: the primary's answer decides.
            None => self.health_result().await,
        }
    }

    pub(super) fn endpoint_url(&self, i: usize) -> &str {
        self.endpoint(i).0.base_url()
    }

    /// Health probes of down endpoints, in the background: a call never waits for them.
    fn start_due_probes(&self) {
        let Some(failover) = &self.failover else { return };
        if self.closing.is_cancelled() {
            return;
        }
        for i in failover.set.probes_due() {
            let Some(me) = self.me.upgrade() else { return };
            let closing = self.closing.clone();
            // Traced as a probe of its own, when what started it was traced.
            let scope = crate::observe::telemetry::probe_scope(crate::observe::telemetry::Probe::Failover);
            // Tracked, so close() waits for it; it stops at close() (`closing`).
            crate::rt::runtime::spawn(self.tasks.track_future(crate::observe::telemetry::scoped(scope, async move {
                tokio::select! {
                    () = me.probe(i) => {}
                    () = closing.cancelled() => {}
                }
            })));
        }
    }

    /// The health check of endpoint `i` on its wire: `GET {serviceUrl}/health` (v1), `GET
    /// /api/health` at the origin (deployed: every revision has it, docs/DEPLOYED.md F7, F8),
    /// and while the wire is unknown the origin's after a 404 on v1's. With the service URL at
    /// the origin, v1's route is also the deployed `/health` of the later revisions, so its 2xx
    /// tells no wire. Every health check goes through here: `healthCheck()`, the connection
    /// manager and the failover probes.
    pub(super) async fn health_of(&self, i: usize, timeout_ms: u64) -> Result<(), ClientError> {
        use crate::wire::{DEPLOYED_HEALTH, V1_HEALTH};
        let request = |route: crate::wire::Route| Request {
            method: Method::Get,
            path: route.path,
            body: None,
            idempotency_key: None,
            timeout_ms,
            from_origin: route.from_origin,
            query: None,
        };
        let w = self.wire(i);
        let deployed = (!w.same_url(DEPLOYED_HEALTH, V1_HEALTH.path)).then(|| request(DEPLOYED_HEALTH));
        self.send_wired(i, request(V1_HEALTH), deployed, !w.service_url_is_origin())
            .await
            .and_then(Response::error_for_status)
            .map(drop)
    }

    async fn probe(&self, i: usize) {
        let Some(failover) = &self.failover else { return };
        let ok = self.health_of(i, self.timeout_ms.min(HEALTH_TIMEOUT_MS)).await.is_ok();
        if let Some(Switch::Failback { from, to }) = failover.set.on_probe(i, ok) {
            // Its health checks passed: its circuit, opened during the outage, closes with it.
            if let Some(breaker) = self.endpoint(to).1.breaker() {
                breaker.reset();
            }
            tracing::info!(from = self.endpoint_url(from), to = self.endpoint_url(to), "failing back");
            self.resilience.sink().emit(Event::Failback {
                from: self.endpoint_url(from).to_owned(),
                to: self.endpoint_url(to).to_owned(),
            });
        }
    }

    /// The breaker pre-check across endpoints: a call may go out when some endpoint admits it.
    pub fn admit_any(&self) -> Result<(), ClientError> {
        let Some(failover) = &self.failover else { return self.resilience.admit() };
        let mut refusal = None;
        for i in failover.set.order() {
            match self.endpoint(i).1.admit() {
                Ok(()) => return Ok(()),
                Err(err) => refusal = Some(err),
            }
        }
        Err(refusal.unwrap_or(ClientError::Closed))
    }

    /// 0 while some endpoint's circuit is CLOSED (or there is no breaker), else 1 (OPEN) or
    /// 2 (HALF_OPEN) for the primary's: the JS side skips its pre-check while it is 0.
    pub fn breaker_state_code(&self) -> u32 {
        let code = |r: &Resilience| {
            r.breaker().map_or(0, |b| match b.state() {
                BreakerState::Closed => 0,
                BreakerState::Open => 1,
                BreakerState::HalfOpen => 2,
            })
        };
        let codes: Vec<u32> = (0..self.endpoint_count()).map(|i| code(self.endpoint(i).1)).collect();
        if codes.contains(&0) {
            0
        } else {
            codes[0]
        }
    }

    /// Every endpoint's health, breaker and traffic; empty for a single endpoint.
    pub fn endpoint_snapshots(&self) -> Vec<EndpointSnapshot> {
        let Some(failover) = &self.failover else { return Vec::new() };
        let active = failover.set.active();
        let health = failover.set.snapshot();
        health
            .iter()
            .enumerate()
            .map(|(i, h)| EndpointSnapshot {
                url: self.endpoint_url(i).to_owned(),
                healthy: h.healthy,
                active: i == active,
                requests: failover.requests[i].load(Relaxed),
                failovers: h.failovers,
                breaker: self.endpoint(i).1.breaker().map(|b| b.snapshot()),
                wire: self.wire_of(i).as_str(),
            })
            .collect()
    }

    /// Every endpoint's fetch transport, for the binding to wire to JS.
    pub fn fetch_transports(&self) -> impl Iterator<Item = &crate::transport::fetch::FetchTransport> {
        (0..self.endpoint_count()).filter_map(|i| self.endpoint(i).0.as_fetch())
    }
}
