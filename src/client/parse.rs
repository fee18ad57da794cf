//! Reading the service's answers to a batch mint and a validate (either wire); a mint's answer
//! is read by `crate::wire::parse_mint`. Every malformed answer is `EBADRESPONSE`.

use serde::Deserialize;

use super::Validation;
use crate::error::ClientError;
use crate::transport::Response;
use crate::wire::{wire_of_id, MintChecks, Wire};

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
    /// The deployed service: a placeholder id validated (`isError`), or replaced by a real
    /// id (`replaced`, `newId`).
    #[serde(rename = "isError")]
    is_error: Option<bool>,
    replaced: Option<bool>,
    #[serde(rename = "newId")]
    new_id: Option<String>,
}

fn bad(detail: impl Into<String>) -> ClientError {
    ClientError::BadResponse { detail: detail.into() }
}

pub(super) fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON ({e})")))
}

/// The ids of a batch answer, which must be one per request (`expected`), none giving the API
/// key away (`crate::redact::reveals`) and, with `checks.grammar`, each of a grammar: the checks
/// `crate::wire::parse_mint` makes of a single id.
pub(super) fn parse_batch(
    response: &Response,
    expected: usize,
    checks: MintChecks<'_>,
) -> Result<Vec<String>, ClientError> {
    let api_key = checks.api_key;
    let Some(serde_json::Value::Array(items)) = parse_json::<BatchAnswer>(&response.body)?.chitty_ids else {
        return Err(bad("the answer has no chittyIds array"));
    };
    if items.len() != expected {
        return Err(bad(format!("chittyIds holds {} ids for {expected} requests", items.len())));
    }
    items
        .into_iter()
        .map(|v| match v {
            // Never shown: the id may be the key itself, echoed back.
            serde_json::Value::String(s) if api_key.is_some_and(|k| crate::redact::reveals(&s, k)) => Err(bad(
                "chittyIds holds the API key (the service echoed the request's credentials); the ids are not shown",
            )),
            serde_json::Value::String(s) if checks.grammar && wire_of_id(&s) == Wire::Unknown => {
                Err(bad("chittyIds holds an id that is not a ChittyID of either grammar"))
            }
            serde_json::Value::String(s) => Ok(s),
            _ => Err(bad("chittyIds holds a value that is not a string")),
        })
        .collect()
}

