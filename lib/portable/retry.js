'use strict'

// Retry decisions of the portable client: the same rules as src/policy/retry.rs (backoff, jitter,
// Retry-After) and the mint rule of docs/ARCHITECTURE.md "Retry safety".

/** Statuses worth another attempt (`is_retryable_status` in src/policy/retry.rs). */
const RETRYABLE_STATUS = new Set([408, 429, 502, 503, 504])

/** `ms` rounded into `[0, max]` (`clamp_to_max` in src/policy/retry.rs). */
function clampToMax(ms, max) {
  if (!(ms > 0)) return 0
  return ms < max ? Math.min(Math.round(ms), max) : max
}

/** `min(initialDelayMs * multiplier^retryIndex, maxDelayMs)`; retryIndex 0 is the first retry. */
function baseDelayMs(policy, retryIndex) {
  if (policy.initialDelayMs === 0) return 0
  return clampToMax(policy.initialDelayMs * Math.pow(policy.backoffMultiplier, retryIndex), policy.maxDelayMs)
}

/** The base delay spread by `jitter` with `r` in [0, 1), within [0, maxDelayMs]. */
function jitteredDelayMs(policy, retryIndex, r) {
  const base = baseDelayMs(policy, retryIndex)
  const rr = Number.isNaN(r) ? 0.5 : Math.min(Math.max(r, 0), 1)
  const jitter = Number.isNaN(policy.jitter) ? 0 : Math.min(Math.max(policy.jitter, 0), 1)
  return clampToMax(base * (1 + jitter * (2 * rr - 1)), policy.maxDelayMs)
}

/**
 * The wait before the attempt after `attempt` (1-based), or null when attempts are used up or
 * the service asks for a wait longer than `maxRetryAfterMs`. A `retryAfterMs` replaces the backoff.
 */
function nextDelayMs(policy, attempt, retryAfterMs, r = Math.random()) {
  if (attempt >= policy.maxAttempts) return null
  if (retryAfterMs !== undefined) return retryAfterMs > policy.maxRetryAfterMs ? null : retryAfterMs
  return jitteredDelayMs(policy, attempt - 1, r)
}

/** A `Retry-After` value (delta-seconds or an HTTP-date) as ms from `nowMs`; undefined when unreadable. */
function parseRetryAfter(value, nowMs = Date.now()) {
  if (typeof value !== 'string') return undefined
  const v = value.trim()
  if (v === '') return undefined
  if (/^[0-9]+$/.test(v)) return Math.min(Number(v) * 1000, Number.MAX_SAFE_INTEGER)
  // An HTTP-date always names its weekday and zone; Date.parse reads IMF-fixdate, RFC 850 and asctime.
  if (!/[A-Za-z]{3}/.test(v)) return undefined
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(at - nowMs, 0)
}

/** Whether a failure (lib/portable/transport.js) is worth another attempt at all. */
function isRetryable(failure) {
  switch (failure.kind) {
    case 'transport':
    case 'timeout':
    case 'bad':
      return true
    case 'http':
      return RETRYABLE_STATUS.has(failure.status)
    case 'placeholder':
      // A rate-limited placeholder waits at the gate like a 429; others are final (src/error.rs).
      return failure.rateLimited === true
    default:
      return false
  }
}

/**
 * Whether a mint that failed so may be sent again under the "safe" rule: its request provably
 * never left (connect phase; the runtime refused it, `local`) or the service says it did not process it (429; a 503 unless its
 * body names a failure at or after the minting backend, `backendFailed`; a placeholder whose
 * backend refused before minting). src/error.rs `proves_not_processed`.
 */
function mintNotProcessed(failure) {
  if (failure.kind === 'local') return true
  if (failure.kind === 'transport' || failure.kind === 'timeout') return failure.phase === 'connect'
  if (failure.kind === 'http')
    return failure.status === 429 || (failure.status === 503 && failure.backendFailed !== true)
  if (failure.kind === 'placeholder') return failure.retrySafe === true
  return false
}

/** Whether the outcome of a mint that failed so is unknown (it may have minted an id). */
function leavesMintOutcomeUnknown(failure) {
  if (mintNotProcessed(failure)) return false
  switch (failure.kind) {
    case 'transport':
    case 'timeout':
    case 'bad':
    case 'toolarge':
    case 'refused':
      return true
    case 'http':
      return failure.status >= 500
    default:
      return false
  }
}

module.exports = {
  jitteredDelayMs,
  nextDelayMs,
  parseRetryAfter,
  isRetryable,
  mintNotProcessed,
  leavesMintOutcomeUnknown,
  RETRYABLE_STATUS,
}
