import { setTimeout as sleep } from 'node:timers/promises'
import { startPair } from './helpers.mjs'

test('aborting mid-request rejects at once with AbortError', async () => {
  const pair = await startPair()
  pair.emulator.setFault({ latencyMs: 2000, routes: ['mint'] })
  const controller = new AbortController()
  const pending = pair.client.mint({ entity: 'PEO' }, { signal: controller.signal })
  await sleep(50)
  controller.abort(new Error('user gave up'))
  const err = await pending.catch((e) => e)
  expect(err.name).toBe('AbortError')
  expect(err.code).toBe('ABORT_ERR')
  expect(err.cause.message).toBe('user gave up')
  await pair.close()
})

test('aborting during backoff stops the retries', async () => {
  const pair = await startPair({ client: { retry: { maxAttempts: 5, initialDelayMs: 300, jitter: 0 }, circuitBreaker: false } })
  pair.emulator.setFault({ errorStatus: 503 })
  const controller = new AbortController()
  const retried = new Promise((resolve) => pair.client.once('retry', resolve))
  const pending = pair.client.mint({ entity: 'PEO' }, { signal: controller.signal }).catch((e) => e)
  await retried // the first attempt failed; the client now waits 300 ms
  controller.abort()
  expect((await pending).name).toBe('AbortError')
  const requests = pair.emulator.stats().requests.mint
  await sleep(700)
  expect(pair.emulator.stats().requests.mint).toBe(requests)
  expect(requests).toBe(1)
  await pair.close()
})

test('an aborted validate leaves other waiters of the same id answered', async () => {
  const pair = await startPair()
  const id = await pair.client.mint({ entity: 'PEO' })
  pair.emulator.setFault({ latencyMs: 200, routes: ['validate'] })
  const controller = new AbortController()
  const leader = pair.client.validate(id, { signal: controller.signal }).catch((e) => e)
  const follower = pair.client.validate(id)
  await sleep(30)
  controller.abort()
  expect((await leader).name).toBe('AbortError')
  expect(await follower).toEqual({ valid: true, chittyId: id, entity: 'PEO' })
  await pair.close()
})

test('a signal that never fires changes nothing', async () => {
  const pair = await startPair()
  const controller = new AbortController()
  const id = await pair.client.mint({ entity: 'PEO' }, { signal: controller.signal })
  expect(await pair.client.validate(id, { signal: controller.signal })).toMatchObject({ valid: true })
  expect(await pair.client.healthCheck({ signal: controller.signal })).toBe(true)
  await pair.close()
})
