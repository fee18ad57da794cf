// Issue #14 part 2: a 429 pauses the whole client's traffic to the service; calls wait it out
// within their timeout (else ERATELIMITED); traffic resumes at the pace the service accepts;
// 429 never counts for the breaker; stats, metrics and a `rateLimited` event show it.

import { ChittyIDClient, ChittyIDEmulator, ChittyIDError } from '../index.mjs'
import { ID_PATTERN } from './helpers.mjs'
import { record, sleep, waitFor } from './wait.mjs'

let emulator
beforeEach(async () => {
  emulator = await ChittyIDEmulator.start({ port: 0 })
})
afterEach(() => emulator.close())

const clientFor = (options = {}) => new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, ...options })

test('an emulator limited to 50 requests/s, 200 concurrent callers: every call settles, ~50/s, a bounded number of 429s', async () => {
  const RATE = 50
  const CALLERS = 200
  emulator.setFault({ rateLimitPerSecond: RATE })
  // The default breaker (5 failures in 10 s) would open at once if 429s counted.
  const client = clientFor()
  const seen = record(client, ['rateLimited', 'circuitOpen'])
  const started = performance.now()
  const settled = []
  const outcomes = await Promise.all(
    Array.from({ length: CALLERS }, () =>
      client.mint({ entity: 'PEO' }).then(
        (id) => {
          settled.push(performance.now() - started)
          return id
        },
        (err) => err,
      ),
    ),
  )
  const elapsedMs = performance.now() - started
  const failures = outcomes.filter((o) => typeof o !== 'string')
  const ledger = emulator.stats()
  const answered429 = ledger.requests.mint - ledger.minted
  const stats = client.getStats()
  // Throughput once the first burst is over (it settles within milliseconds, the pause lasts
  // about a second): the steady part is the client's pacing.
  const paced = settled.sort((a, b) => a - b).filter((t) => t > 500)
  const steadyPerSec = ((paced.length - 1) * 1000) / (paced.at(-1) - paced[0])
  const overallPerSec = (CALLERS * 1000) / elapsedMs
  process.stdout.write(
    `rate limit ${RATE}/s, ${CALLERS} callers: ${Math.round(elapsedMs)} ms, overall ${overallPerSec.toFixed(1)}/s, ` +
      `steady ${steadyPerSec.toFixed(1)}/s over ${paced.length} paced calls, 429s ${answered429}, pauses ${stats.rateLimit.pauses}, ` +
      `waits ${stats.rateLimit.waits}, pace ${stats.rateLimit.pacePerSecond}\n`,
  )
  expect(failures).toEqual([])
  for (const id of outcomes) expect(id).toMatch(ID_PATTERN)
  expect(ledger.minted).toBe(CALLERS)
  expect(new Set(ledger.mintedIds).size).toBe(CALLERS)
  // The first burst meets the limit together (up to CALLERS - RATE 429s); after the pause traffic
  // is paced. Blind per-call retries (100-200 ms) would send each refused caller again and again.
  expect(answered429).toBeGreaterThan(0)
  expect(answered429).toBeLessThanOrEqual(CALLERS * 1.5)
  expect(stats.rateLimit.rateLimited).toBe(answered429)
  expect(paced.length).toBeGreaterThan(CALLERS / 2)
  // Never faster than the service allows. Not slower either, by the client's own choice: the
  // pace it measured and sends at. What the wall clock shows is slower than that pace on a
  // loaded machine (each paced call leaves one interval after the previous one, so scheduling
  // delays add up: 22/s overall was seen at a load of 16 on two cores), so no floor on it; a
  // line that stalls still runs into the test's timeout.
  expect(stats.rateLimit.pacePerSecond).toBeGreaterThan(RATE * 0.6)
  expect(steadyPerSec).toBeLessThan(RATE * 1.5)
  expect(overallPerSec).toBeLessThan(RATE * 1.5)
  expect(seen.count('circuitOpen')).toBe(0)
  expect(stats.breaker.state).toBe('CLOSED')
  expect(stats.breaker.failures).toBe(0)
  const [first] = seen.of('rateLimited')
  expect(first).toEqual({ operation: 'mint', retryInMs: expect.any(Number), retryAfter: false })
  expect(first.retryInMs).toBeGreaterThanOrEqual(800)
  expect(first.retryInMs).toBeLessThanOrEqual(1200)
  await client.close()
}, 20000)

