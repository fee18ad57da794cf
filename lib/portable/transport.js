'use strict'

// One HTTP exchange of the portable client over the runtime's `fetch` (docs/PORTABLE.md): the
// per-attempt timeout through an AbortController, the caller's signal, the body read under
// `maxResponseBytes`, and a failure described as the native transport describes it: a kind,
// a Node-style code, v1's reason text and the phase the request reached (src/transport/fetch.rs
// sorts fetch rejections the same way).

const { failureOf } = require('../fetch-failure.js')
const { TOO_LARGE, readCappedBody, readUnavailableBody, discard } = require('../fetch-body.js')
const { unavailableAfterBackend } = require('../wire.js')
const { fetchFollowingRedirects } = require('../fetch-redirect.js')

/** Codes of failures before any byte of the request left (src/transport/fetch.rs CONNECT_CODES). */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
])
const EXCHANGE_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE'])
/** Cloudflare's words when an invocation has used up its subrequests ("Too many subrequests."). */
const SUBREQUEST_LIMIT = /^Too many subrequests\b/i
/**
 * TLS codes reported as they are (src/transport/fetch.rs TLS_CODES); every other certificate
 * failure (DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN, CERT_NOT_YET_VALID...) is
 * `ERR_TLS_CERT_INVALID`, so `code` stays one of `ChittyIDErrorCode`.
 */
const TLS_CODES = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED'])

/** A failed attempt: what the retry rules and the error mapping read. */
function failure(kind, fields) {
  return { kind, ...fields }
}

