#!/usr/bin/env node
// Outage figures (issue 15), one bounded run against embedded emulators on loopback:
//   1. requests sent per logical call during a full outage, once the breaker has opened;
//   2. time from the primary's death to the first success on the secondary;
//   3. p99 mint latency across a failover.
// Usage: node bench/outage.js   (about 15 s; prints the figures as Markdown)
'use strict'

const { ChittyIDClient, ChittyIDEmulator } = require('..')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const v1 = (emulator) => `${emulator.url}/v1`

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)]
}

/** A closed loopback port: every connect is refused. */
async function deadUrl() {
  const emulator = await ChittyIDEmulator.start({ port: 0 })
  const url = v1(emulator)
  await emulator.close()
  return url
}

/**
 * Full outage: every call of `callsPerTick` mints each 10 ms for `ms` fails. Counts attempts
 * (getStats) per logical call, overall and from the moment the circuit opened.
 */
async function fullOutage(label, options, ms = 4000, callsPerTick = 5) {
  const client = new ChittyIDClient({ serviceUrl: await deadUrl(), ...options })
  let openedAt
  let attemptsAtOpen = 0
  let callsAtOpen = 0
  let calls = 0
  client.on('circuitOpen', () => {
    if (openedAt !== undefined) return
    openedAt = performance.now()
    attemptsAtOpen = client.getStats().requests.mint.requests
    callsAtOpen = calls
  })
  const started = performance.now()
  const pending = []
  while (performance.now() - started < ms) {
    for (let i = 0; i < callsPerTick; i++) {
      calls++
      pending.push(client.mint({ entity: 'PEO' }).catch(() => {}))
    }
    await sleep(10)
  }
  await Promise.all(pending)
  const attempts = client.getStats().requests.mint.requests
  const stats = client.getStats()
  await client.close()
  const afterOpen = openedAt === undefined ? NaN : (attempts - attemptsAtOpen) / (calls - callsAtOpen)
  return {
    label,
    calls,
    attempts,
    perCall: attempts / calls,
    afterOpen,
    callsAfterOpen: calls - callsAtOpen,
    attemptsAfterOpen: attempts - attemptsAtOpen,
    budgetExhausted: stats.retryBudgetExhausted,
  }
}

/** Mints every 2 ms through [primary, secondary]; kills the primary; time to the first success after. */
async function timeToSecondary(kind) {
  const primary = await ChittyIDEmulator.start({ port: 0 })
  const secondary = await ChittyIDEmulator.start({ port: 0 })
  const timeout = 250
  const client = new ChittyIDClient({ serviceUrl: [v1(primary), v1(secondary)], timeout, retry: { maxAttempts: 1 } })
  // A hung primary (answers after 10 s) is only left by calls whose request may be replayed:
  // validate() (a GET); a safe mint that timed out ends EMINTUNKNOWN by the retry-safety rule.
  const call =
    kind === 'refused'
      ? () => client.mint({ entity: 'PEO' })
      : (i) => client.validate(`AA-B-CDE-${String(i % 10000).padStart(4, '0')}-F-25-G-H`)
  for (let i = 0; i < 20; i++) await call(i)
  let firstSuccess
  let diedAt
  let i = 100
  const loop = (async () => {
    const until = performance.now() + 3000
    while (firstSuccess === undefined && performance.now() < until) {
      const sentAt = performance.now()
      const outcome = await call(i++).then(
        (v) => v,
        () => undefined,
      )
      // A validate() answer from a service (not the format-only fallback after a failure).
      const ok =
        kind === 'refused'
          ? typeof outcome === 'string'
          : outcome !== undefined && !String(outcome.error).startsWith('fetch failed')
      if (diedAt !== undefined && sentAt >= diedAt && ok) firstSuccess = performance.now()
      await sleep(2)
    }
  })()
  await sleep(50)
  diedAt = performance.now()
  if (kind === 'refused') await primary.close()
  else primary.setFault({ latencyMs: 10_000 })
  await loop
  await client.close()
  await secondary.close()
  if (kind !== 'refused') await primary.close().catch(() => {})
  return { kind, timeout, ms: firstSuccess - diedAt }
}

