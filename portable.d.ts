// Types of the portable entry (portable.js): the client for Cloudflare Workers and other fetch
// runtimes (README "Runtimes"). The shapes it shares with the native build come from index.d.ts.
import type {
  MintRequest,
  MintOptions,
  CallOptions,
  ValidationResult,
  ParsedChittyID,
  ChittyIDClientEvents,
  RetryOptions,
  CircuitBreakerOptions,
  ChittyIDHeaders,
  ChittyIDOperation,
  ClientConnectionState,
  BreakerStats,
  CacheStats,
  RateLimitStats,
  ChittyIDWire,
  ChittyIDGrammar,
  ChittyIDGrammarOptions,
  ParsedDeployedChittyID,
  PlaceholderEvent,
} from './index'

export type {
  ChittyIDWire,
  ChittyIDGrammar,
  ChittyIDGrammarOptions,
  ParsedDeployedChittyID,
  PlaceholderEvent,
  EntityType,
  MintRequest,
  MintOptions,
  CallOptions,
  ValidationResult,
  ParsedChittyID,
  ChittyIDErrorCode,
  RetryOptions,
  CircuitBreakerOptions,
  RetryEvent,
  CircuitOpenEvent,
  RateLimitedEvent,
  ClientConnectionState,
  BreakerStats,
  CacheStats,
  RateLimitStats,
} from './index'
export { ChittyIDError } from './index'

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
  /** Per-attempt timeout in ms. Default 10000; a falsy value means the default. */
  timeout?: number
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
  /** The wire the service speaks; `"unknown"` until an answer told (`wire: "auto"`). */
  wire: 'v1' | 'deployed' | 'unknown'
  connection: ClientConnectionState
}

export declare class ChittyIDClient {
  constructor(config?: PortableClientConfig)
  readonly serviceUrl: string
  readonly timeout: number
  readonly apiKey: string | undefined
  readonly transport: 'fetch'
  readonly name?: string
  mint(request: MintRequest, options?: MintOptions): Promise<string>
  mintBatch(requests: MintRequest[], options?: MintOptions): Promise<string[]>
  validate(id: string, options?: CallOptions): Promise<ValidationResult>
  validateFormat(id: unknown): boolean
  healthCheck(options?: CallOptions): Promise<boolean>
  /** Rejects with `ERR_CHITTYID_UNSUPPORTED`: no background health checks in a fetch runtime. */
  connect(options?: CallOptions): Promise<never>
  disconnect(): Promise<void>
  getConnectionState(): ClientConnectionState
  getStats(): PortableClientStats
  /** Throws `ERR_CHITTYID_UNSUPPORTED`. */
  metrics(): never
  /** Forgets the cached answer for `id` (an answer on its way is not stored); true when there was one. */
  invalidate(id: string): Promise<boolean>
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
  static parse(id: unknown, options: { grammar: 'v1' }): ParsedChittyID | null
  static parse(id: unknown, options: { grammar: 'deployed' }): ParsedDeployedChittyID | null
  static parse(id: unknown, options?: ChittyIDGrammarOptions): ParsedChittyID | ParsedDeployedChittyID | null

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
}

export declare function mintChittyID(request: MintRequest, config?: PortableClientConfig): Promise<string>
export declare function validateChittyID(id: string, config?: PortableClientConfig): Promise<ValidationResult>
export declare function validateFormat(id: unknown, options?: ChittyIDGrammarOptions): boolean
export declare function parse(id: unknown, options: { grammar: 'v1' }): ParsedChittyID | null
export declare function parse(id: unknown, options: { grammar: 'deployed' }): ParsedDeployedChittyID | null
export declare function parse(
  id: unknown,
  options?: ChittyIDGrammarOptions,
): ParsedChittyID | ParsedDeployedChittyID | null
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
export declare const ConnectionState: {
  readonly DISCONNECTED: 'DISCONNECTED'
  readonly CONNECTING: 'CONNECTING'
  readonly CONNECTED: 'CONNECTED'
  readonly RECONNECTING: 'RECONNECTING'
  readonly FAILED: 'FAILED'
}
export declare const ChittyIDConnectionManager: UnsupportedClass
export declare const getSharedConnectionManager: Unsupported
export declare const resetSharedConnectionManager: Unsupported

export default ChittyIDClient
