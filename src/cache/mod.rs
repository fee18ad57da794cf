//! LRU + TTL cache of validation answers (`id → valid`), built to stay small at a million
//! entries.
//!
//! The `lru` crate keeps the recency order and the index; this module adds time (a per-entry
//! expiry, so negative answers can live shorter), the statistics and the lock. Each entry is one
//! `lru` node holding a 16-byte key (both id grammars are packed into it: `key.rs`) and the
//! expiry and value packed in one `u64`, so an entry is a 40-byte node (a 48-byte malloc chunk)
//! plus its index bucket, and an evicting insert reuses the evicted node instead of allocating.

use std::mem::size_of;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use crate::rt::clock::SharedClock;

mod key;

use key::{Entry, Key};

/// The largest accepted `max_size`.
pub const MAX_CACHE_SIZE: usize = u32::MAX as usize;

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
            stale_if_error_ms: crate::option_table::CACHE_STALE_IF_ERROR_MS,
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
        let key = Key::new(key);
        let found = lru.get(&key).copied();
        match found.map(|entry| (entry, self.freshness(entry, now))) {
            Some((entry, Freshness::Fresh)) => {
                counters.hits += 1;
                Some(entry.valid())
            }
            found => {
                if let Some((_, Freshness::Dead)) = found {
                    lru.pop(&key);
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
        let entry = *inner.lru.peek(&Key::new(key))?;
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
        let key = Key::new(key);
        let entry = *self.lock().lru.peek(&key)?;
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
        let key = Key::new(key);
        let mut inner = self.lock();
        inner.counters.sets += 1;
        // `push` hands back either the entry it overwrote (same key) or the one it evicted.
        if let Some((displaced, _)) = inner.lru.push(key.clone(), entry) {
            if displaced != key {
                inner.counters.evictions += 1;
            }
        }
    }

    /// Forgets `key`, fresh or kept for stale-if-error; true when it was held.
    pub fn invalidate(&self, key: &str) -> bool {
        self.forgets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let key = Key::new(key);
        self.lock().lru.pop(&key).is_some()
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

    /// Least memory per entry for keys held in the node (ids of either grammar, or up to 15
    /// bytes): one `lru` node (key,
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
mod tests;
