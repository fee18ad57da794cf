// Fleet mode against a real redis-server: CHITTYID_TEST_REDIS_URL, set by scripts/with-redis.sh
// (`npm test` runs the suites through it). Members in other processes run __test__/fleet-worker.mjs.
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const WORKER = path.join(ROOT, '__test__', 'fleet-worker.mjs')
const REDIS = process.env.CHITTYID_TEST_REDIS_URL
const REDIS_SERVER = process.env.CHITTYID_TEST_REDIS_SERVER

if (!REDIS) {
  console.warn('\n!!! fleet.test.mjs SKIPPED: CHITTYID_TEST_REDIS_URL is not set. Run it as\n!!!   bash scripts/with-redis.sh node --experimental-vm-modules node_modules/jest/bin/jest.js __test__/fleet.test.mjs\n')
}
const withRedis = REDIS ? describe : describe.skip

const prefix = () => `chittyid-jest-${Math.random().toString(16).slice(2, 10)}`

function runWorker(job) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(job)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
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

async function freePort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** True once a redis-server answers PING on `port`. */
function pings(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.setTimeout(500, () => socket.destroy())
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => {
      resolve(d.toString().startsWith('+PONG'))
      socket.destroy()
    })
    socket.on('error', () => resolve(false))
    socket.on('close', () => resolve(false))
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

