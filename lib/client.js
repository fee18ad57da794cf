'use strict'

// The native ChittyIDClient: checks each call, submits it to the addon and settles it through the
// bridge; events, stats and close() (docs/ARCHITECTURE.md "One mint, from JS to the socket and back").

const { EventEmitter } = require('node:events')
const native = require('./native/index.js')
const { cachedVerdict, submitMint, submitValidate } = native
const {
  closedError,
  invalidArgument,
  invalidThis,
  abortError,
  circuitOpenError,
  mintFailure,
  BATCH_FAILURE,
  rejectLater,
} = require('./errors.js')
const { validateIn, parse } = require('./id.js')
const { emitSafely } = require('./events.js')
const fetchTransport = require('./fetch-transport.js')
const { ClientTelemetry } = require('./telemetry.js')
const { Bridge, MINT, MINT_BATCH, OTHER } = require('./bridge.js')
const { DEFAULTS, clientOptions, callSignal, callIdempotencyKey, callHeaders } = require('./options.js')
const { checkedMintRequest, checkedMintBatch, idProblem, cachedAnswer } = require('./requests.js')
const { createV1, callV1, hideOwnFields, fixV1Fields } = require('./v1.js')
const { shortcuts } = require('./shortcuts.js')
const { redactionOf } = require('./redact.js')
const { forgetClient } = require('./metrics.js')

/** v1's calls (lib/v1.js), for clients with v1 semantics. */
const v1 = createV1({ healthTimeoutMs: DEFAULTS.healthTimeoutMs, redaction: redactionOf(native) })

/** A v1-semantics call's own `headers` (lib/v1.js `callV1`), as `[name, value, ...]`. */
const v1Headers = (options, operation) => callHeaders(undefined, options, operation)

/** `client.#deliver(name, payload)` for `eventReceiver` (set in the class's static block). */
let deliverTo
/** Whether `value` was made by the ChittyIDClient constructor (set in the class's static block). */
let isClient
/**
 * Marks every request of `client` as a health probe of kind `probe` on `chittyid:request` and
 * in the logger (set in the class's static block): the compat connection manager's bare client.
 */
let markProbeClient

/** A TypeError (`ERR_INVALID_THIS`) unless `self` is a client: a detached method, a bare prototype. */
function checkThis(self, member) {
  if (!isClient(self)) throw invalidThis('ChittyIDClient', member)
}

class ChittyIDClient extends EventEmitter {
  /** Undefined until needed for a client with v1 semantics (`#deferred` holds its options). */
  #native
  /** Tickets, pending calls and their settling (lib/bridge.js). */
  #bridge
  /** This client's cache for `cachedVerdict` (src/bindings/cache.rs); 0 without one. */
  #cacheHandle = 0
  /** This client's handle for `submitMint`/`submitValidate` (src/bindings/client/calls.rs). */
  #callsHandle = 0
  /** Fleet mode shares a validation cache in Redis: `invalidate()` deletes there too. */
  #sharedCache = false
  #apiKey
  #closed = false
  /** Settles when the first close() has ended what it stopped. */
  #closing = undefined
  /** Delivers native events; handed to the native side on first listener or connect(). */
  #onEvent
  /** Resolvers of `#eventsDelivered()` waits, oldest first (one native mark each). */
  #marks = []
  /** 'native' or 'fetch' (lib/fetch-transport.js). */
  #transport
  #fetchAttached = false
  // The connection manager was started (and not stopped): its health checks may need the
  // fetch transport while no call is pending.
  #monitoring = false
  /** Logger and diagnostics_channel (lib/telemetry.js). */
  #telemetry
  /** The `headers` option, checked (lib/options.js `callHeaders` merges it per call). */
  #headers
  /**
   * v1 semantics (docs/ARCHITECTURE.md "v1 semantics"): every call is made by lib/v1.js; the
   * native client is made only if a v2 method needs it (`#ensureNative`).
   */
  #v1 = false
  #deferred
  /** Fetch transport: the `fetch` captured for each call in flight, by ticket (every attempt uses it). */
  #fetches = new Map()
  #performFetch
  /** The `idGrammar` option: the grammars `validateFormat` accepts. */
  #idGrammar

