//! Fleet mode (opt-in `fleet` option): instances of a service share, through Redis or Valkey,
//! one rate budget (`budget`), one validation cache behind their local ones (`cache`) and what
//! their circuit breakers learn (`breaker_hint`). `link` bounds every Redis command by a
//! short deadline and falls back to local-only behaviour while Redis is unavailable: Redis
//! trouble never fails a call.
//!
//! Key names: `<keyPrefix>:<hash of the service origin or URL>[:k<hash of the API key>]:...`.
//! The API key itself never leaves the process.

pub mod breaker_hint;
pub mod budget;
pub mod cache;
pub mod link;
pub mod tls;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{ClientError, Pacer};
use crate::observe::events::SharedSink;
use crate::rt::clock::SharedClock;

use self::breaker_hint::BreakerHint;
use self::budget::{Grant, RateBudget, RateConfig};
use self::cache::SharedCache;
use self::link::Link;

pub const DEFAULT_KEY_PREFIX: &str = crate::option_table::FLEET_KEY_PREFIX;
/// Longest a call waits on any one Redis command.
pub const DEFAULT_DEADLINE_MS: u64 = crate::option_table::FLEET_DEADLINE_MS;
pub const DEFAULT_BURST: f64 = crate::option_table::FLEET_BURST;
/// Longest a validation waits for another instance that is asking the service for the same
/// id (and how long that instance's lock lives).
pub const DEFAULT_COALESCE_MS: u64 = crate::option_table::FLEET_COALESCE_MS;
/// A 429 without `Retry-After` pauses the fleet this long.
/// How often an instance with traffic reads the breaker hint and the pause.
pub const STATE_REFRESH_MS: u64 = 250;
/// An instance counts as active (for its share of the budget while Redis is unreachable) this
/// long after its last refresh.
pub const ACTIVE_MEMBER_MS: u64 = 8 * STATE_REFRESH_MS;
/// While Redis is down, how often it is probed.
pub const PROBE_INTERVAL_MS: u64 = 500;
/// The health check (the warm-up, the probes: nobody waits on them) gives each of its round
/// trips this long, or the deadline when that is longer.
pub const PROBE_TIMEOUT_MS: u64 = 1_000;
/// Commands in a row without an answer within the deadline before the fleet goes local-only.
pub const TIMEOUTS_BEFORE_DEGRADED: u32 = 3;
pub const MAX_DEADLINE_MS: u64 = crate::option_table::FLEET_DEADLINE_MS_MAX;
pub const MAX_COALESCE_MS: u64 = crate::option_table::FLEET_COALESCE_MS_MAX;
pub const MAX_KEY_PREFIX_LEN: usize = 64;

/// The Lua scripts, run with EVALSHA (EVAL's fallback loads them on NOSCRIPT). `Link` also
/// loads them whenever it (re)connects, so a burst of first calls does not each pay NOSCRIPT.
pub mod lua {
    pub const ACQUIRE: &str = include_str!("scripts/acquire.lua");
    pub const PAUSE: &str = include_str!("scripts/pause.lua");
    pub const STATE: &str = include_str!("scripts/state.lua");
    pub const CACHE_LOOKUP: &str = include_str!("scripts/cache_lookup.lua");
    pub const CACHE_STORE: &str = include_str!("scripts/cache_store.lua");
    pub const GIVE_BACK: &str = include_str!("scripts/give_back.lua");
    pub const PROBE: &str = include_str!("scripts/probe.lua");
    pub const ALL: [&str; 7] = [ACQUIRE, PAUSE, STATE, CACHE_LOOKUP, CACHE_STORE, GIVE_BACK, PROBE];
}

/// The `fleet` option, checked.
#[derive(Clone, PartialEq)]
pub struct FleetConfig {
    pub redis_url: String,
    pub key_prefix: String,
    /// Separate budgets (and caches) per API key, for services that limit per key rather
    /// than per client IP.
    pub api_key_scope: bool,
    pub deadline_ms: u64,
    pub rate: Option<RateConfig>,
    pub shared_cache: bool,
    pub breaker_hint: bool,
    pub coalesce_ms: u64,
}

