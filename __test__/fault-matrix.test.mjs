// Issue #7 part 1: every emulator fault × every operation → the documented outcome, and the
// emulator's ledger reconciles with what the client handed back (nothing minted twice, nothing
// resolved that the service did not record, every id the service recorded either delivered to
// exactly one caller or belonging to a call that failed).
//
// Each row gets a fresh emulator + client. The fault is armed right before each operation and
// cleared right after it, so `remaining` counts per operation and the per-operation ledger
// deltas (requests, ids committed, idempotent replays) belong to that operation alone.

import { createRequire } from 'node:module'
import { ChittyIDError } from '../index.mjs'
import { ID_PATTERN, startPair } from './helpers.mjs'
import { sleep, waitFor } from './wait.mjs'

const require = createRequire(import.meta.url)

// ---------------------------------------------------------------------------------------
// The operations

const MINT_REQUEST = { entity: 'PEO', name: 'fault matrix' }
const BATCH_REQUESTS = [{ entity: 'PLACE' }, { entity: 'EVNT' }, { entity: 'ACTOR' }]
/** Type letters (5th field of an id) of the ids each mint operation must return, in order. */
const LETTERS = { mint: ['P'], batch: ['L', 'E', 'R'] }
/** How many ids one call of the operation asks the service for. */
const SIZE = { mint: 1, batch: BATCH_REQUESTS.length }
const PREFIX = {
  mint: 'ChittyID service unavailable - cannot mint PEO ID: ',
  batch: 'ChittyID service unavailable - cannot batch mint IDs: ',
}
/** Ledger route and client stats key of each operation. */
const ROUTE = { mint: 'mint', batch: 'batch', validate: 'validate', health: 'health' }
const STATS_KEY = { mint: 'mint', batch: 'mintBatch', validate: 'validate', health: 'healthCheck' }
const OPS = ['mint', 'batch', 'validate', 'health']

const BASE_CLIENT = {
  timeout: 1000,
  retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
  circuitBreaker: false,
  cache: false,
}
const MAX_ATTEMPTS = BASE_CLIENT.retry.maxAttempts
/** For a service that honours Idempotency-Key (the emulator does): mints retried like GETs. */
const IDEMPOTENT = { retry: { ...BASE_CLIENT.retry, mint: 'idempotent' } }

function call(client, op, seed) {
  switch (op) {
    case 'mint':
      return client.mint(MINT_REQUEST)
    case 'batch':
      return client.mintBatch(BATCH_REQUESTS)
    case 'validate':
      return client.validate(seed)
    case 'health':
      return client.healthCheck()
    default:
      throw new Error(`unknown operation ${op}`)
  }
}

const typeLetter = (id) => id.split('-')[4]

// ---------------------------------------------------------------------------------------
// Reconciliation of the ledger with what callers got

/**
 * Checks the emulator's ledger against the ids the client resolved with:
 * no id minted twice; every resolved id recorded exactly once (and handed to one caller only);
 * no more ids minted than logical mints asked for. Returns the counts, `lost` being the ids the
 * service recorded that no caller received.
 */
function reconcile(ledger, resolvedIds, logicalMints) {
  const recorded = new Map()
  for (const id of ledger.mintedIds) recorded.set(id, (recorded.get(id) ?? 0) + 1)
  const mintedTwice = [...recorded].filter(([, n]) => n > 1).map(([id]) => id)

  const handedOut = new Map()
  for (const id of resolvedIds) handedOut.set(id, (handedOut.get(id) ?? 0) + 1)
  const resolvedTwice = [...handedOut].filter(([, n]) => n > 1).map(([id]) => id)
  const notRecordedOnce = resolvedIds.filter((id) => recorded.get(id) !== 1)

  expect({ mintedTwice, resolvedTwice, notRecordedOnce }).toEqual({
    mintedTwice: [],
    resolvedTwice: [],
    notRecordedOnce: [],
  })
  expect(ledger.mintedIds).toHaveLength(ledger.minted)
  expect(ledger.minted).toBeLessThanOrEqual(logicalMints)
  return { minted: ledger.minted, resolved: resolvedIds.length, lost: ledger.minted - resolvedIds.length }
}

// ---------------------------------------------------------------------------------------
// Expected outcomes (one per operation of a row)
//
// `requests`: requests the emulator received for the call (and attempts the client counted);
// `committed`: ids the ledger recorded during the call (true = all it asked for, 'maybe' = all
// or none); `replays`: idempotent replays it caused.

