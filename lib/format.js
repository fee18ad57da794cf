'use strict'

// validateFormat runs here, in JS: V8's regex costs ~50 ns, while any call into the native
// addon with a string argument costs ~300 ns before doing any work. `src/format.rs` holds
// the same grammar for the native side; __test__/format.test.mjs proves they agree.
// This module loads without the native addon: the portable build (portable.js) imports it.
const CHITTY_ID = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/

function validateFormat(id) {
  return typeof id === 'string' && CHITTY_ID.test(id)
}

// The T letter of an id names its entity (README "Methods"). src/format.rs holds the same
// table (entityTypeLetters()); __test__/format.test.mjs holds the two equal.
const ENTITY_BY_TYPE_LETTER = Object.freeze({ P: 'PEO', L: 'PLACE', T: 'PROP', E: 'EVNT', A: 'AUTH', I: 'INFO', F: 'FACT', C: 'CONTEXT', R: 'ACTOR' })

/** The entity of a well-formed id, from its type letter (position 14). */
function entityForId(id) {
  return validateFormat(id) ? ENTITY_BY_TYPE_LETTER[id[14]] : undefined
}

/** The fields of a well-formed id (the native `parseChittyId`'s shape), or null. */
function parse(id) {
  if (!validateFormat(id)) return null
  const [version, generation, location, sequence, entityType, yearMonth, check, extension] = id.split('-')
  return { version, generation, location, sequence, entityType, yearMonth, check, extension }
}

// The deployed service's reserved error space: G = 0, LLL = ERR, SSSS 0000-0099.
const PLACEHOLDER_ID = /^[0-9]{2}-0-ERR-00[0-9]{2}-/

/** Whether `id` is a placeholder the deployed service hands out when it could not mint. */
function isPlaceholderId(id) {
  return typeof id === 'string' && PLACEHOLDER_ID.test(id)
}

module.exports = { validateFormat, entityForId, parse, isPlaceholderId, CHITTY_ID }
