// Fleet mode against a real redis-server: CHITTYID_TEST_REDIS_URL, set by scripts/with-redis.sh
// (`npm test` runs the suites through it). Members in other processes run __test__/fleet-worker.mjs.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import { makeCertificates } from './certificates.mjs'
import { REDIS_SERVER, freePort, redisCommand, startRedis, stopped } from './redis-server.mjs'
import { record, waitFor } from './wait.mjs'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const WORKER = path.join(ROOT, '__test__', 'fleet-worker.mjs')
const REDIS = process.env.CHITTYID_TEST_REDIS_URL

if (!REDIS) {
  console.warn(
    '\n!!! fleet.test.mjs SKIPPED: CHITTYID_TEST_REDIS_URL is not set. Run it as\n!!!   bash scripts/with-redis.sh node --experimental-vm-modules node_modules/jest/bin/jest.js __test__/fleet.test.mjs\n',
  )
}
const withRedis = REDIS ? describe : describe.skip
if (!REDIS && ['1', 'true'].includes(process.env.CHITTYID_REQUIRE_REDIS)) {
  test('a Redis is required here (CHITTYID_REQUIRE_REDIS)', () => {
    throw new Error('CHITTYID_REQUIRE_REDIS is set but CHITTYID_TEST_REDIS_URL is not: run under scripts/with-redis.sh')
  })
}

const prefix = () => `chittyid-jest-${Math.random().toString(16).slice(2, 10)}`

function runWorker(job) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(job)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`worker exited ${code}: ${err}`))
      resolve(JSON.parse(out.trim().split('\n').pop()))
    })
  })
}

/** `connected_clients` of the redis-server at `url`, this probe's connection included. */
function redisClients(url) {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname)
    let text = ''
    socket.on('connect', () => socket.write('INFO clients\r\n'))
    socket.on('data', (d) => {
      text += d
      const match = /connected_clients:(\d+)/.exec(text)
      if (match) {
        socket.destroy()
        resolve(Number(match[1]))
      }
    })
    socket.on('error', reject)
  })
}

/** One command to the test Redis, as any process with access to it could send. */
const onTestRedis = (...args) => redisCommand(Number(new URL(REDIS).port), args)

/** The Redis key of `id`'s shared verdict for a client of `serviceUrl` (docs/ARCHITECTURE.md "Fleet"). */
const verdictKey = (keyPrefix, serviceUrl, id) =>
  `${keyPrefix}:${createHash('sha256').update(serviceUrl).digest('hex').slice(0, 16)}:sv:${id}`

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)]
}

