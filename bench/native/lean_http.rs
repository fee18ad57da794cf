//! How cheap a mint can be on the Rust side: a minimal HTTP/1.1 keep-alive client on a
//! current-thread runtime (pre-rendered request head, one write per request, a reused read
//! buffer, Content-Length framing, the answer's `chittyId` read with serde_json). No retry,
//! breaker or timeouts: this is the floor that a lean transport could approach, for the
//! breakdown in bench/RESULTS.md "Analysis". Not part of the package.
//!
//!   cargo run --release --example bench_lean_http -- URL [CONNECTIONS] [SECONDS]
//!
//! Prints one JSON line. Every loop is bounded by the deadline and an operation cap.

use std::rc::Rc;
use std::cell::Cell;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_OPS: u64 = 50_000_000;

fn process_cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) * 10_000.0
}

#[derive(serde::Deserialize)]
struct Answer<'a> {
    #[serde(rename = "chittyId", borrow)]
    chitty_id: Option<&'a str>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> usize {
    // Header names are compared case-insensitively; the value is ASCII digits.
    for line in head.split(|&b| b == b'\n') {
        if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
            return line[15..]
                .iter()
                .filter(|b| b.is_ascii_digit())
                .fold(0usize, |n, b| n * 10 + (b - b'0') as usize);
        }
    }
    0
}

async fn connection(addr: String, host: String, id: usize, deadline: Instant, done: Rc<Cell<u64>>) -> u64 {
    let Ok(mut stream) = TcpStream::connect(&addr).await else { return 0 };
    let _ = stream.set_nodelay(true);
    let body = br#"{"entity":"PEO"}"#;
    let head = format!(
        "POST /v1/mint HTTP/1.1\r\nhost: {host}\r\naccept: application/json\r\ncontent-type: application/json\r\ncontent-length: {}\r\nidempotency-key: ",
        body.len()
    );
    let mut request = Vec::with_capacity(256);
    let mut buf = vec![0u8; 8192];
    let mut ok = 0u64;
    let mut seq = 0u64;
    while Instant::now() < deadline && done.get() < MAX_OPS {
        request.clear();
        request.extend_from_slice(head.as_bytes());
        seq += 1;
        request.extend_from_slice(format!("{id:08x}{seq:024x}\r\n\r\n").as_bytes());
        request.extend_from_slice(body);
        if stream.write_all(&request).await.is_err() {
            break;
        }
        let mut filled = 0;
        let complete = loop {
            let Ok(n) = stream.read(&mut buf[filled..]).await else { break None };
            if n == 0 {
                break None;
            }
            filled += n;
            if let Some(end) = find(&buf[..filled], b"\r\n\r\n") {
                let total = end + 4 + content_length(&buf[..end]);
                if filled >= total {
                    break Some((end + 4, total));
                }
                if total > buf.len() {
                    break None;
                }
            }
            if filled == buf.len() {
                break None;
            }
        };
        let Some((start, total)) = complete else { break };
        let parsed: Result<Answer<'_>, _> = serde_json::from_slice(&buf[start..total]);
        if matches!(parsed, Ok(Answer { chitty_id: Some(_) })) && buf.get(9) == Some(&b'2') {
            ok += 1;
            done.set(done.get() + 1);
        }
    }
    ok
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("usage: bench_lean_http URL [CONNECTIONS] [SECONDS]");
    let conns: usize = args.get(2).and_then(|v| v.parse::<usize>().ok()).unwrap_or(64).clamp(1, 4096);
    let seconds: f64 = args.get(3).and_then(|v| v.parse::<f64>().ok()).unwrap_or(3.0).clamp(0.1, 60.0);
    let host = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    let phase = |len: Duration| {
        let deadline = Instant::now() + len;
        let done = Rc::new(Cell::new(0u64));
        let tasks: Vec<_> = (0..conns)
            .map(|i| local.spawn_local(connection(host.clone(), host.clone(), i, deadline, Rc::clone(&done))))
            .collect();
        local.block_on(&rt, async {
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap_or(0);
            }
            total
        })
    };
    phase(Duration::from_millis(500));
    let cpu0 = process_cpu_us();
    let t0 = Instant::now();
    let mints = phase(Duration::from_secs_f64(seconds));
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu_us = process_cpu_us() - cpu0;
    println!(
        "{{\"mode\":\"lean\",\"connections\":{conns},\"mints\":{mints},\"throughput\":{:.0},\"cpuUsPerMint\":{:.2},\"cpuUtil\":{:.3}}}",
        mints as f64 / elapsed,
        cpu_us / mints.max(1) as f64,
        cpu_us / 1e6 / elapsed
    );
}
