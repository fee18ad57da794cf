// The local ChittyID service (`ChittyIDEmulator`, native build only): its options, faults and
// counters. Its counters are the type napi-rs generates from the Rust.
import type * as Native from '../native/binding'

export type EmulatorRoute = 'health' | 'mint' | 'batch' | 'validate'

/** `"v1"`: v1's wire. `"deployed"`: the wire of the service deployed at id.chitty.cc (README "Emulator"). */
export type EmulatorProfile = 'v1' | 'deployed'

/** The deployed service's placeholder error codes (number in SSSS): 1, 2, 3, 4, 5, 6, 7, 8, 99. */
export type EmulatorPlaceholderCode =
  | 'MINT_UNAVAILABLE'
  | 'MINT_TIMEOUT'
  | 'MINT_REJECTED'
  | 'DRAND_UNAVAILABLE'
  | 'CERT_UNAVAILABLE'
  | 'TRUST_UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'INVALID_REQUEST'
  | 'INTERNAL_ERROR'

/** Fault switches; `setFault({})` clears all of them. */
export interface EmulatorFaults {
  /** Added before every answer, health included. */
  latencyMs?: number
  /** Answer this status (e.g. 500, 503) instead of serving. */
  errorStatus?: number
  /** Answer 429 with `Retry-After: <seconds>`. */
  rateLimitRetryAfter?: number
  /**
   * At most this many requests per second (a token bucket; fractions allowed, `10 / 60` is 10 a
   * minute) to the targeted routes; the rest get what the public service sends: 429 without
   * `Retry-After`, body `{"error":"REQUEST_BLOCKED","reason":"RATE_LIMIT_EXCEEDED"}`, header
   * `X-Block-Reason`. Outside `probability` and `remaining`.
   */
  rateLimitPerSecond?: number
  /** Close the connection without answering. */
  resetConnection?: boolean
  /** Mint routes only: record the mint, then close the connection without answering. */
  dropAfterCommit?: boolean
  /** Answer 2xx with a body that is not JSON. */
  malformedJson?: boolean
  /** Pad successful answers to this many bytes. */
  oversizedBody?: number
  /** Health and every route answer 503. */
  down?: boolean
  /**
   * Profile `"deployed"` only: mints answer as the deployed service does when its minting backend
   * fails — 200 `{ success: true, fallback: true, errorCode, chittyId }` with a placeholder id
   * `03-0-ERR-00NN-T-YYMM-0-XX` (NN the code's number) — and mint nothing (counted in
   * `stats().placeholders`). A response fault: `routes`, `probability` and `remaining` apply.
   */
  placeholder?: EmulatorPlaceholderCode
  /** Routes the error/429/reset/malformed/oversized faults apply to; default all but health. */
  routes?: EmulatorRoute[]
  /** Chance (0..1) that an eligible request is faulted; default always. */
  probability?: number
  /** Fault only the next N eligible requests. */
  remaining?: number
}

/** The emulator's counters (`emulator.stats()`); `mintedIds` lists every id minted, in order. */
export type EmulatorStats = Native.EmulatorStats

export interface EmulatorOptions {
  /**
   * The wire it speaks. `"v1"` (default): v1's routes under `/`, `/v1` and `/api/v1`.
   * `"deployed"`: the deployed service's (its newest public revision) — `POST /mint` reading
   * `entityType` (`POST /v1/mint`, `GET /generate`, `GET /api/get-chittyid` answer 308 to it),
   * `POST /api/validate`, `GET /health` at the origin, CORS headers, no batch route, 404 `{ success: false, error: "NOT_FOUND" }` for anything else,
   * ids `VV-G-LLL-SSSS-T-YYMM-C-XX`, no auth check (`token` is ignored), `Idempotency-Key`
   * ignored, 429s without `Retry-After`, placeholders under the `placeholder` fault.
   */
  profile?: EmulatorProfile
  /** Default `"127.0.0.1"`. */
  host?: string
  /** 0 (default) picks a free port. */
  port?: number
  /** When set, mint and validate require `Authorization: Bearer <token>`. */
  token?: string
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxRequestBytes?: number
  /** Serve HTTPS (HTTP/2 and HTTP/1.1 via ALPN) with a throwaway CA, readable as `emulator.ca`. */
  tls?: boolean
  /** Answer every `/v1/...` request with this redirect status pointing at `/api/v1/...`. */
  redirectStatus?: 301 | 302 | 303 | 307 | 308
  /** gzip answers when the request accepts gzip. */
  compress?: boolean
  /**
   * Mint as if `Idempotency-Key` did not exist, as the public ChittyID service does (a retried
   * mint then mints again). Default false; switchable with `setIgnoreIdempotencyKeys()`.
   */
  ignoreIdempotencyKeys?: boolean
}

/** A local ChittyID service (v1's wire under `/`, `/v1` and `/api/v1`, or the deployed one) with fault injection. */
export declare class ChittyIDEmulator {
  private constructor()
  static start(options?: EmulatorOptions): Promise<ChittyIDEmulator>
  /** Base URL without a path, e.g. `http://127.0.0.1:40123`. */
  readonly url: string
  readonly port: number
  /** PEM of the CA that signed the certificate, when started with `tls: true`. */
  readonly ca: string | undefined
  /** Requests that arrived over HTTP/2. */
  readonly h2Requests: number
  /** The profile it was started with. */
  readonly profile: EmulatorProfile
  setFault(faults: EmulatorFaults): void
  setFaults(faults: EmulatorFaults): void
  clearFaults(): void
  /**
   * Ignore `Idempotency-Key` from now on (`true`), as the public service does, or honour it
   * (`false`). The deployed profile always ignores it: `false` changes nothing there.
   */
  setIgnoreIdempotencyKeys(ignore: boolean): void
  readonly ignoresIdempotencyKeys: boolean
  stats(): EmulatorStats
  resetLedger(): void
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}
