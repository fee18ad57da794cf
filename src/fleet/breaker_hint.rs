//! The breaker hint: when one instance's circuit opens it writes a key that lives as long as
//! its reset timeout. The others read it in the background (with the pause, every
//! `STATE_REFRESH_MS`, only while they have traffic) and, once per distinct opening, move
//! their own CLOSED breaker to HALF_OPEN: their next calls are trials, and one failure opens
//! their circuit too, instead of each instance paying `failureThreshold` failures of its own.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use redis::Script;

use super::link::Link;
use super::{FleetCounters, ACTIVE_MEMBER_MS};

/// What a background refresh learned.
#[derive(Debug, PartialEq, Eq)]
pub struct Refreshed {
    pub pause_ms: Option<u64>,
    /// Instances that made calls lately, this one included.
    pub members: u64,
}

pub struct BreakerHint {
    link: Arc<Link>,
    counters: Arc<FleetCounters>,
    key: String,
    /// This instance's openings are written as `<instance>:<n>`, and not applied to itself.
    instance: String,
    openings: AtomicU64,
    /// The last hint applied (or seen at start-up), so each opening is applied once.
    last_seen: Mutex<Option<String>>,
    /// A new opening elsewhere, not yet applied to the local breaker.
    pending: AtomicBool,
    state: Script,
}

impl BreakerHint {
    pub fn new(link: Arc<Link>, counters: Arc<FleetCounters>, key: String, instance: String) -> Self {
        Self {
            link,
            counters,
            key,
            instance,
            openings: AtomicU64::new(0),
            last_seen: Mutex::new(None),
            pending: AtomicBool::new(false),
            state: Script::new(super::lua::STATE),
        }
    }

    /// This instance's circuit opened: tell the fleet for `reset_timeout_ms`.
    pub async fn publish_open(&self, reset_timeout_ms: u64) {
        let n = self.openings.fetch_add(1, Relaxed) + 1;
        let value = format!("{}:{n}", self.instance);
        let sent = self
            .link
            .run(|mut conn| async move {
                redis::cmd("SET")
                    .arg(&self.key)
                    .arg(&value)
                    .arg("PX")
                    .arg(reset_timeout_ms.max(1))
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        if sent.is_ok() {
            self.counters.hints_published.fetch_add(1, Relaxed);
        }
    }

    /// This instance's circuit closed again: the service answers, so the hint is withdrawn.
    pub async fn publish_closed(&self) {
        let _ = self
            .link
            .run(|mut conn| async move { redis::cmd("DEL").arg(&self.key).query_async::<()>(&mut conn).await })
            .await;
    }

    /// Reads the hint, the fleet's pause and the number of active instances in one round
    /// trip, and counts this instance as active; `None` when Redis did not answer.
    pub async fn refresh(&self, pause_key: &str, members_key: &str) -> Option<Refreshed> {
        let (hint, pause, members) = self
            .link
            .run(|mut conn| async move {
                self.state
                    .key(&self.key)
                    .key(pause_key)
                    .key(members_key)
                    .arg(&self.instance)
                    .arg(ACTIVE_MEMBER_MS)
                    .invoke_async::<(Option<String>, i64, u64)>(&mut conn)
                    .await
            })
            .await
            .ok()?;
        self.observe(hint);
        Some(Refreshed { pause_ms: (pause > 0).then_some(pause as u64), members: members.max(1) })
    }

    fn observe(&self, hint: Option<String>) {
        let Some(hint) = hint else { return };
        if hint.split_once(':').is_some_and(|(instance, _)| instance == self.instance) {
            return;
        }
        let mut last = self.last_seen.lock().unwrap_or_else(PoisonError::into_inner);
        if last.as_deref() != Some(hint.as_str()) {
            *last = Some(hint);
            self.pending.store(true, Relaxed);
        }
    }

    /// True once per opening elsewhere that this instance has not acted on yet.
    pub fn take_pending(&self) -> bool {
        self.pending.swap(false, Relaxed)
    }

    pub fn note_applied(&self) {
        self.counters.hints_applied.fetch_add(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint() -> BreakerHint {
        let link = Arc::new(Link::new(
            redis::Client::open("redis://127.0.0.1:1/").unwrap(),
            10,
            Default::default(),
            crate::observe::events::noop(),
            "probe".into(),
        ));
        BreakerHint::new(link, Default::default(), "k".into(), "me".into())
    }

    #[test]
    fn each_opening_elsewhere_is_applied_once_and_our_own_never() {
        let h = hint();
        h.observe(Some("me:1".into()));
        assert!(!h.take_pending(), "our own opening");
        h.observe(Some("other:1".into()));
        assert!(h.take_pending());
        assert!(!h.take_pending(), "taken once");
        h.observe(Some("other:1".into()));
        assert!(!h.take_pending(), "the same opening seen again");
        h.observe(None);
        h.observe(Some("other:2".into()));
        assert!(h.take_pending(), "a new opening");
    }
}