/** 16 concurrent mint loops for 3 s; the primary dies at 1.5 s. Latency of every logical mint. */
async function latencyAcrossFailover() {
  const primary = await ChittyIDEmulator.start({ port: 0 })
  const secondary = await ChittyIDEmulator.start({ port: 0 })
  const client = new ChittyIDClient({ serviceUrl: [v1(primary), v1(secondary)], timeout: 1000 })
  const latencies = []
  const around = []
  const codes = {}
  let diedAt = Infinity
  const until = performance.now() + 3000
  const worker = async () => {
    while (performance.now() < until) {
      const t0 = performance.now()
      try {
        await client.mint({ entity: 'PEO' })
        const ms = performance.now() - t0
        latencies.push(ms)
        if (t0 >= diedAt - 100 && t0 <= diedAt + 100) around.push(ms)
      } catch (err) {
        codes[err.code] = (codes[err.code] || 0) + 1
      }
    }
  }
  const workers = Array.from({ length: 16 }, worker)
  await sleep(1500)
  diedAt = performance.now()
  await primary.close()
  await Promise.all(workers)
  await client.close()
  await secondary.close()
  latencies.sort((a, b) => a - b)
  around.sort((a, b) => a - b)
  return {
    mints: latencies.length,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.at(-1),
    aroundCount: around.length,
    aroundP99: quantile(around, 0.99),
    aroundMax: around.at(-1),
    failures: codes,
  }
}

async function main() {
  const outage = [
    await fullOutage('defaults (breaker 5 failures, retry 3 attempts, budget 20 % + 10/s)', {
      circuitBreaker: { resetTimeout: 1000 },
    }),
    await fullOutage('breaker off, retry budget only', { circuitBreaker: false, retry: { initialDelayMs: 10 } }),
    await fullOutage('breaker off, budget off (for reference)', {
      circuitBreaker: false,
      retry: { initialDelayMs: 10, budget: false },
    }),
  ]
  const refused = await timeToSecondary('refused')
  const hung = await timeToSecondary('hung')
  const latency = await latencyAcrossFailover()
  const f = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')
  const lines = []
  lines.push(`- node ${process.version}, ${new Date().toISOString()}`)
  lines.push('')
  lines.push(
    '| full outage (connections refused), 5 mints every 10 ms for 4 s | calls | requests | per call | per call once the circuit opened |',
  )
  lines.push('| --- | --- | --- | --- | --- |')
  for (const o of outage)
    lines.push(
      `| ${o.label} | ${o.calls} | ${o.attempts} | ${f(o.perCall, 3)} | ${f(o.afterOpen, 3)} (${o.attemptsAfterOpen} / ${o.callsAfterOpen}) |`,
    )
  lines.push('')
  lines.push(
    `- primary refused (closed): first success on the secondary ${f(refused.ms, 1)} ms after the primary died (timeout ${refused.timeout} ms)`,
  )
  lines.push(
    `- primary hung (answers after 10 s), validate(): first success on the secondary ${f(hung.ms, 1)} ms after (timeout ${hung.timeout} ms)`,
  )
  lines.push(
    `- mint latency across a failover (16 concurrent loops, 3 s, primary closed at 1.5 s): ${latency.mints} mints, p50 ${f(latency.p50)} ms, p99 ${f(latency.p99)} ms, max ${f(latency.max)} ms; within ±100 ms of the death: ${latency.aroundCount} mints, p99 ${f(latency.aroundP99)} ms, max ${f(latency.aroundMax)} ms; failed: ${JSON.stringify(latency.failures)}`,
  )
  console.log(lines.join('\n'))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
