'use strict'

// The defaults of the portable client (docs/PORTABLE.md), read from the options table
// lib/options.json, the one home of every default, which the native client's Rust code is built
// from too (docs/ARCHITECTURE.md "Options").

const { TABLE, numericDefaults, defaultOf } = require('../option-checks.js')

function deepFreeze(o) {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v)
  return Object.freeze(o)
}

const cache = numericDefaults('cache')

const DEFAULTS = deepFreeze({
  serviceUrl: defaultOf('serviceUrl'),
  timeout: defaultOf('timeout'),
  maxResponseBytes: defaultOf('maxResponseBytes'),
  retry: numericDefaults('retry'),
  mintRetry: defaultOf('retry.mint'),
  circuitBreaker: numericDefaults('circuitBreaker'),
  // The portable cache has no stale answers.
  cache: { maxSize: cache.maxSize, ttlMs: cache.ttlMs, negativeTtlMs: cache.negativeTtlMs },
})

/** `healthCheck()`'s own timeout (README "Methods"). */
const HEALTH_TIMEOUT_MS = TABLE.fixed.healthTimeoutMs

/**
 * The pause after a 429 without `Retry-After` (docs/OPERATIONS.md "Pause after a 429"): 1 s ±20 %, doubling while
 * 429s continue, at most 60 s; a `Retry-After` is capped at 60 s too. src/policy/pause.rs.
 */
const PAUSE = deepFreeze({
  initialMs: TABLE.fixed.pauseInitialMs,
  maxMs: TABLE.fixed.pauseMaxMs,
  jitter: TABLE.fixed.pauseJitter,
})

/** Mints in flight at once when `mintBatch()` becomes single mints (a service without a batch route). */
const BATCH_FALLBACK_CONCURRENCY = TABLE.fixed.batchFallbackConcurrency

module.exports = { DEFAULTS, HEALTH_TIMEOUT_MS, PAUSE, BATCH_FALLBACK_CONCURRENCY }
