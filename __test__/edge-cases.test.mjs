// Issue #14 part 4: each finding of the attacker's pass, with a test.

import { createServer } from 'node:http'
import { createRequire } from 'node:module'

import { ChittyIDClient, ChittyIDEmulator, ChittyIDError } from '../index.mjs'
import * as portable from '../portable.mjs'
import { closedPort, startPair } from './helpers.mjs'
import { record, sleep, waitFor } from './wait.mjs'

const require = createRequire(import.meta.url)
const native = require('../lib/native/index.js')

/** A loopback HTTP server answering every request with `handler(req, res)`. */
async function serve(handler) {
  const server = createServer(handler)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

const isInvalidArg = (err) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_VALUE'

describe('numeric options are validated, never wrapped or defaulted silently', () => {
  const BAD = [
    ['maxResponseBytes', [NaN, Infinity, -1, 0, 0.5, 2 ** 32, 2 ** 32 + 1, '1024']],
    ['timeout', [Infinity, -5, 0.5, 2 ** 31, '100ms', '1e3', '-5', '0x10']],
    ['retry.maxAttempts', [0, NaN, Infinity, -1, 1.5, 2 ** 32, 2 ** 32 + 1]],
    ['retry.initialDelayMs', [NaN, Infinity, -1, 2 ** 53]],
    ['retry.maxDelayMs', [NaN, -0.5, Infinity]],
    ['retry.maxRetryAfterMs', [Infinity, -1]],
    ['retry.jitter', [NaN, -0.1, 1.5]],
    ['retry.backoffMultiplier', [NaN, 0.5, Infinity]],
    ['circuitBreaker.failureThreshold', [0.5, -1, 2 ** 32, NaN]],
    ['circuitBreaker.halfOpenAttempts', [2 ** 32 + 1, 1.5]],
    ['circuitBreaker.resetTimeout', [Infinity, -1, NaN]],
    ['circuitBreaker.monitorWindow', [NaN]],
    ['cache.maxSize', [0, 1.5, 2 ** 32, Infinity]],
    ['cache.ttlMs', [-1, NaN, Infinity]],
    ['cache.negativeTtlMs', [Infinity]],
    ['connection.healthCheckInterval', [0, NaN, Infinity, -1]],
    ['connection.reconnectDelay', [-1, NaN, Infinity]],
    ['connection.maxReconnectDelay', [Infinity, -1]],
    ['connection.reconnectMultiplier', [NaN, 0.5, Infinity]],
    ['connection.maxReconnectAttempts', [-1, 1.5, NaN]],
    ['connection.jitter', [NaN, 2]],
  ]
  const withOption = (path, value) => {
    const [group, field] = path.split('.')
    return field === undefined ? { [group]: value } : { [group]: { [field]: value } }
  }

  test.each(BAD)('%s: every bad value is a TypeError (ERR_INVALID_ARG_VALUE) from the constructor', (path, values) => {
    for (const value of values) {
      let thrown
      try {
        new ChittyIDClient(withOption(path, value))
      } catch (err) {
        thrown = err
      }
      expect({ value, ok: isInvalidArg(thrown) }).toEqual({ value, ok: true })
      const field = path.split('.').pop()
      expect(thrown.message.toLowerCase()).toContain(field === 'backoffMultiplier' ? 'multiplier' : field.toLowerCase())
    }
  })

  test('the native side refuses them too (JS validation bypassed)', () => {
    for (const options of [
      { maxResponseBytes: NaN },
      { maxResponseBytes: -1 },
      { maxResponseBytes: 0.5 },
      { maxResponseBytes: 2 ** 32 },
      { retry: { maxAttempts: 2 ** 32 + 1 } },
      { retry: { maxAttempts: 1.5 } },
      { retry: { initialDelayMs: NaN } },
      { retry: { maxDelayMs: -1 } },
      { circuitBreaker: { failureThreshold: 2 ** 32 } },
      { circuitBreaker: { resetTimeout: Infinity } },
      { cache: { ttlMs: -1 } },
      { connection: { healthCheckInterval: Infinity } },
      { connection: { maxReconnectAttempts: 2.5 } },
      { mintRetry: 'always' },
    ]) {
      expect(() => new native.NativeClient(options)).toThrow(/must be|invalid/)
    }
  })

  test('good values at the edges are accepted and take effect', async () => {
    for (const options of [
      { maxResponseBytes: 2 ** 32 - 1 },
      { maxResponseBytes: 1 },
      { retry: { maxAttempts: 2 ** 32 - 1, initialDelayMs: 0 } },
      { circuitBreaker: { failureThreshold: 2 ** 32 - 1 } },
      { connection: { maxReconnectAttempts: Infinity, reconnectDelay: 0, maxReconnectDelay: 0 } },
      { timeout: 0 }, // v1: a falsy timeout means the default
      { timeout: NaN },
    ]) {
      const client = new ChittyIDClient(options)
      await client.close()
    }
    // A cap that used to wrap to "no cap" or to 0 now means what it says.
    const pair = await startPair({ client: { maxResponseBytes: 200, retry: false } })
    try {
      pair.emulator.setFault({ oversizedBody: 300, routes: ['validate'] })
      const v = await pair.client.validate('CT-A-CHI-1234-I-24-A-0')
      expect(v.error).toMatch(/exceeds the 200-byte limit/)
      pair.emulator.setFault({})
      expect(await pair.client.mint({ entity: 'PEO' })).toMatch(/^[A-Z]{2}-/)
    } finally {
      await pair.close()
    }
  })
})

describe('mintBatch rejects when the service returns a different number of ids', () => {
  test.each([[[]], [['AA-A-AAA-0000-P-26-A-0']], [['A', 'B', 'C', 'D', 'E']]])(
    '%j for 3 requests → EBADRESPONSE',
    async (ids) => {
      const server = await serve((req, res) => {
        req.resume()
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ success: true, chittyIds: ids }))
      })
      const requests = [{ entity: 'PEO' }, { entity: 'PLACE' }, { entity: 'EVNT' }]
      try {
        const idempotent = new ChittyIDClient({ serviceUrl: server.url, retry: { mint: 'idempotent', maxAttempts: 1 } })
        const err = await idempotent.mintBatch(requests).then(
          () => null,
          (e) => e,
        )
        expect(err).toBeInstanceOf(ChittyIDError)
        expect(err.code).toBe('EBADRESPONSE')
        expect(err.message).toBe(
          `ChittyID service unavailable - cannot batch mint IDs: ChittyID service returned an invalid response: chittyIds holds ${ids.length} ids for 3 requests`,
        )
        // By default a garbled 2xx leaves the outcome unknown: the same answer, as the cause.
        const safe = new ChittyIDClient({ serviceUrl: server.url })
        const unknown = await safe.mintBatch(requests).then(
          () => null,
          (e) => e,
        )
        expect(unknown).toMatchObject({ code: 'EMINTUNKNOWN', mayHaveMinted: true, cause: { code: 'EBADRESPONSE' } })
        expect(unknown.message).toBe(err.message)
        await idempotent.close()
        await safe.close()
      } finally {
        await server.close()
      }
    },
  )
})

