// Issue #15: endpoint failover across two emulator instances: failover and failback timing,
// the mint safety rule across endpoints, stats, metrics and events.

import { ChittyIDClient } from '../index.mjs'
import { ID_PATTERN, rawServer, tracker } from './helpers.mjs'
import { record, sleep, waitFor } from './wait.mjs'

const tracked = tracker()
const startEmulator = tracked.emulator
const clientOf = tracked.client
afterEach(() => tracked.closeAll())

const v1 = (emulator) => `${emulator.url}/v1`

test('the primary dies: the next call fails over at once; it fails back only after consecutive good health checks', async () => {
  const primary = await startEmulator()
  const secondary = await startEmulator()
  const port = primary.port
  const client = clientOf({
    serviceUrl: [v1(primary), v1(secondary)],
    failover: { probeIntervalMs: 100, failbackSuccesses: 3 },
    timeout: 1000,
  })
  const seen = record(client, ['failover', 'failback'])
  expect(client.serviceUrl).toBe(v1(primary))
  expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
  expect(primary.stats().minted).toBe(1)

  await primary.close()
  const died = performance.now()
  expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
  const toFirstSuccess = performance.now() - died
  expect(secondary.stats().minted).toBe(1)
  expect(toFirstSuccess).toBeLessThan(1000 + 50) // one connect timeout + 50 ms at most
  expect(seen.of('failover')).toEqual([{ from: v1(primary), to: v1(secondary), code: 'ECONNREFUSED' }])
  let stats = client.getStats()
  expect(stats.endpoints.map((e) => [e.url, e.healthy, e.active])).toEqual([
    [v1(primary), false, false],
    [v1(secondary), true, true],
  ])

  // While the primary is down, calls go straight to the secondary.
  for (let i = 0; i < 5; i++) await client.mint({ entity: 'PEO' })
  expect(secondary.stats().minted).toBe(6)
  expect(seen.count('failover')).toBe(1)

  // The primary comes back on its port; traffic continues every 20 ms.
  const back = await startEmulator({ port })
  const restarted = performance.now()
  let failedBackAt
  client.once('failback', () => (failedBackAt = performance.now()))
  const deadline = restarted + 3000
  while (failedBackAt === undefined && performance.now() < deadline) {
    await client.mint({ entity: 'PEO' })
    await sleep(20)
  }
  expect(failedBackAt).toBeDefined()
  const toFailback = failedBackAt - restarted
  // Hysteresis: three probes 100 ms apart, so not at the first good answer.
  expect(toFailback).toBeGreaterThanOrEqual(150)
  expect(toFailback).toBeLessThan(1500)
  expect(seen.of('failback')).toEqual([{ from: v1(secondary), to: v1(primary) }])
  const onSecondary = secondary.stats().minted
  expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
  expect(back.stats().minted).toBe(1)
  expect(secondary.stats().minted).toBe(onSecondary)
  stats = client.getStats()
  expect(stats.endpoints[0]).toMatchObject({ healthy: true, active: true, failovers: 1 })
  expect(stats.endpoints[1]).toMatchObject({ healthy: true, active: false, failovers: 0 })
  expect(stats.endpoints[0].requests).toBeGreaterThanOrEqual(3 + 2) // probes + calls
  const metrics = client.metrics()
  expect(metrics).toContain(`chittyid_client_endpoint_active{endpoint="${v1(primary)}"} 1`)
  expect(metrics).toContain(`chittyid_client_endpoint_failovers_total{endpoint="${v1(primary)}"} 1`)
  expect(metrics).toMatch(
    new RegExp(`chittyid_client_endpoint_requests_total\\{endpoint="${v1(secondary).replace(/[.]/g, '\\.')}"\\} [1-9]`),
  )
  console.log(
    `failover: first success ${toFirstSuccess.toFixed(1)} ms after the primary died; failback ${toFailback.toFixed(0)} ms after it came back`,
  )
}, 15000)

test('a failing primary (5xx) fails over; a 4xx answer does not', async () => {
  const primary = await startEmulator()
  const secondary = await startEmulator()
  const client = clientOf({ serviceUrl: [v1(primary), v1(secondary)], failover: { probeIntervalMs: 60_000 } })
  primary.setFault({ down: true })
  const answer = await client.validate('AA-B-CDE-1234-F-25-G-H')
  expect(answer).toEqual({ valid: false, chittyId: 'AA-B-CDE-1234-F-25-G-H', error: 'check character mismatch' }) // the secondary's answer
  expect(secondary.stats().requests.validate).toBe(1)
  expect(primary.stats().requests.validate).toBe(1)

  const other = clientOf({ serviceUrl: [v1(primary), v1(secondary)] })
  primary.setFault({ errorStatus: 404 })
  const err = await other.mint({ entity: 'PEO' }).catch((e) => e)
  expect(err.status).toBe(404)
  expect(secondary.stats().minted).toBe(0)
})

