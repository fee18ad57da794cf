// Types of the portable entry (portable.js): the client for Cloudflare Workers and other fetch
// runtimes (README "Runtimes"). The shapes it shares with the native build are the same modules
// of lib/types/ that index.d.ts re-exports.
import type { ChittyIDClientCalls } from './lib/types/client'
import type { ChittyIDClientEvents, PlaceholderEvent } from './lib/types/events'
import type { ChittyIDGrammar, MintRequest, ValidationResult, parse } from './lib/types/ids'
import type {
  CallOptions,
  ChittyIDHeaders,
  ChittyIDOperation,
  ChittyIDWire,
  CircuitBreakerOptions,
  RetryOptions,
} from './lib/types/options'
import type { BreakerStats, CacheStats, RateLimitStats } from './lib/types/stats'
import type { ClientConnectionState } from './lib/types/connection'

export * from './lib/types/ids'
export type {
  MintRetryMode,
  RetryOptions,
  CircuitBreakerOptions,
  ChittyIDOperation,
  ChittyIDHeaders,
  ChittyIDWire,
  CallOptions,
  MintOptions,
} from './lib/types/options'
export * from './lib/types/errors'
export * from './lib/types/connection'
export type {
  RetryEvent,
  CircuitOpenEvent,
  RateLimitedEvent,
  PlaceholderEvent,
  ChittyIDClientEvents,
} from './lib/types/events'
export type { BreakerStats, CacheStats, RateLimitStats } from './lib/types/stats'
export type { ChittyIDClientCalls } from './lib/types/client'

export interface PortableCacheOptions {
  /** Default 10000. */
  maxSize?: number
  /** Default 300000 (5 min). */
  ttlMs?: number
  /** Default 30000; at most `ttlMs`. */
  negativeTtlMs?: number
}

export interface PortableClientConfig {
  /** Default `"https://id.chitty.cc/v1"`. One URL: failover across several needs the native build. */
  serviceUrl?: string | readonly [string]
  /** Sent as `Authorization: Bearer <apiKey>`; never shown in errors, events or stats. */
  apiKey?: string
  /** Per-attempt timeout in ms. Default 10000; a falsy value means the default; a string of digits counts as its number. */
  timeout?: number | string
  /** Default 1 MiB. */
  maxResponseBytes?: number
  /** As in the native build, without `budget`. */
  retry?: Omit<RetryOptions, 'budget'> | false
  circuitBreaker?: CircuitBreakerOptions | false
  cache?: PortableCacheOptions | false
  allowInsecure?: boolean
  headers?: ChittyIDHeaders | ((context: { operation: ChittyIDOperation }) => ChittyIDHeaders | undefined)
  name?: string
  /** Default `"auto"`. */
  wire?: ChittyIDWire
  /** Resolve placeholder ids (marked by a `placeholder` event) instead of rejecting with `EPLACEHOLDER`. Default false. */
  acceptPlaceholders?: boolean
  /** The grammars `validateFormat` and validate()'s format fallback accept. Default `"any"`. */
  idGrammar?: ChittyIDGrammar
  scope?: 'client'
  /** The connection manager is not in the portable build. */
  connection?: false
  transport?: 'fetch'
}

export interface PortableClientEvents extends Pick<
  ChittyIDClientEvents,
  'retry' | 'circuitOpen' | 'circuitHalfOpen' | 'circuitClose' | 'rateLimited' | 'error'
> {
  /** `acceptPlaceholders: true`: a mint resolved to a placeholder id. */
  placeholder: [PlaceholderEvent]
}

export interface PortableOperationStats {
  requests: number
  errors: number
  retries: number
}

