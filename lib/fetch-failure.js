'use strict'

// What a rejected `fetch` says, read the same way by the native client's fetch transport
// (lib/fetch-transport.js) and by the portable client (lib/portable/transport.js). No native
// addon and no Node module here: the portable build bundles this file.

/**
 * `{ code, message }` of a rejected fetch. undici rejects with "fetch failed" and puts the
 * socket's error in `cause`; interceptors (msw, nock) and stubs use messages of their own,
 * which are kept (a v1 suite may look for them). workerd rejects with an `Error` of its own
 * ("Network connection lost.") and no code.
 */
function failureOf(err) {
  try {
    return readFailure(err)
  } catch {
    // A stub's rejection whose fields throw when read (a Proxy, a throwing getter).
    return { code: undefined, message: 'fetch rejected with a value that cannot be read' }
  }
}

function readFailure(err) {
  const cause = err !== null && typeof err === 'object' ? err.cause : undefined
  const first = cause && Array.isArray(cause.errors) && cause.errors.length > 0 ? cause.errors[0] : undefined
  const text = (v) => (typeof v === 'string' && v !== '' ? v : undefined)
  const code = text(cause && cause.code) ?? text(first && first.code) ?? text(err && err.code)
  const own = text(err && err.message) ?? (err !== null && typeof err === 'object' ? undefined : text(String(err)))
  const parts = [own === 'fetch failed' ? undefined : own, text(cause && cause.message) ?? text(first && first.message)]
  const message = [...new Set(parts.filter(Boolean))].join(': ') || code || 'fetch rejected'
  return { code, message }
}

module.exports = { failureOf }
