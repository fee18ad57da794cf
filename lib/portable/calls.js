'use strict'

// The portable client's calls in flight: each call's AbortController (aborted by the caller's
// signal or by close()), what an aborted mint reports (whether it may have minted), and the
// ChittyIDError a failed call rejects with.

const { ChittyIDError, abortError, circuitOpenError, closedError } = require('../errors.js')
const { whenAborted } = require('../abort.js')
const { nextTurn, settleWithin, warnCloseTimedOut } = require('../closing.js')

/** The ChittyIDError of failure `f` (./transport.js `failure`); `prefix` is the operation's v1 wording. */
function errorOf(f, prefix, { closed, signal, idempotencyKey }) {
  if (f instanceof Error) return f
  if (f.kind === 'aborted') return closed ? closedError() : abortError(signal)
  if (f.kind === 'open') return circuitOpenError(f.retryInMs, prefix)
  // A failed request carries the failure as `cause`; a call refused before sending (the 429
  // pause) has none (src/bindings/errors.rs `failed_a_request`).
  let cause
  if (f.kind !== 'ratelimited') {
    cause = Object.assign(new Error(f.message), { code: f.code })
    if (f.status !== undefined) cause.status = f.status
  }
  if (f.unknown)
    return new ChittyIDError(`${prefix}${f.message}`, {
      code: 'EMINTUNKNOWN',
      status: f.status,
      cause,
      idempotencyKey,
    })
  const err = new ChittyIDError(`${prefix}${f.message}`, {
    code: f.code,
    status: f.status,
    cause,
    retryInMs: f.retryInMs,
  })
  if (f.kind === 'placeholder') {
    err.placeholderId = f.placeholderId
    err.serviceErrorCode = f.serviceErrorCode
    // Whether minting again cannot mint twice (lib/wire.js, the rule of src/wire.rs).
    err.retrySafe = f.retrySafe
  }
  return err
}

/** Workers before compatibility date 2025-05-05 (flag `enable_weak_ref`) have no WeakRef. */
const HAS_WEAK_REF = typeof WeakRef === 'function'
/** Calls held for close() before the set is swept. */
const TRACKED_CALLS = 256

class Calls {
  closed = false
  /**
   * The AbortController of every call in flight, aborted by close(); held weakly, since in
   * Workers a call whose request ended never runs its `finally` and would stay here for good.
   * Workers before compatibility date 2025-05-05 have no WeakRef: there the set holds them
   * strongly and, past TRACKED_CALLS, lets the oldest go (such a call still stops before its
   * next attempt once the client is closed, `ctl.stopped()`).
   */
  #controllers = new Set()

  /** A controller for one call: aborted by the caller's `signal` or by close(); `end()` when done. */
  begin(signal) {
    const ctl = new AbortController()
    // One listener on `signal` for all the calls that share it (lib/abort.js).
    const stopWaiting = signal ? whenAborted(signal, () => ctl.abort()) : undefined
    const ref = HAS_WEAK_REF ? new WeakRef(ctl) : { deref: () => ctl }
    if (this.#controllers.size >= TRACKED_CALLS) {
      for (const r of this.#controllers) if (r.deref() === undefined) this.#controllers.delete(r)
      if (!HAS_WEAK_REF)
        for (const r of this.#controllers) {
          if (this.#controllers.size < TRACKED_CALLS) break
          this.#controllers.delete(r)
        }
    }
    this.#controllers.add(ref)
    // Aborted, or the client closed: close() cannot abort a call of another request in Workers
    // (see close()), which so stops at its next attempt instead.
    ctl.stopped = () => ctl.signal.aborted || this.closed
    // Resolved by `end()`: what close() waits for.
    ctl.ended = new Promise((resolve) => {
      ctl.end = () => {
        this.#controllers.delete(ref)
        if (stopWaiting) stopWaiting()
        ctl.hasEnded = true
        resolve()
      }
    })
    return ctl
  }

  /** The ChittyIDError of failure `f` in a call of this client. */
  error(f, prefix, signal, idempotencyKey) {
    return errorOf(f, prefix, { closed: this.closed, signal, idempotencyKey })
  }

  /**
   * Runs one public call: `body(ctl, fetch)` with its controller and the `fetch` of the moment,
   * rejecting with its ChittyIDError.
   */
  async run(signal, prefix, idempotencyKey, body, mints = false) {
    // Nothing was sent: a mint says so.
    if (signal && signal.aborted) throw abortError(signal, mints ? { mayHaveMinted: false } : undefined)
    const ctl = this.begin(signal)
    // A mint's requests that may have reached the service and were not answered "not
    // processed", and whether one minted: what an abort or close() reports (README "Errors").
    ctl.mints = mints
    ctl.unsettled = 0
    ctl.minted = false
    try {
      return await body(ctl, globalThis.fetch)
    } catch (f) {
      if (f !== null && typeof f === 'object' && f.kind === 'aborted' && mints) {
        const stopped =
          ctl.unsettled > 0 || ctl.minted ? { mayHaveMinted: true, idempotencyKey } : { mayHaveMinted: false }
        throw this.closed ? closedError(stopped) : abortError(signal, stopped)
      }
      throw this.error(f, prefix, signal, idempotencyKey)
    } finally {
      ctl.end()
    }
  }

  /**
   * Refuses later calls (`closed`) and aborts every call in flight; resolves once those have
   * ended (their fetches aborted, their counters final) and their callers heard it, at most
   * CLOSE_WAIT_MS later (../closing.js). In Workers a call made by another request (still
   * running, or ended with its call pending) holds I/O of that request: aborting it from here
   * throws "Cannot perform I/O on behalf of a different request". Such a call finishes its
   * attempt under way (an id it mints is returned to its caller, never lost) and sends no other
   * (`ctl.stopped()`); close() neither waits for it (its promises belong to that request) nor
   * fails.
   */
  async close() {
    this.closed = true
    const ending = []
    for (const ref of [...this.#controllers]) {
      this.#controllers.delete(ref)
      const ctl = ref.deref()
      if (ctl === undefined) continue
      try {
        ctl.abort()
        ending.push(ctl)
      } catch {
        // Another request's I/O (Workers): not ours to cancel.
      }
    }
    if (ending.length === 0) return
    if (!(await settleWithin(ending.map((ctl) => ctl.ended))))
      warnCloseTimedOut(ending.filter((ctl) => !ctl.hasEnded).length)
    await nextTurn()
  }
}

module.exports = { Calls }
