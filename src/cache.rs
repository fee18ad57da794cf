//! LRU + TTL cache of validation answers (`id → valid`), built to stay small at a million
//! entries.
//!
//! Layout: every entry lives in one slab slot (`Vec<Slot>`, 40 bytes) that holds the key
//! inline when it is short (ChittyIDs are 22 bytes), the expiry and value packed in one `u64`,
//! and `u32` links of the LRU list. The index is a `HashTable<u32>` of slot numbers that hashes
//! the slot's key, so keys are stored once. Removed slots go to a free list and are reused, so a
//! full cache never allocates.

use std::hash::BuildHasher;
use std::mem::size_of;
use std::num::NonZeroU8;
use std::sync::{Mutex, MutexGuard, PoisonError};

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::clock::SharedClock;

/// Slot numbers are `u32`; this one marks "no slot".
const NIL: u32 = u32::MAX;
const INLINE_KEY_MAX: usize = 23;
/// The top bit of `Slot::expiry_and_value` holds the cached boolean.
const VALUE_BIT: u64 = 1 << 63;
const MAX_EXPIRY_MS: u64 = VALUE_BIT - 1;
/// The largest `max_size` whose slot numbers fit below `NIL`.
pub const MAX_CACHE_SIZE: usize = NIL as usize;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    pub max_size: usize,
    /// Entries expire this long after they were set; 0 means they are never served.
    pub ttl_ms: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self { max_size: 10_000, ttl_ms: 300_000 }
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

/// A key stored without a heap allocation when it is at most 23 bytes.
enum Key {
    /// The length is stored plus one so that its zero is free to tag the other variant,
    /// which keeps `Key` at 24 bytes.
    Inline {
        len_plus_one: NonZeroU8,
        bytes: [u8; INLINE_KEY_MAX],
    },
    Heap(Box<str>),
}

impl Key {
    const EMPTY: Key = Key::Inline { len_plus_one: NonZeroU8::MIN, bytes: [0; INLINE_KEY_MAX] };

    fn new(key: &str) -> Self {
        if key.len() > INLINE_KEY_MAX {
            return Key::Heap(key.into());
        }
        let mut bytes = [0; INLINE_KEY_MAX];
        bytes[..key.len()].copy_from_slice(key.as_bytes());
        let len_plus_one = NonZeroU8::MIN.saturating_add(key.len() as u8);
        Key::Inline { len_plus_one, bytes }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len_plus_one, bytes } => &bytes[..usize::from(len_plus_one.get() - 1)],
            Key::Heap(s) => s.as_bytes(),
        }
    }

    fn to_owned_string(&self) -> String {
        // The bytes were copied whole from a `&str`, so they are valid UTF-8.
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

struct Slot {
    key: Key,
    expiry_and_value: u64,
    /// Towards the least recently used end.
    prev: u32,
    /// Towards the most recently used end; links the free list for free slots.
    next: u32,
}

impl Slot {
    fn new(key: &str, valid: bool, expires_at_ms: u64) -> Self {
        Slot {
            key: Key::new(key),
            expiry_and_value: pack(valid, expires_at_ms),
            prev: NIL,
            next: NIL,
        }
    }

    fn valid(&self) -> bool {
        self.expiry_and_value & VALUE_BIT != 0
    }

    fn is_expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expiry_and_value & MAX_EXPIRY_MS
    }
}

fn pack(valid: bool, expires_at_ms: u64) -> u64 {
    let value = if valid { VALUE_BIT } else { 0 };
    value | expires_at_ms.min(MAX_EXPIRY_MS)
}

/// The LRU list and its index, without time or statistics.
struct Lru {
    slots: Vec<Slot>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// Least recently used.
    head: u32,
    /// Most recently used.
    tail: u32,
    free: u32,
    len: usize,
    max_size: usize,
}

impl Lru {
    fn new(max_size: usize) -> Self {
        Self {
            slots: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            head: NIL,
            tail: NIL,
            free: NIL,
            len: 0,
            max_size,
        }
    }

