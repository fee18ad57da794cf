//! Cancellation of in-flight calls: one call by ticket (the JS side cancels a call whose
//! AbortSignal fired), or every call at once when the client is closed. Dropping the call's
//! future stops the request, its sockets and any pending retry.
//!
//! A stopped mint must say whether it may have minted (docs/ARCHITECTURE.md, "Retry safety"):
//! each registered call has a [`CallState`] whose bits the resilience loop sets around every
//! attempt ([`attempt_begins`], [`attempt_ends`], through a task-local) and which stopping reads
//! in the same atomic operation that marks it stopped. So either the attempt began first and the
//! stop reports it, or the stop came first and the attempt is never sent.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;

use crate::error::ClientError;

/// Why a call was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// Its AbortSignal fired.
    Aborted,
    /// The client was closed.
    Closed,
}

/// An attempt was handed to the transport and has not ended.
const IN_FLIGHT: u8 = 1;
/// An attempt that ended may have been processed (sticky): it succeeded, or failed in a way
/// that leaves a mint's outcome unknown.
const REACHED: u8 = 2;
const ABORTED: u8 = 4;
const CLOSED: u8 = 8;
const STOPPED: u8 = ABORTED | CLOSED;

/// What stopping a call found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// A mint whose request may have reached the service.
    pub may_have_minted: bool,
    /// The mint's idempotency key, when `may_have_minted`.
    pub key: Option<String>,
}

/// One registered call: how far its attempts got, and the signal that stops it.
#[derive(Default)]
pub struct CallState {
    bits: AtomicU8,
    /// `notify_one` keeps a permit, so a stop that comes before the call waits is not lost.
    stop: Notify,
    key: OnceLock<String>,
    mints: bool,
}

impl CallState {
    pub fn new(mints: bool) -> Self {
        Self { mints, ..Self::default() }
    }

    /// Marks the call stopped; `None` when it was stopped already.
    fn stop(&self, why: u8) -> Option<Stopped> {
        let before = self.bits.fetch_or(why, Ordering::AcqRel);
        if before & STOPPED != 0 {
            return None;
        }
        self.stop.notify_one();
        let may_have_minted = self.mints && before & (IN_FLIGHT | REACHED) != 0;
        Some(Stopped { may_have_minted, key: may_have_minted.then(|| self.key.get().cloned()).flatten() })
    }

    fn reason(&self) -> Cancelled {
        if self.bits.load(Ordering::Acquire) & CLOSED != 0 {
            Cancelled::Closed
        } else {
            Cancelled::Aborted
        }
    }

    fn begin(&self) -> Result<(), ClientError> {
        let before = self.bits.fetch_or(IN_FLIGHT, Ordering::AcqRel);
        match before {
            b if b & CLOSED != 0 => Err(ClientError::Closed),
            b if b & ABORTED != 0 => Err(ClientError::Aborted),
            _ => Ok(()),
        }
    }

    fn end(&self, failure: Option<&ClientError>) {
        let reached = failure.is_none_or(ClientError::leaves_mint_outcome_unknown);
        let set = if reached { REACHED } else { 0 };
        // One operation, so a concurrent stop sees IN_FLIGHT or REACHED, never neither.
        let _ = self.bits.fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| Some((b | set) & !IN_FLIGHT));
    }
}

tokio::task_local! {
    static CALL: Arc<CallState>;
}

/// Before an attempt is handed to the transport: marks it in flight, or refuses it (nothing
/// sent) when the call was stopped meanwhile. Outside a registered call it does nothing.
pub fn attempt_begins() -> Result<(), ClientError> {
    CALL.try_with(|call| call.begin()).unwrap_or(Ok(()))
}

/// After an attempt's outcome is known (`None`: it succeeded).
pub fn attempt_ends(failure: Option<&ClientError>) {
    let _ = CALL.try_with(|call| call.end(failure));
}

/// The idempotency key the current mint goes out with.
pub fn note_key(key: &str) {
    let _ = CALL.try_with(|call| call.key.set(key.to_owned()));
}

#[derive(Default)]
pub struct Cancellations {
    calls: Mutex<HashMap<u32, Arc<CallState>>>,
    closed: AtomicBool,
    /// Wakes every unregistered call when the client closes.
    on_close: Notify,
}

impl Cancellations {
    /// Registers the call under `ticket` when it is submitted (on the JS thread, so a stop that
    /// comes before the I/O thread runs it still finds it). `mints`: it may mint, so stopping it
    /// reports whether it may have.
    pub fn register(&self, ticket: u32, mints: bool) -> Arc<CallState> {
        let state = Arc::new(CallState::new(mints));
        if self.is_closed() {
            state.stop(CLOSED);
        }
        self.lock().insert(ticket, Arc::clone(&state));
        state
    }

