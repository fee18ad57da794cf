// Issue #14 part 1: a mint is retried only when its request provably did not reach the service
// or the service said it did not process it. Run against the emulator both ways:
// - ignoring Idempotency-Key, as the public service does, in the default ("safe") mode: the
//   ledger shows at most one id per logical call;
// - honouring keys, in the "idempotent" mode: exactly one id per logical call.
// And the negative control: "idempotent" mode against a service that ignores keys mints twice.

import { ChittyIDClient, ChittyIDEmulator, ChittyIDError } from '../index.mjs'
import * as portable from '../portable.mjs'
import { ID_PATTERN, closedPort, rawServer } from './helpers.mjs'
import { sleep } from './wait.mjs'

const RETRY = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 }
const CALLS = 6

/** Faults under which a request reaches the service and its answer is lost or unusable. */
const FAULTS = [
  { name: 'drop after commit', fault: { dropAfterCommit: true, remaining: 1 }, settleMs: 0, cause: 'ECONNRESET' },
  {
    name: 'timeout (latency 150 ms over a 50 ms timeout)',
    fault: { latencyMs: 150, remaining: 1 },
    timeout: 50,
    settleMs: 200,
    cause: 'ETIMEDOUT',
  },
  { name: 'garbled 2xx', fault: { malformedJson: true, remaining: 1 }, settleMs: 0, cause: 'EBADRESPONSE' },
]

/**
 * Runs CALLS logical mints one after the other (and as many batches of 2), each with the fault
 * armed for its first request; returns, per logical call, the ids the ledger gained and what
 * the call settled with.
 */
async function run({ mode, ignoreKeys, fault, timeout = 1000, settleMs }) {
  const emulator = await ChittyIDEmulator.start({ port: 0, ignoreIdempotencyKeys: ignoreKeys })
  const client = new ChittyIDClient({
    serviceUrl: `${emulator.url}/v1`,
    timeout,
    retry: mode === undefined ? RETRY : { ...RETRY, mint: mode },
    circuitBreaker: false,
  })
  const results = []
  try {
    for (let i = 0; i < CALLS; i++) {
      for (const op of ['mint', 'batch']) {
        const before = emulator.stats().mintedIds.length
        emulator.setFault(fault)
        const outcome = await (
          op === 'mint' ? client.mint({ entity: 'PEO' }) : client.mintBatch([{ entity: 'EVNT' }, { entity: 'FACT' }])
        ).then(
          (value) => ({ value }),
          (error) => ({ error }),
        )
        emulator.setFault({})
        if (settleMs) await sleep(settleMs)
        const gained = emulator.stats().mintedIds.slice(before)
        results.push({ op, size: op === 'mint' ? 1 : 2, gained, ...outcome })
      }
    }
    return results
  } finally {
    await client.close()
    await emulator.close()
  }
}

