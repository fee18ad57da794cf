import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { RETRY_CONFIG, withRetry, CircuitBreaker, getCircuitBreaker, withResilience, ChittyIDError } from '../index.mjs'
import { ID_PATTERN, startPair } from './helpers.mjs'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('..', import.meta.url))

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `predicate` every 5 ms; fails after `timeoutMs`. Events cross threads, so they may trail a result. */
async function waitFor(predicate, what, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** Records the payloads of the client's resilience events, in order. */
function record(client) {
  const events = []
  for (const name of ['retry', 'circuitOpen', 'circuitHalfOpen', 'circuitClose']) {
    client.on(name, (payload) => events.push({ name, ...payload }))
  }
  return {
    events,
    names: () => events.map((e) => e.name),
    of: (name) => events.filter((e) => e.name === name),
  }
}

const OPEN_REASON = /circuit breaker is OPEN \(next trial in \d+ ms\)$/

describe('client retry against emulator faults', () => {
  let pair
  let seen
  beforeEach(async () => {
    pair = await startPair()
    seen = record(pair.client)
  })
  afterEach(() => pair.close())

  test('a 503 burst is retried through: one mint recorded, three mint requests', async () => {
    pair.emulator.setFault({ errorStatus: 503, remaining: 2 })
    const id = await pair.client.mint({ entity: 'PEO' })
    expect(id).toMatch(ID_PATTERN)
    await waitFor(() => seen.of('retry').length === 2, 'two retry events')
    const retries = seen.of('retry')
    expect(retries.map((r) => r.attempt)).toEqual([1, 2])
    for (const r of retries) {
      expect(r.operation).toBe('mint')
      expect(r.delay).toBeGreaterThanOrEqual(0)
      expect(r.error.message).toContain('503')
    }
    const stats = pair.emulator.stats()
    expect(stats.minted).toBe(1)
    expect(stats.mintedIds).toEqual([id])
    expect(stats.requests.mint).toBe(3)
  })

  test('429 with Retry-After: 1 waits the server-given second, then succeeds', async () => {
    pair.emulator.setFault({ rateLimitRetryAfter: 1, remaining: 1 })
    const id = await pair.client.mint({ entity: 'FACT' })
    expect(id).toMatch(ID_PATTERN)
    await waitFor(() => seen.of('retry').length === 1, 'the retry event')
    const [retry] = seen.of('retry')
    expect(retry.delay).toBeGreaterThanOrEqual(1000)
    expect(retry.attempt).toBe(1)
    expect(retry.error.message).toContain('429')
    expect(pair.emulator.stats().requests.mint).toBe(2)
    expect(pair.emulator.stats().mintedIds).toEqual([id])
  })

  test('a response dropped after the mint committed: EMINTUNKNOWN by default (not retried, one id), replayed by its key in idempotent mode', async () => {
    pair.emulator.setFault({ dropAfterCommit: true, remaining: 1 })
    const err = await pair.client.mint({ entity: 'EVNT' }).catch((e) => e)
    expect(err).toMatchObject({ code: 'EMINTUNKNOWN', mayHaveMinted: true, cause: { code: 'ECONNRESET' } })
    expect(err.message).toContain('fetch failed')
    let stats = pair.emulator.stats()
    expect(stats.minted).toBe(1)
    expect(stats.requests.mint).toBe(1)
    expect(seen.of('retry')).toEqual([])

    await pair.close()
    pair = await startPair({ client: { retry: { mint: 'idempotent' } } })
    seen = record(pair.client)
    pair.emulator.setFault({ dropAfterCommit: true, remaining: 1 })
    const id = await pair.client.mint({ entity: 'EVNT' })
    expect(id).toMatch(ID_PATTERN)
    stats = pair.emulator.stats()
    expect(stats.mintedIds).toEqual([id])
    expect(stats.minted).toBe(1)
    expect(stats.idempotentReplays).toBe(1)
    expect(stats.requests.mint).toBe(2)
    await waitFor(() => seen.of('retry').length === 1, 'the retry event')
    expect(seen.of('retry')[0].error.message).toContain('fetch failed')
  })

  test('a caller idempotency key recovers a mint whose every answer was lost, without a second id', async () => {
    // Every attempt commits and loses its answer: the call fails, and the id is orphaned...
    pair.emulator.setFault({ dropAfterCommit: true })
    const key = 'order-7731:mint'
    const err = await pair.client.mint({ entity: 'PEO' }, { idempotencyKey: key }).catch((e) => e)
    expect(err).toBeInstanceOf(ChittyIDError)
    const [orphan] = pair.emulator.stats().mintedIds
    expect(pair.emulator.stats().minted).toBe(1)
    // ...until the caller asks again under its key, and gets that same id.
    pair.emulator.setFault({})
    expect(await pair.client.mint({ entity: 'PEO' }, { idempotencyKey: key })).toBe(orphan)
    const other = await pair.client.mint({ entity: 'PEO' }, { idempotencyKey: 'order-7732:mint' })
    expect(other).not.toBe(orphan)
    const batch = await pair.client.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }], { idempotencyKey: 'batch-1' })
    expect(
      await pair.client.mintBatch([{ entity: 'PEO' }, { entity: 'PLACE' }], { idempotencyKey: 'batch-1' }),
    ).toEqual(batch)
    const stats = pair.emulator.stats()
    expect(stats.minted).toBe(4)
    expect(new Set(stats.mintedIds)).toEqual(new Set([orphan, other, ...batch]))
  })

  test('an unusable idempotency key is a TypeError and nothing is sent', async () => {
    const before = pair.emulator.stats().requests
    for (const idempotencyKey of ['', 'two words', 'line\r\nX-Evil: 1', 'caf\u00e9', 42, 'x'.repeat(256)]) {
      const err = await pair.client.mint({ entity: 'PEO' }, { idempotencyKey }).catch((e) => e)
      expect(err).toBeInstanceOf(TypeError)
      expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
      const batchErr = await pair.client.mintBatch([{ entity: 'PEO' }], { idempotencyKey }).catch((e) => e)
      expect(batchErr.code).toBe('ERR_INVALID_ARG_VALUE')
    }
    expect(pair.emulator.stats().requests).toEqual(before)
  })

  test('a 400 (unknown entity) is sent once with retry on and never counts toward opening', async () => {
    await pair.close()
    pair = await startPair({
      client: { retry: { initialDelayMs: 5 }, circuitBreaker: { failureThreshold: 3, resetTimeout: 60000 } },
    })
    seen = record(pair.client)
    for (let i = 0; i < 10; i++) {
      const err = await pair.client.mint({ entity: 'NOPE' }).catch((e) => e)
      expect(err.status).toBe(400)
      expect(err.code).toBe('EHTTP')
    }
    expect(pair.emulator.stats().requests.mint).toBe(10)
    const id = await pair.client.mint({ entity: 'PEO' })
    expect(id).toMatch(ID_PATTERN)
    expect(pair.emulator.stats().requests.mint).toBe(11)
    await sleep(50) // let any stray event arrive before asserting there was none
    expect(seen.names()).toEqual([])
  })
})

