//! Which wire an endpoint speaks (docs/ARCHITECTURE.md, "Two wires"): v1's routes below the
//! service URL, or the deployed service's routes (`POST /v1/mint` reading `entityType`,
//! `POST /api/validate`, `GET /health` at the origin, no batch route). With `wire: "auto"`
//! each endpoint's wire is learnt from its answers and remembered here.
//!
//! Also here: what the deployed wire adds to a mint request (`entityType`), and what a mint
//! answer of either wire must be before it resolves (a well-formed id that is not a
//! placeholder and does not carry the API key).

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use crate::error::ClientError;
use crate::id;

/// The `wire` option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WireMode {
    /// v1's routes only, as v1 sent them (the body of a mint byte for byte).
    V1,
    /// The deployed service's routes only.
    Deployed,
    /// Learn each endpoint's wire from its answers.
    #[default]
    Auto,
}

impl WireMode {
    /// The values of the option; the default first.
    pub const VALUES: [&'static str; 3] = ["auto", "v1", "deployed"];

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "auto" => Some(WireMode::Auto),
            "v1" => Some(WireMode::V1),
            "deployed" => Some(WireMode::Deployed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WireMode::V1 => "v1",
            WireMode::Deployed => "deployed",
            WireMode::Auto => "auto",
        }
    }
}

/// What an endpoint is known to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// Not known yet (`wire: "auto"` before an answer told).
    Unknown,
    V1,
    Deployed,
}

impl Wire {
    pub fn as_str(self) -> &'static str {
        match self {
            Wire::Unknown => "unknown",
            Wire::V1 => "v1",
            Wire::Deployed => "deployed",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Wire::V1,
            2 => Wire::Deployed,
            _ => Wire::Unknown,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Wire::Unknown => 0,
            Wire::V1 => 1,
            Wire::Deployed => 2,
        }
    }
}

/// Where a route of one endpoint lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub path: &'static str,
    /// The path is below the origin (`https://host`), not below the service URL.
    pub from_origin: bool,
}

/// The deployed service's routes. Its mint route is `/mint` in its newest revision, which
/// answers the older `/v1/mint` with a 308 there; revisions before it have `/v1/mint` only
/// (docs/DEPLOYED.md F1, F2).
pub const DEPLOYED_MINT: Route = Route { path: "/mint", from_origin: true };
pub const DEPLOYED_MINT_BEFORE: Route = Route { path: "/v1/mint", from_origin: true };
pub const DEPLOYED_VALIDATE: Route = Route { path: "/api/validate", from_origin: true };
pub const DEPLOYED_HEALTH: Route = Route { path: "/health", from_origin: true };
pub const V1_MINT: Route = Route { path: "/mint", from_origin: false };
pub const V1_HEALTH: Route = Route { path: "/health", from_origin: false };

/// One endpoint's wire, learnt or fixed, and whether it has a batch route.
pub struct EndpointWire {
    mode: WireMode,
    state: AtomicU8,
    /// 0 unknown, 1 has `/mint/batch`, 2 has none (a 404 said so).
    batch_route: AtomicU8,
    /// A 404 on the deployed `POST {origin}/mint` showed a revision before it: mint at
    /// `/v1/mint` from then on.
    older_mint_route: std::sync::atomic::AtomicBool,
    /// The service URL's path (`/v1` for the default URL), to tell when a v1 route and a
    /// deployed one are the same URL.
    base_path: String,
}

impl EndpointWire {
    pub fn new(mode: WireMode, service_url: &str) -> Self {
        let initial = match mode {
            WireMode::V1 => Wire::V1,
            WireMode::Deployed => Wire::Deployed,
            WireMode::Auto => Wire::Unknown,
        };
        let base_path =
            reqwest::Url::parse(service_url).map(|u| u.path().trim_end_matches('/').to_owned()).unwrap_or_default();
        Self {
            mode,
            state: AtomicU8::new(initial.to_u8()),
            batch_route: AtomicU8::new(0),
            older_mint_route: std::sync::atomic::AtomicBool::new(false),
            base_path,
        }
    }