withRedis('fleet mode', () => {
  let emulator
  beforeAll(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0 })
  })
  afterAll(async () => {
    await emulator.close()
  })

  test('4 processes × 200 concurrent mints keep to the fleet budget of N/s together', async () => {
    const N = 100
    const before = emulator.stats().requests.mint
    const keyPrefix = prefix()
    const startAt = Date.now() + 2500
    const samples = []
    const sampler = setInterval(() => samples.push([performance.now(), emulator.stats().requests.mint - before]), 50)
    // A roomy deadline: on a loaded 2-vCPU machine a member's I/O thread can be starved past the
    // default 30 ms, and a member that goes local-only adds its share on top of the fleet's.
    const job = {
      mode: 'mint',
      serviceUrl: `${emulator.url}/v1`,
      redis: REDIS,
      keyPrefix,
      ratePerSecond: N,
      count: 200,
      startAt,
      deadlineMs: 200,
    }
    const reports = await Promise.all([1, 2, 3, 4].map(() => runWorker(job)))
    clearInterval(sampler)
    samples.push([performance.now(), emulator.stats().requests.mint - before])

    const ok = reports.reduce((n, r) => n + r.ok, 0)
    const status429 = reports.reduce((n, r) => n + r.status429, 0)
    expect(reports.map((r) => r.errors)).toEqual([{}, {}, {}, {}])
    expect(ok).toBe(800)
    expect(emulator.stats().requests.mint - before).toBe(800)
    // The busiest second: requests between samples about 1 s apart (sampling adds <= 50 ms).
    let busiest = 0
    for (let i = 0, j = 0; i < samples.length; i++) {
      while (j < samples.length && samples[j][0] - samples[i][0] <= 1000) j++
      busiest = Math.max(busiest, samples[j - 1][1] - samples[i][1])
    }
    const first = samples.find(([, n]) => n > 0)
    const last = samples.find(([, n]) => n === 800)
    const overall = (800 - first[1]) / ((last[0] - first[0]) / 1000)
    console.log(
      `fleet rate: N=${N}/s, busiest 1 s window ${busiest} requests, overall ${overall.toFixed(1)}/s, 429s ${status429}, waits ${reports.map((r) => r.fleet.rateWaits).join('/')}, Redis timeouts ${reports.map((r) => r.fleet.timeouts).join('/')}`,
    )
    // A starved member sends its overdue slots back to back when it runs again: 158 in one
    // second was seen at a load of 15 (no Redis timeouts). Four budgets would give about 4 N;
    // the overall rate and the duration below are the exact part.
    expect(busiest).toBeLessThanOrEqual(N * 2)
    expect(overall).toBeLessThanOrEqual(N * 1.02)
    // Four members at N/s each would have finished in about 2 s; one budget takes about 8 s.
    expect((last[0] - first[0]) / 1000).toBeGreaterThan(7)
    expect(status429).toBe(0)
    for (const r of reports) expect(r.fleet).toMatchObject({ connected: true, degraded: false, errors: 0 })
  }, 60000)

  test('a validate() answered in one process is an L2 hit in another', async () => {
    const keyPrefix = prefix()
    const serviceUrl = `${emulator.url}/v1`
    // Connected, and with a roomy deadline: on a loaded machine a lookup or write can outlast
    // the default 30 ms and stay local (the worker does the same in "validate" mode).
    const client = new ChittyIDClient({
      serviceUrl,
      apiKey: 'fleet-key',
      fleet: { redis: REDIS, keyPrefix, deadlineMs: 1000 },
    })
    await waitFor(() => client.getStats().fleet.connected, 'the fleet connected', 10000)
    const id = await client.mint({ entity: 'PLACE' })
    const before = emulator.stats().requests.validate
    expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PLACE' })
    expect(emulator.stats().requests.validate - before).toBe(1)
    // The answer was in Redis before validate() resolved: no wait needed here.

    const other = await runWorker({ mode: 'validate', serviceUrl, redis: REDIS, keyPrefix, id, apiKey: 'fleet-key' })
    expect(other.result).toEqual({ valid: true, chittyId: id, entity: 'PLACE' })
    expect(emulator.stats().requests.validate - before).toBe(1)
    expect(other.fleet).toMatchObject({ l2Hits: 1, l2Misses: 0 })
    // ...and now in that process's own cache as well.
    expect(other.cache).toMatchObject({ misses: 1, sets: 1 })

    // A process with another key prefix is another fleet: it asks the service.
    const stranger = await runWorker({
      mode: 'validate',
      serviceUrl,
      redis: REDIS,
      keyPrefix: prefix(),
      id,
      apiKey: 'fleet-key',
    })
    expect(stranger.fleet).toMatchObject({ l2Hits: 0, l2Misses: 1 })
    expect(emulator.stats().requests.validate - before).toBe(2)
    expect(client.getStats().fleet).toMatchObject({ l2Writes: 1, connected: true })
    await client.close()
  })

  test('a verdict written into Redis by anyone else is never served', async () => {
    const keyPrefix = prefix()
    const serviceUrl = `${emulator.url}/v1`
    const client = new ChittyIDClient({ serviceUrl, apiKey: 'fleet-key', fleet: { redis: REDIS, keyPrefix } })
    try {
      const minted = await client.mint({ entity: 'PEO' })
      // Well formed, with a wrong check character: the service says "not valid".
      const wrongCheck = (n) => `${minted.slice(0, -1)}${'0123'.replace(minted.at(-1), '')[n]}`
      const unknown = wrongCheck(0)
      const before = emulator.stats().requests.validate
      // A bare verdict (the old clients' format), written by anyone with access to the Redis.
      for (const id of [unknown, 'NOT-A-CHITTY-ID'])
        await onTestRedis('SET', verdictKey(keyPrefix, client.serviceUrl, id), '1', 'PX', '60000')
      expect(await client.validate('NOT-A-CHITTY-ID')).toMatchObject({ valid: false })
      expect(await client.validate(unknown)).toMatchObject({ valid: false })
      // Both went to the service; the well-formed id's forgery was seen and counted.
      expect(emulator.stats().requests.validate - before).toBe(2)
      expect(client.getStats().fleet).toMatchObject({ l2Rejected: 1, l2Hits: 0 })
      // A genuine "valid" entry copied under another id's key is refused as well.
      expect((await client.validate(minted)).valid).toBe(true)
      const genuine = await onTestRedis('GET', verdictKey(keyPrefix, client.serviceUrl, minted))
      expect(genuine).toMatch(/^1\.\d+\.[0-9a-f]{64}$/)
      const copyTarget = wrongCheck(1)
      await onTestRedis('SET', verdictKey(keyPrefix, client.serviceUrl, copyTarget), genuine, 'PX', '60000')
      const other = await runWorker({
        mode: 'validate',
        serviceUrl,
        redis: REDIS,
        keyPrefix,
        id: copyTarget,
        apiKey: 'fleet-key',
      })
      expect(other.result).toMatchObject({ valid: false })
      expect(other.fleet).toMatchObject({ l2Rejected: 1, l2Hits: 0 })
      // ...while the genuine entry is a hit for a member with the same API key, and not one
      // for a fleet with another key under the same prefix.
      const friend = await runWorker({
        mode: 'validate',
        serviceUrl,
        redis: REDIS,
        keyPrefix,
        id: minted,
        apiKey: 'fleet-key',
      })
      expect(friend.fleet).toMatchObject({ l2Hits: 1, l2Rejected: 0 })
      const foreign = await runWorker({
        mode: 'validate',
        serviceUrl,
        redis: REDIS,
        keyPrefix,
        id: minted,
        apiKey: 'another-key',
      })
      expect(foreign.fleet).toMatchObject({ l2Hits: 0, l2Rejected: 1 })
      expect(JSON.stringify(await onTestRedis('GET', verdictKey(keyPrefix, client.serviceUrl, minted)))).not.toContain(
        'fleet-key',
      )
    } finally {
      await client.close()
    }
  })

  test('invalidate(id) deletes the shared entry: another process asks the service again', async () => {
    const keyPrefix = prefix()
    const serviceUrl = `${emulator.url}/v1`
    const client = new ChittyIDClient({ serviceUrl, apiKey: 'fleet-key', fleet: { redis: REDIS, keyPrefix } })
    try {
      const id = await client.mint({ entity: 'PEO' })
      await client.validate(id)
      const key = verdictKey(keyPrefix, client.serviceUrl, id)
      expect(await onTestRedis('EXISTS', key)).toBe('1')
      const before = emulator.stats().requests.validate
      await expect(client.invalidate(id)).resolves.toBe(true)
      expect(await onTestRedis('EXISTS', key)).toBe('0')
      expect(client.getStats().cache).toMatchObject({ size: 0 })
      const other = await runWorker({ mode: 'validate', serviceUrl, redis: REDIS, keyPrefix, id, apiKey: 'fleet-key' })
      expect(other.fleet).toMatchObject({ l2Hits: 0, l2Misses: 1 })
      expect(emulator.stats().requests.validate - before).toBe(1)
      // Held nowhere any more (the other process stored its fresh answer in Redis again).
      await onTestRedis('DEL', key)
      await expect(client.invalidate(id)).resolves.toBe(false)
    } finally {
      await client.close()
    }
  })

  const killable = REDIS_SERVER ? test : test.skip
  killable(
    'killing Redis mid-run loses nothing; the client degrades, keeps going and reconnects',
    async () => {
      const port = await freePort()
      let redis = await startRedis(port)
      const url = `redis://127.0.0.1:${port}/`
      const client = new ChittyIDClient({
        serviceUrl: `${emulator.url}/v1`,
        fleet: { redis: url, keyPrefix: prefix(), ratePerSecond: 400, burst: 20, deadlineMs: 50 },
      })
      const events = []
      client.on('fleetDegraded', (e) => events.push(['fleetDegraded', e.reason]))
      client.on('fleetRestored', () => events.push(['fleetRestored']))
      const mintedBefore = emulator.stats().minted
      try {
        const outcomes = []
        const latencies = []
        let phase = 'up'
        const run = async (n) => {
          for (let i = 0; i < n; i++) {
            const t0 = performance.now()
            outcomes.push(
              await client.mint({ entity: 'PEO' }).then(
                () => 'ok',
                (e) => e.code,
              ),
            )
            latencies.push([phase, performance.now() - t0])
          }
        }
        const load = Promise.all(Array.from({ length: 8 }, () => run(75)))
        await sleep(300)
        expect(client.getStats().fleet).toMatchObject({ connected: true, degraded: false })
        await stopped(redis)
        phase = 'down'
        for (let i = 0; i < 500 && !client.getStats().fleet.degraded; i++) await sleep(20)
        expect(client.getStats().fleet.degraded).toBe(true)
        await sleep(300)
        redis = await startRedis(port)
        phase = 'back'
        for (let i = 0; i < 500 && client.getStats().fleet.degraded; i++) await sleep(20)
        await load

        expect(outcomes.length).toBe(600)
        expect(outcomes.filter((o) => o !== 'ok')).toEqual([])
        expect(emulator.stats().minted - mintedBefore).toBe(600)
        const fleet = client.getStats().fleet
        expect(fleet).toMatchObject({ connected: true, degraded: false, degradations: 1, restorations: 1 })
        expect(fleet.errors + fleet.timeouts).toBeGreaterThan(0)
        expect(events.map(([name]) => name)).toEqual(['fleetDegraded', 'fleetRestored'])
        expect(events[0][1]).toEqual(expect.any(String))
        // While Redis was down the calls paid nothing for it.
        const down = latencies
          .filter(([p]) => p === 'down')
          .map(([, ms]) => ms)
          .sort((a, b) => a - b)
        expect(down.length).toBeGreaterThan(0)
        expect(percentile(down, 0.5)).toBeLessThan(50)
      } finally {
        await client.close()
        await stopped(redis)
      }
    },
    60000,
  )

  test('a connection that goes silent (a flow lost between here and Redis) is replaced: the fleet comes back', async () => {
    // Redis behind a TCP relay that, while "partitioned", forwards nothing on the flows open
    // then, for good, as a NAT or load balancer that lost its state does; new flows work.
    const target = new URL(REDIS)
    const flows = []
    let partitioned = false
    const relay = net.createServer((inbound) => {
      const flow = { inbound, silent: partitioned }
      flows.push(flow)
      const outbound = net.connect(Number(target.port), target.hostname)
      inbound.on('error', () => {})
      outbound.on('error', () => {})
      inbound.on('data', (d) => flow.silent || outbound.write(d))
      outbound.on('data', (d) => flow.silent || inbound.write(d))
      inbound.on('close', () => outbound.destroy())
      outbound.on('close', () => inbound.destroy())
    })
    await new Promise((resolve) => relay.listen(0, '127.0.0.1', resolve))
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      fleet: {
        redis: `redis://127.0.0.1:${relay.address().port}/`,
        keyPrefix: prefix(),
        ratePerSecond: 1000,
        deadlineMs: 50,
      },
    })
    const events = record(client, ['fleetDegraded', 'fleetRestored'])
    const mintFor = async (ms) => {
      for (const end = performance.now() + ms; performance.now() < end;) {
        await client.mint({ entity: 'PEO' })
        await sleep(20)
      }
    }
    try {
      await mintFor(300)
      expect(client.getStats().fleet).toMatchObject({ connected: true, degraded: false })
      partitioned = true
      for (const flow of flows) flow.silent = true
      await mintFor(700)
      expect(client.getStats().fleet).toMatchObject({ degraded: true })
      partitioned = false
      // A probe every 500 ms, each given 1 s: restored within a few seconds on a loaded machine.
      for (let i = 0; i < 100 && client.getStats().fleet.degraded; i++) await mintFor(100)
      expect(client.getStats().fleet).toMatchObject({ connected: true, degraded: false, restorations: 1 })
      // The event reaches this thread after the stats change.
      await waitFor(() => events.count('fleetRestored') > 0, 'fleetRestored', 10000)
      expect(events.names()).toEqual(['fleetDegraded', 'fleetRestored'])
      expect(flows.length).toBeGreaterThan(1)
    } finally {
      await client.close()
      relay.close()
      for (const flow of flows) flow.inbound.destroy()
    }
  }, 30000)

  test('calls aborted while waiting for their slot of the fleet budget give it back to the fleet', async () => {
    const keyPrefix = prefix()
    const serviceUrl = `${emulator.url}/v1`
    const fleet = { redis: REDIS, keyPrefix, ratePerSecond: 10, burst: 1 }
    const a = new ChittyIDClient({ serviceUrl, timeout: 30000, fleet })
    const b = new ChittyIDClient({ serviceUrl, timeout: 30000, fleet })
    try {
      const controller = new AbortController()
      const queued = Array.from({ length: 100 }, () =>
        a.mint({ entity: 'PEO' }, { signal: controller.signal }).catch((e) => e.code),
      )
      await sleep(1000)
      controller.abort()
      await Promise.all(queued)
      await sleep(200) // the aborted calls end on the I/O thread and return their tokens
      // About 90 slots (9 s at 10/s) were reserved in Redis; another instance need not wait for them.
      const t0 = performance.now()
      await b.mint({ entity: 'PEO' })
      expect(performance.now() - t0).toBeLessThan(5000)
    } finally {
      await a.close()
      await b.close()
    }
  }, 20000)

  test('a 429 in one instance pauses the others', async () => {
    const keyPrefix = prefix()
    const serviceUrl = `${emulator.url}/v1`
    const a = new ChittyIDClient({ serviceUrl, retry: false, fleet: { redis: REDIS, keyPrefix } })
    const b = new ChittyIDClient({ serviceUrl, fleet: { redis: REDIS, keyPrefix, ratePerSecond: 1000, burst: 100 } })
    try {
      await b.mint({ entity: 'PEO' })
      // A 3 s pause: b still finds most of it left when a loaded machine is slow to get there.
      emulator.setFault({ rateLimitRetryAfter: 3, remaining: 1, routes: ['mint'] })
      await expect(a.mint({ entity: 'PEO' })).rejects.toMatchObject({ status: 429 })
      emulator.clearFaults()
      await sleep(50) // the pause is written to Redis right after the answer
      const t0 = performance.now()
      await b.mint({ entity: 'PEO' })
      const waited = performance.now() - t0
      // Not paused: a few ms; paused: what is left of the 3 s, and no more.
      expect(waited).toBeGreaterThan(1000)
      expect(waited).toBeLessThan(4500)
      expect(a.getStats().fleet).toMatchObject({ pausesPublished: 1 })
      expect(b.getStats().fleet).toMatchObject({ pauseWaits: 1, pausesPublished: 0 })
    } finally {
      emulator.clearFaults()
      await a.close()
      await b.close()
    }
  })

  test('a circuit that opens in one instance makes the others probe instead of hammering', async () => {
    const keyPrefix = prefix()
    const serviceUrl = `${emulator.url}/v1`
    const a = new ChittyIDClient({
      serviceUrl,
      retry: false,
      circuitBreaker: { failureThreshold: 2, resetTimeout: 5000 },
      fleet: { redis: REDIS, keyPrefix },
    })
    const b = new ChittyIDClient({
      serviceUrl,
      retry: false,
      circuitBreaker: { failureThreshold: 5, resetTimeout: 5000 },
      fleet: { redis: REDIS, keyPrefix },
    })
    const seen = []
    b.on('circuitHalfOpen', () => seen.push('circuitHalfOpen'))
    b.on('circuitOpen', () => seen.push('circuitOpen'))
    try {
      await b.mint({ entity: 'PEO' })
      emulator.setFault({ errorStatus: 503, routes: ['mint'] })
      for (let i = 0; i < 2; i++) await expect(a.mint({ entity: 'PEO' })).rejects.toMatchObject({ status: 503 })
      expect(a.getStats().breaker.state).toBe('OPEN')
      await sleep(300) // past b's refresh interval
      const before = emulator.stats().requests.mint
      // b reads the hint in the background while it makes calls (at the latest on this first
      // one); the call after that is a trial, and its failure opens b's circuit.
      for (let i = 0; i < 5 && b.getStats().breaker.state !== 'OPEN'; i++) {
        await expect(b.mint({ entity: 'PEO' })).rejects.toMatchObject({ status: 503 })
        await sleep(100)
      }
      expect(b.getStats().breaker.state).toBe('OPEN')
      await expect(b.mint({ entity: 'PEO' })).rejects.toMatchObject({ code: 'ECIRCUITOPEN' })
      // Not the 5 failures of its own threshold.
      expect(emulator.stats().requests.mint - before).toBeLessThanOrEqual(2)
      expect(seen).toEqual(['circuitHalfOpen', 'circuitOpen'])
      expect(b.getStats().fleet).toMatchObject({ breakerHintsApplied: 1 })
      expect(a.getStats().fleet).toMatchObject({ breakerHintsPublished: 1, breakerHintsApplied: 0 })
    } finally {
      emulator.clearFaults()
      await a.close()
      await b.close()
    }
  })

  test('fleet mode adds little latency per mint', async () => {
    const serviceUrl = `${emulator.url}/v1`
    // The two clients take turns, so a change in the machine's load weighs on both alike.
    const measure = async (clients, n) => {
      const ms = clients.map(() => [])
      for (let i = 0; i < n; i++) {
        for (const [k, client] of clients.entries()) {
          const t0 = performance.now()
          await client.mint({ entity: 'PEO' })
          ms[k].push(performance.now() - t0)
        }
      }
      return ms.map((list) => list.sort((x, y) => x - y))
    }
    const plain = new ChittyIDClient({ serviceUrl })
    const fleet = new ChittyIDClient({
      serviceUrl,
      fleet: { redis: REDIS, keyPrefix: prefix(), ratePerSecond: 1e6, burst: 1e6 },
    })
    await measure([plain, fleet], 50)
    const [a, b] = await measure([plain, fleet], 400)
    console.log(
      `mint latency ms: plain p50 ${percentile(a, 0.5).toFixed(3)} p99 ${percentile(a, 0.99).toFixed(3)}; fleet (rate budget on) p50 ${percentile(b, 0.5).toFixed(3)} p99 ${percentile(b, 0.99).toFixed(3)}`,
    )
    expect(percentile(b, 0.5) - percentile(a, 0.5)).toBeLessThan(5)
    expect(fleet.getStats().fleet).toMatchObject({ connected: true, errors: 0 })
    const open = await redisClients(REDIS)
    await plain.close()
    await fleet.close()
    // close() closes the fleet's Redis connection at once, not when the client is collected.
    for (let i = 0; i < 500 && (await redisClients(REDIS)) !== open - 1; i++) await sleep(10)
    expect(await redisClients(REDIS)).toBe(open - 1)
    expect(fleet.getStats().fleet).toMatchObject({ connected: false, degraded: false })
  })
})