describe.each(FAULTS)('$name', ({ fault, timeout, settleMs, cause }) => {
  test('default (safe) mode against a service that ignores keys: at most one mint per logical call, EMINTUNKNOWN with key and cause', async () => {
    const results = await run({ ignoreKeys: true, fault, timeout, settleMs })
    for (const r of results) {
      expect(r.gained.length === 0 || r.gained.length === r.size).toBe(true) // never a second mint
      expect(r.error).toBeInstanceOf(ChittyIDError)
      expect(r.error.code).toBe('EMINTUNKNOWN')
      expect(r.error.mayHaveMinted).toBe(true)
      expect(r.error.idempotencyKey).toMatch(/^[0-9a-f]{32}$/)
      expect(r.error.cause.code).toBe(cause)
      const prefix =
        r.op === 'mint'
          ? 'ChittyID service unavailable - cannot mint PEO ID: '
          : 'ChittyID service unavailable - cannot batch mint IDs: '
      expect(r.error.message.startsWith(prefix)).toBe(true)
      // v1-wrapping code classifies transport failures by these words.
      expect(r.error.message.includes('fetch failed')).toBe(cause !== 'EBADRESPONSE')
    }
    // Where the fault hit after the commit, the id exists and nobody got it: that is what
    // mayHaveMinted says.
    if (cause !== 'ETIMEDOUT') expect(results.every((r) => r.gained.length === r.size)).toBe(true)
  }, 15000)

  test('idempotent mode against a service that honours keys: exactly one mint per logical call, and the caller gets it', async () => {
    const results = await run({ mode: 'idempotent', ignoreKeys: false, fault, timeout, settleMs })
    for (const r of results) {
      expect(r.error).toBeUndefined()
      const ids = r.op === 'mint' ? [r.value] : r.value
      expect(r.gained).toEqual(ids)
      for (const id of ids) expect(id).toMatch(ID_PATTERN)
    }
  }, 15000)

  test('default mode against a service that honours keys: also at most one mint per logical call', async () => {
    const results = await run({ ignoreKeys: false, fault, timeout, settleMs })
    for (const r of results) expect(r.gained.length <= r.size).toBe(true)
  }, 15000)
})

test('negative control: idempotent mode against a service that ignores keys does mint twice', async () => {
  const results = await run({
    mode: 'idempotent',
    ignoreKeys: true,
    fault: { dropAfterCommit: true, remaining: 1 },
    settleMs: 0,
  })
  for (const r of results) {
    expect(r.error).toBeUndefined()
    expect(r.gained).toHaveLength(2 * r.size)
  }
}, 15000)

describe('what stays retried in the default mode', () => {
  test('a connect-phase failure (refused) is retried: the mint arrives once the service is up', async () => {
    const port = await closedPort()
    const client = new ChittyIDClient({
      serviceUrl: `http://127.0.0.1:${port}/v1`,
      retry: { maxAttempts: 6, initialDelayMs: 150, maxDelayMs: 150, jitter: 0 },
      circuitBreaker: false,
    })
    const retries = []
    client.on('retry', (r) => retries.push(r.error.code))
    const minting = client.mint({ entity: 'PEO' })
    await sleep(100)
    const emulator = await ChittyIDEmulator.start({ port, ignoreIdempotencyKeys: true })
    try {
      expect(await minting).toMatch(ID_PATTERN)
      expect(retries.length).toBeGreaterThan(0)
      expect(new Set(retries)).toEqual(new Set(['ECONNREFUSED']))
      expect(emulator.stats().minted).toBe(1)
    } finally {
      await client.close()
      await emulator.close()
    }
  })

  test('503 and 429 are retried (the service says it did not process them); 502 is not', async () => {
    const emulator = await ChittyIDEmulator.start({ port: 0, ignoreIdempotencyKeys: true })
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, retry: RETRY, circuitBreaker: false })
    try {
      emulator.setFault({ errorStatus: 503, remaining: 2 })
      expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
      emulator.setFault({ rateLimitRetryAfter: 0, remaining: 2 })
      expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
      expect(emulator.stats()).toMatchObject({ minted: 2, requests: { mint: 6 } })
      emulator.setFault({ errorStatus: 502, remaining: 1 })
      const err = await client.mint({ entity: 'PEO' }).then(
        () => null,
        (e) => e,
      )
      expect(err).toMatchObject({ code: 'EMINTUNKNOWN', status: 502, mayHaveMinted: true })
      expect(err.cause).toMatchObject({ code: 'EHTTP', status: 502 })
      expect(err.message).toMatch(
        /^ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 502 Bad Gateway/,
      )
      expect(emulator.stats().requests.mint).toBe(7)
    } finally {
      await client.close()
      await emulator.close()
    }
  })

  test('validate() keeps retrying what GETs retry (a reset, a garbled answer)', async () => {
    const emulator = await ChittyIDEmulator.start({ port: 0, ignoreIdempotencyKeys: true })
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, retry: RETRY, cache: false })
    try {
      const id = await client.mint({ entity: 'PEO' })
      emulator.setFault({ resetConnection: true, remaining: 1 })
      expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
      emulator.setFault({ malformedJson: true, remaining: 1 })
      expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
      expect(emulator.stats().requests.validate).toBe(4)
    } finally {
      await client.close()
      await emulator.close()
    }
  })
})

