import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import { ChittyIDClient as PortableClient } from '../portable.mjs'
import { startPair } from './helpers.mjs'
import { waitFor } from './wait.mjs'

test('aborting mid-request rejects at once with AbortError', async () => {
  const pair = await startPair()
  pair.emulator.setFault({ latencyMs: 2000, routes: ['mint'] })
  const controller = new AbortController()
  const pending = pair.client.mint({ entity: 'PEO' }, { signal: controller.signal })
  await sleep(50)
  controller.abort(new Error('user gave up'))
  const err = await pending.catch((e) => e)
  expect(err.name).toBe('AbortError')
  expect(err.code).toBe('ABORT_ERR')
  expect(err.cause.message).toBe('user gave up')
  await pair.close()
})

test('a signal aborted already rejects validate(), even for an id the cache could answer (both builds)', async () => {
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  try {
    for (const Client of [ChittyIDClient, PortableClient]) {
      const client = new Client({ serviceUrl: `${emulator.url}/v1` })
      const id = await client.mint({ entity: 'PEO' })
      expect(await client.validate(id)).toMatchObject({ valid: true })
      const requests = emulator.stats().requests.validate
      const reason = new Error('the request went away')
      const err = await client.validate(id, { signal: AbortSignal.abort(reason) }).catch((e) => e)
      expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason })
      // So does a malformed id: the caller asked for nothing.
      expect(await client.validate('x', { signal: AbortSignal.abort() }).catch((e) => e.code)).toBe('ABORT_ERR')
      expect(emulator.stats().requests.validate).toBe(requests)
      await client.close()
    }
  } finally {
    await emulator.close()
  }
})

test('aborting during backoff stops the retries', async () => {
  const pair = await startPair({
    client: { retry: { maxAttempts: 5, initialDelayMs: 300, jitter: 0 }, circuitBreaker: false },
  })
  pair.emulator.setFault({ errorStatus: 503 })
  const controller = new AbortController()
  const retried = new Promise((resolve) => pair.client.once('retry', resolve))
  const pending = pair.client.mint({ entity: 'PEO' }, { signal: controller.signal }).catch((e) => e)
  await retried // the first attempt failed; the client now waits 300 ms
  controller.abort()
  expect((await pending).name).toBe('AbortError')
  const requests = pair.emulator.stats().requests.mint
  await sleep(700)
  expect(pair.emulator.stats().requests.mint).toBe(requests)
  expect(requests).toBe(1)
  await pair.close()
})

test('an aborted validate leaves other waiters of the same id answered', async () => {
  const pair = await startPair()
  const id = await pair.client.mint({ entity: 'PEO' })
  pair.emulator.setFault({ latencyMs: 200, routes: ['validate'] })
  const controller = new AbortController()
  const leader = pair.client.validate(id, { signal: controller.signal }).catch((e) => e)
  const follower = pair.client.validate(id)
  await sleep(30)
  controller.abort()
  expect((await leader).name).toBe('AbortError')
  expect(await follower).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
  await pair.close()
})

test('a signal that never fires changes nothing', async () => {
  const pair = await startPair()
  const controller = new AbortController()
  const id = await pair.client.mint({ entity: 'PEO' }, { signal: controller.signal })
  expect(await pair.client.validate(id, { signal: controller.signal })).toMatchObject({ valid: true })
  expect(await pair.client.healthCheck({ signal: controller.signal })).toBe(true)
  await pair.close()
})

