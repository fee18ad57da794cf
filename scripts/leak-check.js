#!/usr/bin/env node
// Leak check: runs each churn pattern for a few rounds of the same work against the embedded
// emulator and samples after forced GC (RSS, V8 heap, external memory, active resources, fds,
// threads, the client's own sizes, the emulator's open connections). A leak is a metric that
// keeps growing from round to round of the same work: the report gives each metric's slope per
// round over rounds 2..N (round 1 warms up pools, caches and JIT). docs/TESTING.md "Leak check".
//   node --expose-gc scripts/leak-check.js [--rounds 5] [--only name,name] [--round-ms 2500]
// Bounded: every round stops at its count or its time, whichever first; a pattern at 60 s.
// Exits 1 when a structural count (fds, threads, resources, connections, native and client sizes)
// grows in every round after the first; memory that does, faster than --max-kb-per-round, is
// marked only. Options: --snapshot-diff (heap objects that grew), --max-kb-per-round.
'use strict'

const { parseArgs } = require('node:util')
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const dc = require('node:diagnostics_channel')
const { Worker } = require('node:worker_threads')

if (typeof global.gc !== 'function') {
  const { spawnSync } = require('node:child_process')
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    only: { type: 'string', default: '' },
    'round-ms': { type: 'string', default: '2500' },
    'max-kb-per-round': { type: 'string', default: '1024' },
    'snapshot-diff': { type: 'boolean', default: false },
  },
})
const ROUNDS = Math.min(Math.max(Number(values.rounds) || 5, 4), 10)
const ROUND_MS = Math.min(Math.max(Number(values['round-ms']) || 2500, 200), 10000)
const PATTERN_CAP_MS = 60000
const MAX_KB = Number(values['max-kb-per-round'])
const ONLY = values.only ? new Set(values.only.split(',')) : null

const root = path.join(__dirname, '..')
// The counts below come from the binding's test hooks, which refuse unless this is set
// (src/bindings/diagnostics.rs; docs/TESTING.md).
process.env.CHITTYID_TEST_HOOKS = '1'
// Every NativeClient made from here on, held weakly, for its internalCounts() (lib/client.js
// reads `NativeClient` off the binding when it makes one).
const binding = require(path.join(root, 'lib/native/index.js'))
const natives = new Set()
binding.NativeClient = class extends binding.NativeClient {
  constructor(options) {
    super(options)
    natives.add(new WeakRef(this))
  }
}
const { ChittyIDClient, ChittyIDEmulator } = require(root)
const portable = require(path.join(root, 'portable.js'))

/** The process's native counts plus every live NativeClient's, summed. */
function nativeCounts() {
  const counts = {
    ...binding.nativeCounts(),
    jsFetches: require(path.join(root, 'lib/fetch-transport.js')).inFlightCount(),
    flights: 0,
    registeredCalls: 0,
    queuedOutcomes: 0,
  }
  for (const ref of natives) {
    const client = ref.deref()
    if (client === undefined) {
      natives.delete(ref)
      continue
    }
    for (const [k, v] of Object.entries(client.internalCounts())) counts[k] += v
  }
  return counts
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const tick = () => new Promise((r) => setImmediate(r))

async function settle() {
  for (let i = 0; i < 4; i++) {
    await tick()
    global.gc()
    await sleep(20)
  }
}

/** ESTABLISHED loopback TCP connections whose local port is `port` (the emulator's side). */
function serverConnections(port) {
  if (!port) return 0
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  let n = 0
  for (const file of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    let text = ''
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length > 3 && f[1].endsWith(`:${hex}`) && f[3] === '01') n++
    }
  }
  return n
}

function sample(ctx) {
  const m = process.memoryUsage()
  const resources = process.getActiveResourcesInfo()
  const s = {
    rssKb: Math.round(m.rss / 1024),
    heapKb: Math.round(m.heapUsed / 1024),
    externalKb: Math.round(m.external / 1024),
    resources: resources.length,
    fds: fs.readdirSync('/proc/self/fd').length,
    threads: fs.readdirSync('/proc/self/task').length,
    serverConns: serverConnections(ctx.port),
    ...nativeCounts(),
  }
  for (const [k, v] of Object.entries(ctx.sizes ? ctx.sizes() : {})) s[k] = v
  return s
}

