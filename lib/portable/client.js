'use strict'

// The portable ChittyIDClient (docs/PORTABLE.md): the native client's API and policies over
// the runtime's `fetch` and timers, for Cloudflare Workers and other fetch runtimes. Nothing
// runs at load or construction (Workers forbid I/O outside a request), no timer outlives the
// call that set it, and nothing here needs the addon or a Node module.

const { Emitter } = require('./emitter.js')
const {
  ChittyIDError,
  invalidArgument,
  abortError,
  circuitOpenError,
  closedError,
  mintFailure,
  BATCH_FAILURE,
} = require('../errors.js')
const { validateIn, parse } = require('../format.js')
const { redactSecret, revealsSecret } = require('../redact.js')
const { createV1, DOT_SEGMENT_ID } = require('../v1.js')
const { emitSafely } = require('../events.js')
const { serializeMintRequest, idProblem, cachedAnswer } = require('../requests.js')
const { portableOptions, callSignal, callIdempotencyKey, callHeaders, unsupported } = require('./options.js')
const { exchange, failure } = require('./transport.js')
const { nextDelayMs, parseRetryAfter, isRetryable, leavesMintOutcomeUnknown, mintNotProcessed } = require('./retry.js')
const { Breaker } = require('./breaker.js')
const { ValidationCache } = require('./cache.js')
const { PauseGate } = require('./rate-limit.js')
const { mintPayload, parseMint, parseBatch, parseValidation } = require('./wire.js')
const { HEALTH_TIMEOUT_MS, BATCH_FALLBACK_CONCURRENCY } = require('./defaults.js')

/** v1's calls (lib/v1.js), for clients with v1 semantics (docs/PORTABLE.md). */
const v1 = createV1({ healthTimeoutMs: HEALTH_TIMEOUT_MS })
/** Workers: every I/O object and timer belongs to the request that made it (docs/PORTABLE.md). */
const REQUEST_SCOPED_IO =
  typeof navigator === 'object' && navigator !== null && navigator.userAgent === 'Cloudflare-Workers'
/** How often a shared validate() request shows it is alive there, and how long a silence means it is gone. */
const HEARTBEAT_MS = 250
const LEADER_SILENT_MS = 1000
const OPERATIONS = ['mint', 'mintBatch', 'validate', 'healthCheck']

