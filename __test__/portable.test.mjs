// The portable build's own pieces (docs/PORTABLE.md): held to the native client where both
// have the concept (defaults, option refusals, retry vectors shared with src/policy/retry.rs), and
// the parts only it has (its breaker, cache and emitter in JS, the stand-ins that refuse, no
// addon loaded, no timer left behind). __test__/behaviour.test.mjs and
// __test__/workers.test.mjs test its behaviour against a service.
import { createRequire } from 'node:module'
import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ChittyIDClient as NativeClient, ChittyIDEmulator } from '../index.mjs'
import * as portable from '../portable.mjs'

const require = createRequire(import.meta.url)
const native = require('../lib/native/index.js')
const { DEFAULTS } = require('../lib/portable/defaults.js')
const { jitteredDelayMs, parseRetryAfter, nextDelayMs } = require('../lib/portable/retry.js')
const { Breaker } = require('../lib/portable/breaker.js')
const { ValidationCache } = require('../lib/portable/cache.js')
const { MiniEmitter } = require('../lib/portable/emitter.js')
const { emitSafely } = require('../lib/events.js')
const root = fileURLToPath(new URL('..', import.meta.url))
const vectors = JSON.parse(readFileSync(new URL('./vectors/retry.json', import.meta.url), 'utf8'))

describe('defaults', () => {
  test('every default of the portable client is the native one', () => {
    const n = native.clientDefaults()
    expect(DEFAULTS.serviceUrl).toBe(n.serviceUrl)
    expect(DEFAULTS.timeout).toBe(n.timeout)
    expect(DEFAULTS.maxResponseBytes).toBe(n.maxResponseBytes)
    const { mint, budget, ...retry } = n.retry
    expect(DEFAULTS.retry).toEqual(retry)
    expect(DEFAULTS.mintRetry).toBe(mint)
    expect(budget).toBeDefined() // the portable build has no retry budget
    expect(DEFAULTS.circuitBreaker).toEqual(n.circuitBreaker)
    expect(DEFAULTS.cache).toEqual({
      maxSize: n.cache.maxSize,
      ttlMs: n.cache.ttlMs,
      negativeTtlMs: n.cache.negativeTtlMs,
    })
  })

  test('a client shows them as the native one does', async () => {
    const a = new portable.ChittyIDClient()
    const b = new NativeClient()
    expect([a.serviceUrl, a.timeout]).toEqual([b.serviceUrl, b.timeout])
    expect(a.getStats().cache).toMatchObject({ maxSize: b.getStats().cache.maxSize, ttlMs: b.getStats().cache.ttlMs })
    await b.close()
  })
})

describe('retry rules: the vectors src/policy/retry.rs is held to', () => {
  test.each(vectors.jitteredDelayMs.map((c) => [JSON.stringify(c), c]))('%s', (_, c) => {
    expect(jitteredDelayMs(c.policy, c.retryIndex, c.r)).toBe(c.expected)
  })

  test.each(vectors.parseRetryAfter.map((c) => [JSON.stringify(c), c]))('Retry-After %s', (_, c) => {
    expect(parseRetryAfter(c.value, c.nowMs) ?? null).toBe(c.expected)
  })

  test('attempts run out at maxAttempts; a Retry-After above maxRetryAfterMs is not waited for', () => {
    const policy = { ...DEFAULTS.retry, jitter: 0 }
    expect([1, 2, 3].map((a) => nextDelayMs(policy, a, undefined))).toEqual([100, 200, null])
    expect(nextDelayMs(policy, 1, 30000)).toBe(30000)
    expect(nextDelayMs(policy, 1, 30001)).toBe(null)
  })
})

