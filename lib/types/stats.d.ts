// `client.getStats()`: the snapshot and its parts. The parts the native side reports as they
// are reach JS unchanged, so their types are the ones napi-rs generates from the Rust
// (../native/binding.d.ts); where JS narrows a field (a state name, `null` for "off"), the type
// says so here.
import type * as Native from '../native/binding'
import type { ClientConnectionState } from './connection'

/** `getStats().fleet`: fleet mode's counters since the client was created. */
export type FleetStats = Native.FleetStats
/** Counters of one operation: attempts sent, attempts failed, retries, p50/p99 attempt latency (ms). */
export type OperationStats = Native.OperationStats
/** The validation cache's counters; `hitRate` is `"NN.NN%"`. */
export type CacheStats = Native.CacheStatsObject
/** The pause after the service's 429 (see docs/OPERATIONS.md "Pause after a 429"). */
export type RateLimitStats = Native.RateLimitStats
/** The `bulkhead`; `rejected` counts calls failed with `EBULKHEADFULL`. */
export type BulkheadStats = Native.BulkheadStats
/** The client-side `rateLimit`; `rejected` counts calls failed with `ERATELIMITED`. */
export type ClientRateLimitStats = Native.ClientRateLimitStats

export interface BreakerStats extends Omit<Native.BreakerStats, 'state'> {
  state: 'CLOSED' | 'OPEN' | 'HALF_OPEN'
}

export interface EndpointStats extends Omit<Native.EndpointStats, 'breaker' | 'wire'> {
  /** Its own breaker; `null` with `circuitBreaker: false`. */
  breaker: BreakerStats | null
  /** The wire it speaks, as far as known. */
  wire: 'v1' | 'deployed' | 'unknown'
}

/** `client.getStats()`: everything observable in one snapshot. Never contains the API key. */
export interface ClientStats extends Pick<
  Native.ClientStats,
  | 'retries'
  | 'rejectedByBreaker'
  | 'rateLimit'
  | 'retryBudgetExhausted'
  | 'placeholdersAccepted'
  | 'eventsDropped'
  | 'telemetryDropped'
> {
  requests: { mint: OperationStats; mintBatch: OperationStats; validate: OperationStats; healthCheck: OperationStats }
  /** `null` with `circuitBreaker: false`. */
  breaker: BreakerStats | null
  /** `null` with `cache: false`. */
  cache: CacheStats | null
  /** `null` unless fleet mode is on. */
  fleet: FleetStats | null
  /** `null` unless `bulkhead` is set. */
  bulkhead: BulkheadStats | null
  /** `null` unless `rateLimit` is set. */
  clientRateLimit: ClientRateLimitStats | null
  /** Every endpoint in `serviceUrl` order; `null` with a single endpoint. */
  endpoints: EndpointStats[] | null
  /** The wire the endpoint calls go to speaks; `"unknown"` until an answer told (`wire: "auto"`). */
  wire: 'v1' | 'deployed' | 'unknown'
  connection: ClientConnectionState
}
