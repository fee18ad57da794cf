'use strict'

// What a client reports into the caller's own stack (docs/ARCHITECTURE.md, "Telemetry"):
// per-attempt records from the native side (src/observe/telemetry.rs), drained with the completions,
// published on the `chittyid:request` TracingChannel and written to the `logger`; the
// client's events written to the logger. (The extra request headers of each call are an
// option: lib/options.js.)

const { AsyncResource } = require('node:async_hooks')
const { ChittyIDError } = require('./errors.js')
const tracingChannel = require('./tracing.js')
const { makeLog, levelEnabled, eventLevel } = require('./logger.js')
const { warn, thrownMessage } = require('./events.js')

// Switches of the native side (src/observe/telemetry.rs).
const TRACE = 1
const LOG = 2
// Slots per record in takeTelemetry()'s array (src/bindings/telemetry.rs).
const STRIDE = 13
// The slot naming a health probe of the client's own ('connection', 'failover'); empty for a call.
const PROBE = 12

/** The service URL as it may appear in telemetry: no credentials, no trailing slash. */
function publicBase(serviceUrl) {
  const url = new URL(serviceUrl)
  url.username = ''
  url.password = ''
  url.search = ''
  url.hash = ''
  return { base: url.href.replace(/\/+$/, ''), endpoint: url.origin }
}

/** The origin of an attempt's URL (the endpoint it went to), else `fallback`. */
function originOf(url, fallback) {
  if (url === undefined) return fallback
  try {
    return new URL(url).origin
  } catch {
    return fallback
  }
}

/**
 * The failure of one attempt, for subscribers. No stack frames: they would only show this
 * module's drain loop, and capturing them is most of the cost of the error.
 */
function attemptError(message, code, status) {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new ChittyIDError(message, { code, status })
  } finally {
    Error.stackTraceLimit = limit
  }
}

/**
 * The async context a trace is published in. It holds no handle and never keeps the process
 * alive, and `hasRef()` says so to the tools that look for what does (jest's
 * `--detectOpenHandles` reports an async resource without it as open for as long as it lives,
 * and a client keeps its health checks' context for its own lifetime).
 */
class TraceContext extends AsyncResource {
  hasRef() {
    return false
  }
}

/** One call traced on the channel: the caller's async context and its open attempts. */
class CallTrace {
  constructor() {
    this.resource = new TraceContext('chittyid:request')
    this.open = new Map() // attempt -> ctx
  }
}

/** Per-client telemetry; every method is a no-op cost when nobody observes. */
class ClientTelemetry {
  #native
  #log
  #logger
  #flags = 0
  #calls = new Map() // ticket -> CallTrace
  /**
   * The health probes the client sends on its own belong to no call: they are published in the
   * async context the client was made in, not in whichever call's drain finds them.
   */
  #probes = new CallTrace() // open attempts keyed by probe number
  #endpoint
  #name
  #failureWarned = false
  /** Set for a client whose every request is a probe (`markProbes`). */
  #probeKind

  /** `logger`: `{ logger, style }` as lib/options.js checked it, or undefined. */
  constructor(nativeClient, { logger, serviceUrl, name }) {
    this.#native = nativeClient
    this.#log = logger && makeLog(logger.logger, logger.style)
    this.#logger = logger?.logger
    this.#endpoint = publicBase(serviceUrl).endpoint
    this.#name = name
  }

  get logging() {
    return this.#log !== undefined
  }

