//! Which wire an endpoint speaks (docs/ARCHITECTURE.md, "Two wires"): v1's routes below the
//! service URL, or the deployed service's routes at the origin (the mint route of its revision,
//! `POST /api/validate`, `GET /api/health`, no batch route; docs/DEPLOYED.md). With `wire:
//! "auto"` each endpoint's wire is learnt from its answers and remembered here, with the mint
//! route its revision has.
//!
//! Also here: what the deployed wire adds to a mint request (`entityType`, and the type in the
//! query), and what a mint
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
    /// The route reads the whole request from the query string: it is a `GET` without a body
    /// (the only mint route of the service's oldest revisions, docs/DEPLOYED.md F3).
    pub by_query: bool,
}

impl Route {
    const fn at_origin(path: &'static str) -> Self {
        Self { path, from_origin: true, by_query: false }
    }

    /// A route below the service URL (v1's).
    pub const fn below_service(path: &'static str) -> Self {
        Self { path, from_origin: false, by_query: false }
    }
}

/// The deployed service's mint routes, newest first (docs/DEPLOYED.md F1–F3): `POST /mint` in
/// its newest revision (which answers the older routes with a 308 to it), `POST /v1/mint` in the
/// revisions before, and `GET /api/get-chittyid` (the type in the query) in every revision
/// before those and in the one whose placeholders come from a fallback service.
pub const DEPLOYED_MINT: Route = Route::at_origin("/mint");
pub const DEPLOYED_MINT_BEFORE: Route = Route::at_origin("/v1/mint");
pub const DEPLOYED_MINT_OLDEST: Route = Route { path: "/api/get-chittyid", from_origin: true, by_query: true };
pub const DEPLOYED_MINT_ROUTES: [Route; 3] = [DEPLOYED_MINT, DEPLOYED_MINT_BEFORE, DEPLOYED_MINT_OLDEST];
pub const DEPLOYED_VALIDATE: Route = Route::at_origin("/api/validate");
/// The health route every revision has (`/health` came later and not to all, F7, F8).
pub const DEPLOYED_HEALTH: Route = Route::at_origin("/api/health");
pub const V1_MINT: Route = Route::below_service("/mint");
pub const V1_HEALTH: Route = Route::below_service("/health");

/// One endpoint's wire, learnt or fixed, and whether it has a batch route.
pub struct EndpointWire {
    mode: WireMode,
    state: AtomicU8,
    /// 0 unknown, 1 has `/mint/batch`, 2 has none (a 404 said so).
    batch_route: AtomicU8,
    /// The first of `DEPLOYED_MINT_ROUTES` not known to be missing: a 404 on a mint route shows
    /// a revision without it, and mints start at the next route from then on.
    mint_route: AtomicU8,
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
            mint_route: AtomicU8::new(0),
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

    /// Whether `route` is the same request as v1's `POST`/`GET` of `v1_path` below the service URL.
    pub fn same_url(&self, route: Route, v1_path: &str) -> bool {
        route.from_origin && !route.by_query && route.path == format!("{}{v1_path}", self.base_path)
    }

    /// The service URL is the origin, so v1's `GET {serviceUrl}/health` is also the deployed
    /// service's `GET /health` (F7): its answer does not tell the wire.
    pub fn service_url_is_origin(&self) -> bool {
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

    /// The deployed mint routes to try, in order: from the first not known to be missing on.
    pub fn deployed_mint_routes(&self) -> &'static [Route] {
        &DEPLOYED_MINT_ROUTES[self.mint_route_index()..]
    }

    /// A 404 on the deployed mint route `route` (nothing processed): later mints start at the
    /// route after it. A 404 on the last one means none is there (the service moved on, or is
    /// not the deployed service): what was learnt is forgotten, and the next mint starts at
    /// the newest route again.
    pub fn mint_route_missing(&self, route: Route) {
        let Some(k) = DEPLOYED_MINT_ROUTES.iter().position(|r| *r == route) else { return };
        if k + 1 < DEPLOYED_MINT_ROUTES.len() {
            self.mint_route.fetch_max(k as u8 + 1, Relaxed);
        } else {
            self.mint_route.store(0, Relaxed);
        }
    }