    pub fn mode(&self) -> WireMode {
        self.mode
    }

    pub fn get(&self) -> Wire {
        Wire::from_u8(self.state.load(Relaxed))
    }

    /// What an answer showed; only `wire: "auto"` learns.
    pub fn learn(&self, wire: Wire) {
        if self.mode == WireMode::Auto && wire != Wire::Unknown {
            self.state.store(wire.to_u8(), Relaxed);
        }
    }

    /// Whether `route` is the same URL as `v1_path` below the service URL.
    pub fn same_url(&self, route: Route, v1_path: &str) -> bool {
        route.from_origin && route.path == format!("{}{v1_path}", self.base_path)
    }

    /// The health route of v1 is the deployed one too (the service URL is the origin).
    pub fn health_routes_coincide(&self) -> bool {
        self.base_path.is_empty()
    }

    /// `Some(false)` once a 404 showed there is no batch route.
    pub fn has_batch_route(&self) -> Option<bool> {
        match self.batch_route.load(Relaxed) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }

    pub fn set_batch_route(&self, exists: bool) {
        self.batch_route.store(if exists { 1 } else { 2 }, Relaxed);
    }

    /// The deployed mint routes to try, in order: `/mint` (unless a 404 showed it missing),
    /// then `/v1/mint`; with `after_v1`, without the one that is v1's mint URL (already tried).
    pub fn deployed_mint_routes(&self, after_v1: bool) -> impl Iterator<Item = Route> + '_ {
        let older = self.older_mint_route.load(Relaxed);
        [DEPLOYED_MINT, DEPLOYED_MINT_BEFORE]
            .into_iter()
            .filter(move |r| !(older && *r == DEPLOYED_MINT))
            .filter(move |r| !(after_v1 && self.same_url(*r, V1_MINT.path)))
    }

    /// A 404 on `POST {origin}/mint`: the service is a revision before it.
    pub fn set_older_mint_route(&self) {
        self.older_mint_route.store(true, Relaxed);
    }

    /// The deployed mint route this endpoint is known or assumed to have.
    pub fn deployed_mint_route(&self) -> Route {
        if self.older_mint_route.load(Relaxed) {
            DEPLOYED_MINT_BEFORE
        } else {
            DEPLOYED_MINT
        }
    }
}

/// The deployed service's word for a v1 entity code.
pub fn entity_type_word(entity: &str) -> Option<&'static str> {
    Some(match entity {
        "PEO" | "CONTEXT" | "ACTOR" => "person",
        "PLACE" => "place",
        "PROP" | "INFO" | "FACT" => "thing",
        "EVNT" => "event",
        "AUTH" => "authority",
        _ => return None,
    })
}

#[derive(serde::Deserialize)]
struct EntityOnly<'a> {
    #[serde(borrow)]
    entity: Option<std::borrow::Cow<'a, str>>,
}

/// The `entityType` a mint of `entity` is sent with on the deployed wire: the word of a v1 code,
/// else the entity as given. The deployed service reads only `entityType` and mints a thing
/// without one, so an entity outside the table (`"person"`, `"P"`, a typo) is passed on for the
/// service to read (it takes words, letters and purposes) or refuse, never dropped.
pub fn entity_type_for(entity: &str) -> &str {
    entity_type_word(entity).unwrap_or(entity)
}

/// A mint body (a JSON object serialized by the caller) with `"entityType"` added as its first
/// member, so an `entityType` the caller set itself comes later and wins. `None` when the body
/// has no string `entity`.
pub fn with_entity_type(body: &[u8]) -> Option<Vec<u8>> {
    let parsed: EntityOnly<'_> = serde_json::from_slice(body).ok()?;
    let entity = parsed.entity?;
    let word = serde_json::to_string(entity_type_for(&entity)).ok()?;
    let rest = body.strip_prefix(b"{")?;
    let mut out = Vec::with_capacity(body.len() + 32);
    out.extend_from_slice(b"{\"entityType\":");
    out.extend_from_slice(word.as_bytes());
    if rest.iter().find(|b| !b.is_ascii_whitespace()).is_none_or(|&b| b != b'}') {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// `{"id":"..."}`, the deployed validate body.
pub fn validate_body(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "id": id })).unwrap_or_default()
}

