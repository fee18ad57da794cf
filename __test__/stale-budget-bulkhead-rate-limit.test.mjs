// Issue #15: stale-if-error answers of validate(), the retry budget, the bulkhead and the
// client-side rate limit, against the embedded emulator over real sockets.

import { ChittyIDClient, ChittyIDError } from '../index.mjs'
import { ID_PATTERN, rawServer, tracker } from './helpers.mjs'
import { sleep, waitFor } from './wait.mjs'

const tracked = tracker()
const startEmulator = tracked.emulator
const clientOf = (emulator, options = {}) => tracked.client({ serviceUrl: `${emulator.url}/v1`, ...options })
afterEach(() => tracked.closeAll())

const FORMAT_ONLY_ID = 'AA-B-CDE-1234-F-25-G-H' // well-formed, never minted
const MINTED_ID = 'CT-A-CHI-1234-I-24-A-0'

describe('validate() stale-if-error', () => {
  test('during a full outage an expired answer is served with stale: true; unknown ids fall back to the format check', async () => {
    const emulator = await startEmulator()
    const client = clientOf(emulator, { cache: { ttlMs: 40 }, retry: { maxAttempts: 1 }, timeout: 500 })
    const id = await client.mint({ entity: 'PEO' })
    const fresh = await client.validate(id)
    expect(fresh).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
    const notValid = await client.validate(FORMAT_ONLY_ID)
    expect(notValid.valid).toBe(false)
    await sleep(60) // both past their TTL
    await emulator.close() // connections refused from now on

    const stale = await client.validate(id)
    expect(stale).toEqual({ valid: true, chittyId: id, entity: 'PEO', stale: true })
    // "Not valid" has no stale window by default: the v1 format-only fallback, with its reason.
    const fallback = await client.validate(FORMAT_ONLY_ID)
    expect(fallback.stale).toBeUndefined()
    expect(fallback.valid).toBe(true)
    expect(fallback.error).toMatch(/ECONNREFUSED|fetch failed/)
    expect(client.getStats().cache.staleServed).toBe(1)
    expect(client.metrics()).toMatch(/^chittyid_client_cache_stale_served_total 1$/m)

    // Once the failures open the circuit, the stale answer is still served (no request at all).
    for (let i = 0; i < 6; i++) await client.validate(FORMAT_ONLY_ID)
    expect(client.getStats().breaker.state).toBe('OPEN')
    expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PEO', stale: true })
    expect(client.getStats().cache.staleServed).toBe(2)
  })

  test('a 5xx serves the stale answer; a fresh answer replaces it once the service is back', async () => {
    const emulator = await startEmulator()
    const client = clientOf(emulator, { cache: { ttlMs: 30 }, retry: false, circuitBreaker: false })
    const id = await client.mint({ entity: 'PLACE' })
    await client.validate(id)
    await sleep(50)
    emulator.setFault({ down: true })
    expect(await client.validate(id)).toMatchObject({ valid: true, stale: true })
    emulator.clearFaults()
    expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PLACE' })
  })

  test('staleIfErrorMs bounds the window; 0 turns stale answers off; negativeStaleIfErrorMs keeps "not valid"', async () => {
    const emulator = await startEmulator()
    // A window of a second: wide enough that a loaded machine still asks inside it, short
    // enough to wait out.
    const short = clientOf(emulator, {
      cache: { ttlMs: 20, staleIfErrorMs: 1000 },
      retry: false,
      circuitBreaker: false,
    })
    const off = clientOf(emulator, { cache: { ttlMs: 20, staleIfErrorMs: 0 }, retry: false, circuitBreaker: false })
    const negative = clientOf(emulator, {
      cache: { ttlMs: 20, negativeTtlMs: 20, negativeStaleIfErrorMs: 60_000 },
      retry: false,
      circuitBreaker: false,
    })
    const id = await short.mint({ entity: 'PEO' })
    for (const c of [short, off]) await c.validate(id)
    await negative.validate(FORMAT_ONLY_ID)
    await sleep(40)
    emulator.setFault({ down: true })
    expect((await short.validate(id)).stale).toBe(true)
    expect(await off.validate(id)).toMatchObject({ valid: false, error: 'Service error: 503' })
    expect(await negative.validate(FORMAT_ONLY_ID)).toEqual({ valid: false, chittyId: FORMAT_ONLY_ID, stale: true })
    await sleep(1000) // past 20 + 1000 ms
    expect(await short.validate(id)).toMatchObject({ valid: false, error: 'Service error: 503' })
    expect(short.getStats().cache.staleServed).toBe(1)
  })

  test('bad staleIfErrorMs values are a TypeError', () => {
    for (const bad of [-1, NaN, Infinity, '1000']) {
      expect(() => new ChittyIDClient({ cache: { staleIfErrorMs: bad } })).toThrow(TypeError)
      expect(() => new ChittyIDClient({ cache: { negativeStaleIfErrorMs: bad } })).toThrow(TypeError)
    }
  })
})

