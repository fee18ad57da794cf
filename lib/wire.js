'use strict'

// The JS twin of src/wire.rs's pure rules, for the build without the native addon (the
// portable build, docs/PORTABLE.md): the deployed service's word for each v1 entity code, and
// which placeholder errorCodes say minting again is safe. Pure JS with no import.
// __test__/wire-table.test.mjs holds both to the native client's behaviour (what it sends and
// what its errors say) over real sockets.

/** v1's entity codes in the deployed service's words (src/wire.rs `entity_type_word`). */
const ENTITY_TYPE_WORDS = Object.freeze({
  PEO: 'person',
  PLACE: 'place',
  PROP: 'thing',
  EVNT: 'event',
  AUTH: 'authority',
  INFO: 'thing',
  FACT: 'thing',
  CONTEXT: 'person',
  ACTOR: 'person',
})

/**
 * The placeholder errorCodes after which a mint can be sent again without minting twice: the
 * minting backend refused the request before processing it (src/wire.rs
 * `placeholder_retry_safe`). A timeout, a failure the service could not place, a 5xx of the
 * backend, an unknown or absent code may have minted.
 */
const RETRY_SAFE_PLACEHOLDER_CODES = Object.freeze([
  'RATE_LIMITED',
  'INVALID_REQUEST',
  'DRAND_UNAVAILABLE',
  'CERT_UNAVAILABLE',
  'TRUST_UNAVAILABLE',
])

/** The `error` of the deployed service's 503s that may follow its backend call (src/wire.rs `AFTER_BACKEND_ERRORS`). */
const AFTER_BACKEND_ERRORS = Object.freeze(['SERVICE_UNAVAILABLE', 'SECURITY_ERROR', 'MINT_SERVICE_ERROR'])

/**
 * Whether a 503's body (text) is the deployed service's own answer to a failure at or after its
 * call to the minting backend, so a mint it answers may have been processed (src/wire.rs
 * `unavailable_after_backend`; docs/ARCHITECTURE.md "Retry safety"): a JSON object whose
 * `errorCode` is present and not one of RETRY_SAFE_PLACEHOLDER_CODES, or, without `errorCode`,
 * whose `error` is one of AFTER_BACKEND_ERRORS. Anything else (no body, a gateway's page, JSON
 * naming none) is an answer from in front of the service.
 */
function unavailableAfterBackend(text) {
  let answer
  try {
    answer = JSON.parse(text)
  } catch {
    return false
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) return false
  if (Object.prototype.hasOwnProperty.call(answer, 'errorCode')) return !placeholderRetrySafe(answer.errorCode)
  return AFTER_BACKEND_ERRORS.includes(answer.error)
}

/** The deployed word for `entity`, or undefined for a code the table does not know. */
function entityTypeWord(entity) {
  return typeof entity === 'string' && Object.prototype.hasOwnProperty.call(ENTITY_TYPE_WORDS, entity)
    ? ENTITY_TYPE_WORDS[entity]
    : undefined
}

/** Whether minting again after a placeholder of `errorCode` (a string, or null/undefined) is safe. */
function placeholderRetrySafe(errorCode) {
  return typeof errorCode === 'string' && RETRY_SAFE_PLACEHOLDER_CODES.includes(errorCode)
}

module.exports = {
  AFTER_BACKEND_ERRORS,
  ENTITY_TYPE_WORDS,
  entityTypeWord,
  placeholderRetrySafe,
  unavailableAfterBackend,
}
