//! Everything `#[napi]`: thin adapters from JS values to the plain modules.

// In `cargo test` builds nothing registers the #[napi] items with Node, so they look unused.
#![cfg_attr(test, allow(dead_code))]

pub mod client;
pub mod compat;
pub mod completions;
pub mod connection;
pub mod emulator;
pub mod errors;
pub mod events;
pub mod format;
pub mod loop_wake;

/// One dedicated I/O thread for every client in the process: the work per request is
/// small, and one thread avoids cross-thread wake-ups between tokio workers.
#[napi_derive::module_init]
fn init() {
    crate::logging::init_from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("chittyid-io")
        .enable_all()
        .build()
        .expect("cannot start the chittyid I/O runtime");
    napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
}
