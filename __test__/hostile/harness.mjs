// The child side of __test__/hostile-arguments.test.mjs: runs one batch of hostile calls in
// this process and prints one JSON line `{ batch, cases, outcomes, violations }` at the end.
// A crash (abort, fatal error) is seen by the parent as a signal or exit code; everything else
// that breaks the contract "bad input gets a clear, typed error" is a violation here:
// - an error that is neither the hostile value's own exception (HOSTILE) nor a TypeError,
//   RangeError or ChittyIDError with a string `code`;
// - a thrown non-Error, an error message that shows the API key;
// - a promise that does not settle within HANG_MS;
// - an uncaught exception or unhandled rejection.

import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { HOSTILE, VALUES, hostileError } from './values.mjs'

const require = createRequire(import.meta.url)
const ROOT = new URL('../../', import.meta.url)

export const API_KEY = 'hostile-test-key-0123456789'
// Each argument position and option field gets a seeded sample of the hostile values (every
// value gets through every position across seeds); CHITTYID_HOSTILE_FULL=1 runs them all.
const FULL = process.env.CHITTYID_HOSTILE_FULL === '1'
const PER_POSITION = 24
const HANG_MS = 8000

/** Deterministic PRNG (mulberry32). */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class Run {
  constructor(batch, seed, ChittyIDError) {
    this.batch = batch
    this.random = prng(seed)
    this.ChittyIDError = ChittyIDError
    this.cases = 0
    this.outcomes = { resolved: 0, typed: 0, hostile: 0, v1: 0 }
    this.violations = []
    this.slow = []
    this.current = 'setup'
    process.on('uncaughtException', (err) => this.violate('uncaughtException', describe(err)))
    process.on('unhandledRejection', (err) => this.violate('unhandledRejection', describe(err)))
  }

  violate(label, what) {
    if (this.violations.length < 1000) this.violations.push({ case: label, during: this.current, what })
  }

  /** `n` entries of `list`, drawn with the seeded PRNG. */
  sample(list, n) {
    if (FULL) return list
    const copy = [...list]
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1))
      ;[copy[i], copy[j]] = [copy[j], copy[i]]
    }
    return copy.slice(0, n)
  }

  pick(list) {
    return list[Math.floor(this.random() * list.length)]
  }

  /** Judges an error: the caller's own hostile exception, or a typed error with a code. */
  judge(label, err, how) {
    // A revoked proxy refuses every operation, as a proxy whose traps throw does: V8's TypeError
    // is the value's own exception.
    const revoked = err instanceof TypeError && /on a proxy that has been revoked$/.test(err.message)
    // A failed fetch is the client's to report (EFETCH...), however the stub failed; only v1
    // semantics pass a fetch's own rejection on, as v1 did.
    const ownFetch = this.batch === 'stubs' && !label.startsWith('[v1]')
    if (!ownFetch && ((err !== null && typeof err === 'object' && err[HOSTILE] === true) || revoked)) {
      this.outcomes.hostile += 1
      return
    }
    // v1 semantics (lib/v1.js) keep v1's own failures of mint and mintBatch: a plain Error with
    // v1's wording, whatever the request (docs/ARCHITECTURE.md "v1 semantics").
    const v1 = this.batch === 'v1' || label.startsWith('[v1]')
    if (v1 && how === 'rejected' && /\.?mint(Batch)?\b/.test(label)) {
      this.outcomes.v1 += 1
      return
    }
    if (!(err instanceof Error)) return this.violate(label, `${how}: threw a non-Error ${describe(err)}`)
    const msg = String(err.message)
    if (shows(err)) return this.violate(label, `${how}: the error (message, stack, cause or fields) shows the API key`)
    // The emulator's own failure to start (an unknown host, say): a plain Error with its code.
    const startFailure = err.code === 'EEMULATORSTART' && label.startsWith('ChittyIDEmulator.start')
    const typed =
      err instanceof TypeError || err instanceof RangeError || err instanceof this.ChittyIDError || startFailure
    if (!typed || typeof err.code !== 'string' || err.code === '')
      return this.violate(label, `${how}: untyped error ${describe(err)}`)
    // Clear: worded for the caller, not in the addon's terms.
    if (/rust type|napi value|Failed to convert/.test(msg))
      return this.violate(label, `${how}: napi's wording ${describe(err)}`)
    this.outcomes.typed += 1
  }

  /** Calls `fn` and judges how it ends; a returned promise must settle within HANG_MS. */
  async attempt(label, fn) {
    this.cases += 1
    this.current = label
    const started = performance.now()
    try {
      return await this.#attempt(label, fn)
    } finally {
      const ms = performance.now() - started
      if (ms > 100 && this.slow.length < 40) this.slow.push([label, Math.round(ms)])
    }
  }

  async #attempt(label, fn) {
    let result
    try {
      result = fn()
    } catch (err) {
      return this.judge(label, err, 'threw')
    }
    if (
      result === null ||
      (typeof result !== 'object' && typeof result !== 'function') ||
      typeof result.then !== 'function'
    ) {
      this.outcomes.resolved += 1
      return result
    }
    let timer
    const hang = new Promise((resolve) => {
      timer = setTimeout(() => resolve({ hang: true }), HANG_MS)
    })
    const settled = await Promise.race([
      result.then(
        (value) => ({ value }),
        (error) => ({ error, failed: true }),
      ),
      hang,
    ])
    clearTimeout(timer)
    if (settled.hang) return this.violate(label, `the promise did not settle within ${HANG_MS} ms`)
    if (settled.failed) return this.judge(label, settled.error, 'rejected')
    if (shows(settled.value)) return this.violate(label, 'the answer shows the API key')
    this.outcomes.resolved += 1
    return settled.value
  }

  report() {
    process.stdout.write(
      `\n${JSON.stringify({ batch: this.batch, cases: this.cases, outcomes: this.outcomes, violations: this.violations, slow: this.slow })}\n`,
    )
  }
}

