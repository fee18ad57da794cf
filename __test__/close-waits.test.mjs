// `await close()` settles only once what it stopped has ended (docs/ARCHITECTURE.md, "Closing"):
// the calls in flight have rejected, the stats are final, no event comes afterwards, and the
// client's idle pooled connections are closed even while the client is still referenced. The
// wait is bounded: work that cannot be stopped in time does not hang close().

import { createServer } from 'node:http'
import { jest } from '@jest/globals'
import { createServer as createTcpServer } from 'node:net'

import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import * as portable from '../portable.mjs'
import { INDEX, ROOT, listenCounting, runNode, sleep, waitFor } from './wait.mjs'

const TRANSPORT = process.env.CHITTYID_TRANSPORT === 'fetch' ? 'fetch' : 'native'

/** An HTTP server answering every request at once, keeping connections alive; counts them. */
function keepAliveServer() {
  const server = createServer((req, res) => {
    req.resume()
    res.setHeader('content-type', 'application/json')
    // Slow enough that concurrent calls open connections of their own.
    setTimeout(() => res.end('{"status":"ok"}'), 50)
  })
  // Longer than the bound below: only the client closing them ends these connections early.
  server.keepAliveTimeout = 60000
  return listenCounting(server)
}

describe('await close() with calls in flight', () => {
  let emulator
  beforeAll(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0 })
  })
  afterAll(() => emulator.close())

  test('right after it, every call has rejected, the stats are final and no event comes', async () => {
    emulator.setFault({ latencyMs: 5000 })
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      timeout: 30000,
      circuitBreaker: false,
      transport: TRANSPORT,
    })
    const events = []
    for (const name of ['retry', 'stateChange', 'error', 'circuitOpen', 'failover'])
      client.on(name, () => events.push(name))
    const before = emulator.stats().requests
    const sent = () =>
      emulator.stats().requests.mint - before.mint + emulator.stats().requests.validate - before.validate
    const outcomes = []
    const controller = new AbortController()
    const calls = [
      ...Array.from({ length: 12 }, () => client.mint({ entity: 'PEO' })),
      ...Array.from({ length: 4 }, () => client.mint({ entity: 'PEO' }, { signal: controller.signal })),
      ...Array.from({ length: 4 }, (_, i) => client.validate(`CT-A-CHI-123${i}-P-24-A-0`)),
    ].map((p) =>
      p.then(
        (value) => outcomes.push(value),
        (err) => outcomes.push(err.code),
      ),
    )
    await waitFor(() => sent() === calls.length, 'every request at the service', 10000)
    await client.close()
    // Every caller already heard its rejection.
    expect(outcomes).toHaveLength(calls.length)
    expect(new Set(outcomes)).toEqual(new Set(['ECLIENTCLOSED']))
    // Each attempt the service received is counted already, and nothing changes later.
    const stats = client.getStats()
    expect(stats.requests.mint).toMatchObject({ requests: 16, errors: 16 })
    expect(stats.requests.validate).toMatchObject({ requests: 4, errors: 4 })
    const metrics = client.metrics()
    await sleep(300)
    expect(client.getStats()).toEqual(stats)
    expect(client.metrics()).toBe(metrics)
    expect(events).toEqual([])
    // Aborting after close() changes nothing.
    controller.abort()
    await Promise.all(calls)
    expect(new Set(outcomes)).toEqual(new Set(['ECLIENTCLOSED']))
  }, 30000)

  test('a second close() settles with the first, not before', async () => {
    emulator.setFault({ latencyMs: 5000 })
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, timeout: 30000, transport: TRANSPORT })
    let rejected = 0
    const before = emulator.stats().requests.mint
    const calls = Array.from({ length: 5 }, () => client.mint({ entity: 'PEO' }).catch(() => (rejected += 1)))
    await waitFor(() => emulator.stats().requests.mint - before === 5, 'the mints at the service', 10000)
    const first = client.close()
    await client.close()
    expect(rejected).toBe(5)
    await first
    await Promise.all(calls)
  })

  test('a mint that had finished natively when close() came settles with its own outcome: no minted id is lost', async () => {
    emulator.clearFaults()
    // The native transport: its calls finish while this thread is held up below.
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, transport: 'native' })
    const before = emulator.stats().minted
    const outcome = (p) =>
      p.then(
        (value) => value,
        (err) => `${err.code} mayHaveMinted=${err.mayHaveMinted}`,
      )
    const mints = Array.from({ length: 8 }, () => outcome(client.mint({ entity: 'PEO' })))
    // Holds this thread (no completion is taken) until every call has ended natively: their
    // outcomes wait in the queue when close() comes.
    const until = Date.now() + 20000
    while (Date.now() < until && client.getStats().requests.mint.requests < 8);
    const closing = client.close()
    const ids = await Promise.all(mints)
    await closing
    // Every id the service minted reached its caller (it was an ECLIENTCLOSED saying
    // mayHaveMinted=false: a caller would mint again).
    expect(emulator.stats().minted - before).toBe(8)
    for (const id of ids) expect(id).toMatch(/^CT-/)
    expect(new Set(ids).size).toBe(8)
  }, 30000)
})

