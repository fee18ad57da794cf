// When an aborted call's promise rejects, the call holds nothing any more: its bulkhead slot and
// its place in a paced line are free, so a call made right after the rejection does not fail or
// wait because of it (docs/ARCHITECTURE.md, "Bridge"). Against the embedded emulator.

import { ID_PATTERN, tracker } from './helpers.mjs'
import { waitFor } from './wait.mjs'

const tracked = tracker()
const clientOf = (emulator, options = {}) => tracked.client({ serviceUrl: `${emulator.url}/v1`, ...options })
afterEach(() => tracked.closeAll())

/** Starts `count` mints on one signal; returns the controller and their codes once settled. */
function mintsOnOneSignal(client, count) {
  const controller = new AbortController()
  const calls = Array.from({ length: count }, () =>
    client.mint({ entity: 'PEO' }, { signal: controller.signal }).then(
      () => 'ok',
      (e) => e.code,
    ),
  )
  return { controller, settled: Promise.all(calls) }
}

test('every bulkhead slot held by calls that were aborted is free once they rejected', async () => {
  const emulator = await tracked.emulator()
  const client = clientOf(emulator, { timeout: 10000, bulkhead: { maxConcurrent: 4 } })
  const outcomes = []
  for (let round = 0; round < 10; round++) {
    emulator.setFault({ latencyMs: 5000 })
    const { controller, settled } = mintsOnOneSignal(client, 4)
    await waitFor(() => client.getStats().bulkhead.inFlight === 4, 'four mints in flight', 5000)
    controller.abort()
    expect(await settled).toEqual(['ABORT_ERR', 'ABORT_ERR', 'ABORT_ERR', 'ABORT_ERR'])
    emulator.setFault({})
    // Right after the rejections: before, the aborted calls still held their slots until the
    // I/O thread dropped them, and this call failed with EBULKHEADFULL (21 times in 30).
    outcomes.push(await client.mint({ entity: 'PEO' }).catch((e) => e.code))
  }
  expect(outcomes.filter((o) => !ID_PATTERN.test(o))).toEqual([])
  expect(client.getStats().bulkhead).toMatchObject({ inFlight: 0, rejected: 0 })
}, 60000)

test('calls aborted in the rateLimit line count for nothing once they rejected: the next calls are not refused for them', async () => {
  // 30 s to wait at 1/s: 29 calls can wait in line, the 30th and later are refused at once. One
  // token a second (not ten): a loaded machine that holds this thread back between the line
  // filling and the abort lets no more than one call through (at 10/s: 27 aborts seen in CI).
  const client = clientOf(await tracked.emulator(), { timeout: 30000, rateLimit: { requestsPerSecond: 1, burst: 1 } })
  const asked = () => client.getStats().clientRateLimit.waits + client.getStats().clientRateLimit.rejected
  /** 29 mints on one signal, once all but the one a free token may let through have asked. */
  const queue = async () => {
    const before = asked()
    const calls = mintsOnOneSignal(client, 29)
    await waitFor(() => asked() - before >= 28, '29 calls at the rate limit', 5000)
    return calls
  }
  await client.mint({ entity: 'PEO' })
  for (let round = 1; round <= 20; round++) {
    const { controller, settled } = await queue()
    expect(client.getStats().clientRateLimit.rejected).toBe(0)
    controller.abort()
    // Right after the rejections the next round asks. Before, the aborted calls still stood in
    // the line then: the next round's calls were estimated behind them and refused with
    // ERATELIMITED.
    expect((await settled).filter((o) => o === 'ABORT_ERR').length).toBeGreaterThanOrEqual(28)
  }
  const { controller, settled } = await queue()
  expect(client.getStats().clientRateLimit.rejected).toBe(0)
  controller.abort()
  await settled
}, 60000)
