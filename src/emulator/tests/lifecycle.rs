//! Starting and stopping an emulator: its port, its handle, shutdown.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::client::Client;
use super::start;
use crate::emulator::{Emulator, EmulatorOptions, Faults};

fn refused(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_err()
}

#[test]
fn handle_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Emulator>();
}

#[test]
fn url_names_the_bound_port() {
    let emu = start();
    assert_ne!(emu.port(), 0);
    assert_eq!(emu.url(), format!("http://127.0.0.1:{}", emu.port()));
}

#[test]
fn ipv6_hosts_are_bracketed() {
    let Ok(emu) = Emulator::spawn(EmulatorOptions { host: "::1".into(), ..Default::default() }) else {
        return; // no IPv6 loopback here
    };
    assert_eq!(emu.url(), format!("http://[::1]:{}", emu.port()));
}

#[test]
fn a_busy_port_fails_spawn() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let error = Emulator::spawn(EmulatorOptions { port, ..Default::default() }).err().unwrap();
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
}

#[test]
fn shutdown_is_idempotent_drops_connections_and_frees_the_port() {
    let emu = start();
    let port = emu.port();
    let mut idle = Client::connect(&emu);
    assert_eq!(idle.get("/health").status, 200);

    let started = Instant::now();
    emu.shutdown();
    emu.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(idle.send("GET", "/health", &[], None).is_err());
    assert!(refused(port));
    let again = Emulator::spawn(EmulatorOptions { port, ..Default::default() }).expect("port is free again");
    assert_eq!(Client::connect(&again).get("/health").status, 200);
}

#[test]
fn shutdown_does_not_wait_for_slow_requests() {
    let emu = start();
    emu.set_faults(Faults { latency_ms: 30_000, ..Default::default() });
    let port = emu.port();
    let pending = std::thread::spawn(move || Client::connect_port(port).unwrap().send("GET", "/health", &[], None));
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    emu.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(pending.join().unwrap().is_err());
}

#[test]
fn dropping_the_last_handle_shuts_down() {
    let emu = start();
    let port = emu.port();
    let clone = emu.clone();
    drop(emu);
    assert_eq!(Client::connect(&clone).get("/health").status, 200);
    drop(clone);
    assert!(refused(port));
}