describe('await close() in the portable build', () => {
  let emulator
  beforeAll(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0 })
  })
  afterAll(() => emulator.close())

  test('right after it, every call has rejected and the stats are final', async () => {
    emulator.setFault({ latencyMs: 5000 })
    const client = new portable.ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      timeout: 30000,
      circuitBreaker: false,
    })
    const before = emulator.stats().requests
    const sent = () =>
      emulator.stats().requests.mint - before.mint + emulator.stats().requests.validate - before.validate
    const outcomes = []
    const calls = [
      ...Array.from({ length: 8 }, () => client.mint({ entity: 'PEO' })),
      ...Array.from({ length: 2 }, () => client.mintBatch([{ entity: 'PEO' }])),
      ...Array.from({ length: 4 }, (_, i) => client.validate(`CT-A-CHI-123${i}-P-24-A-0`)),
      client.healthCheck(),
    ].map((p) =>
      p.then(
        (value) => outcomes.push(value),
        (err) => outcomes.push(err.code),
      ),
    )
    await waitFor(() => sent() >= 12, 'the mints and validations at the service', 10000)
    await client.close()
    // Every caller already heard its rejection.
    expect(outcomes).toHaveLength(calls.length)
    expect(new Set(outcomes)).toEqual(new Set(['ECLIENTCLOSED']))
    const stats = client.getStats()
    expect(stats.requests).toMatchObject({
      mint: { requests: 8 },
      mintBatch: { requests: 2 },
      validate: { requests: 4 },
    })
    await sleep(300)
    expect(client.getStats()).toEqual(stats)
    await Promise.all(calls)
  }, 30000)

  test("close() needs no timer a test's fake timers replace", async () => {
    emulator.setFault({ latencyMs: 5000 })
    const client = new portable.ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, timeout: 30000 })
    const before = emulator.stats().requests.mint
    let rejected = 0
    const calls = Array.from({ length: 3 }, () => client.mint({ entity: 'PEO' }).catch(() => (rejected += 1)))
    await waitFor(() => emulator.stats().requests.mint - before === 3, 'the mints at the service', 10000)
    jest.useFakeTimers()
    try {
      await client.close()
      expect(rejected).toBe(3)
    } finally {
      jest.useRealTimers()
    }
    await Promise.all(calls)
  })

  test('a fetch that ignores its signal and never settles does not hold close() up', async () => {
    const fetch = () => new Promise(() => {})
    const client = new portable.ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1', timeout: 30000 })
    const realFetch = globalThis.fetch
    globalThis.fetch = fetch
    try {
      let rejected = 0
      const calls = Array.from({ length: 3 }, () => client.mint({ entity: 'PEO' }).catch(() => (rejected += 1)))
      await sleep(50)
      await client.close()
      expect(rejected).toBe(3)
      await Promise.all(calls)
    } finally {
      globalThis.fetch = realFetch
    }
  })
})