describe('client circuit breaker against emulator faults', () => {
  const breakerOptions = { failureThreshold: 3, resetTimeout: 300, monitorWindow: 10000, halfOpenAttempts: 2 }
  let pair
  let seen
  beforeEach(async () => {
    pair = await startPair({ client: { retry: false, circuitBreaker: breakerOptions } })
    seen = record(pair.client)
  })
  afterEach(() => pair.close())

  async function openWith500s() {
    pair.emulator.setFault({ errorStatus: 500 })
    for (let i = 0; i < 3; i++) {
      const err = await pair.client.mint({ entity: 'PEO' }).catch((e) => e)
      expect(err.status).toBe(500)
    }
    await waitFor(() => seen.names().includes('circuitOpen'), 'circuitOpen')
  }

  test('a 500 storm opens it; calls fail fast with nothing sent; it half-opens and closes after 2 successes', async () => {
    await openWith500s()
    expect(seen.of('circuitOpen')[0]).toMatchObject({ failures: 3, resetTimeout: 300 })

    const before = pair.emulator.stats().requests
    const err = await pair.client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err).toBeInstanceOf(ChittyIDError)
    expect(err.code).toBe('ECIRCUITOPEN')
    expect(err.circuitBreakerState).toBe('OPEN')
    expect(err.message).toMatch(new RegExp(`^ChittyID service unavailable - cannot mint PEO ID: ${OPEN_REASON.source}`))
    const batchErr = await pair.client.mintBatch([{ entity: 'PEO' }]).catch((e) => e)
    expect(batchErr.code).toBe('ECIRCUITOPEN')
    expect(batchErr.message).toMatch(
      new RegExp(`^ChittyID service unavailable - cannot batch mint IDs: ${OPEN_REASON.source}`),
    )
    const after = pair.emulator.stats().requests
    expect(after.mint).toBe(before.mint)
    expect(after.batch).toBe(before.batch)

    pair.emulator.setFault({})
    await sleep(breakerOptions.resetTimeout + 50)
    expect(await pair.client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
    await waitFor(() => seen.names().includes('circuitHalfOpen'), 'circuitHalfOpen')
    expect(await pair.client.mint({ entity: 'PEO' })).toMatch(ID_PATTERN)
    await waitFor(() => seen.names().includes('circuitClose'), 'circuitClose')
    expect(seen.names()).toEqual(['circuitOpen', 'circuitHalfOpen', 'circuitClose'])
    expect(pair.emulator.stats().requests.mint).toBe(before.mint + 2)
  })

  test('HALF_OPEN lets halfOpenAttempts trial calls out at once; the others fail fast with ECIRCUITOPEN until one ends', async () => {
    await openWith500s()
    await sleep(breakerOptions.resetTimeout + 50)
    // Slow trials, so all six callers arrive while the first two are in flight.
    pair.emulator.setFault({ latencyMs: 300, routes: ['mint'] })
    const before = pair.emulator.stats().requests.mint
    const calls = Array.from({ length: 6 }, (_, i) =>
      pair.client.mint({ entity: i % 2 ? 'PEO' : 'PLACE' }).catch((e) => e),
    )
    await waitFor(() => pair.emulator.stats().requests.mint === before + 2, 'two trials at the service')
    await sleep(100)
    const outcomes = await Promise.all(calls)
    const ids = outcomes.filter((o) => typeof o === 'string')
    const refused = outcomes.filter((o) => typeof o !== 'string')
    expect(ids).toHaveLength(2)
    for (const id of ids) expect(id).toMatch(ID_PATTERN)
    expect(refused).toHaveLength(4)
    for (const err of refused) {
      expect(err).toBeInstanceOf(ChittyIDError)
      expect(err).toMatchObject({ code: 'ECIRCUITOPEN', circuitBreakerState: 'HALF_OPEN' })
      expect(err.message).toMatch(/circuit breaker is HALF_OPEN \(2 trial calls in flight\)$/)
    }
    expect(pair.emulator.stats().requests.mint).toBe(before + 2)
    // Both trials succeeded: CLOSED, and calls flow again.
    await waitFor(() => seen.names().includes('circuitClose'), 'circuitClose')
    pair.emulator.setFault({})
    const again = await Promise.all(Array.from({ length: 4 }, () => pair.client.mint({ entity: 'PEO' })))
    expect(again).toHaveLength(4)
  })

  test('a failure while HALF_OPEN re-opens it', async () => {
    await openWith500s()
    await sleep(breakerOptions.resetTimeout + 50)
    const trial = await pair.client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(trial.status).toBe(500)
    await waitFor(() => seen.of('circuitOpen').length === 2, 'the second circuitOpen')
    expect(seen.names()).toEqual(['circuitOpen', 'circuitHalfOpen', 'circuitOpen'])
    const err = await pair.client.mint({ entity: 'PEO' }).catch((e) => e)
    expect(err.code).toBe('ECIRCUITOPEN')
  })

  test('an aborted signal is still reported as an AbortError while OPEN', async () => {
    await openWith500s()
    const err = await pair.client.mint({ entity: 'PEO' }, { signal: AbortSignal.abort() }).catch((e) => e)
    expect(err.name).toBe('AbortError')
  })

  test('bad input is still a TypeError while OPEN, not ECIRCUITOPEN', async () => {
    await openWith500s()
    const circular = { entity: 'PEO', metadata: {} }
    circular.metadata.self = circular
    for (const request of [circular, { entity: 42 }, null]) {
      const err = await pair.client.mint(request).catch((e) => e)
      expect(err).toBeInstanceOf(TypeError)
      expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
    }
    const err = await pair.client.mint({ entity: 'PEO' }, { idempotencyKey: 'has space' }).catch((e) => e)
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
  })

  test('a fail-fast rejection nobody handles is still reported as an unhandled rejection', () => {
    // In a child process: jest handles unhandled rejections of its own test code itself.
    const script = `
      const { ChittyIDClient, ChittyIDEmulator } = require('./index.js');
      process.once('unhandledRejection', (reason) => {
        process.stdout.write('unhandled ' + reason.code);
        client.close().then(() => emulator.close());
      });
      let client, emulator;
      (async () => {
        emulator = await ChittyIDEmulator.start({ port: 0 });
        client = new ChittyIDClient({ serviceUrl: emulator.url + '/v1', retry: false, circuitBreaker: { failureThreshold: 1 } });
        emulator.setFault({ errorStatus: 500 });
        await client.mint({ entity: 'PEO' }).catch(() => {});
        client.mint({ entity: 'PEO' }); // deliberately neither awaited nor caught
      })();`
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 10000 })
    expect(out).toBe('unhandled ECIRCUITOPEN')
  })

  test('mint() and mintBatch() return a rejected promise for bad input, never throw synchronously', async () => {
    let mintCall
    let batchCall
    expect(() => {
      mintCall = pair.client.mint({ entity: 42 })
      batchCall = pair.client.mintBatch('not an array')
    }).not.toThrow()
    await expect(mintCall).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
    await expect(batchCall).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
  })

  test('validate() never rejects while OPEN: format-only answer, error naming the open circuit, nothing sent', async () => {
    await openWith500s()
    const before = pair.emulator.stats().requests.validate
    const good = await pair.client.validate('CT-A-CHI-1234-I-24-A-0')
    expect(good.valid).toBe(true)
    expect(good.error).toMatch(new RegExp(`^${OPEN_REASON.source}`))
    const bad = await pair.client.validate('chitty_legacy_id')
    expect(bad.valid).toBe(false)
    expect(bad.error).toContain('circuit breaker is OPEN')
    expect(pair.emulator.stats().requests.validate).toBe(before)
  })
})

