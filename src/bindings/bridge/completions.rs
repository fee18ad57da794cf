//! The native half of the bridge (protocol: `bridge/mod.rs`): the queue of outcomes, the
//! wake-up owed to JS and when it is sent, and the flat array JS drains.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;

use crate::bindings::bridge::loop_wake::{LoopWake, Payload};
use crate::bindings::errors::ErrorInfo;
use crate::client::Validation;
use crate::observe::telemetry::Wake;
use crate::rt::runtime::{self, IdleTask};
use napi_derive::napi;

/// A `validate()` answer as JS receives it.
#[napi(object)]
pub struct ValidationResult {
    pub valid: bool,
    pub chitty_id: Option<String>,
    pub entity: Option<String>,
    pub error: Option<String>,
    /// A code beside `error` to branch on: `EAUTH` (credentials refused: no verdict on the
    /// id), `EPLACEHOLDER` (the id is a placeholder).
    pub error_code: Option<String>,
    /// The id the deployed service minted to replace this placeholder while validating it.
    pub replaced_by: Option<String>,
    /// A cached answer past its TTL, served because the service could not be reached.
    pub stale: Option<bool>,
}

impl From<Validation> for ValidationResult {
    fn from(v: Validation) -> Self {
        Self {
            valid: v.valid,
            chitty_id: v.chitty_id,
            entity: v.entity,
            error: v.error,
            error_code: v.error_code.map(str::to_owned),
            replaced_by: v.replaced_by,
            stale: v.stale.then_some(true),
        }
    }
}

/// What one call produced.
pub enum Outcome {
    Id(String),
    Ids(Vec<String>),
    Validation(ValidationResult),
    /// A health check's or `connect()`'s answer.
    Bool(bool),
    Error(ErrorInfo),
}

pub struct Completion {
    pub ticket: u32,
    pub outcome: Outcome,
}

/// Appends `completions` to a JS array as `ticket, value` pairs after `out[0]`: a string (one
/// id), an array (ids), a ValidationResult, a boolean, or an ErrorInfo (the only value with a
/// `code`).
/// Flat pairs cost one element store each, where an object per completion costs several.
pub fn to_js_pairs(env: &Env, head: u32, completions: Vec<Completion>) -> Result<Array<'_>> {
    let mut out = env.create_array(1 + 2 * completions.len() as u32)?;
    out.set(0, head)?;
    for (i, c) in completions.into_iter().enumerate() {
        let at = 1 + 2 * i as u32;
        out.set(at, c.ticket)?;
        match c.outcome {
            // An id is ASCII (unless the grammar check is off): V8 takes it as one byte per
            // character without decoding UTF-8, the same string for ~150 instructions less.
            Outcome::Id(id) if id.is_ascii() => out.set(at + 1, Latin1String::from(id))?,
            Outcome::Id(id) => out.set(at + 1, id)?,
            Outcome::Ids(ids) => out.set(at + 1, ids)?,
            Outcome::Validation(v) => out.set(at + 1, v)?,
            Outcome::Bool(b) => out.set(at + 1, b)?,
            Outcome::Error(e) => out.set(at + 1, e)?,
        }
    }
    Ok(out)
}

/// A backlog this long wakes JS without waiting for the I/O thread to go idle, so a flood of
/// answers is delivered in slices rather than all at the end.
const WAKE_AT_BACKLOG: usize = 256;

pub struct Completer {
    queue: Mutex<Vec<Completion>>,
    wake: LoopWake,
    /// A wake-up is owed to JS and will be sent when the I/O thread goes idle.
    wake_owed: AtomicBool,
}

impl Default for Completer {
    fn default() -> Self {
        Self { queue: Mutex::new(Vec::with_capacity(64)), wake: LoopWake::default(), wake_owed: AtomicBool::new(false) }
    }
}

/// Wakes JS for telemetry records (`crate::observe::telemetry`), which are drained with the outcomes.
pub struct CompleterWake(pub Arc<Completer>);

impl Wake for CompleterWake {
    fn wake(&self) {
        self.0.nudge();
    }
}

impl IdleTask for Completer {
    fn run_idle(&self) {
        self.wake_if_owed();
    }
}

impl Completer {
    /// Wires the wake-up function (JS thread), called with what `payload` makes (the
    /// outcomes, so the drain needs no crossing to take them); a no-op when one is attached
    /// already.
    pub fn attach(&self, env: &Env, on_ready: &Function<(), ()>, payload: Payload) -> Result<()> {
        self.wake.attach(env, on_ready, Some(payload))
    }

    /// Releases the wake-up function (JS thread); outcomes that still arrive wait in the queue.
    pub fn detach(&self) {
        self.wake.detach();
    }

    pub fn is_attached(&self) -> bool {
        self.wake.is_attached()
    }

    /// Queues an outcome; JS is woken if it may be waiting for an empty queue: once the I/O
    /// thread is idle, or at once from any other thread or when the backlog grows long.
    pub fn push(self: &Arc<Self>, completion: Completion) {
        let backlog = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.push(completion);
            queue.len()
        };
        runtime::note_progress();
        if backlog == 1 && !self.wake_owed.swap(true, Ordering::AcqRel) {
            let deferred: Arc<dyn IdleTask> = self.clone();
            if !runtime::when_idle(deferred) {
                self.wake_if_owed();
            }
        } else if backlog >= WAKE_AT_BACKLOG {
            self.wake_if_owed();
        }
    }

    /// Wakes JS for something other than an outcome (telemetry records), the same way the
    /// first outcome of a batch does.
    pub fn nudge(self: &Arc<Self>) {
        runtime::note_progress();
        if !self.wake_owed.swap(true, Ordering::AcqRel) {
            let deferred: Arc<dyn IdleTask> = self.clone();
            if !runtime::when_idle(deferred) {
                self.wake_if_owed();
            }
        }
    }

    fn wake_if_owed(&self) {
        if self.wake_owed.swap(false, Ordering::AcqRel) {
            self.wake.send();
        }
    }

    /// Outcomes queued and not yet taken.
    pub fn queued(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Everything ready so far (JS thread). The queue starts again with room for as many as
    /// this batch held (at most `WAKE_AT_BACKLOG`), so a busy client's pushes do not regrow it
    /// from nothing after every drain, and a burst leaves no large queue behind.
    pub fn take(&self) -> Vec<Completion> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let room = queue.len().min(WAKE_AT_BACKLOG);
        std::mem::replace(&mut *queue, Vec::with_capacity(room))
    }

    /// Whether the wake-up function keeps the event loop alive (JS thread): it does from the
    /// first call of a busy period until it is detached.
    pub fn keep_alive(&self, env: &Env, pending: bool) {
        self.wake.keep_alive(env, pending);
    }
}
