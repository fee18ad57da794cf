//! Counts of what the native side holds, process-wide, for the leak check
//! (`scripts/leak-check.js`, docs/TESTING.md "Leak check"), and the other test hooks of the
//! binding: not part of the public API. Each is refused (`ERR_CHITTYID_TEST_HOOKS_DISABLED`)
//! unless the process set `CHITTYID_TEST_HOOKS=1` ([`require_test_hooks`]), as the repository's
//! test setup does: the binding is exported as a whole, and a user who called one could stall
//! the client. The same binary serves tests and users.

use napi_derive::napi;

/// The environment variable that enables the test hooks: test-only (docs/TESTING.md).
pub const TEST_HOOKS_ENV: &str = "CHITTYID_TEST_HOOKS";

/// Ok when the process enabled the test hooks (`CHITTYID_TEST_HOOKS=1`, read at each call, so
/// a test may set it in `process.env` before the first one); else the refusal of `hook`.
pub fn require_test_hooks(hook: &str) -> napi::Result<(), &'static str> {
    if std::env::var_os(TEST_HOOKS_ENV).is_some_and(|v| v == "1") {
        Ok(())
    } else {
        Err(crate::bindings::errors::refuse_test_hook(hook, TEST_HOOKS_ENV))
    }
}

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

/// The counts of [`NativeCounts`]. Test hook.
#[napi(catch_unwind)]
pub fn native_counts() -> napi::Result<NativeCounts, &'static str> {
    require_test_hooks("nativeCounts")?;
    Ok(NativeCounts {
        clients: count(crate::client::live_clients()),
        io_tasks: count(crate::rt::runtime::alive_tasks()),
        fetches_waiting: count(crate::transport::fetch::waiting_count()),
    })
}

/// For the test of `close()`'s bound (`__test__/close-waits.test.mjs`): keeps the I/O thread busy
/// for `ms` (at most 60 s), as work that cannot be stopped in time would. Test hook.
#[napi(catch_unwind)]
pub fn stall_io_thread(ms: u32) -> napi::Result<(), &'static str> {
    require_test_hooks("stallIoThread")?;
    let ms = u64::from(ms.min(60_000));
    crate::rt::runtime::spawn(async move { std::thread::sleep(std::time::Duration::from_millis(ms)) });
    Ok(())
}
