'use strict'

// Drop-in for the `ChittyIDConnectionManager` that services wrapped around v1 (docs/MIGRATION.md "The compat layer").
// Timers are JS timers, unref'd so they never keep a process alive; the health check is the
// native client's (`GET ${serviceUrl}/health`, 5 s timeout) and the reconnect schedule comes
// from the same Rust function the client's own connection manager uses.

const { EventEmitter } = require('node:events')
const native = require('../native/index.js')
const { ChittyIDClient, markProbeClient } = require('../client.js')
const { DEFAULTS: CLIENT_DEFAULTS } = require('../options.js')
const { emitSafely } = require('../events.js')
const { ConnectionState, zeroConnectionStats } = require('../connection-state.js')
const { hideOwnFields } = require('../v1.js')

// The client's `connection` defaults (lib/options.js), and v1's own service URL default for
// this class: the service root, without the client's `/v1`.
const DEFAULTS = Object.freeze({
  serviceUrl: 'https://id.chitty.cc',
  healthCheckInterval: CLIENT_DEFAULTS.connection.healthCheckInterval,
  reconnectDelay: CLIENT_DEFAULTS.connection.reconnectDelay,
  maxReconnectDelay: CLIENT_DEFAULTS.connection.maxReconnectDelay,
  reconnectMultiplier: CLIENT_DEFAULTS.connection.reconnectMultiplier,
  maxReconnectAttempts: CLIENT_DEFAULTS.connection.maxReconnectAttempts,
})

/** Longest delay a Node timer honours; longer ones would fire after 1 ms. */
const TIMER_MAX_MS = 2 ** 31 - 1

/**
 * A live property as a number, whatever was assigned to it: NaN for what `Number()` refuses
 * (a Symbol, an object whose valueOf throws), so a reconnect scheduled from a timer never throws
 * (docs/ARCHITECTURE.md "Options": the compat manager is lenient).
 */
function numberOf(value) {
  try {
    return Number(value)
  } catch {
    return NaN
  }
}

function timerDelay(ms) {
  const n = numberOf(ms)
  if (!(n >= 1)) return 1
  return Math.min(Math.ceil(n), TIMER_MAX_MS)
}

function option(options, name) {
  const value = options[name]
  return value === undefined || value === null ? DEFAULTS[name] : value
}

class ChittyIDConnectionManager extends EventEmitter {
  /** Native client used only for health checks; rebuilt when serviceUrl or apiKey change. */
  #probe = null
  #probeKey = null
  /** The connect() in flight, shared by concurrent callers. */
  #connecting = null
  /** Bumped by disconnect()/reset(): a health check from before is ignored. */
  #epoch = 0
  #checkInFlight = false
  /** Events that have had a listener (the keys of the old emitter's listener map). */
  #heard = new Set()

  constructor(options = {}) {
    super()
    // EventEmitter's own fields (`_events`, ...) are not the manager's data: hidden, its own
    // enumerable properties are the fields its type declares, as with the client.
    hideOwnFields(this)
    if (options === null || typeof options !== 'object') options = {}
    this.serviceUrl = option(options, 'serviceUrl')
    Object.defineProperty(this, 'apiKey', {
      value: options.apiKey,
      writable: true,
      enumerable: false,
      configurable: true,
    })
    this.healthCheckInterval = option(options, 'healthCheckInterval')
    this.reconnectDelay = option(options, 'reconnectDelay')
    this.maxReconnectDelay = option(options, 'maxReconnectDelay')
    this.reconnectMultiplier = option(options, 'reconnectMultiplier')
    this.maxReconnectAttempts = option(options, 'maxReconnectAttempts')

    this.state = ConnectionState.DISCONNECTED
    this.reconnectAttempts = 0
    this.lastHealthCheck = null
    this.lastSuccessfulConnection = null
    this.healthCheckTimer = null
    this.reconnectTimer = null
    this.stats = zeroConnectionStats()

    // `listeners(event)` keeps EventEmitter's meaning; `listeners.get(event)` is the shape of
    // the hand-written emitter this class replaces (a Map of event → listener array, whose
    // array stayed in the map, empty, once its last listener was removed).
    const all = (event) => EventEmitter.prototype.listeners.call(this, event)
    all.get = (event) => (this.#heard.has(event) ? all(event) : undefined)
    all.has = (event) => this.#heard.has(event)
    Object.defineProperty(this, 'listeners', { value: all, writable: true, enumerable: false, configurable: true })
  }

  // EventEmitter's `once` and `prependOnceListener` go through `on` and `prependListener`.
  on(event, listener) {
    super.on(event, listener)
    this.#heard.add(event)
    return this
  }

  addListener(event, listener) {
    return this.on(event, listener)
  }

  prependListener(event, listener) {
    super.prependListener(event, listener)
    this.#heard.add(event)
    return this
  }

  /** As EventEmitter's; the events it clears are forgotten (`listeners.get` → `undefined`). */
  removeAllListeners(event) {
    super.removeAllListeners(...arguments)
    if (arguments.length === 0) this.#heard.clear()
    else this.#heard.delete(event)
    return this
  }

  /** Emits to every listener; one that throws neither stops the others nor the process. */
  #emit(event, payload) {
    emitSafely(this, event, payload)
  }

