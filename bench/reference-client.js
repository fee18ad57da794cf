'use strict'

// The pure-JS reference client the native client is measured against (docs/ARCHITECTURE.md "Performance bars"): what a
// user would otherwise assemble from undici (keep-alive Pool), lru-cache and cockatiel
// (retry + circuit breaker), with the same wire calls and the same policies as the native
// client:
//   mint     POST ${serviceUrl}/mint, JSON body, Content-Type, Idempotency-Key (one per
//            logical mint, reused by its retries), Authorization when an apiKey is set
//   validate GET ${serviceUrl}/validate/${encodeURIComponent(id)}, answers cached (LRU
//            10,000, TTL 5 min; `cache: false` turns it off, as the native client's option
//            does), concurrent lookups of one uncached id share a request
//   retry    3 attempts, 100 ms × 2 capped at 5 s with jitter, honours Retry-After; only
//            transport failures, timeouts, 408, 429, 502, 503, 504
//   breaker  opens after 5 counted failures within 10 s, fails fast for 60 s, then half-open;
//            4xx other than 408/429 do not count
// Differences that come from the libraries, not from the policy: cockatiel's half-open
// state closes after one successful trial call (the native client's default `halfOpenAttempts`: three).

const crypto = require('node:crypto')
const { Pool } = require('undici')
const { LRUCache } = require('lru-cache')
const { retry, circuitBreaker, handleWhen, wrap, DelegateBackoff, BrokenCircuitError } = require('cockatiel')

const FORMAT = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/
const RETRYABLE_STATUS = new Set([408, 429, 502, 503, 504])
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
])

class HttpStatusError extends Error {
  constructor(status, statusText, retryAfter) {
    super(`ChittyID service error: ${status} ${statusText}`)
    this.status = status
    this.retryAfter = retryAfter
  }
}

function transportCode(err) {
  return err.code || (err.cause && err.cause.code)
}

function isRetryable(err) {
  if (err instanceof HttpStatusError) return RETRYABLE_STATUS.has(err.status)
  return RETRYABLE_CODES.has(transportCode(err))
}

/** Client errors say the service is up; everything else is a service failure. */
function countsForBreaker(err) {
  if (err instanceof HttpStatusError) return err.status >= 500 || err.status === 408 || err.status === 429
  return !(err instanceof BrokenCircuitError)
}

function retryAfterMs(value) {
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const at = Date.parse(value)
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined
}

/** Opens after `threshold` failures within `windowMs`; successes do not clear the window. */
class WindowBreaker {
  constructor(threshold, windowMs) {
    this.threshold = threshold
    this.windowMs = windowMs
    this.failures = []
  }

  get state() {
    return { failures: this.failures.slice() }
  }

  set state(value) {
    this.failures = value && Array.isArray(value.failures) ? value.failures.slice() : []
  }

  success() {}

  failure() {
    const now = Date.now()
    const since = now - this.windowMs
    let drop = 0
    while (drop < this.failures.length && this.failures[drop] <= since) drop++
    if (drop) this.failures.splice(0, drop)
    this.failures.push(now)
    if (this.failures.length < this.threshold) return false
    this.failures.length = 0
    return true
  }
}

function reason(err) {
  if (err instanceof HttpStatusError) return err.message
  return `fetch failed (${transportCode(err) || err.message})`
}

function failure(what, err) {
  if (err instanceof BrokenCircuitError) {
    const e = new Error(`ChittyID service unavailable - ${what}: circuit breaker is OPEN`)
    e.code = 'ECIRCUITOPEN'
    e.circuitBreakerState = 'OPEN'
    return e
  }
  const e = new Error(`ChittyID service unavailable - ${what}: ${reason(err)}`, { cause: err })
  e.code = err instanceof HttpStatusError ? 'EHTTPSTATUS' : transportCode(err) || 'ECONNRESET'
  if (err instanceof HttpStatusError) e.status = err.status
  return e
}