/** mint/mintBatch resolve with fresh, well-formed ids that are exactly the ones the ledger recorded. */
const resolves = (requests, more = {}) => ({ outcome: 'resolved', requests, committed: true, replays: 0, ...more })
/**
 * mint/mintBatch fail without a retry after a request that may have reached the service (the
 * default, safe mode): `EMINTUNKNOWN` carrying the key, with `cause` the failure of code `cause`.
 */
const unknown = (cause, more = {}) => ({
  outcome: more.status ? `EMINTUNKNOWN ${more.status}` : 'EMINTUNKNOWN',
  cause,
  requests: 1,
  committed: false,
  replays: 0,
  ...more,
})
/** mint/mintBatch reject with a ChittyIDError of this code (`reason` must appear in the message). */
const rejects = (code, requests, more = {}) => ({
  outcome: more.status ? `${code} ${more.status}` : code,
  requests,
  committed: false,
  replays: 0,
  ...more,
})
/** validate(): the service's own answer `{ valid: true, chittyId, entity }`. */
const answered = (requests, more = {}) => ({ outcome: 'answered', requests, ...more })
/** validate(): a non-2xx status → `{ valid: false, error: "Service error: <status>" }`. */
const serviceError = (status, requests) => ({ outcome: `service error ${status}`, requests })
/** validate(): format-only fallback `{ valid: validateFormat(id), error }`, `error` matching `reason`. */
const fallback = (reason, requests) => ({ outcome: 'fallback', reason, requests })
const healthy = (requests = 1, more = {}) => ({ outcome: 'healthy', requests, ...more })
const unhealthy = (requests = 1) => ({ outcome: 'unhealthy', requests })

const TRANSPORT = /fetch failed/

/**
 * The matrix. `client` is merged over BASE_CLIENT; `settleMs` is waited after each call before
 * reading the ledger (a request the client gave up on may still be in the emulator);
 * `recoverAfterMs` is waited before the closing fault-free mint.
 */