describe('compat withRetry', () => {
  const fastConfig = { ...RETRY_CONFIG, initialDelayMs: 10, maxDelayMs: 35, maxAttempts: 4 }

  /** Runs `body` while recording every delay given to the global setTimeout. */
  async function recordingTimers(body) {
    const original = globalThis.setTimeout
    const delays = []
    globalThis.setTimeout = (fn, ms, ...args) => {
      delays.push(ms)
      return original(fn, ms, ...args)
    }
    try {
      return { result: await body(), delays }
    } catch (err) {
      return { error: err, delays }
    } finally {
      globalThis.setTimeout = original
    }
  }

  function failing(makeError) {
    const calls = []
    const fn = async () => {
      const err = makeError(calls.length + 1)
      calls.push({ at: performance.now(), err })
      throw err
    }
    return { fn, calls }
  }

  test('RETRY_CONFIG has the documented defaults', () => {
    expect(RETRY_CONFIG).toEqual({
      maxAttempts: 3,
      initialDelayMs: 100,
      maxDelayMs: 5000,
      backoffMultiplier: 2,
      retryableErrors: [
        'ECONNREFUSED',
        'ETIMEDOUT',
        'ENOTFOUND',
        'EAI_AGAIN',
        'ECONNRESET',
        'EPIPE',
        'fetch failed',
        'network error',
      ],
    })
  })

  test('retries ECONNREFUSED up to maxAttempts on the documented schedule and rethrows the last error', async () => {
    const { fn, calls } = failing((n) => Object.assign(new Error(`connect refused #${n}`), { code: 'ECONNREFUSED' }))
    const { error, delays } = await recordingTimers(() => withRetry(fn, fastConfig))
    expect(calls).toHaveLength(4)
    expect(error).toBe(calls[3].err)
    expect(delays).toEqual([10, 20, 35])
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i].at - calls[i - 1].at).toBeGreaterThanOrEqual(delays[i - 1] - 1)
    }
  })

  test('retries by message ("fetch failed", "Network Error") ignoring case, then succeeds', async () => {
    let n = 0
    const { result, delays } = await recordingTimers(() =>
      withRetry(async () => {
        n += 1
        if (n === 1) throw new TypeError('fetch failed')
        if (n === 2) throw new Error('A Network Error happened')
        return 'ok'
      }, fastConfig),
    )
    expect(result).toBe('ok')
    expect(n).toBe(3)
    expect(delays).toEqual([10, 20])
  })

  test('a non-retryable error is thrown after one attempt, without waiting', async () => {
    const { fn, calls } = failing(() =>
      Object.assign(new Error('ChittyID service error: 400 Bad Request'), { code: 'EHTTP' }),
    )
    const { error, delays } = await recordingTimers(() => withRetry(fn, fastConfig))
    expect(calls).toHaveLength(1)
    expect(error).toBe(calls[0].err)
    expect(delays).toEqual([])
  })

  test('thrown non-Errors are classified by their text', async () => {
    let n = 0
    const value = await withRetry(async () => {
      n += 1
      if (n === 1) throw 'ECONNRESET by peer'
      return n
    }, fastConfig)
    expect(value).toBe(2)
  })

  test('missing config fields take the defaults; the default config retries 3 times at 100 then 200 ms', async () => {
    const { fn, calls } = failing(() => Object.assign(new Error('x'), { code: 'ETIMEDOUT' }))
    const { delays } = await recordingTimers(() => withRetry(fn))
    expect(calls).toHaveLength(3)
    expect(delays).toEqual([100, 200])
    const partial = failing(() => Object.assign(new Error('x'), { code: 'EPIPE' }))
    const run = await recordingTimers(() => withRetry(partial.fn, { maxAttempts: 2, initialDelayMs: 1 }))
    expect(partial.calls).toHaveLength(2)
    expect(run.delays).toEqual([1])
  })

  test('an unusable config is a TypeError before fn runs', async () => {
    let called = false
    const fn = async () => {
      called = true
    }
    for (const config of [
      { maxAttempts: 0 },
      { maxAttempts: 1.5 },
      { backoffMultiplier: 0.5 },
      { initialDelayMs: -1 },
      { retryableErrors: 'ECONNREFUSED' },
    ]) {
      await expect(withRetry(fn, config)).rejects.toThrow(TypeError)
    }
    await expect(withRetry('not a function')).rejects.toThrow(TypeError)
    expect(called).toBe(false)
  })

  test('a pending retry keeps the process alive like any await', () => {
    const script = `
      const { withRetry } = require('./index.js');
      let n = 0;
      withRetry(async () => { if (++n === 1) throw Object.assign(new Error('x'), { code: 'ECONNRESET' }); return n }, { initialDelayMs: 200 })
        .then((v) => process.stdout.write('resolved ' + v));`
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 10000 })
    expect(out).toBe('resolved 2')
  })
})

