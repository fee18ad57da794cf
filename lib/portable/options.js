'use strict'

// The portable client's options (docs/PORTABLE.md "How the portable client is built"): the native client's option
// names, and its ranges and messages from the same table and checks (lib/options.json through
// lib/option-checks.js; lib/options.js needs the addon, so it cannot be bundled for a worker),
// for what the portable client offers; a typed refusal (`ERR_CHITTYID_UNSUPPORTED`) for what
// cannot exist in a fetch runtime, and a refusal of unknown keys.

const { ChittyIDError, invalidArgument } = require('../errors.js')
const { CLIENT_OPTIONS, refuseUnknown } = require('../option-names.js')
const { onlyV1Options } = require('../v1.js')
const {
  spec,
  numericFields,
  checkedNumber,
  oneOfOption,
  booleanOption,
  isPlainObject,
  optionsSnapshot,
  shown,
  timeoutOption,
  optional,
  apiKeyOption,
  callSignal,
  callIdempotencyKey,
  headersOption,
  callHeaderMap,
  nameOption,
} = require('../option-checks.js')
const { DEFAULTS } = require('./defaults.js')
const { isLoopbackHost } = require('../fetch-redirect.js')
const { runtimeProcess } = require('../runtime-process.js')
const { underTestRunner } = require('../test-runner.js')

/** A feature of the native client that a fetch runtime cannot have (README "Runtimes"). */
function unsupported(what, why) {
  return new ChittyIDError(`${what} is not available in the portable build (${why}); see README "Runtimes"`, {
    code: 'ERR_CHITTYID_UNSUPPORTED',
  })
}

/** Fields of the native policies that need what a fetch runtime lacks. */
const UNSUPPORTED_FIELDS = {
  retry: { budget: 'the retry budget is not implemented here' },
  cache: {
    staleIfErrorMs: 'stale answers are not implemented here',
    negativeStaleIfErrorMs: 'stale answers are not implemented here',
  },
}

/** `undefined` = defaults, `null` = off, else the defaults with these fields. */
function policy(value, name) {
  if (value === undefined || value === true) return { ...DEFAULTS[name] }
  if (value === false) return null
  if (!isPlainObject(value)) throw invalidArgument(`ChittyIDClient option "${name}" must be an object or false`)
  // The native client's names (lib/options.js): the same refusal, did-you-mean included.
  refuseUnknown(value, name, Object.keys(spec(name)), 'ChittyIDClient')
  const out = { ...DEFAULTS[name] }
  for (const [field, v] of Object.entries(value)) {
    if (name === 'retry' && field === 'mint') continue
    const why = UNSUPPORTED_FIELDS[name] && UNSUPPORTED_FIELDS[name][field]
    if (why !== undefined) {
      if (v === undefined || v === false) continue
      throw unsupported(`option "${name}.${field}"`, why)
    }
    if (v === undefined || !numericFields(name).includes(field)) continue
    out[field] = checkedNumber(`${name}.${field}`, v)
  }
  return out
}

