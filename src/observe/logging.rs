//! Debug logging to stderr through `tracing`, switched on by `CHITTYID_LOG`
//! (`error`, `warn`, `info`, `debug` or `trace`). Off by default: with no subscriber installed
//! every log call site is one relaxed atomic load. No log line ever carries the API key:
//! `TransportConfig`'s Debug redacts it, request logs name only method, path and status, and a
//! failed request's error is logged after the transport redacted it (`crate::redact`).

use tracing_subscriber::filter::LevelFilter;

pub const ENV_VAR: &str = "CHITTYID_LOG";

/// Parses the variable's value; `None` (logging off) for anything unrecognised.
pub fn level_from(value: &str) -> Option<LevelFilter> {
    match value.trim().to_ascii_lowercase().as_str() {
        "error" => Some(LevelFilter::ERROR),
        "warn" => Some(LevelFilter::WARN),
        "info" => Some(LevelFilter::INFO),
        "debug" | "1" | "true" => Some(LevelFilter::DEBUG),
        "trace" => Some(LevelFilter::TRACE),
        _ => None,
    }
}

/// Installs the stderr subscriber once per process when `CHITTYID_LOG` asks for it.
pub fn init_from_env() {
    let Some(level) = std::env::var(ENV_VAR).ok().as_deref().and_then(level_from) else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(true)
        .with_ansi(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_levels_and_ignores_the_rest() {
        assert_eq!(level_from("debug"), Some(LevelFilter::DEBUG));
        assert_eq!(level_from(" TRACE "), Some(LevelFilter::TRACE));
        assert_eq!(level_from("1"), Some(LevelFilter::DEBUG));
        assert_eq!(level_from(""), None);
        assert_eq!(level_from("verbose"), None);
    }
}
