'use strict'

/** Turns a flattened native event into the payload documented for its name. */
function toPayload(e) {
  switch (e.name) {
    case 'stateChange':
      return { from: e.from, to: e.to, timestamp: e.timestamp }
    case 'connected':
    case 'disconnected':
    case 'unhealthy':
      return { serviceUrl: e.serviceUrl }
    case 'reconnecting':
      return { attempt: e.attempt, delay: e.delay }
    case 'maxReconnectAttemptsReached':
      return { attempts: e.attempts }
    case 'retry':
      return {
        operation: e.operation,
        attempt: e.attempt,
        delay: e.delay,
        error: Object.assign(new Error(e.message), { code: e.code }),
      }
    case 'circuitOpen':
      return { failures: e.failures, resetTimeout: e.delay }
    case 'rateLimited':
      return { operation: e.operation, retryInMs: e.delay, retryAfter: e.retryAfter === true }
    case 'error':
      return Object.assign(new Error(e.message), { code: e.code })
    case 'fleetDegraded':
      return { reason: e.message }
    case 'failover':
      return { from: e.from, to: e.to, code: e.code }
    case 'failback':
      return { from: e.from, to: e.to }
    case 'placeholder':
      return { chittyId: e.message, errorCode: e.code ?? null }
    default:
      return {}
  }
}

/**
 * A process warning where the runtime has them (Node; Workers with `nodejs_compat`), else the
 * console's (the portable build, docs/PORTABLE.md).
 */
function warn(message, options) {
  const proc = globalThis.process
  if (proc && typeof proc.emitWarning === 'function') proc.emitWarning(message, options)
  else console.warn(`${options.type} [${options.code}]: ${message}`)
}

/**
 * Calls every listener of `event` on `emitter` with `payload`. One that throws neither stops the
 * others nor the process: the throw becomes a process warning. `error` without listeners is
 * dropped instead of thrown. `isOpen`, when given, is asked before each listener: once it says
 * false (a listener closed the emitter's owner), delivery stops.
 */
function emitSafely(emitter, event, payload, isOpen) {
  if (event === 'error' && emitter.listenerCount('error') === 0) return
  for (const listener of emitter.rawListeners(event)) {
    if (isOpen !== undefined && !isOpen()) return
    try {
      listener.call(emitter, payload)
    } catch (err) {
      warn(`a listener for "${event}" threw: ${err && err.message}`, {
        type: 'ChittyIDListenerError',
        code: 'CHITTYID_LISTENER_THREW',
      })
    }
  }
}

module.exports = { toPayload, emitSafely }