describe('compat CircuitBreaker', () => {
  const boom = () => Promise.reject(new Error('boom'))
  const fail = (breaker, times) =>
    Promise.all(Array.from({ length: times }, () => breaker.execute(boom).catch((e) => e)))

  test('defaults and getState() shape', () => {
    const breaker = new CircuitBreaker()
    const before = Date.now()
    const state = breaker.getState()
    expect(state).toEqual({
      state: 'CLOSED',
      failures: 0,
      lastFailure: null,
      lastStateChange: expect.any(Number),
      uptimeMs: expect.any(Number),
      halfOpenSuccesses: 0,
      config: { failureThreshold: 5, resetTimeout: 60000, monitorWindow: 10000 },
    })
    expect(Math.abs(state.lastStateChange - before)).toBeLessThan(1000)
    expect(breaker.state).toBe('CLOSED')
  })

  test('opens after failureThreshold failures inside monitorWindow and rejects at once with the documented error', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeout: 60000, monitorWindow: 10000 })
    const stackTraceLimit = Error.stackTraceLimit
    const errors = await fail(breaker, 2)
    expect(errors.map((e) => e.message)).toEqual(['boom', 'boom'])
    expect(breaker.state).toBe('CLOSED')
    const sameError = new Error('third')
    await expect(breaker.execute(() => Promise.reject(sameError))).rejects.toBe(sameError)
    expect(breaker.state).toBe('OPEN')
    let called = false
    const err = await breaker
      .execute(async () => {
        called = true
      })
      .catch((e) => e)
    expect(called).toBe(false)
    expect(err).toBeInstanceOf(Error)
    expect(err.message).toContain('circuit breaker is OPEN')
    expect(err.circuitBreakerState).toBe('OPEN')
    expect(err.code).toBe('ECIRCUITOPEN')
    // Fail-fast errors skip V8's stack capture (see lib/errors.js) and leave the limit as it was.
    expect(err.stack).not.toMatch(/\n\s+at /)
    expect(Error.stackTraceLimit).toBe(stackTraceLimit)
    const state = breaker.getState()
    expect(state).toMatchObject({ state: 'OPEN', failures: 3, halfOpenSuccesses: 0 })
    expect(state.lastFailure).toBe(state.lastStateChange)
    expect(Math.abs(state.lastFailure - Date.now())).toBeLessThan(1000)
  })

  test('failures spread wider than monitorWindow do not open it', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, monitorWindow: 60 })
    await fail(breaker, 1)
    await sleep(100)
    await fail(breaker, 1)
    expect(breaker.state).toBe('CLOSED')
    expect(breaker.getState().failures).toBe(1)
  })

  test('half-opens after resetTimeout and closes after halfOpenAttempts successes', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, resetTimeout: 100, halfOpenAttempts: 2 })
    await fail(breaker, 2)
    expect(breaker.state).toBe('OPEN')
    await sleep(130)
    expect(await breaker.execute(async () => 'first')).toBe('first')
    expect(breaker.state).toBe('HALF_OPEN')
    expect(breaker.getState().halfOpenSuccesses).toBe(1)
    expect(await breaker.execute(() => 'second (not a promise)')).toBe('second (not a promise)')
    expect(breaker.state).toBe('CLOSED')
    expect(breaker.getState()).toMatchObject({ failures: 0, halfOpenSuccesses: 0 })
  })

  test('while HALF_OPEN at most halfOpenAttempts calls run at once; the others are refused with ECIRCUITOPEN', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeout: 50, halfOpenAttempts: 2 })
    await fail(breaker, 1)
    await sleep(80)
    let running = 0
    let most = 0
    const slow = async () => {
      most = Math.max(most, ++running)
      await sleep(50)
      running--
      return 'ok'
    }
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => breaker.execute(slow).catch((e) => e)))
    expect(most).toBe(2)
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(2)
    for (const err of outcomes.filter((o) => o !== 'ok')) {
      expect(err).toMatchObject({
        code: 'ECIRCUITOPEN',
        circuitBreakerState: 'HALF_OPEN',
        message: 'circuit breaker is HALF_OPEN (2 trial calls in flight)',
      })
    }
    expect(breaker.state).toBe('CLOSED')
    // A trial that fails frees its slot with its failure (and re-opens the circuit).
    await fail(breaker, 1)
    await sleep(80)
    await fail(breaker, 1)
    expect(breaker.state).toBe('OPEN')
  })

  test('a failure while HALF_OPEN re-opens it', async () => {
    // Long enough that a loaded machine still asks again inside it.
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeout: 500 })
    await fail(breaker, 1)
    await sleep(550)
    await fail(breaker, 1)
    expect(breaker.state).toBe('OPEN')
    await expect(breaker.execute(async () => 1)).rejects.toMatchObject({ code: 'ECIRCUITOPEN' })
  })

  test('a callback that throws synchronously is a recorded failure and a rejection', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 })
    const promise = breaker.execute(() => {
      throw new Error('sync')
    })
    await expect(promise).rejects.toThrow('sync')
    expect(breaker.state).toBe('OPEN')
  })

  test('reset() closes it and clears the counters', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 })
    await fail(breaker, 2)
    expect(breaker.state).toBe('OPEN')
    breaker.reset()
    expect(breaker.getState()).toMatchObject({ state: 'CLOSED', failures: 0, lastFailure: null, halfOpenSuccesses: 0 })
    expect(await breaker.execute(async () => 7)).toBe(7)
  })

  test('unusable options are a TypeError', () => {
    for (const options of [
      { failureThreshold: 0 },
      { halfOpenAttempts: -1 },
      { monitorWindow: 0 },
      { resetTimeout: NaN },
      { failureThreshold: 'x' },
    ]) {
      expect(() => new CircuitBreaker(options)).toThrow(TypeError)
    }
    expect(() => new CircuitBreaker(null)).toThrow(TypeError)
  })
})