    fn slot(&self, i: u32) -> &Slot {
        &self.slots[i as usize]
    }

    fn slot_mut(&mut self, i: u32) -> &mut Slot {
        &mut self.slots[i as usize]
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn find(&self, key: &str) -> Option<u32> {
        self.find_hashed(self.hash(key.as_bytes()), key)
    }

    fn find_hashed(&self, hash: u64, key: &str) -> Option<u32> {
        self.index.find(hash, |&i| self.slot(i).key.as_bytes() == key.as_bytes()).copied()
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = (self.slot(i).prev, self.slot(i).next);
        match prev {
            NIL => self.head = next,
            p => self.slot_mut(p).next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slot_mut(n).prev = prev,
        }
    }

    fn link_as_mru(&mut self, i: u32) {
        let old_tail = self.tail;
        let slot = self.slot_mut(i);
        slot.prev = old_tail;
        slot.next = NIL;
        match old_tail {
            NIL => self.head = i,
            t => self.slot_mut(t).next = i,
        }
        self.tail = i;
    }

    fn touch(&mut self, i: u32) {
        if self.tail != i {
            self.unlink(i);
            self.link_as_mru(i);
        }
    }

    fn remove(&mut self, i: u32) {
        let hash = self.hash(self.slot(i).key.as_bytes());
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        self.unlink(i);
        let free = self.free;
        let slot = self.slot_mut(i);
        slot.key = Key::EMPTY;
        slot.next = free;
        self.free = i;
        self.len -= 1;
    }

    /// Inserts or overwrites `key` as the most recently used entry; returns whether the least
    /// recently used entry was evicted to make room.
    fn upsert(&mut self, key: &str, valid: bool, expires_at_ms: u64) -> bool {
        let hash = self.hash(key.as_bytes());
        if let Some(i) = self.find_hashed(hash, key) {
            self.slot_mut(i).expiry_and_value = pack(valid, expires_at_ms);
            self.touch(i);
            return false;
        }
        let evicted = self.len >= self.max_size;
        if evicted {
            self.remove(self.head);
        }
        let i = self.allocate(Slot::new(key, valid, expires_at_ms));
        // Index before linking: a rebuild walks the list and must not see the slot yet.
        self.index_insert(hash, i);
        self.link_as_mru(i);
        self.len += 1;
        evicted
    }

    fn allocate(&mut self, slot: Slot) -> u32 {
        if self.free != NIL {
            let i = self.free;
            self.free = self.slot(i).next;
            *self.slot_mut(i) = slot;
            return i;
        }
        if self.slots.len() == self.slots.capacity() {
            // Double as usual, but never past max_size.
            let room = self.max_size - self.slots.len();
            self.slots.reserve_exact(self.slots.len().max(16).min(room));
        }
        self.slots.push(slot);
        (self.slots.len() - 1) as u32
    }

    fn index_insert(&mut self, hash: u64, i: u32) {
        if self.index.len() == self.index.capacity() {
            self.rebuild_index();
        }
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hash, i, |&j| hasher.hash_one(slots[j as usize].key.as_bytes()));
    }

    /// Called when the index has no room left. hashbrown would double the table when deleted
    /// markers used the room up while it is more than half full, which at a steady full cache
    /// happens over and over; rebuilding at the size we need (plus 1/8 headroom so rebuilds stay
    /// rare) clears the markers instead and keeps a full cache's index from growing.
    fn rebuild_index(&mut self) {
        let live = self.index.len();
        let mut index = HashTable::with_capacity(live + 1 + live / 8);
        let rehash = |&j: &u32| self.hasher.hash_one(self.slots[j as usize].key.as_bytes());
        let mut i = self.head;
        while i != NIL {
            index.insert_unique(rehash(&i), i, rehash);
            i = self.slot(i).next;
        }
        self.index = index;
    }

