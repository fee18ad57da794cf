'use strict'

// One measurement in a fresh process: `node bench/worker.js CASE 'JSON-OPTIONS'` prints one
// JSON line. Every loop stops at a deadline or an operation count, whichever comes first,
// and a watchdog ends the process if something hangs.
//
// Cases:
//   mint           impl=native|reference, url, concurrency, warmupMs, durationMs; with
//                  trace=none|unsubscribed|subscribed, the `chittyid:request` TracingChannel
//                  never subscribed, subscribed and left before the run, or subscribed; with
//                  op=validate, validate() calls with both caches off (every call a request)
//                  instead of mints. Reports CPU per call of the whole process and of the JS
//                  thread alone (the event loop).
//   format         validateFormat of the package vs a JS regex test, same process
//   cache-hit      validate() answered from the cache (impl=native|reference)
//   compat-cache   ChittyIDCache.get() hit vs lru-cache get (when the package exports it)
//   fail-fast      mint with the circuit open (impl=native|reference)
//   sync-call      cost of crossing into the addon synchronously (parseChittyId)
//   memory         1,000,000 cached entries (impl=native|reference); run with --expose-gc
//   load           time and RSS to load the package (impl=native) or the reference stack

const path = require('node:path')
const net = require('node:net')
const {
  ROOT,
  sampleId,
  median,
  percentileSorted,
  cpuMicros,
  threadCpuMicros,
  contextSwitches,
  emitResult,
  watchdog,
} = require('./lib/common.js')

const [, , caseName, rawOptions] = process.argv
const opts = rawOptions ? JSON.parse(rawOptions) : {}
watchdog(opts.watchdogMs || 120000, `worker ${caseName}`)

const MINT_REQUEST = { entity: 'PEO' }

function loadNativePackage() {
  return require(ROOT)
}

/** Ids the validate runs ask about in turn (the caches are off, so each is a request). */
const VALIDATE_IDS = Array.from({ length: 1024 }, (_, i) => sampleId(i * 7))

function makeClient(impl, serviceUrl, extra = {}) {
  let client
  if (impl === 'reference') {
    const { ReferenceClient } = require('./reference-client.js')
    client = new ReferenceClient({ serviceUrl, ...extra })
  } else {
    const { ChittyIDClient } = loadNativePackage()
    client = new ChittyIDClient({ serviceUrl, ...extra })
  }
  let next = 0
  return {
    client,
    mint: () => client.mint(MINT_REQUEST),
    validate: () => client.validate(VALIDATE_IDS[next++ & 1023]),
    close: () => client.close(),
  }
}

