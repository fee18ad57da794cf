'use strict'

// ChittyIDCache: the v1-era validation cache, same names and behaviour.
//
// It is pure JS on purpose. Services call `get()` in front of `validateFormat` on every
// request, so a hit must cost no more than that regex (~50 ns). Any call into the native addon
// with a string argument costs ~300 ns before it does any work, so a native-backed `get()`
// would be several times slower than the check it saves. A Map in insertion order is an
// LRU (re-inserting on a hit moves the entry to the young end) and costs ~20 ns per lookup.
// The client's own `validate()` cache is the native one (src/cache.rs), where memory per
// entry matters and the lookup sits next to a network call anyway.

const { invalidArgument } = require('../errors.js')

const DEFAULTS = Object.freeze({ maxSize: 10000, ttlMs: 300000 })

function positiveInteger(value, name) {
  if (!Number.isInteger(value) || value < 1) throw invalidArgument(`ChittyIDCache ${name} must be a positive integer, got ${value}`)
  return value
}

function formatRate(hits, total) {
  return `${total === 0 ? '0.00' : ((hits / total) * 100).toFixed(2)}%`
}

class ChittyIDCache {
  #entries = new Map() // id -> { valid, expiresAt }
  #stats = { hits: 0, misses: 0, evictions: 0, sets: 0 }

  constructor(options = {}) {
    const { maxSize = DEFAULTS.maxSize, ttlMs = DEFAULTS.ttlMs } = options || {}
    this.maxSize = positiveInteger(maxSize, 'maxSize')
    this.ttlMs = positiveInteger(ttlMs, 'ttlMs')
  }

  /** The cached verdict, or `null` on a miss or an expired entry. */
  get(id) {
    const entry = this.#entries.get(id)
    if (entry === undefined) {
      this.#stats.misses++
      return null
    }
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(id)
      this.#stats.misses++
      return null
    }
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    this.#stats.hits++
    return entry.valid
  }

  set(id, isValid) {
    if (this.#entries.has(id)) this.#entries.delete(id)
    else if (this.#entries.size >= this.maxSize) {
      this.#entries.delete(this.#entries.keys().next().value)
      this.#stats.evictions++
    }
    this.#entries.set(id, { valid: Boolean(isValid), expiresAt: Date.now() + this.ttlMs })
    this.#stats.sets++
  }

  has(id) {
    const entry = this.#entries.get(id)
    return entry !== undefined && entry.expiresAt > Date.now()
  }

  invalidate(id) {
    return this.#entries.delete(id)
  }

  /** Removes every entry and zeroes the stats. */
  clear() {
    this.#entries.clear()
    this.#stats = { hits: 0, misses: 0, evictions: 0, sets: 0 }
  }

  size() {
    return this.#entries.size
  }

  getStats() {
    const { hits, misses } = this.#stats
    const totalRequests = hits + misses
    return {
      ...this.#stats,
      size: this.#entries.size,
      maxSize: this.maxSize,
      ttlMs: this.ttlMs,
      hitRate: formatRate(hits, totalRequests),
      totalRequests,
    }
  }

  /** Removes expired entries; returns how many. */
  maintain() {
    const now = Date.now()
    let removed = 0
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(id)
        removed++
      }
    }
    return removed
  }

  /** Ids currently cached, least recently used first. */
  keys() {
    return [...this.#entries.keys()]
  }

  getConfig() {
    return { maxSize: this.maxSize, ttlMs: this.ttlMs, ttlMinutes: this.ttlMs / 60000 }
  }
}

let shared = null

/** One cache per process (per worker thread), created on first call. */
function getSharedCache(options) {
  if (shared === null) shared = new ChittyIDCache(options)
  return shared
}

function clearSharedCache() {
  if (shared !== null) shared.clear()
  shared = null
}

module.exports = { ChittyIDCache, getSharedCache, clearSharedCache }