/** Whether `value` (an error with its stack, cause and fields; an answer) shows the API key. */
function shows(value) {
  try {
    return inspect(value, { depth: 4, showHidden: true, getters: false }).includes(API_KEY)
  } catch {
    return false
  }
}

function describe(value) {
  if (value instanceof Error)
    return `${value.constructor.name}(${JSON.stringify(value.code)}): ${String(value.message).slice(0, 200)}`
  try {
    return `${typeof value} ${String(value).slice(0, 80)}`
  } catch {
    return typeof value
  }
}

/** The option paths of the client's config: top-level names and every nested field. */
function optionPaths() {
  const table = require(fileURLToPath(new URL('lib/options.json', ROOT))).options
  const { CLIENT_OPTIONS } = require(fileURLToPath(new URL('lib/option-names.js', ROOT)))
  const paths = []
  for (const name of CLIENT_OPTIONS) {
    paths.push([name])
    const node = table[name]
    if (node && typeof node === 'object' && node.default === undefined && node.kind === undefined) {
      for (const [field, leaf] of Object.entries(node)) {
        paths.push([name, field])
        if (leaf && typeof leaf === 'object' && leaf.default === undefined && leaf.kind === undefined)
          for (const sub of Object.keys(leaf)) paths.push([name, field, sub])
      }
    }
  }
  paths.push(['fleet', 'redis'], ['connection', 'autoConnect'], ['retry', 'budget'])
  return paths
}

/** `{ ...base }` with `value` at `path` (the objects on the way copied or made). */
function withAt(base, path, value) {
  const out = { ...base }
  let at = out
  for (let i = 0; i < path.length - 1; i++) {
    const next = at[path[i]]
    at[path[i]] = next !== null && typeof next === 'object' ? { ...next } : {}
    at = at[path[i]]
  }
  at[path[path.length - 1]] = value
  return out
}

// Minimal valid companions of a nested option (so the hostile field is the only bad one).
const COMPANIONS = {
  fleet: { redis: 'redis://127.0.0.1:1' },
  bulkhead: { maxConcurrent: 4 },
  rateLimit: { requestsPerSecond: 1000 },
}

/** Call options whose `field` answers a good value on its first read and `later` on every other. */
function optionThen(field, good, later) {
  let reads = 0
  return Object.defineProperty({}, field, { enumerable: true, get: () => (++reads === 1 ? good : later) })
}

const CALL_OPTION_SHAPES = [
  (v) => optionThen('signal', new AbortController().signal, v),
  (v) => optionThen('headers', { 'x-a': 'b' }, v),
  (v) => optionThen('idempotencyKey', 'hostile-key-1', v),
  (v) => v,
  (v) => ({ signal: v }),
  (v) => ({ headers: v }),
  (v) => ({ headers: { 'x-hostile': v } }),
  (v) => ({ headers: new Map([[v, 'b']]) }),
  (v) => ({ headers: typeof v === 'string' ? { [v]: 'b' } : new Headers({ 'x-a': 'b' }) }),
  (v) => ({ idempotencyKey: v }),
]

/** `{ entity }` whose getter answers 'PEO' on its first read and `later` on every other. */
function entityThen(later) {
  let reads = 0
  return {
    get entity() {
      return ++reads === 1 ? 'PEO' : later
    },
  }
}

const REQUEST_SHAPES = [
  (v) => v,
  (v) => ({ entity: v }),
  (v) => ({ entity: 'PEO', name: v }),
  (v) => ({ entity: 'PEO', metadata: v }),
  (v) => entityThen(v),
]

