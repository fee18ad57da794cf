'use strict'

// Stopping the wait for a call when its own `signal` aborts, for both builds: the native
// bridge (lib/bridge.js), calls with v1 semantics (lib/v1.js) and the portable client's
// calls (lib/portable/calls.js, validate()). Pure JS: no addon, no `node:` import.
//
// A signal is often shared by many calls (a request-scoped signal, `AbortSignal.timeout()`
// for a batch of work). Each call waiting on it with its own 'abort' listener would pass
// Node's limit of 10 listeners and print a MaxListenersExceededWarning, and raising the
// caller's limit would hide their own leaks: so every call's reaction to a signal goes into
// one set per signal, behind ONE listener, removed with the last reaction.

const { abortError } = require('./errors.js')

/** Signal -> `{ listener, reactions }`: the reactions of the calls waiting on it, in order. */
const watched = new WeakMap()

/** Does nothing: the stop function when there is nothing to stop. */
function nothing() {}

/**
 * Runs `react()` when `signal` aborts; returns the function that stops waiting (call it when
 * the call settles; it may be called more than once). The signal holds one 'abort' listener
 * however many calls wait on it, and none once the last of them stopped waiting. An aborted
 * signal never fires again: nothing waits on it then.
 * The reactions run in the order they were added; one stopped during the abort (by an
 * earlier one) does not run, as with listeners; one that throws does not stop the others (its
 * error is rethrown on its own, as an EventTarget does with a listener's).
 */
function whenAborted(signal, react) {
  if (signal.aborted) return nothing
  let entry = watched.get(signal)
  if (entry === undefined) {
    const reactions = new Set()
    const listener = () => {
      if (watched.get(signal) === entry) watched.delete(signal)
      // A Set's iteration skips what is deleted on the way.
      for (const reaction of reactions) {
        try {
          reaction()
        } catch (err) {
          queueMicrotask(() => {
            throw err
          })
        }
      }
      // The signal will not abort again: let the calls go.
      reactions.clear()
    }
    entry = { listener, reactions }
    watched.set(signal, entry)
    signal.addEventListener('abort', listener, { once: true })
  }
  const own = entry
  // A function of its own per call, so the same `react` twice is two reactions.
  const reaction = () => react()
  own.reactions.add(reaction)
  return () => {
    if (!own.reactions.delete(reaction) || own.reactions.size > 0) return
    if (watched.get(signal) === own) watched.delete(signal)
    signal.removeEventListener('abort', own.listener)
  }
}

/** How many reactions wait on `signal` (lib/abort.js's own bookkeeping; for tests). */
function waitingOn(signal) {
  const entry = watched.get(signal)
  return entry === undefined ? 0 : entry.reactions.size
}

/**
 * Settles like `promise`, or rejects at once with an AbortError when `signal` aborts (then
 * `onAbort()` runs first: it may return what the error carries besides, `{ mayHaveMinted,
 * idempotencyKey }`, `undefined` for nothing, or `null` when the call has settled meanwhile
 * and its outcome stands).
 * Built on `finally` and `Promise.race`, whose reactions V8's async stack traces follow, so
 * both rejections keep the caller's frames.
 */
function raceAbort(promise, signal, onAbort = () => undefined) {
  let abort
  const aborted = new Promise((resolve) => {
    abort = resolve
  }).then((stopped) => {
    throw abortError(signal, stopped)
  })
  const stopWaiting = whenAborted(signal, () => {
    const stopped = onAbort()
    if (stopped !== null) abort(stopped)
  })
  // One reaction per promise on the way (V8 follows a chain only where there is one).
  const settled = promise.finally(stopWaiting)
  return Promise.race([settled, aborted])
}

module.exports = { raceAbort, whenAborted, waitingOn }
