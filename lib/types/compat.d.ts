/// <reference types="node" />
// The compat layer (docs/MIGRATION.md "The compat layer"), native build only: the resilience helpers, the
// connection manager and the validation cache that services built around v1 used. Their
// breaker state machine and backoff schedule are the native ones the client uses; only `fn`
// runs in JS.
import { EventEmitter } from 'node:events'
import type { ConnectionStateName, ConnectionStats } from './connection'
import type { ChittyIDClientEvents } from './events'
import type { CircuitBreakerOptions, ConnectionOptions } from './options'
import type { CacheStats } from './stats'

/** Configuration of `withRetry`; fields left out take their `RETRY_CONFIG` value. */
export interface RetryConfig {
  /** Total calls of `fn`, the first included. Default 3. */
  maxAttempts: number
  /** Wait before the first retry, in ms. Default 100. */
  initialDelayMs: number
  /** Longest wait between calls, in ms. Default 5000. */
  maxDelayMs: number
  /** Each wait is the previous one times this (at least 1). Default 2. */
  backoffMultiplier: number
  /** An error is retried when its `code` equals, or its message contains (ignoring case), an entry. */
  retryableErrors: string[]
}

/**
 * Defaults of `withRetry`: 3 attempts, 100 ms ×2 capped at 5000 ms, retrying
 * ECONNREFUSED, ETIMEDOUT, ENOTFOUND, EAI_AGAIN, ECONNRESET, EPIPE, "fetch failed" and "network error".
 */
export declare const RETRY_CONFIG: RetryConfig

/**
 * Calls `fn` until it succeeds or `maxAttempts` calls have failed, waiting `initialDelayMs`,
 * then × `backoffMultiplier` (capped at `maxDelayMs`) between calls; rethrows the last error.
 * A non-retryable error is rethrown after its one call. An invalid config rejects with a `TypeError`.
 */
export declare function withRetry<T>(fn: () => T | PromiseLike<T>, config?: Partial<RetryConfig>): Promise<T>

/** States of a `CircuitBreaker`. */
export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN'

/** What `CircuitBreaker#getState()` returns; times are ms since the Unix epoch. */
export interface CircuitBreakerState {
  state: CircuitState
  /** Failures inside the monitor window ending now. */
  failures: number
  /** When the last failure was recorded, or `null` if none was. */
  lastFailure: number | null
  lastStateChange: number
  /** Time spent in the current state, in ms. */
  uptimeMs: number
  /** Successes so far in HALF_OPEN. */
  halfOpenSuccesses: number
  config: { failureThreshold: number; resetTimeout: number; monitorWindow: number }
}

/**
 * The rejection of `CircuitBreaker#execute` (and of the client) while the circuit is OPEN, or
 * HALF_OPEN with `halfOpenAttempts` trial calls in flight. It is a `ChittyIDError` without stack
 * frames: capturing them would cost more than failing fast itself.
 */
export interface CircuitOpenError extends Error {
  /** Contains `circuit breaker is OPEN` (or `circuit breaker is HALF_OPEN` for the trial limit). */
  readonly message: string
  readonly code: 'ECIRCUITOPEN'
  readonly circuitBreakerState: 'OPEN' | 'HALF_OPEN'
}

/**
 * A circuit breaker around calls you make: CLOSED → OPEN after `failureThreshold` (5) failures
 * inside `monitorWindow` (10000 ms); OPEN rejects at once with a `CircuitOpenError` until
 * `resetTimeout` (60000 ms) after the last failure, then admits trial calls (HALF_OPEN), at most
 * `halfOpenAttempts` (3) at once; `halfOpenAttempts` successes close it and a failure re-opens it.
 */
export declare class CircuitBreaker {
  /** Invalid options throw a `TypeError`. */
  constructor(options?: CircuitBreakerOptions)
  /** The current state; an expired OPEN turns HALF_OPEN on the next `execute`. */
  readonly state: CircuitState
  /** Runs `fn` when the circuit admits it and records its outcome; rejects at once while OPEN. */
  execute<T>(fn: () => T | PromiseLike<T>): Promise<T>
  /** A snapshot of the state, counters and configuration. */
  getState(): CircuitBreakerState
  /** Back to CLOSED with every counter cleared. */
  reset(): void
}