async function startRedis(port) {
  const child = spawn(REDIS_SERVER, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  for (let i = 0; i < 100 && !(await pings(port)); i++) await sleep(20)
  return child
}

function stopped(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', resolve)
    child.kill('SIGKILL')
  })
}

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
    const job = { mode: 'mint', serviceUrl: `${emulator.url}/v1`, redis: REDIS, keyPrefix, ratePerSecond: N, count: 200, startAt, deadlineMs: 200 }
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
    console.log(`fleet rate: N=${N}/s, busiest 1 s window ${busiest} requests, overall ${overall.toFixed(1)}/s, 429s ${status429}, waits ${reports.map((r) => r.fleet.rateWaits).join("/")}, Redis timeouts ${reports.map((r) => r.fleet.timeouts).join("/")}`)
    // Small tolerance: a starved member sends a few overdue slots back to back.
    expect(busiest).toBeLessThanOrEqual(N * 1.1 + 2)
    expect(overall).toBeLessThanOrEqual(N * 1.02)
    // Four members at N/s each would have finished in about 2 s; one budget takes about 8 s.
    expect((last[0] - first[0]) / 1000).toBeGreaterThan(7)
    expect(status429).toBe(0)
    for (const r of reports) expect(r.fleet).toMatchObject({ connected: true, degraded: false, errors: 0 })
  }, 60000)

  test('a validate() answered in one process is an L2 hit in another', async () => {
    const keyPrefix = prefix()
    const serviceUrl = `${emulator.url}/v1`
    const client = new ChittyIDClient({ serviceUrl, fleet: { redis: REDIS, keyPrefix } })
    const id = await client.mint({ entity: 'PLACE' })
    const before = emulator.stats().requests.validate
    expect(await client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'PLACE' })
    expect(emulator.stats().requests.validate - before).toBe(1)
    // The answer was in Redis before validate() resolved: no wait needed here.

    const other = await runWorker({ mode: 'validate', serviceUrl, redis: REDIS, keyPrefix, id })
    expect(other.result).toEqual({ valid: true, chittyId: id, entity: 'PLACE' })
    expect(emulator.stats().requests.validate - before).toBe(1)
    expect(other.fleet).toMatchObject({ l2Hits: 1, l2Misses: 0 })
    // ...and now in that process's own cache as well.
    expect(other.cache).toMatchObject({ misses: 1, sets: 1 })

    // A process with another key prefix is another fleet: it asks the service.
    const stranger = await runWorker({ mode: 'validate', serviceUrl, redis: REDIS, keyPrefix: prefix(), id })
    expect(stranger.fleet).toMatchObject({ l2Hits: 0, l2Misses: 1 })
    expect(emulator.stats().requests.validate - before).toBe(2)
    expect(client.getStats().fleet).toMatchObject({ l2Writes: 1, connected: true })
    await client.close()
  })

  const killable = REDIS_SERVER ? test : test.skip
  killable('killing Redis mid-run loses nothing; the client degrades, keeps going and reconnects', async () => {
    const port = await freePort()
    let redis = await startRedis(port)
    const url = `redis://127.0.0.1:${port}/`
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, fleet: { redis: url, keyPrefix: prefix(), ratePerSecond: 400, burst: 20, deadlineMs: 50 } })
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
          outcomes.push(await client.mint({ entity: 'PEO' }).then(() => 'ok', (e) => e.code))
          latencies.push([phase, performance.now() - t0])
        }
      }
      const load = Promise.all(Array.from({ length: 8 }, () => run(75)))
      await sleep(300)
      expect(client.getStats().fleet).toMatchObject({ connected: true, degraded: false })
      await stopped(redis)
      phase = 'down'
      for (let i = 0; i < 100 && !client.getStats().fleet.degraded; i++) await sleep(20)
      expect(client.getStats().fleet.degraded).toBe(true)
      await sleep(300)
      redis = await startRedis(port)
      phase = 'back'
      for (let i = 0; i < 150 && client.getStats().fleet.degraded; i++) await sleep(20)
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
      const down = latencies.filter(([p]) => p === 'down').map(([, ms]) => ms).sort((a, b) => a - b)
      expect(down.length).toBeGreaterThan(0)
      expect(percentile(down, 0.5)).toBeLessThan(50)
    } finally {
      await client.close()
      await stopped(redis)
    }
  }, 60000)

  test('a 429 in one instance pauses the others', async () => {
    const keyPrefix = prefix()
    const serviceUrl = `${emulator.url}/v1`
    const a = new ChittyIDClient({ serviceUrl, retry: false, fleet: { redis: REDIS, keyPrefix } })
    const b = new ChittyIDClient({ serviceUrl, fleet: { redis: REDIS, keyPrefix, ratePerSecond: 1000, burst: 100 } })
    try {
      await b.mint({ entity: 'PEO' })
      emulator.setFault({ rateLimitRetryAfter: 1, remaining: 1, routes: ['mint'] })
      await expect(a.mint({ entity: 'PEO' })).rejects.toMatchObject({ status: 429 })
      emulator.clearFaults()
      await sleep(50) // the pause is written to Redis right after the answer
      const t0 = performance.now()
      await b.mint({ entity: 'PEO' })
      const waited = performance.now() - t0
      expect(waited).toBeGreaterThan(800)
      expect(waited).toBeLessThan(1500)
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
    const a = new ChittyIDClient({ serviceUrl, retry: false, circuitBreaker: { failureThreshold: 2, resetTimeout: 5000 }, fleet: { redis: REDIS, keyPrefix } })
    const b = new ChittyIDClient({ serviceUrl, retry: false, circuitBreaker: { failureThreshold: 5, resetTimeout: 5000 }, fleet: { redis: REDIS, keyPrefix } })
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
    const measure = async (client, n) => {
      const ms = []
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        await client.mint({ entity: 'PEO' })
        ms.push(performance.now() - t0)
      }
      return ms.sort((a, b) => a - b)
    }
    const plain = new ChittyIDClient({ serviceUrl })
    const fleet = new ChittyIDClient({ serviceUrl, fleet: { redis: REDIS, keyPrefix: prefix(), ratePerSecond: 1e6, burst: 1e6 } })
    await measure(plain, 50)
    await measure(fleet, 50)
    const a = await measure(plain, 400)
    const b = await measure(fleet, 400)
    console.log(`mint latency ms: plain p50 ${percentile(a, 0.5).toFixed(3)} p99 ${percentile(a, 0.99).toFixed(3)}; fleet (rate budget on) p50 ${percentile(b, 0.5).toFixed(3)} p99 ${percentile(b, 0.99).toFixed(3)}`)
    expect(percentile(b, 0.5) - percentile(a, 0.5)).toBeLessThan(5)
    expect(fleet.getStats().fleet).toMatchObject({ connected: true, errors: 0 })
    const open = await redisClients(REDIS)
    await plain.close()
    await fleet.close()
    // close() closes the fleet's Redis connection at once, not when the client is collected.
    for (let i = 0; i < 50 && (await redisClients(REDIS)) !== open - 1; i++) await sleep(10)
    expect(await redisClients(REDIS)).toBe(open - 1)
    expect(fleet.getStats().fleet).toMatchObject({ connected: false, degraded: false })
  })
})

describe('fleet option', () => {
  test('is off by default and checked when given', () => {
    const client = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1' })
    expect(client.getStats().fleet).toBeNull()
    for (const fleet of [
      'redis://127.0.0.1:6379',
      { redis: 'http://127.0.0.1:6379' },
      { redis: 'rediss://127.0.0.1:6379' },
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
    expect(() => new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1', fleet: { redis: 'redis://127.0.0.1:6379', rate: 5 } })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_CHITTYID_UNKNOWN_OPTION', option: 'fleet.rate' }),
    )
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