// ---------------------------------------------------------------------------------------
// Batches

async function constructorBatch(run, api, base, perPath = 32) {
  const { ChittyIDClient } = api
  const made = []
  const make = (config) => {
    const client = new ChittyIDClient(config)
    made.push(client)
    return client
  }
  for (const [name, value] of VALUES) await run.attempt(`new ChittyIDClient(${name})`, () => make(value()))
  for (const path of optionPaths()) {
    const companion = path.length > 1 && COMPANIONS[path[0]] ? { [path[0]]: COMPANIONS[path[0]] } : {}
    for (const [name, value] of run.sample(VALUES, perPath)) {
      if (path[0] === 'fleet' && name !== 'undefined' && path.length === 1) continue // needs redis
      const config = withAt({ ...base, ...companion }, path, value())
      await run.attempt(`new ChittyIDClient({ ${path.join('.')}: ${name} })`, () => make(config))
    }
  }
  // Time of check, time of use: each option answers a good value on its first read and a
  // hostile one on every later read.
  for (const path of optionPaths()) {
    const good = goodValue(path, base)
    if (good === SKIP) continue
    const companion = path.length > 1 && COMPANIONS[path[0]] ? { [path[0]]: COMPANIONS[path[0]] } : {}
    for (const [name, value] of run.sample(VALUES, 8)) {
      const config = { ...base, ...companion }
      let at = config
      for (const key of path.slice(0, -1)) at = at[key] = { ...(at[key] ?? {}) }
      let reads = 0
      Object.defineProperty(at, path[path.length - 1], {
        enumerable: true,
        get: () => (++reads === 1 ? good : value()),
      })
      await run.attempt(`new ChittyIDClient({ ${path.join('.')}: good, then ${name} })`, () => make(config))
    }
  }
  for (const client of made) await client.close()
}

const SKIP = Symbol('skip')

/** A valid value of the option at `path`. */
function goodValue(path, base) {
  const table = require(fileURLToPath(new URL('lib/options.json', ROOT))).options
  const key = path.join('.')
  const known = {
    serviceUrl: base.serviceUrl,
    apiKey: 'key',
    name: 'n',
    labels: { a: 'b' },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    loggerStyle: 'object-first',
    headers: { 'x-a': 'b' },
    ca: SKIP,
    proxy: false,
    transport: base.transport ?? SKIP,
    fleet: SKIP,
    'fleet.redis': 'redis://127.0.0.1:1',
    'fleet.ratePerSecond': 10,
    bulkhead: { maxConcurrent: 2 },
    'bulkhead.maxConcurrent': 2,
    rateLimit: { requestsPerSecond: 100 },
    'rateLimit.requestsPerSecond': 100,
    'rateLimit.burst': 2,
    'retry.budget': { ratio: 0.1 },
    'connection.autoConnect': false,
  }
  if (Object.prototype.hasOwnProperty.call(known, key)) return known[key]
  let node = table
  for (const k of path) node = node?.[k]
  if (node === undefined) return SKIP
  if (node.default !== undefined) return node.default === 'Infinity' ? Infinity : node.default
  return node.kind === undefined ? {} : SKIP
}

async function clientCalls(run, client, label, { v1 = false } = {}) {
  const calls = [
    ['mint', (a, b) => client.mint(a, b), REQUEST_SHAPES, CALL_OPTION_SHAPES],
    [
      'mintBatch',
      (a, b) => client.mintBatch(a, b),
      REQUEST_SHAPES.map((shape) => (v) => [shape(v)]).concat([(v) => v]),
      CALL_OPTION_SHAPES,
    ],
    ['validate', (a, b) => client.validate(a, b), [(v) => v], CALL_OPTION_SHAPES],
    ['invalidate', (a) => client.invalidate(a), [(v) => v], [() => undefined]],
    ['validateFormat', (a) => client.validateFormat(a), [(v) => v], [() => undefined]],
    ['healthCheck', (a) => client.healthCheck(a), CALL_OPTION_SHAPES, [() => undefined]],
  ]
  if (!v1) calls.push(['connect', (a) => client.connect(a), CALL_OPTION_SHAPES, [() => undefined]])
  const good = { mint: { entity: 'PEO' }, mintBatch: [{ entity: 'PEO' }], validate: 'CT-A-CHI-1234-I-24-A-0' }
  for (const [method, call, firsts, seconds] of calls) {
    for (const shape of firsts)
      for (const [name, value] of run.sample(VALUES, PER_POSITION))
        await run.attempt(`${label}.${method}(${shape.toString().slice(6, 40)} ${name})`, () =>
          call(shape(value()), undefined),
        )
    if (seconds.length > 1)
      for (const shape of seconds)
        for (const [name, value] of run.sample(VALUES, PER_POSITION))
          await run.attempt(`${label}.${method}(good, ${shape.toString().slice(6, 40)} ${name})`, () =>
            call(good[method] ?? undefined, shape(value())),
          )
  }
  // Random pairs, seeded.
  for (let i = 0; i < 150; i++) {
    const [method, call, firsts, seconds] = run.pick(calls)
    const [n1, v1Make] = run.pick(VALUES)
    const [n2, v2Make] = run.pick(VALUES)
    const s1 = run.pick(firsts)
    const s2 = run.pick(seconds)
    await run.attempt(`${label}.${method}(${n1}, ${n2}) #${i}`, () => call(s1(v1Make()), s2(v2Make())))
  }
  for (const method of ['getStats', 'metrics', 'getConnectionState', 'disconnect']) {
    for (const [name, value] of VALUES.slice(0, 12))
      await run.attempt(`${label}.${method}(${name})`, () => client[method](value()))
  }
}