describe('close() drops the HTTP pool', () => {
  test('with the client still referenced, the server sees every connection end', async () => {
    const server = await keepAliveServer()
    try {
      const client = new ChittyIDClient({ serviceUrl: server.url, transport: 'native', connection: false })
      const answers = await Promise.all(Array.from({ length: 4 }, () => client.healthCheck()))
      expect(answers).toEqual([true, true, true, true])
      expect(server.open()).toBeGreaterThanOrEqual(2)
      await client.close()
      // reqwest would close them at its idle sweep, 4 to 8 s after their last use; the server
      // itself keeps them for 60 s. The bound sits below both.
      await waitFor(() => server.open() === 0, 'every pooled connection closed', 3000)
      // Still referenced, and closed: calls are refused, nothing reconnects.
      await expect(client.healthCheck()).rejects.toMatchObject({ code: 'ECLIENTCLOSED' })
      expect(server.open()).toBe(0)
    } finally {
      await server.close()
    }
  })
})

describe('close() stops the failover probes', () => {
  test('a probe of a down endpoint that never answers ends at close(), not at its own timeout', async () => {
    // The primary answers calls 503 (so they fail over) and never answers its health checks.
    const sockets = new Set()
    let probes = 0
    const primary = createTcpServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
      socket.on('data', (chunk) => {
        if (chunk.toString('latin1').startsWith('GET /v1/health')) probes += 1
        else socket.write('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n')
      })
    })
    await new Promise((resolve) => primary.listen(0, '127.0.0.1', resolve))
    const secondary = await ChittyIDEmulator.start({ port: 0 })
    try {
      const client = new ChittyIDClient({
        serviceUrl: [`http://127.0.0.1:${primary.address().port}/v1`, `${secondary.url}/v1`],
        transport: 'native',
        timeout: 30000,
        retry: false,
        connection: false,
        failover: { probeIntervalMs: 10 },
      })
      await client.mint({ entity: 'PEO' }) // the primary's 503: fails over
      // Calls start due probes; the probe waits for the health timeout (5 s).
      for (let i = 0; i < 100 && probes === 0; i++) {
        await client.mint({ entity: 'PEO' })
        await sleep(20)
      }
      expect(probes).toBeGreaterThanOrEqual(1)
      await client.close()
      // The probe is stopped: its socket closes now, the client still referenced.
      await waitFor(() => sockets.size === 0, "the probe's socket closed", 2500)
      expect(client.getStats().requests.mint.requests).toBeGreaterThanOrEqual(2)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => primary.close(resolve))
      await secondary.close()
    }
  })
})

// Thread names are read from /proc.
const onLinux = process.platform === 'linux' ? test : test.skip

onLinux(
  'closing a client that never sent anything does not start the I/O thread',
  async () => {
    const script = `
    const { readdirSync, readFileSync } = require('node:fs')
    const { ChittyIDClient } = require(process.argv[1])
    const threads = () => readdirSync('/proc/self/task').map((t) => readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim())
    ;(async () => {
      const client = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1', transport: 'native' })
      client.on('error', () => {})
      await client.close()
      const before = threads().includes('chittyid-io')
      // A call of another client starts it: the check can see it.
      const other = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1', transport: 'native', retry: false })
      await other.healthCheck()
      await other.close()
      console.log(JSON.stringify({ before, after: threads().includes('chittyid-io') }))
    })()
  `
    const run = await runNode(script, [INDEX], 30000)
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout.trim())).toEqual({ before: false, after: true })
  },
  40000,
)

/**
 * In a child process: `setup` (code that makes `emulator`, then `client` and its calls, pushing
 * their rejection codes to `codes`), then the I/O thread held up for 20 s (a stand-in for work
 * that cannot be stopped) and `client.close()` awaited. Resolves `{ closeMs, codes, warnings }`
 * (each warning as its code and message).
 */
async function closeWithIoThreadStalled(setup) {
  const script = `
    const { ChittyIDClient, ChittyIDEmulator } = require(process.argv[1])
    const binding = require(process.argv[2] + '/lib/native/index.js')
    const warnings = []
    process.on('warning', (w) => warnings.push(w.code, w.message))
    ;(async () => {
      const emulator = await ChittyIDEmulator.start({ port: 0 })
      const codes = []
      ${setup}
      binding.stallIoThread(20000)
      await new Promise((r) => setTimeout(r, 100))
      const started = Date.now()
      await client.close()
      const closeMs = Date.now() - started
      await new Promise((r) => setImmediate(r))
      console.log(JSON.stringify({ closeMs, codes, warnings }))
      process.exit(0)
    })()
  `
  const run = await runNode(script, [INDEX, ROOT], 40000)
  expect(run.code).toBe(0)
  return JSON.parse(run.stdout.trim().split('\n').pop())
}

