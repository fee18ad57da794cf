// Cost of failing fast with the circuit OPEN: `client.mint()` / `client.mintBatch()` rejecting
// with ECIRCUITOPEN, and the compat `CircuitBreaker#execute` rejection. Bounded loops; prints
// ns per call (wall and process CPU), best of several rounds, and proves no request went out.
// A reference row shows the floor on the same machine at the same moment: an async function
// rejecting with a fresh Error (most of whose cost is V8 capturing the stack trace).
//
//   node bench/fail-fast.mjs [calls per round, default 100000] [rounds, default 5]

import { createRequire } from 'node:module'
import { ChittyIDClient, ChittyIDEmulator, CircuitBreaker } from '../index.mjs'

const require = createRequire(import.meta.url)
const native = require('../lib/native/index.js')

const CALLS = Math.max(1000, Math.min(Number(process.argv[2]) || 100_000, 10_000_000))
const ROUNDS = Math.max(1, Math.min(Number(process.argv[3]) || 5, 50))

function expectOpen(err) {
  if (err.code !== 'ECIRCUITOPEN') throw err
}

/** Runs `fn` CALLS times per round; returns the best round's wall and CPU ns per call. */
async function measure(fn) {
  for (let i = 0; i < Math.min(CALLS, 20_000); i++) await fn() // warm-up
  let best = { wall: Infinity, cpu: Infinity }
  for (let round = 0; round < ROUNDS; round++) {
    const cpu0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < CALLS; i++) await fn()
    const wall = Number(process.hrtime.bigint() - t0) / CALLS
    const { user, system } = process.cpuUsage(cpu0)
    const cpu = ((user + system) * 1000) / CALLS
    best = { wall: Math.min(best.wall, wall), cpu: Math.min(best.cpu, cpu) }
  }
  return best
}

function measureSync(fn) {
  for (let i = 0; i < 20_000; i++) fn()
  let best = Infinity
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < CALLS; i++) fn()
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / CALLS)
  }
  return best
}

const emulator = await ChittyIDEmulator.start({ port: 0 })
const client = new ChittyIDClient({
  serviceUrl: `${emulator.url}/v1`,
  retry: false,
  circuitBreaker: { failureThreshold: 1, resetTimeout: 3_600_000 },
})
emulator.setFault({ errorStatus: 500 })
await client.mint({ entity: 'PEO' }).catch(() => {})
const sentBefore = emulator.stats().requests

const results = {}
results['client.mint() rejects ECIRCUITOPEN'] = await measure(() => client.mint({ entity: 'PEO' }).catch(expectOpen))
results['client.mintBatch() rejects ECIRCUITOPEN'] = await measure(() =>
  client.mintBatch([{ entity: 'PEO' }]).catch(expectOpen),
)

const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeout: 3_600_000 })
await breaker.execute(() => Promise.reject(new Error('boom'))).catch(() => {})
const neverCalled = () => {
  throw new Error('the breaker let a call through while OPEN')
}
results['CircuitBreaker#execute rejects (compat)'] = await measure(() => breaker.execute(neverCalled).catch(expectOpen))

// The floor under the same conditions: any rejection with an Error (V8 captures its stack).
results['reference: async fn rejecting new Error()'] = await measure(() =>
  (async () => {
    throw new Error('circuit breaker is OPEN')
  })().catch(() => {}),
)

const sentAfter = emulator.stats().requests
if (sentAfter.mint !== sentBefore.mint || sentAfter.batch !== sentBefore.batch) {
  throw new Error('a request reached the emulator while the circuit was OPEN')
}

// What the pre-check adds to every call while CLOSED (one synchronous crossing).
const closed = new native.NativeClient({ serviceUrl: emulator.url })
const closedAdmitNs = measureSync(() => closed.breakerAdmit())
const compatStateNs = measureSync(() => breaker.state)

await client.close()
await emulator.close()

console.log(`node ${process.version}, ${CALLS} calls x ${ROUNDS} rounds, best round`)
for (const [name, { wall, cpu }] of Object.entries(results)) {
  console.log(`${name.padEnd(44)} ${wall.toFixed(0).padStart(6)} ns/op wall ${cpu.toFixed(0).padStart(6)} ns/op cpu`)
}
console.log(
  `${'breakerAdmit() while CLOSED (added per mint)'.padEnd(44)} ${closedAdmitNs.toFixed(0).padStart(6)} ns/op wall`,
)
console.log(
  `${'CircuitBreaker#state getter (a crossing)'.padEnd(44)} ${compatStateNs.toFixed(0).padStart(6)} ns/op wall`,
)
console.log('requests that reached the emulator while OPEN: 0')
