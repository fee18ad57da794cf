import { setTimeout as sleep } from 'node:timers/promises'
import { jest } from '@jest/globals'
import { ChittyIDCache, ChittyIDClient, clearSharedCache, getSharedCache } from '../index.mjs'
import { startPair } from './helpers.mjs'

/** Test-only slot inspector of lib/compat/cache.js (not part of the public types). */
const SLOTS = Symbol.for('@chittyos/chittyid-client:ChittyIDCache.slots')

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
    expect(cache).toMatchObject({
      hits: 1,
      misses: 1,
      sets: 1,
      size: 1,
      maxSize: 10000,
      ttlMs: 300000,
      hitRate: '50.00%',
      totalRequests: 2,
    })
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

  test('each client looks up its own cache, also after other clients were closed', async () => {
    const pair = await startPair()
    const id = await pair.client.mint({ entity: 'PEO' })
    const url = pair.client.serviceUrl
    const others = [
      new ChittyIDClient({ serviceUrl: url }),
      new ChittyIDClient({ serviceUrl: url, cache: false }),
      new ChittyIDClient({ serviceUrl: url }),
    ]
    await pair.client.validate(id)
    await others[0].validate(id)
    expect(validateRequests(pair.emulator)).toBe(2) // one per cache
    await pair.client.validate(id)
    await others[0].validate(id)
    await others[1].validate(id)
    expect(validateRequests(pair.emulator)).toBe(3) // the cacheless client asked
    for (const c of others) await c.close()
    // A client made after others were dropped starts with an empty cache of its own.
    const fresh = new ChittyIDClient({ serviceUrl: url })
    await fresh.validate(id)
    expect(validateRequests(pair.emulator)).toBe(4)
    expect(fresh.getStats().cache).toMatchObject({ hits: 0, misses: 1, size: 1 })
    expect(pair.client.getStats().cache).toMatchObject({ hits: 1, misses: 1, size: 1 })
    await fresh.close()
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
    expect(cache.getStats()).toEqual({
      hits: 2,
      misses: 1,
      evictions: 1,
      sets: 3,
      size: 1,
      maxSize: 2,
      ttlMs: 300000,
      hitRate: '66.67%',
      totalRequests: 3,
    })
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

  test('capacity 1: each new id evicts the previous one, freed slots are reused', () => {
    const cache = new ChittyIDCache({ maxSize: 1 })
    cache.set('A', true)
    expect(cache.get('A')).toBe(true)
    cache.set('A', false) // same id: refreshed in place, nothing evicted
    expect(cache.getStats().evictions).toBe(0)
    expect(cache.get('A')).toBe(false)
    cache.set('B', true)
    expect(cache.get('A')).toBeNull()
    expect(cache.get('B')).toBe(true)
    expect(cache.keys()).toEqual(['B'])
    cache.set('C', false)
    expect(cache.keys()).toEqual(['C'])
    expect(cache.has('B')).toBe(false)
    expect(cache.invalidate('C')).toBe(true)
    expect(cache.invalidate('C')).toBe(false)
    expect(cache.size()).toBe(0)
    expect(cache.keys()).toEqual([])
    cache.set('D', true) // the cache is empty: no eviction
    expect(cache.get('D')).toBe(true)
    const stats = cache.getStats()
    expect(Object.keys(stats)).toEqual([
      'hits',
      'misses',
      'evictions',
      'sets',
      'size',
      'maxSize',
      'ttlMs',
      'hitRate',
      'totalRequests',
    ])
    expect(stats).toEqual({
      hits: 4,
      misses: 1,
      evictions: 2,
      sets: 5,
      size: 1,
      maxSize: 1,
      ttlMs: 300000,
      hitRate: '80.00%',
      totalRequests: 5,
    })
  })

  test('set of a cached id refreshes its verdict, TTL and recency without evicting', () => {
    withClock(1000, (clock) => {
      const cache = new ChittyIDCache({ maxSize: 3, ttlMs: 100 })
      cache.set('A', true)
      cache.set('B', true)
      cache.set('C', true)
      clock.advance(60)
      cache.set('A', false) // expires at 1160 now, and is the most recent
      expect(cache.keys()).toEqual(['B', 'C', 'A'])
      expect(cache.getStats()).toMatchObject({ sets: 4, evictions: 0, size: 3 })
      cache.set('D', true) // evicts B, the least recently used
      expect(cache.keys()).toEqual(['C', 'A', 'D'])
      expect(cache.getStats().evictions).toBe(1)
      clock.advance(40) // t = 1100: C (set at 1000) has expired, A has not
      expect(cache.get('C')).toBeNull()
      expect(cache.get('A')).toBe(false)
      clock.advance(59) // t = 1159
      expect(cache.get('A')).toBe(false)
      clock.advance(1) // t = 1160
      expect(cache.get('A')).toBeNull()
      expect(cache.keys()).toEqual(['D'])
    })
  })

  test('an entry is served until exactly ttlMs after its set, then is a miss', () => {
    withClock(5000, (clock) => {
      const cache = new ChittyIDCache({ ttlMs: 10 })
      cache.set('A', true)
      cache.set('B', false)
      cache.set('C', true)
      clock.advance(9) // t = 5009, one ms before the boundary
      expect(cache.has('A')).toBe(true)
      expect(cache.get('A')).toBe(true)
      expect(cache.maintain()).toBe(0)
      clock.advance(1) // t = 5010 = set + ttlMs
      expect(cache.has('A')).toBe(false)
      expect(cache.size()).toBe(3) // has() removes nothing
      expect(cache.get('A')).toBeNull() // removed, counted as a miss
      expect(cache.size()).toBe(2)
      expect(cache.keys()).toEqual(['B', 'C']) // expired entries are listed until removed
      expect(cache.maintain()).toBe(2)
      expect(cache.size()).toBe(0)
      expect(cache.getStats()).toMatchObject({ hits: 1, misses: 1, evictions: 0, sets: 3 })

      const tiny = new ChittyIDCache({ ttlMs: 1 })
      tiny.set('X', true)
      expect(tiny.get('X')).toBe(true) // same millisecond
      clock.advance(1)
      expect(tiny.get('X')).toBeNull()
    })
  })

  test('small TTLs on the real clock: expiry follows both the event loop and long synchronous loops', async () => {
    const cache = new ChittyIDCache({ ttlMs: 2 })
    cache.set('A', true)
    await sleep(10)
    expect(cache.has('A')).toBe(false)
    expect(cache.get('A')).toBeNull()
    cache.set('B', true)
    // No yielding here, so no timer can run: "now" must still be re-read after a bounded
    // number of operations, or this loop would spin until the deadline.
    const deadline = Date.now() + 2000
    while (cache.has('B') && Date.now() < deadline);
    expect(cache.has('B')).toBe(false)
    expect(cache.get('B')).toBeNull()
    expect(cache.getStats()).toMatchObject({ hits: 0, misses: 2, sets: 2, size: 0 })
    const long = new ChittyIDCache({ ttlMs: 60000 })
    long.set('C', true)
    await sleep(5)
    expect(long.get('C')).toBe(true)
  })

  test('fake timers and a mocked Date.now drive expiry at once, as with v1', () => {
    const warm = () => {
      // Leaves a freshly cached real "now" behind, which must not outlive the switch.
      const c = new ChittyIDCache()
      c.set('W', true)
      expect(c.get('W')).toBe(true)
    }
    warm()
    jest.useFakeTimers({ now: 1_000_000 })
    try {
      const cache = new ChittyIDCache({ ttlMs: 300000 })
      cache.set('A', true)
      jest.advanceTimersByTime(299999)
      expect(cache.get('A')).toBe(true)
      jest.advanceTimersByTime(1)
      expect(cache.get('A')).toBeNull()
      cache.set('B', true)
      jest.setSystemTime(Date.now() + 300000) // no timer runs; the clock jumps
      expect(cache.has('B')).toBe(false)
    } finally {
      jest.useRealTimers()
    }
    warm()
    const spy = jest.spyOn(Date, 'now').mockReturnValue(42)
    try {
      const cache = new ChittyIDCache({ ttlMs: 50 })
      cache.set('A', true)
      spy.mockReturnValue(91)
      expect(cache.get('A')).toBe(true)
      spy.mockReturnValue(92)
      expect(cache.get('A')).toBeNull()
    } finally {
      spy.mockRestore()
    }
    warm() // the real clock is cached again

    // A get straight after the switch, with the real "now" cached a moment ago.
    const cache = new ChittyIDCache({ ttlMs: 60000 })
    cache.set('A', true)
    expect(cache.get('A')).toBe(true)
    const later = Date.now() + 120000
    jest.useFakeTimers({ now: later })
    try {
      expect(cache.get('A')).toBeNull()
    } finally {
      jest.useRealTimers()
    }
    cache.set('B', true)
    expect(cache.get('B')).toBe(true)
    const mocked = jest.spyOn(Date, 'now').mockReturnValue(later)
    try {
      expect(cache.get('B')).toBeNull()
    } finally {
      mocked.mockRestore()
    }
  })

  test('slots are allocated on demand up to maxSize', () => {
    const before = process.memoryUsage().arrayBuffers
    const idle = Array.from({ length: 50 }, () => new ChittyIDCache({ maxSize: 1_000_000 }))
    // Up-front slots would be 50 × ~17 MB of typed arrays.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * 1024 * 1024)
    expect(idle[49][SLOTS]()).toEqual({ capacity: 64, used: 0, free: 0, retained: 0 })
    expect(new ChittyIDCache({ maxSize: 3 })[SLOTS]().capacity).toBe(3)
    const growing = idle[0]
    for (let i = 0; i < 65; i++) growing.set(`G${i}`, true)
    expect(growing[SLOTS]()).toEqual({ capacity: 128, used: 65, free: 0, retained: 65 }) // doubles

    const cache = new ChittyIDCache({ maxSize: 300 })
    for (let i = 0; i < 1000; i++) cache.set(`K${i}`, i % 3 === 0)
    expect(cache.keys()).toEqual(Array.from({ length: 300 }, (_, i) => `K${700 + i}`))
    expect(cache.getStats()).toMatchObject({ size: 300, evictions: 700, sets: 1000 })
    expect(cache.get('K699')).toBeNull()
    expect(cache.get('K700')).toBe(false)
    expect(cache.get('K702')).toBe(true)
    cache.set('K1000', true) // evicts K701: K700 was just read
    expect(cache.keys().slice(0, 2)).toEqual(['K703', 'K704'])
    expect(cache.keys().slice(-3)).toEqual(['K700', 'K702', 'K1000'])
    expect(cache[SLOTS]()).toEqual({ capacity: 300, used: 300, free: 0, retained: 300 })
    // Invalidated slots are reused before any new one.
    for (let round = 0; round < 5; round++) {
      for (const id of cache.keys()) cache.invalidate(id)
      expect(cache[SLOTS]()).toEqual({ capacity: 300, used: 300, free: 300, retained: 0 })
      for (let i = 0; i < 300; i++) cache.set(`R${round}-${i}`, true)
      expect(cache[SLOTS]()).toEqual({ capacity: 300, used: 300, free: 0, retained: 300 })
    }
    cache.clear()
    expect(cache.keys()).toEqual([])
    expect(cache[SLOTS]()).toEqual({ capacity: 64, used: 0, free: 0, retained: 0 })
    cache.set('K0', true)
    expect(cache.get('K0')).toBe(true)
  })

  test.each([
    ['capacity 1, ttl 3 ms, 4 ids', { seed: 0x2545f491, maxSize: 1, ttlMs: 3, keySpace: 4 }],
    ['capacity 4, ttl 10 ms, 10 ids', { seed: 0x9e3779b9, maxSize: 4, ttlMs: 10, keySpace: 10 }],
    [
      'capacity 8, ttl 25 ms, 16 ids, maxSize reassigned',
      { seed: 0x1b873593, maxSize: 8, ttlMs: 25, keySpace: 16, resize: true },
    ],
    ['capacity 200, ttl 40 ms, 300 ids (slot growth)', { seed: 0x85ebca6b, maxSize: 200, ttlMs: 40, keySpace: 300 }],
    [
      'capacity 5, real clock, nothing expires',
      { seed: 0xc2b2ae35, maxSize: 5, ttlMs: 3_600_000, keySpace: 12, realClock: true },
    ],
  ])('randomized differential test against the v1 reference model: %s', (_name, config) => {
    runDifferential({ steps: 4000, ...config })
  })
})