describe('mints across endpoints follow the retry-safety rule', () => {
  test('safe mode: a mint that may have been processed never reaches the second endpoint (EMINTUNKNOWN, its key)', async () => {
    const primary = await startEmulator({ ignoreIdempotencyKeys: true })
    const secondary = await startEmulator({ ignoreIdempotencyKeys: true })
    primary.setFault({ dropAfterCommit: true })
    const client = clientOf({ serviceUrl: [v1(primary), v1(secondary)] })
    const err = await client.mint({ entity: 'PEO' }, { idempotencyKey: 'order-1' }).catch((e) => e)
    expect(err.code).toBe('EMINTUNKNOWN')
    expect(err.idempotencyKey).toBe('order-1')
    // At most one id for the logical call: the primary's, which the caller never got.
    expect(primary.stats().minted).toBe(1)
    expect(secondary.stats().requests.mint).toBe(0)
  })

  test.each([
    ['hangs (accepts, never answers)', { latencyMs: 5000 }, 'ETIMEDOUT'],
    ['answers 500', { errorStatus: 500, routes: ['mint'] }, 'EHTTP'],
  ])(
    'safe mode: a primary that %s ends one mint EMINTUNKNOWN and is marked down: the next mints go to the secondary',
    async (_, fault, causeCode) => {
      const primary = await startEmulator({ ignoreIdempotencyKeys: true })
      const secondary = await startEmulator({ ignoreIdempotencyKeys: true })
      primary.setFault(fault)
      // No breaker: nothing but the failover's own marking can steer mints away.
      const client = clientOf({
        serviceUrl: [v1(primary), v1(secondary)],
        timeout: 300,
        circuitBreaker: false,
        failover: { probeIntervalMs: 60000 },
      })
      const seen = record(client, ['failover'])
      const err = await client.mint({ entity: 'PEO' }).catch((e) => e)
      expect(err).toMatchObject({ code: 'EMINTUNKNOWN', mayHaveMinted: true })
      expect(err.cause.code).toBe(causeCode)
      expect(secondary.stats().requests.mint).toBe(0)
      expect(seen.of('failover')).toEqual([{ from: v1(primary), to: v1(secondary), code: causeCode }])
      // The primary's outage costs one unknown outcome, not one per mint.
      const ids = []
      for (let i = 0; i < 5; i++) ids.push(await client.mint({ entity: 'PEO' }))
      expect(secondary.stats().mintedIds).toEqual(ids)
      expect(primary.stats().requests.mint).toBe(1)
      expect(client.getStats().endpoints.map((e) => [e.healthy, e.active])).toEqual([
        [false, false],
        [true, true],
      ])
    },
  )

  test('safe mode: a mint refused at connect fails over and mints exactly once', async () => {
    const secondary = await startEmulator({ ignoreIdempotencyKeys: true })
    const dead = await startEmulator()
    const deadUrl = v1(dead)
    await dead.close()
    const client = clientOf({ serviceUrl: [deadUrl, v1(secondary)] })
    const ids = await Promise.all(Array.from({ length: 20 }, () => client.mint({ entity: 'PEO' })))
    expect(new Set(ids).size).toBe(20)
    expect(secondary.stats().minted).toBe(20)
    expect(secondary.stats().requests.mint).toBe(20)
  })

  test('idempotent mode: a mint dropped after commit fails over under the same key', async () => {
    const primary = await startEmulator()
    const secondary = await startEmulator()
    primary.setFault({ dropAfterCommit: true })
    const client = clientOf({ serviceUrl: [v1(primary), v1(secondary)], retry: { mint: 'idempotent' } })
    const id = await client.mint({ entity: 'PEO' }, { idempotencyKey: 'order-2' })
    expect(id).toMatch(ID_PATTERN)
    expect(primary.stats().minted).toBe(1)
    expect(secondary.stats().minted).toBe(1)
    // The secondary saw the same key: asked again under it, it replays the same id.
    const direct = clientOf({ serviceUrl: v1(secondary) })
    expect(await direct.mint({ entity: 'PEO' }, { idempotencyKey: 'order-2' })).toBe(id)
    expect(secondary.stats().idempotentReplays).toBe(1)
  })
})

test('a down endpoint that accepts and never answers gets one probe at a time, however short the probe interval', async () => {
  const hole = await rawServer(() => {}) // reads requests, answers none
  const secondary = await startEmulator()
  const client = clientOf({
    serviceUrl: [hole.url, v1(secondary)],
    timeout: 400,
    failover: { probeIntervalMs: 10, failbackSuccesses: 2 },
  })
  try {
    await client.validate('CT-A-CHI-1234-P-24-A-0') // times out on the hole: fails over
    const before = hole.requests.length
    // Calls start due probes; each probe of the hole waits out the 400 ms timeout.
    for (const end = performance.now() + 1200; performance.now() < end;) {
      await client.mint({ entity: 'PEO' })
      await sleep(5)
    }
    const probes = hole.requests.length - before
    expect(hole.requests.slice(before).every((line) => line.startsWith('GET /v1/health'))).toBe(true)
    // About 1200 / 400 probes one after another, not one every 10 ms side by side.
    expect(probes).toBeGreaterThanOrEqual(1)
    expect(probes).toBeLessThanOrEqual(5)
  } finally {
    await client.close()
    await hole.close()
  }
})

