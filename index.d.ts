/// <reference types="node" />
import { EventEmitter } from 'node:events'

/** Entity codes the ChittyID service accepts. */
export type EntityType = 'PEO' | 'PLACE' | 'PROP' | 'EVNT' | 'AUTH' | 'INFO' | 'FACT' | 'CONTEXT' | 'ACTOR'

/** What `mint()` sends; the object is serialized as the JSON body as given. */
export interface MintRequest {
  entity: EntityType | (string & {})
  name?: string
  metadata?: Record<string, unknown>
  [extra: string]: unknown
}

/**
 * What `validate()` resolves to. The service never makes it reject (a failure is an answer
 * with `error`); it rejects only for the caller: bad options (TypeError), an aborted signal
 * (AbortError), a closed client (`ECLIENTCLOSED`).
 */
export interface ValidationResult {
  valid: boolean
  chittyId?: string
  entity?: string
  /** Why the answer is not the service's: a service error status or a transport failure. */
  error?: string
  /**
   * A code to branch on beside `error`: `"EAUTH"` when the service refused the credentials
   * (401/403: the answer says nothing about the id), `"EPLACEHOLDER"` when the id is a
   * placeholder the deployed service issued instead of minting.
   */
  errorCode?: 'EAUTH' | 'EPLACEHOLDER'
  /**
   * `true` when this is a cached answer past its TTL, served because the service could not
   * be reached (transport failure, timeout, open circuit, 5xx...) within `cache.staleIfErrorMs`.
   */
  stale?: true
}

/**
 * The id grammars: `"v1"` (`VV-G-LLL-SSSS-T-YM-C-X`), `"deployed"` (the service at id.chitty.cc:
 * `VV-G-LLL-SSSS-T-YYMM-C-XX` with its mod-97 check pair), or `"any"` (either).
 */
export type ChittyIDGrammar = 'any' | 'v1' | 'deployed'

/** Narrows `validateFormat`/`parse` to one grammar; absent = either. */
export interface ChittyIDGrammarOptions {
  grammar?: ChittyIDGrammar
}

/** The fields of a well-formed v1 id `VV-G-LLL-SSSS-T-YM-C-X`. */
export interface ParsedChittyID {
  /** Present but not enumerable, so the object serializes and compares as v1's did. */
  readonly grammar?: 'v1'
  version: string
  generation: string
  location: string
  sequence: string
  entityType: string
  yearMonth: string
  check: string
  extension: string
}

/**
 * The fields of a well-formed deployed id `VV-G-LLL-SSSS-T-YYMM-C-XX`, named as the service
 * names them (its `components`).
 */
export interface ParsedDeployedChittyID {
  grammar: 'deployed'
  /** VV, two digits. */
  version: string
  /** G, 1-9. */
  region: string
  /** LLL, three letters. */
  jurisdiction: string
  /** SSSS, four digits. */
  sequential: string
  entityType: 'P' | 'L' | 'T' | 'E' | 'A'
  /** YYMM. */
  yearMonth: string
  /** C, 0-5. */
  trustLevel: string
  /** XX, the check pair. */
  checksum: string
}

/**
 * Which failures a mint is retried after:
 * - `"safe"` (default): only those that prove the service did not process it (connect-phase
 *   failures, 429, 503). After anything that may have reached it (a timeout or reset after
 *   sending, a garbled 2xx, 500/502/504) the call fails with `EMINTUNKNOWN`, carrying the key.
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

/** States of the connection manager (string values equal to the names). */
export type ConnectionStateName = 'DISCONNECTED' | 'CONNECTING' | 'CONNECTED' | 'RECONNECTING' | 'FAILED'

export interface ConnectionStats {
  totalConnections: number
  totalReconnections: number
  /** Failed connection attempts: the first `connect()` check and every reconnect attempt. */
  totalFailures: number
  totalHealthChecks: number
  successfulHealthChecks: number
  failedHealthChecks: number
}

