// The client's policy options (retry, breaker, cache, connection, failover, bulkhead, rate
// limit) and a call's own options. Shared by both entries; the constructor's whole config is
// ./config.d.ts.

/**
 * Which failures a mint is retried after:
 * - `"safe"` (default): only those that prove the service did not process it (connect-phase
 *   failures, 429, a 503 from in front of the service). After anything that may have reached it
 *   (a timeout or reset after sending, a garbled 2xx, 500/502/504, a 503 whose body says the
 *   service's minting backend failed or may have run) the call fails with `EMINTUNKNOWN`,
 *   carrying the key.
 *   For services that ignore `Idempotency-Key`, as the public one does.
 * - `"idempotent"`: every retryable failure, under the same key; for services that honour it.
 */
export type MintRetryMode = 'safe' | 'idempotent'

/** Retry of the client's own requests (transport failures, timeouts, 408, 429, 502, 503, 504; mints: see `mint`). */
export interface RetryOptions {
  /** Total attempts including the first: an integer from 1 to 2^32-1. Default 3. */
  maxAttempts?: number
  /** Which failures a mint is retried after. Default `"safe"`. */
  mint?: MintRetryMode
  /** Default 100. */
  initialDelayMs?: number
  /** Default 5000. */
  maxDelayMs?: number
  /** Default 2. */
  backoffMultiplier?: number
  /** 0..1: each delay is spread over ±jitter of its value. Default 0.5. */
  jitter?: number
  /** A `Retry-After` longer than this is not waited for. Default 30000. */
  maxRetryAfterMs?: number
  /**
   * Retries allowed as a fraction of recent calls, so an outage cannot multiply traffic, or
   * `false` for no cap. Default `{ ratio: 0.2, windowMs: 10000, minPerSecond: 10 }`.
   */
  budget?: RetryBudgetOptions | boolean
}

/**
 * A retry goes out only while the retries of the last `windowMs` stay under
 * `ratio × calls + minPerSecond × windowMs / 1000`; otherwise the call fails with its own error
 * (`getStats().retryBudgetExhausted` counts it). A retried 429 is exempt (the pause paces it).
 */
export interface RetryBudgetOptions {
  /** Retries per call, a finite number >= 0. Default 0.2. */
  ratio?: number
  /** How far back calls and retries count, ms (>= 1). Default 10000. */
  windowMs?: number
  /** Retries always allowed per second of window (an integer). Default 10. */
  minPerSecond?: number
}

/** `bulkhead`: at most `maxConcurrent` calls in flight, `maxQueue` waiting; others fail with `EBULKHEADFULL`. */
export interface BulkheadOptions {
  /** Calls (mint, mintBatch, validate) in flight at once: an integer >= 1. Required. */
  maxConcurrent: number
  /** Calls that may wait for a slot, each at most its `timeout`. Default 0 (fail at once). */
  maxQueue?: number
}

/** `rateLimit`: a client-side token bucket; requests wait for a token within their call's `timeout`, else `ERATELIMITED`. */
export interface ClientRateLimitOptions {
  /** Requests per second, a finite number > 0 (fractions allowed: 0.5 = one every 2 s). */
  requestsPerSecond: number
  /** Requests that may go out back to back: an integer >= 1. Default one second's worth (at least 1). */
  burst?: number
}

/** With several endpoints (`serviceUrl` as an array): how calls fail back to an endpoint that was down. */
export interface FailoverOptions {
  /** A down endpoint is health-checked this often (while the client has calls or its connection manager runs), ms. Default 1000. */
  probeIntervalMs?: number
  /** Health checks in a row that must pass before calls fail back to it: an integer >= 1. Default 3. */
  failbackSuccesses?: number
}

/**
 * Per-client circuit breaker. 429s never count (they pause traffic instead). Numeric options
 * here and elsewhere are checked, never wrapped: a bad value (NaN, Infinity, negative, a
 * fraction where an integer is due, above 2^32-1 for counts) is a TypeError.
 */
export interface CircuitBreakerOptions {
  /** Counted failures within `monitorWindow` that open the circuit. Default 5. */
  failureThreshold?: number
  /** How long the circuit stays OPEN before trial calls, in ms. Default 60000. */
  resetTimeout?: number
  /** Window for counting failures, in ms. Default 10000. */
  monitorWindow?: number
  /**
   * Successes in HALF_OPEN that close the circuit, and the most trial calls in flight at once
   * while HALF_OPEN (the others fail fast with `ECIRCUITOPEN`). Default 3.
   */
  halfOpenAttempts?: number
}

