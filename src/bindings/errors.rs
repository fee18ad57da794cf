//! The one place a `ClientError` becomes what JS sees: the v1 message for the operation,
//! a stable `code`, the lower-level `cause` and the HTTP `status`.

use napi_derive::napi;

use crate::error::ClientError;

#[napi(object)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    /// Message of the lower-level failure, exposed as `error.cause`.
    pub cause: Option<String>,
    pub status: Option<u32>,
}

/// Which v1 operation failed, for the v1 wording of the message.
pub enum Failed<'a> {
    Mint { entity: &'a str },
    MintBatch,
}

pub fn to_error_info(failed: Failed<'_>, err: &ClientError) -> ErrorInfo {
    let message = match (&failed, err) {
        // Caller mistakes and lifecycle errors are not "service unavailable".
        (_, ClientError::InvalidArgument { .. } | ClientError::Aborted | ClientError::Closed) => {
            err.to_string()
        }
        (Failed::Mint { entity }, _) => {
            format!("ChittyID service unavailable - cannot mint {entity} ID: {err}")
        }
        (Failed::MintBatch, _) => {
            format!("ChittyID service unavailable - cannot batch mint IDs: {err}")
        }
    };
    ErrorInfo {
        code: err.code().to_owned(),
        message,
        cause: err.cause_detail().map(str::to_owned),
        status: err.status().map(u32::from),
    }
}

/// Errors raised synchronously (unusable options); the JS wrapper rethrows them as `TypeError`.
pub fn to_napi_error(err: &ClientError) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, err.to_string())
}
