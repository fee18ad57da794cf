'use strict'

// Every option a caller hands the client, checked and normalized once, here: the constructor's
// `config` (`clientOptions`) and a call's `options` (`callSignal`, `callIdempotencyKey`,
// `callHeaders`). A bad value is a TypeError (`ERR_INVALID_ARG_VALUE`) naming the option.
//
// Defaults and ranges are not restated here: both live in the options table, lib/options.json
// (docs/ARCHITECTURE.md "Options"), which lib/option-checks.js applies for this client and the
// portable one. Absent options stay absent and native code applies the same table's defaults
// (src/bindings/options/ translates what this module returns into the client builder).

const native = require('./native/index.js')
const { invalidArgument } = require('./errors.js')
const { CLIENT_OPTIONS, refuseUnknown } = require('./option-names.js')
const {
  TABLE,
  spec,
  numericDefaults,
  defaultOf,
  checkedNumber,
  checkedFields,
  oneOfOption,
  alternatives,
  booleanOption,
  isPlainObject,
  optionsSnapshot,
  shown,
  nameOption,
  MAX_LABEL_VALUE_LENGTH,
  timeoutOption,
  optional,
  apiKeyOption,
  callSignal,
  callIdempotencyKey,
  headersOption,
  callHeaderMap,
} = require('./option-checks.js')
const { onlyV1Options } = require('./v1.js')
const { isWellFormed } = require('./well-formed.js')
const { underTestRunner } = require('./test-runner.js')
const { hostProcess } = require('./host-process.js')

function deepFreeze(value) {
  if (value !== null && typeof value === 'object') {
    for (const field of Object.values(value)) deepFreeze(field)
    Object.freeze(value)
  }
  return value
}

/**
 * Every fixed default of the client's options, named and nested as the options are
 * (`retry.mint`, `retry.budget`, `bulkhead.maxQueue`), and two values that are not options
 * (`healthTimeoutMs`, `retryableErrors`); `clientDefaults()` shows the native side's, the same.
 */
const DEFAULTS = deepFreeze({
  serviceUrl: defaultOf('serviceUrl'),
  timeout: defaultOf('timeout'),
  // healthCheck()'s own timeout (not an option).
  healthTimeoutMs: TABLE.fixed.healthTimeoutMs,
  maxResponseBytes: defaultOf('maxResponseBytes'),
  maxConnections: defaultOf('maxConnections'),
  scope: defaultOf('scope'),
  allowInsecure: defaultOf('allowInsecure'),
  idGrammar: defaultOf('idGrammar'),
  retry: { ...numericDefaults('retry'), mint: defaultOf('retry.mint'), budget: numericDefaults('retry.budget') },
  circuitBreaker: numericDefaults('circuitBreaker'),
  cache: numericDefaults('cache'),
  connection: { ...numericDefaults('connection'), autoConnect: defaultOf('connection.autoConnect') },
  failover: numericDefaults('failover'),
  bulkhead: { maxQueue: defaultOf('bulkhead.maxQueue') },
  fleet: Object.fromEntries(
    Object.entries(spec('fleet'))
      .filter(([, node]) => node.default !== undefined)
      .map(([field, node]) => [field, node.default]),
  ),
  // The error codes the compat `withRetry` retries (not an option): native code's list (src/policy/retry.rs).
  retryableErrors: native.clientDefaults().retryableErrors,
  wire: defaultOf('wire'),
  acceptPlaceholders: defaultOf('acceptPlaceholders'),
  // Where neither the option nor CHITTYID_TRANSPORT names one and no test runner runs (transportOption).
  transport: defaultOf('transport'),
})

// ---------------------------------------------------------------------------------------
// Policies: absent or true = the defaults, false = off, an object = the defaults with these fields.

/** Every field name of the object option `name`: the table's, and `more`. */
const fieldsOf = (name, more = []) => [...Object.keys(spec(name)), ...more]

/**
 * `{ enabled, options }` of a policy or sub-policy option such as `retry.budget` (its field names
 * are the table's). `off`: the policy is off unless given (v1 semantics under a test runner).
 */
