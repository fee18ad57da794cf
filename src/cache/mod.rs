//! LRU + TTL cache of validation answers (`id → valid`), built to stay small at a million
//! entries.
//!
//! The `lru` crate keeps the recency order and the index; this module adds time (a per-entry
//! expiry, so negative answers can live shorter), the statistics and the lock. Each entry is one
//! `lru` node holding the key inline when it is short (ChittyIDs are 22 bytes) and the expiry
//! and value packed in one `u64`, so an entry is a 48-byte node plus its index bucket, and an
//! evicting insert reuses the evicted node instead of allocating.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::mem::size_of;
use std::num::{NonZeroU8, NonZeroUsize};
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use crate::rt::clock::SharedClock;

/// Keys up to this many bytes are stored in the entry itself; longer ones on the heap.
const INLINE_KEY_MAX: usize = 23;
/// The top bit of an `Entry` holds the cached boolean.
const VALUE_BIT: u64 = 1 << 63;
const MAX_EXPIRY_MS: u64 = VALUE_BIT - 1;
/// The largest accepted `max_size`.
pub const MAX_CACHE_SIZE: usize = u32::MAX as usize;

/// How long an expired "valid" answer is kept for stale-if-error by default (24 h).
pub const DEFAULT_STALE_IF_ERROR_MS: u64 = crate::option_table::CACHE_STALE_IF_ERROR_MS;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    pub max_size: usize,
    /// Entries expire this long after they were set; 0 means they are never served fresh.
    pub ttl_ms: u64,
    /// An expired "valid" answer is kept this long past its expiry, to be served (marked
    /// stale) when the service cannot be reached (docs/ARCHITECTURE.md, "Stale if error").
    pub stale_if_error_ms: u64,
    /// The same for "not valid" answers: none by default, since "not valid" may only mean
    /// "not yet known" to a replicated service.
    pub negative_stale_if_error_ms: u64,
}

/// How long a "not valid" answer is served by default (capped at the TTL): short, so an id
/// minted just after it was asked about is soon seen as valid.
pub const DEFAULT_NEGATIVE_TTL_MS: u64 = crate::option_table::CACHE_NEGATIVE_TTL_MS;

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_size: crate::option_table::CACHE_MAX_SIZE as usize,
            ttl_ms: crate::option_table::CACHE_TTL_MS,
            stale_if_error_ms: DEFAULT_STALE_IF_ERROR_MS,
            negative_stale_if_error_ms: crate::option_table::CACHE_NEGATIVE_STALE_IF_ERROR_MS,
        }
    }
}

impl CacheConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_size == 0 {
            return Err("cache: max_size must be at least 1".into());
        }
        if self.max_size > MAX_CACHE_SIZE {
            return Err(format!("cache: max_size must be at most {MAX_CACHE_SIZE}"));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub sets: u64,
    pub size: usize,
    pub max_size: usize,
    pub ttl_ms: u64,
    pub total_requests: u64,
    /// Expired answers served (marked stale) because the service could not be reached.
    pub stale_served: u64,
}

impl CacheStats {
    /// Hits over lookups as `"NN.NN%"`; `"0.00%"` before the first lookup.
    pub fn hit_rate(&self) -> String {
        if self.total_requests == 0 {
            return "0.00%".into();
        }
        format!("{:.2}%", self.hits as f64 * 100.0 / self.total_requests as f64)
    }
}

/// A key stored without a heap allocation when it is at most [`INLINE_KEY_MAX`] bytes.
///
/// It hashes and compares as its bytes, and borrows as `[u8]`, so lookups take the caller's
/// `&str` as bytes without building a `Key`.
enum Key {
    /// The length is stored plus one so that its zero is free to tag the other variant,
    /// which keeps `Key` at 24 bytes.
    Inline {
        len_plus_one: NonZeroU8,
        bytes: [u8; INLINE_KEY_MAX],
    },
    Heap(Box<[u8]>),
}

