use super::*;
use crate::rt::clock::{Clock, ManualClock};
use std::sync::Arc;
use std::time::Duration;

fn gate() -> (Arc<ManualClock>, Pause) {
    let clock = ManualClock::new(10_000);
    let gate = Pause::new(clock.clone());
    (clock, gate)
}

#[test]
fn an_unlimited_client_always_goes() {
    let (_, g) = gate();
    assert_eq!(g.admit(0, 0), Admit::Go);
    g.on_success(g.stamp());
    assert_eq!(g.snapshot().limited, 0);
    assert!(!g.snapshot().paused);
}

#[test]
fn retry_after_sets_the_pause_for_every_call() {
    let (clock, g) = gate();
    assert_eq!(g.on_rate_limited(g.stamp(), Some(2_000), 0.5), Some(2_000));
    assert_eq!(g.admit(10_000, 0), Admit::Wait { ms: 2_000 });
    assert_eq!(g.admit(1_999, 0), Admit::TooLong { ms: 2_000 });
    clock.advance(1_500);
    assert_eq!(g.retry_in_ms(), 500);
    assert_eq!(g.admit(10_000, 0), Admit::Wait { ms: 500 });
    let snap = g.snapshot();
    assert!(snap.paused && snap.limited == 1 && snap.pauses == 1);
}

#[test]
fn a_server_given_pause_sets_no_pace() {
    let (clock, g) = gate();
    g.on_rate_limited(g.stamp(), Some(0), 0.5);
    clock.advance(1);
    assert_eq!((g.admit(0, 0), g.admit(0, 0)), (Admit::Go, Admit::Go));
    assert_eq!(g.snapshot().pace_per_sec, None);
}

#[test]
fn server_pauses_are_capped() {
    let (_, g) = gate();
    assert_eq!(g.on_rate_limited(g.stamp(), Some(3_600_000), 0.5), Some(MAX_PAUSE_MS));
}

