'use strict'

// The portable client's attempt loop (docs/ARCHITECTURE.md "One mint"; src/policy/attempt.rs
// natively): one operation under the policies: the 429 pause, breaker admission, the
// attempt, then retry or not by the rules of ./retry.js. It owns the policies' state (breaker,
// pause) and the counters getStats() reports of them.

const { exchange, failure } = require('./transport.js')
const { nextDelayMs, parseRetryAfter, isRetryable, leavesMintOutcomeUnknown, mintNotProcessed } = require('./retry.js')
const { Breaker } = require('./breaker.js')
const { Pause } = require('./pause.js')

const OPERATIONS = ['mint', 'mintBatch', 'validate', 'healthCheck']

const isRateLimit = (f) => (f.kind === 'http' && f.status === 429) || (f.kind === 'placeholder' && f.rateLimited)

/** Whether the breaker counts a failed attempt (docs/OPERATIONS.md "Circuit breaker": not 4xx but 408, never 429). */
function countsForBreaker(f) {
  switch (f.kind) {
    case 'transport':
    case 'timeout':
    case 'tls':
    case 'bad':
    case 'toolarge':
      return true
    case 'http':
      return f.status >= 500 || f.status === 408
    case 'placeholder':
      // The service cannot mint; a rate limit or a request it found invalid says nothing of its health.
      return !f.rateLimited && f.serviceErrorCode !== 'INVALID_REQUEST'
    default:
      return false
  }
}

/** Waits `ms`, or rejects `{ kind: 'aborted' }` when `signal` aborts first. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject({ kind: 'aborted' })
    const onAbort = () => {
      clearTimeout(timer)
      reject({ kind: 'aborted' })
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** The wording of a non-2xx answer, as src/error.rs words it: a credentials hint on 401/403, the route tried on 404. */
function httpMessage(status, statusText, sent) {
  const message = `ChittyID service error: ${status} ${statusText}`
  if (status === 401 || status === 403) {
    return `${message} (the service refused the request's credentials: the API key is missing, wrong or lacks access; check the apiKey option)`
  }
  if (status === 404) return `${message} (no such route: ${sent.method} ${sent.url})`
  return message
}

class AttemptLoop {
  #o
  #emit
  #redact
  #timeout
  /** The circuit breaker, or null (`circuitBreaker: false`). */
  breaker
  /** The pause after the service's 429. */
  pause
  /** Counted as the native client counts them: every attempt sent, every attempt that failed. */
  stats = Object.fromEntries(OPERATIONS.map((op) => [op, { requests: 0, errors: 0, retries: 0 }]))
  retries = 0

  /**
   * `o`: the checked options (./options.js). `hooks`: `emit(event, payload)`, the client's
   * events; `redact(text)`, free text from the service with the API key redacted; `timeout()`,
   * the per-attempt timeout (the client's `timeout` property, which v1 let callers change).
   */
  constructor(o, { emit, redact, timeout }) {
    this.#o = o
    this.#emit = emit
    this.#redact = redact
    this.#timeout = timeout
    const now = () => Date.now()
    // A trial call that never reports back (its request ended in Workers) frees its slot after
    // its timeout and the longest backoff.
    const trialLimitMs = o.timeout + (o.retry ? o.retry.maxDelayMs : 0)
    this.breaker =
      o.circuitBreaker === null
        ? null
        : new Breaker(o.circuitBreaker, now, (state, failures) => this.#onBreaker(state, failures), trialLimitMs)
    this.pause = new Pause(now)
  }

  #onBreaker(state, failures) {
    if (state === 'OPEN') this.#emit('circuitOpen', { failures, resetTimeout: this.#o.circuitBreaker.resetTimeout })
    else if (state === 'HALF_OPEN') this.#emit('circuitHalfOpen', {})
    else this.#emit('circuitClose', {})
  }

  /** Waits out a 429 pause within the call's timeout; else fails, nothing sent. */
  async waitPause(signal) {
    const left = this.pause.remaining()
    if (left === 0) return
    if (left > this.#timeout()) {
      this.pause.rejected++
      throw failure('ratelimited', {
        code: 'ERATELIMITED',
        retryInMs: left,
        message: `rate limited by the ChittyID service: traffic is paused for another ${left} ms, longer than this call may wait`,
      })
    }
    this.pause.waits++
    await sleep(left, signal)
  }

  /** A 429 answer to an attempt sent in pause `epoch`: pauses traffic, and says so once per pause. */
  rateLimited(operation, epoch, retryAfterMs) {
    const started = this.pause.onRateLimited(epoch, retryAfterMs)
    if (started) this.#emit('rateLimited', { operation, retryInMs: started.ms, retryAfter: started.retryAfter })
  }