impl std::fmt::Debug for FleetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("FleetConfig")
            .field("key_prefix", &self.key_prefix)
            .field("api_key_scope", &self.api_key_scope)
            .field("deadline_ms", &self.deadline_ms)
            .field("rate", &self.rate)
            .field("shared_cache", &self.shared_cache)
            .field("breaker_hint", &self.breaker_hint)
            .field("coalesce_ms", &self.coalesce_ms)
            .finish_non_exhaustive()
    }
}

impl FleetConfig {
    pub fn new(redis_url: String) -> Self {
        Self {
            redis_url,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            api_key_scope: crate::option_table::FLEET_API_KEY_SCOPE,
            deadline_ms: DEFAULT_DEADLINE_MS,
            rate: None,
            shared_cache: crate::option_table::FLEET_SHARED_CACHE,
            breaker_hint: crate::option_table::FLEET_BREAKER_HINT,
            coalesce_ms: DEFAULT_COALESCE_MS,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(self.redis_url.starts_with("redis://") || self.redis_url.starts_with("rediss://")) {
            return Err("fleet.redis must be a redis:// or rediss:// (TLS) URL".into());
        }
        let prefix_ok = !self.key_prefix.is_empty()
            && self.key_prefix.len() <= MAX_KEY_PREFIX_LEN
            && self.key_prefix.bytes().all(|b| b.is_ascii_graphic());
        if !prefix_ok {
            return Err(format!("fleet.keyPrefix must be 1 to {MAX_KEY_PREFIX_LEN} visible ASCII characters"));
        }
        if !(1..=MAX_DEADLINE_MS).contains(&self.deadline_ms) {
            return Err(format!("fleet.deadlineMs must be from 1 to {MAX_DEADLINE_MS}"));
        }
        if self.coalesce_ms > MAX_COALESCE_MS {
            return Err(format!("fleet.coalesceMs must be at most {MAX_COALESCE_MS}"));
        }
        if let Some(rate) = self.rate {
            if !(rate.per_second.is_finite() && rate.per_second > 0.0 && rate.per_second <= 1e6) {
                return Err("fleet.ratePerSecond must be a number above 0 and at most 1000000".into());
            }
            if !(rate.burst.is_finite() && rate.burst >= 1.0 && rate.burst <= 1e6) {
                return Err("fleet.burst must be a number from 1 to 1000000".into());
            }
        }
        Ok(())
    }
}

/// Counters of fleet mode, shown in `getStats().fleet` and `metrics()`.
#[derive(Default)]
pub struct FleetCounters {
    pub errors: AtomicU64,
    pub timeouts: AtomicU64,
    pub skipped: AtomicU64,
    pub degradations: AtomicU64,
    pub restorations: AtomicU64,
    pub l2_hits: AtomicU64,
    pub l2_misses: AtomicU64,
    pub l2_writes: AtomicU64,
    /// Shared-cache entries ignored: their tag did not verify, or their signed expiry passed.
    pub l2_rejected: AtomicU64,
    pub coalesced: AtomicU64,
    pub rate_waits: AtomicU64,
    pub rate_wait_ms: AtomicU64,
    pub rate_limited: AtomicU64,
    pub pause_waits: AtomicU64,
    pub pauses_published: AtomicU64,
    pub hints_published: AtomicU64,
    pub hints_applied: AtomicU64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetSnapshot {
    pub connected: bool,
    pub degraded: bool,
    /// Why the fleet is local-only, while it is (the reason of the last `fleetDegraded`).
    pub degraded_reason: Option<String>,
    pub errors: u64,
    pub timeouts: u64,
    pub skipped: u64,
    pub degradations: u64,
    pub restorations: u64,
    pub l2_hits: u64,
    pub l2_misses: u64,
    pub l2_writes: u64,
    pub l2_rejected: u64,
    pub coalesced: u64,
    pub rate_waits: u64,
    pub rate_wait_ms: u64,
    pub rate_limited: u64,
    pub pause_waits: u64,
    pub pauses_published: u64,
    pub pause_ms: u64,
    pub hints_published: u64,
    pub hints_applied: u64,
}

/// A short, stable name for `value` in key names (the first 64 bits of its SHA-256).
fn short_hash(value: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The service's origin (`scheme://host:port`): the service limits requests per client
/// whatever the path, so the rate budget is per origin.
fn origin_of(service_url: &str) -> String {
    url::Url::parse(service_url).map_or_else(|_| service_url.to_owned(), |u| u.origin().ascii_serialization())
}

pub struct Fleet {
    link: Arc<Link>,
    rate: RateBudget,
    cache: Option<SharedCache>,
    hint: BreakerHint,
    breaker_hint: bool,
    counters: Arc<FleetCounters>,
    /// Longest a call waits for its slot or a pause (the client's timeout).
    max_wait_ms: u64,
    clock: SharedClock,
    next_refresh_ms: AtomicU64,
    refreshing: AtomicBool,
    slots: Mutex<Slots>,
}

/// Slots of Redis's bucket that this instance's callers hold or owe back.
#[derive(Default)]
struct Slots {
    /// Slot requests on their way to Redis ([`Fleet::reserve`]): what they reserve is not
    /// known yet.
    asking: u64,
    /// Reserved, their callers still waiting for them.
    waiting: u64,
    /// Given up by their callers, not yet given back.
    owed: u64,
    /// Give-backs on their way to Redis.
    returning: u64,
    /// `Fleet::close` took over: it gives back what is waited for and owed, then closes.
    closed: bool,
}

/// A slot of the rate budget reserved for a call (counted in `Slots::waiting` when it is
/// Redis's); dropped before the call used it (the call was aborted, timed out or closed, before
/// or after the answer reached it), its token is given back in the background.
struct SlotHeld {
    fleet: Option<Arc<Fleet>>,
    from_redis: bool,
}

impl SlotHeld {
    fn used(mut self) {
        if let Some(fleet) = self.fleet.take().filter(|_| self.from_redis) {
            let mut slots = fleet.slots();
            // After close, `Fleet::close` counted it as given back; the call sends nothing.
            if !slots.closed {
                slots.waiting -= 1;
            }
        }
    }
}

impl Drop for SlotHeld {
    fn drop(&mut self) {
        let Some(fleet) = self.fleet.take() else { return };
        if !self.from_redis {
            fleet.rate.give_back_locally();
            return;
        }
        {
            let mut slots = fleet.slots();
            if slots.closed {
                return;
            }
            slots.waiting -= 1;
            slots.owed += 1;
        }
        let link = Arc::clone(&fleet.link);
        link.spawn(async move { fleet.return_owed().await });
    }
}

impl Fleet {
    /// `max_wait_ms`: how long a call may wait for a slot or a pause (the client's timeout).
    /// `trust`: the client's TLS settings, for a `rediss://` URL. Without an `api_key` there is
    /// no secret to sign shared-cache entries with, so the shared cache is off.
    pub fn new(
        config: FleetConfig,
        service_url: &str,
        api_key: Option<&str>,
        trust: tls::Trust<'_>,
        max_wait_ms: u64,
        sink: SharedSink,
        clock: SharedClock,
    ) -> Result<Arc<Self>, ClientError> {
        let invalid = |detail: String| ClientError::InvalidArgument { detail };
        config.validate().map_err(invalid)?;
        // Errors never quote the URL (and its password): they say only what is wrong.
        let client = tls::redis_client(&config.redis_url, trust).map_err(invalid)?;
        let key_scope = match (config.api_key_scope, api_key) {
            (true, Some(key)) => format!(":k{}", short_hash(&format!("chittyid-api-key:{key}"))),
            _ => String::new(),
        };
        let rate_scope = format!("{}:{}{key_scope}", config.key_prefix, short_hash(&origin_of(service_url)));
        let service_scope = format!("{}:{}{key_scope}", config.key_prefix, short_hash(service_url));
        let instance = format!("{:016x}", fastrand::u64(..));
        let counters = Arc::new(FleetCounters::default());
        // No Redis command outlasts the client's timeout: a call never waits on Redis past it.
        let deadline_ms = config.deadline_ms.min(max_wait_ms.max(1));
        let probe_key = format!("{rate_scope}:probe");
        let link = Arc::new(Link::new(client, deadline_ms, Arc::clone(&counters), sink, probe_key));
        let rate = RateBudget::new(Arc::clone(&link), config.rate, &rate_scope, clock.clone());
        let cache = match api_key.filter(|_| config.shared_cache) {
            Some(api_key) => {
                let scope = format!("{service_scope}:");
                let key = cache::entry_key(api_key, &scope);
                Some(SharedCache::new(
                    Arc::clone(&link),
                    Arc::clone(&counters),
                    scope,
                    instance.clone(),
                    // Nor does a validation wait for another instance longer than its timeout.
                    config.coalesce_ms.min(max_wait_ms),
                    key,
                ))
            }
            None => None,
        };
        let hint =
            BreakerHint::new(Arc::clone(&link), Arc::clone(&counters), format!("{service_scope}:breaker"), instance);
        Ok(Arc::new(Self {
            link,
            rate,
            cache,
            hint,
            breaker_hint: config.breaker_hint,
            counters,
            max_wait_ms,
            clock,
            next_refresh_ms: AtomicU64::new(0),
            refreshing: AtomicBool::new(false),
            slots: Mutex::new(Slots::default()),
        }))
    }

    /// Connects to Redis in the background.
    pub fn start(&self) {
        self.link.spawn_until_closed(Arc::clone(&self.link).warm_up());
    }

    /// Before each attempt: waits for this request's slot in the fleet's rate budget and out
    /// any fleet-wide pause, for at most the client's timeout; beyond that the call fails
    /// with `ERATELIMITED` without waiting. Returns whether it waited.
    pub async fn before_attempt(self: &Arc<Self>) -> Result<bool, ClientError> {
        self.maybe_refresh();
        let started = Instant::now();
        let mut waited = false;
        loop {
            let left = self.max_wait_ms.saturating_sub(started.elapsed().as_millis() as u64);
            let (grant, held) = self.reserve(left).await?;
            match grant {
                Grant::After(0) => {
                    if let Some(held) = held {
                        held.used();
                    }
                    return Ok(waited);
                }
                Grant::After(ms) => {
                    self.counters.rate_waits.fetch_add(1, Relaxed);
                    self.counters.rate_wait_ms.fetch_add(ms, Relaxed);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    if let Some(held) = held {
                        held.used();
                    }
                    return Ok(true);
                }
                Grant::Paused(ms) if ms <= left => {
                    self.counters.pause_waits.fetch_add(1, Relaxed);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    waited = true;
                }
                Grant::Paused(ms) | Grant::Refused(ms) => {
                    self.counters.rate_limited.fetch_add(1, Relaxed);
                    let by = if matches!(grant, Grant::Paused(_)) { Pacer::Pause } else { Pacer::Budget };
                    return Err(ClientError::RateLimited { retry_in_ms: ms, by });
                }
            }
        }
    }

    /// A slot of the budget for one attempt, waiting at most `left` ms; with the slot reserved,
    /// its [`SlotHeld`]. The request to Redis runs in a task of the link, not in the call: a
    /// call stopped (aborted, timed out, closed) while its request is on its way stops waiting,
    /// and the task, once Redis's answer is known, gives back the slot Redis reserved for it.
    /// Only then: a request that timed out may or may not have reached Redis, and one Redis
    /// refused reserved nothing, so giving back at the stop would hand the fleet slots it never
    /// had (more requests than the budget). Without a rate budget nothing is asked of Redis.
    async fn reserve(self: &Arc<Self>, left: u64) -> Result<(Grant, Option<SlotHeld>), ClientError> {
        if !self.rate.is_configured() {
            return Ok((self.rate.reserve(left).await.0, None));
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.slots().asking += 1;
        let fleet = Arc::clone(self);
        self.link.spawn(async move {
            let (grant, from_redis) = fleet.rate.reserve(left).await;
            let reserved = matches!(grant, Grant::After(_));
            let after_close = {
                let mut slots = fleet.slots();
                slots.asking -= 1;
                let after_close = reserved && from_redis && slots.closed;
                if after_close {
                    // `Fleet::close` took over meanwhile (its calls are stopped and send
                    // nothing): it waits for this give-back.
                    slots.returning += 1;
                } else if reserved && from_redis {
                    slots.waiting += 1;
                }
                after_close
            };
            if after_close {
                fleet.rate.give_back(1).await;
                fleet.slots().returning -= 1;
                return;
            }
            let held = reserved.then(|| SlotHeld { fleet: Some(Arc::clone(&fleet)), from_redis });
            if let Err((_, held)) = answer.send((grant, held)) {
                // The caller is gone: its slot goes back.
                drop(held);
            }
        });
        // No answer at all: the task was dropped with the runtime, or gave the slot back at the
        // close; either way the call is being stopped.
        answered.await.map_err(|_| ClientError::Closed)
    }

    /// Pauses this instance at once and the rest of the fleet through Redis; called with the
    /// pause the client's own rate-limit gate started after a 429 (`Resilience::run`).
    pub fn publish_pause(self: &Arc<Self>, ms: u64) {
        self.counters.pauses_published.fetch_add(1, Relaxed);
        self.rate.note_pause(ms);
        let fleet = Arc::clone(self);
        self.link.spawn(async move {
            fleet.rate.publish_pause(ms).await;
        });
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True while slot requests or give-backs are on their way to Redis.
    fn settling(&self) -> bool {
        let slots = self.slots();
        slots.asking + slots.returning > 0
    }

    /// Gives back the slots owed so far, in one command.
    async fn return_owed(&self) {
        let owed = {
            let mut slots = self.slots();
            if slots.closed {
                return;
            }
            slots.returning += 1;
            std::mem::take(&mut slots.owed)
        };
        self.rate.give_back(owed).await;
        self.slots().returning -= 1;
    }

    /// The client was closed: the Redis connection goes now, not when the client is collected.
    /// The warm-up, the probes and the refreshes stop at once. Slots that callers were waiting
    /// for (the close stops them: they send nothing) and slots owed are first given back to the
    /// fleet, in one command bounded by the deadline, so a member that shuts down with a queue
    /// does not hold up the rest of the fleet; so are the slots whose requests were on their way
    /// (each once its answer comes); then the link closes. [`Fleet::closed`] says when all of
    /// that has ended. Idempotent.
    pub fn close(self: &Arc<Self>) {
        let (tokens, busy) = {
            let mut slots = self.slots();
            if slots.closed {
                return;
            }
            slots.closed = true;
            (std::mem::take(&mut slots.waiting) + std::mem::take(&mut slots.owed), slots.returning + slots.asking)
        };
        self.link.begin_close();
        if tokens == 0 && busy == 0 {
            self.link.close();
            return;
        }
        let fleet = Arc::clone(self);
        self.link.spawn(async move {
            // This give-back, those already on their way and those of the requests still
            // asking, within one deadline in all.
            let returned = async {
                fleet.rate.give_back(tokens).await;
                while fleet.settling() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            };
            let _ = tokio::time::timeout(fleet.link.deadline(), returned).await;
            fleet.link.close();
        });
    }

    /// Resolves once [`Fleet::close`] has ended: no background task of the fleet runs, nothing
    /// more is sent to Redis and its connection is closed. Each of those tasks is bounded by
    /// the deadline (connection attempts and reads stop at the close).
    pub async fn closed(&self) {
        self.link.closed().await;
    }

    /// True once [`Fleet::closed`] would resolve at once.
    pub fn is_closed(&self) -> bool {
        self.link.is_closed()
    }

    /// Ms left of the fleet-wide pause known here (0: none).
    pub fn current_pause(&self) -> u64 {
        self.rate.current_pause()
    }

    /// The local circuit opened: the fleet learns of it, to probe the service sooner elsewhere.
    pub fn publish_breaker_open(self: &Arc<Self>, reset_timeout_ms: u64) {
        if self.breaker_hint {
            let fleet = Arc::clone(self);
            self.link.spawn(async move { fleet.hint.publish_open(reset_timeout_ms).await });
        }
    }

    /// The local circuit closed again: the fleet learns that the opening it was told of is over.
    pub fn publish_breaker_closed(self: &Arc<Self>) {
        if self.breaker_hint {
            let fleet = Arc::clone(self);
            self.link.spawn(async move { fleet.hint.publish_closed().await });
        }
    }

    /// True once per circuit opening elsewhere in the fleet: the local breaker should probe.
    pub fn take_breaker_hint(&self) -> bool {
        self.breaker_hint && self.hint.take_pending()
    }

    pub fn note_hint_applied(&self) {
        self.hint.note_applied();
    }

    pub fn shared_cache(&self) -> Option<&SharedCache> {
        self.cache.as_ref()
    }

    /// Reads the breaker hint and the pause in the background, at most every
    /// `STATE_REFRESH_MS` and only while calls are made.
    fn maybe_refresh(self: &Arc<Self>) {
        let now = self.clock.now_ms();
        if now < self.next_refresh_ms.load(Relaxed) || self.refreshing.swap(true, Relaxed) {
            return;
        }
        self.next_refresh_ms.store(now + STATE_REFRESH_MS, Relaxed);
        let fleet = Arc::clone(self);
        self.link.spawn_until_closed(async move {
            if let Some(refreshed) = fleet.hint.refresh(fleet.rate.pause_key(), fleet.rate.members_key()).await {
                if let Some(pause) = refreshed.pause_ms {
                    fleet.rate.note_pause(pause);
                }
                fleet.rate.note_members(refreshed.members);
            }
            fleet.refreshing.store(false, Relaxed);
        });
    }

    pub fn snapshot(&self) -> FleetSnapshot {
        let c = &self.counters;
        FleetSnapshot {
            connected: self.link.is_connected(),
            degraded: self.link.is_degraded(),
            degraded_reason: self.link.degraded_reason(),
            errors: c.errors.load(Relaxed),
            timeouts: c.timeouts.load(Relaxed),
            skipped: c.skipped.load(Relaxed),
            degradations: c.degradations.load(Relaxed),
            restorations: c.restorations.load(Relaxed),
            l2_hits: c.l2_hits.load(Relaxed),
            l2_misses: c.l2_misses.load(Relaxed),
            l2_writes: c.l2_writes.load(Relaxed),
            l2_rejected: c.l2_rejected.load(Relaxed),
            coalesced: c.coalesced.load(Relaxed),
            rate_waits: c.rate_waits.load(Relaxed),
            rate_wait_ms: c.rate_wait_ms.load(Relaxed),
            rate_limited: c.rate_limited.load(Relaxed),
            pause_waits: c.pause_waits.load(Relaxed),
            pauses_published: c.pauses_published.load(Relaxed),
            pause_ms: self.current_pause(),
            hints_published: c.hints_published.load(Relaxed),
            hints_applied: c.hints_applied.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_late;