/** `concurrency` loops each awaiting `op` until `deadline`; records latencies into `lat`. */
async function drive(op, concurrency, deadlineNs, lat, maxOps) {
  let count = 0
  let failures = 0
  let firstError
  const loop = async () => {
    for (let i = 0; i < maxOps; i++) {
      const t0 = process.hrtime.bigint()
      if (t0 >= deadlineNs || count >= maxOps) return
      try {
        await op()
      } catch (err) {
        failures++
        if (!firstError) firstError = err.message
        if (failures > 1000) return
      }
      if (lat && count < lat.length) lat[count] = Number(process.hrtime.bigint() - t0) / 1000
      count++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return { count, failures, firstError }
}

/**
 * The diagnostics_channel modes of the mint case: `unsubscribed` touches the channel as an
 * instrumentation that was switched off would; `subscribed` keeps a subscriber that reads
 * each event, as a span builder would.
 */
function setUpTracing(mode) {
  const events = { count: 0 }
  if (!mode || mode === 'none') return events
  const { TRACING_CHANNEL } = loadNativePackage()
  const channel = require('node:diagnostics_channel').tracingChannel(TRACING_CHANNEL)
  const touch = (ctx) => {
    if (ctx.attempt > 0) events.count++
  }
  const handlers = { start: touch, end: touch, asyncStart: touch, asyncEnd: touch, error: touch }
  channel.subscribe(handlers)
  if (mode === 'unsubscribed') channel.unsubscribe(handlers)
  return events
}

async function caseMint() {
  const { impl, url, concurrency, warmupMs, durationMs, caFile } = opts
  const op = opts.op === 'validate' ? 'validate' : 'mint'
  const traceEvents = setUpTracing(opts.trace)
  const serviceUrl = `${url}/v1`
  const tls = caFile ? { ca: require('node:fs').readFileSync(caFile, 'utf8') } : {}
  const extra = impl === 'reference' && caFile ? { ...tls, allowH2: true } : tls
  // validate: every call goes to the service (the cache-hit case measures the caches).
  if (op === 'validate') extra.cache = false
  const c = makeClient(impl, serviceUrl, extra)
  const call = c[op]
  const maxOps = Math.ceil(durationMs * 200) + 1000
  const warmDeadline = process.hrtime.bigint() + BigInt(Math.round(warmupMs * 1e6))
  const warm = await drive(call, concurrency, warmDeadline, null, maxOps)
  if (warm.count === 0) throw new Error(`no ${op} succeeded during warm-up: ${warm.firstError}`)
  const lat = new Float64Array(maxOps)
  const switches0 = contextSwitches()
  const loop0 = threadCpuMicros()
  const cpu0 = cpuMicros()
  const t0 = process.hrtime.bigint()
  const run = await drive(call, concurrency, t0 + BigInt(Math.round(durationMs * 1e6)), lat, maxOps)
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9
  const cpuUs = cpuMicros() - cpu0
  const loopUs = threadCpuMicros() - loop0
  const switches = contextSwitches() - switches0
  const n = Math.min(run.count, lat.length)
  const sorted = lat.subarray(0, n).sort()
  await c.close()
  const calls = Math.max(1, run.count)
  return {
    impl,
    op,
    concurrency,
    trace: opts.trace,
    traceEvents: opts.trace ? traceEvents.count : undefined,
    count: run.count,
    // Calls of the warm-up too: with count, every call the process made (for instruction
    // counts of a whole run, bench/RESULTS.md "Reqwest floor round").
    warmCount: warm.count,
    failures: run.failures,
    firstError: run.firstError,
    elapsedS,
    throughput: run.count / elapsedS,
    cpuUsPerCall: cpuUs / calls,
    // The JS thread's own CPU (the event loop), NaN where this platform cannot tell.
    loopUsPerCall: Number.isFinite(loopUs) ? loopUs / calls : NaN,
    // Every thread's context switches (/proc/self/task/*/status), NaN where unknown.
    ctxSwitchesPerCall: Number.isFinite(switches) ? switches / calls : NaN,
    cpuUtil: cpuUs / 1e6 / elapsedS,
    loopUtil: Number.isFinite(loopUs) ? loopUs / 1e6 / elapsedS : NaN,
    p50Us: percentileSorted(sorted, n, 50),
    p99Us: percentileSorted(sorted, n, 99),
    load1: require('node:os').loadavg()[0],
  }
}

/** Runs `fn(iterations)` in `reps` timed batches; returns the median ns per iteration. */
function nsPerOp(fn, iterations, reps) {
  const samples = []
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint()
    fn(iterations)
    samples.push(Number(process.hrtime.bigint() - t0) / iterations)
  }
  return median(samples)
}

/** Runs `fn` in small batches for ~100 ms, so that V8 has optimized it before it is timed. */
function warmUp(fn) {
  const until = process.hrtime.bigint() + 100_000_000n
  while (process.hrtime.bigint() < until) fn(10_000)
}

/**
 * Picks an iteration count so that one batch of `fn` takes about `targetMs`, after ~100 ms of
 * warm-up: calibrating on code V8 has not optimized yet picks batches far too short to time.
 */
function calibrate(fn, targetMs) {
  warmUp(fn)
  let n = 1000
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint()
    fn(n)
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (ms >= targetMs / 4 || n >= 1e8) return Math.max(1000, Math.round((n * targetMs) / Math.max(ms, 0.001)))
    n *= 4
  }
  return n
}

