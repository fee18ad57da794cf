//! The line calls wait in for a paced send (the pace after a 429, the client's `rateLimit`):
//! first come, first served, and only the call at its head waits for the clock. Nobody holds a
//! reservation for a future instant, so a call that leaves the line (aborted, closed, its worker
//! thread gone) leaves no gap behind: whoever is next simply becomes the head, however late the
//! leaving call's future is dropped (docs/ARCHITECTURE.md, "Paced line").

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct Line {
    /// Fair (FIFO) and cancel-safe: a waiter whose future is dropped leaves the queue.
    head: Mutex<()>,
    /// Calls joined and not yet gone (waiting, or at the head).
    len: AtomicUsize,
}

/// A call's place at the head of the line; dropping it lets the next call up.
pub struct Place<'a> {
    _head: MutexGuard<'a, ()>,
    _member: Member<'a>,
}

/// Counts the call in the line from joining until its place is dropped, however the wait ends.
struct Member<'a>(&'a AtomicUsize);

impl Drop for Member<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl Line {
    /// Calls in the line now, the head included.
    pub fn count(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Joins the line; resolves when the call is at its head.
    pub async fn join(&self) -> Place<'_> {
        self.len.fetch_add(1, Relaxed);
        let member = Member(&self.len);
        let head = self.head.lock().await;
        Place { _head: head, _member: member }
    }

    /// Joins the line and waits at most `budget_ms` to reach its head, spending the wait from
    /// it; `None` when the budget ran out first (the call has left the line).
    pub async fn join_within(&self, budget_ms: &mut u64) -> Option<Place<'_>> {
        let joined = std::time::Instant::now();
        let place = tokio::time::timeout(Duration::from_millis(*budget_ms), self.join()).await.ok();
        *budget_ms = budget_ms.saturating_sub(joined.elapsed().as_millis() as u64);
        place
    }
}

/// For the gates' tests: 50 calls wait in `line`, one more behind them, the 50 are aborted;
/// returns how long (ms, from its budget) the one behind waited. Each `call()` waits at the
/// gate with 60 s to spare and resolves to its wait.
#[cfg(test)]
pub async fn wait_behind_leavers<Fut>(line: &Line, call: impl Fn() -> Fut) -> u64
where
    Fut: std::future::Future<Output = u64> + Send + 'static,
{
    let leaving: Vec<_> = (0..50).map(|_| tokio::spawn(call())).collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let staying = tokio::spawn(call());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(line.count(), 51);
    for w in &leaving {
        w.abort();
    }
    for w in leaving {
        assert!(w.await.unwrap_err().is_cancelled());
    }
    let waited = staying.await.unwrap();
    assert_eq!(line.count(), 0);
    waited
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn poll<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn first_come_first_served_and_a_leaver_leaves_no_gap() {
        let line = Line::default();
        let first = line.join();
        let mut first = pin!(first);
        let Poll::Ready(head) = poll(first.as_mut()) else { panic!("an empty line has room at the head") };
        let mut second = Box::pin(line.join());
        let mut third = pin!(line.join());
        assert!(poll(second.as_mut()).is_pending());
        assert!(poll(third.as_mut()).is_pending());
        assert_eq!(line.count(), 3);
        drop(second); // leaves while waiting
        assert_eq!(line.count(), 2);
        assert!(poll(third.as_mut()).is_pending(), "the head is still taken");
        drop(head);
        assert_eq!(line.count(), 1);
        assert!(poll(third.as_mut()).is_ready(), "the third is next: nothing is left of the second");
    }

    #[test]
    fn the_head_leaving_lets_the_next_up() {
        let line = Line::default();
        let mut a = Box::pin(line.join());
        let Poll::Ready(head) = poll(a.as_mut()) else { panic!() };
        let mut b = Box::pin(line.join());
        let mut c = Box::pin(line.join());
        assert!(poll(b.as_mut()).is_pending());
        assert!(poll(c.as_mut()).is_pending());
        drop(head);
        assert!(poll(c.as_mut()).is_pending(), "b came first");
        let Poll::Ready(b_head) = poll(b.as_mut()) else { panic!("b is at the head") };
        drop(b_head);
        assert!(poll(c.as_mut()).is_ready());
    }
}
