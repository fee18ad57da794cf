//! The JS half of the `fetch` transport's seam: a weak threadsafe function that asks
//! `lib/fetch-transport.js` to start or abort a fetch, and `fetchSettle`/`fetchFail`, through
//! which that module hands each answer back by id (see `transport::fetch`).

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::transport::fetch::{self, FetchCall, FetchDispatch, FetchFailure};
use crate::transport::Response;

/// What `lib/fetch-transport.js` receives: a fetch to start, or (`abort`) one to abort.
#[napi(object)]
pub struct FetchOrder {
    pub id: f64,
    pub abort: bool,
    /// The ticket of the client's call this fetch is an attempt of (JS makes every attempt of
    /// a call with the `fetch` it captured for it); absent outside a call.
    pub call: Option<u32>,
    pub method: Option<String>,
    pub url: Option<String>,
    /// JSON text, sent as is.
    pub body: Option<String>,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    /// The call's own headers as `[name, value, ...]`.
    pub headers: Option<Vec<String>>,
    pub max_response_bytes: Option<f64>,
    /// Redirects to plain http off loopback are followed (the `allowInsecure` option).
    pub allow_insecure: Option<bool>,
}

impl From<FetchCall> for FetchOrder {
    fn from(call: FetchCall) -> Self {
        FetchOrder {
            id: call.id as f64,
            abort: false,
            call: call.call,
            method: Some(call.method.as_str().to_owned()),
            url: Some(call.url),
            body: call.body.map(|b| String::from_utf8_lossy(&b).into_owned()),
            authorization: call.authorization,
            idempotency_key: call.idempotency_key,
            headers: call.extra_headers.map(|h| h.iter().flat_map(|(n, v)| [n.clone(), v.clone()]).collect()),
            max_response_bytes: Some(call.max_response_bytes as f64),
            allow_insecure: Some(call.allow_insecure),
        }
    }
}

// Weak: a pending fetch is kept alive by the client's own keep-alive (calls pending) or by the
// fetch itself, never by this function.
type OrderFn = ThreadsafeFunction<FetchOrder, (), FetchOrder, Status, false, true, 0>;

struct JsFetch(OrderFn);

impl FetchDispatch for JsFetch {
    fn start(&self, call: FetchCall) -> bool {
        self.0.call(call.into(), ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok
    }

    fn abort(&self, id: u64) {
        let order = FetchOrder {
            id: id as f64,
            abort: true,
            call: None,
            method: None,
            url: None,
            body: None,
            authorization: None,
            idempotency_key: None,
            headers: None,
            max_response_bytes: None,
            allow_insecure: None,
        };
        self.0.call(order, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// Wires `transport` to `perform` (JS thread); a no-op when wired already.
pub fn attach(transport: &fetch::FetchTransport, perform: &Function<FetchOrder, ()>) -> Result<()> {
    if transport.is_attached() {
        return Ok(());
    }
    let tsfn: OrderFn =
        perform.build_threadsafe_function::<FetchOrder>().callee_handled::<false>().weak::<true>().build()?;
    transport.attach(Arc::new(JsFetch(tsfn)));
    Ok(())
}

/// The answer of the fetch started under `id`; false when it is no longer awaited.
#[napi(catch_unwind)]
pub fn fetch_settle(id: f64, status: u32, status_text: String, retry_after: Option<String>, body: Buffer) -> bool {
    let response = Response {
        status: status.min(u32::from(u16::MAX)) as u16,
        status_text,
        retry_after,
        body: body.to_vec().into(),
    };
    fetch::settle(id as u64, Ok(response))
}

/// The fetch started under `id` rejected: `code` is its cause's Node-style code, if any.
#[napi(catch_unwind)]
pub fn fetch_fail(id: f64, code: Option<String>, message: String) -> bool {
    fetch::settle(id as u64, Err(FetchFailure { code, message }))
}
