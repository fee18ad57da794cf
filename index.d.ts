/// <reference types="node" />
// Types of the native entry (index.js). The shapes both builds share are in lib/types/ (one
// module per concept, re-exported here and by portable.d.ts); the parts of getStats() the
// native side reports as they are come from the types napi-rs generates (lib/native/binding.d.ts).
import { EventEmitter } from 'node:events'
import type { ChittyIDClientCalls } from './lib/types/client'
import type { ChittyIDClientConfig } from './lib/types/config'
import type { ChittyIDClientEvents } from './lib/types/events'
import type { MintRequest, ValidationResult, parse } from './lib/types/ids'
import type { CallOptions, ChittyIDTransport } from './lib/types/options'
import type { ClientStats } from './lib/types/stats'

export * from './lib/types/ids'
export * from './lib/types/options'
export * from './lib/types/config'
export * from './lib/types/errors'
export * from './lib/types/connection'
export * from './lib/types/events'
export * from './lib/types/stats'
export * from './lib/types/observe'
export * from './lib/types/emulator'
export * from './lib/types/compat'
export type { ChittyIDClientCalls } from './lib/types/client'

/** The client (README "Methods"): the calls of `ChittyIDClientCalls` and the native extras below. */
export interface ChittyIDClient extends ChittyIDClientCalls {}
export declare class ChittyIDClient extends EventEmitter {
  constructor(config?: ChittyIDClientConfig)
  /** The transport this client uses (see `ChittyIDClientConfig.transport`). */
  readonly transport: ChittyIDTransport

  /**
   * Starts the connection manager (health checks every `healthCheckInterval`, reconnects with
   * backoff). Resolves `true` once CONNECTED (at once if already CONNECTED; concurrent calls share
   * one attempt), `false` when the first check fails — an `error` event (if listened) says why,
   * and reconnecting goes on in the background. Called while RECONNECTING or FAILED it starts
   * over with an immediate check. Settles after the attempt's events reached the listeners.
   * Rejects only with `ECLIENTCLOSED`, an `AbortError`, or `ERR_INVALID_STATE` when the client
   * was created with `connection: false`.
   */
  connect(options?: CallOptions): Promise<boolean>
  /** Requests, errors, retries and p50/p99 per operation, breaker, cache and connection. */
  getStats(): ClientStats
  /** The same counters as Prometheus text exposition (format 0.0.4), for a `/metrics` route. */
  metrics(): string

  /** The fields of a well-formed id of either grammar (or of `options.grammar`), or `null`. */
  static parse: typeof parse

  on<E extends keyof ChittyIDClientEvents>(event: E, listener: (...args: ChittyIDClientEvents[E]) => void): this
  once<E extends keyof ChittyIDClientEvents>(event: E, listener: (...args: ChittyIDClientEvents[E]) => void): this
  off<E extends keyof ChittyIDClientEvents>(event: E, listener: (...args: ChittyIDClientEvents[E]) => void): this
  addListener<E extends keyof ChittyIDClientEvents>(
    event: E,
    listener: (...args: ChittyIDClientEvents[E]) => void,
  ): this
  removeListener<E extends keyof ChittyIDClientEvents>(
    event: E,
    listener: (...args: ChittyIDClientEvents[E]) => void,
  ): this
  emit<E extends keyof ChittyIDClientEvents>(event: E, ...args: ChittyIDClientEvents[E]): boolean
}

/**
 * Serves `client.metrics()` from a prom-client `Registry` (e.g. prom-client's default
 * `register`), next to the service's own metrics. Several clients may share one registry when
 * their series differ by `name` or `labels`. Returns a function that removes the client again;
 * `close()` removes it from every registry too. A closed client is refused (`ECLIENTCLOSED`).
 */
export declare function registerMetrics(
  registry: { registerMetric(metric: any): void; getSingleMetric(name: string): any },
  client: ChittyIDClient,
): () => void

export declare function mintChittyID(request: MintRequest, config?: ChittyIDClientConfig): Promise<string>
export declare function validateChittyID(id: string, config?: ChittyIDClientConfig): Promise<ValidationResult>
/** Which build the export conditions chose: `"native"` (Node) or `"portable"` (`portable.d.ts`). */
export declare const RUNTIME: 'native'

export default ChittyIDClient
