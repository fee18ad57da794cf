//! A mint's idempotency key (the caller's, checked, or a fresh one) and the rule of which
//! failures a mint is retried after (docs/ARCHITECTURE.md, "Retry safety").

use super::Client;
use crate::error::ClientError;
use crate::policy::attempt::Replay;

/// Which failures a mint is retried after (docs/ARCHITECTURE.md, "Retry safety").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MintRetry {
    /// Only failures that prove the service did not process it (connect phase, 429, 503); any
    /// other failure after it may have reached the service ends with `EMINTUNKNOWN`. For
    /// services that ignore `Idempotency-Key`, as the public one does.
    #[default]
    Safe,
    /// Every retryable failure, under the same key: for services that honour it.
    Idempotent,
}

impl MintRetry {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "safe" => Some(MintRetry::Safe),
            "idempotent" => Some(MintRetry::Idempotent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MintRetry::Safe => "safe",
            MintRetry::Idempotent => "idempotent",
        }
    }
}

/// The longest caller-supplied idempotency key accepted (lib/options.json `fixed`, which JS
/// checks first: lib/option-checks.js).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = crate::option_table::MAX_IDEMPOTENCY_KEY_LENGTH as usize;

/// A caller's idempotency key must fit in a header as is: 1 to `MAX_IDEMPOTENCY_KEY_LEN`
/// visible ASCII characters.
pub fn check_idempotency_key(key: &str) -> Result<(), ClientError> {
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !visible {
        return Err(ClientError::InvalidArgument {
            detail: format!(
                "idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters (no spaces)"
            ),
        });
    }
    Ok(())
}

/// A fresh key per logical mint, reused by its retries, so a retried mint cannot mint twice:
/// 128 random bits as 32 lowercase hex digits. Written digit by digit into a buffer:
/// `format!` with two `{:016x}` cost ~1,100 instructions per mint (bench/RESULTS.md
/// "Per-mint trims round").
pub(super) fn idempotency_key() -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut key = [0u8; 32];
    for (half, bits) in key.chunks_exact_mut(16).zip([fastrand::u64(..), fastrand::u64(..)]) {
        for (i, digit) in half.iter_mut().enumerate() {
            *digit = DIGITS[(bits >> (60 - 4 * i)) as usize & 0xf];
        }
    }
    // Hex digits only, so always UTF-8.
    String::from_utf8(key.to_vec()).unwrap_or_default()
}

impl Client {
    /// The replay rule of a mint under `key`.
    pub(super) fn mint_replay<'k>(&self, key: &'k str) -> Replay<'k> {
        match self.mint_retry {
            MintRetry::Safe => Replay::IfNotProcessed { key },
            MintRetry::Idempotent => Replay::Retryable,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fresh_keys_are_32_lowercase_hex_digits_and_differ() {
        let keys: Vec<String> = (0..64).map(|_| super::idempotency_key()).collect();
        for key in &keys {
            assert_eq!(key.len(), 32, "{key}");
            assert!(key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{key}");
            assert!(super::check_idempotency_key(key).is_ok());
        }
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
        // Every digit position takes more than one value: no position is stuck (a shift wrong).
        for at in 0..32 {
            let seen: std::collections::HashSet<u8> = keys.iter().map(|k| k.as_bytes()[at]).collect();
            assert!(seen.len() > 1, "position {at} never changes");
        }
    }

    #[test]
    fn caller_idempotency_keys_must_fit_a_header_as_is() {
        for good in ["k", "order-42:attempt/7", &"x".repeat(super::MAX_IDEMPOTENCY_KEY_LEN)] {
            assert!(super::check_idempotency_key(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "two words",
            "line\r\nX-Evil: 1",
            "caf\u{e9}",
            "tab\t",
            &"x".repeat(super::MAX_IDEMPOTENCY_KEY_LEN + 1),
        ] {
            let err = super::check_idempotency_key(bad).unwrap_err();
            assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE", "{bad:?}");
        }
    }
}
