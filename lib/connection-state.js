'use strict'

// The connection manager's states (string values equal to the names), exported by both entries,
// and its counters' zero:
// the native build's manager (lib/compat/connection-manager.js) moves through them; the portable
// build has no manager but keeps the constant, as v1 code reads it.

const ConnectionState = Object.freeze({
  DISCONNECTED: 'DISCONNECTED',
  CONNECTING: 'CONNECTING',
  CONNECTED: 'CONNECTED',
  RECONNECTING: 'RECONNECTING',
  FAILED: 'FAILED',
})

/** A connection manager's counters before its first connection. */
function zeroConnectionStats() {
  return {
    totalConnections: 0,
    totalReconnections: 0,
    totalFailures: 0,
    totalHealthChecks: 0,
    successfulHealthChecks: 0,
    failedHealthChecks: 0,
  }
}

module.exports = { ConnectionState, zeroConnectionStats }
