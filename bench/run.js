#!/usr/bin/env node
'use strict'

// `npm run bench`: the native client against the pure-JS reference client (docs/ARCHITECTURE.md "Performance bars").
//
//   node bench/run.js            full run (several minutes), writes bench/RESULTS.md
//   node bench/run.js --smoke    every case for a fraction of a second; checks that the
//                                script works (CI), writes nothing, exits 0 on misses
//   options: --rounds N   --no-pin   --out FILE   --duration-ms N   --no-trace (skip the
//            diagnostics_channel rounds)
//
// Layout on a machine with 2+ cores: the server (emulator CLI, or the fixed-answer server)
// is pinned to CPU 0, every load or client process to CPU 1 (taskset), one at a time.
// Clients run in separate child processes, native and reference alternating per round;
// the table shows medians over the rounds.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { ROOT, runJsonChild, startServer } = require('./lib/common.js')
const {
  flags,
  SMOKE,
  RESULTS_FILE,
  EMULATOR_BAR,
  MODE,
  OPS,
  levels,
  SERVER_CPU,
  CLIENT_CPU,
  PIN,
} = require('./lib/config.js')
const { fmt, pct, med, ok, report, machine, withAnalysis } = require('./lib/report.js')
const { addonProfile } = require('../scripts/ensure-built.js')

