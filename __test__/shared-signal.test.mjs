// One AbortSignal shared by many calls of a client (a request-scoped signal, AbortSignal.timeout()
// for a batch of work): the client waits on it with ONE 'abort' listener however many calls
// share it (lib/abort.js `whenAborted`), so Node prints no MaxListenersExceededWarning and the
// caller's listener limit is left as it is; an abort still stops every call as it did, and
// calls that settled leave nothing behind on the signal. For the native transport, the fetch
// transport, the portable build and the v1-semantics path, against the emulator.
import { spawn } from 'node:child_process'
import events, { getEventListeners } from 'node:events'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import * as portable from '../portable.mjs'
import { heldStill, waitFor } from './wait.mjs'

const require = createRequire(import.meta.url)
const { waitingOn } = require('../lib/abort.js')

// The native client's generated keys are 32 hex digits, the portable build's a UUID.
const KEY = /^(?:[0-9a-f]{32}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$/
const CALLS = 100
const LATENCY_MS = 20000

const listeners = (signal) => getEventListeners(signal, 'abort').length
/** The signal's listener limit, where Node can tell it (18.17 and later). */
const limitOf = (signal) => (typeof events.getMaxListeners === 'function' ? events.getMaxListeners(signal) : 10)

/**
 * A user's process (a child: jest's `process` is a copy that never hears the real one's
 * warnings) makes `CALLS` mints on one signal with a client of `kind`, then aborts them;
 * resolves the codes they rejected with and the warnings the process emitted.
 */
const CHILD = `
  const [entry, url, kind, calls] = process.argv.slice(1)
  const { ChittyIDClient } = require(entry)
  const warnings = []
  process.on('warning', (w) => warnings.push({ name: w.name, message: w.message }))
  ;(async () => {
    const client = new ChittyIDClient(kind === 'portable' ? { serviceUrl: url } : { serviceUrl: url, transport: kind })
    const controller = new AbortController()
    const pending = []
    for (let i = 0; i < Number(calls); i++)
      pending.push(client.mint({ entity: 'PEO' }, { signal: controller.signal }).then(() => 'minted', (e) => e.code))
    await new Promise((resolve) => setTimeout(resolve, 200))
    controller.abort()
    const codes = await Promise.all(pending)
    await client.close()
    await new Promise((resolve) => setImmediate(resolve))
    console.log(JSON.stringify({ codes, warnings }))
  })()
`
function inUserProcess(kind) {
  const entry = fileURLToPath(new URL(kind === 'portable' ? '../portable.js' : '../index.js', import.meta.url))
  // Not a jest worker: the client behaves as in the user's own process.
  const env = { ...process.env }
  delete env.JEST_WORKER_ID
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, entry, `${emulator.url}/v1`, kind, String(CALLS)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(killer)
      if (code !== 0) reject(new Error(`the child exited with ${code}: ${stderr}`))
      else resolve({ ...JSON.parse(stdout), stderr })
    })
  })
}

let emulator
beforeAll(async () => {
  emulator = await ChittyIDEmulator.start({ port: 0 })
})
afterEach(() => {
  emulator.setFault({})
  emulator.resetLedger()
})
afterAll(async () => {
  await emulator.close()
})

const KINDS = {
  native: () => new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, transport: 'native' }),
  fetch: () => new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, transport: 'fetch' }),
  portable: () => new portable.ChittyIDClient({ serviceUrl: `${emulator.url}/v1` }),
}

/**
 * A client with v1 semantics (lib/v1.js), as under a user's jest: no CHITTYID_TRANSPORT while
 * it is made, v1's options only. Its calls use the real `fetch`, to the emulator.
 */
function v1Client(Client) {
  const saved = process.env.CHITTYID_TRANSPORT
  delete process.env.CHITTYID_TRANSPORT
  try {
    return new Client({ serviceUrl: `${emulator.url}/v1`, timeout: LATENCY_MS * 2 })
  } finally {
    if (saved !== undefined) process.env.CHITTYID_TRANSPORT = saved
  }
}

