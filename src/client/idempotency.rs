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

/// A fresh key per logical mint, reused by its retries, so a retried mint cannot mint twice.
pub(super) fn idempotency_key() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
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