function policyOption(value, name, off = false) {
  if (value === undefined) return { enabled: off ? false : undefined, options: undefined }
  if (value === true) return { enabled: undefined, options: undefined }
  if (value === false) return { enabled: false, options: undefined }
  return { enabled: true, options: checkedFields(value, name, fieldsOf(name)) }
}

function retryOptions(value, off) {
  const retry = policyOption(value, 'retry', off)
  if (!retry.enabled) return { retry, mint: undefined, budget: { enabled: undefined, options: undefined } }
  const { mint, budget } = value // each read once
  return { retry, mint: oneOfOption('retry.mint', mint), budget: policyOption(budget, 'retry.budget') }
}

function connectionOption(value) {
  const connection = policyOption(value, 'connection')
  const autoConnect = connection.enabled ? value.autoConnect : undefined // read once
  if (autoConnect !== undefined) {
    if (typeof autoConnect !== 'boolean')
      throw invalidArgument('ChittyIDClient option "connection.autoConnect" must be a boolean')
    connection.options.autoConnect = autoConnect
  }
  return connection
}

/** `rateLimit`: off unless given as `{ requestsPerSecond > 0, burst? }`. */
function rateLimitOption(value) {
  if (value === undefined || value === null || value === false) return undefined
  const options = checkedFields(value, 'rateLimit', fieldsOf('rateLimit'))
  if (!(options.requestsPerSecond > 0))
    throw invalidArgument('ChittyIDClient option "rateLimit.requestsPerSecond" must be a finite number > 0')
  return options
}

/** `bulkhead`: off unless given as `{ maxConcurrent, maxQueue? }` (maxConcurrent >= 1 required). */
function bulkheadOption(value) {
  if (value === undefined || value === null || value === false) return undefined
  const options = checkedFields(value === true ? {} : value, 'bulkhead', fieldsOf('bulkhead'))
  if (options.maxConcurrent === undefined) {
    throw invalidArgument('ChittyIDClient option "bulkhead.maxConcurrent" is required (an integer from 1)')
  }
  return options
}

function failoverOption(value) {
  return policyOption(value, 'failover').options
}

// ---------------------------------------------------------------------------------------
// The service and its transport

/** A top-level numeric option (`maxConnections`, `maxResponseBytes`), checked against the table. */
function numberOption(value, name) {
  return value === undefined || value === null ? undefined : checkedNumber(name, value)
}

/**
 * `serviceUrl`: a URL string, or a non-empty array of them (the first is the primary, the
 * rest fallbacks in order). Returns `[primary, fallbacks]`.
 */
function serviceUrlOption(config) {
  const value = config.serviceUrl
  if (!Array.isArray(value)) return [optional(config, 'serviceUrl', 'string'), undefined]
  if (value.length === 0 || !value.every((u) => typeof u === 'string' && u !== '')) {
    throw invalidArgument('ChittyIDClient option "serviceUrl" must be a URL string or a non-empty array of URL strings')
  }
  if (new Set(value.map((u) => u.replace(/\/+$/, ''))).size !== value.length) {
    throw invalidArgument('ChittyIDClient option "serviceUrl" lists the same URL twice')
  }
  return [value[0], value.length > 1 ? value.slice(1) : undefined]
}

function caOption(value) {
  if (value === undefined || value === null) return undefined
  const list = Array.isArray(value) ? value : [value]
  const pems = []
  // By index: a hole is no certificate (`map` skipped it, and napi then met `undefined`).
  for (let i = 0; i < list.length; i++) {
    const pem = list[i]
    if (typeof pem === 'string') pems.push(pem)
    else if (Buffer.isBuffer(pem)) pems.push(pem.toString('utf8'))
    else throw invalidArgument('ChittyIDClient option "ca" must be PEM text (string or Buffer) or an array of them')
  }
  return pems
}

// Node's switches for proxies from the environment: the variable, or the flag given to node
// directly or through NODE_OPTIONS.
function envProxyEnabled() {
  if (process.env.NODE_USE_ENV_PROXY === '1') return true
  const flag = '--use-env-proxy'
  return process.execArgv.includes(flag) || (process.env.NODE_OPTIONS || '').split(/\s+/).includes(flag)
}