test('a full outage of every endpoint: stale answers, then the circuits open and nothing is sent', async () => {
  const a = await startEmulator()
  const b = await startEmulator()
  const client = clientOf({
    serviceUrl: [v1(a), v1(b)],
    cache: { ttlMs: 30 },
    retry: { maxAttempts: 1 },
    failover: { probeIntervalMs: 60_000 },
  })
  const id = await client.mint({ entity: 'PEO' })
  await client.validate(id)
  await sleep(50)
  await a.close()
  await b.close()
  expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PEO', stale: true })
  for (let i = 0; i < 10; i++) await client.mint({ entity: 'PEO' }).catch(() => {})
  const states = client.getStats().endpoints.map((e) => e.breaker.state)
  expect(states).toEqual(['OPEN', 'OPEN'])
  const before = client.getStats().endpoints.map((e) => e.requests)
  const errs = await Promise.all(Array.from({ length: 50 }, () => client.mint({ entity: 'PEO' }).catch((e) => e)))
  expect(errs.every((e) => e.code === 'ECIRCUITOPEN')).toBe(true)
  expect(client.getStats().endpoints.map((e) => e.requests)).toEqual(before)
  expect(await client.validate(id)).toMatchObject({ valid: true, stale: true })
})

test('the connection manager watches every endpoint: it fails over and back without any call', async () => {
  const primary = await startEmulator()
  const secondary = await startEmulator()
  const client = clientOf({
    serviceUrl: [v1(primary), v1(secondary)],
    failover: { probeIntervalMs: 40, failbackSuccesses: 2 },
    connection: { healthCheckInterval: 40 },
  })
  const seen = record(client, ['failover', 'failback', 'unhealthy'])
  primary.setFault({ down: true })
  expect(await client.connect()).toBe(true) // the secondary is healthy
  expect(seen.of('failover')).toEqual([{ from: v1(primary), to: v1(secondary), code: 'EHTTP' }])
  expect(client.getConnectionState().state).toBe('CONNECTED')
  primary.clearFaults()
  await waitFor(() => seen.count('failback') === 1, 'a failback driven by the connection manager', 3000)
  expect(client.getStats().endpoints[0].active).toBe(true)
  expect(client.getStats().requests.mint.requests + client.getStats().requests.validate.requests).toBe(0)
  expect(seen.count('unhealthy')).toBe(0)
  await client.disconnect()
})

test('the fetch transport fails over too: every endpoint is wired to fetch', async () => {
  const secondary = await startEmulator()
  const dead = await startEmulator()
  const deadUrl = v1(dead)
  await dead.close()
  const client = clientOf({ serviceUrl: [deadUrl, v1(secondary)], transport: 'fetch' })
  expect(client.transport).toBe('fetch')
  expect(await client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
  expect(secondary.stats().minted).toBe(1)
  expect(client.getStats().endpoints.map((e) => e.healthy)).toEqual([false, true])
})

test('healthCheck() asks the endpoint calls go to', async () => {
  const primary = await startEmulator()
  const secondary = await startEmulator()
  const client = clientOf({ serviceUrl: [v1(primary), v1(secondary)], failover: { probeIntervalMs: 60_000 } })
  primary.setFault({ down: true })
  await client.validate('AA-B-CDE-1234-F-25-G-H') // fails over
  expect(await client.healthCheck()).toBe(true)
  await waitFor(() => client.getStats().endpoints[1].active, 'the secondary to be active')
})

test('bad serviceUrl lists and failover options are a TypeError', () => {
  for (const serviceUrl of [
    [],
    [1],
    ['http://127.0.0.1:1', ''],
    ['http://127.0.0.1:1', 'http://127.0.0.1:1/'],
    ['http://127.0.0.1:1', 'ftp://x'],
  ]) {
    expect(() => new ChittyIDClient({ serviceUrl })).toThrow(TypeError)
  }
  for (const failover of [{ probeIntervalMs: -1 }, { failbackSuccesses: 0 }, { failbackSuccesses: 1.5 }, 'x']) {
    expect(() => new ChittyIDClient({ serviceUrl: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], failover })).toThrow(
      TypeError,
    )
  }
  const single = clientOf({ serviceUrl: ['http://127.0.0.1:1'] })
  expect(single.serviceUrl).toBe('http://127.0.0.1:1')
  expect(single.getStats().endpoints).toBeNull()
})
