//! Bulkhead: at most `max_concurrent` calls of a client in flight, at most `max_queue` more
//! waiting for a slot (first come, first served); beyond that a call fails at once with
//! `EBULKHEADFULL` (docs/ARCHITECTURE.md, "Bulkhead"). A wait is bounded by the call's budget
//! (its timeout); an AbortSignal or `close()` ends it by dropping the call. A rejection never
//! reaches the circuit breaker: nothing was sent.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ClientError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkheadConfig {
    pub max_concurrent: u32,
    /// Calls that may wait for a slot; 0 = fail at once when every slot is taken.
    pub max_queue: u32,
}

/// Calls that may wait for a slot when `maxQueue` is left out: none, so a full bulkhead fails
/// fast (as cockatiel's and resilience4j's do by default).
pub const DEFAULT_MAX_QUEUE: u32 = crate::option_table::BULKHEAD_MAX_QUEUE;

impl BulkheadConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_concurrent == 0 {
            return Err("bulkhead.maxConcurrent must be at least 1".into());
        }
        Ok(())
    }
}

pub struct Bulkhead {
    config: BulkheadConfig,
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    rejected: AtomicU64,
}

/// A slot in the bulkhead, given back when dropped.
pub struct BulkheadPermit(#[allow(dead_code)] OwnedSemaphorePermit);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkheadSnapshot {
    pub config: BulkheadConfig,
    pub in_flight: usize,
    pub queued: usize,
    /// Calls failed with EBULKHEADFULL (queue full, or no slot within their timeout).
    pub rejected: u64,
}

/// Takes the caller out of the queue count however its wait ends (slot, timeout, drop).
struct QueueSeat<'a>(&'a AtomicUsize);

impl Drop for QueueSeat<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl Bulkhead {
    /// Expects a validated config.
    pub fn new(config: BulkheadConfig) -> Self {
        let slots = Arc::new(Semaphore::new(config.max_concurrent.max(1) as usize));
        Self { config, slots, queued: AtomicUsize::new(0), rejected: AtomicU64::new(0) }
    }

    /// A slot now, or after waiting in the queue for at most `wait_budget_ms`.
    pub async fn enter(&self, wait_budget_ms: u64) -> Result<BulkheadPermit, ClientError> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(BulkheadPermit(permit));
        }
        if self.queued.fetch_add(1, Relaxed) >= self.config.max_queue as usize {
            self.queued.fetch_sub(1, Relaxed);
            return Err(self.reject(None));
        }
        let _seat = QueueSeat(&self.queued);
        let wait = Arc::clone(&self.slots).acquire_owned();
        match tokio::time::timeout(Duration::from_millis(wait_budget_ms), wait).await {
            Ok(Ok(permit)) => Ok(BulkheadPermit(permit)),
            // The semaphore is never closed; treat it like a timeout all the same.
            Ok(Err(_)) | Err(_) => Err(self.reject(Some(wait_budget_ms))),
        }
    }

    fn reject(&self, waited_ms: Option<u64>) -> ClientError {
        self.rejected.fetch_add(1, Relaxed);
        ClientError::BulkheadFull {
            max_concurrent: self.config.max_concurrent,
            max_queue: self.config.max_queue,
            waited_ms,
        }
    }

    pub fn snapshot(&self) -> BulkheadSnapshot {
        let free = self.slots.available_permits();
        BulkheadSnapshot {
            config: self.config.clone(),
            in_flight: (self.config.max_concurrent as usize).saturating_sub(free),
            queued: self.queued.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
    }

    #[test]
    fn config_needs_a_slot() {
        assert!(BulkheadConfig { max_concurrent: 0, max_queue: 5 }.validate().is_err());
        assert!(BulkheadConfig { max_concurrent: 1, max_queue: 0 }.validate().is_ok());
    }

    #[test]
    fn beyond_slots_and_queue_calls_fail_fast_with_their_own_code() {
        runtime().block_on(async {
            let b = Arc::new(Bulkhead::new(BulkheadConfig { max_concurrent: 2, max_queue: 1 }));
            let first = b.enter(0).await.unwrap();
            let _second = b.enter(0).await.unwrap();
            // The third waits in the queue; the fourth finds the queue full.
            let waiter = tokio::spawn({
                let b = b.clone();
                async move { b.enter(10_000).await.map(drop) }
            });
            tokio::task::yield_now().await;
            assert_eq!(b.snapshot().queued, 1);
            let err = b.enter(10_000).await.map(drop).unwrap_err();
            assert_eq!(err.code(), "EBULKHEADFULL");
            assert!(err.to_string().contains("2 calls in flight and 1 queued"), "{err}");
            assert!(
                !err.may_have_reached_service()
                    && !err.counts_as_service_failure()
                    && !crate::policy::retry::is_retryable(&err)
            );
            // A slot freed goes to the queued call.
            drop(first);
            waiter.await.unwrap().unwrap();
            let s = b.snapshot();
            assert_eq!((s.in_flight, s.queued, s.rejected), (1, 0, 1));
        });
    }

    #[test]
    fn a_queued_call_waits_no_longer_than_its_budget() {
        runtime().block_on(async {
            let b = Bulkhead::new(BulkheadConfig { max_concurrent: 1, max_queue: 10 });
            let _held = b.enter(0).await.unwrap();
            let started = std::time::Instant::now();
            let err = b.enter(30).await.map(drop).unwrap_err();
            let waited = started.elapsed();
            assert!(waited >= Duration::from_millis(30) && waited < Duration::from_millis(500), "{waited:?}");
            assert_eq!(err, ClientError::BulkheadFull { max_concurrent: 1, max_queue: 10, waited_ms: Some(30) });
            assert_eq!(b.snapshot().queued, 0, "the timed-out call left the queue");
        });
    }

    #[test]
    fn a_dropped_waiter_leaves_the_queue() {
        runtime().block_on(async {
            let b = Bulkhead::new(BulkheadConfig { max_concurrent: 1, max_queue: 1 });
            let _held = b.enter(0).await.unwrap();
            {
                let wait = b.enter(10_000);
                tokio::pin!(wait);
                assert!(futures_poll_once(wait.as_mut()).await.is_none());
                assert_eq!(b.snapshot().queued, 1);
            }
            assert_eq!(b.snapshot().queued, 0);
            assert_eq!(b.snapshot().rejected, 0, "an abandoned wait is not a rejection");
        });
    }

    /// Polls `f` once: `Some` if it finished.
    async fn futures_poll_once<F: std::future::Future + Unpin>(mut f: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| match std::pin::Pin::new(&mut f).poll(cx) {
            std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
            std::task::Poll::Pending => std::task::Poll::Ready(None),
        })
        .await
    }
}
