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

export default ChittyIDClient