async function clientBatch(run, api, base, transport, emulator) {
  await configuredBatch(run, api, base, transport)
  const client = new api.ChittyIDClient({ ...base, transport })
  client.on('error', () => {})
  await clientCalls(run, client, `client[${transport}]`, { v1: transport === undefined })
  // Reentrancy: calls made from inside event listeners.
  const reentrant = new api.ChittyIDClient({ ...base, transport })
  // Listeners that throw what cannot be shown, or reject later: warnings, never a crash.
  reentrant.on('stateChange', () => {
    throw { message: Symbol('m') }
  })
  reentrant.on('stateChange', () => Promise.reject(hostileError('async listener')))
  for (const event of ['connected', 'stateChange', 'disconnected', 'retry', 'error', 'unhealthy']) {
    reentrant.on(event, () => {
      const [, value] = run.pick(VALUES)
      for (const p of [reentrant.mint(value()), reentrant.validate(value()), reentrant.healthCheck(value())])
        p.catch((err) => run.judge(`listener(${event})`, err, 'rejected'))
      reentrant.getStats()
      reentrant.getConnectionState()
    })
  }
  if (transport !== undefined) await run.attempt('reentrant.connect()', () => reentrant.connect())
  await run.attempt('reentrant.disconnect()', () => reentrant.disconnect())
  // Retries (the emulator answers 503 twice) whose listeners call again, and close the client
  // in the middle of its calls.
  const retrying = new api.ChittyIDClient({ ...base, transport, retry: { maxAttempts: 3, initialDelayMs: 1 } })
  let retries = 0
  retrying.on('retry', () => {
    retries += 1
    const [, value] = run.pick(VALUES)
    retrying.mint(value()).catch((err) => run.judge('retry listener: mint', err, 'rejected'))
    if (retries === 3) retrying.close()
  })
  for (let i = 0; i < 3; i++) {
    emulator.setFault({ errorStatus: 503, remaining: 2 })
    await run.attempt(`retrying.validate #${i}`, () => retrying.validate('CT-A-CHI-1234-I-24-A-0'))
    await run.attempt(`retrying.mint #${i}`, () =>
      retrying.mint({ entity: 'PEO' }, { idempotencyKey: `reentrant-${i}` }),
    )
  }
  emulator.clearFaults()
  await retrying.close()
  await reentrant.close()
  // After close(): every call is ECLIENTCLOSED or a typed refusal, nothing crashes.
  await client.close()
  await clientCalls(run, client, `closed[${transport}]`, { v1: transport === undefined })
}

/** Loggers and `headers` options that misbehave at call time, not at construction. */
function hostileCallbacks() {
  const thrower = () => {
    throw hostileError('callback')
  }
  let reads = 0
  const flaky = {}
  for (const level of ['debug', 'info', 'warn', 'error'])
    Object.defineProperty(flaky, level, {
      get: () => (++reads <= 4 ? () => {} : thrower()),
    })
  return [
    ['a logger whose methods throw', { logger: { debug: thrower, info: thrower, warn: thrower, error: thrower } }],
    ['a logger whose methods go away after the check', { logger: flaky }],
    [
      'a logger returning promises that reject',
      {
        logger: Object.fromEntries(
          ['debug', 'info', 'warn', 'error'].map((l) => [l, () => Promise.reject(hostileError('log'))]),
        ),
      },
    ],
    ['a headers function that throws', { headers: thrower }],
    ['a headers function returning a Symbol', { headers: () => Symbol('h') }],
    [
      'a headers function returning a throwing proxy',
      { headers: () => new Proxy({}, { ownKeys: thrower, get: thrower }) },
    ],
    ['a headers function returning a Promise', { headers: () => Promise.resolve({ 'x-a': 'b' }) }],
    ['a headers function returning a Symbol value', { headers: () => ({ 'x-a': Symbol('v') }) }],
    ['a headers function returning CR LF', { headers: () => ({ 'x-a': 'b\r\nx-injected: 1' }) }],
    ['a headers function returning the Authorization header', { headers: () => ({ authorization: 'Bearer other' }) }],
    [
      'headers as a Map with a throwing forEach',
      { headers: Object.assign(new Map([['x-a', 'b']]), { forEach: thrower }) },
    ],
    [
      'headers with a getter throwing on its 2nd read',
      {
        headers: (() => {
          let n = 0
          return {
            get 'x-a'() {
              if (++n > 1) thrower()
              return 'b'
            },
          }
        })(),
      },
    ],
  ]
}