// A batch answer's ids get the checks a single mint's id gets: an id of neither grammar is
// a garbled answer (a service's error text or a number in `chittyIds`), not a minted id.
describe.each(['native', 'fetch', 'portable'])('mintBatch refuses ids of neither grammar (%s)', (transport) => {
  test('EBADRESPONSE (EMINTUNKNOWN around it), and with wire "v1" the ids as sent', async () => {
    const server = await serve((req, res) => {
      req.resume()
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ success: true, chittyIds: ['CT-A-CHI-1234-P-24-A-0', 'ERROR: out of ids'] }))
    })
    const make = (options) =>
      transport === 'portable'
        ? new portable.ChittyIDClient({ serviceUrl: server.url, ...options })
        : new ChittyIDClient({ serviceUrl: server.url, transport, ...options })
    const strict = make({})
    const v1 = make({ wire: 'v1' })
    try {
      const err = await strict.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }]).then(
        () => null,
        (e) => e,
      )
      expect(err).toMatchObject({ code: 'EMINTUNKNOWN', mayHaveMinted: true, cause: { code: 'EBADRESPONSE' } })
      expect(err.message).toMatch(/chittyIds holds an id that is not a ChittyID of either grammar$/)
      expect(await v1.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }])).toEqual([
        'CT-A-CHI-1234-P-24-A-0',
        'ERROR: out of ids',
      ])
    } finally {
      await strict.close()
      await v1.close()
      await server.close()
    }
  })
})

