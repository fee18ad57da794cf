//! @chittyos/chittyid-client v2: a native ChittyID client. The `#[napi]` surface lives in
//! `bindings`, compiled with the `node` feature (on by default, what `napi build` builds);
//! everything else is plain Rust, unit-tested with `cargo test`, with or without it.

pub mod cache;
pub mod client;
pub mod connection;
pub mod emulator;
pub mod error;
pub mod exchange;
pub mod fleet;
#[cfg(test)]
pub mod fuzzing;
pub mod id;
pub mod observe;
pub mod option_table;
pub mod policy;
pub mod redact;
pub mod registry;
pub mod rt;
pub mod transport;
pub mod wire;

#[cfg(feature = "node")]
mod bindings;

/// Every Rust allocation of the addon goes to mimalloc (Node's own stay with the system
/// allocator): its size classes fit the cache's nodes, and its pages hold one size class each
/// (docs/ARCHITECTURE.md, "Validation cache"). The unit tests count allocations with their own
/// allocator instead.
#[cfg(not(test))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
