'use strict'

// The runtime's `process` object, where it has one (Node, Bun, Deno, Workers with
// `nodejs_compat`), read so that it never throws: in workerd a service-worker-syntax script
// with `nodejs_compat` throws an internal error on merely reading `globalThis.process`
// (docs/PORTABLE.md "How the portable client is built", its paragraph "Nothing at load").
// No Node module here: the portable build bundles this file.

/** `globalThis.process`, or undefined where there is none or reading it throws. */
function runtimeProcess() {
  try {
    const proc = globalThis.process
    return proc !== null && typeof proc === 'object' ? proc : undefined
  } catch {
    return undefined
  }
}

module.exports = { runtimeProcess }
