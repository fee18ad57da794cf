//! The runtime underneath: the one I/O thread's tokio runtime, cancellation, and the clock the
//! policies read (docs/ARCHITECTURE.md, "Runtime").

pub mod cancel;
pub mod clock;
pub mod runtime;
