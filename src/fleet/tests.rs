//! Fleet mode against a real `redis-server` (`CHITTYID_TEST_REDIS_URL`, set by
//! `scripts/with-redis.sh`), and against a port where nothing listens.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::budget::{Grant, RateConfig};
use super::cache::Lookup;
use super::*;
use crate::observe::events::testing::RecordingSink;

const SERVICE: &str = "http://127.0.0.1:9/v1";

/// The test Redis, or `None` for a test that then skips, saying so on stderr. A test that
/// cannot reach Redis must not report `ok` where Redis is expected: with
/// `CHITTYID_REQUIRE_REDIS` set (`.ci/run` sets it) a missing URL fails the test instead.
pub(super) fn redis_url() -> Option<String> {
    let url = std::env::var("CHITTYID_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        let required = std::env::var("CHITTYID_REQUIRE_REDIS").is_ok_and(|v| !v.is_empty() && v != "0");
        let test = std::thread::current().name().unwrap_or("a fleet test").to_owned();
        assert!(!required, "{test}: CHITTYID_REQUIRE_REDIS is set but CHITTYID_TEST_REDIS_URL is not; run it under `bash scripts/with-redis.sh`");
        // Straight to the process's stderr: the test harness captures `eprintln!` of a passing
        // test, and a skip must show.
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED {test}: CHITTYID_TEST_REDIS_URL is not set (this test needs a redis-server; run `bash scripts/with-redis.sh cargo test --lib fleet`)"
        );
    }
    url
}

pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A fleet member; members built with the same `prefix` share state.
pub(super) fn member(
    url: &str,
    prefix: &str,
    configure: impl FnOnce(&mut FleetConfig),
) -> (Arc<Fleet>, Arc<RecordingSink>) {
    let mut config = FleetConfig::new(url.to_owned());
    config.key_prefix = prefix.to_owned();
    // Generous: these tests assert behaviour, not latency, on a shared machine.
    config.deadline_ms = 500;
    configure(&mut config);
    let sink = Arc::new(RecordingSink::default());
    let fleet = Fleet::new(
        config,
        SERVICE,
        Some("sekrit-key"),
        tls::Trust::DEFAULT,
        10_000,
        sink.clone(),
        crate::rt::clock::system(),
    )
    .unwrap();
    (fleet, sink)
}

pub(super) fn prefix() -> String {
    format!("chittyid-test-{:08x}", fastrand::u32(..))
}

#[test]
fn two_members_draw_from_one_bucket() {
    let Some(url) = redis_url() else { return };
    let p = prefix();
    let rate = |c: &mut FleetConfig| c.rate = Some(RateConfig { per_second: 20.0, burst: 1.0 });
    let (a, _) = member(&url, &p, rate);
    let (b, _) = member(&url, &p, rate);
    runtime().block_on(async {
        let mut waits = Vec::new();
        let started = Instant::now();
        for _ in 0..10 {
            for m in [&a, &b] {
                match m.rate.acquire(10_000).await {
                    Grant::After(w) => waits.push(w),
                    other => panic!("{other:?}"),
                }
            }
        }
        let taken = started.elapsed().as_millis() as u64;
        // 20 slots at 20/s from one bucket: the last is 950 ms after the first, so ~950 ms out
        // less the time the 20 requests took (Redis keeps the time: no manual clock here, and a
        // loaded machine takes 100 ms and more). Two separate buckets: 450 ms after the first.
        let last = *waits.iter().max().unwrap();
        assert!(last <= 1_000 && last + taken >= 900, "last slot in {last} ms, {taken} ms in: {waits:?}");
        // A slot further than the caller can wait is refused, and reserves nothing.
        assert!(matches!(a.rate.acquire(10).await, Grant::Refused(w) if w > 10));
    });
    assert!(a.snapshot().connected && !a.snapshot().degraded);
}