/** True once a TLS handshake with `port` succeeds and PING answers. */
async function tlsPings(port, ca) {
  const tls = await import('node:tls')
  return new Promise((resolve) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca }, () => socket.write('PING\r\n'))
    socket.setTimeout(500, () => socket.destroy())
    socket.on('data', (d) => {
      resolve(d.toString().startsWith('+PONG'))
      socket.destroy()
    })
    socket.on('error', () => resolve(false))
    socket.on('close', () => resolve(false))
  })
}

const withTlsRedis = REDIS_SERVER ? describe : describe.skip
withTlsRedis('fleet mode over rediss:// (a redis-server with tls-port)', () => {
  let emulator
  let redis
  let certs
  let url
  let dir
  beforeAll(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0 })
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chittyid-redis-tls-'))
    certs = makeCertificates(dir)
    const port = await freePort()
    redis = spawn(
      REDIS_SERVER,
      [
        '--bind',
        '127.0.0.1',
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        certs.certFile,
        '--tls-key-file',
        certs.keyFile,
        '--tls-ca-cert-file',
        certs.caFile,
        '--tls-auth-clients',
        'no',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    )
    let up = false
    for (let i = 0; i < 500 && !up && redis.exitCode === null; i++)
      up = (await tlsPings(port, certs.ca)) || (await sleep(20), false)
    if (!up)
      throw new Error(
        `${REDIS_SERVER} did not serve TLS on --tls-port (exit code ${redis.exitCode}): it needs a redis-server built with TLS, as Debian's is`,
      )
    url = `rediss://127.0.0.1:${port}/`
  })
  afterAll(async () => {
    await emulator.close()
    if (redis) await stopped(redis)
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  const fleetClient = (extra = {}) =>
    new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      apiKey: 'fleet-key',
      fleet: { redis: url, keyPrefix: prefix() },
      ...extra,
    })

  test('with the CA given as `ca`, the fleet connects and shares verdicts over TLS', async () => {
    const client = fleetClient({ ca: certs.ca })
    try {
      // The TLS handshake runs in the background; a validate before it ends stays local.
      await waitFor(() => client.getStats().fleet.connected, 'the fleet connected over TLS', 10000)
      const id = await client.mint({ entity: 'PEO' })
      expect((await client.validate(id)).valid).toBe(true)
      expect(client.getStats().fleet).toMatchObject({ connected: true, degraded: false, errors: 0, l2Writes: 1 })
    } finally {
      await client.close()
    }
  })

  test('a certificate nobody vouches for is refused: the fleet goes local-only, calls still succeed', async () => {
    const client = fleetClient()
    const reasons = []
    client.on('fleetDegraded', (e) => reasons.push(e.reason))
    try {
      const id = await client.mint({ entity: 'PEO' })
      expect((await client.validate(id)).valid).toBe(true)
      // The event, not the stats: it reaches this thread after the stats change.
      await waitFor(() => reasons.length > 0, 'fleetDegraded', 10000)
      expect(client.getStats().fleet).toMatchObject({ connected: false, degraded: true, l2Writes: 0 })
      expect(reasons.length).toBe(1)
    } finally {
      await client.close()
    }
  })

  test('NODE_TLS_REJECT_UNAUTHORIZED=0 turns verification off, as for the service', async () => {
    const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
    let client
    try {
      client = fleetClient()
    } finally {
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved
    }
    try {
      await waitFor(() => client.getStats().fleet.connected, 'the fleet connected over TLS', 10000)
      const id = await client.mint({ entity: 'PEO' })
      expect((await client.validate(id)).valid).toBe(true)
      expect(client.getStats().fleet).toMatchObject({ connected: true, degraded: false, l2Writes: 1 })
    } finally {
      await client.close()
    }
  })

  test('a plain redis:// URL to the TLS port does not connect', async () => {
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      apiKey: 'fleet-key',
      ca: certs.ca,
      fleet: { redis: url.replace('rediss:', 'redis:'), keyPrefix: prefix(), deadlineMs: 200 },
    })
    try {
      await client.mint({ entity: 'PEO' })
      for (let i = 0; i < 500 && !client.getStats().fleet.degraded; i++) await sleep(20)
      expect(client.getStats().fleet).toMatchObject({ connected: false, degraded: true })
    } finally {
      await client.close()
    }
  })
})