/// A validate answer of either wire (the deployed one adds placeholder answers).
pub(super) fn parse_validation(response: &Response) -> Result<Validation, ClientError> {
    let answer: ValidateAnswer = parse_json(&response.body)?;
    if answer.replaced == Some(true) {
        // The service minted a real id for this placeholder: the placeholder itself is not one,
        // and the new id is given apart (the service keeps no trace of it to answer again).
        let new_id = answer.new_id.unwrap_or_default();
        return Ok(Validation {
            valid: false,
            error: Some(format!("placeholder id, replaced by {new_id}")),
            error_code: Some("EPLACEHOLDER"),
            replaced_by: crate::id::is_valid_format(&new_id).then_some(new_id),
            authoritative: true,
            ..Validation::default()
        });
    }
    let Some(serde_json::Value::Bool(valid)) = answer.valid else {
        return Err(bad("the answer has no boolean `valid`"));
    };
    let placeholder = answer.is_error == Some(true);
    Ok(Validation {
        valid,
        chitty_id: answer.chitty_id,
        entity: answer.entity,
        error: answer.error.or_else(|| placeholder.then(|| "placeholder id (not a minted id)".to_owned())),
        error_code: placeholder.then_some("EPLACEHOLDER"),
        replaced_by: None,
        authoritative: true,
        stale: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{self, MintChecks};

    fn parse_mint(response: &Response) -> Result<String, ClientError> {
        let checks = MintChecks { grammar: false, accept_placeholders: true, api_key: None };
        wire::parse_mint(&response.body, checks).map(|m| m.id)
    }

    fn ok(body: &str) -> Response {
        Response {
            status: 201,
            status_text: "Created".into(),
            retry_after: None,
            body: body.as_bytes().to_vec().into(),
        }
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
        assert_eq!(parse_batch(&ok(r#"{"chittyIds":["A","B"]}"#), 2, LAX).unwrap(), ["A", "B"]);
        for body in [r#"{}"#, r#"{"chittyIds":"A"}"#, r#"{"chittyIds":["A",2]}"#] {
            assert!(parse_batch(&ok(body), 2, LAX).is_err(), "{body}");
        }
    }

    /// No grammar check, no key: the shape checks only.
    const LAX: MintChecks<'static> = MintChecks { grammar: false, accept_placeholders: false, api_key: None };

    #[test]
    fn batch_answer_never_returns_the_api_key() {
        let with_key = |key| MintChecks { api_key: Some(key), ..LAX };
        let body = r#"{"chittyIds":["CT-A-CHI-1234-E-24-A-0","Bearer k3y"]}"#;
        let err = parse_batch(&ok(body), 2, with_key("k3y")).unwrap_err();
        assert_eq!(err.code(), "EBADRESPONSE");
        assert!(!err.to_string().contains("k3y"), "{err}");
        assert!(parse_batch(&ok(r#"{"chittyIds":["sk-live-0123456789"]}"#), 1, with_key("live-0123456")).is_err());
        // A short key that is merely one of an id's words is a coincidence.
        let id = r#"{"chittyIds":["CT-A-CHI-1234-E-24-A-0"]}"#;
        assert_eq!(parse_batch(&ok(id), 1, with_key("CHI")).unwrap().len(), 1);
    }

    #[test]
    fn batch_ids_must_be_of_a_grammar_unless_the_wire_is_v1() {
        let strict = MintChecks { grammar: true, ..LAX };
        let body = r#"{"chittyIds":["CT-A-CHI-1234-E-24-A-0","garbage"]}"#;
        let err = parse_batch(&ok(body), 2, strict).unwrap_err();
        assert_eq!(err.code(), "EBADRESPONSE");
        assert!(err.to_string().contains("either grammar"), "{err}");
        assert_eq!(parse_batch(&ok(body), 2, LAX).unwrap().len(), 2);
    }

    #[test]
    fn batch_answer_needs_one_id_per_request() {
        for body in [r#"{"chittyIds":[]}"#, r#"{"chittyIds":["A"]}"#, r#"{"chittyIds":["A","B","C","D","E"]}"#] {
            let err = parse_batch(&ok(body), 3, LAX).unwrap_err();
            assert_eq!(err.code(), "EBADRESPONSE", "{body}");
            assert!(err.to_string().contains("for 3 requests"), "{err}");
        }
    }

    #[test]
    fn validation_answer_needs_a_boolean() {
        let v = parse_validation(&ok(r#"{"valid":true,"chittyId":"X","entity":"PEO"}"#)).unwrap();
        assert!(v.valid && v.authoritative);
        assert_eq!(v.entity.as_deref(), Some("PEO"));
        assert!(parse_validation(&ok(r#"{"valid":"yes"}"#)).is_err());
    }

    mod fuzz {
        use super::*;
        use crate::fuzzing::mutated_seed;
        use proptest::prelude::*;

        fn answer(body: Vec<u8>) -> Response {
            Response { status: 200, status_text: "OK".into(), retry_after: None, body: body.into() }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Whatever a server sends, parsing answers Ok or a BadResponse: never a panic.
            #[test]
            fn response_parsers_never_panic(bytes in mutated_seed("responses")) {
                let r = answer(bytes);
                for err in [parse_mint(&r).err(), parse_batch(&r, 1, LAX).err(), parse_validation(&r).err()].into_iter().flatten() {
                    prop_assert_eq!(err.code(), "EBADRESPONSE");
                }
            }

            #[test]
            fn a_string_chitty_id_is_returned_verbatim(id in "\\PC{0,40}") {
                let body = serde_json::json!({ "success": true, "chittyId": id }).to_string();
                prop_assert_eq!(parse_mint(&answer(body.into_bytes())).unwrap(), id);
            }
        }
    }
}