describe('retry budget', () => {
  test('during an outage retries stay within ratio × calls + floor, and stats say so', async () => {
    const emulator = await startEmulator()
    emulator.setFault({ down: true }) // 503: a safe mint may retry it
    const budget = { ratio: 0.1, windowMs: 10_000, minPerSecond: 0 }
    const client = clientOf(emulator, {
      circuitBreaker: false,
      retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 2, budget },
    })
    const CALLS = 200
    const outcomes = await Promise.all(
      Array.from({ length: CALLS }, () => client.mint({ entity: 'PEO' }).catch((e) => e)),
    )
    expect(outcomes.every((e) => e instanceof ChittyIDError && e.status === 503)).toBe(true)
    const sent = emulator.stats().requests.mint
    const stats = client.getStats()
    expect(sent).toBeGreaterThanOrEqual(CALLS)
    expect(sent).toBeLessThanOrEqual(CALLS * 1.1)
    expect(stats.requests.mint.retries).toBe(sent - CALLS)
    expect(stats.retryBudgetExhausted).toBeGreaterThan(0)
    expect(client.metrics()).toMatch(/^chittyid_client_retry_budget_exhausted_total [1-9]\d*$/m)

    // Without a budget the same outage costs maxAttempts requests per call.
    const unbounded = clientOf(emulator, {
      circuitBreaker: false,
      retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 2, budget: false },
    })
    emulator.resetLedger()
    await Promise.all(Array.from({ length: 20 }, () => unbounded.mint({ entity: 'PEO' }).catch(() => {})))
    expect(emulator.stats().requests.mint).toBe(100)
    expect(unbounded.getStats().retryBudgetExhausted).toBe(0)
  })

  test('the floor lets a quiet client retry', async () => {
    const emulator = await startEmulator()
    emulator.setFault({ errorStatus: 503, remaining: 2 })
    const client = clientOf(emulator, {
      retry: { initialDelayMs: 1, budget: { ratio: 0, minPerSecond: 1, windowMs: 2000 } },
    })
    expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN) // 2 retries: the floor is 2
    expect(client.getStats().retryBudgetExhausted).toBe(0)
  })

  test('bad budget options are a TypeError', () => {
    for (const budget of [{ ratio: -1 }, { ratio: NaN }, { windowMs: 0 }, { minPerSecond: 1.5 }, 'x', 3]) {
      expect(() => new ChittyIDClient({ retry: { budget } })).toThrow(TypeError)
    }
    expect(() => new ChittyIDClient({ retry: { budget: true } })).not.toThrow()
  })
})

