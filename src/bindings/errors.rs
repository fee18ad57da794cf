//! The one place a `ClientError` becomes what JS receives: a stable `code`, the reason (the
//! error's text), the lower-level `cause` and the HTTP `status`. `lib/errors.js` turns that
//! into the thrown error, with v1's wording for the operation.

use napi_derive::napi;

use crate::error::ClientError;

#[napi(object)]
pub struct ErrorInfo {
    pub code: String,
    /// The reason, e.g. `ChittyID service error: 503 Service Unavailable`.
    pub message: String,
    /// Message of the lower-level failure, exposed as `error.cause`.
    pub cause: Option<String>,
    /// `error.cause.code` when it differs from `code` (the failure an `EMINTUNKNOWN` wraps).
    pub cause_code: Option<String>,
    pub status: Option<u32>,
    /// `EMINTUNKNOWN`: the mint's idempotency key, for a deliberate retry.
    pub idempotency_key: Option<String>,
    /// `EMINTUNKNOWN`: the service may have minted an id the caller never got.
    pub may_have_minted: Option<bool>,
    /// `ERATELIMITED`: ms until the service's rate-limit pause ends.
    pub retry_in_ms: Option<f64>,
    /// `ECIRCUITOPEN`: `OPEN`, or `HALF_OPEN` when its trial calls are all in flight.
    pub circuit_breaker_state: Option<String>,
}

pub fn to_error_info(err: &ClientError) -> ErrorInfo {
    let base = ErrorInfo {
        code: err.code().to_owned(),
        message: err.to_string(),
        cause: err.cause_detail().map(str::to_owned),
        cause_code: None,
        status: err.status().map(u32::from),
        idempotency_key: None,
        may_have_minted: None,
        retry_in_ms: None,
        circuit_breaker_state: None,
    };
    match err {
        ClientError::MintOutcomeUnknown { key, cause } => ErrorInfo {
            cause: Some(cause.cause_detail().map_or_else(|| cause.to_string(), str::to_owned)),
            cause_code: Some(cause.code().to_owned()),
            idempotency_key: Some(key.clone()),
            may_have_minted: Some(true),
            ..base
        },
        ClientError::RateLimited { retry_in_ms } | ClientError::Throttled { retry_in_ms } => {
            ErrorInfo { retry_in_ms: Some(*retry_in_ms as f64), ..base }
        }
        ClientError::CircuitOpen { .. } => ErrorInfo { circuit_breaker_state: Some("OPEN".into()), ..base },
        ClientError::TrialsInFlight { .. } => ErrorInfo { circuit_breaker_state: Some("HALF_OPEN".into()), ..base },
        _ => base,
    }
}

/// Errors raised synchronously (unusable options); the JS wrapper rethrows them as `TypeError`.
pub fn to_napi_error(err: &ClientError) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, err.to_string())
}
