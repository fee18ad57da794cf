// The fetch transport (lib/fetch-transport.js, src/transport/fetch.rs) over real sockets:
// Node's own fetch against the embedded emulator, with a recording wrapper around
// globalThis.fetch where the test needs to see the exchange.

import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import * as portable from '../portable.mjs'
import { ID_PATTERN, closedPort } from './helpers.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const useNativeTransport = createRequire(import.meta.url)('./setup-native-transport.cjs')
const realFetch = globalThis.fetch

/** The variables of lib/test-runner.js and their neighbours, cleared unless a case sets them. */
const RUNNER_VARIABLES = [
  'JEST_WORKER_ID',
  'VITEST',
  'VITEST_WORKER_ID',
  'VITEST_POOL_ID',
  'NODE_TEST_CONTEXT',
  'CHITTYID_TEST_RUNNER',
]

/** Prints the native client's default transport, then `v1`/`v2`: the portable client's semantics. */
const TRANSPORT_PROBE = `
  const { ChittyIDClient } = require(${JSON.stringify(join(root, 'index.js'))});
  const portable = require(${JSON.stringify(join(root, 'portable.js'))});
  let transport
  try { transport = new ChittyIDClient().transport }
  catch (e) { transport = e.name + ' ' + e.code }
  if (transport.includes(' ')) { process.stdout.write(transport) } else {
    let init
    globalThis.fetch = async (url, i) => { init = i; return new Response('{"chittyId":"x"}') }
    const semantics = (e) => (init === undefined ? 'no fetch: ' + e?.message : 'redirect' in init ? 'v2' : 'v1')
    new portable.ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1' }).mint({ entity: 'PEO' }).then(
      () => process.stdout.write(transport + ' ' + semantics()),
      (e) => process.stdout.write(transport + ' ' + semantics(e)))
  }`

/** Wraps globalThis.fetch (installed now, whenever the client was made) and records each call. */
function recordFetch() {
  const calls = []
  globalThis.fetch = (url, init) => {
    calls.push({ url, init })
    return realFetch(url, init)
  }
  return calls
}

let emulator
let clients = []

function client(options = {}) {
  // v1's wire: these stubs answer as v1 did (an explicit transport: 'fetch' would otherwise
  // speak wire: 'auto', adding entityType and checking the format of minted ids).
  const c = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, transport: 'fetch', wire: 'v1', ...options })
  clients.push(c)
  return c
}

beforeEach(async () => {
  emulator = await ChittyIDEmulator.start({ port: 0, token: 'k-fetch' })
})

afterEach(async () => {
  globalThis.fetch = realFetch
  await Promise.all(clients.map((c) => c.close()))
  clients = []
  await emulator.close()
})

