// The binding's test hooks (src/bindings/diagnostics.rs) are exported with the rest of the
// generated binding, not from index.js. A user who called one could stall the client (the I/O
// thread held for a minute, the event queue flooded), so each refuses with a typed error unless
// the process set CHITTYID_TEST_HOOKS=1, as this repository's jest setup does
// (__test__/setup-native-transport.cjs). The same binary serves both.
import { runNode } from './wait.mjs'

const HOOKS = `
const binding = require('./lib/native/index.js')
const { ChittyIDClient } = require('.')
let nativeClient
const getStats = binding.NativeClient.prototype.getStats
binding.NativeClient.prototype.getStats = function (...args) {
  nativeClient = this
  return getStats.apply(this, args)
}
const client = new ChittyIDClient({ serviceUrl: 'http://127.0.0.1:9/v1' })
client.on('circuitHalfOpen', () => {})
client.getStats()
const hooks = {
  stallIoThread: () => binding.stallIoThread(2000),
  nativeCounts: () => binding.nativeCounts(),
  emitTestEvents: () => nativeClient.emitTestEvents(100000),
  emitTestTelemetry: () => nativeClient.emitTestTelemetry(100000),
  internalCounts: () => nativeClient.internalCounts(),
}
const out = {}
for (const [name, call] of Object.entries(hooks)) {
  try {
    const value = call()
    out[name] = { ok: true, value: value ?? null }
  } catch (err) {
    out[name] = { name: err.name, code: err.code, message: err.message }
  }
}
// The client still answers at once: no hook held its I/O thread.
const t0 = Date.now()
client.healthCheck().then((healthy) => {
  out.healthCheckMs = Date.now() - t0
  out.healthy = healthy
  out.eventsDropped = client.getStats().eventsDropped
  console.log(JSON.stringify(out))
  return client.close()
})
`

test('without CHITTYID_TEST_HOOKS=1 every test hook refuses with ERR_CHITTYID_TEST_HOOKS_DISABLED, and nothing stalls', async () => {
  const { code, stdout, stderr } = await runNode(HOOKS, [], 20000, { env: { CHITTYID_TEST_HOOKS: undefined } })
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
  const out = JSON.parse(stdout)
  for (const hook of ['stallIoThread', 'nativeCounts', 'emitTestEvents', 'emitTestTelemetry', 'internalCounts']) {
    expect(out[hook]).toEqual({
      name: 'Error',
      code: 'ERR_CHITTYID_TEST_HOOKS_DISABLED',
      message: expect.stringMatching(new RegExp(`^${hook}\\(\\) is a test hook .*CHITTYID_TEST_HOOKS=1`)),
    })
  }
  // Nothing ran: the I/O thread was not held (a refused port answers at once), no event dropped.
  expect(out.healthy).toBe(false)
  expect(out.healthCheckMs).toBeLessThan(1500)
  expect(out.eventsDropped).toBe(0)
})

test('with CHITTYID_TEST_HOOKS=1 (the test setup) they run, in the same binary', async () => {
  for (const value of ['0', 'true', '']) {
    const refused = JSON.parse((await runNode(HOOKS, [], 20000, { env: { CHITTYID_TEST_HOOKS: value } })).stdout)
    expect(refused.nativeCounts.code).toBe('ERR_CHITTYID_TEST_HOOKS_DISABLED')
  }
  expect(process.env.CHITTYID_TEST_HOOKS).toBe('1')
  const { code, stdout } = await runNode(HOOKS, [], 20000)
  expect(code).toBe(0)
  const out = JSON.parse(stdout)
  expect(out.nativeCounts).toEqual({ ok: true, value: expect.objectContaining({ clients: 1 }) })
  expect(out.internalCounts.ok).toBe(true)
  expect(out.stallIoThread).toEqual({ ok: true, value: null })
  // The I/O thread was held for the 2 s asked; the flood of events overflowed the queue.
  expect(out.healthCheckMs).toBeGreaterThanOrEqual(1500)
  expect(out.eventsDropped).toBeGreaterThan(0)
})
