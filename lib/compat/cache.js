'use strict'

// ChittyIDCache: the v1-era validation cache, same names and behaviour.
//
// It is pure JS on purpose. Services call `get()` in front of `validateFormat` on every
// request, so a hit must cost no more than that regex (~20–60 ns). Any call into the native
// addon with a string argument costs ~300 ns before it does any work, so a native-backed
// `get()` would be several times slower than the check it saves. The client's own
// `validate()` cache is the native one (src/cache/mod.rs), where memory per entry matters and
// the lookup sits next to a network call anyway.
//
// Why it is laid out this way (a hit is the only hot path):
// - One `Map` from id to a slot number; everything else about an entry lives in typed arrays
//   indexed by slot (LRU links, expiry, verdict) plus one array of ids (slot -> id, needed to
//   evict). A hit is one Map lookup plus a handful of array cells and allocates nothing; the
//   old layout (a Map in insertion order, `delete` + `set` on every hit, `Date.now()` on every
//   call) cost three lookups and a clock read per hit, ~100–200 ns.
// - Recency is a doubly linked list through `prev`/`next` (least recently used at `head`).
//   Freed slots are chained through `next` and reused. The arrays start small and double up
//   to `maxSize`, so an idle cache is cheap whatever its `maxSize`.
// - The clock. `Date.now()` costs more than the rest of a hit, so "now" is cached
//   process-wide and dropped by an unref'd 1 ms timer (created only while caches are in use;
//   it never keeps the process alive) or after CLOCK_READS_PER_REFRESH reads (so a long
//   synchronous loop cannot stretch a TTL by more than that many operations).
//   The cache still follows the clock v1 used, `Date.now`, looked up on every call: when a
//   test replaces it (jest/sinon fake timers install a new `Date`, `jest.spyOn(Date, 'now')`,
//   `Date.now = ...`), the replacement is not native code and is then called on every
//   operation, never cached, so fake timers and mocked clocks expire entries exactly as with
//   v1 (with the same calls: none on a miss, one per hit, set, has of a cached id, maintain).
//   Only the native `Date.now` is cached.

const { setTimeout: realSetTimeout } = require('node:timers')
const { invalidArgument } = require('../errors.js')
const { shown, numericDefaults } = require('../option-checks.js')

// The client's cache defaults (the options table, read without the addon, which this pure-JS
// cache does not need), so both caches size and expire alike.
const { maxSize: DEFAULT_MAX_SIZE, ttlMs: DEFAULT_TTL_MS } = numericDefaults('cache')
const INITIAL_SLOTS = 64
const CLOCK_RESOLUTION_MS = 1
const CLOCK_READS_PER_REFRESH = 1024
const NONE = -1
// For the project's tests only (not in the public types): `cache[SLOTS]()` describes the slots.
const SLOTS = Symbol.for('@chittyos/chittyid-client:ChittyIDCache.slots')

// ---------------------------------------------------------------------------------------
// The shared coarse clock

let clockNow = 0 // the last native Date.now() read, valid while `clockSource` is the current Date.now
let clockSource = null // the native Date.now that clockNow came from; null when clockNow is stale
let clockReadsLeft = 0
let clockTimerArmed = false
let checkedSource = null // the last Date.now inspected by readClock, and whether it is native code
let checkedNative = false

function isNativeFunction(fn) {
  return typeof fn === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn))
}

function dropClock() {
  clockTimerArmed = false
  clockSource = null
}

/** Reads Date.now() and, if it is the native one, caches the value for about a millisecond. */
function readClock() {
  const source = Date.now
  const now = Date.now()
  if (source !== checkedSource) {
    checkedSource = source
    checkedNative = isNativeFunction(source)
  }
  if (!checkedNative) {
    clockSource = null
    return now
  }
  clockNow = now
  clockSource = source
  clockReadsLeft = CLOCK_READS_PER_REFRESH
  if (!clockTimerArmed) {
    clockTimerArmed = true
    realSetTimeout(dropClock, CLOCK_RESOLUTION_MS).unref()
  }
  return now
}