test('a fresh client reports an empty cache', () => {
  const client = new ChittyIDClient()
  expect(client.getStats().cache).toMatchObject({ size: 0, hits: 0, misses: 0 })
})

/** Runs `fn(clock)` with `Date.now` replaced by a hand-driven clock (restored afterwards). */
function withClock(start, fn) {
  const realNow = Date.now
  const clock = {
    now: start,
    advance(ms) {
      this.now += ms
    },
  }
  Date.now = () => clock.now
  try {
    return fn(clock)
  } finally {
    Date.now = realNow
  }
}

/** xorshift32: a small seeded generator, so a failing sequence can be replayed. */
function xorshift32(seed) {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

/**
 * The v1-era ChittyIDCache, kept as the model: a Map in insertion order (re-inserted on a hit),
 * one `Date.now()` per call, `maxSize` and `ttlMs` read live.
 */
class ReferenceCache {
  constructor({ maxSize, ttlMs }) {
    this.maxSize = maxSize
    this.ttlMs = ttlMs
    this.entries = new Map()
    this.stats = { hits: 0, misses: 0, evictions: 0, sets: 0 }
  }

  get(id) {
    const entry = this.entries.get(id)
    if (entry === undefined) {
      this.stats.misses++
      return null
    }
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(id)
      this.stats.misses++
      return null
    }
    this.entries.delete(id)
    this.entries.set(id, entry)
    this.stats.hits++
    return entry.valid
  }

  set(id, isValid) {
    if (this.entries.has(id)) this.entries.delete(id)
    else if (this.entries.size >= this.maxSize) {
      this.entries.delete(this.entries.keys().next().value)
      this.stats.evictions++
    }
    this.entries.set(id, { valid: Boolean(isValid), expiresAt: Date.now() + this.ttlMs })
    this.stats.sets++
  }

  has(id) {
    const entry = this.entries.get(id)
    return entry !== undefined && entry.expiresAt > Date.now()
  }

  invalidate(id) {
    return this.entries.delete(id)
  }

  clear() {
    this.entries.clear()
    this.stats = { hits: 0, misses: 0, evictions: 0, sets: 0 }
  }

  size() {
    return this.entries.size
  }

  getStats() {
    const { hits, misses } = this.stats
    const totalRequests = hits + misses
    const hitRate = `${totalRequests === 0 ? '0.00' : ((hits / totalRequests) * 100).toFixed(2)}%`
    return { ...this.stats, size: this.entries.size, maxSize: this.maxSize, ttlMs: this.ttlMs, hitRate, totalRequests }
  }

  maintain() {
    const now = Date.now()
    let removed = 0
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(id)
        removed++
      }
    }
    return removed
  }

  keys() {
    return [...this.entries.keys()]
  }
}

