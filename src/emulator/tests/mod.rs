//! End-to-end tests over real sockets on 127.0.0.1.

mod client;
mod deployed;
mod faults;
mod idempotency;
mod lifecycle;
mod load;
mod routes;
mod serving;

use super::{Emulator, EmulatorOptions};

fn start() -> Emulator {
    Emulator::spawn(EmulatorOptions::default()).expect("emulator starts")
}

fn start_with_token(token: &str) -> Emulator {
    Emulator::spawn(EmulatorOptions { token: Some(token.to_owned()), ..EmulatorOptions::default() })
        .expect("emulator starts")
}
