'use strict'

// The Node process's own `process` object. It differs from the one a test file sees where the
// test runner runs the file in a VM context of its own with a copy of `process` (jest, vitest's
// vm pools): a test may replace that copy's `env` with an object of its own
// (`process.env = { ... }`), while the process's own keeps what the runner set there
// (lib/test-runner.js). Node only: the portable build has no way out of its context.

const vm = require('node:vm')

let host

/** The main context's `process` (the very `process` outside a VM context), or undefined. */
function hostProcess() {
  if (host === undefined) {
    try {
      // Code run by runInThisContext sees the main context's globals, not the caller's.
      const proc = vm.runInThisContext('typeof process === "object" ? process : null')
      host = proc !== null && typeof proc === 'object' ? proc : null
    } catch {
      host = null
    }
  }
  return host === null ? undefined : host
}

module.exports = { hostProcess }