// As in Node, the lowercase variable wins when both are set.
function envVar(lower, upper) {
  const value = process.env[lower] !== undefined ? process.env[lower] : process.env[upper]
  return value === '' ? undefined : value
}

/** `proxy: "http://..."` sends everything through that proxy; `false` none; unset: Node's env rules. */
function proxyOptions(value) {
  if (value === false || value === null) return {}
  if (typeof value === 'string' && value !== '') return { proxyUrl: value }
  if (value !== undefined) throw invalidArgument('ChittyIDClient option "proxy" must be a proxy URL string or false')
  if (!envProxyEnabled()) return {}
  const proxyEnv = {
    http: envVar('http_proxy', 'HTTP_PROXY'),
    https: envVar('https_proxy', 'HTTPS_PROXY'),
    noProxy: envVar('no_proxy', 'NO_PROXY'),
  }
  return proxyEnv.http || proxyEnv.https ? { proxyEnv } : {}
}

let warnedInsecureTls = false

/** False when the process disabled certificate checks, as Node does, with one warning per process. */
function verifyTls() {
  if (process.env.NODE_TLS_REJECT_UNAUTHORIZED !== '0') return true
  if (!warnedInsecureTls) {
    warnedInsecureTls = true
    process.emitWarning(
      'NODE_TLS_REJECT_UNAUTHORIZED is "0": @chittyos/chittyid-client will not verify the TLS certificates of the ChittyID service (nor of a fleet rediss:// Redis).',
      { code: 'CHITTYID_TLS_UNVERIFIED' },
    )
  }
  return false
}

/**
 * `wire`: which service's routes to speak (docs/OPERATIONS.md "Which service this talks to"). Absent, it is
 * the native default (`auto`), except under the automatically chosen fetch transport (a test runner),
 * where a suite expects v1's calls exactly: there it is `v1`, and nothing is sent to detect.
 */
function wireOption(value, automaticFetch) {
  return oneOfOption('wire', value ?? undefined) ?? (automaticFetch ? 'v1' : undefined)
}

/**
 * The transport a new client uses: the `transport` option, else `CHITTYID_TRANSPORT`, else
 * `fetch` under a test runner (jest, vitest, node --test: lib/test-runner.js), so suites that
 * stub `fetch` keep working, and `native` everywhere else. `automatic`: chosen because a test
 * runner runs, by neither the option nor the variable; such a client keeps v1's semantics
 * (docs/ARCHITECTURE.md "v1 semantics").
 */
function transportOption(value) {
  if (value !== undefined && value !== null) return { transport: oneOfOption('transport', value), automatic: false }
  const env = process.env.CHITTYID_TRANSPORT
  if (env !== undefined && env !== '') {
    const { oneOf } = spec('transport')
    if (!oneOf.includes(env))
      throw invalidArgument(`CHITTYID_TRANSPORT must be ${alternatives(oneOf)}, got ${JSON.stringify(env)}`)
    return { transport: env, automatic: false }
  }
  const automatic = underTestRunner(hostProcess())
  return { transport: automatic ? 'fetch' : defaultOf('transport'), automatic }
}

// ---------------------------------------------------------------------------------------
// Fleet mode (docs/OPERATIONS.md "Fleet mode")

/** `fleet: { redis, ... }`, or undefined when fleet mode is off; numbers are checked against the table. */
function fleetOption(value) {
  if (value === undefined || value === null || value === false) return undefined
  if (!isPlainObject(value)) {
    throw invalidArgument(
      'ChittyIDClient option "fleet" must be an object like { redis: "redis://host:6379" } or false',
    )
  }
  refuseUnknown(value, 'fleet', fieldsOf('fleet', ['redis']), 'ChittyIDClient')
  // Read once: the URL checked is the URL used.
  const redis = value.redis
  if (typeof redis !== 'string' || !(redis.startsWith('redis://') || redis.startsWith('rediss://'))) {
    throw invalidArgument('ChittyIDClient option "fleet.redis" must be a redis:// or rediss:// (TLS) URL')
  }
  const options = { redis, ...checkedFields(value, 'fleet', fieldsOf('fleet', ['redis'])) }
  for (const [field, node] of Object.entries(spec('fleet'))) {
    const v = value[field]
    if (v === undefined || node.kind !== undefined) continue
    const type = typeof node.default
    if (typeof v !== type)
      throw invalidArgument(`ChittyIDClient option "fleet.${field}" must be a ${type}, got ${shown(v)}`)
    options[field] = v
  }
  return options
}

