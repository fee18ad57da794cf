//! The I/O thread: one current-thread tokio runtime for every client of the process (and of
//! every worker thread in it). One thread means no work stealing and no cross-worker
//! wake-ups; a current-thread scheduler keeps each task switch cheap.
//!
//! Work from other threads (the JS threads) arrives through one channel read by a dispatcher
//! task, not through `Handle::spawn`: a remote spawn wakes the I/O thread every time, while
//! the channel wakes it only when the dispatcher is waiting, so a burst of calls submitted in
//! one turn of the JS event loop costs one wake-up.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use tokio::runtime::Builder;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

fn dispatcher() -> &'static UnboundedSender<Job> {
    static SENDER: OnceLock<UnboundedSender<Job>> = OnceLock::new();
    SENDER.get_or_init(|| {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot build the chittyid I/O runtime");
        let (tx, mut rx) = unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("chittyid-io".into())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(job) = rx.recv().await {
                        tokio::spawn(job);
                    }
                })
            })
            .expect("cannot start the chittyid I/O thread");
        tx
    })
}

/// Runs `fut` on the I/O thread.
pub fn spawn<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    // The receiver lives as long as the process; a send can only fail during teardown.
    let _ = dispatcher().send(Box::pin(fut));
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_tasks_on_the_io_thread() {
        let (tx, rx) = std::sync::mpsc::channel();
        super::spawn(async move {
            tx.send(std::thread::current().name().map(str::to_owned)).unwrap();
        });
        let name = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        assert_eq!(name.as_deref(), Some("chittyid-io"));
    }
}
