'use strict'

// The portable ChittyIDClient (docs/PORTABLE.md): the native client's API and policies over
// the runtime's `fetch` and timers, for Cloudflare Workers and other fetch runtimes. Nothing
// runs at load or construction (Workers forbid I/O outside a request), no timer outlives the
// call that set it, and nothing here needs the addon or a Node module.

const { Emitter } = require('./emitter.js')
const {
  invalidArgument,
  invalidThis,
  abortError,
  circuitOpenError,
  closedError,
  mintFailure,
  BATCH_FAILURE,
} = require('../errors.js')
const { validateIn, parse, entityForId } = require('../id.js')
const { redactSecret, revealsSecret } = require('../redact.js')
const { createV1, callV1, hideOwnFields, fixV1Fields, DOT_SEGMENT_ID } = require('../v1.js')
const { shortcuts } = require('../shortcuts.js')
const { raceAbort } = require('../abort.js')
const { zeroConnectionStats } = require('../connection-state.js')
const { emitSafely } = require('../events.js')
const { checkedMintRequest, checkedMintBatch, idProblem, cachedAnswer } = require('../requests.js')
const { portableOptions, callSignal, callIdempotencyKey, callHeaders, unsupported } = require('./options.js')
const { exchange } = require('./transport.js')
const { parseRetryAfter } = require('./retry.js')
const { ValidationCache } = require('./cache.js')
const {
  DEPLOYED_MINT_ROUTES,
  DEPLOYED_HEALTH_PATH,
  mintPayload,
  mintQuery,
  parseMint,
  parseBatch,
  parseValidation,
} = require('./wire.js')
const { HEALTH_TIMEOUT_MS } = require('./defaults.js')
const { AttemptLoop } = require('./attempt.js')
const { Calls } = require('./calls.js')
const { Flights } = require('./flights.js')
const { mintOneByOne } = require('./batch.js')

