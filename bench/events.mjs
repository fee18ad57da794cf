// Cost of event delivery: mints against an emulator that answers 503, each retried at once
// (`initialDelayMs: 0`) so that every mint emits a run of `retry` events (each payload with its
// Error) to a listener. Prints, per event, the JS thread's busy time (event-loop utilization:
// the delivery of the events, as 19 of every 20 crossings are events), wall and process CPU,
// best of several rounds. The requests dominate wall and CPU: compare runs of two builds, not
// absolute figures. Bounded: `mints` x 19 events per round.
//
//   node bench/events.mjs [mints per round, default 300] [rounds, default 5]

import { performance } from 'node:perf_hooks'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'

const MINTS = Math.max(10, Math.min(Number(process.argv[2]) || 300, 10_000))
const ROUNDS = Math.max(1, Math.min(Number(process.argv[3]) || 5, 50))
const ATTEMPTS = 20

const emulator = await ChittyIDEmulator.start({ port: 0 })
emulator.setFault({ errorStatus: 503 })
const client = new ChittyIDClient({
  serviceUrl: `${emulator.url}/v1`,
  retry: { maxAttempts: ATTEMPTS, initialDelayMs: 0, maxDelayMs: 0, budget: false },
  circuitBreaker: false,
})
let heard = 0
let codes = 0
client.on('retry', (e) => {
  heard++
  if (e.error.code === 'EHTTP') codes++
})

async function round() {
  const before = heard
  const elu0 = performance.eventLoopUtilization()
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < MINTS; i++) await client.mint({ entity: 'PEO' }).catch(() => {})
  // Events arrive asynchronously: wait (bounded) for the last ones.
  const deadline = Date.now() + 5000
  while (heard - before < MINTS * (ATTEMPTS - 1) && Date.now() < deadline) await new Promise(setImmediate)
  const wall = Number(process.hrtime.bigint() - t0)
  const { user, system } = process.cpuUsage(cpu0)
  const busy = performance.eventLoopUtilization(elu0).active * 1e6
  const events = heard - before
  return { js: busy / events, wall: wall / events, cpu: ((user + system) * 1000) / events, events }
}

await round() // warm-up
let best = { js: Infinity, wall: Infinity, cpu: Infinity, events: 0 }
for (let i = 0; i < ROUNDS; i++) {
  const r = await round()
  best = {
    js: Math.min(best.js, r.js),
    wall: Math.min(best.wall, r.wall),
    cpu: Math.min(best.cpu, r.cpu),
    events: r.events,
  }
}
await client.close()
await emulator.close()
if (codes !== heard) throw new Error(`${heard - codes} retry events without the EHTTP code`)

console.log(`node ${process.version}, ${MINTS} mints x ${ATTEMPTS} attempts x ${ROUNDS} rounds, best round`)
const ns = (v) => v.toFixed(0).padStart(7)
console.log(`retry events: ${best.events} a round; per event:`)
console.log(`${ns(best.js)} ns JS thread busy, ${ns(best.wall)} ns wall, ${ns(best.cpu)} ns process CPU`)