    /// The deployed mint route this endpoint is known or assumed to have.
    pub fn deployed_mint_route(&self) -> Route {
        DEPLOYED_MINT_ROUTES[self.mint_route_index()]
    }

    fn mint_route_index(&self) -> usize {
        (self.mint_route.load(Relaxed) as usize).min(DEPLOYED_MINT_ROUTES.len() - 1)
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
struct TypeFields<'a> {
    #[serde(borrow)]
    entity: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "entityType")]
    entity_type: Option<serde_json::Value>,
}

/// The `entityType` a mint of `entity` is sent with on the deployed wire: the word of a v1 code,
/// else the entity as given. The deployed service reads only `entityType` and mints a thing
/// without one, so an entity outside the table (`"person"`, `"P"`, a typo) is passed on for the
/// service to read (it takes words, letters and purposes) or refuse, never dropped.
pub fn entity_type_for(entity: &str) -> &str {
    entity_type_word(entity).unwrap_or(entity)
}

/// A mint as the deployed wire sends it: the caller's body with `entityType`, and the same type
/// in the query (`type=<word>`), where the revisions before the body was read look for it
/// (docs/DEPLOYED.md F18); the later ones read the body's first, so the two never disagree.
#[derive(Debug, PartialEq, Eq)]
pub struct TypedMint {
    pub body: Vec<u8>,
    /// Form-encoded, without the `?`.
    pub query: String,
}