/** Least-squares slope per round of `ys`. */
function slope(ys) {
  const n = ys.length
  const mx = (n - 1) / 2
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  })
  return den === 0 ? 0 : num / den
}

/** Cache entries beyond the cache's `maxSize` (a cache bounded by its size shows 0). */
const overMax = (cache) => (cache ? Math.max(0, cache.size - cache.maxSize) : 0)

const MEMORY = new Set(['rssKb', 'heapKb', 'externalKb'])

/** Runs `op(i)` with `concurrency` workers until `count` ops or `ms` elapsed; failures are counted. */
async function churn(count, concurrency, ms, op) {
  const deadline = Date.now() + ms
  let next = 0
  let failed = 0
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      const i = next++
      try {
        await op(i)
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { done: next, failed }
}

const FAULTS = [
  {},
  { latencyMs: 30 },
  { errorStatus: 503, probability: 0.3 },
  { rateLimitRetryAfter: 0, probability: 0.2 },
  { rateLimitPerSecond: 200 },
  { resetConnection: true, probability: 0.2 },
  { down: true, probability: 0.5 },
  {},
]

/** Aborts a call at a random stage: before submit, right after, mid-flight, or never. */
function abortingSignal(i) {
  const c = new AbortController()
  const stage = i % 4
  if (stage === 0) c.abort()
  else if (stage === 1) queueMicrotask(() => c.abort())
  else if (stage === 2) setTimeout(() => c.abort(), 1 + (i % 15)).unref()
  return c.signal
}

const clientOf = (engine) => (engine === 'portable' ? portable.ChittyIDClient : ChittyIDClient)

function options(engine, emu, extra = {}) {
  const o = {
    serviceUrl: `${emu.url}/v1`,
    timeout: 1500,
    retry: { maxAttempts: 3, initialDelayMs: 2, maxDelayMs: 20 },
    circuitBreaker: { failureThreshold: 20, resetTimeout: 100 },
    ...extra,
  }
  if (engine === 'fetch') o.transport = 'fetch'
  return o
}

/** Each pattern: `setup()` returns ctx `{ round(r), sizes?(), teardown() }`. */
const PATTERNS = []
const pattern = (name, setup) => PATTERNS.push({ name, setup })

for (const engine of ['native', 'fetch', 'portable']) {
  pattern(`${engine}:faults+aborts`, async () => {
    const emu = await ChittyIDEmulator.start({ port: 0 })
    const Client = clientOf(engine)
    const client = new Client(
      options(engine, emu, engine === 'portable' ? {} : { bulkhead: { maxConcurrent: 16, maxQueue: 64 } }),
    )
    return {
      port: emu.port,
      sizes: () => {
        const st = client.getStats()
        return { cacheOverMax: overMax(st.cache), bulkheadInFlight: st.bulkhead ? st.bulkhead.inFlight : 0 }
      },
      async round(r) {
        let f = 0
        for (const fault of FAULTS) {
          emu.setFault(fault)
          const shared = AbortSignal.timeout(40 + (f++ % 3) * 20)
          await churn(300, 24, ROUND_MS / FAULTS.length, (i) => {
            const k = r * 100000 + f * 1000 + i
            const call = { headers: { 'x-request-id': `r${k}` } }
            if (i % 3 === 0) call.signal = abortingSignal(i)
            else if (i % 3 === 1) call.signal = shared
            else call.signal = AbortSignal.timeout(5 + (i % 40))
            if (i % 2 === 0) return client.mint({ entity: 'PEO' }, { ...call, idempotencyKey: `k-${k}` })
            return client.validate(`CT-A-AAA-${String(i % 200).padStart(4, '0')}-P-26-K-0`, call)
          })
        }
        emu.clearFaults()
        emu.resetLedger()
      },
      async teardown() {
        await client.close()
        await emu.close()
      },
    }
  })

  pattern(`${engine}:validate-distinct+flights`, async () => {
    const emu = await ChittyIDEmulator.start({ port: 0 })
    const client = new (clientOf(engine))(options(engine, emu, { cache: { maxSize: 500 } }))
    let serial = 0
    return {
      port: emu.port,
      sizes: () => ({ cacheOverMax: overMax(client.getStats().cache) }),
      async round() {
        emu.setFault({ latencyMs: 3 })
        await churn(3000, 32, ROUND_MS, (i) => {
          const n = serial++
          const id = `ZZ-A-AAA-${String(n % 10000).padStart(4, '0')}-P-${String(Math.floor(n / 10000) % 100).padStart(2, '0')}-K-0`
          // Four callers of the same id at once: one request, shared (the flights).
          return i % 8 === 0 ? Promise.all([0, 1, 2, 3].map(() => client.validate(id))) : client.validate(id)
        })
        emu.clearFaults()
        emu.resetLedger()
      },
      async teardown() {
        await client.close()
        await emu.close()
      },
    }
  })
}

for (const engine of ['native', 'fetch']) {
  pattern(`${engine}:paced-line+rateLimit+bulkhead`, async () => {
    const emu = await ChittyIDEmulator.start({ port: 0 })
    const client = new ChittyIDClient(
      options(engine, emu, {
        timeout: 800,
        rateLimit: { requestsPerSecond: 400, burst: 20 },
        bulkhead: { maxConcurrent: 8, maxQueue: 100 },
      }),
    )
    return {
      port: emu.port,
      sizes: () => {
        const st = client.getStats()
        return { bulkheadInFlight: st.bulkhead.inFlight, bulkheadQueued: st.bulkhead.queued }
      },
      async round(r) {
        // 429s without Retry-After start adaptive pauses and a paced line; half the callers
        // give up while waiting in it.
        emu.setFault({ rateLimitPerSecond: 150 })
        await churn(1500, 64, ROUND_MS, (i) =>
          client.mint(
            { entity: 'PEO' },
            { idempotencyKey: `p-${r}-${i}`, signal: i % 2 ? AbortSignal.timeout(20 + (i % 100)) : undefined },
          ),
        )
        emu.clearFaults()
        emu.resetLedger()
      },
      async teardown() {
        await client.close()
        await emu.close()
      },
    }
  })

  pattern(`${engine}:breaker+failover`, async () => {
    const a = await ChittyIDEmulator.start({ port: 0 })
    const b = await ChittyIDEmulator.start({ port: 0 })
    const c = await ChittyIDEmulator.start({ port: 0 })
    const client = new ChittyIDClient({
      ...options(engine, a, { circuitBreaker: { failureThreshold: 3, resetTimeout: 30 } }),
      serviceUrl: [`${a.url}/v1`, `${b.url}/v1`, `${c.url}/v1`],
      failover: { failbackSuccesses: 1, probeIntervalMs: 20 },
    })
    const onEvent = () => {}
    return {
      port: a.port,
      async round() {
        const deadline = Date.now() + ROUND_MS
        let flip = 0
        while (Date.now() < deadline) {
          a.setFault(flip % 2 ? { down: true } : {})
          b.setFault(flip % 3 ? { errorStatus: 500 } : { resetConnection: true })
          flip++
          client.on('failover', onEvent)
          client.on('circuitOpen', onEvent)
          await churn(80, 16, 150, (i) => (i % 2 ? client.mint({ entity: 'PEO' }) : client.healthCheck()))
          client.off('failover', onEvent)
          client.off('circuitOpen', onEvent)
        }
        for (const e of [a, b, c]) {
          e.clearFaults()
          e.resetLedger()
        }
      },
      async teardown() {
        await client.close()
        for (const e of [a, b, c]) await e.close()
      },
    }
  })

  pattern(`${engine}:telemetry+listeners`, async () => {
    const emu = await ChittyIDEmulator.start({ port: 0 })
    const client = new ChittyIDClient(options(engine, emu))
    const channel = dc.tracingChannel('chittyid:request')
    const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
    return {
      port: emu.port,
      sizes: () => ({ listeners: client.eventNames().reduce((n, e) => n + client.listenerCount(e), 0) }),
      async round() {
        const deadline = Date.now() + ROUND_MS
        let k = 0
        while (Date.now() < deadline) {
          const on = k++ % 2 === 0
          if (on) channel.subscribe(handlers)
          const listener = () => {}
          client.on('retry', listener)
          emu.setFault({ errorStatus: 503, probability: 0.3 })
          await churn(100, 16, 200, (i) =>
            client.mint({ entity: 'PEO' }, { signal: i % 5 === 0 ? AbortSignal.timeout(2) : undefined }),
          )
          client.off('retry', listener)
          if (on) channel.unsubscribe(handlers)
        }
        emu.clearFaults()
        emu.resetLedger()
      },
      async teardown() {
        await client.close()
        await emu.close()
      },
    }
  })

  pattern(`${engine}:dropped-clients+close-races`, async () => {
    const emu = await ChittyIDEmulator.start({ port: 0 })
    return {
      port: emu.port,
      async round() {
        emu.setFault({ latencyMs: 5 })
        await churn(300, 8, ROUND_MS, async (i) => {
          const client = new ChittyIDClient(options(engine, emu, { connection: { healthCheckInterval: 50 } }))
          client.on('stateChange', () => {})
          const calls = [client.mint({ entity: 'PEO' }), client.validate('CT-A-AAA-0000-P-26-K-0')]
          if (i % 3 === 0) calls.push(client.connect())
          // Handled before close() is awaited: it settles after the calls it stops have rejected.
          const settled = Promise.allSettled(calls)
          if (i % 2 === 0) {
            // close() racing calls in flight
            await sleep(i % 7)
            await client.close()
          }
          // else dropped without close(): the finalizer's job
          await settled
        })
        emu.clearFaults()
        emu.resetLedger()
      },
      async teardown() {
        await emu.close()
      },
    }
  })

  pattern(`${engine}:workers-terminated`, async () => {
    const emu = await ChittyIDEmulator.start({ port: 0 })
    const code = `
      const { workerData, parentPort } = require('node:worker_threads')
      const { ChittyIDClient } = require(workerData.root)
      const c = new ChittyIDClient({ serviceUrl: workerData.url, transport: workerData.transport, timeout: 2000 })
      for (let i = 0; i < 20; i++) c.mint({ entity: 'PEO' }).catch(() => {})
      parentPort.postMessage('busy')
    `
    return {
      port: emu.port,
      async round() {
        emu.setFault({ latencyMs: 40 })
        await churn(12, 3, ROUND_MS, async (i) => {
          const w = new Worker(code, {
            eval: true,
            workerData: { root, url: `${emu.url}/v1`, transport: engine },
          })
          await new Promise((resolve, reject) => {
            w.once('message', resolve)
            w.once('error', reject)
          })
          await sleep(i % 20)
          await w.terminate()
        })
        emu.clearFaults()
        emu.resetLedger()
      },
      async teardown() {
        await emu.close()
      },
    }
  })
}

/** Live objects, closures, native and code objects by name (others by type), from a heap snapshot (--snapshot-diff). */
function objectCounts() {
  const file = v8.writeHeapSnapshot(path.join(require('node:os').tmpdir(), `leak-check-${process.pid}.heapsnapshot`))
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'))
  fs.unlinkSync(file)
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const [ti, ni] = [fields.indexOf('type'), fields.indexOf('name')]
  const out = new Map()
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + ti]]
    const named = type === 'object' || type === 'closure' || type === 'native' || type === 'code'
    const key = named ? `${type} ${snap.strings[snap.nodes[i + ni]].slice(0, 50)}` : type
    out.set(key, (out.get(key) || 0) + 1)
  }
  global.gc()
  return out
}