describe('compat shared breaker and withResilience', () => {
  // The first getCircuitBreaker() call of this module instance creates the shared breaker.
  const sharedOptions = { failureThreshold: 2, resetTimeout: 60000, halfOpenAttempts: 1 }
  const retryConfig = { maxAttempts: 2, initialDelayMs: 5 }

  test('getCircuitBreaker returns one shared instance, configured by the first call', () => {
    const shared = getCircuitBreaker(sharedOptions)
    expect(shared).toBeInstanceOf(CircuitBreaker)
    expect(getCircuitBreaker()).toBe(shared)
    expect(getCircuitBreaker({ failureThreshold: 99 })).toBe(shared)
    expect(shared.getState().config).toEqual({ failureThreshold: 2, resetTimeout: 60000, monitorWindow: 10000 })
  })

  test('withResilience retries inside the shared breaker: one exhausted call is one failure', async () => {
    const shared = getCircuitBreaker()
    shared.reset()
    let flaky = 0
    const value = await withResilience(
      async () => {
        flaky += 1
        if (flaky === 1) throw Object.assign(new Error('x'), { code: 'ECONNREFUSED' })
        return 'through'
      },
      { retryConfig },
    )
    expect(value).toBe('through')
    expect(flaky).toBe(2)
    expect(shared.getState()).toMatchObject({ state: 'CLOSED', failures: 0 })

    let calls = 0
    const down = async () => {
      calls += 1
      throw Object.assign(new Error(`refused ${calls}`), { code: 'ECONNREFUSED' })
    }
    await expect(withResilience(down, { retryConfig })).rejects.toThrow('refused 2')
    expect(calls).toBe(2)
    expect(shared.getState()).toMatchObject({ state: 'CLOSED', failures: 1 })
    await expect(withResilience(down, { retryConfig })).rejects.toThrow('refused 4')
    expect(shared.state).toBe('OPEN')
    const err = await withResilience(down, { retryConfig }).catch((e) => e)
    expect(err.code).toBe('ECIRCUITOPEN')
    expect(calls).toBe(4)
    shared.reset()
  })

  test('withResilience with defaults uses RETRY_CONFIG and the shared breaker', async () => {
    const shared = getCircuitBreaker()
    shared.reset()
    const err = await withResilience(async () => {
      throw new Error('not retryable')
    }).catch((e) => e)
    expect(err.message).toBe('not retryable')
    expect(shared.getState().failures).toBe(1)
    shared.reset()
  })
})

test('compat exports are the same in require() and import', () => {
  const cjs = require('../index.js')
  expect(cjs.RETRY_CONFIG).toBe(RETRY_CONFIG)
  expect(cjs.withRetry).toBe(withRetry)
  expect(cjs.CircuitBreaker).toBe(CircuitBreaker)
  expect(cjs.getCircuitBreaker).toBe(getCircuitBreaker)
  expect(cjs.withResilience).toBe(withResilience)
})