/**
 * The client's connection manager. It does nothing until `client.connect()` is called (or
 * `autoConnect: true`): a v1 drop-in must not start background traffic on its own.
 * Once started it checks `GET ${serviceUrl}/health` (5 s timeout) every `healthCheckInterval`
 * ms; when a check fails it emits `unhealthy` and reconnects with backoff
 * `min(reconnectDelay × reconnectMultiplier^attempts, maxReconnectDelay)` spread by ±`jitter`.
 * The checks run on the native I/O thread and never keep the process alive.
 */
export interface ConnectionOptions {
  /** ms between health checks while CONNECTED. Default 30000. */
  healthCheckInterval?: number
  /** Delay before the first reconnect attempt, in ms. Default 1000. No reconnect follows the last sooner than 10 ms, whatever the options say. */
  reconnectDelay?: number
  /** Cap on the reconnect delay, in ms. Default 60000. */
  maxReconnectDelay?: number
  /** Growth of the reconnect delay per attempt (>= 1). Default 2. */
  reconnectMultiplier?: number
  /** Reconnect attempts before giving up (FAILED, `maxReconnectAttemptsReached`). Default `Infinity`. */
  maxReconnectAttempts?: number
  /** 0..1: each reconnect delay is spread over ±jitter of its value. Default 0.2; 0 gives the exact schedule. */
  jitter?: number
  /**
   * Start monitoring right after construction (on the next tick, so listeners added right
   * after `new` hear every event). Default `false`: nothing runs until `connect()`.
   */
  autoConnect?: boolean
}

/** The validation cache of `validate()`: native LRU with TTL. */
export interface CacheOptions {
  /** Entries kept. Default 10000. */
  maxSize?: number
  /** How long a "valid" answer is served from the cache, in ms. Default 300000 (5 min). */
  ttlMs?: number
  /**
   * How long a "not valid" answer is served, in ms (capped at `ttlMs`). Default 30000: to a
   * replicated service "not valid" can mean "not known here yet", so it lives shorter.
   */
  negativeTtlMs?: number
  /**
   * How long past its TTL a "valid" answer is kept, in ms, to be served (with `stale: true`)
   * when the service cannot be reached, in place of the format-only fallback. Default
   * 86400000 (24 h); 0 turns stale answers off.
   */
  staleIfErrorMs?: number
  /** The same for "not valid" answers. Default 0 (never served stale). */
  negativeStaleIfErrorMs?: number
}

/** The operation names used in stats, metrics, logs and traces. */
export type ChittyIDOperation = 'mint' | 'mintBatch' | 'validate' | 'healthCheck'

/** Extra request headers: token names, values of visible ASCII, spaces and tabs. */
export type ChittyIDHeaders = Record<string, string | number | undefined> | Headers | Map<string, string>

/** See `ChittyIDClientConfig.transport`. */
export type ChittyIDTransport = 'native' | 'fetch'

/** The `wire` option. */
export type ChittyIDWire = 'auto' | 'v1' | 'deployed'

/** Options every async method takes as its last argument. */
export interface CallOptions {
  /** Aborting rejects the call at once with an `AbortError`. */
  signal?: AbortSignal
  /**
   * Extra request headers for this call (e.g. `traceparent`, `tracestate`), on every attempt;
   * they win over the client's `headers` option. Invalid names or values, and the client's own
   * headers, reject the call with a `TypeError` (`ERR_INVALID_ARG_VALUE`).
   */
  headers?: ChittyIDHeaders
}

/** Options of `mint()` and `mintBatch()`. */
export interface MintOptions extends CallOptions {
  /**
   * The mint's `Idempotency-Key`. Against a service that honours keys (v1's, the embedded
   * emulator) it makes the mint repeatable: a key it has seen is answered with the id(s) it
   * minted for it the first time, so retrying a failed mint yourself (after an `ETIMEDOUT`,
   * say) returns an id committed before the answer was lost instead of minting a second one.
   * The deployed service at id.chitty.cc ignores the header: there a repeated mint mints
   * again, whatever the key (docs/OPERATIONS.md "Retry safety"). Without one, each call gets
   * a fresh key (shared by its retries). 1 to 255 visible ASCII characters.
   */
  idempotencyKey?: string
}
