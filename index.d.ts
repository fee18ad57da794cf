/// <reference types="node" />
import { EventEmitter } from 'node:events'

/** Entity codes the ChittyID service accepts. */
export type EntityType = 'PEO' | 'PLACE' | 'PROP' | 'EVNT' | 'AUTH' | 'INFO' | 'FACT' | 'CONTEXT' | 'ACTOR'

/** What `mint()` sends; the object is serialized as the JSON body as given. */
export interface MintRequest {
  entity: EntityType | (string & {})
  name?: string
  metadata?: Record<string, unknown>
  [extra: string]: unknown
}

/** What `validate()` resolves to. It never rejects. */
export interface ValidationResult {
  valid: boolean
  chittyId?: string
  entity?: string
  /** Why the answer is not the service's: a service error status or a transport failure. */
  error?: string
}

/** The fields of a well-formed id `VV-G-LLL-SSSS-T-YM-C-X`. */
export interface ParsedChittyID {
  version: string
  generation: string
  location: string
  sequence: string
  entityType: string
  yearMonth: string
  check: string
  extension: string
}

/** Retry of the client's own requests (transport failures, timeouts, 408, 429, 502, 503, 504). */
export interface RetryOptions {
  /** Total attempts including the first. Default 3. */
  maxAttempts?: number
  /** Default 100. */
  initialDelayMs?: number
  /** Default 5000. */
  maxDelayMs?: number
  /** Default 2. */
  backoffMultiplier?: number
  /** 0..1: each delay is spread over ±jitter of its value. Default 0.5. */
  jitter?: number
  /** A `Retry-After` longer than this is not waited for. Default 30000. */
  maxRetryAfterMs?: number
}

/** Per-client circuit breaker. */
export interface CircuitBreakerOptions {
  /** Counted failures within `monitorWindow` that open the circuit. Default 5. */
  failureThreshold?: number
  /** How long the circuit stays OPEN before trial calls, in ms. Default 60000. */
  resetTimeout?: number
  /** Window for counting failures, in ms. Default 10000. */
  monitorWindow?: number
  /** Successes in HALF_OPEN that close the circuit. Default 3. */
  halfOpenAttempts?: number
}

export interface ChittyIDClientConfig {
  /** Default `"https://id.chitty.cc/v1"`; endpoint paths are appended to it. */
  serviceUrl?: string
  /** Sent as `Authorization: Bearer <apiKey>`; never logged or shown in errors, events or stats. */
  apiKey?: string
  /** Per-request timeout in ms. Default 10000; a falsy value means the default. */
  timeout?: number
  /** Largest response body accepted, in bytes. Default 1 MiB. */
  maxResponseBytes?: number
  /** Retry policy, or `false` to send each request once. */
  retry?: RetryOptions | false
  /** Circuit breaker, or `false` to disable it. */
  circuitBreaker?: CircuitBreakerOptions | false
}

/** Options every async method takes as its last argument. */
export interface CallOptions {
  /** Aborting rejects the call at once with an `AbortError`. */
  signal?: AbortSignal
}

/** Stable error codes on `ChittyIDError#code`. */
export type ChittyIDErrorCode =
  | 'EHTTP'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ENOTFOUND'
  | 'ETIMEDOUT'
  | 'EPIPE'
  | 'EADDRNOTAVAIL'
  | 'EBADRESPONSE'
  | 'EBODYTOOLARGE'
  | 'ECIRCUITOPEN'
  | 'ABORT_ERR'
  | 'ECLIENTCLOSED'

/** Every rejection of `mint`/`mintBatch`. The message keeps v1's wording. */
export declare class ChittyIDError extends Error {
  readonly code: ChittyIDErrorCode
  /** HTTP status when the service answered with one. */
  readonly status?: number
  readonly cause?: Error & { code?: string }
  /** `"OPEN"` when the call failed fast because the circuit is open. */
  readonly circuitBreakerState?: 'OPEN'
}

export interface RetryEvent {
  operation: 'mint' | 'mintBatch' | 'validate'
  /** The attempt that just failed (1-based). */
  attempt: number
  /** Milliseconds until the next attempt. */
  delay: number
  error: Error & { code?: string }
}

export interface CircuitOpenEvent {
  failures: number
  resetTimeout: number
}

/** Event names and payloads of `ChittyIDClient`. */
export interface ChittyIDClientEvents {
  retry: [RetryEvent]
  circuitOpen: [CircuitOpenEvent]
  circuitHalfOpen: [Record<string, never>]
  circuitClose: [Record<string, never>]
  error: [Error & { code?: string }]
}

export declare class ChittyIDClient extends EventEmitter {
  constructor(config?: ChittyIDClientConfig)
  readonly serviceUrl: string
  readonly timeout: number
  readonly apiKey: string | undefined

