// The portable build in the real runtime: workers bundled the way wrangler bundles them run in
// workerd (miniflare from npm) and reach the embedded emulator over loopback.
// - A worker that imports the package the naive way bundles with and without `nodejs_compat`,
//   and mints, validates and gets coded errors.
// - The shared behaviour suite (__test__/behaviour/cases.mjs) runs inside workerd against the
//   portable build, with and without `nodejs_compat`.
import { Miniflare } from 'miniflare'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { ChittyIDClient as NativeClient, ChittyIDEmulator } from '../index.mjs'
import { casesFor } from './behaviour/cases.mjs'
import { serverFor, deadUrl } from './behaviour/servers.mjs'
import { consumerProject, bundleLikeWrangler, workerOptions, root } from './workers/bundle.mjs'

const TOKEN = 'workers-test-key'

// Nothing at module scope may do I/O in a worker: the client is made at load, used per request.
const NAIVE_WORKER = `
import { ChittyIDClient, RUNTIME } from '@chittyos/chittyid-client'
import DefaultClient from '@chittyos/chittyid-client'

const atLoad = new ChittyIDClient()

export default {
  async fetch(request, env) {
    const client = new ChittyIDClient({ serviceUrl: env.SERVICE_URL, apiKey: env.API_KEY })
    const out = { runtime: RUNTIME, sameDefault: DefaultClient === ChittyIDClient, atLoadUrl: atLoad.serviceUrl }
    out.events = []
    client.on('retry', (e) => out.events.push(e.error.code))
    out.id = await client.mint({ entity: 'PEO', name: 'from a worker' })
    out.validation = await client.validate(out.id)
    out.validFormat = client.validateFormat(out.id)
    const refused = new ChittyIDClient({ serviceUrl: env.SERVICE_URL, apiKey: 'wrong' })
    try {
      await refused.mint({ entity: 'PEO' })
    } catch (err) {
      out.error = { name: err.name, code: err.code, status: err.status, message: err.message }
    }
    try {
      new ChittyIDClient({ fleet: { redis: 'redis://127.0.0.1:6379' } })
    } catch (err) {
      out.unsupported = { code: err.code, message: err.message }
    }
    out.hasNodeEventEmitter = typeof globalThis.process?.getBuiltinModule === 'function'
    await client.close()
    return Response.json(out)
  },
}
`

