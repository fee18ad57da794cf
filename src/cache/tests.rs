//! The validation cache on a stepped clock: LRU order, TTLs, stale answers, its memory layout.

use super::*;
use crate::rt::clock::{Clock, ManualClock};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

const START: u64 = 1_000;

fn cache(max_size: usize, ttl_ms: u64) -> (ValidationCache, Arc<ManualClock>) {
    let clock = ManualClock::new(START);
    let config = CacheConfig { max_size, ttl_ms, stale_if_error_ms: 0, negative_stale_if_error_ms: 0 };
    (ValidationCache::new(config, clock.clone()), clock)
}

fn set_all(c: &ValidationCache, keys: &[&str]) {
    for k in keys {
        c.set(k, true);
    }
}

#[test]
fn defaults_and_validate() {
    let c = CacheConfig::default();
    assert_eq!((c.max_size, c.ttl_ms), (10_000, 300_000));
    assert!(c.validate().is_ok());
    let zero = CacheConfig { max_size: 0, ..c.clone() };
    assert!(zero.validate().unwrap_err().contains("max_size"));
    let huge = CacheConfig { max_size: MAX_CACHE_SIZE + 1, ..c };
    assert!(huge.validate().unwrap_err().contains("max_size"));
}

#[test]
fn layout_is_compact() {
    assert_eq!(size_of::<Key>(), 16);
    assert_eq!(size_of::<Entry>(), 8);
    // A 40-byte node in a 48-byte allocation plus a 20-byte share of the index; the bar
    // for a measured million entries is 100 bytes (bench/native/cache_memory.rs).
    assert_eq!(ValidationCache::approx_bytes_per_entry(), 68);
}

/// Strings of `0-9A-Z-` and a few others, 0 to 40 bytes, dense around the id lengths.
fn key_like(rng: &mut fastrand::Rng) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ--------az\0";
    let len = match rng.u8(0..4) {
        0 => rng.usize(0..=40),
        1 => 22,
        2 => 25,
        _ => rng.usize(14..=32),
    };
    (0..len).map(|_| char::from(CHARS[rng.usize(..CHARS.len())])).collect()
}

#[test]
fn every_key_round_trips_and_ids_stay_inline() {
    let ids = [
        "CA-A-AHI-0000-P-24-A-A",
        "ZZ-Z-ZZZ-9999-Z-99-Z-Z",
        "01-1-ABC-0001-P-2501-3-42",
        "99-9-ZZZ-9999-A-9999-5-99",
        "00-0-ERR-0000-P-0000-0-00",
        "ZZZZZZZZZZZZZZZZZZZ",
        "----------------",
    ];
    for id in ids {
        let key = Key::new(id);
        assert!(key.is_inline(), "{id} is held in the node");
        assert_eq!(key.to_owned_string(), id);
    }
    // Too many digits for 127 bits (20 without a dash), lower case, other characters, too long: on the heap.
    for other in ["ZZZZZZZZZZZZZZZZZZZZ", "ca-a-ahi-0000-p-24-a-a", "CA_A_AHI_0000_P_24_A_A", &"A-".repeat(16)] {
        let key = Key::new(other);
        assert!(!key.is_inline(), "{other}");
        assert_eq!(key.to_owned_string(), other);
    }
    for short in ["", "a", "é", "0123456789ABCDE"] {
        assert!(Key::new(short).is_inline());
        assert_eq!(Key::new(short).to_owned_string(), short);
    }
    let mut rng = fastrand::Rng::with_seed(25);
    for _ in 0..200_000 {
        let s = key_like(&mut rng);
        assert_eq!(Key::new(&s).to_owned_string(), s);
    }
}

