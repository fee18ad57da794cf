'use strict'

// Drop-in replacements for the retry and circuit breaker helpers services wrote around v1
// (docs/MIGRATION.md "The compat layer"). The state machine and the backoff schedule are the Rust code the client
// uses (src/policy/breaker.rs, src/policy/retry.rs via src/bindings/compat.rs); only the caller's callback
// runs here.

const native = require('../native/index.js')
const { invalidArgument, circuitOpenError, rejectLater } = require('../errors.js')
const { shown } = require('../option-checks.js')
const { DEFAULTS } = require('../options.js')

/** Defaults of `withRetry`: the client's retry defaults and retryable errors (lib/options.js). */
const RETRY_CONFIG = {
  maxAttempts: DEFAULTS.retry.maxAttempts,
  initialDelayMs: DEFAULTS.retry.initialDelayMs,
  maxDelayMs: DEFAULTS.retry.maxDelayMs,
  backoffMultiplier: DEFAULTS.retry.backoffMultiplier,
  retryableErrors: [...DEFAULTS.retryableErrors],
}

/** Longest wait a Node timer holds; longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Runs a native call that validates options, turning its failure into a TypeError. */
function checked(what, call) {
  try {
    return call()
  } catch (err) {
    throw invalidArgument(`${what}: ${err.message}`)
  }
}

/**
 * `into` with the numeric `fields` of `from` checked for their type, each read once: `null` and
 * `undefined` leave the field unset (`defaults`' value, if any); anything but a number is a
 * TypeError naming the field. The ranges are checked natively, in the client's words.
 */
function numericFields(into, from, fields, what, defaults = {}) {
  for (const field of fields) {
    const value = from[field]
    if (value === undefined || value === null) {
      if (defaults[field] === undefined) delete into[field]
      else into[field] = defaults[field]
    } else if (typeof value !== 'number') {
      throw invalidArgument(`${what}: "${field}" must be a number, got ${shown(value)}`)
    } else into[field] = value
  }
  return into
}

const RETRY_NUMBERS = ['maxAttempts', 'initialDelayMs', 'maxDelayMs', 'backoffMultiplier', 'jitter', 'maxRetryAfterMs']
const BREAKER_NUMBERS = ['failureThreshold', 'resetTimeout', 'monitorWindow', 'halfOpenAttempts']

/** A validated copy of `config` over the defaults; a retry in flight never sees later edits. */
function retryConfigOf(config) {
  if (config === undefined || config === null) config = {}
  if (typeof config !== 'object') throw invalidArgument('withRetry config must be an object')
  const merged = { ...RETRY_CONFIG, ...config }
  numericFields(merged, { ...merged }, RETRY_NUMBERS, 'invalid withRetry config', RETRY_CONFIG)
  // Copied before it is checked, by index (a hole is not a string), so the list checked is the
  // list used.
  const list = merged.retryableErrors
  const bad = () => invalidArgument('withRetry config "retryableErrors" must be an array of strings')
  if (!Array.isArray(list)) throw bad()
  const retryableErrors = []
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]
    if (typeof entry !== 'string') throw bad()
    retryableErrors.push(entry)
  }
  merged.retryableErrors = retryableErrors
  checked('invalid withRetry config', () => native.compatCheckRetryOptions(merged))
  return merged
}

function isRetryable(err, retryableErrors) {
  const code = err !== null && typeof err === 'object' && typeof err.code === 'string' ? err.code : null
  const message =
    err !== null && typeof err === 'object' && err.message !== undefined ? String(err.message) : String(err)
  return native.compatIsRetryable(code, message, retryableErrors)
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.min(ms, MAX_TIMER_MS)))
}

/**
 * Calls the async `fn` until it succeeds, retrying errors whose `code` equals, or whose message
 * contains (ignoring case), an entry of `retryableErrors`. Waits `initialDelayMs`, then
 * `× backoffMultiplier` each time, capped at `maxDelayMs`; gives up after `maxAttempts` calls
 * and rethrows the last error. A non-retryable error is rethrown after its one attempt.
 * Fields missing from `config` take their `RETRY_CONFIG` value.
 */
