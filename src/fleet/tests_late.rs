//! Redis answers that come late or never: `deadlineMs` is the bound of every Redis command,
//! whatever it is (docs/ARCHITECTURE.md, "Fleet"). Fake Redis servers on raw sockets, and a
//! real `redis-server` held still with `CLIENT PAUSE`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::budget::Grant;
use super::tests::{member, prefix, redis_url, runtime};
use super::*;

/// How a fake Redis treats the commands after the connection's setup.
#[derive(Clone, Copy)]
enum Fake {
    /// Answers nothing at all, not even the setup: the connection is never ready.
    Mute,
    /// Answers the setup at once, and every later command never.
    Silent,
    /// Answers the setup at once, and every later command (with `+PONG`) after this long.
    Late(Duration),
}

/// The length of the first complete RESP command (an array of bulk strings) in `buf`, with its
/// first word.
fn next_command(buf: &[u8]) -> Option<(usize, Vec<u8>)> {
    let line = |from: usize| {
        let end = buf.get(from..)?.windows(2).position(|w| w == b"\r\n")? + from;
        Some((&buf[from..end], end + 2))
    };
    let number = |text: &[u8], sigil: u8| -> Option<usize> {
        std::str::from_utf8(text.strip_prefix(&[sigil])?).ok()?.parse().ok()
    };
    let (head, mut at) = line(0)?;
    let mut first = None;
    for _ in 0..number(head, b'*')? {
        let (len, start) = line(at)?;
        at = start + number(len, b'$')? + 2;
        if at > buf.len() {
            return None;
        }
        first.get_or_insert_with(|| buf[start..at - 2].to_ascii_uppercase());
    }
    Some((at, first.unwrap_or_default()))
}

/// A fake Redis on a loopback port: its URL. It serves every connection until the runtime
/// ends. The setup is what the redis crate sends on connecting (`CLIENT SETINFO`).
async fn fake_redis(fake: Fake) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, fake));
        }
    });
    url
}

async fn serve(socket: tokio::net::TcpStream, fake: Fake) {
    let (mut reader, writer) = socket.into_split();
    let writer = Arc::new(tokio::sync::Mutex::new(writer));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n @ 1..) = reader.read(&mut chunk).await else { return };
        buf.extend_from_slice(&chunk[..n]);
        while let Some((len, word)) = next_command(&buf) {
            buf.drain(..len);
            let delay = match fake {
                Fake::Mute => continue,
                _ if word == b"CLIENT" => Duration::ZERO,
                Fake::Silent => continue,
                Fake::Late(delay) => delay,
            };
            let reply: &[u8] = if word == b"CLIENT" { b"+OK\r\n" } else { b"+PONG\r\n" };
            let writer = Arc::clone(&writer);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = writer.lock().await.write_all(reply).await;
            });
        }
    }
}

async fn ping(mut connection: redis::aio::MultiplexedConnection) -> redis::RedisResult<String> {
    redis::cmd("PING").query_async::<String>(&mut connection).await
}

#[test]
fn a_command_waits_for_a_late_answer_as_long_as_the_deadline_even_past_one_second() {
    // The redis crate's own response timeout (1 s as the link set it, 500 ms by default) cut
    // every command first, as an error: `deadlineMs` above it meant nothing, and one answer
    // later than that took the fleet local-only at once.
    runtime().block_on(async {
        let url = fake_redis(Fake::Late(Duration::from_millis(1_500))).await;
        let (fleet, sink) = member(&url, &prefix(), |c| c.deadline_ms = 8_000);
        let answer = fleet.link.run(ping).await;
        assert_eq!(answer.as_deref(), Ok("PONG"));
        let s = fleet.snapshot();
        assert!(s.connected && !s.degraded, "{s:?}");
        assert_eq!((s.errors, s.timeouts), (0, 0), "{s:?}");
        assert!(sink.names().is_empty(), "{:?}", sink.names());
    });
}

#[test]
fn a_give_back_to_a_redis_that_never_answers_ends_at_the_deadline_not_before() {
    // Whether the connection is never ready or the command is never answered, the give-back
    // waits the whole deadline (it runs in the background: nobody waits on it but `close()`),
    // and counts as a timeout, not as a Redis error.
    const DEADLINE: Duration = Duration::from_millis(2_500);
    runtime().block_on(async {
        for fake in [Fake::Mute, Fake::Silent] {
            let url = fake_redis(fake).await;
            let (fleet, _) = member(&url, &prefix(), |c| c.deadline_ms = DEADLINE.as_millis() as u64);
            let started = Instant::now();
            fleet.rate.give_back(1).await;
            let took = started.elapsed();
            assert!(took >= DEADLINE, "the give-back ended after {took:?}, before the deadline");
            let s = fleet.snapshot();
            assert_eq!((s.errors, s.timeouts), (0, 1), "{s:?}");
            assert!(!s.degraded, "{s:?}");
        }
    });
}

