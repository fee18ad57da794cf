'use strict'

const native = require('../binding.js')

// validateFormat runs here, in JS: V8's regex costs ~50 ns, while any call into the native
// addon with a string argument costs ~300 ns before doing any work. `src/format.rs` holds
// the same grammar for the native side; __test__/format.test.mjs proves they agree.
const CHITTY_ID = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/

function validateFormat(id) {
  return typeof id === 'string' && CHITTY_ID.test(id)
}

// The T letter of an id names its entity (README "Methods"); the table is src/format.rs's.
const ENTITY_BY_TYPE_LETTER = Object.freeze(Object.fromEntries(native.entityTypeLetters().map(({ entity, letter }) => [letter, entity])))

/** The entity of a well-formed id, from its type letter (position 14). */
function entityForId(id) {
  return validateFormat(id) ? ENTITY_BY_TYPE_LETTER[id[14]] : undefined
}

module.exports = { validateFormat, entityForId, CHITTY_ID }