describe('a worker importing @chittyos/chittyid-client as a new user writes it', () => {
  let project
  let emu
  beforeAll(async () => {
    project = consumerProject({ 'worker.mjs': NAIVE_WORKER })
    emu = await ChittyIDEmulator.start({ port: 0, token: TOKEN })
  })
  afterAll(async () => {
    await emu.close()
    rmSync(project, { recursive: true, force: true })
  })

  // Workers keep the compatibility date they were written with: v1's callers run on dates before
  // WeakRef (2025-05-05) and before the global navigator (2022-03-21).
  test.each([
    ['with nodejs_compat', true, 'neutral', undefined],
    ['without nodejs_compat', false, 'neutral', undefined],
    ['bundled for the browser platform', false, 'browser', undefined],
    ['compatibility date 2024-09-23, with nodejs_compat', true, 'neutral', '2024-09-23'],
    ['compatibility date 2021-11-03, without nodejs_compat', false, 'neutral', '2021-11-03'],
  ])('%s: bundles, mints, validates and gets coded errors in workerd', async (_, nodejsCompat, platform, date) => {
    const script = await bundleLikeWrangler(join(project, 'worker.mjs'), { nodejsCompat, platform })
    expect(script).not.toMatch(/\.node['"]|process\.binding|require\(["']fs["']\)/)
    const mf = new Miniflare({
      ...workerOptions(script, { nodejsCompat, bindings: { SERVICE_URL: `${emu.url}/v1`, API_KEY: TOKEN } }),
      ...(date === undefined ? {} : { compatibilityDate: date }),
    })
    try {
      const res = await mf.dispatchFetch('http://worker/')
      const out = await res.json()
      expect(out).toMatchObject({
        runtime: 'portable',
        sameDefault: true,
        atLoadUrl: 'https://id.chitty.cc/v1',
        validFormat: true,
        validation: { valid: true, entity: 'PEO' },
        error: { name: 'ChittyIDError', code: 'EHTTP', status: 401 },
        unsupported: { code: 'ERR_CHITTYID_UNSUPPORTED' },
      })
      // Node's EventEmitter where the runtime offers process.getBuiltinModule (nodejs_compat, recent dates).
      if (date === undefined) expect(out.hasNodeEventEmitter).toBe(nodejsCompat)
      expect(out.error.message).toMatch(
        /^ChittyID service unavailable - cannot mint PEO ID: ChittyID service error: 401/,
      )
      expect(out.unsupported.message).toMatch(/fleet/)
      expect(emu.stats().mintedIds).toContain(out.id)
    } finally {
      await mf.dispose()
    }
  })
})

// The service-worker syntax (addEventListener('fetch'), bundled as one script, no modules) that
// v1's users could run it in: with nodejs_compat there, merely reading globalThis.process throws
// in workerd ("internal error"), so nothing may read it unguarded at load or construction.
const SERVICE_WORKER = `
const { ChittyIDClient, RUNTIME } = require('@chittyos/chittyid-client')
const client = new ChittyIDClient({ serviceUrl: SERVICE_URL })
addEventListener('fetch', (event) => {
  event.respondWith(
    (async () => {
      const id = await client.mint({ entity: 'PEO' })
      client.on('retry', () => {})
      return Response.json({ runtime: RUNTIME, id, validation: await client.validate(id) })
    })(),
  )
})
`

describe('a worker in the service-worker syntax', () => {
  let project
  let emu
  beforeAll(async () => {
    project = consumerProject({ 'worker.js': SERVICE_WORKER })
    emu = await ChittyIDEmulator.start({ port: 0 })
  })
  afterAll(async () => {
    await emu.close()
    rmSync(project, { recursive: true, force: true })
  })

  test.each([
    ['with nodejs_compat', true],
    ['without nodejs_compat', false],
  ])('%s: loads, mints and validates in workerd', async (_, nodejsCompat) => {
    const script = await bundleLikeWrangler(join(project, 'worker.js'), { nodejsCompat: false, format: 'iife' })
    const mf = new Miniflare({
      ...workerOptions(script, { nodejsCompat, bindings: { SERVICE_URL: `${emu.url}/v1` } }),
      modules: false,
    })
    try {
      const out = await (await mf.dispatchFetch('http://worker/')).json()
      expect(out).toMatchObject({ runtime: 'portable', validation: { valid: true, entity: 'PEO' } })
      expect(emu.stats().mintedIds).toContain(out.id)
    } finally {
      await mf.dispose()
    }
  })
})

describe.each([
  ['with nodejs_compat', true, undefined],
  ['without nodejs_compat', false, undefined],
  // The oldest date workerd takes: no WeakRef, no global navigator (v1's callers keep old dates).
  ['on compatibility date 2021-11-03', false, '2021-11-03'],
])('the behaviour suite inside workerd, %s', (_, nodejsCompat, date) => {
  let project
  let mf
  let nowhere
  beforeAll(async () => {
    const cases = join(root, '__test__', 'behaviour', 'cases.mjs')
    project = consumerProject({
      'worker.mjs': `
import * as api from '@chittyos/chittyid-client'
import { runCase } from ${JSON.stringify(cases)}
export default {
  async fetch(request) {
    const { name, serviceUrl, deadUrl } = await request.json()
    return Response.json(await runCase(name, { api, build: api.RUNTIME, runtime: 'workerd', serviceUrl, deadUrl }))
  },
}
`,
    })
    const script = await bundleLikeWrangler(join(project, 'worker.mjs'), { nodejsCompat })
    mf = new Miniflare({
      ...workerOptions(script, { nodejsCompat }),
      ...(date === undefined ? {} : { compatibilityDate: date }),
    })
    await mf.ready
    nowhere = await deadUrl()
  }, 60000)
  afterAll(async () => {
    if (mf) await mf.dispose()
    if (project) rmSync(project, { recursive: true, force: true })
  })

  test.each(casesFor('portable').map((c) => [c.name, c]))('%s', async (name, c) => {
    const { server, serviceUrl, close } = await serverFor(c)
    try {
      const res = await mf.dispatchFetch('http://worker/run', {
        method: 'POST',
        body: JSON.stringify({ name, serviceUrl, deadUrl: nowhere }),
      })
      const outcome = await res.json()
      expect(outcome.failed).toBeUndefined()
      if (c.check) c.check(outcome.result, server)
    } finally {
      await close()
    }
  })
})

/** `promise`'s value, or 'no answer' after `ms`: a hang fails the assertion instead of the test's timeout. */
const settle = (promise, ms) =>
  Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve('no answer'), ms))])

