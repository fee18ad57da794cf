//! `mint()` and `mintBatch()`, and the batch's fallback to single mints for a service without
//! a batch route.

use bytes::Bytes;
use serde::Deserialize;

use super::idempotency::{idempotency_key, MAX_IDEMPOTENCY_KEY_LEN};
use super::parse::{parse_batch, parse_json};
use super::Client;
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::transport::{Method, Request, Response};
use crate::wire::{self, MintChecks, Route, Wire, WireMode};

/// How many single mints `mintBatch` runs at once against a service without a batch route.
pub const BATCH_FALLBACK_CONCURRENCY: usize = crate::option_table::BATCH_FALLBACK_CONCURRENCY as usize;

impl Client {
    /// `POST /mint` with the request serialized by the caller; resolves to the new id. A
    /// caller's `key` (already checked by `check_idempotency_key`) makes the mint repeatable
    /// across calls: the service answers a repeated key with the id it minted the first time.
    /// On the deployed wire (and while it is unknown) the body carries `entityType` too, and
    /// the answer is read as either wire's (docs/ARCHITECTURE.md, "Two wires").
    pub async fn mint(&self, body: Bytes, key: Option<String>) -> Result<String, ClientError> {
        let key = key.unwrap_or_else(idempotency_key);
        // Reported with an abort or close() that stops this mint after its request was sent.
        crate::rt::cancel::note_key(&key);
        // Only while some endpoint may speak the deployed wire: once every one is known to
        // speak v1, a mint costs no extra parse.
        let typed = if self.wires.iter().all(|w| w.get() == Wire::V1) { None } else { wire::typed_mint(&body) };
        let typed = typed.map(|t| (Bytes::from(t.body), t.query));
        let request = |i: usize, route: Route| {
            let (chosen, query) = match (&typed, self.wire_of(i)) {
                (Some((body, query)), Wire::Unknown | Wire::Deployed) => (body.clone(), Some(query.as_str())),
                _ => (body.clone(), None),
            };
            Request {
                // A route that reads the query only is a GET: no body (fetch sends none with one).
                method: if route.by_query { Method::Get } else { Method::Post },
                path: route.path,
                body: (!route.by_query).then_some(chosen),
                idempotency_key: Some(&key),
                timeout_ms: self.timeout_ms,
                from_origin: route.from_origin,
                query,
            }
        };
        let request = &request;
        let attempt = |i: usize| async move {
            match self.wire(i).get() {
                Wire::Deployed => self.send_deployed_mint(i, false, |route| request(i, route)).await,
                Wire::Unknown => {
                    // v1's route first; a 404 there processed nothing, so the deployed routes
                    // that are other URLs follow (`send_wired`'s rule).
                    let first = self.send_via(i, request(i, wire::V1_MINT)).await?;
                    if first.status != 404 {
                        return Ok(first);
                    }
                    let second = self.send_deployed_mint(i, true, |route| request(i, route)).await?;
                    Ok(if second.status == 404 { first } else { second })
                }
                Wire::V1 => self.send_via(i, request(i, wire::V1_MINT)).await,
            }
        };
        let checks = MintChecks {
            grammar: self.wire_mode_of_all() != WireMode::V1,
            accept_placeholders: self.accept_placeholders,
            api_key: self.redactor.key(),
        };
        let parse = |i: usize, r: &Response| {
            let outcome = wire::parse_mint(&r.body, checks);
            match &outcome {
                Ok(minted) => self.wire(i).learn(minted.wire),
                Err(ClientError::Placeholder { .. }) => self.wire(i).learn(Wire::Deployed),
                Err(_) => {}
            }
            outcome
        };
        let _slot = self.enter_bulkhead().await?;
        let minted = self.run_wired(Operation::Mint, self.mint_replay(&key), attempt, parse).await.map_err(|e| {
            let deployed = self.wire(self.active_endpoint()).deployed_mint_route();
            self.name_404(e, Method::Post, wire::V1_MINT, Some(deployed))
        })?;
        if let Some(error_code) = minted.placeholder {
            self.placeholders_accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // The service's text: redacted before the debug log sees it, as before the event.
            let error_code = error_code.map(|code| self.redactor.redact(&code).into_owned());
            tracing::warn!(code = error_code.as_deref().unwrap_or(""), "accepted a placeholder id");
            self.resilience
                .sink()
                .emit(crate::observe::events::Event::Placeholder { chitty_id: minted.id.clone(), error_code });
        }
        Ok(minted.id)
    }

