// Fleet mode when Redis answers late: `fleet.deadlineMs` is how long a Redis command may take
// (docs/OPERATIONS.md "Fleet runbook: when Redis misbehaves", how long a call can wait), and a
// call stopped while its slot request is on its way gives back exactly the slot Redis reserved
// for it, once the answer comes.
// A fake Redis (a raw TCP server speaking RESP) that holds chosen answers.
import { createHash } from 'node:crypto'
import { ChittyIDClient, ChittyIDEmulator } from '../index.mjs'
import { fakeRedis, fleetReply } from './redis-server.mjs'
import { record, waitFor } from './wait.mjs'

const prefix = () => `chittyid-deadline-${Math.random().toString(16).slice(2, 10)}`

/** The budget's script (acquire.lua) is the one EVALSHA with two keys. */
const isSlotRequest = ([command, , keys]) => String(command).toUpperCase() === 'EVALSHA' && keys === '2'

describe('fleet mode with a Redis that answers late', () => {
  let emulator
  beforeAll(async () => {
    emulator = await ChittyIDEmulator.start({ port: 0 })
  })
  afterAll(async () => {
    await emulator.close()
  })

  test('deadlineMs above 1 s: an answer 1.5 s late is waited for and used, the fleet stays on Redis', async () => {
    const fake = await fakeRedis(fleetReply((args) => (isSlotRequest(args) ? 1500 : 0)))
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      apiKey: 'deadline-key',
      timeout: 20000,
      fleet: { redis: fake.url, keyPrefix: prefix(), ratePerSecond: 1000, deadlineMs: 8000 },
    })
    const events = record(client, ['fleetDegraded', 'fleetRestored'])
    try {
      await waitFor(() => client.getStats().fleet.connected, 'connected to the fake', 10000)
      await client.mint({ entity: 'PEO' })
      expect(fake.commands.filter((c) => isSlotRequest(c.args))).toHaveLength(1)
      // Before: the connection's own 1 s timeout cut the command as a Redis error.
      const fleet = client.getStats().fleet
      expect(fleet).toMatchObject({ connected: true, degraded: false, errors: 0, timeouts: 0 })
      expect(events.events).toEqual([])
    } finally {
      await client.close()
      fake.close()
    }
  }, 30000)

  test('calls aborted while their slot requests wait in Redis: the granted slot is given back once, the refused one not at all', async () => {
    let slotRequests = 0
    const honest = fleetReply()
    const fake = await fakeRedis((args) => {
      if (!isSlotRequest(args)) return honest(args)
      // The first request is granted a slot now, the second refused (the next slot 600 s away);
      // each answer comes 3 s late, so the aborts below come first even on a loaded machine.
      const text = slotRequests++ === 0 ? '*2\r\n:0\r\n:0\r\n' : '*2\r\n:2\r\n:600000\r\n'
      return new Promise((resolve) => setTimeout(resolve, 3000, text))
    })
    const client = new ChittyIDClient({
      serviceUrl: `${emulator.url}/v1`,
      apiKey: 'deadline-key',
      timeout: 20000,
      fleet: { redis: fake.url, keyPrefix: prefix(), ratePerSecond: 1000, deadlineMs: 8000 },
    })
    try {
      await waitFor(() => client.getStats().fleet.connected, 'connected to the fake', 10000)
      const controllers = [new AbortController(), new AbortController()]
      const mints = controllers.map((c) => client.mint({ entity: 'PEO' }, { signal: c.signal }).catch((e) => e.code))
      await waitFor(() => slotRequests === 2, 'both slot requests at the fake', 10000)
      for (const c of controllers) c.abort()
      expect(await Promise.all(mints)).toEqual(['ABORT_ERR', 'ABORT_ERR'])
      // close() waits for the answers still on their way and the give-backs they lead to.
      await client.close()
      const giveBack = fake.commands
        .filter((c) => String(c.args[0]).toUpperCase() === 'SCRIPT' && String(c.args[2]).includes('HINCRBYFLOAT'))
        .map((c) => createHash('sha1').update(c.args[2], 'latin1').digest('hex'))[0]
      expect(giveBack).toBeDefined()
      const returned = fake.commands
        .filter((c) => String(c.args[0]).toUpperCase() === 'EVALSHA' && c.args[1] === giveBack)
        .reduce((sum, c) => sum + Number(c.args[4]), 0)
      // Before: 0 (the granted slot stayed reserved); a give-back at the abort would make it 2.
      expect(returned).toBe(1)
    } finally {
      await client.close()
      fake.close()
    }
  }, 30000)
})