/**
 * The module worker `source` in workerd (bundled as wrangler does, no `nodejs_compat`) with
 * `SERVICE_URL` pointing at an emulator of its own, for the describe block this is called in:
 * `{ mf, emu }` once its beforeAll ran; the emulator's ledger is reset before each test.
 */
function moduleWorkerAgainstEmulator(source, compatibilityDate) {
  const worker = {}
  let project
  beforeAll(async () => {
    project = consumerProject({ 'worker.mjs': source })
    worker.emu = await ChittyIDEmulator.start({ port: 0 })
    const script = await bundleLikeWrangler(join(project, 'worker.mjs'), { nodejsCompat: false })
    const options = workerOptions(script, { nodejsCompat: false, bindings: { SERVICE_URL: `${worker.emu.url}/v1` } })
    worker.mf = new Miniflare(compatibilityDate === undefined ? options : { ...options, compatibilityDate })
    await worker.mf.ready
  }, 60000)
  afterAll(async () => {
    if (worker.mf) await worker.mf.dispose()
    if (worker.emu) await worker.emu.close()
    if (project) rmSync(project, { recursive: true, force: true })
  })
  beforeEach(() => worker.emu.resetLedger())
  return worker
}

// A client at module scope serves every request of the isolate; a validate() shared between
// requests must not hang when the request that started it ends first (workerd cancels that
// request's fetch and its continuations).
// Also on a compatibility date before the global navigator (2022-03-21), which v1's callers keep.
describe.each([
  ['2025-09-01', '2025-09-01'],
  ['2021-11-03', '2021-11-03'],
])('a module-scope client shared by concurrent requests in workerd (compatibility date %s)', (_, date) => {
  const worker = moduleWorkerAgainstEmulator(
    `
import { ChittyIDClient } from '@chittyos/chittyid-client'
let client
export default {
  async fetch(request, env) {
    client ??= new ChittyIDClient({ serviceUrl: env.SERVICE_URL })
    const { pathname, searchParams } = new URL(request.url)
    const id = searchParams.get('id')
    if (pathname === '/fire-and-forget') {
      client.validate(id)
      return new Response('gone')
    }
    return Response.json(await client.validate(id))
  },
}
`,
    date,
  )

  test('two requests validating one id share one request to the service', async () => {
    worker.emu.setFault({ latencyMs: 1500, routes: ['validate'] })
    const first = worker.mf.dispatchFetch('http://worker/a?id=AB-C-DEF-1234-P-26-A-1').then((r) => r.json())
    await new Promise((resolve) => setTimeout(resolve, 100))
    const second = worker.mf.dispatchFetch('http://worker/b?id=AB-C-DEF-1234-P-26-A-1').then((r) => r.json())
    const [a, b] = await Promise.all([settle(first, 20000), settle(second, 20000)])
    expect(a).toEqual(b)
    expect(a).toHaveProperty('valid')
    expect(worker.emu.stats().requests.validate).toBe(1)
  })

  test('when the request that started it ends, the other still gets an answer', async () => {
    worker.emu.setFault({ latencyMs: 500, routes: ['validate'] })
    expect(
      await (await worker.mf.dispatchFetch('http://worker/fire-and-forget?id=AB-C-DEF-1234-P-26-A-2')).text(),
    ).toBe('gone')
    const answer = await settle(
      worker.mf.dispatchFetch('http://worker/b?id=AB-C-DEF-1234-P-26-A-2').then((r) => r.json()),
      20000,
    )
    expect(answer).toHaveProperty('valid')
    // The other request's fetch may have been cancelled before or after it was sent.
    expect(worker.emu.stats().requests.validate).toBeGreaterThanOrEqual(1)
  })
})