impl Key {
    fn new(key: &str) -> Self {
        if key.len() > INLINE_KEY_MAX {
            return Key::Heap(key.as_bytes().into());
        }
        let mut bytes = [0; INLINE_KEY_MAX];
        bytes[..key.len()].copy_from_slice(key.as_bytes());
        let len_plus_one = NonZeroU8::MIN.saturating_add(key.len() as u8);
        Key::Inline { len_plus_one, bytes }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len_plus_one, bytes } => &bytes[..usize::from(len_plus_one.get() - 1)],
            Key::Heap(bytes) => bytes,
        }
    }

    fn to_owned_string(&self) -> String {
        // The bytes were copied whole from a `&str`, so they are valid UTF-8.
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

/// The cached verdict and its expiry, packed in one word.
#[derive(Clone, Copy)]
struct Entry(u64);

impl Entry {
    fn new(valid: bool, expires_at_ms: u64) -> Self {
        let value = if valid { VALUE_BIT } else { 0 };
        Entry(value | expires_at_ms.min(MAX_EXPIRY_MS))
    }

    fn valid(self) -> bool {
        self.0 & VALUE_BIT != 0
    }

    fn expires_at_ms(self) -> u64 {
        self.0 & MAX_EXPIRY_MS
    }

    fn is_expired(self, now_ms: u64) -> bool {
        now_ms >= self.expires_at_ms()
    }
}

/// Which state an entry is in at some instant, by the verdict's stale window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Freshness {
    Fresh,
    /// Expired, but kept for stale-if-error.
    Stale,
    /// Past its stale deadline: removable.
    Dead,
}

#[derive(Default)]
struct Counters {
    hits: u64,
    misses: u64,
    evictions: u64,
    sets: u64,
    stale_served: u64,
}

struct Inner {
    lru: LruCache<Key, Entry>,
    counters: Counters,
}

impl Inner {
    fn new(max_size: usize) -> Self {
        // `sparse`: the index grows with the entries instead of being sized for `max_size` up
        // front, so a large `maxSize` costs nothing until it is used.
        let cap = NonZeroUsize::new(max_size).unwrap_or(NonZeroUsize::MIN);
        Self { lru: LruCache::sparse(cap), counters: Counters::default() }
    }
}

/// One lock around the LRU and its counters: a hit moves the entry to the front of the recency
/// list, so even lookups write. The clock is read before the lock is taken, and `clear` frees
/// the old entries after releasing it.
pub struct ValidationCache {
    config: CacheConfig,
    clock: SharedClock,
    inner: Mutex<Inner>,
    /// Counts `invalidate` and `clear` calls: an answer asked for before one of them must not be
    /// stored after it (`Client::ask_and_remember` compares it before and after).
    forgets: std::sync::atomic::AtomicU64,
}

impl ValidationCache {
    /// Expects a validated config; `max_size` is clamped to `1..=MAX_CACHE_SIZE`.
    pub fn new(config: CacheConfig, clock: SharedClock) -> Self {
        let config = CacheConfig { max_size: config.max_size.clamp(1, MAX_CACHE_SIZE), ..config };
        let inner = Mutex::new(Inner::new(config.max_size));
        Self { config, clock, inner, forgets: std::sync::atomic::AtomicU64::new(0) }
    }