  constructor(config = {}) {
    super()
    hideOwnFields(this)
    const options = clientOptions(config)
    this.#apiKey = options.apiKey
    this.#transport = options.transport
    this.#idGrammar = options.idGrammar
    if (options.v1 !== undefined) {
      this.#v1 = true
      this.#deferred = options
      this.serviceUrl = options.v1.serviceUrl
      this.timeout = options.timeout
      fixV1Fields(this)
      return
    }
    this.#start(options)
    this.serviceUrl = this.#native.serviceUrl
    this.timeout = options.timeout
    fixV1Fields(this)
    if (options.name !== undefined)
      Object.defineProperty(this, 'name', {
        value: options.name,
        writable: true,
        configurable: true,
        enumerable: false,
      })
  }

  /** Makes the native client and everything around it. */
  #start(options) {
    const self = new WeakRef(this)
    // No native event handle exists until someone listens or connect() is called, so an idle
    // client holds nothing that could keep the process alive or show up in
    // --detectOpenHandles. The callback reaches the client only weakly (see `eventReceiver`).
    this.#onEvent = eventReceiver(self)
    try {
      this.#native = new native.NativeClient(options.native)
    } catch (err) {
      throw invalidArgument(err.message)
    }
    const { autoConnect } = options
    const fleet = options.native.fleet !== undefined
    if (autoConnect || fleet) {
      // Next tick, so listeners added right after the constructor hear every event (the
      // fleet's first too: `fleetDegraded` when Redis refuses it at once).
      process.nextTick(() => self.deref()?.#startBackground(fleet, autoConnect))
    }
    this.#cacheHandle = this.#native.cacheHandle
    this.#callsHandle = this.#native.callsHandle
    this.#sharedCache = this.#native.hasSharedCache
    this.#headers = options.headers
    this.#telemetry = new ClientTelemetry(this.#native, {
      logger: options.logger,
      serviceUrl: this.#native.serviceUrl,
      name: options.name,
    })
    const telemetry = this.#telemetry
    const fetches = this.#fetches
    // Under a test runner (transport chosen automatically) a stub sees v1's exact fetch calls, so
    // fetch follows redirects itself there (docs/ARCHITECTURE.md "Fetch transport").
    this.#performFetch = fetchPerformer(fetches, options.v1Defaults ? 'fetch' : 'client')
    // Outcomes of calls arrive in batches through the bridge.
    this.#bridge = new Bridge(this.#native, this, {
      drained: () => telemetry.drain(),
      done: (ticket, error) => {
        telemetry.callDone(ticket, error)
        fetches.delete(ticket)
      },
      idle: () => {
        const client = self.deref()
        if (client && !client.#monitoring) client.#unwireFetch()
      },
    })
  }

  /** The native client of a client with v1 semantics, made when a v2 method first needs it. */
  #ensureNative() {
    if (this.#native !== undefined) return
    this.#start(this.#deferred)
    this.#deferred = undefined
    if (this.#closed) this.#native.close() // stats of a closed client: nothing may run
  }

  /**
   * A call with v1 semantics (lib/v1.js `callV1`): a call's own options (signal, headers,
   * idempotencyKey) still work, and a closed client refuses it.
   */
  #v1Call(options, operation, mints, run) {
    const checkOpen = () => this.#checkOpen()
    return callV1(options, { operation, mints, checkOpen, headersOf: v1Headers }, run)
  }

  /** `'native'` or `'fetch'`: how this client's HTTP exchanges are made. */
  get transport() {
    checkThis(this, 'transport')
    return this.#transport
  }

  /**
   * Wires the fetch transport before an exchange. Like the completion handle, it is released
   * once the client is idle (unless the connection manager runs), so an idle client holds no
   * handle for --detectOpenHandles to report.
   */
  #wireFetch() {
    if (this.#transport !== 'fetch' || this.#fetchAttached || this.#closed) return
    this.#native.attachFetch(this.#performFetch)
    this.#fetchAttached = true
  }

  #unwireFetch() {
    if (!this.#fetchAttached) return
    this.#native.detachFetch()
    this.#fetchAttached = false
  }

  /** The configured key (not enumerable, so it never shows up in logs of the client). */
  get apiKey() {
    checkThis(this, 'apiKey')
    return this.#apiKey
  }

  #wireEvents() {
    if (this.#native === undefined || this.#onEvent === undefined || this.#closed) return
    // Payloads are made with this realm's Object and Error (src/bindings/events.rs).
    this.#native.attachEvents(this.#onEvent, Object, Error)
    this.#onEvent = undefined
  }

  on(event, listener) {
    checkThis(this, 'on()')
    this.#wireEvents()
    return super.on(event, listener)
  }

  addListener(event, listener) {
    checkThis(this, 'addListener()')
    this.#wireEvents()
    return super.addListener(event, listener)
  }

  prependListener(event, listener) {
    checkThis(this, 'prependListener()')
    this.#wireEvents()
    return super.prependListener(event, listener)
  }

  /** From the tick after the constructor: the fleet's Redis connection, `connection.autoConnect`. */
  #startBackground(fleet, autoConnect) {
    if (this.#closed) return
    if (fleet) this.#native.startFleet()
    if (!autoConnect) return
    this.#wireEvents()
    this.#monitoring = true
    this.#wireFetch()
    this.#native.startConnection()
  }

  /**
   * Resolves once every event the native side emitted so far reached the listeners: a mark
   * queued behind them comes back through the event callback (src/bindings/events.rs `flush`).
   * Resolves at once when no event can come (events not wired, closed).
   */
  #eventsDelivered() {
    if (this.#closed || !this.#native.flushEvents()) return undefined
    return new Promise((resolve) => this.#marks.push(resolve))
  }

  static {
    deliverTo = (client, name, payload) => client.#deliver(name, payload)
    markProbeClient = (client, probe) => client.#telemetry?.markProbes(probe)
    isClient = (value) => value !== null && typeof value === 'object' && #closed in value
  }

  /**
   * Emits a native event: `payload` comes built from the native side (src/bindings/events.rs).
   * A throwing listener neither stops the others nor the process.
   */
  #deliver(name, payload) {
    if (name === '') return this.#marks.shift()?.() // a mark (#eventsDelivered)
    if (this.#closed) return
    if (name === '#dropped') return this.#telemetry.eventsDropped(payload)
    // Records of the client's own health probes wait (src/bindings/events.rs).
    if (name === '#records') return this.#telemetry.drain(true)
    // A subscriber that arrived while the client made no call switches its checks' tracing on.
    this.#telemetry.refresh()
    this.#telemetry.logEvent(name, payload)
    // A listener may close() the client: later listeners then hear nothing.
    emitSafely(this, name, payload, () => !this.#closed)
  }

  /**
   * Submits a call through the bridge; `start(ticket)` makes the native call. `kind` (MINT,
   * MINT_BATCH, OTHER) and `entity` word a failure as v1 did. An aborted `signal` rejects at
   * once.
   */
  #submit(kind, entity, signal, start) {
    // Nothing was sent: a mint says so (`mayHaveMinted: false`).
    if (signal && signal.aborted)
      return Promise.reject(abortError(signal, kind === OTHER ? undefined : { mayHaveMinted: false }))
    this.#wireFetch()
    // Records of health probes started by the call (failover) come through the event channel.
    if (this.#onEvent !== undefined && this.#telemetry.observed) this.#wireEvents()
    const cancellable = signal !== undefined
    return this.#bridge.submit(kind, entity, signal, (ticket) => {
      if (this.#transport === 'fetch') this.#captureFetch(ticket)
      this.#telemetry.beforeSubmit(ticket)
      start(ticket, cancellable)
    })
  }

  /**
   * Captures `globalThis.fetch` for the call under `ticket`: every attempt of the call uses
   * this one, so no retry reaches another `fetch` (a stub restored meanwhile, say). A jest spy
   * that would pass a second request on to the real `fetch` gets one attempt only.
   */
  #captureFetch(ticket) {
    const fetch = globalThis.fetch
    this.#fetches.set(ticket, fetch)
    if (fetchTransport.passesThrough(fetch)) this.#native.singleAttempt(ticket)
  }

  #checkOpen() {
    if (this.#closed) throw closedError()
  }

  /**
   * Asks the breaker synchronously, so an open circuit rejects before any native promise exists
   * (a native async call costs ~10 µs, this check ~0.25 µs): 0 to go ahead, else ms until the next
   * trial, or minus the trial limit while HALF_OPEN with every trial in flight. Same admission,
   * counting and wording as the native path, which then admits again harmlessly. With an aborted signal it defers to the native path, which reports the abort.
   */
  #openCircuitWait(signal) {
    return this.#bridge.breakerClosed || (signal && signal.aborted) ? 0 : this.#native.breakerAdmit()
  }

  // mint, mintBatch and validate are not `async` functions: they return the promise their
  // completion settles (one promise per call, not three), and their failures reject only after
  // the caller has attached its handler (see `rejectLater`).

  mint(request, options) {
    if (!isClient(this)) return rejectLater(invalidThis('ChittyIDClient', 'mint()'))
    if (this.#v1) return this.#v1Call(options, 'mint', true, (call) => v1.mint(this, request, call))
    try {
      const signal = callSignal(options)
      const key = callIdempotencyKey(options)
      // Serialized before the breaker is asked, so bad input is a TypeError even while OPEN.
      const { request: checked, body } = checkedMintRequest(request)
      this.#checkOpen()
      const retryInMs = this.#openCircuitWait(signal)
      if (retryInMs !== 0) return rejectLater(circuitOpenError(retryInMs, mintFailure(checked.entity)))
      const headers = callHeaders(this.#headers, options, 'mint')
      return this.#submit(MINT, checked.entity, signal, (ticket, cancellable) =>
        submitMint(this.#callsHandle, ticket, body, cancellable, key, headers),
      )
    } catch (err) {
      return rejectLater(err)
    }
  }

  mintBatch(requests, options) {
    if (!isClient(this)) return rejectLater(invalidThis('ChittyIDClient', 'mintBatch()'))
    if (this.#v1) return this.#v1Call(options, 'mintBatch', true, (call) => v1.mintBatch(this, requests, call))
    try {
      const signal = callSignal(options)
      const key = callIdempotencyKey(options)
      const { requests: checked, body } = checkedMintBatch(requests)
      this.#checkOpen()
      const retryInMs = this.#openCircuitWait(signal)
      if (retryInMs !== 0) return rejectLater(circuitOpenError(retryInMs, BATCH_FAILURE))
      const headers = callHeaders(this.#headers, options, 'mintBatch')
      return this.#submit(MINT_BATCH, undefined, signal, (ticket, cancellable) =>
        this.#native.submitMintBatch(ticket, body, checked.length, cancellable, key, headers),
      )
    } catch (err) {
      return rejectLater(err)
    }
  }

  validate(id, options) {
    if (!isClient(this)) return rejectLater(invalidThis('ChittyIDClient', 'validate()'))
    if (this.#v1) return this.#v1Call(options, 'validate', false, (call) => v1.validate(this, id, call))
    try {
      const signal = callSignal(options)
      this.#checkOpen()
      // Aborted already: rejected, as fetch rejects, even where the cache could answer.
      if (signal && signal.aborted) return Promise.reject(abortError(signal))
      const problem = idProblem(id)
      if (problem !== undefined) return Promise.resolve({ valid: false, error: problem })
      // The cache lookup is synchronous: a hit costs one native call and no native promise.
      const verdict = this.#cacheHandle === 0 ? 0 : cachedVerdict(this.#cacheHandle, id)
      if (verdict !== 0) return Promise.resolve(cachedAnswer(id, verdict === 1))
      const headers = callHeaders(this.#headers, options, 'validate')
      return this.#submit(OTHER, undefined, signal, (ticket, cancellable) =>
        submitValidate(this.#callsHandle, ticket, id, cancellable, headers),
      )
    } catch (err) {
      return rejectLater(err)
    }
  }

  /**
   * Forgets `id` in the validation cache (a fresh or a stale entry), so the next `validate(id)`
   * asks the service; an answer already on its way is not stored. In fleet mode the shared
   * (Redis) entry is deleted too, so other instances ask as well. Resolves to true when an
   * entry was held (here or in Redis).
   */
  invalidate(id) {
    if (!isClient(this)) return rejectLater(invalidThis('ChittyIDClient', 'invalidate()'))
    try {
      this.#checkOpen()
      if (typeof id !== 'string') throw invalidArgument('invalidate expects the ChittyID as a string')
      // v1 semantics (lib/v1.js) cache nothing.
      if (this.#v1) return Promise.resolve(false)
      const local = this.#native.invalidateLocal(id)
      if (!this.#sharedCache) return Promise.resolve(local)
      return this.#bridge
        .submit(OTHER, undefined, undefined, (ticket) => this.#native.submitInvalidate(ticket, id))
        .then((shared) => local || shared)
    } catch (err) {
      return rejectLater(err)
    }
  }

  /** One snapshot of requests (count, errors, retries, p50/p99 per operation), breaker, cache and connection. */
  getStats() {
    checkThis(this, 'getStats()')
    this.#ensureNative()
    const stats = this.#native.getStats()
    return {
      ...stats,
      breaker: stats.breaker ?? null,
      cache: stats.cache ?? null,
      fleet: stats.fleet ?? null,
      bulkhead: stats.bulkhead ?? null,
      clientRateLimit: stats.clientRateLimit ?? null,
      endpoints: stats.endpoints ? stats.endpoints.map((e) => ({ ...e, breaker: e.breaker ?? null })) : null,
      // Which wire the active endpoint speaks ('unknown' until an answer told, with wire: 'auto').
      wire: stats.wire,
      placeholdersAccepted: stats.placeholdersAccepted,
      // Events the native queue turned away while the JS thread was behind (src/bindings/events.rs).
      eventsDropped: stats.eventsDropped,
      // Telemetry records (logger, tracing) dropped the same way (src/observe/telemetry.rs).
      telemetryDropped: stats.telemetryDropped,
      connection: this.getConnectionState(),
    }
  }

  /** The same counters in Prometheus text exposition format, ready for a `/metrics` route. */
  metrics() {
    checkThis(this, 'metrics()')
    this.#ensureNative()
    return this.#native.metrics()
  }

  validateFormat(id) {
    checkThis(this, 'validateFormat()')
    return validateIn(id, this.#idGrammar)
  }

  /**
   * Never rejects because of the service (an unhealthy or unreachable one is `false`); rejects
   * only for the caller's mistakes: bad options (TypeError) and calls after close().
   */
  async healthCheck(options) {
    checkThis(this, 'healthCheck()')
    if (this.#v1) return this.#v1Call(options, 'healthCheck', false, (call) => v1.healthCheck(this, call))
    const signal = callSignal(options)
    this.#checkOpen()
    const headers = callHeaders(this.#headers, options, 'healthCheck')
    return this.#submit(OTHER, undefined, signal, (ticket, cancellable) =>
      this.#native.submitHealthCheck(ticket, cancellable, headers),
    )
  }

  /**
   * Starts the connection manager: a health check now, then every `healthCheckInterval` ms,
   * reconnecting with backoff when the service goes down. Resolves true once CONNECTED, false
   * when this first check fails (reconnecting continues in the background).
   */
  async connect(options) {
    checkThis(this, 'connect()')
    const signal = callSignal(options)
    this.#checkOpen()
    this.#ensureNative()
    if (!this.#native.connectionState().enabled) {
      const err = new Error('the connection manager is disabled (the client was created with connection: false)')
      err.code = 'ERR_INVALID_STATE'
      throw err
    }
    this.#wireEvents()
    this.#monitoring = true
    // Aborting gives up waiting; the manager keeps monitoring (disconnect() stops it).
    const connected = await this.#submit(OTHER, undefined, signal, (ticket, cancellable) =>
      this.#native.submitConnect(ticket, cancellable),
    )
    // Settle after this attempt's events (`connected`, or `error` and `reconnecting`).
    await this.#eventsDelivered()
    return connected
  }

  /**
   * Stops health checks and reconnects; the state becomes DISCONNECTED. Settles once
   * `stateChange` and `disconnected` reached the listeners.
   */
  async disconnect() {
    checkThis(this, 'disconnect()')
    if (this.#closed || this.#native === undefined) return
    this.#native.disconnect()
    this.#monitoring = false
    if (this.#bridge.pending === 0) this.#unwireFetch()
    await this.#eventsDelivered()
  }

  /** A snapshot of the connection manager. */
  getConnectionState() {
    checkThis(this, 'getConnectionState()')
    this.#ensureNative()
    const s = this.#native.connectionState()
    return {
      state: s.state,
      lastHealthCheck: s.lastHealthCheck ?? null,
      lastSuccessfulConnection: s.lastSuccessfulConnection ?? null,
      reconnectAttempts: s.reconnectAttempts,
      isHealthy: s.isHealthy,
      uptime: s.uptime,
      nextCheckIn: s.nextCheckIn ?? null,
      enabled: s.enabled,
      stats: { ...s.stats },
    }
  }

  /**
   * Stops every task of this client: calls in flight reject with ECLIENTCLOSED (their requests
   * and retries stop natively), and so do later calls; the HTTP pool closes its sockets.
   * Settles once the calls it stopped have rejected and nothing of the client runs natively any
   * more, so its stats are final (at most CLOSE_WAIT_MS, lib/closing.js).
   */
  async close() {
    checkThis(this, 'close()')
    // A second close() settles with the first.
    if (this.#closed) return this.#closing
    this.#closed = true
    this.#onEvent = undefined
    // No event comes after close(): waits for them end now.
    for (const resolve of this.#marks.splice(0)) resolve()
    // Prometheus registries stop serving it (lib/metrics.js), so nothing holds it for them.
    forgetClient(this)
    // v1 semantics: calls in flight are lib/v1.js's own fetches and finish as they would.
    if (this.#native === undefined) return
    const stopped = this.#native.close()
    this.#monitoring = false
    // Checks of the connection manager still open end now, as the calls do.
    this.#telemetry.closeProbes(closedError())
    // Settles once what close() stopped has ended natively (docs/ARCHITECTURE.md, "Closing").
    const native = this.#native
    this.#closing = this.#bridge.closeAll(closedError, stopped, (ticket) => native.submitClosed(ticket))
    await this.#closing
    this.#fetches.clear()
    this.#unwireFetch()
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  /**
   * Splits a well-formed id of either grammar (or of `options.grammar`) into its fields, or
   * returns null (lib/id.js `parse`).
   */
  static parse(id, options) {
    return parse(id, options)
  }
}

/**
 * The callback native events arrive through. The native side holds it strongly (a threadsafe
 * function roots its JS function), so it must reach the client only through `self`: made here,
 * outside the constructor, its closure holds nothing else. A closure made in the constructor
 * would share the constructor's context (V8 keeps one per scope for all its closures) and with
 * it the native client, which could then never be collected, nor its monitor stop
 * (docs/ARCHITECTURE.md, "Dropped clients").
 */
function eventReceiver(self) {
  return (name, payload) => {
    const client = self.deref()
    if (client) deliverTo(client, name, payload)
  }
}

/**
 * The fetch transport's callback: each attempt with the `fetch` its call captured (`fetches`,
 * by ticket); outside a call (health checks of the connection manager), the one installed now.
 * Like `eventReceiver`, made outside the client so that what the native side roots holds the
 * map only, never the client.
 */
function fetchPerformer(fetches, redirects) {
  return (order) =>
    fetchTransport.perform(
      order,
      order.call != null && fetches.has(order.call) ? fetches.get(order.call) : globalThis.fetch,
      redirects,
    )
}

const { mintChittyID, validateChittyID } = shortcuts(ChittyIDClient)

// `markProbeClient` is internal (lib/compat/connection-manager.js); index.js does not export it.
module.exports = { ChittyIDClient, mintChittyID, validateChittyID, markProbeClient: (c, p) => markProbeClient(c, p) }