class ReferenceClient {
  constructor(config = {}) {
    const serviceUrl = (config.serviceUrl || 'https://id.chitty.cc/v1').replace(/\/+$/, '')
    const base = new URL(serviceUrl)
    this.serviceUrl = serviceUrl
    this.basePath = base.pathname === '/' ? '' : base.pathname
    this.timeout = config.timeout || 10000
    this.pool = new Pool(base.origin, {
      ...(config.ca ? { connect: { ca: config.ca } } : {}),
      ...(config.allowH2 ? { allowH2: true } : {}),
      keepAliveTimeout: 60000,
      headersTimeout: this.timeout,
      bodyTimeout: this.timeout,
    })
    this.headers = { accept: 'application/json', 'user-agent': 'chittyid-reference/2.0.0' }
    if (config.apiKey) this.headers.authorization = `Bearer ${config.apiKey}`
    this.postHeaders = { ...this.headers, 'content-type': 'application/json' }

    const retryOpts = config.retry || {}
    const initial = retryOpts.initialDelayMs ?? 100
    const cap = retryOpts.maxDelayMs ?? 5000
    const multiplier = retryOpts.backoffMultiplier ?? 2
    const backoff = new DelegateBackoff((context) => {
      const fromServer =
        context.result && 'error' in context.result ? retryAfterMs(context.result.error.retryAfter) : undefined
      if (fromServer !== undefined) return Math.min(fromServer, 60000)
      const exp = Math.min(cap, initial * multiplier ** (context.attempt - 1))
      return exp * (0.5 + Math.random() * 0.5)
    })
    const retryPolicy = retry(handleWhen(isRetryable), {
      maxAttempts: (retryOpts.maxAttempts ?? 3) - 1,
      backoff,
    })
    const breakerOpts = config.circuitBreaker || {}
    this.breaker = circuitBreaker(handleWhen(countsForBreaker), {
      halfOpenAfter: breakerOpts.resetTimeout ?? 60000,
      breaker: new WindowBreaker(breakerOpts.failureThreshold ?? 5, breakerOpts.monitorWindow ?? 10000),
    })
    this.policy = config.retry === false ? this.breaker : wrap(retryPolicy, this.breaker)

    this.cache =
      config.cache === false
        ? null
        : new LRUCache({ max: config.cacheMaxSize ?? 10000, ttl: config.cacheTtlMs ?? 300000 })
    this.inflight = new Map()
  }

  async #request(method, path, body, extraHeaders) {
    const res = await this.pool.request({
      method,
      path: this.basePath + path,
      headers: extraHeaders || (body === undefined ? this.headers : this.postHeaders),
      body,
    })
    const text = await res.body.text()
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new HttpStatusError(res.statusCode, STATUS_TEXT[res.statusCode] || '', res.headers['retry-after'])
    }
    return JSON.parse(text)
  }

  async mint(request) {
    if (!request || typeof request.entity !== 'string' || request.entity === '') {
      throw new TypeError('mint request needs a non-empty string "entity"')
    }
    const body = JSON.stringify(request)
    const headers = { ...this.postHeaders, 'idempotency-key': crypto.randomUUID() }
    let answer
    try {
      answer = await this.policy.execute(() => this.#request('POST', '/mint', body, headers))
    } catch (err) {
      throw failure(`cannot mint ${request.entity} ID`, err)
    }
    if (typeof answer.chittyId !== 'string') {
      throw failure(`cannot mint ${request.entity} ID`, new Error('the answer has no string chittyId'))
    }
    return answer.chittyId
  }

  validateFormat(id) {
    return typeof id === 'string' && FORMAT.test(id)
  }

  async validate(id) {
    if (typeof id !== 'string') return { valid: false, error: 'ChittyID must be a string' }
    const cached = this.cache === null ? undefined : this.cache.get(id)
    if (cached !== undefined) return cached ? { valid: true, chittyId: id } : { valid: false }
    let pending = this.inflight.get(id)
    if (!pending) {
      pending = this.#lookup(id).finally(() => this.inflight.delete(id))
      this.inflight.set(id, pending)
    }
    return pending
  }

  async #lookup(id) {
    try {
      const answer = await this.policy.execute(() => this.#request('GET', `/validate/${encodeURIComponent(id)}`))
      if (typeof answer.valid !== 'boolean') throw new Error('the answer has no boolean valid')
      if (this.cache !== null) this.cache.set(id, answer.valid)
      const out = { valid: answer.valid }
      if (answer.chittyId != null) out.chittyId = answer.chittyId
      if (answer.entity != null) out.entity = answer.entity
      if (answer.error != null) out.error = answer.error
      return out
    } catch (err) {
      if (err instanceof HttpStatusError) return { valid: false, error: `Service error: ${err.status}` }
      const fallback = failure('cannot validate', err)
      return { valid: this.validateFormat(id), error: fallback.message }
    }
  }

  getStats() {
    const cache = this.cache === null ? null : { size: this.cache.size, maxSize: this.cache.max }
    return { cache, breaker: this.breaker.state }
  }

  async close() {
    await this.pool.close()
  }
}

const STATUS_TEXT = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

module.exports = { ReferenceClient, WindowBreaker }