function printGrowth(before, after, rounds) {
  const grown = []
  for (const [k, n] of after) if (n - (before.get(k) || 0) >= 5 * rounds) grown.push([n - (before.get(k) || 0), k])
  grown.sort((a, b) => b[0] - a[0])
  console.log(
    `  objects grown over ${rounds} rounds: ${
      grown
        .slice(0, 15)
        .map(([d, k]) => `${k} +${d}`)
        .join('; ') || 'none'
    }`,
  )
}

// Clients replaced while registered with a prom-client registry (a config reload): close()
// must let the registry forget the old one.
pattern('native:metrics-registry+reload', async () => {
  const emu = await ChittyIDEmulator.start({ port: 0 })
  const { registerMetrics } = require(root)
  const promClient = require(require.resolve('prom-client', { paths: [root] }))
  const registry = new promClient.Registry()
  let current
  return {
    port: emu.port,
    async round(r) {
      await churn(100, 1, ROUND_MS, async (i) => {
        const next = new ChittyIDClient({ serviceUrl: `${emu.url}/v1`, name: 'orders', labels: { gen: `${r}-${i}` } })
        await next.mint({ entity: 'PEO' })
        if (current !== undefined) await current.close()
        registerMetrics(registry, next)
        current = next
        await registry.metrics()
      })
      emu.resetLedger()
    },
    async teardown() {
      await current.close()
      await emu.close()
    },
  }
})