    /// Runs `work` until it finishes, its registered call is stopped, or the client is closed.
    /// A registered call stays registered until [`Cancellations::finish`], which the caller
    /// calls once the outcome is where the JS side will find it: until then a stop still
    /// reports how far the call got.
    pub async fn run<T>(&self, call: Option<&Arc<CallState>>, work: impl Future<Output = T>) -> Result<T, Cancelled> {
        let Some(state) = call else {
            let closing = self.on_close.notified();
            tokio::pin!(closing);
            // Registered before the flag is read, so a close() in between still wakes this call.
            closing.as_mut().enable();
            if self.is_closed() {
                return Err(Cancelled::Closed);
            }
            return tokio::select! {
                value = work => Ok(value),
                _ = closing => Err(Cancelled::Closed),
            };
        };
        if state.bits.load(Ordering::Acquire) & STOPPED != 0 {
            return Err(state.reason());
        }
        // No wait on `on_close` of its own: `cancel_all` stops every registered call through its
        // `stop`, and `register` one registered after it (both on the JS thread). One wait per
        // poll instead of two (bench/RESULTS.md "Per-mint trims round"). Once the client is
        // closed the call ends as closed, as when both waits were ready at once.
        tokio::select! {
            biased;
            _ = state.stop.notified() => Err(if self.is_closed() { Cancelled::Closed } else { state.reason() }),
            value = CALL.scope(Arc::clone(state), work) => Ok(value),
        }
    }

    /// Forgets the call registered under `ticket` (unless the ticket was reused since).
    pub fn finish(&self, ticket: u32, state: &Arc<CallState>) {
        let mut calls = self.lock();
        if calls.get(&ticket).is_some_and(|s| Arc::ptr_eq(s, state)) {
            calls.remove(&ticket);
        }
    }

    /// Stops the call registered under `ticket`; `None` when it already finished.
    pub fn cancel(&self, ticket: u32) -> Option<Stopped> {
        let state = self.lock().remove(&ticket)?;
        state.stop(ABORTED)
    }