#[test]
fn distinct_strings_are_distinct_keys() {
    // Every string has one form, so two keys are equal exactly when their strings are.
    let mut rng = fastrand::Rng::with_seed(26);
    let mut seen: HashMap<Key, String> = HashMap::new();
    for _ in 0..200_000 {
        let s = key_like(&mut rng);
        if let Some(before) = seen.insert(Key::new(&s), s.clone()) {
            assert_eq!(before, s);
        }
    }
    // Neighbours across each form's edges.
    let (c, _) = cache(100, 1_000);
    let neighbours = [
        "A".repeat(15),
        "A".repeat(16),
        format!("{}\0", "A".repeat(14)),
        "CA-A-AHI-0000-P-24-A-A".into(),
        "CA-A-AHI-0000-P-24-A-B".into(),
        "CA-A-AHI-0000-P-24-AA".into(),
        "CAA-AHI-0000-P-24-A-A-".into(),
        "0CA-A-AHI-0000-P-24-A-A".into(),
        "ca-a-ahi-0000-p-24-a-a".into(),
        "01-1-ABC-0001-P-2501-3-42".into(),
        "01-1-ABC-0001-P-2501-3-4".into(),
    ];
    for (n, key) in neighbours.iter().enumerate() {
        c.set_with_ttl(key, n % 2 == 0, 1_000 + n as u64);
        assert_eq!(c.get(key), Some(n % 2 == 0), "{key}");
    }
    assert_eq!(c.len(), neighbours.len());
    assert_eq!(c.keys(), neighbours);
    for key in &neighbours {
        c.set(key, true);
    }
    assert_eq!(c.len(), neighbours.len(), "an overwrite of any form does not add an entry");
    assert_eq!(c.stats().evictions, 0);
    assert!(c.invalidate(&neighbours[2]));
    assert!(!c.invalidate(&neighbours[2]));
    assert_eq!(c.peek(&neighbours[1]), Some(true));
}

#[test]
fn hit_and_miss_are_counted() {
    let (c, _) = cache(10, 1_000);
    assert_eq!(c.get("AB-C-DEF-1234-P-25-X-0"), None);
    c.set("AB-C-DEF-1234-P-25-X-0", true);
    c.set("AB-C-DEF-1234-P-25-X-1", false);
    assert_eq!(c.get("AB-C-DEF-1234-P-25-X-0"), Some(true));
    assert_eq!(c.get("AB-C-DEF-1234-P-25-X-1"), Some(false));
    let s = c.stats();
    assert_eq!((s.hits, s.misses, s.sets, s.total_requests, s.size), (2, 1, 2, 3, 2));
    assert_eq!((s.max_size, s.ttl_ms, s.evictions), (10, 1_000, 0));
    assert_eq!(s.hit_rate(), "66.67%");
}

#[test]
fn hit_rate_formatting() {
    let stats = |hits, misses| CacheStats { hits, misses, total_requests: hits + misses, ..Default::default() };
    assert_eq!(stats(0, 0).hit_rate(), "0.00%");
    assert_eq!(stats(1, 0).hit_rate(), "100.00%");
    assert_eq!(stats(0, 3).hit_rate(), "0.00%");
    assert_eq!(stats(1, 7).hit_rate(), "12.50%");
}

#[test]
fn expiry_at_exact_ttl_boundary() {
    let (c, clock) = cache(10, 100);
    c.set("a", true);
    clock.advance(99);
    assert_eq!(c.get("a"), Some(true));
    clock.advance(1);
    assert!(!c.has("a"));
    assert_eq!(c.len(), 1, "peek/has do not remove");
    assert_eq!(c.get("a"), None);
    assert_eq!(c.len(), 0, "an expired get removes the entry");
    let s = c.stats();
    assert_eq!((s.hits, s.misses), (1, 1));
}

#[test]
fn zero_ttl_is_never_served() {
    let (c, _) = cache(10, 0);
    c.set("a", true);
    assert_eq!(c.get("a"), None);
}