#[test]
fn a_pause_reaches_the_other_members() {
    let Some(url) = redis_url() else { return };
    let p = prefix();
    let (a, _) = member(&url, &p, |_| {});
    let (b, _) = member(&url, &p, |c| c.rate = Some(RateConfig { per_second: 1_000.0, burst: 10.0 }));
    let (c, _) = member(&url, &p, |_| {});
    // An 8 s pause: the steps below see most of it left even when a loaded machine stalls them
    // for seconds (Redis keeps the time, so no manual clock here).
    runtime().block_on(async {
        assert!(a.rate.publish_pause(8_000).await);
        assert!(a.current_pause() > 6_000, "the publisher pauses at once");
        // With a rate budget, the acquire script sees the pause.
        assert!(matches!(b.rate.acquire(10_000).await, Grant::Paused(ms) if ms > 4_000 && ms <= 8_000));
        // Without one, the background refresh brings it.
        assert_eq!(c.current_pause(), 0);
        c.maybe_refresh();
        let deadline = Instant::now() + Duration::from_secs(4);
        while c.current_pause() == 0 {
            assert!(Instant::now() < deadline, "the pause never arrived");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(c.current_pause() <= 8_000);
        // A shorter pause never shortens the fleet's.
        assert!(a.rate.publish_pause(10).await);
        assert!(matches!(b.rate.acquire(10_000).await, Grant::Paused(ms) if ms > 100));
    });
}

#[test]
fn an_answer_stored_by_one_member_is_a_hit_for_another_and_misses_coalesce() {
    let Some(url) = redis_url() else { return };
    let p = prefix();
    let (a, _) = member(&url, &p, |c| c.coalesce_ms = 10_000);
    let (b, _) = member(&url, &p, |c| c.coalesce_ms = 10_000);
    runtime().block_on(async {
        let (l2a, l2b) = (a.shared_cache().unwrap(), b.shared_cache().unwrap());
        let Lookup::Miss(lease) = l2a.lookup("CT-A-CHI-1234-I-24-A-0").await else { panic!("empty L2") };
        // B arrives while A asks the service: it waits for A's answer instead of asking too.
        let waiter = async { l2b.lookup("CT-A-CHI-1234-I-24-A-0").await };
        let answer = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            l2a.store("CT-A-CHI-1234-I-24-A-0", Some(true), 60_000, lease).await;
        };
        let (seen, ()) = tokio::join!(waiter, answer);
        match seen {
            Lookup::Hit { valid: true, ttl_ms } => assert!(ttl_ms > 59_000 && ttl_ms <= 60_000, "{ttl_ms}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(b.snapshot().coalesced, 1);
        // Negative answers keep their own (shorter) TTL.
        let Lookup::Miss(lease) = l2b.lookup("CT-A-CHI-9999-I-24-A-0").await else { panic!() };
        l2b.store("CT-A-CHI-9999-I-24-A-0", Some(false), 1_000, lease).await;
        assert!(matches!(l2a.lookup("CT-A-CHI-9999-I-24-A-0").await, Lookup::Hit { valid: false, ttl_ms } if ttl_ms <= 1_000));
        // A failed request releases the lock without storing: the next caller leads at once.
        let Lookup::Miss(lease) = l2a.lookup("CT-A-CHI-5555-I-24-A-0").await else { panic!() };
        l2a.store("CT-A-CHI-5555-I-24-A-0", None, 60_000, lease).await;
        // (Waiting for a lock left behind would take the 10 s coalescing window; the bound sits in
        // the middle.)
        let started = Instant::now();
        assert!(matches!(l2b.lookup("CT-A-CHI-5555-I-24-A-0").await, Lookup::Miss(_)));
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    });
    assert_eq!(a.snapshot().l2_hits, 1);
}

/// Writes `value` under `key` directly, as anyone with access to the Redis could.
async fn raw_set(url: &str, key: &str, value: &str) {
    let mut conn = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    redis::cmd("SET").arg(key).arg(value).arg("PX").arg(60_000).query_async::<()>(&mut conn).await.unwrap();
}

pub(super) async fn raw_get(url: &str, key: &str) -> Option<String> {
    let mut conn = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    redis::cmd("GET").arg(key).query_async(&mut conn).await.unwrap()
}

#[test]
fn entries_a_redis_writer_forged_or_moved_are_misses_and_counted() {
    let Some(url) = redis_url() else { return };
    let p = prefix();
    let (a, _) = member(&url, &p, |_| {});
    let id = "CT-A-CHI-1234-I-24-A-0";
    let other = "CT-A-CHI-4321-I-24-A-0";
    runtime().block_on(async {
        let l2 = a.shared_cache().unwrap();
        let (verdict_key, _) = l2.keys(id);
        // What the old clients stored, and what anyone could write: a bare verdict.
        raw_set(&url, &verdict_key, "1").await;
        assert!(matches!(l2.lookup(id).await, Lookup::Miss(_)));
        // A tag made with another key (another fleet's, or a guess).
        let foreign = cache::entry_key("not-the-key", &format!("{p}:x:"));
        raw_set(&url, &verdict_key, &cache::seal(&foreign, &verdict_key, true, u64::MAX / 2)).await;
        assert!(matches!(l2.lookup(id).await, Lookup::Miss(_)));
        // A genuine "valid" entry of one id, copied under another id's key.
        let Lookup::Miss(lease) = l2.lookup(other).await else { panic!("empty L2") };
        l2.store(other, Some(true), 60_000, lease).await;
        let genuine = raw_get(&url, &l2.keys(other).0).await.unwrap();
        assert!(matches!(l2.lookup(other).await, Lookup::Hit { valid: true, .. }));
        raw_set(&url, &verdict_key, &genuine).await;
        assert!(matches!(l2.lookup(id).await, Lookup::Miss(_)));
        // A genuine entry of this very id, replayed after its signed expiry (say, the "valid"
        // of an id revoked since), even with a fresh Redis TTL.
        raw_set(&url, &verdict_key, &cache::seal(l2.signing_key(), &verdict_key, true, 1)).await;
        assert!(matches!(l2.lookup(id).await, Lookup::Miss(_)));
        // A tampered verdict under a genuine tag.
        let flipped = format!("0{}", &genuine[1..]);
        raw_set(&url, &l2.keys(other).0, &flipped).await;
        assert!(matches!(l2.lookup(other).await, Lookup::Miss(_)));
        // The service's answer then replaces the forgery, for every member.
        let Lookup::Miss(lease) = l2.lookup(id).await else { panic!() };
        l2.store(id, Some(false), 60_000, lease).await;
        assert!(matches!(l2.lookup(id).await, Lookup::Hit { valid: false, .. }));
    });
    let s = a.snapshot();
    assert_eq!(s.l2_rejected, 6, "{s:?}");
    assert_eq!(s.l2_hits, 2, "{s:?}");
}

#[test]
fn without_an_api_key_there_is_no_shared_cache() {
    let config = FleetConfig::new("redis://127.0.0.1:1/".to_owned());
    let fleet = Fleet::new(
        config,
        SERVICE,
        None,
        tls::Trust::DEFAULT,
        1_000,
        crate::observe::events::noop(),
        crate::rt::clock::system(),
    )
    .unwrap();
    assert!(fleet.shared_cache().is_none());
}

#[test]
fn forget_deletes_the_entry_for_every_member() {
    let Some(url) = redis_url() else { return };
    let p = prefix();
    let (a, _) = member(&url, &p, |_| {});
    let (b, _) = member(&url, &p, |_| {});
    let id = "CT-A-CHI-7777-I-24-A-0";
    runtime().block_on(async {
        let (l2a, l2b) = (a.shared_cache().unwrap(), b.shared_cache().unwrap());
        let Lookup::Miss(lease) = l2a.lookup(id).await else { panic!("empty L2") };
        l2a.store(id, Some(true), 60_000, lease).await;
        assert!(matches!(l2b.lookup(id).await, Lookup::Hit { valid: true, .. }));
        assert!(l2a.forget(id).await);
        assert!(!l2a.forget(id).await, "nothing left to forget");
        assert!(matches!(l2b.lookup(id).await, Lookup::Miss(_)));
    });
}

#[test]
fn an_opening_elsewhere_makes_the_others_probe_once() {
    let Some(url) = redis_url() else { return };
    let p = prefix();
    let (a, _) = member(&url, &p, |_| {});
    let (b, _) = member(&url, &p, |_| {});
    runtime().block_on(async {
        let refresh = |m: &Arc<Fleet>| {
            let m = Arc::clone(m);
            async move { m.hint.refresh(m.rate.pause_key(), m.rate.members_key()).await.unwrap() }
        };
        a.hint.publish_open(5_000).await;
        assert_eq!(refresh(&a).await, breaker_hint::Refreshed { pause_ms: None, members: 1 });
        assert!(!a.take_breaker_hint(), "not from its own opening");
        assert_eq!(refresh(&b).await.members, 2, "both refreshed lately");
        assert!(b.take_breaker_hint());
        refresh(&b).await;
        assert!(!b.take_breaker_hint(), "once per opening");
        a.hint.publish_closed().await;
        refresh(&b).await;
        assert!(!b.take_breaker_hint());
    });
    assert_eq!(a.snapshot().hints_published, 1);
}

#[test]
fn keys_never_hold_the_api_key_and_scope_by_it_only_when_asked() {
    let Some(url) = redis_url() else { return };
    let p = prefix();
    let (shared, _) = member(&url, &p, |c| c.rate = Some(RateConfig { per_second: 100.0, burst: 5.0 }));
    let (scoped, _) = member(&url, &p, |c| {
        c.rate = Some(RateConfig { per_second: 100.0, burst: 5.0 });
        c.api_key_scope = true;
    });
    runtime().block_on(async {
        shared.rate.acquire(1_000).await;
        scoped.rate.acquire(1_000).await;
        let mut conn = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{p}:*")).query_async(&mut conn).await.unwrap();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.iter().all(|k| !k.contains("sekrit")), "{keys:?}");
        assert_eq!(keys.iter().filter(|k| k.contains(":k")).count(), 1, "{keys:?}");
    });
}

#[test]
fn without_redis_calls_go_on_local_only_within_the_deadline() {
    // Nothing listens on port 1: every command fails fast, the fleet degrades once and the
    // local bucket keeps the rate.
    let mut config = FleetConfig::new("redis://127.0.0.1:1/".to_owned());
    config.rate = Some(RateConfig { per_second: 10.0, burst: 1.0 });
    config.deadline_ms = 50;
    let sink = Arc::new(RecordingSink::default());
    // The bucket's clock stands still: the waits below are exact however slowly the test runs.
    let clock = crate::rt::clock::ManualClock::new(0);
    let fleet = Fleet::new(config, SERVICE, Some("k"), tls::Trust::DEFAULT, 10_000, sink.clone(), clock).unwrap();
    runtime().block_on(async {
        let started = Instant::now();
        fleet.before_attempt().await.unwrap();
        // Well above the 50 ms deadline, for a loaded machine; far below any wait on Redis.
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        // Now known to be down: no Redis round trip at all, and the local bucket paces at this
        // instance's share: 10/s alone, 2.5/s when the last refresh saw 4 active instances.
        assert!(matches!(fleet.rate.acquire(10_000).await, Grant::After(100)));
        fleet.rate.note_members(4);
        // Two reservations outstanding (one slot already 100 ms out) at 2.5/s: 800 ms.
        assert!(matches!(fleet.rate.acquire(10_000).await, Grant::After(800)));
        let l2 = fleet.shared_cache().unwrap();
        assert!(matches!(l2.lookup("X").await, Lookup::Miss(_)));
    });
    let s = fleet.snapshot();
    assert!(s.degraded && !s.connected);
    assert_eq!(s.degradations, 1);
    // Why, for whoever looks after the event: the refused connection.
    assert!(s.degraded_reason.as_deref().is_some_and(|r| !r.is_empty()), "{s:?}");
    assert!(s.skipped >= 2, "{s:?}");
    assert_eq!(sink.names(), ["fleetDegraded"]);
}

#[test]
fn a_published_pause_holds_this_instance_and_a_call_that_cannot_wait_fails_unsent() {
    let mut config = FleetConfig::new("redis://127.0.0.1:1/".to_owned());
    config.deadline_ms = 20;
    // Clocks that stand still: the pauses read back exactly however slowly the test runs.
    let fleet = Fleet::new(
        config,
        SERVICE,
        Some("k"),
        tls::Trust::DEFAULT,
        10_000,
        crate::observe::events::noop(),
        crate::rt::clock::ManualClock::new(0),
    )
    .unwrap();
    runtime().block_on(async {
        assert_eq!(fleet.current_pause(), 0);
        fleet.publish_pause(3_000);
        assert_eq!(fleet.current_pause(), 3_000);
        // The call that cannot wait out the pause fails at once.
        let short = Fleet::new(
            FleetConfig { deadline_ms: 20, ..FleetConfig::new("redis://127.0.0.1:1/".into()) },
            SERVICE,
            None,
            tls::Trust::DEFAULT,
            100,
            crate::observe::events::noop(),
            crate::rt::clock::ManualClock::new(0),
        )
        .unwrap();
        short.publish_pause(1_000);
        assert_eq!(short.current_pause(), 1_000);
        let err = short.before_attempt().await.unwrap_err();
        assert_eq!(err.code(), "ERATELIMITED");
        assert!(matches!(err, ClientError::RateLimited { by: crate::error::Pacer::Pause, .. }), "{err:?}");
        assert!(!err.may_have_reached_service());
    });
}

#[test]
fn options_are_checked() {
    let ok = FleetConfig::new("redis://127.0.0.1:6379/0".into());
    assert!(ok.validate().is_ok());
    for bad in [
        FleetConfig::new("http://127.0.0.1:6379".into()),
        FleetConfig::new("redis:/h:1".into()),
        FleetConfig { key_prefix: String::new(), ..ok.clone() },
        FleetConfig { key_prefix: "two words".into(), ..ok.clone() },
        FleetConfig { deadline_ms: 0, ..ok.clone() },
        FleetConfig { deadline_ms: MAX_DEADLINE_MS + 1, ..ok.clone() },
        FleetConfig { rate: Some(RateConfig { per_second: 0.0, burst: 1.0 }), ..ok.clone() },
        FleetConfig { rate: Some(RateConfig { per_second: f64::NAN, burst: 1.0 }), ..ok.clone() },
        FleetConfig { rate: Some(RateConfig { per_second: 1.0, burst: 0.5 }), ..ok.clone() },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    let with_password = FleetConfig::new("redis://:hunter2@127.0.0.1:1/".into());
    assert!(!format!("{with_password:?}").contains("hunter2"));
}

#[test]
fn a_closed_fleet_sends_nothing_and_reports_nothing() {
    let Some(url) = redis_url() else { return };
    let (fleet, sink) = member(&url, &prefix(), |c| c.rate = Some(RateConfig { per_second: 1_000.0, burst: 10.0 }));
    runtime().block_on(async {
        assert!(matches!(fleet.rate.acquire(1_000).await, Grant::After(0)));
        assert!(fleet.snapshot().connected);
        fleet.close();
        // The local bucket answers; Redis is neither asked nor counted as failing.
        assert!(matches!(fleet.rate.acquire(1_000).await, Grant::After(_)));
    });
    let s = fleet.snapshot();
    assert!(!s.connected && !s.degraded && s.degraded_reason.is_none(), "{s:?}");
    assert_eq!((s.errors, s.timeouts, s.skipped, s.degradations), (0, 0, 0, 0));
    assert!(sink.names().is_empty());
}

#[test]
fn no_redis_command_outlasts_the_callers_timeout_and_a_caller_cut_short_says_nothing_of_redis() {
    let Some(url) = redis_url() else { return };
    // A deadline above the client's timeout is cut to it, and so is the coalescing wait.
    let mut config = FleetConfig::new(url.clone());
    config.key_prefix = prefix();
    config.deadline_ms = 5_000;
    let sink = Arc::new(RecordingSink::default());
    let fleet =
        Fleet::new(config, SERVICE, Some("k"), tls::Trust::DEFAULT, 300, sink.clone(), crate::rt::clock::system())
            .unwrap();
    assert_eq!(fleet.link.deadline(), Duration::from_millis(300));
    runtime().block_on(async {
        Arc::clone(&fleet.link).warm_up().await;
        assert!(fleet.snapshot().connected);
        // A script that keeps Redis busy for 40 ms, asked by callers that can wait 2 ms: each
        // gives up, and none of it counts towards "Redis is slow" (that would go local-only).
        const BUSY: &str = "local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] \
            repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 40000 return 1";
        for _ in 0..4 {
            let started = Instant::now();
            let answer = fleet
                .link
                .run_within(Duration::from_millis(2), |mut conn| async move {
                    redis::cmd("EVAL").arg(BUSY).arg(0).query_async::<i64>(&mut conn).await
                })
                .await;
            assert_eq!(answer, Err(link::Miss::TimedOut));
            assert!(started.elapsed() < Duration::from_millis(300), "{:?}", started.elapsed());
        }
        // The next command with the whole deadline is answered.
        let answer =
            fleet.link.run(|mut conn| async move { redis::cmd("PING").query_async::<String>(&mut conn).await }).await;
        assert_eq!(answer.as_deref(), Ok("PONG"));
    });
    let s = fleet.snapshot();
    assert!(s.connected && !s.degraded, "{s:?}");
    assert_eq!((s.timeouts, s.degradations), (0, 0), "{s:?}");
    assert!(sink.names().is_empty());
    fleet.close();
}

#[test]
fn slots_are_not_handed_out_twice_when_pacing_moves_between_redis_and_the_local_bucket() {
    let Some(url) = redis_url() else { return };
    // 1/s: the slots lie seconds out, so a loaded machine's slow round trips to Redis (which
    // keeps the time) do not bring them into the past before the checks below.
    let rate = RateConfig { per_second: 1.0, burst: 1.0 };
    let wait_of = |grant: Grant| match grant {
        Grant::After(ms) => ms,
        other => panic!("{other:?}"),
    };
    // Redis → local: four slots granted by Redis (the last ~3 s out); then Redis is gone
    // (closed here). The local bucket starts after them, not with a fresh burst of its own.
    let (fleet, _) = member(&url, &prefix(), |c| c.rate = Some(rate));
    runtime().block_on(async {
        let started = Instant::now();
        let waits: Vec<u64> = take_slots(&fleet, 4).await;
        fleet.close();
        let local = wait_of(fleet.rate.acquire(10_000).await);
        // Each wait is counted from its own request: add the time taken since the first.
        let taken = started.elapsed().as_millis() as u64;
        assert!(waits[3] + taken >= 2_900, "{waits:?} in {taken} ms");
        let local_at = local + taken;
        assert!(
            local_at >= 2_950,
            "the first local slot {local_at} ms after the first Redis one, inside the ones Redis granted ({waits:?})"
        );
    });
    // Local → Redis: a member that promised five slots while pacing itself carries them into the
    // shared bucket with its first request there; another member then queues behind them.
    let p = prefix();
    let (a, _) = member(&url, &p, |c| c.rate = Some(rate));
    let (b, _) = member(&url, &p, |c| c.rate = Some(rate));
    runtime().block_on(async {
        {
            let mut pacing = a.rate.pacing();
            pacing.local = Some(super::budget::LocalBucket::after(rate, crate::rt::clock::system().now_ms(), 5_000));
            pacing.on_local = true;
        }
        let asked = Instant::now();
        let first = wait_of(a.rate.acquire(10_000).await);
        assert!(first >= 4_000, "a's first Redis slot at {first} ms, after its 5 promised ones");
        assert!(!a.rate.pacing().on_local);
        let other = wait_of(b.rate.acquire(10_000).await);
        let between = asked.elapsed().as_millis() as u64;
        assert!(other + between >= first, "b at {other} ms, a at {first} ms, {between} ms apart");
        // Carried once: a's next slot is one interval on, not five more.
        let next = wait_of(a.rate.acquire(10_000).await);
        assert!(next <= other + 1_500, "{next} vs {other}");
    });
}

/// `n` slots taken one after another from `fleet`'s budget: their waits.
async fn take_slots(fleet: &Arc<Fleet>, n: usize) -> Vec<u64> {
    let mut waits = Vec::new();
    for _ in 0..n {
        match fleet.rate.acquire(10_000).await {
            Grant::After(ms) => waits.push(ms),
            other => panic!("{other:?}"),
        }
    }
    waits
}

#[test]
fn closed_waits_for_a_connection_attempt_under_way_and_leaves_no_socket_open() {
    // A "Redis" that accepts and never answers: the warm-up waits for its PING.
    runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}/", listener.local_addr().unwrap());
        let (fleet, sink) = member(&url, &prefix(), |c| c.rate = Some(RateConfig { per_second: 10.0, burst: 1.0 }));
        fleet.start();
        let (mut socket, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept()).await.unwrap().unwrap();
        assert!(!fleet.is_closed());
        fleet.close();
        tokio::time::timeout(Duration::from_millis(500), fleet.closed()).await.expect("closed() within the deadline");
        assert!(fleet.is_closed());
        // The attempt was dropped with its socket: the server reads to the end at once.
        let mut rest = Vec::new();
        let read = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::io::AsyncReadExt::read_to_end(&mut socket, &mut rest),
        )
        .await;
        assert!(matches!(read, Ok(Ok(_))), "the socket is still open after closed(): {read:?}");
        // Nothing connects again, and the close reported nothing.
        assert!(tokio::time::timeout(Duration::from_millis(700), listener.accept()).await.is_err());
        assert!(sink.names().is_empty(), "{:?}", sink.names());
    });
}