/// The wire an id's grammar belongs to (`id` owns the grammars and the check pair).
pub fn wire_of_id(id: &str) -> Wire {
    match id::grammar_of(id) {
        Some(id::Grammar::V1) => Wire::V1,
        Some(id::Grammar::Deployed) => Wire::Deployed,
        None => Wire::Unknown,
    }
}

/// Whether a mint can safely be sent again after the service answered with a placeholder of
/// `error_code` (docs/ARCHITECTURE.md, "Retry safety"): only when the code says the minting
/// backend refused the request before processing it. A timeout, a network failure the service
/// could not place, a 5xx of the backend or an unknown code may have minted.
pub fn placeholder_retry_safe(error_code: Option<&str>) -> bool {
    matches!(
        error_code,
        Some("RATE_LIMITED" | "INVALID_REQUEST" | "DRAND_UNAVAILABLE" | "CERT_UNAVAILABLE" | "TRUST_UNAVAILABLE")
    )
}

/// Whether a 503's body is the deployed service's own answer to a failure at or after its call
/// to the minting backend, so a mint it answers may have been processed (docs/ARCHITECTURE.md,
/// "Retry safety"). One revision of the service answers `{ success: false, error:
/// "SERVICE_UNAVAILABLE", errorCode, ... }` when its backend failed (`MINT_TIMEOUT`,
/// `MINT_UNAVAILABLE`, `MINT_REJECTED`: it may have minted) and then its fallback too, and every
/// revision answers `{ success: false, error: "SECURITY_ERROR" }` for an exception anywhere in
/// the request, the fallback's store after a backend call included. So: an `errorCode` that is
/// not one of `placeholder_retry_safe`'s (the backend refused before minting), or one of those two
/// `error`s without an `errorCode`. Any other 503 (no body, a gateway's page, JSON naming
/// neither) is an answer from in front of the service and stays "not processed".
pub fn unavailable_after_backend(body: &[u8]) -> bool {
    // Read as the fetch-based builds read it (`TextDecoder`: invalid UTF-8 replaced, a leading
    // BOM dropped), so a body one build takes for the backend's answer the other does too.
    let text = String::from_utf8_lossy(body);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let Ok(serde_json::Value::Object(answer)) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    match answer.get("errorCode") {
        Some(serde_json::Value::String(code)) => !placeholder_retry_safe(Some(code)),
        Some(_) => true,
        None => {
            matches!(answer.get("error"), Some(serde_json::Value::String(e)) if e == "SERVICE_UNAVAILABLE" || e == "SECURITY_ERROR")
        }
    }
}

#[derive(serde::Deserialize)]
struct MintAnswer {
    #[serde(rename = "chittyId")]
    chitty_id: Option<serde_json::Value>,
    fallback: Option<serde_json::Value>,
    #[serde(rename = "errorCode")]
    error_code: Option<serde_json::Value>,
}

/// A mint answer, checked: the id, and the wire its shape showed.
#[derive(Debug, PartialEq, Eq)]
pub struct MintedId {
    pub id: String,
    pub wire: Wire,
    /// `Some(errorCode)` when the service answered with a placeholder (and the caller accepts
    /// placeholders; otherwise `parse_mint` fails with `ClientError::Placeholder`).
    pub placeholder: Option<Option<String>>,
}

/// How strictly a mint answer is read.
#[derive(Clone, Copy, Debug)]
pub struct MintChecks<'a> {
    /// The id must be in one of the grammars (off only for v1's exact semantics).
    pub grammar: bool,
    pub accept_placeholders: bool,
    pub api_key: Option<&'a str>,
}

