// A port of the validation-cache suite chittychat kept next to v1 (LRU + TTL in front of the
// format check), run against this package through chittychat's one-line re-export module.
// Expiry is driven by jest's fake timers and by a mocked Date.now, as the original did.
import { jest } from '@jest/globals'
import { ChittyIDCache, getSharedCache, clearSharedCache } from './chittychat/chittyid-cache.mjs'

const ID = (n) => `CT-A-CHI-${String(n).padStart(4, '0')}-I-24-A-0`

let cache

beforeEach(() => {
  cache = new ChittyIDCache({ maxSize: 3, ttlMs: 1000 })
})

afterEach(() => {
  jest.useRealTimers()
  jest.restoreAllMocks()
  clearSharedCache()
})

describe('ChittyIDCache', () => {
  test('should use 10,000 entries and 5 minutes by default', () => {
    const defaults = new ChittyIDCache()
    expect(defaults.maxSize).toBe(10000)
    expect(defaults.ttlMs).toBe(300000)
    expect(defaults.getConfig()).toEqual({ maxSize: 10000, ttlMs: 300000, ttlMinutes: 5 })
  })

  test('should store and return verdicts, false included', () => {
    cache.set(ID(1), true)
    cache.set(ID(2), false)
    expect(cache.get(ID(1))).toBe(true)
    expect(cache.get(ID(2))).toBe(false)
    expect(cache.size()).toBe(2)
  })

  test('should return null on a miss', () => {
    expect(cache.get(ID(9))).toBeNull()
  })

  test('has and invalidate', () => {
    cache.set(ID(1), true)
    expect(cache.has(ID(1))).toBe(true)
    expect(cache.invalidate(ID(1))).toBe(true)
    expect(cache.invalidate(ID(1))).toBe(false)
    expect(cache.has(ID(1))).toBe(false)
  })

  test('should evict the least recently used entry at maxSize', () => {
    cache.set(ID(1), true)
    cache.set(ID(2), true)
    cache.set(ID(3), true)
    cache.get(ID(1)) // ID(2) is now the least recently used
    cache.set(ID(4), true)
    expect(cache.get(ID(2))).toBeNull()
    expect(cache.keys()).toEqual([ID(3), ID(1), ID(4)])
    expect(cache.getStats().evictions).toBe(1)
  })

  test('should expire entries after ttlMs (fake timers)', () => {
    jest.useFakeTimers()
    cache.set(ID(1), true)
    jest.advanceTimersByTime(999)
    expect(cache.get(ID(1))).toBe(true)
    jest.advanceTimersByTime(2)
    expect(cache.get(ID(1))).toBeNull()
    expect(cache.has(ID(1))).toBe(false)
  })

  test('should expire entries after ttlMs (mocked Date.now)', () => {
    let now = 1_700_000_000_000
    jest.spyOn(Date, 'now').mockImplementation(() => now)
    cache.set(ID(1), true)
    now += 1001
    expect(cache.get(ID(1))).toBeNull()
  })

  test('maintain should remove expired entries and say how many', () => {
    jest.useFakeTimers()
    cache.set(ID(1), true)
    cache.set(ID(2), false)
    jest.advanceTimersByTime(600)
    cache.set(ID(3), true)
    jest.advanceTimersByTime(600)
    expect(cache.maintain()).toBe(2)
    expect(cache.keys()).toEqual([ID(3)])
  })

  test('getStats should count hits, misses and sets', () => {
    cache.set(ID(1), true)
    cache.get(ID(1))
    cache.get(ID(1))
    cache.get(ID(1))
    cache.get(ID(2))
    expect(cache.getStats()).toEqual({
      hits: 3,
      misses: 1,
      evictions: 0,
      sets: 1,
      size: 1,
      maxSize: 3,
      ttlMs: 1000,
      hitRate: '75.00%',
      totalRequests: 4,
    })
  })

  test('clear should empty the cache and reset stats', () => {
    cache.set(ID(1), true)
    cache.get(ID(1))
    cache.clear()
    expect(cache.size()).toBe(0)
    expect(cache.getStats()).toEqual(expect.objectContaining({ hits: 0, misses: 0, sets: 0, hitRate: '0.00%' }))
  })

  test('getSharedCache should return one instance until cleared', () => {
    const shared = getSharedCache({ maxSize: 5 })
    expect(getSharedCache()).toBe(shared)
    expect(shared.maxSize).toBe(5)
    shared.set(ID(1), true)
    clearSharedCache()
    const fresh = getSharedCache()
    expect(fresh).not.toBe(shared)
    expect(fresh.get(ID(1))).toBeNull()
  })
})
