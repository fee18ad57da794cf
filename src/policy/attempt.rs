//! The one request path every client operation goes through: the rate limit, the pause, circuit
//! breaker admission, the attempt, failure classification, and retry with backoff (honouring
//! Retry-After) under the retry-safety rule for mints (docs/ARCHITECTURE.md, "Retry safety").

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ClientError;
use crate::exchange::Operation;
use crate::fleet::Fleet;
use crate::observe::events::{ErrorPayload, Event, SharedSink};
use crate::observe::stats::OpStats;
use crate::policy::breaker::{Admission, BreakerState, CircuitBreaker, Transition, Trial};
use crate::policy::pause::Pause;
use crate::policy::rate_limit::RateLimit;
use crate::policy::retry::{is_retryable, parse_retry_after, RetryPolicy};
use crate::policy::retry_budget::RetryBudget;
use crate::transport::Response;

/// The policies one endpoint's calls run under. Built by `client::builder::ClientBuilder`
/// (one per endpoint); the fields are private so that every client is assembled there.
pub struct Resilience {
    retry: Option<RetryPolicy>,
    breaker: Option<Arc<CircuitBreaker>>,
    /// The client-wide pause after 429s (see `policy::pause`).
    pause: Arc<Pause>,
    sink: SharedSink,
    stats: Arc<OpStats>,
    /// Fleet mode (`crate::fleet`): the shared rate budget before each attempt, the 429 pause
    /// and breaker openings published after it.
    fleet: Option<Arc<Fleet>>,
    /// Caps retries at a fraction of recent calls (see `retry_budget`); `None` = unlimited.
    retry_budget: Option<Arc<RetryBudget>>,
    /// The client-side rate limit every request waits at (see `policy::rate_limit`); `None` = off.
    rate_limit: Option<Arc<RateLimit>>,
}

impl Resilience {
    /// No retry, breaker, budget, rate limit or fleet: each is added with its `with_` method.
    pub fn new(pause: Arc<Pause>, sink: SharedSink, stats: Arc<OpStats>) -> Self {
        Self { retry: None, breaker: None, pause, sink, stats, fleet: None, retry_budget: None, rate_limit: None }
    }

    pub fn with_retry(mut self, retry: Option<RetryPolicy>) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_breaker(mut self, breaker: Option<Arc<CircuitBreaker>>) -> Self {
        self.breaker = breaker;
        self
    }

    pub fn with_fleet(mut self, fleet: Option<Arc<Fleet>>) -> Self {
        self.fleet = fleet;
        self
    }

    pub fn with_retry_budget(mut self, retry_budget: Option<Arc<RetryBudget>>) -> Self {
        self.retry_budget = retry_budget;
        self
    }

    pub fn with_rate_limit(mut self, rate_limit: Option<Arc<RateLimit>>) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    /// The policies of an endpoint after this one (failover): its own `breaker` and `pause`;
    /// retry policy, budget, rate limit, stats and events are this one's. The fleet's budget
    /// and pause stay the primary service's (keyed by its origin).
    pub fn for_fallback(&self, breaker: Option<Arc<CircuitBreaker>>, pause: Arc<Pause>) -> Self {
        Self {
            retry: self.retry.clone(),
            breaker,
            pause,
            sink: self.sink.clone(),
            stats: self.stats.clone(),
            fleet: None,
            retry_budget: self.retry_budget.clone(),
            rate_limit: self.rate_limit.clone(),
        }
    }

    pub fn breaker(&self) -> Option<&Arc<CircuitBreaker>> {
        self.breaker.as_ref()
    }

    pub fn pause(&self) -> &Arc<Pause> {
        &self.pause
    }

    pub fn sink(&self) -> &SharedSink {
        &self.sink
    }

    pub fn stats(&self) -> &Arc<OpStats> {
        &self.stats
    }

    pub fn fleet(&self) -> Option<&Arc<Fleet>> {
        self.fleet.as_ref()
    }

    pub fn retry_budget(&self) -> Option<&Arc<RetryBudget>> {
        self.retry_budget.as_ref()
    }

    pub fn rate_limit(&self) -> Option<&Arc<RateLimit>> {
        self.rate_limit.as_ref()
    }
}

/// A HALF_OPEN trial slot held by one attempt; dropping it frees the slot.
struct TrialGuard<'a> {
    breaker: &'a CircuitBreaker,
    trial: Trial,
}

impl Drop for TrialGuard<'_> {
    fn drop(&mut self) {
        self.breaker.end_trial(self.trial);
    }
}

/// Which failures a request may be sent again after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay<'a> {
    /// Any retryable failure: GETs, and mints to a service that honours idempotency keys.
    Retryable,
    /// Only failures that prove the request was not processed (connect phase, 429, 503): a
    /// mint to a service that may ignore its `key`. Any other failure after the request may
    /// have reached the service ends the call with `MintOutcomeUnknown`.
    IfNotProcessed { key: &'a str },
}

/// One logical call through [`Resilience::run`].
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub op: Operation,
    pub replay: Replay<'a>,
    /// How long the call may spend waiting out rate-limit pauses, in total.
    pub wait_budget_ms: u64,
    /// Another endpoint follows: a failure that fails over ends the run at once instead of
    /// being retried here (the next endpoint is the retry).
    pub yields_to_failover: bool,
}

