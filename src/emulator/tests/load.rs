//! Throughput check, run by hand in release:
//! `cargo test --release --lib emulator::tests::load -- --ignored --nocapture`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::start;

const CONNECTIONS: usize = 64;
const WARM_UP: Duration = Duration::from_millis(500);
const MEASURE: Duration = Duration::from_secs(3);
const HEAD: &str =
    "POST /v1/mint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 16\r\n";
const BODY: &str = "{\"entity\":\"PEO\"}";

#[test]
#[ignore = "load test; run in release with --ignored --nocapture"]
fn mints_per_second_over_keep_alive_connections() {
    let emu = start();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for keyed in [false, true] {
        let (mints, elapsed, server_cpu) = runtime.block_on(measure(emu.port(), keyed));
        let per_second = mints as f64 / elapsed.as_secs_f64();
        let with = if keyed { "with an Idempotency-Key each" } else { "without keys" };
        println!(
            "{CONNECTIONS} keep-alive connections, mints {with}: {mints} in {elapsed:.2?} = {per_second:.0} mints/s"
        );
        if let Some(cpu) = server_cpu {
            let share = 100.0 * cpu / elapsed.as_secs_f64();
            println!(
                "  server thread CPU {cpu:.2} s ({share:.0}% of one core) = {:.0} mints per server CPU second",
                mints as f64 / cpu
            );
        }
    }
    let stats = emu.stats();
    assert_eq!(stats.minted, stats.minted_ids.len() as u64);
    assert_eq!(stats.faults_injected + stats.bad_requests + stats.unauthorized + stats.idempotent_replays, 0);
}

/// Mints on every connection for the warm-up plus the measured window; returns the mints in
/// the window, its length, and the server thread's CPU seconds in it.
async fn measure(port: u16, keyed: bool) -> (u64, Duration, Option<f64>) {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|worker| {
            let flags = (Arc::clone(&measuring), Arc::clone(&stop), Arc::clone(&created));
            tokio::spawn(mint_loop(port, keyed.then_some(worker), flags))
        })
        .collect();
    tokio::time::sleep(WARM_UP).await;
    let cpu_before = server_thread_cpu_seconds();
    measuring.store(true, Ordering::SeqCst);
    let started = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let mints = created.load(Ordering::SeqCst);
    let elapsed = started.elapsed();
    let server_cpu = server_thread_cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }
    (mints, elapsed, server_cpu)
}

async fn mint_loop(
    port: u16,
    key_prefix: Option<usize>,
    (measuring, stop, created): (Arc<AtomicBool>, Arc<AtomicBool>, Arc<AtomicU64>),
) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let plain = format!("{HEAD}\r\n{BODY}");
    let mut request = String::with_capacity(256);
    let mut buf = Vec::with_capacity(4096);
    let mut sequence = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let bytes = match key_prefix {
            None => plain.as_bytes(),
            Some(prefix) => {
                sequence += 1;
                request.clear();
                request.push_str(&format!("{HEAD}Idempotency-Key: load-{prefix}-{sequence}\r\n\r\n{BODY}"));
                request.as_bytes()
            }
        };
        stream.write_all(bytes).await.unwrap();
        assert_eq!(read_response(&mut stream, &mut buf).await, 201);
        if measuring.load(Ordering::Relaxed) {
            created.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Reads one response (head plus `content-length` body) and returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> u16 {
    buf.clear();
    loop {
        if let Some(total) = complete_length(buf) {
            assert_eq!(total, buf.len(), "no pipelining, so nothing follows the response");
            return std::str::from_utf8(&buf[9..12]).unwrap().parse().unwrap();
        }
        let mut chunk = [0u8; 2048];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn complete_length(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?.to_ascii_lowercase();
    let length: usize = head.split("content-length:").nth(1)?.split("\r\n").next()?.trim().parse().ok()?;
    (buf.len() >= head_end + length).then_some(head_end + length)
}

/// CPU seconds (user + system) used so far by the emulator's server thread (Linux only).
fn server_thread_cpu_seconds() -> Option<f64> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == "chittyid-emulat" {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            return Some(ticks / 100.0);
        }
    }
    None
}
