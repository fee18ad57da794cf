'use strict'

// The `chittyid:request` TracingChannel (docs/ARCHITECTURE.md, "Telemetry"): one trace per
// attempt, like undici's `undici:request:*`, published from the attempt records the native
// side queues while someone subscribes. Nobody subscribed: the client checks `tracing()` once
// per call and asks the native side for nothing.

const dc = require('node:diagnostics_channel')

const CHANNEL_NAME = 'chittyid:request'

// Node >= 18.19 / 19.9; older Nodes simply never trace.
const channel = typeof dc.tracingChannel === 'function' ? dc.tracingChannel(CHANNEL_NAME) : null
const parts = channel ? [channel.start, channel.end, channel.asyncStart, channel.asyncEnd, channel.error] : []
const hasAggregate = channel !== null && 'hasSubscribers' in channel

/** Whether anyone listens on any of the channel's five events. */
function tracing() {
  if (hasAggregate) return channel.hasSubscribers
  for (const part of parts) if (part.hasSubscribers) return true
  return false
}

/**
 * Publishes `message` on `part` and runs `fn` inside the stores subscribers bound to it
 * (`bindStore`), as `tracePromise` does.
 */
function runStores(part, message, fn) {
  if (typeof part.runStores === 'function') return part.runStores(message, fn)
  part.publish(message)
  return fn()
}

/** The attempt began: `start`, then `end` (the request was handed to the transport). */
function publishStart(ctx) {
  runStores(channel.start, ctx, () => channel.end.publish(ctx))
}

/** The attempt settled: `error` when it failed, then `asyncStart` and `asyncEnd`. */
function publishSettled(ctx) {
  if (ctx.error !== undefined) channel.error.publish(ctx)
  runStores(channel.asyncStart, ctx, () => channel.asyncEnd.publish(ctx))
}

module.exports = { CHANNEL_NAME, channel, tracing, publishStart, publishSettled }
