'use strict'

// What the portable client sends and reads on each of the two wires (README "Which service this
// talks to"): v1's (`POST {serviceUrl}/mint`, `/mint/batch`, `GET {serviceUrl}/validate/:id`,
// `GET {serviceUrl}/health`) and the deployed service's (`entityType` in the mint body,
// `POST {origin}/api/validate`, `GET {origin}/health`, no batch route, 200 placeholders).

const { isPlaceholderId } = require('../format.js')
const { failure } = require('./transport.js')

/** v1's entity codes in the deployed service's words. */
const ENTITY_TYPE_WORD = Object.freeze({
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

/** The deployed service's `errorCode`s of a placeholder that say its backend did not mint. */
const NOT_RETRIED_PLACEHOLDER = new Set(['MINT_REJECTED', 'INVALID_REQUEST'])

const WIRES = ['v1', 'deployed', 'auto']

/** A mint request as sent: v1's, plus `entityType` unless the wire is v1 (a v1 service ignores it). */
function mintPayload(request, wire) {
  if (wire === 'v1' || request.entityType !== undefined) return request
  const word = ENTITY_TYPE_WORD[request.entity]
  return word === undefined ? request : { ...request, entityType: word }
}

const bad = (detail) => failure('bad', { code: 'EBADRESPONSE', message: `ChittyID service returned an invalid response: ${detail}` })

/**
 * A placeholder id answered instead of a minted one. Its backend did not mint, except after a
 * timeout (`MINT_TIMEOUT`), when it may have: only then is its outcome unknown.
 */
function placeholderFailure(id, errorCode) {
  const code = typeof errorCode === 'string' && errorCode !== '' ? errorCode : 'UNKNOWN'
  const rateLimited = code === 'RATE_LIMITED'
  const notProcessed = code !== 'MINT_TIMEOUT'
  return failure('placeholder', {
    code: rateLimited ? 'ERATELIMITED' : 'EPLACEHOLDER',
    placeholderId: id,
    serviceErrorCode: code,
    rateLimited,
    notProcessed,
    retryable: notProcessed && !NOT_RETRIED_PLACEHOLDER.has(code),
    message: `the service answered the placeholder id ${id} (${code}) instead of minting`,
  })
}

/**
 * A mint answer: `{ id, wire }`, or `{ id, wire, placeholder: errorCode }` when the caller
 * accepts placeholders; throws the failure otherwise.
 */
function parseMint(json, acceptPlaceholders) {
  if (json === null || typeof json !== 'object') throw bad('the answer has no string chittyId')
  const id = json.chittyId
  if (typeof id !== 'string') throw bad('the answer has no string chittyId')
  // The deployed service answers with the id's `components`; v1's answer has none.
  const deployed = json.fallback === true || json.components !== undefined
  const wire = deployed ? 'deployed' : 'v1'
  if (json.fallback === true || isPlaceholderId(id)) {
    if (acceptPlaceholders) return { id, wire, placeholder: typeof json.errorCode === 'string' ? json.errorCode : 'UNKNOWN' }
    throw placeholderFailure(id, json.errorCode)
  }
  return { id, wire }
}

function parseBatch(json, expected) {
  const ids = json !== null && typeof json === 'object' ? json.chittyIds : undefined
  if (!Array.isArray(ids)) throw bad('the answer has no chittyIds array')
  if (ids.length !== expected) throw bad(`chittyIds holds ${ids.length} ids for ${expected} requests`)
  if (!ids.every((id) => typeof id === 'string')) throw bad('chittyIds holds a value that is not a string')
  return ids
}

function parseValidation(json) {
  if (json === null || typeof json !== 'object' || typeof json.valid !== 'boolean') throw bad('the answer has no boolean `valid`')
  const answer = { valid: json.valid }
  for (const field of ['chittyId', 'entity', 'error']) if (typeof json[field] === 'string') answer[field] = json[field]
  return answer
}

module.exports = { ENTITY_TYPE_WORD, WIRES, mintPayload, parseMint, parseBatch, parseValidation, placeholderFailure }
