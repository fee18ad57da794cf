// One rule for every numeric option, on both sides, from one table (lib/options.json):
// lib/options.js refuses a bad value with a TypeError naming the option, and src/bindings/options/,
// which guards the native class against direct use, refuses the same value naming the same
// option. Nothing is wrapped, truncated into range or replaced by its default.
import { createRequire } from 'node:module'
import { ChittyIDClient } from '../index.mjs'

const require = createRequire(import.meta.url)
const native = require('../lib/native/index.js')
const { DEFAULTS } = require('../lib/options.js')

// Each numeric policy field, as `[path, config with the value, native options with the value]`.
const GROUPS = [
  ['retry', (v) => ({ retry: v }), (v) => ({ retry: v })],
  ['retry.budget', (v) => ({ retry: { budget: v } }), (v) => ({ retryBudget: v })],
  ['circuitBreaker', (v) => ({ circuitBreaker: v }), (v) => ({ circuitBreaker: v })],
  ['cache', (v) => ({ cache: v }), (v) => ({ cache: v })],
  ['connection', (v) => ({ connection: v }), (v) => ({ connection: v })],
  ['failover', (v) => ({ failover: v }), (v) => ({ failover: v })],
]
const DEFAULTS_OF = {
  retry: DEFAULTS.retry,
  'retry.budget': DEFAULTS.retry.budget,
  circuitBreaker: DEFAULTS.circuitBreaker,
  cache: DEFAULTS.cache,
  connection: DEFAULTS.connection,
  failover: DEFAULTS.failover,
}

function numericFields() {
  const out = []
  for (const [group, toConfig, toNative] of GROUPS) {
    for (const [field, value] of Object.entries(DEFAULTS_OF[group])) {
      if (typeof value === 'number') out.push([`${group}.${field}`, field, toConfig, toNative])
    }
  }
  return out
}

function thrown(fn) {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}

test('every numeric policy option has a default, and there are as many as the docs list', () => {
  expect(numericFields().length).toBeGreaterThanOrEqual(26)
})

test.each([NaN, -1, -Infinity, 2 ** 60, '5'])('%p is refused by both sides, naming the option', (bad) => {
  const accepted = []
  for (const [path, field, toConfig, toNative] of numericFields()) {
    // Infinity-capable fields take 2^60 neither: counts stop at 2^32-1, durations at 2^53-1.
    const jsError = thrown(() => new ChittyIDClient(toConfig({ [field]: bad })))
    if (jsError === undefined) {
      accepted.push(`js ${path}`)
      continue
    }
    expect({ path, name: jsError.name, code: jsError.code }).toEqual({
      path,
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
    })
    expect({ path, message: jsError.message.includes(`"${path}"`) }).toEqual({ path, message: true })
    if (typeof bad !== 'number') continue // the native object's f64 fields refuse a string at the napi boundary
    const nativeError = thrown(() => new native.NativeClient(toNative({ [field]: bad })))
    if (nativeError === undefined) {
      accepted.push(`native ${path}`)
      continue
    }
    expect({ path, message: nativeError.message.includes(path) }).toEqual({ path, message: true })
  }
  // Durations up to 2^53-1 are valid: 2^60 is refused as too large; the others are always bad.
  expect(accepted).toEqual([])
})

test('a fraction where a count is due is refused by both sides; a fractional duration is not', () => {
  expect(thrown(() => new ChittyIDClient({ retry: { maxAttempts: 2.5 } }))?.message).toMatch(
    /"retry\.maxAttempts" must be an integer/,
  )
  expect(thrown(() => new native.NativeClient({ retry: { maxAttempts: 2.5 } }))?.message).toMatch(
    /retry\.maxAttempts must be an integer/,
  )
  expect(thrown(() => new ChittyIDClient({ connection: { maxReconnectAttempts: 1.5 } }))?.message).toMatch(
    /or Infinity/,
  )
  expect(thrown(() => new native.NativeClient({ connection: { maxReconnectAttempts: 1.5 } }))?.message).toMatch(
    /or Infinity/,
  )
  // Above 2^32-1 a count is refused, never saturated into "unlimited".
  expect(thrown(() => new ChittyIDClient({ connection: { maxReconnectAttempts: 2 ** 32 } }))?.code).toBe(
    'ERR_INVALID_ARG_VALUE',
  )
  expect(thrown(() => new native.NativeClient({ connection: { maxReconnectAttempts: 2 ** 32 } }))?.message).toMatch(
    /maxReconnectAttempts/,
  )
  const client = new ChittyIDClient({
    connection: { maxReconnectAttempts: Infinity, reconnectDelay: 1.5 },
    retry: { initialDelayMs: 0.5 },
  })
  return client.close()
})

