//! The resilience policies and the attempt loop that applies them to every call
//! (docs/ARCHITECTURE.md, "Policies"). Each policy is a small state machine over an injectable
//! clock; `attempt` runs one operation through all of them.

pub mod attempt;
pub mod breaker;
pub mod bulkhead;
/// The first-come first-served line of paced calls.
pub mod line;
/// The pause after the service answers 429.
pub mod pause;
/// The client's own rate limit (the `rateLimit` option).
pub mod rate_limit;
pub mod retry;
pub mod retry_budget;
