'use strict'

// The id grammars, in plain JS: no native addon here (the portable build loads this module as
// it is). validateFormat runs in JS because V8's regex costs ~50 ns while any call into the addon
// with a string argument costs ~300 ns before doing any work. `src/id/mod.rs` holds the same
// grammars for the native side; __test__/id.test.mjs proves both agree, and both read the
// vectors of __test__/fixtures/id-vectors.json (docs/ARCHITECTURE.md "Id grammars").
//
// Two grammars:
// - v1: `VV-G-LLL-SSSS-T-YM-C-X`, letters and digits as CHITTY_ID says (22 characters).
// - deployed (the service at id.chitty.cc): `VV-G-LLL-SSSS-T-YYMM-C-XX` (25 characters); VV,
//   SSSS, YYMM digits, G 1-9, LLL letters, T one of P L T E A, C a trust level 0-5, XX the
//   service's mod-97 check pair over the other fields.

const { invalidArgument } = require('./errors.js')
const TABLE = require('./options.json')

const CHITTY_ID = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/
const DEPLOYED_ID = /^[0-9]{2}-[1-9]-[A-Z]{3}-[0-9]{4}-[PLTEA]-[0-9]{4}-[0-5]-[0-9]{2}$/
// The service's error placeholders: G = 0, LLL = ERR, SSSS 0000-0099 (the error's number), the
// rest as in the deployed grammar. The check pair is not required: whatever its pair, such an
// id is never a minted one.
const PLACEHOLDER_ID = /^[0-9]{2}-0-ERR-00[0-9]{2}-[PLTEA]-[0-9]{4}-[0-5]-[0-9]{2}$/

const V1_LENGTH = 22
const DEPLOYED_LENGTH = 25

/** The values of the `grammar` option (and of the client's `idGrammar`): both, or one. */
const GRAMMARS = Object.freeze([...TABLE.options.idGrammar.oneOf])

// Character codes: '0' is 48; 'A' (value 10) is 65.
const DIGIT = 48
const LETTER = 55

/**
 * The check pair of a deployed id's other fields as the service computes it: the fields
 * concatenated without dashes read as one decimal number (digits as themselves, letters as
 * A=10 ... Z=35, two digits each), n; the pair is (98 - n mod 97) mod 97, 00 to 96. Unlike
 * ISO 7064's MOD 97-10, n is not multiplied by 100 first. `id` must match DEPLOYED_ID (or the
 * placeholder shape): only its fixed positions are read, in a few exact integer steps.
 */
function deployedCheckPair(id) {
  const d = (i) => id.charCodeAt(i) - DIGIT
  const l = (i) => id.charCodeAt(i) - LETTER
  // VV G LLL: 3 digits and 3 letters (6 decimal digits) stay far below 2^53 before the first mod.
  let r = ((d(0) * 100 + d(1) * 10 + d(3)) * 1e6 + l(5) * 1e4 + l(6) * 100 + l(7)) % 97
  // SSSS T
  r = (r * 1e6 + d(9) * 1e5 + d(10) * 1e4 + d(11) * 1e3 + d(12) * 100 + l(14)) % 97
  // YYMM C
  r = (r * 1e5 + d(16) * 1e4 + d(17) * 1e3 + d(18) * 100 + d(19) * 10 + d(21)) % 97
  return (98 - r) % 97
}

function isDeployed(id) {
  return DEPLOYED_ID.test(id) && deployedCheckPair(id) === (id.charCodeAt(23) - DIGIT) * 10 + id.charCodeAt(24) - DIGIT
}

/** `options.grammar` of the format functions: 'any' (absent), 'v1' or 'deployed'. */
function grammarOf(options) {
  if (options === undefined || options === null) return 'any'
  if (typeof options !== 'object') throw invalidArgument('format options must be an object like { grammar: "v1" }')
  const { grammar } = options
  if (grammar === undefined) return 'any'
  if (!GRAMMARS.includes(grammar)) {
    throw invalidArgument(
      `option "grammar" must be "any", "v1" or "deployed", got ${typeof grammar === 'string' ? JSON.stringify(grammar) : typeof grammar}`,
    )
  }
  return grammar
}

/**
 * True when `id` is a well-formed id of the grammar `options.grammar` names (default: either),
 * a deployed id only with its check pair right. Non-strings are false.
 */
function validateFormat(id, options) {
  return validateIn(id, options === undefined ? 'any' : grammarOf(options))
}

