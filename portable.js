'use strict'

// The portable entry (docs/PORTABLE.md): chosen by the `workerd`, `worker`, `browser` and
// `edge-light` export conditions, or imported as `@chittyos/chittyid-client/portable`. The same
// API as index.js over the runtime's `fetch`, without the native addon; what needs the addon
// or a Node server is exported as a stand-in that throws `ERR_CHITTYID_UNSUPPORTED` when used.

const { ChittyIDClient, mintChittyID, validateChittyID } = require('./lib/portable/client.js')
const { ChittyIDError } = require('./lib/errors.js')
const { validateFormat, parse } = require('./lib/format.js')
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

module.exports = {
  ChittyIDClient,
  mintChittyID,
  validateChittyID,
  validateFormat,
  parse,
  ChittyIDError,
  /** `'portable'` here, `'native'` in index.js: which build the export conditions chose. */
  RUNTIME: 'portable',
  ChittyIDEmulator: unavailableClass(
    'ChittyIDEmulator',
    'it is a server; run it under Node and point serviceUrl at it',
    ['start'],
  ),
  registerMetrics: unavailable('registerMetrics()', 'there are no Prometheus metrics here'),
  ChittyIDCache: unavailableClass('ChittyIDCache', NEEDS_NODE),
  getSharedCache: unavailable('getSharedCache()', NEEDS_NODE),
  clearSharedCache: unavailable('clearSharedCache()', NEEDS_NODE),
  withRetry: unavailable('withRetry()', NEEDS_NODE),
  CircuitBreaker: unavailableClass('CircuitBreaker', NEEDS_NODE),
  getCircuitBreaker: unavailable('getCircuitBreaker()', NEEDS_NODE),
  withResilience: unavailable('withResilience()', NEEDS_NODE),
  ConnectionState: Object.freeze({
    DISCONNECTED: 'DISCONNECTED',
    CONNECTING: 'CONNECTING',
    CONNECTED: 'CONNECTED',
    RECONNECTING: 'RECONNECTING',
    FAILED: 'FAILED',
  }),
  ChittyIDConnectionManager: unavailableClass(
    'ChittyIDConnectionManager',
    'its background health checks would outlive the request',
  ),
  getSharedConnectionManager: unavailable(
    'getSharedConnectionManager()',
    'its background health checks would outlive the request',
  ),
  resetSharedConnectionManager: unavailable(
    'resetSharedConnectionManager()',
    'its background health checks would outlive the request',
  ),
  default: ChittyIDClient,
}
Object.defineProperty(module.exports, '__esModule', { value: true })
