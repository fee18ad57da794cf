'use strict'

// The defaults of the portable client (docs/PORTABLE.md). The native client's are defined in
// Rust and read through `clientDefaults()`, which needs the addon; these are the same numbers
// for the options the portable client has, and __test__/portable.test.mjs holds them equal.

function deepFreeze(o) {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v)
  return Object.freeze(o)
}

const DEFAULTS = deepFreeze({
  serviceUrl: 'https://id.chitty.cc/v1',
  timeout: 10000,
  maxResponseBytes: 1048576,
  retry: {
    maxAttempts: 3,
    initialDelayMs: 100,
    maxDelayMs: 5000,
    backoffMultiplier: 2,
    jitter: 0.5,
    maxRetryAfterMs: 30000,
  },
  mintRetry: 'safe',
  circuitBreaker: { failureThreshold: 5, resetTimeout: 60000, monitorWindow: 10000, halfOpenAttempts: 3 },
  cache: { maxSize: 10000, ttlMs: 300000, negativeTtlMs: 30000 },
})

/** `healthCheck()`'s own timeout (README "Methods"); `HEALTH_TIMEOUT_MS` in src/client/config.rs. */
const HEALTH_TIMEOUT_MS = 5000

/**
 * The pause after a 429 without `Retry-After` (README "Rate limits"): 1 s ±20 %, doubling while
 * 429s continue, at most 60 s; a `Retry-After` is capped at 60 s too. src/policy/pause.rs.
 */
const RATE_LIMIT_PAUSE = deepFreeze({ initialMs: 1000, maxMs: 60000, jitter: 0.2 })

/** Mints in flight at once when `mintBatch()` becomes single mints (a service without a batch route). */
const BATCH_FALLBACK_CONCURRENCY = 4

module.exports = { DEFAULTS, HEALTH_TIMEOUT_MS, RATE_LIMIT_PAUSE, BATCH_FALLBACK_CONCURRENCY }
