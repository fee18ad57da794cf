//! The `fetch` transport: each exchange is handed to JS, which makes it with
//! `globalThis.fetch` (looked up per call, so a test's stub sees it) and hands the answer back
//! here. Retry, breaker, cache and the error wording stay on the Rust side: only the exchange
//! crosses over (docs/ARCHITECTURE.md, "Fetch transport").
//!
//! Requests wait on a oneshot under a process-wide id; JS settles them by id through
//! [`settle`]. A request whose future is dropped (timeout, AbortSignal, close) asks JS to
//! abort its fetch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::{Method, Request, Response};
use crate::error::{ClientError, Phase};
use crate::transport::config::TransportConfig;

/// The JS call an exchange belongs to. Every attempt of one call (retries, failover) is made
/// with the `fetch` JS captured when the call was made, found by the call's `ticket`; and JS
/// may ask for a `single_attempt` (its `fetch` is a test double that would hand a second
/// request on to the real network): the call is then neither retried nor failed over.
#[derive(Clone, Copy, Debug)]
pub struct CallOrigin {
    pub ticket: u32,
    pub single_attempt: bool,
}

tokio::task_local! {
    static ORIGIN: CallOrigin;
}

/// Runs `fut` (one call of a fetch-transport client) as the call `origin`.
pub async fn within_call<F: Future>(origin: CallOrigin, fut: F) -> F::Output {
    ORIGIN.scope(origin, fut).await
}

/// True inside a call JS asked to make only once.
pub fn single_attempt() -> bool {
    ORIGIN.try_with(|o| o.single_attempt).unwrap_or(false)
}

/// One exchange for JS to make: `fetch(url, { method, headers, body })`. Its `Debug` never
/// prints the key (docs/ARCHITECTURE.md, "Redaction").
pub struct FetchCall {
    pub id: u64,
    /// The ticket of the JS call this exchange is an attempt of; `None` outside a call (the
    /// connection manager's health checks, failover probes).
    pub call: Option<u32>,
    pub method: Method,
    pub url: String,
    /// The request body exactly as serialized by the caller (JSON text).
    pub body: Option<Bytes>,
    /// `Bearer <apiKey>`, when a key is set.
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    /// The call's own headers (trace context...), already checked; v1's headers win over them.
    pub extra_headers: Option<crate::observe::telemetry::Headers>,
    /// JS stops reading a body past this many bytes.
    pub max_response_bytes: usize,
    /// JS follows redirects itself (`redirect: "manual"`) with the native transport's rules
    /// (`transport::redirect`): plain http off loopback is refused unless this is set.
    pub allow_insecure: bool,
}

impl std::fmt::Debug for FetchCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchCall")
            .field("id", &self.id)
            .field("call", &self.call)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body", &self.body)
            .field("authorization", &self.authorization.as_ref().map(|_| crate::redact::REDACTED))
            .field("idempotency_key", &self.idempotency_key)
            .field("extra_headers", &self.extra_headers)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("allow_insecure", &self.allow_insecure)
            .finish()
    }
}

/// A fetch that rejected: the Node-style `code` of its cause (`err.cause.code`), if any, and
/// the most specific message JS found.
#[derive(Debug)]
pub struct FetchFailure {
    pub code: Option<String>,
    pub message: String,
}

/// The JS side, as seen from the I/O thread.
pub trait FetchDispatch: Send + Sync {
    /// Asks JS to start `call`; false when it cannot be delivered (the JS environment is gone).
    fn start(&self, call: FetchCall) -> bool;
    /// Asks JS to abort the fetch started under `id` (its answer is no longer awaited).
    fn abort(&self, id: u64);
}

type Answer = Result<Response, ClientError>;

fn waiting() -> &'static Mutex<HashMap<u64, oneshot::Sender<Answer>>> {
    static WAITING: OnceLock<Mutex<HashMap<u64, oneshot::Sender<Answer>>>> = OnceLock::new();
    WAITING.get_or_init(Mutex::default)
}

fn lock_waiting() -> std::sync::MutexGuard<'static, HashMap<u64, oneshot::Sender<Answer>>> {
    waiting().lock().unwrap_or_else(|e| e.into_inner())
}

