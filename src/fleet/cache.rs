//! The shared validation cache: an L2 in Redis behind each instance's in-process cache. Only
//! the service's own answers are stored, with the same TTLs as the local cache. A miss is
//! coalesced across the fleet with a short lock key: one instance asks the service, the others
//! poll the L2 for its answer for at most `coalesce_ms`, then ask on their own.
//!
//! Entries are authenticated: anyone who can write to the Redis could otherwise make every
//! instance answer `valid: true` for any id. A stored value is `<verdict>.<expiry>.<tag>`:
//! the verdict (`1`/`0`), when the entry stops being good (Unix ms), and an HMAC-SHA256 over
//! the entry's full key name (prefix, service hash and the id), verdict and expiry, keyed by a
//! secret derived (HKDF-SHA256) from the API key and the key scope. A value whose tag does not
//! verify (forged, written by another key's fleet, or an older client's format), or whose
//! expiry has passed (a genuine entry replayed after its time), is ignored: a miss, counted
//! as `l2Rejected`. The tag binds the id, so a genuine "valid" cannot be copied under another
//! id's key.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Script;
use ring::{hkdf, hmac};

use super::link::Link;
use super::FleetCounters;

/// How often a waiter looks for the answer another instance is fetching.
const POLL_INTERVAL_MS: u64 = 10;

/// What the L2 said about an id.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The verdict (authenticated), and how long it has left to live.
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
    /// Signs and checks entries; derived from the API key and the key scope.
    key: hmac::Key,
    lookup: Script,
    store: Script,
}

/// Fixed salt of the entry key's derivation (HKDF-SHA256, RFC 5869): names this use of the key.
const KEY_SALT: &[u8] = b"chittyid-client fleet L2 verdicts v1";

