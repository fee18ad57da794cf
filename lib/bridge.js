'use strict'

// The JS half of the bridge: tickets, the calls waiting on them, the drain that settles them,
// keep-alive while calls are pending and releasing the native handle once idle. The protocol
// both halves follow is stated once, in src/bindings/bridge/mod.rs.

const { abortError, fromInfo, mintFailure, BATCH_FAILURE } = require('./errors.js')
const { whenAborted } = require('./abort.js')
const { settleWithin, warnCloseTimedOut } = require('./closing.js')
// Node's own, not the global one: jest's fake timers replace the global setImmediate, and a
// detach that waited for the test to advance them kept the handle referenced (jest never exited).
const { setImmediate } = require('node:timers')

/** What a call is, for the wording of its failure. */
const MINT = 0
const MINT_BATCH = 1
const OTHER = 2

/** A submitted call waiting for its completion value. */
class PendingCall {
  /** `entity`: what a mint asked for, for v1's wording of its failure. */
  constructor(kind, entity, resolve, reject) {
    this.kind = kind
    this.entity = entity
    this.resolve = resolve
    this.reject = reject
    this.aborted = undefined
    /** The rejection close() gave it, for telemetry's open attempts. */
    this.closedWith = undefined
    /** The promise its caller holds. */
    this.promise = undefined
  }

  /**
   * An id (mint), ids (batch), a ValidationResult (validate), a boolean (health check,
   * connect), or an ErrorInfo (the only value with a `code`).
   */
  settle(value) {
    if (this.aborted !== undefined) this.resolve(rejection(this.aborted))
    else if (typeof value === 'string' || typeof value === 'boolean' || Array.isArray(value)) this.resolve(value)
    else if (value.code !== undefined) this.resolve(rejection(() => fromInfo(value, this.failurePrefix())))
    else this.resolve(compact(value))
  }

  /** The call was aborted: when its outcome comes, it rejects with `makeError()` instead. */
  abortWith(makeError) {
    this.aborted = makeError
  }

  /** What an abort or close() found natively, as the rejection carries it (mints only). */
  stopped(found) {
    if (this.kind === OTHER) return undefined
    return found && found.mayHaveMinted
      ? { mayHaveMinted: true, idempotencyKey: found.idempotencyKey }
      : { mayHaveMinted: false }
  }

  failurePrefix() {
    if (this.kind === MINT) return mintFailure(this.entity)
    return this.kind === MINT_BATCH ? BATCH_FAILURE : ''
  }
}

/** Drops absent fields so results compare like v1's plain JSON objects. */
function compact(result) {
  const out = { valid: result.valid }
  if (result.chittyId != null) out.chittyId = result.chittyId
  if (result.entity != null) out.entity = result.entity
  if (result.error != null) out.error = result.error
  if (result.errorCode != null) out.errorCode = result.errorCode
  if (result.replacedBy != null) out.replacedBy = result.replacedBy
  if (result.stale === true) out.stale = true
  return out
}

/**
 * A promise that rejects with `makeError()`, the error being made inside a promise reaction
 * chained to whatever awaits the result. V8's async stack traces then follow that chain, so the
 * stack ends with the caller's frames (`at async registerPerson ...`) instead of only the
 * drain's (an outcome arrives from a libuv callback, outside any async function). Resolving a
 * call's promise with this one links the two first (a microtask); the gate opens after that.
 * Costs two promises and three microtasks, on failures only.
 */
function rejection(makeError) {
  let open
  const gate = new Promise((resolve) => {
    open = resolve
  })
  const failed = gate.then(() => {
    throw makeError()
  })
  settledPromise.then(open)
  return failed
}

const settledPromise = Promise.resolve()

// Bridges with calls in flight, held strongly (and through them their owners) so that a client
// its user dropped still settles them and its listeners still hear their events: the native
// side holds the drain callback and the event callback only weakly.
const busy = new Set()

/**
 * The bridge of one `NativeClient`, for `owner` (the client; held while calls are pending).
 * `hooks` (all called on this thread):
 * - `drained()`: after each take of the outcomes, before any call settles (telemetry records
 *   of those calls are published first);
 * - `done(ticket, error)`: a call left the bridge (settled, failed to submit, or rejected by
 *   close(): `error` is then its rejection);
 * - `idle()`: the bridge has been idle for a loop turn and released its native handle.
 */
class Bridge {
  #native
  /** Never read: held so that `busy` keeps the client alive while its calls are pending. */
  #owner // eslint-disable-line no-unused-private-class-members
  #hooks
  #drainCallback
  /** The native handle is attached, and referenced: it keeps the event loop alive. */
  #attached = false
  #detachTimer = null
  #pending = new Map() // ticket -> PendingCall
  #lastTicket = 0
  // The circuit was CLOSED at the last drain: callers may skip the fail-fast pre-check (the
  // native path still admits every call, so a circuit that opened since is refused there).
  #breakerClosed = true

  constructor(nativeClient, owner, hooks) {
    this.#native = nativeClient
    this.#owner = owner
    this.#hooks = hooks
    const self = new WeakRef(this)
    this.#drainCallback = (ready) => self.deref()?.#drain(ready)
  }

  get breakerClosed() {
    return this.#breakerClosed
  }

  /** Calls submitted and not yet settled. */
  get pending() {
    return this.#pending.size
  }