/** The process-wide `CircuitBreaker`, created with `options` on the first call; later options are ignored. */
export declare function getCircuitBreaker(options?: CircuitBreakerOptions): CircuitBreaker

/** Options of `withResilience`. */
export interface ResilienceOptions {
  /** Passed to `withRetry`; default `RETRY_CONFIG`. */
  retryConfig?: Partial<RetryConfig>
  /** Used only if the shared breaker does not exist yet. */
  circuitBreakerConfig?: CircuitBreakerOptions
}

/** `withRetry(fn, retryConfig)` inside the shared breaker: a call whose retries run out counts as one failure. */
export declare function withResilience<T>(fn: () => T | PromiseLike<T>, options?: ResilienceOptions): Promise<T>

/** The schedule options are the client's `connection` options of the same names, with their defaults. */
export interface ConnectionManagerOptions extends Pick<
  ConnectionOptions,
  'healthCheckInterval' | 'reconnectDelay' | 'maxReconnectDelay' | 'reconnectMultiplier' | 'maxReconnectAttempts'
> {
  /** Default `"https://id.chitty.cc"`; checks `GET ${serviceUrl}/health`. */
  serviceUrl?: string
  /** Sent as `Authorization: Bearer <apiKey>` with health checks; not enumerable on the manager. */
  apiKey?: string
}

export interface ConnectionManagerState {
  state: ConnectionStateName
  lastHealthCheck: number | null
  lastSuccessfulConnection: number | null
  reconnectAttempts: number
  stats: ConnectionStats
  isHealthy: boolean
  /** ms since the last successful connection while CONNECTED, else 0. */
  uptime: number
}

export interface ConnectionManagerStats extends ConnectionStats {
  /** e.g. `"97.50%"`; `"0.00%"` before the first check. */
  healthCheckSuccessRate: string
  currentState: ConnectionStateName
  isConnected: boolean
}

/** The client's connection events; `error` is emitted only when listened (a failed `connect()`). */
export type ConnectionManagerEvents = Pick<
  ChittyIDClientEvents,
  'stateChange' | 'connected' | 'disconnected' | 'reconnecting' | 'unhealthy' | 'maxReconnectAttemptsReached' | 'error'
>

/** A listener as `EventEmitter#listeners()` returns it. */
export type ConnectionManagerListener = (...args: any[]) => void

/**
 * `listeners(event)` as in EventEmitter, plus the Map-like `get`/`has` of the old hand-written
 * emitter. Its call signature returns `(...args: any[]) => void` functions, which fits both the
 * `Function[]` of older `@types/node` and the typed listeners of current ones.
 */
export interface ConnectionManagerListeners {
  (event: string | symbol): ConnectionManagerListener[]
  /**
   * The event's listener array: `undefined` for an event that never had a listener, `[]` for
   * one whose listeners were all removed (as the old emitter kept its emptied array).
   */
  get(event: string | symbol): ConnectionManagerListener[] | undefined
  /** `true` once the event has had a listener, even if all were removed since (like `get`). */
  has(event: string | symbol): boolean
}

/**
 * Self-healing connection to the ChittyID service, with exactly the behaviour of the v1-era
 * module: health checks on an interval, reconnects with exact backoff
 * `min(reconnectDelay * reconnectMultiplier^reconnectAttempts, maxReconnectDelay)` (the same
 * native code as the client's), FAILED after `maxReconnectAttempts`. Timers are unref'd: they
 * never keep the process alive. Listeners that throw do not stop the others.
 */
export declare class ChittyIDConnectionManager extends EventEmitter {
  constructor(options?: ConnectionManagerOptions)
  state: ConnectionStateName
  /** Writable: the next reconnect delay is computed from it. */
  reconnectAttempts: number
  lastHealthCheck: number | null
  lastSuccessfulConnection: number | null
  /** Truthy while monitoring, else `null`. */
  healthCheckTimer: NodeJS.Timeout | null
  /** Truthy while a reconnect is scheduled, else `null`. */
  reconnectTimer: NodeJS.Timeout | null
  stats: ConnectionStats
  serviceUrl: string
  apiKey: string | undefined
  healthCheckInterval: number
  reconnectDelay: number
  maxReconnectDelay: number
  reconnectMultiplier: number
  maxReconnectAttempts: number
  listeners: ConnectionManagerListeners