// A mint stopped after its request reached the service may have minted: the rejection says so
// and carries the key, as EMINTUNKNOWN does (docs/OPERATIONS.md "Retry safety").
describe('a mint aborted or closed after its request was sent', () => {
  let emulator
  let relay
  beforeAll(async () => {
    // Like the public service: a repeated key mints again.
    emulator = await ChittyIDEmulator.start({ port: 0, ignoreIdempotencyKeys: true })
    relay = await holdingRelay(emulator.url)
  })
  afterEach(() => {
    emulator.setFault({})
    emulator.resetLedger()
  })
  afterAll(async () => {
    await relay.close()
    await emulator.close()
  })

  const KEY = /^[0-9a-f]{32}$/

  for (const transport of ['native', 'fetch']) {
    for (const how of ['abort', 'close']) {
      test(`${how}, ${transport} transport: the service minted, the rejection says mayHaveMinted with the key`, async () => {
        // The relay passes the request on at once and holds the answer: the emulator mints
        // and the caller never hears of it.
        const client = new ChittyIDClient({ serviceUrl: `${relay.url}/v1`, transport })
        const controller = new AbortController()
        const own = client
          .mint({ entity: 'PEO' }, { signal: controller.signal, idempotencyKey: `order-${how}-${transport}` })
          .catch((e) => e)
        const generated = client.mint({ entity: 'PLACE' }, { signal: controller.signal }).catch((e) => e)
        await waitFor(() => emulator.stats().minted === 2, 'both mints on the ledger')
        if (how === 'abort') controller.abort()
        else await client.close()
        const [a, b] = await Promise.all([own, generated])
        for (const err of [a, b]) {
          expect(err.code).toBe(how === 'abort' ? 'ABORT_ERR' : 'ECLIENTCLOSED')
          if (how === 'abort') expect(err.name).toBe('AbortError')
          expect(err.mayHaveMinted).toBe(true)
        }
        expect(a.idempotencyKey).toBe(`order-${how}-${transport}`)
        expect(b.idempotencyKey).toMatch(KEY)
        expect(emulator.stats().minted).toBe(2)
        await client.close()
      })
    }
  }

  test("aborted during the emulator's latency, after the request arrived: mayHaveMinted with the key", async () => {
    emulator.setFault({ latencyMs: 2000, routes: ['mint'] })
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1` })
    const pending = client.mint({ entity: 'PEO' }, { signal: AbortSignal.timeout(150) }).catch((e) => e)
    await waitFor(() => emulator.stats().requests.mint === 1, 'the request at the service')
    const err = await pending
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', mayHaveMinted: true })
    expect(err.idempotencyKey).toMatch(KEY)
    await client.close()
  })

  test('stopped before anything was sent: mayHaveMinted is false, nothing minted', async () => {
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, circuitBreaker: false })
    // Already aborted: nothing leaves.
    const early = await client.mint({ entity: 'PEO' }, { signal: AbortSignal.abort() }).catch((e) => e)
    expect(early).toMatchObject({ code: 'ABORT_ERR', mayHaveMinted: false })
    expect(early.idempotencyKey).toBeUndefined()
    // A 429 with Retry-After (not processed), then the retry waits at the rate-limit gate:
    // aborted, and closed, while waiting there.
    emulator.setFault({ rateLimitRetryAfter: 5, routes: ['mint'], remaining: 1 })
    const controller = new AbortController()
    const waiting = client.mint({ entity: 'PEO' }, { signal: controller.signal }).catch((e) => e)
    await waitFor(() => client.getStats().rateLimit.paused, 'the pause')
    const queued = client.mint({ entity: 'PLACE' }).catch((e) => e)
    await sleep(50)
    controller.abort()
    expect(await waiting).toMatchObject({ code: 'ABORT_ERR', mayHaveMinted: false })
    await client.close()
    expect(await queued).toMatchObject({ code: 'ECLIENTCLOSED', mayHaveMinted: false })
    expect(emulator.stats()).toMatchObject({ minted: 0 })
    expect(emulator.stats().requests.mint).toBe(1)
    // Not a mint: no such field.
    expect(await client.validate('CT-A-CHI-1234-I-24-A-0').catch((e) => e)).not.toHaveProperty('mayHaveMinted')
  })
})

/**
 * A TCP relay to `target` that passes requests on at once and holds every answer (a service
 * that processed the request and has not answered yet).
 */
async function holdingRelay(target) {
  const { hostname, port } = new URL(target)
  const sockets = new Set()
  const server = net.createServer((down) => {
    const up = net.connect(Number(port), hostname)
    for (const s of [down, up]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        down.destroy()
        up.destroy()
      })
    }
    down.pipe(up)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
