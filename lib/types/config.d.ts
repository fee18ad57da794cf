/// <reference types="node" />
// The native client's config (`new ChittyIDClient(config)`) and its fleet option.
import type { ChittyIDGrammar } from './ids'
import type { ChittyIDLogger } from './observe'
import type {
  BulkheadOptions,
  CacheOptions,
  ChittyIDHeaders,
  ChittyIDOperation,
  ChittyIDTransport,
  ChittyIDWire,
  CircuitBreakerOptions,
  ClientRateLimitOptions,
  ConnectionOptions,
  FailoverOptions,
  RetryOptions,
} from './options'

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
   * also bounds how long a call waits out a rate-limit pause (`ERATELIMITED` beyond it). A
   * string of digits (`process.env.CHITTYID_TIMEOUT`) counts as its number, as in v1; any other
   * string is a TypeError. `client.timeout` is always the number.
   */
  timeout?: number | string
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
   * vi.spyOn, vi.stubGlobal, jest-fetch-mock, msw, nock) see it; retry, breaker, cache and
   * errors stay the same. The `ca` option does not apply to it.
   * Default: the `CHITTYID_TRANSPORT` environment variable (`native` or `fetch`), else `"fetch"`
   * under a test runner (jest: `JEST_WORKER_ID`; vitest: `VITEST_WORKER_ID` or `VITEST`;
   * node --test: `NODE_TEST_CONTEXT` or its `--test` flag), else `"native"`. Chosen
   * automatically under a test runner, the client keeps v1's semantics unless options say
   * otherwise: one `fetch` per call, v1's requests, results and messages (docs/MIGRATION.md
   * "v1-era suites and fetch stubs"). mocha and other runners set none of these: run them
   * with `CHITTYID_TEST_RUNNER=1` for the same, or give `transport: "fetch"` /
   * `CHITTYID_TRANSPORT=fetch` there (v2's engine over `fetch`).
   */
  transport?: ChittyIDTransport
  /**
   * Which service's routes to speak (docs/OPERATIONS.md "Which service this talks to"). `"v1"`: v1's
   * routes below `serviceUrl`, the mint body as given. `"deployed"`: the deployed service's
   * (`POST {origin}/mint`, after a 404 there `POST {origin}/v1/mint`, after a 404 there too `GET
   * {origin}/api/get-chittyid`, the type as `entityType` and `?type=`; `POST {origin}/api/validate`, `GET
   * {origin}/api/health`, no batch route). `"auto"`: learnt per endpoint from its answers (a 404 on
   * v1's route, the grammar of a minted id) and remembered. Under the automatically chosen
   * fetch transport (a test runner) it is `"v1"`, so no detection request is ever sent there.
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
  /**
   * Added to every series of `metrics()` as the label `client="<name>"`; also `client.name`. A
   * non-empty string of at most 256 characters (another type is `ERR_INVALID_ARG_TYPE`).
   */
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
  /** Longest a call waits on any one Redis command, ms (1..10000; never longer than `timeout`). Default 30. */
  deadlineMs?: number
  /**
   * The fleet's combined request rate to the service (every operation, every attempt). Unset:
   * no budget, only the shared 429 pause. Calls wait for their slot up to the client's `timeout`,
   * then reject with `ERATELIMITED`.
   */
  ratePerSecond?: number
  /** Requests that may go out back to back after a quiet spell (>= 1). Default 1. */
  burst?: number
  /** Longest a validation waits for another instance already asking for the same id, ms (never longer than `timeout`). Default 200. */
  coalesceMs?: number
  /**
   * The shared validation cache (needs the local `cache` and an `apiKey`, from which the key that
   * authenticates its entries is derived). Default `true`.
   */
  sharedCache?: boolean
  /** Share circuit openings: the others probe instead of hammering. Default `true`. */
  breakerHint?: boolean
}