/** "Now" for the cache: the cached clock when it is still good, otherwise a fresh read. */
function clock() {
  return Date.now === clockSource && --clockReadsLeft >= 0 ? clockNow : readClock()
}

// ---------------------------------------------------------------------------------------

function positiveInteger(value, name) {
  if (!Number.isInteger(value) || value < 1)
    throw invalidArgument(`ChittyIDCache ${name} must be a positive integer, got ${shown(value)}`)
  return value
}

function formatRate(hits, total) {
  return `${total === 0 ? '0.00' : ((hits / total) * 100).toFixed(2)}%`
}

class ChittyIDCache {
  #index = new Map() // id -> slot
  #ids = [] // slot -> id (undefined for a free slot)
  #prev // Int32Array: slot -> older neighbour, NONE at the head
  #next // Int32Array: slot -> younger neighbour (or the next free slot), NONE at the tail
  #expiresAt // Float64Array: slot -> Date.now() value at which the entry stops being served
  #verdict // Uint8Array: slot -> 1 valid, 0 invalid
  #capacity = 0 // slots allocated in the arrays
  #used = 0 // slots ever handed out (the rest of the arrays is untouched)
  #head = NONE // least recently used
  #tail = NONE // most recently used
  #free = NONE // first free slot, chained through #next
  #hits = 0
  #misses = 0
  #evictions = 0
  #sets = 0

  constructor(options = {}) {
    const { maxSize = DEFAULT_MAX_SIZE, ttlMs = DEFAULT_TTL_MS } = options || {}
    this.maxSize = positiveInteger(maxSize, 'maxSize')
    this.ttlMs = positiveInteger(ttlMs, 'ttlMs')
    this.#allocate(Math.min(this.maxSize, INITIAL_SLOTS))
  }

  /** The cached verdict, or `null` on a miss or an expired entry. */
  get(id) {
    const slot = this.#index.get(id)
    if (slot === undefined) {
      this.#misses++
      return null
    }
    const now = Date.now === clockSource && --clockReadsLeft >= 0 ? clockNow : readClock()
    if (this.#expiresAt[slot] <= now) {
      this.#remove(slot)
      this.#misses++
      return null
    }
    if (slot !== this.#tail) {
      // Move to the young end (#unlink + #append inlined: this is the hit path). `slot` is not
      // the tail, so it has a younger neighbour.
      const prev = this.#prev
      const next = this.#next
      const older = prev[slot]
      const younger = next[slot]
      if (older === NONE) this.#head = younger
      else next[older] = younger
      prev[younger] = older
      const tail = this.#tail
      next[tail] = slot
      prev[slot] = tail
      next[slot] = NONE
      this.#tail = slot
    }
    this.#hits++
    return this.#verdict[slot] === 1
  }

