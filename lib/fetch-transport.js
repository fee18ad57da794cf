'use strict'

// The JS half of the fetch transport (src/transport/fetch.rs, src/bindings/fetch_transport.rs;
// docs/ARCHITECTURE.md "Fetch transport"): the native client asks for one exchange at a time; it is made with
// the `fetch` the client captured when the call was made (`globalThis.fetch` at that moment;
// every attempt of the call uses that one), so a stub installed before or after the client
// was created sees it, with v1's URL, method, headers and JSON body. The answer (status,
// statusText, Retry-After, body bytes) or the failure goes back by id; retry, breaker, cache
// and error wording stay native.

const native = require('./native/index.js')
const { failureOf } = require('./fetch-failure.js')
const { TOO_LARGE, readCappedBody, readUnavailableBody, discard } = require('./fetch-body.js')
const { fetchFollowingRedirects } = require('./fetch-redirect.js')

// Fetches in flight, by the native request id, so the native side can abort them.
const inFlight = new Map()

/**
 * v1's request headers: JSON content type on POSTs, the bearer key, the mint's idempotency
 * key; after the call's own headers (`order.headers`, `[name, value, ...]`, checked natively),
 * so v1's always win.
 */
function headersOf(order) {
  const headers = {}
  const extra = order.headers
  if (extra) for (let i = 0; i + 1 < extra.length; i += 2) headers[extra[i]] = extra[i + 1]
  if (order.method === 'POST') headers['Content-Type'] = 'application/json'
  if (order.authorization) headers.Authorization = order.authorization
  if (order.idempotencyKey) headers['Idempotency-Key'] = order.idempotencyKey
  return headers
}

/** The body as a Buffer (what the native side takes), or TOO_LARGE past `limit`. */
async function readBody(response, limit, read = readCappedBody) {
  const bytes = await read(response, limit)
  return bytes === TOO_LARGE ? TOO_LARGE : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function statusOf(response) {
  const { status } = response
  if (Number.isInteger(status) && status >= 0 && status <= 999) return status
  // A stub object with only `ok`.
  return response.ok === false ? 500 : 200
}

function retryAfterOf(response) {
  const { headers } = response
  if (!headers || typeof headers.get !== 'function') return undefined
  const value = headers.get('retry-after')
  return value === null || value === undefined ? undefined : String(value)
}

/**
 * True for a jest spy that would hand its next call to the function it spies on: `jest.spyOn`
 * installs a pass-through as the spy's implementation, kept until the test sets its own
 * (`mockResolvedValue`, `mockImplementation`). A one-time answer (`mockResolvedValueOnce`)
 * leaves it in place, so a retry through such a spy reaches the real `fetch`, and the real
 * network. The client then makes the call once (src/transport/fetch.rs `CallOrigin`).
 */
function passesThrough(fetch) {
  if (
    typeof fetch !== 'function' ||
    fetch._isMockFunction !== true ||
    typeof fetch.getMockImplementation !== 'function'
  )
    return false
  const implementation = fetch.getMockImplementation()
  return (
    typeof implementation === 'function' &&
    /\boriginal\.apply\(this, arguments\)/.test(Function.prototype.toString.call(implementation))
  )
}

async function exchange(order, signal, fetch, redirects) {
  if (typeof fetch !== 'function') throw new TypeError('globalThis.fetch is not a function')
  const init = { method: order.method, headers: headersOf(order) }
  if (order.body !== undefined && order.body !== null) init.body = order.body
  init.signal = signal
  // Redirects followed here with the native transport's rules (no https → http: the body
  // would go in clear text), unless the transport was chosen under a test runner, where a stub sees
  // v1's exact `fetch` calls (docs/ARCHITECTURE.md "Fetch transport").
  const response =
    redirects === 'fetch'
      ? await fetch(order.url, init)
      : await fetchFollowingRedirects(fetch, order.url, init, { allowInsecure: order.allowInsecure === true, discard })
  if (response === null || typeof response !== 'object')
    throw new TypeError('fetch resolved to something that is not a Response')
  const status = statusOf(response)
  // A 2xx body is used (as v1 did), and a 503's, which the mint rule reads (src/wire.rs
  // `unavailable_after_backend`); other error answers are not read, so a stub that hands out
  // one Response object for every attempt still works.
  if (status === 503)
    return { response, status, body: await readBody(response, order.maxResponseBytes, readUnavailableBody) }
  if (status < 200 || status > 299) {
    discard(response)
    return { response, status, body: Buffer.alloc(0) }
  }
  return { response, status, body: await readBody(response, order.maxResponseBytes) }
}

/** Runs `deliver` (a call into the native side); whatever goes wrong there becomes a failure. */
function report(order, deliver) {
  try {
    deliver()
  } catch (err) {
    // An answer the native side could not take (a stub's odd status text...).
    try {
      native.fetchFail(order.id, undefined, `the fetch answer could not be read: ${err && err.message}`)
    } catch {
      // The request is no longer awaited; its timeout ends it.
    }
  }
}

function deliverAnswer(order, { response, status, body }) {
  if (body === TOO_LARGE) return native.fetchFail(order.id, 'EBODYTOOLARGE', 'response body too large')
  const statusText = typeof response.statusText === 'string' ? response.statusText : ''
  native.fetchSettle(order.id, status, statusText, retryAfterOf(response), body)
}

/**
 * Called by the native client (through a threadsafe function) to start a fetch with `fetch`
 * (the one captured for the call the order belongs to), or to abort one whose answer it no
 * longer awaits (timeout, AbortSignal, close). `redirects`: 'client' (followed by
 * lib/fetch-redirect.js) or 'fetch' (fetch's own, for a transport chosen under a test runner).
 */
function perform(order, fetch, redirects = 'client') {
  if (order.abort) {
    const controller = inFlight.get(order.id)
    inFlight.delete(order.id)
    if (controller) controller.abort()
    return
  }
  const controller = new AbortController()
  inFlight.set(order.id, controller)
  exchange(order, controller.signal, fetch, redirects).then(
    (answer) => {
      inFlight.delete(order.id)
      report(order, () => deliverAnswer(order, answer))
    },
    (err) => {
      inFlight.delete(order.id)
      if (controller.signal.aborted) return // nobody waits for it any more
      report(order, () => {
        const { code, message } = failureOf(err)
        native.fetchFail(order.id, code, message)
      })
    },
  )
}

/** Fetches started and not yet settled or aborted (the leak check's count, scripts/leak-check.js). */
function inFlightCount() {
  return inFlight.size
}

module.exports = { perform, passesThrough, inFlightCount }
