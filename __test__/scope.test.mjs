import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import { sleep, waitFor } from './wait.mjs'

const entry = fileURLToPath(new URL('../index.js', import.meta.url))

/** Runs `body` (an async function source taking `client`) in a worker with its own client. */
function inWorker(options, body) {
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { ChittyIDClient } = require(workerData.entry);
    (async () => {
      const client = new ChittyIDClient(workerData.options);
      try {
        parentPort.postMessage({ ok: await (${body})(client) });
      } catch (err) {
        parentPort.postMessage({ error: err.code || err.message });
      } finally {
        await client.close();
      }
    })();`
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: { entry, options } })
    worker.once('message', resolve)
    worker.once('error', reject)
  })
}

let emulator
let id
beforeAll(async () => {
  emulator = await ChittyIDEmulator.start({ port: 0 })
  const client = new ChittyIDClient({ serviceUrl: emulator.url })
  id = await client.mint({ entity: 'PEO' })
  await client.close()
})
afterAll(() => emulator.close())
beforeEach(() => {
  emulator.setFault({})
  emulator.resetLedger()
})

test('scope "process": a validation cached by one worker is a hit in another', async () => {
  const options = { serviceUrl: `${emulator.url}/v1`, scope: 'process' }
  // The main thread holds a client so the shared state outlives each worker.
  const holder = new ChittyIDClient(options)
  const validate = `async (client) => (await client.validate(${JSON.stringify(id)})).valid`
  expect(await inWorker(options, validate)).toEqual({ ok: true })
  expect(await inWorker(options, validate)).toEqual({ ok: true })
  expect(emulator.stats().requests.validate).toBe(1)
  expect(holder.getStats().cache).toMatchObject({ size: 1, hits: 1, misses: 1 })
  await holder.close()
})

test('scope "client" (default): each worker asks for itself', async () => {
  const options = { serviceUrl: `${emulator.url}/v1` }
  const validate = `async (client) => (await client.validate(${JSON.stringify(id)})).valid`
  await inWorker(options, validate)
  await inWorker(options, validate)
  expect(emulator.stats().requests.validate).toBe(2)
})

test('scope "process": a breaker opened in one worker fails fast in another', async () => {
  const options = {
    serviceUrl: `${emulator.url}/api/v1`,
    scope: 'process',
    retry: false,
    circuitBreaker: { failureThreshold: 2, resetTimeout: 60000 },
  }
  const holder = new ChittyIDClient(options)
  emulator.setFault({ errorStatus: 500 })
  const storm = `async (client) => { for (let i = 0; i < 3; i++) await client.mint({ entity: 'PEO' }).catch(() => {}); return client.getStats().breaker.state }`
  expect(await inWorker(options, storm)).toEqual({ ok: 'OPEN' })
  const before = emulator.stats().requests.mint
  expect(await inWorker(options, `async (client) => client.mint({ entity: 'PEO' })`)).toEqual({ error: 'ECIRCUITOPEN' })
  expect(emulator.stats().requests.mint).toBe(before)
  await holder.close()
})

test.each(['client', 'process'])(
  'scope "%s": a worker terminated mid-call stops its calls: nothing more is minted for it, nobody waits behind it',
  async (scope) => {
    const options = { serviceUrl: `${emulator.url}/v1`, scope, timeout: 30000 }
    const holder = new ChittyIDClient(options)
    await holder.mint({ entity: 'PEO' })
    // 10 mints a second: the worker's 100 mints queue behind the pause of the first 429.
    emulator.setFault({ rateLimitPerSecond: 10, routes: ['mint'] })
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      const { ChittyIDClient } = require(workerData.entry);
      const client = new ChittyIDClient(workerData.options);
      for (let i = 0; i < 100; i++) client.mint({ entity: 'PEO' }).catch(() => {});
      parentPort.postMessage('sent');`
    const worker = new Worker(source, { eval: true, workerData: { entry, options } })
    await new Promise((resolve) => worker.once('message', resolve))
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await worker.terminate()
    // A mint already on its way may land (late, on a loaded machine): wait until the count
    // holds still for 500 ms. Calls going on at 10 a second would never let it.
    let minted = emulator.stats().minted
    let still = Date.now()
    await waitFor(
      () => {
        const now = emulator.stats().minted
        if (now !== minted) [minted, still] = [now, Date.now()]
        return Date.now() - still >= 500
      },
      'the minted count to hold still',
      10000,
    )
    await sleep(1500)
    // Ids nobody can receive any more: none.
    expect(emulator.stats().minted).toBe(minted)
    emulator.setFault({})
    // And the process-wide pause does not hold this thread's calls behind the dead thread's queue.
    // Behind it, the mint would wait about 9 s (90 calls at 10 a second); the bound sits in the
    // middle, far above one mint on a loaded machine.
    const t0 = performance.now()
    await holder.mint({ entity: 'PEO' })
    expect(performance.now() - t0).toBeLessThan(4500)
    await holder.close()
  },
  30000,
)

test('an unknown scope is a TypeError', () => {
  expect(() => new ChittyIDClient({ scope: 'galaxy' })).toThrow(TypeError)
})
