// Fleet mode against a hostile "Redis": a raw TCP server that answers garbage, announces huge
// or deeply nested replies, closes mid-reply, or speaks RESP well but lies. Redis trouble never
// fails a call (docs/OPERATIONS.md "Fleet mode"): the client goes local-only with a reason, does
// not crash or hang, and waits no longer than a call's timeout whatever the answers say.
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import { expectDegradedOnce, fakeRedis } from './redis-server.mjs'
import { record, waitFor } from './wait.mjs'

const prefix = () => `chittyid-hostile-${Math.random().toString(16).slice(2, 10)}`

/** A secret never to be seen: in events, stats, metrics. */
const visibleText = (client, events) => JSON.stringify([events, client.getStats()]) + client.metrics()

describe('a hostile "Redis" (a raw TCP server)', () => {
  let emulator
  beforeAll(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0 })
  })
  afterAll(async () => {
    await emulator.close()
  })

  const garbage = {
    'bytes that are not RESP': () => 'hello\r\n\u0000\u00ff not redis',
    'an unknown reply type': () => '?what\r\n',
    'arrays nested 100,000 deep': () => '*1\r\n'.repeat(100000),
    'a bulk string of 9 GB announced': () => '$9999999999\r\nab',
    'an array of 2^31 elements announced': () => '*2147483647\r\n:1\r\n',
    'a reply cut off, then the socket closed': () => 'close-after:*2\r\n:0\r\n',
  }
  test.each(Object.keys(garbage))('%s: calls succeed local-only, no crash, no hang, no secret shown', async (name) => {
    const fake = await fakeRedis(garbage[name])
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      apiKey: 'the-api-key-7q2',
      timeout: 2000,
      fleet: { redis: fake.url, keyPrefix: prefix(), ratePerSecond: 1000, burst: 20 },
    })
    const events = record(client, ['fleetDegraded', 'fleetRestored'])
    try {
      const t0 = performance.now()
      const ids = await Promise.all(Array.from({ length: 10 }, () => client.mint({ entity: 'PEO' })))
      expect(new Set(ids).size).toBe(10)
      expect((await client.validate(ids[0])).valid).toBe(true)
      expect(performance.now() - t0).toBeLessThan(8000)
      await waitFor(() => client.getStats().fleet.degraded, 'local-only', 5000)
      expectDegradedOnce(client, events, /./)
      const text = visibleText(client, events.events)
      for (const secret of ['fake-pass-2m', 'the-api-key-7q2']) expect(text).not.toContain(secret)
    } finally {
      await client.close()
      fake.close()
    }
  })

  test('SCRIPT LOAD answered with a wrong SHA-1: local-only with a reason, no panic', async () => {
    const fake = await fakeRedis(([command]) =>
      String(command).toUpperCase() === 'SCRIPT'
        ? `$40\r\n${'0'.repeat(40)}\r\n`
        : String(command).toUpperCase() === 'PING'
          ? '+PONG\r\n'
          : '+OK\r\n',
    )
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      fleet: { redis: fake.url, keyPrefix: prefix(), ratePerSecond: 1000 },
    })
    const events = record(client, ['fleetDegraded', 'fleetRestored'])
    try {
      // The connection is made in the background, and fails there.
      await waitFor(() => client.getStats().fleet.degraded, 'local-only', 5000)
      expectDegradedOnce(client, events, /SHA-1/)
      await client.mint({ entity: 'PEO' })
    } finally {
      await client.close()
      fake.close()
    }
  })

  test('well-formed lies (a slot 10 minutes away, a pause of 30 years) cannot hold a call past its timeout', async () => {
    let lie = 0
    const fake = await fakeRedis(([command, , third]) => {
      command = String(command).toUpperCase()
      if (command === 'PING') return '+PONG\r\n'
      // SCRIPT LOAD <body>: the body's true SHA-1. EVALSHA <sha> <number of keys> ...
      if (command === 'SCRIPT') return `$40\r\n${createHash('sha1').update(third, 'latin1').digest('hex')}\r\n`
      if (command !== 'EVALSHA' && command !== 'EVAL') return '+OK\r\n'
      // The budget's script has 2 keys, the refresh 3, the others fewer.
      if (third === '2') return lie++ % 2 === 0 ? '*2\r\n:0\r\n:600000\r\n' : '*2\r\n:1\r\n:999999999999999\r\n'
      if (third === '3') return '*3\r\n$-1\r\n:-2\r\n:1\r\n'
      return ':1\r\n'
    })
    const timeout = 1000
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      timeout,
      // Roomy: a late answer from the fake would be a local slot, not the lie under test.
      fleet: { redis: fake.url, keyPrefix: prefix(), ratePerSecond: 1000, deadlineMs: 1000 },
    })
    try {
      await waitFor(() => client.getStats().fleet.connected, 'connected to the fake', 10000)
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now()
        const outcome = await Promise.race([
          client.mint({ entity: 'PEO' }).then(
            () => ({ ok: true }),
            (e) => ({ code: e.code, retryInMs: e.retryInMs }),
          ),
          sleep(timeout + 4000).then(() => ({ hung: true })),
        ])
        expect(outcome.hung).toBeUndefined()
        expect(performance.now() - t0).toBeLessThan(timeout + 1000)
        // Refused, nothing sent; a pause is never believed beyond the longest the client honours.
        expect(outcome.code).toBe('ERATELIMITED')
        if (i === 1) expect(outcome.retryInMs).toBeLessThanOrEqual(60000)
      }
    } finally {
      await client.close()
      fake.close()
    }
  }, 30000)
})