  #nextTicket() {
    this.#lastTicket = this.#lastTicket >= 0xfffffffe ? 1 : this.#lastTicket + 1
    return this.#lastTicket
  }

  /**
   * Registers a call under a fresh ticket and runs `start(ticket)`, which submits it natively.
   * Returns the one promise its completion settles. Aborting `signal` cancels the native call,
   * which completes at once with an AbortError: only once the I/O thread has dropped the call
   * (its bulkhead slot, its place in a paced line), so a call made right after the rejection
   * finds them free.
   */
  submit(kind, entity, signal, start) {
    if (this.#detachTimer !== null) {
      clearImmediate(this.#detachTimer)
      this.#detachTimer = null
    }
    // Attached and referenced in one crossing; still so when the previous busy period ended
    // less than a loop turn ago (a call chained on the one that just settled): no crossing.
    if (!this.#attached) {
      this.#native.attachCompletions(this.#drainCallback, true)
      this.#attached = true
    }
    const ticket = this.#nextTicket()
    if (this.#pending.size === 0) busy.add(this)
    let call
    const settled = new Promise((resolve, reject) => {
      call = new PendingCall(kind, entity, resolve, reject)
    })
    this.#pending.set(ticket, call)
    try {
      start(ticket)
    } catch (err) {
      this.#pending.delete(ticket)
      this.#hooks.done(ticket)
      this.#idleIfDone()
      throw err
    }
    if (signal === undefined) return (call.promise = settled)
    const stopWaiting = whenAborted(signal, () => {
      // Closed already: it rejects as close() said.
      if (call.closedWith !== undefined) return
      const stopped = this.#abort(ticket, call)
      if (stopped !== null) call.abortWith(() => abortError(signal, stopped))
    })
    // One reaction on the way (V8's async stack traces follow a chain only where there is one).
    return (call.promise = settled.finally(stopWaiting))
  }

  /**
   * Stops the native call; returns what its AbortError carries besides (a mint: whether it may
   * have minted), or `null` when the call had already finished natively: its outcome (queued,
   * taken here) settles it instead.
   */
  #abort(ticket, call) {
    const found = this.#native.cancel(ticket)
    if (found === null && this.#pending.get(ticket) === call) {
      this.#drain()
      if (!this.#pending.has(ticket)) return null
    }
    return call.stopped(found)
  }

  /**
   * After the native `close()`: every pending call rejects with `makeError(stopped)` (`stopped`:
   * what `close()` found natively, the mints that may have minted, by ticket) once its native
   * completion arrives, as an aborted call does. Resolves once they all have rejected and every
   * other task of the client has ended natively (`submitClosed(ticket)`'s completion comes after
   * theirs), so stats are final; at the latest after CLOSE_WAIT_MS (lib/closing.js), rejecting
   * the calls still pending then.
   */
  async closeAll(makeError, stopped, submitClosed) {
    const found = new Map(stopped.map((s) => [s.ticket, s]))
    const callers = []
    for (const [ticket, call] of this.#pending) {
      if (call.aborted === undefined) {
        const error = makeError(call.stopped(found.get(ticket)))
        call.closedWith = error
        call.abortWith(() => error)
      }
      callers.push(call.promise)
    }
    const ended = this.submit(OTHER, undefined, undefined, submitClosed)
    const endedTicket = this.#lastTicket
    if (!(await settleWithin([ended, ...callers]))) {
      warnCloseTimedOut(this.#pending.size - (this.#pending.has(endedTicket) ? 1 : 0))
      this.rejectAll(makeError, stopped)
    }
    await Promise.allSettled(callers)
  }

  /**
   * Rejects every pending call at once with `makeError(stopped)` (the client closed and stopped
   * waiting); `stopped` lists what `close()` found natively.
   */
  rejectAll(makeError, stopped = []) {
    const found = new Map(stopped.map((s) => [s.ticket, s]))
    const calls = [...this.#pending]
    this.#pending.clear()
    for (const [ticket, call] of calls) {
      const error = call.aborted !== undefined ? call.aborted() : makeError(call.stopped(found.get(ticket)))
      // Before the rejection: telemetry ends the call's open attempts with this error.
      this.#hooks.done(ticket, error)
      call.reject(error)
    }
    this.#idleIfDone()
  }

  /**
   * Settles every call whose outcome is ready: `[breakerState, ticket, value, ...]`, as the
   * wake-up hands them over (taken natively before the callback) or else taken here.
   */
  #drain(ready = this.#native.takeCompletions()) {
    this.#hooks.drained()
    this.#breakerClosed = ready[0] === 0
    for (let i = 1; i < ready.length; i += 2) {
      const call = this.#pending.get(ready[i])
      if (call !== undefined) {
        this.#pending.delete(ready[i])
        this.#hooks.done(ready[i], call.closedWith)
        call.settle(ready[i + 1])
      }
    }
    this.#idleIfDone()
  }

  #idleIfDone() {
    if (this.#pending.size !== 0 || !busy.delete(this)) return
    // Still idle a loop turn later (no call chained on this one): release the native handle,
    // which lets the loop go. Until then it stays attached and referenced, so a caller that
    // awaits one call after another (the settling drain runs their next submit) costs no
    // crossing for it; the loop is kept one turn longer at most.
    this.#detachTimer = setImmediate(() => {
      this.#detachTimer = null
      if (this.#pending.size !== 0) return
      if (this.#attached) {
        this.#native.detachCompletions()
        this.#attached = false
      }
      this.#hooks.idle()
    }).unref()
  }
}

module.exports = { Bridge, MINT, MINT_BATCH, OTHER }
