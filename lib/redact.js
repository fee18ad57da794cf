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

/** `text` with each of the ordered, non-overlapping `[start, end)` spans replaced by `[redacted]`. */
function replaceSpans(text, spans) {
  if (spans.length === 0) return text
  let out = ''
  let copied = 0
  for (const [start, end] of spans) {
    out += text.slice(copied, start) + REDACTED
    copied = end
  }
  return out + text.slice(copied)
}

/** Whether every UTF-16 unit of `text` is ASCII. */
const isAscii = (text) => ![...text].some((c) => c.charCodeAt(0) > 0x7f)

/**
 * The base64 text that encodes only `secret`'s bytes (ASCII), at each of the three alignments,
 * in the standard then the URL-safe alphabet, without repeats (src/redact.rs `base64_cores`).
 */
function base64Cores(secret) {
  const cores = []
  for (const urlSafe of [false, true]) {
    for (let lead = 0; lead < 3; lead++) {
      let encoded = btoa('\0'.repeat(lead) + secret).replace(/=+$/, '')
      if (urlSafe) encoded = encoded.replace(/\+/g, '-').replace(/\//g, '_')
      const core = encoded.slice(Math.ceil((8 * lead) / 6), Math.floor((8 * (lead + secret.length)) / 6))
      if (!cores.includes(core)) cores.push(core)
    }
  }
  return cores
}

const HEX = /^[0-9a-fA-F]{2}$/

/** Spans of `text` that decode to `secret` through at least one `%XX` escape of an ASCII byte. */
function percentSpans(text, secret) {
  const spans = []
  if (!text.includes('%')) return spans
  const units = []
  for (let i = 0; i < text.length;) {
    const pair = text.slice(i + 1, i + 3)
    if (text[i] === '%' && HEX.test(pair) && parseInt(pair, 16) < 0x80) {
      units.push({ value: String.fromCharCode(parseInt(pair, 16)), at: i, len: 3, escaped: true })
      i += 3
    } else {
      units.push({ value: text.charCodeAt(i) < 0x80 ? text[i] : undefined, at: i, len: 1, escaped: false })
      i += 1
    }
  }
  for (let start = 0; start + secret.length <= units.length;) {
    const run = units.slice(start, start + secret.length)
    if (run.every((u, k) => u.value === secret[k]) && run.some((u) => u.escaped)) {
      const last = run[run.length - 1]
      spans.push([run[0].at, last.at + last.len])
      start += secret.length
    } else {
      start += 1
    }
  }
  return spans
}

/**
 * The secret as a JSON string writes it (`\\` and `\"` escaped), and once more with `/` as
 * `\/`; only the forms that differ from it (src/redact.rs `escaped_forms`).
 */
function escapedForms(secret) {
  const escaped = secret.replace(/\\/g, '\\\\').replace(/"/g, '\\"')
  const slashed = escaped.replace(/\//g, '\\/')
  const forms = []
  for (const form of [escaped, slashed]) if (form !== secret && !forms.includes(form)) forms.push(form)
  return forms
}

/** Shortest base64 core of a secret redacted encoded: shorter text cannot hold one. */
const SHORTEST_CORE = 10

/** The encoded echoes of an ASCII secret matched anywhere: JSON-escaped, base64, then percent-encoded. */
function redactEncoded(text, secret) {
  if (!isAscii(secret) || !matchesAnywhere(secret) || text.length < SHORTEST_CORE) return text
  let out = text
  for (const form of [...escapedForms(secret), ...base64Cores(secret)])
    if (out.includes(form)) out = out.split(form).join(REDACTED)
  return replaceSpans(out, percentSpans(out, secret))
}

/**
 * `text` with every occurrence of `secret` that counts replaced by `[redacted]`: anywhere for a
 * secret of 8 characters or more, only as a whole word for a shorter one; then, for such a long
 * ASCII secret, its JSON-escaped, base64 and percent-encoded echoes. For free text only (messages, reasons); a
 * structured field is checked with `revealsSecret` instead. Anything but two strings is returned
 * as it came.
 */
function redactSecret(text, secret) {
  if (typeof text !== 'string' || typeof secret !== 'string') return text
  const plain = replaceSpans(
    text,
    occurrences(text, secret).map((at) => [at, at + secret.length]),
  )
  return redactEncoded(plain, secret)
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

module.exports = { REDACTED, redactSecret, revealsSecret, redactionOf, jsRedaction }