/// Reads a 2xx mint answer of either wire.
pub fn parse_mint(body: &[u8], checks: MintChecks<'_>) -> Result<MintedId, ClientError> {
    let bad = |detail: &str| ClientError::BadResponse { detail: detail.to_owned() };
    let answer: MintAnswer =
        serde_json::from_slice(body).map_err(|e| ClientError::BadResponse { detail: format!("invalid JSON ({e})") })?;
    let Some(serde_json::Value::String(id)) = answer.chitty_id else {
        return Err(bad("the answer has no string chittyId"));
    };
    // Never shown: the id may be the key itself, echoed back.
    if checks.api_key.is_some_and(|k| crate::redact::reveals(&id, k)) {
        return Err(bad(
            "chittyId contains the API key (the service echoed the request's credentials); the id is not shown",
        ));
    }
    let error_code = match answer.error_code {
        Some(serde_json::Value::String(code)) => Some(code),
        _ => None,
    };
    // A placeholder is in no grammar (G = 0): it is recognised before the grammar check.
    let placeholder = matches!(answer.fallback, Some(serde_json::Value::Bool(true))) || id::is_placeholder(&id);
    let wire = if placeholder { Wire::Deployed } else { wire_of_id(&id) };
    if checks.grammar && wire == Wire::Unknown {
        return Err(bad("chittyId is not a ChittyID of either grammar"));
    }
    if placeholder {
        // A rate limit is never accepted: it pauses the client and is retried after the pause,
        // which is safe (the backend refused it) and likely to mint a real id.
        let rate_limited = error_code.as_deref() == Some("RATE_LIMITED");
        if !checks.accept_placeholders || rate_limited {
            let retry_safe = placeholder_retry_safe(error_code.as_deref());
            return Err(ClientError::Placeholder { id: shown_id(&id), error_code, retry_safe });
        }
        return Ok(MintedId { id, wire, placeholder: Some(error_code) });
    }
    Ok(MintedId { id, wire, placeholder: None })
}