    /// Stops every call in flight and every later one (used by `close()`); returns the tickets
    /// of the mints that may have minted, with their keys.
    pub fn cancel_all(&self) -> Vec<(u32, Stopped)> {
        self.closed.store(true, Ordering::Release);
        let calls: Vec<_> = self.lock().drain().collect();
        self.on_close.notify_waiters();
        calls
            .into_iter()
            .filter_map(|(ticket, state)| state.stop(CLOSED).filter(|s| s.may_have_minted).map(|s| (ticket, s)))
            .collect()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Calls registered (submitted with a signal, or mints) and not yet finished.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<CallState>>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    fn call(c: &Cancellations, ticket: u32, mints: bool) -> Arc<CallState> {
        c.register(ticket, mints)
    }

    #[test]
    fn finishes_without_a_token() {
        let c = Cancellations::default();
        assert_eq!(runtime().block_on(c.run(None, async { 7 })), Ok(7));
    }

    #[test]
    fn cancel_stops_the_work_at_once() {
        let rt = runtime();
        let c = Arc::new(Cancellations::default());
        let c2 = c.clone();
        let outcome = rt.block_on(async move {
            let registered = call(&c2, 1, false);
            let work = c2.run(Some(&registered), tokio::time::sleep(Duration::from_secs(30)));
            let canceller = async {
                tokio::task::yield_now().await;
                assert_eq!(c.cancel(1), Some(Stopped { may_have_minted: false, key: None }));
            };
            tokio::join!(work, canceller).0
        });
        assert_eq!(outcome, Err(Cancelled::Aborted));
    }

    /// An abort and then `close()`, both before the call is polled again: it ends as closed,
    /// as when the call also waited on the client's close signal.
    #[test]
    fn an_abort_then_a_close_before_the_next_poll_end_the_call_as_closed() {
        let rt = runtime();
        let c = Arc::new(Cancellations::default());
        let registered = call(&c, 5, false);
        let outcome = rt.block_on(async {
            let work = c.run(Some(&registered), std::future::pending::<()>());
            let stopper = async {
                tokio::task::yield_now().await;
                assert!(c.cancel(5).is_some());
                c.cancel_all();
            };
            tokio::join!(work, stopper).0
        });
        assert_eq!(outcome, Err(Cancelled::Closed));
    }

    #[test]
    fn a_cancel_before_the_call_runs_is_not_lost() {
        let c = Cancellations::default();
        let registered = call(&c, 4, true);
        assert_eq!(c.cancel(4), Some(Stopped { may_have_minted: false, key: None }));
        let mut sent = false;
        let outcome = runtime().block_on(c.run(Some(&registered), async {
            attempt_begins()?;
            sent = true;
            Ok::<_, ClientError>(())
        }));
        assert_eq!(outcome, Err(Cancelled::Aborted));
        assert!(!sent);
    }

    /// A mint stopped while an attempt is in flight, or after one that may have been processed,
    /// reports it with its key; one stopped between attempts that proved nothing was processed
    /// does not.
    #[test]
    fn stopping_a_mint_reports_whether_it_may_have_minted() {
        let rt = runtime();
        let unprocessed =
            || ClientError::Http { status: 503, status_text: String::new(), retry_after: None, backend_failed: false };
        let unknown = || ClientError::Timeout { after_ms: 1, phase: crate::error::Phase::Exchange };
        for (script, in_flight, expected) in [
            (vec![], true, true),
            (vec![Some(unprocessed())], false, false),
            (vec![Some(unprocessed())], true, true),
            (vec![Some(unknown())], false, true),
            (vec![None], false, true),
        ] {
            let c = Arc::new(Cancellations::default());
            let registered = call(&c, 1, true);
            let (tx, rx) = tokio::sync::oneshot::channel();
            let work = async move {
                note_key("key-7");
                for failure in &script {
                    attempt_begins().unwrap();
                    attempt_ends(failure.as_ref());
                }
                if in_flight {
                    attempt_begins().unwrap();
                }
                let _ = tx.send(());
                std::future::pending::<()>().await
            };
            let stopped = rt.block_on(async {
                let canceller = async {
                    rx.await.unwrap();
                    c.cancel(1)
                };
                tokio::join!(c.run(Some(&registered), work), canceller)
            });
            assert_eq!(stopped.0, Err(Cancelled::Aborted));
            let key = expected.then(|| "key-7".to_owned());
            assert_eq!(stopped.1, Some(Stopped { may_have_minted: expected, key }), "{in_flight} {expected}");
        }
    }

    #[test]
    fn close_reports_the_mints_that_may_have_minted() {
        let rt = runtime();
        let c = Arc::new(Cancellations::default());
        let (mint, other, idle) = (call(&c, 1, true), call(&c, 2, false), call(&c, 3, true));
        let outcomes = rt.block_on(async {
            let sending = |key: &'static str| async move {
                note_key(key);
                attempt_begins().unwrap();
                std::future::pending::<()>().await
            };
            let closer = async {
                tokio::task::yield_now().await;
                c.cancel_all()
            };
            let (a, b, _, stopped) = tokio::join!(
                c.run(Some(&mint), sending("k1")),
                c.run(Some(&other), sending("k2")),
                c.run(Some(&idle), std::future::pending::<()>()),
                closer
            );
            (a, b, stopped)
        });
        assert_eq!((outcomes.0, outcomes.1), (Err(Cancelled::Closed), Err(Cancelled::Closed)));
        assert_eq!(outcomes.2, [(1, Stopped { may_have_minted: true, key: Some("k1".into()) })]);
        // A call registered after close() is stopped before it runs.
        let late = call(&c, 9, true);
        assert_eq!(rt.block_on(c.run(Some(&late), async { 1 })), Err(Cancelled::Closed));
    }

    #[test]
    fn cancel_all_stops_every_call_with_or_without_a_token_and_every_later_one() {
        let rt = runtime();
        let c = Arc::new(Cancellations::default());
        let outcomes = rt.block_on(async {
            let slow = || tokio::time::sleep(Duration::from_secs(30));
            let closer = async {
                tokio::task::yield_now().await;
                c.cancel_all();
            };
            let registered = call(&c, 9, false);
            let (a, b, _) = tokio::join!(c.run(None, slow()), c.run(Some(&registered), slow()), closer);
            let later = c.run(None, async { 1 }).await;
            (a, b, later)
        });
        assert_eq!(outcomes, (Err(Cancelled::Closed), Err(Cancelled::Closed), Err(Cancelled::Closed)));
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn finished_calls_are_forgotten() {
        let c = Cancellations::default();
        let registered = call(&c, 3, true);
        runtime()
            .block_on(c.run(Some(&registered), async {
                attempt_begins().unwrap();
                attempt_ends(None);
            }))
            .unwrap();
        // Until its outcome is handed over, a stop still finds it (and that it minted).
        assert_eq!(c.pending(), 1);
        let stale = call(&c, 3, true);
        c.finish(3, &registered);
        assert_eq!(c.pending(), 1, "a reused ticket is not forgotten");
        c.finish(3, &stale);
        assert_eq!(c.pending(), 0);
        assert_eq!(c.cancel(3), None);
    }

    #[test]
    fn a_stop_after_the_work_finished_still_reports_it() {
        let c = Cancellations::default();
        let registered = call(&c, 5, true);
        runtime()
            .block_on(c.run(Some(&registered), async {
                note_key("k5");
                attempt_begins().unwrap();
                attempt_ends(None);
            }))
            .unwrap();
        assert_eq!(c.cancel(5), Some(Stopped { may_have_minted: true, key: Some("k5".into()) }));
    }
}
