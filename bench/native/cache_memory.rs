//! Memory of the native validation cache holding 1,000,000 entries, measured in Rust (RSS
//! delta from /proc/self/statm) while `ChittyIDCache` is not yet exposed to JS; see
//! bench/RESULTS.md "Analysis". Not part of the package.
//!
//!   cargo run --release --example bench_cache_memory -- [ENTRIES]

use chittyid_client::cache::{CacheConfig, ValidationCache};
use chittyid_client::clock;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// The same ids as bench/lib/common.js `sampleId` (22 bytes, distinct per n).
fn sample_id(n: u64) -> String {
    let letter = |k: u64| (b'A' + (k % 26) as u8) as char;
    let hi = n / 10_000;
    format!(
        "C{}-{}-{}HI-{:04}-P-24-A-{}",
        letter(hi),
        letter(hi / 26),
        letter(hi / 676),
        n % 10_000,
        letter(hi / 17_576)
    )
}

fn main() {
    let entries: u64 = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(1_000_000).clamp(1, 50_000_000);
    let before = rss_bytes();
    let cache = ValidationCache::new(
        CacheConfig { max_size: entries as usize, ttl_ms: 300_000 },
        clock::system(),
    );
    let mut key = String::with_capacity(32);
    for n in 0..entries {
        key.clear();
        key.push_str(&sample_id(n));
        cache.set(&key, true);
    }
    let after = rss_bytes();
    println!(
        "{{\"entries\":{entries},\"size\":{},\"rssDelta\":{},\"rssBytesPerEntry\":{:.1},\"approxBytesPerEntry\":{}}}",
        cache.len(),
        after - before,
        (after - before) as f64 / entries as f64,
        ValidationCache::approx_bytes_per_entry()
    );
}