  set(id, isValid) {
    let slot = this.#index.get(id)
    if (slot !== undefined) {
      this.#unlink(slot)
    } else {
      if (this.#index.size >= this.maxSize) {
        if (this.#head !== NONE) this.#remove(this.#head)
        this.#evictions++
      }
      slot = this.#takeSlot()
      this.#ids[slot] = id
      this.#index.set(id, slot)
    }
    this.#linkAtTail(slot)
    this.#expiresAt[slot] = clock() + this.ttlMs
    this.#verdict[slot] = isValid ? 1 : 0
    this.#sets++
  }

  has(id) {
    const slot = this.#index.get(id)
    return slot !== undefined && this.#expiresAt[slot] > clock()
  }

  invalidate(id) {
    const slot = this.#index.get(id)
    if (slot === undefined) return false
    this.#remove(slot)
    return true
  }

  /** Removes every entry and zeroes the stats (and gives the arrays back). */
  clear() {
    this.#index = new Map()
    this.#ids = []
    this.#capacity = 0
    this.#used = 0
    this.#head = NONE
    this.#tail = NONE
    this.#free = NONE
    this.#allocate(Math.min(this.maxSize, INITIAL_SLOTS))
    this.#hits = 0
    this.#misses = 0
    this.#evictions = 0
    this.#sets = 0
  }

  size() {
    return this.#index.size
  }

  getStats() {
    const hits = this.#hits
    const misses = this.#misses
    const totalRequests = hits + misses
    return {
      hits,
      misses,
      evictions: this.#evictions,
      sets: this.#sets,
      size: this.#index.size,
      maxSize: this.maxSize,
      ttlMs: this.ttlMs,
      hitRate: formatRate(hits, totalRequests),
      totalRequests,
    }
  }

  /** Removes expired entries; returns how many. */
  maintain() {
    const now = readClock()
    const next = this.#next
    let removed = 0
    for (let slot = this.#head; slot !== NONE;) {
      const younger = next[slot]
      if (this.#expiresAt[slot] <= now) {
        this.#remove(slot)
        removed++
      }
      slot = younger
    }
    return removed
  }

  /** Ids currently cached (expired ones included until they are removed), least recently used first. */
  keys() {
    const out = new Array(this.#index.size)
    const next = this.#next
    let i = 0
    for (let slot = this.#head; slot !== NONE; slot = next[slot]) out[i++] = this.#ids[slot]
    return out
  }

  getConfig() {
    return { maxSize: this.maxSize, ttlMs: this.ttlMs, ttlMinutes: this.ttlMs / 60000 }
  }

  // -- slots and links -------------------------------------------------------------------

  /** Test-only: `{ capacity, used, free, retained }` (slots allocated, handed out, chained free, holding an id). */
  [SLOTS]() {
    let free = 0
    for (let slot = this.#free; slot !== NONE && free <= this.#used; slot = this.#next[slot]) free++
    let retained = 0
    for (let slot = 0; slot < this.#used; slot++) if (this.#ids[slot] !== undefined) retained++
    return { capacity: this.#capacity, used: this.#used, free, retained }
  }

  /** Grows (or first creates) the per-slot arrays to `capacity` slots. */
  #allocate(capacity) {
    const prev = new Int32Array(capacity)
    const next = new Int32Array(capacity)
    const expiresAt = new Float64Array(capacity)
    const verdict = new Uint8Array(capacity)
    if (this.#capacity > 0) {
      prev.set(this.#prev)
      next.set(this.#next)
      expiresAt.set(this.#expiresAt)
      verdict.set(this.#verdict)
    }
    this.#prev = prev
    this.#next = next
    this.#expiresAt = expiresAt
    this.#verdict = verdict
    this.#capacity = capacity
  }

  #takeSlot() {
    const free = this.#free
    if (free !== NONE) {
      this.#free = this.#next[free]
      return free
    }
    if (this.#used === this.#capacity) {
      // Double, up to maxSize (read live, as v1 did); never less than one more slot.
      const doubled = this.#capacity * 2
      const limit = this.maxSize
      this.#allocate(Math.max(this.#used + 1, doubled > limit ? limit : doubled))
    }
    return this.#used++
  }

  #unlink(slot) {
    const prev = this.#prev
    const next = this.#next
    const older = prev[slot]
    const younger = next[slot]
    if (older === NONE) this.#head = younger
    else next[older] = younger
    if (younger === NONE) this.#tail = older
    else prev[younger] = older
  }

  #linkAtTail(slot) {
    const tail = this.#tail
    this.#prev[slot] = tail
    this.#next[slot] = NONE
    if (tail === NONE) this.#head = slot
    else this.#next[tail] = slot
    this.#tail = slot
  }

  /** Drops the entry in `slot` from the index and the list, and frees the slot. */
  #remove(slot) {
    this.#unlink(slot)
    this.#index.delete(this.#ids[slot])
    this.#ids[slot] = undefined
    this.#next[slot] = this.#free
    this.#free = slot
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