describe('bulkhead', () => {
  test('1,000 concurrent mints: at most maxConcurrent at the service, maxQueue wait, the rest fail fast with EBULKHEADFULL', async () => {
    // A service that holds every mint until the test lets go: all 1,000 calls meet a full
    // bulkhead however slowly a loaded machine starts them, and "fast" is an order of events
    // (rejected while the admitted calls are still held), not a clock reading.
    const held = []
    let holding = true
    const minted = () => {
      const body = JSON.stringify({ success: true, chittyId: MINTED_ID })
      return `HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
    }
    const service = await rawServer(({ socket }) => (holding ? held.push(socket) : socket.write(minted())))
    const client = tracked.client({
      serviceUrl: service.url,
      timeout: 30000,
      bulkhead: { maxConcurrent: 8, maxQueue: 32 },
    })
    let peak = 0
    const sampler = setInterval(() => {
      peak = Math.max(peak, client.getStats().bulkhead.inFlight)
    }, 5)
    try {
      const rejected = []
      const calls = Array.from({ length: 1000 }, () =>
        client.mint({ entity: 'PEO' }).then(
          (id) => ({ id }),
          (err) => {
            rejected.push(err)
            return { err }
          },
        ),
      )
      // Every rejection comes while the admitted calls are still held: none waited for a slot.
      await waitFor(() => rejected.length === 960, '960 calls rejected while the service holds', 20000)
      expect(rejected.every((err) => err instanceof ChittyIDError && err.code === 'EBULKHEADFULL')).toBe(true)
      await waitFor(() => held.length === 8, 'the admitted calls at the service', 20000)
      expect(service.requests.length).toBe(8)
      expect(client.getStats().bulkhead).toMatchObject({ inFlight: 8, queued: 32, rejected: 960 })

      holding = false
      for (const socket of held) socket.write(minted())
      const outcomes = await Promise.all(calls)
      expect(outcomes.filter((o) => o.id === MINTED_ID).length).toBe(40)
      expect(outcomes.filter((o) => o.err).length).toBe(960)
      expect(rejected.length).toBe(960)
      expect(service.requests.length).toBe(40)
      expect(peak).toBeLessThanOrEqual(8)
      const stats = client.getStats()
      expect(stats.bulkhead).toMatchObject({ maxConcurrent: 8, maxQueue: 32, inFlight: 0, queued: 0, rejected: 960 })
      // Rejections never reach the breaker.
      expect(stats.breaker).toMatchObject({ state: 'CLOSED', failures: 0 })
    } finally {
      clearInterval(sampler)
      await client.close()
      await service.close()
    }
  })

  test('a queued call waits at most its timeout; an AbortSignal ends the wait', async () => {
    const emulator = await startEmulator()
    // The holder keeps its slot for 2 s: long enough that a loaded machine still sees the next
    // call queued behind it.
    emulator.setFault({ latencyMs: 2000 })
    const client = clientOf(emulator, { timeout: 5000, bulkhead: { maxConcurrent: 1, maxQueue: 4 } })
    const holder = client.mint({ entity: 'PEO' })
    // The slot is held by a validate() retrying its timeouts (3 × 100 ms + backoff).
    const quick = clientOf(emulator, { timeout: 100, bulkhead: { maxConcurrent: 1, maxQueue: 4 } })
    const held = quick.validate('AA-B-CDE-1234-F-25-G-C')
    const started = performance.now()
    const waited = await quick.mint({ entity: 'PEO' }).catch((e) => e)
    expect(waited.code).toBe('EBULKHEADFULL')
    expect(waited.message).toMatch(/within 100 ms/)
    expect(performance.now() - started).toBeGreaterThanOrEqual(95)
    const controller = new AbortController()
    const aborted = client.mint({ entity: 'PEO' }, { signal: controller.signal }).catch((e) => e)
    await waitFor(() => client.getStats().bulkhead.queued === 1, 'the call queued behind the holder')
    controller.abort()
    expect((await aborted).code).toBe('ABORT_ERR')
    await waitFor(() => client.getStats().bulkhead.queued === 0, 'the aborted call left the queue')
    await expect(holder).resolves.toMatch(ID_PATTERN)
    expect((await held).error).toMatch(/timed out/)
  })

  test('validate() under a full bulkhead answers like a failure: stale or format-only, never a rejection', async () => {
    const emulator = await startEmulator()
    emulator.setFault({ latencyMs: 200 })
    const client = clientOf(emulator, { bulkhead: { maxConcurrent: 1 } })
    const first = client.validate('AA-B-CDE-1234-F-25-G-A')
    const second = await client.validate('AA-B-CDE-1234-F-25-G-B')
    expect(second.valid).toBe(true) // well-formed: the format-only fallback
    expect(second.error).toMatch(/bulkhead full/)
    await first
  })

  test('bad bulkhead options are a TypeError', () => {
    for (const bulkhead of [
      {},
      { maxConcurrent: 0 },
      { maxConcurrent: 1.5 },
      { maxConcurrent: 2, maxQueue: -1 },
      'x',
    ]) {
      expect(() => new ChittyIDClient({ bulkhead })).toThrow(TypeError)
    }
    expect(clientOf({ url: 'http://127.0.0.1:9' }).getStats().bulkhead).toBeNull()
  })
})

describe('client-side rate limit', () => {
  test('1,000 concurrent mints at 500/s with a burst of 50: paced, every call settles, no 429', async () => {
    const emulator = await startEmulator()
    const client = clientOf(emulator, { rateLimit: { requestsPerSecond: 500, burst: 50 }, timeout: 5000 })
    const started = performance.now()
    const times = await Promise.all(
      Array.from({ length: 1000 }, () => client.mint({ entity: 'PEO' }).then(() => performance.now() - started)),
    )
    const elapsed = performance.now() - started
    // 50 at once, then 950 at 2 ms each: about 1.9 s.
    expect(elapsed).toBeGreaterThanOrEqual(1800)
    // Generous: a loaded machine (the whole suite on two cores, or the fetch transport's
    // costlier calls) stretches it; 10 s still tells this pace from one that stalls.
    expect(elapsed).toBeLessThan(10000)
    expect(times.filter((t) => t < 100).length).toBeLessThanOrEqual(50 + 50 + 5)
    expect(emulator.stats().minted).toBe(1000)
    const s = client.getStats().clientRateLimit
    expect(s).toMatchObject({ requestsPerSecond: 500, burst: 50, rejected: 0 })
    // Most waited for their token; on a loaded machine the calls reach the limiter spread out,
    // and those that find a token left go at once (834 of 1,000 waited at a load of 10).
    expect(s.waits).toBeGreaterThanOrEqual(500)
  })

  test('a call that cannot get a token within its timeout fails at once with ERATELIMITED', async () => {
    const emulator = await startEmulator()
    // The next token is 2 s away, the timeout 1 s: the second call cannot wait for it. (The
    // first call's timeout leaves room for a loaded machine, or the fetch transport's first
    // request, which loads Node's fetch.)
    const client = clientOf(emulator, { rateLimit: { requestsPerSecond: 0.5, burst: 1 }, timeout: 1000 })
    expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
    const started = performance.now()
    const err = await client.mint({ entity: 'PEO' }).catch((e) => e)
    // At once: well before the 1 s it would wait for its timeout.
    expect(performance.now() - started).toBeLessThan(800)
    expect(err).toBeInstanceOf(ChittyIDError)
    expect(err.code).toBe('ERATELIMITED')
    expect(err.retryInMs).toBeGreaterThan(1000)
    expect(err.message).toMatch(/client-side rate limit/)
    expect(emulator.stats().requests.mint).toBe(1)
    expect(client.getStats().clientRateLimit.rejected).toBe(1)
  })

  test('calls aborted while waiting for their token leave no gap: calls behind them and later calls do not wait for them', async () => {
    const emulator = await startEmulator()
    const client = clientOf(emulator, { timeout: 30000, rateLimit: { requestsPerSecond: 10, burst: 1 } })
    const controller = new AbortController()
    const queued = Array.from({ length: 100 }, () =>
      client.mint({ entity: 'PEO' }, { signal: controller.signal }).catch((e) => e.code),
    )
    await waitFor(() => client.getStats().clientRateLimit.waits >= 99, '99 waiting', 10000)
    const behind = client.mint({ entity: 'PEO' }).then(() => performance.now())
    await sleep(100)
    controller.abort()
    const aborted = performance.now()
    expect((await Promise.all(queued)).filter((o) => o === 'ABORT_ERR').length).toBeGreaterThan(80)
    // About 95 calls (9.5 s at 10/s) waited ahead of both: they leave no gap, so each waits
    // about one interval (0.1 s). Before the line, they waited 9 s and more.
    expect((await behind) - aborted).toBeLessThan(4000)
    const t0 = performance.now()
    await client.mint({ entity: 'PEO' })
    expect(performance.now() - t0).toBeLessThan(4000)
  }, 30000)

  test('bad rateLimit options are a TypeError; off by default', () => {
    for (const rateLimit of [
      {},
      { requestsPerSecond: 0 },
      { requestsPerSecond: -1 },
      { requestsPerSecond: Infinity },
      { requestsPerSecond: 5, burst: 0 },
      'x',
    ]) {
      expect(() => new ChittyIDClient({ rateLimit })).toThrow(TypeError)
    }
    expect(clientOf({ url: 'http://127.0.0.1:9' }).getStats().clientRateLimit).toBeNull()
  })
})