/** What `client.getConnectionState()` returns. Times are Unix-epoch ms. */
export interface ClientConnectionState {
  state: ConnectionStateName
  lastHealthCheck: number | null
  lastSuccessfulConnection: number | null
  /** Reconnect attempts since the connection was lost; 0 while CONNECTED. */
  reconnectAttempts: number
  /** `state === "CONNECTED"`. */
  isHealthy: boolean
  /** ms since the last transition into CONNECTED; 0 in other states. */
  uptime: number
  /** ms until the next health check or reconnect attempt; `null` when none is scheduled. */
  nextCheckIn: number | null
  /** `false` when the client was created with `connection: false`. */
  enabled: boolean
  stats: ConnectionStats
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

export interface ChittyIDClientConfig {
  /**
   * Default `"https://id.chitty.cc/v1"`; endpoint paths are appended to it. An array lists a
   * primary and its fallbacks in order: calls go to the first healthy one and fail over on
   * connect failures, timeouts, 5xx and an open circuit (a safe mint only when nothing was
   * processed); see docs/OPERATIONS.md "Endpoint failover".
   */
  serviceUrl?: string | readonly string[]
  /** Failback settings with several endpoints. */
  failover?: FailoverOptions | false
  /** Bounds this client's calls in flight. Off by default. */
  bulkhead?: BulkheadOptions | false
  /** A client-side rate limit for every request of this client. Off by default. */
  rateLimit?: ClientRateLimitOptions | false
  /** Sent as `Authorization: Bearer <apiKey>`; never logged or shown in errors, events or stats. */
  apiKey?: string
  /**
   * Per-request timeout in ms (1 to 2^31-1). Default 10000; a falsy value means the default. It
   * also bounds how long a call waits out a rate-limit pause (`ERATELIMITED` beyond it).
   */
  timeout?: number
  /** Largest response body accepted, in bytes: an integer from 1 to 2^32-1. Default 1 MiB. */
  maxResponseBytes?: number
  /** Retry policy, or `false` to send each request once. */
  retry?: RetryOptions | false
  /** Circuit breaker, or `false` to disable it. */
  circuitBreaker?: CircuitBreakerOptions | false
  /** Validation cache, or `false` to ask the service every time. */
  cache?: CacheOptions | false
  /**
   * `"client"`: this client has its own cache and breaker. `"process"`: every client of the
   * same `serviceUrl` in the process, in any worker thread, shares one cache and one breaker
   * (the first client's settings apply). Default `"client"`.
   */
  scope?: 'client' | 'process'
  /** Allow plain `http://` to a non-loopback host (the key then travels in clear text). Default false. */
  allowInsecure?: boolean
  /**
   * Extra trusted CA certificates (PEM), added to the bundled roots, for the service and for a
   * fleet `rediss://` Redis. The files named by `NODE_EXTRA_CA_CERTS` and `SSL_CERT_FILE` are
   * added too.
   */
  ca?: string | Buffer | Array<string | Buffer>
  /**
   * Requests in flight at once, so at most this many HTTP/1.1 connections (1 to 65535). Calls
   * beyond it wait for a free one before their `timeout` starts. Default 256.
   */
  maxConnections?: number
  /**
   * A proxy URL for every request, or `false` for none. Unset: as Node does, `HTTPS_PROXY` /
   * `HTTP_PROXY` / `NO_PROXY` (lowercase first) apply only when the process set
   * `NODE_USE_ENV_PROXY=1` or runs with `--use-env-proxy`.
   */
  proxy?: string | false
  /** Connection manager settings (idle until `connect()` unless `autoConnect`), or `false` to disable it. */
  connection?: ConnectionOptions | false
  /**
   * How HTTP exchanges are made. `"fetch"`: every request (mint, mintBatch, validate,
   * healthCheck, the connection manager's health checks) goes through `globalThis.fetch`, looked
   * up per call, with v1's URL, method, headers and JSON body, so `fetch` stubs (jest.spyOn,
   * jest-fetch-mock, msw, nock) see it; retry, breaker, cache and errors stay the same. The `ca`
   * option does not apply to it.
   * Default: the `CHITTYID_TRANSPORT` environment variable (`native` or `fetch`), else `"fetch"`
   * under jest (`JEST_WORKER_ID` set), else `"native"`. Chosen automatically under jest, the
   * client keeps v1's semantics unless options say otherwise: one `fetch` per call, v1's
   * requests, results and messages (docs/MIGRATION.md "v1-era jest suites and fetch stubs").
   */
  transport?: ChittyIDTransport
  /**
   * Which service's routes to speak (docs/OPERATIONS.md "Which service this talks to"). `"v1"`: v1's
   * routes below `serviceUrl`, the mint body as given. `"deployed"`: the deployed service's
   * (`POST {origin}/v1/mint` with `entityType`, `POST {origin}/api/validate`, `GET
   * {origin}/health`, no batch route). `"auto"`: learnt per endpoint from its answers (a 404 on
   * v1's route, the grammar of a minted id) and remembered. Under the automatically chosen
   * fetch transport (jest) it is `"v1"`, so no detection request is ever sent there.
   * Default `"auto"`.
   */
  wire?: ChittyIDWire
  /**
   * Resolve placeholder ids (the deployed service's answer when its minting backend failed:
   * G = 0, `ERR`, SSSS 0000-0099) instead of rejecting with `EPLACEHOLDER` (a `RATE_LIMITED`
   * one is still a rate limit: paused and retried, then `ERATELIMITED`). Each one is
   * announced by a `placeholder` event and counted in `getStats().placeholdersAccepted`; the
   * id itself says it is one (`03-0-ERR-00NN-...`). Default `false`.
   */
  acceptPlaceholders?: boolean
  /**
   * The id grammars `validateFormat` and `validate()`'s format-only fallback accept: `"any"`
   * (v1's and the deployed service's), `"v1"` or `"deployed"`. Default `"any"`.
   */
  idGrammar?: ChittyIDGrammar
  /**
   * Your logger (pino, winston, bunyan, `console`, anything with `debug`/`info`/`warn`/`error`
   * methods): it receives a structured `ChittyIDLogRecord` for every attempt (debug when it
   * succeeded, warn when it failed) and for every client event. Pino and bunyan are called
   * `(record, message)`, every other logger `(message, record)`; see `loggerStyle`.
   */
  logger?: ChittyIDLogger
  /**
   * Overrides the calling convention detected for `logger`: `"object-first"` is
   * `logger.info(record, message)`, `"message-first"` is `logger.info(message, record)`.
   */
  loggerStyle?: 'object-first' | 'message-first'
  /**
   * Extra request headers on every call, or a function called once per call (in the caller's
   * async context, so it can read the active trace context) that returns them. A call's own
   * `headers` win over these. The client's own headers (`Authorization`, `Content-Type`,
   * `Idempotency-Key`, `Host`, `Accept`, framing headers) cannot be set.
   */
  headers?: ChittyIDHeaders | ((call: { operation: ChittyIDOperation }) => ChittyIDHeaders | undefined)
  /** Added to every series of `metrics()` as the label `client="<name>"`; also `client.name`. */
  name?: string
  /** Constant labels added to every series of `metrics()` (names `[a-zA-Z_][a-zA-Z0-9_]*`; not `operation`, `le`). */
  labels?: Record<string, string | number>
  /**
   * Fleet mode (docs/OPERATIONS.md "Fleet mode"): instances share one rate budget, one validation cache
   * (L2) and their breakers' openings through Redis or Valkey. Off by default. Redis trouble
   * never fails a call: the client goes local-only (`fleetDegraded`) and reconnects by itself.
   */
  fleet?: FleetOptions | false
}

/** The `fleet` option. Invalid values throw a `TypeError` (`ERR_INVALID_ARG_VALUE`). */
export interface FleetOptions {
  /**
   * `redis://[user:password@]host:port[/db]`, or `rediss://...` for TLS, verified like the
   * service's own connection: the bundled roots plus `ca` and `NODE_EXTRA_CA_CERTS`, unverified
   * only under `NODE_TLS_REJECT_UNAUTHORIZED=0`. A `#fragment` is refused.
   */
  redis: string
  /** Prefix of every key. Default `"chittyid"`. */
  keyPrefix?: string
  /**
   * Separate budgets and caches per API key (only a hash of the key is used in key names).
   * Default `false`: one budget per service origin, as the service limits per client IP.
   */
  apiKeyScope?: boolean
  /** Longest a call waits on any one Redis command, ms (1..10000). Default 30. */
  deadlineMs?: number
  /**
   * The fleet's combined request rate to the service (every operation, every attempt). Unset:
   * no budget, only the shared 429 pause. Calls wait for their slot up to the client's `timeout`,
   * then reject with `ERATELIMITED`.
   */
  ratePerSecond?: number
  /** Requests that may go out back to back after a quiet spell (>= 1). Default 1. */
  burst?: number
  /** Longest a validation waits for another instance already asking for the same id, ms. Default 200. */
  coalesceMs?: number
  /**
   * The shared validation cache (needs the local `cache` and an `apiKey`, from which the key that
   * authenticates its entries is derived). Default `true`.
   */
  sharedCache?: boolean
  /** Share circuit openings: the others probe instead of hammering. Default `true`. */
  breakerHint?: boolean
}

/** The operation names used in stats, metrics, logs and traces. */
export type ChittyIDOperation = 'mint' | 'mintBatch' | 'validate' | 'healthCheck'

/** Extra request headers: token names, values of visible ASCII, spaces and tabs. */
export type ChittyIDHeaders = Record<string, string | number | undefined> | Headers | Map<string, string>

/** What the `logger` option needs. */
export interface ChittyIDLogger {
  debug(...args: any[]): unknown
  info(...args: any[]): unknown
  warn(...args: any[]): unknown
  error(...args: any[]): unknown
}

/** One structured log record (never the API key: service text is redacted of it). */
export interface ChittyIDLogRecord {
  /** `request` (one attempt), a client event name (`retry`, `circuitOpen`, `connected`...), or `telemetryDropped`. */
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
  [field: string]: unknown
}

/**
 * The context object of one attempt on the `chittyid:request` TracingChannel
 * (`TRACING_CHANNEL`); every event of the attempt (`start`, `end`, `error`, `asyncStart`,
 * `asyncEnd`) gets the same object. Events are published in the caller's async context, once
 * the attempt's record reached the JS thread: use `startTime` / `endTime` for timing.
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
}

/** The name of the client's TracingChannel: `"chittyid:request"`. */
export declare const TRACING_CHANNEL: 'chittyid:request'

/**
 * Serves `client.metrics()` from a prom-client `Registry` (e.g. prom-client's default
 * `register`), next to the service's own metrics. Several clients may share one registry when
 * their series differ by `name` or `labels`. Returns a function that removes the client again.
 */
export declare function registerMetrics(
  registry: { registerMetric(metric: any): void; getSingleMetric(name: string): any },
  client: ChittyIDClient,
): () => void

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
   * Makes the mint repeatable: the service answers a key it has seen with the id(s) it minted
   * for it the first time. Without one, each call gets a fresh key (shared by its retries).
   * Pass your own when you retry a failed mint yourself, for example after an `ETIMEDOUT`, so
   * an id the service committed before the answer was lost is returned instead of a second
   * one. 1 to 255 visible ASCII characters.
   */
  idempotencyKey?: string
}

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

