//! napi bindings only; the logic lives in the plain modules below.

pub mod breaker;
pub mod cache;
pub mod clock;
pub mod emulator;
pub mod retry;
