//! The shared validation cache: an L2 in Redis behind each instance's in-process cache. Only
//! the service's own answers are stored, with the same TTLs as the local cache. A miss is
//! coalesced across the fleet with a short lock key: one instance asks the service, the others
//! poll the L2 for its answer for at most `coalesce_ms`, then ask on their own.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Script;

use super::link::Link;
use super::FleetCounters;

/// How often a waiter looks for the answer another instance is fetching.
const POLL_INTERVAL_MS: u64 = 10;

/// What the L2 said about an id.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The verdict, and how long it has left to live.
    Hit { valid: bool, ttl_ms: u64 },
    /// Ask the service; pass the lease to [`SharedCache::store`] with its answer.
    Miss(Lease),
}

/// Whether this caller holds the fleet's lock for an id (and must release it).
#[derive(Debug, PartialEq, Eq)]
pub struct Lease {
    holds_lock: bool,
}

pub struct SharedCache {
    link: Arc<Link>,
    counters: Arc<FleetCounters>,
    /// Prefix of verdict keys; lock keys add `lock:`.
    key_prefix: String,
    /// Identifies this instance's locks.
    token: String,
    coalesce_ms: u64,
    lookup: Script,
    store: Script,
}

impl SharedCache {
    pub fn new(link: Arc<Link>, counters: Arc<FleetCounters>, key_prefix: String, token: String, coalesce_ms: u64) -> Self {
        Self {
            link,
            counters,
            key_prefix,
            token,
            coalesce_ms,
            lookup: Script::new(super::lua::CACHE_LOOKUP),
            store: Script::new(super::lua::CACHE_STORE),
        }
    }

    fn keys(&self, id: &str) -> (String, String) {
        (format!("{}v:{id}", self.key_prefix), format!("{}lock:{id}", self.key_prefix))
    }

    /// The L2's verdict for `id`, or a miss. Every Redis call is bounded by the deadline; a
    /// waiter gives up on another instance's answer after `coalesce_ms`.
    pub async fn lookup(&self, id: &str) -> Lookup {
        let (verdict_key, lock_key) = self.keys(id);
        let give_up = Instant::now() + Duration::from_millis(self.coalesce_ms);
        let mut waited = false;
        let (verdict_key, lock_key) = (&verdict_key, &lock_key);
        loop {
            let answer = self
                .link
                .run(|mut conn| async move {
                    self.lookup
                        .key(verdict_key)
                        .key(lock_key)
                        .arg(&self.token)
                        .arg(self.coalesce_ms.max(1))
                        .invoke_async::<(Option<String>, i64)>(&mut conn)
                        .await
                })
                .await;
            match answer {
                Ok((Some(verdict), ttl)) => {
                    self.counters.l2_hits.fetch_add(1, Relaxed);
                    if waited {
                        self.counters.coalesced.fetch_add(1, Relaxed);
                    }
                    // A key with no expiry was not written by a client: keep it briefly only.
                    let ttl_ms = if ttl > 0 { ttl as u64 } else { 1 };
                    return Lookup::Hit { valid: verdict == "1", ttl_ms };
                }
                Ok((None, -1)) => {
                    self.counters.l2_misses.fetch_add(1, Relaxed);
                    return Lookup::Miss(Lease { holds_lock: true });
                }
                Ok(_) if Instant::now() + Duration::from_millis(POLL_INTERVAL_MS) < give_up => {
                    waited = true;
                    tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
                }
                Ok(_) | Err(_) => {
                    self.counters.l2_misses.fetch_add(1, Relaxed);
                    return Lookup::Miss(Lease { holds_lock: false });
                }
            }
        }
    }

    /// Stores the service's verdict (`None`: it gave none, e.g. it failed) for `ttl_ms` and
    /// releases the lease's lock.
    pub async fn store(&self, id: &str, verdict: Option<bool>, ttl_ms: u64, lease: Lease) {
        if verdict.is_none() && !lease.holds_lock {
            return;
        }
        let (verdict_key, lock_key) = self.keys(id);
        let value = match verdict {
            Some(true) => "1",
            Some(false) => "0",
            None => "",
        };
        let token = if lease.holds_lock { self.token.as_str() } else { "" };
        let stored = self
            .link
            .run(|mut conn| async move {
                self.store
                    .key(&verdict_key)
                    .key(&lock_key)
                    .arg(value)
                    .arg(ttl_ms.max(1))
                    .arg(token)
                    .invoke_async::<i64>(&mut conn)
                    .await
            })
            .await;
        if stored.is_ok() && verdict.is_some() {
            self.counters.l2_writes.fetch_add(1, Relaxed);
        }
    }
}
