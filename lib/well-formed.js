'use strict'

// Whether a string is well-formed UTF-16 (no lone surrogate): such text crosses into Rust
// unchanged (napi hands Rust UTF-8, where a lone surrogate becomes U+FFFD), and only such text
// can be sent as JSON the service reads back as it was. Portable: no import.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** The check for runtimes without `String.prototype.isWellFormed` (Node 18). */
function hasNoLoneSurrogate(text) {
  return !LONE_SURROGATE.test(text)
}

/** `text.isWellFormed()` where the runtime has it, else the same answer by a regex. */
const isWellFormed = typeof ''.isWellFormed === 'function' ? (text) => text.isWellFormed() : hasNoLoneSurrogate

module.exports = { isWellFormed, hasNoLoneSurrogate }