const ROWS = [
  {
    name: 'no fault',
    fault: {},
    expect: { mint: resolves(1), batch: resolves(1), validate: answered(1), health: healthy() },
  },
  {
    name: 'latencyMs 40 below the 300 ms timeout: slower, same answers',
    fault: { latencyMs: 40 },
    client: { timeout: 300 },
    expect: {
      mint: resolves(1, { minMs: 40 }),
      batch: resolves(1, { minMs: 40 }),
      validate: answered(1, { minMs: 40 }),
      health: healthy(1, { minMs: 40 }),
    },
  },
  {
    // A 200 ms timeout (a loaded machine may take longer than 60 ms to get the request to the
    // emulator at all) and answers three times as slow.
    name: 'latencyMs 600 above the 200 ms timeout: a mint fails at once with EMINTUNKNOWN (it may have been processed); validate retries; health (5 s timeout) still true',
    fault: { latencyMs: 600 },
    client: { timeout: 200 },
    settleMs: 650,
    expect: {
      mint: unknown('ETIMEDOUT', { reason: /fetch failed: request timed out after 200 ms/, committed: 'maybe' }),
      batch: unknown('ETIMEDOUT', { reason: /fetch failed: request timed out after 200 ms/, committed: 'maybe' }),
      validate: fallback(/^fetch failed: request timed out after 200 ms$/, MAX_ATTEMPTS),
      health: healthy(1, { minMs: 600 }),
    },
  },
  {
    name: '[idempotent] latencyMs 600 above the 200 ms timeout: ETIMEDOUT after maxAttempts',
    fault: { latencyMs: 600 },
    client: { timeout: 200, ...IDEMPOTENT },
    settleMs: 650,
    expect: {
      mint: rejects('ETIMEDOUT', MAX_ATTEMPTS, {
        reason: /fetch failed: request timed out after 200 ms/,
        committed: 'maybe',
      }),
      batch: rejects('ETIMEDOUT', MAX_ATTEMPTS, {
        reason: /fetch failed: request timed out after 200 ms/,
        committed: 'maybe',
      }),
      validate: fallback(/^fetch failed: request timed out after 200 ms$/, MAX_ATTEMPTS),
      health: healthy(1, { minMs: 600 }),
    },
  },
  {
    name: 'errorStatus 500: not retried, exactly one request; a mint says its outcome is unknown',
    fault: { errorStatus: 500 },
    expect: {
      mint: unknown('EHTTP', { status: 500, reason: /ChittyID service error: 500 Internal Server Error$/ }),
      batch: unknown('EHTTP', { status: 500, reason: /ChittyID service error: 500 Internal Server Error$/ }),
      validate: serviceError(500, 1),
      health: healthy(),
    },
  },
  {
    name: '[idempotent] errorStatus 500: not retried, exactly one request, EHTTP',
    fault: { errorStatus: 500 },
    client: IDEMPOTENT,
    expect: {
      mint: rejects('EHTTP', 1, { status: 500, reason: /ChittyID service error: 500 Internal Server Error$/ }),
      batch: rejects('EHTTP', 1, { status: 500, reason: /ChittyID service error: 500 Internal Server Error$/ }),
      validate: serviceError(500, 1),
      health: healthy(),
    },
  },
  {
    name: 'errorStatus 503, remaining 2 < maxAttempts: retried through',
    fault: { errorStatus: 503, remaining: 2 },
    expect: { mint: resolves(3), batch: resolves(3), validate: answered(3), health: healthy() },
  },
  {
    name: 'errorStatus 503 persistent: EHTTP 503 after maxAttempts requests',
    fault: { errorStatus: 503 },
    expect: {
      mint: rejects('EHTTP', MAX_ATTEMPTS, { status: 503, reason: /ChittyID service error: 503 Service Unavailable$/ }),
      batch: rejects('EHTTP', MAX_ATTEMPTS, {
        status: 503,
        reason: /ChittyID service error: 503 Service Unavailable$/,
      }),
      validate: serviceError(503, MAX_ATTEMPTS),
      health: healthy(),
    },
  },
  {
    name: 'errorStatus 503 on the health route only: health false, the rest untouched',
    fault: { errorStatus: 503, routes: ['health'] },
    expect: { mint: resolves(1), batch: resolves(1), validate: answered(1), health: unhealthy() },
  },
  {
    name: 'rateLimitRetryAfter 0, remaining 1: retried at once',
    fault: { rateLimitRetryAfter: 0, remaining: 1 },
    expect: {
      mint: resolves(2, { retryDelay: 0, maxMs: 500 }),
      batch: resolves(2, { retryDelay: 0, maxMs: 500 }),
      validate: answered(2, { retryDelay: 0, maxMs: 500 }),
      health: healthy(),
    },
  },
  {
    name: 'rateLimitRetryAfter 1, remaining 1: waits the server-given second (not maxDelayMs 5)',
    fault: { rateLimitRetryAfter: 1, remaining: 1 },
    expect: {
      mint: resolves(2, { retryDelay: 1000, minMs: 990 }),
      batch: resolves(2, { retryDelay: 1000, minMs: 990 }),
      validate: answered(2, { retryDelay: 1000, minMs: 990 }),
      health: healthy(),
    },
  },
  {
    name: 'rateLimitRetryAfter 0 persistent: EHTTP 429 after maxAttempts',
    fault: { rateLimitRetryAfter: 0 },
    expect: {
      mint: rejects('EHTTP', MAX_ATTEMPTS, { status: 429, reason: /ChittyID service error: 429 Too Many Requests$/ }),
      batch: rejects('EHTTP', MAX_ATTEMPTS, { status: 429, reason: /ChittyID service error: 429 Too Many Requests$/ }),
      validate: serviceError(429, MAX_ATTEMPTS),
      health: healthy(),
    },
  },
  {
    // The mint's own wait is refused by maxRetryAfterMs; the pause still holds the whole
    // client, and calls whose timeout (300 ms) is shorter than it fail at once. A 3 s pause, so
    // that it still outlasts them on a loaded machine; the time bounds sit mid-way between "at
    // once" and waiting it out.
    name: 'rateLimitRetryAfter 3 above maxRetryAfterMs 500: not retried; the pause outlasts the next calls (ERATELIMITED, nothing sent); health waits it out',
    fault: { rateLimitRetryAfter: 3 },
    client: { timeout: 300, retry: { ...BASE_CLIENT.retry, maxRetryAfterMs: 500 } },
    recoverAfterMs: 3000,
    expect: {
      mint: rejects('EHTTP', 1, { status: 429, maxMs: 1500 }),
      batch: rejects('ERATELIMITED', 0, {
        reason: /rate limited by the ChittyID service: traffic is paused for another \d+ ms/,
        maxMs: 1500,
      }),
      validate: fallback(/^rate limited by the ChittyID service: /, 0),
      health: healthy(1, { minMs: 500 }),
    },
  },
  {
    name: 'resetConnection persistent: a mint fails at once with EMINTUNKNOWN (cause ECONNRESET, "fetch failed"); validate after maxAttempts',
    fault: { resetConnection: true },
    expect: {
      mint: unknown('ECONNRESET', { reason: TRANSPORT }),
      batch: unknown('ECONNRESET', { reason: TRANSPORT }),
      validate: fallback(/^fetch failed: /, MAX_ATTEMPTS),
      health: healthy(),
    },
  },
  {
    name: '[idempotent] resetConnection persistent: ECONNRESET ("fetch failed") after maxAttempts',
    fault: { resetConnection: true },
    client: IDEMPOTENT,
    expect: {
      mint: rejects('ECONNRESET', MAX_ATTEMPTS, { reason: TRANSPORT }),
      batch: rejects('ECONNRESET', MAX_ATTEMPTS, { reason: TRANSPORT }),
      validate: fallback(/^fetch failed: /, MAX_ATTEMPTS),
      health: healthy(),
    },
  },
  {
    name: 'resetConnection, remaining 1: a mint is not retried (EMINTUNKNOWN, nothing minted); validate retried through',
    fault: { resetConnection: true, remaining: 1 },
    expect: {
      mint: unknown('ECONNRESET', { reason: TRANSPORT }),
      batch: unknown('ECONNRESET', { reason: TRANSPORT }),
      validate: answered(2),
      health: healthy(),
    },
  },
  {
    name: '[idempotent] resetConnection, remaining 1: retried through',
    fault: { resetConnection: true, remaining: 1 },
    client: IDEMPOTENT,
    expect: { mint: resolves(2), batch: resolves(2), validate: answered(2), health: healthy() },
  },
  {
    name: 'dropAfterCommit, remaining 1: EMINTUNKNOWN, the one id minted is not minted again',
    fault: { dropAfterCommit: true, remaining: 1 },
    expect: {
      mint: unknown('ECONNRESET', { reason: TRANSPORT, committed: true }),
      batch: unknown('ECONNRESET', { reason: TRANSPORT, committed: true }),
      validate: answered(1),
      health: healthy(),
    },
  },
  {
    name: '[idempotent] dropAfterCommit, remaining 1: the retry replays the committed answer (same ids, one mint)',
    fault: { dropAfterCommit: true, remaining: 1 },
    client: IDEMPOTENT,
    expect: {
      mint: resolves(2, { replays: 1 }),
      batch: resolves(2, { replays: 1 }),
      // Mint routes only: validate is not eligible and does not consume `remaining`.
      validate: answered(1),
      health: healthy(),
    },
  },
  {
    name: '[idempotent] dropAfterCommit persistent: error, the mint committed once however many attempts',
    fault: { dropAfterCommit: true },
    client: IDEMPOTENT,
    expect: {
      mint: rejects('ECONNRESET', MAX_ATTEMPTS, { reason: TRANSPORT, committed: true, replays: MAX_ATTEMPTS - 1 }),
      batch: rejects('ECONNRESET', MAX_ATTEMPTS, { reason: TRANSPORT, committed: true, replays: MAX_ATTEMPTS - 1 }),
      validate: answered(1),
      health: healthy(),
    },
  },
  {
    name: 'malformedJson, remaining 1: a garbled 2xx mint is EMINTUNKNOWN (cause EBADRESPONSE), not retried; validate retried',
    fault: { malformedJson: true, remaining: 1 },
    expect: {
      mint: unknown('EBADRESPONSE', { reason: /returned an invalid response: invalid JSON/, committed: true }),
      batch: unknown('EBADRESPONSE', { reason: /returned an invalid response: invalid JSON/, committed: true }),
      validate: answered(2),
      health: healthy(),
    },
  },
  {
    name: '[idempotent] malformedJson, remaining 1: garbled 2xx retried, replayed, no second mint',
    fault: { malformedJson: true, remaining: 1 },
    client: IDEMPOTENT,
    expect: {
      mint: resolves(2, { replays: 1 }),
      batch: resolves(2, { replays: 1 }),
      validate: answered(2),
      health: healthy(),
    },
  },
  {
    name: '[idempotent] malformedJson persistent: EBADRESPONSE after maxAttempts, committed once',
    fault: { malformedJson: true },
    client: IDEMPOTENT,
    expect: {
      mint: rejects('EBADRESPONSE', MAX_ATTEMPTS, {
        reason: /returned an invalid response: invalid JSON/,
        committed: true,
        replays: MAX_ATTEMPTS - 1,
      }),
      batch: rejects('EBADRESPONSE', MAX_ATTEMPTS, {
        reason: /returned an invalid response: invalid JSON/,
        committed: true,
        replays: MAX_ATTEMPTS - 1,
      }),
      validate: fallback(/^ChittyID service returned an invalid response: invalid JSON/, MAX_ATTEMPTS),
      health: healthy(),
    },
  },
  {
    name: 'malformedJson + dropAfterCommit, remaining 1: drop wins on mint routes (EMINTUNKNOWN), malformed on validate',
    fault: { malformedJson: true, dropAfterCommit: true, remaining: 1 },
    expect: {
      mint: unknown('ECONNRESET', { reason: TRANSPORT, committed: true }),
      batch: unknown('ECONNRESET', { reason: TRANSPORT, committed: true }),
      validate: answered(2),
      health: healthy(),
    },
  },
  {
    name: '[idempotent] malformedJson + dropAfterCommit, remaining 1: drop wins on mint routes, malformed on validate',
    fault: { malformedJson: true, dropAfterCommit: true, remaining: 1 },
    client: IDEMPOTENT,
    expect: {
      mint: resolves(2, { replays: 1 }),
      batch: resolves(2, { replays: 1 }),
      validate: answered(2),
      health: healthy(),
    },
  },
  {
    name: 'oversizedBody 4096 above maxResponseBytes 1024: not retried; a mint whose answer was too large is EMINTUNKNOWN',
    fault: { oversizedBody: 4096 },
    client: { maxResponseBytes: 1024 },
    expect: {
      mint: unknown('EBODYTOOLARGE', { reason: /exceeds the 1024-byte limit$/, committed: true }),
      batch: unknown('EBODYTOOLARGE', { reason: /exceeds the 1024-byte limit$/, committed: true }),
      validate: fallback(/^ChittyID service response exceeds the 1024-byte limit$/, 1),
      health: healthy(),
    },
  },
  {
    name: 'oversizedBody 900 within maxResponseBytes 1024: padded answers still parse',
    fault: { oversizedBody: 900 },
    client: { maxResponseBytes: 1024 },
    expect: { mint: resolves(1), batch: resolves(1), validate: answered(1), health: healthy() },
  },
  {
    name: 'down: mint/batch EHTTP 503 after retries, validate "Service error: 503", health false',
    fault: { down: true },
    expect: {
      mint: rejects('EHTTP', MAX_ATTEMPTS, { status: 503 }),
      batch: rejects('EHTTP', MAX_ATTEMPTS, { status: 503 }),
      validate: serviceError(503, MAX_ATTEMPTS),
      health: unhealthy(),
    },
  },
  {
    name: 'breaker (failureThreshold 1) + errorStatus 500: the failed mint opens it, then everything fails fast with nothing sent',
    fault: { errorStatus: 500 },
    // A 2 s reset: the calls after the mint still find the circuit open on a loaded machine.
    client: { circuitBreaker: { failureThreshold: 1, monitorWindow: 10000, resetTimeout: 2000, halfOpenAttempts: 1 } },
    recoverAfterMs: 2100,
    expect: {
      mint: unknown('EHTTP', { status: 500 }),
      batch: rejects('ECIRCUITOPEN', 0, { reason: /: circuit breaker is OPEN \(next trial in \d+ ms\)$/ }),
      validate: fallback(/^circuit breaker is OPEN \(next trial in \d+ ms\)$/, 0),
      // healthCheck is outside retry and breaker, and health is not a target of errorStatus.
      health: healthy(),
    },
  },
]