    /// Sends a mint to the deployed service's mint routes in turn (`EndpointWire::
    /// deployed_mint_routes`, docs/DEPLOYED.md F1–F3): `POST {origin}/mint`, after a 404 there
    /// `POST {origin}/v1/mint`, and after a 404 there too `GET {origin}/api/get-chittyid`. A
    /// 404 is the only answer that moves on: the route is not there, so nothing was processed
    /// and sending the mint again cannot mint twice; it is remembered for the endpoint. With
    /// `after_v1`, v1's own mint URL already answered 404 and is not sent again.
    async fn send_deployed_mint<'k>(
        &self,
        i: usize,
        after_v1: bool,
        request: impl Fn(Route) -> Request<'k>,
    ) -> Result<Response, ClientError> {
        let w = self.wire(i);
        let routes = w.deployed_mint_routes();
        let mut answer = None;
        for (n, &route) in routes.iter().enumerate() {
            if after_v1 && w.same_url(route, wire::V1_MINT.path) {
                w.mint_route_missing(route);
                continue;
            }
            let response = self.send_via(i, request(route)).await?;
            if response.status == 404 {
                w.mint_route_missing(route);
                if n + 1 < routes.len() {
                    answer = Some(response);
                    continue;
                }
            }
            return Ok(response);
        }
        // Not reached: the last route is never v1's URL (it is a GET). No panic on the I/O thread.
        match answer {
            Some(response) => Ok(response),
            None => self.send_via(i, request(wire::DEPLOYED_MINT_OLDEST)).await,
        }
    }

    /// `POST /mint/batch` with `{"requests":[...]}` serialized by the caller; `count` is the
    /// number of requests, and so of ids the answer must hold. Against a service without a
    /// batch route (the deployed wire, or a 404 under `wire: "auto"`) it mints one by one.
    pub async fn mint_batch(&self, body: Bytes, count: usize, key: Option<String>) -> Result<Vec<String>, ClientError> {
        let active = self.active_endpoint();
        let no_route = self.wire_of(active) == Wire::Deployed || self.wire(active).has_batch_route() == Some(false);
        if no_route && self.wire_mode_of_all() != WireMode::V1 {
            return self.mint_one_by_one(&body, count, key.as_deref()).await;
        }
        let key_or_fresh = key.clone().unwrap_or_else(idempotency_key);
        crate::rt::cancel::note_key(&key_or_fresh);
        let request = |_: usize| Request {
            method: Method::Post,
            path: "/mint/batch",
            body: Some(body.clone()),
            idempotency_key: Some(&key_or_fresh),
            timeout_ms: self.timeout_ms,
            from_origin: false,
            query: None,
        };
        let parse = |i: usize, r: &Response| {
            self.wire(i).set_batch_route(true);
            let checks = MintChecks {
                grammar: self.wire_mode_of_all() != WireMode::V1,
                accept_placeholders: false,
                api_key: self.redactor.key(),
            };
            parse_batch(r, count, checks)
        };
        let outcome = async {
            let _slot = self.enter_bulkhead().await?;
            self.run_across(Operation::MintBatch, self.mint_replay(&key_or_fresh), request, parse).await
        }
        .await;
        match outcome {
            Err(ClientError::Http { status: 404, .. }) if self.wire_mode_of_all() == WireMode::Auto => {
                let i = self.active_endpoint();
                self.wire(i).set_batch_route(false);
                self.mint_one_by_one(&body, count, key.as_deref()).await
            }
            other => other.map_err(|e| self.name_404(e, Method::Post, Route::below_service("/mint/batch"), None)),
        }
    }

    /// `mintBatch` without a batch route: single mints, at most `BATCH_FALLBACK_CONCURRENCY`
    /// at once, ids in request order. After a failure no new mint starts; the ones in flight
    /// finish, and the error carries every id minted (`BatchIncomplete`), so none is lost.
    async fn mint_one_by_one(&self, body: &[u8], count: usize, key: Option<&str>) -> Result<Vec<String>, ClientError> {
        #[derive(Deserialize)]
        struct Requests {
            requests: Vec<serde_json::Value>,
        }
        let requests = parse_json::<Requests>(body)
            .map_err(|_| ClientError::InvalidArgument { detail: "mintBatch body must be {\"requests\":[...]}".into() })?
            .requests;
        if requests.len() != count {
            return Err(ClientError::InvalidArgument {
                detail: format!("mintBatch: {} requests for a count of {count}", requests.len()),
            });
        }
        let bodies: Vec<Bytes> =
            requests.iter().map(|r| Bytes::from(serde_json::to_vec(r).unwrap_or_default())).collect();
        // One key per request, derived from the caller's so a repeated batch repeats each mint.
        let key_for = |i: usize| key.map(|k| format!("{k}.{i}")).filter(|k| k.len() <= MAX_IDEMPOTENCY_KEY_LEN);
        let results =
            bounded_in_order(count, BATCH_FALLBACK_CONCURRENCY, |i| Box::pin(self.mint(bodies[i].clone(), key_for(i))))
                .await;
        let mut minted = Vec::with_capacity(count);
        let mut failed = Vec::new();
        let mut first = None;
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Some(Ok(id)) => minted.push(Some(id)),
                Some(Err(err)) => {
                    minted.push(None);
                    failed.push(i);
                    first.get_or_insert(err);
                }
                None => minted.push(None),
            }
        }
        match first {
            None => Ok(minted.into_iter().map(Option::unwrap_or_default).collect()),
            Some(cause) => Err(ClientError::BatchIncomplete { minted, failed, cause: Box::new(cause) }),
        }
    }
}