// close() on a module-scope client while calls of other requests are pending: in workerd their
// fetches are I/O of those requests, which another request may not touch ("Cannot perform I/O on
// behalf of a different request"). close() must still close, and must not throw.
describe('close() of a module-scope client from another request in workerd', () => {
  const worker = moduleWorkerAgainstEmulator(
    `
import { ChittyIDClient } from '@chittyos/chittyid-client'
const clients = new Map()
export default {
  async fetch(request, env) {
    const { pathname, searchParams } = new URL(request.url)
    const name = searchParams.get('client')
    // A client named slow-* waits 1.5 s before a retry.
    const retry = name.startsWith('slow') ? { initialDelayMs: 1500, maxDelayMs: 1500, jitter: 0 } : undefined
    if (!clients.has(name)) clients.set(name, new ChittyIDClient({ serviceUrl: env.SERVICE_URL, retry }))
    const client = clients.get(name)
    if (pathname === '/fire-and-forget') {
      client.mint({ entity: 'PEO' }).catch(() => {})
      return new Response('gone')
    }
    if (pathname === '/close') {
      try {
        await client.close()
        return Response.json({ closed: true })
      } catch (err) {
        return Response.json({ closed: false, message: String(err && err.message) })
      }
    }
    try {
      return Response.json({ id: await client.mint({ entity: 'PEO' }) })
    } catch (err) {
      return Response.json({ code: err.code, mayHaveMinted: err.mayHaveMinted })
    }
  },
}
`,
  )
  const call = (path) => worker.mf.dispatchFetch(`http://worker${path}`).then((r) => r.json())

  test('while another request mints: close() closes, the mint still settles', async () => {
    worker.emu.setFault({ latencyMs: 1000, routes: ['mint'] })
    const pending = call('/mint?client=a')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await call('/close?client=a')).toEqual({ closed: true })
    expect(await call('/mint?client=a')).toMatchObject({ code: 'ECLIENTCLOSED' })
    const first = await settle(pending, 20000)
    // Its request cannot be cancelled from another request: the id it minted reaches it.
    expect(first).toHaveProperty('id')
    expect(worker.emu.stats().mintedIds).toEqual([first.id])
  })

  test('a call of another request waiting to retry stops there with ECLIENTCLOSED, sending nothing more', async () => {
    worker.emu.setFault({ errorStatus: 503, remaining: 1, routes: ['mint'] })
    const pending = call('/mint?client=slow')
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(worker.emu.stats().requests.mint).toBe(1)
    expect(await call('/close?client=slow')).toEqual({ closed: true })
    // A 503 is "not processed": nothing was minted.
    expect(await settle(pending, 20000)).toEqual({ code: 'ECLIENTCLOSED', mayHaveMinted: false })
    expect(worker.emu.stats().requests.mint).toBe(1)
    expect(worker.emu.stats().minted).toBe(0)
  })

  test('after a request ended with its mint pending: close() closes', async () => {
    worker.emu.setFault({ latencyMs: 1000, routes: ['mint'] })
    expect(await worker.mf.dispatchFetch('http://worker/fire-and-forget?client=b').then((r) => r.text())).toBe('gone')
    expect(await call('/close?client=b')).toEqual({ closed: true })
    expect(await call('/mint?client=b')).toMatchObject({ code: 'ECLIENTCLOSED' })
  })
})