describe('the wait is bounded', () => {
  test('with no call in flight, a close() held up by the background work says so in its warning', async () => {
    // The connection manager's task cannot end while the I/O thread is held up.
    const out = await closeWithIoThreadStalled(`
      const client = new ChittyIDClient({ serviceUrl: emulator.url + '/v1' })
      await client.connect()
    `)
    expect(out.warnings).toEqual([
      'CHITTYID_CLOSE_TIMEOUT',
      expect.stringMatching(/^close\(\) stopped waiting after 5000 ms for the client's background work \(/),
    ])
    expect(out.closeMs).toBeGreaterThanOrEqual(4000)
    expect(out.closeMs).toBeLessThan(20000)
  }, 60000)

  test('a close() whose calls cannot be stopped in time settles after the bound, with a warning', async () => {
    // The stopped calls cannot end natively while the I/O thread is held up.
    const out = await closeWithIoThreadStalled(`
      emulator.setFault({ latencyMs: 60000 })
      const client = new ChittyIDClient({ serviceUrl: emulator.url + '/v1', timeout: 60000 })
      const calls = Array.from({ length: 3 }, () => client.mint({ entity: 'PEO' }).catch((e) => codes.push(e.code)))
      while (emulator.stats().requests.mint < 3) await new Promise((r) => setTimeout(r, 10))
    `)
    expect(out.codes).toEqual(['ECLIENTCLOSED', 'ECLIENTCLOSED', 'ECLIENTCLOSED'])
    expect(out.warnings).toEqual([
      'CHITTYID_CLOSE_TIMEOUT',
      expect.stringMatching(/^close\(\) stopped waiting after 5000 ms for 3 call\(s\) it could not stop in time/),
    ])
    // It waited (for the bound, 5 s), and it did not wait for the 20 s stall.
    expect(out.closeMs).toBeGreaterThanOrEqual(4000)
    expect(out.closeMs).toBeLessThan(20000)
  }, 60000)

  test('a JS thread busy past the bound is not a close() that timed out: no warning, the calls reject as closed', async () => {
    // close() not awaited, then 6 s of synchronous work (a CPU-heavy test after it): the
    // completions wait behind the due timer, and close() must read them before it gives up.
    // First a client that never sent anything (a synchronous test's), then one with calls.
    const script = `
      const { ChittyIDClient, ChittyIDEmulator } = require(process.argv[1])
      const warnings = []
      process.on('warning', (w) => warnings.push(w.code))
      const busy = () => { const until = Date.now() + 6000; while (Date.now() < until) {} }
      ;(async () => {
        const emulator = await ChittyIDEmulator.start({ port: 0 })
        const idle = new ChittyIDClient({ serviceUrl: emulator.url + '/v1' })
        let closing = idle.close()
        busy()
        await closing
        const idleWarnings = warnings.splice(0)
        emulator.setFault({ latencyMs: 60000 })
        const client = new ChittyIDClient({ serviceUrl: emulator.url + '/v1', timeout: 60000 })
        const codes = []
        const calls = Array.from({ length: 3 }, () => client.mint({ entity: 'PEO' }).catch((e) => codes.push(e.code)))
        while (emulator.stats().requests.mint < 3) await new Promise((r) => setTimeout(r, 10))
        closing = client.close()
        busy()
        await closing
        await Promise.all(calls)
        console.log(JSON.stringify({ idleWarnings, codes, warnings }))
        process.exit(0)
      })()
    `
    const run = await runNode(script, [INDEX, ROOT], 40000)
    expect(run.code).toBe(0)
    const out = JSON.parse(run.stdout.trim().split('\n').pop())
    expect(out).toEqual({
      idleWarnings: [],
      codes: ['ECLIENTCLOSED', 'ECLIENTCLOSED', 'ECLIENTCLOSED'],
      warnings: [],
    })
  }, 60000)
})
