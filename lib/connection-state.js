'use strict'

// The connection manager's states (string values equal to the names), exported by both entries:
// the native build's manager (lib/compat/connection-manager.js) moves through them; the portable
// build has no manager but keeps the constant, as v1 code reads it.

const ConnectionState = Object.freeze({
  DISCONNECTED: 'DISCONNECTED',
  CONNECTING: 'CONNECTING',
  CONNECTED: 'CONNECTED',
  RECONNECTING: 'RECONNECTING',
  FAILED: 'FAILED',
})

module.exports = { ConnectionState }
