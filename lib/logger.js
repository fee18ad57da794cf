'use strict'

// The `logger` option: the caller's own logger receives structured records (README,
// "Observability"). Any object with `debug`, `info`, `warn` and `error` methods works.
//
// Calling convention, decided once per client:
// - object first, `logger.info(record, message)` (pino, bunyan): when `loggerStyle` says
//   "object-first", or, unset, when the logger has pino's `bindings()` function or bunyan's
//   `fields` object next to a `child()` function;
// - message first, `logger.info(message, record)`, everywhere else: winston merges the record
//   into its log entry, the console prints both.

const LEVELS = ['debug', 'info', 'warn', 'error']
const STYLES = ['object-first', 'message-first']

function isObjectFirst(logger) {
  if (typeof logger.child !== 'function') return false
  return typeof logger.bindings === 'function' || (logger.fields !== null && typeof logger.fields === 'object')
}

/**
 * Checks the option and returns `log(level, record, message)`, or undefined without a logger.
 * `invalid` builds the TypeError for a bad option.
 */
function makeLog(logger, style, invalid) {
  if (logger === undefined || logger === null || logger === false) return undefined
  if (typeof logger !== 'object' && typeof logger !== 'function') {
    throw invalid('ChittyIDClient option "logger" must be a logger object (pino, winston, console...)')
  }
  const missing = LEVELS.filter((level) => typeof logger[level] !== 'function')
  if (missing.length > 0) {
    throw invalid(`ChittyIDClient option "logger" has no ${missing.join(', ')} method${missing.length > 1 ? 's' : ''}`)
  }
  if (style !== undefined && !STYLES.includes(style)) {
    throw invalid(`ChittyIDClient option "loggerStyle" must be "object-first" or "message-first", got ${JSON.stringify(style)}`)
  }
  const objectFirst = style === undefined ? isObjectFirst(logger) : style === 'object-first'
  let warned = false
  return function log(level, record, message) {
    try {
      if (objectFirst) logger[level](record, message)
      else logger[level](message, record)
    } catch (err) {
      // A broken logger must not break the calls it watches.
      if (warned) return
      warned = true
      process.emitWarning(`the logger given to ChittyIDClient threw: ${err && err.message}`, {
        type: 'ChittyIDLoggerError',
        code: 'CHITTYID_LOGGER_THREW',
      })
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
}

function eventLevel(name) {
  return EVENT_LEVELS[name] || 'info'
}

module.exports = { makeLog, levelEnabled, eventLevel, isObjectFirst }