// ---------------------------------------------------------------------------------------
// Running one row

function describeOutcome(op, { value, error }) {
  if (error !== undefined) return error.status ? `${error.code} ${error.status}` : String(error.code ?? error)
  if (op === 'mint' || op === 'batch') return 'resolved'
  if (op === 'health')
    return value === true ? 'healthy' : value === false ? 'unhealthy' : `health ${JSON.stringify(value)}`
  if (value.error === undefined) return 'answered'
  const status = /^Service error: (\d{3})$/.exec(value.error)
  return status ? `service error ${status[1]}` : 'fallback'
}

/** Details beyond the summary: the shape of the value or of the error. */
function checkDetails(op, exp, { value, error }, newIds, seed, client) {
  if (op === 'mint' || op === 'batch') {
    if (exp.outcome === 'resolved') {
      const ids = op === 'mint' ? [value] : value
      expect(ids).toHaveLength(SIZE[op])
      for (const id of ids) expect(id).toMatch(ID_PATTERN)
      expect(ids.map(typeLetter)).toEqual(LETTERS[op])
      // The caller got exactly the ids the ledger recorded for this call.
      expect(ids).toEqual(newIds)
      return ids
    }
    expect(error).toBeInstanceOf(ChittyIDError)
    expect(error.message.startsWith(PREFIX[op])).toBe(true)
    if (exp.status) expect(error.message).toContain(`ChittyID service error: ${exp.status} `)
    else expect(error.status).toBeUndefined()
    if (exp.reason) expect(error.message).toMatch(exp.reason)
    if (exp.code === 'ECIRCUITOPEN') expect(error.circuitBreakerState).toBe('OPEN')
    if (exp.cause !== undefined) {
      // EMINTUNKNOWN: the key to retry with deliberately, and the failure with its own code.
      expect(error.code).toBe('EMINTUNKNOWN')
      expect(error.mayHaveMinted).toBe(true)
      expect(error.idempotencyKey).toMatch(/^[0-9a-f]{32}$/)
      expect(error.cause).toBeInstanceOf(Error)
      expect(error.cause.code).toBe(exp.cause)
      expect(TRANSPORT.test(error.message)).toBe(['ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(exp.cause))
    } else {
      expect(error.mayHaveMinted).toBeUndefined()
    }
    return []
  }
  expect(error).toBeUndefined() // validate() and healthCheck() never reject
  if (op === 'validate') {
    if (exp.outcome === 'answered') expect(value).toEqual({ valid: true, chittyId: seed, entity: 'PEO' })
    else if (exp.outcome === 'fallback') {
      expect(value).toEqual({ valid: client.validateFormat(seed), error: expect.stringMatching(exp.reason) })
      expect(value.valid).toBe(true)
    } else expect(value).toEqual({ valid: false, error: `Service error: ${exp.outcome.split(' ').pop()}` })
  }
  return []
}

async function runRow(row) {
  const pair = await startPair({ client: { ...BASE_CLIENT, ...row.client } })
  const { emulator, client } = pair
  const retries = []
  client.on('retry', (payload) => retries.push(payload))
  const resolved = []
  let logicalMints = 0
  let lostByFailedCalls = 0
  // Mints outside the fault (the seed, the recovery check). A loaded machine can make one miss
  // a row's short timeout: it is then accounted like any failed mint and made again.
  const tight = (row.client?.timeout ?? BASE_CLIENT.timeout) < BASE_CLIENT.timeout
  const mintOutsideFault = async (request) => {
    for (let attempt = 1; ; attempt++) {
      const before = emulator.stats().mintedIds.length
      logicalMints += 1
      try {
        const id = await client.mint(request)
        resolved.push(id)
        return id
      } catch (err) {
        if (!tight || attempt === 3 || !['EMINTUNKNOWN', 'ETIMEDOUT'].includes(err.code)) throw err
        await sleep(200)
        lostByFailedCalls += emulator.stats().mintedIds.length - before
      }
    }
  }
  try {
    const seed = await mintOutsideFault({ entity: 'PEO', name: 'seed' })

    for (const op of OPS) {
      const exp = row.expect[op]
      const before = emulator.stats()
      const clientBefore = client.getStats().requests[STATS_KEY[op]].requests
      const retriesBefore = retries.length
      if (op === 'mint' || op === 'batch') logicalMints += SIZE[op]

      emulator.setFault(row.fault)
      const started = performance.now()
      const outcome = await call(client, op, seed).then(
        (value) => ({ value }),
        (error) => ({ error }),
      )
      const ms = performance.now() - started
      emulator.setFault({})
      if (row.settleMs) await sleep(row.settleMs)

      const after = emulator.stats()
      const newIds = after.mintedIds.slice(before.mintedIds.length)
      const summary = {
        op,
        outcome: describeOutcome(op, outcome),
        requests: after.requests[ROUTE[op]] - before.requests[ROUTE[op]],
        clientAttempts: client.getStats().requests[STATS_KEY[op]].requests - clientBefore,
        committed: newIds.length,
        replays: after.idempotentReplays - before.idempotentReplays,
      }
      const mints = op === 'mint' || op === 'batch'
      const committed = exp.committed === 'maybe' ? expect.any(Number) : exp.committed ? SIZE[op] : 0
      expect(summary).toEqual({
        op,
        outcome: exp.outcome,
        requests: exp.requests,
        clientAttempts: exp.requests,
        committed: mints ? committed : 0,
        replays: mints ? exp.replays : 0,
      })
      if (exp.committed === 'maybe') expect([0, SIZE[op]]).toContain(newIds.length)

      resolved.push(...checkDetails(op, exp, outcome, newIds, seed, client))
      if (mints && outcome.error) lostByFailedCalls += newIds.length

      if (exp.minMs !== undefined) expect(ms).toBeGreaterThanOrEqual(exp.minMs)
      if (exp.maxMs !== undefined) expect(ms).toBeLessThan(exp.maxMs)
      if (exp.retryDelay !== undefined) {
        const expected = exp.requests - 1
        await waitFor(() => retries.length - retriesBefore >= expected, `${expected} retry events`, 2000)
        const delays = retries.slice(retriesBefore).map((r) => r.delay)
        expect(delays).toEqual(Array(expected).fill(exp.retryDelay))
      }
    }

    // The client is still usable once the fault is gone.
    if (row.recoverAfterMs) await sleep(row.recoverAfterMs)
    expect(await mintOutsideFault({ entity: 'FACT' })).toMatch(ID_PATTERN)

    const ledger = emulator.stats()
    const { lost } = reconcile(ledger, resolved, logicalMints)
    // Every id the service recorded went to exactly one caller, or belongs to a call that failed.
    expect(lost).toBe(lostByFailedCalls)
    return { lost, ledger }
  } finally {
    await pair.close()
  }
}

describe('fault matrix: every emulator fault × mint, mintBatch, validate, healthCheck', () => {
  test.each(ROWS)(
    '$name',
    async (row) => {
      await runRow(row)
    },
    10000,
  )
})

// ---------------------------------------------------------------------------------------
// A random mix under probabilistic faults

/** Small deterministic PRNG (xorshift32), so a failing mix can be replayed from its seed. */
function prng(seed) {
  let x = seed >>> 0 || 1
  const next = () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 0x100000000
  }
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
  }
}

