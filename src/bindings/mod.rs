//! Everything `#[napi]`: thin adapters from JS values to the plain modules.

// In `cargo test` builds nothing registers the #[napi] items with Node, so they look unused.
#![cfg_attr(test, allow(dead_code))]

pub mod bridge;
pub mod cache;
pub mod client;
pub mod compat;
pub mod connection;
pub mod diagnostics;
pub mod emulator;
pub mod errors;
pub mod events;
pub mod fetch_transport;
pub mod fleet;
pub mod handles;
pub mod id;
pub mod options;
pub mod redact;
pub mod snapshot;
pub mod telemetry;

/// Every request, answer and health check runs on the one I/O thread of `crate::rt::runtime`;
/// napi-rs gets no tokio runtime of its own.
#[napi_derive::module_init]
fn init() {
    crate::observe::logging::init_from_env();
}
