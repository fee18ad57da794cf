'use strict'

// The portable client's validation cache (README "Validation cache"): `validate()` answers by
// id, LRU order kept by a Map's insertion order (a hit moves its entry to the end), each entry
// with its own expiry: `ttlMs` for "valid", `negativeTtlMs` (at most `ttlMs`) for "not valid".
// An expired entry is never served. Counters as src/cache/mod.rs keeps them.

class ValidationCache {
  #entries = new Map() // id -> { valid, expires }
  #config
  #now
  hits = 0
  misses = 0
  evictions = 0
  sets = 0

  constructor(config, now) {
    this.#config = config
    this.#now = now
  }

  /** true / false for a fresh entry, undefined for a miss (an expired entry is removed). */
  get(id) {
    const entry = this.#entries.get(id)
    if (entry === undefined) {
      this.misses++
      return undefined
    }
    this.#entries.delete(id)
    if (entry.expires <= this.#now()) {
      this.misses++
      return undefined
    }
    this.#entries.set(id, entry)
    this.hits++
    return entry.valid
  }

  set(id, valid) {
    const { ttlMs, negativeTtlMs, maxSize } = this.#config
    const ttl = valid ? ttlMs : Math.min(negativeTtlMs, ttlMs)
    if (ttl <= 0 || maxSize <= 0) return
    this.#entries.delete(id)
    while (this.#entries.size >= maxSize) {
      this.#entries.delete(this.#entries.keys().next().value)
      this.evictions++
    }
    this.#entries.set(id, { valid, expires: this.#now() + ttl })
    this.sets++
  }

  delete(id) {
    return this.#entries.delete(id)
  }

  clear() {
    this.#entries.clear()
  }

  stats() {
    const total = this.hits + this.misses
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      sets: this.sets,
      size: this.#entries.size,
      maxSize: this.#config.maxSize,
      ttlMs: this.#config.ttlMs,
      hitRate: `${(total === 0 ? 0 : (this.hits / total) * 100).toFixed(2)}%`,
      totalRequests: total,
      // Stale answers are a native feature (README "Runtimes").
      staleServed: 0,
    }
  }
}

module.exports = { ValidationCache }