/** `validateFormat` with `grammar` already checked (one of GRAMMARS), for the client's method. */
function validateIn(id, grammar) {
  if (typeof id !== 'string') return false
  // The lengths differ (22 and 25), so one regex runs at most, and junk of another length none.
  if (id.length === V1_LENGTH) return grammar !== 'deployed' && CHITTY_ID.test(id)
  return id.length === DEPLOYED_LENGTH && grammar !== 'v1' && isDeployed(id)
}

/** 'v1' or 'deployed': the grammar a well-formed id is in; null for anything else. */
function idGrammarOf(id) {
  if (typeof id !== 'string') return null
  if (id.length === V1_LENGTH) return CHITTY_ID.test(id) ? 'v1' : null
  return id.length === DEPLOYED_LENGTH && isDeployed(id) ? 'deployed' : null
}

/** True when `id` is one of the deployed service's error placeholders (never a minted id). */
function isPlaceholderId(id) {
  return typeof id === 'string' && id.length === DEPLOYED_LENGTH && PLACEHOLDER_ID.test(id)
}

/**
 * The error number a placeholder carries in its SSSS field (the service's `errorCode` as a
 * number: 1 = MINT_UNAVAILABLE, ...), or undefined when `id` is not a placeholder.
 */
function placeholderErrorNumber(id) {
  return isPlaceholderId(id) ? (id.charCodeAt(11) - DIGIT) * 10 + id.charCodeAt(12) - DIGIT : undefined
}

/**
 * The deployed service's placeholder error codes and the number each puts in a placeholder's
 * SSSS field (src/id/mod.rs `PLACEHOLDER_ERRORS` holds the same table).
 */
const PLACEHOLDER_ERROR_CODES = Object.freeze({
  MINT_UNAVAILABLE: 1,
  MINT_TIMEOUT: 2,
  MINT_REJECTED: 3,
  DRAND_UNAVAILABLE: 4,
  CERT_UNAVAILABLE: 5,
  TRUST_UNAVAILABLE: 6,
  RATE_LIMITED: 7,
  INVALID_REQUEST: 8,
  INTERNAL_ERROR: 99,
})

/**
 * The fields of a well-formed id, or null. A v1 id gives v1's fields exactly as before
 * (`grammar: 'v1'` is there too, but not enumerable, so the result serializes and compares as
 * v1's did); a deployed id gives the service's own field names, with `grammar: 'deployed'`.
 */
function parse(id, options) {
  const grammar = idGrammarOf(id)
  const wanted = options === undefined ? 'any' : grammarOf(options)
  if (grammar === null || (wanted !== 'any' && wanted !== grammar)) return null
  const f = id.split('-')
  if (grammar === 'v1') {
    const parsed = {
      version: f[0],
      generation: f[1],
      location: f[2],
      sequence: f[3],
      entityType: f[4],
      yearMonth: f[5],
      check: f[6],
      extension: f[7],
    }
    return Object.defineProperty(parsed, 'grammar', { value: 'v1', enumerable: false })
  }
  return {
    grammar,
    version: f[0],
    region: f[1],
    jurisdiction: f[2],
    sequential: f[3],
    entityType: f[4],
    yearMonth: f[5],
    trustLevel: f[6],
    checksum: f[7],
  }
}

/**
 * Entity codes the v1 service accepts, with the T letter their ids carry. src/id/mod.rs holds
 * the same table (`ENTITY_TYPE_LETTERS`); __test__/id.test.mjs holds the two equal. The
 * deployed grammar's five letters (P L T E A) are the first five entities' letters.
 */
const ENTITY_TYPE_LETTERS = Object.freeze({
  PEO: 'P',
  PLACE: 'L',
  PROP: 'T',
  EVNT: 'E',
  AUTH: 'A',
  INFO: 'I',
  FACT: 'F',
  CONTEXT: 'C',
  ACTOR: 'R',
})
const ENTITY_BY_TYPE_LETTER = Object.freeze(
  Object.fromEntries(Object.entries(ENTITY_TYPE_LETTERS).map(([entity, letter]) => [letter, entity])),
)
const TYPE_LETTER_POS = 14

/** The entity of a well-formed id (of either grammar), from its type letter. */
function entityForId(id, options) {
  return validateFormat(id, options) ? ENTITY_BY_TYPE_LETTER[id[TYPE_LETTER_POS]] : undefined
}

module.exports = {
  validateFormat,
  validateIn,
  parse,
  idGrammarOf,
  isPlaceholderId,
  placeholderErrorNumber,
  entityForId,
  deployedCheckPair,
  ENTITY_TYPE_LETTERS,
  PLACEHOLDER_ERROR_CODES,
  CHITTY_ID,
  DEPLOYED_ID,
  PLACEHOLDER_ID,
}