async function configuredBatch(run, api, base, transport) {
  for (const [name, extra] of hostileCallbacks()) {
    let client
    await run.attempt(`new ChittyIDClient(${name})`, () => {
      client = new api.ChittyIDClient({ ...base, transport, ...extra })
    })
    if (client === undefined) continue
    client.on('retry', () => {})
    await run.attempt(`[${name}] mint`, () => client.mint({ entity: 'PEO' }))
    await run.attempt(`[${name}] mintBatch`, () => client.mintBatch([{ entity: 'PEO' }]))
    await run.attempt(`[${name}] validate`, () => client.validate('CT-A-CHI-1234-I-24-A-0'))
    await run.attempt(`[${name}] healthCheck`, () => client.healthCheck())
    if (typeof client.connect === 'function' && transport !== undefined)
      await run.attempt(`[${name}] connect`, () => client.connect())
    await run.attempt(`[${name}] close`, () => client.close())
  }
}

/** `globalThis.fetch` stand-ins that misbehave: what a jest stub can do to the fetch engines. */
function hostileFetches() {
  const thrower = () => {
    throw hostileError('fetch stub')
  }
  const proxy = () => new Proxy({}, { get: thrower, has: thrower, ownKeys: thrower, getPrototypeOf: thrower })
  const answer = (status, fields = {}) =>
    Object.assign(new Response(JSON.stringify({ chittyId: 'CT-A-CHI-1234-I-24-A-0', valid: true }), { status }), fields)
  return [
    ['not a function', 42],
    [
      'throws a Symbol',
      () => {
        throw Symbol('s')
      },
    ],
    [
      'throws null',
      () => {
        throw null
      },
    ],
    ['rejects with a throwing proxy', () => Promise.reject(proxy())],
    [
      'rejects with a throwing code getter',
      () => Promise.reject(Object.defineProperty(new Error('x'), 'code', { get: thrower })),
    ],
    [
      'rejects with a throwing cause getter',
      () => Promise.reject(Object.defineProperty(new TypeError('fetch failed'), 'cause', { get: thrower })),
    ],
    ['resolves undefined', () => Promise.resolve(undefined)],
    ['resolves a throwing proxy', () => Promise.resolve(proxy())],
    ['resolves a thenable that throws', () => ({ then: thrower })],
    [
      'answers with a throwing status getter',
      () => Promise.resolve(Object.defineProperty(answer(200), 'status', { get: thrower })),
    ],
    [
      'answers with throwing headers',
      () => Promise.resolve(Object.defineProperty(answer(503), 'headers', { get: thrower })),
    ],
    [
      'answers with a body that throws',
      () =>
        Promise.resolve({
          status: 200,
          ok: true,
          headers: new Headers(),
          body: proxy(),
          json: thrower,
          text: thrower,
          arrayBuffer: thrower,
        }),
    ],
    [
      'answers with a status of 1e300',
      () => Promise.resolve({ status: 1e300, ok: false, headers: new Headers(), text: async () => '' }),
    ],
    [
      'answers with a body that never ends',
      () => Promise.resolve(new Response(new ReadableStream({ pull: () => new Promise(() => {}) }), { status: 200 })),
    ],
    ['never settles', () => new Promise(() => {})],
  ]
}