  /** Mints one id. Rejects with a `ChittyIDError`. */
  mint(request: MintRequest, options?: CallOptions): Promise<string>
  /** Mints one id per request, in order. */
  mintBatch(requests: MintRequest[], options?: CallOptions): Promise<string[]>
  /** Asks the service; never rejects (falls back to the format check on transport failure). */
  validate(id: string, options?: CallOptions): Promise<ValidationResult>
  /** Checks the official grammar only; non-strings are `false`. */
  validateFormat(id: unknown): boolean
  /** `GET /health` with a 5 s timeout; never rejects. */
  healthCheck(options?: CallOptions): Promise<boolean>
  /** Stops every timer and task of the client. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>

  static parse(id: unknown): ParsedChittyID | null

  on<E extends keyof ChittyIDClientEvents>(event: E, listener: (...args: ChittyIDClientEvents[E]) => void): this
  once<E extends keyof ChittyIDClientEvents>(event: E, listener: (...args: ChittyIDClientEvents[E]) => void): this
  off<E extends keyof ChittyIDClientEvents>(event: E, listener: (...args: ChittyIDClientEvents[E]) => void): this
  addListener<E extends keyof ChittyIDClientEvents>(event: E, listener: (...args: ChittyIDClientEvents[E]) => void): this
  removeListener<E extends keyof ChittyIDClientEvents>(event: E, listener: (...args: ChittyIDClientEvents[E]) => void): this
  emit<E extends keyof ChittyIDClientEvents>(event: E, ...args: ChittyIDClientEvents[E]): boolean
}

export declare function mintChittyID(request: MintRequest, config?: ChittyIDClientConfig): Promise<string>
export declare function validateChittyID(id: string, config?: ChittyIDClientConfig): Promise<ValidationResult>

// ---------------------------------------------------------------------------------------
// Emulator

export type EmulatorRoute = 'health' | 'mint' | 'batch' | 'validate'

/** Fault switches; `setFault({})` clears all of them. */
export interface EmulatorFaults {
  /** Added before every answer, health included. */
  latencyMs?: number
  /** Answer this status (e.g. 500, 503) instead of serving. */
  errorStatus?: number
  /** Answer 429 with `Retry-After: <seconds>`. */
  rateLimitRetryAfter?: number
  /** Close the connection without answering. */
  resetConnection?: boolean
  /** Mint routes only: record the mint, then close the connection without answering. */
  dropAfterCommit?: boolean
  /** Answer 2xx with a body that is not JSON. */
  malformedJson?: boolean
  /** Pad successful answers to this many bytes. */
  oversizedBody?: number
  /** Health and every route answer 503. */
  down?: boolean
  /** Routes the error/429/reset/malformed/oversized faults apply to; default all but health. */
  routes?: EmulatorRoute[]
  /** Chance (0..1) that an eligible request is faulted; default always. */
  probability?: number
  /** Fault only the next N eligible requests. */
  remaining?: number
}

export interface EmulatorStats {
  minted: number
  /** Every id minted, in order. */
  mintedIds: string[]
  idempotentReplays: number
  requests: { health: number; mint: number; batch: number; validate: number; other: number }
  unauthorized: number
  badRequests: number
  faultsInjected: number
  connections: number
}

export interface EmulatorOptions {
  /** Default `"127.0.0.1"`. */
  host?: string
  /** 0 (default) picks a free port. */
  port?: number
  /** When set, mint and validate require `Authorization: Bearer <token>`. */
  token?: string
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxRequestBytes?: number
}

/** A local ChittyID service (serves `/`, `/v1` and `/api/v1`) with fault injection. */
export declare class ChittyIDEmulator {
  private constructor()
  static start(options?: EmulatorOptions): Promise<ChittyIDEmulator>
  /** Base URL without a path, e.g. `http://127.0.0.1:40123`. */
  readonly url: string
  readonly port: number
  setFault(faults: EmulatorFaults): void
  setFaults(faults: EmulatorFaults): void
  clearFaults(): void
  stats(): EmulatorStats
  resetLedger(): void
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

// ---------------------------------------------------------------------------------------
// Compat: resilience helpers services built around v1 (DESIGN.md §3). Their breaker state
// machine and backoff schedule are the native ones the client uses; only `fn` runs in JS.

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
 * The rejection of `CircuitBreaker#execute` (and of the client) while the circuit is OPEN. It is a
 * `ChittyIDError` without stack frames: capturing them would cost more than failing fast itself.
 */
export interface CircuitOpenError extends Error {
  /** Contains `circuit breaker is OPEN`. */
  readonly message: string
  readonly code: 'ECIRCUITOPEN'
  readonly circuitBreakerState: 'OPEN'
}

/**
 * A circuit breaker around calls you make: CLOSED → OPEN after `failureThreshold` (5) failures
 * inside `monitorWindow` (10000 ms); OPEN rejects at once with a `CircuitOpenError` until
 * `resetTimeout` (60000 ms) after the last failure, then admits trial calls (HALF_OPEN);
 * `halfOpenAttempts` (3) successes close it and a failure re-opens it.
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

export default ChittyIDClient
