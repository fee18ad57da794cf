'use strict'

// The portable entry (docs/PORTABLE.md): chosen by the `workerd`, `worker`, `browser` and
// `edge-light` export conditions, or imported as `@chittyos/chittyid-client/portable`. The same
// API as index.js over the runtime's `fetch`, without the native addon; what needs the addon
// or a Node server is exported as a stand-in that throws `ERR_CHITTYID_UNSUPPORTED` when used.
// Its names are index.js's but RETRY_CONFIG and TRACING_CHANNEL (__test__/imports.test.mjs).

const { ChittyIDClient, mintChittyID, validateChittyID } = require('./lib/portable/client.js')
const { ChittyIDError } = require('./lib/errors.js')
const { validateFormat, parse } = require('./lib/id.js')
const { ConnectionState } = require('./lib/connection-state.js')
const { unsupported } = require('./lib/portable/options.js')

/** A function that throws, standing for a native export the portable build cannot have. */
function unavailable(name, why) {
  return function () {
    throw unsupported(name, why)
  }
}

/** A class whose constructor and static methods throw, for the same reason. */
function unavailableClass(name, why, statics = []) {
  const C = class {
    constructor() {
      throw unsupported(name, why)
    }
  }
  Object.defineProperty(C, 'name', { value: name })
  for (const s of statics) C[s] = unavailable(`${name}.${s}()`, why)
  return C
}

const NEEDS_NODE = 'it needs the native addon; run it under Node'
const OUTLIVES_REQUEST = 'its background health checks would outlive the request'

/** `'portable'` here, `'native'` in index.js: which build the export conditions chose. */
const RUNTIME = 'portable'
const ChittyIDEmulator = unavailableClass(
  'ChittyIDEmulator',
  'it is a server; run it under Node and point serviceUrl at it',
  ['start'],
)
const registerMetrics = unavailable('registerMetrics()', 'there are no Prometheus metrics here')
const ChittyIDCache = unavailableClass('ChittyIDCache', NEEDS_NODE)
const getSharedCache = unavailable('getSharedCache()', NEEDS_NODE)
const clearSharedCache = unavailable('clearSharedCache()', NEEDS_NODE)
const withRetry = unavailable('withRetry()', NEEDS_NODE)
const CircuitBreaker = unavailableClass('CircuitBreaker', NEEDS_NODE)
const getCircuitBreaker = unavailable('getCircuitBreaker()', NEEDS_NODE)
const withResilience = unavailable('withResilience()', NEEDS_NODE)
const ChittyIDConnectionManager = unavailableClass('ChittyIDConnectionManager', OUTLIVES_REQUEST)
const getSharedConnectionManager = unavailable('getSharedConnectionManager()', OUTLIVES_REQUEST)
const resetSharedConnectionManager = unavailable('resetSharedConnectionManager()', OUTLIVES_REQUEST)

// A literal of names only, as in index.js: Node reads the named exports of portable.mjs
// (`export * from './portable.js'`) from it.
module.exports = {
  ChittyIDClient,
  mintChittyID,
  validateChittyID,
  validateFormat,
  parse,
  ChittyIDError,
  RUNTIME,
  ChittyIDEmulator,
  registerMetrics,
  ChittyIDCache,
  getSharedCache,
  clearSharedCache,
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
Object.defineProperty(module.exports, '__esModule', { value: true })
