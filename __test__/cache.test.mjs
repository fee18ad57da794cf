import { setTimeout as sleep } from 'node:timers/promises'
import { ChittyIDCache, ChittyIDClient, clearSharedCache, getSharedCache } from '../index.mjs'
import { startPair } from './helpers.mjs'

const validateRequests = (emulator) => emulator.stats().requests.validate

describe('validate() cache', () => {
  test('a second validate of the same id is answered from the cache', async () => {
    const pair = await startPair()
    const id = await pair.client.mint({ entity: 'PROP' })
    const first = await pair.client.validate(id)
    const second = await pair.client.validate(id)
    expect(second).toEqual(first)
    expect(second).toEqual({ valid: true, chittyId: id, entity: 'PROP' })
    expect(validateRequests(pair.emulator)).toBe(1)
    const { cache } = pair.client.getStats()
    expect(cache).toMatchObject({ hits: 1, misses: 1, sets: 1, size: 1, maxSize: 10000, ttlMs: 300000, hitRate: '50.00%', totalRequests: 2 })
    await pair.close()
  })

  test('positive answers expire after ttlMs, negative ones after negativeTtlMs', async () => {
    const pair = await startPair({ client: { cache: { ttlMs: 200, negativeTtlMs: 50 } } })
    const id = await pair.client.mint({ entity: 'PEO' })
    const bad = 'CT-A-AAA-0000-P-26-A-9'
    await pair.client.validate(id)
    await pair.client.validate(bad)
    await pair.client.validate(id)
    await pair.client.validate(bad)
    expect(validateRequests(pair.emulator)).toBe(2) // both answers cached
    await sleep(80)
    await pair.client.validate(bad)
    expect(validateRequests(pair.emulator)).toBe(3) // the negative answer expired
    await pair.client.validate(id)
    expect(validateRequests(pair.emulator)).toBe(3) // the positive one did not
    await sleep(200)
    await pair.client.validate(id)
    expect(validateRequests(pair.emulator)).toBe(4)
    await pair.close()
  })

  test('the least recently used entry is evicted at maxSize', async () => {
    const pair = await startPair({ client: { cache: { maxSize: 2 } } })
    const [a, b, c] = await pair.client.mintBatch([{ entity: 'PEO' }, { entity: 'PEO' }, { entity: 'PEO' }])
    await pair.client.validate(a)
    await pair.client.validate(b)
    await pair.client.validate(a) // a is now the most recent
    await pair.client.validate(c) // evicts b
    const before = validateRequests(pair.emulator)
    await pair.client.validate(a)
    expect(validateRequests(pair.emulator)).toBe(before)
    await pair.client.validate(b)
    expect(validateRequests(pair.emulator)).toBe(before + 1)
    expect(pair.client.getStats().cache).toMatchObject({ evictions: 2, size: 2, maxSize: 2 })
    await pair.close()
  })

  test('fallback answers and service errors are never cached', async () => {
    const pair = await startPair({ client: { retry: false, circuitBreaker: false } })
    const id = await pair.client.mint({ entity: 'INFO' })
    pair.emulator.setFault({ resetConnection: true, remaining: 1 })
    const fallback = await pair.client.validate(id)
    expect(fallback.valid).toBe(true)
    expect(fallback.error).toContain('fetch failed')
    pair.emulator.setFault({ errorStatus: 500, remaining: 1 })
    expect(await pair.client.validate(id)).toEqual({ valid: false, error: 'Service error: 500' })
    expect(await pair.client.validate(id)).toEqual({ valid: true, chittyId: id, entity: 'INFO' })
    expect(validateRequests(pair.emulator)).toBe(3)
    expect(pair.client.getStats().cache.sets).toBe(1)
    await pair.close()
  })

  test('concurrent validations of one uncached id share a single request', async () => {
    const pair = await startPair()
    const id = await pair.client.mint({ entity: 'FACT' })
    pair.emulator.setFault({ latencyMs: 150, routes: ['validate'] })
    const answers = await Promise.all(Array.from({ length: 25 }, () => pair.client.validate(id)))
    expect(validateRequests(pair.emulator)).toBe(1)
    for (const a of answers) expect(a).toEqual({ valid: true, chittyId: id, entity: 'FACT' })
    await pair.close()
  })

  test('a failed shared request gives every waiter the same fallback', async () => {
    const pair = await startPair({ client: { retry: false, circuitBreaker: false } })
    pair.emulator.setFault({ latencyMs: 100, resetConnection: true, routes: ['validate'] })
    const id = 'CT-A-AAA-0000-P-26-K-0'
    const answers = await Promise.all(Array.from({ length: 10 }, () => pair.client.validate(id)))
    expect(validateRequests(pair.emulator)).toBe(1)
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1)
    expect(answers[0].error).toContain('fetch failed')
    await pair.close()
  })

  test('cache: false sends every validation', async () => {
    const pair = await startPair({ client: { cache: false } })
    const id = await pair.client.mint({ entity: 'AUTH' })
    await pair.client.validate(id)
    await pair.client.validate(id)
    expect(validateRequests(pair.emulator)).toBe(2)
    expect(pair.client.getStats().cache).toBeNull()
    await pair.close()
  })
})