impl Resilience {
    /// Runs `attempt` (given the 1-based attempt number) and `parse`s its answer until that
    /// succeeds, fails for good, or the rate limit, the pause or the breaker refuses. A non-2xx
    /// answer is a failure here (`ClientError::Http`), and so is an unparsable 2xx: parsing
    /// inside the loop lets a mint whose answer was garbled be replayed under its idempotency
    /// key (when the service honours keys) instead of being lost.
    pub async fn run<T, F, Fut, P>(&self, call: Call<'_>, mut attempt: F, parse: P) -> Result<T, ClientError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<Response, ClientError>>,
        P: Fn(&Response) -> Result<T, ClientError>,
    {
        let op = call.op;
        let mut budget_ms = call.wait_budget_ms;
        let mut number = 1;
        if let Some(retry_budget) = &self.retry_budget {
            retry_budget.deposit();
        }
        loop {
            self.pass_rate_limit(&mut budget_ms).await?;
            self.pause.pass(&mut budget_ms).await?;
            // Held until this attempt's outcome is recorded: while HALF_OPEN it is one of the
            // limited trial slots, freed however the attempt ends (dropped futures included).
            let mut trial = self.admit_attempt()?;
            if let Some(fleet) = &self.fleet {
                // A call that waited for its slot asks the breaker again: it may have opened.
                if fleet.before_attempt().await? {
                    drop(trial);
                    trial = self.admit_attempt()?;
                }
            }
            // A call stopped (aborted, closed) meanwhile sends nothing; else a stop from now on
            // reports that the request may have reached the service (`crate::rt::cancel`).
            crate::rt::cancel::attempt_begins()?;
            let stamp = self.pause.stamp();
            crate::observe::telemetry::attempt_begins(number);
            let started = std::time::Instant::now();
            // Counted even if the call is dropped meanwhile (aborted, closed): it may be out.
            let count = self.stats.attempt_starts(op);
            let outcome =
                attempt(number).await.and_then(Response::error_for_status).and_then(|response| parse(&response));
            crate::rt::cancel::attempt_ends(outcome.as_ref().err());
            count.finish(outcome.as_ref().err());
            crate::observe::telemetry::attempt_ends(op, number, started.elapsed(), outcome.as_ref().err());
            let new_pause = self.record_for_gate(op, stamp, outcome.as_ref().err());
            self.record_for_breaker(outcome.as_ref().err());
            drop(trial);
            // The pause this client's gate started after a 429 holds the whole fleet too.
            if let (Some(fleet), Some(pause_ms)) = (&self.fleet, new_pause) {
                fleet.publish_pause(pause_ms);
            }
            let err = match outcome {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if let Replay::IfNotProcessed { key } = call.replay {
                if err.leaves_mint_outcome_unknown() {
                    return Err(ClientError::MintOutcomeUnknown { key: key.to_owned(), cause: Box::new(err) });
                }
                // A refusal (4xx, 408 included) is an answer: final, but not a retry.
                if !err.proves_not_processed() {
                    return Err(err);
                }
            }
            if call.yields_to_failover && err.fails_over() {
                return Err(err);
            }
            // JS asked for one attempt (its `fetch` is a test double that would pass a second
            // request on to the real network): the first answer is final.
            if crate::transport::fetch::single_attempt() {
                return Err(err);
            }
            let Some(delay_ms) = self.retry_delay(number, &err) else {
                return Err(err);
            };
            // A 429's retry waits at the gate, paced by the service: it cannot multiply traffic.
            if !err.is_rate_limit() && self.retry_budget.as_ref().is_some_and(|b| !b.try_withdraw()) {
                tracing::debug!(operation = op.as_str(), attempt = number, "retry budget exhausted: not retrying");
                return Err(err);
            }
            self.stats.record_retry(op);
            // After a 429 the gate holds the call (and every other) for the pause.
            let (sleep_ms, shown_ms) = if err.is_rate_limit() {
                (0, new_pause.unwrap_or_else(|| self.pause.retry_in_ms()))
            } else {
                (delay_ms, delay_ms)
            };
            tracing::debug!(
                operation = op.as_str(),
                attempt = number,
                delay_ms = shown_ms,
                code = err.code(),
                "retrying"
            );
            self.sink.emit(Event::Retry {
                operation: op.as_str(),
                attempt: number,
                delay: shown_ms,
                error: ErrorPayload { code: err.code(), message: err.to_string() },
            });
            if sleep_ms > 0 {
                tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
            }
            number += 1;
        }
    }

    /// Waits for the client-side rate limit's token, out of `budget_ms`.
    pub async fn pass_rate_limit(&self, budget_ms: &mut u64) -> Result<(), ClientError> {
        match &self.rate_limit {
            Some(bucket) => bucket.acquire(budget_ms).await,
            None => Ok(()),
        }
    }

    /// Asks the breaker whether a call may go out. Safe to call ahead of `run` (the JS side
    /// does, to fail fast without a native promise): it takes no trial slot, admitting again in
    /// CLOSED or HALF_OPEN changes nothing, and an expired OPEN moves to HALF_OPEN only once.
    pub fn admit(&self) -> Result<(), ClientError> {
        self.admission(false).map(drop)
    }

    /// Admits one attempt; while HALF_OPEN it holds a trial slot until the guard is dropped.
    fn admit_attempt(&self) -> Result<Option<TrialGuard<'_>>, ClientError> {
        self.admission(true)
    }

    fn admission(&self, take_trial: bool) -> Result<Option<TrialGuard<'_>>, ClientError> {
        let Some(breaker) = &self.breaker else { return Ok(None) };
        if let Some(fleet) = self.fleet.as_ref().filter(|f| f.take_breaker_hint()) {
            if let Some(transition) = breaker.probe() {
                fleet.note_hint_applied();
                self.emit_transition(Some(transition));
            }
        }
        let (admission, trial) = if take_trial { breaker.admit_trial() } else { (breaker.admit(), None) };
        match admission {
            Admission::Allowed { transition } => {
                self.emit_transition(transition);
                Ok(trial.map(|trial| TrialGuard { breaker, trial }))
            }
            Admission::Rejected { retry_in_ms } => {
                self.stats.record_rejected();
                Err(ClientError::CircuitOpen { retry_in_ms })
            }
            Admission::TrialsInFlight { limit } => {
                self.stats.record_rejected();
                Err(ClientError::TrialsInFlight { limit })
            }
        }
    }

