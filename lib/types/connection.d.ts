// The connection manager's states and counters, as the client and the compat manager report
// them. Shared by both entries (the portable client reports a manager that never runs).
import type * as Native from '../native/binding'

/** States of the connection manager (string values equal to the names). */
export type ConnectionStateName = 'DISCONNECTED' | 'CONNECTING' | 'CONNECTED' | 'RECONNECTING' | 'FAILED'

/** Connection states (string values equal to the names). */
export declare const ConnectionState: {
  readonly DISCONNECTED: 'DISCONNECTED'
  readonly CONNECTING: 'CONNECTING'
  readonly CONNECTED: 'CONNECTED'
  readonly RECONNECTING: 'RECONNECTING'
  readonly FAILED: 'FAILED'
}
export type ConnectionState = ConnectionStateName

/**
 * The manager's counters since it was made; `totalFailures` counts failed connection attempts
 * (the first `connect()` check and every reconnect attempt). As the native side reports them.
 */
export type ConnectionStats = Native.ConnectionStatsInfo

/** What `client.getConnectionState()` returns. Times are Unix-epoch ms. */
export interface ClientConnectionState {
  state: ConnectionStateName
  lastHealthCheck: number | null
  lastSuccessfulConnection: number | null
  /** Reconnect attempts since the connection was lost; 0 while CONNECTED. */
  reconnectAttempts: number
  /** `state === "CONNECTED"`. */
  isHealthy: boolean
  /** ms since the last transition into CONNECTED; 0 in other states. */
  uptime: number
  /** ms until the next health check or reconnect attempt; `null` when none is scheduled. */
  nextCheckIn: number | null
  /** `false` when the client was created with `connection: false`. */
  enabled: boolean
  stats: ConnectionStats
}
