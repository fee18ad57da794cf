//! Every option's default and range, from the options table `lib/options.json` (one const per
//! default, [`FIELDS`] for the numeric options' kinds and ranges), turned into Rust by build.rs
//! (docs/ARCHITECTURE.md "Options"). It depends on nothing else in the crate, so every type an
//! option configures can take its default from here.

/// How a numeric option is checked (lib/options.json `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer.
    Count,
    /// A count, or `Infinity` (no limit).
    Attempts,
    /// A finite duration in ms (a fraction is dropped).
    Ms,
    /// A finite number.
    Number,
}

/// A numeric option: `min..=max` of its kind.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub path: &'static str,
    pub kind: Kind,
    pub min: f64,
    pub max: f64,
}

include!(concat!(env!("OUT_DIR"), "/options_table.rs"));

/// The numeric option at `path`.
pub fn field(path: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.path == path)
}

/// `value` when the numeric option `path` may take it, else why not (naming the option).
/// The JS side applies the same table with the same rules (lib/option-checks.js).
pub fn check(path: &str, value: f64) -> Result<f64, String> {
    let Some(f) = field(path) else { return Err(format!("{path} is not a numeric option")) };
    let in_range = (f.min..=f.max).contains(&value);
    let ok = match f.kind {
        Kind::Attempts if value == f64::INFINITY => true,
        Kind::Count | Kind::Attempts => in_range && value.fract() == 0.0,
        Kind::Ms | Kind::Number => in_range,
    };
    if ok {
        return Ok(value);
    }
    let (min, max) = (f.min, f.max);
    let range = match f.kind {
        Kind::Count => format!("an integer from {min} to {max}"),
        Kind::Attempts => format!("an integer from {min} to {max} or Infinity"),
        Kind::Ms => format!("a finite number of ms from {min} to {max}"),
        Kind::Number => format!("a finite number from {min} to {max}"),
    };
    Err(format!("{path} must be {range}, got {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_checks_each_kind_and_range() {
        assert_eq!(check("retry.maxAttempts", 4.0), Ok(4.0));
        for bad in [0.0, 1.5, f64::NAN, 4_294_967_296.0, f64::INFINITY, -1.0] {
            assert!(check("retry.maxAttempts", bad).unwrap_err().starts_with("retry.maxAttempts must be"), "{bad}");
        }
        assert_eq!(check("connection.maxReconnectAttempts", f64::INFINITY), Ok(f64::INFINITY));
        assert!(check("connection.maxReconnectAttempts", 1e10).unwrap_err().contains("or Infinity"));
        assert_eq!(check("retry.initialDelayMs", 2.5), Ok(2.5));
        for bad in [f64::NAN, -1.0, f64::INFINITY, 1e300] {
            assert!(check("retry.initialDelayMs", bad).is_err(), "{bad}");
            assert!(check("retry.jitter", bad).is_err(), "{bad}");
        }
        assert!(check("timeout", (TIMEOUT_MAX + 1) as f64).is_err());
        assert!(check("maxConnections", 65_536.0).unwrap_err().contains("65535"));
        assert!(check("nope", 1.0).is_err());
    }
}