// The drain hands an ASCII id to V8 as one byte per character (src/bindings/bridge/
// completions.rs); any other id, possible with wire "v1" (no grammar check), as UTF-8. Either
// way the caller gets the string the service sent.
test('with wire "v1" a mint resolves to the id exactly as sent, ASCII or not (native)', async () => {
  const ids = ['CT-A-CHI-1234-P-24-A-0', 'caf\u00e9-\u00ff', 'id-\u{1F600}-\u4e2d', 'tab\there']
  let next = 0
  const server = await serve((req, res) => {
    req.resume()
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ chittyId: ids[next++] }))
  })
  const c = new ChittyIDClient({ serviceUrl: server.url, transport: 'native', wire: 'v1', retry: false })
  try {
    const got = []
    for (let i = 0; i < ids.length; i++) got.push(await c.mint({ entity: 'PEO' }))
    expect(got).toEqual(ids)
  } finally {
    await c.close()
    await server.close()
  }
})

describe('service-provided text never carries the API key', () => {
  const KEY = 'sk_live_s3cr3t-Key.42'

  test('reason phrases and echoed bodies are redacted in errors, events and validate() answers', async () => {
    let requests = 0
    const server = await serve((req, res) => {
      requests += 1
      req.resume()
      const echoed = `echo ${req.headers.authorization}`
      if (req.url.includes('/validate/')) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ valid: false, error: echoed, chittyId: echoed }))
      } else {
        res
          .writeHead(503, `Unavailable (${echoed})`, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: echoed }))
      }
    })
    const client = new ChittyIDClient({
      serviceUrl: server.url,
      apiKey: KEY,
      retry: { maxAttempts: 2, initialDelayMs: 1 },
      circuitBreaker: false,
    })
    const seen = record(client, ['retry', 'error'])
    try {
      const err = await client.mint({ entity: 'PEO' }).then(
        () => null,
        (e) => e,
      )
      expect(err.code).toBe('EHTTP')
      expect(err.message).toBe(
        'ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 503 Unavailable (echo Bearer [redacted])',
      )
      const v = await client.validate('CT-A-CHI-1234-I-24-A-0', {})
      await waitFor(() => seen.count('retry') >= 1, 'a retry event')
      const everything = JSON.stringify({
        message: err.message,
        stack: err.stack,
        cause: String(err.cause),
        v,
        events: seen.events.map(([n, p]) => [n, p, p && p.error && p.error.message]),
        stats: client.getStats(),
        metrics: client.metrics(),
      })
      expect(everything).not.toContain(KEY)
      expect(everything).toContain('[redacted]')
      expect(requests).toBeGreaterThanOrEqual(2)
    } finally {
      await client.close()
      await server.close()
    }
  })
})

describe('validate() and healthCheck() with bad options reject (TypeError); the service never makes them reject', () => {
  test('bad options', async () => {
    const client = new ChittyIDClient({ serviceUrl: `http://127.0.0.1:${await closedPort()}`, retry: false })
    for (const options of ['signal', true, { signal: 'nope' }, { signal: {} }]) {
      expect(
        isInvalidArg(
          await client.validate('CT-A-CHI-1234-I-24-A-0', options).then(
            () => null,
            (e) => e,
          ),
        ),
      ).toBe(true)
      expect(
        isInvalidArg(
          await client.healthCheck(options).then(
            () => null,
            (e) => e,
          ),
        ),
      ).toBe(true)
    }
    // A dead service is an answer, not a rejection.
    expect(await client.healthCheck()).toBe(false)
    expect(await client.validate('CT-A-CHI-1234-I-24-A-0')).toMatchObject({
      valid: true,
      error: expect.stringMatching(/fetch failed/),
    })
    // A bad id is answered too.
    expect(await client.validate(42)).toEqual({ valid: false, error: 'ChittyID must be a string' })
    await client.close()
  })
})