function caseFormat() {
  const { ChittyIDClient } = loadNativePackage()
  const client = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1' })
  const pkgValidate = (id) => client.validateFormat(id)
  const exported = require(path.join(ROOT, 'lib', 'id.js')).validateFormat
  const RE = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/
  // Same inputs for every contender: three valid ids, a legacy id, a lower-case one, junk.
  const inputs = [sampleId(1), sampleId(4242), 'CHITTY-PEO-123-ABC', sampleId(99999), 'ct-a-chi-1234-p-24-a-0', 'x']
  const mask = inputs.length
  let sink = 0
  const viaClient = (n) => {
    for (let i = 0; i < n; i++) if (pkgValidate(inputs[i % mask])) sink++
  }
  const viaFunction = (n) => {
    for (let i = 0; i < n; i++) if (exported(inputs[i % mask])) sink++
  }
  const regex = (n) => {
    for (let i = 0; i < n; i++) if (RE.test(inputs[i % mask])) sink++
  }
  const iterations = calibrate(regex, opts.batchMs || 50)
  warmUp(viaClient)
  warmUp(viaFunction)
  const reps = opts.reps || 7
  // Batch by batch, in turn, so that a slow spell of the machine hits every contender alike.
  const results = { client: [], fn: [], regex: [] }
  for (let r = 0; r < 3 * reps; r++) {
    results.regex.push(nsPerOp(regex, iterations, 1))
    results.client.push(nsPerOp(viaClient, iterations, 1))
    results.fn.push(nsPerOp(viaFunction, iterations, 1))
  }
  let nativeNs
  try {
    const binding = require(path.join(ROOT, 'lib', 'native', 'index.js'))
    if (typeof binding.isValidFormatNative === 'function') {
      const nat = (n) => {
        for (let i = 0; i < n; i++) if (binding.isValidFormatNative(inputs[i % mask])) sink++
      }
      nativeNs = nsPerOp(nat, Math.max(1000, Math.round(iterations / 8)), reps)
    }
  } catch {}
  return {
    clientNs: median(results.client),
    functionNs: median(results.fn),
    regexNs: median(results.regex),
    crossingNs: nativeNs,
    iterations,
    sink,
  }
}

function listenAndCloseForPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * Time per awaited call: sequential (latency) and 256 at a time (throughput, CPU), each over
 * SLICES short slices. The figures are the best slice (`seqNs`, `parNs`...) and the median one
 * (`seqMedianNs`...): this VM has slow spells lasting seconds, which a single window can land in.
 */
const SLICES = 5
async function timeAsync(op, durationMs) {
  const maxOps = 5_000_000
  const sliceNs = BigInt(Math.round((durationMs / 2 / SLICES) * 1e6))
  const measure = async (concurrency) => {
    const wall = []
    const cpu = []
    let count = 0
    for (let i = 0; i < SLICES; i++) {
      const t0 = process.hrtime.bigint()
      const cpu0 = cpuMicros()
      const run = await drive(op, concurrency, t0 + sliceNs, null, maxOps)
      const n = Math.max(1, run.count)
      wall.push(Number(process.hrtime.bigint() - t0) / n)
      cpu.push(((cpuMicros() - cpu0) * 1000) / n)
      count += run.count
    }
    return { best: Math.min(...wall), median: median(wall), bestCpu: Math.min(...cpu), count }
  }
  const seq = await measure(1)
  const par = await measure(256)
  return {
    seqNs: seq.best,
    seqMedianNs: seq.median,
    seqCpuNs: seq.bestCpu,
    parNs: par.best,
    parMedianNs: par.median,
    parCpuNs: par.bestCpu,
    count: seq.count + par.count,
  }
}

async function caseFailFast() {
  const { impl, durationMs } = opts
  const port = await listenAndCloseForPort()
  const serviceUrl = `http://127.0.0.1:${port}/v1`
  const retry = impl === 'reference' ? { initialDelayMs: 1, maxDelayMs: 2 } : { initialDelayMs: 1, maxDelayMs: 2 }
  const c = makeClient(impl, serviceUrl, { retry, timeout: 2000 })
  let code
  for (let i = 0; i < 20 && code !== 'ECIRCUITOPEN'; i++) {
    try {
      const value = await c.mint()
      if (value && value.code) code = value.code
    } catch (err) {
      code = err.code
    }
  }
  if (code !== 'ECIRCUITOPEN') return { impl, exposed: false, note: `circuit did not open (last code ${code})` }
  let lastCode
  const op = () =>
    c.mint().then(
      (value) => {
        lastCode = value && value.code
      },
      (err) => {
        lastCode = err.code
      },
    )
  const warm = await timeAsync(op, Math.min(200, durationMs / 4))
  const t = await timeAsync(op, durationMs)
  await c.close()
  return { impl, exposed: true, ...t, lastCode, warmCount: warm.count }
}