describe.each(Object.keys(KINDS))('%s client', (kind) => {
  test(`${CALLS} concurrent mints on one signal: one listener; abort stops them all as before`, async () => {
    emulator.setFault({ latencyMs: LATENCY_MS, routes: ['mint'] })
    const client = KINDS[kind]()
    const controller = new AbortController()
    const { signal } = controller
    const limit = limitOf(signal)
    try {
      const pending = Array.from({ length: CALLS }, (_, i) =>
        client.mint({ entity: i % 2 ? 'PEO' : 'PLACE' }, { signal }).then(
          (id) => ({ id }),
          (err) => err,
        ),
      )
      await sleep(10)
      expect(listeners(signal)).toBeLessThanOrEqual(1)
      await waitFor(() => emulator.stats().requests.mint >= 1, 'a mint at the service')
      await sleep(10)
      expect(listeners(signal)).toBeLessThanOrEqual(1)
      expect(limitOf(signal)).toBe(limit)

      controller.abort(new Error('batch cancelled'))
      const outcomes = await Promise.all(pending)
      for (const err of outcomes) {
        expect(err).toBeInstanceOf(Error)
        expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
        expect(err.cause.message).toBe('batch cancelled')
        // A mint says whether it may have minted; if so, with its key (EMINTUNKNOWN's terms).
        expect(typeof err.mayHaveMinted).toBe('boolean')
        if (err.mayHaveMinted) expect(err.idempotencyKey).toMatch(KEY)
        else expect(err.idempotencyKey).toBeUndefined()
      }
      expect(listeners(signal)).toBe(0)
      expect(waitingOn(signal)).toBe(0)
      // Nothing is sent after the abort; every request that reached the service is reported.
      // (Requests written before the abort may reach the emulator's thread later: 100, then
      // 111, on a loaded machine.)
      const sent = await heldStill(() => emulator.stats().requests.mint, 'the mints on their way to land')
      await sleep(300)
      expect(emulator.stats().requests.mint).toBe(sent)
      expect(outcomes.filter((e) => e.mayHaveMinted).length).toBeGreaterThanOrEqual(sent)
    } finally {
      await client.close()
    }
  })

  test(`the user's process prints no MaxListenersExceededWarning for ${CALLS} mints on one signal`, async () => {
    emulator.setFault({ latencyMs: LATENCY_MS, routes: ['mint'] })
    const { codes, warnings, stderr } = await inUserProcess(kind)
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
    expect(stderr).not.toMatch(/MaxListenersExceededWarning/)
    expect(codes).toEqual(Array(CALLS).fill('ABORT_ERR'))
  })

  test('calls that settle leave nothing on a long-lived signal (10,000 calls, 100 at a time)', async () => {
    const client = KINDS[kind]()
    const { signal } = new AbortController()
    let most = 0
    try {
      for (let wave = 0; wave < 100; wave++) {
        const calls = Array.from({ length: 100 }, (_, i) =>
          i % 10 === 0 ? client.healthCheck({ signal }) : client.mint({ entity: 'PEO' }, { signal }),
        )
        most = Math.max(most, listeners(signal))
        await Promise.all(calls)
        expect(listeners(signal)).toBe(0)
      }
      expect(most).toBe(1)
      expect(waitingOn(signal)).toBe(0)
    } finally {
      await client.close()
    }
  }, 120_000)

  test('an already-aborted signal rejects at once and sends nothing, as before', async () => {
    const client = KINDS[kind]()
    const signal = AbortSignal.abort(new Error('too late'))
    try {
      const errs = await Promise.all(
        Array.from({ length: 20 }, () => client.mint({ entity: 'PEO' }, { signal }).catch((e) => e)),
      )
      for (const err of errs) expect(err).toMatchObject({ code: 'ABORT_ERR', mayHaveMinted: false })
      expect(listeners(signal)).toBe(0)
      expect(emulator.stats().requests.mint).toBe(0)
    } finally {
      await client.close()
    }
  })
})

describe.each([
  ['native', ChittyIDClient],
  ['portable', portable.ChittyIDClient],
])('%s client with v1 semantics (lib/v1.js)', (_, Client) => {
  test('mints, batches, validations and health checks on one signal: one listener; abort stops them', async () => {
    emulator.setFault({ latencyMs: LATENCY_MS })
    const client = v1Client(Client)
    const controller = new AbortController()
    const { signal } = controller
    const limit = limitOf(signal)
    try {
      const pending = []
      for (let i = 0; i < 12; i++) {
        pending.push(
          client.mint({ entity: 'PEO' }, { signal }),
          client.mintBatch([{ entity: 'PEO' }], { signal }),
          client.validate('CT-A-CHI-1234-P-24-A-0', { signal }),
          client.healthCheck({ signal }),
        )
      }
      const outcomes = Promise.all(pending.map((p) => p.catch((e) => e)))
      await waitFor(() => emulator.stats().requests.mint >= 1, 'a mint at the service')
      await sleep(10)
      expect(listeners(signal)).toBeLessThanOrEqual(1)
      expect(limitOf(signal)).toBe(limit)
      controller.abort()
      for (const err of await outcomes) expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
      expect(listeners(signal)).toBe(0)
      expect(waitingOn(signal)).toBe(0)
    } finally {
      await client.close()
    }
  })
})
