// ESM face of the portable entry (portable.js): the same exports, with the ChittyIDClient class
// as the default export, as index.mjs does for the native one.
import cjs from './portable.js'

export const {
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
} = cjs
export default cjs.ChittyIDClient
