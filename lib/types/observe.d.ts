// What the client tells your logger and tracer: the logger it needs, its records, and the
// context of one attempt on its TracingChannel.
import type { ChittyIDError } from './errors'
import type { ChittyIDOperation } from './options'

/** What the `logger` option needs. */
export interface ChittyIDLogger {
  debug(...args: any[]): unknown
  info(...args: any[]): unknown
  warn(...args: any[]): unknown
  error(...args: any[]): unknown
}

/** One structured log record (never the API key: service text is redacted of it). */
export interface ChittyIDLogRecord {
  /**
   * `request` (one attempt), a client event name (`retry`, `circuitOpen`, `connected`...),
   * `telemetryDropped`, or `eventsDropped` (once: the event queue overflowed; `dropped` so far).
   */
  event: string
  /** The service's origin (scheme, host, port): no path, no credentials. */
  endpoint: string
  /** The `name` option, when set. */
  client?: string
  operation?: ChittyIDOperation
  attempt?: number
  method?: 'GET' | 'POST'
  /** The HTTP status, when the service answered. */
  status?: number
  /** `error.code` of a failure. */
  code?: string
  /** The attempt's duration (for `request`). */
  durationMs?: number
  idempotencyKey?: string
  /** The failure's message. */
  error?: string
  /** A `request` that was one of the client's own health checks (see `ChittyIDRequestContext.probe`). */
  probe?: 'connection' | 'failover'
  [field: string]: unknown
}

/**
 * The context object of one attempt on the `chittyid:request` TracingChannel
 * (`TRACING_CHANNEL`); every event of the attempt (`start`, `end`, `error`, `asyncStart`,
 * `asyncEnd`) gets the same object. Events are published in the caller's async context, once
 * the attempt's record reached the JS thread: use `startTime` / `endTime` for timing. The
 * health checks the client sends on its own are published too, with `probe` set, in the async
 * context the client was created in.
 */
export interface ChittyIDRequestContext {
  operation: ChittyIDOperation
  method: 'GET' | 'POST'
  /** The full request URL, without credentials. */
  url: string
  /** 1 for the first attempt, 2 for the first retry... */
  attempt: number
  /** The mint's `Idempotency-Key` (the same on every attempt of a call). */
  idempotencyKey?: string
  /** Set when the attempt settles, if the service answered. */
  status?: number
  /** Set (before `error` is published) when the attempt failed. */
  error?: ChittyIDError
  /** Unix ms when the attempt started. */
  startTime: number
  /** Unix ms when it settled. */
  endTime?: number
  /**
   * Set when the request is a health check the client sent on its own, not a call: the
   * connection manager's (`'connection'`: `connect()`, `connection.autoConnect`), or a probe of
   * an endpoint that is down (`'failover'`). Filter on it to keep them out of your calls' metrics.
   */
  probe?: 'connection' | 'failover'
}

/** The name of the client's TracingChannel: `"chittyid:request"`. */
export declare const TRACING_CHANNEL: 'chittyid:request'
