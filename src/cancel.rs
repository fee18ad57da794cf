//! Cancellation of in-flight calls by token: the JS side registers a token for a call made
//! with an AbortSignal and cancels it on abort. Dropping the call's future stops the request
//! and any pending retry.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use tokio::sync::oneshot;

#[derive(Default)]
pub struct Cancellations {
    pending: Mutex<HashMap<u32, oneshot::Sender<()>>>,
}

impl Cancellations {
    /// Runs `work` until it finishes or `token` is cancelled (then `None`).
    pub async fn run<T>(&self, token: Option<u32>, work: impl Future<Output = T>) -> Option<T> {
        let Some(token) = token else { return Some(work.await) };
        let (tx, rx) = oneshot::channel();
        self.lock().insert(token, tx);
        let outcome = tokio::select! {
            value = work => Some(value),
            _ = rx => None,
        };
        self.lock().remove(&token);
        outcome
    }

    /// Cancels the call registered under `token`; false when it already finished.
    pub fn cancel(&self, token: u32) -> bool {
        self.lock().remove(&token).is_some_and(|tx| tx.send(()).is_ok())
    }

    /// Cancels every pending call (used by `close()`).
    pub fn cancel_all(&self) {
        for (_, tx) in self.lock().drain() {
            let _ = tx.send(());
        }
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
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn finishes_without_a_token() {
        let c = Cancellations::default();
        assert_eq!(runtime().block_on(c.run(None, async { 7 })), Some(7));
    }

    #[test]
    fn cancel_stops_the_work_at_once() {
        let rt = runtime();
        let c = std::sync::Arc::new(Cancellations::default());
        let c2 = c.clone();
        let outcome = rt.block_on(async move {
            let work = c2.run(Some(1), tokio::time::sleep(Duration::from_secs(30)));
            let canceller = async {
                tokio::task::yield_now().await;
                assert!(c.cancel(1));
            };
            tokio::join!(work, canceller).0
        });
        assert_eq!(outcome, None);
    }

    #[test]
    fn finished_calls_are_forgotten() {
        let c = Cancellations::default();
        assert_eq!(runtime().block_on(c.run(Some(3), async { 1 })), Some(1));
        assert_eq!(c.pending(), 0);
        assert!(!c.cancel(3));
    }
}