    /// Feeds a request's outcome (sent in the pause's epoch `stamp`) to the pause; a 429
    /// that starts a pause is announced as `rateLimited`, and its length returned.
    pub fn record_for_gate(&self, op: Operation, stamp: u64, err: Option<&ClientError>) -> Option<u64> {
        match err {
            None => {
                self.pause.on_success(stamp);
                None
            }
            // A 429, or a placeholder the service issued because it was rate limited (no Retry-After).
            Some(err) if err.is_rate_limit() => {
                let retry_after = match err {
                    ClientError::Http { retry_after, .. } => retry_after.as_deref(),
                    _ => None,
                };
                let retry_after_ms = retry_after.and_then(|v| parse_retry_after(v, crate::rt::clock::unix_ms()));
                if let Some(pause_ms) = self.pause.on_rate_limited(stamp, retry_after_ms, fastrand::f64()) {
                    tracing::warn!(operation = op.as_str(), pause_ms, "rate limited by the service: pausing traffic");
                    self.sink.emit(Event::RateLimited {
                        operation: op.as_str(),
                        retry_in_ms: pause_ms,
                        retry_after: retry_after_ms.is_some(),
                    });
                    return Some(pause_ms);
                }
                None
            }
            Some(_) => None,
        }
    }

    fn record_for_breaker(&self, err: Option<&ClientError>) {
        let Some(breaker) = &self.breaker else { return };
        let transition = match err {
            None => breaker.record_success(),
            Some(e) if e.counts_as_service_failure() => breaker.record_failure(),
            // A 429 is the service pacing this client: neither up nor down for the breaker.
            Some(e) if e.is_rate_limit() => None,
            // The service answered (a client error): it is up, so this is a success for the breaker.
            Some(ClientError::Http { .. }) => breaker.record_success(),
            Some(_) => None,
        };
        self.emit_transition(transition);
    }

    fn emit_transition(&self, transition: Option<Transition>) {
        let Some(Transition { from, to }) = transition else { return };
        tracing::info!(from = from.as_str(), to = to.as_str(), "circuit breaker transition");
        if let (Some(fleet), Some(breaker)) = (&self.fleet, &self.breaker) {
            match to {
                BreakerState::Open => fleet.publish_breaker_open(breaker.config().reset_timeout_ms),
                BreakerState::Closed => fleet.publish_breaker_closed(),
                BreakerState::HalfOpen => {}
            }
        }
        let event = match to {
            BreakerState::Open => {
                let snapshot = self.breaker.as_ref().map(|b| b.snapshot());
                Event::CircuitOpen {
                    failures: snapshot.as_ref().map_or(0, |s| s.failures),
                    reset_timeout: snapshot.map_or(0, |s| s.config.reset_timeout_ms),
                }
            }
            BreakerState::HalfOpen => Event::CircuitHalfOpen,
            BreakerState::Closed => Event::CircuitClose,
        };
        self.sink.emit(event);
    }

    fn retry_delay(&self, attempt: u32, err: &ClientError) -> Option<u64> {
        let policy = self.retry.as_ref()?;
        if !is_retryable(err) {
            return None;
        }
        // This failure opened the circuit: another attempt would only be refused after the
        // backoff, so the caller gets the real failure now.
        if self.breaker.as_ref().is_some_and(|b| b.state() == BreakerState::Open) {
            return None;
        }
        let retry_after = match err {
            ClientError::Http { retry_after: Some(v), .. } => parse_retry_after(v, crate::rt::clock::unix_ms()),
            _ => None,
        };
        policy.next_delay_ms(attempt, retry_after, fastrand::f64())
    }
}

#[cfg(test)]
mod tests;