#[test]
fn peek_changes_nothing() {
    let (c, clock) = cache(2, 100);
    set_all(&c, &["a", "b"]);
    assert_eq!(c.peek("a"), Some(true));
    assert_eq!(c.peek("zz"), None);
    c.set("c", true);
    assert_eq!(c.keys(), ["b", "c"], "peek did not make a recent");
    let s = c.stats();
    assert_eq!((s.hits, s.misses), (0, 0));
    clock.advance(100);
    assert_eq!(c.peek("b"), None);
    assert_eq!(c.len(), 2);
}

#[test]
fn get_refreshes_recency() {
    let (c, _) = cache(3, 1_000);
    set_all(&c, &["a", "b", "c"]);
    c.get("a");
    c.set("d", true);
    assert_eq!(c.keys(), ["c", "a", "d"]);
    assert!(!c.has("b"));
}

#[test]
fn set_refreshes_recency_and_expiry() {
    let (c, clock) = cache(3, 300);
    set_all(&c, &["a", "b", "c"]);
    clock.advance(200);
    c.set("a", false);
    assert_eq!(c.keys(), ["b", "c", "a"]);
    clock.advance(200);
    assert_eq!(c.keys(), ["a"]);
    assert_eq!(c.get("a"), Some(false));
    assert_eq!(c.stats().sets, 4);
    assert_eq!(c.len(), 3, "an overwrite does not add an entry");
}

#[test]
fn evicts_least_recently_used_at_capacity() {
    let (c, _) = cache(3, 1_000);
    set_all(&c, &["a", "b", "c", "d", "e"]);
    assert_eq!(c.keys(), ["c", "d", "e"]);
    let s = c.stats();
    assert_eq!((s.size, s.evictions, s.sets), (3, 2, 5));
    c.set("e", false);
    assert_eq!(c.stats().evictions, 2, "overwriting does not evict");
}

#[test]
fn set_with_ttl_overrides_default() {
    let (c, clock) = cache(10, 100);
    c.set_with_ttl("long", true, 1_000);
    c.set("short", true);
    clock.advance(500);
    assert_eq!(c.keys(), ["long"]);
}

#[test]
fn invalidate_removes_one() {
    let (c, _) = cache(10, 1_000);
    set_all(&c, &["a", "b", "c"]);
    assert!(c.invalidate("b"));
    assert!(!c.invalidate("b"));
    assert!(!c.invalidate("nope"));
    assert_eq!(c.keys(), ["a", "c"]);
    assert_eq!(c.len(), 2);
}

#[test]
fn clear_removes_all_and_zeroes_stats() {
    let (c, _) = cache(2, 1_000);
    set_all(&c, &["a", "b", "c"]);
    c.get("c");
    c.get("a");
    c.clear();
    assert!(c.is_empty());
    assert_eq!(c.keys(), Vec::<String>::new());
    let s = c.stats();
    assert_eq!((s.hits, s.misses, s.evictions, s.sets, s.size), (0, 0, 0, 0, 0));
    assert_eq!((s.max_size, s.ttl_ms), (2, 1_000));
    c.set("a", true);
    assert_eq!(c.get("a"), Some(true));
}

#[test]
fn maintain_removes_expired_only() {
    let (c, clock) = cache(10, 100);
    c.set("a", true);
    c.set_with_ttl("b", true, 50);
    c.set_with_ttl("keep", true, 1_000);
    c.set("d", false);
    assert_eq!(c.maintain(), 0);
    clock.advance(50);
    assert_eq!(c.maintain(), 1);
    clock.advance(50);
    assert_eq!(c.maintain(), 2);
    assert_eq!(c.len(), 1);
    assert_eq!(c.keys(), ["keep"]);
    assert_eq!(c.stats().misses, 0, "maintain does not count lookups");
}

fn stale_cache(ttl_ms: u64, stale_ms: u64, negative_stale_ms: u64) -> (ValidationCache, Arc<ManualClock>) {
    let clock = ManualClock::new(START);
    let config = CacheConfig {
        max_size: 10,
        ttl_ms,
        stale_if_error_ms: stale_ms,
        negative_stale_if_error_ms: negative_stale_ms,
    };
    (ValidationCache::new(config, clock.clone()), clock)
}