/** Every rejection of `mint`/`mintBatch`. The message keeps v1's wording. */
export declare class ChittyIDError extends Error {
  readonly code: ChittyIDErrorCode
  /** HTTP status when the service answered with one. */
  readonly status?: number
  /** The lower-level failure; for `EMINTUNKNOWN` the failure itself, with its own code (`ECONNRESET`, `ETIMEDOUT`, `EHTTP`, `EBADRESPONSE`, ...). */
  readonly cause?: Error & { code?: string; status?: number }
  /** `"OPEN"` when the call failed fast because the circuit is open. */
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

export interface RetryEvent {
  operation: 'mint' | 'mintBatch' | 'validate'
  /** The attempt that just failed (1-based). */
  attempt: number
  /** Milliseconds until the next attempt. */
  delay: number
  error: Error & { code?: string }
}

export interface StateChangeEvent {
  from: ConnectionStateName
  to: ConnectionStateName
  /** Unix-epoch ms. */
  timestamp: number
}

export interface ServiceUrlEvent {
  serviceUrl: string
}

export interface ReconnectingEvent {
  /** 1-based reconnect attempt about to be made. */
  attempt: number
  /** ms until that attempt. */
  delay: number
}

export interface MaxReconnectAttemptsReachedEvent {
  attempts: number
}

export interface CircuitOpenEvent {
  failures: number
  resetTimeout: number
}

/** A 429 paused the client's traffic to the service. */
export interface RateLimitedEvent {
  /** The operation whose request got the 429. */
  operation: 'mint' | 'mintBatch' | 'validate' | 'healthCheck'
  /** How long every call of the client waits. */
  retryInMs: number
  /** True when the service said how long (`Retry-After`); else the adaptive pause. */
  retryAfter: boolean
}

/** Event names and payloads of `ChittyIDClient`. */
export interface ChittyIDClientEvents {
  /** The connection manager changed state. */
  stateChange: [StateChangeEvent]
  /** A health check succeeded after CONNECTING or RECONNECTING. */
  connected: [ServiceUrlEvent]
  /** `disconnect()` stopped the connection manager (not emitted by `close()`). */
  disconnected: [ServiceUrlEvent]
  /** A reconnect attempt is scheduled. */
  reconnecting: [ReconnectingEvent]
  /** A health check failed while CONNECTED (the connection is lost; reconnecting follows). */
  unhealthy: [ServiceUrlEvent]
  /** The manager gave up: the state is FAILED until the next `connect()`. */
  maxReconnectAttemptsReached: [MaxReconnectAttemptsReachedEvent]
  retry: [RetryEvent]
  circuitOpen: [CircuitOpenEvent]
  /** A 429 started a pause of all the client's traffic to the service. */
  rateLimited: [RateLimitedEvent]
  circuitHalfOpen: [Record<string, never>]
  circuitClose: [Record<string, never>]
  error: [Error & { code?: string }]
  /** Fleet mode: Redis is unavailable; the client continues local-only. */
  fleetDegraded: [FleetDegradedEvent]
  /** Fleet mode: Redis answers again. */
  fleetRestored: [Record<string, never>]
  /** Calls now go to `to` first: `from` failed with `code` (several endpoints only). */
  failover: [FailoverEvent]
  /** `to`, earlier in `serviceUrl`, passed its health checks and takes calls back from `from`. */
  failback: [FailbackEvent]
  /** `acceptPlaceholders`: a mint resolved to a placeholder id, not a minted id. */
  placeholder: [PlaceholderEvent]
}

export interface PlaceholderEvent {
  /** The placeholder id the mint resolved to. */
  chittyId: string
  /** The service's `errorCode`, or null. */
  errorCode: string | null
}

export interface FleetDegradedEvent {
  /** What failed (never the Redis password or the API key). */
  reason: string
}

/** `getStats().fleet`: fleet mode's counters since the client was created. */
export interface FleetStats {
  /** The last Redis command (or probe) got an answer. */
  connected: boolean
  /** Redis is unavailable: the client runs local-only until a probe (every 500 ms) succeeds. */
  degraded: boolean
  errors: number
  /** Redis commands without an answer within `deadlineMs`. */
  timeouts: number
  /** Redis commands not sent because Redis was known to be down. */
  skipped: number
  degradations: number
  restorations: number
  /** Validations answered by the shared cache. */
  l2Hits: number
  l2Misses: number
  l2Writes: number
  /**
   * Shared-cache entries ignored because they failed authentication (forged, written by a fleet
   * with another API key, or replayed after their signed expiry); each counts as a miss too.
   */
  l2Rejected: number
  /** L2 hits that waited for another instance's request for the same id. */
  coalesced: number
  /** Requests that waited for their slot in the rate budget, and the ms waited in all. */
  rateWaits: number
  rateWaitMs: number
  /** Calls rejected with `ERATELIMITED`. */
  rateLimited: number
  /** Attempts that waited out a fleet-wide 429 pause. */
  pauseWaits: number
  /** 429s this instance published to the fleet. */
  pausesPublished: number
  /** ms left of the fleet-wide pause known here. */
  pauseMs: number
  breakerHintsPublished: number
  /** Circuit openings elsewhere that moved this breaker to HALF_OPEN. */
  breakerHintsApplied: number
}

export interface FailoverEvent {
  from: string
  to: string
  /** The failure on `from`: `ECONNREFUSED`, `ETIMEDOUT`, `EHTTP`, `ECIRCUITOPEN`, ... */
  code: string
}

export interface FailbackEvent {
  from: string
  to: string
}

/** Counters of one operation. */
export interface OperationStats {
  /** Attempts sent (each retry counts). */
  requests: number
  /** Attempts that failed (transport, timeout, non-2xx, bad answer). */
  errors: number
  retries: number
  /** Median attempt latency, ms (upper bound of its histogram bucket). */
  p50Ms: number
  p99Ms: number
}

export interface BreakerStats {
  state: 'CLOSED' | 'OPEN' | 'HALF_OPEN'
  /** Failures inside the monitor window. */
  failures: number
  timesOpened: number
  /** Calls failed fast while OPEN. */
  rejected: number
  halfOpenSuccesses: number
}

export interface CacheStats {
  hits: number
  misses: number
  evictions: number
  sets: number
  size: number
  maxSize: number
  ttlMs: number
  /** `"NN.NN%"` */
  hitRate: string
  totalRequests: number
  /** Expired answers served with `stale: true` while the service could not be reached. */
  staleServed: number
}

/** The rate-limit pause (see docs/OPERATIONS.md "Pause after a 429"). */
export interface RateLimitStats {
  /** Traffic is paused now. */
  paused: boolean
  /** ms until the pause ends (0 when not paused). */
  retryInMs: number
  /** 429 answers received. */
  rateLimited: number
  /** Pauses started. */
  pauses: number
  /** Calls that waited out a pause or their paced slot. */
  waits: number
  /** Calls failed with `ERATELIMITED`. */
  rejected: number
  /** Requests per second while traffic is paced after a pause; absent when unpaced. */
  pacePerSecond?: number
}

/** `client.getStats()`: everything observable in one snapshot. Never contains the API key. */
export interface ClientStats {
  requests: { mint: OperationStats; mintBatch: OperationStats; validate: OperationStats; healthCheck: OperationStats }
  retries: number
  rejectedByBreaker: number
  /** `null` with `circuitBreaker: false`. */
  breaker: BreakerStats | null
  /** `null` with `cache: false`. */
  cache: CacheStats | null
  rateLimit: RateLimitStats
  /** `null` unless fleet mode is on. */
  fleet: FleetStats | null
  /** Retries refused because the retry budget was spent (0 with `budget: false`). */
  retryBudgetExhausted: number
  /** `null` unless `bulkhead` is set. */
  bulkhead: BulkheadStats | null
  /** `null` unless `rateLimit` is set. */
  clientRateLimit: ClientRateLimitStats | null
  /** Every endpoint in `serviceUrl` order; `null` with a single endpoint. */
  endpoints: EndpointStats[] | null
  /** The wire the endpoint calls go to speaks; `"unknown"` until an answer told (`wire: "auto"`). */
  wire: 'v1' | 'deployed' | 'unknown'
  /** Placeholder ids resolved because of `acceptPlaceholders`. */
  placeholdersAccepted: number
  connection: ClientConnectionState
}

export interface BulkheadStats {
  maxConcurrent: number
  maxQueue: number
  inFlight: number
  queued: number
  /** Calls failed with `EBULKHEADFULL`. */
  rejected: number
}

export interface ClientRateLimitStats {
  requestsPerSecond: number
  burst: number
  /** Requests that waited for a token. */
  waits: number
  /** Calls failed with `ERATELIMITED` (no token within their timeout). */
  rejected: number
}

export interface EndpointStats {
  url: string
  /** Not marked down. */
  healthy: boolean
  /** Calls go to this endpoint first now. */
  active: boolean
  /** Requests sent to it, health probes included. */
  requests: number
  /** Times calls failed over away from it. */
  failovers: number
  /** Its own breaker; `null` with `circuitBreaker: false`. */
  breaker: BreakerStats | null
  /** The wire it speaks, as far as known. */
  wire: 'v1' | 'deployed' | 'unknown'
}

export declare class ChittyIDClient extends EventEmitter {
  constructor(config?: ChittyIDClientConfig)
  readonly serviceUrl: string
  readonly timeout: number
  readonly apiKey: string | undefined
  /** The transport this client uses (see `ChittyIDClientConfig.transport`). */
  readonly transport: ChittyIDTransport
  /** The `name` option, when given. */
  readonly name?: string