/// A mint body (a JSON object serialized by the caller) with `"entityType"` added as its first
/// member, so an `entityType` the caller set itself comes later and wins; the query carries the
/// type that wins (the caller's, when it is a string). `None` when the body has no string
/// `entity`.
pub fn typed_mint(body: &[u8]) -> Option<TypedMint> {
    let parsed: TypeFields<'_> = serde_json::from_slice(body).ok()?;
    let entity = parsed.entity?;
    let ours = entity_type_for(&entity);
    let word = serde_json::to_string(ours).ok()?;
    let rest = body.strip_prefix(b"{")?;
    let mut out = Vec::with_capacity(body.len() + 32);
    out.extend_from_slice(b"{\"entityType\":");
    out.extend_from_slice(word.as_bytes());
    if rest.iter().find(|b| !b.is_ascii_whitespace()).is_none_or(|&b| b != b'}') {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    let winner = match &parsed.entity_type {
        Some(serde_json::Value::String(own)) => own.as_str(),
        _ => ours,
    };
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("type", winner).finish();
    Some(TypedMint { body: out, query })
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

/// The `error` of the deployed service's 503s that may follow a call to its minting backend.
pub const AFTER_BACKEND_ERRORS: [&str; 3] = ["SERVICE_UNAVAILABLE", "SECURITY_ERROR", "MINT_SERVICE_ERROR"];

/// Whether a 503's body is the deployed service's own answer to a failure at or after its call
/// to the minting backend, so a mint it answers may have been processed (docs/ARCHITECTURE.md,
/// "Retry safety"). One revision of the service answers `{ success: false, error:
/// "SERVICE_UNAVAILABLE", errorCode, ... }` when its backend failed (`MINT_TIMEOUT`,
/// `MINT_UNAVAILABLE`, `MINT_REJECTED`: it may have minted) and then its fallback too, and every
/// revision answers `{ success: false, error: "SECURITY_ERROR" }` for an exception anywhere in
/// the request, the fallback's store after a backend call included; the oldest revision answers
/// `{ success: false, error: "MINT_SERVICE_ERROR" }` when its backend call threw, a timeout or
/// a 2xx whose body was not JSON included (docs/DEPLOYED.md F44). So: an `errorCode` that is
/// not one of `placeholder_retry_safe`'s (the backend refused before minting), or one of those
/// three `error`s without an `errorCode`. Any other 503 (no body, a gateway's page, JSON naming
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
            matches!(answer.get("error"), Some(serde_json::Value::String(e)) if AFTER_BACKEND_ERRORS.contains(&e.as_str()))
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
        let out = typed_mint(br#"{"entity":"PLACE","name":"x"}"#).unwrap();
        assert_eq!(std::str::from_utf8(&out.body).unwrap(), r#"{"entityType":"place","entity":"PLACE","name":"x"}"#);
        assert_eq!(out.query, "type=place");
        let own = typed_mint(br#"{"entity":"PEO","entityType":"thing"}"#).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&own.body).unwrap();
        assert_eq!(v["entityType"], "thing");
        assert_eq!(own.query, "type=thing", "the query carries the type the body's reader takes");
        let odd = typed_mint(br#"{"entity":"PEO","entityType":7}"#).unwrap();
        assert_eq!(odd.query, "type=person", "an entityType that is not a string is no word");
        assert_eq!(typed_mint(b"nope"), None);
        assert_eq!(typed_mint(br#"{"name":"x"}"#), None);
    }

    #[test]
    fn an_entity_outside_the_table_is_passed_on_as_given() {
        // The deployed service would otherwise mint a thing (it reads `entityType` only).
        let out = typed_mint(br#"{"entity":"person"}"#).unwrap();
        assert_eq!(std::str::from_utf8(&out.body).unwrap(), r#"{"entityType":"person","entity":"person"}"#);
        let quoted = typed_mint(br#"{"entity":"a\"b &c=d"}"#).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&quoted.body).unwrap();
        assert_eq!(v["entityType"], "a\"b &c=d");
        // Form-encoded as URLSearchParams encodes it (lib/portable/wire.js).
        assert_eq!(quoted.query, "type=a%22b+%26c%3Dd");
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
        assert!(after(r#"{"success":false,"error":"MINT_SERVICE_ERROR","fallback":"ChittyMint service unavailable"}"#));
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
        assert!(!w.service_url_is_origin());
        let origin = EndpointWire::new(WireMode::Auto, "http://127.0.0.1:9");
        assert!(!origin.same_url(DEPLOYED_MINT_BEFORE, "/mint"));
        assert!(origin.same_url(DEPLOYED_MINT, "/mint"));
        assert!(!w.same_url(DEPLOYED_MINT, "/mint"));
        assert!(origin.service_url_is_origin());
        let api = EndpointWire::new(WireMode::Auto, "http://127.0.0.1:9/api");
        assert!(api.same_url(DEPLOYED_HEALTH, "/health"));
        assert!(!api.same_url(DEPLOYED_MINT_OLDEST, "/get-chittyid"), "a GET route is never v1's POST");
        origin.learn(Wire::Deployed);
        assert_eq!(origin.get(), Wire::Deployed);
        let fixed = EndpointWire::new(WireMode::V1, "http://127.0.0.1:9");
        fixed.learn(Wire::Deployed);
        assert_eq!(fixed.get(), Wire::V1, "a fixed wire never changes");
    }

    #[test]
    fn a_404_on_a_mint_route_moves_later_mints_to_the_next_one() {
        let w = EndpointWire::new(WireMode::Auto, "https://id.chitty.cc/v1");
        let paths = |w: &EndpointWire| w.deployed_mint_routes().iter().map(|r| r.path).collect::<Vec<_>>();
        assert_eq!(paths(&w), ["/mint", "/v1/mint", "/api/get-chittyid"]);
        assert_eq!(w.deployed_mint_route(), DEPLOYED_MINT);
        w.mint_route_missing(DEPLOYED_MINT);
        assert_eq!(paths(&w), ["/v1/mint", "/api/get-chittyid"]);
        w.mint_route_missing(DEPLOYED_MINT);
        assert_eq!(paths(&w), ["/v1/mint", "/api/get-chittyid"], "an older 404 does not move it back");
        w.mint_route_missing(DEPLOYED_MINT_BEFORE);
        assert_eq!(w.deployed_mint_route(), DEPLOYED_MINT_OLDEST);
        assert!(w.deployed_mint_route().by_query);
        w.mint_route_missing(V1_MINT);
        assert_eq!(paths(&w), ["/api/get-chittyid"], "not a deployed mint route");
        w.mint_route_missing(DEPLOYED_MINT_OLDEST);
        assert_eq!(paths(&w), ["/mint", "/v1/mint", "/api/get-chittyid"], "none there: start again");
    }
}