// ---------------------------------------------------------------------------------------
// Observability: `name`, `labels`, `logger`, `loggerStyle`, `headers`

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
// Labels the client's own series use (src/client/metrics.rs `OWN_LABEL_NAMES`), read once.
let ownLabels

function labelValue(value, where) {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value
  if (typeof text !== 'string' || text === '' || text.length > MAX_LABEL_VALUE_LENGTH || !isWellFormed(text)) {
    throw invalidArgument(`${where} must be a non-empty string of at most ${MAX_LABEL_VALUE_LENGTH} characters`)
  }
  return text
}

/**
 * `[name, value, ...]` for the native side: `client="<name>"` from the `name` option, then
 * the `labels` option's pairs. Undefined when neither is set.
 */
function metricLabelsOption(name, labels) {
  const flat = []
  if (name !== undefined && name !== null) flat.push('client', labelValue(name, 'ChittyIDClient option "name"'))
  if (labels !== undefined && labels !== null) {
    if (!isPlainObject(labels))
      throw invalidArgument('ChittyIDClient option "labels" must be an object of label names and values')
    ownLabels ??= new Set(native.metricLabelNames())
    for (const [key, value] of Object.entries(labels)) {
      if (
        !LABEL_NAME.test(key) ||
        key.startsWith('__') ||
        ownLabels.has(key) ||
        (key === 'client' && flat.length > 0)
      ) {
        throw invalidArgument(
          `ChittyIDClient option "labels": ${JSON.stringify(key)} is not a label name the client can add (letters, digits, _; not "__"-prefixed, not one of the client's own labels ${[...ownLabels].map((l) => `"${l}"`).join(', ')}, nor "client" with "name")`,
        )
      }
      flat.push(key, labelValue(value, `ChittyIDClient option "labels.${key}"`))
    }
  }
  return flat.length > 0 ? flat : undefined
}

const LOGGER_LEVELS = ['debug', 'info', 'warn', 'error']
const LOGGER_STYLES = ['object-first', 'message-first']

/** `{ logger, style }` when a logger is given (lib/logger.js writes to it), else undefined. */
function loggerOption(logger, style) {
  if (logger === undefined || logger === null || logger === false) return undefined
  if (typeof logger !== 'object' && typeof logger !== 'function') {
    throw invalidArgument('ChittyIDClient option "logger" must be a logger object (pino, winston, console...)')
  }
  const missing = LOGGER_LEVELS.filter((level) => typeof logger[level] !== 'function')
  if (missing.length > 0) {
    throw invalidArgument(
      `ChittyIDClient option "logger" has no ${missing.join(', ')} method${missing.length > 1 ? 's' : ''}`,
    )
  }
  if (style !== undefined && !LOGGER_STYLES.includes(style)) {
    throw invalidArgument(
      `ChittyIDClient option "loggerStyle" must be "object-first" or "message-first", got ${shown(style)}`,
    )
  }
  return { logger, style }
}

/** The header names the client sets itself, which `headers` may not override (native). */
let reservedHeaders
const reserved = () => (reservedHeaders ??= new Set(native.reservedHeaderNames()))

// ---------------------------------------------------------------------------------------
// The constructor's config

/**
 * `new ChittyIDClient(config)`, checked: `native` is what `new NativeClient()` takes; the rest
 * stays in JS (`timeout` with its default applied, as v1 exposed it on the client).
 *
 * Where the fetch transport was chosen automatically (under a test runner), the client keeps v1's
 * semantics (docs/ARCHITECTURE.md "v1 semantics"): `v1` is set when the config holds only v1's
 * options, and every call is then made by lib/v1.js (`native` is used only if a v2 method
 * such as getStats() is called); otherwise retry, breaker and cache stay off unless given.
 */
