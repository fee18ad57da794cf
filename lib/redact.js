'use strict'

// The one rule for keeping the API key out of what the client reports (docs/ARCHITECTURE.md,
// "Redaction"), for JS. Its home is src/redact.rs: JS that has the native addon loaded runs that
// through `redactionOf(binding)`. This file's own implementation is for JS that cannot load the
// addon (the portable build, lib/portable/, and lib/v1.js there), so it imports nothing native.
// __test__/redaction.test.mjs holds it to the Rust function: the shared vectors in
// __test__/fixtures/redaction-vectors.json, and both on generated text.

const { isWellFormed } = require('./well-formed.js')

/** What a secret is replaced with, everywhere (Rust and JS). */
const REDACTED = '[redacted]'

/** From this many characters (code points) on, a secret is matched anywhere; below, only as a whole word. */
const MATCH_ANYWHERE_FROM = 8

/** An ASCII letter or digit, `_`, or any non-ASCII UTF-16 unit (so any non-ASCII character). */
function isWordUnit(code) {
  return (
    code >= 0x80 || code === 0x5f || (code >= 0x30 && code <= 0x39) || ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a)
  )
}

function matchesAnywhere(secret) {
  let points = 0
  for (const _ of secret) if (++points >= MATCH_ANYWHERE_FROM) return true
  return false
}

/** The offsets of the occurrences of `secret` in `text` that count, left to right, not overlapping. */
function occurrences(text, secret) {
  const found = []
  if (secret === '') return found
  const anywhere = matchesAnywhere(secret)
  let from = 0
  for (;;) {
    const at = text.indexOf(secret, from)
    if (at < 0) return found
    const end = at + secret.length
    const wholeWord =
      (at === 0 || !isWordUnit(text.charCodeAt(at - 1))) && (end === text.length || !isWordUnit(text.charCodeAt(end)))
    if (anywhere || wholeWord) {
      found.push(at)
      from = end
    } else {
      from = at + 1
    }
  }
}

/**
 * `text` with every occurrence of `secret` that counts replaced by `[redacted]`: anywhere for a
 * secret of 8 characters or more, only as a whole word for a shorter one. For free text only
 * (messages, reasons); a structured field is checked with `revealsSecret` instead. Anything but
 * two strings is returned as it came.
 */
function redactSecret(text, secret) {
  if (typeof text !== 'string' || typeof secret !== 'string') return text
  const found = occurrences(text, secret)
  if (found.length === 0) return text
  let out = ''
  let copied = 0
  for (const at of found) {
    out += text.slice(copied, at) + REDACTED
    copied = at + secret.length
  }
  return out + text.slice(copied)
}

const ASCII_BLANKS = /^[ \t\n\f\r]+|[ \t\n\f\r]+$/g
const AFTER_BEARER = /bearer[ \t\n\f\r]+$/i

/**
 * Whether a structured field (an id, an entity) gives `secret` away, so it must be dropped or
 * refused, never rewritten: a secret of 8 characters or more anywhere in it; a shorter one when
 * the field is the secret (ASCII blanks around it aside) or holds it as a whole word after
 * `Bearer` and a blank.
 */
function revealsSecret(field, secret) {
  if (typeof field !== 'string' || typeof secret !== 'string' || secret === '') return false
  if (matchesAnywhere(secret)) return field.includes(secret)
  if (field.replace(ASCII_BLANKS, '') === secret) return true
  return occurrences(field, secret).some((at) => AFTER_BEARER.test(field.slice(0, at)))
}

/** Whether both strings cross into Rust unchanged (lib/well-formed.js). */
const crossesIntact = (a, b) => isWellFormed(a) && isWellFormed(b)

/**
 * `{ redactSecret, revealsSecret }` for JS that has the native addon `binding` loaded: the rule
 * as src/redact.rs runs it (`redactSecretNative`, `revealsSecretNative`), under this file's
 * contract for anything but two strings (returned as it came; reveals nothing). Text holding a
 * lone surrogate stays in JS (this file's implementation of the same rule), so it comes back as
 * it came instead of with U+FFFD. The addon is looked up at each call, not captured.
 */
function redactionOf(binding) {
  return {
    redactSecret: (text, secret) => {
      if (typeof text !== 'string' || typeof secret !== 'string') return text
      return crossesIntact(text, secret) ? binding.redactSecretNative(text, secret) : redactSecret(text, secret)
    },
    revealsSecret: (field, secret) => {
      if (typeof field !== 'string' || typeof secret !== 'string') return false
      return crossesIntact(field, secret) ? binding.revealsSecretNative(field, secret) : revealsSecret(field, secret)
    },
  }
}

/** This file's own implementation, for JS without the addon. */
const jsRedaction = Object.freeze({ redactSecret, revealsSecret })

module.exports = { REDACTED, MATCH_ANYWHERE_FROM, redactSecret, revealsSecret, redactionOf, jsRedaction }