describe('exactly one request per uncached id, however submissions and the answer interleave', () => {
  test('100 concurrent validate() of one new id, 50 runs: one request each run', async () => {
    const pair = await startPair({ client: { timeout: 5000 } })
    try {
      const ids = await pair.client.mintBatch(Array.from({ length: 50 }, () => ({ entity: 'PEO' })))
      const perRun = []
      for (const id of ids) {
        const before = pair.emulator.stats().requests.validate
        // Staggered by microtasks and macrotasks, so some submissions trail the answer.
        const calls = []
        for (let i = 0; i < 100; i++) {
          if (i % 25 === 0) await new Promise((resolve) => setImmediate(resolve))
          calls.push(pair.client.validate(id))
        }
        const answers = await Promise.all(calls)
        for (const a of answers) expect(a).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
        perRun.push(pair.emulator.stats().requests.validate - before)
      }
      expect(perRun).toEqual(Array(50).fill(1))
    } finally {
      await pair.close()
    }
  }, 20000)
})

describe('reconnect delays have a floor', () => {
  test('reconnectDelay 0 and maxReconnectDelay 0 do not spin', async () => {
    const port = await closedPort()
    const client = new ChittyIDClient({
      serviceUrl: `http://127.0.0.1:${port}`,
      connection: { reconnectDelay: 0, maxReconnectDelay: 0, healthCheckInterval: 20, jitter: 0 },
    })
    const seen = record(client, ['reconnecting'])
    expect(await client.connect()).toBe(false)
    await sleep(300)
    await client.close()
    const delays = seen.of('reconnecting').map((e) => e.delay)
    expect(delays.length).toBeGreaterThan(3)
    expect(Math.min(...delays)).toBe(10)
    // At most one reconnect per 10 ms (an unbounded loop made thousands).
    expect(delays.length).toBeLessThanOrEqual(35)
  })
})

test('the emulator switches to ignoring keys and back at run time, from JS', async () => {
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  try {
    expect(emulator.ignoresIdempotencyKeys).toBe(false)
    emulator.setIgnoreIdempotencyKeys(true)
    expect(emulator.ignoresIdempotencyKeys).toBe(true)
    expect(() => emulator.setIgnoreIdempotencyKeys('yes')).toThrow(TypeError)
    expect(() => emulator.setFault({ rateLimitPerSecond: -1 })).toThrow(TypeError)
  } finally {
    await emulator.close()
  }
})

test('the CLI starts an emulator that ignores keys and limits the rate, like the public service', async () => {
  const { spawn } = await import('node:child_process')
  const { ROOT } = await import('./wait.mjs')
  const child = spawn(
    process.execPath,
    ['bin/chittyid-emulator.js', '--port', '0', '--ignore-idempotency-keys', '--rate-limit', '2'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  try {
    const line = await new Promise((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('\n')) resolve(out)
      })
      child.on('exit', (code) => reject(new Error(`exited ${code}`)))
    })
    expect(line).toMatch(/ignoring Idempotency-Key, at most 2 requests\/s/)
    const url = /listening on (http:\/\/\S+)/.exec(line)[1]
    const post = () =>
      fetch(`${url}/v1/mint`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'same' },
        body: '{"entity":"PEO"}',
      })
    const [a, b, c] = [await post(), await post(), await post()]
    expect([a.status, b.status, c.status]).toEqual([201, 201, 429])
    expect((await a.json()).chittyId).not.toBe((await b.json()).chittyId)
    expect(c.headers.get('x-block-reason')).toBe('RATE_LIMIT_EXCEEDED')
    expect(c.headers.get('retry-after')).toBeNull()
    expect(await c.json()).toEqual({ error: 'REQUEST_BLOCKED', reason: 'RATE_LIMIT_EXCEEDED' })
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
})
