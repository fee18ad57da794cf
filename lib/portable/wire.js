'use strict'

// What the portable client sends and reads on each of the two wires (docs/OPERATIONS.md "Which
// service this talks to"): v1's (`POST {serviceUrl}/mint`, `/mint/batch`, `GET {serviceUrl}/validate/:id`,
// `GET {serviceUrl}/health`) and the deployed service's (its revision's mint route with
// `entityType` in the body and the query, `POST {origin}/api/validate`, `GET {origin}/api/health`,
// no batch route, 200 placeholders).

const { isPlaceholderId, idGrammarOf } = require('../id.js')
const { revealsSecret } = require('../redact.js')
const { entityTypeWord, placeholderRetrySafe } = require('../wire.js')
const { failure } = require('./transport.js')

/**
 * The deployed service's mint routes at the origin, newest first (src/wire.rs
 * `DEPLOYED_MINT_ROUTES`, docs/DEPLOYED.md F1–F3): `POST /mint`, `POST /v1/mint`, and
 * `GET /api/get-chittyid`, which reads the whole request from the query (`byQuery`: a GET
 * without a body). A 404 on one moves mints to the next.
 */
const DEPLOYED_MINT_ROUTES = Object.freeze([
  Object.freeze({ path: '/mint', byQuery: false }),
  Object.freeze({ path: '/v1/mint', byQuery: false }),
  Object.freeze({ path: '/api/get-chittyid', byQuery: true }),
])

/** The deployed health route every revision has (src/wire.rs `DEPLOYED_HEALTH`, F7, F8). */
const DEPLOYED_HEALTH_PATH = '/api/health'

/**
 * A mint request as sent: v1's, plus `entityType` unless the wire is v1 (a v1 service ignores
 * it): the word of a v1 code, else the entity as given, since the deployed service reads only
 * `entityType` and mints a thing without one (src/wire.rs `entity_type_for`).
 */
function mintPayload(request, wire) {
  if (wire === 'v1' || request.entityType !== undefined) return request
  const word = entityTypeWord(request.entity) ?? request.entity
  return typeof word === 'string' ? { entityType: word, ...request } : request
}

/**
 * The query a mint carries unless the wire is v1: `type=<word>`, the type the body's
 * `entityType` gives (the caller's own when it is a string), for the revisions that read the
 * type only from the query (src/wire.rs `typed_mint`, F18); undefined without a string entity.
 */
function mintQuery(request, wire) {
  if (wire === 'v1' || typeof request.entity !== 'string') return undefined
  const type =
    typeof request.entityType === 'string' ? request.entityType : (entityTypeWord(request.entity) ?? request.entity)
  return new URLSearchParams({ type }).toString()
}

const bad = (detail) =>
  failure('bad', { code: 'EBADRESPONSE', message: `ChittyID service returned an invalid response: ${detail}` })

/**
 * A placeholder id answered instead of a minted one (src/error.rs `Placeholder`): `retrySafe`
 * by the rule of lib/wire.js; a RATE_LIMITED one is a rate limit (ERATELIMITED).
 */
function placeholderFailure(id, errorCode) {
  const code = typeof errorCode === 'string' ? errorCode : null
  const rateLimited = code === 'RATE_LIMITED'
  const retrySafe = placeholderRetrySafe(code)
  const shownId = isPlaceholderId(id) ? id : '(not a well-formed placeholder id)'
  const message = rateLimited
    ? `rate limited by the ChittyID service: it answered with the placeholder id ${shownId} (${code}) instead of minting`
    : `the ChittyID service answered with the placeholder id ${shownId} (${code ?? 'no errorCode'}) instead of a minted id; ${retrySafe ? 'minting again is safe' : 'the service may have minted: minting again may mint twice'}`
  return failure('placeholder', {
    code: rateLimited ? 'ERATELIMITED' : 'EPLACEHOLDER',
    placeholderId: shownId,
    serviceErrorCode: code,
    rateLimited,
    retrySafe,
    message,
  })
}

/**
 * A mint answer: `{ id, wire }`, or `{ id, wire, placeholder: errorCode }` when the caller
 * accepts placeholders (never a RATE_LIMITED one); throws the failure otherwise. The id must
 * be of a grammar and must not give the API key away (src/wire.rs `parse_mint`).
 */
function parseMint(json, acceptPlaceholders, apiKey) {
  if (json === null || typeof json !== 'object') throw bad('the answer has no string chittyId')
  const id = json.chittyId
  if (typeof id !== 'string') throw bad('the answer has no string chittyId')
  if (apiKey && revealsSecret(id, apiKey))
    throw bad("chittyId contains the API key (the service echoed the request's credentials); the id is not shown")
  const errorCode = typeof json.errorCode === 'string' ? json.errorCode : null
  const placeholder = json.fallback === true || isPlaceholderId(id)
  const wire = placeholder ? 'deployed' : idGrammarOf(id)
  if (wire === null) throw bad('chittyId is not a ChittyID of either grammar')
  if (placeholder) {
    if (!acceptPlaceholders || errorCode === 'RATE_LIMITED') throw placeholderFailure(id, errorCode)
    return { id, wire, placeholder: errorCode }
  }
  return { id, wire }
}

/**
 * A batch answer's ids: one per request, none giving the API key away and, with `grammar`, each
 * of a grammar (src/client/parse.rs `parse_batch`).
 */
function parseBatch(json, expected, apiKey, grammar) {
  const ids = json !== null && typeof json === 'object' ? json.chittyIds : undefined
  if (!Array.isArray(ids)) throw bad('the answer has no chittyIds array')
  if (ids.length !== expected) throw bad(`chittyIds holds ${ids.length} ids for ${expected} requests`)
  if (!ids.every((id) => typeof id === 'string')) throw bad('chittyIds holds a value that is not a string')
  if (apiKey && ids.some((id) => revealsSecret(id, apiKey)))
    throw bad("chittyIds holds the API key (the service echoed the request's credentials); the ids are not shown")
  if (grammar && ids.some((id) => idGrammarOf(id) === null))
    throw bad('chittyIds holds an id that is not a ChittyID of either grammar')
  return ids
}

/** A validate answer of either wire (src/client/parse.rs `parse_validation`), placeholders included. */
function parseValidation(json) {
  if (json === null || typeof json !== 'object') throw bad('the answer has no boolean `valid`')
  if (json.replaced === true) {
    // The service minted a real id for this placeholder: the placeholder itself is not one,
    // and the new id is given apart (src/client/parse.rs).
    const newId = typeof json.newId === 'string' ? json.newId : ''
    const answer = { valid: false, error: `placeholder id, replaced by ${newId}`, errorCode: 'EPLACEHOLDER' }
    if (idGrammarOf(newId) !== null) answer.replacedBy = newId
    return answer
  }
  if (typeof json.valid !== 'boolean') throw bad('the answer has no boolean `valid`')
  const answer = { valid: json.valid }
  for (const field of ['chittyId', 'entity', 'error']) if (typeof json[field] === 'string') answer[field] = json[field]
  if (json.isError === true) {
    if (answer.error === undefined) answer.error = 'placeholder id (not a minted id)'
    answer.errorCode = 'EPLACEHOLDER'
  }
  return answer
}

module.exports = {
  DEPLOYED_MINT_ROUTES,
  DEPLOYED_HEALTH_PATH,
  mintPayload,
  mintQuery,
  parseMint,
  parseBatch,
  parseValidation,
}
