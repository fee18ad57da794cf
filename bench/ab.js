#!/usr/bin/env node
'use strict'

// A/B of two builds of the addon on a shared machine (bench/RESULTS.md "What moved"): the
// emulator CLI pinned to CPU 0, one client process at a time pinned to CPU 1, A and B
// alternating round by round, so that load from other work falls on both alike. Prints every
// run and the medians of A, B and of each round's B / A ratio.
//
//   node bench/ab.js A.node B.node [--rounds 6] [--concurrency 1,64] [--op mint|validate]
//                                  [--warmup-ms 500] [--duration-ms 2000] [--memory 1000000]
//
// With --memory N, each round also fills N cached entries through validate() (the memory case
// of `npm run bench`) with each build. Each .node is loaded through NAPI_RS_NATIVE_LIBRARY_PATH.
// A build may instead be a directory holding a checkout with its addon built (for a change that
// moves JS too): its own bench/worker.js runs, with the addon in its lib/native/.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { ROOT, median, hasTaskset, runJsonChild, startServer, parseFlags } = require('./lib/common.js')

const flags = parseFlags(process.argv.slice(2))
const [a, b] = process.argv.slice(2).filter((x, i, all) => !x.startsWith('--') && !(all[i - 1] || '').startsWith('--'))
if (!a || !b) {
  console.error('usage: node bench/ab.js A.node B.node [--rounds N] [--concurrency 1,64] [--memory N]')
  process.exit(2)
}
const ROUNDS = Math.max(1, Math.min(20, Number(flags.rounds) || 6))
const LEVELS = String(flags.concurrency || '1,64')
  .split(',')
  .map(Number)
  .filter((c) => c >= 1 && c <= 1024)
const OP = flags.op === 'validate' ? 'validate' : 'mint'
const WARMUP_MS = Math.min(5000, Number(flags['warmup-ms']) || 500)
const DURATION_MS = Math.min(10000, Number(flags['duration-ms']) || 2000)
const MEMORY = Math.min(2_000_000, Number(flags.memory) || 0)
const PIN = os.availableParallelism() >= 2 && hasTaskset()
const BUILDS = { A: path.resolve(a), B: path.resolve(b) }
const isCheckout = (build) => fs.statSync(BUILDS[build]).isDirectory()
const workerOf = (build) => path.join(isCheckout(build) ? path.join(BUILDS[build], 'bench') : __dirname, 'worker.js')

/** Runs the worker with `build`'s addon; NAPI_RS_NATIVE_LIBRARY_PATH is read by the loader. */
function withBuild(build, fn) {
  const before = process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  if (isCheckout(build)) delete process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  else process.env.NAPI_RS_NATIVE_LIBRARY_PATH = BUILDS[build]
  return fn(workerOf(build)).finally(() => {
    if (before === undefined) delete process.env.NAPI_RS_NATIVE_LIBRARY_PATH
    else process.env.NAPI_RS_NATIVE_LIBRARY_PATH = before
  })
}

const KEYS = ['cpuUsPerCall', 'loopUsPerCall', 'ctxSwitchesPerCall', 'throughput']

async function main() {
  const server = await startServer(path.join(ROOT, 'bin', 'chittyid-emulator.js'), ['--port', '0'], {
    cpu: 0,
    pin: PIN,
  })
  const runs = []
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which build goes first, so neither always follows the other.
      const order = round % 2 ? ['A', 'B'] : ['B', 'A']
      for (const c of LEVELS)
        for (const build of order) {
          const options = {
            impl: 'native',
            op: OP,
            url: server.url,
            concurrency: c,
            warmupMs: WARMUP_MS,
            durationMs: DURATION_MS,
          }
          const r = await withBuild(build, (worker) =>
            runJsonChild(worker, ['mint', JSON.stringify(options)], {
              cpu: 1,
              pin: PIN,
              timeoutMs: 60000 + DURATION_MS,
            }),
          )
          runs.push({ build, round, c, ...r })
          console.log(
            `${build} round ${round} c=${c}: ${r.cpuUsPerCall.toFixed(1)} µs CPU, ${r.loopUsPerCall.toFixed(1)} µs loop, ` +
              `${r.ctxSwitchesPerCall.toFixed(2)} switches, ${Math.round(r.throughput)}/s per call; load ${os.loadavg()[0].toFixed(2)}`,
          )
        }
      if (MEMORY)
        for (const build of order) {
          const r = await withBuild(build, (worker) =>
            runJsonChild(worker, ['memory', JSON.stringify({ impl: 'native', entries: MEMORY })], {
              cpu: 1,
              pin: PIN,
              timeoutMs: 600000,
              nodeFlags: ['--expose-gc'],
            }),
          )
          runs.push({ build, round, memory: true, ...r })
          console.log(
            `${build} round ${round} memory: ${r.rssBytesPerEntry.toFixed(1)} B/entry RSS, ${r.nativeBytesPerEntry.toFixed(1)} less V8 growth`,
          )
        }
    }
  } finally {
    await server.stop()
  }
  const summary = {}
  const pick = (build, c, key) => runs.filter((r) => r.build === build && r.c === c).map((r) => r[key])
  for (const c of LEVELS)
    for (const key of KEYS) {
      const ratios = []
      for (let round = 1; round <= ROUNDS; round++) {
        const ra = runs.find((r) => r.build === 'A' && r.c === c && r.round === round)
        const rb = runs.find((r) => r.build === 'B' && r.c === c && r.round === round)
        if (ra && rb) ratios.push(rb[key] / ra[key])
      }
      summary[`c=${c} ${key}`] = { A: median(pick('A', c, key)), B: median(pick('B', c, key)), ratio: median(ratios) }
    }
  if (MEMORY)
    for (const key of ['rssBytesPerEntry', 'nativeBytesPerEntry']) {
      const of = (build) => runs.filter((r) => r.build === build && r.memory).map((r) => r[key])
      summary[`memory ${key}`] = { A: median(of('A')), B: median(of('B')) }
    }
  console.log(JSON.stringify({ rounds: ROUNDS, op: OP, pinned: PIN, loadavg: os.loadavg(), summary }, null, 1))
}

main().catch((err) => {
  console.error(`ab: ${err.stack || err}`)
  process.exit(1)
})
