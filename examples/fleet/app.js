// One instance of a service using fleet mode; see docker-compose.yml beside it.
'use strict'

const { ChittyIDClient } = require('../..')

const instance = process.env.INSTANCE || 'local'
const client = new ChittyIDClient({
  serviceUrl: process.env.CHITTYID_URL || 'http://127.0.0.1:8787/v1',
  // The emulator is plain http on another container; the real service is https.
  allowInsecure: true,
  // The key the shared cache's entries are signed with derives from it (the emulator takes any
  // key when started without --token); without an apiKey the shared cache is off.
  apiKey: process.env.CHITTY_API_KEY || 'fleet-example-key',
  fleet: {
    redis: process.env.REDIS_URL || 'redis://127.0.0.1:6379/0',
    // Every instance shares this budget: 5/s for the whole fleet, not per instance.
    ratePerSecond: Number(process.env.RATE_PER_SECOND || 5),
  },
})
client.on('fleetDegraded', ({ reason }) => console.log(`[${instance}] fleet degraded: ${reason}`))
client.on('fleetRestored', () => console.log(`[${instance}] fleet restored`))

const minted = []
let stopping = false

async function mintLoop() {
  while (!stopping) {
    try {
      minted.push(await client.mint({ entity: 'PEO' }))
    } catch (err) {
      console.log(`[${instance}] mint failed: ${err.code} ${err.message}`)
    }
  }
}

// Ids every instance looks up: whichever asks first asks the service, the other gets the
// answer from the L2.
const SHARED_IDS = Array.from({ length: 5 }, (_, i) => `CT-A-CHI-${String(1000 + i)}-P-26-A-0`)

async function validateLoop() {
  while (!stopping) {
    await client.validate(SHARED_IDS[Math.floor(Math.random() * SHARED_IDS.length)])
    const own = minted[Math.floor(Math.random() * minted.length)]
    if (own) await client.validate(own)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const report = setInterval(() => {
  const { fleet, requests } = client.getStats()
  console.log(
    `[${instance}] minted ${requests.mint.requests}, redis ${fleet.connected ? 'up' : 'down'}, ` +
      `waited for slots ${fleet.rateWaits}x, L2 hits ${fleet.l2Hits}, misses ${fleet.l2Misses}`,
  )
}, 2000)

process.on('SIGTERM', () => {
  stopping = true
  clearInterval(report)
  client.close().then(() => process.exit(0))
})

Promise.all([mintLoop(), validateLoop()])
