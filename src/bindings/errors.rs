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
    pub status: Option<u32>,
}

pub fn to_error_info(err: &ClientError) -> ErrorInfo {
    ErrorInfo {
        code: err.code().to_owned(),
        message: err.to_string(),
        cause: err.cause_detail().map(str::to_owned),
        status: err.status().map(u32::from),
    }
}

/// Errors raised synchronously (unusable options); the JS wrapper rethrows them as `TypeError`.
pub fn to_napi_error(err: &ClientError) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, err.to_string())
}