#[test]
fn adaptive_pause_starts_near_a_second_and_grows_while_429s_continue() {
    let (clock, g) = gate();
    let mut pauses = Vec::new();
    for _ in 0..8 {
        let stamp = g.stamp();
        pauses.push(g.on_rate_limited(stamp, None, 0.5).unwrap());
        clock.advance(*pauses.last().unwrap());
    }
    assert_eq!(pauses, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    // Jitter spreads it by ±20 %.
    let (_, g) = gate();
    assert_eq!(g.on_rate_limited(g.stamp(), None, 0.0), Some(800));
    let (_, g) = gate();
    assert_eq!(g.on_rate_limited(g.stamp(), None, 0.999_999), Some(1_200));
}

#[test]
fn a_success_resets_the_growth() {
    let (clock, g) = gate();
    g.on_rate_limited(g.stamp(), None, 0.5);
    clock.advance(1_000);
    g.on_rate_limited(g.stamp(), None, 0.5);
    clock.advance(2_000);
    g.on_success(g.stamp());
    assert_eq!(g.on_rate_limited(g.stamp(), None, 0.5), Some(1_000));
}

#[test]
fn a_burst_sent_before_the_pause_neither_extends_nor_grows_it() {
    let (clock, g) = gate();
    let burst = g.stamp();
    assert_eq!(g.on_rate_limited(burst, None, 0.5), Some(1_000));
    clock.advance(10);
    for _ in 0..100 {
        assert_eq!(g.on_rate_limited(burst, None, 0.5), None);
    }
    assert_eq!(g.retry_in_ms(), 990);
    let snap = g.snapshot();
    assert_eq!((snap.limited, snap.pauses), (101, 1));
    // A late success of that burst does not reset the growth either.
    g.on_success(burst);
    clock.advance(990);
    assert_eq!(g.on_rate_limited(g.stamp(), None, 0.5), Some(2_000));
}

#[test]
fn after_the_pause_calls_leave_at_the_measured_pace() {
    let (clock, g) = gate();
    let burst = g.stamp();
    // 50 of a burst were accepted, partly answered after the first 429.
    for _ in 0..20 {
        g.on_success(burst);
    }
    g.on_rate_limited(burst, None, 0.5);
    for _ in 0..30 {
        g.on_success(burst);
    }
    clock.advance(1_000);
    // 50 accepted over (at least) a second: one slot every 20 ms. The first call goes; the
    // next, at the head of the line, waits 20 ms; calls behind it wait one slot each more.
    assert_eq!(g.admit(10_000, 0), Admit::Go);
    assert_eq!(g.admit(10_000, 0), Admit::Queue { ms: 20 });
    assert_eq!(g.admit(10_000, 0), Admit::Queue { ms: 20 }, "waiting takes no slot");
    assert_eq!(g.admit(10_000, 3), Admit::Queue { ms: 80 });
    assert_eq!(g.snapshot().pace_per_sec, Some(50.0));
    // A call whose turn lies beyond what it may wait is refused at once.
    assert_eq!(g.admit(79, 3), Admit::TooLong { ms: 80 });
    clock.advance(20);
    assert_eq!(g.admit(10_000, 0), Admit::Go);
    assert_eq!(g.admit(10_000, 0), Admit::Queue { ms: 20 });
}

#[test]
fn the_pace_grows_with_successes_and_ends_after_a_quiet_minute() {
    let (clock, g) = gate();
    for _ in 0..10 {
        g.on_success(g.stamp());
    }
    g.on_rate_limited(g.stamp(), None, 0.5);
    clock.advance(1_000);
    assert_eq!(g.admit(0, 0), Admit::Go);
    assert_eq!(g.snapshot().pace_per_sec, Some(10.0));
    for _ in 0..10 {
        g.on_success(g.stamp());
    }
    let pace = g.snapshot().pace_per_sec.unwrap();
    assert!((10.9..11.2).contains(&pace), "{pace}");
    clock.advance(PACE_QUIET_MS + 1);
    assert_eq!(g.admit(0, 0), Admit::Go);
    assert_eq!(g.admit(0, 0), Admit::Go);
    assert_eq!(g.snapshot().pace_per_sec, None);
}

#[test]
fn a_second_limit_while_paced_slows_the_pace_down() {
    let (clock, g) = gate();
    for _ in 0..100 {
        g.on_success(g.stamp());
    }
    g.on_rate_limited(g.stamp(), None, 0.5);
    clock.advance(1_000);
    assert_eq!(g.admit(0, 0), Admit::Go);
    assert_eq!(g.snapshot().pace_per_sec, Some(100.0));
    // Over the next 4 s only 40 got through before the next 429.
    for _ in 0..40 {
        g.on_success(g.stamp());
    }
    clock.advance(4_000);
    let paced = g.snapshot().pace_per_sec.unwrap();
    assert_eq!(g.on_rate_limited(g.stamp(), None, 0.5), Some(1_000));
    clock.advance(1_000);
    g.admit(0, 0);
    let pace = g.snapshot().pace_per_sec.unwrap();
    assert!(pace <= 10.0 && pace < paced, "{pace}");
}

#[test]
fn idle_time_before_the_burst_does_not_dilute_the_measured_pace() {
    let (clock, g) = gate();
    // The client sat idle for 3 s, then 100 callers at once: 20 accepted, the rest refused.
    clock.advance(3_000);
    for _ in 0..20 {
        g.on_success(g.stamp());
    }
    clock.advance(5);
    g.on_rate_limited(g.stamp(), None, 0.5);
    clock.advance(1_000);
    assert_eq!(g.admit(0, 0), Admit::Go);
    assert_eq!(g.snapshot().pace_per_sec, Some(20.0));
}

#[test]
fn a_quiet_second_starts_a_new_measured_period() {
    let (clock, g) = gate();
    for _ in 0..5 {
        g.on_success(g.stamp());
        clock.advance(100);
    }
    // Idle for 10 s, then 30 a second for 2 s, then a 429.
    clock.advance(10_000);
    for _ in 0..60 {
        g.on_success(g.stamp());
        clock.advance(33);
    }
    g.on_rate_limited(g.stamp(), None, 0.5);
    clock.advance(1_000);
    g.admit(0, 0);
    let pace = g.snapshot().pace_per_sec.unwrap();
    assert!((29.0..31.0).contains(&pace), "{pace}");
}

#[test]
fn a_pace_measured_too_low_is_raised_by_the_next_measurement() {
    let (clock, g) = gate();
    for _ in 0..5 {
        g.on_success(g.stamp());
    }
    g.on_rate_limited(g.stamp(), None, 0.5);
    clock.advance(1_000);
    g.admit(0, 0);
    assert_eq!(g.snapshot().pace_per_sec, Some(5.0));
    // The service lets 20 a second through for 2 s before refusing again.
    for _ in 0..40 {
        g.on_success(g.stamp());
        clock.advance(50);
    }
    g.on_rate_limited(g.stamp(), None, 0.5);
    clock.advance(1_000);
    g.admit(0, 0);
    let pace = g.snapshot().pace_per_sec.unwrap();
    assert!((19.0..21.0).contains(&pace), "{pace}");
}

/// 100 callers (3 attempts each, 20 s to wait) against a service that accepts 20 a second
/// (a token bucket, burst 20, answering 429 without `Retry-After` after 5 ms), after the
/// client sat idle: `(succeeded, 429s, pace at the end)`, on the injected clock in 1 ms steps.
fn simulate(idle_ms: u64, count: usize) -> (u32, u32, f64) {
    const RATE: f64 = 20.0;
    const LATENCY_MS: u64 = 5;
    #[derive(Clone, Copy)]
    enum Caller {
        /// Asks the gate at `at`: attempts made, budget left, at the head of the paced line.
        Waiting {
            at: u64,
            attempts: u32,
            budget: u64,
            head: bool,
        },
        /// In the paced line behind others since `since`.
        Queued {
            since: u64,
            attempts: u32,
            budget: u64,
        },
        /// The answer arrives at `at`: accepted or not, the stamp it was sent with.
        Sent {
            at: u64,
            attempts: u32,
            budget: u64,
            accepted: bool,
            stamp: u64,
        },
        Done,
    }
    let (clock, g) = gate();
    clock.advance(idle_ms);
    let start = clock.now_ms();
    let (mut tokens, mut refilled_at) = (RATE, start);
    let mut callers = vec![Caller::Waiting { at: start, attempts: 0, budget: 20_000, head: false }; count];
    let mut line = std::collections::VecDeque::new();
    let (mut succeeded, mut limited) = (0, 0);
    while clock.now_ms() < start + 20_000 && callers.iter().any(|c| !matches!(c, Caller::Done)) {
        let now = clock.now_ms();
        tokens = (tokens + (now - refilled_at) as f64 * RATE / 1000.0).min(RATE);
        refilled_at = now;
        for (i, caller) in callers.iter_mut().enumerate() {
            match *caller {
                Caller::Sent { at, attempts, budget, accepted, stamp } if at <= now => {
                    if accepted {
                        g.on_success(stamp);
                        succeeded += 1;
                        *caller = Caller::Done;
                    } else {
                        limited += 1;
                        g.on_rate_limited(stamp, None, 0.5);
                        *caller = if attempts < 3 {
                            Caller::Waiting { at: now, attempts, budget, head: false }
                        } else {
                            Caller::Done
                        };
                    }
                }
                Caller::Queued { since, attempts, budget } => {
                    let waited = now - since;
                    if waited > budget {
                        line.retain(|&j| j != i);
                        *caller = Caller::Done;
                    } else if line.front() == Some(&i) {
                        *caller = Caller::Waiting { at: now, attempts, budget: budget - waited, head: true };
                    }
                }
                Caller::Waiting { at, attempts, budget, head } if at <= now => {
                    let ahead = if head { 0 } else { line.len() };
                    let go = match g.admit(budget, ahead) {
                        Admit::Go => true,
                        Admit::Queue { .. } if !head => {
                            line.push_back(i);
                            *caller = Caller::Queued { since: now, attempts, budget };
                            false
                        }
                        Admit::Wait { ms } | Admit::Queue { ms } => {
                            *caller = Caller::Waiting { at: now + ms, attempts, budget: budget - ms, head };
                            false
                        }
                        Admit::TooLong { .. } => {
                            *caller = Caller::Done;
                            false
                        }
                    };
                    if head && (go || matches!(caller, Caller::Done)) {
                        line.pop_front();
                    }
                    if go {
                        let accepted = tokens >= 1.0;
                        if accepted {
                            tokens -= 1.0;
                        }
                        let at = now + LATENCY_MS;
                        *caller = Caller::Sent {
                            at,
                            attempts: attempts + 1,
                            budget: budget.saturating_sub(LATENCY_MS),
                            accepted,
                            stamp: g.stamp(),
                        };
                    }
                }
                _ => {}
            }
        }
        clock.advance(1);
    }
    (succeeded, limited, g.snapshot().pace_per_sec.unwrap_or(0.0))
}

#[test]
fn the_pace_converges_to_what_the_service_accepts_without_hammering() {
    for idle_ms in [0, 3_000, 30_000] {
        let (succeeded, limited, pace) = simulate(idle_ms, 100);
        // The first burst meets the limit together (80 refused); after it, at most one
        // 429 per probe above the limit.
        assert!(succeeded >= 95, "idle {idle_ms}: {succeeded} succeeded");
        assert!(limited <= 100, "idle {idle_ms}: {limited} 429s");
        assert!((15.0..=30.0).contains(&pace), "idle {idle_ms}: pace {pace}");
    }
    // 1,000 callers: 20 s of traffic at the limit (those whose slot lies beyond their 20 s
    // give up unsent). After the first burst no caller is refused again.
    let (succeeded, limited, _) = simulate(3_000, 1_000);
    assert!(succeeded >= 360, "{succeeded} succeeded");
    assert!(limited <= 1_000, "{limited} 429s");
}

#[test]
fn pass_waits_out_the_pause_or_fails_with_rate_limited() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let g = Pause::new(crate::rt::clock::system());
    g.on_rate_limited(g.stamp(), Some(5_000), 0.5);
    let mut budget = 1_000;
    let err = rt.block_on(g.pass(&mut budget)).unwrap_err();
    assert_eq!(err.code(), "ERATELIMITED");
    assert!(matches!(err, ClientError::RateLimited { by: crate::error::Pacer::Pause, .. }), "{err:?}");
    assert_eq!(g.snapshot().rejected, 1);
}

/// Calls waiting for a paced slot that stop waiting (aborted, closed) leave nothing behind: a
/// call already waiting behind them waits about one slot, not one per call that left.
#[test]
fn calls_that_leave_the_paced_line_leave_no_gap() {
    let g = Arc::new(Pause::new(crate::rt::clock::system()));
    g.on_success(g.stamp());
    g.on_rate_limited(g.stamp(), Some(0), 0.5);
    // A measured pace of 1/s (a `Retry-After` pause sets none, so measure as after an adaptive one).
    g.lock().estimate_due = true;
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(2)).await;
        g.pass(&mut 0).await.unwrap();
        assert_eq!(g.snapshot().pace_per_sec, Some(1.0));
        let waited = crate::policy::line::wait_behind_leavers(&g.line, || {
            let g = g.clone();
            async move {
                let mut budget = 60_000;
                g.pass(&mut budget).await.unwrap();
                60_000 - budget
            }
        })
        .await;
        // About the slot the first call left (1 s); 51 s if the 50 counted.
        assert!(waited < 2_000, "waited {waited} ms");
    });
}
