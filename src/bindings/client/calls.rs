//! How a `NativeClient` call runs: submitted on the JS thread under its ticket, run on the I/O
//! thread inside its telemetry scope, its outcome queued for JS (`bridge::completions`); and what
//! an abort or `close()` reports of the calls it stopped. The hot submissions (`submitMint`,
//! `submitValidate`) are free functions given the client's handle (`bindings::handles`).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::checked_key;
use crate::bindings::bridge::completions::{Completer, Completion, Outcome};
use crate::bindings::errors::{to_error_info, to_napi_error};
use crate::bindings::handles::Handles;
use crate::client::Client;
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::observe::telemetry::CallScope;
use crate::observe::telemetry::Telemetry;
use crate::rt::cancel::Cancellations;
use crate::rt::cancel::Cancelled;
use crate::rt::runtime;

/// A call's work, boxed where it is made: its future is kilobytes (the whole resilience and HTTP
/// state machine), and every wrapper around it would otherwise move all of it.
pub(super) type CallFuture = Pin<Box<dyn Future<Output = std::result::Result<Outcome, ClientError>> + Send>>;

/// What submitting a call of one `NativeClient` needs.
pub(super) struct Calls {
    pub(super) core: Arc<Client>,
    pub(super) cancellations: Arc<Cancellations>,
    pub(super) completer: Arc<Completer>,
    pub(super) telemetry: Arc<Telemetry>,
    /// The ticket JS asked to make in a single attempt (`singleAttempt`), until its submission
    /// takes it; 0 = none (tickets start at 1).
    pub(super) single_attempt: AtomicU32,
}

thread_local! {
    /// The clients of this JS thread, by `callsHandle`.
    static CLIENTS: RefCell<Handles<Arc<Calls>>> = const { RefCell::new(Handles::new()) };
}

pub(super) fn register(calls: Arc<Calls>) -> u32 {
    CLIENTS.with_borrow_mut(|clients| clients.insert(calls))
}

/// Frees `handle`; as for caches (`bindings::cache::unregister`), the registry may be gone.
pub(super) fn unregister(handle: u32) {
    let _ = CLIENTS.try_with(|clients| clients.borrow_mut().remove(handle));
}

fn with_client(handle: u32, f: impl FnOnce(&Calls) -> Result<()>) -> Result<()> {
    CLIENTS.with_borrow(|clients| match clients.get(handle) {
        Some(calls) => f(calls),
        None => Err(napi::Error::new(Status::InvalidArg, "no client has this handle on this thread")),
    })
}

/// `POST /mint` for the client `handle`, with the request serialized as JSON by the caller,
/// under the caller's idempotency key if it gave one.
#[napi(catch_unwind)]
pub fn submit_mint(
    handle: u32,
    ticket: u32,
    body: String,
    cancellable: bool,
    idempotency_key: Option<String>,
    headers: Option<Vec<String>>,
) -> Result<()> {
    checked_key(idempotency_key.as_deref())?;
    with_client(handle, |calls| {
        let core = Arc::clone(&calls.core);
        calls.submit_call(
            ticket,
            cancellable,
            Operation::Mint,
            headers,
            Box::pin(async move { core.mint(body.into_bytes().into(), idempotency_key).await.map(Outcome::Id) }),
        )
    })
}

/// `validate()` for the client `handle` after a cache miss already counted by `cachedVerdict`
/// (`bindings::cache`).
#[napi(catch_unwind)]
pub fn submit_validate(
    handle: u32,
    ticket: u32,
    id: String,
    cancellable: bool,
    headers: Option<Vec<String>>,
) -> Result<()> {
    with_client(handle, |calls| {
        let core = Arc::clone(&calls.core);
        calls.submit_call(
            ticket,
            cancellable,
            Operation::Validate,
            headers,
            Box::pin(async move { Ok(Outcome::Validation(core.validate_uncached(&id).await.into())) }),
        )
    })
}