function clientOptions(config) {
  if (config === undefined || config === null) config = {}
  if (!isPlainObject(config)) throw invalidArgument('ChittyIDClient config must be an object')
  refuseUnknown(config, '', CLIENT_OPTIONS, 'ChittyIDClient')
  config = optionsSnapshot(config, CLIENT_OPTIONS)
  const { transport, automatic } = transportOption(config.transport)
  const v1Defaults = automatic && transport === 'fetch'
  const v1 = v1Defaults && onlyV1Options(config)
  const { retry, mint, budget } = retryOptions(config.retry, v1Defaults)
  const breaker = policyOption(config.circuitBreaker, 'circuitBreaker', v1Defaults)
  const cache = policyOption(config.cache, 'cache', v1Defaults)
  const connection = connectionOption(config.connection)
  const [serviceUrl, fallbackUrls] = serviceUrlOption(config)
  const timeout = timeoutOption(config.timeout)
  const apiKey = apiKeyOption(config)
  // Which id grammars validateFormat and validate()'s format fallback accept.
  const idGrammar = oneOfOption('idGrammar', config.idGrammar ?? undefined)
  const name = nameOption(config.name)
  const nativeOptions = {
    serviceUrl,
    fallbackUrls,
    failover: failoverOption(config.failover),
    // v1 sent to any URL it was given; a v1-semantics client keeps that.
    allowInsecure: v1 ? true : optional(config, 'allowInsecure', 'boolean'),
    scope: optional(config, 'scope', 'string'),
    ca: caOption(config.ca),
    apiKey,
    timeout,
    maxResponseBytes: numberOption(config.maxResponseBytes, 'maxResponseBytes'),
    maxConnections: numberOption(config.maxConnections, 'maxConnections'),
    verifyTls: verifyTls(),
    ...proxyOptions(config.proxy),
    retry: retry.options,
    retryEnabled: retry.enabled,
    mintRetry: mint,
    retryBudget: budget.options,
    retryBudgetEnabled: budget.enabled,
    circuitBreaker: breaker.options,
    circuitBreakerEnabled: breaker.enabled,
    cache: cache.options,
    cacheEnabled: cache.enabled,
    connection: connection.options,
    connectionEnabled: connection.enabled,
    transport,
    metricLabels: metricLabelsOption(name, config.labels),
    fleet: fleetOption(config.fleet),
    bulkhead: bulkheadOption(config.bulkhead),
    rateLimit: rateLimitOption(config.rateLimit),
    wire: wireOption(config.wire, v1Defaults),
    acceptPlaceholders: booleanOption(config.acceptPlaceholders, 'acceptPlaceholders'),
    idGrammar,
  }
  return {
    native: nativeOptions,
    // v1's `serviceUrl` (trailing slashes removed, so paths never start with `//`).
    v1: v1 ? { serviceUrl: (serviceUrl ?? DEFAULTS.serviceUrl).replace(/\/+$/, '') } : undefined,
    // The transport was chosen automatically (under a test runner): v1's defaults for what no option names.
    v1Defaults,
    timeout: timeout ?? DEFAULTS.timeout,
    apiKey,
    transport,
    autoConnect: connection.options?.autoConnect === true,
    logger: loggerOption(config.logger, config.loggerStyle),
    name,
    headers: headersOption(config.headers, reserved()),
    idGrammar: idGrammar ?? DEFAULTS.idGrammar,
  }
}

// ---------------------------------------------------------------------------------------
// A call's options: `{ signal, idempotencyKey, headers }`

/**
 * The extra headers of one call as `[name, value, ...]`, or undefined: the client's option
 * (called with `{ operation }` when it is a function), then the call's own `headers`.
 */
function callHeaders(option, callOptions, operation) {
  const merged = callHeaderMap(option, callOptions, operation, reserved())
  return merged === undefined ? undefined : [...merged].flat()
}

module.exports = { DEFAULTS, clientOptions, callSignal, callIdempotencyKey, callHeaders }
