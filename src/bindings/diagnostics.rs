//! Counts of what the native side holds, process-wide, for the leak check
//! (`scripts/leak-check.js`, docs/TESTING.md "Leak check"): not part of the public API.

use napi_derive::napi;

/// What the native side holds now, all threads' clients together.
#[napi(object)]
pub struct NativeCounts {
    /// Core clients alive (a dropped, collected client is gone from here).
    pub clients: u32,
    /// Tasks alive on the I/O thread: calls in flight, connection managers, probes.
    pub io_tasks: u32,
    /// Fetch-transport exchanges waiting for JS's answer.
    pub fetches_waiting: u32,
}

/// One client's native bookkeeping (`NativeClient::internal_counts`).
#[napi(object)]
pub struct ClientCounts {
    /// Ids with a validation in flight (concurrent callers share it).
    pub flights: u32,
    /// Calls registered for an abort or `close()` (with a signal, or mints) and not finished.
    pub registered_calls: u32,
    /// Outcomes queued for JS and not yet taken.
    pub queued_outcomes: u32,
}

pub fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The counts of [`NativeCounts`].
#[napi(catch_unwind)]
pub fn native_counts() -> NativeCounts {
    NativeCounts {
        clients: count(crate::client::live_clients()),
        io_tasks: count(crate::rt::runtime::alive_tasks()),
        fetches_waiting: count(crate::transport::fetch::waiting_count()),
    }
}

/// For the test of `close()`'s bound (`__test__/close-waits.test.mjs`): keeps the I/O thread busy
/// for `ms` (at most 60 s), as work that cannot be stopped in time would. Not part of the public
/// API.
#[napi(catch_unwind)]
pub fn stall_io_thread(ms: u32) {
    let ms = u64::from(ms.min(60_000));
    crate::rt::runtime::spawn(async move { std::thread::sleep(std::time::Duration::from_millis(ms)) });
}