#[test]
fn an_expired_answer_is_kept_for_its_stale_window_and_served_only_if_error() {
    let (c, clock) = stale_cache(100, 1_000, 0);
    c.set("v", true);
    c.set("n", false);
    assert_eq!(c.get_if_error("v"), Some((true, false)), "fresh: served, not stale");
    clock.advance(100);
    // Expired: a normal lookup misses, but the valid answer stays for stale-if-error.
    assert_eq!(c.get("v"), None);
    assert_eq!(c.peek("v"), None);
    assert!(!c.has("v"));
    assert_eq!(c.keys(), Vec::<String>::new());
    assert_eq!(c.len(), 2);
    assert_eq!(c.get_if_error("v"), Some((true, true)));
    // "Not valid" has no stale window by default: gone.
    assert_eq!(c.get_if_error("n"), None);
    assert_eq!(c.get("n"), None);
    assert_eq!(c.len(), 1, "the dead negative entry was removed by get");
    clock.advance(999);
    assert_eq!(c.get_if_error("v"), Some((true, true)));
    assert_eq!(c.maintain(), 0);
    clock.advance(1);
    assert_eq!(c.get_if_error("v"), None, "past expiry + staleIfErrorMs");
    assert_eq!(c.maintain(), 1);
    let s = c.stats();
    assert_eq!((s.stale_served, s.hits, s.misses), (2, 0, 2), "get_if_error counts only stale answers served");
}

#[test]
fn each_verdict_has_its_own_stale_window_from_its_own_expiry() {
    let (c, clock) = stale_cache(100, 50, 10);
    c.set_with_ttl("n", false, 20);
    c.set("v", true);
    clock.advance(25);
    assert_eq!(c.get_if_error("n"), Some((false, true)));
    clock.advance(5);
    assert_eq!(c.get_if_error("n"), None);
    clock.advance(100);
    assert_eq!(c.get_if_error("v"), Some((true, true)));
    clock.advance(20);
    assert_eq!(c.get_if_error("v"), None);
    // A fresh set replaces a stale entry: fresh again.
    c.set("v", true);
    assert_eq!(c.get("v"), Some(true));
}

#[test]
fn a_huge_stale_window_saturates_instead_of_wrapping() {
    let (c, clock) = stale_cache(u64::MAX, u64::MAX, u64::MAX);
    c.set("v", true);
    clock.advance(1 << 40);
    assert_eq!(c.get("v"), Some(true));
    assert_eq!(c.get_if_error("v"), Some((true, false)));
}

#[test]
fn keys_are_least_recent_first_and_skip_expired() {
    let (c, clock) = cache(10, 100);
    c.set("old", true);
    clock.advance(60);
    set_all(&c, &["x", "y", "z"]);
    c.get("x");
    assert_eq!(c.keys(), ["old", "y", "z", "x"]);
    clock.advance(40);
    assert_eq!(c.keys(), ["y", "z", "x"]);
}

#[test]
fn long_and_non_ascii_keys() {
    let (c, _) = cache(10, 1_000);
    let k23 = "a".repeat(23);
    let k24 = "a".repeat(24);
    let long = "x".repeat(200);
    let accented = "ÄB-C-DÉF-1234-P-25-X-0";
    let emoji = "🦀🦀🦀🦀🦀🦀"; // 24 bytes: stored on the heap
    for (n, k) in [&k23, &k24, &long, accented, emoji, ""].into_iter().enumerate() {
        c.set(k, n % 2 == 0);
    }
    assert_eq!(c.get(&k23), Some(true));
    assert_eq!(c.get(&k24), Some(false));
    assert_eq!(c.get(&long), Some(true));
    assert_eq!(c.get(accented), Some(false));
    assert_eq!(c.get(emoji), Some(true));
    assert_eq!(c.get(""), Some(false));
    assert_eq!(c.get(&"a".repeat(22)), None);
    assert_eq!(c.keys(), [k23.as_str(), &k24, &long, accented, emoji, ""]);
    assert!(c.invalidate(&long));
    assert!(c.invalidate(emoji));
    assert_eq!(c.len(), 4);
}

