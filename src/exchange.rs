//! What one HTTP exchange with the service is, whichever transport carries it (the native
//! one in `transport`, or `globalThis.fetch`): the request the client sends and the answer it
//! gets. Kept apart from `transport` so that `telemetry`, which records exchanges, and the
//! transports, which report to it, do not depend on each other.

use bytes::Bytes;

use crate::error::ClientError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A complete answer from the service (any status).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub status_text: String,
    pub retry_after: Option<String>,
    pub body: Bytes,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Converts a non-2xx answer into the v1 error.
    pub fn error_for_status(self) -> Result<Response, ClientError> {
        if self.is_success() {
            Ok(self)
        } else {
            let backend_failed = self.status == 503 && crate::wire::unavailable_after_backend(&self.body);
            Err(ClientError::Http {
                status: self.status,
                status_text: self.status_text,
                retry_after: self.retry_after,
                backend_failed,
            })
        }
    }
}

pub struct Request<'a> {
    pub method: Method,
    /// Path below the service URL, already percent-encoded.
    pub path: &'a str,
    pub body: Option<Bytes>,
    pub idempotency_key: Option<&'a str>,
    pub timeout_ms: u64,
    /// `path` is below the service URL's origin (`https://host`), not below the service URL:
    /// the deployed service's routes (`crate::wire`).
    pub from_origin: bool,
    /// A query string, already form-encoded, without the `?`: the entity type of a mint on the
    /// deployed wire, which some revisions read only there (`crate::wire::TypedMint`).
    pub query: Option<&'a str>,
}

impl Request<'_> {
    /// The request's URL below `base` (the service URL, or its origin for `from_origin`), as
    /// the fetch transport sends it and telemetry shows it.
    pub fn url_below(&self, base: &str) -> String {
        match self.query {
            Some(query) => format!("{base}{}?{query}", self.path),
            None => format!("{base}{}", self.path),
        }
    }
}

/// The v1 operation an exchange belongs to; stats, telemetry and the policies key on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Mint,
    MintBatch,
    Validate,
    Health,
}

impl Operation {
    pub const ALL: [Operation; 4] = [Operation::Mint, Operation::MintBatch, Operation::Validate, Operation::Health];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Mint => "mint",
            Operation::MintBatch => "mintBatch",
            Operation::Validate => "validate",
            Operation::Health => "healthCheck",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