  /**
   * Mints one id. Rejects with a `ChittyIDError`; `EMINTUNKNOWN` (default `retry.mint: "safe"`)
   * when the request may have reached the service and was not retried.
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
   * `GET /health` with a 5 s timeout: `false` when the service is unhealthy or unreachable.
   * Rejects only like `validate()`: bad options, an AbortError, or `ECLIENTCLOSED`.
   */
  healthCheck(options?: CallOptions): Promise<boolean>
  /**
   * Starts the connection manager (health checks every `healthCheckInterval`, reconnects with
   * backoff). Resolves `true` once CONNECTED (at once if already CONNECTED; concurrent calls share
   * one attempt), `false` when the first check fails — an `error` event (if listened) says why,
   * and reconnecting goes on in the background. Called while RECONNECTING or FAILED it starts
   * over with an immediate check. Rejects only with `ECLIENTCLOSED`, an `AbortError`, or
   * `ERR_INVALID_STATE` when the client was created with `connection: false`.
   */
  connect(options?: CallOptions): Promise<boolean>
  /** Stops health checks and reconnects at once: DISCONNECTED, `disconnected`. */
  disconnect(): Promise<void>
  /** A snapshot of the connection manager. */
  getConnectionState(): ClientConnectionState
  /** Requests, errors, retries and p50/p99 per operation, breaker, cache and connection. */
  getStats(): ClientStats
  /** The same counters as Prometheus text exposition (format 0.0.4), for a `/metrics` route. */
  metrics(): string
  /**
   * Stops every timer and task of the client (the monitor, scheduled reconnects) and releases
   * its event handle. Every call in flight rejects at once with `ECLIENTCLOSED` (its request and
   * retries stop), so the process can exit; later calls (`validate()` and `healthCheck()`
   * included) reject with `ECLIENTCLOSED`. No event is delivered afterwards, not even to the
   * listeners after one that called `close()`.
   */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>

