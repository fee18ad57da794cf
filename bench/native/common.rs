//! What the Rust-only benches share (each example includes this file with `#[path]`).

use std::sync::Arc;

use chittyid_client::client::builder::ClientBuilder;
use chittyid_client::client::Client;

/// The mint body every bench sends.
pub const BODY: &[u8] = br#"{"entity":"PEO"}"#;

/// A cap on any measured loop's operations, beside its deadline.
pub const MAX_OPS: u64 = 50_000_000;

/// This process's CPU time (user + system, all threads) in µs.
pub fn process_cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of /proc/PID/stat; clock ticks are 100 Hz on Linux.
    (ticks(11) + ticks(12)) * 10_000.0
}

/// The client core for a mint loop: the defaults without what such a loop does not use (cache,
/// connection manager) nor the retry budget. `service_url` includes the route prefix (`/v1`).
pub fn mint_loop_client(service_url: &str) -> Arc<Client> {
    let builder = ClientBuilder::new().service_url(service_url).cache(None).connection(None).retry_budget(None);
    builder.build().expect("client").client
}