async function stubBatch(run, api) {
  const portable = require(fileURLToPath(new URL('portable.js', ROOT)))
  const realFetch = globalThis.fetch
  const config = { serviceUrl: 'http://127.0.0.1:9/v1', apiKey: API_KEY, timeout: 100 }
  const makers = {
    fetch: () =>
      new api.ChittyIDClient({ ...config, transport: 'fetch', retry: { maxAttempts: 2, initialDelayMs: 1 } }),
    portable: () => new portable.ChittyIDClient({ ...config, retry: { maxAttempts: 2, initialDelayMs: 1 } }),
    // v1 semantics: the fetch transport chosen automatically under jest, v1's options only.
    v1: () => {
      const saved = { JEST_WORKER_ID: process.env.JEST_WORKER_ID, CHITTYID_TRANSPORT: process.env.CHITTYID_TRANSPORT }
      process.env.JEST_WORKER_ID = '1'
      delete process.env.CHITTYID_TRANSPORT
      try {
        return new api.ChittyIDClient(config)
      } finally {
        for (const [k, v] of Object.entries(saved))
          if (v === undefined) delete process.env[k]
          else process.env[k] = v
      }
    },
  }
  try {
    for (const [mode, make] of Object.entries(makers)) {
      for (const [name, fetch] of hostileFetches()) {
        // v1 semantics wait as v1 did: without a timeout on validate, mintBatch and a mint's
        // body, so a fetch that never answers holds them (docs/ARCHITECTURE.md "v1 semantics").
        if (mode === 'v1' && /never/.test(name)) continue
        globalThis.fetch = fetch
        const client = make()
        const label = `[${mode}] fetch ${name}:`
        await run.attempt(`${label} mint`, () => client.mint({ entity: 'PEO' }))
        await run.attempt(`${label} mintBatch`, () => client.mintBatch([{ entity: 'PEO' }]))
        await run.attempt(`${label} validate`, () => client.validate('CT-A-CHI-1234-I-24-A-0'))
        // (healthCheck()'s own timeout is a fixed 5 s: not waited out here.)
        if (!/never/.test(name)) await run.attempt(`${label} healthCheck`, () => client.healthCheck())
        await client.close()
      }
    }
  } finally {
    globalThis.fetch = realFetch
  }
}

async function receiverBatch(run, api, base) {
  const { ChittyIDClient } = api
  const client = new ChittyIDClient(base)
  const methods = [
    'mint',
    'mintBatch',
    'validate',
    'invalidate',
    'validateFormat',
    'healthCheck',
    'getStats',
    'metrics',
    'getConnectionState',
    'disconnect',
    'close',
  ]
  if (typeof client.connect === 'function') methods.push('connect')
  const blank = Object.create(ChittyIDClient.prototype)
  for (const method of methods) {
    const fn = client[method]
    for (const [name, value] of VALUES.slice(0, 3)) {
      await run.attempt(`detached ${method}(${name})`, () => fn(value()))
      await run.attempt(`${method}.call(${name})`, () => fn.call(value(), { entity: 'PEO' }))
      await run.attempt(`blank.${method}(${name})`, () => blank[method](value()))
    }
    await run.attempt(`${method}.call(other client instance)`, () => fn.call({ __proto__: client }, { entity: 'PEO' }))
  }
  for (const getter of ['apiKey', 'transport', 'serviceUrl', 'timeout'])
    await run.attempt(`blank.${getter}`, () => blank[getter])
  await client.close()
}

async function moduleBatch(run, api, base) {
  const { mintChittyID, validateChittyID, validateFormat, parse, ChittyIDClient, registerMetrics } = api
  const client = new ChittyIDClient(base)
  for (const [name, value] of VALUES) {
    const shape = run.pick(REQUEST_SHAPES)
    await run.attempt(`mintChittyID(${name})`, () => mintChittyID(shape(value()), base))
    // A config that is not one means the defaults: the public service, which this test must
    // not reach (loopback only). A bad request or id is answered before anything is sent.
    await run.attempt(`mintChittyID(bad, config ${name})`, () => mintChittyID({}, value()))
    await run.attempt(`mintChittyID(good, { timeout: ${name} })`, () =>
      mintChittyID({ entity: 'PEO' }, { ...base, timeout: value() }),
    )
    await run.attempt(`validateChittyID(${name})`, () => validateChittyID(value(), base))
    await run.attempt(`validateChittyID(bad, config ${name})`, () => validateChittyID(42, value()))
    await run.attempt(`validateFormat(${name})`, () => validateFormat(value()))
    await run.attempt(`validateFormat(good, ${name})`, () => validateFormat('CT-A-CHI-1234-I-24-A-0', value()))
    await run.attempt(`validateFormat(good, { grammar: ${name} })`, () =>
      validateFormat('CT-A-CHI-1234-I-24-A-0', { grammar: value() }),
    )
    await run.attempt(`parse(${name})`, () => parse(value()))
    await run.attempt(`parse(good, ${name})`, () => parse('CT-A-CHI-1234-I-24-A-0', value()))
    await run.attempt(`parse(good, { grammar: ${name} })`, () => parse('CT-A-CHI-1234-I-24-A-0', { grammar: value() }))
    await run.attempt(`ChittyIDClient.parse(${name})`, () => ChittyIDClient.parse(value()))
    if (registerMetrics) {
      await run.attempt(`registerMetrics(${name}, client)`, () => registerMetrics(value(), client))
      await run.attempt(`registerMetrics(registry, ${name})`, () =>
        registerMetrics({ registerMetric() {}, getSingleMetric() {} }, value()),
      )
    }
  }
  await client.close()
}