function newKey() {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === 'function') return c.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`
}

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

function opStats() {
  return { requests: 0, errors: 0, retries: 0 }
}

class ChittyIDClient extends Emitter {
  #o
  #apiKey
  #origin
  #closed = false
  #breaker
  #cache
  #gate
  /** validate() calls in flight, by id: concurrent callers share one request. */
  #inflight = new Map()
  /**
   * The AbortController of every call in flight, aborted by close(); held weakly, since in
   * Workers a call whose request ended never runs its `finally` and would stay here for good.
   */
  #calls = new Set()
  /** The wire the service speaks: 'v1', 'deployed', or undefined while unknown (wire: 'auto'). */
  #wire
  /** Whether the service has v1's batch route: undefined until a batch call told. */
  #batchRoute
  #stats = Object.fromEntries(OPERATIONS.map((op) => [op, opStats()]))
  #retries = 0
  #placeholders = 0

  constructor(config = {}) {
    super()
    // The emitter's own fields are not enumerable: the client's own enumerable properties are
    // v1's `serviceUrl` and `timeout`, so it compares and prints like v1's (as lib/client.js).
    for (const key of Reflect.ownKeys(this)) Object.defineProperty(this, key, { enumerable: false })
    const o = portableOptions(config)
    this.#o = o
    this.serviceUrl = o.v1 ? o.v1.serviceUrl : o.serviceUrl
    this.timeout = o.timeout
    this.#apiKey = o.apiKey
    if (o.name !== undefined) this.name = o.name
    this.#origin = new URL(o.serviceUrl).origin
    const now = () => Date.now()
    // A trial call that never reports back (its request ended in Workers) frees its slot after
    // its timeout and the longest backoff.
    const trialLimitMs = o.timeout + (o.retry ? o.retry.maxDelayMs : 0)
    this.#breaker =
      o.circuitBreaker === null
        ? null
        : new Breaker(o.circuitBreaker, now, (state, failures) => this.#onBreaker(state, failures), trialLimitMs)
    this.#cache = o.cache === null ? null : new ValidationCache(o.cache, now)
    this.#gate = new PauseGate(now)
    this.#wire = o.wire === 'auto' ? undefined : o.wire
  }

  /** The configured key (not enumerable, so it never shows up in logs of the client). */
  get apiKey() {
    return this.#apiKey
  }

  /** Always `'fetch'`: every exchange is the runtime's `fetch`. */
  get transport() {
    return 'fetch'
  }

  #emit(event, payload) {
    if (!this.#closed) emitSafely(this, event, payload, () => !this.#closed)
  }

  #onBreaker(state, failures) {
    if (state === 'OPEN') this.#emit('circuitOpen', { failures, resetTimeout: this.#o.circuitBreaker.resetTimeout })
    else if (state === 'HALF_OPEN') this.#emit('circuitHalfOpen', {})
    else this.#emit('circuitClose', {})
  }

  /** Free text from the service, with the API key redacted (lib/redact.js, the one rule). */
  #redact(text) {
    return this.#apiKey ? redactSecret(text, this.#apiKey) : text
  }

  #checkOpen() {
    if (this.#closed) throw closedError()
  }

  #headers(method, extra, idempotencyKey) {
    const headers = { ...extra, Accept: 'application/json' }
    if (method === 'POST') headers['Content-Type'] = 'application/json'
    if (this.#apiKey) headers.Authorization = `Bearer ${this.#apiKey}`
    if (idempotencyKey !== undefined) headers['Idempotency-Key'] = idempotencyKey
    return headers
  }

  /** A controller for one call: aborted by the caller's `signal` or by close(). */
  #begin(signal) {
    const ctl = new AbortController()
    const onAbort = () => ctl.abort()
    if (signal) signal.addEventListener('abort', onAbort, { once: true })
    const ref = new WeakRef(ctl)
    if (this.#calls.size >= 256) for (const r of this.#calls) if (r.deref() === undefined) this.#calls.delete(r)
    this.#calls.add(ref)
    ctl.end = () => {
      this.#calls.delete(ref)
      if (signal) signal.removeEventListener('abort', onAbort)
    }
    return ctl
  }

  /** Waits out a 429 pause within the call's timeout; else fails, nothing sent. */
  async #waitGate(signal) {
    const left = this.#gate.remaining()
    if (left === 0) return
    if (left > this.timeout) {
      this.#gate.rejected++
      throw failure('ratelimited', {
        code: 'ERATELIMITED',
        retryInMs: left,
        message: `rate limited by the ChittyID service: traffic is paused for another ${left} ms, longer than this call may wait`,
      })
    }
    this.#gate.waits++
    await sleep(left, signal)
  }

  /**
   * One operation under the policies (docs/ARCHITECTURE.md "One mint"): rate-limit gate,
   * breaker admission, the attempt, then retry or not by the rules of lib/portable/retry.js.
   * Resolves what `parse` makes of a 2xx answer; rejects with a failure object.
   */
  async #run(op, { request, parse: parseAnswer, safe, ctl, fetchFn }) {
    // Counted as the native client counts them: every attempt sent, every attempt that failed.
    const stats = this.#stats[op]
    const policy = this.#o.retry
    if (typeof fetchFn !== 'function')
      throw failure('transport', {
        code: 'EFETCH',
        phase: 'connect',
        message: 'fetch failed: globalThis.fetch is not a function',
      })
    for (let attempt = 1; ; attempt++) {
      if (ctl.signal.aborted) throw { kind: 'aborted' }
      await this.#waitGate(ctl.signal)
      if (ctl.signal.aborted) throw { kind: 'aborted' }
      const retryInMs = this.#breaker ? this.#breaker.admit() : 0
      if (retryInMs !== 0) throw { kind: 'open', retryInMs }
      const trial = this.#breaker !== null && this.#breaker.state === 'HALF_OPEN'
      const epoch = this.#gate.epoch
      let f
      stats.requests++
      if (ctl.mints) ctl.unsettled++
      try {
        const sent = request()
        const answer = await exchange(fetchFn, {
          ...sent,
          timeoutMs: this.timeout,
          maxResponseBytes: this.#o.maxResponseBytes,
          signal: ctl.signal,
        })
        if (answer.status >= 200 && answer.status <= 299) {
          const value = parseAnswer(answer.json)
          if (ctl.mints) {
            ctl.unsettled--
            ctl.minted = true
          }
          if (this.#breaker) this.#breaker.success(trial)
          this.#gate.onSuccess()
          return value
        }
        const statusText = this.#redact(answer.statusText)
        // As src/error.rs words them: a credentials hint on 401/403, the route tried on 404.
        let message = `ChittyID service error: ${answer.status} ${statusText}`
        if (answer.status === 401 || answer.status === 403) {
          message +=
            " (the service refused the request's credentials: the API key is missing, wrong or lacks access; check the apiKey option)"
        } else if (answer.status === 404) {
          message += ` (no such route: ${sent.method} ${sent.url})`
        }
        f = failure('http', {
          code: 'EHTTP',
          status: answer.status,
          retryAfterMs: parseRetryAfter(answer.retryAfter),
          message,
          route: `${sent.method} ${sent.url}`,
        })
      } catch (err) {
        if (err === null || typeof err !== 'object' || typeof err.kind !== 'string') throw err
        if (err.kind === 'aborted') {
          if (this.#breaker) this.#breaker.release(trial)
          throw err
        }
        f = err
      }
      stats.errors++
      // Settled as not minted: the service said it did not process it, or refused it (4xx).
      if (ctl.mints && (mintNotProcessed(f) || (f.kind === 'http' && f.status < 500))) ctl.unsettled--
      let opened = false
      if (this.#breaker) {
        if (countsForBreaker(f)) opened = this.#breaker.failure(trial)
        else if (isRateLimit(f)) this.#breaker.release(trial)
        else this.#breaker.success(trial) // a refusal: the service answered
      }
      if (isRateLimit(f)) {
        const pause = this.#gate.onRateLimited(epoch, f.retryAfterMs)
        if (pause) this.#emit('rateLimited', { operation: op, retryInMs: pause.ms, retryAfter: pause.retryAfter })
      }
      if (safe && leavesMintOutcomeUnknown(f)) throw { ...f, unknown: true }
      if (policy === null || opened || !isRetryable(f)) throw f
      let delay
      if (isRateLimit(f)) {
        if (attempt >= policy.maxAttempts || (f.retryAfterMs !== undefined && f.retryAfterMs > policy.maxRetryAfterMs))
          throw f
        delay = this.#gate.remaining()
      } else {
        delay = nextDelayMs(policy, attempt, f.retryAfterMs)
        if (delay === null) throw f
      }
      stats.retries++
      this.#retries++
      this.#emit('retry', {
        operation: op,
        attempt,
        delay,
        error: Object.assign(new Error(f.message), { code: f.code }),
      })
      // A 429's wait is the gate's, at the top of the next attempt.
      if (!isRateLimit(f)) await sleep(delay, ctl.signal)
    }
  }

  /** The ChittyIDError of a failed call; `prefix` is the operation's v1 wording. */
  #error(f, prefix, signal, idempotencyKey) {
    if (f instanceof Error) return f
    if (f.kind === 'aborted') return this.#closed ? closedError() : abortError(signal)
    if (f.kind === 'open') return circuitOpenError(f.retryInMs, prefix)
    const cause = Object.assign(new Error(f.message), { code: f.code })
    if (f.status !== undefined) cause.status = f.status
    if (f.unknown)
      return new ChittyIDError(`${prefix}${f.message}`, {
        code: 'EMINTUNKNOWN',
        status: f.status,
        cause,
        idempotencyKey,
      })
    const err = new ChittyIDError(`${prefix}${f.message}`, {
      code: f.code,
      status: f.status,
      cause,
      retryInMs: f.retryInMs,
    })
    if (f.kind === 'placeholder') {
      err.placeholderId = f.placeholderId
      err.serviceErrorCode = f.serviceErrorCode
      // Whether minting again cannot mint twice (lib/wire.js, the rule of src/wire.rs).
      err.retrySafe = f.retrySafe
    }
    return err
  }

  /** Runs one public call: its controller and its error. */
  async #call(signal, prefix, idempotencyKey, body, mints = false) {
    // Nothing was sent: a mint says so.
    if (signal && signal.aborted) throw abortError(signal, mints ? { mayHaveMinted: false } : undefined)
    const ctl = this.#begin(signal)
    // A mint's requests that may have reached the service and were not answered "not
    // processed", and whether one minted: what an abort or close() reports (README "Errors").
    ctl.mints = mints
    ctl.unsettled = 0
    ctl.minted = false
    try {
      return await body(ctl, globalThis.fetch)
    } catch (f) {
      if (f !== null && typeof f === 'object' && f.kind === 'aborted' && mints) {
        const stopped =
          ctl.unsettled > 0 || ctl.minted ? { mayHaveMinted: true, idempotencyKey } : { mayHaveMinted: false }
        throw this.#closed ? closedError(stopped) : abortError(signal, stopped)
      }
      throw this.#error(f, prefix, signal, idempotencyKey)
    } finally {
      ctl.end()
    }
  }

  #mintSpec(request, key, headers, ctl, fetchFn) {
    const body = JSON.stringify(mintPayload(request, this.#wire ?? this.#o.wire))
    return {
      request: () => ({
        url: `${this.serviceUrl}/mint`,
        method: 'POST',
        body,
        headers: this.#headers('POST', headers, key),
      }),
      parse: (json) => parseMint(json, this.#o.acceptPlaceholders, this.#apiKey),
      safe: this.#o.mintRetry === 'safe',
      ctl,
      fetchFn,
    }
  }

  #minted(answer) {
    if (this.#o.wire === 'auto' && this.#wire === undefined) this.#wire = answer.wire
    if (answer.placeholder !== undefined) {
      this.#placeholders++
      this.#emit('placeholder', { chittyId: answer.id, errorCode: answer.placeholder })
    }
    return answer.id
  }

  /**
   * A call with v1 semantics (lib/v1.js; docs/PORTABLE.md "v1 semantics under jest"): one
   * fetch, v1's requests, results and messages. `options` may still carry a signal, headers and
   * (for mints) an idempotency key.
   */
  async #v1Call(options, operation, mints, run) {
    const signal = callSignal(options)
    this.#checkOpen()
    let call
    if (options !== undefined && options !== null) {
      const extra = callHeaders(this.#o.headers, options, operation)
      call = {
        signal,
        headers: extra === undefined ? undefined : Object.entries(extra).flat(),
        idempotencyKey: mints ? callIdempotencyKey(options) : undefined,
      }
    }
    if (signal && signal.aborted) throw abortError(signal)
    const promise = run(call)
    if (!signal) return promise
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError(signal))
      signal.addEventListener('abort', onAbort, { once: true })
      promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  async mint(request, options) {
    if (this.#o.v1) return this.#v1Call(options, 'mint', true, (call) => v1.mint(this, request, call))
    const signal = callSignal(options)
    const key = callIdempotencyKey(options) ?? newKey()
    serializeMintRequest(request)
    this.#checkOpen()
    const headers = callHeaders(this.#o.headers, options, 'mint')
    return this.#call(
      signal,
      mintFailure(request.entity),
      key,
      async (ctl, fetchFn) => {
        return this.#minted(await this.#run('mint', this.#mintSpec(request, key, headers, ctl, fetchFn)))
      },
      true,
    )
  }

  async mintBatch(requests, options) {
    if (this.#o.v1) return this.#v1Call(options, 'mintBatch', true, (call) => v1.mintBatch(this, requests, call))
    const signal = callSignal(options)
    const key = callIdempotencyKey(options) ?? newKey()
    if (!Array.isArray(requests)) throw invalidArgument('mintBatch expects an array of mint requests')
    requests.forEach(serializeMintRequest)
    this.#checkOpen()
    const headers = callHeaders(this.#o.headers, options, 'mintBatch')
    return this.#call(
      signal,
      BATCH_FAILURE,
      key,
      async (ctl, fetchFn) => {
        if (this.#wire !== 'deployed' && this.#batchRoute !== false) {
          const wire = this.#wire ?? this.#o.wire
          const body = JSON.stringify({ requests: requests.map((r) => mintPayload(r, wire)) })
          try {
            const ids = await this.#run('mintBatch', {
              request: () => ({
                url: `${this.serviceUrl}/mint/batch`,
                method: 'POST',
                body,
                headers: this.#headers('POST', headers, key),
              }),
              parse: (json) => parseBatch(json, requests.length),
              safe: this.#o.mintRetry === 'safe',
              ctl,
              fetchFn,
            })
            this.#batchRoute = true
            return ids
          } catch (f) {
            // No batch route (the deployed service): nothing was minted; mint one by one.
            if (!(this.#o.wire === 'auto' && this.#batchRoute === undefined && f.kind === 'http' && f.status === 404))
              throw f
            this.#batchRoute = false
          }
        }
        return this.#mintEach(requests, key, headers, ctl, fetchFn)
      },
      true,
    )
  }

  /**
   * mintBatch() on a service without a batch route (src/client/mod.rs): single mints, at most
   * BATCH_FALLBACK_CONCURRENCY at a time, ids in request order. After a failure no new mint
   * starts; the error (the code and fields of the lowest failed position's failure) carries every
   * id minted (`mintedIds`, null where none) and the positions that failed (`failedPositions`),
   * so nothing minted is lost.
   */
  async #mintEach(requests, key, headers, ctl, fetchFn) {
    const results = requests.map(() => undefined)
    let next = 0
    let stopped = false
    const keyFor = (i) => `${key}.${i}`
    const worker = async () => {
      while (next < requests.length && !stopped) {
        const i = next++
        try {
          results[i] = {
            id: this.#minted(await this.#run('mint', this.#mintSpec(requests[i], keyFor(i), headers, ctl, fetchFn))),
          }
        } catch (f) {
          results[i] = { failure: f }
          stopped = true
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(BATCH_FALLBACK_CONCURRENCY, requests.length) }, worker))
    const mintedIds = results.map((r) => (r && r.id !== undefined ? r.id : null))
    const failedPositions = results.flatMap((r, i) => (r && r.failure !== undefined ? [i] : []))
    if (failedPositions.length === 0) return mintedIds
    const first = results[failedPositions[0]].failure
    if (!first || typeof first.kind !== 'string' || first.kind === 'aborted') throw first
    const done = mintedIds.filter((id) => id !== null).length
    const suffix = ` (no batch route: minted one by one, ${done} of ${requests.length} minted, failed at positions [${failedPositions.join(', ')}]; the minted ids are in error.mintedIds)`
    const err = this.#error(
      { ...first, message: first.message + suffix },
      BATCH_FAILURE,
      undefined,
      keyFor(failedPositions[0]),
    )
    err.mintedIds = mintedIds
    err.failedPositions = failedPositions
    throw err
  }

  async validate(id, options) {
    if (this.#o.v1) return this.#v1Call(options, 'validate', false, (call) => v1.validate(this, id, call))
    const signal = callSignal(options)
    this.#checkOpen()
    const problem = idProblem(id)
    if (problem !== undefined) return { valid: false, error: problem }
    // A URL drops dot segments: the request would go to another route (lib/v1.js).
    if (id === '.' || id === '..') return { valid: false, error: DOT_SEGMENT_ID }
    if (this.#cache) {
      const verdict = this.#cache.get(id)
      if (verdict !== undefined) return cachedAnswer(id, verdict)
    }
    if (signal && signal.aborted) throw abortError(signal)
    const headers = callHeaders(this.#o.headers, options, 'validate')
    const flight = this.#inflight.get(id)
    const answer = flight === undefined ? this.#lead(id, headers) : this.#follow(id, headers, flight)
    if (!signal) return answer
    // The shared request goes on for the other callers; this one stops waiting.
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError(signal))
      signal.addEventListener('abort', onAbort, { once: true })
      answer.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  /**
   * Starts the one request for `id` that concurrent callers share. Where I/O belongs to a
   * request (Workers), the flight also beats while it is pending, so that callers from other
   * requests can tell when the request that started it has ended and taken its fetch along.
   */
  #lead(id, headers) {
    const flight = { beat: Date.now(), timer: undefined, promise: undefined }
    if (REQUEST_SCOPED_IO) {
      const beat = () => {
        flight.beat = Date.now()
        flight.timer = setTimeout(beat, HEARTBEAT_MS)
      }
      flight.timer = setTimeout(beat, HEARTBEAT_MS)
    }
    flight.promise = this.#askService(id, headers, flight).finally(() => {
      clearTimeout(flight.timer)
      if (this.#inflight.get(id) === flight) this.#inflight.delete(id)
    })
    this.#inflight.set(id, flight)
    return flight.promise
  }

  /**
   * Joins a flight. In Workers a flight started by another request never settles once that
   * request has ended (workerd cancels its I/O and its continuations): when its beat stops, this
   * caller asks again, leading a new flight.
   */
  #follow(id, headers, flight) {
    if (!REQUEST_SCOPED_IO) return flight.promise
    if (Date.now() - flight.beat > LEADER_SILENT_MS) {
      // Left behind by a request that ended: start over at once.
      this.#inflight.delete(id)
      return this.#lead(id, headers)
    }
    return new Promise((resolve, reject) => {
      let watchdog
      const check = () => {
        if (Date.now() - flight.beat <= LEADER_SILENT_MS) {
          watchdog = setTimeout(check, HEARTBEAT_MS)
          return
        }
        if (this.#inflight.get(id) === flight) this.#inflight.delete(id)
        const next = this.#inflight.get(id)
        ;(next === undefined ? this.#lead(id, headers) : this.#follow(id, headers, next)).then(resolve, reject)
      }
      watchdog = setTimeout(check, HEARTBEAT_MS)
      flight.promise.then(
        (value) => {
          clearTimeout(watchdog)
          resolve(value)
        },
        (err) => {
          clearTimeout(watchdog)
          reject(err)
        },
      )
    })
  }

  /** Asks the service once for every concurrent caller of `id`; never rejects but when closed. */
  async #askService(id, headers, flight) {
    const ctl = this.#begin(undefined)
    const fetchFn = globalThis.fetch
    const ask = (wire) =>
      this.#run('validate', {
        request: () =>
          wire === 'deployed'
            ? {
                url: `${this.#origin}/api/validate`,
                method: 'POST',
                body: JSON.stringify({ id }),
                headers: this.#headers('POST', headers),
              }
            : {
                url: `${this.serviceUrl}/validate/${encodeURIComponent(id)}`,
                method: 'GET',
                headers: this.#headers('GET', headers),
              },
        parse: parseValidation,
        safe: false,
        ctl,
        fetchFn,
      })
    try {
      let answer
      const known = this.#wire
      try {
        answer = await ask(known ?? 'v1')
        if (known === undefined && this.#o.wire === 'auto') this.#wire = 'v1'
      } catch (f) {
        if (!(known === undefined && f.kind === 'http' && f.status === 404)) throw f
        // v1's route is absent: the deployed service validates at its origin.
        try {
          answer = await ask('deployed')
          this.#wire = 'deployed'
        } catch (g) {
          throw g.kind === 'http' && g.status === 404 ? f : g
        }
      }
      if (answer.error !== undefined) answer.error = this.#redact(answer.error)
      // A field that gives the key away is dropped, never rewritten (lib/redact.js).
      for (const field of ['chittyId', 'entity'])
        if (this.#apiKey && revealsSecret(answer[field], this.#apiKey)) delete answer[field]
      // Not stored after invalidate(id) forgot the id while this answer was on its way.
      if (this.#cache && !this.#closed && !flight.forgotten && answer.errorCode === undefined)
        this.#cache.set(id, answer.valid)
      return answer
    } catch (f) {
      if (f.kind === 'aborted') throw closedError()
      // Not a verdict on the id: the service refused the credentials.
      if (f.kind === 'http' && (f.status === 401 || f.status === 403))
        return { valid: false, error: `Service error: ${f.status}`, errorCode: 'EAUTH' }
      if (f.kind === 'http' && f.status === 404)
        return { valid: false, error: `Service error: 404 (no such route: ${f.route})` }
      if (f.kind === 'http') return { valid: false, error: `Service error: ${f.status}` }
      if (f.kind === 'open') return { valid: this.validateFormat(id), error: circuitOpenError(f.retryInMs).message }
      if (!f.kind) throw f
      return { valid: this.validateFormat(id), error: this.#redact(f.message) }
    } finally {
      ctl.end()
    }
  }

  /** The format check in the grammars the `idGrammar` option names (lib/format.js). */
  validateFormat(id) {
    return validateIn(id, this.#o.idGrammar)
  }

  /**
   * `GET {serviceUrl}/health` (on the deployed wire `GET {origin}/health`), 5 s timeout,
   * outside retry and breaker; waits out a rate-limit pause. Never rejects because of the
   * service; rejects for bad options, an aborted signal and a closed client.
   */
  async healthCheck(options) {
    if (this.#o.v1) return this.#v1Call(options, 'healthCheck', false, (call) => v1.healthCheck(this, call))
    const signal = callSignal(options)
    this.#checkOpen()
    const headers = this.#headers('GET', callHeaders(this.#o.headers, options, 'healthCheck'))
    if (signal && signal.aborted) throw abortError(signal)
    const ctl = this.#begin(signal)
    const fetchFn = globalThis.fetch
    const probe = async (url) => {
      const epoch = this.#gate.epoch
      this.#stats.healthCheck.requests++
      const { status, retryAfter } = await exchange(fetchFn, {
        url,
        method: 'GET',
        headers,
        timeoutMs: HEALTH_TIMEOUT_MS,
        maxResponseBytes: this.#o.maxResponseBytes,
        signal: ctl.signal,
        readBody: false,
      })
      if (status === 429) {
        const pause = this.#gate.onRateLimited(epoch, parseRetryAfter(retryAfter))
        if (pause)
          this.#emit('rateLimited', { operation: 'healthCheck', retryInMs: pause.ms, retryAfter: pause.retryAfter })
      }
      return status
    }
    try {
      if (typeof fetchFn !== 'function') return false
      await this.#waitGate(ctl.signal)
      const known = this.#wire
      let status = await probe(known === 'deployed' ? `${this.#origin}/health` : `${this.serviceUrl}/health`)
      if (known === undefined) {
        if (status === 404 && this.#origin !== this.serviceUrl) {
          status = await probe(`${this.#origin}/health`)
          if (status >= 200 && status <= 299) this.#wire = 'deployed'
        } else if (status >= 200 && status <= 299 && this.#o.wire === 'auto') {
          this.#wire = 'v1'
        }
      }
      const healthy = status >= 200 && status <= 299
      if (!healthy) this.#stats.healthCheck.errors++
      return healthy
    } catch (f) {
      if (f && f.kind === 'aborted') throw this.#error(f, '', signal)
      this.#stats.healthCheck.errors++
      if (f && typeof f.kind === 'string') return false
      throw f
    } finally {
      ctl.end()
    }
  }

  /** The connection manager's background checks are not in the portable build (README "Runtimes"). */
  async connect() {
    this.#checkOpen()
    throw unsupported(
      'connect() (the connection manager)',
      'its background health checks would outlive the request; call healthCheck() instead',
    )
  }

  async disconnect() {}

  getConnectionState() {
    return {
      state: 'DISCONNECTED',
      lastHealthCheck: null,
      lastSuccessfulConnection: null,
      reconnectAttempts: 0,
      isHealthy: false,
      uptime: 0,
      nextCheckIn: null,
      enabled: false,
      stats: {
        totalConnections: 0,
        totalReconnections: 0,
        totalFailures: 0,
        totalHealthChecks: 0,
        successfulHealthChecks: 0,
        failedHealthChecks: 0,
      },
    }
  }

  /** Counters of every operation, the breaker, the cache, the 429 pause and the wire of each endpoint. */
  getStats() {
    const gate = this.#gate
    const left = gate.remaining()
    const b = this.#breaker
    return {
      runtime: 'portable',
      requests: Object.fromEntries(OPERATIONS.map((op) => [op, { ...this.#stats[op] }])),
      retries: this.#retries,
      rejectedByBreaker: b ? b.rejected : 0,
      rateLimit: {
        paused: left > 0,
        retryInMs: left,
        rateLimited: gate.rateLimited,
        pauses: gate.pauses,
        waits: gate.waits,
        rejected: gate.rejected,
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
      cache: this.#cache ? this.#cache.stats() : null,
      placeholdersAccepted: this.#placeholders,
      // What the service speaks: 'v1', 'deployed', or 'unknown' until an answer told (wire: 'auto').
      wire: this.#wire ?? 'unknown',
      connection: this.getConnectionState(),
    }
  }

  /** Prometheus metrics need the native client (README "Runtimes"). */
  metrics() {
    throw unsupported('metrics()', 'there is no Prometheus registry here; read getStats()')
  }

  /**
   * Forgets the cached answer for `id`, so the next `validate(id)` asks the service; an
   * answer already on its way is not stored. Resolves to true when an entry was held.
   */
  async invalidate(id) {
    this.#checkOpen()
    if (typeof id !== 'string') throw invalidArgument('invalidate expects the ChittyID as a string')
    const flight = this.#inflight.get(id)
    if (flight !== undefined) {
      flight.forgotten = true
      this.#inflight.delete(id)
    }
    return this.#cache ? this.#cache.delete(id) : false
  }

  /** Ends every call in flight (they reject with ECLIENTCLOSED) and refuses later ones. No timer is left. */
  async close() {
    if (this.#closed) return
    this.#closed = true
    for (const ref of [...this.#calls]) ref.deref()?.abort()
    this.#inflight.clear()
    if (this.#cache) this.#cache.clear()
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  /** Splits a well-formed id into its fields, or returns null. */
  static parse(id) {
    return parse(id)
  }
}

async function mintChittyID(request, config) {
  const client = new ChittyIDClient(config)
  try {
    return await client.mint(request)
  } finally {
    await client.close()
  }
}

async function validateChittyID(id, config) {
  const client = new ChittyIDClient(config)
  try {
    return await client.validate(id)
  } finally {
    await client.close()
  }
}

module.exports = { ChittyIDClient, mintChittyID, validateChittyID }