    /// Removes every entry expired at `now_ms`; returns how many.
    fn remove_expired(&mut self, now_ms: u64) -> usize {
        let mut removed = 0;
        let mut i = self.head;
        while i != NIL {
            let next = self.slot(i).next;
            if self.slot(i).is_expired(now_ms) {
                self.remove(i);
                removed += 1;
            }
            i = next;
        }
        removed
    }

    fn live_keys(&self, now_ms: u64) -> Vec<String> {
        let mut keys = Vec::with_capacity(self.len);
        let mut i = self.head;
        while i != NIL {
            let slot = self.slot(i);
            if !slot.is_expired(now_ms) {
                keys.push(slot.key.to_owned_string());
            }
            i = slot.next;
        }
        keys
    }
}

#[derive(Default)]
struct Counters {
    hits: u64,
    misses: u64,
    evictions: u64,
    sets: u64,
}

struct Inner {
    lru: Lru,
    counters: Counters,
}

pub struct ValidationCache {
    config: CacheConfig,
    clock: SharedClock,
    inner: Mutex<Inner>,
}

impl ValidationCache {
    /// Expects a validated config; `max_size` is clamped to `1..=MAX_CACHE_SIZE`.
    pub fn new(config: CacheConfig, clock: SharedClock) -> Self {
        let config = CacheConfig { max_size: config.max_size.clamp(1, MAX_CACHE_SIZE), ..config };
        let inner = Inner { lru: Lru::new(config.max_size), counters: Counters::default() };
        Self { config, clock, inner: Mutex::new(inner) }
    }