/// Fetches the native side awaits an answer for, all clients together (the leak check's count).
pub fn waiting_count() -> usize {
    lock_waiting().len()
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Delivers the answer of the fetch started under `id`; false when nobody awaits it any more
/// (timed out or aborted meanwhile).
pub fn settle(id: u64, answer: Result<Response, FetchFailure>) -> bool {
    let Some(tx) = lock_waiting().remove(&id) else { return false };
    tx.send(answer.map_err(to_client_error)).is_ok()
}

/// Node's codes for failures before any byte of the request left the process.
const CONNECT_CODES: &[&str] =
    &["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"];
/// Node's codes for failures once the request may have been written.
const EXCHANGE_CODES: &[&str] = &["ECONNRESET", "ETIMEDOUT", "EPIPE"];
/// The TLS verification codes the native transport reports too.
const TLS_CODES: &[&str] = &["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "ERR_TLS_CERT_ALTNAME_INVALID", "CERT_HAS_EXPIRED"];
/// The redirects JS refuses to follow, as the native transport names them.
const REDIRECT_CODES: &[&str] = &["ERR_INSECURE_REDIRECT", "ERR_TOO_MANY_REDIRECTS"];
/// A rejected fetch whose cause has none of the codes above (a stub's `new Error(...)`).
pub const UNKNOWN_FAILURE_CODE: &str = "EFETCH";
/// What JS reports for a body cut off at the size cap.
pub const BODY_TOO_LARGE_CODE: &str = "EBODYTOOLARGE";

fn known(list: &[&'static str], code: &str) -> Option<&'static str> {
    list.iter().copied().find(|c| *c == code)
}

fn to_client_error(failure: FetchFailure) -> ClientError {
    let FetchFailure { code, message: detail } = failure;
    let code = code.as_deref().unwrap_or("");
    if code == BODY_TOO_LARGE_CODE {
        // The limit is the transport's; `FetchTransport::send` fills it in.
        return ClientError::BodyTooLarge { limit: 0 };
    }
    // undici's own names for what Node's sockets call ETIMEDOUT / ECONNRESET.
    let code = match code {
        "UND_ERR_CONNECT_TIMEOUT" => {
            return ClientError::Transport { code: "ETIMEDOUT", detail, phase: Phase::Connect }
        }
        "UND_ERR_HEADERS_TIMEOUT" | "UND_ERR_BODY_TIMEOUT" => "ETIMEDOUT",
        "UND_ERR_SOCKET" | "UND_ERR_CLOSED" => "ECONNRESET",
        other => other,
    };
    if let Some(code) = known(CONNECT_CODES, code) {
        return ClientError::Transport { code, detail, phase: Phase::Connect };
    }
    // A redirect JS would not follow (lib/fetch-redirect.js, the rules of `transport::redirect`).
    if let Some(code) = known(REDIRECT_CODES, code) {
        return ClientError::Refused { code, detail };
    }
    if let Some(code) = known(TLS_CODES, code) {
        return ClientError::Tls { code, detail };
    }
    if code.starts_with("ERR_TLS") || code.starts_with("CERT_") || code.contains("SELF_SIGNED") {
        return ClientError::Tls { code: "ERR_TLS_CERT_INVALID", detail };
    }
    let code = known(EXCHANGE_CODES, code).unwrap_or(UNKNOWN_FAILURE_CODE);
    ClientError::Transport { code, detail, phase: Phase::Exchange }
}

/// Removes a request from the waiting list when its future ends, and asks JS to abort the
/// fetch if it had not answered yet.
struct Waiting<'a> {
    id: u64,
    dispatch: &'a dyn FetchDispatch,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if lock_waiting().remove(&self.id).is_some() {
            self.dispatch.abort(self.id);
        }
    }
}

pub struct FetchTransport {
    base_url: String,
    /// `scheme://host[:port]` of `base_url`, for routes below the origin.
    origin: String,
    authorization: Option<String>,
    max_response_bytes: usize,
    allow_insecure: bool,
    /// Wired by the binding on the JS thread; `None` before the first call and after close.
    dispatch: Mutex<Option<Arc<dyn FetchDispatch>>>,
}

impl FetchTransport {
    pub fn new(config: &TransportConfig) -> Result<Self, ClientError> {
        let key = config.api_key.as_deref().filter(|k| !k.is_empty());
        if key.is_some_and(|k| k.bytes().any(|b| b < 0x20 || b == 0x7f)) {
            return Err(ClientError::InvalidArgument {
                detail: "apiKey contains characters not allowed in an HTTP header".into(),
            });
        }
        let origin = reqwest::Url::parse(&config.service_url)
            .map(|u| u.origin().ascii_serialization())
            .map_err(|e| ClientError::InvalidArgument { detail: format!("serviceUrl: {e}") })?;
        Ok(Self {
            base_url: config.service_url.clone(),
            origin,
            authorization: key.map(|k| format!("Bearer {k}")),
            max_response_bytes: config.max_response_bytes,
            allow_insecure: config.allow_insecure,
            dispatch: Mutex::new(None),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn attach(&self, dispatch: Arc<dyn FetchDispatch>) {
        *self.dispatch.lock().unwrap_or_else(|e| e.into_inner()) = Some(dispatch);
    }

    /// Later requests fail as closed; fetches in flight still settle.
    pub fn detach(&self) {
        self.dispatch.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    pub fn is_attached(&self) -> bool {
        self.dispatch.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// One exchange through JS's fetch; `ClientTransport::send` redacts and logs its outcome.
    pub async fn send(&self, req: Request<'_>) -> Result<Response, ClientError> {
        self.exchange(req).await
    }

    async fn exchange(&self, req: Request<'_>) -> Result<Response, ClientError> {
        let dispatch = self.dispatch.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(dispatch) = dispatch else { return Err(ClientError::Closed) };
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock_waiting().insert(id, tx);
        let waiting = Waiting { id, dispatch: dispatch.as_ref() };
        let call = FetchCall {
            id,
            call: ORIGIN.try_with(|o| o.ticket).ok(),
            method: req.method,
            url: req.url_below(if req.from_origin { &self.origin } else { &self.base_url }),
            body: req.body,
            authorization: self.authorization.clone(),
            idempotency_key: req.idempotency_key.map(str::to_owned),
            extra_headers: crate::observe::telemetry::extra_headers(),
            max_response_bytes: self.max_response_bytes,
            allow_insecure: self.allow_insecure,
        };
        if !dispatch.start(call) {
            lock_waiting().remove(&id);
            return Err(ClientError::Closed);
        }
        let answer = match tokio::time::timeout(Duration::from_millis(req.timeout_ms), rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => Err(ClientError::Timeout { after_ms: req.timeout_ms, phase: Phase::Exchange }),
        };
        drop(waiting); // a timed-out fetch is aborted here
        match answer {
            Ok(response) if response.body.len() <= self.max_response_bytes => Ok(response),
            Ok(_) | Err(ClientError::BodyTooLarge { .. }) => {
                Err(ClientError::BodyTooLarge { limit: self.max_response_bytes })
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type ScriptedAnswer = Box<dyn Fn(&FetchCall) -> Result<Response, FetchFailure> + Send>;

    /// Records what it was asked; answers through `settle` from another thread when scripted.
    #[derive(Default)]
    struct FakeJs {
        started: Mutex<Vec<FetchCall>>,
        aborted: Mutex<Vec<u64>>,
        answer: Mutex<Option<ScriptedAnswer>>,
        refuse: bool,
    }

    impl FetchDispatch for FakeJs {
        fn start(&self, call: FetchCall) -> bool {
            if self.refuse {
                return false;
            }
            if let Some(answer) = self.answer.lock().unwrap().as_ref() {
                let (id, outcome) = (call.id, answer(&call));
                std::thread::spawn(move || settle(id, outcome));
            }
            self.started.lock().unwrap().push(call);
            true
        }

        fn abort(&self, id: u64) {
            self.aborted.lock().unwrap().push(id);
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    fn transport(js: &Arc<FakeJs>, key: Option<&str>) -> FetchTransport {
        let config = TransportConfig {
            service_url: "http://stub.test/v1".into(),
            api_key: key.map(str::to_owned),
            max_response_bytes: 64,
            ..TransportConfig::default()
        };
        let t = FetchTransport::new(&config).unwrap();
        t.attach(js.clone());
        t
    }

    fn ok(body: &str) -> Response {
        Response { status: 201, status_text: "Created".into(), retry_after: None, body: Bytes::from(body.to_owned()) }
    }

    fn post<'a>(path: &'a str, key: Option<&'a str>, timeout_ms: u64) -> Request<'a> {
        Request {
            method: Method::Post,
            path,
            body: Some(Bytes::from_static(b"{\"entity\":\"PEO\"}")),
            idempotency_key: key,
            timeout_ms,
            from_origin: false,
            query: None,
        }
    }

    #[test]
    fn hands_js_the_request_as_v1_sent_it_and_returns_its_answer() {
        let js = Arc::new(FakeJs::default());
        *js.answer.lock().unwrap() = Some(Box::new(|_| Ok(ok("{\"chittyId\":\"X\"}"))));
        let t = transport(&js, Some("k1"));
        let response = runtime().block_on(t.send(post("/mint", Some("idem"), 2000))).unwrap();
        assert_eq!((response.status, &response.body[..]), (201, &b"{\"chittyId\":\"X\"}"[..]));
        let started = js.started.lock().unwrap();
        let call = &started[0];
        assert_eq!((call.method, call.url.as_str()), (Method::Post, "http://stub.test/v1/mint"));
        assert_eq!(call.authorization.as_deref(), Some("Bearer k1"));
        assert!(!format!("{call:?}").contains("k1"), "a debug dump of the call never shows the key");
        assert_eq!(call.idempotency_key.as_deref(), Some("idem"));
        assert_eq!(call.body.as_deref(), Some(&b"{\"entity\":\"PEO\"}"[..]));
        assert!(js.aborted.lock().unwrap().is_empty(), "an answered fetch is not aborted");
        assert!(!lock_waiting().contains_key(&call.id));
    }

    #[test]
    fn a_query_goes_after_the_path_at_the_origin() {
        let js = Arc::new(FakeJs::default());
        *js.answer.lock().unwrap() = Some(Box::new(|_| Ok(ok("{}"))));
        let t = transport(&js, None);
        let req = Request {
            method: Method::Get,
            body: None,
            from_origin: true,
            query: Some("type=a%22b+%26c"),
            ..post("/api/get-chittyid", None, 2000)
        };
        runtime().block_on(t.send(req)).unwrap();
        let started = js.started.lock().unwrap();
        assert_eq!(started[0].url, "http://stub.test/api/get-chittyid?type=a%22b+%26c");
        assert_eq!(started[0].body, None);
    }

    #[test]
    fn every_attempt_names_its_call_and_a_single_attempt_call_says_so() {
        let js = Arc::new(FakeJs::default());
        *js.answer.lock().unwrap() = Some(Box::new(|_| Ok(ok("{}"))));
        let t = transport(&js, None);
        let rt = runtime();
        rt.block_on(t.send(post("/mint", None, 2000))).unwrap();
        let origin = CallOrigin { ticket: 7, single_attempt: true };
        let inside = rt.block_on(within_call(origin, async {
            t.send(post("/mint", None, 2000)).await.unwrap();
            t.send(post("/mint", None, 2000)).await.unwrap();
            single_attempt()
        }));
        assert!(inside && !single_attempt());
        let calls: Vec<_> = js.started.lock().unwrap().iter().map(|c| c.call).collect();
        assert_eq!(calls, [None, Some(7), Some(7)]);
    }

    #[test]
    fn no_key_means_no_authorization_and_control_characters_are_refused() {
        let js = Arc::new(FakeJs::default());
        assert_eq!(transport(&js, None).authorization, None);
        assert_eq!(transport(&js, Some("")).authorization, None);
        let config = TransportConfig { api_key: Some("a\nb".into()), ..TransportConfig::default() };
        assert_eq!(FetchTransport::new(&config).err().unwrap().code(), "ERR_INVALID_ARG_VALUE");
    }

    #[test]
    fn failures_keep_node_codes_and_say_how_far_the_request_got() {
        let cases = [
            (Some("ECONNREFUSED"), "ECONNREFUSED", Some(Phase::Connect)),
            (Some("ENOTFOUND"), "ENOTFOUND", Some(Phase::Connect)),
            (Some("ECONNRESET"), "ECONNRESET", Some(Phase::Exchange)),
            (Some("UND_ERR_SOCKET"), "ECONNRESET", Some(Phase::Exchange)),
            (Some("UND_ERR_CONNECT_TIMEOUT"), "ETIMEDOUT", Some(Phase::Connect)),
            (None, UNKNOWN_FAILURE_CODE, Some(Phase::Exchange)),
            (Some("ERR_SOMETHING_NEW"), UNKNOWN_FAILURE_CODE, Some(Phase::Exchange)),
            (Some("CERT_HAS_EXPIRED"), "CERT_HAS_EXPIRED", None),
            (Some("DEPTH_ZERO_SELF_SIGNED_CERT"), "ERR_TLS_CERT_INVALID", None),
        ];
        for (code, want, phase) in cases {
            let err = to_client_error(FetchFailure { code: code.map(str::to_owned), message: "network error".into() });
            assert_eq!(err.code(), want, "{code:?}");
            match (err.clone(), phase) {
                (ClientError::Transport { phase: got, .. }, Some(p)) => assert_eq!(got, p, "{code:?}"),
                (ClientError::Tls { .. }, None) => {}
                other => panic!("{code:?}: {other:?}"),
            }
            assert!(err.to_string().starts_with("fetch failed: "), "{err}");
            assert!(err.to_string().contains("network error"), "{err}");
        }
    }

    #[test]
    fn a_timeout_aborts_the_js_fetch() {
        let js = Arc::new(FakeJs::default()); // never answers
        let t = transport(&js, None);
        let err = runtime().block_on(t.send(post("/mint", None, 20))).unwrap_err();
        assert_eq!(err, ClientError::Timeout { after_ms: 20, phase: Phase::Exchange });
        let id = js.started.lock().unwrap()[0].id;
        assert_eq!(*js.aborted.lock().unwrap(), [id]);
        assert!(!settle(id, Ok(ok("late"))), "a late answer finds nobody waiting");
    }

    #[test]
    fn dropping_the_request_aborts_the_js_fetch() {
        let js = Arc::new(FakeJs::default());
        let t = transport(&js, None);
        runtime().block_on(async {
            let sent = tokio::time::timeout(Duration::from_millis(10), t.send(post("/mint", None, 60_000))).await;
            assert!(sent.is_err(), "the caller gave up first");
        });
        let id = js.started.lock().unwrap()[0].id;
        assert_eq!(*js.aborted.lock().unwrap(), [id]);
        assert!(!lock_waiting().contains_key(&id));
    }

    #[test]
    fn bodies_over_the_cap_are_refused() {
        let js = Arc::new(FakeJs::default());
        *js.answer.lock().unwrap() = Some(Box::new(|_| Ok(ok(&"x".repeat(65)))));
        let t = transport(&js, None);
        let err = runtime().block_on(t.send(post("/mint", None, 2000))).unwrap_err();
        assert_eq!(err, ClientError::BodyTooLarge { limit: 64 });
        *js.answer.lock().unwrap() =
            Some(Box::new(|_| Err(FetchFailure { code: Some(BODY_TOO_LARGE_CODE.into()), message: String::new() })));
        let err = runtime().block_on(t.send(post("/mint", None, 2000))).unwrap_err();
        assert_eq!(err, ClientError::BodyTooLarge { limit: 64 });
    }

    #[test]
    fn without_js_requests_fail_as_closed() {
        let js = Arc::new(FakeJs { refuse: true, ..FakeJs::default() });
        let t = transport(&js, None);
        assert_eq!(runtime().block_on(t.send(post("/mint", None, 2000))).unwrap_err(), ClientError::Closed);
        t.detach();
        assert!(!t.is_attached());
        assert_eq!(runtime().block_on(t.send(post("/mint", None, 2000))).unwrap_err(), ClientError::Closed);
    }
}