  /** The fields of a well-formed id of either grammar (or of `options.grammar`), or `null`. */
  static parse(id: unknown, options: { grammar: 'v1' }): ParsedChittyID | null
  static parse(id: unknown, options: { grammar: 'deployed' }): ParsedDeployedChittyID | null
  static parse(id: unknown, options?: ChittyIDGrammarOptions): ParsedChittyID | ParsedDeployedChittyID | null

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

/** Every event name of `ChittyIDClient` with its payload. */
export type ChittyIDClientEventName = keyof ChittyIDClientEvents

export declare function mintChittyID(request: MintRequest, config?: ChittyIDClientConfig): Promise<string>
export declare function validateChittyID(id: string, config?: ChittyIDClientConfig): Promise<ValidationResult>
/** The id grammar check (both grammars, or `options.grammar`), without a client. */
export declare function validateFormat(id: unknown, options?: ChittyIDGrammarOptions): boolean
/** `ChittyIDClient.parse()`, without a client. */
export declare function parse(id: unknown, options: { grammar: 'v1' }): ParsedChittyID | null
export declare function parse(id: unknown, options: { grammar: 'deployed' }): ParsedDeployedChittyID | null
export declare function parse(
  id: unknown,
  options?: ChittyIDGrammarOptions,
): ParsedChittyID | ParsedDeployedChittyID | null
/** Which build the export conditions chose: `"native"` (Node) or `"portable"` (`portable.d.ts`). */
export declare const RUNTIME: 'native'

// ---------------------------------------------------------------------------------------
// Emulator

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

export interface EmulatorStats {
  minted: number
  /** Every id minted, in order. */
  mintedIds: string[]
  idempotentReplays: number
  requests: { health: number; mint: number; batch: number; validate: number; other: number }
  unauthorized: number
  badRequests: number
  faultsInjected: number
  connections: number
  /** Placeholder ids answered (profile `"deployed"`); never counted in `minted`. */
  placeholders: number
}

export interface EmulatorOptions {
  /**
   * The wire it speaks. `"v1"` (default): v1's routes under `/`, `/v1` and `/api/v1`.
   * `"deployed"`: the deployed service's — `POST /v1/mint` (also `GET /generate`,
   * `GET /api/get-chittyid`) reading `entityType`, `POST /api/validate`, `GET /health` at the
   * origin, no batch route, 404 `{ success: false, error: "NOT_FOUND" }` for anything else,
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
  /** Ignore `Idempotency-Key` from now on (`true`), as the public service does, or honour it (`false`). */
  setIgnoreIdempotencyKeys(ignore: boolean): void
  readonly ignoresIdempotencyKeys: boolean
  stats(): EmulatorStats
  resetLedger(): void
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

// ---------------------------------------------------------------------------------------
// Compat: resilience helpers services built around v1 (docs/MIGRATION.md "The compat layer"). Their breaker state
// machine and backoff schedule are the native ones the client uses; only `fn` runs in JS.

/** Configuration of `withRetry`; fields left out take their `RETRY_CONFIG` value. */
export interface RetryConfig {
  /** Total calls of `fn`, the first included. Default 3. */
  maxAttempts: number
  /** Wait before the first retry, in ms. Default 100. */
  initialDelayMs: number
  /** Longest wait between calls, in ms. Default 5000. */
  maxDelayMs: number
  /** Each wait is the previous one times this (at least 1). Default 2. */
  backoffMultiplier: number
  /** An error is retried when its `code` equals, or its message contains (ignoring case), an entry. */
  retryableErrors: string[]
}

/**
 * Defaults of `withRetry`: 3 attempts, 100 ms ×2 capped at 5000 ms, retrying
 * ECONNREFUSED, ETIMEDOUT, ENOTFOUND, EAI_AGAIN, ECONNRESET, EPIPE, "fetch failed" and "network error".
 */
export declare const RETRY_CONFIG: RetryConfig

/**
 * Calls `fn` until it succeeds or `maxAttempts` calls have failed, waiting `initialDelayMs`,
 * then × `backoffMultiplier` (capped at `maxDelayMs`) between calls; rethrows the last error.
 * A non-retryable error is rethrown after its one call. An invalid config rejects with a `TypeError`.
 */
export declare function withRetry<T>(fn: () => T | PromiseLike<T>, config?: Partial<RetryConfig>): Promise<T>

/** States of a `CircuitBreaker`. */
export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN'

/** What `CircuitBreaker#getState()` returns; times are ms since the Unix epoch. */
export interface CircuitBreakerState {
  state: CircuitState
  /** Failures inside the monitor window ending now. */
  failures: number
  /** When the last failure was recorded, or `null` if none was. */
  lastFailure: number | null
  lastStateChange: number
  /** Time spent in the current state, in ms. */
  uptimeMs: number
  /** Successes so far in HALF_OPEN. */
  halfOpenSuccesses: number
  config: { failureThreshold: number; resetTimeout: number; monitorWindow: number }
}

/**
 * The rejection of `CircuitBreaker#execute` (and of the client) while the circuit is OPEN, or
 * HALF_OPEN with `halfOpenAttempts` trial calls in flight. It is a `ChittyIDError` without stack
 * frames: capturing them would cost more than failing fast itself.
 */
export interface CircuitOpenError extends Error {
  /** Contains `circuit breaker is OPEN` (or `circuit breaker is HALF_OPEN` for the trial limit). */
  readonly message: string
  readonly code: 'ECIRCUITOPEN'
  readonly circuitBreakerState: 'OPEN' | 'HALF_OPEN'
}

/**
 * A circuit breaker around calls you make: CLOSED → OPEN after `failureThreshold` (5) failures
 * inside `monitorWindow` (10000 ms); OPEN rejects at once with a `CircuitOpenError` until
 * `resetTimeout` (60000 ms) after the last failure, then admits trial calls (HALF_OPEN), at most
 * `halfOpenAttempts` (3) at once; `halfOpenAttempts` successes close it and a failure re-opens it.
 */
export declare class CircuitBreaker {
  /** Invalid options throw a `TypeError`. */
  constructor(options?: CircuitBreakerOptions)
  /** The current state; an expired OPEN turns HALF_OPEN on the next `execute`. */
  readonly state: CircuitState
  /** Runs `fn` when the circuit admits it and records its outcome; rejects at once while OPEN. */
  execute<T>(fn: () => T | PromiseLike<T>): Promise<T>
  /** A snapshot of the state, counters and configuration. */
  getState(): CircuitBreakerState
  /** Back to CLOSED with every counter cleared. */
  reset(): void
}

/** The process-wide `CircuitBreaker`, created with `options` on the first call; later options are ignored. */
export declare function getCircuitBreaker(options?: CircuitBreakerOptions): CircuitBreaker

/** Options of `withResilience`. */
export interface ResilienceOptions {
  /** Passed to `withRetry`; default `RETRY_CONFIG`. */
  retryConfig?: Partial<RetryConfig>
  /** Used only if the shared breaker does not exist yet. */
  circuitBreakerConfig?: CircuitBreakerOptions
}

/** `withRetry(fn, retryConfig)` inside the shared breaker: a call whose retries run out counts as one failure. */
export declare function withResilience<T>(fn: () => T | PromiseLike<T>, options?: ResilienceOptions): Promise<T>

export default ChittyIDClient

// ---------------------------------------------------------------------------------------
// Compatibility layer: connection manager (drop-in for the JS module services built around v1)

/** Connection states (string values equal to the names). */
export declare const ConnectionState: {
  readonly DISCONNECTED: 'DISCONNECTED'
  readonly CONNECTING: 'CONNECTING'
  readonly CONNECTED: 'CONNECTED'
  readonly RECONNECTING: 'RECONNECTING'
  readonly FAILED: 'FAILED'
}
export type ConnectionState = ConnectionStateName

export interface ConnectionManagerOptions {
  /** Default `"https://id.chitty.cc"`; checks `GET ${serviceUrl}/health`. */
  serviceUrl?: string
  /** Sent as `Authorization: Bearer <apiKey>` with health checks; not enumerable on the manager. */
  apiKey?: string
  /** Default 30000. */
  healthCheckInterval?: number
  /** Default 1000. */
  reconnectDelay?: number
  /** Default 60000. */
  maxReconnectDelay?: number
  /** Default 2. */
  reconnectMultiplier?: number
  /** Default `Infinity`. */
  maxReconnectAttempts?: number
}

export interface ConnectionManagerState {
  state: ConnectionStateName
  lastHealthCheck: number | null
  lastSuccessfulConnection: number | null
  reconnectAttempts: number
  stats: ConnectionStats
  isHealthy: boolean
  /** ms since the last successful connection while CONNECTED, else 0. */
  uptime: number
}

export interface ConnectionManagerStats extends ConnectionStats {
  /** e.g. `"97.50%"`; `"0.00%"` before the first check. */
  healthCheckSuccessRate: string
  currentState: ConnectionStateName
  isConnected: boolean
}

/** The client's connection events; `error` is emitted only when listened (a failed `connect()`). */
export type ConnectionManagerEvents = Pick<
  ChittyIDClientEvents,
  'stateChange' | 'connected' | 'disconnected' | 'reconnecting' | 'unhealthy' | 'maxReconnectAttemptsReached' | 'error'
>

/** A listener as `EventEmitter#listeners()` returns it. */
export type ConnectionManagerListener = (...args: any[]) => void

/**
 * `listeners(event)` as in EventEmitter, plus the Map-like `get`/`has` of the old hand-written
 * emitter. Its call signature returns `(...args: any[]) => void` functions, which fits both the
 * `Function[]` of older `@types/node` and the typed listeners of current ones.
 */
export interface ConnectionManagerListeners {
  (event: string | symbol): ConnectionManagerListener[]
  /**
   * The event's listener array: `undefined` for an event that never had a listener, `[]` for
   * one whose listeners were all removed (as the old emitter kept its emptied array).
   */
  get(event: string | symbol): ConnectionManagerListener[] | undefined
  /** `true` once the event has had a listener, even if all were removed since (like `get`). */
  has(event: string | symbol): boolean
}

/**
 * Self-healing connection to the ChittyID service, with exactly the behaviour of the v1-era
 * module: health checks on an interval, reconnects with exact backoff
 * `min(reconnectDelay * reconnectMultiplier^reconnectAttempts, maxReconnectDelay)` (the same
 * native code as the client's), FAILED after `maxReconnectAttempts`. Timers are unref'd: they
 * never keep the process alive. Listeners that throw do not stop the others.
 */
export declare class ChittyIDConnectionManager extends EventEmitter {
  constructor(options?: ConnectionManagerOptions)
  state: ConnectionStateName
  /** Writable: the next reconnect delay is computed from it. */
  reconnectAttempts: number
  lastHealthCheck: number | null
  lastSuccessfulConnection: number | null
  /** Truthy while monitoring, else `null`. */
  healthCheckTimer: NodeJS.Timeout | null
  /** Truthy while a reconnect is scheduled, else `null`. */
  reconnectTimer: NodeJS.Timeout | null
  stats: ConnectionStats
  serviceUrl: string
  apiKey: string | undefined
  healthCheckInterval: number
  reconnectDelay: number
  maxReconnectDelay: number
  reconnectMultiplier: number
  maxReconnectAttempts: number
  listeners: ConnectionManagerListeners