/**
 * Random operations on a ChittyIDCache and on the reference model side by side; every answer,
 * and after every step the size, the LRU order and the stats, must be identical. Time is a
 * hand-driven `Date.now` (advanced by 0..ttlMs+1 ms, so TTL boundaries are hit exactly) unless
 * `realClock` is set. Ids are built fresh for each operation (equal strings, other objects).
 */
function runDifferential({ seed, steps, maxSize, ttlMs, keySpace, resize = false, realClock = false }) {
  const rand = xorshift32(seed)
  const pick = (n) => Math.floor(rand() * n)
  const randomId = () => `CT-A-CHI-${String(pick(keySpace)).padStart(4, '0')}-P-24-A-0`
  const run = (clock) => {
    const cache = new ChittyIDCache({ maxSize, ttlMs })
    const model = new ReferenceCache({ maxSize, ttlMs })
    const trace = []
    const same = (what, actual, expected) => {
      const a = JSON.stringify(actual)
      const e = JSON.stringify(expected)
      if (a !== e) {
        throw new Error(
          `seed ${seed}, step ${trace.length}: ${what} gave ${a}, the v1 model ${e}\nlast operations:\n  ${trace.slice(-30).join('\n  ')}`,
        )
      }
    }
    const counts = {}
    for (let step = 0; step < steps; step++) {
      const r = pick(100)
      let op
      if (r < 30) {
        const id = randomId()
        op = `get ${id}`
        same(op, cache.get(id), model.get(id))
      } else if (r < 52) {
        const id = randomId()
        const valid = rand() < 0.5
        op = `set ${id} ${valid}`
        cache.set(id, valid)
        model.set(id, valid)
      } else if (r < 60) {
        const id = randomId()
        op = `has ${id}`
        same(op, cache.has(id), model.has(id))
      } else if (r < 66) {
        const id = randomId()
        op = `invalidate ${id}`
        same(op, cache.invalidate(id), model.invalidate(id))
      } else if (r < 70) {
        op = 'maintain'
        same(op, cache.maintain(), model.maintain())
      } else if (r < 74) {
        op = 'keys'
        same(op, cache.keys(), model.keys())
      } else if (r < 77) {
        op = 'size'
        same(op, cache.size(), model.size())
      } else if (r < 80) {
        op = 'getStats'
        same(op, cache.getStats(), model.getStats())
      } else if (r < 81) {
        op = 'clear'
        cache.clear()
        model.clear()
      } else if (r < 83 && resize) {
        const m = 1 + pick(2 * maxSize)
        op = `maxSize = ${m}`
        cache.maxSize = m
        model.maxSize = m
      } else if (clock !== null) {
        const ms = pick(ttlMs + 2)
        op = `advance ${ms} ms`
        clock.advance(ms)
      } else {
        op = 'noop'
      }
      const kind = op.split(' ')[0]
      counts[kind] = (counts[kind] || 0) + 1
      trace.push(op)
      same(`keys() after ${op}`, cache.keys(), model.keys())
      same(`getStats() after ${op}`, cache.getStats(), model.getStats())
      // Every slot handed out is either live or on the free list; none holds a dead id.
      const slots = cache[SLOTS]()
      const size = model.size()
      if (slots.retained !== size || slots.used !== size + slots.free || (!resize && slots.capacity > maxSize)) {
        throw new Error(
          `seed ${seed}, step ${trace.length}: after ${op}, slots ${JSON.stringify(slots)} for ${size} entries and maxSize ${maxSize} ` +
            `(want retained = size, used = size + free, capacity <= maxSize)\nlast operations:\n  ${trace.slice(-30).join('\n  ')}`,
        )
      }
    }
    // The sequence exercised what it is meant to.
    const stats = model.getStats()
    expect(counts.get).toBeGreaterThan(steps / 5)
    expect(counts.set).toBeGreaterThan(steps / 8)
    if (keySpace > maxSize) expect(stats.evictions + counts.clear).toBeGreaterThan(0)
    return counts
  }
  if (realClock) run(null)
  else withClock(1_000_000, run)
}
