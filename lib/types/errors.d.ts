// The client's errors: the stable codes and the ChittyIDError that carries them. Shared by
// both entries.

/** Stable error codes on `ChittyIDError#code`. */
export type ChittyIDErrorCode =
  | 'EHTTP'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ENOTFOUND'
  | 'ETIMEDOUT'
  | 'EPIPE'
  | 'EADDRNOTAVAIL'
  | 'EBADRESPONSE'
  | 'EBODYTOOLARGE'
  | 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  | 'ERR_TLS_CERT_ALTNAME_INVALID'
  | 'CERT_HAS_EXPIRED'
  | 'ERR_TLS_CERT_INVALID'
  | 'ERR_TLS_HANDSHAKE'
  | 'ECIRCUITOPEN'
  /** No request slot within the call's timeout: the fleet's rate budget, or a rate-limit pause. Nothing was sent. */
  | 'ERATELIMITED'
  | 'ABORT_ERR'
  | 'ECLIENTCLOSED'
  /** Fetch transport: the fetch rejected with no recognised Node code in its cause (a stub's error). */
  | 'EFETCH'
  /** Fetch transport: DNS and routing failures, as Node names them. */
  | 'EAI_AGAIN'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'EMINTUNKNOWN'
  /** This process ran out of sockets, buffers or memory; not the service's fault, never counted by the breaker. */
  | 'EMFILE'
  | 'ENFILE'
  | 'ENOBUFS'
  | 'ENOMEM'
  /**
   * Portable build in Cloudflare Workers: the runtime refused the fetch because this invocation
   * used up its subrequests ("Too many subrequests"). Nothing was sent; not retried, never
   * counted by the breaker. Continue in another request (docs/PORTABLE.md).
   */
  | 'ESUBREQUESTS'
  /** The client would not send the request: a redirect from https to http, past 20 hops, or plain http to a non-loopback address. */
  | 'ERR_INSECURE_REDIRECT'
  | 'ERR_TOO_MANY_REDIRECTS'
  | 'ERR_INSECURE_TARGET'
  /** The proxy answered CONNECT with 407: the credentials in the proxy URL are missing or wrong. */
  | 'ERR_PROXY_AUTH'
  /** The `bulkhead` is full (or no slot came within the call's timeout); nothing was sent. */
  | 'EBULKHEADFULL'
  /**
   * The service answered a mint with a placeholder id, not a minted id (see `placeholderId`,
   * `serviceErrorCode`, `retrySafe`). A `RATE_LIMITED` placeholder is `ERATELIMITED` instead.
   */
  | 'EPLACEHOLDER'
  /**
   * A `TypeError` (not a `ChittyIDError`): an option name the client does not know, in the
   * constructor's config, a nested options object or a call's options. The error has `option`
   * (its path, e.g. `"cache.max"`) and, when one is likely, `suggestion` (e.g. `"cache.maxSize"`).
   */
  | 'ERR_CHITTYID_UNKNOWN_OPTION'
  /** Portable build: the option or export needs what this runtime lacks (the addon, TCP, a background task). */
  | 'ERR_CHITTYID_UNSUPPORTED'
  /**
   * A test hook of the native binding (`stallIoThread`, `emitTestEvents`, `nativeCounts`, ...; not
   * exported by the package's entry points) called in a process that did not set
   * `CHITTYID_TEST_HOOKS=1`, which only the package's own tests set. Not from a client's calls.
   */
  | 'ERR_CHITTYID_TEST_HOOKS_DISABLED'

/** Every rejection of `mint`/`mintBatch`. The message keeps v1's wording. */
export declare class ChittyIDError extends Error {
  readonly code: ChittyIDErrorCode
  /** HTTP status when the service answered with one. */
  readonly status?: number
  /**
   * The lower-level failure, present on every error of a request that was sent (in both
   * builds; `status` on an `EHTTP` one), absent when the call was refused before sending (an
   * open circuit, `ERATELIMITED`, `EBULKHEADFULL`, `ECLIENTCLOSED`). For `EMINTUNKNOWN` the
   * failure itself, with its own code (`ECONNRESET`, `ETIMEDOUT`, `EHTTP`, `EBADRESPONSE`, ...).
   * For `ABORT_ERR` the signal's `reason` as given: by default a `DOMException` named
   * `AbortError`, whose `code` is the number 20.
   */
  readonly cause?: Error & { code?: string | number; status?: number }
  /**
   * `ECIRCUITOPEN`: `"OPEN"` when the call failed fast because the circuit is open,
   * `"HALF_OPEN"` when every trial call of a half-open circuit was already in flight.
   */
  readonly circuitBreakerState?: 'OPEN' | 'HALF_OPEN'
  /**
   * `true`: the request may have reached the service, which may have minted an id nobody got
   * (`EMINTUNKNOWN`, and a mint or batch mint aborted or cut off by `close()` after its request
   * was sent: `ABORT_ERR`, `ECLIENTCLOSED`). `false`: a mint or batch mint stopped before
   * anything was sent. Absent for other calls and for calls made after `close()`.
   */
  readonly mayHaveMinted?: boolean
  /** With `mayHaveMinted: true`: the mint's `Idempotency-Key`; mint again with `{ idempotencyKey }` to retry deliberately. */
  readonly idempotencyKey?: string
  /** `ERATELIMITED`: ms until the rate-limit pause ends (or the client-side `rateLimit` has a token). */
  readonly retryInMs?: number
  /** `EPLACEHOLDER` (and a rate-limited placeholder's `ERATELIMITED`): the placeholder id the service answered with. */
  readonly placeholderId?: string
  /** With `placeholderId`: the service's `errorCode` (`MINT_UNAVAILABLE`, `MINT_TIMEOUT`, `RATE_LIMITED`, ...), or null. */
  readonly serviceErrorCode?: string | null
  /** With `placeholderId`: whether minting again cannot mint twice (docs/OPERATIONS.md "Retry safety"). */
  readonly retrySafe?: boolean
  /**
   * `mintBatch` against a service without a batch route (minted one by one): every id minted,
   * in request position, `null` where none was. Nothing minted is lost.
   */
  readonly mintedIds?: (string | null)[]
  /** With `mintedIds`: the positions whose mint failed (the error's `code` is the first one's). */
  readonly failedPositions?: number[]
}

/**
 * The `TypeError` for an option name the client does not know (`ERR_CHITTYID_UNKNOWN_OPTION`):
 * thrown by the constructor, a rejection of a call given an unknown call option.
 */
export interface ChittyIDUnknownOptionError extends TypeError {
  readonly code: 'ERR_CHITTYID_UNKNOWN_OPTION'
  /** The option's path, e.g. `"cache.max"`. */
  readonly option: string
  /** The known name it probably meant, when one is likely (e.g. `"cache.maxSize"`). */
  readonly suggestion?: string
}
