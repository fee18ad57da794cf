'use strict'

// What a call's arguments must be before anything is sent, for the native client
// (lib/client.js) and the portable one (lib/portable/client.js) alike. No addon here.

const { invalidArgument } = require('./errors.js')
const { entityForId } = require('./format.js')

// Well-formed ids are 22 characters and entity codes at most 7: anything far longer is a
// caller bug, answered locally instead of being shipped to the service.
const MAX_ID_LENGTH = 256
const MAX_ENTITY_LENGTH = 64

const { isPlainObject } = require('./option-checks.js')
const { isWellFormed } = require('./well-formed.js')

/** The JSON body of one mint request; a TypeError (`ERR_INVALID_ARG_VALUE`) for a bad one. */
function serializeMintRequest(request) {
  if (!isPlainObject(request)) throw invalidArgument('mint request must be an object like { entity: "PEO" }')
  if (typeof request.entity !== 'string' || request.entity === '') {
    throw invalidArgument('mint request needs a non-empty string "entity"')
  }
  if (request.entity.length > MAX_ENTITY_LENGTH) {
    throw invalidArgument(`mint request "entity" is longer than ${MAX_ENTITY_LENGTH} characters`)
  }
  if (request.name !== undefined && typeof request.name !== 'string') {
    throw invalidArgument('mint request "name" must be a string')
  }
  try {
    return JSON.stringify(request)
  } catch (err) {
    throw invalidArgument(`mint request cannot be serialized as JSON: ${err.message}`, err)
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

module.exports = { cachedAnswer, serializeMintRequest, idProblem, MAX_ID_LENGTH, MAX_ENTITY_LENGTH }
