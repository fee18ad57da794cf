// The client's events: their names and payloads.
import type { ConnectionStateName } from './connection'

export interface RetryEvent {
  operation: 'mint' | 'mintBatch' | 'validate'
  /** The attempt that just failed (1-based). */
  attempt: number
  /** Milliseconds until the next attempt. */
  delay: number
  error: Error & { code?: string }
}

export interface StateChangeEvent {
  from: ConnectionStateName
  to: ConnectionStateName
  /** Unix-epoch ms. */
  timestamp: number
}

export interface ServiceUrlEvent {
  serviceUrl: string
}

export interface ReconnectingEvent {
  /** 1-based reconnect attempt about to be made. */
  attempt: number
  /** ms until that attempt. */
  delay: number
}

export interface MaxReconnectAttemptsReachedEvent {
  attempts: number
}

export interface CircuitOpenEvent {
  failures: number
  resetTimeout: number
}

/** A 429 paused the client's traffic to the service. */
export interface RateLimitedEvent {
  /** The operation whose request got the 429. */
  operation: 'mint' | 'mintBatch' | 'validate' | 'healthCheck'
  /** How long every call of the client waits. */
  retryInMs: number
  /** True when the service said how long (`Retry-After`); else the adaptive pause. */
  retryAfter: boolean
}

/** Event names and payloads of `ChittyIDClient`. */
export interface ChittyIDClientEvents {
  /** The connection manager changed state. */
  stateChange: [StateChangeEvent]
  /** A health check succeeded after CONNECTING or RECONNECTING. */
  connected: [ServiceUrlEvent]
  /** `disconnect()` stopped the connection manager (not emitted by `close()`). */
  disconnected: [ServiceUrlEvent]
  /** A reconnect attempt is scheduled. */
  reconnecting: [ReconnectingEvent]
  /** A health check failed while CONNECTED (the connection is lost; reconnecting follows). */
  unhealthy: [ServiceUrlEvent]
  /** The manager gave up: the state is FAILED until the next `connect()`. */
  maxReconnectAttemptsReached: [MaxReconnectAttemptsReachedEvent]
  retry: [RetryEvent]
  circuitOpen: [CircuitOpenEvent]
  /** A 429 started a pause of all the client's traffic to the service. */
  rateLimited: [RateLimitedEvent]
  circuitHalfOpen: [Record<string, never>]
  circuitClose: [Record<string, never>]
  error: [Error & { code?: string }]
  /** Fleet mode: Redis is unavailable; the client continues local-only. */
  fleetDegraded: [FleetDegradedEvent]
  /** Fleet mode: Redis answers again. */
  fleetRestored: [Record<string, never>]
  /** Calls now go to `to` first: `from` failed with `code` (several endpoints only). */
  failover: [FailoverEvent]
  /** `to`, earlier in `serviceUrl`, passed its health checks and takes calls back from `from`. */
  failback: [FailbackEvent]
  /** `acceptPlaceholders`: a mint resolved to a placeholder id, not a minted id. */
  placeholder: [PlaceholderEvent]
}

export interface PlaceholderEvent {
  /** The placeholder id the mint resolved to. */
  chittyId: string
  /** The service's `errorCode`, or null. */
  errorCode: string | null
}

export interface FleetDegradedEvent {
  /** What failed (never the Redis password or the API key). */
  reason: string
}

export interface FailoverEvent {
  from: string
  to: string
  /** The failure on `from`: `ECONNREFUSED`, `ETIMEDOUT`, `EHTTP`, `ECIRCUITOPEN`, ... */
  code: string
}

export interface FailbackEvent {
  from: string
  to: string
}

/** Every event name of `ChittyIDClient` with its payload. */
export type ChittyIDClientEventName = keyof ChittyIDClientEvents