#[test]
fn capacity_one() {
    let (c, _) = cache(1, 1_000);
    c.set("a", true);
    c.set("b", false);
    assert_eq!(c.get("a"), None);
    assert_eq!(c.get("b"), Some(false));
    c.set("b", true);
    assert_eq!(c.keys(), ["b"]);
    let s = c.stats();
    assert_eq!((s.size, s.evictions), (1, 1));
}

#[test]
fn zero_max_size_is_clamped_to_one() {
    let (c, _) = cache(0, 1_000);
    c.set("a", true);
    assert_eq!(c.get("a"), Some(true));
    assert_eq!(c.config().max_size, 1);
}

/// Heap bytes allocated and not yet freed, and allocations made, by the current thread: the
/// test binary's allocator counts them so that tests can see what the cache allocates.
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
        static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    }

    struct Counting;

    // `realloc` and `alloc_zeroed` keep their default bodies, which go through these two.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = LIVE_BYTES.try_with(|b| b.set(b.get() + layout.size() as isize));
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let _ = LIVE_BYTES.try_with(|b| b.set(b.get() - layout.size() as isize));
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static COUNTING: Counting = Counting;

    pub fn live_bytes() -> isize {
        LIVE_BYTES.with(Cell::get)
    }

    pub fn allocations() -> u64 {
        ALLOCATIONS.with(Cell::get)
    }
}

#[test]
fn invalidated_entries_give_their_memory_back() {
    let (c, _) = cache(100, 1_000);
    let rounds: Vec<Vec<String>> = (0..50).map(|round| (0..10).map(|k| format!("r{round}-{k}")).collect()).collect();
    let mut after_first_round = None;
    for batch in &rounds {
        batch.iter().for_each(|k| c.set(k, true));
        assert_eq!(c.len(), 10);
        batch.iter().for_each(|k| assert!(c.invalidate(k)));
        after_first_round.get_or_insert(heap::live_bytes());
    }
    assert!(c.is_empty());
    assert_eq!(Some(heap::live_bytes()), after_first_round);
}

#[test]
fn evicting_sets_of_inline_keys_do_not_allocate_nodes() {
    let (c, _) = cache(1_000, 1_000);
    let keys: Vec<String> = (0..11_000).map(|n| format!("AB-C-DEF-{n:04}-P-25-X-0")).collect();
    keys[..1_000].iter().for_each(|k| c.set(k, true));
    let before = heap::allocations();
    keys[1_000..].iter().for_each(|k| c.set(k, false));
    // The evicted node is reused; the one allowed allocation is the index doubling once
    // (see `full_cache_grows_at_most_once`).
    assert!(heap::allocations() - before <= 1, "{}", heap::allocations() - before);
    assert_eq!(c.stats().evictions, 10_000);
    assert_eq!(c.keys(), keys[10_000..]);
}