// Short-lived clients: the one-call functions, and clients of `scope: "process"` (their shared
// cache, breaker and pause must go with the last client of a URL).
pattern('native:shortcuts+process-scope', async () => {
  const emu = await ChittyIDEmulator.start({ port: 0 })
  const { validateChittyID, mintChittyID } = require(root)
  return {
    port: emu.port,
    async round() {
      await churn(400, 8, ROUND_MS, async (i) => {
        const serviceUrl = `${emu.url}/${i % 2 ? 'v1' : 'api/v1'}`
        if (i % 4 === 0) return mintChittyID({ entity: 'PEO' }, { serviceUrl })
        if (i % 4 === 1)
          return validateChittyID(`CT-A-AAA-${String(i % 100).padStart(4, '0')}-P-26-K-0`, { serviceUrl })
        const client = new ChittyIDClient({ serviceUrl, scope: 'process' })
        await client.validate(`CT-A-AAA-${String(i % 100).padStart(4, '0')}-P-26-K-0`)
        if (i % 3) await client.close()
      })
      emu.resetLedger()
    },
    async teardown() {
      await emu.close()
    },
  }
})

async function runPattern(p) {
  const ctx = await p.setup()
  const rows = []
  const objects = []
  const started = Date.now()
  for (let r = 0; r < ROUNDS && Date.now() - started < PATTERN_CAP_MS; r++) {
    await ctx.round(r)
    await sleep(300) // idle sockets, detach timers, finalizers
    await settle()
    rows.push(sample(ctx))
    if (values['snapshot-diff'] && (r === 1 || r === ROUNDS - 1)) objects.push(objectCounts())
  }
  if (objects.length === 2) printGrowth(objects[0], objects[1], rows.length - 2)
  await ctx.teardown()
  return { rows, ms: Date.now() - started }
}