test('a 429 pauses every operation of the client, not only the call that got it', async () => {
  const client = clientFor({ cache: false })
  const id = await client.mint({ entity: 'PEO' })
  emulator.setFault({ rateLimitRetryAfter: 1, remaining: 1, routes: ['mint'] })
  const seen = record(client, ['rateLimited'])
  const started = performance.now()
  const minting = client.mint({ entity: 'PEO' })
  await waitFor(() => seen.count('rateLimited') === 1, 'the 429', 5000)
  const before = emulator.stats().requests
  const validating = client.validate(id).then((v) => [v, performance.now() - started])
  const checking = client.healthCheck().then((h) => [h, performance.now() - started])
  await sleep(300)
  // Paused: nothing else left the client meanwhile.
  expect(emulator.stats().requests).toEqual(before)
  const [[valid, validMs], [healthy, healthMs]] = await Promise.all([validating, checking])
  expect(await minting).toMatch(ID_PATTERN)
  expect(valid).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
  expect(healthy).toBe(true)
  expect(validMs).toBeGreaterThanOrEqual(950)
  expect(healthMs).toBeGreaterThanOrEqual(950)
  expect(seen.of('rateLimited')).toEqual([{ operation: 'mint', retryInMs: 1000, retryAfter: true }])
  await client.close()
})

test('a call that cannot wait the pause out fails with ERATELIMITED, at once and with nothing sent', async () => {
  const client = clientFor({ timeout: 300 })
  emulator.setFault({ rateLimitRetryAfter: 5, remaining: 1 })
  const err = await client.mint({ entity: 'PEO' }).then(
    () => null,
    (e) => e,
  )
  expect(err).toBeInstanceOf(ChittyIDError)
  expect(err.code).toBe('ERATELIMITED')
  expect(err.message).toMatch(
    /^ChittyID service unavailable - cannot mint PEO ID: rate limited by the ChittyID service: traffic is paused for another \d+ ms/,
  )
  expect(err.retryInMs).toBeGreaterThan(4000)
  const requests = emulator.stats().requests
  const started = performance.now()
  const batch = await client.mintBatch([{ entity: 'PEO' }]).then(
    () => null,
    (e) => e,
  )
  expect(batch).toMatchObject({ code: 'ERATELIMITED' })
  const v = await client.validate('CT-A-CHI-1234-I-24-A-0')
  expect(v).toEqual({ valid: true, error: expect.stringMatching(/^rate limited by the ChittyID service/) })
  // At once: well under the 4 s and more they would wait for the pause.
  expect(performance.now() - started).toBeLessThan(2000)
  expect(emulator.stats().requests).toEqual(requests)
  const stats = client.getStats().rateLimit
  expect(stats).toMatchObject({ paused: true, rateLimited: 1, pauses: 1, rejected: 3 })
  expect(stats.retryInMs).toBeGreaterThan(4000)
  expect(client.metrics()).toMatch(/^chittyid_client_rate_limit_paused 1$/m)
  expect(client.metrics()).toMatch(/^chittyid_client_rate_limited_total 1$/m)
  expect(client.metrics()).toMatch(/^chittyid_client_rate_limit_rejections_total 3$/m)
  await client.close()
})

test('an AbortSignal ends the wait for a pause', async () => {
  const client = clientFor({ timeout: 10000 })
  emulator.setFault({ rateLimitRetryAfter: 5, remaining: 1 })
  const started = performance.now()
  const err = await client.mint({ entity: 'PEO' }, { signal: AbortSignal.timeout(200) }).then(
    () => null,
    (e) => e,
  )
  expect(err.name).toBe('AbortError')
  // Ended by the signal (200 ms), not by the 5 s pause.
  expect(performance.now() - started).toBeLessThan(3000)
  expect(emulator.stats().requests.mint).toBe(1)
  await client.close()
})