  /**
   * Never rejects; concurrent calls share one attempt and resolve to the same value. Success:
   * CONNECTED, monitoring starts, `connected`. Failure: FAILED, `error` (if listened), a
   * reconnect is scheduled. Resolves `true` at once when already CONNECTED.
   */
  connect(): Promise<boolean>
  /** Stops monitoring and any scheduled reconnect; DISCONNECTED; emits `disconnected`. Takes effect at once. */
  disconnect(): Promise<void>
  /** `GET ${serviceUrl}/health` with a 5 s timeout; updates stats; never rejects. */
  performHealthCheck(): Promise<boolean>
  startHealthMonitoring(): void
  stopHealthMonitoring(): void
  /** Stops monitoring and schedules a reconnect. */
  handleConnectionLoss(): void
  /** FAILED + `maxReconnectAttemptsReached` when attempts are exhausted, else schedules a reconnect. */
  scheduleReconnect(): void
  clearReconnectTimer(): void
  /** Emits `stateChange` only when `state` actually changes. */
  setState(state: ConnectionStateName): void
  getState(): ConnectionManagerState
  getStats(): ConnectionManagerStats
  /** Disconnects, then zeroes `reconnectAttempts` and the stats (at once). */
  reset(): Promise<void>

  on<E extends keyof ConnectionManagerEvents>(event: E, listener: (...args: ConnectionManagerEvents[E]) => void): this
  once<E extends keyof ConnectionManagerEvents>(event: E, listener: (...args: ConnectionManagerEvents[E]) => void): this
  off<E extends keyof ConnectionManagerEvents>(event: E, listener: (...args: ConnectionManagerEvents[E]) => void): this
  addListener<E extends keyof ConnectionManagerEvents>(
    event: E,
    listener: (...args: ConnectionManagerEvents[E]) => void,
  ): this
  removeListener<E extends keyof ConnectionManagerEvents>(
    event: E,
    listener: (...args: ConnectionManagerEvents[E]) => void,
  ): this
  emit<E extends keyof ConnectionManagerEvents>(event: E, ...args: ConnectionManagerEvents[E]): boolean
}

/** The process-wide manager, created (and connecting) on the first call; later `options` are ignored. */
export declare function getSharedConnectionManager(options?: ConnectionManagerOptions): ChittyIDConnectionManager

/** Resets the shared manager (disconnect, zero attempts and stats) and forgets it. */
export declare function resetSharedConnectionManager(): void

/** `ChittyIDCache#getStats()`; `hitRate` is `"NN.NN%"`. */
export type ChittyIDCacheStats = Omit<CacheStats, 'staleServed'>

export interface ChittyIDCacheOptions {
  /** Default 10000. */
  maxSize?: number
  /** Default 300000 (5 min). */
  ttlMs?: number
}

/**
 * LRU + TTL cache of validation verdicts. Pure JS on purpose: `get()` sits in front of a
 * format check on every request, and a call into native code costs more than the whole lookup.
 * Expiry follows `Date.now` (fake timers and a mocked `Date.now` are honoured at once).
 */
export declare class ChittyIDCache {
  constructor(options?: ChittyIDCacheOptions)
  readonly maxSize: number
  readonly ttlMs: number
  /** The cached verdict; `null` on a miss or an expired entry. Counts a hit or a miss. */
  get(id: string): boolean | null
  set(id: string, isValid: boolean): void
  has(id: string): boolean
  invalidate(id: string): boolean
  /** Removes every entry and zeroes the stats. */
  clear(): void
  size(): number
  /** The client's cache counters without `staleServed` (this cache serves no stale answers). */
  getStats(): ChittyIDCacheStats
  /** Removes expired entries; returns how many. */
  maintain(): number
  /** Cached ids, least recently used first. */
  keys(): string[]
  getConfig(): { maxSize: number; ttlMs: number; ttlMinutes: number }
}

/** One `ChittyIDCache` per process (per worker thread), created with `options` on first call. */
export declare function getSharedCache(options?: ChittyIDCacheOptions): ChittyIDCache

/** Clears and forgets the shared cache. */
export declare function clearSharedCache(): void
