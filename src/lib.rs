//! @chittyos/chittyid-client v2: a native ChittyID client. The `#[napi]` surface lives in
//! `bindings`, compiled with the `node` feature (on by default, what `napi build` builds);
//! everything else is plain Rust, unit-tested with `cargo test`, with or without it.

pub mod cache;
pub mod cancel;
pub mod client;
pub mod clock;
pub mod emulator;
pub mod error;
pub mod events;
pub mod exchange;
pub mod fleet;
pub mod format;
#[cfg(test)]
pub mod fuzzing;
pub mod logging;
pub mod metrics;
pub mod monitor;
pub mod policy;
pub mod redact;
pub mod runtime;
pub mod shared;
pub mod telemetry;
pub mod transport;
pub mod wire;

#[cfg(feature = "node")]
mod bindings;