async function emulatorBatch(run, api, emulator) {
  const { ChittyIDEmulator } = api
  const fields = [
    'profile',
    'host',
    'port',
    'token',
    'maxRequestBytes',
    'tls',
    'redirectStatus',
    'compress',
    'ignoreIdempotencyKeys',
  ]
  const faults = [
    'latencyMs',
    'errorStatus',
    'rateLimitRetryAfter',
    'rateLimitPerSecond',
    'resetConnection',
    'dropAfterCommit',
    'malformedJson',
    'oversizedBody',
    'down',
    'placeholder',
    'routes',
    'probability',
    'remaining',
  ]
  const started = []
  const start = async (options) => {
    const e = await ChittyIDEmulator.start(options)
    started.push(e)
    return e
  }
  for (const [name, value] of VALUES) {
    if (name === 'undefined') continue
    await run.attempt(`ChittyIDEmulator.start(${name})`, () => start(value()))
    for (const field of fields) {
      if (field === 'port') continue
      await run.attempt(`ChittyIDEmulator.start({ ${field}: ${name} })`, () => start({ port: 0, [field]: value() }))
    }
    await run.attempt(`ChittyIDEmulator.start({ port: ${name} })`, () =>
      typeof value() === 'number' && Number.isFinite(value()) && value() >= 0 && value() < 1024
        ? undefined
        : start({ port: value() }),
    )
    await run.attempt(`emulator.setFault(${name})`, () => emulator.setFault(value()))
    for (const field of faults)
      await run.attempt(`emulator.setFaults({ ${field}: ${name} })`, () => emulator.setFaults({ [field]: value() }))
    await run.attempt(`emulator.setIgnoreIdempotencyKeys(${name})`, () => emulator.setIgnoreIdempotencyKeys(value()))
  }
  emulator.clearFaults()
  for (const e of started) await e.close()
}

async function compatBatch(run, api, base) {
  const { ChittyIDCache, getSharedCache, withRetry, CircuitBreaker, getCircuitBreaker, withResilience } = api
  const { ChittyIDConnectionManager, getSharedConnectionManager, resetSharedConnectionManager } = api
  const cache = new ChittyIDCache({ maxSize: 10 })
  const quick = { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 }
  // The caller's own failure, not retried (its code is no retryable one).
  const failing = () => {
    throw Object.assign(hostileError('fn'), { code: 'EHOSTILE' })
  }
  for (const [name, value] of VALUES) {
    await run.attempt(`new ChittyIDCache(${name})`, () => new ChittyIDCache(value()))
    for (const field of ['maxSize', 'ttlMs', 'ttlMinutes'])
      await run.attempt(`new ChittyIDCache({ ${field}: ${name} })`, () => new ChittyIDCache({ [field]: value() }))
    for (const method of ['get', 'has', 'invalidate'])
      await run.attempt(`cache.${method}(${name})`, () => cache[method](value()))
    await run.attempt(`cache.set(${name}, true)`, () => cache.set(value(), true))
    await run.attempt(`cache.set(id, ${name})`, () => cache.set('CT-A-CHI-1234-I-24-A-0', value()))
    await run.attempt(`getSharedCache(${name})`, () => getSharedCache(value()))
    await run.attempt(`withRetry(${name})`, () => withRetry(value(), quick))
    await run.attempt(`withRetry(fn, ${name})`, () => withRetry(failing, value()))
    for (const field of ['maxAttempts', 'initialDelayMs', 'maxDelayMs', 'backoffMultiplier', 'retryableErrors'])
      await run.attempt(`withRetry(fn, { ${field}: ${name} })`, () =>
        withRetry(failing, { ...quick, [field]: value() }),
      )
    await run.attempt(`new CircuitBreaker(${name})`, () => new CircuitBreaker(value()))
    for (const field of ['failureThreshold', 'resetTimeout', 'monitorWindow', 'halfOpenAttempts'])
      await run.attempt(`new CircuitBreaker({ ${field}: ${name} })`, () => new CircuitBreaker({ [field]: value() }))
    await run.attempt(`breaker.execute(${name})`, () => new CircuitBreaker().execute(value()))
    await run.attempt(`getCircuitBreaker(${name})`, () => getCircuitBreaker(value()))
    await run.attempt(`withResilience(${name})`, () => withResilience(value()))
    await run.attempt(`withResilience(fn, ${name})`, () => withResilience(failing, value()))
    await run.attempt(`withResilience(fn, { retryConfig: ${name} })`, () =>
      withResilience(failing, { retryConfig: value() }),
    )
    await run.attempt(`withResilience(fn, { circuitBreakerConfig: ${name} })`, () =>
      withResilience(failing, { retryConfig: quick, circuitBreakerConfig: value() }),
    )
    await run.attempt(`new ChittyIDConnectionManager(${name})`, () => new ChittyIDConnectionManager(value()).reset())
    for (const field of [
      'serviceUrl',
      'apiKey',
      'healthCheckInterval',
      'reconnectDelay',
      'maxReconnectDelay',
      'reconnectMultiplier',
      'maxReconnectAttempts',
    ])
      await run.attempt(`new ChittyIDConnectionManager({ ${field}: ${name} }).connect()`, async () => {
        const m = new ChittyIDConnectionManager({ serviceUrl: base.serviceUrl, apiKey: API_KEY, [field]: value() })
        m.on('error', () => {})
        // A hostile serviceUrl may mean the default (the public service): never connected here.
        if (field !== 'serviceUrl') await m.connect()
        return m.reset()
      })
    // Its live properties are read at every reconnect, from a timer: an odd one must not throw.
    for (const field of [
      'reconnectDelay',
      'maxReconnectDelay',
      'reconnectMultiplier',
      'maxReconnectAttempts',
      'reconnectAttempts',
      'healthCheckInterval',
    ]) {
      if (run.random() > 0.25) continue // a seeded quarter of the pairs: each is a failed connect
      const down = new ChittyIDConnectionManager({
        serviceUrl: 'http://127.0.0.1:9',
        reconnectDelay: 1,
        maxReconnectDelay: 5,
      })
      down.on('error', () => {})
      down[field] = value()
      await run.attempt(`manager (service down) with ${field} = ${name}: connect()`, () => down.connect())
      await new Promise((resolve) => setTimeout(resolve, 5))
      await down.reset()
    }
    const manager = new ChittyIDConnectionManager({ serviceUrl: base.serviceUrl })
    await run.attempt(`manager.setState(${name})`, () => manager.setState(value()))
    // (An event name is EventEmitter's business: Node's emitter itself throws an untyped
    // TypeError for a name that cannot be a property key.)
    await run.attempt(`manager.on('x', ${name})`, () => manager.on('x', value()))
    await manager.reset()
    await run.attempt(`getSharedConnectionManager(${name})`, () => getSharedConnectionManager(value()))
    resetSharedConnectionManager()
  }
  cache.clear()
}