  /** A bare client for the health check (no retry, breaker, cache or monitor of its own). */
  #nativeProbe() {
    const key = `${this.serviceUrl}\u0000${this.apiKey ?? ''}`
    if (this.#probeKey !== key) {
      this.#probe = new ChittyIDClient({
        serviceUrl: String(this.serviceUrl),
        apiKey: typeof this.apiKey === 'string' && this.apiKey !== '' ? this.apiKey : undefined,
        retry: false,
        circuitBreaker: false,
        cache: false,
        connection: false,
      })
      // Its checks are the manager's own: traced and logged as probes, as natively.
      markProbeClient(this.#probe, 'connection')
      this.#probeKey = key
    }
    return this.#probe
  }

  /** Shares one attempt between concurrent callers; never rejects. */
  connect() {
    if (this.#connecting) return this.#connecting
    if (this.state === ConnectionState.CONNECTED) return Promise.resolve(true)
    const attempt = this.#attempt().finally(() => {
      if (this.#connecting === attempt) this.#connecting = null
    })
    this.#connecting = attempt
    return attempt
  }

  async #attempt() {
    const epoch = this.#epoch
    this.clearReconnectTimer()
    try {
      this.setState(ConnectionState.CONNECTING)
      const healthy = await this.performHealthCheck()
      if (epoch !== this.#epoch) return false
      if (!healthy) {
        throw Object.assign(new Error(`ChittyID service health check failed: ${this.serviceUrl}/health`), {
          code: 'EUNHEALTHY',
        })
      }
      this.reconnectAttempts = 0
      this.lastSuccessfulConnection = Date.now()
      this.stats.totalConnections++
      this.setState(ConnectionState.CONNECTED)
      this.startHealthMonitoring()
      this.#emit('connected', { serviceUrl: this.serviceUrl })
      return true
    } catch (err) {
      if (epoch !== this.#epoch) return false
      this.stats.totalFailures++
      this.setState(ConnectionState.FAILED)
      this.#emit('error', err)
      this.scheduleReconnect()
      return false
    }
  }

  /**
   * Stops monitoring and any scheduled reconnect; DISCONNECTED; emits `disconnected`. Takes
   * effect at once (the returned promise is already settled); a connect() in flight resolves
   * false.
   */
  disconnect() {
    this.#epoch++
    this.#connecting = null
    this.stopHealthMonitoring()
    this.clearReconnectTimer()
    this.setState(ConnectionState.DISCONNECTED)
    this.#emit('disconnected', { serviceUrl: this.serviceUrl })
    return Promise.resolve()
  }

  /** `GET ${serviceUrl}/health` with a 5 s timeout; updates stats; never rejects. */
  async performHealthCheck() {
    this.stats.totalHealthChecks++
    let healthy = false
    try {
      healthy = (await this.#nativeProbe().healthCheck()) === true
    } catch {
      healthy = false
    }
    this.lastHealthCheck = Date.now()
    if (healthy) this.stats.successfulHealthChecks++
    else this.stats.failedHealthChecks++
    return healthy
  }

  /** A health check every `healthCheckInterval` ms; a failure while CONNECTED is a loss. */
  startHealthMonitoring() {
    this.stopHealthMonitoring()
    const timer = setInterval(() => this.#monitorTick(timer), timerDelay(this.healthCheckInterval))
    timer.unref()
    this.healthCheckTimer = timer
  }

  async #monitorTick(timer) {
    if (this.#checkInFlight) return
    this.#checkInFlight = true
    try {
      const healthy = await this.performHealthCheck()
      if (!healthy && this.healthCheckTimer === timer && this.state === ConnectionState.CONNECTED) {
        this.#emit('unhealthy', { serviceUrl: this.serviceUrl })
        this.handleConnectionLoss()
      }
    } finally {
      this.#checkInFlight = false
    }
  }

  stopHealthMonitoring() {
    if (this.healthCheckTimer) clearInterval(this.healthCheckTimer)
    this.healthCheckTimer = null
  }

  /** Stops monitoring and schedules a reconnect. */
  handleConnectionLoss() {
    this.stopHealthMonitoring()
    this.scheduleReconnect()
  }

  /**
   * FAILED and `maxReconnectAttemptsReached` once `reconnectAttempts >= maxReconnectAttempts`;
   * else a reconnect in `min(reconnectDelay * multiplier^attempts, maxReconnectDelay)` ms.
   */
  scheduleReconnect() {
    this.clearReconnectTimer()
    if (numberOf(this.reconnectAttempts) >= numberOf(this.maxReconnectAttempts)) {
      this.setState(ConnectionState.FAILED)
      this.#emit('maxReconnectAttemptsReached', { attempts: this.reconnectAttempts })
      return
    }
    const attempts = Math.min(Math.max(Math.floor(numberOf(this.reconnectAttempts)) || 0, 0), 2 ** 32 - 1)
    const delay = native.reconnectDelayMs(
      attempts,
      numberOf(this.reconnectDelay),
      numberOf(this.reconnectMultiplier),
      numberOf(this.maxReconnectDelay),
    )
    this.reconnectAttempts = attempts + 1
    this.stats.totalReconnections++
    const timer = setTimeout(() => {
      if (this.reconnectTimer !== timer) return
      this.reconnectTimer = null
      this.connect()
    }, timerDelay(delay))
    timer.unref()
    this.reconnectTimer = timer
    this.setState(ConnectionState.RECONNECTING)
    this.#emit('reconnecting', { attempt: this.reconnectAttempts, delay })
  }

  clearReconnectTimer() {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
  }

  /** Emits `stateChange {from, to, timestamp}` only when the state changes. */
  setState(newState) {
    const from = this.state
    if (from === newState) return
    this.state = newState
    this.#emit('stateChange', { from, to: newState, timestamp: Date.now() })
  }

  getState() {
    const isHealthy = this.state === ConnectionState.CONNECTED
    return {
      state: this.state,
      lastHealthCheck: this.lastHealthCheck,
      lastSuccessfulConnection: this.lastSuccessfulConnection,
      reconnectAttempts: this.reconnectAttempts,
      stats: { ...this.stats },
      isHealthy,
      uptime: isHealthy && this.lastSuccessfulConnection ? Date.now() - this.lastSuccessfulConnection : 0,
    }
  }

  getStats() {
    const { totalHealthChecks, successfulHealthChecks } = this.stats
    const rate = totalHealthChecks > 0 ? (successfulHealthChecks / totalHealthChecks) * 100 : 0
    return {
      ...this.stats,
      healthCheckSuccessRate: `${rate.toFixed(2)}%`,
      currentState: this.state,
      isConnected: this.state === ConnectionState.CONNECTED,
    }
  }

  /** Disconnects, then zeroes the reconnect attempts and the stats (at once). */
  reset() {
    this.disconnect()
    this.reconnectAttempts = 0
    this.stats = zeroConnectionStats()
    return Promise.resolve()
  }
}

let shared = null

/** One manager per process, created (and connecting) on the first call. */
function getSharedConnectionManager(options) {
  if (shared === null) {
    shared = new ChittyIDConnectionManager(options)
    shared.connect()
  }
  return shared
}

/** Resets the shared manager and forgets it. */
function resetSharedConnectionManager() {
  if (shared !== null) {
    const manager = shared
    shared = null
    manager.reset()
  }
}

module.exports = {
  ConnectionState,
  ChittyIDConnectionManager,
  getSharedConnectionManager,
  resetSharedConnectionManager,
}