describe('choosing the transport', () => {
  test('this suite runs on the transport its globalSetup leaves (native unless the run names one); the option picks fetch', async () => {
    const run = process.env.CHITTYID_TRANSPORT
    expect(new ChittyIDClient().transport).toBe(run)
    try {
      delete process.env.CHITTYID_TRANSPORT
      await useNativeTransport()
      expect(process.env.CHITTYID_TRANSPORT).toBe('native')
      process.env.CHITTYID_TRANSPORT = 'fetch'
      await useNativeTransport()
      expect(process.env.CHITTYID_TRANSPORT).toBe('fetch')
    } finally {
      process.env.CHITTYID_TRANSPORT = run
    }
    expect(new ChittyIDClient({ transport: 'fetch' }).transport).toBe('fetch')
    expect(() => new ChittyIDClient({ transport: 'undici' })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }),
    )
  })

  // What a test runner sets where its test files run (lib/test-runner.js): the native client's
  // transport, then what the portable build makes of the same process (`v1` where its first
  // fetch is v1's, without the `redirect` member its own requests carry).
  test.each([
    [{}, 'native v2'],
    [{ JEST_WORKER_ID: '3' }, 'fetch v1'],
    [{ JEST_WORKER_ID: '3', CHITTYID_TRANSPORT: 'native' }, 'native v2'],
    [{ VITEST_WORKER_ID: '2', VITEST_POOL_ID: '1' }, 'fetch v1'],
    [{ VITEST: 'true' }, 'fetch v1'],
    [{ VITEST_WORKER_ID: '2', CHITTYID_TRANSPORT: 'native' }, 'native v2'],
    [{ NODE_TEST_CONTEXT: 'child-v8' }, 'fetch v1'],
    [{ NODE_TEST_CONTEXT: 'child-v8', CHITTYID_TRANSPORT: 'fetch' }, 'fetch v2'],
    [{ CHITTYID_TRANSPORT: 'fetch' }, 'fetch v2'],
    // Declared by hand where the runner sets nothing (mocha); only 1 or true declares it.
    [{ CHITTYID_TEST_RUNNER: '1' }, 'fetch v1'],
    [{ CHITTYID_TEST_RUNNER: 'true', CHITTYID_TRANSPORT: 'native' }, 'native v2'],
    [{ CHITTYID_TEST_RUNNER: '0' }, 'native v2'],
    [{ CHITTYID_TEST_RUNNER: '' }, 'native v2'],
    [{ CHITTYID_TRANSPORT: 'curl' }, 'TypeError ERR_INVALID_ARG_VALUE'],
    // Not a runner's: a variable of the same family that no runner sets where tests run.
    [{ VITEST_MODE: 'RUN', NODE_ENV: 'test' }, 'native v2'],
  ])('in a process with %j the default is %s', (vars, expected) => {
    const env = { ...process.env, ...vars }
    for (const name of [...RUNNER_VARIABLES, 'CHITTYID_TRANSPORT']) if (!(name in vars)) delete env[name]
    expect(execFileSync(process.execPath, ['-e', TRANSPORT_PROBE], { cwd: root, env, encoding: 'utf8' })).toBe(expected)
  })

  // The runner's own process (`node --test`; with --test-isolation=none the test files run in
  // it): a preloaded module there sees the runner's `--test` flag and no NODE_TEST_CONTEXT.
  test('in the process of node --test itself the default is fetch', () => {
    const env = { ...process.env }
    for (const name of [...RUNNER_VARIABLES, 'CHITTYID_TRANSPORT']) delete env[name]
    const dir = mkdtempSync(join(tmpdir(), 'chittyid-runner-'))
    try {
      const probe = join(dir, 'probe.cjs')
      writeFileSync(probe, `if (process.env.NODE_TEST_CONTEXT === undefined) {${TRANSPORT_PROBE}}`)
      const empty = fileURLToPath(new URL('./fixtures/node-test-empty.cjs', import.meta.url))
      const out = execFileSync(process.execPath, ['--test', '--test-reporter=dot', '--require', probe, empty], {
        cwd: root,
        env,
        encoding: 'utf8',
      })
      expect(out.slice(0, 'fetch v1'.length)).toBe('fetch v1')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('exchanges through globalThis.fetch', () => {
  test('every operation goes through the fetch found at call time, with v1 request shapes', async () => {
    const c = client({ apiKey: 'k-fetch' })
    const calls = recordFetch() // after the client was created
    const id = await c.mint({ entity: 'PEO', name: 'Ada' })
    expect(id).toMatch(ID_PATTERN)
    const ids = await c.mintBatch([{ entity: 'PLACE' }, { entity: 'PROP' }])
    expect(ids).toHaveLength(2)
    await expect(c.validate(id)).resolves.toEqual({ valid: true, chittyId: id, entity: 'PEO' })
    await expect(c.healthCheck()).resolves.toBe(true)

    const base = `${emulator.url}/v1`
    expect(calls.map((x) => [x.init.method, x.url])).toEqual([
      ['POST', `${base}/mint`],
      ['POST', `${base}/mint/batch`],
      ['GET', `${base}/validate/${encodeURIComponent(id)}`],
      ['GET', `${base}/health`],
    ])
    expect(calls[0].init.body).toBe(JSON.stringify({ entity: 'PEO', name: 'Ada' }))
    expect(calls[1].init.body).toBe(JSON.stringify({ requests: [{ entity: 'PLACE' }, { entity: 'PROP' }] }))
    expect(calls[0].init.headers).toEqual({
      'Content-Type': 'application/json',
      Authorization: 'Bearer k-fetch',
      'Idempotency-Key': expect.any(String),
    })
    expect(calls[2].init.headers).toEqual({ Authorization: 'Bearer k-fetch' })
    const ledger = emulator.stats()
    expect(ledger.minted).toBe(3)
    expect(ledger.requests).toEqual(expect.objectContaining({ mint: 1, batch: 1, validate: 1, health: 1 }))
  })

  test('an idle client releases the fetch hook and wires it again for the next call', async () => {
    const c = client({ apiKey: 'k-fetch' })
    const calls = recordFetch()
    await c.mint({ entity: 'PEO' })
    await new Promise((r) => setTimeout(r, 20)) // idle for a few loop turns
    await c.mint({ entity: 'PEO' })
    await c.close()
    await expect(c.mint({ entity: 'PEO' })).rejects.toMatchObject({ code: 'ECLIENTCLOSED' })
    expect(calls).toHaveLength(2)
  })

  test('a 503 is retried natively under one idempotency key, then the answer is cached', async () => {
    const c = client({ apiKey: 'k-fetch', retry: { initialDelayMs: 5, jitter: 0 } })
    const calls = recordFetch()
    emulator.setFault({ errorStatus: 503, remaining: 1 })
    const id = await c.mint({ entity: 'PEO' })
    expect(calls).toHaveLength(2)
    expect(calls[1].init.headers['Idempotency-Key']).toBe(calls[0].init.headers['Idempotency-Key'])
    expect(c.getStats().requests.mint).toEqual(expect.objectContaining({ requests: 2, retries: 1 }))
    await c.validate(id)
    await c.validate(id)
    expect(calls).toHaveLength(3) // the second validate was a cache hit
  })

  test('a persistent 503 fails with v1 wording', async () => {
    const c = client({ apiKey: 'k-fetch', retry: { initialDelayMs: 5, jitter: 0 } })
    emulator.setFault({ errorStatus: 503 })
    await expect(c.mint({ entity: 'PEO' })).rejects.toMatchObject({
      message: 'ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 503 Service Unavailable',
      code: 'EHTTP',
      status: 503,
    })
  })

  test("a refused connection keeps Node's code and says fetch failed", async () => {
    const port = await closedPort()
    const c = new ChittyIDClient({ serviceUrl: `http://127.0.0.1:${port}/v1`, transport: 'fetch', retry: false })
    clients.push(c)
    const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.code).toBe('ECONNREFUSED')
    expect(err.message).toMatch(/^ChittyID service unavailable - cannot mint PEO ID: fetch failed: .*ECONNREFUSED/)
    expect(err.cause).toEqual(expect.objectContaining({ code: 'ECONNREFUSED' }))
    const v = await c.validate('CT-A-CHI-1234-P-24-A-0')
    expect(v).toEqual({ valid: true, error: expect.stringContaining('fetch failed') })
  })

  test('the per-attempt timeout aborts the fetch', async () => {
    const c = client({ apiKey: 'k-fetch', timeout: 100, retry: false })
    const calls = recordFetch()
    emulator.setFault({ latencyMs: 20_000 })
    const err = await c.mint({ entity: 'PEO' }).catch((e) => e)
    // A mint that may have reached the service is not retried: the outcome is unknown.
    expect(err.code).toBe('EMINTUNKNOWN')
    expect(err.cause.code).toBe('ETIMEDOUT')
    expect(err.message).toContain('fetch failed')
    const deadline = Date.now() + 2000
    while (!calls[0].init.signal.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(calls[0].init.signal.aborted).toBe(true)
  })

  test('an AbortSignal aborts the fetch at once', async () => {
    const c = client({ apiKey: 'k-fetch' })
    const calls = recordFetch()
    // The answer would take 20 s: the call ends at the abort, not when the answer comes. The
    // bound sits between the two, far from both on a loaded machine.
    emulator.setFault({ latencyMs: 20_000 })
    const controller = new AbortController()
    const started = Date.now()
    const pending = c.mint({ entity: 'PEO' }, { signal: controller.signal })
    while (calls.length === 0) await new Promise((r) => setTimeout(r, 5))
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
    expect(Date.now() - started).toBeLessThan(5000)
    const deadline = Date.now() + 2000
    while (!calls[0].init.signal.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(calls[0].init.signal.aborted).toBe(true)
  })

  test('maxResponseBytes caps the body', async () => {
    const c = client({ apiKey: 'k-fetch', maxResponseBytes: 1024, retry: false })
    emulator.setFault({ oversizedBody: 64 * 1024 })
    await expect(c.mint({ entity: 'PEO' })).rejects.toMatchObject({
      code: 'EMINTUNKNOWN',
      cause: { code: 'EBODYTOOLARGE' },
    })
  })

  test("Retry-After and the status text come from the stub's answer", async () => {
    const c = client({ retry: { initialDelayMs: 5, jitter: 0 } })
    let n = 0
    globalThis.fetch = async () => {
      n += 1
      if (n === 1) return new Response('', { status: 429, statusText: 'Slow Down', headers: { 'Retry-After': '0' } })
      return new Response(JSON.stringify({ chittyId: 'stubbed' }), { status: 201 })
    }
    await expect(c.mint({ entity: 'PEO' })).resolves.toBe('stubbed')
    expect(n).toBe(2)
    globalThis.fetch = async () => new Response('', { status: 400, statusText: 'Bad Stub' })
    await expect(c.mint({ entity: 'PEO' })).rejects.toThrow('ChittyID service error: 400 Bad Stub')
  })

  test('a stub that rejects is a transport failure in the exchange phase', async () => {
    const c = client({ retry: false })
    globalThis.fetch = async () => {
      throw new Error('network error')
    }
    await expect(c.mint({ entity: 'PEO' })).rejects.toMatchObject({
      code: 'EMINTUNKNOWN',
      cause: { code: 'EFETCH' },
      message: 'ChittyID service unavailable - cannot mint PEO ID: fetch failed: network error',
    })
  })

  test("a 503 stub whose json() throws (an HTML error page) is still the service's 503, in both fetch builds", async () => {
    const stub = async () => ({
      ok: false,
      status: 503,
      statusText: 'Service Unavailable',
      headers: new Headers(),
      json: async () => {
        throw new SyntaxError('Unexpected token < in JSON at position 0')
      },
    })
    const portableClient = new portable.ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, wire: 'v1', retry: false })
    clients.push(portableClient)
    for (const c of [client({ retry: false }), portableClient]) {
      globalThis.fetch = stub
      await expect(c.mint({ entity: 'PEO' })).rejects.toMatchObject({
        code: 'EHTTP',
        status: 503,
        cause: { code: 'EHTTP' },
        message: 'ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 503 Service Unavailable',
      })
      await expect(c.validate('CT-A-CHI-1234-I-24-A-0')).resolves.toEqual({ valid: false, error: 'Service error: 503' })
    }
  })

  test('a stub that answers nothing usable, or no fetch at all, is a failure, not a crash', async () => {
    const c = client({ retry: false })
    globalThis.fetch = async () => undefined
    await expect(c.mint({ entity: 'PEO' })).rejects.toMatchObject({
      code: 'EMINTUNKNOWN',
      cause: { code: 'EFETCH' },
      message: expect.stringContaining('not a Response'),
    })
    globalThis.fetch = async () => ({
      ok: true,
      status: 200,
      statusText: 7,
      json: async () => ({ chittyId: 'partial stub' }),
    })
    await expect(c.mint({ entity: 'PEO' })).resolves.toBe('partial stub')
    globalThis.fetch = undefined
    await expect(c.mint({ entity: 'PEO' })).rejects.toMatchObject({
      code: 'EMINTUNKNOWN',
      cause: { code: 'EFETCH' },
      message: expect.stringContaining('globalThis.fetch is not a function'),
    })
    await expect(c.healthCheck()).resolves.toBe(false)
  })

  test("the connection manager's health checks go through fetch too", async () => {
    const c = client({ apiKey: 'k-fetch', connection: { healthCheckInterval: 30 } })
    const calls = recordFetch()
    await expect(c.connect()).resolves.toBe(true)
    const deadline = Date.now() + 3000
    while (calls.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect(calls.length).toBeGreaterThanOrEqual(3)
    expect(new Set(calls.map((x) => x.url))).toEqual(new Set([`${emulator.url}/v1/health`]))
    await c.disconnect()
  })
})

test("processes started by this suite inherit the suite's transport", () => {
  const script = `process.stdout.write(new (require('./index.js').ChittyIDClient)().transport)`
  expect(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' })).toBe(
    process.env.CHITTYID_TRANSPORT,
  )
})

test('a bad proxy URL or CA bundle is refused at construction on the fetch transport too', () => {
  // Under jest the fetch transport is picked by default: a setting production (native) would
  // refuse must not pass a test run unnoticed. Neither is used by the platform's fetch.
  const refusal = (transport, options) => {
    try {
      new ChittyIDClient({ transport, ...options })
    } catch (err) {
      return { name: err.name, code: err.code, message: err.message }
    }
    return 'accepted'
  }
  for (const [options, words] of [
    [{ proxy: 'http://user:hunter2@[bad' }, 'proxy'],
    [{ ca: 'not a certificate' }, 'no PEM certificate'],
    [{ ca: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' }, 'CA certificate'],
  ]) {
    const onFetch = refusal('fetch', options)
    expect(onFetch).toEqual(refusal('native', options))
    expect(onFetch).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
    expect(onFetch.message).toContain(words)
    expect(onFetch.message).not.toContain('hunter2')
  }
  expect(refusal('fetch', { proxy: 'http://127.0.0.1:3128' })).toBe('accepted')
})