#[test]
fn a_paused_redis_that_answers_within_the_deadline_keeps_the_fleet_on_redis() {
    let Some(url) = redis_url() else { return };
    // CLIENT PAUSE holds every command of every other connection for 1.5 s, then Redis answers
    // them all: the warm-up (its health check) and a reservation of the budget each wait for
    // that, within the 8 s deadline, instead of taking the fleet local-only.
    let pause = || async {
        let mut side = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
        redis::cmd("CLIENT").arg("PAUSE").arg(1_500).arg("ALL").query_async::<()>(&mut side).await.unwrap();
    };
    let (fleet, sink) = member(&url, &prefix(), |c| {
        c.deadline_ms = 8_000;
        c.rate = Some(budget::RateConfig { per_second: 100.0, burst: 10.0 });
    });
    runtime().block_on(async {
        pause().await;
        Arc::clone(&fleet.link).warm_up().await;
        assert!(fleet.snapshot().connected, "{:?}", fleet.snapshot());
        pause().await;
        let (grant, from_redis) = fleet.rate.reserve(10_000).await;
        assert_eq!(grant, Grant::After(0));
        assert!(from_redis, "the slot came from the local bucket");
    });
    let s = fleet.snapshot();
    assert!(s.connected && !s.degraded, "{s:?}");
    assert_eq!((s.errors, s.timeouts, s.degradations), (0, 0, 0), "{s:?}");
    assert!(sink.names().is_empty(), "{:?}", sink.names());
    fleet.close();
}

/// The budget's bucket as Redis stores it: the tokens left, and when (Redis's ms) a slot was
/// last reserved.
async fn bucket(url: &str, fleet: &Fleet) -> (f64, String) {
    let mut conn = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    let (t, at): (Option<String>, Option<String>) =
        redis::cmd("HMGET").arg(fleet.rate.bucket_key()).arg("t").arg("at").query_async(&mut conn).await.unwrap();
    (t.map_or(f64::NAN, |t| t.parse().unwrap()), at.unwrap_or_default())
}

#[test]
fn a_call_stopped_while_its_slot_request_is_on_its_way_gives_back_only_what_redis_reserved() {
    let Some(url) = redis_url() else { return };
    // A budget of 2 slots, then one every 100 s: what is given back shows in the bucket for the
    // whole test, and the refill in it stays below 0.5 even if a loaded machine takes 50 s.
    let rate = budget::RateConfig { per_second: 0.01, burst: 2.0 };
    let p = prefix();
    let (fleet, _) = member(&url, &p, |c| {
        c.deadline_ms = 8_000;
        c.rate = Some(rate);
    });
    runtime().block_on(async {
        Arc::clone(&fleet.link).warm_up().await;
        assert!(!fleet.before_attempt().await.unwrap(), "the first slot, at once");
        let (_, first_at) = bucket(&url, &fleet).await;
        // Redis holds the scripts (they write) for 1 s, and two calls ask for a slot meanwhile:
        // the first would get the last one; the second is refused (the next is 100 s away).
        let mut side = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
        redis::cmd("CLIENT").arg("PAUSE").arg(1_000).arg("WRITE").query_async::<()>(&mut side).await.unwrap();
        let mut calls = [Box::pin(fleet.before_attempt()), Box::pin(fleet.before_attempt())];
        std::future::poll_fn(|cx| {
            for call in &mut calls {
                assert!(call.as_mut().poll(cx).is_pending());
            }
            std::task::Poll::Ready(())
        })
        .await;
        // The requests go out (the calls are not polled again: they cannot take their answers),
        // then both calls stop, as an abort, a timeout or close() stops them.
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(calls);
        // Once Redis has run them (the first reservation moved the bucket's time on): the slot
        // reserved for the first call is back, and nothing for the refused second one (a blind
        // give-back would show 2).
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (tokens, at) = bucket(&url, &fleet).await;
            if at != first_at && tokens >= 0.9 && !fleet.settling() {
                break;
            }
            assert!(Instant::now() < deadline, "the slot never came back: {tokens} tokens (at {at}, was {first_at})");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (tokens, _) = bucket(&url, &fleet).await;
        assert!((0.9..1.5).contains(&tokens), "{tokens} tokens in the bucket");
        // Another member gets that slot at once.
        let (other, _) = member(&url, &p, |c| c.rate = Some(rate));
        assert_eq!(other.rate.acquire(10_000).await, Grant::After(0));
    });
    let s = fleet.snapshot();
    assert!(s.connected && !s.degraded, "{s:?}");
    fleet.close();
}
