#!/usr/bin/env node
// Memory saved by `scope: "process"` with 4 worker threads that validate the same ids:
// every worker has its own client; with the default scope each holds its own cache, with
// process scope they share one. Each mode runs in a fresh process; RSS is read once every
// worker has validated every id and before any of them exits.
//   node bench/process-scope.js [--ids 100000] [--workers 4]
'use strict'

const { execFileSync } = require('node:child_process')
const { parseArgs } = require('node:util')
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads')
const path = require('node:path')

const entry = path.resolve(__dirname, '..')

async function workerMain() {
  const { ChittyIDClient } = require(entry)
  const client = new ChittyIDClient(workerData.options)
  const { ids } = workerData
  let next = 0
  const run = async () => {
    while (next < ids.length) await client.validate(ids[next++])
  }
  await Promise.all(Array.from({ length: 32 }, run))
  parentPort.postMessage(client.getStats().cache.size)
  await new Promise((resolve) => parentPort.once('message', resolve)) // stay alive until measured
  await client.close()
}

async function modeMain(mode, count, workers) {
  const { ChittyIDClient, ChittyIDEmulator } = require(entry)
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  const options = { serviceUrl: emulator.url, scope: mode, cache: { maxSize: count * 2, ttlMs: 600000 } }
  const minter = new ChittyIDClient({ serviceUrl: emulator.url })
  const ids = []
  while (ids.length < count)
    ids.push(
      ...(await minter.mintBatch(
        Array.from({ length: Math.min(1000, count - ids.length) }, () => ({ entity: 'PEO' })),
      )),
    )
  await minter.close()
  const holder = mode === 'process' ? new ChittyIDClient(options) : null
  global.gc?.()
  const before = process.memoryUsage().rss
  const pool = Array.from(
    { length: workers },
    () => new Worker(__filename, { workerData: { ids, options, role: 'worker' } }),
  )
  const sizes = await Promise.all(pool.map((w) => new Promise((resolve) => w.once('message', resolve))))
  const after = process.memoryUsage().rss
  pool.forEach((w) => w.postMessage('done'))
  await Promise.all(pool.map((w) => new Promise((resolve) => w.once('exit', resolve))))
  if (holder) await holder.close()
  await emulator.close()
  process.stdout.write(JSON.stringify({ mode, rssGrowthMb: (after - before) / 1048576, cacheSizes: sizes }))
}

async function main() {
  const { values } = parseArgs({
    options: { ids: { type: 'string', default: '100000' }, workers: { type: 'string', default: '4' } },
  })
  const count = Math.min(Math.max(Number(values.ids) || 100000, 1000), 1000000)
  const workers = Math.min(Math.max(Number(values.workers) || 4, 1), 16)
  const results = {}
  for (const mode of ['client', 'process']) {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', __filename, '--mode', mode, '--ids', String(count), '--workers', String(workers)],
      { encoding: 'utf8', timeout: 300000 },
    )
    results[mode] = JSON.parse(out)
  }
  const saved = results.client.rssGrowthMb - results.process.rssGrowthMb
  console.log(`${workers} workers x ${count} validated ids`)
  console.log(
    `scope "client":  RSS +${results.client.rssGrowthMb.toFixed(1)} MB (cache sizes ${results.client.cacheSizes.join(', ')})`,
  )
  console.log(
    `scope "process": RSS +${results.process.rssGrowthMb.toFixed(1)} MB (one shared cache of ${results.process.cacheSizes[0]})`,
  )
  console.log(`saved: ${saved.toFixed(1)} MB (${((saved / results.client.rssGrowthMb) * 100).toFixed(0)}%)`)
}

if (!isMainThread && workerData && workerData.role === 'worker') {
  workerMain()
} else {
  const { values } = parseArgs({
    strict: false,
    options: { mode: { type: 'string' }, ids: { type: 'string' }, workers: { type: 'string' } },
  })
  const run = values.mode ? modeMain(values.mode, Number(values.ids), Number(values.workers)) : main()
  run.catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}