async function withRetry(fn, config = RETRY_CONFIG) {
  if (typeof fn !== 'function') throw invalidArgument('withRetry expects a function')
  return retrying(fn, retryConfigOf(config))
}

async function retrying(fn, cfg) {
  // Bounded: compatRetryDelay answers null once `maxAttempts` (a validated u32) is used up.
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (!isRetryable(err, cfg.retryableErrors)) throw err
      const delay = native.compatRetryDelay(cfg, attempt)
      if (delay === null || delay === undefined) throw err
      await sleep(delay)
    }
  }
}

/**
 * CLOSED → OPEN after `failureThreshold` failures inside `monitorWindow` ms; OPEN rejects at once
 * until `resetTimeout` ms after the last failure, then admits trial calls (HALF_OPEN);
 * `halfOpenAttempts` successes close it, a failure re-opens it.
 */
class CircuitBreaker {
  #native

  constructor(options = {}) {
    if (options === null || typeof options !== 'object')
      throw invalidArgument('CircuitBreaker options must be an object')
    const numbers = numericFields({}, options, BREAKER_NUMBERS, 'invalid CircuitBreaker options')
    this.#native = checked('invalid CircuitBreaker options', () => new native.NativeCircuitBreaker(numbers))
  }

  /** "CLOSED", "OPEN" or "HALF_OPEN". */
  get state() {
    return this.#native.state
  }

  /**
   * Runs `fn` if the circuit admits it and records the outcome; rejects at once when OPEN, and
   * while HALF_OPEN when `halfOpenAttempts` trial calls are already running.
   */
  execute(fn) {
    if (typeof fn !== 'function') return rejectLater(invalidArgument('CircuitBreaker.execute expects a function'))
    let admission
    try {
      admission = this.#native.admit()
    } catch (err) {
      return rejectLater(err)
    }
    if (admission.code !== 0) return rejectLater(circuitOpenError(admission.code))
    return this.#run(fn, admission.trial)
  }

  /** `trial`: the HALF_OPEN trial slot `fn` holds, ended with its outcome. */
  async #run(fn, trial) {
    let result
    try {
      result = await fn()
    } catch (err) {
      this.#native.recordFailure(trial)
      throw err
    }
    this.#native.recordSuccess(trial)
    return result
  }

  /** A snapshot; times are ms since the Unix epoch, `lastFailure` is null before any failure. */
  getState() {
    const s = this.#native.snapshot()
    return {
      state: s.state,
      failures: s.failures,
      lastFailure: s.lastFailure ?? null,
      lastStateChange: s.lastStateChange,
      uptimeMs: s.uptimeMs,
      halfOpenSuccesses: s.halfOpenSuccesses,
      config: { failureThreshold: s.failureThreshold, resetTimeout: s.resetTimeout, monitorWindow: s.monitorWindow },
    }
  }

  /** Back to CLOSED with every counter cleared. */
  reset() {
    this.#native.reset()
  }
}

let sharedBreaker = null

/** The process-wide breaker, created with `options` on the first call (later options are ignored). */
function getCircuitBreaker(options) {
  if (sharedBreaker === null) sharedBreaker = new CircuitBreaker(options)
  return sharedBreaker
}

/**
 * `withRetry(fn, retryConfig)` run inside the shared breaker (`getCircuitBreaker(circuitBreakerConfig)`):
 * a call whose retries are exhausted counts as one failure.
 */
async function withResilience(fn, options) {
  if (typeof fn !== 'function') throw invalidArgument('withResilience expects a function')
  // `null` as no options, as `undefined` (destructuring it threw an untyped TypeError).
  const { retryConfig = RETRY_CONFIG, circuitBreakerConfig } = options ?? {}
  const cfg = retryConfigOf(retryConfig)
  return getCircuitBreaker(circuitBreakerConfig).execute(() => retrying(fn, cfg))
}

module.exports = { RETRY_CONFIG, withRetry, CircuitBreaker, getCircuitBreaker, withResilience }