/** v1's calls (lib/v1.js), for clients with v1 semantics (docs/PORTABLE.md). */
const v1 = createV1({ healthTimeoutMs: HEALTH_TIMEOUT_MS })
function newKey() {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === 'function') return c.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`
}

/** Whether `value` was made by the ChittyIDClient constructor (set in the class's static block). */
let isClient

/** A TypeError (`ERR_INVALID_THIS`) unless `self` is a client: a detached method, a bare prototype. */
function checkThis(self, member) {
  if (!isClient(self)) throw invalidThis('ChittyIDClient', member)
}

class ChittyIDClient extends Emitter {
  #o
  #apiKey
  #origin
  /** A service URL without a path: v1's health route is then the later revisions' `/health`, and tells no wire. */
  #healthAtOrigin
  /** The attempt loop and the policies' state (./attempt.js). */
  #attempts
  /** Calls in flight, and whether the client is closed (./calls.js). */
  #calls = new Calls()
  #cache
  /** validate() calls in flight, by id: concurrent callers share one request (./flights.js). */
  #flights = new Flights()
  /** Settles when the first close() has ended what it stopped. */
  #closing = undefined
  /** The wire the service speaks: 'v1', 'deployed', or undefined while unknown (wire: 'auto'). */
  #wire
  /** The first of DEPLOYED_MINT_ROUTES not known to be missing (a 404 there showed an older revision). */
  #mintRoute = 0
  /** Whether the service has v1's batch route: undefined until a batch call told. */
  #batchRoute
  #placeholders = 0

  constructor(config = {}) {
    super()
    hideOwnFields(this)
    const o = portableOptions(config)
    this.#o = o
    this.serviceUrl = o.v1 ? o.v1.serviceUrl : o.serviceUrl
    this.timeout = o.timeout
    fixV1Fields(this)
    this.#apiKey = o.apiKey
    if (o.name !== undefined) this.name = o.name
    this.#origin = new URL(o.serviceUrl).origin
    this.#healthAtOrigin = new URL(o.serviceUrl).pathname.replace(/\/+$/, '') === ''
    this.#attempts = new AttemptLoop(o, {
      emit: (event, payload) => this.#emit(event, payload),
      redact: (text) => this.#redact(text),
      timeout: () => this.timeout,
    })
    this.#cache = o.cache === null ? null : new ValidationCache(o.cache, () => Date.now())
    this.#wire = o.wire === 'auto' ? undefined : o.wire
  }

  static {
    isClient = (value) => value !== null && typeof value === 'object' && #o in value
  }

  /** The configured key (not enumerable, so it never shows up in logs of the client). */
  get apiKey() {
    checkThis(this, 'apiKey')
    return this.#apiKey
  }

  /** Always `'fetch'`: every exchange is the runtime's `fetch`. */
  get transport() {
    checkThis(this, 'transport')
    return 'fetch'
  }

  #emit(event, payload) {
    if (!this.#calls.closed) emitSafely(this, event, payload, () => !this.#calls.closed)
  }

  /** Free text from the service, with the API key redacted (lib/redact.js, the one rule). */
  #redact(text) {
    return this.#apiKey ? redactSecret(text, this.#apiKey) : text
  }

  #checkOpen() {
    if (this.#calls.closed) throw closedError()
  }

  #headers(method, extra, idempotencyKey) {
    const headers = { ...extra, Accept: 'application/json' }
    if (method === 'POST') headers['Content-Type'] = 'application/json'
    if (this.#apiKey) headers.Authorization = `Bearer ${this.#apiKey}`
    if (idempotencyKey !== undefined) headers['Idempotency-Key'] = idempotencyKey
    return headers
  }

  #mintSpec(request, key, headers, ctl, fetchFn, url, byQuery) {
    const wire = this.#wire ?? this.#o.wire
    const query = mintQuery(request, wire)
    const target = query === undefined ? url : `${url}?${query}`
    // A route that reads the query only is a GET without a body.
    const method = byQuery ? 'GET' : 'POST'
    const body = byQuery ? undefined : JSON.stringify(mintPayload(request, wire))
    return {
      request: () => ({
        url: target,
        method,
        body,
        headers: this.#headers(method, headers, key),
      }),
      parse: (json) => parseMint(json, this.#o.acceptPlaceholders, this.#apiKey),
      safe: this.#o.mintRetry === 'safe',
      ctl,
      fetchFn,
    }
  }

  /**
   * One mint on the wire the service speaks: v1's `{serviceUrl}/mint`, the deployed service's
   * mint route of its revision (DEPLOYED_MINT_ROUTES; docs/DEPLOYED.md F1–F3). While the wire
   * is unknown a 404 on v1's route (nothing processed) is followed by the deployed routes that
   * are other URLs, as natively (src/client/mint.rs).
   */
  async #mintOnce(request, key, headers, ctl, fetchFn) {
    const v1Url = `${this.serviceUrl}/mint`
    const run = (url, byQuery = false) =>
      this.#attempts.run('mint', this.#mintSpec(request, key, headers, ctl, fetchFn, url, byQuery))
    if (this.#wire === 'deployed') return this.#minted(await this.#deployedMint(run, null))
    if (this.#wire !== undefined) return this.#minted(await run(v1Url))
    try {
      return this.#minted(await run(v1Url))
    } catch (f) {
      if (!(f.kind === 'http' && f.status === 404)) throw f
      let answer
      try {
        answer = await this.#deployedMint(run, v1Url)
      } catch (g) {
        // A placeholder is the deployed service's answer: the wire is known all the same.
        if (g.kind === 'placeholder') this.#wire = 'deployed'
        throw g.kind === 'http' && g.status === 404 ? f : g
      }
      if (answer === undefined) throw f
      this.#wire = 'deployed'
      return this.#minted(answer)
    }
  }

  /**
   * The deployed mint routes in turn from the first not known to be missing, but `skipUrl`
   * (v1's `POST`, already answered 404); undefined if none is left. Only a 404 (the route is not
   * there: nothing processed) moves on, remembered; a 404 on the last forgets what was learnt
   * (src/wire.rs `mint_route_missing`).
   */
  async #deployedMint(run, skipUrl) {
    for (let k = this.#mintRoute; k < DEPLOYED_MINT_ROUTES.length; k++) {
      const route = DEPLOYED_MINT_ROUTES[k]
      const url = `${this.#origin}${route.path}`
      const last = k === DEPLOYED_MINT_ROUTES.length - 1
      if (!route.byQuery && url === skipUrl) {
        this.#mintRoute = Math.max(this.#mintRoute, k + 1)
        continue
      }
      try {
        return await run(url, route.byQuery)
      } catch (f) {
        if (!(f.kind === 'http' && f.status === 404)) throw f
        this.#mintRoute = last ? 0 : Math.max(this.#mintRoute, k + 1)
        if (last) throw f
      }
    }
    return undefined
  }

  #minted(answer) {
    if (this.#o.wire === 'auto' && this.#wire === undefined) this.#wire = answer.wire
    if (answer.placeholder !== undefined) {
      this.#placeholders++
      const errorCode = typeof answer.placeholder === 'string' ? this.#redact(answer.placeholder) : answer.placeholder
      this.#emit('placeholder', { chittyId: answer.id, errorCode })
    }
    return answer.id
  }

  /**
   * A call with v1 semantics (lib/v1.js `callV1`; docs/PORTABLE.md "v1 semantics under a test runner"):
   * one fetch, v1's requests, results and messages. `options` may still carry a signal, headers
   * and (for mints) an idempotency key.
   */
  #v1Call(options, operation, mints, run) {
    const checkOpen = () => this.#checkOpen()
    const headersOf = (callOptions, op) => {
      const extra = callHeaders(this.#o.headers, callOptions, op)
      return extra === undefined ? undefined : Object.entries(extra).flat()
    }
    return callV1(options, { operation, mints, checkOpen, headersOf }, run)
  }

  async mint(request, options) {
    checkThis(this, 'mint()')
    if (this.#o.v1) return this.#v1Call(options, 'mint', true, (call) => v1.mint(this, request, call))
    const signal = callSignal(options)
    const key = callIdempotencyKey(options) ?? newKey()
    // The checked copy from here on (lib/requests.js).
    const checked = checkedMintRequest(request).request
    this.#checkOpen()
    const headers = callHeaders(this.#o.headers, options, 'mint')
    return this.#calls.run(
      signal,
      mintFailure(checked.entity),
      key,
      async (ctl, fetchFn) => {
        return this.#mintOnce(checked, key, headers, ctl, fetchFn)
      },
      true,
    )
  }

  async mintBatch(requests, options) {
    checkThis(this, 'mintBatch()')
    if (this.#o.v1) return this.#v1Call(options, 'mintBatch', true, (call) => v1.mintBatch(this, requests, call))
    const signal = callSignal(options)
    const key = callIdempotencyKey(options) ?? newKey()
    // The checked copies from here on (lib/requests.js).
    requests = checkedMintBatch(requests).requests
    this.#checkOpen()
    const headers = callHeaders(this.#o.headers, options, 'mintBatch')
    return this.#calls.run(
      signal,
      BATCH_FAILURE,
      key,
      async (ctl, fetchFn) => {
        if (this.#wire !== 'deployed' && this.#batchRoute !== false) {
          const wire = this.#wire ?? this.#o.wire
          const body = JSON.stringify({ requests: requests.map((r) => mintPayload(r, wire)) })
          try {
            const ids = await this.#attempts.run('mintBatch', {
              request: () => ({
                url: `${this.serviceUrl}/mint/batch`,
                method: 'POST',
                body,
                headers: this.#headers('POST', headers, key),
              }),
              parse: (json) => parseBatch(json, requests.length, this.#apiKey, this.#o.wire !== 'v1'),
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
   * mintBatch() on a service without a batch route (./batch.js). The error of a failure (the
   * code and fields of the lowest failed position's failure) carries every id minted
   * (`mintedIds`, null where none) and the positions that failed (`failedPositions`).
   */
  async #mintEach(requests, key, headers, ctl, fetchFn) {
    const keyFor = (i) => `${key}.${i}`
    const { mintedIds, failedPositions, failure } = await mintOneByOne(requests.length, async (i) =>
      this.#mintOnce(requests[i], keyFor(i), headers, ctl, fetchFn),
    )
    if (failedPositions.length === 0) return mintedIds
    if (!failure || typeof failure.kind !== 'string' || failure.kind === 'aborted') throw failure
    const done = mintedIds.filter((id) => id !== null).length
    const suffix = ` (no batch route: minted one by one, ${done} of ${requests.length} minted, failed at positions [${failedPositions.join(', ')}]; the minted ids are in error.mintedIds)`
    const err = this.#calls.error(
      { ...failure, message: failure.message + suffix },
      BATCH_FAILURE,
      undefined,
      keyFor(failedPositions[0]),
    )
    err.mintedIds = mintedIds
    err.failedPositions = failedPositions
    throw err
  }

  async validate(id, options) {
    checkThis(this, 'validate()')
    if (this.#o.v1) return this.#v1Call(options, 'validate', false, (call) => v1.validate(this, id, call))
    const signal = callSignal(options)
    this.#checkOpen()
    // Aborted already: rejected, as fetch rejects, even where the cache could answer.
    if (signal && signal.aborted) throw abortError(signal)
    const problem = idProblem(id)
    if (problem !== undefined) return { valid: false, error: problem }
    // A URL drops dot segments: the request would go to another route (lib/v1.js).
    if (id === '.' || id === '..') return { valid: false, error: DOT_SEGMENT_ID }
    if (this.#cache) {
      const verdict = this.#cache.get(id)
      if (verdict !== undefined) return cachedAnswer(id, verdict)
    }
    const headers = callHeaders(this.#o.headers, options, 'validate')
    const answer = this.#flights.join(id, (flight) => this.#askService(id, headers, flight))
    // The shared request goes on for the other callers; this one stops waiting.
    return signal ? raceAbort(answer, signal) : answer
  }

  /** Asks the service once for every concurrent caller of `id`; never rejects but when closed. */
  async #askService(id, headers, flight) {
    const ctl = this.#calls.begin(undefined)
    const fetchFn = globalThis.fetch
    const ask = (wire) =>
      this.#attempts.run('validate', {
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
      // The deployed service repeats neither the id nor its entity (v1's answer shape does): as
      // natively, both are filled in, the entity from the type letter as in a cached answer.
      if (this.#wire === 'deployed' && answer.errorCode === undefined) {
        if (answer.chittyId === undefined) answer.chittyId = id
        const entity = answer.valid && answer.entity === undefined ? entityForId(id) : undefined
        if (entity) answer.entity = entity
      }
      if (answer.error !== undefined) answer.error = this.#redact(answer.error)
      // A field that gives the key away is dropped, never rewritten (lib/redact.js).
      for (const field of ['chittyId', 'entity', 'replacedBy'])
        if (this.#apiKey && revealsSecret(answer[field], this.#apiKey)) delete answer[field]
      // Not stored after invalidate(id) forgot the id while this answer was on its way.
      if (this.#cache && !this.#calls.closed && !flight.forgotten && answer.errorCode === undefined)
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

  /** The format check in the grammars the `idGrammar` option names (lib/id.js). */
  validateFormat(id) {
    checkThis(this, 'validateFormat()')
    return validateIn(id, this.#o.idGrammar)
  }

  /**
   * `GET {serviceUrl}/health` (on the deployed wire `GET {origin}/api/health`), 5 s timeout,
   * outside retry and breaker; waits out a rate-limit pause. Never rejects because of the
   * service; rejects for bad options, an aborted signal and a closed client.
   */
  async healthCheck(options) {
    checkThis(this, 'healthCheck()')
    if (this.#o.v1) return this.#v1Call(options, 'healthCheck', false, (call) => v1.healthCheck(this, call))
    const signal = callSignal(options)
    this.#checkOpen()
    const headers = this.#headers('GET', callHeaders(this.#o.headers, options, 'healthCheck'))
    if (signal && signal.aborted) throw abortError(signal)
    const ctl = this.#calls.begin(signal)
    const fetchFn = globalThis.fetch
    const probe = async (url) => {
      const epoch = this.#attempts.pause.epoch
      this.#attempts.stats.healthCheck.requests++
      const { status, retryAfter } = await exchange(fetchFn, {
        url,
        method: 'GET',
        headers,
        timeoutMs: HEALTH_TIMEOUT_MS,
        maxResponseBytes: this.#o.maxResponseBytes,
        redirects: this.#o.redirects,
        allowInsecure: this.#o.allowInsecure,
        signal: ctl.signal,
        readBody: 'unparsed',
      })
      if (status === 429) this.#attempts.rateLimited('healthCheck', epoch, parseRetryAfter(retryAfter))
      return status
    }
    try {
      if (typeof fetchFn !== 'function') return false
      await this.#attempts.waitPause(ctl.signal)
      const known = this.#wire
      const v1Url = `${this.serviceUrl}/health`
      const deployedUrl = `${this.#origin}${DEPLOYED_HEALTH_PATH}`
      let status = await probe(known === 'deployed' ? deployedUrl : v1Url)
      if (known === undefined) {
        if (status === 404 && deployedUrl !== v1Url) {
          status = await probe(deployedUrl)
          if (status >= 200 && status <= 299) this.#wire = 'deployed'
        } else if (status >= 200 && status <= 299 && this.#o.wire === 'auto' && !this.#healthAtOrigin) {
          this.#wire = 'v1'
        }
      }
      const healthy = status >= 200 && status <= 299
      if (!healthy) this.#attempts.stats.healthCheck.errors++
      return healthy
    } catch (f) {
      if (f && f.kind === 'aborted') throw this.#calls.error(f, '', signal)
      this.#attempts.stats.healthCheck.errors++
      if (f && typeof f.kind === 'string') return false
      throw f
    } finally {
      ctl.end()
    }
  }

  /** The connection manager's background checks are not in the portable build (README "Runtimes"). */
  async connect() {
    checkThis(this, 'connect()')
    this.#checkOpen()
    throw unsupported(
      'connect() (the connection manager)',
      'its background health checks would outlive the request; call healthCheck() instead',
    )
  }

  async disconnect() {
    checkThis(this, 'disconnect()')
  }

  getConnectionState() {
    checkThis(this, 'getConnectionState()')
    return {
      state: 'DISCONNECTED',
      lastHealthCheck: null,
      lastSuccessfulConnection: null,
      reconnectAttempts: 0,
      isHealthy: false,
      uptime: 0,
      nextCheckIn: null,
      enabled: false,
      stats: zeroConnectionStats(),
    }
  }

  /** Counters of every operation, the breaker, the cache, the 429 pause and the wire of each endpoint. */
  getStats() {
    checkThis(this, 'getStats()')
    return {
      runtime: 'portable',
      ...this.#attempts.snapshot(),
      cache: this.#cache ? this.#cache.stats() : null,
      placeholdersAccepted: this.#placeholders,
      // Events reach the listeners synchronously, from the call that caused them: no queue to overflow.
      eventsDropped: 0,
      // Nor are attempt records queued for the logger or tracing: nothing to drop.
      telemetryDropped: 0,
      // What the service speaks: 'v1', 'deployed', or 'unknown' until an answer told (wire: 'auto').
      wire: this.#wire ?? 'unknown',
      connection: this.getConnectionState(),
    }
  }

  /** Prometheus metrics need the native client (README "Runtimes"). */
  metrics() {
    checkThis(this, 'metrics()')
    throw unsupported('metrics()', 'there is no Prometheus registry here; read getStats()')
  }

  /**
   * Forgets the cached answer for `id`, so the next `validate(id)` asks the service; an
   * answer already on its way is not stored. Resolves to true when an entry was held.
   */
  async invalidate(id) {
    checkThis(this, 'invalidate()')
    this.#checkOpen()
    if (typeof id !== 'string') throw invalidArgument('invalidate expects the ChittyID as a string')
    this.#flights.forget(id)
    return this.#cache ? this.#cache.delete(id) : false
  }

  /**
   * Ends every call in flight (they reject with ECLIENTCLOSED) and refuses later ones; settles
   * once they have ended (at most CLOSE_WAIT_MS, lib/closing.js), so the counters are final. No
   * timer is left.
   */
  async close() {
    checkThis(this, 'close()')
    // A second close() settles with the first.
    if (this.#calls.closed) return this.#closing
    this.#closing = this.#calls.close()
    this.#flights.clear()
    if (this.#cache) this.#cache.clear()
    await this.#closing
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  /** Splits a well-formed id into its fields, or returns null. */
  static parse(id) {
    return parse(id)
  }
}

const { mintChittyID, validateChittyID } = shortcuts(ChittyIDClient)

module.exports = { ChittyIDClient, mintChittyID, validateChittyID }