impl Calls {
    /// [`Calls::submit`] inside the call's telemetry scope: its extra `headers`
    /// (`[name, value, ...]`) and, when telemetry is on, the records of its attempts.
    pub(super) fn submit_call(
        &self,
        ticket: u32,
        cancellable: bool,
        op: Operation,
        headers: Option<Vec<String>>,
        call: CallFuture,
    ) -> Result<()> {
        let headers = match headers.filter(|h| !h.is_empty()) {
            Some(flat) => Some(crate::observe::telemetry::parse_headers(flat).map_err(|e| to_napi_error(&e))?),
            None => None,
        };
        let scope = CallScope::new(ticket, op, &self.telemetry, headers);
        let mints = matches!(op, Operation::Mint | Operation::MintBatch);
        // Without a scope (telemetry off, no extra headers: the common case) the call runs as
        // it is, without a second box and a wrapper to poll (bench/RESULTS.md "Per-mint trims
        // round").
        let call: CallFuture = match scope {
            Some(scope) => Box::pin(crate::observe::telemetry::scoped(Some(scope), call)),
            None => call,
        };
        // A fetch-transport call names itself to JS in every attempt (`transport::fetch::CallOrigin`).
        let call: CallFuture = if self.core.fetch_transport().is_some() {
            let single_attempt = self.single_attempt.swap(0, Ordering::Relaxed) == ticket;
            Box::pin(crate::transport::fetch::within_call(
                crate::transport::fetch::CallOrigin { ticket, single_attempt },
                call,
            ))
        } else {
            call
        };
        self.submit(ticket, cancellable, mints, call)
    }

    /// Runs `call` on the I/O thread and queues its outcome (or its error) under `ticket`. The
    /// task owns what it uses: a worker thread may be torn down mid-call. A call that can be
    /// aborted, and every mint (so `close()` can tell whether it may have minted), is
    /// registered here, on the JS thread, before the I/O thread runs it.
    pub(super) fn submit(&self, ticket: u32, cancellable: bool, mints: bool, call: CallFuture) -> Result<()> {
        if !self.completer.is_attached() {
            return Err(napi::Error::new(Status::GenericFailure, "attachCompletions must be called before submitting"));
        }
        let completer = Arc::clone(&self.completer);
        let cancellations = Arc::clone(&self.cancellations);
        let registered = (cancellable || mints).then(|| cancellations.register(ticket, mints));
        // Tracked until its outcome is queued, so `close()` settles only after (`submit_closed`).
        runtime::spawn(self.core.tasks().track_future(async move {
            let outcome =
                match cancellations.run(registered.as_ref(), call).await.unwrap_or_else(|cancelled| match cancelled {
                    Cancelled::Aborted => Err(ClientError::Aborted),
                    Cancelled::Closed => Err(ClientError::Closed),
                }) {
                    Ok(outcome) => outcome,
                    Err(e) => Outcome::Error(to_error_info(&e)),
                };
            completer.push(Completion { ticket, outcome });
            // Only now: an abort until here still finds the call, and after it the outcome.
            if let Some(state) = &registered {
                cancellations.finish(ticket, state);
            }
        }));
        Ok(())
    }
}

/// A call stopped by an abort or `close()`, as `cancel()` and `close()` report it.
#[napi(object)]
pub struct StoppedCall {
    pub ticket: u32,
    /// A mint whose request may have reached the service (an attempt was in flight, or one
    /// ended in a way that leaves the outcome unknown): it may have minted an id nobody got.
    pub may_have_minted: bool,
    /// The mint's idempotency key, when `may_have_minted`.
    pub idempotency_key: Option<String>,
}

pub(super) fn to_stopped_call(ticket: u32, s: crate::rt::cancel::Stopped) -> StoppedCall {
    StoppedCall { ticket, may_have_minted: s.may_have_minted, idempotency_key: s.key }
}
