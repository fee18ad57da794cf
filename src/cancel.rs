//! Cancellation of in-flight calls: one call by token (the JS side cancels a call whose
//! AbortSignal fired), or every call at once when the client is closed. Dropping the call's
//! future stops the request, its sockets and any pending retry.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::{oneshot, Notify};

/// Why a call was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// Its AbortSignal fired.
    Aborted,
    /// The client was closed.
    Closed,
}

#[derive(Default)]
pub struct Cancellations {
    pending: Mutex<HashMap<u32, oneshot::Sender<()>>>,
    closed: AtomicBool,
    /// Wakes every call when the client closes; calls without a token wait only on this.
    on_close: Notify,
}

impl Cancellations {
    /// Runs `work` until it finishes, `token` is cancelled, or the client is closed.
    pub async fn run<T>(&self, token: Option<u32>, work: impl Future<Output = T>) -> Result<T, Cancelled> {
        let closing = self.on_close.notified();
        tokio::pin!(closing);
        // Registered before the flag is read, so a close() in between still wakes this call.
        closing.as_mut().enable();
        if self.is_closed() {
            return Err(Cancelled::Closed);
        }
        let Some(token) = token else {
            return tokio::select! {
                value = work => Ok(value),
                _ = closing => Err(Cancelled::Closed),
            };
        };
        let (tx, rx) = oneshot::channel();
        self.lock().insert(token, tx);
        let outcome = tokio::select! {
            biased;
            _ = closing => Err(Cancelled::Closed),
            _ = rx => Err(Cancelled::Aborted),
            value = work => Ok(value),
        };
        self.lock().remove(&token);
        outcome
    }

    /// Cancels the call registered under `token`; false when it already finished.
    pub fn cancel(&self, token: u32) -> bool {
        self.lock().remove(&token).is_some_and(|tx| tx.send(()).is_ok())
    }

    /// Stops every call in flight and every later one (used by `close()`).
    pub fn cancel_all(&self) {
        self.closed.store(true, Ordering::Release);
        self.on_close.notify_waiters();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, oneshot::Sender<()>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
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
            let work = c2.run(Some(1), tokio::time::sleep(Duration::from_secs(30)));
            let canceller = async {
                tokio::task::yield_now().await;
                assert!(c.cancel(1));
            };
            tokio::join!(work, canceller).0
        });
        assert_eq!(outcome, Err(Cancelled::Aborted));
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
            let (a, b, _) = tokio::join!(c.run(None, slow()), c.run(Some(9), slow()), closer);
            let later = c.run(None, async { 1 }).await;
            (a, b, later)
        });
        assert_eq!(outcomes, (Err(Cancelled::Closed), Err(Cancelled::Closed), Err(Cancelled::Closed)));
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn finished_calls_are_forgotten() {
        let c = Cancellations::default();
        assert_eq!(runtime().block_on(c.run(Some(3), async { 1 })), Ok(1));
        assert_eq!(c.pending(), 0);
        assert!(!c.cancel(3));
    }
}
