//! How a `NativeClient` call runs: submitted on the JS thread under its ticket, run on the I/O
//! thread inside its telemetry scope, its outcome queued for JS (`bridge::completions`); and what
//! an abort or `close()` reports of the calls it stopped.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::NativeClient;
use crate::bindings::bridge::completions::{Completion, Outcome};
use crate::bindings::errors::{to_error_info, to_napi_error};
use crate::error::ClientError;
use crate::exchange::Operation;
use crate::observe::telemetry::CallScope;
use crate::rt::cancel::Cancelled;
use crate::rt::runtime;

/// A call's work, boxed where it is made: its future is kilobytes (the whole resilience and HTTP
/// state machine), and every wrapper around it would otherwise move all of it.
pub(super) type CallFuture = Pin<Box<dyn Future<Output = std::result::Result<Outcome, ClientError>> + Send>>;

impl NativeClient {
    /// [`NativeClient::submit`] inside the call's telemetry scope: its extra `headers`
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
        let call: CallFuture = Box::pin(crate::observe::telemetry::scoped(scope, call));
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
        runtime::spawn(async move {
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
        });
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