describe('options: the native client refuses the same values with the same words', () => {
  const bad = [
    { timeout: -1 },
    { timeout: 'soon' },
    { timeout: 2 ** 31 },
    { retry: { maxAttempts: 0 } },
    { retry: { jitter: 'x' } },
    { retry: { maxAttempts: 1.5 } },
    { retry: { mint: 'sometimes' } },
    { retry: 'yes' },
    { circuitBreaker: { failureThreshold: -2 } },
    { circuitBreaker: 7 },
    { cache: { ttlMs: Infinity } },
    { cache: { maxSize: NaN } },
    { apiKey: 42 },
    { maxResponseBytes: 0 },
    { maxResponseBytes: 1.5 },
    { headers: { Authorization: 'Bearer other' } },
    { headers: { 'bad name': 'x' } },
    { transport: 'carrier-pigeon' },
    // Unknown names (lib/option-names.js): the same refusal, did-you-mean included.
    { retries: 3 },
    { serviceURL: 'https://id.chitty.cc/v1' },
    { zzz: 1 },
    { cache: { max: 5 } },
    { cache: { zzz: 5 } },
    { retry: { retrys: 1 } },
    { retry: { zzz: 1 } },
    { circuitBreaker: { threshold: 2 } },
    { wire: 'v2' },
    { idGrammar: 'v2' },
    { acceptPlaceholders: 'yes' },
    // `name`: a string (ERR_INVALID_ARG_TYPE otherwise), non-empty, at most 256 characters.
    { name: 5 },
    { name: {} },
    { name: '' },
    { name: 'x'.repeat(257) },
    // A value no build takes is refused as such before the portable build says "unsupported".
    { connection: null },
    { connection: 5 },
  ]
  test.each(bad.map((c) => [JSON.stringify(c), c]))('%s', (_, config) => {
    const refusal = (Client) => {
      try {
        new Client(config).close()
      } catch (err) {
        return { type: err.constructor.name, code: err.code, message: err.message }
      }
      return 'accepted'
    }
    const fromNative = refusal(NativeClient)
    expect(fromNative).not.toBe('accepted')
    expect(refusal(portable.ChittyIDClient)).toEqual(fromNative)
    if (config.name !== undefined && typeof config.name !== 'string')
      expect(fromNative.code).toBe('ERR_INVALID_ARG_TYPE')
  })

  test("a string name is the client's name in both builds; null is unset", () => {
    for (const Client of [NativeClient, portable.ChittyIDClient]) {
      const named = new Client({ name: 'billing' })
      expect(named.name).toBe('billing')
      named.close()
      const unnamed = new Client({ name: null })
      expect(unnamed.name).not.toBe(null)
      unnamed.close()
    }
  })

  test('the headers a caller may not set are the native ones', () => {
    const { RESERVED_HEADERS } = require('../lib/portable/options.js')
    expect([...RESERVED_HEADERS].sort()).toEqual([...native.reservedHeaderNames()].sort())
  })

  test('an unknown constructor option, and an unknown call option, are refused alike', async () => {
    const constructing = (Client) => {
      try {
        new Client({ serviceUrl: 'http://127.0.0.1:9/v1', retires: 2 })
        return 'accepted'
      } catch (err) {
        return { type: err.constructor.name, code: err.code, message: err.message, option: err.option }
      }
    }
    const nativeRefusal = constructing(NativeClient)
    expect(nativeRefusal).toMatchObject({ code: 'ERR_CHITTYID_UNKNOWN_OPTION', option: 'retires' })
    expect(constructing(portable.ChittyIDClient)).toEqual(nativeRefusal)
    const refusal = async (Client) => {
      const client = new Client({ serviceUrl: 'http://127.0.0.1:9/v1', retry: false })
      try {
        await client.mint({ entity: 'PEO' }, { signl: undefined })
        return 'accepted'
      } catch (err) {
        return {
          type: err.constructor.name,
          code: err.code,
          message: err.message,
          option: err.option,
          suggestion: err.suggestion,
        }
      } finally {
        await client.close()
      }
    }
    const fromNative = await refusal(NativeClient)
    expect(fromNative).toMatchObject({ code: 'ERR_CHITTYID_UNKNOWN_OPTION', option: 'signl', suggestion: 'signal' })
    expect(await refusal(portable.ChittyIDClient)).toEqual(fromNative)
  })

  test('plain http only to loopback unless allowInsecure', () => {
    expect(() => new portable.ChittyIDClient({ serviceUrl: 'http://id.example.com/v1' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    )
    expect(
      new portable.ChittyIDClient({ serviceUrl: 'http://id.example.com/v1', allowInsecure: true }).serviceUrl,
    ).toBe('http://id.example.com/v1')
    expect(new portable.ChittyIDClient({ serviceUrl: 'http://localhost:8787/v1///' }).serviceUrl).toBe(
      'http://localhost:8787/v1',
    )
  })

  test.each([
    ['credentials', (url) => `${url.replace('http://', 'http://user:s3cret-pw@')}/v1`],
    ['an empty query', (url) => `${url}/v1?`],
    ['an empty fragment', (url) => `${url}/v1#`],
  ])('a serviceUrl with %s is refused at construction, as natively', async (_, serviceUrlOf) => {
    // fetch refuses a URL with credentials on every request, the password in its message; a
    // bare "?" or "#" would end up in every route (`/v1?/mint`). The native client refuses both.
    const emu = await ChittyIDEmulator.start({ port: 0 })
    try {
      const serviceUrl = serviceUrlOf(emu.url)
      const refusal = (Client) => {
        try {
          new Client({ serviceUrl })
          return 'accepted'
        } catch (err) {
          return { type: err.constructor.name, code: err.code, shows: err.message.includes('s3cret-pw') }
        }
      }
      const fromNative = refusal(NativeClient)
      expect(fromNative).toEqual({ type: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', shows: false })
      expect(refusal(portable.ChittyIDClient)).toEqual(fromNative)
    } finally {
      await emu.close()
    }
  })

  test('an empty serviceUrl array is a bad value, as natively, not an unsupported failover', () => {
    const code = (Client) => {
      try {
        new Client({ serviceUrl: [] })
        return 'accepted'
      } catch (err) {
        return err.code
      }
    }
    expect(code(NativeClient)).toBe('ERR_INVALID_ARG_VALUE')
    expect(code(portable.ChittyIDClient)).toBe('ERR_INVALID_ARG_VALUE')
  })

  test.each([
    ['fleet', { fleet: { redis: 'redis://127.0.0.1:6379' } }],
    ['proxy', { proxy: 'http://proxy:3128' }],
    ['ca', { ca: '-----BEGIN CERTIFICATE-----' }],
    ['bulkhead', { bulkhead: { maxConcurrent: 4 } }],
    ['rateLimit', { rateLimit: { requestsPerSecond: 1 } }],
    ['logger', { logger: console }],
    ['labels', { labels: { team: 'a' } }],
    ['maxConnections', { maxConnections: 8 }],
    ['failover', { serviceUrl: ['https://a.example/v1', 'https://b.example/v1'] }],
    ['scope "process"', { scope: 'process' }],
    ['transport "native"', { transport: 'native' }],
    ['connection', { connection: { autoConnect: true } }],
    ['retry.budget', { retry: { budget: { ratio: 0.1 } } }],
    ['cache.staleIfErrorMs', { cache: { staleIfErrorMs: 1000 } }],
  ])('%s is refused with ERR_CHITTYID_UNSUPPORTED, naming it', (name, config) => {
    let err
    try {
      new portable.ChittyIDClient(config)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(portable.ChittyIDError)
    expect(err.code).toBe('ERR_CHITTYID_UNSUPPORTED')
    expect(err.message).toContain(name.split(' ')[0])
    expect(err.message).toContain('portable build')
  })

  test('the native exports it cannot have are stand-ins that throw ERR_CHITTYID_UNSUPPORTED', async () => {
    const calls = [
      () => portable.ChittyIDEmulator.start({ port: 0 }),
      () => new portable.ChittyIDEmulator(),
      () => portable.registerMetrics(),
      () => new portable.ChittyIDCache(),
      () => portable.withRetry(async () => 1),
      () => new portable.CircuitBreaker(),
      () => new portable.ChittyIDConnectionManager(),
      () => portable.getSharedConnectionManager(),
      () => new portable.ChittyIDClient().metrics(),
    ]
    for (const call of calls) expect(call).toThrow(expect.objectContaining({ code: 'ERR_CHITTYID_UNSUPPORTED' }))
    await expect(new portable.ChittyIDClient().connect()).rejects.toMatchObject({ code: 'ERR_CHITTYID_UNSUPPORTED' })
  })
})

describe('the breaker (lib/portable/breaker.js) on a stepped clock', () => {
  const config = { failureThreshold: 3, monitorWindow: 1000, resetTimeout: 5000, halfOpenAttempts: 2 }
  function make(trialLimitMs) {
    let now = 0
    const transitions = []
    const breaker = new Breaker(
      config,
      () => now,
      (state, failures) => transitions.push([state, failures]),
      trialLimitMs,
    )
    return { breaker, transitions, step: (ms) => (now += ms) }
  }

  test('opens at the threshold within the window; older failures do not count', () => {
    const { breaker, transitions, step } = make()
    breaker.failure()
    step(1200)
    breaker.failure()
    breaker.failure()
    expect(breaker.state).toBe('CLOSED')
    step(10)
    expect(breaker.failure()).toBe(true)
    expect(transitions).toEqual([['OPEN', 3]])
    expect(breaker.admit()).toBe(5000)
    expect(breaker.rejected).toBe(1)
  })

  test('after resetTimeout it admits halfOpenAttempts trials at a time; that many successes close it', () => {
    const { breaker, transitions, step } = make()
    for (let i = 0; i < 3; i++) breaker.failure()
    step(5000)
    expect(breaker.admit()).toBe(0)
    const first = breaker.admittedTrial()
    expect(breaker.state).toBe('HALF_OPEN')
    expect(breaker.admit()).toBe(0)
    const second = breaker.admittedTrial()
    expect(breaker.admit()).toBe(-2) // a third trial fails fast: 2 trials in flight
    breaker.success(first)
    expect(breaker.state).toBe('HALF_OPEN')
    breaker.success(second)
    expect(transitions.map(([s]) => s)).toEqual(['OPEN', 'HALF_OPEN', 'CLOSED'])
  })

  test('a trial that never reports back frees its slot after trialLimitMs', () => {
    const { breaker, step } = make(3000)
    for (let i = 0; i < 3; i++) breaker.failure()
    step(5000)
    expect([breaker.admit(), breaker.admit()]).toEqual([0, 0])
    expect(breaker.admit()).toBe(-2)
    step(2999)
    expect(breaker.admit()).toBe(-2)
    step(1)
    expect([breaker.admit(), breaker.admit()]).toEqual([0, 0])
  })

  test("a trial that reports back after its slot was freed frees no other trial's slot", () => {
    const { breaker, step } = make(3000)
    for (let i = 0; i < 3; i++) breaker.failure()
    step(5000)
    breaker.admit()
    const late = breaker.admittedTrial()
    breaker.admit()
    breaker.admittedTrial()
    step(3000)
    expect([breaker.admit(), breaker.admit(), breaker.admit()]).toEqual([0, 0, -2])
    const inFlight = breaker.admittedTrial()
    // The late trial's answer counts as a success, and its slot is long gone: still two in flight.
    breaker.release(late)
    expect(breaker.admit()).toBe(-2)
    breaker.release(inFlight)
    expect(breaker.admit()).toBe(0)
  })

  test('a failed trial opens it again for resetTimeout', () => {
    const { breaker, transitions, step } = make()
    for (let i = 0; i < 3; i++) breaker.failure()
    step(5000)
    breaker.admit()
    expect(breaker.failure(breaker.admittedTrial())).toBe(true)
    expect(transitions.map(([s]) => s)).toEqual(['OPEN', 'HALF_OPEN', 'OPEN'])
    expect(breaker.admit()).toBe(5000)
    expect(breaker.timesOpened).toBe(2)
  })
})

describe('shared validate() flights (lib/portable/flights.js) where I/O is request-scoped', () => {
  test('flights whose request ended (no beat) are dropped once there are many; live ones stay', () => {
    jest.useFakeTimers({ now: 0 })
    // Only workerd has WebSocketPair: the module reads it at load to know it runs there.
    globalThis.WebSocketPair = function WebSocketPair() {}
    try {
      // A fresh copy of the module, loaded while WebSocketPair is there.
      let Flights
      jest.isolateModules(() => {
        ;({ Flights } = require('../lib/portable/flights.js'))
      })
      const flights = new Flights()
      const never = () => new Promise(() => {})
      for (let i = 0; i < 64; i++) flights.join(`live-${i}`, never)
      // Their requests go on: the beats run, so a sweep finds none silent.
      jest.advanceTimersByTime(2000)
      flights.join('one-more', never)
      expect(flights.size).toBe(65)
      // Their requests ended: workerd runs no more of their timers, so the beats stop.
      jest.setSystemTime(10_000)
      // The sweep after that one waits for twice the flights it left (128): the 65 silent go then.
      for (let i = 0; i < 63; i++) flights.join(`later-${i}`, never)
      expect(flights.size).toBe(128)
      flights.join('after', never)
      expect(flights.size).toBe(64)
    } finally {
      delete globalThis.WebSocketPair
      jest.clearAllTimers()
      jest.useRealTimers()
    }
  })
})

describe('the validation cache (lib/portable/cache.js)', () => {
  test('evicts the least recently used entry; a hit makes an entry recent', () => {
    const cache = new ValidationCache({ maxSize: 2, ttlMs: 1000, negativeTtlMs: 500 }, () => 0)
    cache.set('a', true)
    cache.set('b', true)
    expect(cache.get('a')).toBe(true)
    cache.set('c', false)
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([true, undefined, false])
    expect(cache.stats()).toMatchObject({
      hits: 3,
      misses: 1,
      evictions: 1,
      sets: 3,
      size: 2,
      hitRate: '75.00%',
      totalRequests: 4,
    })
  })

  test('an expired entry is never served; "not valid" lives negativeTtlMs', () => {
    let now = 0
    const cache = new ValidationCache({ maxSize: 10, ttlMs: 1000, negativeTtlMs: 200 }, () => now)
    cache.set('yes', true)
    cache.set('no', false)
    now = 199
    expect([cache.get('yes'), cache.get('no')]).toEqual([true, false])
    now = 200
    expect(cache.get('no')).toBe(undefined)
    now = 1000
    expect(cache.get('yes')).toBe(undefined)
    expect(cache.stats().size).toBe(0)
  })
})

describe('events without node:events (the minimal emitter)', () => {
  test('on, once, off, prependListener and listenerCount behave as EventEmitter', () => {
    const e = new MiniEmitter()
    const seen = []
    const a = (x) => seen.push(`a${x}`)
    e.on('x', a)
    e.once('x', (x) => seen.push(`once${x}`))
    e.prependListener('x', (x) => seen.push(`first${x}`))
    expect(e.listenerCount('x')).toBe(3)
    e.emit('x', 1)
    e.emit('x', 2)
    e.off('x', a)
    e.emit('x', 3)
    expect(seen).toEqual(['first1', 'a1', 'once1', 'first2', 'a2', 'first3'])
    expect(() => e.emit('error', new Error('boom'))).toThrow('boom')
  })

  test('through emitSafely, an unheard error is dropped and a throwing listener stops nobody', () => {
    const e = new MiniEmitter()
    const seen = []
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      emitSafely(e, 'error', new Error('unheard'))
      e.on('retry', () => {
        throw new Error('listener bug')
      })
      e.on('retry', (p) => seen.push(p))
      emitSafely(e, 'retry', 7)
      expect(seen).toEqual([7])
      expect(warn).toHaveBeenCalledWith(
        expect.stringContaining('listener bug'),
        expect.objectContaining({ code: 'CHITTYID_LISTENER_THREW' }),
      )
    } finally {
      warn.mockRestore()
    }
  })

  test('under Node the portable client is an EventEmitter', async () => {
    const { EventEmitter } = await import('node:events')
    expect(new portable.ChittyIDClient()).toBeInstanceOf(EventEmitter)
  })
})

describe('fetch as the caller provides it', () => {
  test('each call takes globalThis.fetch as found when it starts; stub answers with only json() or text() are read', async () => {
    const seen = []
    const original = globalThis.fetch
    try {
      globalThis.fetch = async (url, init) => {
        seen.push([url, init.method, init.headers['Idempotency-Key'] !== undefined])
        return {
          status: 200,
          ok: true,
          statusText: 'OK',
          headers: new Headers(),
          json: async () => ({ chittyId: 'AB-C-DEF-1234-P-26-A-1' }),
        }
      }
      const client = new portable.ChittyIDClient({ serviceUrl: 'https://id.example/v1', wire: 'v1' })
      expect(await client.mint({ entity: 'PEO' })).toBe('AB-C-DEF-1234-P-26-A-1')
      globalThis.fetch = async () => ({
        status: 200,
        text: async () => '{"valid":true,"chittyId":"AB-C-DEF-1234-P-26-A-1"}',
      })
      expect(await client.validate('AB-C-DEF-1234-P-26-A-1')).toEqual({
        valid: true,
        chittyId: 'AB-C-DEF-1234-P-26-A-1',
      })
      expect(seen).toEqual([['https://id.example/v1/mint', 'POST', true]])
    } finally {
      globalThis.fetch = original
    }
  })
})

describe('what the portable build loads and leaves behind', () => {
  test('loading it loads neither the addon nor lib/native/, and starts nothing', () => {
    const script = `
      const before = process.getActiveResourcesInfo().length
      const p = require('./portable.js')
      const client = new p.ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1' })
      const loaded = Object.keys(require.cache).filter((f) => /binding\\.js$|\\.node$|[\\/\\\\]lib[\\/\\\\]native[\\/\\\\]/.test(f))
      const resources = process.getActiveResourcesInfo().length - before
      process.stdout.write(JSON.stringify({ loaded, addons: process.moduleLoadList ? process.moduleLoadList.filter((m) => m.includes('dlopen')).length : 0, resources, runtime: p.RUNTIME }))
    `
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }))
    expect(out).toEqual({ loaded: [], addons: 0, resources: 0, runtime: 'portable' })
  })

  test('under Node (not jest), each ESM entry offers every export of its CommonJS module', () => {
    // Node reads the named exports of a CommonJS module from its source; a value it cannot
    // read in the exports literal silently drops every name after it.
    const script = `
      import { createRequire } from 'node:module'
      const require = createRequire(import.meta.url)
      const out = {}
      for (const [esm, cjs] of [['./index.mjs', './index.js'], ['./portable.mjs', './portable.js']]) {
        const named = Object.keys(await import(esm)).filter((k) => k !== 'default').sort()
        const wanted = Object.keys(require(cjs)).filter((k) => k !== 'default').sort()
        out[esm] = wanted.filter((k) => !named.includes(k))
      }
      process.stdout.write(JSON.stringify(out))`
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }),
    )
    expect(out).toEqual({ './index.mjs': [], './portable.mjs': [] })
  })

  test('no timer is left running after calls settle, however they ended', async () => {
    const emu = await ChittyIDEmulator.start({ port: 0 })
    // Every timer the client sets, until it fires or is cleared.
    const pending = new Set()
    const { setTimeout: realSet, clearTimeout: realClear } = globalThis
    globalThis.setTimeout = (fn, ms, ...args) => {
      const handle = realSet(() => {
        pending.delete(handle)
        fn(...args)
      }, ms)
      pending.add(handle)
      return handle
    }
    globalThis.clearTimeout = (handle) => {
      pending.delete(handle)
      realClear(handle)
    }
    let set = 0
    const counting = globalThis.setTimeout
    globalThis.setTimeout = (...a) => (set++, counting(...a))
    const client = new portable.ChittyIDClient({
      serviceUrl: `${emu.url}/v1`,
      timeout: 20000,
      retry: { initialDelayMs: 1 },
      circuitBreaker: false,
    })
    const impatient = new portable.ChittyIDClient({ serviceUrl: `${emu.url}/v1`, timeout: 300, retry: false })
    try {
      const id = await client.mint({ entity: 'PEO' })
      await client.validate(id)
      await client.healthCheck()
      emu.setFault({ errorStatus: 503 })
      await expect(client.mint({ entity: 'PEO' })).rejects.toMatchObject({ code: 'EHTTP' })
      emu.setFault({ latencyMs: 3000, routes: ['validate'] })
      expect((await impatient.validate('AB-C-DEF-1234-P-26-A-1')).error).toMatch(/timed out/)
      emu.setFault({})
      await client.mint({ entity: 'PEO' })
      const controller = new AbortController()
      const aborted = client.mint({ entity: 'PEO' }, { signal: controller.signal })
      controller.abort()
      await expect(aborted).rejects.toMatchObject({ code: 'ABORT_ERR' })
      expect(set).toBeGreaterThan(5)
      expect(pending.size).toBe(0)
    } finally {
      globalThis.setTimeout = realSet
      globalThis.clearTimeout = realClear
      await client.close()
      await emu.close()
    }
  })
})

