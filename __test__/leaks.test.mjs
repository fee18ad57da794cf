// Regression tests for what the leak check (scripts/leak-check.js, docs/TESTING.md "Leak check")
// found growing: each drives N cycles of the churn and asserts that a structural count returns
// to its baseline.
import promClient from 'prom-client'
import { ChittyIDClient, ChittyIDEmulator, registerMetrics } from '../index.mjs'

/** The clients a registry scrapes, by their `client` label. */
async function scrapedClients(registry) {
  const text = await registry.metrics()
  return new Set([...text.matchAll(/chittyid_client_circuit_rejections_total\{client="([^"]+)"/g)].map((m) => m[1]))
}

describe('registerMetrics and close()', () => {
  let emulator
  beforeAll(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0 })
  })
  afterAll(async () => {
    await emulator.close()
  })

  test('a closed client leaves every registry it was registered with (a reload loop holds one client)', async () => {
    const a = new promClient.Registry()
    const b = new promClient.Registry()
    let current
    for (let i = 0; i < 25; i++) {
      const next = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, name: `orders-${i % 2}` })
      await next.mint({ entity: 'PEO' })
      if (current !== undefined) await current.close()
      // The reload pattern: the closed client's name is free again.
      registerMetrics(a, next)
      registerMetrics(b, next)
      current = next
    }
    // Only the live client is scraped: nothing of the 24 closed ones is held or reported.
    expect(await scrapedClients(a)).toEqual(new Set(['orders-0']))
    expect(await scrapedClients(b)).toEqual(new Set(['orders-0']))
    await current.close()
    expect(await scrapedClients(a)).toEqual(new Set())
    // The families stay registered (like prom-client's own metrics) and come back to life.
    const again = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, name: 'orders-0' })
    registerMetrics(a, again)
    expect(await scrapedClients(a)).toEqual(new Set(['orders-0']))
    await again.close()
  })

  test('registering a closed client is refused, and unregister() after close() is harmless', async () => {
    const registry = new promClient.Registry()
    const client = new ChittyIDClient({ serviceUrl: `${emulator.url}/v1`, name: 'gone' })
    const unregister = registerMetrics(registry, client)
    await client.close()
    expect(() => unregister()).not.toThrow()
    expect(() => registerMetrics(registry, client)).toThrow(expect.objectContaining({ code: 'ECLIENTCLOSED' }))
    expect(await scrapedClients(registry)).toEqual(new Set())
  })
})