test('the key of an EMINTUNKNOWN retries deliberately: a service that honours it answers the same id', async () => {
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, retry: RETRY })
  try {
    emulator.setFault({ dropAfterCommit: true, remaining: 1 })
    const err = await client.mint({ entity: 'PEO' }, { idempotencyKey: 'order-42' }).then(
      () => null,
      (e) => e,
    )
    expect(err).toMatchObject({ code: 'EMINTUNKNOWN', idempotencyKey: 'order-42', mayHaveMinted: true })
    const [committed] = emulator.stats().mintedIds
    expect(await client.mint({ entity: 'PEO' }, { idempotencyKey: err.idempotencyKey })).toBe(committed)
    expect(emulator.stats().minted).toBe(1)
  } finally {
    await client.close()
    await emulator.close()
  }
})

test('retry.mint is "safe" or "idempotent"', () => {
  for (const mint of ['always', 1, null, '']) {
    expect(() => new ChittyIDClient({ retry: { mint } })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
    )
  }
  expect(() => new ChittyIDClient({ retry: { mint: 'idempotent' } })).not.toThrow()
})

// A service that mints every POST it reads (it ignores Idempotency-Key) and then answers in a
// way that leaves the caller without the id. Whatever the answer, one logical mint makes one
// POST: the answer is final (a refusal) or the call ends EMINTUNKNOWN with its key, on every
// client (native and fetch transports, the portable build).
describe.each(['native', 'fetch', 'portable'])('a service that minted, then answered badly (%s)', (transport) => {
  const AFTER_MINTING = {
    // A refusal after processing: final, never a retry (408 is retried for validate() only).
    408: { status: 408, reason: 'Request Timeout', unknown: false },
    // The service answered with a redirect the client will not follow: the POST reached it,
    // so a Post/Redirect/Get service has minted.
    'refused redirect': { status: 302, reason: 'Found', location: 'ftp://127.0.0.1/minted', unknown: true },
  }
  test.each(Object.keys(AFTER_MINTING))('%s: one POST, and the caller learns what may have happened', async (name) => {
    const { status, reason, location, unknown } = AFTER_MINTING[name]
    let posts = 0
    const server = await rawServer(({ socket, head }) => {
      if (head.startsWith('POST')) posts++
      const extra = location ? `Location: ${location}\r\n` : ''
      socket.write(
        `HTTP/1.1 ${status} ${reason}\r\n${extra}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
      )
    })
    const options = {
      serviceUrl: server.url,
      retry: { maxAttempts: 6, initialDelayMs: 1, maxDelayMs: 2 },
      circuitBreaker: false,
    }
    const client =
      transport === 'portable' ? new portable.ChittyIDClient(options) : new ChittyIDClient({ ...options, transport })
    try {
      for (const call of [
        () => client.mint({ entity: 'PEO' }, { idempotencyKey: 'order-1' }),
        () => client.mintBatch([{ entity: 'PEO' }], { idempotencyKey: 'order-1' }),
      ]) {
        posts = 0
        const err = await call().then(
          () => null,
          (e) => e,
        )
        expect(err).toBeInstanceOf(Error)
        expect(posts).toBe(1)
        if (unknown) {
          expect(err).toMatchObject({ code: 'EMINTUNKNOWN', mayHaveMinted: true })
          expect(err.idempotencyKey).toMatch(/^order-1/)
        } else {
          expect(err).toMatchObject({ code: 'EHTTP', status })
        }
      }
    } finally {
      await client.close()
      await server.close()
    }
  })
})
