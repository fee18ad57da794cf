//! The bridge: how a call's outcome gets from the I/O thread to the promise its JS caller
//! holds. JS half: `lib/bridge.js`. The protocol, for one client on one JS thread:
//!
//! 1. **Ticket.** JS takes the next ticket (a `u32` counting from 1, wrapping before
//!    `u32::MAX`), keeps the call's resolve/reject under it and submits the call with it (a
//!    `submit*` method of `NativeClient`, or for mints and validations a free function given the
//!    client's handle, `client::calls`). No native promise is created.
//! 2. **Attach and keep alive.** The first call of a busy period attaches the client's wake-up
//!    handle and references it, in one crossing (`attachCompletions(drain, true)`: a libuv
//!    async handle on that JS thread's loop, [`loop_wake`]), so the process stays alive while
//!    calls are pending.
//! 3. **Complete.** The I/O thread pushes `(ticket, outcome)` onto the client's queue
//!    ([`completions::Completer`]). A push onto an empty queue owes JS one wake-up, sent when
//!    the I/O thread runs out of work (its park hook, `runtime::when_idle`), at once past a
//!    backlog of 256, or at once from any other thread. Sends made before the JS loop gets to
//!    them collapse into one callback. Telemetry records (`bindings::telemetry`) ride the same
//!    wake-up.
//! 4. **Drain.** On the JS thread `drain` is called with (on Windows, or when an abort drains
//!    early, it calls `takeCompletions()` for) one flat array
//!    `[breakerState, ticket, value, ticket, value, ...]` of every outcome ready. A value with a
//!    `code` is an error (`ErrorInfo`); any other value is the result. `breakerState` is 0 while
//!    the circuit is CLOSED, so JS skips its synchronous fail-fast check until it is not. A
//!    ticket JS no longer holds (the call was aborted or the client closed) is ignored.
//! 5. **Idle.** With nothing pending JS waits one loop turn; if still idle then, it detaches
//!    the handle (`detachCompletions()`), which also lets the loop go: an idle client holds no
//!    native handle. A call chained on the one that just settled (submitted from the drain's
//!    microtasks) finds the handle attached and referenced, so a caller awaiting calls one
//!    after another pays one crossing per call (the submission). Outcomes that arrive while it
//!    is detached wait in the queue.
//!
//! Events (`bindings::events`) take another road: one weak threadsafe function per client,
//! created when the first listener is added. They arrive while no call is pending (health
//! checks of the connection manager, a breaker reopening after the last call), when this
//! bridge's handle is detached by design; they are few, so the queue lock of a threadsafe
//! function costs nothing that matters; and its bounded queue drops events rather than ever
//! blocking the I/O thread. docs/ARCHITECTURE.md, "Bridge", says the same.

pub mod completions;
pub mod loop_wake;
