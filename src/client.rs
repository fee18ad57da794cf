//! The v1 operations (mint, mintBatch, validate, healthCheck) over one transport,
//! each through the resilience path.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;

use crate::config::{ClientConfig, HEALTH_TIMEOUT_MS};
use crate::error::ClientError;
use crate::format;
use crate::resilience::Resilience;
use crate::stats::Operation;
use crate::transport::{Request, Response, Transport};

pub struct Client {
    transport: Transport,
    timeout_ms: u64,
    resilience: Resilience,
}

/// What `validate()` resolves to; it never fails.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validation {
    pub valid: bool,
    pub chitty_id: Option<String>,
    pub entity: Option<String>,
    pub error: Option<String>,
    /// True when the answer came from the service (and so may be cached).
    pub authoritative: bool,
}

#[derive(Deserialize)]
struct MintAnswer {
    #[serde(rename = "chittyId")]
    chitty_id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct BatchAnswer {
    #[serde(rename = "chittyIds")]
    chitty_ids: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ValidateAnswer {
    valid: Option<serde_json::Value>,
    #[serde(rename = "chittyId")]
    chitty_id: Option<String>,
    entity: Option<String>,
    error: Option<String>,
}

fn bad(detail: impl Into<String>) -> ClientError {
    ClientError::BadResponse { detail: detail.into() }
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON ({e})")))
}

fn parse_mint(response: &Response) -> Result<String, ClientError> {
    match parse_json::<MintAnswer>(&response.body)?.chitty_id {
        Some(serde_json::Value::String(id)) => Ok(id),
        _ => Err(bad("the answer has no string chittyId")),
    }
}

fn parse_batch(response: &Response) -> Result<Vec<String>, ClientError> {
    let Some(serde_json::Value::Array(items)) = parse_json::<BatchAnswer>(&response.body)?.chitty_ids
    else {
        return Err(bad("the answer has no chittyIds array"));
    };
    items
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(bad("chittyIds holds a value that is not a string")),
        })
        .collect()
}

fn parse_validation(response: &Response) -> Result<Validation, ClientError> {
    let answer: ValidateAnswer = parse_json(&response.body)?;
    let Some(serde_json::Value::Bool(valid)) = answer.valid else {
        return Err(bad("the answer has no boolean `valid`"));
    };
    Ok(Validation {
        valid,
        chitty_id: answer.chitty_id,
        entity: answer.entity,
        error: answer.error,
        authoritative: true,
    })
}

/// `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` is percent-encoded.
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A fresh key per logical mint, reused by its retries, so a retried mint cannot mint twice.
fn idempotency_key() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

impl Client {
    pub fn new(config: &ClientConfig, resilience: Resilience) -> Result<Self, ClientError> {
        Ok(Self { transport: Transport::new(config)?, timeout_ms: config.timeout_ms, resilience })
    }

    pub fn service_url(&self) -> &str {
        self.transport.base_url()
    }

    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    async fn post(&self, op: Operation, path: &str, body: Bytes) -> Result<Response, ClientError> {
        let key = idempotency_key();
        self.resilience
            .run(op, |_| {
                self.transport.send(Request {
                    method: Method::POST,
                    path,
                    body: Some(body.clone()),
                    idempotency_key: Some(&key),
                    timeout_ms: self.timeout_ms,
                })
            })
            .await
    }

    /// `POST /mint` with the request serialized by the caller; resolves to the new id.
    pub async fn mint(&self, body: Bytes) -> Result<String, ClientError> {
        let response = self.post(Operation::Mint, "/mint", body).await?;
        parse_mint(&response)
    }

    /// `POST /mint/batch` with `{"requests":[...]}` serialized by the caller.
    pub async fn mint_batch(&self, body: Bytes) -> Result<Vec<String>, ClientError> {
        let response = self.post(Operation::MintBatch, "/mint/batch", body).await?;
        parse_batch(&response)
    }

    /// Asks the service; never fails. A service error status yields `valid: false`;
    /// a transport failure falls back to the format check.
    pub async fn validate(&self, id: &str) -> Validation {
        let path = format!("/validate/{}", encode_uri_component(id));
        let outcome = self
            .resilience
            .run(Operation::Validate, |_| {
                self.transport.send(Request {
                    method: Method::GET,
                    path: &path,
                    body: None,
                    idempotency_key: None,
                    timeout_ms: self.timeout_ms,
                })
            })
            .await
            .and_then(|r| parse_validation(&r));
        match outcome {
            Ok(v) => v,
            Err(ClientError::Http { status, .. }) => Validation {
                valid: false,
                error: Some(format!("Service error: {status}")),
                ..Validation::default()
            },
            Err(e) => Validation {
                valid: format::is_valid_format(id),
                error: Some(e.to_string()),
                ..Validation::default()
            },
        }
    }

    /// `GET /health` with a 5 s timeout, outside retry and breaker; never fails.
    pub async fn health(&self) -> bool {
        self.health_result().await.is_ok()
    }

    /// Like [`Client::health`], with the reason when the service is not healthy.
    pub async fn health_result(&self) -> Result<(), ClientError> {
        let started = std::time::Instant::now();
        let outcome = self
            .transport
            .send(Request {
                method: Method::GET,
                path: "/health",
                body: None,
                idempotency_key: None,
                timeout_ms: HEALTH_TIMEOUT_MS,
            })
            .await
            .and_then(Response::error_for_status);
        self.resilience.stats.record_attempt(Operation::Health, started.elapsed(), outcome.as_ref().err());
        outcome.map(drop)
    }
}

pub type SharedClient = Arc<Client>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(encode_uri_component("CT-A-CHI-1234-I-24-A-0"), "CT-A-CHI-1234-I-24-A-0");
        assert_eq!(encode_uri_component("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(encode_uri_component("é"), "%C3%A9");
        assert_eq!(encode_uri_component("!~*'()._"), "!~*'()._");
    }

    fn ok(body: &str) -> Response {
        Response { status: 201, status_text: "Created".into(), retry_after: None, body: body.as_bytes().to_vec().into() }
    }

    #[test]
    fn mint_answer_needs_a_string_id() {
        assert_eq!(parse_mint(&ok(r#"{"chittyId":"X"}"#)).unwrap(), "X");
        for body in [r#"{}"#, r#"{"chittyId":1}"#, r#"{"chittyId":null}"#, "nope", "[]"] {
            assert_eq!(parse_mint(&ok(body)).unwrap_err().code(), "EBADRESPONSE", "{body}");
        }
    }

    #[test]
    fn batch_answer_needs_an_array_of_strings() {
        assert_eq!(parse_batch(&ok(r#"{"chittyIds":["A","B"]}"#)).unwrap(), ["A", "B"]);
        for body in [r#"{}"#, r#"{"chittyIds":"A"}"#, r#"{"chittyIds":["A",2]}"#] {
            assert!(parse_batch(&ok(body)).is_err(), "{body}");
        }
    }

    #[test]
    fn validation_answer_needs_a_boolean() {
        let v = parse_validation(&ok(r#"{"valid":true,"chittyId":"X","entity":"PEO"}"#)).unwrap();
        assert!(v.valid && v.authoritative);
        assert_eq!(v.entity.as_deref(), Some("PEO"));
        assert!(parse_validation(&ok(r#"{"valid":"yes"}"#)).is_err());
    }
}
