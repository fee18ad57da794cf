//! The I/O thread: one current-thread tokio runtime for every client of the process (and of
//! every worker thread in it). One thread means no work stealing and no cross-worker
//! wake-ups; a current-thread scheduler keeps each task switch cheap.
//!
//! Work from other threads (the JS threads) arrives through one channel read by a dispatcher
//! task, not through `Handle::spawn`: a remote spawn wakes the I/O thread every time, while
//! the channel wakes it only when the dispatcher is waiting, so a burst of calls submitted in
//! one turn of the JS event loop costs one wake-up.
//!
//! The other direction works the same way: code on the I/O thread that must wake another
//! thread (a JS thread waiting for outcomes) defers that with [`when_idle`] until the runtime
//! has nothing left to run and a last non-blocking look for I/O events found nothing more for
//! it. Waking at once would, with both threads sharing a CPU, switch to the JS thread after
//! nearly every answer; deferred, one switch delivers all that arrived meanwhile.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use tokio::runtime::Builder;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::Notify;

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Something to run on the I/O thread once it is about to wait for events.
pub trait IdleTask: Send + Sync {
    fn run_idle(&self);
}

thread_local! {
    static ON_IO_THREAD: Cell<bool> = const { Cell::new(false) };
    static IDLE_TASKS: RefCell<Vec<Arc<dyn IdleTask>>> = const { RefCell::new(Vec::new()) };
    /// Bumped by [`note_progress`]; compared at each park to see whether the last round of
    /// work produced anything for the idle tasks to deliver.
    static PROGRESS: Cell<u64> = const { Cell::new(0) };
    static PROGRESS_AT_LAST_PARK: Cell<u64> = const { Cell::new(0) };
    static EXTRA_ROUNDS: Cell<u32> = const { Cell::new(0) };
}

/// Wakes the dispatcher without giving it work: the runtime then polls for I/O events once
/// without blocking and runs what they woke, instead of parking.
static ONE_MORE_ROUND: Notify = Notify::const_new();

/// How many times in a row the idle tasks may be put off while each round still makes
/// progress; bounds their delay when answers keep arriving.
const MAX_EXTRA_ROUNDS: u32 = 32;

/// Records that work was done which an idle task will deliver (an answer was queued).
pub fn note_progress() {
    PROGRESS.with(|p| p.set(p.get().wrapping_add(1)));
}

/// Runs before the I/O thread would block. "Nothing left to run" is not yet "idle": events may
/// already be waiting in the driver. While the last round still produced progress, take one
/// more non-blocking round first, so one wake-up of JS carries every answer that has arrived.
fn before_park() {
    if IDLE_TASKS.with(|t| t.borrow().is_empty()) {
        return;
    }
    let progress = PROGRESS.with(Cell::get);
    let progressed = PROGRESS_AT_LAST_PARK.with(|p| p.replace(progress)) != progress;
    let rounds = EXTRA_ROUNDS.with(Cell::get);
    if progressed && rounds < MAX_EXTRA_ROUNDS {
        EXTRA_ROUNDS.with(|r| r.set(rounds + 1));
        ONE_MORE_ROUND.notify_one();
        return;
    }
    EXTRA_ROUNDS.with(|r| r.set(0));
    run_idle_tasks();
}

fn run_idle_tasks() {
    // Taken out first: a task may defer more work, which then waits for the next park.
    let tasks = IDLE_TASKS.with(|t| std::mem::take(&mut *t.borrow_mut()));
    for task in &tasks {
        task.run_idle();
    }
    IDLE_TASKS.with(|t| {
        let mut list = t.borrow_mut();
        if list.is_empty() {
            // Keep the allocation for the next round.
            *list = tasks;
            list.clear();
        }
    });
}

/// Runs `task` when the I/O thread next runs out of work, and returns true; returns false
/// (and does nothing) when called from any other thread, where the caller should act now.
pub fn when_idle(task: Arc<dyn IdleTask>) -> bool {
    if !ON_IO_THREAD.with(Cell::get) {
        return false;
    }
    IDLE_TASKS.with(|t| t.borrow_mut().push(task));
    true
}