const MIX_FAULTS = [
  {},
  { errorStatus: 500 },
  { errorStatus: 502 },
  { errorStatus: 503 },
  { rateLimitRetryAfter: 0 },
  { resetConnection: true },
  { dropAfterCommit: true },
  { malformedJson: true },
  { oversizedBody: 2048 },
  { latencyMs: 15 },
  { latencyMs: 200 },
  { down: true },
  { dropAfterCommit: true, malformedJson: true, oversizedBody: 2048 },
  { resetConnection: true, errorStatus: 503, routes: ['mint', 'batch'] },
  { malformedJson: true, routes: ['validate', 'health'] },
]
// The entity → type-letter table of the id grammar (lib/id.js, held equal to the Rust one).
const MIX_LETTERS = require('../lib/id.js').ENTITY_TYPE_LETTERS
const MIX_ENTITIES = Object.keys(MIX_LETTERS)
const MIX_CODES = new Set([
  'EHTTP',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EBADRESPONSE',
  'EBODYTOOLARGE',
  'EMINTUNKNOWN',
])
const MIX_TRANSPORT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT'])
const MALFORMED_ID = 'chitty_legacy_0001'

test('~200 mixed operations under a random mix of probabilistic faults reconcile with the ledger', async () => {
  const SEED = 0x7c0ffee
  // Every fault setting of MIX_FAULTS once, in a seeded random order, each with a random probability.
  const PHASES = MIX_FAULTS.length
  const OPS_PER_PHASE = 14
  const WORKERS = 8
  const rnd = prng(SEED)
  const pair = await startPair({
    client: { ...BASE_CLIENT, timeout: 150, maxResponseBytes: 1024 },
  })
  const { emulator, client } = pair
  const resolved = []
  const violations = []
  const tally = {}
  let logicalMints = 0
  let failedLogicalMints = 0
  const count = (key) => (tally[key] = (tally[key] ?? 0) + 1)

  async function one(op, input) {
    try {
      if (op === 'mint') {
        logicalMints += 1
        const id = await client.mint({ entity: input })
        if (!ID_PATTERN.test(id) || typeLetter(id) !== MIX_LETTERS[input]) violations.push(`mint ${input} → ${id}`)
        resolved.push(id)
        count('mint resolved')
      } else if (op === 'batch') {
        logicalMints += input.length
        try {
          const ids = await client.mintBatch(input.map((entity) => ({ entity })))
          const letters = input.map((e) => MIX_LETTERS[e])
          if (
            !Array.isArray(ids) ||
            ids.length !== input.length ||
            ids.some((id, i) => !ID_PATTERN.test(id) || typeLetter(id) !== letters[i])
          ) {
            violations.push(`batch ${input} → ${JSON.stringify(ids)}`)
          }
          resolved.push(...ids)
          count('batch resolved')
        } catch (err) {
          failedLogicalMints += input.length
          throw err
        }
      } else if (op === 'validate') {
        const v = await client.validate(input)
        const minted = input !== MALFORMED_ID
        if (typeof v !== 'object' || typeof v.valid !== 'boolean')
          violations.push(`validate ${input} → ${JSON.stringify(v)}`)
        else if (v.error !== undefined && /^Service error: (429|50[023])$/.test(v.error)) {
          if (v.valid !== false) violations.push(`validate service error but valid: ${JSON.stringify(v)}`)
          count('validate service error')
        } else if (v.chittyId !== undefined) {
          if (v.chittyId !== input || v.valid !== minted)
            violations.push(`validate ${input} answered ${JSON.stringify(v)}`)
          count('validate answered')
        } else {
          const reason =
            /^(fetch failed: |ChittyID service returned an invalid response|ChittyID service response exceeds)/
          if (v.valid !== client.validateFormat(input) || !reason.test(v.error ?? ''))
            violations.push(`validate fallback ${JSON.stringify(v)}`)
          count('validate fallback')
        }
      } else {
        const h = await client.healthCheck()
        if (typeof h !== 'boolean') violations.push(`healthCheck → ${JSON.stringify(h)}`)
        count(`health ${h}`)
      }
    } catch (err) {
      if (op === 'mint') failedLogicalMints += 1
      if (op === 'validate' || op === 'health') {
        violations.push(`${op} rejected: ${err && err.stack}`)
        return
      }
      const prefix = op === 'mint' ? `ChittyID service unavailable - cannot mint ${input} ID: ` : PREFIX.batch
      const ok =
        err instanceof ChittyIDError &&
        MIX_CODES.has(err.code) &&
        err.message.startsWith(prefix) &&
        MIX_TRANSPORT_CODES.has(err.code === 'EMINTUNKNOWN' ? err.cause.code : err.code) ===
          err.message.includes('fetch failed') &&
        (err.code !== 'EMINTUNKNOWN' || (err.mayHaveMinted === true && typeof err.idempotencyKey === 'string')) &&
        (err.code !== 'EHTTP' || [429, 500, 502, 503].includes(err.status))
      if (!ok) violations.push(`${op} rejected unexpectedly: ${err && err.code} ${err && err.message}`)
      count(`${op} ${err.code}${err.status ? ` ${err.status}` : ''}`)
    }
  }

  function nextOp() {
    const r = rnd.next()
    if (r < 0.35) return ['mint', rnd.pick(MIX_ENTITIES)]
    if (r < 0.55) return ['batch', Array.from({ length: 1 + rnd.int(3) }, () => rnd.pick(MIX_ENTITIES))]
    if (r < 0.85) {
      const pool = resolved.length > 0 && rnd.next() < 0.85 ? resolved : [MALFORMED_ID]
      return ['validate', rnd.pick(pool)]
    }
    return ['health']
  }

  const seed = await client.mint({ entity: 'PEO' })
  resolved.push(seed)
  logicalMints += 1
  const started = performance.now()
  const order = MIX_FAULTS.map((fault) => ({ fault, key: rnd.next() })).sort((a, b) => a.key - b.key)
  const phases = order.map(({ fault }) => ({ ...fault, probability: 0.2 + rnd.int(5) / 10 }))
  try {
    for (const fault of phases) {
      emulator.setFault(fault)
      const queue = Array.from({ length: OPS_PER_PHASE }, nextOp)
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          for (let next = queue.shift(); next !== undefined; next = queue.shift()) await one(...next)
        }),
      )
    }
    emulator.setFault({})
    await sleep(250) // anything the client timed out on has left the emulator
    const mixMs = performance.now() - started

    expect(violations).toEqual([])
    const ledger = emulator.stats()
    const { lost } = reconcile(ledger, resolved, logicalMints)
    // Ids recorded but never handed out can only belong to calls that failed.
    expect(lost).toBeGreaterThanOrEqual(0)
    expect(lost).toBeLessThanOrEqual(failedLogicalMints)
    expect(ledger.faultsInjected).toBeGreaterThan(0)

    // Every request the emulator saw was an attempt the client counted.
    const clientStats = client.getStats().requests
    const uncounted = OPS.map((op) => ({
      op,
      emulator: ledger.requests[ROUTE[op]],
      client: clientStats[STATS_KEY[op]].requests,
    })).filter(({ emulator: seen, client: sent }) => seen > sent)
    expect(uncounted).toEqual([])

    // And the process and the client are fine: everything works again without faults.
    const id = await client.mint({ entity: 'INFO' })
    const ids = await client.mintBatch([{ entity: 'PROP' }, { entity: 'AUTH' }])
    logicalMints += 3
    resolved.push(id, ...ids)
    expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'INFO' })
    expect(await client.healthCheck()).toBe(true)
    reconcile(emulator.stats(), resolved, logicalMints)

    const total = Object.values(tally).reduce((a, b) => a + b, 0)
    expect(total).toBe(PHASES * OPS_PER_PHASE)
    // Surfaced with --verbose runs; harmless otherwise.
    process.stdout.write(
      `fault mix (seed ${SEED}): ${total} ops in ${Math.round(mixMs)} ms; minted ${ledger.minted}, ` +
        `resolved ${resolved.length - 3}, lost to failed calls ${lost}/${failedLogicalMints}, ` +
        `replays ${ledger.idempotentReplays}, faults ${ledger.faultsInjected}\n${JSON.stringify(tally)}\n`,
    )
  } catch (err) {
    err.message += `\nseed ${SEED}, phases ${JSON.stringify(phases)}`
    throw err
  } finally {
    await pair.close()
  }
}, 15000)
