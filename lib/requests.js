'use strict'

// What a call's arguments must be before anything is sent, for the native client
// (lib/client.js) and the portable one (lib/portable/client.js) alike. No addon here.

const { invalidArgument } = require('./errors.js')
const { entityForId } = require('./id.js')

// Well-formed ids are 22 characters and entity codes at most 7: anything far longer is a
// caller bug, answered locally instead of being shipped to the service.
const MAX_ID_LENGTH = 256
const MAX_ENTITY_LENGTH = 64

const { isPlainObject } = require('./option-checks.js')
const { isWellFormed } = require('./well-formed.js')
const { thrownMessage } = require('./events.js')

/**
 * One mint request, checked: `{ request, body }`, where `request` is a copy of its own fields,
 * each read once, and `body` its JSON. Everything after the check (the body, the wording of a
 * failure, the portable build's payloads) uses the copy, so a getter cannot pass the check with
 * one value and reach the wire or an error message with another. A TypeError
 * (`ERR_INVALID_ARG_VALUE`) for a bad one; an exception of the caller's own getter propagates.
 */
function checkedMintRequest(request) {
  const notAnObject = () => invalidArgument('mint request must be an object like { entity: "PEO" }')
  if (!isPlainObject(request)) throw notAnObject()
  // What JSON.stringify would send: a request's `toJSON()` answer (a request class may have
  // one, on its prototype), else its own fields. That is what is checked and sent.
  let source = request
  const toJSON = request.toJSON
  if (typeof toJSON === 'function') {
    try {
      source = toJSON.call(request, '')
    } catch (err) {
      throw invalidArgument(`mint request cannot be serialized as JSON: ${thrownMessage(err)}`, err)
    }
    if (!isPlainObject(source)) throw notAnObject()
  }
  const copy = { ...source }
  // The answer of toJSON() is sent as it is (JSON.stringify asks only once).
  if (source !== request) delete copy.toJSON
  if (typeof copy.entity !== 'string' || copy.entity === '') {
    throw invalidArgument('mint request needs a non-empty string "entity"')
  }
  if (copy.entity.length > MAX_ENTITY_LENGTH) {
    throw invalidArgument(`mint request "entity" is longer than ${MAX_ENTITY_LENGTH} characters`)
  }
  if (copy.name !== undefined && typeof copy.name !== 'string') {
    throw invalidArgument('mint request "name" must be a string')
  }
  let body
  try {
    body = JSON.stringify(copy)
  } catch (err) {
    throw invalidArgument(`mint request cannot be serialized as JSON: ${thrownMessage(err)}`, err)
  }
  return { request: copy, body }
}

/**
 * The requests of a batch mint, each checked (`checkedMintRequest`), and the batch body. Every
 * position is read once, holes included: a sparse array's hole is not a request.
 */
function checkedMintBatch(requests) {
  if (!Array.isArray(requests)) throw invalidArgument('mintBatch expects an array of mint requests')
  // By index, not by the array's (replaceable) iterator.
  const checked = []
  for (let i = 0; i < requests.length; i++) checked.push(checkedMintRequest(requests[i]))
  return {
    requests: checked.map((c) => c.request),
    body: `{"requests":[${checked.map((c) => c.body).join(',')}]}`,
  }
}

/** Why `validate(id)` answers `{ valid: false, error }` without asking the service, or undefined. */
function idProblem(id) {
  if (typeof id !== 'string') return 'ChittyID must be a string'
  if (id.length > MAX_ID_LENGTH) return `ChittyID is longer than ${MAX_ID_LENGTH} characters`
  if (!isWellFormed(id)) return 'ChittyID is not well-formed Unicode (lone surrogate)'
  return undefined
}

/** A cached verdict as `validate()` answers it; the entity follows from the type letter. */
function cachedAnswer(id, valid) {
  if (!valid) return { valid: false, chittyId: id }
  const entity = entityForId(id)
  return entity ? { valid: true, chittyId: id, entity } : { valid: true, chittyId: id }
}

module.exports = { cachedAnswer, checkedMintRequest, checkedMintBatch, idProblem }