async function portableBatch(run, base) {
  const portable = require(fileURLToPath(new URL('portable.js', ROOT)))
  await constructorBatch(run, portable, base, 16)
  await configuredBatch(run, portable, base, undefined)
  const client = new portable.ChittyIDClient(base)
  await clientCalls(run, client, 'portable')
  await moduleBatch(run, { ...portable, registerMetrics: undefined }, base)
  await client.close()
  await clientCalls(run, client, 'closed[portable]')
  await receiverBatch(run, portable, base)
}

/** Runs `batch` with `seed`; `transport`: the client's transport for the client batches. */
export async function run(batch, seed, transport) {
  const api = require(fileURLToPath(new URL('index.js', ROOT)))
  const r = new Run(batch, seed, api.ChittyIDError)
  const emulator = await api.ChittyIDEmulator.start({ port: 0, token: API_KEY })
  const base = {
    serviceUrl: `${emulator.url}/v1`,
    apiKey: API_KEY,
    timeout: 3000,
    retry: { maxAttempts: 2, initialDelayMs: 1 },
    transport,
  }
  try {
    if (batch === 'constructor') await constructorBatch(r, api, base)
    else if (batch === 'client') await clientBatch(r, api, base, transport, emulator)
    // v1 semantics: the transport chosen automatically under jest (lib/v1.js makes the calls).
    else if (batch === 'v1')
      await clientBatch(r, api, { serviceUrl: base.serviceUrl, apiKey: API_KEY, timeout: 3000 }, undefined, emulator)
    else if (batch === 'receivers') await receiverBatch(r, api, base)
    else if (batch === 'stubs') await stubBatch(r, api)
    else if (batch === 'module') await moduleBatch(r, api, base)
    else if (batch === 'emulator') await emulatorBatch(r, api, emulator)
    else if (batch === 'compat') await compatBatch(r, api, base)
    else if (batch === 'portable') {
      const { transport: _, ...portableBase } = base
      await portableBatch(r, portableBase)
    } else throw new Error(`no batch ${batch}`)
  } catch (err) {
    r.violate('harness', `the batch stopped: ${describe(err)} ${err && err.stack}`)
  }
  await emulator.close()
  r.report()
}

export { hostileError }