    /// A lookup that counts in the stats: a hit becomes the most recently used entry, an
    /// expired entry is removed and counts as a miss.
    pub fn get(&self, key: &str) -> Option<bool> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let Inner { lru, counters } = &mut *inner;
        let found = lru.find(key);
        match found {
            Some(i) if !lru.slot(i).is_expired(now) => {
                lru.touch(i);
                counters.hits += 1;
                Some(lru.slot(i).valid())
            }
            _ => {
                if let Some(i) = found {
                    lru.remove(i);
                }
                counters.misses += 1;
                None
            }
        }
    }

    /// A lookup that changes nothing: no stats, no recency, expired entries read as absent.
    pub fn peek(&self, key: &str) -> Option<bool> {
        let now = self.clock.now_ms();
        let inner = self.lock();
        let slot = inner.lru.find(key).map(|i| inner.lru.slot(i))?;
        (!slot.is_expired(now)).then_some(slot.valid())
    }

    pub fn has(&self, key: &str) -> bool {
        self.peek(key).is_some()
    }

    pub fn set(&self, key: &str, valid: bool) {
        self.set_with_ttl(key, valid, self.config.ttl_ms);
    }

    pub fn set_with_ttl(&self, key: &str, valid: bool, ttl_ms: u64) {
        let expires_at = self.clock.now_ms().saturating_add(ttl_ms);
        let mut inner = self.lock();
        inner.counters.sets += 1;
        if inner.lru.upsert(key, valid, expires_at) {
            inner.counters.evictions += 1;
        }
    }

    pub fn invalidate(&self, key: &str) -> bool {
        let mut inner = self.lock();
        let found = inner.lru.find(key);
        if let Some(i) = found {
            inner.lru.remove(i);
        }
        found.is_some()
    }

    /// Removes every entry, releases their memory and zeroes the stats.
    pub fn clear(&self) {
        *self.lock() = Inner { lru: Lru::new(self.config.max_size), counters: Counters::default() };
    }

    /// Entries held, including expired ones not yet removed by `get` or `maintain`.
    pub fn len(&self) -> usize {
        self.lock().lru.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes expired entries; returns how many.
    pub fn maintain(&self) -> usize {
        let now = self.clock.now_ms();
        self.lock().lru.remove_expired(now)
    }

    /// Unexpired keys, least recently used first.
    pub fn keys(&self) -> Vec<String> {
        let now = self.clock.now_ms();
        self.lock().lru.live_keys(now)
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        let c = &inner.counters;
        CacheStats {
            hits: c.hits,
            misses: c.misses,
            evictions: c.evictions,
            sets: c.sets,
            size: inner.lru.len,
            max_size: self.config.max_size,
            ttl_ms: self.config.ttl_ms,
            total_requests: c.hits + c.misses,
        }
    }

    pub fn config(&self) -> CacheConfig {
        self.config.clone()
    }

    /// Steady-state memory per entry for keys up to 23 bytes: one slab slot plus one index
    /// bucket (slot number and control byte) at hashbrown's 7/8 maximum load. Power-of-two
    /// table sizes add up to about as much again for the index part.
    pub fn approx_bytes_per_entry() -> usize {
        let index_bucket = size_of::<u32>() + 1;
        size_of::<Slot>() + (index_bucket * 8).div_ceil(7)
    }

    /// Nothing inside the lock panics, so a poisoned lock still holds consistent state.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use std::collections::{HashMap, VecDeque};
    use std::sync::Arc;

    const START: u64 = 1_000;

    fn cache(max_size: usize, ttl_ms: u64) -> (ValidationCache, Arc<ManualClock>) {
        let clock = ManualClock::new(START);
        (ValidationCache::new(CacheConfig { max_size, ttl_ms }, clock.clone()), clock)
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
        assert_eq!(size_of::<Slot>(), 40);
        assert!(ValidationCache::approx_bytes_per_entry() <= 64);
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
        let stats = |hits, misses| CacheStats {
            hits,
            misses,
            total_requests: hits + misses,
            ..Default::default()
        };
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

    #[test]
    fn free_slots_are_reused() {
        let (c, _) = cache(100, 1_000);
        for round in 0..50 {
            for k in 0..10 {
                c.set(&format!("r{round}-{k}"), true);
            }
            for k in 0..10 {
                assert!(c.invalidate(&format!("r{round}-{k}")));
            }
        }
        assert!(c.lock().lru.slots.len() <= 10);
    }

    #[test]
    fn full_cache_never_grows() {
        let (c, _) = cache(1_000, 1_000);
        for n in 0..200_000 {
            c.set(&format!("AB-C-DEF-{n:08}-X"), true);
            if n % 3 == 0 {
                c.invalidate(&format!("AB-C-DEF-{:08}-X", n / 2));
            }
        }
        let inner = c.lock();
        assert_eq!(inner.lru.slots.capacity(), 1_000);
        assert_eq!(inner.lru.slots.len(), 1_000);
        // The largest table a rebuild for 1000 entries picks: 2048 buckets, holding 1792.
        // (hashbrown's own growth would have gone to 4096 buckets by now.)
        assert!(inner.lru.index.capacity() <= 1_792, "{}", inner.lru.index.capacity());
        drop(inner);
        assert_consistent(&c);
    }

    /// Every structure agrees on the entry count and every slot is either listed or free.
    fn assert_consistent(c: &ValidationCache) {
        let inner = c.lock();
        let lru = &inner.lru;
        let walk = |mut i: u32| {
            let mut n = 0;
            while i != NIL {
                n += 1;
                i = lru.slot(i).next;
            }
            n
        };
        assert_eq!(lru.index.len(), lru.len);
        assert_eq!(walk(lru.head), lru.len);
        assert_eq!(walk(lru.free) + lru.len, lru.slots.len());
        assert!(lru.slots.capacity() <= lru.max_size);
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
            Self {
                order: VecDeque::new(),
                entries: HashMap::new(),
                max_size,
                stats: CacheStats::default(),
            }
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
            let expired: Vec<String> =
                self.order.iter().filter(|k| self.live(k, now).is_none()).cloned().collect();
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
                assert_eq!(
                    (s.hits, s.misses, s.sets, s.evictions),
                    (m.hits, m.misses, m.sets, m.evictions),
                    "{ctx}"
                );
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
        let c = ValidationCache::new(CacheConfig::default(), crate::clock::system());
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
        let kb: u64 =
            line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmRSS value");
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
        assert!(per_entry <= 64.0);
    }
}
