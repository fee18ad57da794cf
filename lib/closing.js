'use strict'

// How long close() waits for what it stopped, in both builds (docs/ARCHITECTURE.md, "Closing").

const { warn } = require('./events.js')
const { runtimeProcess } = require('./runtime-process.js')

/**
 * Node's own timers where the runtime has them, else the globals as this module loads: a test
 * suite's fake timers (`jest.useFakeTimers()`) replace the globals, and a close() waiting on a
 * fake timer would never settle. Reached through `process.getBuiltinModule`, so the portable
 * build imports no `node:` module.
 */
function realTimers() {
  try {
    const timers = runtimeProcess()?.getBuiltinModule?.('node:timers')
    if (timers && typeof timers.setTimeout === 'function') return timers
  } catch {
    // No such module here: the globals.
  }
  return globalThis
}

const { setTimeout, clearTimeout, setImmediate = (fn, ...args) => setTimeout(fn, 0, ...args) } = realTimers()

/**
 * The longest close() waits for the calls it stopped to end. A stopped call ends within
 * milliseconds (natively: once the I/O thread drops it; portable: once its fetch is aborted);
 * this bound only matters when something cannot be stopped in time (the I/O thread held up by
 * other work), and keeps close() from hanging on it.
 */
const CLOSE_WAIT_MS = 5000

/**
 * Resolves `true` once every promise of `promises` has settled, or `false` after `ms` if some
 * have not. Rejections count as settled (the callers handle them). The timer runs before the
 * loop's I/O phase: a JS thread busy for longer than `ms` (a long synchronous test after a
 * close() nobody awaited) finds both the timer due and the completions waiting, so it looks once
 * more after that phase (setImmediate) before it gives up.
 */
function settleWithin(promises, ms = CLOSE_WAIT_MS) {
  if (promises.length === 0) return Promise.resolve(true)
  let timer
  const late = new Promise((resolve) => {
    timer = setTimeout(() => setImmediate(resolve, false), ms)
  })
  const all = Promise.allSettled(promises).then(() => true)
  return Promise.race([all, late]).finally(() => clearTimeout(timer))
}

/**
 * Resolves on the next turn of the event loop: every promise reaction chained to what settled
 * before has run by then (the portable client's callers hear their rejections, however many
 * async functions lie between them and the call).
 */
function nextTurn() {
  return new Promise((resolve) => setTimeout(resolve, 0))
}

/**
 * The process warning of a close() that stopped waiting for `count` calls; with none, it was
 * the client's own background work (connection checks, failover probes, the fleet's Redis work).
 */
function warnCloseTimedOut(count, ms = CLOSE_WAIT_MS) {
  const what =
    count > 0
      ? `${count} call(s) it could not stop in time; they were rejected with ECLIENTCLOSED and may still be ending`
      : "the client's background work (connection checks, failover probes, fleet Redis commands); it may still be ending"
  warn(`close() stopped waiting after ${ms} ms for ${what}`, {
    type: 'ChittyIDCloseWarning',
    code: 'CHITTYID_CLOSE_TIMEOUT',
  })
}

module.exports = { CLOSE_WAIT_MS, nextTurn, settleWithin, warnCloseTimedOut }