async function main() {
  const report = []
  let leaking = false
  for (const p of PATTERNS) {
    if (ONLY && !ONLY.has(p.name)) continue
    const { rows, ms } = await runPattern(p)
    const tail = rows.slice(1)
    const keys = Object.keys(rows[0])
    const slopes = {}
    const grows = []
    for (const k of keys) {
      const ys = tail.map((row) => row[k])
      slopes[k] = Math.round(slope(ys) * 10) / 10
      const rising = ys.every((y, i) => i === 0 || y > ys[i - 1])
      if (rising && ys[ys.length - 1] > ys[0] && (!MEMORY.has(k) || slopes[k] > MAX_KB)) grows.push(k)
    }
    // Memory alone is flagged, not failed: a process warming up (pools, JIT, the allocators'
    // pages) rises for a few rounds; rerun the pattern with more --rounds to tell.
    if (grows.some((k) => !MEMORY.has(k))) leaking = true
    report.push({ pattern: p.name, ms, first: rows[0], last: rows[rows.length - 1], slopes, grows })
    console.log(
      `${p.name.padEnd(38)} ${String(ms).padStart(6)} ms  ` +
        `slope/round: rss ${slopes.rssKb} KB, heap ${slopes.heapKb} KB, ext ${slopes.externalKb} KB, ` +
        `res ${slopes.resources}, fds ${slopes.fds}, thr ${slopes.threads}, conns ${slopes.serverConns}` +
        (grows.length ? `  GROWS: ${grows.join(', ')}` : ''),
    )
    console.log(`  rounds: ${rows.map((row) => JSON.stringify(row)).join('\n          ')}`)
  }
  process.exitCode = leaking ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  process.exit(2)
})