  /**
   * Never rejects; concurrent calls share one attempt and resolve to the same value. Success:
   * CONNECTED, monitoring starts, `connected`. Failure: FAILED, `error` (if listened), a
   * reconnect is scheduled. Resolves `true` at once when already CONNECTED.
   */
  connect(): Promise<boolean>
  /** Stops monitoring and any scheduled reconnect; DISCONNECTED; emits `disconnected`. Takes effect at once. */
  disconnect(): Promise<void>
  /** `GET ${serviceUrl}/health` with a 5 s timeout; updates stats; never rejects. */
  performHealthCheck(): Promise<boolean>
  startHealthMonitoring(): void
  stopHealthMonitoring(): void
  /** Stops monitoring and schedules a reconnect. */
  handleConnectionLoss(): void
  /** FAILED + `maxReconnectAttemptsReached` when attempts are exhausted, else schedules a reconnect. */
  scheduleReconnect(): void
  clearReconnectTimer(): void
  /** Emits `stateChange` only when `state` actually changes. */
  setState(state: ConnectionStateName): void
  getState(): ConnectionManagerState
  getStats(): ConnectionManagerStats
  /** Disconnects, then zeroes `reconnectAttempts` and the stats (at once). */
  reset(): Promise<void>

  on<E extends keyof ConnectionManagerEvents>(event: E, listener: (...args: ConnectionManagerEvents[E]) => void): this
  once<E extends keyof ConnectionManagerEvents>(event: E, listener: (...args: ConnectionManagerEvents[E]) => void): this
  off<E extends keyof ConnectionManagerEvents>(event: E, listener: (...args: ConnectionManagerEvents[E]) => void): this
  addListener<E extends keyof ConnectionManagerEvents>(
    event: E,
    listener: (...args: ConnectionManagerEvents[E]) => void,
  ): this
  removeListener<E extends keyof ConnectionManagerEvents>(
    event: E,
    listener: (...args: ConnectionManagerEvents[E]) => void,
  ): this
  emit<E extends keyof ConnectionManagerEvents>(event: E, ...args: ConnectionManagerEvents[E]): boolean
}

/** The process-wide manager, created (and connecting) on the first call; later `options` are ignored. */
export declare function getSharedConnectionManager(options?: ConnectionManagerOptions): ChittyIDConnectionManager
/** Resets the shared manager (disconnect, zero attempts and stats) and forgets it. */
export declare function resetSharedConnectionManager(): void

// ---------------------------------------------------------------------------------------
// Compat: the validation cache services put in front of v1 (docs/MIGRATION.md "The compat layer")

export interface ChittyIDCacheOptions {
  /** Default 10000. */
  maxSize?: number
  /** Default 300000 (5 min). */
  ttlMs?: number
}

/**
 * LRU + TTL cache of validation verdicts. Pure JS on purpose: `get()` sits in front of a
 * format check on every request, and a call into native code costs more than the whole lookup.
 * Expiry follows `Date.now` (fake timers and a mocked `Date.now` are honoured at once).
 */
export declare class ChittyIDCache {
  constructor(options?: ChittyIDCacheOptions)
  readonly maxSize: number
  readonly ttlMs: number
  /** The cached verdict; `null` on a miss or an expired entry. Counts a hit or a miss. */
  get(id: string): boolean | null
  set(id: string, isValid: boolean): void
  has(id: string): boolean
  invalidate(id: string): boolean
  /** Removes every entry and zeroes the stats. */
  clear(): void
  size(): number
  getStats(): CacheStats
  /** Removes expired entries; returns how many. */
  maintain(): number
  /** Cached ids, least recently used first. */
  keys(): string[]
  getConfig(): { maxSize: number; ttlMs: number; ttlMinutes: number }
}

/** One `ChittyIDCache` per process (per worker thread), created with `options` on first call. */
export declare function getSharedCache(options?: ChittyIDCacheOptions): ChittyIDCache
/** Clears and forgets the shared cache. */
export declare function clearSharedCache(): void