describe('getStats() and metrics()', () => {
  test('getStats counts requests, errors and latency per operation', async () => {
    const pair = await startPair({ client: { retry: { initialDelayMs: 1 } } })
    await pair.client.mint({ entity: 'PEO' })
    pair.emulator.setFault({ errorStatus: 503, remaining: 1 })
    await pair.client.mint({ entity: 'PEO' })
    await pair.client.healthCheck()
    const stats = pair.client.getStats()
    expect(stats.requests.mint).toMatchObject({ requests: 3, errors: 1, retries: 1 })
    expect(stats.requests.mint.p50Ms).toBeGreaterThan(0)
    expect(stats.requests.mint.p99Ms).toBeGreaterThanOrEqual(stats.requests.mint.p50Ms)
    expect(stats.requests.healthCheck.requests).toBe(1)
    expect(stats.retries).toBe(1)
    expect(stats.breaker).toMatchObject({ state: 'CLOSED', timesOpened: 0 })
    await pair.close()
  })

  test('metrics() is valid Prometheus text exposition', async () => {
    const pair = await startPair({ token: 'metrics-secret-key' })
    const id = await pair.client.mint({ entity: 'PEO' })
    await pair.client.validate(id)
    await pair.client.validate(id)
    const text = pair.client.metrics()
    expect(text).not.toContain('metrics-secret-key')
    const families = parseExposition(text)
    expect(families.get('chittyid_client_requests_total').samples).toContainEqual({
      name: 'chittyid_client_requests_total',
      labels: { operation: 'mint' },
      value: 1,
    })
    expect(families.get('chittyid_client_cache_hits_total').samples[0].value).toBe(1)
    const histogram = families.get('chittyid_client_request_duration_seconds')
    expect(histogram.type).toBe('histogram')
    const mintBuckets = histogram.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.operation === 'mint')
    for (let i = 1; i < mintBuckets.length; i++) expect(mintBuckets[i].value).toBeGreaterThanOrEqual(mintBuckets[i - 1].value)
    expect(mintBuckets.at(-1).labels.le).toBe('+Inf')
    await pair.close()
  })
})

/** A strict reader of the text exposition format: every line must parse, HELP/TYPE precede samples. */
function parseExposition(text) {
  expect(text.endsWith('\n')).toBe(true)
  const families = new Map()
  const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*)\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\+Inf|-Inf|NaN))$/
  let current = null
  for (const line of text.slice(0, -1).split('\n')) {
    let m
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      expect(families.has(m[1])).toBe(false)
      current = { name: m[1], type: undefined, samples: [] }
      families.set(m[1], current)
    } else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      expect(current && current.name).toBe(m[1])
      current.type = m[2]
    } else {
      m = sampleLine.exec(line)
      if (!m) throw new Error(`not an exposition line: ${JSON.stringify(line)}`)
      expect(current && current.type).toBeDefined()
      expect(m[1] === current.name || (current.type === 'histogram' && /_(bucket|sum|count)$/.test(m[1]) && m[1].startsWith(current.name))).toBe(true)
      const labels = Object.fromEntries([...(m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]))
      current.samples.push({ name: m[1], labels, value: Number(m[3].replace('+Inf', 'Infinity')) })
    }
  }
  return families
}

describe('compat ChittyIDCache', () => {
  test('defaults and config', () => {
    const cache = new ChittyIDCache()
    expect(cache.getConfig()).toEqual({ maxSize: 10000, ttlMs: 300000, ttlMinutes: 5 })
  })

  test('get/set/has/invalidate/size and stats', () => {
    const cache = new ChittyIDCache({ maxSize: 2 })
    expect(cache.get('A')).toBeNull()
    cache.set('A', true)
    cache.set('B', false)
    expect(cache.get('A')).toBe(true)
    expect(cache.get('B')).toBe(false)
    expect(cache.has('A')).toBe(true)
    cache.set('C', true) // evicts the least recently used: A was read before B
    expect(cache.has('A')).toBe(false)
    expect(cache.keys()).toEqual(['B', 'C'])
    expect(cache.invalidate('B')).toBe(true)
    expect(cache.size()).toBe(1)
    expect(cache.getStats()).toEqual({ hits: 2, misses: 1, evictions: 1, sets: 3, size: 1, maxSize: 2, ttlMs: 300000, hitRate: '66.67%', totalRequests: 3 })
    cache.clear()
    expect(cache.getStats()).toMatchObject({ hits: 0, misses: 0, evictions: 0, sets: 0, size: 0, hitRate: '0.00%' })
  })

  test('entries expire after ttlMs and maintain() removes them', async () => {
    const cache = new ChittyIDCache({ ttlMs: 30 })
    cache.set('A', true)
    cache.set('B', true)
    await sleep(60)
    cache.set('C', true)
    expect(cache.maintain()).toBe(2)
    expect(cache.get('A')).toBeNull()
    expect(cache.get('C')).toBe(true)
  })

  test('shared cache is one instance until cleared', () => {
    const a = getSharedCache()
    expect(getSharedCache()).toBe(a)
    a.set('X', true)
    clearSharedCache()
    const b = getSharedCache()
    expect(b).not.toBe(a)
    expect(b.size()).toBe(0)
  })

  test('bad options are a TypeError', () => {
    expect(() => new ChittyIDCache({ maxSize: 0 })).toThrow(TypeError)
    expect(() => new ChittyIDCache({ ttlMs: -1 })).toThrow(TypeError)
  })
})

test('a fresh client reports an empty cache', () => {
  const client = new ChittyIDClient()
  expect(client.getStats().cache).toMatchObject({ size: 0, hits: 0, misses: 0 })
})
