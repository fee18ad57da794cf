//! Memory of the native validation cache holding 1,000,000 entries, measured in Rust (RSS
//! delta from /proc/self/statm) while `ChittyIDCache` is not yet exposed to JS; see
//! bench/RESULTS.md "Analysis". Not part of the package.
//!
//! After filling the cache it keeps setting new ids, each evicting the least recently used one,
//! and measures again: a full cache under churn is the steady state of a long-running service.
//!
//!   cargo run --release --no-default-features --features bench --example bench_cache_memory -- [ENTRIES] [CHURN_ROUNDS]

use chittyid_client::cache::{CacheConfig, ValidationCache};
use chittyid_client::rt::clock;

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
    let mut args = std::env::args().skip(1);
    let entries: u64 = args.next().and_then(|v| v.parse().ok()).unwrap_or(1_000_000).clamp(1, 50_000_000);
    // Each round sets `entries` new ids into the full cache.
    let churn_rounds: u64 = args.next().and_then(|v| v.parse().ok()).unwrap_or(20).min(50);
    let before = rss_bytes();
    let cache = ValidationCache::new(
        CacheConfig { max_size: entries as usize, ttl_ms: 300_000, ..CacheConfig::default() },
        clock::system(),
    );
    let mut key = String::with_capacity(32);
    let mut fill = |from: u64| {
        for n in from..from + entries {
            key.clear();
            key.push_str(&sample_id(n));
            cache.set(&key, true);
        }
    };
    fill(0);
    let filled = rss_bytes() - before;
    let mut churned = filled;
    for round in 1..=churn_rounds {
        fill(round * entries);
        churned = churned.max(rss_bytes() - before);
    }
    let per_entry = |bytes: u64| bytes as f64 / entries as f64;
    println!(
        "{{\"entries\":{entries},\"size\":{},\"rssDelta\":{filled},\"rssBytesPerEntry\":{:.1},\"churnRounds\":{churn_rounds},\"evictions\":{},\"rssDeltaChurned\":{churned},\"rssBytesPerEntryChurned\":{:.1},\"approxBytesPerEntry\":{}}}",
        cache.len(),
        per_entry(filled),
        cache.stats().evictions,
        per_entry(churned),
        ValidationCache::approx_bytes_per_entry()
    );
}
