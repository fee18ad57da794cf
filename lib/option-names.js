'use strict'

// Unknown option names are refused (README "Errors"): a misspelled option would otherwise be
// ignored without a word and the client would run on defaults the caller meant to change.
// `refuseUnknown` throws a TypeError (`ERR_CHITTYID_UNKNOWN_OPTION`) naming the option, the
// closest known name ("did you mean"), and, for names other libraries use for the same idea
// (opossum, lru-cache, axios-retry, p-retry, ...), whose name it is and what to write here.
// The constructor's option names are `CLIENT_OPTIONS`, here for both builds (the portable one
// refuses with `ERR_CHITTYID_UNSUPPORTED` those it has not got); the names of each nested options
// object live with its checks (lib/option-checks.js). Portable: no native addon, no `node:` import.

const { unknownOption } = require('./errors.js')

/** Every option of `new ChittyIDClient(config)`, in the order an unknown name's message lists them. */
const CLIENT_OPTIONS = [
  'serviceUrl',
  'failover',
  'apiKey',
  'timeout',
  'retry',
  'circuitBreaker',
  'cache',
  'bulkhead',
  'rateLimit',
  'scope',
  'connection',
  'maxResponseBytes',
  'allowInsecure',
  'ca',
  'maxConnections',
  'proxy',
  'transport',
  'logger',
  'loggerStyle',
  'headers',
  'name',
  'labels',
  'fleet',
  'idGrammar',
  'wire',
  'acceptPlaceholders',
]

/**
 * Names other libraries give these options, per options object (`''` = the constructor's
 * config, `call` = a call's options): `[library, what to write here]`.
 */
const FOREIGN = {
  '': {
    retries: ['axios-retry and got', 'retry: { maxAttempts } (attempts, counting the first)'],
    maxRetries: ['several HTTP clients', 'retry: { maxAttempts } (attempts, counting the first)'],
    retryDelay: ['axios-retry', 'retry: { initialDelayMs, backoffMultiplier, maxDelayMs }'],
    retryCondition: ['axios-retry', 'nothing: which failures are retried is fixed (docs/OPERATIONS.md "Retry safety")'],
    baseURL: ['axios', 'serviceUrl'],
    baseUrl: ['several HTTP clients', 'serviceUrl'],
    url: ['several HTTP clients', 'serviceUrl'],
    endpoint: ['several HTTP clients', 'serviceUrl'],
    token: ['other ChittyID clients', 'apiKey'],
    errorThresholdPercentage: [
      'opossum',
      'circuitBreaker: { failureThreshold } (a count of failures within monitorWindow)',
    ],
    resetTimeout: ['opossum', 'circuitBreaker: { resetTimeout }'],
    rollingCountTimeout: ['opossum', 'circuitBreaker: { monitorWindow }'],
    volumeThreshold: ['opossum', 'circuitBreaker: { failureThreshold }'],
    max: ['lru-cache', 'cache: { maxSize }'],
    ttl: ['lru-cache', 'cache: { ttlMs }'],
    maxAge: ['lru-cache 6', 'cache: { ttlMs }'],
    agent: ['node-fetch and axios', 'maxConnections, proxy or ca'],
    dispatcher: ["undici's fetch", 'maxConnections, proxy or ca'],
    httpsAgent: ['axios', 'maxConnections, proxy or ca'],
    signal: ['fetch', 'the { signal } option of each call, e.g. client.mint(request, { signal })'],
    idempotencyKey: ['a call', 'the { idempotencyKey } option of mint()/mintBatch()'],
  },
  retry: {
    retries: ['axios-retry, p-retry and async-retry', 'maxAttempts (attempts, counting the first: retries + 1)'],
    limit: ['got', 'maxAttempts (attempts, counting the first: limit + 1)'],
    attempts: ['several retry libraries', 'maxAttempts'],
    factor: ['p-retry and async-retry', 'backoffMultiplier'],
    minTimeout: ['p-retry and async-retry', 'initialDelayMs'],
    maxTimeout: ['p-retry and async-retry', 'maxDelayMs'],
    randomize: ['p-retry and async-retry', 'jitter (0 to 1)'],
    retryDelay: ['axios-retry', 'initialDelayMs'],
    delay: ['several retry libraries', 'initialDelayMs'],
    retryCondition: ['axios-retry', 'nothing: which failures are retried is fixed (docs/OPERATIONS.md "Retry safety")'],
  },
  circuitBreaker: {
    errorThresholdPercentage: [
      'opossum',
      'failureThreshold (a count of failures within monitorWindow, not a percentage)',
    ],
    timeout: ['opossum', "the client's own timeout option (per attempt), outside circuitBreaker"],
    rollingCountTimeout: ['opossum', 'monitorWindow'],
    volumeThreshold: ['opossum', 'failureThreshold'],
    halfOpenAfter: ['cockatiel', 'resetTimeout'],
    threshold: ['cockatiel and others', 'failureThreshold'],
    successThreshold: ['several breakers', 'halfOpenAttempts'],
  },
  cache: {
    max: ['lru-cache', 'maxSize'],
    ttl: ['lru-cache', 'ttlMs'],
    maxAge: ['lru-cache 6', 'ttlMs'],
    allowStale: ['lru-cache', 'staleIfErrorMs'],
    updateAgeOnGet: ['lru-cache', 'nothing: entries expire ttlMs after they were stored'],
  },
  connection: {
    interval: ['several health checkers', 'healthCheckInterval'],
    retries: ['several reconnecting clients', 'maxReconnectAttempts'],
  },
  call: {
    timeout: ['fetch wrappers', "the client's timeout option, or { signal: AbortSignal.timeout(ms) }"],
    idempotency_key: ['snake_case APIs', 'idempotencyKey'],
  },
}

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive. */
function distance(a, b) {
  a = a.toLowerCase()
  b = b.toLowerCase()
  const rows = []
  for (let i = 0; i <= a.length; i++) {
    rows.push([i])
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0].push(j)
        continue
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1)
      rows[i].push(d)
    }
  }
  return rows[a.length][b.length]
}