struct IoThread {
    jobs: UnboundedSender<Job>,
    handle: tokio::runtime::Handle,
}

fn io_thread() -> &'static IoThread {
    static IO: OnceLock<IoThread> = OnceLock::new();
    IO.get_or_init(|| {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .on_thread_park(before_park)
            .build()
            .expect("cannot build the chittyid I/O runtime");
        let handle = runtime.handle().clone();
        let (tx, mut rx) = unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("chittyid-io".into())
            .spawn(move || {
                ON_IO_THREAD.with(|f| f.set(true));
                runtime.block_on(async move {
                    loop {
                        tokio::select! {
                            job = rx.recv() => match job {
                                Some(job) => drop(tokio::spawn(job)),
                                None => break,
                            },
                            () = ONE_MORE_ROUND.notified() => {}
                        }
                    }
                })
            })
            .expect("cannot start the chittyid I/O thread");
        IoThread { jobs: tx, handle }
    })
}

/// Runs `fut` on the I/O thread.
pub fn spawn<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    // The receiver lives as long as the process; a send can only fail during teardown.
    let _ = io_thread().jobs.send(Box::pin(fut));
}

/// Runs `fut` on the I/O thread and returns its handle, to abort it or wait for it. For
/// long-lived tasks started rarely (the connection monitor): unlike [`spawn`], every call
/// wakes the I/O thread.
pub fn spawn_tracked<F>(fut: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    io_thread().handle.spawn(fut)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::IdleTask;
    use std::time::Instant;

    #[test]
    fn runs_tasks_on_the_io_thread() {
        let (tx, rx) = std::sync::mpsc::channel();
        super::spawn(async move {
            tx.send(std::thread::current().name().map(str::to_owned)).unwrap();
        });
        let name = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(name.as_deref(), Some("chittyid-io"));
    }

    #[test]
    fn tracked_tasks_run_on_the_io_thread_and_can_be_aborted() {
        let (tx, rx) = std::sync::mpsc::channel();
        let task = super::spawn_tracked(async move {
            tx.send(std::thread::current().name().map(str::to_owned)).unwrap();
            std::future::pending::<()>().await;
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap().as_deref(), Some("chittyid-io"));
        task.abort();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !task.is_finished() {
            assert!(Instant::now() < deadline, "the aborted task did not finish");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    struct Probe {
        runs: AtomicUsize,
        done: std::sync::Mutex<Option<std::sync::mpsc::Sender<usize>>>,
    }

    impl IdleTask for Probe {
        fn run_idle(&self) {
            let runs = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(tx) = self.done.lock().unwrap().as_ref() {
                let _ = tx.send(runs);
            }
        }
    }

    #[test]
    fn idle_tasks_wait_until_the_io_thread_runs_out_of_work() {
        let (tx, rx) = std::sync::mpsc::channel();
        let probe = Arc::new(Probe { runs: AtomicUsize::new(0), done: std::sync::Mutex::new(Some(tx)) });
        let seen = Arc::clone(&probe);
        let (busy_tx, busy_rx) = std::sync::mpsc::channel();
        super::spawn(async move {
            assert!(super::when_idle(seen.clone()));
            // Still busy: more work queued behind this task runs before the idle task.
            for _ in 0..10 {
                tokio::task::yield_now().await;
                busy_tx.send(seen.runs.load(Ordering::SeqCst)).unwrap();
            }
        });
        for _ in 0..10 {
            assert_eq!(busy_rx.recv_timeout(Duration::from_secs(5)).unwrap(), 0);
        }
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
    }

    #[test]
    fn other_threads_are_told_to_act_now() {
        let probe = Arc::new(Probe { runs: AtomicUsize::new(0), done: std::sync::Mutex::new(None) });
        assert!(!super::when_idle(probe));
    }
}