async function startTinyService() {
  // Answers GET .../validate/... with valid:true; used to fill the cache once per id.
  const { ChittyIDEmulator } = loadNativePackage()
  return ChittyIDEmulator.start({ port: 0 })
}

async function caseCacheHit() {
  const { impl, durationMs } = opts
  const emu = await startTinyService()
  const c = makeClient(impl, `${emu.url}/v1`)
  const ids = Array.from({ length: 64 }, (_, i) => sampleId(i * 7919))
  for (const id of ids) await c.client.validate(id)
  const before = JSON.stringify(emu.stats().requests)
  let i = 0
  let bad = 0
  const op = async () => {
    const r = await c.client.validate(ids[i++ & 63])
    if (!r.valid) bad++
  }
  await timeAsync(op, Math.min(200, durationMs / 4))
  const t = await timeAsync(op, durationMs)
  const after = JSON.stringify(emu.stats().requests)
  await c.close()
  await emu.close()
  return { impl, exposed: true, ...t, bad, servedFromCache: before === after }
}

function caseCompatCache() {
  const pkg = loadNativePackage()
  const { LRUCache } = require('lru-cache')
  const ids = Array.from({ length: 1024 }, (_, i) => sampleId(i * 31))
  const lru = new LRUCache({ max: 10000, ttl: 300000 })
  for (const id of ids) lru.set(id, true)
  let sink = 0
  const lruGet = (n) => {
    for (let i = 0; i < n; i++) if (lru.get(ids[i & 1023])) sink++
  }
  // The bar is the format check a hit saves: the regex test on the same ids, in this process.
  const RE = /^[A-Z]{2}-[A-Z]-[A-Z]{3}-[0-9]{4}-[A-Z]-[0-9]{2}-[A-Z]-[0-9A-Z]$/
  const regexTest = (n) => {
    for (let i = 0; i < n; i++) if (RE.test(ids[i & 1023])) sink++
  }
  const iterations = calibrate(lruGet, opts.batchMs || 50)
  const reps = opts.reps || 7
  const cache = new pkg.ChittyIDCache({ maxSize: 10000, ttlMs: 300000 })
  for (const id of ids) cache.set(id, true)
  const nativeGet = (n) => {
    for (let i = 0; i < n; i++) if (cache.get(ids[i & 1023])) sink++
  }
  warmUp(regexTest)
  warmUp(nativeGet)
  // Batch by batch, in turn, so that a slow spell of the machine hits every contender alike.
  const samples = { lru: [], regex: [], native: [] }
  for (let r = 0; r < reps; r++) {
    samples.lru.push(nsPerOp(lruGet, iterations, 1))
    samples.regex.push(nsPerOp(regexTest, iterations, 1))
    samples.native.push(nsPerOp(nativeGet, iterations, 1))
  }
  return {
    lruNs: median(samples.lru),
    regexNs: median(samples.regex),
    nativeNs: median(samples.native),
    iterations,
    sink,
  }
}

function caseSyncCall() {
  const binding = require(path.join(ROOT, 'lib', 'native', 'index.js'))
  const id = sampleId(77)
  let sink = 0
  const parse = (n) => {
    for (let i = 0; i < n; i++) if (binding.parseChittyId(id)) sink++
  }
  const iterations = calibrate(parse, opts.batchMs || 50)
  return { parseNs: nsPerOp(parse, iterations, opts.reps || 5), sink }
}

function settle() {
  for (let i = 0; i < 4; i++) if (global.gc) global.gc()
}

function memorySnapshot() {
  settle()
  const m = process.memoryUsage()
  // `external` already includes `arrayBuffers` (lru-cache keeps its links in typed arrays).
  return { rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external }
}