const started = Date.now()
const last = (xs) => xs[xs.length - 1] || {}
const log = (msg) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`)

/** Runs a worker case pinned to the client CPU; a failure is recorded, not thrown. */
async function worker(caseName, options, extra = {}) {
  const timeoutMs = (extra.timeoutMs || 60000) + (options.durationMs || 0) + (options.warmupMs || 0)
  try {
    return await runJsonChild(
      path.join(__dirname, 'worker.js'),
      [caseName, JSON.stringify({ ...options, watchdogMs: timeoutMs })],
      {
        cpu: CLIENT_CPU,
        pin: PIN,
        timeoutMs: timeoutMs + 5000,
        nodeFlags: extra.nodeFlags,
      },
    )
  } catch (err) {
    log(`case ${caseName} ${options.impl || ''} failed: ${err.message}`)
    return { failed: err.message }
  }
}

/** One load run: `conns` keep-alive connections with `depth` requests in flight each. */
function load(server, conns, depth) {
  return runJsonChild(
    path.join(__dirname, 'loadgen.js'),
    [
      '--url',
      server.url,
      '--conns',
      String(conns),
      '--depth',
      String(depth),
      '--warmup-ms',
      String(Math.min(500, MODE.capacityMs / 3)),
      '--duration-ms',
      String(MODE.capacityMs),
      '--server-pid',
      String(server.pid),
    ],
    { cpu: CLIENT_CPU, pin: PIN, timeoutMs: MODE.capacityMs + 20000 },
  )
}

/**
 * Capacity on one core, driven two ways: 16 connections × 16 pipelined requests (what the
 * server can do) and 64 connections × 1 request (how the clients drive it). The better of
 * the two decides whether it reaches the bar; both are reported.
 */
async function capacity(server) {
  const pipelined = await load(server, 16, 16)
  const clientLike = await load(server, 64, 1)
  return { ...(pipelined.rate >= clientLike.rate ? pipelined : clientLike), pipelined, clientLike }
}

function startEmulator() {
  return startServer(path.join(ROOT, 'bin', 'chittyid-emulator.js'), ['--port', '0'], { cpu: SERVER_CPU, pin: PIN })
}

function startFixed() {
  return startServer(path.join(__dirname, 'fixed-server.js'), ['--port', '0'], { cpu: SERVER_CPU, pin: PIN })
}

// ---------------------------------------------------------------------------------------

async function chooseServer(results) {
  log('starting the emulator CLI and measuring its mint capacity')
  const emulator = await startEmulator()
  let emuCap
  try {
    emuCap = await capacity(emulator)
  } catch (err) {
    emuCap = { failed: err.message, rate: 0 }
  }
  results.emulator = emuCap
  const emulatorOk = emuCap.rate >= EMULATOR_BAR
  log(`emulator: ${Math.round(emuCap.rate || 0)} mints/s (server CPU ${pct(emuCap.serverCpuUtil)})`)
  // The smoke run also exercises the fixed-answer path so that CI keeps it working.
  if (!emulatorOk || SMOKE) {
    const fixed = await startFixed()
    try {
      results.fixed = await capacity(fixed)
    } catch (err) {
      results.fixed = { failed: err.message, rate: 0 }
    }
    log(`fixed-answer server: ${Math.round(results.fixed.rate || 0)} req/s`)
    if (!emulatorOk) {
      await emulator.stop()
      results.serverUsed = 'fixed-answer server (bench/fixed-server.js)'
      return fixed
    }
    await fixed.stop()
  }
  results.serverUsed = 'emulator CLI (bin/chittyid-emulator.js)'
  return emulator
}

/**
 * Mints over HTTPS at c=64 against the emulator serving TLS: the native client negotiates h2,
 * and the reference's undici Pool is given `allowH2` so both speak h2.
 */
async function h2Rounds(results) {
  const caFile = path.join(os.tmpdir(), `chittyid-bench-ca-${process.pid}.pem`)
  const server = await startServer(
    path.join(ROOT, 'bin', 'chittyid-emulator.js'),
    ['--port', '0', '--tls', '--ca-out', caFile],
    { cpu: SERVER_CPU, pin: PIN },
  )
  results.mintH2 = { native: [], reference: [] }
  try {
    const rounds = Math.max(1, Math.ceil(MODE.rounds / 2))
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ['native', 'reference'] : ['reference', 'native']
      for (const impl of order) {
        const r = await worker('mint', {
          impl,
          url: server.url,
          concurrency: 64,
          warmupMs: MODE.warmupMs,
          durationMs: MODE.durationMs,
          caFile,
        })
        results.mintH2[impl].push(r)
      }
    }
    const h = results.mintH2
    log(
      `h2: native ${fmt(med(h.native, 'cpuUsPerCall'), 1)} µs/mint, reference ${fmt(med(h.reference, 'cpuUsPerCall'), 1)} µs/mint`,
    )
  } finally {
    await server.stop()
    fs.rmSync(caFile, { force: true })
  }
}

async function clientRounds(server, results) {
  for (const op of OPS) {
    results[op] = {}
    for (const c of levels(op)) results[op][c] = { native: [], reference: [] }
  }
  for (let round = 0; round < MODE.rounds; round++) {
    for (const op of OPS) {
      for (const c of levels(op)) {
        const order = (round + c) % 2 === 0 ? ['native', 'reference'] : ['reference', 'native']
        for (const impl of order) {
          const r = await worker('mint', {
            impl,
            op,
            url: server.url,
            concurrency: c,
            warmupMs: MODE.warmupMs,
            durationMs: MODE.durationMs,
          })
          results[op][c][impl].push(r)
        }
      }
    }
    const line = (c) => {
      const m = results.mint[c]
      const n = last(m.native)
      const r = last(m.reference)
      return `c=${c} native ${fmt(n.cpuUsPerCall, 1)} µs (loop ${fmt(n.loopUsPerCall, 1)}), reference ${fmt(r.cpuUsPerCall, 1)} µs (loop ${fmt(r.loopUsPerCall, 1)})`
    }
    log(
      `round ${round + 1}/${MODE.rounds}, mint CPU per call: ${line(1)}; ${line(64)}; load ${os.loadavg()[0].toFixed(2)}`,
    )
  }
}

/**
 * What the `chittyid:request` TracingChannel costs per mint at c=64: never subscribed (the
 * baseline), subscribed and left (the check each call makes), and subscribed.
 */
const TRACE_MODES = ['none', 'unsubscribed', 'subscribed']

async function traceRounds(server, results) {
  results.trace = Object.fromEntries(TRACE_MODES.map((m) => [m, []]))
  for (let round = 0; round < MODE.rounds; round++) {
    const order = round % 2 === 0 ? TRACE_MODES : [...TRACE_MODES].reverse()
    for (const trace of order) {
      results.trace[trace].push(
        await worker('mint', {
          impl: 'native',
          trace,
          url: server.url,
          concurrency: 64,
          warmupMs: MODE.warmupMs,
          durationMs: MODE.durationMs,
        }),
      )
    }
  }
  const t = results.trace
  log(
    `diagnostics_channel, c=64 CPU per mint: none ${fmt(med(t.none, 'cpuUsPerCall'))} µs, unsubscribed ${fmt(med(t.unsubscribed, 'cpuUsPerCall'))} µs, subscribed ${fmt(med(t.subscribed, 'cpuUsPerCall'))} µs`,
  )
}

async function microCases(results) {
  const micro = { durationMs: MODE.microMs, batchMs: MODE.batchMs, reps: MODE.reps }
  log('validateFormat')
  results.format = await worker('format', micro)
  log('validate() cache hit')
  results.cacheHit = {
    native: await worker('cache-hit', { ...micro, impl: 'native' }),
    reference: await worker('cache-hit', { ...micro, impl: 'reference' }),
  }
  results.compatCache = await worker('compat-cache', micro)
  log('fail-fast with the circuit open')
  results.failFast = {
    native: await worker('fail-fast', { ...micro, impl: 'native' }),
    reference: await worker('fail-fast', { ...micro, impl: 'reference' }),
  }
  results.syncCall = await worker('sync-call', micro)
  log(`memory for ${MODE.memoryEntries} cached entries`)
  results.memory = {
    native: await worker(
      'memory',
      { impl: 'native', entries: MODE.memoryEntries },
      { nodeFlags: ['--expose-gc'], timeoutMs: 240000 },
    ),
    reference: await worker(
      'memory',
      { impl: 'reference', entries: MODE.memoryEntries },
      { nodeFlags: ['--expose-gc'] },
    ),
    compat: await worker('memory', { impl: 'compat', entries: MODE.memoryEntries }, { nodeFlags: ['--expose-gc'] }),
  }
  log('load time and RSS')
  results.load = { native: [], reference: [] }
  for (let i = 0; i < MODE.loadRuns; i++) {
    results.load.native.push(await worker('load', { impl: 'native' }))
    results.load.reference.push(await worker('load', { impl: 'reference' }))
  }
}

// ---------------------------------------------------------------------------------------
// The run (its report: bench/lib/report.js)

async function main() {
  if (
    !fs
      .readdirSync(path.join(ROOT, 'lib', 'native'))
      .some((f) => f.startsWith('chittyid-client.') && f.endsWith('.node'))
  ) {
    throw new Error('the native addon is not built; run `npm run build` (or `npm run bench`, which builds it)')
  }
  // The bars are about the shipped build: a full run on the test profile's addon (no LTO,
  // overflow checks) would write numbers that are not the product's.
  const profile = addonProfile() || 'unknown'
  if (!SMOKE && profile !== 'release') {
    throw new Error(
      `the addon was built with the ${profile} profile, not release (LTO); run \`npm run bench\`, which rebuilds it with the release profile`,
    )
  }
  log(`${SMOKE ? 'smoke' : 'full'} run, ${PIN ? 'pinned' : 'unpinned'}, addon built with the ${profile} profile`)
  const results = {}
  const loadavgStart = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
  const server = await chooseServer(results)
  try {
    await clientRounds(server, results)
    if (!flags['no-trace']) await traceRounds(server, results)
  } finally {
    await server.stop()
  }
  await h2Rounds(results)
  await microCases(results)
  const env = { ...machine(), profile, loadavgStart }
  const text = report(results, env)
  process.stdout.write(`${text}\n`)
  if (flags.out) fs.writeFileSync(path.resolve(flags.out), withAnalysis(text))
  else if (!SMOKE) fs.writeFileSync(RESULTS_FILE, withAnalysis(text))
  const broken = brokenCases(results)
  log(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s${SMOKE ? ' (smoke: performance misses are reported, not failures)' : ''}`,
  )
  if (broken.length) {
    log(`cases that did not run: ${broken.join(', ')}`)
    process.exitCode = 1
  }
}

/** Cases whose worker crashed: the script is broken (a missed bar is not). */
function brokenCases(results) {
  const broken = []
  for (const op of OPS)
    for (const c of levels(op))
      for (const impl of ['native', 'reference'])
        if (!results[op][c][impl].some(ok)) broken.push(`${op} c=${c} ${impl}`)
  const single = { format: results.format, compatCache: results.compatCache, syncCall: results.syncCall }
  for (const [k, v] of Object.entries(single)) if (!ok(v)) broken.push(k)
  for (const k of ['cacheHit', 'failFast', 'memory'])
    for (const impl of ['native', 'reference']) if (!ok(results[k][impl])) broken.push(`${k} ${impl}`)
  if (!results.load.native.some(ok) || !results.load.reference.some(ok)) broken.push('load')
  if (!results.emulator || results.emulator.failed) broken.push('emulator capacity')
  return broken
}

main().catch((err) => {
  console.error(`bench: ${err.stack || err}`)
  process.exit(1)
})
