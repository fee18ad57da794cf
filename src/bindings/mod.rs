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

/// The runtime napi-rs runs promise-returning bindings on (`healthCheck()`, `connect()`, the
/// emulator's `close()`): one thread is plenty for that. Requests and the connection monitor
/// run on the separate I/O thread of `crate::runtime`.
#[napi_derive::module_init]
fn init() {
    crate::logging::init_from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("chittyid-tasks")
        .enable_all()
        .build()
        .expect("cannot start the chittyid I/O runtime");
    napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
}
