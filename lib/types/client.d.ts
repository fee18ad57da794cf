// What the ChittyIDClient of both builds offers alike: its v1 properties and the calls whose
// behaviour is the same (the native class is in index.d.ts, the portable one in portable.d.ts;
// each merges this interface into its class and adds what differs: its config, the connection
// manager, stats, metrics and its events).
import type { MintRequest, ValidationResult } from './ids'
import type { CallOptions, MintOptions } from './options'
import type { ClientConnectionState } from './connection'

export interface ChittyIDClientCalls {
  readonly serviceUrl: string
  readonly timeout: number
  readonly apiKey: string | undefined
  /** The `name` option, when given. */
  readonly name?: string
  /**
   * Mints one id. Rejects with a `ChittyIDError`; `EMINTUNKNOWN` (default `retry.mint: "safe"`)
   * when the request may have reached the service and was not retried. With v1 semantics under
   * a test runner (docs/MIGRATION.md) it behaves as v1 did: plain `Error`s, and a 2xx answer without
   * `chittyId` resolves `undefined`.
   */
  mint(request: MintRequest, options?: MintOptions): Promise<string>
  /**
   * Mints one id per request, in order; an answer with another number of ids is `EBADRESPONSE`.
   * Against a service without a batch route it mints one by one (at most 4 at once); a failure
   * then carries `mintedIds` and `failedPositions`.
   */
  mintBatch(requests: MintRequest[], options?: MintOptions): Promise<string[]>
  /**
   * Asks the service. The service never makes it reject: failures fall back to the format check
   * with `error`. Rejects only with a TypeError (bad options), an AbortError, or `ECLIENTCLOSED`.
   */
  validate(id: string, options?: CallOptions): Promise<ValidationResult>
  /**
   * Forgets `id` in the validation cache (fresh and stale entries; an answer already on its way
   * is not stored), and in fleet mode deletes the shared Redis entry too. Resolves to `true` when
   * an entry was held. Rejects only with a TypeError (not a string) or `ECLIENTCLOSED`.
   */
  invalidate(id: string): Promise<boolean>
  /**
   * Checks the id grammars the `idGrammar` option names (default both; a deployed id's check
   * pair included); non-strings are `false`. Synchronous, in JS.
   */
  validateFormat(id: unknown): boolean
  /**
   * `GET {serviceUrl}/health` (on the deployed wire `GET {origin}/api/health`) with a 5 s timeout:
   * `false` when the service is unhealthy or unreachable.
   * Rejects only like `validate()`: bad options, an AbortError, or `ECLIENTCLOSED`.
   */
  healthCheck(options?: CallOptions): Promise<boolean>
  /**
   * Stops health checks and reconnects at once: DISCONNECTED, `disconnected`. Settles after
   * `stateChange` and `disconnected` reached the listeners.
   */
  disconnect(): Promise<void>
  /** A snapshot of the connection manager. */
  getConnectionState(): ClientConnectionState
  /**
   * Stops every timer and task of the client (the monitor, scheduled reconnects), closes its
   * pooled connections and releases its event handle. Every call in flight rejects with
   * `ECLIENTCLOSED` (its request and retries stop), so the process can exit; later calls
   * (`validate()` and `healthCheck()` included) reject with `ECLIENTCLOSED`. No event is
   * delivered afterwards, not even to the listeners after one that called `close()`. Settles
   * once the calls in flight have rejected and the stats are final; after 5 s at most (then
   * with a `CHITTYID_CLOSE_TIMEOUT` process warning).
   */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}
