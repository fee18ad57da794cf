// Micro-benchmark of the compat ChittyIDCache (lib/compat/cache.js) against the format check it
// fronts and against lru-cache, all in one process, interleaved, medians over rounds.
//
//   node bench/compat-cache.mjs [--rounds 9] [--batch-ms 40] [--json]
//
// Every loop is bounded (a fixed iteration count calibrated once per case). Each case has its
// own loop function, so no call site sees more than one callee.

import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { sampleId, median } = require('./lib/common.js')
const { ChittyIDCache } = require('../lib/compat/cache.js')
const { LRUCache } = require('lru-cache')

const args = process.argv.slice(2)
const arg = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : fallback
}
const ROUNDS = Math.max(1, Math.min(99, arg('--rounds', 9)))
const BATCH_MS = Math.max(1, Math.min(1000, arg('--batch-ms', 40)))
const JSON_OUT = args.includes('--json')

const RE = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/
const N = 1024
const MASK = N - 1

/** A flat one-byte copy of `s` that is a different string object (like an id read off a socket). */
const scratch = Buffer.alloc(64)
function flatCopy(s) {
  scratch.write(s, 0, 'latin1')
  return scratch.latin1Slice(0, s.length)
}

const ids = Array.from({ length: N }, (_, i) => flatCopy(sampleId(i * 31)))
const copies = ids.map(flatCopy) // equal strings, other objects: the lookup compares contents
const absent = Array.from({ length: N }, (_, i) => flatCopy(sampleId(1_000_000 + i * 31)))
const churn = Array.from({ length: 4 * N }, (_, i) => flatCopy(sampleId(2_000_000 + i * 7)))
for (const s of [...ids, ...copies, ...absent, ...churn]) if (!RE.test(s)) throw new Error(`bad sample id ${s}`)

const hitCache = new ChittyIDCache({ maxSize: 10000, ttlMs: 300000 })
const missCache = new ChittyIDCache({ maxSize: 10000, ttlMs: 300000 })
const fullCache = new ChittyIDCache({ maxSize: N, ttlMs: 300000 })
const lru = new LRUCache({ max: 10000, ttl: 300000 })
const fullLru = new LRUCache({ max: N, ttl: 300000 })
for (const id of ids) {
  hitCache.set(id, true)
  missCache.set(id, true)
  lru.set(id, true)
}
for (let i = 0; i < N; i++) {
  fullCache.set(churn[i], true)
  fullLru.set(churn[i], true)
}

let sink = 0
let churnAt = N
let churnLruAt = N

const CASES = {
  'regex test (the format check)': (n) => {
    for (let i = 0; i < n; i++) if (RE.test(ids[i & MASK])) sink++
  },
  'ChittyIDCache#get hit': (n) => {
    for (let i = 0; i < n; i++) if (hitCache.get(ids[i & MASK])) sink++
  },
  'lru-cache get hit': (n) => {
    for (let i = 0; i < n; i++) if (lru.get(ids[i & MASK])) sink++
  },
  'regex test, equal string other object': (n) => {
    for (let i = 0; i < n; i++) if (RE.test(copies[i & MASK])) sink++
  },
  'ChittyIDCache#get hit, equal string other object': (n) => {
    for (let i = 0; i < n; i++) if (hitCache.get(copies[i & MASK])) sink++
  },
  'lru-cache get hit, equal string other object': (n) => {
    for (let i = 0; i < n; i++) if (lru.get(copies[i & MASK])) sink++
  },
  'ChittyIDCache#get miss': (n) => {
    for (let i = 0; i < n; i++) if (missCache.get(absent[i & MASK]) === null) sink++
  },
  'lru-cache get miss': (n) => {
    for (let i = 0; i < n; i++) if (lru.get(absent[i & MASK]) === undefined) sink++
  },
  'ChittyIDCache#set at capacity (evicts)': (n) => {
    // 4N ids cycled through a cache of N: every set is a new key and evicts the oldest.
    let at = churnAt
    for (let i = 0; i < n; i++) fullCache.set(churn[at++ & (4 * N - 1)], true)
    churnAt = at
  },
  'lru-cache set at capacity (evicts)': (n) => {
    let at = churnLruAt
    for (let i = 0; i < n; i++) fullLru.set(churn[at++ & (4 * N - 1)], true)
    churnLruAt = at
  },
}

function timeBatch(fn, n) {
  const t0 = process.hrtime.bigint()
  fn(n)
  return Number(process.hrtime.bigint() - t0)
}

/** An iteration count for which one batch takes about BATCH_MS (at most 20 doublings by 4). */
function calibrate(fn) {
  let n = 1000
  for (let i = 0; i < 20; i++) {
    const ms = timeBatch(fn, n) / 1e6
    if (ms >= BATCH_MS / 4 || n >= 1e8) return Math.max(1000, Math.round((n * BATCH_MS) / Math.max(ms, 0.001)))
    n *= 4
  }
  return n
}

const names = Object.keys(CASES)
const iterations = new Map(names.map((name) => [name, calibrate(CASES[name])]))
const samples = new Map(names.map((name) => [name, []]))
for (let r = 0; r < ROUNDS; r++) {
  for (const name of names) {
    const n = iterations.get(name)
    samples.get(name).push(timeBatch(CASES[name], n) / n)
  }
}

const stats = hitCache.getStats()
if (stats.misses !== 0 || fullCache.size() !== N || missCache.getStats().hits !== 0)
  throw new Error('benchmark did not measure what it says')

const result = Object.fromEntries(names.map((name) => [name, median(samples.get(name))]))
if (JSON_OUT) {
  console.log(JSON.stringify({ node: process.version, rounds: ROUNDS, batchMs: BATCH_MS, nsPerOp: result, sink }))
} else {
  console.log(`Node ${process.version}; ${ROUNDS} rounds of ~${BATCH_MS} ms per case, interleaved; median ns/op`)
  const width = Math.max(...names.map((n) => n.length))
  for (const name of names) console.log(`  ${name.padEnd(width)}  ${result[name].toFixed(1).padStart(7)}`)
  const hit = result['ChittyIDCache#get hit']
  const regex = result['regex test (the format check)']
  console.log(
    `  get hit / regex test: ${(hit / regex).toFixed(2)}×  (bar: ≤ 1×; lru-cache get / regex: ${(result['lru-cache get hit'] / regex).toFixed(2)}×)`,
  )
}
