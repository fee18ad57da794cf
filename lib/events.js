'use strict'

// Delivery of the client's events to its listeners, in both builds. The payloads come built: the
// native build's from src/bindings/events.rs, the portable build's from lib/portable/client.js.

const { runtimeProcess } = require('./runtime-process.js')

/**
 * A process warning where the runtime has them (Node; Workers with `nodejs_compat`), else the
 * console's (the portable build, docs/PORTABLE.md).
 */
function warn(message, options) {
  const proc = runtimeProcess()
  if (proc && typeof proc.emitWarning === 'function') proc.emitWarning(message, options)
  else console.warn(`${options.type} [${options.code}]: ${message}`)
}

/**
 * What a listener or a logger threw, as a warning shows it, read without throwing again: a
 * thrown object's `message` may be a Symbol or a getter that throws.
 */
function thrownMessage(err) {
  try {
    return String(err !== null && typeof err === 'object' && 'message' in err ? err.message : err)
  } catch {
    return 'an exception that cannot be shown'
  }
}

/** Turns a promise a listener returned into a warning when it rejects (an async listener). */
function watchSettling(result, onFailure) {
  try {
    if (result !== null && typeof result === 'object' && typeof result.then === 'function')
      result.then(undefined, onFailure)
  } catch (err) {
    onFailure(err)
  }
}

/**
 * The listeners an `emit(event)` would call, in its order: for `error`, Node's `errorMonitor`
 * listeners first (the symbol is a static of Node's EventEmitter, so of the client's class;
 * the portable build's emitter has none).
 */
function listenersOf(emitter, event) {
  const listeners = emitter.rawListeners(event)
  const monitor = event === 'error' ? emitter.constructor.errorMonitor : undefined
  return monitor === undefined ? listeners : [...emitter.rawListeners(monitor), ...listeners]
}

/**
 * Calls every listener of `event` on `emitter` with `payload`. One that throws (or, async,
 * rejects) neither stops the others nor the process: the throw becomes a process warning.
 * `error` without listeners is dropped instead of thrown (its `errorMonitor` listeners still
 * hear it). `isOpen`, when given, is asked before each listener: once it says false (a listener
 * closed the emitter's owner), delivery stops.
 */
function emitSafely(emitter, event, payload, isOpen) {
  for (const listener of listenersOf(emitter, event)) {
    if (isOpen !== undefined && !isOpen()) return
    const threw = (err) =>
      warn(`a listener for "${event}" threw: ${thrownMessage(err)}`, {
        type: 'ChittyIDListenerError',
        code: 'CHITTYID_LISTENER_THREW',
      })
    try {
      watchSettling(listener.call(emitter, payload), threw)
    } catch (err) {
      threw(err)
    }
  }
}

module.exports = { emitSafely, thrownMessage, warn, watchSettling }