test('the top-level numeric options: the same ranges on both sides', () => {
  for (const [option, bad] of [
    ['maxConnections', 0],
    ['maxConnections', 65536],
    ['maxConnections', 1.5],
    ['maxResponseBytes', 0],
    ['maxResponseBytes', 2 ** 32],
    ['timeout', -5],
    ['timeout', 2 ** 31],
  ]) {
    const jsError = thrown(() => new ChittyIDClient({ [option]: bad }))
    expect({ option, bad, code: jsError?.code }).toEqual({ option, bad, code: 'ERR_INVALID_ARG_VALUE' })
    const nativeError = thrown(() => new native.NativeClient({ [option]: bad }))
    expect({ option, bad, message: nativeError?.message.includes(option) }).toEqual({ option, bad, message: true })
  }
  expect(thrown(() => new native.NativeClient({ scope: 'thread' }))?.message).toMatch(/scope/)
  expect(thrown(() => new native.NativeClient({ transport: 'xhr' }))?.message).toMatch(/transport/)
})

test('a call option is checked before anything is sent', async () => {
  const client = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9' })
  try {
    await expect(client.mint({ entity: 'PEO' }, { idempotencyKey: 'has space' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    })
    await expect(client.validate('x', { signal: {} })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
    await expect(client.mint({ entity: 'PEO' }, { headers: { authorization: 'x' } })).rejects.toThrow(
      /cannot be overridden/,
    )
    expect(client.getStats().requests.mint.requests).toBe(0)
  } finally {
    await client.close()
  }
})

describe('every numeric option of the options table (lib/options.json)', () => {
  const { TABLE } = require('../lib/option-checks.js')
  const { portableOptions } = require('../lib/portable/options.js')

  /** `[path, spec]` of every numeric option in the table. */
  function tableFields(node = TABLE.options, prefix = '') {
    const out = []
    for (const [key, value] of Object.entries(node)) {
      const path = prefix === '' ? key : `${prefix}.${key}`
      if (value.kind !== undefined) out.push([path, value])
      else if (value.default === undefined) out.push(...tableFields(value, path))
    }
    return out
  }

  // What else an option needs to be given at all: fleet its redis URL (and a rate, for a burst),
  // a bulkhead its size, a rate limit its rate.
  const NEEDS = {
    fleet: { redis: 'redis://127.0.0.1:1', ratePerSecond: 1 },
    bulkhead: { maxConcurrent: 1 },
    rateLimit: { requestsPerSecond: 1 },
  }

  /** The client config (`native: false`) or NativeClient options with `value` at `path`. */
  function withValue(path, value, nativeShape) {
    const keys = path.split('.')
    if (nativeShape && keys[0] === 'retry' && keys[1] === 'budget') keys.splice(0, 2, 'retryBudget')
    let leaf = { [keys[keys.length - 1]]: value }
    for (let i = keys.length - 2; i >= 0; i--) leaf = { [keys[i]]: { ...NEEDS[keys[i]], ...leaf } }
    return leaf
  }

  test('the table lists every numeric option the client has', () => {
    expect(tableFields().map(([path]) => path)).toEqual(
      expect.arrayContaining([
        'timeout',
        'maxConnections',
        'retry.budget.ratio',
        'fleet.deadlineMs',
        'rateLimit.burst',
      ]),
    )
    expect(tableFields().length).toBeGreaterThanOrEqual(37)
  })

  test.each([-1, 2 ** 60, 1.5])('%p: refused where the table refuses it, by JS and the native class alike', (bad) => {
    const disagree = []
    for (const [path, spec] of tableFields()) {
      const integral = spec.kind === 'count' || spec.kind === 'attempts'
      const max = spec.max ?? (integral ? 2 ** 32 - 1 : Number.MAX_SAFE_INTEGER)
      const refused = bad < (spec.min ?? 0) || bad > max || (integral && !Number.isInteger(bad))
      const jsError = thrown(() => new ChittyIDClient(withValue(path, bad, false)))
      if (jsError === undefined) {
        if (refused) disagree.push(`js accepted ${path}`)
      } else if (!refused || jsError.code !== 'ERR_INVALID_ARG_VALUE' || !jsError.message.includes(`"${path}"`)) {
        disagree.push(`js ${path}: ${jsError.message}`)
      }
      const nativeError = thrown(() => new native.NativeClient(withValue(path, bad, true)))
      if ((nativeError === undefined) === refused) disagree.push(`native ${path}: ${nativeError?.message}`)
      else if (nativeError !== undefined && !nativeError.message.includes(path))
        disagree.push(`native ${path}: ${nativeError.message}`)
    }
    expect(disagree).toEqual([])
  })

  test('the portable build applies the same table to the options it has', () => {
    const portable = ['timeout', 'maxResponseBytes', 'retry.', 'circuitBreaker.', 'cache.maxSize', 'cache.ttlMs']
    const fields = tableFields().filter(([path]) => portable.some((p) => path === p || path.startsWith(p)))
    expect(fields.length).toBeGreaterThanOrEqual(13)
    for (const [path] of fields.filter(([p]) => !p.startsWith('retry.budget'))) {
      expect({ path, code: thrown(() => portableOptions(withValue(path, -1, false)))?.code }).toEqual({
        path,
        code: 'ERR_INVALID_ARG_VALUE',
      })
      expect(thrown(() => portableOptions(withValue(path, -1, false))).message).toBe(
        thrown(() => new ChittyIDClient(withValue(path, -1, false))).message,
      )
    }
  })
})
