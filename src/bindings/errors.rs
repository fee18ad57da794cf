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
    /// `EPLACEHOLDER` (and a rate-limited placeholder's `ERATELIMITED`): the placeholder id.
    pub placeholder_id: Option<String>,
    /// The service's `errorCode` of a placeholder answer.
    pub service_error_code: Option<String>,
    /// A placeholder: whether minting again cannot mint twice.
    pub retry_safe: Option<bool>,
    /// `mintBatch` minted one by one: every id minted, in position (null where none was).
    pub minted_ids: Option<Vec<Option<String>>>,
    /// `mintBatch` minted one by one: the positions that failed.
    pub failed_positions: Option<Vec<u32>>,
    /// `ECIRCUITOPEN`: `OPEN`, or `HALF_OPEN` when its trial calls are all in flight.
    pub circuit_breaker_state: Option<String>,
}

/// A failure of a request that was sent (its answer, or the exchange itself): its error carries
/// the failure as `cause`, in both builds (lib/portable/calls.js). A call refused before
/// anything was sent (circuit, pause, bulkhead, rate limit, closed, bad argument) has none.
fn failed_a_request(err: &ClientError) -> bool {
    match err {
        ClientError::Http { .. }
        | ClientError::Transport { .. }
        | ClientError::Tls { .. }
        | ClientError::Refused { .. }
        | ClientError::Timeout { .. }
        | ClientError::BadResponse { .. }
        | ClientError::BodyTooLarge { .. }
        | ClientError::Placeholder { .. }
        | ClientError::RouteNotFound { .. } => true,
        // Refused before sending, or a wrapper whose own cause is set below.
        ClientError::CircuitOpen { .. }
        | ClientError::TrialsInFlight { .. }
        | ClientError::Aborted
        | ClientError::MintOutcomeUnknown { .. }
        | ClientError::RateLimited { .. }
        | ClientError::BulkheadFull { .. }
        | ClientError::Closed
        | ClientError::InvalidArgument { .. }
        | ClientError::BatchIncomplete { .. } => false,
    }
}

pub fn to_error_info(err: &ClientError) -> ErrorInfo {
    let cause = failed_a_request(err).then(|| err.cause_detail().map_or_else(|| err.to_string(), str::to_owned));
    let base = ErrorInfo {
        code: err.code().to_owned(),
        message: err.to_string(),
        cause_code: cause.as_ref().map(|_| err.code().to_owned()),
        cause,
        status: err.status().map(u32::from),
        idempotency_key: None,
        may_have_minted: None,
        retry_in_ms: None,
        placeholder_id: None,
        service_error_code: None,
        retry_safe: None,
        minted_ids: None,
        failed_positions: None,
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
        ClientError::RateLimited { retry_in_ms, .. } => ErrorInfo { retry_in_ms: Some(*retry_in_ms as f64), ..base },
        ClientError::Placeholder { id, error_code, retry_safe } => ErrorInfo {
            placeholder_id: Some(id.clone()),
            service_error_code: error_code.clone(),
            retry_safe: Some(*retry_safe),
            ..base
        },
        // The first failure's own fields (its key, its placeholder...), with the batch's.
        ClientError::BatchIncomplete { minted, failed, cause } => ErrorInfo {
            message: base.message,
            minted_ids: Some(minted.clone()),
            failed_positions: Some(failed.iter().map(|&i| i as u32).collect()),
            ..to_error_info(cause)
        },
        ClientError::CircuitOpen { .. } => ErrorInfo { circuit_breaker_state: Some("OPEN".into()), ..base },
        ClientError::TrialsInFlight { .. } => ErrorInfo { circuit_breaker_state: Some("HALF_OPEN".into()), ..base },
        _ => base,
    }
}

/// The `code` of a test hook called in a process that did not enable them
/// ([`refuse_test_hook`]).
pub const TEST_HOOKS_DISABLED: &str = "ERR_CHITTYID_TEST_HOOKS_DISABLED";

/// A test hook of the binding refused (`require_test_hooks`, in `diagnostics.rs`): an
/// `Error` whose `code` is [`TEST_HOOKS_DISABLED`]. Thrown straight from the binding, which has
/// no JS wrapper around these.
pub fn refuse_test_hook(hook: &str, env: &str) -> napi::Error<&'static str> {
    napi::Error::new(
        TEST_HOOKS_DISABLED,
        format!("{hook}() is a test hook of @chittyos/chittyid-client, not part of its API (it can stall the client); it works only in a process that sets {env}=1, as the package's own test setup does"),
    )
}

/// Errors raised synchronously (unusable options); the JS wrapper rethrows them as `TypeError`.
pub fn to_napi_error(err: &ClientError) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, err.to_string())
}