/// A boxed attempt of [`bounded_in_order`].
type Attempt<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ClientError>> + Send + 'a>>;

/// Runs `count` attempts, at most `limit` at once, and returns their results in order. After
/// the first failure no new one starts (`None` in its place); those in flight finish. All are
/// polled in the caller's task, so its scope (telemetry, extra headers) holds for each.
async fn bounded_in_order<'a, T>(
    count: usize,
    limit: usize,
    make: impl Fn(usize) -> Attempt<'a, T>,
) -> Vec<Option<Result<T, ClientError>>> {
    use std::task::Poll;
    let mut results: Vec<Option<Result<T, ClientError>>> = (0..count).map(|_| None).collect();
    let mut running: Vec<(usize, Attempt<'a, T>)> = Vec::new();
    let mut next = 0;
    let mut stopped = false;
    std::future::poll_fn(|cx| loop {
        while !stopped && running.len() < limit.max(1) && next < count {
            running.push((next, make(next)));
            next += 1;
        }
        let mut progressed = false;
        let mut k = 0;
        while k < running.len() {
            if let Poll::Ready(result) = running[k].1.as_mut().poll(cx) {
                let (i, _) = running.swap_remove(k);
                stopped |= result.is_err();
                results[i] = Some(result);
                progressed = true;
            } else {
                k += 1;
            }
        }
        if running.is_empty() && (stopped || next >= count) {
            return Poll::Ready(());
        }
        if !progressed {
            return Poll::Pending;
        }
    })
    .await;
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_order_keeps_order_bounds_concurrency_and_stops_after_a_failure() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let (running, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let run = |fail_at: Option<usize>| {
            rt.block_on(bounded_in_order(10, 3, |i| {
                let (running, peak) = (&running, &peak);
                Box::pin(async move {
                    peak.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                    // Later positions finish first: order comes from the position, not the finish.
                    tokio::time::sleep(std::time::Duration::from_millis(10 - i as u64)).await;
                    running.fetch_sub(1, SeqCst);
                    if Some(i) == fail_at {
                        Err(ClientError::Closed)
                    } else {
                        Ok(i)
                    }
                })
            }))
        };
        let all = run(None);
        assert_eq!(
            all.iter().map(|r| *r.as_ref().unwrap().as_ref().unwrap()).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!(peak.load(SeqCst), 3);
        let stopped = run(Some(1));
        assert!(matches!(stopped[1], Some(Err(_))));
        assert!(
            stopped[0].as_ref().is_some_and(|r| r.is_ok()) && stopped[2].as_ref().is_some_and(|r| r.is_ok()),
            "those in flight finish"
        );
        let started = stopped.iter().filter(|r| r.is_some()).count();
        assert!(started < 10, "no new one starts after the failure");
        assert!(stopped[started..].iter().all(Option::is_none), "what did not start is at the end: {stopped:?}");
    }
}
