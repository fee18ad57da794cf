//! Every failure the client can report, in one enum. The binding turns it into a JS
//! error (message, `code`, `cause`, `status`) in one place.

use std::fmt;

use crate::redact::Redactor;

/// How far a failed request got: whether the service may have received it. A mint may be
/// retried safely only after a `Connect` failure, since the public service ignores
/// `Idempotency-Key` (docs/ARCHITECTURE.md, "Retry safety").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Nothing of the request left this process: DNS, refused, TLS handshake, connect timeout,
    /// a local resource limit, or a pooled connection that failed before any byte was written.
    Connect,
    /// The request may have been written (fully or partly): the service may have processed it.
    Exchange,
}

/// What refused a call with [`ClientError::RateLimited`], in the docs' words for the three
/// things that pace the client (docs/ARCHITECTURE.md, "Layout", its Words paragraph).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pacer {
    /// The pause after the service's 429 (`policy/pause.rs`), or fleet mode's shared pause.
    Pause,
    /// The client's own `rateLimit` option (`policy/rate_limit.rs`).
    RateLimit,
    /// Fleet mode's shared request budget (`fleet/budget.rs`): its next slot is too far away.
    Budget,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The service answered with a non-2xx status. `backend_failed`: a 503 whose body is the
    /// deployed service's own answer to a failure at or after its call to the minting backend
    /// (`wire::unavailable_after_backend`), so a mint may have been processed.
    Http { status: u16, status_text: String, retry_after: Option<String>, backend_failed: bool },
    /// The request never got an answer: refused, reset, DNS, broken pipe...
    Transport { code: &'static str, detail: String, phase: Phase },
    /// The TLS handshake failed (untrusted or mismatched certificate...). Retrying cannot help.
    Tls { code: &'static str, detail: String },
    /// The client would not send the request where it was headed: a redirect from https to
    /// http or past the hop limit, plain http to an address that is not loopback, or a proxy
    /// that refused the credentials of its URL.
    Refused { code: &'static str, detail: String },
    /// No complete answer within the per-request timeout.
    Timeout { after_ms: u64, phase: Phase },
    /// A 2xx answer that is not what the API promises (bad JSON, missing `chittyId`).
    BadResponse { detail: String },
    /// The response body exceeded the configured cap.
    BodyTooLarge { limit: usize },
    /// The circuit breaker is open; nothing was sent.
    CircuitOpen { retry_in_ms: u64 },
    /// The circuit breaker is HALF_OPEN with its `limit` trial calls in flight; nothing was
    /// sent. Code `ECIRCUITOPEN` like an open circuit.
    TrialsInFlight { limit: u32 },
    /// The caller aborted through its AbortSignal.
    Aborted,
    /// A mint failed after its request may have reached the service, and was not retried:
    /// the service may have minted an id the caller never got (docs/ARCHITECTURE.md, "Retry
    /// safety"). `key` is the mint's idempotency key, for a deliberate retry.
    MintOutcomeUnknown { key: String, cause: Box<ClientError> },
    /// `ERATELIMITED`: a wait for permission to send would outlast what the call may wait;
    /// nothing was sent. `by` says which of the three things that pace the client refused it.
    RateLimited { retry_in_ms: u64, by: Pacer },
    /// The client's bulkhead is full: `max_concurrent` calls in flight and `max_queue` waiting
    /// (`waited_ms: None`), or no slot came free within the call's timeout. Nothing was sent.
    BulkheadFull { max_concurrent: u32, max_queue: u32, waited_ms: Option<u64> },
    /// The client was closed.
    Closed,
    /// An argument or option the client cannot use.
    InvalidArgument { detail: String },
    /// The service answered a mint with a placeholder id (the deployed service's reserved
    /// error space, or `fallback: true`) instead of a minted id (docs/ARCHITECTURE.md, "Two
    /// wires"). `error_code` is the service's; `retry_safe` whether minting again cannot
    /// mint twice (`wire::placeholder_retry_safe`). A `RATE_LIMITED` one is a rate limit.
    Placeholder { id: String, error_code: Option<String>, retry_safe: bool },
    /// `mintBatch` against a service without a batch route minted one by one and some
    /// failed: `minted` holds every id minted, in position (`None` where none was), `failed`
    /// the positions that failed, `cause` the first failure.
    BatchIncomplete { minted: Vec<Option<String>>, failed: Vec<usize>, cause: Box<ClientError> },
    /// A 404: the service has no such route. Named with the method and URL tried.
    RouteNotFound { method: &'static str, url: String, status_text: String },
}

impl ClientError {
    /// Stable machine-readable code, exposed as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Http { .. } => "EHTTP",
            ClientError::Transport { code, .. } | ClientError::Tls { code, .. } | ClientError::Refused { code, .. } => {
                code
            }
            ClientError::Timeout { .. } => "ETIMEDOUT",
            ClientError::BadResponse { .. } => "EBADRESPONSE",
            ClientError::BodyTooLarge { .. } => "EBODYTOOLARGE",
            ClientError::CircuitOpen { .. } | ClientError::TrialsInFlight { .. } => "ECIRCUITOPEN",
            ClientError::MintOutcomeUnknown { .. } => "EMINTUNKNOWN",
            ClientError::RateLimited { .. } => "ERATELIMITED",
            ClientError::BulkheadFull { .. } => "EBULKHEADFULL",
            ClientError::Aborted => "ABORT_ERR",
            ClientError::Closed => "ECLIENTCLOSED",
            ClientError::InvalidArgument { .. } => "ERR_INVALID_ARG_VALUE",
            ClientError::Placeholder { .. } if self.is_rate_limit() => "ERATELIMITED",
            ClientError::Placeholder { .. } => "EPLACEHOLDER",
            ClientError::BatchIncomplete { cause, .. } => cause.code(),
            ClientError::RouteNotFound { .. } => "EHTTP",
        }
    }

    /// The lower-level failure behind this one, as `error.cause.message`.
    pub fn cause_detail(&self) -> Option<&str> {
        match self {
            ClientError::Transport { detail, .. }
            | ClientError::Tls { detail, .. }
            | ClientError::Refused { detail, .. }
            | ClientError::BadResponse { detail } => Some(detail),
            _ => None,
        }
    }

    /// This failure with the secret of `redactor` redacted from every piece of free text it
    /// carries (a reason phrase, a detail, its cause's), which may come from the service or its
    /// network. Codes, statuses, limits and the idempotency key are data and stay as they are.
    pub fn redacted(mut self, redactor: &Redactor) -> Self {
        if redactor.is_active() {
            self.redact_texts(redactor);
        }
        self
    }

    fn redact_texts(&mut self, redactor: &Redactor) {
        match self {
            ClientError::Http { status_text: text, .. }
            | ClientError::Transport { detail: text, .. }
            | ClientError::Tls { detail: text, .. }
            | ClientError::Refused { detail: text, .. }
            | ClientError::BadResponse { detail: text }
            | ClientError::RouteNotFound { status_text: text, .. } => redactor.redact_in_place(text),
            ClientError::MintOutcomeUnknown { cause, .. } | ClientError::BatchIncomplete { cause, .. } => {
                cause.redact_texts(redactor)
            }
            // The id is a placeholder of the grammar (data); the service's code is its text.
            ClientError::Placeholder { error_code, .. } => {
                if let Some(code) = error_code {
                    redactor.redact_in_place(code);
                }
            }
            ClientError::Timeout { .. }
            | ClientError::BodyTooLarge { .. }
            | ClientError::CircuitOpen { .. }
            | ClientError::TrialsInFlight { .. }
            | ClientError::Aborted
            | ClientError::RateLimited { .. }
            | ClientError::BulkheadFull { .. }
            | ClientError::Closed
            | ClientError::InvalidArgument { .. } => {}
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            ClientError::MintOutcomeUnknown { cause, .. } | ClientError::BatchIncomplete { cause, .. } => {
                cause.status()
            }
            ClientError::RouteNotFound { .. } => Some(404),
            _ => None,
        }
    }

    /// The failure this one wraps (`MintOutcomeUnknown`), else `None`.
    pub fn wrapped(&self) -> Option<&ClientError> {
        match self {
            ClientError::MintOutcomeUnknown { cause, .. } => Some(cause),
            _ => None,
        }
    }

    /// A 429, or a placeholder the service issued because it was rate limited.
    pub fn is_rate_limit(&self) -> bool {
        match self {
            ClientError::Http { status, .. } => *status == 429,
            ClientError::Placeholder { error_code, .. } => error_code.as_deref() == Some("RATE_LIMITED"),
            _ => false,
        }
    }

    /// This failure proves the request was not processed: nothing reached the service, or
    /// the service said so (429; a 503 unless its body names a failure at or after the minting
    /// backend). The only failures a mint to a service that ignores `Idempotency-Key` may be
    /// retried after.
    pub fn proves_not_processed(&self) -> bool {
        match self {
            ClientError::Http { status, backend_failed, .. } => *status == 429 || (*status == 503 && !backend_failed),
            ClientError::Placeholder { retry_safe, .. } => *retry_safe,
            other => !other.may_have_reached_service(),
        }
    }

    /// After this failure a mint's outcome is unknown: the request may have reached the service
    /// and the service did not say it was left unprocessed. Connect-phase failures never reached
    /// it; 429 and a 503 say "not processed", unless the 503's body names a failure at or after
    /// the minting backend (`backend_failed`); other 4xx are the service refusing the request.
    pub fn leaves_mint_outcome_unknown(&self) -> bool {
        match self {
            ClientError::Http { status, backend_failed, .. } => (*status >= 500 && *status != 503) || *backend_failed,
            ClientError::BodyTooLarge { .. } => true,
            // Not failures of the request: the caller or the client stopped waiting for it.
            ClientError::Aborted | ClientError::Closed | ClientError::MintOutcomeUnknown { .. } => false,
            ClientError::BulkheadFull { .. } => false,
            // Answers: the service said what it did (a placeholder, no such route).
            ClientError::Placeholder { .. }
            | ClientError::RouteNotFound { .. }
            | ClientError::BatchIncomplete { .. } => false,
            ClientError::Transport { .. }
            | ClientError::Tls { .. }
            | ClientError::Refused { .. }
            | ClientError::Timeout { .. }
            | ClientError::BadResponse { .. }
            | ClientError::CircuitOpen { .. }
            | ClientError::TrialsInFlight { .. }
            | ClientError::RateLimited { .. }
            | ClientError::InvalidArgument { .. } => self.may_have_reached_service(),
        }
    }

    /// Whether the service may have received (and processed) the request that failed.
    /// Answers from the service count as received; so does anything after the connect phase.
    pub fn may_have_reached_service(&self) -> bool {
        match self {
            ClientError::Transport { phase, .. } | ClientError::Timeout { phase, .. } => *phase == Phase::Exchange,
            // A redirect is refused after the service answered the request with it (a service
            // that mints, then redirects to the result, has minted); the other refusals never
            // let the request out.
            ClientError::Refused { code, .. } => is_redirect_refusal(code),
            ClientError::Tls { .. }
            | ClientError::CircuitOpen { .. }
            | ClientError::TrialsInFlight { .. }
            | ClientError::InvalidArgument { .. }
            | ClientError::RateLimited { .. }
            | ClientError::BulkheadFull { .. } => false,
            ClientError::Http { .. }
            | ClientError::BadResponse { .. }
            | ClientError::BodyTooLarge { .. }
            | ClientError::Placeholder { .. }
            | ClientError::RouteNotFound { .. }
            | ClientError::BatchIncomplete { .. }
            | ClientError::MintOutcomeUnknown { .. }
            | ClientError::Aborted
            | ClientError::Closed => true,
        }
    }

    /// Whether a call that failed so on one endpoint goes on to the next (docs/ARCHITECTURE.md,
    /// "Endpoint failover"): the endpoint is unreachable, failing (5xx, a garbled answer) or
    /// its circuit is open. A safe mint reaches this only after the retry-safety rule let it
    /// through (nothing was processed).
    pub fn fails_over(&self) -> bool {
        match self {
            ClientError::Http { status, .. } => *status >= 500,
            ClientError::Transport { code, .. } => !is_local_resource_code(code),
            ClientError::Tls { .. }
            | ClientError::Timeout { .. }
            | ClientError::BadResponse { .. }
            | ClientError::BodyTooLarge { .. }
            | ClientError::CircuitOpen { .. }
            | ClientError::TrialsInFlight { .. } => true,
            ClientError::Refused { .. }
            | ClientError::Aborted
            | ClientError::MintOutcomeUnknown { .. }
            | ClientError::RateLimited { .. }
            | ClientError::BulkheadFull { .. }
            | ClientError::Closed
            | ClientError::InvalidArgument { .. }
            | ClientError::Placeholder { .. }
            | ClientError::BatchIncomplete { .. }
            | ClientError::RouteNotFound { .. } => false,
        }
    }

    /// Whether this outcome says the service is unwell (and so counts for the breaker).
    /// Client errors (4xx other than 408) say the caller was wrong, not the service; a 429
    /// says the service is up and pacing this client (the rate-limit pause handles it).
    pub fn counts_as_service_failure(&self) -> bool {
        match self {
            ClientError::Http { status, .. } => *status >= 500 || *status == 408,
            // This process ran out of sockets or memory: the service is not to blame.
            ClientError::Transport { code, .. } if is_local_resource_code(code) => false,
            ClientError::Transport { .. }
            | ClientError::Timeout { .. }
            | ClientError::BadResponse { .. }
            | ClientError::BodyTooLarge { .. } => true,
            // The service cannot mint (its backend is down or failing); a rate limit or a
            // request it found invalid says nothing about its health.
            ClientError::Placeholder { error_code, .. } => {
                !self.is_rate_limit() && error_code.as_deref() != Some("INVALID_REQUEST")
            }
            ClientError::Tls { .. }
            | ClientError::Refused { .. }
            | ClientError::CircuitOpen { .. }
            | ClientError::TrialsInFlight { .. }
            | ClientError::Aborted
            | ClientError::MintOutcomeUnknown { .. }
            | ClientError::RateLimited { .. }
            | ClientError::BulkheadFull { .. }
            | ClientError::Closed
            | ClientError::InvalidArgument { .. }
            | ClientError::BatchIncomplete { .. }
            | ClientError::RouteNotFound { .. } => false,
        }
    }
}

/// The v1 wording of the reason part of an error message.
impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Http { status: status @ (401 | 403), status_text, .. } => write!(
                f,
                "ChittyID service error: {status} {status_text} (the service refused the request's credentials: the API key is missing, wrong or lacks access; check the apiKey option)"
            ),
            ClientError::Http { status, status_text, .. } => {
                write!(f, "ChittyID service error: {status} {status_text}")
            }
            ClientError::RouteNotFound { method, url, status_text } => {
                write!(f, "ChittyID service error: 404 {status_text} (no such route: {method} {url})")
            }
            ClientError::Placeholder { id, error_code, retry_safe } => {
                let code = error_code.as_deref().unwrap_or("no errorCode");
                let retry = if *retry_safe { "minting again is safe" } else { "the service may have minted: minting again may mint twice" };
                if self.is_rate_limit() {
                    write!(f, "rate limited by the ChittyID service: it answered with the placeholder id {id} ({code}) instead of minting")
                } else {
                    write!(f, "the ChittyID service answered with the placeholder id {id} ({code}) instead of a minted id; {retry}")
                }
            }
            ClientError::BatchIncomplete { minted, failed, cause } => {
                let done = minted.iter().filter(|m| m.is_some()).count();
                write!(
                    f,
                    "{cause} (no batch route: minted one by one, {done} of {} minted, failed at positions {failed:?}; the minted ids are in error.mintedIds)",
                    minted.len()
                )
            }
            ClientError::Transport { detail, .. } => write!(f, "fetch failed: {detail}"),
            ClientError::Tls { detail, .. } => write!(f, "fetch failed: TLS handshake failed: {detail}"),
            ClientError::Refused { detail, .. } => write!(f, "fetch failed: {detail}"),
            ClientError::Timeout { after_ms, .. } => {
                write!(f, "fetch failed: request timed out after {after_ms} ms")
            }
            ClientError::BadResponse { detail } => {
                write!(f, "ChittyID service returned an invalid response: {detail}")
            }
            ClientError::BodyTooLarge { limit } => {
                write!(f, "ChittyID service response exceeds the {limit}-byte limit")
            }
            ClientError::CircuitOpen { retry_in_ms } => {
                write!(f, "circuit breaker is OPEN (next trial in {retry_in_ms} ms)")
            }
            ClientError::TrialsInFlight { limit } => {
                write!(f, "circuit breaker is HALF_OPEN ({limit} trial calls in flight)")
            }
            // v1's words for the failure itself: code that wraps v1 classifies by them.
            ClientError::MintOutcomeUnknown { cause, .. } => write!(f, "{cause}"),
            ClientError::RateLimited { retry_in_ms, by: Pacer::Pause } => write!(
                f,
                "rate limited by the ChittyID service: traffic is paused for another {retry_in_ms} ms, longer than this call may wait"
            ),
            ClientError::RateLimited { retry_in_ms, by: Pacer::Budget } => write!(
                f,
                "fleet request budget (fleet.ratePerSecond): the fleet's next slot is {retry_in_ms} ms away, longer than this call may wait"
            ),
            ClientError::BulkheadFull { max_concurrent, max_queue, waited_ms: None } => write!(
                f,
                "bulkhead full: {max_concurrent} calls in flight and {max_queue} queued (bulkhead.maxConcurrent, bulkhead.maxQueue)"
            ),
            ClientError::BulkheadFull { max_concurrent, waited_ms: Some(ms), .. } => write!(
                f,
                "bulkhead full: no free slot of {max_concurrent} (bulkhead.maxConcurrent) within {ms} ms"
            ),
            ClientError::RateLimited { retry_in_ms, by: Pacer::RateLimit } => write!(
                f,
                "client-side rate limit (rateLimit.requestsPerSecond): the next slot is {retry_in_ms} ms away, longer than this call may wait"
            ),
            ClientError::Aborted => write!(f, "The operation was aborted"),
            ClientError::Closed => write!(f, "the client is closed"),
            ClientError::InvalidArgument { detail } => write!(f, "{detail}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Local resource exhaustion (this process out of sockets or memory): such a failure happens
/// before anything is sent and never counts against the service.
pub const LOCAL_RESOURCE_CODES: [&str; 5] = ["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EADDRNOTAVAIL"];

/// The codes of a redirect the client would not follow (src/transport/redirect.rs).
fn is_redirect_refusal(code: &str) -> bool {
    matches!(code, "ERR_INSECURE_REDIRECT" | "ERR_TOO_MANY_REDIRECTS")
}

pub fn is_local_resource_code(code: &str) -> bool {
    LOCAL_RESOURCE_CODES.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_reaches_every_text_of_a_failure_and_only_text() {
        let r = Redactor::new(Some("soc"));
        let http = ClientError::Http {
            status: 502,
            status_text: "echo Bearer soc".into(),
            retry_after: Some("soc".into()),
            backend_failed: false,
        };
        assert_eq!(
            http.redacted(&r),
            ClientError::Http {
                status: 502,
                status_text: "echo Bearer [redacted]".into(),
                retry_after: Some("soc".into()),
                backend_failed: false
            }
        );
        let cause = ClientError::Transport {
            code: "ECONNRESET",
            detail: "socket hang up (soc)".into(),
            phase: Phase::Exchange,
        };
        let unknown = ClientError::MintOutcomeUnknown { key: "soc".into(), cause: Box::new(cause) }.redacted(&r);
        let ClientError::MintOutcomeUnknown { key, cause } = unknown else { panic!() };
        assert_eq!(key, "soc", "the idempotency key is data");
        assert_eq!(cause.to_string(), "fetch failed: socket hang up ([redacted])");
        for err in [
            ClientError::Tls { code: "X", detail: "soc".into() },
            ClientError::Refused { code: "X", detail: "to http://soc/".into() },
            ClientError::BadResponse { detail: "soc".into() },
        ] {
            assert!(err.redacted(&r).to_string().contains("[redacted]"));
        }
    }

    #[test]
    fn what_fails_over_to_the_next_endpoint() {
        let http =
            |status| ClientError::Http { status, status_text: String::new(), retry_after: None, backend_failed: false };
        let transport = |code| ClientError::Transport { code, detail: String::new(), phase: Phase::Connect };
        for e in [
            http(500),
            http(503),
            transport("ECONNREFUSED"),
            ClientError::Timeout { after_ms: 1, phase: Phase::Exchange },
            ClientError::CircuitOpen { retry_in_ms: 1 },
            ClientError::BadResponse { detail: String::new() },
        ] {
            assert!(e.fails_over(), "{e:?}");
        }
        for e in [
            http(404),
            http(429),
            transport("EMFILE"),
            ClientError::RateLimited { retry_in_ms: 1, by: Pacer::Pause },
            ClientError::RateLimited { retry_in_ms: 1, by: Pacer::RateLimit },
            ClientError::BulkheadFull { max_concurrent: 1, max_queue: 0, waited_ms: None },
            ClientError::Aborted,
            ClientError::Closed,
            ClientError::MintOutcomeUnknown { key: "k".into(), cause: Box::new(http(502)) },
        ] {
            assert!(!e.fails_over(), "{e:?}");
        }
    }

    #[test]
    fn local_limits_never_reached_the_service_and_have_their_own_codes() {
        let full = ClientError::BulkheadFull { max_concurrent: 2, max_queue: 0, waited_ms: None };
        let rate_limited = ClientError::RateLimited { retry_in_ms: 40, by: Pacer::RateLimit };
        assert_eq!((full.code(), rate_limited.code()), ("EBULKHEADFULL", "ERATELIMITED"));
        for e in [&full, &rate_limited] {
            assert!(
                !e.may_have_reached_service() && !e.leaves_mint_outcome_unknown() && !e.counts_as_service_failure()
            );
        }
        assert!(rate_limited.to_string().contains("40 ms"));
    }

    #[test]
    fn one_code_for_every_pacer_and_each_its_own_words() {
        let by = |by| ClientError::RateLimited { retry_in_ms: 7, by };
        for pacer in [Pacer::Pause, Pacer::RateLimit, Pacer::Budget] {
            assert_eq!(by(pacer).code(), "ERATELIMITED");
            assert!(!by(pacer).may_have_reached_service() && !by(pacer).fails_over(), "{pacer:?}");
        }
        assert!(by(Pacer::Pause).to_string().starts_with("rate limited by the ChittyID service: traffic is paused"));
        assert!(by(Pacer::Budget).to_string().starts_with("fleet request budget (fleet.ratePerSecond)"));
        assert!(by(Pacer::RateLimit).to_string().starts_with("client-side rate limit (rateLimit.requestsPerSecond)"));
    }

    #[test]
    fn http_errors_use_v1_wording_and_code() {
        let e = ClientError::Http {
            status: 503,
            status_text: "Service Unavailable".into(),
            retry_after: None,
            backend_failed: false,
        };
        assert_eq!(e.to_string(), "ChittyID service error: 503 Service Unavailable");
        assert_eq!(e.code(), "EHTTP");
        assert_eq!(e.status(), Some(503));
        assert!(e.counts_as_service_failure());
    }

    #[test]
    fn transport_errors_say_fetch_failed() {
        let e = ClientError::Transport {
            code: "ECONNREFUSED",
            detail: "connect ECONNREFUSED 127.0.0.1:1".into(),
            phase: Phase::Connect,
        };
        assert!(e.to_string().contains("fetch failed"));
        assert_eq!(e.code(), "ECONNREFUSED");
        assert_eq!(e.cause_detail(), Some("connect ECONNREFUSED 127.0.0.1:1"));
        assert!(ClientError::Timeout { after_ms: 5, phase: Phase::Exchange }.to_string().contains("fetch failed"));
    }

    #[test]
    fn client_errors_are_not_counted_for_the_breaker() {
        for status in [400, 401, 403, 404, 422] {
            let e = ClientError::Http { status, status_text: String::new(), retry_after: None, backend_failed: false };
            assert!(!e.counts_as_service_failure(), "{status}");
        }
        let e = ClientError::Http { status: 408, status_text: String::new(), retry_after: None, backend_failed: false };
        assert!(e.counts_as_service_failure());
        let e = ClientError::Http { status: 429, status_text: String::new(), retry_after: None, backend_failed: false };
        assert!(e.is_rate_limit());
        assert!(!e.counts_as_service_failure(), "a 429 never counts for the breaker");
        let e = ClientError::Http { status: 500, status_text: String::new(), retry_after: None, backend_failed: false };
        assert!(e.counts_as_service_failure());
    }

    #[test]
    fn a_mint_outcome_is_unknown_only_when_the_request_may_have_been_processed() {
        let http =
            |status| ClientError::Http { status, status_text: String::new(), retry_after: None, backend_failed: false };
        let transport = |phase| ClientError::Transport { code: "ECONNRESET", detail: "reset".into(), phase };
        for unknown in [
            http(500),
            http(502),
            http(504),
            transport(Phase::Exchange),
            ClientError::Timeout { after_ms: 1, phase: Phase::Exchange },
            ClientError::BadResponse { detail: "x".into() },
            ClientError::BodyTooLarge { limit: 1 },
            ClientError::Http { status: 503, status_text: String::new(), retry_after: None, backend_failed: true },
        ] {
            assert!(!unknown.proves_not_processed(), "{unknown:?}");
            assert!(unknown.leaves_mint_outcome_unknown(), "{unknown:?}");
        }
        for status in [429, 503] {
            assert!(http(status).proves_not_processed());
        }
        assert!(transport(Phase::Connect).proves_not_processed());
        for not_proven in [http(408), http(400), http(500), transport(Phase::Exchange)] {
            assert!(!not_proven.proves_not_processed(), "{not_proven:?}");
        }
        for known in [
            http(429),
            http(503),
            http(400),
            http(408),
            transport(Phase::Connect),
            ClientError::Timeout { after_ms: 1, phase: Phase::Connect },
            ClientError::Tls { code: "CERT_HAS_EXPIRED", detail: "x".into() },
            ClientError::CircuitOpen { retry_in_ms: 1 },
            ClientError::RateLimited { retry_in_ms: 1, by: Pacer::Pause },
            ClientError::Aborted,
            ClientError::Closed,
        ] {
            assert!(!known.leaves_mint_outcome_unknown(), "{known:?}");
        }
    }

    #[test]
    fn an_unknown_mint_outcome_keeps_the_cause_and_its_wording() {
        let cause =
            ClientError::Transport { code: "ECONNRESET", detail: "connection reset".into(), phase: Phase::Exchange };
        let e = ClientError::MintOutcomeUnknown { key: "k".into(), cause: Box::new(cause.clone()) };
        assert_eq!(e.code(), "EMINTUNKNOWN");
        assert_eq!(e.to_string(), "fetch failed: connection reset");
        assert_eq!(e.wrapped(), Some(&cause));
        let http = ClientError::Http {
            status: 502,
            status_text: "Bad Gateway".into(),
            retry_after: None,
            backend_failed: false,
        };
        let e = ClientError::MintOutcomeUnknown { key: "k".into(), cause: Box::new(http) };
        assert_eq!(e.status(), Some(502));
    }

    #[test]
    fn circuit_open_message_is_recognisable() {
        let e = ClientError::CircuitOpen { retry_in_ms: 10 };
        assert!(e.to_string().contains("circuit breaker is OPEN"));
        assert_eq!(e.code(), "ECIRCUITOPEN");
        let e = ClientError::TrialsInFlight { limit: 3 };
        assert_eq!(e.to_string(), "circuit breaker is HALF_OPEN (3 trial calls in flight)");
        assert_eq!(e.code(), "ECIRCUITOPEN");
        assert!(!e.may_have_reached_service() && !e.leaves_mint_outcome_unknown() && !e.counts_as_service_failure());
        assert!(e.fails_over());
    }
}
