#!/usr/bin/env node
// Bounded soak: mints and validations at fixed concurrency against the emulator while faults
// switch at random, then reconciles with the emulator's ledger. Fails (exit 1) on a double
// mint, on a resolved id the service never recorded, on a crash, or on unbounded RSS growth.
//   node scripts/soak.js [--seconds 60] [--concurrency 64]
'use strict'

const { parseArgs } = require('node:util')
const fs = require('node:fs')
const { ChittyIDClient, ChittyIDEmulator } = require('..')

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '64' },
    'max-rss-growth-mb': { type: 'string', default: '64' },
  },
})
const seconds = Math.min(Math.max(Number(values.seconds) || 60, 1), 600)
const concurrency = Math.min(Math.max(Number(values.concurrency) || 64, 1), 1024)
const maxGrowthMb = Number(values['max-rss-growth-mb'])

const FAULTS = [
  {},
  {},
  {},
  { errorStatus: 503, probability: 0.3 },
  { errorStatus: 500, probability: 0.1 },
  { rateLimitRetryAfter: 0, probability: 0.2 },
  { resetConnection: true, probability: 0.2 },
  { dropAfterCommit: true, probability: 0.3 },
  { malformedJson: true, probability: 0.05 },
  { latencyMs: 20, probability: 0.5 },
]

const threads = () => Number((/Threads:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8')) || [])[1])
const mb = (bytes) => Math.round(bytes / 1048576)
const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0

async function main() {
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  const client = new ChittyIDClient({
    serviceUrl: `${emulator.url}/v1`,
    timeout: 2000,
    retry: { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 50 },
    circuitBreaker: { failureThreshold: 50, resetTimeout: 200, monitorWindow: 1000 },
    cache: { maxSize: 5000 },
  })
  const resolved = new Map() // id -> count
  const resolvedIds = [] // the same ids, for picking one at random without copying the map
  const latencies = []
  const tally = { mintsStarted: 0, mintsResolved: 0, mintErrors: {}, validations: 0 }
  const deadline = Date.now() + seconds * 1000
  let rssAfterWarmup = 0
  // Memory outside V8's heap (the addon, the emulator, malloc arenas): what a native leak grows.
  // The JS heap is left out: its size follows V8's GC heuristics and this script's own garbage.
  const nativeBytes = () => {
    const m = process.memoryUsage()
    return m.rss - m.heapTotal
  }
  let nativeAfterWarmup = 0
  const warmupAt = Date.now() + Math.min(5000, (seconds * 1000) / 4)

  const faultTimer = setInterval(() => emulator.setFault(FAULTS[Math.floor(Math.random() * FAULTS.length)]), 250)
  const rssTimer = setInterval(() => {
    if (!rssAfterWarmup && Date.now() >= warmupAt) {
      rssAfterWarmup = process.memoryUsage().rss
      nativeAfterWarmup = nativeBytes()
    }
  }, 100)

  async function worker() {
    while (Date.now() < deadline) {
      if (Math.random() < 0.7) {
        tally.mintsStarted++
        const started = process.hrtime.bigint()
        try {
          const id = await client.mint({ entity: 'PEO' })
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
          tally.mintsResolved++
          if (!resolved.has(id)) resolvedIds.push(id)
          resolved.set(id, (resolved.get(id) || 0) + 1)
        } catch (err) {
          tally.mintErrors[err.code] = (tally.mintErrors[err.code] || 0) + 1
        }
      } else {
        const ids = resolvedIds
        const id = ids.length ? ids[Math.floor(Math.random() * ids.length)] : 'CT-A-CHI-1234-I-24-A-0'
        const result = await client.validate(id)
        if (typeof result.valid !== 'boolean') throw new Error(`validate broke its contract: ${JSON.stringify(result)}`)
        tally.validations++
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, worker))
  clearInterval(faultTimer)
  clearInterval(rssTimer)
  emulator.setFault({})
  global.gc?.()

  const ledger = emulator.stats()
  const recorded = new Set(ledger.mintedIds)
  const duplicatesInLedger = ledger.mintedIds.length - recorded.size
  const resolvedTwice = [...resolved.values()].filter((n) => n > 1).length
  const unrecorded = [...resolved.keys()].filter((id) => !recorded.has(id)).length
  // Each logical mint carries one Idempotency-Key, so the ledger can never hold more ids than mints attempted.
  const doubleMints = duplicatesInLedger + resolvedTwice + Math.max(0, ledger.minted - tally.mintsStarted)
  const orphans = ledger.minted - resolved.size // committed, but every attempt's answer was lost
  const rss = process.memoryUsage().rss
  const growthMb = rssAfterWarmup ? mb(rss - rssAfterWarmup) : 0
  const nativeGrowthMb = nativeAfterWarmup ? mb(nativeBytes() - nativeAfterWarmup) : 0
  latencies.sort((a, b) => a - b)

  const report = {
    seconds,
    concurrency,
    mintsStarted: tally.mintsStarted,
    mintsResolved: tally.mintsResolved,
    mintErrors: tally.mintErrors,
    validations: tally.validations,
    ledgerMinted: ledger.minted,
    idempotentReplays: ledger.idempotentReplays,
    doubleMints,
    unrecordedIds: unrecorded,
    orphanedCommits: orphans,
    mintP50Ms: Number(percentile(latencies, 0.5).toFixed(2)),
    mintP99Ms: Number(percentile(latencies, 0.99).toFixed(2)),
    rssMb: mb(rss),
    rssGrowthAfterWarmupMb: growthMb,
    nativeGrowthAfterWarmupMb: nativeGrowthMb,
    threads: threads(),
    activeHandles: process._getActiveHandles().length,
    retries: client.getStats().retries,
    breakerOpened: client.getStats().breaker.timesOpened,
  }
  await client.close()
  await emulator.close()
  console.log(JSON.stringify(report, null, 2))

  const failures = []
  if (doubleMints !== 0) failures.push(`${doubleMints} double mints`)
  if (unrecorded !== 0) failures.push(`${unrecorded} resolved ids the service never recorded`)
  if (tally.mintsResolved === 0) failures.push('no mint succeeded')
  if (nativeGrowthMb > maxGrowthMb)
    failures.push(`memory outside the JS heap grew ${nativeGrowthMb} MB after warm-up (limit ${maxGrowthMb})`)
  if (failures.length) {
    console.error(`soak FAILED: ${failures.join('; ')}`)
    process.exitCode = 1
  } else {
    console.log('soak passed: 0 double mints, every resolved id recorded, memory outside the JS heap bounded')
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