test('calls aborted while queued for a paced slot leave no gap: calls behind them and later calls do not wait for them', async () => {
  const client = clientFor({ timeout: 30000 })
  await client.mint({ entity: 'PEO' })
  emulator.setFault({ rateLimitPerSecond: 10, routes: ['mint'] })
  const controller = new AbortController()
  const queued = Array.from({ length: 100 }, () =>
    client.mint({ entity: 'PEO' }, { signal: controller.signal }).then(
      () => 'ok',
      (e) => e.code,
    ),
  )
  await waitFor(() => client.getStats().rateLimit.pacePerSecond > 0, 'a pace', 10000) // paced: the rest wait in line
  const behind = client.mint({ entity: 'PEO' }).then(() => performance.now())
  await sleep(100)
  controller.abort()
  const aborted = performance.now()
  const outcomes = await Promise.all(queued)
  expect(outcomes.filter((o) => o === 'ABORT_ERR').length).toBeGreaterThan(50)
  // Over 50 aborted calls (5 s and more at ~10/s) were ahead of both: they leave no gap, so
  // each waits about one slot (~0.1 s). Before the line, they waited 5 s and more.
  expect((await behind) - aborted).toBeLessThan(4000)
  const t0 = performance.now()
  await client.mint({ entity: 'PEO' })
  expect(performance.now() - t0).toBeLessThan(4000)
  await client.close()
}, 30000)

test('without Retry-After the pause starts near 1 s, grows while 429s continue, and starts near 1 s again after a success', async () => {
  const client = clientFor({ retry: { maxAttempts: 2 } })
  const seen = record(client, ['rateLimited'])
  emulator.setFault({ rateLimitPerSecond: 0, routes: ['mint'] })
  const started = performance.now()
  const err = await client.mint({ entity: 'PEO' }).then(
    () => null,
    (e) => e,
  )
  const ms = performance.now() - started
  expect(err).toMatchObject({ code: 'EHTTP', status: 429 })
  const pauses = seen.of('rateLimited').map((e) => e.retryInMs)
  expect(seen.of('rateLimited').every((e) => e.retryAfter === false)).toBe(true)
  expect(pauses).toHaveLength(2)
  expect(pauses[0]).toBeGreaterThanOrEqual(800)
  expect(pauses[0]).toBeLessThanOrEqual(1200)
  expect(pauses[1]).toBeGreaterThanOrEqual(1600)
  expect(pauses[1]).toBeLessThanOrEqual(2400)
  // The first pause was waited out between the two attempts.
  expect(ms).toBeGreaterThanOrEqual(pauses[0] - 20)
  emulator.setFault({})
  await sleep(pauses[1] + 50)
  expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
  emulator.setFault({ rateLimitPerSecond: 0, routes: ['mint'] })
  const pending = client.mint({ entity: 'PEO' }).catch((e) => e)
  await waitFor(() => seen.count('rateLimited') === 3, 'a third pause', 5000)
  const again = seen.of('rateLimited')[2].retryInMs
  expect(again).toBeGreaterThanOrEqual(800)
  expect(again).toBeLessThanOrEqual(1200)
  await client.close()
  expect(await pending).toMatchObject({ code: 'ECLIENTCLOSED' })
}, 15000)

test('a client that sat idle, then 100 concurrent mints against 20/s: the pace converges to 20/s, ≥ 90 succeed within 20 s, 429s bounded', async () => {
  const RATE = 20
  const CALLERS = 100
  emulator.setFault({ rateLimitPerSecond: RATE })
  const client = clientFor({ timeout: 20_000 })
  // Idle time before the burst is not what the service allowed: it must not dilute the pace
  // measured at the first 429 (before the fix: 20 successes over 8 s, 2.5/s).
  await sleep(8_000)
  const started = performance.now()
  const outcomes = await Promise.all(
    Array.from({ length: CALLERS }, () => client.mint({ entity: 'PEO' }).catch((e) => e)),
  )
  const elapsedMs = performance.now() - started
  const ok = outcomes.filter((o) => typeof o === 'string').length
  const ledger = emulator.stats()
  const answered429 = ledger.requests.mint - ledger.minted
  const { pacePerSecond } = client.getStats().rateLimit
  process.stdout.write(
    `idle then ${CALLERS} at ${RATE}/s: ${ok} ok in ${Math.round(elapsedMs)} ms, 429s ${answered429}, pace ${pacePerSecond}\n`,
  )
  expect(ok).toBeGreaterThanOrEqual(90)
  expect(elapsedMs).toBeLessThan(20_000)
  expect(ledger.minted).toBe(ok)
  // The first burst meets the limit together (80 refused); after it, paced, at most a few more.
  expect(answered429).toBeLessThanOrEqual(CALLERS)
  expect(pacePerSecond).toBeGreaterThanOrEqual(RATE * 0.75)
  expect(pacePerSecond).toBeLessThanOrEqual(RATE * 2)
  await client.close()
}, 60_000)
