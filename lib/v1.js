'use strict'

// v1 semantics (docs/ARCHITECTURE.md "v1 semantics"): the four calls exactly as the v1 package
// made them. A client whose fetch transport was chosen automatically (under a test runner) and that was
// given no option beyond v1's own (`V1_OPTIONS`) makes its calls here, so a v1-era test suite
// sees what it saw with v1:
// - one `fetch` per call, the global `fetch` as it is when the call is made; no retry,
//   breaker, cache, connection monitor or pacing;
// - v1's URL and init: `method` only where v1 set it (not on validate), `headers` as v1 built
//   them (no Idempotency-Key), `body` as `JSON.stringify` of what was passed (a mint without
//   `entity` goes to the service, as v1 sent it);
// - v1's results and messages: a 2xx without `chittyId` resolves `undefined`; a rejected fetch
//   keeps its own message; validate answers `{ valid, chittyId, entity }` from the body;
// - mint's timeout through `setTimeout` and an AbortController, read when the call is made,
//   so jest's fake timers drive it as they drove v1's. The timer is cleared once the fetch
//   settles either way (v1 left it running after a rejected fetch).
// Two departures keep the API key safe (docs/OPERATIONS.md "The API key in errors, logs and answers"):
// messages pass through the one redaction rule (`redaction`: src/redact.rs's through the addon
// in the Node client, lib/redact.js's own in the portable build), a `chittyId` or `entity` that
// gives the key away is dropped, and `validate(".")`/`validate("..")` are answered without a
// request (a URL drops dot segments, so the key would go to another route).
// Errors are created inside the awaiting async function, so their stacks carry the caller's
// `at async ...` frames, as v1's did.
//
// Portable: no native addon, no `node:` import, only pure modules of lib/. The Node client
// (lib/client.js) and the portable build both use it; whatever makes the client passes its
// defaults (and the Node client its redaction) in.

const { jsRedaction } = require('./redact.js')
const { abortError, rejectLater } = require('./errors.js')
const { callOptionsArg, callSignal, callIdempotencyKey } = require('./option-checks.js')
const { raceAbort, whenAborted } = require('./abort.js')

/** validate()'s answer for "." and "..", which no URL can carry as a path segment (as src/client/uri.rs answers). */
const DOT_SEGMENT_ID = 'ChittyID cannot be "." or ".." (a URL path drops dot segments)'

/** The options v1 had. A config with any other key gets v2 behaviour (lib/options.js). */
const V1_OPTIONS = Object.freeze(['serviceUrl', 'apiKey', 'timeout'])

/** True when `config` names no option v1 did not have (keys whose value is `undefined` do not count). */
function onlyV1Options(config) {
  if (config === undefined || config === null) return true
  for (const key of Object.keys(config)) {
    if (config[key] !== undefined && !V1_OPTIONS.includes(key)) return false
  }
  return true
}

/**
 * v1's headers: the JSON content type on POSTs and the bearer key when set; then what the
 * call's own (v2) options add: `idempotencyKey`, and `headers` as `[name, value, ...]` (checked
 * by the caller, never one of v1's).
 */