// docs/PORTABLE.md "v1 semantics under a test runner": where jest is visible (JEST_WORKER_ID; e.g. jest
// with testEnvironment 'jsdom', which resolves the `browser` condition to this build), no
// CHITTYID_TRANSPORT and only v1's options, the portable client makes v1's calls through
// lib/v1.js, exactly as the native client does under the same conditions.
describe('v1 semantics under jest, as the native client has them', () => {
  let savedTransport
  let savedFetch
  beforeEach(() => {
    savedTransport = process.env.CHITTYID_TRANSPORT
    delete process.env.CHITTYID_TRANSPORT
    savedFetch = globalThis.fetch
  })
  afterEach(() => {
    if (savedTransport !== undefined) process.env.CHITTYID_TRANSPORT = savedTransport
    globalThis.fetch = savedFetch
  })

  /** The fetch calls and results of the same v1-era script against `Client`. */
  async function script(Client, config) {
    const calls = []
    let answer = { status: 200, body: { chittyId: 'not-an-id-v1-took-it' } }
    globalThis.fetch = jest.fn(async (url, init) => {
      const { signal, ...rest } = init ?? {}
      calls.push([url, rest, signal instanceof AbortSignal])
      return new Response(JSON.stringify(answer.body), {
        status: answer.status,
        statusText: answer.status === 200 ? 'OK' : 'Service Unavailable',
      })
    })
    const client = new Client(config)
    const results = []
    try {
      results.push(await client.mint({ entity: 'PEO' }))
      answer = { status: 200, body: { valid: true, chittyId: 'X', entity: 'PEO' } }
      results.push(await client.validate('X'), await client.validate('..'))
      answer = { status: 503, body: {} }
      results.push(
        await client.mint({ entity: 'PEO' }).then(
          () => 'resolved',
          (e) => [e.constructor.name, e.message],
        ),
      )
      results.push(await client.healthCheck())
    } finally {
      await client.close()
    }
    return { calls, results, own: Object.keys(client) }
  }

  test('only v1 options: one fetch per call with v1 requests, results and messages', async () => {
    const config = { serviceUrl: 'http://id.example.test/v1/', apiKey: 'sk-v1-semantics' }
    const fromNative = await script(NativeClient, config)
    expect(fromNative.calls).toHaveLength(4) // the 503 was not retried; '..' was answered locally
    expect(await script(portable.ChittyIDClient, config)).toEqual(fromNative)
  })

  test.each([
    ['CHITTYID_TRANSPORT=fetch', 'fetch', {}],
    ['an option v1 did not have', undefined, { retry: false }],
  ])('with %s the calls are v2 (an answer that is not an id is refused)', async (_, env, more) => {
    if (env !== undefined) process.env.CHITTYID_TRANSPORT = env
    const calls = []
    globalThis.fetch = jest.fn(async (url, init) => {
      calls.push(init.headers)
      return new Response(JSON.stringify({ chittyId: 'not-an-id' }), { status: 200 })
    })
    const client = new portable.ChittyIDClient({
      serviceUrl: 'https://id.example.test/v1',
      apiKey: 'sk-v1-semantics',
      ...more,
    })
    try {
      await expect(client.mint({ entity: 'PEO' })).rejects.toMatchObject({ code: 'EMINTUNKNOWN' })
      expect(calls[0]['Idempotency-Key']).toEqual(expect.any(String))
    } finally {
      await client.close()
    }
  })
})