/** A flat (sequential) one-byte string, like an id read off the network. */
const scratch = Buffer.alloc(64)
function flatId(i) {
  const s = sampleId(i)
  scratch.write(s, 0, 'latin1')
  return scratch.latin1Slice(0, s.length)
}

async function caseMemory() {
  const { impl } = opts
  const entries = opts.entries || 1_000_000
  if (!global.gc) throw new Error('run with --expose-gc')
  let cache
  let set
  if (impl === 'native') return nativeClientCacheMemory(entries)
  if (impl === 'compat') {
    const pkg = loadNativePackage()
    const before = memorySnapshot()
    cache = new pkg.ChittyIDCache({ maxSize: entries, ttlMs: 300000 })
    set = (id) => cache.set(id, true)
    return fill(before)
  }
  const { LRUCache } = require('lru-cache')
  const before = memorySnapshot()
  cache = new LRUCache({ max: entries, ttl: 300000 })
  set = (id) => cache.set(id, true)
  return fill(before)

  function fill(before) {
    for (let i = 0; i < entries; i++) set(flatId(i))
    const after = memorySnapshot()
    return memoryResult(impl, entries, typeof cache.size === 'function' ? cache.size() : cache.size, before, after)
  }
}

/** Per-entry deltas between two snapshots. */
function memoryResult(impl, entries, size, before, after) {
  const rssDelta = after.rss - before.rss
  const heapDelta = after.heap - before.heap + (after.external - before.external)
  return {
    impl,
    exposed: true,
    entries,
    size,
    rssDelta,
    heapDelta,
    rssBytesPerEntry: rssDelta / entries,
    heapBytesPerEntry: heapDelta / entries,
    keep: size > 0,
  }
}

/**
 * The client's own validation cache (native), filled the way it fills in production: through
 * `validate()` against an in-process emulator, one distinct id per call. The emulator and the
 * client's connections exist before the baseline, so the delta is the cache's.
 */
async function nativeClientCacheMemory(entries) {
  const pkg = loadNativePackage()
  const emulator = await pkg.ChittyIDEmulator.start({ port: 0 })
  const client = new pkg.ChittyIDClient({
    serviceUrl: emulator.url,
    retry: false,
    cache: { maxSize: entries + 256, ttlMs: 3_600_000, negativeTtlMs: 3_600_000 },
  })
  let next = 0
  const validateUpTo = async (limit) => {
    while (next < limit) await client.validate(flatId(next++))
  }
  await Promise.all(Array.from({ length: 128 }, () => validateUpTo(256)))
  const before = memorySnapshot()
  await Promise.all(Array.from({ length: 128 }, () => validateUpTo(entries + 256)))
  const after = memorySnapshot()
  const size = client.getStats().cache.size - 256
  await client.close()
  await emulator.close()
  const result = memoryResult('native', entries, size, before, after)
  // The fill's garbage grows V8's heap (reserved, not used) by as much as the cache itself;
  // what is left after subtracting that growth is native memory: the cache.
  result.nativeBytesPerEntry = (result.rssDelta - (after.heapTotal - before.heapTotal)) / entries
  return result
}

function caseLoad() {
  const { impl } = opts
  const rss0 = process.memoryUsage().rss
  const t0 = process.hrtime.bigint()
  if (impl === 'native') {
    const pkg = loadNativePackage()
    if (typeof pkg.ChittyIDClient !== 'function') throw new Error('package did not load')
  } else {
    require('./reference-client.js')
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const rss1 = process.memoryUsage().rss
  return { impl, loadMs: ms, rssDelta: rss1 - rss0, rss: rss1 }
}

const CASES = {
  mint: caseMint,
  format: caseFormat,
  'cache-hit': caseCacheHit,
  'compat-cache': caseCompatCache,
  'fail-fast': caseFailFast,
  'sync-call': caseSyncCall,
  memory: caseMemory,
  load: caseLoad,
}

async function main() {
  const fn = CASES[caseName]
  if (!fn) throw new Error(`unknown case ${caseName}; use one of ${Object.keys(CASES).join(', ')}`)
  emitResult(await fn())
  process.exit(0)
}

main().catch((err) => {
  console.error(`worker ${caseName}: ${err.stack || err}`)
  process.exit(1)
})