/// The key that signs the entries of one fleet's shared cache: HKDF-SHA256 of the API key, with
/// the scope of the cache's key names (`<keyPrefix>:<service hash>[:k<key hash>]:`) as info, so
/// fleets under another prefix or service never accept each other's entries.
pub fn entry_key(api_key: &str, scope: &str) -> hmac::Key {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, KEY_SALT).extract(api_key.as_bytes());
    let info = [scope.as_bytes()];
    let okm = prk.expand(&info, hmac::HMAC_SHA256).expect("HMAC-SHA256's key length is a valid HKDF output length");
    hmac::Key::from(okm)
}

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn signed_message(verdict_key: &str, verdict: char, expires_ms: u64) -> String {
    format!("{verdict_key}\n{verdict}\n{expires_ms}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// The value stored under `verdict_key`: `<1|0>.<expiry, Unix ms>.<HMAC tag, hex>`.
pub fn seal(key: &hmac::Key, verdict_key: &str, valid: bool, expires_ms: u64) -> String {
    let verdict = if valid { '1' } else { '0' };
    let tag = hmac::sign(key, signed_message(verdict_key, verdict, expires_ms).as_bytes());
    format!("{verdict}.{expires_ms}.{}", hex(tag.as_ref()))
}

/// The verdict and expiry of a value read under `verdict_key`, if its tag verifies.
pub fn open(key: &hmac::Key, verdict_key: &str, value: &str) -> Option<(bool, u64)> {
    let mut parts = value.splitn(3, '.');
    let (verdict, expires, tag) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = match verdict {
        "1" => true,
        "0" => false,
        _ => return None,
    };
    let expires_ms: u64 = expires.parse().ok()?;
    let tag = unhex(tag)?;
    let message = signed_message(verdict_key, if valid { '1' } else { '0' }, expires_ms);
    hmac::verify(key, message.as_bytes(), &tag).ok()?;
    Some((valid, expires_ms))
}

impl SharedCache {
    /// `key`: from [`entry_key`] with the same API key and scope in every member.
    pub fn new(
        link: Arc<Link>,
        counters: Arc<FleetCounters>,
        key_prefix: String,
        token: String,
        coalesce_ms: u64,
        key: hmac::Key,
    ) -> Self {
        Self {
            link,
            counters,
            key_prefix,
            token,
            coalesce_ms,
            key,
            lookup: Script::new(super::lua::CACHE_LOOKUP),
            store: Script::new(super::lua::CACHE_STORE),
        }
    }

    /// The names of `id`'s verdict key and lock key. Signed entries live under `sv:` (clients
    /// before signing used `v:` and `lock:`), so during a rolling upgrade old and new instances
    /// neither read each other's entries (an old one would take a signed "valid" for "not
    /// valid") nor wait on each other's locks.
    pub(super) fn keys(&self, id: &str) -> (String, String) {
        (format!("{}sv:{id}", self.key_prefix), format!("{}slock:{id}", self.key_prefix))
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
                Ok((Some(value), pttl)) => {
                    let now = now_unix_ms();
                    let Some((valid, expires_ms)) = open(&self.key, verdict_key, &value).filter(|&(_, e)| e > now)
                    else {
                        // Forged, foreign or replayed past its time: ask the service, whose
                        // answer then replaces it.
                        self.counters.l2_rejected.fetch_add(1, Relaxed);
                        self.counters.l2_misses.fetch_add(1, Relaxed);
                        return Lookup::Miss(Lease { holds_lock: false });
                    };
                    self.counters.l2_hits.fetch_add(1, Relaxed);
                    if waited {
                        self.counters.coalesced.fetch_add(1, Relaxed);
                    }
                    // Kept locally no longer than Redis keeps it, nor past its signed expiry.
                    let signed_left = expires_ms - now;
                    let ttl_ms = if pttl > 0 { (pttl as u64).min(signed_left) } else { signed_left };
                    return Lookup::Hit { valid, ttl_ms };
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
        let ttl_ms = ttl_ms.max(1);
        let value = match verdict {
            Some(valid) => seal(&self.key, &verdict_key, valid, now_unix_ms() + ttl_ms),
            None => String::new(),
        };
        let token = if lease.holds_lock { self.token.as_str() } else { "" };
        let stored = self
            .link
            .run(|mut conn| async move {
                self.store
                    .key(&verdict_key)
                    .key(&lock_key)
                    .arg(&value)
                    .arg(ttl_ms)
                    .arg(token)
                    .invoke_async::<i64>(&mut conn)
                    .await
            })
            .await;
        if stored.is_ok() && verdict.is_some() {
            self.counters.l2_writes.fetch_add(1, Relaxed);
        }
    }

    #[cfg(test)]
    pub(super) fn signing_key(&self) -> &hmac::Key {
        &self.key
    }

    /// Deletes the fleet's entry for `id` (`client.invalidate`): true when there was one,
    /// false when there was none or Redis could not be reached within the deadline.
    pub async fn forget(&self, id: &str) -> bool {
        let (verdict_key, _) = self.keys(id);
        let verdict_key = &verdict_key;
        let deleted = self
            .link
            .run(|mut conn| async move { redis::cmd("DEL").arg(verdict_key).query_async::<i64>(&mut conn).await })
            .await;
        matches!(deleted, Ok(n) if n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_entry_opens_only_under_its_own_key_name_and_key() {
        let key = entry_key("api-key", "chittyid:0123456789abcdef:");
        let name = "chittyid:0123456789abcdef:v:CT-A-CHI-1234-I-24-A-0";
        let sealed = seal(&key, name, true, 1_900_000_000_000);
        assert_eq!(open(&key, name, &sealed), Some((true, 1_900_000_000_000)));
        assert_eq!(open(&key, name, &seal(&key, name, false, 5)), Some((false, 5)));
        // Another id, another scope's key, another API key: nothing opens.
        assert_eq!(open(&key, "chittyid:0123456789abcdef:v:CT-A-CHI-4321-I-24-A-0", &sealed), None);
        assert_eq!(open(&entry_key("api-key", "other:0123456789abcdef:"), name, &sealed), None);
        assert_eq!(open(&entry_key("other-key", "chittyid:0123456789abcdef:"), name, &sealed), None);
        // Tampered verdict or expiry, a cut or garbled tag, the old bare format.
        let (_, rest) = sealed.split_once('.').unwrap();
        assert_eq!(open(&key, name, &format!("0.{rest}")), None);
        assert_eq!(open(&key, name, &sealed.replacen("1900000000000", "1900000000001", 1)), None);
        assert_eq!(open(&key, name, &sealed[..sealed.len() - 2]), None);
        assert_eq!(open(&key, name, &format!("{}zz", &sealed[..sealed.len() - 2])), None);
        for junk in ["1", "0", "", "1..", "2.5.00", "1.x.00", "1.5.é0"] {
            assert_eq!(open(&key, name, junk), None, "{junk:?}");
        }
        assert!(!sealed.contains("api-key"));
    }
}