/**
 * The known name `name` probably meant: one that contains it (`queue` -> `maxQueue`), else the
 * closest one, if close enough to be a slip of the keyboard.
 */
function closest(name, known) {
  const lower = name.toLowerCase()
  if (lower.length >= 4) {
    const containing = known.filter((candidate) => candidate.toLowerCase().includes(lower))
    if (containing.length > 0) return containing.reduce((a, b) => (b.length < a.length ? b : a))
  }
  let best
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = distance(name, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  // A prefix or plural slip ("retries" -> "retry") or up to a third of the name mistyped.
  const close = bestDistance <= Math.max(2, Math.floor(name.length / 3))
  const stem = best !== undefined && name.length >= 4 && best.toLowerCase().startsWith(name.toLowerCase().slice(0, 4))
  return close || stem ? best : undefined
}

function shownPath(where, name) {
  return where === '' || where === 'call' ? name : `${where}.${name}`
}

/**
 * Throws when `object` has an own enumerable key not in `known` (`undefined` values count:
 * a misspelled name is wrong whatever its value). `where` is the options object's path
 * (`''` for the constructor's config, `retry`, `retry.budget`, ..., `call` for a call's
 * options); `subject` is how the message names it.
 */
function refuseUnknown(object, where, known, subject) {
  for (const name of Object.keys(object)) {
    if (known.includes(name)) continue
    const path = shownPath(where, name)
    const foreign =
      FOREIGN[where] && Object.prototype.hasOwnProperty.call(FOREIGN[where], name) ? FOREIGN[where][name] : undefined
    // Another library's name: its counterpart here is the first word of the advice, if known.
    const counterpart = foreign === undefined ? undefined : foreign[1].split(/[^A-Za-z]/)[0]
    const suggestion =
      counterpart !== undefined && known.includes(counterpart)
        ? counterpart
        : foreign === undefined
          ? closest(name, known)
          : undefined
    let message = `${subject} has no option "${path}"`
    if (suggestion !== undefined) message += `; did you mean "${shownPath(where, suggestion)}"?`
    if (foreign !== undefined) message += ` ("${name}" is ${foreign[0]}'s option; here use ${foreign[1]})`
    else if (suggestion === undefined) message += ` (known: ${known.join(', ')})`
    throw unknownOption(message, {
      option: path,
      suggestion: suggestion === undefined ? undefined : shownPath(where, suggestion),
    })
  }
}

module.exports = { CLIENT_OPTIONS, refuseUnknown }
