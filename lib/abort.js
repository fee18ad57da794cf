'use strict'

// Stopping the wait for a call when its own `signal` aborts, for both builds: the native
// bridge (lib/bridge.js), calls with v1 semantics (lib/v1.js) and the portable client's
// shared validate() requests. Pure JS: no addon, no `node:` import.

const { abortError } = require('./errors.js')

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
  const listener = () => {
    const stopped = onAbort()
    if (stopped !== null) abort(stopped)
  }
  signal.addEventListener('abort', listener, { once: true })
  // One reaction per promise on the way (V8 follows a chain only where there is one).
  const settled = promise.finally(() => signal.removeEventListener('abort', listener))
  return Promise.race([settled, aborted])
}

module.exports = { raceAbort }
