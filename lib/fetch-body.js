'use strict'

// Reading what a `fetch` answered, the same way for the native client's fetch transport
// (lib/fetch-transport.js) and the portable client (lib/portable/transport.js). No native
// addon and no Node module here: the portable build bundles this file.

/** What `readCappedBody` returns for a body over its limit. */
const TOO_LARGE = Symbol('too large')

/**
 * The body as a Uint8Array, or TOO_LARGE past `limit` bytes. Real responses are read as a
 * stream and cut off at the cap; stubs that only offer `text()` or `json()` (objects standing
 * in for a Response in jest suites, node-fetch responses) are read that way.
 */
async function readCappedBody(response, limit) {
  const stream = response.body
  if (stream && typeof stream.getReader === 'function') {
    const reader = stream.getReader()
    const chunks = []
    let size = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > limit) {
        reader.cancel().catch(() => {})
        return TOO_LARGE
      }
      chunks.push(value)
    }
    if (chunks.length === 1) return chunks[0]
    const bytes = new Uint8Array(size)
    let at = 0
    for (const chunk of chunks) {
      bytes.set(chunk, at)
      at += chunk.byteLength
    }
    return bytes
  }
  let text = ''
  if (typeof response.text === 'function') text = String(await response.text())
  else if (typeof response.json === 'function') text = JSON.stringify(await response.json()) ?? ''
  const bytes = new TextEncoder().encode(text)
  return bytes.byteLength > limit ? TOO_LARGE : bytes
}

/**
 * A 503's body, read for the mint rule (which 503s say the service's minting backend may have
 * run: src/wire.rs `unavailable_after_backend`, lib/wire.js): as `readCappedBody`, or empty when
 * its body was read already (a stub that hands out one Response for every attempt).
 */
async function readUnavailableBody(response, limit) {
  if (response.bodyUsed === true) return new Uint8Array(0)
  return readCappedBody(response, limit)
}

/** Lets go of a body nobody will read (so its connection can be reused). */
function discard(response) {
  try {
    const stream = response.body
    if (stream && typeof stream.cancel === 'function' && stream.locked === false)
      Promise.resolve(stream.cancel()).catch(() => {})
  } catch {
    // A stub's body that cannot be cancelled is left to the collector.
  }
}

module.exports = { TOO_LARGE, readCappedBody, readUnavailableBody, discard }
