//! Completion delivery for the hot calls (mint, mintBatch, validate): JS submits a call with a
//! ticket and gets no native promise; the I/O thread queues each outcome, and one threadsafe
//! function per client wakes the JS thread only when the queue goes from empty to non-empty,
//! so one wake-up delivers every outcome that is ready. The function is weak (it never keeps
//! the process alive) except while calls are pending: the JS side turns that on and off, and
//! detaches it once the client has been idle for a turn of the event loop, so an idle client
//! holds no native handle at all.

use std::sync::Mutex;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::bindings::client::ValidationResult;
use crate::bindings::errors::ErrorInfo;

/// What one call produced.
pub enum Outcome {
    Id(String),
    Ids(Vec<String>),
    Validation(ValidationResult),
    Error(ErrorInfo),
}

pub struct Completion {
    pub ticket: u32,
    pub outcome: Outcome,
}

/// Appends `completions` to a JS array as `ticket, value` pairs after `out[0]`: a string (one
/// id), an array (ids), a ValidationResult, or an ErrorInfo (the only value with a `code`).
/// Flat pairs cost one element store each, where an object per completion costs several.
pub fn to_js_pairs(env: &Env, head: u32, completions: Vec<Completion>) -> Result<Array<'_>> {
    let mut out = env.create_array(1 + 2 * completions.len() as u32)?;
    out.set(0, head)?;
    for (i, c) in completions.into_iter().enumerate() {
        let at = 1 + 2 * i as u32;
        out.set(at, c.ticket)?;
        match c.outcome {
            Outcome::Id(id) => out.set(at + 1, id)?,
            Outcome::Ids(ids) => out.set(at + 1, ids)?,
            Outcome::Validation(v) => out.set(at + 1, v)?,
            Outcome::Error(e) => out.set(at + 1, e)?,
        }
    }
    Ok(out)
}

type WakeFn = ThreadsafeFunction<(), (), (), Status, false, true, 0>;

pub struct Completer {
    queue: Mutex<Vec<Completion>>,
    wake: Mutex<Option<WakeFn>>,
}

impl Default for Completer {
    fn default() -> Self {
        Self { queue: Mutex::new(Vec::with_capacity(64)), wake: Mutex::new(None) }
    }
}

impl Completer {
    /// Wires the wake-up function (JS thread); a no-op when one is attached already.
    pub fn attach(&self, on_ready: &Function<(), ()>) -> Result<()> {
        let mut wake = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        if wake.is_none() {
            *wake = Some(on_ready.build_threadsafe_function::<()>().callee_handled::<false>().weak::<true>().build()?);
        }
        Ok(())
    }

    /// Releases the wake-up function; outcomes that still arrive wait in the queue.
    pub fn detach(&self) {
        self.wake.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    pub fn is_attached(&self) -> bool {
        self.wake.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Queues an outcome (I/O thread); wakes JS if it may be waiting for an empty queue.
    pub fn push(&self, completion: Completion) {
        let was_empty = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.push(completion);
            queue.len() == 1
        };
        if was_empty {
            if let Some(wake) = self.wake.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }

    /// Everything ready so far (JS thread).
    pub fn take(&self) -> Vec<Completion> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// While calls are pending the wake-up function must keep the event loop alive.
    #[allow(deprecated)] // `refer`/`unref` are the napi calls for exactly this toggle
    pub fn keep_alive(&self, env: &Env, pending: bool) -> Result<()> {
        let mut guard = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(wake) if pending => wake.refer(env),
            Some(wake) => wake.unref(env),
            None => Ok(()),
        }
    }
}