describe('fleet option', () => {
  test('is off by default and checked when given', () => {
    const client = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1' })
    expect(client.getStats().fleet).toBeNull()
    for (const fleet of [
      'redis://127.0.0.1:6379',
      { redis: 'http://127.0.0.1:6379' },
      { redis: 'rediss://127.0.0.1:6379/#insecure' },
      { redis: 'redis://127.0.0.1:6379', deadlineMs: 0 },
      { redis: 'redis://127.0.0.1:6379', deadlineMs: '5' },
      { redis: 'redis://127.0.0.1:6379', ratePerSecond: -1 },
      { redis: 'redis://127.0.0.1:6379', ratePerSecond: Infinity },
      { redis: 'redis://127.0.0.1:6379', burst: 2 },
      { redis: 'redis://127.0.0.1:6379', keyPrefix: 'has space' },
    ]) {
      let thrown
      try {
        new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1', fleet })
      } catch (err) {
        thrown = err
      }
      expect(thrown).toBeInstanceOf(TypeError)
      expect(thrown.code).toBe('ERR_INVALID_ARG_VALUE')
    }
    // A name the fleet option does not have.
    expect(
      () =>
        new ChittyIDClient({
          serviceUrl: 'http://127.0.0.1:9/v1',
          fleet: { redis: 'redis://127.0.0.1:6379', rate: 5 },
        }),
    ).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_CHITTYID_UNKNOWN_OPTION', option: 'fleet.rate' }))
  })

  test('fleetDegraded reaches a listener added in the same tick as the constructor, whatever ran in between', async () => {
    const port = await freePort()
    const client = new ChittyIDClient({
      serviceUrl: 'http://127.0.0.1:9/v1',
      fleet: { redis: `redis://127.0.0.1:${port}/` },
    })
    // Synchronous work in the same tick (a service's own setup): before the fix the fleet was
    // already connecting, Redis refused it within this time, and the event, emitted before
    // any listener had attached the native event sink, was dropped.
    const until = Date.now() + 300
    while (Date.now() < until);
    const reasons = []
    client.on('fleetDegraded', (e) => reasons.push(e.reason))
    try {
      await waitFor(() => reasons.length > 0, 'fleetDegraded', 10000)
      expect(reasons).toHaveLength(1)
      expect(client.getStats().fleet).toMatchObject({ degraded: true, connected: false })
    } finally {
      await client.close()
    }
  })

  test('with Redis unreachable, calls still succeed and nothing leaks the password or API key', async () => {
    const emu = await ChittyIDEmulator.start({ port: 0, token: 'the-api-key' })
    const port = await freePort()
    const client = new ChittyIDClient({
      serviceUrl: `${emu.url}/v1`,
      apiKey: 'the-api-key',
      fleet: { redis: `redis://:hunter2@127.0.0.1:${port}/`, apiKeyScope: true, ratePerSecond: 1000, burst: 10 },
    })
    const events = []
    client.on('fleetDegraded', (e) => events.push(e))
    const ids = await Promise.all(Array.from({ length: 20 }, () => client.mint({ entity: 'PEO' })))
    expect(new Set(ids).size).toBe(20)
    const id = ids[0]
    expect((await client.validate(id)).valid).toBe(true)
    const stats = client.getStats()
    expect(stats.fleet).toMatchObject({ degraded: true, connected: false, degradations: 1 })
    const visible = JSON.stringify([stats, events, client.metrics()])
    expect(visible).not.toContain('hunter2')
    expect(visible).not.toContain('the-api-key')
    expect(client.metrics()).toContain('chittyid_client_fleet_degraded 1')
    await client.close()
    await emu.close()
  })
})