export interface PortableClientStats {
  runtime: 'portable'
  requests: Record<ChittyIDOperation, PortableOperationStats>
  retries: number
  rejectedByBreaker: number
  rateLimit: RateLimitStats
  breaker: BreakerStats | null
  cache: CacheStats | null
  /** Placeholder ids resolved (`acceptPlaceholders`). */
  placeholdersAccepted: number
  /** Always 0: the portable client emits its events synchronously, with no queue to overflow. */
  eventsDropped: number
  /** Always 0: the portable client queues no telemetry records, so it drops none. */
  telemetryDropped: number
  /** The wire the service speaks; `"unknown"` until an answer told (`wire: "auto"`). */
  wire: 'v1' | 'deployed' | 'unknown'
  connection: ClientConnectionState
}

/** The portable client: the calls of `ChittyIDClientCalls`, over the runtime's `fetch`. */
export interface ChittyIDClient extends ChittyIDClientCalls {}
export declare class ChittyIDClient {
  constructor(config?: PortableClientConfig)
  readonly transport: 'fetch'
  /** Rejects with `ERR_CHITTYID_UNSUPPORTED`: no background health checks in a fetch runtime. */
  connect(options?: CallOptions): Promise<never>
  getStats(): PortableClientStats
  /** Throws `ERR_CHITTYID_UNSUPPORTED`. */
  metrics(): never
  /** The fields of a well-formed id of either grammar (or of `options.grammar`), or `null`. */
  static parse: typeof parse

  on<E extends keyof PortableClientEvents>(event: E, listener: (...args: PortableClientEvents[E]) => void): this
  once<E extends keyof PortableClientEvents>(event: E, listener: (...args: PortableClientEvents[E]) => void): this
  off<E extends keyof PortableClientEvents>(event: E, listener: (...args: PortableClientEvents[E]) => void): this
  addListener<E extends keyof PortableClientEvents>(
    event: E,
    listener: (...args: PortableClientEvents[E]) => void,
  ): this
  prependListener<E extends keyof PortableClientEvents>(
    event: E,
    listener: (...args: PortableClientEvents[E]) => void,
  ): this
  removeListener<E extends keyof PortableClientEvents>(
    event: E,
    listener: (...args: PortableClientEvents[E]) => void,
  ): this
  removeAllListeners(event?: keyof PortableClientEvents): this
  listenerCount(event: keyof PortableClientEvents): number
  /** The listeners of `event` (a `once` listener as given, not its wrapper). */
  listeners<E extends keyof PortableClientEvents>(event: E): Array<(...args: PortableClientEvents[E]) => void>
  eventNames(): Array<keyof PortableClientEvents>
  emit<E extends keyof PortableClientEvents>(event: E, ...args: PortableClientEvents[E]): boolean
  /** Accepted for EventEmitter compatibility; without Node's emitter there is no limit. */
  setMaxListeners(n: number): this
  getMaxListeners(): number
}

export declare function mintChittyID(request: MintRequest, config?: PortableClientConfig): Promise<string>
export declare function validateChittyID(id: string, config?: PortableClientConfig): Promise<ValidationResult>
/** `"portable"`: the export conditions chose this build. */
export declare const RUNTIME: 'portable'

/** A native export this runtime cannot have: calling or constructing it throws `ERR_CHITTYID_UNSUPPORTED`. */
export interface Unsupported {
  (...args: unknown[]): never
}
export interface UnsupportedClass {
  new (...args: unknown[]): never
}
export declare const ChittyIDEmulator: UnsupportedClass & { start: Unsupported }
export declare const registerMetrics: Unsupported
export declare const ChittyIDCache: UnsupportedClass
export declare const getSharedCache: Unsupported
export declare const clearSharedCache: Unsupported
export declare const withRetry: Unsupported
export declare const CircuitBreaker: UnsupportedClass
export declare const getCircuitBreaker: Unsupported
export declare const withResilience: Unsupported
export declare const ChittyIDConnectionManager: UnsupportedClass
export declare const getSharedConnectionManager: Unsupported
export declare const resetSharedConnectionManager: Unsupported

export default ChittyIDClient