  /**
   * Switches the native side as who observes now says: before each call, and at each event (the
   * connection manager's checks are recorded under the last switches set). Returns `tracing`.
   */
  refresh() {
    const tracing = tracingChannel.tracing()
    const flags = (tracing ? TRACE : 0) | (this.#log !== undefined ? LOG : 0)
    if (flags !== this.#flags) {
      this.#native.setTelemetry(flags)
      this.#flags = flags
    }
    return tracing
  }

  /** Before a call is submitted under `ticket`: switches the native side as needed. */
  beforeSubmit(ticket) {
    if (this.refresh()) this.#calls.set(ticket, new CallTrace())
  }

  /**
   * Every request of this client is a health probe of kind `probe` (the compat connection
   * manager's bare client, lib/compat/connection-manager.js): its calls are marked so.
   */
  markProbes(probe) {
    this.#probeKind = probe
  }

  /** Whether anyone observes calls now: a `diagnostics_channel` subscriber or a logger. */
  get observed() {
    return this.#log !== undefined || tracingChannel.tracing()
  }

  /**
   * Publishes and logs every record queued so far (JS thread, before outcomes settle). `probes`:
   * the native side woke JS for the records of its health probes (src/bindings/events.rs): they
   * are taken even if the switches went off since.
   */
  drain(probes = false) {
    if (!probes && this.#flags === 0 && this.#calls.size === 0) return
    const records = this.#native.takeTelemetry()
    if (records[0] > 0) this.#dropped(records[0])
    for (let at = 1; at + STRIDE <= records.length; at += STRIDE) {
      try {
        if (records[at] === 0) this.#started(records, at)
        else this.#ended(records, at)
      } catch (err) {
        this.#failed(err)
      }
    }
  }

  /**
   * Publishing failed (a subscriber froze the context, or made a field read-only, so the
   * next event's fields could not be written): said once per client; the calls go on. This
   * runs just before the calls of the batch settle: a throw would leave them pending for ever.
   */
  #failed(err) {
    if (this.#failureWarned) return
    this.#failureWarned = true
    warn(`tracing a ChittyID request on ${tracingChannel.CHANNEL_NAME} failed: ${thrownMessage(err)}`, {
      type: 'ChittyIDTracingError',
      code: 'CHITTYID_TRACING_FAILED',
    })
  }

  /** Ends `ctx`, left open, with `error` (aborted, closed). */
  #endOpen(trace, ctx, error) {
    try {
      ctx.error = error
      ctx.endTime = Date.now()
      trace.resource.runInAsyncScope(tracingChannel.publishSettled, null, ctx)
    } catch (err) {
      this.#failed(err)
    }
  }

  /**
   * The call under `ticket` settled: attempts it left open (cancelled) end with `stopped` (the
   * ECLIENTCLOSED of close()), else as aborted.
   */
  callDone(ticket, stopped) {
    const call = this.#calls.get(ticket)
    if (call === undefined) return
    this.#calls.delete(ticket)
    for (const ctx of call.open.values())
      this.#endOpen(call, ctx, stopped || attemptError('The operation was aborted', 'ABORT_ERR'))
  }

  /**
   * The client closed: the checks still open end with `error` (its ECLIENTCLOSED), as calls in
   * flight do; nothing is drained after close().
   */
  closeProbes(error) {
    for (const ctx of this.#probes.open.values()) this.#endOpen(this.#probes, ctx, error)
    this.#probes.open.clear()
  }

  #started(r, at) {
    const probe = r[at + PROBE]
    // A probe is published only when someone listens now (the switches may be late).
    const call = probe === undefined ? this.#calls.get(r[at + 1]) : tracingChannel.tracing() ? this.#probes : undefined
    if (call === undefined) return
    const ctx = {
      operation: r[at + 3],
      method: r[at + 4],
      // The endpoint the attempt went to (after a failover, not the first one).
      url: r[at + 5],
      attempt: r[at + 2],
      idempotencyKey: r[at + 6],
      status: undefined,
      error: undefined,
      startTime: r[at + 11],
      endTime: undefined,
      // The connection manager's check ('connection') or a down endpoint's ('failover'), sent
      // by the client on its own: filter these out of the metrics of your calls.
      probe: probe ?? this.#probeKind,
    }
    call.open.set(probe === undefined ? ctx.attempt : r[at + 1], ctx)
    call.resource.runInAsyncScope(tracingChannel.publishStart, null, ctx)
  }

  #ended(r, at) {
    const status = r[at + 7]
    const code = r[at + 8]
    const message = r[at + 9]
    const probe = r[at + PROBE]
    const call = probe === undefined ? this.#calls.get(r[at + 1]) : this.#probes
    const key = probe === undefined ? r[at + 2] : r[at + 1]
    const ctx = call && call.open.get(key)
    if (ctx !== undefined) {
      call.open.delete(key)
      ctx.status = status
      ctx.endTime = r[at + 11]
      if (code !== undefined) ctx.error = attemptError(message, code, status)
      call.resource.runInAsyncScope(tracingChannel.publishSettled, null, ctx)
    }
    // A health check stopped before its answer (disconnect(), close(), an abort) ends its trace
    // with ABORT_ERR (src/observe/telemetry.rs, `Exchange`'s drop); it did not fail: not logged,
    // as an attempt its call abandons is not.
    if (this.#log === undefined || code === 'ABORT_ERR') return
    const failed = code !== undefined
    if (!failed && !levelEnabled(this.#logger, 'debug')) return
    const record = {
      event: 'request',
      operation: r[at + 3],
      attempt: r[at + 2],
      method: r[at + 4],
      endpoint: originOf(r[at + 5], this.#endpoint),
      status,
      code,
      durationMs: Math.round(r[at + 10]) / 1000,
    }
    if (r[at + 6] !== undefined) record.idempotencyKey = r[at + 6]
    if ((probe ?? this.#probeKind) !== undefined) record.probe = probe ?? this.#probeKind
    if (failed) record.error = message
    if (this.#name !== undefined) record.client = this.#name
    const outcome = status !== undefined ? String(status) : code
    this.#log(
      failed ? 'warn' : 'debug',
      record,
      `chittyid ${record.operation} attempt ${record.attempt}: ${outcome} in ${record.durationMs} ms`,
    )
  }

  #dropped(count) {
    if (this.#log === undefined) return
    this.#log(
      'warn',
      { event: 'telemetryDropped', endpoint: this.#endpoint, dropped: count },
      `chittyid: ${count} telemetry records dropped (the JS thread fell behind)`,
    )
  }

  /**
   * The native event queue turned events away (`dropped` so far; src/bindings/events.rs): said
   * once per client, as a process warning and to the logger; `getStats().eventsDropped` counts on.
   */
  eventsDropped(dropped) {
    const message =
      `${dropped} events of this ChittyIDClient were dropped: the JS thread fell behind its event ` +
      `queue (65,536 events); getStats().eventsDropped counts them`
    warn(message, { type: 'ChittyIDEventsDropped', code: 'CHITTYID_EVENTS_DROPPED' })
    this.logEvent('eventsDropped', { dropped })
  }

  /** Writes one of the client's events to the logger. */
  logEvent(name, payload) {
    if (this.#log === undefined) return
    const level = eventLevel(name)
    if (level === 'debug' && !levelEnabled(this.#logger, 'debug')) return
    const record = { event: name, endpoint: this.#endpoint }
    const source = payload instanceof Error ? { error: payload } : payload || {}
    for (const [key, value] of Object.entries(source)) {
      if (key === 'serviceUrl') continue // the endpoint says it, without path or credentials
      if (value instanceof Error) {
        if (value.code !== undefined) record.code = value.code
        record.error = value.message
      } else if (value === null || typeof value !== 'object') {
        record[key] = value
      }
    }
    if (this.#name !== undefined) record.client = this.#name
    const detail = record.operation ? ` ${record.operation}` : ''
    this.#log(level, record, `chittyid ${name}${detail}${record.code ? `: ${record.code}` : ''}`)
  }
}

module.exports = { ClientTelemetry }