/// A placeholder id as errors show it: only a placeholder of the grammar, else a mark.
fn shown_id(id: &str) -> String {
    if id::is_placeholder(id) {
        id.to_owned()
    } else {
        "(not a well-formed placeholder id)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKS: MintChecks<'static> =
        MintChecks { grammar: true, accept_placeholders: false, api_key: Some("sk-secret") };

    #[test]
    fn entity_codes_map_to_the_deployed_words() {
        let words: Vec<_> = ["PEO", "PLACE", "PROP", "EVNT", "AUTH", "INFO", "FACT", "CONTEXT", "ACTOR"]
            .iter()
            .map(|e| entity_type_word(e).unwrap())
            .collect();
        assert_eq!(words, ["person", "place", "thing", "event", "authority", "thing", "thing", "person", "person"]);
        assert_eq!(entity_type_word("NOPE"), None);
    }

    #[test]
    fn entity_type_goes_first_so_the_callers_own_wins() {
        let out = with_entity_type(br#"{"entity":"PLACE","name":"x"}"#).unwrap();
        assert_eq!(std::str::from_utf8(&out).unwrap(), r#"{"entityType":"place","entity":"PLACE","name":"x"}"#);
        let v: serde_json::Value =
            serde_json::from_slice(&with_entity_type(br#"{"entity":"PEO","entityType":"thing"}"#).unwrap()).unwrap();
        assert_eq!(v["entityType"], "thing");
        assert_eq!(with_entity_type(b"nope"), None);
        assert_eq!(with_entity_type(br#"{"name":"x"}"#), None);
    }

    #[test]
    fn an_entity_outside_the_table_is_passed_on_as_given() {
        // The deployed service would otherwise mint a thing (it reads `entityType` only).
        let out = with_entity_type(br#"{"entity":"person"}"#).unwrap();
        assert_eq!(std::str::from_utf8(&out).unwrap(), r#"{"entityType":"person","entity":"person"}"#);
        let quoted: serde_json::Value =
            serde_json::from_slice(&with_entity_type(br#"{"entity":"a\"b"}"#).unwrap()).unwrap();
        assert_eq!(quoted["entityType"], "a\"b");
    }

    /// A deployed id with its right check pair.
    fn deployed(fields: &str) -> String {
        id::with_check_pair(fields).unwrap()
    }

    #[test]
    fn the_grammar_of_an_id_tells_its_wire() {
        assert_eq!(wire_of_id("CT-A-CHI-1234-P-24-A-0"), Wire::V1);
        assert_eq!(wire_of_id(&deployed("03-1-USA-1234-P-2612-3")), Wire::Deployed);
        assert_eq!(wire_of_id("03-1-USA-1234-P-2612-3-99"), Wire::Unknown, "a wrong check pair is no id");
        assert_eq!(wire_of_id("Bearer x"), Wire::Unknown);
    }

    #[test]
    fn mint_answers_are_checked() {
        let id = deployed("03-1-USA-1234-P-2612-3");
        let body = serde_json::json!({ "success": true, "chittyId": id, "components": {} }).to_string();
        let ok = parse_mint(body.as_bytes(), CHECKS).unwrap();
        assert_eq!((ok.id.as_str(), ok.wire, ok.placeholder), (id.as_str(), Wire::Deployed, None));
        let v1 = parse_mint(br#"{"chittyId":"CT-A-CHI-1234-P-24-A-0"}"#, CHECKS).unwrap();
        assert_eq!(v1.wire, Wire::V1);
        let echoed = parse_mint(br#"{"chittyId":"Bearer sk-secret"}"#, CHECKS).unwrap_err();
        assert_eq!(echoed.code(), "EBADRESPONSE");
        assert!(!echoed.to_string().contains("sk-secret"), "{echoed}");
        // Even without the grammar check the key never resolves.
        assert!(parse_mint(br#"{"chittyId":"sk-secret"}"#, MintChecks { grammar: false, ..CHECKS }).is_err());
        assert_eq!(parse_mint(br#"{"chittyId":"stub"}"#, MintChecks { grammar: false, ..CHECKS }).unwrap().id, "stub");
        assert_eq!(parse_mint(br#"{"chittyId":"stub"}"#, CHECKS).unwrap_err().code(), "EBADRESPONSE");
    }

    #[test]
    fn placeholder_answers_reject_unless_accepted() {
        let body =
            br#"{"success":true,"fallback":true,"errorCode":"MINT_TIMEOUT","chittyId":"03-0-ERR-0002-P-2612-0-11"}"#;
        let err = parse_mint(body, CHECKS).unwrap_err();
        assert_eq!(
            err,
            ClientError::Placeholder {
                id: "03-0-ERR-0002-P-2612-0-11".into(),
                error_code: Some("MINT_TIMEOUT".into()),
                retry_safe: false
            }
        );
        assert_eq!(err.code(), "EPLACEHOLDER");
        let limited =
            br#"{"success":true,"fallback":true,"errorCode":"RATE_LIMITED","chittyId":"03-0-ERR-0007-P-2612-0-11"}"#;
        let err = parse_mint(limited, CHECKS).unwrap_err();
        assert_eq!(err.code(), "ERATELIMITED");
        assert!(err.is_rate_limit() && err.proves_not_processed() && !err.counts_as_service_failure());
        // An id in the reserved space is a placeholder even without the flag.
        assert_eq!(
            parse_mint(br#"{"chittyId":"03-0-ERR-0001-T-2612-0-22"}"#, CHECKS).unwrap_err().code(),
            "EPLACEHOLDER"
        );
        let accepting = MintChecks { accept_placeholders: true, ..CHECKS };
        let accepted = parse_mint(body, accepting).unwrap();
        assert_eq!(accepted.placeholder, Some(Some("MINT_TIMEOUT".into())));
        assert_eq!(
            parse_mint(limited, accepting).unwrap_err().code(),
            "ERATELIMITED",
            "a rate limit is never accepted"
        );
    }

    #[test]
    fn which_503_bodies_say_the_backend_may_have_minted() {
        let after = |body: &str| unavailable_after_backend(body.as_bytes());
        for code in ["MINT_TIMEOUT", "MINT_UNAVAILABLE", "MINT_REJECTED", "INTERNAL_ERROR", "NEW_CODE"] {
            let body = format!(r#"{{"success":false,"error":"SERVICE_UNAVAILABLE","errorCode":"{code}"}}"#);
            assert!(after(&body), "{code}");
        }
        assert!(after(r#"{"success":false,"error":"SECURITY_ERROR","message":"Request processing failed"}"#));
        assert!(after(r#"{"success":false,"error":"SERVICE_UNAVAILABLE"}"#));
        assert!(after(r#"{"errorCode":null}"#), "an errorCode the client cannot read");
        // As lib/wire.js reads it after `TextDecoder`: a BOM, bytes that are not UTF-8.
        assert!(after("\u{feff}{\"success\":false,\"error\":\"SECURITY_ERROR\"}"));
        assert!(unavailable_after_backend(b"{\"error\":\"SECURITY_ERROR\",\"detail\":\"\xff\xfe\"}"));
        for code in ["RATE_LIMITED", "INVALID_REQUEST"] {
            let body = format!(r#"{{"success":false,"error":"SERVICE_UNAVAILABLE","errorCode":"{code}"}}"#);
            assert!(!after(&body), "{code}: the backend refused before minting");
        }
        for gateway in [
            "",
            "Service Unavailable",
            "<html>503</html>",
            r#"{"success":false,"error":"injected error"}"#,
            "[]",
            "null",
        ] {
            assert!(!after(gateway), "{gateway:?}");
        }
    }

    #[test]
    fn retry_safety_of_placeholders() {
        for safe in ["RATE_LIMITED", "INVALID_REQUEST", "DRAND_UNAVAILABLE"] {
            assert!(placeholder_retry_safe(Some(safe)), "{safe}");
        }
        for unsafe_ in [
            Some("MINT_TIMEOUT"),
            Some("MINT_UNAVAILABLE"),
            Some("MINT_REJECTED"),
            Some("INTERNAL_ERROR"),
            Some("?"),
            None,
        ] {
            assert!(!placeholder_retry_safe(unsafe_), "{unsafe_:?}");
        }
    }

    #[test]
    fn routes_coincide_only_when_the_urls_are_the_same() {
        let w = EndpointWire::new(WireMode::Auto, "https://id.chitty.cc/v1");
        assert!(w.same_url(DEPLOYED_MINT_BEFORE, "/mint"));
        assert!(!w.health_routes_coincide());
        let origin = EndpointWire::new(WireMode::Auto, "http://127.0.0.1:9");
        assert!(!origin.same_url(DEPLOYED_MINT_BEFORE, "/mint"));
        assert!(origin.same_url(DEPLOYED_MINT, "/mint"));
        assert!(!w.same_url(DEPLOYED_MINT, "/mint"));
        let routes =
            |w: &EndpointWire, after_v1: bool| w.deployed_mint_routes(after_v1).map(|r| r.path).collect::<Vec<_>>();
        assert_eq!(routes(&w, true), ["/mint"], "/v1/mint is v1's URL under /v1");
        assert_eq!(routes(&origin, true), ["/v1/mint"], "/mint is v1's URL at the origin");
        assert_eq!(routes(&w, false), ["/mint", "/v1/mint"]);
        w.set_older_mint_route();
        assert_eq!(routes(&w, false), ["/v1/mint"]);
        assert_eq!(routes(&w, true), Vec::<&str>::new());
        assert_eq!(w.deployed_mint_route(), DEPLOYED_MINT_BEFORE);
        assert!(origin.health_routes_coincide());
        origin.learn(Wire::Deployed);
        assert_eq!(origin.get(), Wire::Deployed);
        let fixed = EndpointWire::new(WireMode::V1, "http://127.0.0.1:9");
        fixed.learn(Wire::Deployed);
        assert_eq!(fixed.get(), Wire::V1, "a fixed wire never changes");
    }
}
