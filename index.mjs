import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const cjs = require('./index.js')

export const {
  ChittyIDClient,
  mintChittyID,
  validateChittyID,
  ChittyIDEmulator,
  ChittyIDError,
  ChittyIDCache,
  getSharedCache,
  clearSharedCache,
  // v1-compat resilience helpers (DESIGN.md §3)
  RETRY_CONFIG,
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
