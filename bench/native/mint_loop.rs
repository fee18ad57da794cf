//! CPU per mint of the Rust client core with no JS at all, for the breakdown in
//! bench/RESULTS.md "Analysis". Not part of the package.
//!
//!   cargo run --release --no-default-features --features bench --example bench_mint_loop -- URL [CONCURRENCY] [SECONDS] [MODE]
//!
//! MODE `local`: the mints run as tasks on a current-thread runtime (no thread hop at all).
//! MODE `hop`:   like the addon: a 1-worker multi-thread runtime runs the mints, and the main
//!               thread starts each one and blocks until its completion arrives over a channel,
//!               so every mint pays one wake-up of another thread each way.
//! Prints one JSON line. Every loop is bounded by the deadline and an operation cap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use chittyid_client::client::Client;

#[path = "common.rs"]
mod common;
use common::{process_cpu_us, BODY, MAX_OPS};

fn client(url: &str) -> Arc<Client> {
    common::mint_loop_client(&format!("{url}/v1"))
}

fn local(url: &str, concurrency: usize, warmup: Duration, run: Duration) -> (u64, u64, f64, f64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = client(url);
        let phase = |len: Duration| {
            let c = Arc::clone(&c);
            async move {
                let deadline = Instant::now() + len;
                let done = Arc::new(AtomicU64::new(0));
                let failed = Arc::new(AtomicU64::new(0));
                let mut set = tokio::task::JoinSet::new();
                for _ in 0..concurrency {
                    let (c, done, failed) = (Arc::clone(&c), Arc::clone(&done), Arc::clone(&failed));
                    set.spawn(async move {
                        while Instant::now() < deadline && done.load(Ordering::Relaxed) < MAX_OPS {
                            match c.mint(bytes::Bytes::from_static(BODY), None).await {
                                Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                                Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                            };
                        }
                    });
                }
                while set.join_next().await.is_some() {}
                (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
            }
        };
        phase(warmup).await;
        let cpu0 = process_cpu_us();
        let t0 = Instant::now();
        let (done, failed) = phase(run).await;
        (done, failed, t0.elapsed().as_secs_f64(), process_cpu_us() - cpu0)
    })
}

fn hop(url: &str, concurrency: usize, warmup: Duration, run: Duration) -> (u64, u64, f64, f64) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let c = {
        let _guard = rt.enter();
        client(url)
    };
    let phase = |len: Duration| {
        let (tx, rx) = mpsc::channel::<bool>();
        let start = |tx: mpsc::Sender<bool>| {
            let c = Arc::clone(&c);
            rt.spawn(async move {
                let ok = c.mint(bytes::Bytes::from_static(BODY), None).await.is_ok();
                let _ = tx.send(ok);
            });
        };
        for _ in 0..concurrency {
            start(tx.clone());
        }
        let deadline = Instant::now() + len;
        let (mut done, mut failed, mut in_flight) = (0u64, 0u64, concurrency);
        while in_flight > 0 {
            let Ok(ok) = rx.recv_timeout(Duration::from_secs(10)) else { break };
            in_flight -= 1;
            if ok {
                done += 1
            } else {
                failed += 1
            }
            if Instant::now() < deadline && done < MAX_OPS {
                start(tx.clone());
                in_flight += 1;
            }
        }
        (done, failed)
    };
    phase(warmup);
    let cpu0 = process_cpu_us();
    let t0 = Instant::now();
    let (done, failed) = phase(run);
    (done, failed, t0.elapsed().as_secs_f64(), process_cpu_us() - cpu0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("usage: bench_mint_loop URL [CONCURRENCY] [SECONDS] [local|hop]");
    let concurrency: usize = args.get(2).and_then(|v| v.parse::<usize>().ok()).unwrap_or(64).clamp(1, 4096);
    let seconds: f64 = args.get(3).and_then(|v| v.parse::<f64>().ok()).unwrap_or(3.0).clamp(0.1, 60.0);
    let mode = args.get(4).map(String::as_str).unwrap_or("local");
    let run = Duration::from_secs_f64(seconds);
    let warmup = Duration::from_millis(500);
    let (done, failed, elapsed, cpu_us) = match mode {
        "hop" => hop(url, concurrency, warmup, run),
        _ => local(url, concurrency, warmup, run),
    };
    println!(
        "{{\"mode\":\"{mode}\",\"concurrency\":{concurrency},\"mints\":{done},\"failed\":{failed},\"throughput\":{:.0},\"cpuUsPerMint\":{:.2},\"cpuUtil\":{:.3}}}",
        done as f64 / elapsed,
        cpu_us / done.max(1) as f64,
        cpu_us / 1e6 / elapsed
    );
}