// Cloudflare refuses a fetch past the invocation's subrequest limit with "Too many subrequests.";
// local workerd does not enforce the limit, so this worker puts the platform's refusal in front
// of fetch (thrown, or as a rejection). The client in it is the real portable build, and every
// fetch the limit allows reaches the emulator.
describe('a request that runs out of subrequests in workerd', () => {
  const LIMIT = 50
  const worker = moduleWorkerAgainstEmulator(`
import { ChittyIDClient } from '@chittyos/chittyid-client'
const platformFetch = globalThis.fetch
let used = 0
let refusal = 'throw'
globalThis.fetch = function (...args) {
  if (++used > ${LIMIT}) {
    const err = new Error('Too many subrequests.')
    if (refusal === 'throw') throw err
    return Promise.reject(err)
  }
  return platformFetch.apply(this, args)
}
let client
const outcome = (promise) =>
  promise.then(
    (value) => ({ value }),
    (err) => ({ code: err.code, mayHaveMinted: err.mayHaveMinted, message: err.message }),
  )
export default {
  async fetch(request, env) {
    used = 0
    client ??= new ChittyIDClient({ serviceUrl: env.SERVICE_URL })
    const { op, ids, count, mode } = await request.json()
    refusal = mode
    const calls =
      op === 'validate'
        ? ids.map((id) => outcome(client.validate(id)))
        : Array.from({ length: count }, () => outcome(client.mint({ entity: 'PEO' })))
    const results = await Promise.all(calls)
    return Response.json({ results, breaker: client.getStats().breaker, used })
  },
}
`)
  const run = (body) =>
    worker.mf.dispatchFetch('http://worker/', { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json())

  test('mints past the limit fail ESUBREQUESTS, not minted; the breaker stays closed for the next request', async () => {
    const first = await run({ op: 'mint', count: LIMIT + 10, mode: 'reject' })
    const minted = first.results.filter((r) => 'value' in r).map((r) => r.value)
    const refused = first.results.filter((r) => !('value' in r))
    expect(minted).toHaveLength(LIMIT)
    expect(refused).toHaveLength(10)
    for (const r of refused) {
      expect(r.code).toBe('ESUBREQUESTS')
      expect(r.mayHaveMinted).toBeUndefined()
      expect(r.message).toMatch(/Too many subrequests/)
    }
    // Nothing retried into the refusal, nothing minted that the caller did not get.
    expect(first.used).toBe(LIMIT + 10)
    expect(worker.emu.stats().mintedIds.sort()).toEqual([...minted].sort())
    expect(first.breaker).toMatchObject({ state: 'CLOSED', failures: 0, timesOpened: 0 })
    const next = await run({ op: 'mint', count: 1, mode: 'throw' })
    expect(next.results).toEqual([{ value: expect.any(String) }])
    expect(worker.emu.stats().minted).toBe(LIMIT + 1)
  })

  test('validations past the limit answer the format verdict with the reason; the next request asks the service', async () => {
    const ids = worker.emu.stats().mintedIds
    const minter = new NativeClient({ serviceUrl: `${worker.emu.url}/v1` })
    try {
      for (let i = ids.length; i < LIMIT + 11; i++) ids.push(await minter.mint({ entity: 'PEO' }))
    } finally {
      await minter.close()
    }
    const asked = worker.emu.stats().requests.validate
    const first = await run({ op: 'validate', ids: ids.slice(0, LIMIT + 10), mode: 'throw' })
    const answered = first.results.filter((r) => r.value.error === undefined)
    const refused = first.results.filter((r) => r.value.error !== undefined)
    expect(answered).toHaveLength(LIMIT)
    expect(answered.every((r) => r.value.valid === true)).toBe(true)
    expect(refused).toHaveLength(10)
    for (const r of refused)
      expect(r.value).toEqual({ valid: true, error: expect.stringMatching(/Too many subrequests/) })
    expect(first.used).toBe(LIMIT + 10)
    expect(worker.emu.stats().requests.validate - asked).toBe(LIMIT)
    expect(first.breaker).toMatchObject({ state: 'CLOSED', failures: 0 })
    const next = await run({ op: 'validate', ids: [ids[LIMIT + 10]], mode: 'reject' })
    expect(next.results).toEqual([{ value: expect.objectContaining({ valid: true }) }])
    expect(next.results[0].value.error).toBeUndefined()
    expect(worker.emu.stats().requests.validate - asked).toBe(LIMIT + 1)
  })
})