function headersFor(apiKey, json, call) {
  const headers = {}
  if (json) headers['Content-Type'] = 'application/json'
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`
  if (call !== undefined) {
    if (call.idempotencyKey !== undefined) headers['Idempotency-Key'] = call.idempotencyKey
    const extra = call.headers
    if (extra) for (let i = 0; i + 1 < extra.length; i += 2) headers[extra[i]] = extra[i + 1]
  }
  return headers
}

/**
 * Aborts `controller` when the call's own signal aborts; returns the unlinking function. The
 * calls sharing a signal wait on it with one listener (lib/abort.js); `fetch` is given the
 * controller's signal, never the call's, since it would add a listener of its own to it.
 */
function follow(call, controller) {
  const signal = call === undefined ? undefined : call.signal
  if (!signal) return () => {}
  if (signal.aborted) {
    controller.abort(signal.reason)
    return () => {}
  }
  return whenAborted(signal, () => controller.abort(signal.reason))
}

/**
 * `fetch`'s signal for a call with a signal of its own: `{ signal, unfollow }`, the signal of a
 * controller that follows the call's (`follow`); `{ unfollow }` for a call without one.
 */
function fetchSignal(call) {
  if (call === undefined || !call.signal) return { unfollow: () => {} }
  const controller = new AbortController()
  return { signal: controller.signal, unfollow: follow(call, controller) }
}

/**
 * The v1 operations. Each takes `client` first and reads, when the call is made, what v1 read
 * from itself: `serviceUrl`, `apiKey`, `timeout` (mint's), and `validateFormat(id)` (validate's
 * fallback when the service cannot be asked). The optional last argument `call` holds a
 * call's own v2 options: `signal` (aborting the controller whose signal fetch's init gets,
 * `follow`), `headers` and `idempotencyKey` (see `headersFor`).
 * `healthTimeoutMs`: healthCheck's fixed timeout (`AbortSignal.timeout`, as v1 had it).
 * `redaction`: `{ redactSecret, revealsSecret }` (lib/redact.js); without it, lib/redact.js's own.
 */
function createV1({ healthTimeoutMs, redaction = jsRedaction }) {
  const { redactSecret, revealsSecret } = redaction
  async function mint(client, request, call) {
    try {
      const headers = headersFor(client.apiKey, true, call)
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), client.timeout)
      const unfollow = follow(call, controller)
      let response
      try {
        response = await fetch(`${client.serviceUrl}/mint`, {
          method: 'POST',
          headers,
          body: JSON.stringify(request),
          signal: controller.signal,
        })
      } finally {
        clearTimeout(timer)
        unfollow()
      }
      if (!response.ok) throw new Error(`ChittyID service error: ${response.status} ${response.statusText}`)
      const data = await response.json()
      return data.chittyId
    } catch (error) {
      if (error instanceof Error) {
        throw new Error(
          redactSecret(
            `ChittyID service unavailable - cannot mint ${request.entity} ID: ${error.message}`,
            client.apiKey,
          ),
        )
      }
      throw error
    }
  }

  async function mintBatch(client, requests, call) {
    const { signal, unfollow } = fetchSignal(call)
    try {
      const init = {
        method: 'POST',
        headers: headersFor(client.apiKey, true, call),
        body: JSON.stringify({ requests }),
      }
      if (signal) init.signal = signal
      const response = await fetch(`${client.serviceUrl}/mint/batch`, init)
      if (!response.ok) throw new Error(`ChittyID service error: ${response.status}`)
      const data = await response.json()
      return data.chittyIds
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'Unknown error'
      throw new Error(redactSecret(`ChittyID service unavailable - cannot batch mint IDs: ${reason}`, client.apiKey))
    } finally {
      unfollow()
    }
  }

  async function validate(client, id, call) {
    if (id === '.' || id === '..') return { valid: false, error: DOT_SEGMENT_ID }
    const { signal, unfollow } = fetchSignal(call)
    try {
      const init = { headers: headersFor(client.apiKey, false, call) }
      if (signal) init.signal = signal
      const response = await fetch(`${client.serviceUrl}/validate/${encodeURIComponent(id)}`, init)
      if (!response.ok) return { valid: false, error: `Service error: ${response.status}` }
      const data = await response.json()
      const shown = (field) => (revealsSecret(field, client.apiKey) ? undefined : field)
      return { valid: data.valid === true, chittyId: shown(data.chittyId), entity: shown(data.entity) }
    } catch (error) {
      // The service could not be asked: the format check only.
      return {
        valid: client.validateFormat(id),
        error: error instanceof Error ? redactSecret(error.message, client.apiKey) : 'Validation failed',
      }
    } finally {
      unfollow()
    }
  }

  async function healthCheck(client, call) {
    try {
      const init = { method: 'GET' }
      if (call !== undefined && call.headers) init.headers = headersFor(undefined, false, call)
      if (call !== undefined && call.signal) {
        const controller = new AbortController()
        const timeout = AbortSignal.timeout(healthTimeoutMs)
        timeout.addEventListener('abort', () => controller.abort(timeout.reason), { once: true })
        const unfollow = follow(call, controller)
        init.signal = controller.signal
        try {
          return (await fetch(`${client.serviceUrl}/health`, init)).ok
        } finally {
          unfollow()
        }
      }
      init.signal = AbortSignal.timeout(healthTimeoutMs)
      const response = await fetch(`${client.serviceUrl}/health`, init)
      return response.ok
    } catch {
      return false
    }
  }

  return { mint, mintBatch, validate, healthCheck }
}

/**
 * Makes a client's call with v1 semantics: `run(call)` is one of `createV1`'s calls, `call` the
 * call's own v2 options (undefined without any): `signal` (aborting it stops the wait),
 * `headers` as `[name, value, ...]` (from `headersOf(options, operation)`, the build's header
 * check) and, for mints, `idempotencyKey`. `checkOpen()` throws when the client is closed.
 * Bad options, a closed client and an aborted signal reject; nothing is sent then.
 */
function callV1(options, { operation, mints, checkOpen, headersOf }, run) {
  let signal
  let call
  try {
    signal = callSignal(options)
    checkOpen()
    if (callOptionsArg(options) !== undefined) {
      const idempotencyKey = mints ? callIdempotencyKey(options) : undefined
      call = { signal, headers: headersOf(options, operation), idempotencyKey }
    }
  } catch (err) {
    return rejectLater(err)
  }
  if (signal !== undefined && signal.aborted) return rejectLater(abortError(signal))
  const promise = run(call)
  return signal === undefined ? promise : raceAbort(promise, signal)
}

/**
 * Makes a client's own fields (those EventEmitter or a base class put on it) non-enumerable:
 * its own enumerable properties are then v1's `serviceUrl` and `timeout`, so it compares and
 * prints like v1's.
 */
function hideOwnFields(object) {
  for (const key of Reflect.ownKeys(object)) Object.defineProperty(object, key, { enumerable: false })
}

/**
 * Makes v1's `serviceUrl` and `timeout` read-only: the native engine takes both at construction,
 * so an assignment that the v1 path honoured would pass under a test runner and be ignored in production.
 * Fixed on every path, assigning throws a TypeError in strict code (docs/MIGRATION.md).
 */
function fixV1Fields(object) {
  for (const key of ['serviceUrl', 'timeout']) Object.defineProperty(object, key, { writable: false })
}

module.exports = { createV1, callV1, hideOwnFields, fixV1Fields, onlyV1Options, DOT_SEGMENT_ID }
