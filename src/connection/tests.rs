//! The connection manager's state machine, step by step on a stepped clock.

use std::sync::Arc;

use super::*;
use crate::rt::clock::ManualClock;

const URL: &str = "http://127.0.0.1:9/v1";

fn down() -> Result<(), ClientError> {
    Err(ClientError::Http {
        status: 503,
        status_text: "Service Unavailable".into(),
        retry_after: None,
        backend_failed: false,
    })
}

fn exact(max_attempts: Option<u32>) -> ConnectionConfig {
    ConnectionConfig { jitter: 0.0, max_reconnect_attempts: max_attempts, ..ConnectionConfig::default() }
}

fn machine(config: ConnectionConfig) -> (ConnectionMachine, Arc<ManualClock>) {
    let clock = ManualClock::new(1_000);
    let m = ConnectionMachine::new(config, URL.into(), clock.clone(), clock.clone()).with_seed(7);
    (m, clock)
}

fn names(step: &Step) -> Vec<&'static str> {
    step.events.iter().map(Event::name).collect()
}

fn state_changes(step: &Step) -> Vec<(&'static str, &'static str)> {
    step.events
        .iter()
        .filter_map(|e| match e {
            Event::StateChange { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

fn reconnecting(step: &Step) -> Option<(u32, u64)> {
    step.events.iter().find_map(|e| match e {
        Event::Reconnecting { attempt, delay } => Some((*attempt, *delay)),
        _ => None,
    })
}

/// connect() + a healthy first check.
fn connected(m: &mut ConnectionMachine) {
    let mut step = Step::default();
    let ConnectRequest::Wait { id } = m.connect(&mut step) else { panic!("should wait") };
    let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
    assert_eq!(step.resolved, Some((id, true)));
    assert_eq!(m.state(), ConnectionState::Connected);
}

#[test]
fn defaults_match_the_design() {
    let c = ConnectionConfig::default();
    assert_eq!(c.health_check_interval_ms, 30_000);
    assert_eq!(c.reconnect_delay_ms, 1_000);
    assert_eq!(c.max_reconnect_delay_ms, 60_000);
    assert_eq!(c.multiplier, 2.0);
    assert_eq!(c.max_reconnect_attempts, None);
    assert!(c.validate().is_ok());
}

#[test]
fn starts_disconnected_with_nothing_due() {
    let (m, _) = machine(exact(None));
    let s = m.snapshot();
    assert_eq!(s.state, ConnectionState::Disconnected);
    assert_eq!(s.next_check_in_ms, None);
    assert_eq!(s.last_health_check, None);
    assert_eq!(s.stats, ConnectionStats::default());
    assert_eq!(m.plan().check_in_ms, None);
}

#[test]
fn connect_checks_at_once_then_every_interval() {
    let (mut m, clock) = machine(exact(None));
    let mut step = Step::default();
    assert_eq!(m.connect(&mut step), ConnectRequest::Wait { id: 1 });
    assert_eq!(state_changes(&step), [("DISCONNECTED", "CONNECTING")]);
    assert_eq!(m.plan().check_in_ms, Some(0));

    clock.advance(5);
    let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
    assert_eq!(names(&step), ["stateChange", "connected"]);
    assert_eq!(step.events[0], Event::StateChange { from: "CONNECTING", to: "CONNECTED", timestamp: 1_005 });
    assert_eq!(step.events[1], Event::Connected { service_url: URL.into() });
    assert_eq!(m.plan().check_in_ms, Some(30_000));

    let s = m.snapshot();
    assert_eq!(s.last_health_check, Some(1_005));
    assert_eq!(s.last_successful_connection, Some(1_005));
    assert_eq!(s.stats.total_connections, 1);
    assert_eq!(s.stats.successful_health_checks, 1);

    clock.advance(30_000);
    assert_eq!(m.snapshot().uptime_ms, 30_000);
    assert_eq!(m.plan().check_in_ms, Some(0));
    let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
    assert!(step.events.is_empty());
    assert_eq!(m.plan().check_in_ms, Some(30_000));
    assert_eq!(m.snapshot().stats.total_health_checks, 2);
}

#[test]
fn connect_while_connecting_joins_and_while_connected_is_immediate() {
    let (mut m, _) = machine(exact(None));
    let mut step = Step::default();
    let first = m.connect(&mut step);
    let mut again = Step::default();
    assert_eq!(m.connect(&mut again), first);
    assert!(again.events.is_empty());
    m.on_check(m.plan().epoch, Ok(())).unwrap();
    let mut step = Step::default();
    assert_eq!(m.connect(&mut step), ConnectRequest::AlreadyConnected);
    assert!(step.events.is_empty());
}

#[test]
fn loss_emits_unhealthy_then_reconnects_with_exact_backoff() {
    let (mut m, clock) = machine(exact(None));
    connected(&mut m);
    let step = m.on_check(m.plan().epoch, down()).unwrap();
    assert_eq!(names(&step), ["unhealthy", "stateChange", "reconnecting"]);
    assert_eq!(state_changes(&step), [("CONNECTED", "RECONNECTING")]);
    assert_eq!(reconnecting(&step), Some((1, 1_000)));
    assert_eq!(m.plan().check_in_ms, Some(1_000));

    let mut delays = vec![];
    for _ in 0..8 {
        clock.advance(m.plan().check_in_ms.unwrap());
        let step = m.on_check(m.plan().epoch, down()).unwrap();
        assert_eq!(names(&step), ["reconnecting"], "no state change while reconnecting");
        delays.push(reconnecting(&step).unwrap());
    }
    assert_eq!(
        delays,
        [(2, 2_000), (3, 4_000), (4, 8_000), (5, 16_000), (6, 32_000), (7, 60_000), (8, 60_000), (9, 60_000)]
    );

    let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
    assert_eq!(names(&step), ["stateChange", "connected"]);
    assert_eq!(state_changes(&step), [("RECONNECTING", "CONNECTED")]);
    let s = m.snapshot();
    assert_eq!(s.reconnect_attempts, 0);
    assert_eq!(s.stats.total_connections, 2);
    assert_eq!(s.stats.total_reconnections, 9);
    assert_eq!(s.stats.total_failures, 8);
    assert_eq!(s.stats.failed_health_checks, 9);
}

#[test]
fn backoff_uses_configured_values() {
    let config =
        ConnectionConfig { reconnect_delay_ms: 50, multiplier: 3.0, max_reconnect_delay_ms: 1_000, ..exact(None) };
    let (mut m, _) = machine(config);
    connected(&mut m);
    let mut delays = vec![reconnecting(&m.on_check(m.plan().epoch, down()).unwrap()).unwrap().1];
    for _ in 0..4 {
        delays.push(reconnecting(&m.on_check(m.plan().epoch, down()).unwrap()).unwrap().1);
    }
    assert_eq!(delays, [50, 150, 450, 1_000, 1_000]);
}

#[test]
fn jitter_stays_within_its_band() {
    let config = ConnectionConfig { jitter: 0.2, max_reconnect_attempts: None, ..ConnectionConfig::default() };
    let (mut m, _) = machine(config);
    connected(&mut m);
    let mut seen = std::collections::HashSet::new();
    for attempts in 0..12u32 {
        let (attempt, delay) = reconnecting(&m.on_check(m.plan().epoch, down()).unwrap()).unwrap();
        assert_eq!(attempt, attempts + 1);
        let base = (1_000f64 * 2f64.powi(attempts as i32)).min(60_000.0);
        let (lo, hi) = ((base * 0.8).floor() as u64, (base * 1.2).min(60_000.0).ceil() as u64);
        assert!((lo..=hi).contains(&delay), "attempt {attempt}: {delay} not in {lo}..={hi}");
        seen.insert(delay);
    }
    assert!(seen.len() > 6, "jitter should vary the delays: {seen:?}");
}

#[test]
fn failed_first_connect_errors_and_keeps_trying() {
    let (mut m, _) = machine(exact(None));
    let mut step = Step::default();
    let ConnectRequest::Wait { id } = m.connect(&mut step) else { panic!() };
    let step = m.on_check(m.plan().epoch, down()).unwrap();
    assert_eq!(names(&step), ["error", "stateChange", "reconnecting"]);
    assert_eq!(state_changes(&step), [("CONNECTING", "RECONNECTING")]);
    assert_eq!(step.resolved, Some((id, false)));
    match &step.events[0] {
        Event::Error { code, message } => {
            assert_eq!(*code, "EHTTP");
            assert!(message.contains("503"), "{message}");
            assert!(message.contains(URL), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let step = m.on_check(m.plan().epoch, Ok(())).unwrap();
    assert_eq!(step.resolved, None, "the connect() caller already has its answer");
    assert_eq!(m.state(), ConnectionState::Connected);
}

#[test]
fn max_attempts_fails_and_stops() {
    let (mut m, _) = machine(exact(Some(2)));
    connected(&mut m);
    let s1 = m.on_check(m.plan().epoch, down()).unwrap();
    assert_eq!(reconnecting(&s1), Some((1, 1_000)));
    let s2 = m.on_check(m.plan().epoch, down()).unwrap();
    assert_eq!(reconnecting(&s2), Some((2, 2_000)));
    let s3 = m.on_check(m.plan().epoch, down()).unwrap();
    assert_eq!(names(&s3), ["stateChange", "maxReconnectAttemptsReached"]);
    assert_eq!(state_changes(&s3), [("RECONNECTING", "FAILED")]);
    assert_eq!(s3.events[1], Event::MaxReconnectAttemptsReached { attempts: 2 });
    assert_eq!(m.plan().check_in_ms, None, "nothing is due once FAILED");
    assert_eq!(m.snapshot().reconnect_attempts, 2);

    // connect() starts over from FAILED.
    let mut step = Step::default();
    assert!(matches!(m.connect(&mut step), ConnectRequest::Wait { .. }));
    assert_eq!(state_changes(&step), [("FAILED", "CONNECTING")]);
    assert_eq!(m.snapshot().reconnect_attempts, 0);
}

#[test]
fn zero_max_attempts_fails_at_the_first_failure() {
    let (mut m, _) = machine(exact(Some(0)));
    let mut step = Step::default();
    m.connect(&mut step);
    let step = m.on_check(m.plan().epoch, down()).unwrap();
    assert_eq!(names(&step), ["error", "stateChange", "maxReconnectAttemptsReached"]);
    assert_eq!(m.state(), ConnectionState::Failed);
}

#[test]
fn disconnect_cancels_everything_and_makes_outcomes_stale() {
    let (mut m, _) = machine(exact(None));
    let mut step = Step::default();
    let ConnectRequest::Wait { id } = m.connect(&mut step) else { panic!() };
    let epoch = m.plan().epoch;
    let step = m.disconnect();
    assert_eq!(names(&step), ["stateChange", "disconnected"]);
    assert_eq!(step.resolved, Some((id, false)));
    assert_eq!(m.plan().check_in_ms, None);
    assert_eq!(m.on_check(epoch, Ok(())), None, "a check from before the disconnect is stale");
    assert_eq!(m.state(), ConnectionState::Disconnected);
    assert!(m.disconnect().events.is_empty(), "disconnecting twice emits nothing");
}

#[test]
fn connect_while_reconnecting_starts_over_at_once() {
    let (mut m, _) = machine(exact(None));
    connected(&mut m);
    for _ in 0..3 {
        m.on_check(m.plan().epoch, down()).unwrap();
    }
    let stale = m.plan().epoch;
    assert_eq!(m.snapshot().reconnect_attempts, 3);
    let mut step = Step::default();
    assert!(matches!(m.connect(&mut step), ConnectRequest::Wait { .. }));
    assert_eq!(state_changes(&step), [("RECONNECTING", "CONNECTING")]);
    assert_eq!(m.plan().check_in_ms, Some(0));
    assert_eq!(m.snapshot().reconnect_attempts, 0);
    assert_eq!(m.on_check(stale, down()), None);
}

#[test]
fn close_is_silent_and_final() {
    let (mut m, _) = machine(exact(None));
    let mut step = Step::default();
    let ConnectRequest::Wait { id } = m.connect(&mut step) else { panic!() };
    let epoch = m.plan().epoch;
    let step = m.close();
    assert!(step.events.is_empty());
    assert_eq!(step.resolved, Some((id, false)));
    assert!(m.plan().closed);
    assert_eq!(m.on_check(epoch, Ok(())), None);
    assert_eq!(m.connect(&mut Step::default()), ConnectRequest::Wait { id: 0 });
    assert_eq!(m.state(), ConnectionState::Disconnected);
}

#[test]
fn exact_delay_function_matches_the_compat_formula() {
    let f = |attempts| reconnect_delay_ms(attempts, 1_000, 2.0, 60_000, 0.0, 0.9);
    assert_eq!((0..8).map(f).collect::<Vec<_>>(), [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    assert_eq!(reconnect_delay_ms(u32::MAX, 1_000, 2.0, 60_000, 0.0, 0.0), 60_000);
    assert_eq!(reconnect_delay_ms(3, 10, 1.5, u64::MAX, 0.0, 0.0), 34);
    assert_eq!(reconnect_delay_ms(0, 0, 2.0, 60_000, 0.0, 0.0), 0);
}

#[test]
fn validate_rejects_unusable_settings() {
    let bad = |c: ConnectionConfig, needle: &str| {
        let err = c.validate().unwrap_err();
        assert!(err.contains(needle), "{err}");
    };
    bad(ConnectionConfig { health_check_interval_ms: 0, ..Default::default() }, "healthCheckInterval");
    bad(ConnectionConfig { multiplier: 0.5, ..Default::default() }, "reconnectMultiplier");
    bad(ConnectionConfig { multiplier: f64::NAN, ..Default::default() }, "reconnectMultiplier");
    bad(ConnectionConfig { jitter: 2.0, ..Default::default() }, "jitter");
}

#[test]
fn reconnect_delays_have_a_floor() {
    let (mut m, clock) = machine(ConnectionConfig { reconnect_delay_ms: 0, max_reconnect_delay_ms: 0, ..exact(None) });
    connected(&mut m);
    let mut delays = vec![];
    for _ in 0..3 {
        let step = m.on_check(m.plan().epoch, down()).unwrap();
        delays.push(reconnecting(&step).unwrap().1);
        clock.advance(m.plan().check_in_ms.unwrap());
    }
    assert_eq!(delays, [MIN_RECONNECT_DELAY_MS; 3]);
}