/// hashbrown marks some removed buckets "deleted" instead of empty; when those use up the
/// index's room while it is more than 7/16 full (always so for a cache filled to capacity)
/// it doubles the index. From then on it is at most 7/32 full and cleans up in place.
#[test]
fn full_cache_grows_at_most_once() {
    const MAX: usize = 1_000;
    /// hashbrown's buckets for 1000 entries; each holds two pointers and a control byte.
    const BUCKETS: usize = 2_048;
    let keys: Vec<String> = (0..400_000).map(|n| format!("AB-C-DEF-{n:08}-X")).collect();
    let (c, _) = cache(MAX, 1_000);
    let churn = |range: std::ops::Range<usize>| {
        for n in range {
            c.set(&keys[n], true);
            if n % 3 == 0 {
                c.invalidate(&keys[n / 2]);
            }
        }
    };
    let empty = heap::live_bytes();
    keys[..MAX].iter().for_each(|k| c.set(k, true));
    let full = heap::live_bytes();
    churn(MAX..200_000);
    let index_doubling = (BUCKETS * (2 * size_of::<usize>() + 1)) as isize;
    let grown = heap::live_bytes() - full;
    assert!(grown <= index_doubling, "grew {grown} bytes from {}", full - empty);
    let churned = heap::live_bytes();
    churn(200_000..400_000);
    assert!(heap::live_bytes() <= churned.max(full + index_doubling));
    assert_eq!(c.len(), MAX);
    assert_consistent(&c);
}

/// The LRU holds at most `max_size` entries, and its recency list and index agree.
fn assert_consistent(c: &ValidationCache) {
    let inner = c.lock();
    let lru = &inner.lru;
    assert!(lru.len() <= c.config.max_size);
    let mut listed = 0;
    for (key, entry) in lru.iter() {
        assert_eq!(lru.peek(key).map(|e| e.0), Some(entry.0));
        listed += 1;
    }
    assert_eq!(listed, lru.len());
}

#[test]
fn is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ValidationCache>();
}

/// The obvious implementation, to compare against.
struct Model {
    order: VecDeque<String>,
    entries: HashMap<String, (bool, u64)>,
    max_size: usize,
    stats: CacheStats,
}

impl Model {
    fn new(max_size: usize) -> Self {
        Self { order: VecDeque::new(), entries: HashMap::new(), max_size, stats: CacheStats::default() }
    }

    fn live(&self, key: &str, now: u64) -> Option<bool> {
        self.entries.get(key).filter(|(_, exp)| now < *exp).map(|(v, _)| *v)
    }

    fn forget(&mut self, key: &str) -> bool {
        self.order.retain(|k| k != key);
        self.entries.remove(key).is_some()
    }

    fn make_recent(&mut self, key: &str) {
        self.order.retain(|k| k != key);
        self.order.push_back(key.to_string());
    }

    fn get(&mut self, key: &str, now: u64) -> Option<bool> {
        let found = self.live(key, now);
        match found {
            Some(_) => {
                self.stats.hits += 1;
                self.make_recent(key);
            }
            None => {
                self.stats.misses += 1;
                self.forget(key);
            }
        }
        found
    }

    fn set(&mut self, key: &str, valid: bool, expires: u64) {
        self.stats.sets += 1;
        if !self.entries.contains_key(key) && self.entries.len() == self.max_size {
            let lru = self.order.pop_front().unwrap();
            self.entries.remove(&lru);
            self.stats.evictions += 1;
        }
        self.entries.insert(key.to_string(), (valid, expires));
        self.make_recent(key);
    }

    fn maintain(&mut self, now: u64) -> usize {
        let expired: Vec<String> = self.order.iter().filter(|k| self.live(k, now).is_none()).cloned().collect();
        expired.iter().for_each(|k| {
            self.forget(k);
        });
        expired.len()
    }

    fn keys(&self, now: u64) -> Vec<String> {
        self.order.iter().filter(|k| self.live(k, now).is_some()).cloned().collect()
    }
}

fn random_key(rng: &mut fastrand::Rng) -> String {
    let n = rng.u32(0..40);
    match n % 4 {
        0 => format!("a-very-long-key-beyond-the-inline-limit-{n}"),
        1 => format!("ÜÉ-{n}"),
        _ => format!("AB-C-DEF-{n:04}-P-25-X-0"),
    }
}