    /// A lookup that counts in the stats: a hit becomes the most recently used entry, an
    /// expired entry counts as a miss and is removed unless it is inside its stale window.
    pub fn get(&self, key: &str) -> Option<bool> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let Inner { lru, counters } = &mut *inner;
        let found = lru.get(key.as_bytes()).copied();
        match found.map(|entry| (entry, self.freshness(entry, now))) {
            Some((entry, Freshness::Fresh)) => {
                counters.hits += 1;
                Some(entry.valid())
            }
            found => {
                if let Some((_, Freshness::Dead)) = found {
                    lru.pop(key.as_bytes());
                }
                counters.misses += 1;
                None
            }
        }
    }

    /// The answer to serve when the service cannot be reached: `(valid, stale)` for an entry
    /// still inside its stale window (`stale` when it is past its TTL, counted as served), or
    /// `None`. Does not touch recency or the hit/miss counters.
    pub fn get_if_error(&self, key: &str) -> Option<(bool, bool)> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let entry = *inner.lru.peek(key.as_bytes())?;
        match self.freshness(entry, now) {
            Freshness::Fresh => Some((entry.valid(), false)),
            Freshness::Stale => {
                inner.counters.stale_served += 1;
                Some((entry.valid(), true))
            }
            Freshness::Dead => None,
        }
    }

    /// The stale deadline is derived (expiry + the verdict's window), so an entry stays one word.
    fn freshness(&self, entry: Entry, now_ms: u64) -> Freshness {
        if !entry.is_expired(now_ms) {
            return Freshness::Fresh;
        }
        let window = if entry.valid() { self.config.stale_if_error_ms } else { self.config.negative_stale_if_error_ms };
        if now_ms < entry.expires_at_ms().saturating_add(window) {
            Freshness::Stale
        } else {
            Freshness::Dead
        }
    }

    /// A lookup that changes nothing: no stats, no recency, expired entries read as absent.
    pub fn peek(&self, key: &str) -> Option<bool> {
        let now = self.clock.now_ms();
        let entry = *self.lock().lru.peek(key.as_bytes())?;
        (!entry.is_expired(now)).then_some(entry.valid())
    }

    pub fn has(&self, key: &str) -> bool {
        self.peek(key).is_some()
    }

    pub fn set(&self, key: &str, valid: bool) {
        self.set_with_ttl(key, valid, self.config.ttl_ms);
    }

    /// Inserts or overwrites `key` as the most recently used entry, expiring `ttl_ms` from now
    /// whatever the configured TTL; at capacity the least recently used entry makes room.
    pub fn set_with_ttl(&self, key: &str, valid: bool, ttl_ms: u64) {
        let entry = Entry::new(valid, self.clock.now_ms().saturating_add(ttl_ms));
        let mut inner = self.lock();
        inner.counters.sets += 1;
        // `push` hands back either the entry it overwrote (same key) or the one it evicted.
        if let Some((displaced, _)) = inner.lru.push(Key::new(key), entry) {
            if displaced.as_bytes() != key.as_bytes() {
                inner.counters.evictions += 1;
            }
        }
    }

    /// Forgets `key`, fresh or kept for stale-if-error; true when it was held.
    pub fn invalidate(&self, key: &str) -> bool {
        self.forgets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.lock().lru.pop(key.as_bytes()).is_some()
    }

    /// Changes with every `invalidate` and `clear`: equal before and after a request means
    /// nothing was forgotten meanwhile.
    pub fn forget_epoch(&self) -> u64 {
        self.forgets.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Removes every entry, releases their memory and zeroes the stats.
    pub fn clear(&self) {
        self.forgets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let old = std::mem::replace(&mut *self.lock(), Inner::new(self.config.max_size));
        drop(old);
    }

    /// Entries held, including expired ones (kept for stale-if-error, or not yet removed by
    /// `get` or `maintain`).
    pub fn len(&self) -> usize {
        self.lock().lru.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes entries past their stale deadline (expired ones without a stale window);
    /// returns how many.
    pub fn maintain(&self) -> usize {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let before = inner.lru.len();
        inner.lru.retain(|_, entry| self.freshness(*entry, now) != Freshness::Dead);
        before - inner.lru.len()
    }

    /// Unexpired keys, least recently used first.
    pub fn keys(&self) -> Vec<String> {
        let now = self.clock.now_ms();
        let inner = self.lock();
        let live = inner.lru.iter().rev().filter(|(_, entry)| !entry.is_expired(now));
        live.map(|(key, _)| key.to_owned_string()).collect()
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        let c = &inner.counters;
        CacheStats {
            hits: c.hits,
            misses: c.misses,
            evictions: c.evictions,
            sets: c.sets,
            size: inner.lru.len(),
            max_size: self.config.max_size,
            ttl_ms: self.config.ttl_ms,
            total_requests: c.hits + c.misses,
            stale_served: c.stale_served,
        }
    }

    pub fn config(&self) -> CacheConfig {
        self.config.clone()
    }

    /// Least memory per entry for keys up to [`INLINE_KEY_MAX`] bytes: one `lru` node (key,
    /// entry and two list pointers) as the allocator rounds it (8 bytes of header, 16-byte
    /// steps), plus one index bucket (key pointer, node pointer, control byte) at hashbrown's 7/8
    /// maximum load. Power-of-two table sizes put the index part at up to twice that.
    pub fn approx_bytes_per_entry() -> usize {
        let node = size_of::<Key>() + size_of::<Entry>() + 2 * size_of::<usize>();
        let allocated_node = (node + size_of::<usize>()).next_multiple_of(16);
        let index_bucket = 2 * size_of::<usize>() + 1;
        allocated_node + (index_bucket * 8).div_ceil(7)
    }

    /// Nothing inside the lock panics, so a poisoned lock still holds consistent state.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(size_of::<Key>(), 24);
        assert_eq!(size_of::<Entry>(), 8);
        // A 48-byte node in a 64-byte allocation plus a 20-byte share of the index; the bar
        // for a measured million entries is 107 bytes (bench/native/cache_memory.rs).
        assert_eq!(ValidationCache::approx_bytes_per_entry(), 84);
    }

    #[test]
    fn keys_up_to_the_inline_limit_are_stored_inline() {
        for len in [0, 1, 22, INLINE_KEY_MAX] {
            let key = "K".repeat(len);
            assert!(matches!(Key::new(&key), Key::Inline { .. }), "{len} bytes");
            assert_eq!(Key::new(&key).as_bytes(), key.as_bytes());
        }
        for len in [INLINE_KEY_MAX + 1, 64, 256] {
            let key = "K".repeat(len);
            assert!(matches!(Key::new(&key), Key::Heap(_)), "{len} bytes");
            assert_eq!(Key::new(&key).as_bytes(), key.as_bytes());
        }
        // The limit counts bytes, not characters: 12 two-byte characters go to the heap.
        assert!(matches!(Key::new(&"é".repeat(11)), Key::Inline { .. }));
        assert!(matches!(Key::new(&"é".repeat(12)), Key::Heap(_)));
    }

    #[test]
    fn keys_either_side_of_the_inline_limit_are_distinct() {
        let (c, _) = cache(10, 1_000);
        let at = "A".repeat(INLINE_KEY_MAX);
        let over = "A".repeat(INLINE_KEY_MAX + 1);
        let under = "A".repeat(INLINE_KEY_MAX - 1);
        c.set(&at, true);
        c.set(&over, false);
        assert_eq!(c.get(&at), Some(true));
        assert_eq!(c.get(&over), Some(false));
        assert_eq!(c.get(&under), None);
        // A key that differs from an inline one only past its end, or only in its padding.
        c.set(&under, false);
        assert_eq!(c.get(&format!("{under}\0")), None);
        assert_eq!(c.get(&under), Some(false));
        c.set(&over, true);
        assert_eq!(c.len(), 3, "an overwrite of a heap key does not add an entry");
        assert_eq!(c.keys(), [at.as_str(), &under, &over]);
        assert!(c.invalidate(&over));
        assert_eq!(c.get(&at), Some(true));
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
        let rounds: Vec<Vec<String>> =
            (0..50).map(|round| (0..10).map(|k| format!("r{round}-{k}")).collect()).collect();
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
            assert_eq!(lru.peek(key.as_bytes()).map(|e| e.0), Some(entry.0));
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
        // The bar: 0.65 × lru-cache's ~165 bytes per entry.
        assert!(per_entry <= 107.0);
    }
}