  /**
   * Runs operation `op`. `spec`: `request()` (the request to send), `parse(json)` (what a 2xx
   * answer resolves to), `safe` (a mint whose outcome an attempt leaves unknown is not retried),
   * `ctl` (the call's controller, ./calls.js) and `fetchFn`. Rejects with a failure object.
   */
  async run(op, { request, parse: parseAnswer, safe, ctl, fetchFn }) {
    const stats = this.stats[op]
    const policy = this.#o.retry
    const breaker = this.breaker
    if (typeof fetchFn !== 'function')
      throw failure('transport', {
        code: 'EFETCH',
        phase: 'connect',
        message: 'fetch failed: globalThis.fetch is not a function',
      })
    for (let attempt = 1; ; attempt++) {
      if (ctl.stopped()) throw { kind: 'aborted' }
      await this.waitPause(ctl.signal)
      if (ctl.stopped()) throw { kind: 'aborted' }
      const retryInMs = breaker ? breaker.admit() : 0
      if (retryInMs !== 0) throw { kind: 'open', retryInMs }
      const trial = breaker === null ? undefined : breaker.admittedTrial()
      const epoch = this.pause.epoch
      let f
      stats.requests++
      if (ctl.mints) ctl.unsettled++
      try {
        const sent = request()
        const answer = await exchange(fetchFn, {
          ...sent,
          timeoutMs: this.#timeout(),
          maxResponseBytes: this.#o.maxResponseBytes,
          redirects: this.#o.redirects,
          allowInsecure: this.#o.allowInsecure,
          signal: ctl.signal,
        })
        if (answer.status >= 200 && answer.status <= 299) {
          const value = parseAnswer(answer.json)
          if (ctl.mints) {
            ctl.unsettled--
            ctl.minted = true
          }
          if (breaker) breaker.success(trial)
          this.pause.onSuccess()
          return value
        }
        f = failure('http', {
          code: 'EHTTP',
          status: answer.status,
          backendFailed: answer.backendFailed === true,
          retryAfterMs: parseRetryAfter(answer.retryAfter),
          message: httpMessage(answer.status, this.#redact(answer.statusText), sent),
          route: `${sent.method} ${sent.url}`,
        })
      } catch (err) {
        if (err === null || typeof err !== 'object' || typeof err.kind !== 'string') throw err
        if (err.kind === 'aborted') {
          if (breaker) breaker.release(trial)
          throw err
        }
        // A fetch's own words and a placeholder's errorCode may quote what the service sent:
        // free text, redacted (src/error.rs `ClientError::redacted`).
        f = { ...err }
        if (typeof f.message === 'string') f.message = this.#redact(f.message)
        if (typeof f.serviceErrorCode === 'string') f.serviceErrorCode = this.#redact(f.serviceErrorCode)
      }
      stats.errors++
      // Settled as not minted: the service said it did not process it, or refused it (4xx).
      if (ctl.mints && (mintNotProcessed(f) || (f.kind === 'http' && f.status < 500))) ctl.unsettled--
      let opened = false
      if (breaker) {
        if (countsForBreaker(f)) opened = breaker.failure(trial)
        // Neither a 429 nor the runtime's refusal to send says how the service is.
        else if (isRateLimit(f) || f.kind === 'local') breaker.release(trial)
        else breaker.success(trial) // a refusal: the service answered
      }
      if (isRateLimit(f)) this.rateLimited(op, epoch, f.retryAfterMs)
      if (safe && leavesMintOutcomeUnknown(f)) throw { ...f, unknown: true }
      // A refusal (4xx, 408 included) is an answer: final for a mint, never a retry (src/policy/attempt.rs).
      if (safe && !mintNotProcessed(f)) throw f
      if (policy === null || opened || !isRetryable(f)) throw f
      let delay
      if (isRateLimit(f)) {
        if (attempt >= policy.maxAttempts || (f.retryAfterMs !== undefined && f.retryAfterMs > policy.maxRetryAfterMs))
          throw f
        delay = this.pause.remaining()
      } else {
        delay = nextDelayMs(policy, attempt, f.retryAfterMs)
        if (delay === null) throw f
      }
      stats.retries++
      this.retries++
      this.#emit('retry', {
        operation: op,
        attempt,
        delay,
        error: Object.assign(new Error(f.message), { code: f.code }),
      })
      // A 429's wait is the pause's, at the top of the next attempt.
      if (!isRateLimit(f)) await sleep(delay, ctl.signal)
    }
  }

  /** getStats()'s view of the operations, the 429 pause and the breaker. */
  snapshot() {
    const pause = this.pause
    const left = pause.remaining()
    const b = this.breaker
    return {
      requests: Object.fromEntries(OPERATIONS.map((op) => [op, { ...this.stats[op] }])),
      retries: this.retries,
      rejectedByBreaker: b ? b.rejected : 0,
      rateLimit: {
        paused: left > 0,
        retryInMs: left,
        rateLimited: pause.rateLimited,
        pauses: pause.pauses,
        waits: pause.waits,
        rejected: pause.rejected,
      },
      breaker: b
        ? {
            state: b.state,
            failures: b.failures,
            timesOpened: b.timesOpened,
            rejected: b.rejected,
            halfOpenSuccesses: b.halfOpenSuccesses,
          }
        : null,
    }
  }
}

module.exports = { AttemptLoop }