fn run_differential(seed: u64, ops: usize) {
    const MAX: usize = 16;
    const TTL: u64 = 50;
    let mut rng = fastrand::Rng::with_seed(seed);
    let (c, clock) = cache(MAX, TTL);
    let mut model = Model::new(MAX);
    for step in 0..ops {
        let now = clock.now_ms();
        let key = random_key(&mut rng);
        let ctx = format!("seed {seed} step {step} key {key}");
        match rng.u32(0..100) {
            0..=29 => assert_eq!(c.get(&key), model.get(&key, now), "get {ctx}"),
            30..=39 => assert_eq!(c.peek(&key), model.live(&key, now), "peek {ctx}"),
            40..=64 => {
                let valid = rng.bool();
                c.set(&key, valid);
                model.set(&key, valid, now + TTL);
            }
            65..=74 => {
                let (valid, ttl) = (rng.bool(), rng.u64(0..120));
                c.set_with_ttl(&key, valid, ttl);
                model.set(&key, valid, now + ttl);
            }
            75..=82 => assert_eq!(c.invalidate(&key), model.forget(&key), "invalidate {ctx}"),
            83..=84 => assert_eq!(c.maintain(), model.maintain(now), "maintain {ctx}"),
            85..=98 => clock.advance(rng.u64(0..15)),
            _ => {
                c.clear();
                model = Model::new(MAX);
            }
        }
        assert_eq!(c.len(), model.entries.len(), "len {ctx}");
        assert_consistent(&c);
        if step % 16 == 0 {
            assert_eq!(c.keys(), model.keys(clock.now_ms()), "keys {ctx}");
            let s = c.stats();
            let m = &model.stats;
            assert_eq!((s.hits, s.misses, s.sets, s.evictions), (m.hits, m.misses, m.sets, m.evictions), "{ctx}");
        }
    }
}

#[test]
fn matches_reference_model_on_random_ops() {
    for seed in [1, 2, 3] {
        run_differential(seed, 10_000);
    }
}

/// `cargo test --release --lib cache::tests::hit_cost -- --ignored --nocapture`
#[test]
#[ignore]
fn hit_cost() {
    const KEYS: u32 = 10_000;
    const CALLS: u32 = 5_000_000;
    let c = ValidationCache::new(CacheConfig::default(), crate::rt::clock::system());
    let keys: Vec<String> = (0..KEYS).map(|n| format!("AB-C-DEF-{n:04}-P-25-X-0")).collect();
    keys.iter().for_each(|k| c.set(k, true));
    let start = std::time::Instant::now();
    for n in 0..CALLS {
        let key = &keys[(n.wrapping_mul(7_919) % KEYS) as usize];
        std::hint::black_box(c.get(std::hint::black_box(key)));
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(CALLS);
    assert_eq!(c.stats().hits, u64::from(CALLS));
    println!("get (hit, {KEYS} entries): {ns:.1} ns");
}

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS line");
    let kb: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmRSS value");
    kb * 1024
}

/// `cargo test --release --lib cache::tests::million_entries_memory -- --ignored --nocapture`
#[test]
#[ignore]
fn million_entries_memory() {
    use std::fmt::Write;
    const N: usize = 1_000_000;
    let (c, _) = cache(N, 300_000);
    let before = resident_bytes();
    let mut key = String::with_capacity(32);
    for i in 0..N {
        key.clear();
        write!(key, "AB-C-DEF-{:04}-P-{:02}-X-0", i % 10_000, i / 10_000).unwrap();
        c.set(&key, i % 3 != 0);
    }
    let after = resident_bytes();
    assert_eq!(key.len(), 22);
    assert_eq!(c.len(), N);
    let per_entry = (after - before) as f64 / N as f64;
    println!(
        "{N} entries: RSS +{:.1} MiB = {per_entry:.1} bytes/entry (estimate {})",
        (after - before) as f64 / (1 << 20) as f64,
        ValidationCache::approx_bytes_per_entry()
    );
    // The bar: 0.65 × lru-cache's ~155 bytes per entry.
    assert!(per_entry <= 100.0);
}
