'use strict'

// The native entry (CommonJS): assembles every public export in one place (docs/ARCHITECTURE.md
// "Entry points and loading"); index.mjs re-exports it.

// First, so that a machine without a fitting addon fails here with the error saying what to do
// (lib/native/index.js, the one way into the addon, which the modules below use too).
require('./lib/native/index.js')

const { ChittyIDClient, mintChittyID, validateChittyID } = require('./lib/client.js')
const { ChittyIDEmulator } = require('./lib/emulator.js')
const { ChittyIDError } = require('./lib/errors.js')
const { validateFormat, parse } = require('./lib/id.js')
const { registerMetrics } = require('./lib/metrics.js')
const { CHANNEL_NAME: TRACING_CHANNEL } = require('./lib/tracing.js')
const { ChittyIDCache, getSharedCache, clearSharedCache } = require('./lib/compat/cache.js')
const {
  RETRY_CONFIG,
  withRetry,
  CircuitBreaker,
  getCircuitBreaker,
  withResilience,
} = require('./lib/compat/resilience.js')
const {
  ConnectionState,
  ChittyIDConnectionManager,
  getSharedConnectionManager,
  resetSharedConnectionManager,
} = require('./lib/compat/connection-manager.js')

// `'native'` here, `'portable'` in portable.js: which build the export conditions chose.
const RUNTIME = 'native'

// A literal of names only (shorthand or `name: identifier`): Node finds the named exports of
// index.mjs (`export * from './index.js'`) by reading it, and stops at any other value.
module.exports = {
  ChittyIDClient,
  mintChittyID,
  validateChittyID,
  validateFormat,
  parse,
  ChittyIDEmulator,
  ChittyIDError,
  RUNTIME,
  // observability (docs/OPERATIONS.md "Observability")
  registerMetrics,
  TRACING_CHANNEL,
  ChittyIDCache,
  getSharedCache,
  clearSharedCache,
  // v1-compat resilience helpers (docs/MIGRATION.md "The compat layer")
  RETRY_CONFIG,
  withRetry,
  CircuitBreaker,
  getCircuitBreaker,
  withResilience,
  ConnectionState,
  ChittyIDConnectionManager,
  getSharedConnectionManager,
  resetSharedConnectionManager,
  default: ChittyIDClient,
}
// The default export is `.default` for TypeScript's and bundlers' CommonJS interop
// (`import ChittyIDClient from` compiled to `require`), as tsc-built packages mark it.
Object.defineProperty(module.exports, '__esModule', { value: true })