function serviceUrlOption(value, allowInsecure) {
  if (value === undefined || value === null || value === '') value = DEFAULTS.serviceUrl
  if (Array.isArray(value)) {
    if (value.length === 0)
      throw invalidArgument(
        'ChittyIDClient option "serviceUrl" must be a URL string or a non-empty array of URL strings',
      )
    if (value.length === 1) value = value[0]
    else throw unsupported('endpoint failover (serviceUrl as an array)', 'it needs background health probes')
  }
  let url
  try {
    if (typeof value !== 'string') throw new TypeError('not a string')
    url = new URL(value)
  } catch {
    throw invalidArgument('ChittyIDClient option "serviceUrl" must be a URL string or a non-empty array of URL strings')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidArgument(
      `ChittyIDClient option "serviceUrl" must be an http(s) URL, got ${JSON.stringify(url.protocol)}`,
    )
  }
  // fetch refuses a URL with credentials on every request, naming them; refused here, as natively.
  if (url.username || url.password)
    throw invalidArgument('ChittyIDClient option "serviceUrl" must not carry credentials; use apiKey')
  if (url.protocol === 'http:' && !allowInsecure && !isLoopbackHost(url.hostname)) {
    throw Object.assign(
      invalidArgument(
        `ChittyIDClient option "serviceUrl": plain http to ${url.hostname} would send the API key in clear text; use https, or allowInsecure: true`,
      ),
    )
  }
  // A bare `?` or `#` leaves `search` and `hash` empty but would still end up in every route.
  if (url.search || url.hash || /[?#]/.test(value))
    throw invalidArgument('ChittyIDClient option "serviceUrl" must not have a query or fragment')
  return value.replace(/\/+$/, '')
}

/** Headers the client sets itself (`reservedHeaderNames()` natively). */
const RESERVED_HEADERS = new Set([
  'authorization',
  'accept',
  'content-type',
  'content-length',
  'idempotency-key',
  'host',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
])

/** Native options that cannot exist in a fetch runtime, and why (README "Runtimes"). */
const UNSUPPORTED = {
  fleet: 'fleet mode speaks Redis over TCP',
  proxy: "the runtime's fetch decides the route",
  ca: "the runtime's fetch decides which certificates it trusts",
  bulkhead: 'not implemented here',
  rateLimit: 'not implemented here',
  logger: "not implemented here; listen to the client's events",
  loggerStyle: 'not implemented here',
  labels: 'there are no Prometheus metrics here',
  failover: 'it needs background health probes',
  maxConnections: "the runtime's fetch pools connections",
}

/**
 * Where v1 semantics apply (docs/PORTABLE.md "v1 semantics under a test runner"): the runtime
 * shows a test runner (lib/test-runner.js; e.g. jest or vitest with a `jsdom` environment, which
 * resolves the `browser` condition to this build), `CHITTYID_TRANSPORT` does not choose a
 * transport, and no `transport` option is given: the fetch transport was chosen automatically,
 * as on Node.
 */
function automaticFetch(config) {
  if (!underTestRunner()) return false
  const proc = runtimeProcess()
  const env = proc !== undefined && proc.env ? proc.env : undefined
  if (env !== undefined && env.CHITTYID_TRANSPORT !== undefined && env.CHITTYID_TRANSPORT !== '') return false
  return config.transport === undefined || config.transport === null
}

/** The checked config of a portable client. */
function portableOptions(config) {
  if (config === undefined || config === null) config = {}
  if (!isPlainObject(config)) throw invalidArgument('ChittyIDClient config must be an object')
  refuseUnknown(config, '', CLIENT_OPTIONS, 'ChittyIDClient')
  config = optionsSnapshot(config, CLIENT_OPTIONS)
  for (const [key, value] of Object.entries(config)) {
    if (key in UNSUPPORTED) {
      if (value === undefined || value === null || value === false) continue
      throw unsupported(`option "${key}"`, UNSUPPORTED[key])
    }
  }
  const v1Defaults = automaticFetch(config)
  const v1 = v1Defaults && onlyV1Options(config)
  // v1 sent to any URL it was given; a v1-semantics client keeps that.
  const allowInsecure = v1 || optional(config, 'allowInsecure', 'boolean') === true
  // Under the automatically chosen fetch transport, retry, breaker and cache stay off unless given.
  const off = (name) => v1Defaults && (config[name] === undefined || config[name] === null)
  const retry = off('retry') ? null : policy(config.retry, 'retry')
  const mint = oneOfOption('retry.mint', isPlainObject(config.retry) ? config.retry.mint : undefined)
  const circuitBreaker = off('circuitBreaker') ? null : policy(config.circuitBreaker, 'circuitBreaker')
  const cache = off('cache') ? null : policy(config.cache, 'cache')
  const scope = optional(config, 'scope', 'string')
  if (scope !== undefined && scope !== 'client') {
    if (scope === 'process') throw unsupported('scope "process"', 'there are no threads sharing an addon')
    throw invalidArgument(`ChittyIDClient option "scope" must be "client" or "process", got ${shown(scope)}`)
  }
  // Only `fetch` runs here; null is refused, as the table's values do not include it.
  if (config.transport !== undefined && oneOfOption('transport', config.transport) === 'native')
    throw unsupported('transport "native"', 'the native addon cannot load in this runtime')
  // The connection manager runs background health checks, which a worker must not leave behind.
  // A value no build takes (null, a number) is refused as the native build refuses it first.
  if (config.connection !== undefined && config.connection !== true && !isPlainObject(config.connection)) {
    if (config.connection !== false)
      throw invalidArgument('ChittyIDClient option "connection" must be an object or false')
  } else if (config.connection !== undefined) {
    throw unsupported(
      'the connection manager (option "connection")',
      'its background health checks would outlive the request; call healthCheck() instead',
    )
  }
  const wire = oneOfOption('wire', config.wire ?? undefined) ?? (v1Defaults ? 'v1' : spec('wire').default)
  const acceptPlaceholders =
    booleanOption(config.acceptPlaceholders, 'acceptPlaceholders') ?? spec('acceptPlaceholders').default
  const idGrammar = oneOfOption('idGrammar', config.idGrammar ?? undefined) ?? spec('idGrammar').default
  const maxResponseBytes = checkedNumber('maxResponseBytes', config.maxResponseBytes ?? DEFAULTS.maxResponseBytes)
  return {
    serviceUrl: serviceUrlOption(config.serviceUrl, allowInsecure),
    apiKey: apiKeyOption(config),
    timeout: timeoutOption(config.timeout) ?? DEFAULTS.timeout,
    retry,
    mintRetry: mint ?? DEFAULTS.mintRetry,
    circuitBreaker,
    cache,
    maxResponseBytes,
    // Who follows redirects (lib/fetch-redirect.js): the client, with the native transport's
    // rules; under a test runner's automatic choice `fetch` itself, so stubs see v1's exact calls.
    redirects: v1Defaults ? 'fetch' : 'client',
    allowInsecure,
    headers: headersOption(config.headers, RESERVED_HEADERS),
    name: nameOption(config.name),
    wire,
    acceptPlaceholders,
    idGrammar,
    // v1's serviceUrl (trailing slashes removed) when the calls are v1's (lib/v1.js).
    v1: v1 ? { serviceUrl: (config.serviceUrl || DEFAULTS.serviceUrl).replace(/\/+$/, '') } : undefined,
  }
}

/** The extra headers of one call as an object (lower-case names), or undefined. */
function callHeaders(option, callOptions, operation) {
  const merged = callHeaderMap(option, callOptions, operation, RESERVED_HEADERS)
  return merged === undefined ? undefined : Object.fromEntries(merged)
}

module.exports = {
  portableOptions,
  callSignal,
  callIdempotencyKey,
  callHeaders,
  unsupported,
  RESERVED_HEADERS,
}
