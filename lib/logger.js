'use strict'

// The `logger` option: the caller's own logger receives structured records (docs/OPERATIONS.md,
// "Your logger"). Any object with `debug`, `info`, `warn` and `error` methods works.
//
// Calling convention, decided once per client:
// - object first, `logger.info(record, message)` (pino, bunyan): when `loggerStyle` says
//   "object-first", or, unset, when the logger has pino's `bindings()` function or bunyan's
//   `fields` object next to a `child()` function;
// - message first, `logger.info(message, record)`, everywhere else: winston merges the record
//   into its log entry, the console prints both.

const { thrownMessage, watchSettling } = require('./events.js')

function isObjectFirst(logger) {
  if (typeof logger.child !== 'function') return false
  return typeof logger.bindings === 'function' || (logger.fields !== null && typeof logger.fields === 'object')
}

/**
 * `log(level, record, message)` writing to `logger` (checked by lib/options.js) in `style`, or
 * the style detected when that is undefined.
 */
function makeLog(logger, style) {
  const objectFirst = style === undefined ? isObjectFirst(logger) : style === 'object-first'
  let warned = false
  // A broken logger must not break the calls it watches: one warning per client, whether its
  // method throws or returns a promise that rejects (an async logger), which would otherwise be
  // an unhandled rejection.
  const broken = (err) => {
    if (warned) return
    warned = true
    process.emitWarning(`the logger given to ChittyIDClient threw: ${thrownMessage(err)}`, {
      type: 'ChittyIDLoggerError',
      code: 'CHITTYID_LOGGER_THREW',
    })
  }
  return function log(level, record, message) {
    try {
      watchSettling(objectFirst ? logger[level](record, message) : logger[level](message, record), broken)
    } catch (err) {
      broken(err)
    }
  }
}

/** Whether `level` would be written; loggers that cannot tell are asked to write everything. */
function levelEnabled(logger, level) {
  if (logger && typeof logger.isLevelEnabled === 'function') {
    try {
      return logger.isLevelEnabled(level) !== false
    } catch {
      return true
    }
  }
  return true
}

// Events of the client (README, "Events") and the level they are logged at.
const EVENT_LEVELS = {
  retry: 'info',
  rateLimited: 'warn',
  circuitOpen: 'error',
  circuitHalfOpen: 'info',
  circuitClose: 'info',
  stateChange: 'debug',
  connected: 'info',
  disconnected: 'info',
  unhealthy: 'warn',
  reconnecting: 'info',
  maxReconnectAttemptsReached: 'error',
  error: 'error',
  failover: 'warn',
  failback: 'info',
  // Degraded service: the fleet runs local-only; a mint resolved to an id that was not minted.
  fleetDegraded: 'warn',
  fleetRestored: 'info',
  placeholder: 'warn',
  // Not an event: the native event queue overflowed (once per client).
  eventsDropped: 'warn',
}

function eventLevel(name) {
  return EVENT_LEVELS[name] || 'info'
}

module.exports = { makeLog, levelEnabled, eventLevel }
