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
//! nearly every answer; deferred, one switch delivers all that arrived meanwhile. Having
//! woken them, it spins briefly before blocking ([`spin_for_work`]), so the call a JS thread
//! sends in answer reaches it without a wake-up.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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
    /// Jobs from [`spawn`] started and not yet finished.
    static IN_FLIGHT: Cell<usize> = const { Cell::new(0) };
    /// Idle episodes left without a spin (see [`SPIN_BACKOFF`]).
    static SPIN_SKIPS: Cell<u32> = const { Cell::new(0) };
}

/// Wakes the dispatcher without giving it work: the runtime then polls for I/O events once
/// without blocking and runs what they woke, instead of parking.
static ONE_MORE_ROUND: Notify = Notify::const_new();

/// How many times in a row the idle tasks may be put off while each round still makes
/// progress; bounds their delay when answers keep arriving.
const MAX_EXTRA_ROUNDS: u32 = 32;

/// Jobs sent by [`spawn`] so far; the spin in [`before_park`] watches it.
static SUBMITTED: AtomicU64 = AtomicU64::new(0);

/// While the I/O thread spins ([`spin_for_work`]), [`spawn`] leaves jobs here instead of in the
/// channel, which would wake the thread through the driver (a syscall on the submitting JS
/// thread). The flag changes only under this lock, so no job is left behind when a spin ends.
static HANDOVER: Mutex<Handover> = Mutex::new(Handover { spinning: false, jobs: Vec::new() });

struct Handover {
    spinning: bool,
    jobs: Vec<Job>,
}

/// How long the I/O thread keeps yielding its CPU after waking JS threads, before it blocks,
/// watching for the next job; `CHITTYID_IO_SPIN_US` overrides it (0 turns the spin off), for
/// measurements.
fn spin_budget() -> Duration {
    static BUDGET: OnceLock<Duration> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        let us =
            std::env::var("CHITTYID_IO_SPIN_US").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(DEFAULT_SPIN_US);
        Duration::from_micros(us.min(1000))
    })
}

const DEFAULT_SPIN_US: u64 = 50;

/// After a spin that found no job, this many idle episodes go without one: callers whose calls
/// are not chained (one now and then) pay for one spin in this many.
const SPIN_BACKOFF: u32 = 16;

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
    // With no job in flight no answer can still arrive: deliver now (a lone caller's case).
    if progressed && rounds < MAX_EXTRA_ROUNDS && IN_FLIGHT.with(Cell::get) > 0 {
        EXTRA_ROUNDS.with(|r| r.set(rounds + 1));
        ONE_MORE_ROUND.notify_one();
        return;
    }
    EXTRA_ROUNDS.with(|r| r.set(0));
    let submitted = SUBMITTED.load(Ordering::Acquire);
    run_idle_tasks();
    spin_for_work(submitted);
}

/// Right after waking JS threads, the next job is usually a reaction to what they were given
/// (a caller awaiting one call after another). Blocking now would cost that job a wake-up of
/// this thread (a syscall on the JS thread, and a context switch when both share a CPU);
/// instead the I/O thread yields its CPU, to the JS thread just woken when they share one, for
/// up to the spin budget, and stops as soon as a job was sent. Jobs sent meanwhile are handed
/// over without a wake-up and started here, so the park that follows does not block. A spin
/// that found nothing makes the next [`SPIN_BACKOFF`] idle episodes skip it.
fn spin_for_work(submitted: u64) {
    let budget = spin_budget();
    if budget.is_zero() {
        return;
    }
    let skips = SPIN_SKIPS.with(Cell::get);
    if skips > 0 {
        SPIN_SKIPS.with(|s| s.set(skips - 1));
        return;
    }
    handover().spinning = true;
    let start = Instant::now();
    let found = loop {
        std::thread::yield_now();
        if SUBMITTED.load(Ordering::Acquire) != submitted {
            break true;
        }
        if start.elapsed() >= budget {
            break false;
        }
    };
    let jobs = {
        let mut handover = handover();
        handover.spinning = false;
        std::mem::take(&mut handover.jobs)
    };
    // Still inside the runtime (the park hook): these are queued locally and run before it parks.
    for job in jobs {
        start_job(job);
    }
    if !found {
        SPIN_SKIPS.with(|s| s.set(SPIN_BACKOFF - 1));
    }
}

fn handover() -> std::sync::MutexGuard<'static, Handover> {
    HANDOVER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts a job from [`spawn`] on the I/O thread, counted in [`IN_FLIGHT`] until it ends.
fn start_job(job: Job) {
    let counted = InFlight::start();
    drop(tokio::spawn(async move {
        job.await;
        drop(counted);
    }));
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

/// Counts a job in [`IN_FLIGHT`] until dropped (also when the job panics).
struct InFlight;

impl InFlight {
    fn start() -> Self {
        IN_FLIGHT.with(|n| n.set(n.get() + 1));
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.with(|n| n.set(n.get().saturating_sub(1)));
    }
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
                                Some(job) => start_job(job),
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
    let job: Job = Box::pin(fut);
    let io = io_thread();
    {
        let mut handover = handover();
        if handover.spinning {
            handover.jobs.push(job);
            SUBMITTED.fetch_add(1, Ordering::Release);
            return;
        }
    }
    // The receiver lives as long as the process; a send can only fail during teardown.
    let _ = io.jobs.send(job);
    SUBMITTED.fetch_add(1, Ordering::Release);
}

/// Tasks alive on the I/O thread (calls, timers' owners, connection managers, probes): the
/// leak check's count of native work that never ended.
pub fn alive_tasks() -> usize {
    io_thread().handle.metrics().num_alive_tasks()
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

    /// Wakes a waiting thread when the I/O thread goes idle, as a JS thread's wake-up does.
    struct Ping(std::sync::mpsc::Sender<()>);

    impl IdleTask for Ping {
        fn run_idle(&self) {
            let _ = self.0.send(());
        }
    }

    #[test]
    fn jobs_sent_right_after_a_wake_up_all_run() {
        // A caller awaiting one call after another: each job wakes this thread when the I/O
        // thread goes idle, and this thread sends the next job at once, while the I/O thread
        // spins (`spin_for_work`) or after it parked. None may be stranded in the hand-over.
        let (wake_tx, wake_rx) = std::sync::mpsc::channel();
        let (ran_tx, ran_rx) = std::sync::mpsc::channel();
        for i in 0..300u32 {
            let ping = Arc::new(Ping(wake_tx.clone()));
            let ran = ran_tx.clone();
            super::spawn(async move {
                ran.send(i).unwrap();
                assert!(super::when_idle(ping));
            });
            wake_rx.recv_timeout(Duration::from_secs(5)).expect("the I/O thread did not wake this thread");
        }
        let ran: Vec<u32> = ran_rx.try_iter().collect();
        assert_eq!(ran, (0..300).collect::<Vec<_>>());
    }

    #[test]
    fn other_threads_are_told_to_act_now() {
        let probe = Arc::new(Probe { runs: AtomicUsize::new(0), done: std::sync::Mutex::new(None) });
        assert!(!super::when_idle(probe));
    }
}