function transportFailure(err) {
  const { code: raw, message } = failureOf(err)
  let code = raw
  if (code === 'UND_ERR_CONNECT_TIMEOUT')
    return failure('timeout', { code: 'ETIMEDOUT', phase: 'connect', message: `fetch failed: ${message}` })
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') code = 'ETIMEDOUT'
  if (code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') code = 'ECONNRESET'
  if (CONNECT_CODES.has(code))
    return failure('transport', { code, phase: 'connect', message: `fetch failed: ${message}` })
  // A redirect not followed (lib/fetch-redirect.js): the service answered the request with it.
  if (code === 'ERR_INSECURE_REDIRECT' || code === 'ERR_TOO_MANY_REDIRECTS')
    return failure('refused', { code, phase: 'exchange', message: `fetch failed: ${message}` })
  if (
    code &&
    (TLS_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('CERT_') || code.includes('SELF_SIGNED'))
  ) {
    return failure('tls', {
      code: TLS_CODES.has(code) ? code : 'ERR_TLS_CERT_INVALID',
      phase: 'connect',
      message: `fetch failed: TLS handshake failed: ${message}`,
    })
  }
  // The platform's per-invocation subrequest limit (docs/PORTABLE.md "How the portable client
  // is built"): refused before sending, and no retry in this request can get past it.
  if (code === undefined && SUBREQUEST_LIMIT.test(message))
    return failure('local', { code: 'ESUBREQUESTS', phase: 'connect', message: `fetch refused: ${message}` })
  // Anything else may have been written (workerd says "Network connection lost." for a
  // refused connection and a reset alike, so a mint cannot tell them apart there).
  return failure('transport', {
    code: EXCHANGE_CODES.has(code) ? code : 'EFETCH',
    phase: 'exchange',
    message: `fetch failed: ${message}`,
  })
}

/**
 * What a failed JSON.parse found, without quoting the text: V8's message quotes the start of it,
 * which may be an echoed API key (whole, or cut short past the reach of redaction).
 */
function jsonProblem(err, text) {
  if (text.trim() === '') return 'empty body'
  const message = String(err && err.message)
  const at = /position (\d+)/.exec(message)
  if (at) return `unexpected character at position ${at[1]}`
  return /end of JSON input/i.test(message) ? 'unexpected end of input' : 'not JSON'
}

async function readText(response, limit, read = readCappedBody) {
  const bytes = await read(response, limit)
  return bytes === TOO_LARGE ? TOO_LARGE : new TextDecoder().decode(bytes)
}

/**
 * `promise`, or a rejection once `signal` aborts: a `fetch` (a stub) that ignores its signal,
 * or a body that never ends, cannot hold a call past its timeout or its caller's abort.
 */
function untilAborted(promise, signal) {
  if (signal.aborted) return Promise.reject(signal.reason)
  let onAbort
  const aborted = new Promise((resolve, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort))
}

/** A 2xx/status answer whose fields throw when read (a stub's Proxy, a throwing getter). */
const unreadable = () =>
  failure('bad', {
    code: 'EBADRESPONSE',
    message: 'ChittyID service returned an invalid response: the fetch answer could not be read',
  })

/**
 * Makes one request. Resolves `{ status, statusText, retryAfter, json }` (`json` parsed from a
 * 2xx body only; `readBody` false: no body read; `'unparsed'`: a 2xx body read under the cap and
 * not parsed, as the native health check does), or rejects with a failure (`kind` transport /
 * tls / timeout / bad / toolarge) or, when `signal` aborted, with `{ kind: 'aborted' }`. A 503's
 * body is read for the mint rule: `backendFailed` says it names a failure at or after the
 * service's minting backend (lib/wire.js `unavailableAfterBackend`).
 */
async function exchange(
  fetchFn,
  { url, method, headers, body, timeoutMs, maxResponseBytes, signal, readBody = true, redirects, allowInsecure },
) {
  if (signal && signal.aborted) throw { kind: 'aborted' }
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeoutMs)
  const onAbort = () => controller.abort()
  if (signal) signal.addEventListener('abort', onAbort, { once: true })
  try {
    let response
    try {
      const init = { method, headers, signal: controller.signal }
      if (body !== undefined) init.body = body
      // Redirects followed with the native transport's rules (lib/fetch-redirect.js), unless
      // `fetch` follows them itself (under a test runner's automatic choice, for stubs).
      const sent =
        redirects === 'fetch'
          ? fetchFn(url, init)
          : fetchFollowingRedirects(fetchFn, url, init, { allowInsecure: allowInsecure === true, discard })
      response = await untilAborted(sent, controller.signal)
    } catch (err) {
      throw settleFailure(err)
    }
    if (response === null || typeof response !== 'object')
      throw failure('bad', {
        code: 'EBADRESPONSE',
        message: 'ChittyID service returned an invalid response: fetch resolved to something that is not a Response',
      })
    let status, statusText, retryAfter
    try {
      status = Number.isInteger(response.status) ? response.status : response.ok === false ? 500 : 200
      statusText = typeof response.statusText === 'string' ? response.statusText : ''
      retryAfter =
        response.headers && typeof response.headers.get === 'function'
          ? (response.headers.get('retry-after') ?? undefined)
          : undefined
      if (retryAfter !== undefined && typeof retryAfter !== 'string') retryAfter = undefined
    } catch {
      throw unreadable()
    }
    const unavailable = status === 503
    if (!unavailable && (status < 200 || status > 299 || !readBody)) {
      discard(response)
      return { status, statusText, retryAfter }
    }
    let text
    try {
      const read = unavailable ? readUnavailableBody : readCappedBody
      text = await untilAborted(readText(response, maxResponseBytes, read), controller.signal)
    } catch (err) {
      throw settleFailure(err)
    }
    if (text === TOO_LARGE)
      throw failure('toolarge', {
        code: 'EBODYTOOLARGE',
        message: `ChittyID service response exceeds the ${maxResponseBytes}-byte limit`,
      })
    if (unavailable) return { status, statusText, retryAfter, backendFailed: unavailableAfterBackend(text) }
    if (readBody === 'unparsed') return { status, statusText, retryAfter }
    let json
    try {
      json = JSON.parse(text)
    } catch (err) {
      throw failure('bad', {
        code: 'EBADRESPONSE',
        message: `ChittyID service returned an invalid response: invalid JSON (${jsonProblem(err, text)})`,
      })
    }
    return { status, statusText, retryAfter, json }
  } finally {
    clearTimeout(timer)
    if (signal) signal.removeEventListener('abort', onAbort)
  }

  function settleFailure(err) {
    if (signal && signal.aborted) return { kind: 'aborted' }
    if (timedOut)
      return failure('timeout', {
        code: 'ETIMEDOUT',
        phase: 'exchange',
        message: `fetch failed: request timed out after ${timeoutMs} ms`,
      })
    return transportFailure(err)
  }
}

module.exports = { exchange, failure }
